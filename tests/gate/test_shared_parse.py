"""The checks parse each HTML of a post once and memoise what repeats (issue 11's
cold-build speed): what is shared or memoised must not leak between posts, sites
or rules, and every shortcut must answer as the slow way did."""

from __future__ import annotations

import re

import lxml.etree
import lxml.html
import pytest
from gatekit import findings, render
from test_clients import template

from postpipe.checks import check_post, trees
from postpipe.checks.a11y import stylesheet_findings
from postpipe.checks.clients import support_report
from postpipe.checks.css import stylesheet_rules
from postpipe.checks.placeholders import EMPTY_LINK, TEMPLATE_TAG, WORDS, _problems
from postpipe.render import sanitize

LOW = "body { color: #777777; background: #ffffff; }"  # 4.48:1, under 4.5
HIGH = "body { color: #111111; background: #ffffff; }"


def test_two_stylesheets_in_one_process_keep_their_own_rules():
    for first, second in ((LOW, HIGH), (HIGH, LOW), (LOW, HIGH)):
        assert stylesheet_rules(first)[0][2] == {"color": "#777777" if first == LOW else "#111111",
                                                 "background": "#ffffff"}
        assert stylesheet_rules(second)[0][2]["color"] == ("#777777" if second == LOW
                                                           else "#111111")
    assert [f.rule for f in stylesheet_findings(LOW, "a.css")] == ["contrast", "contrast"]
    assert stylesheet_findings(HIGH, "b.css") == []
    assert [f.path for f in stylesheet_findings(LOW, "c.css")] == ["c.css", "c.css"]


def test_a_caller_that_changes_the_rules_changes_nothing_for_the_next():
    rules = stylesheet_rules(LOW)
    rules[0][2]["color"] = "#000000"
    rules.clear()
    assert stylesheet_rules(LOW)[0][2]["color"] == "#777777"
    assert len(stylesheet_findings(LOW, "a.css")) == 2


def test_two_sites_with_two_email_stylesheets_in_one_process(tmp_path):
    media = "@media (max-width:480px){.x{display:block!important}}"
    for _ in range(2):  # each site's own stylesheet, whichever came first
        with_media = findings(tmp_path / "a", "Intro.\n", rule="client-support",
                              files=template('<p class="x">Hi</p>', media))
        without = findings(tmp_path / "b", "Intro.\n", rule="client-support",
                           files=template('<p class="x">Hi</p>', ".x{color:#111111}"))
        assert "Outlook Windows: @media" in with_media[0].message
        assert all("@media" not in f.message for f in without)


def test_the_rules_leave_the_shared_trees_as_they_were(tmp_path):
    body = "Intro with [a link](https://example.org).\n\n## Part\n\n#### Skipped\n\nText.\n"
    r = render(tmp_path, body)
    assert r.email is not None
    check_post(r)
    for html, cached, fresh in (
        (r.email.html, trees.document(r.email.html),
         lxml.html.document_fromstring(r.email.html, parser=lxml.etree.HTMLParser())),
        (r.markup.html, trees.body(r.markup.html),
         lxml.html.document_fromstring(f"<div>{r.markup.html}</div>")),
    ):
        assert lxml.etree.tostring(cached) == lxml.etree.tostring(fresh), html[:60]
    assert check_post(r) == check_post(render(tmp_path / "again", body))


def test_the_plain_email_tree_is_the_lxml_html_tree(tmp_path):
    r = render(tmp_path, "Intro <!-- a comment --> and <b>bold</b>.\n")
    assert r.email is not None
    plain = trees.document(r.email.html)
    rich = lxml.html.document_fromstring(r.email.html)
    assert lxml.etree.tostring(plain) == lxml.etree.tostring(rich)


