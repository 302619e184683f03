"""``postpipe preview`` as a real process: the printed URL, Ctrl-C, a busy port, --open."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli


def _default_sigint() -> None:
    # a CI runner may start us with SIGINT ignored, and children inherit that;
    # Python then never turns Ctrl-C into KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(root: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "postpipe", "preview", "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root), **env},
        preexec_fn=_default_sigint,
    )


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[str, str]:
    """Send ``sig``, wait; never leave the process behind."""
    try:
        proc.send_signal(sig)
        return proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
def root(tmp_path: Path, repo_root: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(repo_root / "posts", site / "posts")
    return site


def first_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    return line


def test_port_0_prints_the_url_serves_and_stops_cleanly_on_ctrl_c(root: Path) -> None:
    proc = start(root, "--port", "0")
    try:
        line = first_line(proc)
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        assert "Previewing 6 posts" in line and "Ctrl-C" in line
        with urllib.request.urlopen(found.group(0), timeout=10) as res:
            assert res.status == 200 and b"Volunteer evening" in res.read()
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    assert out.strip() == "stopped" and "Traceback" not in err
    with pytest.raises(OSError):  # the port is closed
        socket.create_connection(("127.0.0.1", int(found.group(1))), timeout=1).close()


def test_kill_stops_it_cleanly_too(root: Path) -> None:
    proc = start(root, "--port", "0")
    try:
        assert "127.0.0.1" in first_line(proc)
    finally:
        out, err = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert out.strip() == "stopped"


def test_a_busy_port_is_a_clear_error(root: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = start(root, "--port", str(port))
        try:
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 1
    assert f"error: port {port} is already in use on 127.0.0.1" in err
    assert "--port 0" in err and "Traceback" not in err
    assert out == ""


def test_open_hands_the_url_to_the_web_browser(root: Path) -> None:
    # the "browser" connects back and sends the URL it was given: the test waits on
    # that connection (an event), not on a file appearing
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(60)  # only ends a test that hangs
        port = listener.getsockname()[1]
        script = (
            "import socket, sys; "
            "socket.create_connection(('127.0.0.1', int(sys.argv[2])))"
            ".sendall(sys.argv[1].encode())"
        )
        browser = f'{sys.executable} -c "{script}" %s {port}'  # webbrowser honours $BROWSER
        proc = start(root, "--port", "0", "--open", BROWSER=browser)
        try:
            url = re.search(r"http://\S+/", first_line(proc)).group(0)  # type: ignore[union-attr]
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(60)
                received = b"".join(iter(lambda: conn.recv(4096), b""))
            assert received.decode() == url
        finally:
            stop(proc)
