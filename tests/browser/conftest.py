"""Fixtures of the browser tests: headless Chromium through Playwright, and a real
``postpipe preview`` process on a copy of the sample posts.

Debian's ``chromium`` is driven by Playwright for Python (never
``playwright install``: no browser download works here). In CI
(``POSTPIPE_REQUIRE_SERVERS=1``) a missing browser or Playwright fails the
tests instead of skipping them.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("POSTPIPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
NOW = "2026-11-25T12:00:00+00:00"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: real headless Chromium driving the preview")


def _missing(reason: str) -> None:
    if os.environ.get("POSTPIPE_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason}; POSTPIPE_REQUIRE_SERVERS=1, so the browser tests must run")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, started once per session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab at 1280 × 900 px."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


@dataclass
class PreviewProcess:
    """``postpipe preview --port 0`` on a copy of the sample posts."""

    root: Path
    proc: subprocess.Popen[str]
    url: str = ""
    output: list[str] = field(default_factory=list)

    def post(self, key: str) -> Path:
        return self.root / "posts" / f"{key}.md"

    def edit(self, key: str, old: str, new: str) -> None:
        path = self.post(key)
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def log(self) -> str:
        return "".join(self.output)


def _pump(stream: Any, lines: list[str], first: queue.Queue[str]) -> None:
    for line in stream:
        lines.append(line)
        first.put(line)


@pytest.fixture
def preview(
    tmp_path: Path, repo_root: Path, sample_env: dict[str, str]
) -> Iterator[PreviewProcess]:
    root = tmp_path / "site"
    shutil.copytree(repo_root / "posts", root / "posts")
    (root / ".env").write_text(
        "".join(f"{k}={v}\n" for k, v in sample_env.items()), encoding="utf-8"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "POSTPIPE_NOW": NOW,
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "postpipe", "preview", "--root", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )  # stopped with SIGTERM below: a CI runner may start everything with SIGINT ignored
    running = PreviewProcess(root=root, proc=proc)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=_pump, args=(proc.stdout, running.output, lines), daemon=True).start()
    try:
        while not running.url:
            try:
                line = lines.get(timeout=30)
            except queue.Empty:
                pytest.fail(f"postpipe preview printed no URL in 30 s:\n{running.log()}")
            found = re.search(r"http://127\.0\.0\.1:\d+/", line)
            if found:
                running.url = found.group(0)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