@pytest.mark.parametrize(
    "page",
    [
        '<!DOCTYPE html>\n<html lang="en">\n<head></head><body></body></html>',
        '<!doctype html><HTML LANG="sv-SE"><body>x',
        '<!DOCTYPE html>\n<html lang="">\n<body>x',
        '<!DOCTYPE html>\n<html>\n<body>x',
        '<!DOCTYPE html>\n<html lang="&#32;">\n<body>x',
        '<!DOCTYPE html>\n<html lang=" en ">\n<body>x',
        '<!DOCTYPE html>\n<html dir="rtl" lang="ar">\n<body>x',
        '<!DOCTYPE html>\n<html lang="en" lang="sv">\n<body>x',
        '<!-- c --><html lang="en"><body>x',
        '\ufeff<html lang="en"><body>x',
        '<p>text first</p><html lang="en">',
        '<html><body><html lang="de">',
        "<html lang='fr'><body>x",
    ],
)
def test_the_page_lang_is_the_parsed_roots(page):
    assert trees.root_lang(page) == trees.document(page).get("lang")


def _old_maybe_unsafe(html: str) -> bool:
    low = html.lower()
    return (
        any(t in low for t in sanitize._TRIGGERS)
        or bool(re.search(r"[\s/\"']on[a-z]+\s*=", low))
        or bool(sanitize._SPACED.search(low))
        or ("&" in low and bool(sanitize._ENTITY_URL.search(low)))
    )


@pytest.mark.parametrize(
    "html",
    [
        "<p>plain text about a lesson=3 and session=4</p>",
        '<a href="x" onclick="go()">x</a>',
        "onclick=at the very start",
        '<img src=x\tONLOAD =go()>',
        "<div/onmouseover=go()>",
        '<p title="a"onfocus=x>',
        "a\u00a0onclick=x (a no-break space is \\s too)",
        "xonclick=x",
        "<a href='java script :x'>",
        "<a href='data :text/html,x'>",
        "<p style='width: expression (1)'>",
        "<p style='behavior : url(x)'>",
        "<a href='&#106;avascript:x'>",
        "<a href='javascript&colon;x'>",
        "<a href='java&tab;script:x'>",
        "<a href='x'>&amp; &lt; &rsquo;</a>",
        "<script>x</script>",
        "<p>data: numbers</p>",
    ],
)
def test_the_unsafe_filter_answers_as_before(html):
    assert sanitize._maybe_unsafe(html) == _old_maybe_unsafe(html)


def _old_problems(text: str) -> list[str]:
    found = [f"an empty link [{m.group(1)}]()" for m in EMPTY_LINK.finditer(text)]
    bare = re.sub(r"(?:https?://|mailto:|www\.)[^\s)>\]]+", lambda u: " " * len(u.group(0)),
                  text, flags=re.I)
    found += [what for pattern, what in WORDS if pattern.search(bare)]
    found += [f"an unfilled '{m.group(0)}'" for m in TEMPLATE_TAG.finditer(text)]
    return found


@pytest.mark.parametrize(
    "text",
    [
        "Nothing to see here, just [a link](https://example.org).",
        "An empty [link]() and [another]( <> ) here",
        "TK: the date",
        "See TODO-list and TODO.",
        "FIXME later, XXX",
        "Lorem Ipsum dolor",
        "LOREM\tIPSUM",
        "loremwww.example.org ipsum",
        "lorem ipsum at https://example.org/TODO",
        "{{ name }} and {% if x %}",
        "a link [x]()",
        "a tk and a todo in lower case",
    ],
)
def test_the_placeholder_shortcut_answers_as_the_patterns(text):
    assert _problems(text, None) == _old_problems(text)


def test_an_elements_fallback_is_its_own_not_an_equal_elements(tmp_path):
    floated = '<div style="float:left">x</div>'
    aligned = f'<table><tr><td align="left">{floated}</td></tr></table>'
    for html in (aligned + floated, floated + aligned, floated, aligned):
        report = support_report(f"<html><body>{html}</body></html>")
        assert ("css-float" in report.layout.get("outlook-windows", {})) == (
            html != aligned
        ), html

