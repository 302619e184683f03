"""Shared fixtures: throw-away sites, explicit settings, the built sample site.

Nothing here reads the real environment: every ``Settings`` comes from
``load_settings(root, environ={...})`` with an explicit mapping.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from postpipe.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE_POSTS = REPO / "posts"

#: The fixed settings of the sample site (golden files and structural tests).
SAMPLE_ENV: dict[str, str] = {
    "POSTPIPE_SITE_URL": "https://news.example.org",
    "POSTPIPE_SITE_TITLE": "Nordic Safer Communities Network",
    "POSTPIPE_TIMEZONE": "Europe/Stockholm",
    "POSTPIPE_AUTHOR": "NSCN Editorial Team",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}


# ---------------------------------------------------------------------------
# options and markers


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/expected/ from the current build instead of comparing",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: fast tests of one module, in process")
    config.addinivalue_line("markers", "golden: byte-for-byte comparison of the sample build")
    config.addinivalue_line("markers", "cli: the command line, through real subprocesses")


# ---------------------------------------------------------------------------
# helpers


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (14, 107, 111)) -> bytes:
    """A tiny valid PNG (8-bit RGB, one colour) of ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def post_text(front: str, body: str = "A first paragraph of the post.\n") -> str:
    """A post file: ``front`` (YAML lines, each ending in a newline) between ``---`` lines.

    Line 1 is the opening ``---``, so the first front matter key is on line 2.
    """
    return f"---\n{front}---\n\n{body}"


def write_site(root: Path, posts: Mapping[str, str | bytes] | None = None,
               images: Mapping[str, tuple[int, int]] | None = None,
               files: Mapping[str, str | bytes] | None = None) -> Path:
    """Create a site folder.

    ``posts`` and ``images`` are relative to ``root/posts``; ``images`` maps a
    path to a PNG size. ``files`` are relative to ``root`` (``.env``,
    ``templates/...``).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "posts").mkdir(exist_ok=True)
    entries: list[tuple[Path, str | bytes]] = []
    entries += [(root / "posts" / rel, content) for rel, content in (posts or {}).items()]
    entries += [(root / "posts" / rel, png_bytes(*size)) for rel, size in (images or {}).items()]
    entries += [(root / rel, content) for rel, content in (files or {}).items()]
    for path, content in entries:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def make_settings(root: Path, environ: Mapping[str, str] | None = None, **env: str) -> Settings:
    """Settings of ``root`` from an explicit environment (never ``os.environ``)."""
    return load_settings(root, environ={**(environ or {}), **env})


def copy_sample(root: Path) -> Path:
    """A site folder with a copy of the repository's sample ``posts/``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SAMPLE_POSTS, root / "posts")
    return root


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_site({"a.md": text}, images={"images/x.png": (4, 3)})`` → root.

    Each call makes a new folder under ``tmp_path`` (``name`` picks it).
    """
    counter = iter(range(1_000_000))

    def make(posts: Mapping[str, str | bytes] | None = None, *,
             images: Mapping[str, tuple[int, int]] | None = None,
             files: Mapping[str, str | bytes] | None = None, name: str | None = None) -> Path:
        root = tmp_path / (name or f"site{next(counter)}")
        return write_site(root, posts, images, files)

    return make


@pytest.fixture(scope="session")
def settings() -> Callable[..., Settings]:
    """``settings(root, POSTPIPE_LANG="sv")`` → validated Settings from that environ only."""
    return make_settings


@pytest.fixture(name="png_bytes", scope="session")
def png_bytes_fixture() -> Callable[..., bytes]:
    return png_bytes


@pytest.fixture(name="post_text", scope="session")
def post_text_fixture() -> Callable[..., str]:
    return post_text


@pytest.fixture(name="write_site", scope="session")
def write_site_fixture() -> Callable[..., Path]:
    """``write_site(root, posts, images, files)`` for module-scoped fixtures."""
    return write_site


@pytest.fixture(scope="session")
def sample_env() -> dict[str, str]:
    """A copy of :data:`SAMPLE_ENV`."""
    return dict(SAMPLE_ENV)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture
def sample_site(tmp_path: Path) -> Path:
    """A fresh, writable site folder holding a copy of the sample posts."""
    return copy_sample(tmp_path / "sample")


@dataclass(frozen=True)
class SampleBuild:
    """One build of the sample posts: the site root, the output folder and the report."""

    root: Path
    out: Path
    settings: Settings
    report: Any  # postpipe.pipeline.BuildReport

    @property
    def site(self) -> Path:
        return self.out / "site"

    @property
    def newsletters(self) -> Path:
        return self.out / "newsletters"


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SampleBuild]]:
    """Factory: build the sample posts with ``SAMPLE_ENV`` plus overrides, once per
    distinct environment in the session. Tests must only read the result."""
    from postpipe.pipeline import build_site

    cache: dict[tuple[tuple[str, str], ...], SampleBuild] = {}

    def build(**overrides: str) -> SampleBuild:
        env = {**SAMPLE_ENV, **overrides}
        key = tuple(sorted(env.items()))
        if key not in cache:
            base = tmp_path_factory.mktemp("sample")
            root = copy_sample(base / "root")
            out = base / "out"
            settings = make_settings(root, env)
            report = build_site(settings, out)
            cache[key] = SampleBuild(root=root, out=out, settings=settings, report=report)
        return cache[key]

    yield build



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """In CI (``POSTPIPE_REQUIRE_SERVERS=1``) a skipped test is a failure: every test
    must run there, so a missing server or browser cannot hide behind a skip."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("POSTPIPE_REQUIRE_SERVERS") == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"
