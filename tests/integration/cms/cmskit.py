"""Helpers of the real-CMS tests: servers from ``scripts/*-test-server``, sites, runs.

A server is started by its script (``start`` prints ``KEY=value`` lines) and
stopped by it. Sites hold a copy of the sample posts plus a post dated ahead;
``postpipe`` runs as a subprocess with an explicit environment and the real
clock (the CMS schedules by its own clock).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "scripts"
SAMPLE_POSTS = REPO / "posts"
HERE = Path(__file__).resolve().parent
RUN_TIMEOUT = 120

#: The sample posts that are not drafts, by slug, with their titles.
SAMPLES = {
    "safer-streets-summit-2026": "Safer Streets Summit 2026: what we learned from police, "
    "NGOs and city hall",
    "panel-can-community-policing-rebuild-trust": "Panel: can community policing rebuild trust?",
    "trygghetsdagen-2027": "Inbjudan: Trygghetsdagen 2027 i Göteborg – anmäl dig nu",
}
AHEAD = "spring-forum-2027"


def require_servers() -> bool:
    return os.environ.get("POSTPIPE_REQUIRE_SERVERS") == "1"


def unavailable(what: str) -> None:
    """Skip locally; fail in CI (POSTPIPE_REQUIRE_SERVERS=1), where every test must run."""
    if require_servers():
        pytest.fail(f"{what} (POSTPIPE_REQUIRE_SERVERS=1: this test must run)")
    pytest.skip(what)


@dataclass
class Server:
    """A server started by ``scripts/<name>``; ``vars`` are the lines it printed."""

    script: Path
    vars: dict[str, str]
    dir_var: str

    def stop(self) -> None:
        subprocess.run([str(self.script), "stop", self.vars[self.dir_var]], timeout=60, check=False)


def start_server(name: str, dir_var: str, env: Mapping[str, str] | None = None) -> Server:
    script = SCRIPTS / name
    if subprocess.run([str(script), "check"], capture_output=True, timeout=30).returncode:
        unavailable(f"{name} is not installed: run 'scripts/{name} install'")
    result = subprocess.run(
        [str(script), "start"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        pytest.fail(f"{name} start failed ({result.returncode}):\n{result.stderr}")
    found = dict(
        line.split("=", 1) for line in result.stdout.splitlines() if re.match(r"^\w+=", line)
    )
    return Server(script=script, vars=found, dir_var=dir_var)


def ahead_post(date: datetime, slug: str = AHEAD) -> str:
    """A post dated ``date``: hero image, a table, a heading, a body image, new terms."""
    return f"""---
title: "Spring Forum 2027: save the date"
slug: {slug}
date: {date.astimezone(UTC).isoformat(timespec="seconds")}
categories: [Invitation]
tags: [spring-forum, policing]
summary: "Our spring forum comes to Malmö in April 2027."
image: images/summit-workshop.jpg
image_alt: "Young people and police officers around a table with a paper map"
---

The Spring Forum 2027 meets in Malmö.

## Programme

| time  | what            |
|-------|-----------------|
| 09:00 | welcome         |
| 10:00 | workshops       |

<figure markdown="1">
![The plenary hall](images/summit-plenary.jpg)
<figcaption>The plenary hall in 2026.</figcaption>
</figure>
"""


@dataclass
class Site:
    """A site folder with the sample posts and the environment of its runs."""

    root: Path
    env: dict[str, str]
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    def run(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "postpipe", *args, "--root", str(self.root)],
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            cwd=self.root,
        )
        self.runs.append(result)
        return result

    def ok(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        result = self.run(*args, env=env)
        assert result.returncode == 0, describe(result)
        return result.stdout

    def status(self) -> dict[str, dict[str, Any]]:
        return {row["slug"]: row for row in json.loads(self.ok("status", "--json"))}

    @property
    def ledger(self) -> Path:
        return self.root / ".postpipe" / "ledger.sqlite3"

    def drop_ledger(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.ledger}{suffix}").unlink(missing_ok=True)

    def post(self, slug: str) -> Path:
        return next(p for p in (self.root / "posts").glob("*.md") if slug in p.read_text())


def make_site(
    root: Path,
    env: Mapping[str, str],
    *,
    ahead: timedelta | None = None,
    samples: bool = True,
    posts: Mapping[str, str] | None = None,
) -> Site:
    """The sample posts (drafts too; or only their images), with ``ahead`` a post
    dated that far ahead, and ``posts`` (file name → text)."""
    root.mkdir(parents=True)
    shutil.copytree(SAMPLE_POSTS, root / "posts")
    if not samples:
        for path in (root / "posts").rglob("*.md"):
            path.unlink()
    if ahead is not None:
        (root / "posts" / "spring-forum.md").write_text(
            ahead_post(datetime.now(UTC) + ahead), encoding="utf-8"
        )
    for name, text in (posts or {}).items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(HERE),  # crashing_cms for the crash test
        "POSTPIPE_TIMEZONE": "Europe/Stockholm",
        "POSTPIPE_SITE_TITLE": "Nordic Safer Communities Network",
        "POSTPIPE_FROM_EMAIL": "news@example.org",
        "POSTPIPE_HTTP_TIMEOUT": "30",
        **env,
    }
    return Site(root=root, env=environ)


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {result.returncode} of {' '.join(map(str, result.args[3:]))}\n"
        f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
    )


def outbox_html(root: Path, slug: str) -> str:
    """The HTML part of the newsletter ``slug`` sent to the outbox."""
    import email
    from email.policy import default

    for path in sorted((root / "outbox").glob(f"*-{slug}.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=default)
        part = msg.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())
    raise AssertionError(f"no newsletter for {slug} in the outbox")


# -- camera photos (issue 13): what a CMS stores must not say where or with what ----

CAMERA_POST = """---
title: "Night walk with a phone camera"
slug: {slug}
date: 2026-05-01T10:00:00+00:00
summary: "Photos straight from a phone."
image: camera-hero.jpg
image_alt: "Volunteers in yellow vests on a lit street"
---

We walked the Möllevången blocks.

![A group at a street corner](camera-body.jpg)
"""


def camera_site(root: Path, env: Mapping[str, str], slug: str) -> Site:
    """A site with one post whose hero and body photos carry EXIF orientation 6,
    GPS and serial numbers (in EXIF, XMP and a comment)."""
    from camera import camera_jpeg

    site = make_site(root, env, samples=False, posts={"camera.md": CAMERA_POST.format(slug=slug)})
    (root / "posts" / "camera-hero.jpg").write_bytes(camera_jpeg(3200, 2400))
    (root / "posts" / "camera-body.jpg").write_bytes(camera_jpeg(1600, 1200, seed=2))
    return site


def assert_stored_photo_is_clean(url: str) -> None:
    """Fetch a stored image back from the CMS: no serial in its bytes, no EXIF/GPS,
    upright (portrait: the camera's orientation 6 applied), at most 2400 px a side."""
    import io

    import requests
    from camera import LENS_SERIAL, SERIAL
    from PIL import Image

    response = requests.get(url, timeout=30)
    assert response.status_code == 200, url
    data = response.content
    assert SERIAL.encode() not in data and LENS_SERIAL.encode() not in data, url
    img = Image.open(io.BytesIO(data))
    exif = img.getexif()
    assert not exif.get_ifd(0x8825), (url, "GPS")
    assert not exif.get_ifd(0x8769).get(0xA431), (url, "serial")
    assert "xmp" not in img.info, url  # (a comment may name WordPress's GD: bytes checked above)
    assert img.height > img.width and max(img.size) <= 2400, (url, img.size)
