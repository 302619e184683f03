"""The newsletter: inlined HTML structure, merge tags, UTM links, plain text, MIME."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from email.utils import parseaddr, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from postpipe.errors import ConfigError
from postpipe.render.email import (
    UNSUBSCRIBE_TAGS,
    build_message,
    capped,
    html_to_text,
    inline_css,
    iter_hrefs,
    personalise,
)
from postpipe.render.links import absolute, add_query, is_own

pytestmark = pytest.mark.unit

INLINERS = ["premailer", "css-inline"]
SITE = "https://news.example.org"
CLIP_BYTES = 102 * 1024
WIDTH = 76


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def elements(doc: lxml.html.HtmlElement):  # type: ignore[no-untyped-def]
    return (el for el in doc.iter() if isinstance(el.tag, str))


def in_content(el: lxml.html.HtmlElement) -> bool:
    """True inside the post body (``<div class="content">``): Markdown's own HTML."""
    return any("content" in (a.get("class") or "").split() for a in el.iterancestors())


def is_merge_tag(value: str) -> bool:
    return value in UNSUBSCRIBE_TAGS.values()


# ---------------------------------------------------------------------------
# the built sample newsletters


@pytest.fixture(scope="module", params=INLINERS)
def built(request, sample_build):  # type: ignore[no-untyped-def]
    return sample_build(POSTPIPE_INLINER=request.param)


@pytest.fixture(scope="module")
def newsletters(built):  # type: ignore[no-untyped-def]
    """{slug: (rendered post, html, text)} for every post with a newsletter."""
    out = {}
    for r in built.report.rendered:
        if r.email is None:
            continue
        html = (built.newsletters / f"{r.slug}.html").read_text(encoding="utf-8")
        text = (built.newsletters / f"{r.slug}.txt").read_text(encoding="utf-8")
        out[r.slug] = (r, html, text)
    return out


def test_every_newsletter_post_has_both_files(built, newsletters):
    assert len(newsletters) == 4  # with the English edition of the invitation (issue 15)
    names = sorted(p.name for p in built.newsletters.iterdir())
    assert names == sorted(f"{slug}.{ext}" for slug in newsletters for ext in ("html", "txt"))
    assert [f for f in built.report.findings if f.level != "info"] == []  # notes allowed


def test_every_classed_element_has_inline_style(newsletters):
    for slug, (_, html, _) in newsletters.items():
        missing = [(el.tag, el.get("class")) for el in elements(parse(html))
                   if el.get("class") is not None and not el.get("style")]
        assert missing == [], f"{slug}: elements with a class but no style: {missing[:5]}"


def test_no_relative_links_or_sources(newsletters):
    for slug, (_, html, _) in newsletters.items():
        bad = [(el.tag, attr, el.get(attr)) for el in elements(parse(html))
               for attr in ("href", "src")
               if el.get(attr) is not None and not urlsplit(el.get(attr)).scheme
               and not is_merge_tag(el.get(attr))]
        assert bad == [], f"{slug}: relative URLs: {bad}"


def test_style_block_keeps_media_queries(newsletters):
    for slug, (_, html, _) in newsletters.items():
        styles = [s.text_content() for s in parse(html).iter("style")]
        assert styles, f"{slug}: the <style> block was dropped"
        css = "\n".join(styles)
        assert "@media" in css, slug
        assert "!important" in css, slug
        assert "prefers-color-scheme" in css, slug


def test_layout_tables_are_presentational(newsletters):
    for slug, (_, html, _) in newsletters.items():
        doc = parse(html)
        layout = [t for t in doc.iter("table") if not in_content(t)]
        assert layout, slug
        bad = [t.get("class") for t in layout if t.get("role") != "presentation"]
        assert bad == [], f"{slug}: layout tables without role=presentation: {bad}"


def test_data_table_in_the_body_is_not_presentational(newsletters):
    r, html, _ = newsletters["safer-streets-summit-2026"]
    [table] = [t for t in parse(html).iter("table") if in_content(t)]
    assert table.get("role") is None
    assert table.find(".//th") is not None


def swedish(newsletters):  # type: ignore[no-untyped-def]
    """The (rendered, html, text) of the one Swedish sample newsletter."""
    [found] = [v for v in newsletters.values() if v[0].post.lang == "sv"]
    return found


def test_html_lang_matches_the_post(newsletters):
    langs = set()
    for slug, (r, html, _) in newsletters.items():
        assert parse(html).get("lang") == r.post.lang, slug
        langs.add(r.post.lang)
    assert langs == {"en", "sv"}


