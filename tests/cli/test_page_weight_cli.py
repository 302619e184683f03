"""Page weight of the blog (closing notes of issue 13), through ``postpipe build``:
list pages load a thumbnail-sized derivative of each hero, never the master, sized
as the stylesheet shows it; a speaker photo loads its 96 px file and says it is
shown 48 px wide. A one-language site gets no sitemap alternates."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import lxml.html
import pytest
from PIL import Image

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:  # camera, clikit
    sys.path.insert(0, str(FAKES))
from camera import camera_jpeg  # noqa: E402
from clikit import cli_env, output, run_postpipe  # noqa: E402

from postpipe.checks.css import stylesheet_rules  # noqa: E402
from postpipe.render.images import BLOG_WIDTHS, MASTER_MAX  # noqa: E402

pytestmark = pytest.mark.cli

SITE = "https://news.example.org"
ENV = {
    "POSTPIPE_SITE_URL": SITE,
    "POSTPIPE_SITE_TITLE": "Test site",
    "POSTPIPE_TIMEZONE": "Europe/Stockholm",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}
HERO = (4000, 3000)  # a camera photo, upright (orientation 1)
SPEAKER = (1200, 900)  # 4:3, so the shown height is not the width

SUMMIT = """---
title: The summit
slug: summit
date: 2026-04-20 09:00
summary: What we heard.
image: hero.jpg
image_alt: The hall, full
tags: [safety]
categories: [Reports]
event:
  name: Summit
  start: 2026-04-20 09:00
speakers:
  - name: Eva Ek
    photo: eva.jpg
    photo_alt: Eva Ek on stage
newsletter:
  subject: The summit
  preheader: What we heard at the summit, and what comes next for all of us.
---

We met.
"""
WORDS = """---
title: Only words
slug: words
date: 2026-04-01 09:00
summary: No picture.
tags: [safety]
---

Text.
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("weight")
    posts = root / "posts"
    posts.mkdir()
    (posts / "hero.jpg").write_bytes(camera_jpeg(*HERO, orientation=1, noise=False))
    (posts / "eva.jpg").write_bytes(camera_jpeg(*SPEAKER, orientation=1, seed=3, noise=False))
    (posts / "2026-04-20-summit.md").write_text(SUMMIT, encoding="utf-8")
    (posts / "2026-04-01-words.md").write_text(WORDS, encoding="utf-8")
    result = run_postpipe("build", env=cli_env(root, **ENV), root=root)
    assert result.returncode == 0, output(result)
    return root / "build" / "site"


def doc(site: Path, path: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((site / path / "index.html").read_bytes())


def local(site: Path, href: str) -> Path:
    return site / href.lstrip("/")


def candidates(value: str) -> list[tuple[str, int]]:
    """``a.jpg 480w, b.jpg 800w`` → [(a.jpg, 480), (b.jpg, 800)]."""
    out = []
    for part in value.split(","):
        url, width = part.split()
        out.append((url, int(width.removesuffix("w"))))
    return out


def thumb_css(site: Path) -> tuple[str, str, str]:
    """(narrow-screen media condition, narrow width, wide width) of ``.card-thumb``
    in the built stylesheet: what ``sizes`` has to say."""
    [css] = (site / "static").glob("style.*.css")
    wide = narrow = media = ""
    for at, selector, decls in stylesheet_rules(css.read_text(encoding="utf-8")):
        if not selector.strip().endswith(".card-thumb") or "width" not in decls:
            continue
        if at:
            media, narrow = at.removeprefix("@media").strip(), decls["width"]
        else:
            wide = decls["width"]
    assert wide and narrow and media, (wide, narrow, media)
    return media, narrow, wide


# ---------------------------------------------------------------------------
# 1. list pages load small derivatives, never the master


@pytest.mark.parametrize("page", ["", "tags/safety/", "categories/reports/"])
def test_list_thumbnails_load_small_derivatives_never_the_master(built: Path, page: str) -> None:
    site = built
    post = doc(site, "summit")
    [hero] = post.xpath('//figure[@class="hero"]//img')
    master = Image.open(local(site, hero.get("src")))
    assert master.size == (MASTER_MAX, MASTER_MAX * HERO[1] // HERO[0])  # 2400×1800

    listing = doc(site, page)
    [card] = listing.xpath('//article[contains(@class, "card-has-image")]')
    [picture] = card.xpath(".//picture")
    [webp] = picture.xpath(".//source")
    [img] = picture.xpath(".//img")  # libxml2 may nest it in <source>
    assert webp.get("type") == "image/webp"
    urls = [img.get("src")] + [u for u, _ in candidates(img.get("srcset"))]
    urls += [u for u, _ in candidates(webp.get("srcset"))]
    assert len(urls) >= 3
    for url in urls:
        assert url != hero.get("src"), url
        with Image.open(local(site, url)) as im:
            assert im.width <= BLOG_WIDTHS[0], (url, im.size)
            assert im.size != master.size
    for element in (img, webp):
        for url, width in candidates(element.get("srcset")):
            with Image.open(local(site, url)) as im:
                assert im.width == width, url  # the descriptor tells the truth
    with Image.open(local(site, img.get("src"))) as im:
        assert im.format == "JPEG" and im.size == (480, 360)
    with Image.open(local(site, candidates(webp.get("srcset"))[0][0])) as im:
        assert im.format == "WEBP"
    # shown as the stylesheet sizes it: 9rem at 4:3, 5rem on narrow screens
    media, narrow, wide = thumb_css(site)
    assert img.get("sizes") == webp.get("sizes") == f"{media} {narrow}, {wide}"
    assert (img.get("width"), img.get("height")) == ("144", "108")
    assert img.get("loading") == "lazy" and img.get("alt") == ""
    assert img.get("class") == "card-thumb"


def test_the_thumbnail_files_are_published(built: Path) -> None:
    """Every file a list page names is in the site (no link to a cache file)."""
    listing = (built / "index.html").read_text(encoding="utf-8")
    names = re.findall(r'(/assets/[^" ,]+)', listing)
    assert names
    assert all(local(built, n).is_file() for n in names), names


# ---------------------------------------------------------------------------
# 2. speaker photos: the 96 px file, shown 48 px wide in the photo's aspect ratio


def test_speaker_photo_is_the_2x_file_at_its_shown_size(built: Path) -> None:
    [img] = doc(built, "summit").xpath('//img[@class="speaker-photo"]')
    assert (img.get("width"), img.get("height")) == ("48", "36")  # 1200×900 → 48×36
    with Image.open(local(built, img.get("src"))) as im:
        assert im.size == (96, 72)  # twice what is shown
    assert img.get("loading") == "lazy"
    # the same file the newsletter uses
    email = (built.parent / "newsletters" / "summit.html").read_text(encoding="utf-8")
    [shown] = re.findall(r'<img class="speaker-photo"[^>]*src="([^"]+)"', email)
    assert shown == SITE + img.get("src")


# ---------------------------------------------------------------------------
# 3. a site in one language: no sitemap alternates at all


def test_one_language_sitemap_has_no_alternates(built: Path) -> None:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    tree = ET.parse(built / "sitemap.xml")
    locs = [u.findtext("s:loc", namespaces=ns) for u in tree.findall("s:url", ns)]
    assert f"{SITE}/" in locs
    assert tree.findall(".//x:link", ns) == []
