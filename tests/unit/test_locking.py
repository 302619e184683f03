"""The run lock: one postpipe run at a time per site, across processes, and never
a stale lock after a crash (``flock`` dies with its process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from postpipe.errors import PostpipeError
from postpipe.locking import Busy, run_lock

#: Takes the lock, says so, holds it until stdin closes (or until killed).
HOLDER = """
import sys
from pathlib import Path
from postpipe.locking import run_lock
with run_lock(Path(sys.argv[1]), wait=5):
    print("locked", flush=True)
    sys.stdin.read()
print("released", flush=True)
"""

#: Tries to take the lock for a short while; prints what happened.
TAKER = """
import sys
from pathlib import Path
from postpipe.locking import Busy, run_lock
try:
    with run_lock(Path(sys.argv[1]), wait=float(sys.argv[2]), poll=0.01):
        print("got it")
except Busy as exc:
    print("busy:", exc.render())
    sys.exit(3)
"""


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / ".postpipe" / "run.lock"


@pytest.fixture
def holder(lock_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock (until its stdin is closed)."""
    proc = subprocess.Popen(
        _python(HOLDER, str(lock_path)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until it holds the lock (or dies)
    assert line == "locked\n", proc.stderr.read() if proc.stderr else line
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=5)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream and not stream.closed:
            stream.close()


class Naps:
    """The lock's clock and sleep: time moves only when the lock sleeps; ``then``
    runs once, at the ``at``-th nap (a holder finishing while we wait)."""

    def __init__(self, at: int = 0, then: Callable[[], object] | None = None) -> None:
        self.now, self.naps, self.at, self.then = 0.0, [], at, then

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds
        if self.then is not None and len(self.naps) == self.at:
            self.then()


def test_the_lock_file_and_its_folder_are_created(lock_path: Path) -> None:
    with run_lock(lock_path, wait=0):
        assert lock_path.is_file()
        assert lock_path.read_text().startswith(f"pid {os.getpid()} since ")


def test_another_process_cannot_take_the_lock_while_it_is_held(
    lock_path: Path, holder: subprocess.Popen[str]
) -> None:
    naps = Naps()
    with (
        pytest.raises(Busy) as info,
        run_lock(lock_path, wait=0.2, poll=0.02, sleep=naps.sleep, clock=naps.clock),
    ):
        pytest.fail("took a lock that another process holds")
    # it polled every 0.02 s for the whole 0.2 s before giving up
    assert set(naps.naps) == {0.02} and 0.2 - 1e-9 <= sum(naps.naps) <= 0.22 + 1e-9
    err = info.value
    assert isinstance(err, PostpipeError)
    assert f"another postpipe run is active (pid {holder.pid} since " in str(err)
    assert err.path == str(lock_path)
    assert err.hint and "wait for it to finish" in err.hint
    assert "hint: wait for it to finish" in err.render()

    assert holder.stdin is not None
    holder.stdin.close()  # the holder finishes normally: the lock is free again
    assert holder.wait(timeout=10) == 0
    with run_lock(lock_path, wait=1):
        pass


def test_a_process_cannot_take_the_lock_this_process_holds(lock_path: Path) -> None:
    with run_lock(lock_path, wait=0):
        taker = subprocess.run(
            _python(TAKER, str(lock_path), "0.2"),
            capture_output=True,
            text=True,
            timeout=20,
            env={"PATH": os.environ.get("PATH", "")},
        )
    assert taker.returncode == 3, taker.stderr
    assert f"busy: {lock_path}: another postpipe run is active (pid {os.getpid()}" in taker.stdout
    after = subprocess.run(
        _python(TAKER, str(lock_path), "0.2"),
        capture_output=True,
        text=True,
        timeout=20,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert (after.returncode, after.stdout) == (0, "got it\n"), after.stderr


def test_the_lock_dies_with_a_process_killed_by_sigkill(
    lock_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=10) == -signal.SIGKILL
    naps = Naps()
    with run_lock(lock_path, wait=2, sleep=naps.sleep, clock=naps.clock):
        assert lock_path.read_text().startswith(f"pid {os.getpid()} ")
    assert naps.naps == []  # no stale lock to wait out


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(
    lock_path: Path, holder: subprocess.Popen[str]
) -> None:
    assert holder.stdin is not None

    def holder_finishes() -> None:
        holder.stdin.close()  # type: ignore[union-attr]
        assert holder.wait(timeout=30) == 0

    naps = Naps(at=3, then=holder_finishes)
    with run_lock(lock_path, wait=10, poll=0.02, sleep=naps.sleep, clock=naps.clock):
        assert lock_path.read_text().startswith(f"pid {os.getpid()} ")
    assert len(naps.naps) == 3  # it waited while the lock was held, and no longer


def test_busy_after_the_wait_polls_with_the_given_sleep(lock_path: Path) -> None:
    naps = Naps()
    # a second descriptor of the same file conflicts even within one process
    with (
        run_lock(lock_path, wait=0),
        pytest.raises(Busy, match="another postpipe run is active"),
        run_lock(lock_path, wait=0.1, poll=0.02, sleep=naps.sleep, clock=naps.clock),
    ):
        pytest.fail("took a lock that is held")
    assert set(naps.naps) == {0.02} and 0.1 - 1e-9 <= sum(naps.naps) <= 0.12 + 1e-9
    with run_lock(lock_path, wait=0):  # and it was released on the way out
        pass
