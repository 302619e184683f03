"""Every page of the built site, checked by the real tools (issue 12): the Nu HTML
Checker (``vnu-jar`` from npm, on Debian's Java) finds 0 errors, axe-core (from
npm, injected with Playwright into Debian's Chromium) finds no critical or serious
violation, and the Atom feeds parse with feedparser with ``bozo == 0``.

The tools come from ``POSTPIPE_NPM_DIR`` (default ``/var/cache/postpipe-npm``,
else the repository's ``node_modules``); ``.ci/run`` installs them. In CI
(``POSTPIPE_REQUIRE_SERVERS=1``) a missing tool fails these tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKES = REPO / "tests" / "fakes"
if str(FAKES) not in sys.path:  # clikit, the shared CLI-process helper
    sys.path.insert(0, str(FAKES))
from clikit import cli_env, run_postpipe  # noqa: E402
from staticserver import serve_folder  # noqa: E402

NOW = "2026-11-25T12:00:00+00:00"
ENV = {
    "POSTPIPE_SITE_URL": "https://news.example.org",
    "POSTPIPE_SITE_TITLE": "Nordic Safer Communities Network",
    "POSTPIPE_TIMEZONE": "Europe/Stockholm",
    "POSTPIPE_AUTHOR": "NSCN Editorial Team",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}

# fixtures beside the samples: an invitation with a speaker photo and a section per
# speaker, an event without a start, and the Markdown people type
FIXTURES = {
    "fixture-invitation.md": """---
title: "Invitation: #safety evening – 10 June"
slug: fixture-invitation
date: 2026-05-01 09:00
summary: An evening on lighting, night walks and the new youth centre.
tags: [evening]
event:
  name: Neighbourhood safety evening
  start: 2027-06-10 18:00
  end: 2027-06-10 20:30
  location: "Folkets Hus Järntorget, Göteborg"
  organisers: [Safer Streets Network]
speakers:
  - name: Annika Strand
    role: Safety coordinator
    photo: images/speaker-karin-sjoberg.jpg
    photo_alt: Portrait of Annika Strand
    url: https://example.org/people/annika
  - name: Yusuf Demir
    talk: Policing the everyday
newsletter:
  subject: Come to the safety evening
  preheader: Lighting, night walks and the youth centre on 10 June at Järntorget
---

#tryggkväll starts at six, see https://example.org/program and www.example.org.

## Annika Strand on lighting

Annika showed the map:
- the underpass
  - at night
- the park

A claim with a note.[^1]

| Time | What |
|---|---|
| 18.00 | Coffee |

[^1]: The note, with a "quote".
""",
    "fixture-no-start.md": """---
title: A recap without a start
slug: fixture-no-start
date: 2026-04-01
summary: What happened.
event:
  name: The evening
  location: Somewhere
---

A first paragraph.
""",
}


def _require(reason: str) -> None:
    if os.environ.get("POSTPIPE_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason}; POSTPIPE_REQUIRE_SERVERS=1, so the validity tests must run")
    pytest.skip(reason)


def npm_tool(relative: str) -> Path:
    """A file of an npm package installed by .ci/run (or ``npm install`` here)."""
    bases = [Path(os.environ.get("POSTPIPE_NPM_DIR", "/var/cache/postpipe-npm")), REPO]
    for base in bases:
        path = base / "node_modules" / relative
        if path.is_file():
            return path
    _require(f"{relative} is not installed (.ci/run installs it with npm)")
    raise AssertionError  # not reached


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample posts (drafts too) and the fixtures above, built."""
    root = tmp_path_factory.mktemp("validity") / "root"
    shutil.copytree(REPO / "posts", root / "posts")
    for name, text in FIXTURES.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    result = run_postpipe("build", "--drafts", root=root, env=cli_env(root, NOW, **ENV))
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "build" / "site"


def pages(site: Path) -> list[Path]:
    found = sorted(site.rglob("*.html"))
    assert len(found) >= 10 and site / "fixture-invitation" / "index.html" in found
    return found


def test_every_page_passes_the_nu_html_checker(site: Path) -> None:
    java = shutil.which("java")
    if java is None:
        _require("no java (apt-get install default-jre-headless)")
    vnu = npm_tool("vnu-jar/build/dist/vnu.jar")
    files = pages(site)
    # a control page the checker must reject (an empty datetime), in the same run
    bad = site.parent / "control-invalid.html"
    bad.write_text(
        '<!DOCTYPE html><html lang="en"><head><title>x</title></head>'
        '<body><time datetime="">x</time></body></html>',
        encoding="utf-8",
    )
    result = subprocess.run(  # one JVM for every file
        [java, "-jar", str(vnu), "--errors-only", "--format", "json", *map(str, files), str(bad)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors: dict[str, list[str]] = {}
    for m in messages:
        if m.get("type") in ("error", "non-document-error"):
            rel = Path(m["url"].removeprefix("file:")).relative_to(site.parent).as_posix()
            errors.setdefault(rel, []).append(f"{m.get('lastLine')}: {m['message']}")
    assert errors.pop("control-invalid.html")  # the checker does report errors
    assert errors == {}


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (its links are site-absolute)."""
    with serve_folder(site) as url:
        yield url


def test_every_page_has_no_serious_axe_violation(site: Path, served: str, browser: Any) -> None:
    axe = npm_tool("axe-core/axe.min.js")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    found: list[str] = []
    try:
        for path in pages(site):
            rel = path.relative_to(site).as_posix()
            tab.goto(f"{served}/{rel}")
            tab.add_script_tag(path=str(axe))
            result = tab.evaluate("async () => await axe.run(document)")
            for v in result["violations"]:
                if v["impact"] in ("critical", "serious"):
                    targets = [n["target"] for n in v["nodes"]][:3]
                    found.append(f"{rel}: {v['id']} ({v['impact']}): {targets}")
        # axe does report: a link told apart from the text by colour only
        tab.set_content(
            '<html lang="en"><body><main><p style="color:#000">Text '
            '<a href="#x" style="color:#333;text-decoration:none">link</a> text.</p>'
            '<p style="color:#000;background:#fff">'
            '<span style="color:#777;background:#fff">low contrast</span></p></main></body></html>'
        )
        tab.add_script_tag(path=str(axe))
        bad = tab.evaluate("async () => await axe.run(document)")
        assert {v["id"] for v in bad["violations"]} & {"link-in-text-block", "color-contrast"}
    finally:
        context.close()
    assert found == []


def test_the_atom_feeds_parse_without_errors(site: Path) -> None:
    import feedparser

    feeds = sorted(site.rglob("feed.xml"))
    assert feeds
    for feed in feeds:
        parsed = feedparser.parse(feed.read_bytes())
        assert parsed.bozo == 0, (feed, parsed.get("bozo_exception"))
        assert parsed.entries and all(e.link.startswith("https://") for e in parsed.entries)
