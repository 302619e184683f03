"""The newsletter's plain-text part beside its HTML part: code lines, quotes with
lists, and links to our own site (the .ics file among them)."""

from __future__ import annotations

import re

import lxml.html
import pytest

from postpipe.render.email import CONTINUED, MAX_LINE, cut_line, iter_hrefs

pytestmark = pytest.mark.unit

SITE = "https://news.example.org"
UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=code-and-quotes"
COMMAND = "curl -fsSL 'https://example.org/install?" + "x" * 120 + "' | sh -s -- --yes"
BLOB = "ä" * 700  # 1400 octets in UTF-8: past the RFC 5322 line limit
BODY = f"""Intro.

```
{COMMAND}
{BLOB}
```

> Vi pratade om:
> - belysning
>   - gatlampor
> - nattvandring

End.
"""
FRONT = (
    "title: Code and quotes\ndate: 2026-03-01\nslug: code-and-quotes\nsummary: S.\n"
    "event:\n  name: The evening\n  start: 2026-04-01 18:00\n  end: 2026-04-01 20:00\n"
    "newsletter:\n  preheader: A preheader that is long enough to read well.\n"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory, write_site, post_text, settings):  # type: ignore[no-untyped-def]
    from postpipe.pipeline import build_site

    root = tmp_path_factory.mktemp("text") / "root"
    write_site(root, {"code-and-quotes.md": post_text(FRONT, BODY)})
    out = root.parent / "out"
    build_site(settings(root, POSTPIPE_SITE_URL=SITE), out)
    page = (out / "site/code-and-quotes/index.html").read_text(encoding="utf-8")
    html = (out / "newsletters/code-and-quotes.html").read_text(encoding="utf-8")
    text = (out / "newsletters/code-and-quotes.txt").read_text(encoding="utf-8")
    return page, html, text


# code blocks (item 1): whole lines, cut only past 998 octets


def test_a_long_code_line_stays_whole_in_the_text_part(built):
    _, _, text = built
    assert f"    {COMMAND}" in text.splitlines()


def test_a_code_line_past_998_octets_is_cut_with_a_marker(built):
    _, _, text = built
    lines = text.splitlines()
    assert max(len(line.encode("utf-8")) for line in lines) <= MAX_LINE
    at = next(i for i, line in enumerate(lines) if line.startswith("    ää"))
    first, rest = lines[at], lines[at + 1]
    assert len(first.encode("utf-8")) == MAX_LINE  # an ä is 2 octets, 4 + 497 * 2 = 998
    assert rest.startswith("    " + CONTINUED)
    assert first[4:] + rest.removeprefix("    " + CONTINUED) == BLOB


def test_cut_line_keeps_indent_and_quote_marks_and_whole_characters():
    assert cut_line("short") == ["short"]
    line = "> >     " + "é" * 10
    pieces = cut_line(line, 16)
    assert pieces[0] == "> >     éééé"
    assert all(p.startswith("> >     " + CONTINUED) for p in pieces[1:])
    assert all(len(p.encode("utf-8")) <= 16 for p in pieces)
    assert "".join(p.removeprefix("> >     " + CONTINUED) for p in pieces[1:]) == "é" * 6


# a list interrupting a paragraph in a blockquote (item 2): blog, email, text


def test_the_quoted_list_in_the_blog_page_and_the_email(built):
    page, html, _ = built
    for doc in (lxml.html.document_fromstring(page), lxml.html.document_fromstring(html)):
        [quote] = doc.iter("blockquote")
        assert [el.tag for el in quote] == ["p", "ul"]
        assert [li.text.strip() for li in quote.findall("ul/li")] == ["belysning", "nattvandring"]
        assert [li.text.strip() for li in quote.findall("ul/li/ul/li")] == ["gatlampor"]


def test_the_quoted_list_in_the_text_part(built):
    _, _, text = built
    lines = text.splitlines()
    at = lines.index("> Vi pratade om:")
    assert lines[at : at + 5] == [
        "> Vi pratade om:", ">", "> - belysning", ">   - gatlampor", "> - nattvandring",
    ]


# links to our own site (item 3): the same URL in both parts


def test_the_ics_link_has_the_same_utm_in_both_parts(built):
    _, html, text = built
    ics = f"{SITE}/code-and-quotes/event.ics?{UTM}"
    assert ics in list(iter_hrefs(html))
    assert ics in text.splitlines()


def own_urls(text: str) -> set[str]:
    return set(re.findall(rf"^(?:\[\d+\] )?({re.escape(SITE)}\S*)$", text, re.M))


def test_every_own_link_of_the_text_part_is_the_html_parts(sample_build):
    """View in browser, the other edition, the .ics and the body's links: the text
    part writes each as the HTML part links it (UTM included)."""
    built = sample_build()
    for name in ("safety-day-2027", "trygghetsdagen-2027", "safer-streets-summit-2026"):
        html = (built.newsletters / f"{name}.html").read_text(encoding="utf-8")
        text = (built.newsletters / f"{name}.txt").read_text(encoding="utf-8")
        urls = own_urls(text)
        assert len(urls) >= 2 and all(f"utm_campaign={name}" in u for u in urls), urls
        assert urls <= set(iter_hrefs(html)), urls - set(iter_hrefs(html))
