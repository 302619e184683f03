"""Helpers of the publishing tests: sites run through real ``postpipe`` processes,
the fake list API as a thread or as its own process, and readers of what happened
(``status --json``, the API's log, the outbox, file trees).

Every subprocess gets an explicit environment (nothing inherited but ``PATH``),
a fixed clock (``POSTPIPE_NOW``) and a timeout. Imported by
``tests/integration/conftest.py`` and the tests (this folder is on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from listapi import DEFAULT_TOKEN, FakeListServer

FAKES = Path(__file__).resolve().parent

#: The fixed "now" of every run.
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
FAKELIST = "fakelist_target:FakeList"
RUN_TIMEOUT = 30  # seconds; a postpipe run on these tiny sites takes well under one


def at(**delta: float) -> str:
    """``NOW`` moved by ``timedelta(**delta)``, as an ISO datetime with offset."""
    return (NOW + timedelta(**delta)).isoformat()


def news_post(
    slug: str,
    *,
    title: str | None = None,
    date: str = "2026-06-10 10:00",
    send_at: str | None = None,
    newsletter: bool = True,
    summary: str | None = None,
    body: str | None = None,
    extra: str = "",
) -> str:
    """A small post without images; a newsletter block unless ``newsletter=False``."""
    title = title or f"{slug.capitalize()} event recap"
    lines = [
        "---",
        f'title: "{title}"',
        f"slug: {slug}",
        f"date: {date}",
        f'summary: "{summary or f"What happened at {slug}."}"',
    ]
    if extra:
        lines.append(extra.rstrip("\n"))
    if newsletter:
        lines += ["newsletter:", f'  subject: "{title}"', f'  preheader: "News about {slug}"']
        if send_at:
            lines.append(f"  send_at: {send_at}")
    lines += ["---", "", body or f"The {slug} evening gathered forty neighbours.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# the fake list API


class ListAPIProcess:
    """``listapi.py`` as its own process; its state comes from its state file."""

    def __init__(self, workdir: Path, *, send_faults: list[dict[str, Any]] | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port_file = workdir / "listapi.port"
        self.state_file = workdir / "listapi.json"
        self.log = (workdir / "listapi.log").open("w")  # a file: a full pipe would block it
        self.token = DEFAULT_TOKEN
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(FAKES / "listapi.py"),
                "--port-file",
                str(self.port_file),
                "--state-file",
                str(self.state_file),
                "--send-faults",
                json.dumps(send_faults or []),
            ],
            env={"PATH": os.environ.get("PATH", "")},
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        wait_for(self.port_file.exists, 10, "the fake list API to start", self.proc)
        self.url = f"http://127.0.0.1:{int(self.port_file.read_text())}"

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def control(self, **body: Any) -> None:
        request = urllib.request.Request(
            f"{self.url}/_control",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.log.close()


class InProcessAPI:
    """The same interface over a :class:`FakeListServer` running in a thread."""

    def __init__(self, server: FakeListServer) -> None:
        self.server = server
        self.url = server.url
        self.token = server.token

    def state(self) -> dict[str, Any]:
        return self.server.state()

    def control(self, **body: Any) -> None:
        self.server.control(body)


API = InProcessAPI | ListAPIProcess


def sends(api: API) -> int:
    """How many campaigns the provider really sent."""
    return int(api.state()["sends"])


def api_requests(api: API, *, writes_only: bool = False) -> list[tuple[str, str]]:
    """``(method, path)`` of every API request so far (``writes_only``: not GET)."""
    return [
        (r["method"], r["path"])
        for r in api.state()["requests"]
        if not writes_only or r["method"] != "GET"
    ]


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    proc: subprocess.Popen[Any] | None = None,
) -> None:
    """Poll ``condition`` every 20 ms; fail after ``timeout`` seconds (or if ``proc`` died)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            err = err.decode(errors="replace") if isinstance(err, bytes) else err
            pytest.fail(f"process exited ({proc.returncode}) while waiting for {what}: {err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


# ---------------------------------------------------------------------------
# sites


@dataclass
class Site:
    """A site folder and the environment its ``postpipe`` runs get."""

    root: Path
    env: dict[str, str]
    api: API | None = None
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    def argv(self, args: tuple[str, ...]) -> list[str]:
        return [sys.executable, "-m", "postpipe", *args, "--root", str(self.root)]

    def environ(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        return {**self.env, **(extra or {})}

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = RUN_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """``postpipe ARGS --root ROOT``; stdin is not a terminal."""
        result = subprocess.run(
            self.argv(args),
            env=self.environ(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        self.runs.append(result)
        return result

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(args),
            env=self.environ(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.root,
        )

    def ok(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run and require exit 0 and an empty stderr; return stdout."""
        result = self.run(*args, env=env)
        assert result.returncode == 0, describe(result)
        assert result.stderr == "", describe(result)
        return result.stdout

    def status(self) -> dict[str, dict[str, Any]]:
        """``postpipe status --json``, by slug."""
        rows = json.loads(self.ok("status", "--json"))
        return {row["slug"]: row for row in rows}

    @property
    def ledger(self) -> Path:
        return self.root / ".postpipe" / "ledger.sqlite3"

    @property
    def public(self) -> Path:
        return self.root / "public"

    def write_post(self, name: str, text: str) -> Path:
        path = self.root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {result.returncode} of {' '.join(map(str, result.args[3:]))}\n"
        f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    )


def base_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(FAKES),
        "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ in tests/fakes
        "POSTPIPE_NOW": NOW.isoformat(),
        "POSTPIPE_SITE_URL": "https://news.example.org",
        "POSTPIPE_SITE_TITLE": "Test Network",
        "POSTPIPE_FROM_EMAIL": "news@example.org",
        "POSTPIPE_HTTP_TIMEOUT": "10",
    }


# ---------------------------------------------------------------------------
# outputs


def outbox_sends(root: Path) -> list[tuple[str, str]]:
    """``(file name, X-Postpipe-Key)`` of every real send in the outbox (tests excluded)."""
    found = []
    parser = BytesHeaderParser(policy=default_policy)
    for path in sorted((root / "outbox").glob("*.eml")):
        with path.open("rb") as f:
            key = parser.parse(f).get("X-Postpipe-Key")
        if key:
            found.append((path.name, str(key)))
    return found


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (inode, mtime_ns)}`` of every file: any rewrite changes it."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
