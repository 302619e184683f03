"""Markdown as people write it (DESIGN §1): the CommonMark rules where Python-Markdown
is stricter, checked on the structure of the HTML."""

from __future__ import annotations

import lxml.html
import pytest

from postpipe.render.markup import QUOTES, Markup, quote_lang


def tree(text: str, lang: str = "en") -> lxml.html.HtmlElement:
    html = Markup().convert(text, lang=lang).html
    return lxml.html.fragment_fromstring(html, create_parent="div")


def test_a_hashtag_at_line_start_is_text_and_a_heading_needs_a_space() -> None:
    root = tree("#trygghetsdagen var en succé.\n\n# Rubrik\n\n##skillnadpåriktigt")
    assert [p.text_content() for p in root.findall("p")] == [
        "#trygghetsdagen var en succé.",
        "##skillnadpåriktigt",
    ]
    assert [h.text_content() for h in root.findall("h1")] == ["Rubrik"]


def test_bare_web_addresses_become_links_but_not_in_code_or_in_links() -> None:
    root = tree(
        "Läs https://example.org/rapport och www.example.org.\n\n"
        "`https://code.example.org` and [the site](https://example.org/x) and <https://z.org>"
    )
    links = [(a.get("href"), a.text_content()) for a in root.iter("a")]
    assert links == [
        ("https://example.org/rapport", "https://example.org/rapport"),
        ("https://www.example.org", "www.example.org"),  # https, not http
        ("https://example.org/x", "the site"),
        ("https://z.org", "https://z.org"),
    ]
    assert root.find(".//code").text == "https://code.example.org"


def test_a_mail_address_stays_text() -> None:
    assert tree("Mail info@example.org").find(".//a") is None


def test_a_bullet_list_may_start_right_after_a_paragraph_line() -> None:
    root = tree("Vi pratade om:\n- belysning\n- nattvandring\n\nSlut.")
    assert [el.tag for el in root] == ["p", "ul", "p"]
    assert root[0].text_content() == "Vi pratade om:"
    assert [li.text_content() for li in root[1]] == ["belysning", "nattvandring"]


def test_an_ordered_list_interrupts_a_paragraph_only_from_1() -> None:
    assert [el.tag for el in tree("Steps:\n1. one\n2. two")] == ["p", "ol"]
    assert [el.tag for el in tree("Året var\n2027. ett bra år")] == ["p"]


@pytest.mark.parametrize("indent", [2, 3, 4])
def test_a_nested_list_may_be_indented_by_2_3_or_4_spaces(indent: int) -> None:
    pad = " " * indent
    root = tree(f"- a\n{pad}- b\n{pad}{pad}- c\n{pad}- d\n- e")
    top = root.find("ul")
    assert [li.text for li in top.findall("li")] == ["a", "e"]
    inner = top.find("li/ul")
    assert [li.text for li in inner.findall("li")] == ["b", "d"]
    assert [li.text for li in inner.findall("li/ul/li")] == ["c"]


def test_a_continuation_paragraph_indented_by_2_stays_in_its_item() -> None:
    root = tree("- a\n\n  more about a\n\n- b\n\nafter")
    items = root.findall("ul/li")
    assert [p.text for p in items[0].findall("p")] == ["a", "more about a"]
    assert root[-1].tag == "p" and root[-1].text == "after"


def test_code_is_left_alone() -> None:
    root = tree("```\n- x\n#y\nhttps://example.org\n```\n\npara\n\n    - code")
    assert [el.tag for el in root] == ["pre", "p", "pre"]
    assert root.find("pre/code").text == "- x\n#y\nhttps://example.org\n"
    assert root.find(".//a") is None


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("en", "“det här” och ‘det där’ – it’s"),
        ("sv", "”det här” och ’det där’ – it’s"),
        ("sv-FI", "”det här” och ’det där’ – it’s"),
        ("nb", "«det här» och ‘det där’ – it’s"),
        ("xx", "“det här” och ‘det där’ – it’s"),  # unknown: English
    ],
)
def test_quotation_marks_follow_the_language(lang: str, expected: str) -> None:
    text = tree('"det här" och \'det där\' -- it\'s', lang).find("p").text_content()
    assert text == expected


def test_the_quote_table_is_easy_to_extend() -> None:
    assert quote_lang("SV") == "sv" and quote_lang("nb-NO") == "nb"
    assert all(len(row) == 4 for row in QUOTES.values())


def test_one_converter_keeps_languages_apart() -> None:
    m = Markup()
    assert m.convert('"x"', lang="sv").html == "<p>&rdquo;x&rdquo;</p>"
    assert m.convert('"x"', lang="en").html == "<p>&ldquo;x&rdquo;</p>"
    assert m.convert('"x"', lang="sv").html == "<p>&rdquo;x&rdquo;</p>"


def test_a_list_may_interrupt_a_paragraph_inside_a_blockquote() -> None:
    root = tree("> Vi pratade om:\n> - belysning\n> - nattvandring\n\nSlut.")
    assert [el.tag for el in root] == ["blockquote", "p"]
    quote = root[0]
    assert [el.tag for el in quote] == ["p", "ul"]
    assert quote[0].text_content() == "Vi pratade om:"
    assert [li.text_content() for li in quote[1]] == ["belysning", "nattvandring"]


def test_in_a_blockquote_an_ordered_list_interrupts_only_from_1() -> None:
    quote = tree("> Steps:\n> 1. one\n> 2. two\n>\n> Året var\n> 2027. ett bra år")[0]
    assert [el.tag for el in quote] == ["p", "ol", "p"]
    assert quote[2].text_content() == "Året var\n2027. ett bra år"


@pytest.mark.parametrize("indent", [2, 4])
def test_nested_lists_and_quotes_inside_a_blockquote(indent: int) -> None:
    pad = " " * indent
    root = tree(f"> a\n> - b\n> {pad}- c\n> - d\n>\n> > inner\n> > - e\n\n- f\n\n  > g\n  > - h")
    quote = root[0]
    assert [el.tag for el in quote] == ["p", "ul", "blockquote"]
    assert [li.text for li in quote.findall("ul/li")] == ["b", "d"]
    assert [li.text for li in quote.findall("ul/li/ul/li")] == ["c"]
    inner = quote.find("blockquote")
    assert [el.tag for el in inner] == ["p", "ul"]
    assert [li.text for li in inner.findall("ul/li")] == ["e"]
    # a quote in a list item (after a blank line) gets the same rule
    item = root.find("ul/li")
    assert [el.tag for el in item.find("blockquote")] == ["p", "ul"]
    assert item.find("blockquote/ul/li").text == "h"


def test_a_quote_keeps_its_lazy_lines_and_a_list_after_it_ends_it() -> None:
    root = tree("> para\nlazy line\n> - item\n- outside")
    assert [el.tag for el in root] == ["blockquote", "ul"]
    assert root[0][0].text_content() == "para\nlazy line"
    assert [li.text for li in root[0].findall("ul/li")] == ["item"]
    assert [li.text for li in root[1]] == ["outside"]


def test_a_fence_in_a_blockquote_is_left_as_it_was() -> None:
    text = "> ```\n> a\n> - b\n> ```"
    assert Markup().convert(text).html == (
        "<blockquote>\n<p><code>a\n- b</code></p>\n</blockquote>"
    )