def test_images_have_width_and_alt(newsletters):
    for slug, (_, html, _) in newsletters.items():
        imgs = list(parse(html).iter("img"))
        assert imgs, slug
        for img in imgs:
            assert img.get("alt") is not None, f"{slug}: {img.get('src')} has no alt"
            assert img.get("alt").strip(), f"{slug}: {img.get('src')} has an empty alt"
            width = img.get("width")
            assert width and width.isdigit(), f"{slug}: {img.get('src')} has no width"
            assert int(width) <= 600, f"{slug}: {img.get('src')} is {width} px wide"


def test_hidden_preheader(newsletters):
    for slug, (r, html, _) in newsletters.items():
        expected = r.post.newsletter.preheader or r.view["summary"]
        hidden = [el for el in elements(parse(html))
                  if "display:none" in (el.get("style") or "").replace(" ", "")
                  and el.text_content().strip().startswith(expected)]
        assert hidden, f"{slug}: no hidden preheader starting with {expected!r}"
        # the preheader comes before any visible text
        body_text = parse(html).find("body").text_content().strip()
        assert body_text.startswith(expected), slug


def test_size_is_under_gmail_clipping(newsletters):
    for slug, (_, html, _) in newsletters.items():
        size = len(html.encode("utf-8"))
        assert size < CLIP_BYTES, f"{slug}: {size} bytes"


def test_view_in_browser_and_unsubscribe_links(newsletters, built):
    for slug, (r, html, text) in newsletters.items():
        hrefs = list(iter_hrefs(html))
        page = f"{SITE}/{r.path}"  # sv/<slug>/ for a Swedish post of this English site
        assert any(h.startswith(page) for h in hrefs), slug
        unsubscribe = built.settings.unsubscribe_template
        assert unsubscribe == "mailto:news@example.org?subject=unsubscribe"
        assert unsubscribe in hrefs, slug
        assert page in text, slug
        assert unsubscribe in text, slug


def test_subject_is_the_title(newsletters):
    for slug, (r, html, _) in newsletters.items():
        assert parse(html).findtext(".//title") == r.post.newsletter.subject, slug


# ---------------------------------------------------------------------------
# merge tags


@pytest.mark.parametrize("inliner", INLINERS)
@pytest.mark.parametrize("target", sorted(UNSUBSCRIBE_TAGS))
def test_unsubscribe_merge_tag_survives_byte_for_byte(sample_build, target, inliner):
    tag = UNSUBSCRIBE_TAGS[target]
    expected = {"mailchimp": "*|UNSUB|*", "listmonk": "{{ UnsubscribeURL }}",
                "buttondown": "{{ unsubscribe_url }}", "brevo": "{{ unsubscribe }}"}[target]
    assert tag == expected
    built = sample_build(POSTPIPE_LIST=target, POSTPIPE_INLINER=inliner)
    files = sorted(built.newsletters.iterdir())
    assert len(files) == 8
    for path in files:
        raw = path.read_bytes()
        assert b"%7B" not in raw and b"%7b" not in raw, path.name
        assert b"%7C" not in raw and b"%7c" not in raw, path.name
        assert b"%7D" not in raw and b"%7d" not in raw, path.name
        if path.suffix == ".html":
            assert f'href="{tag}"'.encode() in raw, f"{path.name}: no href with {tag}"
            assert tag in list(iter_hrefs(raw.decode())), path.name
        else:
            assert tag.encode() in raw, f"{path.name}: {tag} missing in the text part"
    assert [f for f in built.report.findings if f.level != "info"] == []  # notes allowed


@pytest.mark.parametrize("inliner", INLINERS)
def test_outbox_unsubscribe_template_keeps_its_placeholder(sample_build, inliner):
    template = "https://news.example.org/unsubscribe?e={email}&list=news"
    built = sample_build(POSTPIPE_UNSUBSCRIBE_URL=template, POSTPIPE_INLINER=inliner)
    for path in sorted(built.newsletters.iterdir()):
        raw = path.read_text(encoding="utf-8")
        assert "%7B" not in raw and "%7D" not in raw, path.name
        if path.suffix == ".html":
            assert template in list(iter_hrefs(raw)), path.name
        else:
            assert template in raw.splitlines(), path.name


def test_personalise_fills_the_address():
    url = personalise("https://news.example.org/u?e={email}", "åsa+news@example.se")
    assert url == "https://news.example.org/u?e=%C3%A5sa%2Bnews@example.se"
    assert personalise("mailto:news@example.org?subject=unsubscribe", "a@b.se") == (
        "mailto:news@example.org?subject=unsubscribe")


