"""Editions in two languages (issue 15), through ``postpipe`` processes: paths,
hreflang (absolute, reciprocal, x-default), the language switch, per-language
home pages and feeds, sitemap alternates, JSON-LD, links between posts, the
email's link to the other edition, the duplicate-key error and the mismatch
warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import lxml.html
import pytest

pytestmark = pytest.mark.cli

NOW = "2026-05-04T10:00:00+00:00"
SITE = "https://news.example.org"
ENV = {
    "POSTPIPE_SITE_URL": SITE,
    "POSTPIPE_SITE_TITLE": "Test site",
    "POSTPIPE_TIMEZONE": "Europe/Stockholm",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}

EVENT = """event:
  name: Trygghetsdagen
  start: 2026-09-10 09:00
  end: 2026-09-10 16:00
  location: "{location}"
speakers:
  - name: Anna Berg
  - name: {speaker}
"""


def edition(
    title: str,
    slug: str,
    lang: str,
    body: str,
    *,
    key: str = "safety-day",
    location: str = "Folkets Hus, Göteborg",
    speaker: str = "Omar Haddad",
) -> str:
    return (
        f"---\ntitle: {title}\nslug: {slug}\ndate: 2026-04-20 09:00\nlang: {lang}\n"
        f"translation_key: {key}\nsummary: {title}.\ntags: [safety]\n"
        + EVENT.format(location=location, speaker=speaker)
        + f"newsletter:\n  subject: {title}\n  preheader: {title}\n---\n\n{body}\n"
    )


SV = edition("Inbjudan till trygghetsdagen", "inbjudan", "sv", "Välkommen till dagen.")
EN = edition("Invitation to the safety day", "invitation", "en", "Welcome to the day.")
ONLY_EN = (
    "---\ntitle: Notes from the spring\nslug: spring-notes\ndate: 2026-04-01 09:00\n"
    "summary: Spring notes.\ntags: [safety]\n---\n\n"
    "Read [the invitation](2026-04-20-inbjudan.md) before you come.\n"
)
PAIR = {
    "2026-04-20-inbjudan.md": SV,
    "2026-04-20-invitation.md": EN,
    "2026-04-01-spring-notes.md": ONLY_EN,
}


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPIPE_")}
    env.update(PYTHONUTF8="1", POSTPIPE_NOW=NOW, **ENV)
    return subprocess.run(
        [sys.executable, "-m", "postpipe", *args, "--root", str(root)],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def make(root: Path, posts: dict[str, str]) -> Path:
    for name, text in posts.items():
        path = root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make(tmp_path_factory.mktemp("pair"), PAIR)
    result = run(root, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "build"


def page(built: Path, path: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((built / "site" / path / "index.html").read_bytes())


def alternates(doc: lxml.html.HtmlElement) -> dict[str, str]:
    return {
        link.get("hreflang"): link.get("href")
        for link in doc.xpath('//head/link[@rel="alternate"][@hreflang]')
    }


def test_default_language_at_the_root_others_under_their_language(built):
    site = built / "site"
    assert (site / "invitation/index.html").is_file()
    assert (site / "spring-notes/index.html").is_file()
    assert (site / "sv/inbjudan/index.html").is_file()
    assert (site / "sv/inbjudan/event.ics").is_file()
    assert not (site / "inbjudan").exists()
    assert page(built, "sv/inbjudan").get("lang") == "sv"


def test_hreflang_alternates_are_absolute_and_reciprocal(built):
    en = alternates(page(built, "invitation"))
    sv = alternates(page(built, "sv/inbjudan"))
    expected = {
        "en": f"{SITE}/invitation/",
        "sv": f"{SITE}/sv/inbjudan/",
        "x-default": f"{SITE}/invitation/",
    }
    assert en == expected
    assert sv == expected
    assert alternates(page(built, "spring-notes")) == {}  # no translation, no alternates


def test_visible_language_switch(built):
    [en_link] = page(built, "invitation").xpath('//nav[@class="lang-switch"]//a')
    assert en_link.text_content() == "Läs på svenska"
    assert en_link.get("href") == "/sv/inbjudan/" and en_link.get("hreflang") == "sv"
    [sv_link] = page(built, "sv/inbjudan").xpath('//nav[@class="lang-switch"]//a')
    assert sv_link.text_content() == "Read in English"
    assert sv_link.get("href") == "/invitation/"
    assert not page(built, "spring-notes").xpath('//nav[@class="lang-switch"]')


def test_jsonld_links_the_original_and_its_translation(built):
    def posting(path: str) -> dict:
        [script] = page(built, path).xpath('//script[@type="application/ld+json"]')
        data = json.loads(script.text)
        return next(n for n in data["@graph"] if n["@type"] == "BlogPosting")

    en, sv = posting("invitation"), posting("sv/inbjudan")
    assert en["inLanguage"] == "en" and sv["inLanguage"] == "sv"
    assert en["workTranslation"] == [{"@id": f"{SITE}/sv/inbjudan/#post"}]
    assert sv["translationOfWork"] == {"@id": f"{SITE}/invitation/#post"}


def test_each_language_has_its_home_tags_and_feed(built):
    site = built / "site"

    def listed(path: str) -> list[str]:
        doc = lxml.html.fromstring((site / path).read_bytes())
        return [a.get("href") for a in doc.xpath("//main//h2/a")]

    assert set(listed("index.html")) == {"/invitation/", "/spring-notes/"}
    assert listed("sv/index.html") == ["/sv/inbjudan/"]
    assert lxml.html.fromstring((site / "sv/index.html").read_bytes()).get("lang") == "sv"
    assert set(listed("tags/safety/index.html")) == {"/invitation/", "/spring-notes/"}
    assert listed("sv/tags/safety/index.html") == ["/sv/inbjudan/"]

    en = feedparser.parse((site / "feed.xml").read_bytes())
    sv = feedparser.parse((site / "sv/feed.xml").read_bytes())
    assert not en.bozo and not sv.bozo
    assert {e.link for e in en.entries} == {f"{SITE}/invitation/", f"{SITE}/spring-notes/"}
    assert [e.link for e in sv.entries] == [f"{SITE}/sv/inbjudan/"]
    assert sv.feed.language == "sv" and en.feed.language == "en"
    assert sv.feed.link == f"{SITE}/sv/"
    # each page's feed link is its language's feed
    doc = page(built, "sv/inbjudan")
    [feed_link] = doc.xpath('//head/link[@type="application/atom+xml"]')
    assert feed_link.get("href") == f"{SITE}/sv/feed.xml"


def test_sitemap_lists_every_page_with_alternates(built):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    tree = ET.parse(built / "site/sitemap.xml")
    urls = {u.findtext("s:loc", namespaces=ns): u for u in tree.findall("s:url", ns)}
    assert {f"{SITE}/", f"{SITE}/sv/", f"{SITE}/sv/inbjudan/", f"{SITE}/invitation/"} <= set(urls)
    assert f"{SITE}/sv/tags/safety/" in urls
    for loc in (f"{SITE}/invitation/", f"{SITE}/sv/inbjudan/"):
        links = {link.get("hreflang"): link.get("href") for link in urls[loc].findall("x:link", ns)}
        assert links == {
            "en": f"{SITE}/invitation/",
            "sv": f"{SITE}/sv/inbjudan/",
            "x-default": f"{SITE}/invitation/",
        }
    assert urls[f"{SITE}/spring-notes/"].findall("x:link", ns) == []


def test_sitemap_language_homes_list_each_other(built):
    """The homes ``/`` and ``/sv/`` carry the same reciprocal alternates (and
    ``x-default``) in the sitemap as in their own heads; other lists none."""
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    tree = ET.parse(built / "site/sitemap.xml")
    urls = {u.findtext("s:loc", namespaces=ns): u for u in tree.findall("s:url", ns)}
    expected = {"en": f"{SITE}/", "sv": f"{SITE}/sv/", "x-default": f"{SITE}/"}
    for loc, path in ((f"{SITE}/", ""), (f"{SITE}/sv/", "sv")):
        links = urls[loc].findall("x:link", ns)
        assert {link.get("rel") for link in links} == {"alternate"}
        by_lang = {link.get("hreflang"): link.get("href") for link in links}
        assert len(by_lang) == len(links)  # each language once
        assert by_lang == expected, loc
        assert alternates(page(built, path)) == by_lang  # as the page itself says
    for loc in (f"{SITE}/tags/safety/", f"{SITE}/sv/tags/safety/"):
        assert urls[loc].findall("x:link", ns) == []


def test_a_link_to_a_post_goes_to_the_edition_in_the_same_language(built):
    hrefs = page(built, "spring-notes").xpath('//div[@class="post-body"]//a/@href')
    assert "/invitation/" in hrefs  # the English edition of the Swedish file it names


def test_each_newsletter_links_the_other_edition(built):
    sv_text = (built / "newsletters/inbjudan.txt").read_text(encoding="utf-8")
    en_text = (built / "newsletters/invitation.txt").read_text(encoding="utf-8")
    assert f"Read in English:\n{SITE}/invitation/" in sv_text
    assert f"Läs på svenska:\n{SITE}/sv/inbjudan/" in en_text
    sv_html = lxml.html.fromstring((built / "newsletters/inbjudan.html").read_bytes())
    [link] = sv_html.xpath('//a[@hreflang="en"]')
    assert link.text_content() == "Read in English"
    assert link.get("href").startswith(f"{SITE}/invitation/")


def test_the_language_homes_link_each_other(built):
    expected = {"en": f"{SITE}/", "sv": f"{SITE}/sv/", "x-default": f"{SITE}/"}
    en, sv = page(built, ""), page(built, "sv")
    assert alternates(en) == expected
    assert alternates(sv) == expected
    [to_sv] = en.xpath('//nav[@class="lang-switch"]//a')
    assert (to_sv.get("href"), to_sv.get("hreflang"), to_sv.text_content()) == (
        "/sv/",
        "sv",
        "Läs på svenska",
    )
    [to_en] = sv.xpath('//nav[@class="lang-switch"]//a')
    assert (to_en.get("href"), to_en.get("hreflang"), to_en.text_content()) == (
        "/",
        "en",
        "Read in English",
    )
    # tag pages are no translations of each other
    assert alternates(page(built, "sv/tags/safety")) == {}


def test_a_paginated_home_has_the_switch_but_no_hreflang(tmp_path):
    many = {
        f"2026-03-{day:02d}-note-{day}.md": (
            f"---\ntitle: Note {day}\ndate: 2026-03-{day:02d} 09:00\nsummary: Note.\n---\n\nText.\n"
        )
        for day in range(1, 12)
    }
    root = make(tmp_path, {**many, "2026-04-20-inbjudan.md": SV})
    result = run(root, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    second = page(root / "build", "page/2")
    assert alternates(second) == {}  # page 2 of one language is no translation of another
    [link] = second.xpath('//nav[@class="lang-switch"]//a')
    assert link.get("href") == "/sv/" and link.get("rel") is None
    assert set(alternates(page(root / "build", ""))) == {"en", "sv", "x-default"}


@pytest.mark.parametrize(
    "posts",
    [
        {"2026-04-01-spring-notes.md": ONLY_EN.replace("Read [the invitation]", "Read")},
        {"2026-04-20-inbjudan.md": SV.replace("translation_key: safety-day\n", "")},
    ],
    ids=["default-language-only", "other-language-only"],
)
def test_a_site_in_one_language_has_no_language_links(tmp_path, posts):
    root = make(tmp_path, posts)
    result = run(root, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    site = root / "build" / "site"
    for index in site.rglob("index.html"):
        html = index.read_text(encoding="utf-8")
        assert "hreflang" not in html and "lang-switch" not in html, index
        assert "og:locale:alternate" not in html, index
    assert b"xhtml:link" not in (site / "sitemap.xml").read_bytes()


def test_a_newsletter_links_the_home_of_its_language(built):
    def home(name: str) -> str:
        doc = lxml.html.fromstring((built / "newsletters" / name).read_bytes())
        [link] = doc.xpath('//a[@class="site-title"]')
        return link.get("href").split("?")[0]

    assert home("inbjudan.html") == f"{SITE}/sv/"
    assert home("invitation.html") == SITE  # the default language: the site, as before


def test_og_locale_comes_from_the_language_catalogue(built):
    def locales(path: str) -> tuple[str, list[str]]:
        doc = page(built, path)
        [own] = doc.xpath('//meta[@property="og:locale"]/@content')
        return own, doc.xpath('//meta[@property="og:locale:alternate"]/@content')

    assert locales("invitation") == ("en_GB", ["sv_SE"])
    assert locales("sv/inbjudan") == ("sv_SE", ["en_GB"])
    assert locales("spring-notes") == ("en_GB", [])


def test_two_posts_of_one_language_sharing_a_key_is_an_error(tmp_path):
    twin = edition("Inbjudan igen", "inbjudan-igen", "sv", "Samma dag.")
    root = make(tmp_path, {**PAIR, "2026-04-21-inbjudan-igen.md": twin})
    result = run(root, "build")
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert (
        "posts/2026-04-21-inbjudan-igen.md:6: translation_key 'safety-day' already has an "
        "edition in 'sv': posts/2026-04-20-inbjudan.md" in out
    ), out
    assert "hint: each language has one edition per key" in out
    assert not (root / "build").exists()  # nothing written
    check = run(root, "check", "--json")
    assert check.returncode == 1
    [finding] = [f for f in json.loads(check.stdout) if f["rule"] == "duplicate-translation"]
    assert finding["level"] == "error" and finding["line"] == 6


def test_translations_that_disagree_on_the_event_are_a_warning(tmp_path):
    en = edition(
        "Invitation to the safety day",
        "invitation",
        "en",
        "Welcome.",
        location="Folkets Hus, Malmö",
        speaker="Omar Hadad",
    )
    root = make(tmp_path, {**PAIR, "2026-04-20-invitation.md": en})
    result = run(root, "check", "--json")
    assert result.returncode == 0, result.stdout + result.stderr  # warnings only
    found = [f for f in json.loads(result.stdout) if f["rule"] == "translation-mismatch"]
    assert {f["level"] for f in found} == {"warning"}
    by_fact = {f["message"].split(" differs")[0]: f for f in found}
    assert set(by_fact) == {"event location", "speakers"}
    location = by_fact["event location"]
    assert "posts/2026-04-20-invitation.md" in location["message"]
    assert "posts/2026-04-20-inbjudan.md" in location["message"]
    assert location["path"] == "posts/2026-04-20-invitation.md" and location["line"] == 13
    assert run(root, "check", "--strict").returncode == 1
    # the pair that agrees has no such warning; a missing translation is fine
    agreed = make(tmp_path / "agreed", PAIR)
    out = json.loads(run(agreed, "check", "--json").stdout)
    assert not [f for f in out if f["rule"] == "translation-mismatch"]


def test_a_new_translation_updates_the_cached_edition(tmp_path):
    """The English page was built (and cached) alone; adding its Swedish edition
    re-renders it with the alternates and the switch, and removing it again takes
    them away: no stale page from the render cache."""
    root = make(tmp_path, {"2026-04-20-invitation.md": EN})
    assert run(root, "build").returncode == 0
    built = root / "build"
    assert alternates(page(built, "invitation")) == {}
    make(root, {"2026-04-20-inbjudan.md": SV})
    assert run(root, "build").returncode == 0
    assert set(alternates(page(built, "invitation"))) == {"en", "sv", "x-default"}
    (root / "posts/2026-04-20-inbjudan.md").unlink()
    assert run(root, "build").returncode == 0
    assert alternates(page(built, "invitation")) == {}
    assert not page(built, "invitation").xpath('//nav[@class="lang-switch"]')
    assert not (built / "site/sv").exists()


def _rules(css: str) -> dict[str, dict[str, str]]:
    """The declarations of every selector outside @media (later rules win)."""
    from postpipe.checks.css import stylesheet_rules

    out: dict[str, dict[str, str]] = {}
    for media, group, decls in stylesheet_rules(css):
        if not media:
            for selector in group.split(","):
                out.setdefault(selector.strip(), {}).update(decls)
    return out


def test_the_language_switch_has_a_rule_of_its_own(built):
    """The class the switch's template uses (on posts and homes) is styled in the
    stylesheet the pages link: small, a link colour, a visible focus."""
    classes = set()
    for path in ("invitation", "sv/inbjudan", "", "sv"):
        [nav] = page(built, path).xpath("//main//nav[.//a[@hreflang]]")
        classes.add(nav.get("class"))
    [cls] = classes
    [href] = page(built, "invitation").xpath('//head/link[@rel="stylesheet"]/@href')
    rules = _rules((built / "site" / href.lstrip("/")).read_text(encoding="utf-8"))
    assert rules[f".{cls}"]["font-size"].endswith("rem")
    link = rules[f".{cls} a"]
    assert link["color"].startswith("var(--") and link["background"]
    focus = rules[f".{cls} a:focus-visible"]
    assert focus["outline"].startswith("3px solid")


def test_the_switch_keeps_the_stylesheet_contrast_check_clean(built, tmp_path):
    result = run(built.parent, "check", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [f for f in json.loads(result.stdout) if f["rule"] == "contrast"]
    # the check does read the switch's colours: a pale one is reported
    from postpipe.render.templating import PACKAGE_TEMPLATES

    css = (PACKAGE_TEMPLATES / "static/style.css").read_text(encoding="utf-8")
    start = css.index(".lang-switch a {")
    end = css.index("}", start)
    pale = css[:start] + css[start:end].replace("var(--accent-strong)", "#a9b4b6") + css[end:]
    assert pale != css
    root = make(tmp_path, PAIR)
    (root / "templates/static").mkdir(parents=True)
    (root / "templates/static/style.css").write_text(pale, encoding="utf-8")
    found = [f for f in json.loads(run(root, "check", "--json").stdout) if f["rule"] == "contrast"]
    assert found and all("'.lang-switch a'" in f["message"] for f in found), found
