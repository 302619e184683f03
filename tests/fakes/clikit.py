"""``python -m postpipe`` as a real process: the one helper the CLI tests share.

A test that wants a user's view (exit code, message, files written) runs the
command through :func:`run_postpipe` with an environment from :func:`cli_env`
(nothing of the developer's own environment leaks in but ``PATH``) and reads
:func:`output`. ``sitekit.Site`` wraps the same for a whole site with fakes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: the clock of every CLI test unless it says otherwise (``POSTPIPE_NOW``)
CLI_NOW = "2026-05-04T10:00:00+00:00"
#: a process that has not finished by then is a hang, not a slow machine
CLI_TIMEOUT = 120


def cli_env(home: Path, now: str = CLI_NOW, **settings: str) -> dict[str, str]:
    """A minimal environment: ``PATH``, ``HOME``, UTF-8 I/O, the fixed clock, ``settings``."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONUTF8": "1",
        "PYTHONIOENCODING": "utf-8",
        "POSTPIPE_NOW": now,
        **settings,
    }


def postpipe_argv(*args: str, root: Path | None = None) -> list[str]:
    """``python -m postpipe ARGS [--root ROOT]`` with this interpreter."""
    tail = ["--root", str(root)] if root is not None else []
    return [sys.executable, "-m", "postpipe", *args, *tail]


def run_postpipe(
    *args: str,
    env: Mapping[str, str],
    root: Path | None = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run one postpipe command to its end; stdin is not a terminal."""
    return subprocess.run(
        postpipe_argv(*args, root=root),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    """What the user saw: stdout, then stderr."""
    return result.stdout + result.stderr
