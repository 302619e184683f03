"""Render one post in-process and run the checks on it (the gate's unit tests).

Self-contained: a module here cannot import the top conftest (ambiguous beside
tests/contract/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from postpipe.build import Builder, RenderedPost
from postpipe.checks import Finding, check_post
from postpipe.config import FIELDS, load_settings
from postpipe.content import load_posts

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:  # clikit, the shared CLI-process helper
    sys.path.insert(0, str(FAKES))

from clikit import CLI_NOW, run_postpipe  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ENV = {
    "POSTPIPE_SITE_URL": "https://news.example.org",
    "POSTPIPE_SITE_TITLE": "Nordic Safer Communities Network",
    "POSTPIPE_TIMEZONE": "Europe/Stockholm",
    "POSTPIPE_AUTHOR": "NSCN Editorial Team",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}
FRONT = (
    "title: A post\ndate: 2026-01-01\nsummary: One sentence about it.\n"
    "newsletter:\n  subject: A post\n"
    "  preheader: A preheader that is long enough to please the inboxes.\n"
)


def post_text(front: str, body: str) -> str:
    return f"---\n{front}---\n\n{body}"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    (root / "posts").mkdir(parents=True, exist_ok=True)
    return root


def render(root: Path, body: str, front: str = FRONT,
           files: dict[str, str | bytes] | None = None, **env: str) -> RenderedPost:
    write(root, {"posts/a.md": post_text(front, body), **(files or {})})
    settings = load_settings(root, environ={**ENV, **env})
    [post], _ = load_posts(root, tz=settings.tz)
    return Builder(settings, write_cache=False).render_post(post, {})


def findings(root: Path, body: str, rule: str | None = None, **kw: object) -> list[Finding]:
    out = check_post(render(root, body, **kw))  # type: ignore[arg-type]
    return [f for f in out if rule is None or f.rule == rule]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m postpipe`` with only the given postpipe settings."""
    names = {f.env for f in FIELDS}
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("POSTPIPE_") and k not in names}
    environ.update({"PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8",
                    "POSTPIPE_NOW": CLI_NOW, **env})
    return run_postpipe(*args, env=environ)
