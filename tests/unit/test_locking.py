"""The run lock: one postpipe run at a time per site, across processes, and never
a stale lock after a crash (``flock`` dies with its process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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


def test_the_lock_file_and_its_folder_are_created(lock_path: Path) -> None:
    with run_lock(lock_path, wait=0):
        assert lock_path.is_file()
        assert lock_path.read_text().startswith(f"pid {os.getpid()} since ")


def test_another_process_cannot_take_the_lock_while_it_is_held(
    lock_path: Path, holder: subprocess.Popen[str]
) -> None:
    started = time.monotonic()
    with pytest.raises(Busy) as info, run_lock(lock_path, wait=0.2, poll=0.02):
        pytest.fail("took a lock that another process holds")
    assert time.monotonic() - started >= 0.2  # it waited before giving up
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
    started = time.monotonic()
    with run_lock(lock_path, wait=2):
        assert lock_path.read_text().startswith(f"pid {os.getpid()} ")
    assert time.monotonic() - started < 1  # no stale lock to wait out


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(
    lock_path: Path, holder: subprocess.Popen[str]
) -> None:
    assert holder.stdin is not None
    timer = threading.Timer(0.3, holder.stdin.close)
    timer.start()
    started = time.monotonic()
    try:
        with run_lock(lock_path, wait=10, poll=0.02):
            waited = time.monotonic() - started
    finally:
        timer.cancel()
    assert 0.25 <= waited < 5


def test_busy_after_the_wait_polls_with_the_given_sleep(lock_path: Path) -> None:
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        time.sleep(seconds)

    # a second descriptor of the same file conflicts even within one process
    with (
        run_lock(lock_path, wait=0),
        pytest.raises(Busy, match="another postpipe run is active"),
        run_lock(lock_path, wait=0.1, poll=0.02, sleep=nap),
    ):
        pytest.fail("took a lock that is held")
    assert naps and set(naps) == {0.02}
    with run_lock(lock_path, wait=0):  # and it was released on the way out
        pass
