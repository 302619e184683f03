"""Atomic file writes through ``.<name>.tmp-<pid>`` files, and sweeping the ones
that killed runs left behind."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

_TMP_RE = re.compile(r"^\..+\.tmp-(\d+)$")


def temp_path(dest: Path) -> Path:
    """The temporary file this process writes ``dest`` through."""
    return dest.with_name(f".{dest.name}.tmp-{os.getpid()}")


def write_atomic(dest: Path, data: bytes, *, fsync: bool = False) -> None:
    """Write ``dest`` whole or not at all; on any failure the temporary file is removed
    and the exception propagates."""
    tmp = temp_path(dest)
    try:
        with tmp.open("wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (ours counts as alive)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def sweep_stale(folder: Path) -> list[Path]:
    """Remove the temporary files in ``folder`` whose writer is no longer running
    (a killed run); returns what was removed. Never raises."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        m = _TMP_RE.match(path.name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
    return removed
