"""Posts: front matter validation (DESIGN §1), slugs, dates, images, summaries.

Every bad input must give a ContentError with the file, the line and a hint,
collected with every other error of every post into one ErrorGroup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postpipe.content import load_posts, slugify
from postpipe.errors import ContentError, ErrorGroup

pytestmark = pytest.mark.unit

UTC = ZoneInfo("UTC")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
OK_FRONT = "title: A fine post\ndate: 2026-01-01\n"


def load_errors(root: Path) -> list[ContentError]:
    """The errors ``load_posts`` raises for ``root``, checked to be ContentErrors."""
    with pytest.raises(ErrorGroup) as info:
        load_posts(root, tz=UTC)
    errors = info.value.errors
    assert errors, "an ErrorGroup without errors"
    assert all(isinstance(e, ContentError) for e in errors), errors
    return errors


def only_error(errors: list[ContentError], *words: str) -> ContentError:
    """The one error whose message holds every word in ``words``."""
    found = [e for e in errors if all(w in e.message for w in words)]
    assert len(found) == 1, f"want one error with {words!r}, got: {[e.render() for e in errors]}"
    return found[0]


def assert_error(error: ContentError, *, path: str, line: int, message: tuple[str, ...],
                 hint: tuple[str, ...]) -> None:
    assert error.path == path
    assert error.line == line, error.render()
    for word in message:
        assert word in error.message, error.render()
    assert error.hint, f"no hint: {error.render()}"
    for word in hint:
        assert word in error.hint, error.render()


def one_post(make_site, text: str | bytes, **kw) -> Path:  # type: ignore[no-untyped-def]
    return make_site({"a.md": text}, **kw)


# ---------------------------------------------------------------------------
# bad input: one test each


def test_bad_yaml_names_the_line_of_the_problem(make_site, post_text):
    root = one_post(make_site, post_text("title: A\ndate: 2026-01-01\nsummary: a: b\n"))
    error = only_error(load_errors(root), "invalid YAML")
    assert_error(error, path="posts/a.md", line=4, message=("invalid YAML",),
                 hint=("quote",))


def test_bad_yaml_in_a_nested_mapping(make_site, post_text):
    front = "title: A\ndate: 2026-01-01\nevent:\n  name: E\n  location: [a, b\n"
    root = one_post(make_site, post_text(front))
    error = only_error(load_errors(root), "invalid YAML")
    assert error.path == "posts/a.md"
    assert error.line in (6, 7)  # the unclosed list on line 6, detected at the closing ---


def test_unknown_key_suggests_the_nearest_known_key(make_site, post_text):
    root = one_post(make_site, post_text("tittle: Safer Streets\ndate: 2026-01-01\n"))
    error = only_error(load_errors(root), "unknown front matter key")
    assert error.message == "unknown front matter key 'tittle'"
    assert error.hint == "did you mean 'title'?"
    assert_error(error, path="posts/a.md", line=2, message=("'tittle'",), hint=("'title'",))


def test_unknown_key_without_a_near_match_lists_the_known_keys(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "zzzqqq: 1\n"))
    error = only_error(load_errors(root), "unknown front matter key")
    assert_error(error, path="posts/a.md", line=4, message=("'zzzqqq'",),
                 hint=("title", "date", "newsletter"))


def test_unknown_nested_key_names_the_full_key(make_site, post_text):
    front = OK_FRONT + "event:\n  nmae: Summit\n"
    root = one_post(make_site, post_text(front))
    error = only_error(load_errors(root), "unknown front matter key")
    assert_error(error, path="posts/a.md", line=5, message=("'event.nmae'",),
                 hint=("did you mean 'name'?",))


def test_unknown_key_in_a_speaker(make_site, post_text):
    front = OK_FRONT + "speakers:\n  - name: Ann\n    afiliation: City\n"
    root = one_post(make_site, post_text(front))
    error = only_error(load_errors(root), "unknown front matter key")
    assert_error(error, path="posts/a.md", line=6, message=("afiliation",),
                 hint=("did you mean 'affiliation'?",))


def test_unknown_key_in_the_newsletter(make_site, post_text):
    front = OK_FRONT + "newsletter:\n  subjcet: Hello\n"
    root = one_post(make_site, post_text(front))
    error = only_error(load_errors(root), "unknown front matter key")
    assert_error(error, path="posts/a.md", line=5, message=("'newsletter.subjcet'",),
                 hint=("did you mean 'subject'?",))


def test_missing_title(make_site, post_text):
    root = one_post(make_site, post_text("date: 2026-01-01\nauthor: Ann\n"))
    error = only_error(load_errors(root), "title")
    assert_error(error, path="posts/a.md", line=2, message=("no 'title'",), hint=("title:",))


def test_missing_date(make_site, post_text):
    root = one_post(make_site, post_text("title: A\n"))
    error = only_error(load_errors(root), "date")
    assert_error(error, path="posts/a.md", line=2, message=("no 'date'",), hint=("date:",))


@pytest.mark.parametrize("value", ["2026-13-45", '"2026-13-45"', "2026-02-30", "next week",
                                   "2026-01-01T10:00:00+25:00"])
def test_bad_date(make_site, post_text, value):
    root = one_post(make_site, post_text(f"title: A\nauthor: Ann\ndate: {value}\n"))
    error = only_error(load_errors(root), "date")
    assert_error(error, path="posts/a.md", line=4, message=("'date'", value.strip('"')),
                 hint=("2026-10-22",))


def test_empty_date_is_an_error_not_a_silently_dropped_post(make_site, post_text):
    root = one_post(make_site, post_text("title: A\ndate:\n"))
    with pytest.raises(ErrorGroup) as info:  # today: no error, and no post either
        load_posts(root, tz=UTC)
    [error] = info.value.errors
    assert (error.path, error.line) == ("posts/a.md", 3)
    assert "date" in error.message
    assert error.hint and "2026-10-22" in error.hint


def test_bad_event_date(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "event:\n  name: E\n  start: 2026-02-30\n"))
    error = only_error(load_errors(root), "event.start")
    assert_error(error, path="posts/a.md", line=6, message=("2026-02-30",),
                 hint=("2026-10-22",))


def test_tags_must_be_a_list(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "tags: policing\n"))
    error = only_error(load_errors(root), "tags")
    assert_error(error, path="posts/a.md", line=4, message=("'tags'", "must be a list"),
                 hint=("[policing]",))


def test_categories_must_be_a_list_of_text(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "categories: [Conference, {a: b}]\n"))
    error = only_error(load_errors(root), "categories")
    assert (error.path, error.line) == ("posts/a.md", 4)
    assert "list of text" in error.message


def test_draft_must_be_a_boolean(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + 'draft: "yes"\n'))
    error = only_error(load_errors(root), "draft")
    assert_error(error, path="posts/a.md", line=4, message=("'draft'", "true or false"),
                 hint=("draft: true",))


def test_title_that_yaml_reads_as_a_boolean(make_site, post_text):
    root = one_post(make_site, post_text("title: yes\ndate: 2026-01-01\n"))
    error = only_error(load_errors(root), "must be text")
    assert_error(error, path="posts/a.md", line=2, message=("'title'", "boolean"),
                 hint=("quotes",))


def test_title_boolean_gives_no_misleading_second_error(make_site, post_text):
    """``title: yes`` is not an empty title; one error, about the type, is enough."""
    root = one_post(make_site, post_text("title: yes\ndate: 2026-01-01\n"))
    errors = load_errors(root)
    assert [e.message for e in errors if e.line == 2] == [
        "'title' must be text, but YAML read a boolean (yes/no/true/false)"
    ]


def test_lang_must_be_a_language_code(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "lang: Swedish\n"))
    error = only_error(load_errors(root), "lang")
    assert_error(error, path="posts/a.md", line=4, message=("Swedish",), hint=("sv",))


def test_invalid_slug(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "slug: Mitt Inlägg\n"))
    error = only_error(load_errors(root), "slug")
    assert_error(error, path="posts/a.md", line=4, message=("not a valid slug",),
                 hint=("mitt-inlagg",))


def test_missing_image_file(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "image: images/nope.jpg\nimage_alt: A\n"))
    error = only_error(load_errors(root), "nope.jpg")
    assert_error(error, path="posts/a.md", line=4, message=("does not exist",),
                 hint=("posts/images/",))


def test_missing_speaker_photo(make_site, post_text):
    front = OK_FRONT + "speakers:\n  - name: Ann\n    photo: ann.png\n    photo_alt: Ann\n"
    root = one_post(make_site, post_text(front))
    error = only_error(load_errors(root), "ann.png")
    assert_error(error, path="posts/a.md", line=6, message=("does not exist",),
                 hint=("posts/images/",))


def test_image_without_alt(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "image: hero.png\n"),
                    images={"hero.png": (8, 4)})
    error = only_error(load_errors(root), "alt")
    assert_error(error, path="posts/a.md", line=4, message=("'image'", "no alt text"),
                 hint=("image_alt",))


def test_speaker_photo_without_alt(make_site, post_text):
    front = OK_FRONT + "speakers:\n  - name: Ann\n    photo: images/ann.png\n"
    root = one_post(make_site, post_text(front), images={"images/ann.png": (4, 4)})
    error = only_error(load_errors(root), "alt")
    assert_error(error, path="posts/a.md", line=6, message=("photo", "no alt text"),
                 hint=("photo_alt",))


def test_speaker_without_name(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "speakers:\n  - talk: Hello\n"))
    error = only_error(load_errors(root), "name")
    assert_error(error, path="posts/a.md", line=5, message=("speaker 1",), hint=("name:",))


def test_non_utf8_file_names_the_line(make_site):
    text = "---\ntitle: A\nauthor: Jöns Ångström\ndate: 2026-01-01\n---\n\nBody.\n"
    root = one_post(make_site, text.encode("latin-1"))
    [error] = load_errors(root)
    assert_error(error, path="posts/a.md", line=3, message=("not UTF-8",), hint=("UTF-8",))


def test_duplicate_slug_is_reported_on_the_second_file(make_site, post_text):
    root = make_site({
        "2026-01-01-a.md": post_text("title: Same title\ndate: 2026-01-01\n"),
        "sub/2026-01-02-b.md": post_text("title: Same title\ndate: 2026-01-02\n"),
    })
    [error] = load_errors(root)
    assert_error(error, path="posts/sub/2026-01-02-b.md", line=2,
                 message=("'same-title'", "posts/2026-01-01-a.md"), hint=("slug",))


def test_duplicate_explicit_slug_points_at_the_slug_line(make_site, post_text):
    root = make_site({
        "a.md": post_text("title: One\ndate: 2026-01-01\n"),
        "b.md": post_text("title: Two\ndate: 2026-01-02\nslug: one\n"),
    })
    [error] = load_errors(root)
    assert_error(error, path="posts/b.md", line=4, message=("'one'", "posts/a.md"),
                 hint=("slug",))


def test_send_at_without_time_zone(make_site, post_text):
    front = OK_FRONT + "newsletter:\n  subject: Hi\n  send_at: 2026-10-23 08:00\n"
    root = one_post(make_site, post_text(front))
    error = only_error(load_errors(root), "send_at")
    assert_error(error, path="posts/a.md", line=6, message=("no time zone",),
                 hint=("+02:00",))


def test_missing_front_matter(make_site):
    root = one_post(make_site, "# Just Markdown\n\ntitle: A\n")
    [error] = load_errors(root)
    assert_error(error, path="posts/a.md", line=1, message=("does not start with front matter",),
                 hint=("---",))


def test_unclosed_front_matter(make_site):
    root = one_post(make_site, "---\ntitle: A\ndate: 2026-01-01\n\nBody text.\n")
    [error] = load_errors(root)
    assert_error(error, path="posts/a.md", line=1, message=("not closed",), hint=("---",))


def test_empty_front_matter(make_site):
    root = one_post(make_site, "---\n---\n\nBody.\n")
    [error] = load_errors(root)
    assert_error(error, path="posts/a.md", line=1, message=("empty",), hint=("title",))


def test_duplicated_key(make_site, post_text):
    root = one_post(make_site, post_text("title: A\ndate: 2026-01-01\ntitle: B\n"))
    error = only_error(load_errors(root), "twice")
    assert_error(error, path="posts/a.md", line=4, message=("'title'",),
                 hint=("2", "4"))


def test_newsletter_must_be_a_mapping(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "newsletter: yes\n"))
    error = only_error(load_errors(root), "newsletter")
    assert_error(error, path="posts/a.md", line=4, message=("mapping",), hint=("subject",))


# ---------------------------------------------------------------------------
# collecting


def test_every_error_of_every_post_is_collected(make_site, post_text):
    root = make_site({
        "a.md": post_text("tittle: A\ndate: 2026-01-01\ntags: x\n"),
        "b.md": post_text("title: B\ndate: 2026-13-45x\ndraft: maybe\n"),
        "good.md": post_text(OK_FRONT),
    })
    with pytest.raises(ErrorGroup) as info:
        load_posts(root, tz=UTC)
    group = info.value
    by_file = {(e.path, e.line) for e in group.errors}
    assert ("posts/a.md", 2) in by_file  # tittle
    assert ("posts/a.md", 4) in by_file  # tags
    assert ("posts/b.md", 3) in by_file  # date
    assert ("posts/b.md", 4) in by_file  # draft
    assert not any(e.path == "posts/good.md" for e in group.errors)
    assert group.message == f"{len(group.errors)} errors found"
    rendered = group.render()
    assert "posts/a.md:2: unknown front matter key 'tittle'" in rendered
    assert "hint: did you mean 'title'?" in rendered


def test_raise_errors_false_returns_the_good_posts_and_the_errors(make_site, post_text):
    root = make_site({"a.md": post_text("tittle: A\ndate: 2026-01-01\n"),
                      "good.md": post_text(OK_FRONT)})
    posts, errors = load_posts(root, tz=UTC, raise_errors=False)
    assert [p.rel for p in posts] == ["posts/good.md"]
    assert {e.path for e in errors} == {"posts/a.md"}


def test_no_posts_folder(tmp_path):
    with pytest.raises(ErrorGroup) as info:
        load_posts(tmp_path, tz=UTC)
    [error] = info.value.errors
    assert "posts/" in error.message


# ---------------------------------------------------------------------------
# good input


def test_three_date_forms(make_site, post_text):
    root = make_site({
        "a.md": post_text("title: Date only\ndate: 2026-01-15\n"),
        "b.md": post_text("title: Local time\ndate: 2026-07-15 17:00\n"),
        "c.md": post_text("title: With offset\ndate: 2026-03-01T08:30:00-05:00\n"),
    })
    posts, errors = load_posts(root, tz=STOCKHOLM)
    assert errors == []
    by_title = {p.title: p.date for p in posts}
    assert by_title["Date only"] == datetime(2026, 1, 15, tzinfo=STOCKHOLM)
    assert by_title["Date only"].utcoffset() == timedelta(hours=1)
    assert by_title["Local time"] == datetime(2026, 7, 15, 17, 0, tzinfo=STOCKHOLM)
    assert by_title["Local time"].utcoffset() == timedelta(hours=2)  # summer time
    assert by_title["With offset"].utcoffset() == timedelta(hours=-5)
    assert (by_title["With offset"].hour, by_title["With offset"].minute) == (8, 30)


def test_posts_are_newest_first(make_site, post_text):
    root = make_site({
        "old.md": post_text("title: Old\ndate: 2025-01-01\n"),
        "new.md": post_text("title: New\ndate: 2026-06-01 12:00\n"),
        "mid.md": post_text("title: Mid\ndate: 2026-01-01\n"),
    })
    posts, _ = load_posts(root, tz=UTC)
    assert [p.title for p in posts] == ["New", "Mid", "Old"]


def test_send_at_with_offset(make_site, post_text):
    front = OK_FRONT + "newsletter:\n  send_at: 2026-10-23T08:00:00+02:00\n"
    [post], _ = load_posts(one_post(make_site, post_text(front)), tz=UTC)
    assert post.newsletter is not None
    assert post.newsletter.send_at == datetime.fromisoformat("2026-10-23T08:00:00+02:00")
    assert post.newsletter.subject == "A fine post"  # defaults to the title
    assert post.newsletter.preheader is None


@pytest.mark.parametrize(("title", "slug"), [
    ("Trygghetsdagen i Göteborg", "trygghetsdagen-i-goteborg"),
    ("Åsa på Ängen", "asa-pa-angen"),
    ("Öppet hus", "oppet-hus"),
    ("Café Élan", "cafe-elan"),
    ("#metoo and policing", "metoo-and-policing"),
    ("## Two hashes", "two-hashes"),
    ("Inbjudan: Trygghetsdagen 2027 i Göteborg – anmäl dig nu",
     "inbjudan-trygghetsdagen-2027-i-goteborg-anmal-dig-nu"),
    ("Panel: can community policing rebuild trust?",
     "panel-can-community-policing-rebuild-trust"),
    ("  Many   spaces -- and dashes  ", "many-spaces-and-dashes"),
])
def test_slugify(title, slug):
    assert slugify(title) == slug


def test_default_slug_comes_from_the_title(make_site, post_text):
    root = one_post(make_site, post_text('title: "#1 Trygghetsdagen i Göteborg"\n'
                                         "date: 2026-01-01\n"))
    [post], _ = load_posts(root, tz=UTC)
    assert post.slug == "1-trygghetsdagen-i-goteborg"
    assert post.title == "#1 Trygghetsdagen i Göteborg"


def test_explicit_slug_wins(make_site, post_text):
    root = one_post(make_site, post_text(OK_FRONT + "slug: my-own-slug\n"))
    [post], _ = load_posts(root, tz=UTC)
    assert post.slug == "my-own-slug"


def test_default_author_and_lang(make_site, post_text):
    root = make_site({
        "plain.md": post_text("title: Plain\ndate: 2026-01-01\n"),
        "own.md": post_text("title: Own\ndate: 2026-01-01\nauthor: Ann Berg\nlang: sv\n"),
    })
    posts, _ = load_posts(root, tz=UTC, lang="sv", author="Redaktionen")
    by_title = {p.title: p for p in posts}
    assert (by_title["Plain"].author, by_title["Plain"].lang) == ("Redaktionen", "sv")
    assert (by_title["Own"].author, by_title["Own"].lang) == ("Ann Berg", "sv")
    posts, _ = load_posts(root, tz=UTC)
    by_title = {p.title: p for p in posts}
    assert (by_title["Plain"].author, by_title["Plain"].lang) == ("", "en")


def test_default_author_and_lang_from_settings(make_site, post_text, settings):
    from postpipe.site import load_site

    root = one_post(make_site, post_text(OK_FRONT))
    site = load_site(settings(root, POSTPIPE_AUTHOR="NSCN", POSTPIPE_LANG="sv"), drafts=False)
    [rendered] = site.posts
    assert rendered.post.author == "NSCN"
    assert rendered.post.lang == "sv"
    assert (rendered.view.author, rendered.view.lang) == ("NSCN", "sv")
    [rendered] = load_site(settings(root), drafts=False).posts
    assert (rendered.post.author, rendered.post.lang) == ("", "en")


def test_optional_fields_default(make_site, post_text):
    [post], _ = load_posts(one_post(make_site, post_text(OK_FRONT)), tz=UTC)
    assert post.tags == () and post.categories == () and post.speakers == ()
    assert post.draft is False
    assert post.summary is None and post.image is None and post.event is None
    assert post.newsletter is None


def test_full_front_matter(make_site, post_text):
    front = OK_FRONT + (
        "tags: [policing, youth]\ncategories:\n  - Conference\ndraft: true\n"
        "event:\n  name: Summit\n  start: 2026-10-20 09:00\n  end: 2026-10-21 16:30\n"
        "  organisers: [NSCN, City]\n  url: https://example.org/summit\n"
        "speakers:\n  - name: Ann Berg\n    talk: Figures\n"
    )
    [post], _ = load_posts(one_post(make_site, post_text(front)), tz=STOCKHOLM)
    assert post.tags == ("policing", "youth")
    assert post.categories == ("Conference",)
    assert post.draft is True
    assert post.event is not None and post.event.organisers == ("NSCN", "City")
    assert post.event.start == datetime(2026, 10, 20, 9, 0, tzinfo=STOCKHOLM)
    assert [s.name for s in post.speakers] == ["Ann Berg"]
    assert post.line("event.start") == 10


def test_image_beside_the_post(make_site, post_text):
    root = make_site({"2026/a.md": post_text(OK_FRONT + "image: hero.png\nimage_alt: Hero\n")},
                     images={"2026/hero.png": (8, 4)})
    [post], _ = load_posts(root, tz=UTC)
    assert post.image is not None
    assert post.image.path == (root / "posts/2026/hero.png").resolve()
    assert post.image.alt == "Hero"


def test_image_in_posts_images(make_site, post_text):
    root = make_site({
        "2026/a.md": post_text("title: A\ndate: 2026-01-01\nimage: pic.png\nimage_alt: P\n"),
        "b.md": post_text("title: B\ndate: 2026-01-01\nimage: images/pic.png\nimage_alt: P\n"),
        "c.md": post_text("title: C\ndate: 2026-01-01\nspeakers:\n  - name: Ann\n"
                          "    photo: pic.png\n    photo_alt: Ann\n"),
    }, images={"images/pic.png": (3, 3)})
    posts, _ = load_posts(root, tz=UTC)
    expected = (root / "posts/images/pic.png").resolve()
    by_title = {p.title: p for p in posts}
    assert by_title["A"].image is not None and by_title["A"].image.path == expected
    assert by_title["B"].image is not None and by_title["B"].image.path == expected
    photo = by_title["C"].speakers[0].photo
    assert photo is not None and photo.path == expected and photo.alt == "Ann"


def test_image_beside_the_post_wins_over_posts_images(make_site, post_text):
    root = make_site({"a.md": post_text(OK_FRONT + "image: pic.png\nimage_alt: P\n")},
                     images={"pic.png": (2, 2), "images/pic.png": (3, 3)})
    [post], _ = load_posts(root, tz=UTC)
    assert post.image is not None
    assert post.image.path == (root / "posts/pic.png").resolve()


def test_byte_order_mark_and_crlf_are_accepted(make_site):
    root = make_site({
        "bom.md": "\ufeff---\ntitle: Bom\ndate: 2026-01-01\n---\n\nBody.\n",
        "crlf.md": "---\r\ntitle: Crlf\r\ndate: 2026-01-02\r\n---\r\n\r\nBody.\r\n",
    })
    posts, errors = load_posts(root, tz=UTC)
    assert errors == []
    assert sorted(p.title for p in posts) == ["Bom", "Crlf"]


# ---------------------------------------------------------------------------
# summary (through the build)


LONG_PARAGRAPH = " ".join(
    f"Sentence number {i} says something about **safer streets** and [trust](https://bra.se/)."
    for i in range(1, 12)
)


def test_summary_defaults_to_the_first_paragraph(make_site, post_text, settings, tmp_path):
    from postpipe.pipeline import build_site

    body = ("![A picture](pic.png)\n\n> A quote first.\n\n" + LONG_PARAGRAPH
            + "\n\nSecond paragraph.\n")
    root = make_site({"a.md": post_text(OK_FRONT, body)}, images={"pic.png": (4, 4)})
    report = build_site(settings(root), tmp_path / "out")
    summary = report.rendered[0].view["summary"]
    assert len(summary) <= 300
    assert summary.startswith("Sentence number 1 says something about safer streets and trust.")
    assert "**" not in summary and "](" not in summary and "<" not in summary
    assert "A quote first" not in summary
    assert summary.endswith("…")
    assert summary[:-1].rstrip() in LONG_PARAGRAPH.replace("**", "").replace(
        "[trust](https://bra.se/)", "trust")
    feed = (tmp_path / "out/site/feed.xml").read_text(encoding="utf-8")
    assert summary[:60] in feed


def test_short_first_paragraph_is_the_whole_summary(make_site, post_text, settings, tmp_path):
    from postpipe.pipeline import build_site

    root = one_post(make_site, post_text(OK_FRONT, "Short and *sweet*.\n\nMore.\n"))
    report = build_site(settings(root), tmp_path / "out")
    assert report.rendered[0].view["summary"] == "Short and sweet."


def test_summary_in_front_matter_wins(make_site, post_text, settings, tmp_path):
    from postpipe.pipeline import build_site

    root = one_post(make_site, post_text(OK_FRONT + "summary: Given.\n", "Body text.\n"))
    report = build_site(settings(root), tmp_path / "out")
    assert report.rendered[0].view["summary"] == "Given."
