"""A process lock on a file, so two postpipe runs never push at the same time.

``flock`` locks die with their process, so a run killed with SIGKILL never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import PostpipeError


class Busy(PostpipeError):
    """Another postpipe run holds the lock."""

    #: seconds the holder has held the lock, when its lock file says
    held_for: float | None = None


@contextmanager
def run_lock(
    path: Path,
    *,
    wait: float = 60.0,
    poll: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; wait up to ``wait`` seconds (of ``clock``,
    polling every ``poll`` with ``sleep``) for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = clock() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if clock() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                    busy = Busy(
                        f"another postpipe run is active ({holder or 'unknown'})",
                        path=str(path),
                        hint="wait for it to finish; it holds the lock until it exits",
                    )
                    since = holder.rpartition("epoch ")[2]
                    busy.held_for = time.time() - float(since) if since.isdigit() else None
                    raise busy from None
                sleep(poll)
        os.ftruncate(fd, 0)
        stamp = (
            f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')} epoch {time.time():.0f}"
        )
        os.pwrite(fd, stamp.encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
