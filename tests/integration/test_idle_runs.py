"""Runs with nothing to do load nothing they do not need.

A no-op ``build``, a ``publish`` with nothing changed, an idle ``send --due`` (what
cron starts every minute) and ``status`` read the posts, the render cache and the
ledger; none of them imports a renderer (Markdown, Jinja2, lxml, Pillow, Babel, an
inliner) or the HTTP client. Each command runs in a fresh interpreter that then
lists the modules it loaded, so a test fails as soon as an import on the idle path
pulls one in again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sitekit import base_env

SAMPLE_POSTS = Path(__file__).resolve().parents[2] / "posts"

#: what an idle run must not load (top-level package names)
HEAVY = (
    "markdown",
    "pymdownx",
    "jinja2",
    "lxml",
    "PIL",
    "babel",
    "css_inline",
    "premailer",
    "requests",
    "flufl",
)

_RUN = """
import sys
from postpipe.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[0].split(",")))
print("exit", code, "loaded", *loaded)
"""


def run(root: Path, env: dict[str, str], *args: str) -> str:
    """``postpipe ARGS`` in a fresh interpreter: its exit code and the HEAVY modules it loaded."""
    result = subprocess.run(
        [sys.executable, "-c", _RUN.replace("sys.argv[0]", repr(",".join(HEAVY))), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "site"
    shutil.copytree(SAMPLE_POSTS, root / "posts")
    return root, base_env(tmp_path)


def test_idle_runs_import_no_renderer_and_no_http_client(
    site: tuple[Path, dict[str, str]],
) -> None:
    root, env = site
    # the first runs do the work (and load what they need)
    assert run(root, env, "publish", "-q").startswith("exit 0")
    assert run(root, env, "send", "--due", "-q").startswith("exit 0")
    # publish rendered every post but no listing page: this build renders the lists
    assert "jinja2" in run(root, env, "build", "-q")
    for args in (("build", "-q"), ("publish", "-q"), ("send", "--due", "-q"), ("status",)):
        assert run(root, env, *args) == "exit 0 loaded", args


def test_a_build_after_a_publish_renders_the_lists_once(
    site: tuple[Path, dict[str, str]],
) -> None:
    """The listing pages re-rendered with unchanged bytes still record what they
    showed: the next build does not render them again (it did, every time)."""
    root, env = site
    run(root, env, "publish", "-q")
    assert "jinja2" in run(root, env, "build", "-q")
    assert "jinja2" not in run(root, env, "build", "-q")
