"""Slugs and file names within file system limits, one slug per distinct tag, tags as
written, dates within 1900-2200 and ``send_at`` not before ``date`` (issue 10: 6, 7, 9, 10)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from postpipe.assets import make_asset
from postpipe.content import MAX_SLUG, load_posts, slugify, term_slug
from postpipe.pipeline import build_site
from postpipe.preview import Preview

pytestmark = pytest.mark.unit

UTC = ZoneInfo("UTC")
LONG_TITLE = " ".join(f"word{i}" for i in range(60))  # 60 words, 409 characters


def load(root: Path) -> tuple[list, list]:
    return load_posts(root, tz=UTC, raise_errors=False)


def messages(errors: list) -> list[str]:
    return [f"{e.path}:{e.line}: {e.message} | {e.hint}" for e in errors]


# ---------------------------------------------------------------------------
# slugs of posts


def test_a_long_title_gives_a_slug_cut_at_a_word_boundary(make_site, post_text) -> None:
    root = make_site({"a.md": post_text(f'title: "{LONG_TITLE}"\ndate: 2026-01-01\n')})
    [post], errors = load(root)
    assert errors == []
    assert len(post.slug) <= MAX_SLUG == 200
    words = post.slug.split("-")
    assert words == [f"word{i}" for i in range(len(words))]  # whole words only
    assert len(post.slug) + len(f"-word{len(words)}") > 200  # as many words as fit


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Safer Streets Summit 2026", "safer-streets-summit-2026"),
        ("Trygghetsdagen i Göteborg: what's next?", "trygghetsdagen-i-goteborg-what-s-next"),
        ("AT&T and C++ night", "at-and-t-and-c-night"),  # post slugs are not tag slugs
        ("x" * 200, "x" * 200),  # exactly 200: unchanged
        ("a" * 201, "a" * 200),  # one word longer than the limit: cut inside it
        ("ab " * 66 + "abc", ("ab-" * 66).rstrip("-")),
    ],
)
def test_slugs_up_to_200_characters_are_unchanged(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_an_explicit_slug_over_200_characters_is_an_error_with_its_line(
    make_site, post_text
) -> None:
    long = "-".join(["part"] * 45)  # 224 characters
    root = make_site({"a.md": post_text(f"title: A\ndate: 2026-01-01\nslug: {long}\n")})
    posts, errors = load(root)
    assert posts == []
    [msg] = messages(errors)
    assert msg.startswith("posts/a.md:4: 'slug' has 224 characters, more than 200")
    assert "shorten it" in msg


def test_long_image_file_names_give_asset_names_under_255_bytes(tmp_path: Path, png_bytes) -> None:
    image = tmp_path / ("ö" * 120 + ".png")  # 240 bytes in UTF-8
    image.write_bytes(png_bytes(2, 2))
    asset = make_asset(image)
    name = asset.name.removeprefix("assets/")
    assert len(name.encode()) < 255
    assert name.endswith(".png") and name.startswith("ö" * 100)


# ---------------------------------------------------------------------------
# slugs of tags and categories


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("policing", "policing"),
        ("community safety", "community-safety"),
        ("Community-Safety", "community-safety"),
        ("Göteborg", "goteborg"),
        ("Node.js", "node-js"),
        ("AT&T", "at-and-t"),
        ("C++", "c-plus-plus"),
        ("C#", "c-sharp"),
        ("F#", "f-sharp"),
        ("C", "c"),
        ("#metoo", "metoo"),  # a hashtag's '#' is no word
        ("50%", "50-percent"),
    ],
)
def test_tag_slugs(name: str, slug: str) -> None:
    assert term_slug(name) == slug


def test_distinct_tags_get_distinct_slugs_and_spellings_of_one_tag_share_one() -> None:
    assert len({term_slug(n) for n in ("C++", "C#", "C", "日本", "中国", "€", "Tag 日本")}) == 7
    assert term_slug("日本") and re.fullmatch(r"[a-z0-9-]+", term_slug("日本"))
    assert term_slug("Tag 日本").startswith("tag-")
    assert term_slug("Résumé") == term_slug("resume") == term_slug("RESUME") == "resume"
    assert term_slug("Ελλάδα") == term_slug("ΕΛΛΆΔΑ")


def test_a_very_long_tag_gets_a_short_distinct_slug() -> None:
    a, b = "word " * 60 + "one", "word " * 60 + "two"
    assert term_slug(a) != term_slug(b)
    assert len(term_slug(a)) <= 200


def _tag_page_posts(site: Path, path: str) -> list[str]:
    doc = lxml.html.document_fromstring((site / path / "index.html").read_bytes())
    return [a.get("href") for a in doc.iter("a") if a.get("href", "").startswith("/post-")]


def test_tag_pages_of_c_cpp_and_csharp_are_apart_and_list_a_post_once(
    make_site, post_text, settings, tmp_path: Path
) -> None:
    root = make_site(
        {
            "a.md": post_text(
                "title: Post A\ndate: 2026-01-02\nslug: post-a\nsummary: A.\n"
                "tags: [C++, C#, C, c, Résumé, resume]\ncategories: [Talks, talks]\n"
            ),
            "b.md": post_text(
                "title: Post B\ndate: 2026-01-01\nslug: post-b\nsummary: B.\ntags: [C]\n"
            ),
        }
    )
    build_site(settings(root, POSTPIPE_SITE_URL="https://example.org"), tmp_path / "out")
    site = tmp_path / "out" / "site"
    tags = sorted(p.name for p in (site / "tags").iterdir())
    assert tags == ["c", "c-plus-plus", "c-sharp", "resume"]
    assert sorted(set(_tag_page_posts(site, "tags/c"))) == ["/post-a/", "/post-b/"]
    for path in ("tags/c", "tags/c-plus-plus", "tags/c-sharp", "tags/resume", "categories/talks"):
        assert _tag_page_posts(site, path).count("/post-a/") == 1, path  # one card
    page = (site / "post-a" / "index.html").read_text(encoding="utf-8")
    assert page.count('href="/tags/c/"') == 1  # C and c: one chip
    assert page.count('href="/categories/talks/"') == 1


# ---------------------------------------------------------------------------
# tags keep their text


def test_tags_and_categories_keep_the_text_as_written(make_site, post_text) -> None:
    root = make_site(
        {
            "a.md": post_text(
                "title: A\ndate: 2026-01-01\n"
                "tags: [0x1F, 1e3, 010, yes, 2026, 2026-10-22, '0x2A', \"No\", 1_000]\n"
                "categories:\n  - 3.10\n  - off\n"
            )
        }
    )
    [post], errors = load(root)
    assert errors == []
    assert post.tags == ("0x1F", "1e3", "010", "yes", "2026", "2026-10-22", "0x2A", "No", "1_000")
    assert post.categories == ("3.10", "off")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("policing", "'tags' must be a list, but YAML read text"),
        ("[a, [b]]", "'tags' must be a list of text, but one item is a list"),
        ("[a, {b: c}]", "'tags' must be a list of text, but one item is a mapping"),
        ("[a, ~]", "'tags' must be a list of text, but one item is empty"),
    ],
)
def test_tags_that_are_no_list_of_text_are_errors(make_site, post_text, value, problem) -> None:
    root = make_site({"a.md": post_text(f"title: A\ndate: 2026-01-01\ntags: {value}\n")})
    _, errors = load(root)
    [msg] = messages(errors)
    assert msg.startswith(f"posts/a.md:4: {problem}"), msg


def test_an_empty_tags_key_is_no_tags(make_site, post_text) -> None:
    root = make_site({"a.md": post_text("title: A\ndate: 2026-01-01\ntags:\n")})
    [post], errors = load(root)
    assert errors == [] and post.tags == ()


# ---------------------------------------------------------------------------
# dates

FRONT = "title: A\ndate: {date}\nevent:\n  name: E\n  start: {start}\n  end: {end}\n" + (
    "newsletter:\n  subject: S\n  send_at: {send_at}\n"
)
OK = {
    "date": "2026-01-01T10:00+01:00",
    "start": "2026-01-01T10:00+01:00",
    "end": "2026-01-01T12:00+01:00",
    "send_at": "2026-01-02T08:00+01:00",
}
LINES = {"date": 3, "start": 6, "end": 7, "send_at": 10}


@pytest.mark.parametrize("key", ["date", "start", "end", "send_at"])
@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00+05:00", "9999-12-31T23:59-05:00", "1899-12-31", "2201-01-01"]
)
def test_dates_outside_1900_to_2200_are_errors_with_the_line(
    make_site, post_text, key: str, value: str
) -> None:
    values = dict(OK, **{key: value})
    if key in ("date", "start") and value.startswith(("9999", "2201")):
        values.update(end="9999-12-31T23:59-05:00", send_at="9999-12-31T23:59-05:00")
    if key in ("end", "send_at") and value.startswith(("0001", "1899")):
        values.update(date="0001-01-01T00:00+05:00", start="0001-01-01T00:00+05:00")
    values[key] = value
    root = make_site({"a.md": post_text(FRONT.format(**values))})
    posts, errors = load(root)
    assert posts == []
    year = int(value[:4])
    found = [m for m in messages(errors) if f"posts/a.md:{LINES[key]}:" in m]
    assert found, messages(errors)
    assert f"is in the year {year}, outside 1900–2200" in found[0]
    assert "postpipe takes dates from 1900 to 2200" in found[0]


def test_boundary_dates_load_build_and_give_a_valid_feed(
    make_site, post_text, settings, tmp_path: Path
) -> None:
    root = make_site(
        {
            "late.md": post_text(
                FRONT.format(
                    date="2200-12-31T23:59-12:00",
                    start="2200-12-31T23:59-12:00",
                    end="2200-12-31T23:59-12:00",
                    send_at="2200-12-31T23:59-12:00",
                ).replace("title: A", "title: Late\nsummary: L.")
            ),
            "early.md": post_text(
                FRONT.format(
                    date="1900-01-01T00:00+14:00",
                    start="1900-01-01T00:00+14:00",
                    end="2200-12-31T23:59-12:00",
                    send_at="1900-01-01T00:00+14:00",
                ).replace("title: A", "title: Early\nsummary: E.")
            ),
            "naive.md": post_text("title: Naive\ndate: 1900-01-01\nsummary: N.\n"),
        }
    )
    posts, errors = load(root)
    assert errors == [] and len(posts) == 3
    s = settings(root, POSTPIPE_SITE_URL="https://example.org", POSTPIPE_TIMEZONE="Etc/GMT-14")
    build_site(s, tmp_path / "out")
    site = tmp_path / "out" / "site"
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.findtext(f"{atom}updated") == "2201-01-01T11:59:00Z"
    published = sorted(e.findtext(f"{atom}published") for e in feed.iter(f"{atom}entry"))
    assert published == ["1899-12-31T10:00:00Z", "1899-12-31T10:00:00Z", "2201-01-01T11:59:00Z"]
    ET.parse(site / "sitemap.xml")
    assert '"startDate": "1900-01-01T00:00:00+14:00"' in (site / "early/index.html").read_text()


# ---------------------------------------------------------------------------
# send_at before date


def test_send_at_before_the_posts_date_is_an_error_at_send_at(make_site, post_text) -> None:
    root = make_site(
        {
            "a.md": post_text(
                "title: A\ndate: 2026-10-22T17:00+02:00\nnewsletter:\n"
                "  subject: S\n  send_at: 2026-10-22T14:59+00:00\n"
            ),
            "same.md": post_text(
                "title: B\ndate: 2026-10-22T17:00+02:00\nnewsletter:\n"
                "  subject: S\n  send_at: 2026-10-22T15:00+00:00\n"  # the same moment: fine
            ),
        }
    )
    posts, errors = load(root)
    assert [p.slug for p in posts] == ["b"]
    [msg] = messages(errors)
    assert msg.startswith(
        "posts/a.md:6: 'newsletter.send_at' (2026-10-22T14:59:00+00:00) is before the post's "
        "date (2026-10-22T17:00:00+02:00)"
    )
    assert "a newsletter cannot go out before its post is published" in msg
    assert "move send_at after date or date earlier" in msg


# ---------------------------------------------------------------------------
# the preview keeps the other posts of a batch


def test_the_preview_shows_a_date_error_and_keeps_the_rest_of_the_batch(
    make_site, post_text, settings
) -> None:
    root = make_site(
        {
            "good.md": post_text("title: Good\ndate: 2026-01-01\nsummary: G.\n"),
            "bad.md": post_text("title: Bad\ndate: 2026-01-02\nsummary: B.\n"),
        }
    )
    preview = Preview(settings(root, POSTPIPE_SITE_URL="https://example.org"))
    good, bad = root / "posts" / "good.md", root / "posts" / "bad.md"
    good.write_text(post_text("title: Better\ndate: 2026-01-01\nsummary: G.\n"), "utf-8")
    bad.write_text(post_text("title: Bad\ndate: 9999-12-31T23:59-05:00\nsummary: B.\n"), "utf-8")
    preview.rebuild({good, bad})
    snap = preview.snapshot
    assert snap.entries["good"].ok and snap.entries["good"].title == "Better"
    assert b"Better" in snap.files["index.html"]  # type: ignore[operator]
    [error] = snap.entries["bad"].errors
    assert error.line == 3 and "outside 1900–2200" in error.message
    assert b"<feed" in snap.files["feed.xml"]  # type: ignore[operator]
