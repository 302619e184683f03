"""Editions in two languages on a real WordPress and a real Ghost (issue 15): each
edition is its own post, its language is a tag (``lang-sv``; in Ghost the internal
tag ``#lang-sv``), and the editions link each other in the body, at the CMS's own
URLs (by slug: right whichever edition reaches the CMS first)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
import requests
from cmskit import Server, make_site
from test_ghost import Ghost
from test_wordpress import WP


def edition(slug: str, lang: str, title: str) -> str:
    return (
        f"---\ntitle: {title}\nslug: {slug}\ndate: 2026-04-20 09:00\nlang: {lang}\n"
        f"translation_key: lang-pair\nsummary: {title}.\ntags: [safety]\n---\n\n"
        f"{title}: forty neighbours came.\n"
    )


POSTS = {
    "lang-pair-sv.md": edition("lang-pair-sv", "sv", "Trygghetsvandring i vår"),
    "lang-pair-en.md": edition("lang-pair-en", "en", "Safety walk in spring"),
}


@pytest.fixture(scope="module")
def wp(wordpress: Server) -> WP:
    return WP(wordpress)


@pytest.fixture(scope="module")
def gh(ghost: Server) -> Ghost:
    return Ghost(ghost)


def test_wordpress_editions_are_tagged_posts_that_link_each_other(wp: WP, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", wp.env(), samples=False, posts=POSTS)
    site.ok("publish")
    sv, en = wp.post("lang-pair-sv"), wp.post("lang-pair-en")
    assert "lang-sv" in wp.term_names("tags", sv["tags"])
    assert "lang-en" in wp.term_names("tags", en["tags"])
    assert "safety" in wp.term_names("tags", sv["tags"])
    sv_body, en_body = html.unescape(sv["content"]["raw"]), html.unescape(en["content"]["raw"])
    assert f'href="{wp.url}/?name=lang-pair-en" hreflang="en"' in sv_body
    assert "Read in English" in sv_body
    assert f'href="{wp.url}/?name=lang-pair-sv" hreflang="sv"' in en_body
    assert "Läs på svenska" in en_body
    # WordPress takes the link to the edition's own permalink
    landed = requests.get(f"{wp.url}/?name=lang-pair-sv", timeout=30)
    assert landed.status_code == 200 and landed.url == sv["link"]
    # one publish was enough: the links do not depend on which edition went first
    assert site.ok("publish") == "nothing to do: everything is up to date\n"


def _tags(post: dict[str, Any]) -> dict[str, str]:
    return {t["name"]: t["visibility"] for t in post["tags"]}


def test_ghost_editions_carry_an_internal_language_tag_and_link_each_other(
    gh: Ghost, tmp_path: Path
) -> None:
    site = make_site(tmp_path / "site", gh.env(), samples=False, posts=POSTS)
    site.ok("publish")
    sv, en = gh.post("lang-pair-sv"), gh.post("lang-pair-en")
    assert _tags(sv) == {"safety": "public", "#lang-sv": "internal"}
    assert _tags(en) == {"safety": "public", "#lang-en": "internal"}
    assert f'href="{en["url"]}"' in sv["html"] and "Read in English" in sv["html"]
    assert f'href="{sv["url"]}"' in en["html"] and "Läs på svenska" in en["html"]
    assert site.ok("publish") == "nothing to do: everything is up to date\n"