@pytest.mark.parametrize("engine", INLINERS)
def test_inline_css_keeps_merge_tags(engine):
    html = ("<html><head><style>a{color:red}.x{font-weight:bold}"
            "@media (max-width:480px){.x{color:blue!important}}</style></head><body>"
            '<a class="x" href="*|UNSUB|*">a</a> <a href="{{ unsubscribe_url }}">b</a>'
            '<a href="https://x.org/?e={email}">c</a><p>*|FNAME|*</p></body></html>')
    out = inline_css(html, engine)
    for tag in ("*|UNSUB|*", "{{ unsubscribe_url }}", "{email}", "*|FNAME|*"):
        assert tag in out, (engine, tag)
    assert "%7B" not in out and "%7C" not in out
    doc = parse(out)
    a = doc.find(".//a")
    assert "color:red" in a.get("style").replace(" ", "")
    assert "font-weight:bold" in a.get("style").replace(" ", "")
    assert "@media" in out and "!important" in out


def test_inline_css_unknown_engine():
    with pytest.raises(ConfigError, match="unknown inliner"):
        inline_css("<p>x</p>", "nope")


# ---------------------------------------------------------------------------
# links and UTM


UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=with-links"


@pytest.fixture(scope="module")
def link_site(tmp_path_factory, write_site, post_text, png_bytes, settings):  # type: ignore[no-untyped-def]
    """A two-post site whose newsletter links to itself, the other post and the world."""
    from postpipe.pipeline import build_site

    body = (
        "Read [the other post](other.md#details), [a page](/about/?x=1#top), "
        "[a tagged page](/x/?utm_source=partner), [outside](https://bra.se/), "
        "[outside with query](https://bra.se/sok?q=trygg#r) and [a note](#notes).\n\n"
        "![A wide picture](wide.png)\n\n"
        "## Notes {#notes}\n\nEnd.\n"
    )
    root = tmp_path_factory.mktemp("links") / "root"
    write_site(root, {
        "with-links.md": post_text(
            "title: With links\ndate: 2026-03-01\nslug: with-links\nsummary: S.\n"
            "newsletter:\n  preheader: A preheader that is long enough to read well.\n", body),
        "other.md": post_text("title: Other\ndate: 2026-02-01\nslug: other\nsummary: O.\n"),
    })
    (root / "posts/wide.png").write_bytes(png_bytes(1200, 800))
    out = root.parent / "out"
    report = build_site(settings(root, POSTPIPE_SITE_URL=SITE), out)
    html = (out / "newsletters/with-links.html").read_text(encoding="utf-8")
    text = (out / "newsletters/with-links.txt").read_text(encoding="utf-8")
    return report, html, text, out


def body_hrefs(html: str) -> dict[str, str]:
    doc = parse(html)
    return {a.text_content(): a.get("href") for a in doc.iter("a") if in_content(a)}


def test_own_links_get_utm_and_keep_query_and_fragment(link_site):
    _, html, _, _ = link_site
    hrefs = body_hrefs(html)
    assert hrefs["the other post"] == f"{SITE}/other/?{UTM}#details"
    assert hrefs["a page"] == f"{SITE}/about/?x=1&{UTM}#top"
    assert hrefs["a note"] == f"{SITE}/with-links/?{UTM}#notes"
    tagged = urlsplit(hrefs["a tagged page"])
    assert parse_qs(tagged.query) == {"utm_source": ["partner"], "utm_medium": ["email"],
                                      "utm_campaign": ["with-links"]}


def test_external_links_get_no_utm(link_site):
    _, html, _, _ = link_site
    hrefs = body_hrefs(html)
    assert hrefs["outside"] == "https://bra.se/"
    assert hrefs["outside with query"] == "https://bra.se/sok?q=trygg#r"
    assert "utm_" not in html.split("bra.se", 1)[1].split('"', 1)[0]


def test_view_in_browser_link_is_tagged(link_site):
    _, html, _, _ = link_site
    assert f"{SITE}/with-links/?{UTM}" in list(iter_hrefs(html))


def test_blog_page_links_are_untagged(link_site):
    _, _, _, out = link_site
    page = (out / "site/with-links/index.html").read_text(encoding="utf-8")
    assert "utm_medium" not in page
    assert 'href="/x/?utm_source=partner"' in page
    assert 'href="/other/#details"' in page


