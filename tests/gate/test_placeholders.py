"""Placeholders left in a post are errors on their .md line (issue 14)."""

from __future__ import annotations

import pytest
from gatekit import FRONT, findings


def lines(out):
    return [(f.line, f.level, f.message) for f in out]


@pytest.mark.parametrize("text, what", [
    ("The venue is TK.", "'TK'"),
    ("TODO: thank the sponsors.", "'TODO'"),
    ("Numbers FIXME later.", "'FIXME'"),
    ("Call XXX for tickets.", "'XXX'"),
    ("Lorem  ipsum dolor sit amet.", "'lorem ipsum'"),
    ("Read [the report]() first.", "an empty link [the report]()"),
    ("Hello {{ first_name }}, welcome.", "an unfilled '{{ first_name }}'"),
])
def test_a_placeholder_is_an_error_on_its_line(tmp_path, text, what):
    out = findings(tmp_path, f"Intro.\n\n{text}\n", rule="placeholder")
    # FRONT has 6 lines + 2 fences: the body starts on line 10
    assert lines(out) == [(12, "error", f"placeholder left in the text: {what}")]


@pytest.mark.parametrize("text", [
    "The TKO was in round three; Atkins and tk were there.",
    "A todo list, a fixme note, XXXL shirts and the to-do.",
    "```\nTODO and {{ x }} in code\n```",
    "Inline `TODO` and `{{ y }}` code.",
    "See https://example.com/TODO/TK for it.",
    "An image ![alt](https://example.com/a.png) is not an empty link.",
])
def test_no_placeholder(tmp_path, text):
    assert findings(tmp_path, f"Intro.\n\n{text}\n", rule="placeholder") == []


def test_the_providers_merge_tag_is_not_a_placeholder(tmp_path):
    body = "Hello {{ subscriber.metadata.name }}, and {{ nope }}.\n"
    out = findings(tmp_path, body, rule="placeholder", POSTPIPE_LIST="buttondown",
                   BUTTONDOWN_API_KEY="k", POSTPIPE_FROM_NAME="N")
    assert [f.message for f in out] == ["placeholder left in the text: an unfilled '{{ nope }}'"]
    # outbox fills nothing in: every {{ … }} is left over
    out = findings(tmp_path / "b", body, rule="placeholder")
    assert len(out) == 2


def test_front_matter_placeholders_name_the_key_line(tmp_path):
    front = FRONT.replace("summary: One sentence about it.", "summary: TK")
    out = findings(tmp_path, "Intro.\n", rule="placeholder", front=front)
    assert lines(out) == [(4, "error", "placeholder in summary: 'TK'")]


def test_in_a_draft_a_placeholder_is_info(tmp_path):
    out = findings(tmp_path, "TODO: photos.\n", rule="placeholder",
                   front=FRONT + "draft: true\n")
    assert [f.level for f in out] == ["info"]


def test_publish_refuses_a_newsletter_with_a_placeholder(tmp_path):
    from gatekit import ENV, post_text, run, write

    root = write(tmp_path, {
        "posts/a.md": post_text(FRONT, "The venue is TK.\n"),
        "posts/b.md": post_text(FRONT.replace("title: A post", "title: B post"),
                                "All done.\n"),
    })
    result = run("publish", "--root", str(root), **ENV)
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "posts/a.md:10" in out and "placeholder left in the text: 'TK'" in out
    assert "skip   a-post: it has errors" in out
    assert not (root / "public" / "a-post").exists()  # the broken post is left out …
    assert (root / "public" / "b-post" / "index.html").is_file()  # … the other goes on
    assert "prepared b-post" in out and "a-post" not in out.split("skip")[0]
