"""Accessibility of the email and the page (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatekit import findings

from postpipe.checks.css import contrast, parse_color

TEMPLATE = (Path(__file__).resolve().parents[2] / "src/postpipe/templates/email/newsletter.html")


def test_contrast_ratio_is_wcags():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast(parse_color("#777"), parse_color("white")) == pytest.approx(4.48, abs=0.01)
    assert parse_color("rgb(10, 20, 30)") == (10, 20, 30)
    assert parse_color("rgba(0,0,0,0.5)") is None  # translucent: not judged
    assert parse_color("transparent") is None


def test_pale_text_is_an_error_and_grey_a_warning(tmp_path):
    body = ('Intro.\n\n<p style="color:#aaaaaa">Pale grey words</p>\n\n'
            '<p style="color:#777777">Mid grey words</p>\n\n'
            '<p style="color:#777777;background-color:#000">On black</p>\n')
    out = findings(tmp_path, body, rule="contrast")
    assert [(f.level, f.line) for f in out] == [("error", 12), ("warning", 14)]
    assert "#aaaaaa on #ffffff" in out[0].message and "2.32:1" in out[0].message


def test_large_text_needs_3_to_1(tmp_path):
    body = ('Intro.\n\n<p style="color:#888888;font-size:26px">Big grey words</p>\n\n'
            '<p style="color:#aaaaaa;font-size:26px">Big pale words</p>\n')
    out = findings(tmp_path, body, rule="contrast")
    assert [(f.level, f.line) for f in out] == [("warning", 14)]


def test_hidden_text_and_good_text_pass(tmp_path):
    body = ('Intro.\n\n<p style="color:#fff;display:none">hidden</p>\n\n'
            '<p style="color:#1f2d31">Readable</p>\n')
    assert findings(tmp_path, body, rule="contrast") == []


@pytest.mark.parametrize("text", ["click here", "Here", "read more…", "Klicka här", "här",
                                  "Läs mer", "läs mer »"])
def test_generic_link_text_is_a_warning(tmp_path, text):
    out = findings(tmp_path, f"Intro.\n\nSee [{text}](https://example.org/p).\n",
                   rule="link-text")
    assert [(f.level, f.line) for f in out] == [("warning", 12)]


def test_descriptive_link_text_passes(tmp_path):
    body = "Intro.\n\nRead [the full programme here](https://example.org/p).\n"
    assert findings(tmp_path, body, rule="link-text") == []


def test_a_skipped_heading_level_is_a_warning(tmp_path):
    body = "Intro.\n\n## Part\n\n#### Deep\n\n## Next\n\n### Fine\n"
    out = findings(tmp_path, body, rule="heading-order")
    assert [(f.level, f.line) for f in out] == [("warning", 14)]
    assert "h4 after an h2" in out[0].message
    assert findings(tmp_path / "b", "Intro.\n\n## A\n\n### B\n", rule="heading-order") == []


def test_lang_on_html_and_body_wrapper(tmp_path):
    assert findings(tmp_path, "Intro.\n", rule="lang") == []
    html = TEMPLATE.read_text(encoding="utf-8")
    assert 'role="article"' in html and 'lang="{{ lang }}">' in html
    broken = html.replace('aria-label="{{ email.subject }}" lang="{{ lang }}"',
                          'aria-label="{{ email.subject }}"')
    out = findings(tmp_path / "b", "Intro.\n", rule="lang",
                   files={"templates/email/newsletter.html": broken})
    assert [f.message for f in out] == [
        "no lang attribute on the email's body wrapper (some clients drop <html>)"]