def test_wide_body_image_is_capped_in_the_email(link_site):
    _, html, _, out = link_site
    [img] = [i for i in parse(html).iter("img") if in_content(i)]
    width, height = int(img.get("width")), int(img.get("height"))
    assert 400 <= width <= 600
    assert abs(height - width * 2 / 3) <= 1  # the ratio is kept
    assert img.get("src").startswith(f"{SITE}/assets/wide-email.")  # its email file
    assert img.get("loading") is None
    page = parse((out / "site/with-links/index.html").read_text(encoding="utf-8"))
    [img] = [i for i in page.iter("img") if "wide." in i.get("src")]
    assert (img.get("width"), img.get("height")) == ("1200", "800")  # the blog keeps the size


def test_empty_utm_disables_tagging(tmp_path, make_site, post_text, settings):
    from postpipe.pipeline import build_site

    root = make_site({"a.md": post_text(
        "title: A\ndate: 2026-01-01\nslug: a\nnewsletter:\n  subject: Hi\n",
        "See [me](/a/).\n")})
    build_site(settings(root, POSTPIPE_SITE_URL=SITE, POSTPIPE_UTM=""), tmp_path / "out")
    html = (tmp_path / "out/newsletters/a.html").read_text(encoding="utf-8")
    assert "utm_" not in html
    assert f'href="{SITE}/a/"' in html


@pytest.mark.parametrize(("url", "params", "expected"), [
    ("https://s.org/a/", "u=1&v=2", "https://s.org/a/?u=1&v=2"),
    ("https://s.org/a/?q=x", "u=1", "https://s.org/a/?q=x&u=1"),
    ("https://s.org/a/#frag", "u=1", "https://s.org/a/?u=1#frag"),
    ("https://s.org/a/?q=x#frag", "u=1&v=2", "https://s.org/a/?q=x&u=1&v=2#frag"),
    ("https://s.org/a/?u=mine", "u=1&v=2", "https://s.org/a/?u=mine&v=2"),
    ("https://s.org/a/?u=mine&v=", "u=1&v=2", "https://s.org/a/?u=mine&v="),
    ("https://s.org/a/?flag", "u=1", "https://s.org/a/?flag&u=1"),
    ("https://s.org/a/", "", "https://s.org/a/"),
    ("https://s.org", "u=1", "https://s.org?u=1"),
])
def test_add_query(url, params, expected):
    assert add_query(url, params) == expected


@pytest.mark.parametrize(("href", "expected"), [
    ("/about/", "https://s.org/about/"),
    ("other/", "https://s.org/post/other/"),
    ("../other/", "https://s.org/other/"),
    ("#notes", "https://s.org/post/#notes"),
    ("?page=2", "https://s.org/post/?page=2"),
    ("//cdn.example.org/x.png", "https://cdn.example.org/x.png"),
    ("https://bra.se/", "https://bra.se/"),
    ("http://example.org/", "http://example.org/"),
    ("mailto:info@example.org", "mailto:info@example.org"),
    ("tel:+4681234", "tel:+4681234"),
    ("  /padded/  ", "https://s.org/padded/"),
    ("", ""),
])
def test_absolute(href, expected):
    assert absolute(href, "https://s.org/post/", "https://s.org") == expected


def test_absolute_with_a_base_path():
    page, site = "https://example.org/news/post/", "https://example.org/news"
    assert absolute("/news/other/", page, site) == "https://example.org/news/other/"
    assert absolute("img.png", page, site) == "https://example.org/news/post/img.png"


@pytest.mark.parametrize(("url", "own"), [
    ("https://news.example.org", True),
    ("https://news.example.org/", True),
    ("https://news.example.org/a/?b=1", True),
    ("https://news.example.org.evil.com/", False),
    ("https://example.org/", False),
    ("http://news.example.org/", False),
])
def test_is_own(url, own):
    assert is_own(url, ("https://news.example.org", "")) is own


# ---------------------------------------------------------------------------
# plain text


TEXT_HTML = """
<h1>The big title</h1>
<p>Intro with <a href="https://example.org/one">the first link</a>, <em>emphasis</em> and
<a href="https://example.org/two">a second link</a>.
Again <a href="https://example.org/one">one</a>. Also <a href="#local">a local anchor</a>
and <a href="mailto:info@example.org">info@example.org</a>.</p>
<h2>A section</h2>
<h3>A subsection</h3>
<ul><li>apples</li><li>pears with a long description that goes on and on and on and on and on
and keeps going well past the width of a line</li></ul>
<ol><li>first</li><li>second</li></ol>
<ol start="4"><li>fourth</li></ol>
<blockquote><p>A quotation that is long enough to be wrapped onto a second line when it is
rendered at seventy-six characters.</p></blockquote>
<table><thead><tr><th>Name</th><th>Count</th></tr></thead>
<tbody><tr><td>Apples</td><td>12</td></tr><tr><td>Pears</td><td>7</td></tr></tbody></table>
<table><thead><tr><th>Measure</th><th>Value in the first year</th><th>Value later</th></tr></thead>
<tbody><tr><td>Residents who feel safe outdoors after dark in the district</td><td>61%</td>
<td>67%</td></tr></tbody></table>
<p>A very long paragraph """ + "word " * 60 + """ends here.</p>
"""


@pytest.fixture(scope="module")
def plain() -> str:
    return html_to_text(TEXT_HTML)


def test_text_headings_are_underlined(plain):
    lines = plain.splitlines()
    i = lines.index("The big title")
    assert lines[i + 1] == "=" * len("The big title")
    i = lines.index("A section")
    assert lines[i + 1] == "-" * len("A section")
    assert any(line.endswith("A subsection") and line.startswith("#") for line in lines)


def test_text_lists(plain):
    lines = plain.splitlines()
    assert "- apples" in lines
    i = next(i for i, ln in enumerate(lines) if ln.startswith("- pears"))
    assert lines[i + 1].startswith("  ") and lines[i + 1].strip()  # hanging indent
    assert "1. first" in lines and "2. second" in lines
    assert "4. fourth" in lines


def test_text_quotes(plain):
    quoted = [ln for ln in plain.splitlines() if ln.startswith(">")]
    assert len(quoted) >= 2
    assert all(ln.startswith("> ") for ln in quoted)
    assert "A quotation that is long enough" in quoted[0]


def test_text_narrow_table_is_aligned(plain):
    lines = plain.splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith("Name"))
    table = lines[i:i + 4]
    assert re.fullmatch(r"Name\s+\| Count", table[0])
    assert set(table[1]) <= {"-", "+"}
    assert re.fullmatch(r"Apples \| 12", table[2])
    assert re.fullmatch(r"Pears\s+\| 7", table[3])
    assert table[0].index("|") == table[2].index("|") == table[3].index("|")


def test_text_wide_table_is_header_value_lines(plain):
    assert "Measure: Residents who feel safe outdoors after dark in the district" in plain
    assert "Value in the first year: 61%" in plain
    assert "Value later: 67%" in plain


def test_text_links_are_numbered(plain):
    assert "the first link [1]" in plain
    assert "a second link [2]" in plain
    assert "one [1]" in plain  # the same URL keeps its number
    assert "a local anchor" in plain and "a local anchor [" not in plain
    assert "<info@example.org>" in plain
    tail = plain.rstrip("\n").split("\n\n")[-1].splitlines()
    assert tail == ["Links:", "[1] https://example.org/one", "[2] https://example.org/two"]


def test_text_lines_are_at_most_76_characters(plain):
    assert max(len(ln) for ln in plain.splitlines()) <= WIDTH


def url_line(line: str) -> bool:
    """A line that is just a URL (``[n] url`` in the link list, or a bare URL)."""
    rest = re.sub(r"^\[\d+\] ", "", line)
    return " " not in rest and bool(urlsplit(rest).scheme)


def test_sample_text_parts_are_wrapped(newsletters):
    for slug, (_, _, text) in newsletters.items():
        long = [ln for ln in text.splitlines() if len(ln) > WIDTH and not url_line(ln)]
        assert long == [], f"{slug}: lines over {WIDTH} characters: {long}"


def test_sample_text_parts_have_the_links_list(newsletters):
    _, _, text = newsletters["safer-streets-summit-2026"]
    assert "Swedish Crime Survey [1]" in text
    assert "\n[1] https://bra.se/\n" in text
    # a URL too long to share a line with its number stands alone on the next
    own = re.search(r"^\[\d\]\s(https://news\.example\.org/panel-\S+)$", text, re.M)
    assert own and "utm_campaign=safer-streets-summit-2026" in own.group(1)


def test_swedish_text_part_has_swedish_labels(newsletters):
    _, _, text = swedish(newsletters)
    assert "Visa i webbläsaren" in text
    assert "Avsluta prenumerationen" in text
    assert "\nLänkar:\n[1]" in text, "the link list of a Swedish mail is headed 'Länkar:'"
    assert "\nLinks:\n" not in text


def test_sample_text_part_is_plain(newsletters):
    for slug, (_, _, text) in newsletters.items():
        assert "<p" not in text and "</" not in text and "&amp;" not in text, slug
        assert "**" not in text, slug


# ---------------------------------------------------------------------------
# MIME


SUBJECT = "Välkommen till Trygghetsdagen 2027 i Göteborg – anmäl dig nu, åäö ÅÄÖ"
WHEN = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Europe/Stockholm"))


def message(unsubscribe: str = "https://news.example.org/unsubscribe?e=a%40b.se", **kw):  # type: ignore[no-untyped-def]
    args = dict(subject=SUBJECT, html="<html><body><p>Hej Göteborg!</p></body></html>",
                text="Hej Göteborg!\n", sender_name="Nordic Safer Communities Network",
                sender_email="news@example.org", reply_to="reply@example.org",
                to="Åsa Berg <asa@example.se>", unsubscribe_url=unsubscribe, date=WHEN,
                key="nl-trygghetsdagen-1", preheader="Anmäl dig senast 22 januari")
    args.update(kw)
    msg = build_message(**args)
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def test_message_is_multipart_alternative():
    msg = message()
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[0].get_content().replace("\r\n", "\n") == "Hej Göteborg!\n"
    assert "<p>Hej Göteborg!</p>" in parts[1].get_content()


def test_message_subject_round_trips():
    raw = build_message(subject=SUBJECT, html="<p>x</p>", text="x\n", sender_name="N",
                        sender_email="news@example.org", reply_to="news@example.org",
                        to="a@example.org", unsubscribe_url="mailto:news@example.org",
                        date=WHEN).as_bytes()
    assert raw.isascii(), "headers and bodies must be 7-bit on the wire"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == SUBJECT


def test_message_headers():
    msg = message()
    assert parseaddr(msg["From"]) == ("Nordic Safer Communities Network", "news@example.org")
    assert parseaddr(msg["Reply-To"])[1] == "reply@example.org"
    assert parseaddr(msg["To"]) == ("Åsa Berg", "asa@example.se")
    assert parsedate_to_datetime(msg["Date"]) == WHEN
    assert re.fullmatch(r"<[^@\s]+@example\.org>", msg["Message-ID"].strip())
    assert "nl-trygghetsdagen-1" in msg["Message-ID"]
    assert message()["Message-ID"] != msg["Message-ID"]
    assert msg["List-Unsubscribe"].startswith("<https://news.example.org/unsubscribe?e=a%40b.se>")
    assert "<mailto:news@example.org?subject=unsubscribe>" in msg["List-Unsubscribe"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("url", ["mailto:news@example.org?subject=unsubscribe",
                                 "http://localhost:8000/unsubscribe", "*|UNSUB|*"])
def test_one_click_header_only_with_https(url):
    msg = message(unsubscribe=url)
    assert msg["List-Unsubscribe-Post"] is None
    assert f"<{url}>" in msg["List-Unsubscribe"]


def test_mailto_unsubscribe_is_not_doubled():
    msg = message(unsubscribe="mailto:news@example.org?subject=unsubscribe")
    assert msg["List-Unsubscribe"] == "<mailto:news@example.org?subject=unsubscribe>"


def test_message_of_a_built_newsletter(newsletters):
    r, html, text = swedish(newsletters)
    msg = message(subject=r.email.subject, html=html, text=text,
                  unsubscribe=r.email.unsubscribe_url)
    assert msg["Subject"] == "Välkommen till Trygghetsdagen 2027 i Göteborg"
    plain, rich = msg.iter_parts()
    assert plain.get_content().replace("\r\n", "\n") == text
    assert rich.get_content().replace("\r\n", "\n").rstrip("\n") == html.rstrip("\n")


# ---------------------------------------------------------------------------
# small helpers


@pytest.mark.parametrize(("size", "expected"), [
    ((1200, 800), (600, 400)), ((600, 300), (600, 300)), ((48, 48), (48, 48)),
    ((None, None), (600, 0)),
])
def test_capped(size, expected):
    assert capped(*size) == expected


def test_sample_text_parts_fit_76_characters_but_for_lone_urls(newsletters):
    for slug, (_, _, text) in newsletters.items():
        for line in text.splitlines():
            assert len(line) <= 76 or re.fullmatch(r"<?https?://\S+>?[.,;:)]*", line), (slug, line)
