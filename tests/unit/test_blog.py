"""The blog: post pages, feed, sitemap, taxonomy and index pages, assets, atomic writes."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest

from postpipe.errors import TemplateError
from postpipe.pipeline import build_site
from postpipe.translations import section

pytestmark = pytest.mark.unit

SITE = "https://news.example.org"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SUMMIT = "safer-streets-summit-2026"
DRAFT = "volunteer-evening-thank-you"  # posts/drafts/, draft: true


def parse(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(path.read_text(encoding="utf-8"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def jsonld(doc: lxml.html.HtmlElement) -> list[dict]:
    """Every JSON-LD node of a page (``@graph`` flattened)."""
    nodes: list[dict] = []
    for script in doc.iter("script"):
        if script.get("type") == "application/ld+json":
            data = json.loads(script.text)
            nodes.extend(data.get("@graph", [data]))
    return nodes


@pytest.fixture(scope="module")
def built(sample_build):  # type: ignore[no-untyped-def]
    return sample_build()


@pytest.fixture(scope="module")
def posts(built):  # type: ignore[no-untyped-def]
    """{slug: rendered post} of the sample build (no drafts)."""
    return {r.slug: r for r in built.report.rendered}


@pytest.fixture(scope="module")
def pages(built, posts):  # type: ignore[no-untyped-def]
    return {slug: parse(built.site / posts[slug].path / "index.html") for slug in posts}


# ---------------------------------------------------------------------------
# post pages


def test_every_post_has_a_page(built, posts):
    assert len(posts) == 5
    for slug, r in posts.items():
        # the Swedish posts of this English site live under sv/ (issue 15)
        assert r.path == (f"sv/{slug}/" if r.post.lang == "sv" else f"{slug}/")
        assert (built.site / r.path / "index.html").is_file(), slug


def test_post_page_head(pages, posts):
    for slug, doc in pages.items():
        post = posts[slug].post
        assert doc.get("lang") == post.lang, slug
        [canonical] = doc.xpath("//link[@rel='canonical']")
        assert canonical.get("href") == f"{SITE}/{posts[slug].path}"
        [og_title] = doc.xpath("//meta[@property='og:title']")
        assert og_title.get("content") == post.title
        [og_url] = doc.xpath("//meta[@property='og:url']")
        assert og_url.get("content") == f"{SITE}/{posts[slug].path}"
        assert doc.findtext(".//title").startswith(post.title)


def test_post_page_jsonld_blogposting(pages, posts):
    for slug, doc in pages.items():
        nodes = jsonld(doc)
        [posting] = [n for n in nodes if n.get("@type") == "BlogPosting"]
        assert posting["headline"] == posts[slug].post.title
        assert posting["url"] == f"{SITE}/{posts[slug].path}"
        assert posting["datePublished"] == posts[slug].post.date.isoformat()
        assert posting["inLanguage"] == posts[slug].post.lang
        assert posting["author"]["name"] == posts[slug].post.author


def test_summit_jsonld_event_with_performers(pages, posts):
    nodes = jsonld(pages[SUMMIT])
    [event] = [n for n in nodes if n.get("@type") == "Event"]
    assert event["name"] == "Safer Streets Summit 2026"
    assert event["startDate"].startswith("2026-10-20T09:00:00")
    assert event["endDate"].startswith("2026-10-21T16:30:00")
    assert "Folkets Hus" in json.dumps(event["location"], ensure_ascii=False)
    names = [p["name"] for p in event["performer"]]
    assert names == [s.name for s in posts[SUMMIT].post.speakers]
    assert "Karin Sjöberg" in names
    assert all(p["@type"] == "Person" for p in event["performer"])


def test_jsonld_cannot_close_the_script_element(make_site, post_text, settings, tmp_path):
    root = make_site({"a.md": post_text(
        'title: "</script><script>alert(1)</script>"\ndate: 2026-01-01\nslug: a\n')})
    build_site(settings(root), tmp_path / "out")
    html = (tmp_path / "out/site/a/index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html
    doc = lxml.html.document_fromstring(html)
    [posting] = jsonld(doc)
    assert posting["headline"] == "</script><script>alert(1)</script>"


def test_markup_characters_in_the_title_are_escaped(make_site, post_text, settings, tmp_path):
    title = 'Q&A: "safety" <live> & Göteborg'
    root = make_site({"a.md": post_text(
        "title: 'Q&A: \"safety\" <live> & Göteborg'\ndate: 2026-01-01\nslug: qa\n"
        "summary: 'Fish & chips <b>not bold</b>'\nnewsletter:\n  preheader: P & Q\n")})
    build_site(settings(root, POSTPIPE_SITE_URL=SITE), tmp_path / "out")
    doc = parse(tmp_path / "out/site/qa/index.html")
    assert doc.xpath("//meta[@property='og:title']/@content") == [title]
    assert doc.xpath("//h1")[0].text_content().strip() == title
    assert doc.xpath("//meta[@name='description']/@content") == ["Fish & chips <b>not bold</b>"]
    assert not doc.xpath("//b[text()='not bold']")
    [posting] = jsonld(doc)
    assert posting["headline"] == title
    feed = ET.parse(tmp_path / "out/site/feed.xml").getroot()
    assert feed.findtext(f"{ATOM}entry/{ATOM}title") == title
    mail = parse(tmp_path / "out/newsletters/qa.html")
    assert mail.findtext(".//title") == title
    text = (tmp_path / "out/newsletters/qa.txt").read_text(encoding="utf-8")
    assert title in text and "&amp;" not in text


def test_summit_event_box(pages):
    doc = pages[SUMMIT]
    boxes = doc.xpath("//*[contains(concat(' ', @class, ' '), ' event ')]")
    assert boxes, "no event box"
    text = " ".join(boxes[0].text_content().split())
    for expected in ("Safer Streets Summit 2026", "Folkets Hus, Stockholm",
                     "20–21 October 2026", "Karin Sjöberg", "Dawit Tesfaye",
                     "Police Region Stockholm"):
        assert expected in text, expected


def test_summit_table_of_contents(pages):
    doc = pages[SUMMIT]
    [toc] = doc.xpath("//nav[contains(@class, 'toc')]")
    targets = [a.get("href") for a in toc.iter("a")]
    assert len(targets) >= 3
    ids = set(doc.xpath("//@id"))
    for href in targets:
        assert href.startswith("#") and href[1:] in ids, href
    assert "#five-ideas-were-taking-home" in targets


def test_swedish_dates(pages, posts):
    assert [r.post.lang for r in posts.values()].count("sv") == 2
    text = " ".join(pages["trygghetsdagen-2027"].text_content().split())
    assert "20 november 2026" in text
    assert "11 februari 2027" in text
    assert "November" not in text and "February" not in text


def test_english_dates(pages):
    text = " ".join(pages[SUMMIT].text_content().split())
    assert "22 October 2026" in text


# ---------------------------------------------------------------------------
# feed and sitemap


@pytest.fixture(scope="module")
def feed(built):  # type: ignore[no-untyped-def]
    return ET.parse(built.site / "feed.xml").getroot()


def test_feed_head(feed, posts):
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == f"{SITE}/"
    assert feed.findtext(f"{ATOM}title") == "Nordic Safer Communities Network"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", feed.findtext(f"{ATOM}updated"))
    assert feed.findtext(f"{ATOM}updated") == "2026-11-20T09:00:00Z"  # the newest post
    rels = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert rels["self"] == f"{SITE}/feed.xml"
    assert rels["alternate"] == f"{SITE}/"


def test_feed_entries(feed, posts):
    entries = feed.findall(f"{ATOM}entry")
    english = [r for r in posts.values() if r.post.lang == "en"]  # sv/feed.xml has the rest
    assert len(entries) == len(english)
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert ids == [f"{SITE}/{r.slug}/" for r in sorted(
        english, key=lambda r: r.post.date, reverse=True)]
    for entry in entries:
        slug = urlsplit(entry.findtext(f"{ATOM}id")).path.strip("/")
        assert entry.find(f"{ATOM}link").get("href") == f"{SITE}/{slug}/"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.findtext(f"{ATOM}updated"))
        assert entry.findtext(f"{ATOM}author/{ATOM}name") == posts[slug].post.author
        assert entry.findtext(f"{ATOM}summary").strip()
        content = entry.find(f"{ATOM}content")
        assert content.get("type") == "html" and content.text.strip()


def test_feed_uses_absolute_urls_only(feed):
    for entry in feed.findall(f"{ATOM}entry"):
        body = lxml.html.fragment_fromstring(entry.findtext(f"{ATOM}content"),
                                             create_parent="div")
        for el in body.iter():
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is not None:
                    assert urlsplit(value).scheme in ("https", "http", "mailto"), value
                    assert not value.startswith("#"), value
    for link in feed.iter(f"{ATOM}link"):
        assert link.get("href").startswith("https://"), link.get("href")


def test_feed_links_between_posts_point_to_post_urls(feed):
    hrefs = []
    for entry in feed.findall(f"{ATOM}entry"):
        body = lxml.html.fragment_fromstring(entry.findtext(f"{ATOM}content"),
                                             create_parent="div")
        hrefs += body.xpath("//a/@href")
    assert f"{SITE}/{SUMMIT}/" in hrefs
    assert not [h for h in hrefs if urlsplit(h).path.endswith(".md")]


def test_sitemap_lists_every_post(built, posts):
    root = ET.parse(built.site / "sitemap.xml").getroot()
    assert root.tag == f"{SITEMAP}urlset"
    locs = [u.findtext(f"{SITEMAP}loc") for u in root.findall(f"{SITEMAP}url")]
    assert f"{SITE}/" in locs
    for r in posts.values():
        assert f"{SITE}/{r.path}" in locs
    assert len(locs) == len(set(locs))
    assert all(loc.startswith(f"{SITE}/") for loc in locs)
    assert not any(DRAFT in loc for loc in locs)


# ---------------------------------------------------------------------------
# lists, taxonomy, drafts


def test_tag_and_category_pages_exist(built, posts):
    from postpipe.content import slugify

    for r in posts.values():
        lang = section(r.post.lang, "en")  # each language has its own tag pages
        for tag in r.post.tags:
            page = built.site / lang / "tags" / slugify(tag) / "index.html"
            assert page.is_file(), tag
            hrefs = parse(page).xpath("//main//a/@href")
            assert f"/{r.path}" in hrefs, (tag, r.slug)
        for cat in r.post.categories:
            assert (built.site / lang / "categories" / slugify(cat) / "index.html").is_file()
    assert (built.site / "tags/goteborg/index.html").is_file()  # göteborg → goteborg
    assert (built.site / "tags/policing/index.html").is_file()


def test_index_lists_posts_newest_first(built, posts):
    for lang, index in (("en", "index.html"), ("sv", "sv/index.html")):
        hrefs = post_links(parse(built.site / index), {f"/{r.path}" for r in posts.values()})
        mine = [r for r in posts.values() if r.post.lang == lang]
        expected = [f"/{r.path}" for r in sorted(mine, key=lambda r: r.post.date, reverse=True)]
        assert hrefs == expected


def test_internal_links_resolve(built):
    """Every site-relative link of every page points at a file of the build."""
    for page in built.site.rglob("*.html"):
        for href in parse(page).xpath("//@href | //@src"):
            if not href.startswith("/") or href.startswith("//"):
                continue
            path = urlsplit(href).path.lstrip("/")
            target = built.site / path
            if href.endswith("/"):
                target = target / "index.html"
            assert target.is_file(), f"{page.relative_to(built.site)}: {href}"


def test_drafts_only_with_drafts(built, tmp_path, settings, sample_site):
    assert not (built.site / DRAFT).exists()
    assert not any(DRAFT in p.read_text(encoding="utf-8") for p in built.site.rglob("*.html"))
    out = tmp_path / "out"
    report = build_site(settings(sample_site), out, drafts=True)
    page = out / "site" / DRAFT / "index.html"
    assert page.is_file()
    robots = parse(page).xpath("//meta[@name='robots']/@content")
    assert robots and "noindex" in robots[0]
    assert DRAFT not in (out / "site/feed.xml").read_text(encoding="utf-8")
    assert DRAFT not in (out / "site/sitemap.xml").read_text(encoding="utf-8")
    assert report.drafts_skipped == 0
    assert build_site(settings(sample_site), tmp_path / "o2").drafts_skipped == 1


def test_pagination(make_site, post_text, settings, tmp_path):
    site_posts = {
        f"2026-01-{n:02d}-p.md": post_text(
            f"title: Post {n}\ndate: 2026-01-{n:02d}\nslug: post-{n}\ntags: [all]\n"
            "summary: S.\n", f"Body {n}.\n")
        for n in range(1, 24)
    }
    root = make_site(site_posts)
    out = tmp_path / "out"
    build_site(settings(root, POSTPIPE_SITE_URL=SITE), out)
    site = out / "site"
    wanted = {f"/post-{n}/" for n in range(1, 24)}
    pages_ = [site / "index.html", site / "page/2/index.html", site / "page/3/index.html"]
    listed = [post_links(parse(p), wanted) for p in pages_]
    assert listed[0] == [f"/post-{n}/" for n in range(23, 13, -1)]
    assert listed[1] == [f"/post-{n}/" for n in range(13, 3, -1)]
    assert listed[2] == [f"/post-{n}/" for n in range(3, 0, -1)]
    assert not (site / "page/4").exists()
    assert not (site / "page/1").exists()
    first, second, last = (parse(p) for p in pages_)
    assert first.xpath("//link[@rel='next']/@href") == ["/page/2/"]
    assert first.xpath("//link[@rel='prev']/@href") == []
    assert second.xpath("//link[@rel='prev']/@href") == ["/"]
    assert second.xpath("//link[@rel='next']/@href") == ["/page/3/"]
    assert last.xpath("//link[@rel='next']/@href") == []
    assert second.xpath("//link[@rel='canonical']/@href") == [f"{SITE}/page/2/"]
    assert (site / "tags/all/page/3/index.html").is_file()
    feed = ET.parse(site / "feed.xml").getroot()
    assert len(feed.findall(f"{ATOM}entry")) <= 23


def post_links(doc: lxml.html.HtmlElement, wanted: set[str]) -> list[str]:
    """Links to posts in ``<main>``, in document order, each once."""
    seen: list[str] = []
    for href in doc.xpath("//main//a/@href"):
        if href in wanted and href not in seen:
            seen.append(href)
    return seen


# ---------------------------------------------------------------------------
# assets


def test_images_are_fingerprinted_and_referenced(built, pages):
    """Every image file is named by its own content hash: the stripped, resized copy
    of a picture in posts/images (``-800w``, ``-email``: its derivatives) or a card."""
    from PIL import Image

    assets = sorted((built.site / "assets").iterdir())
    assert assets
    sources = {p.stem for p in (built.root / "posts/images").iterdir()}
    pages_at = [*built.site.iterdir(), *(built.site / "sv").iterdir()]  # sv/: issue 15
    slugs = {p.name for p in pages_at if (p / "index.html").is_file()}
    for asset in assets:
        m = re.fullmatch(r"(.+?)(-\d+w|-email|-card)?\.([0-9a-f]{10})(\.\w+)", asset.name)
        assert m, asset.name
        assert m.group(1) in (slugs if m.group(2) == "-card" else sources), asset.name
        assert hashlib.sha256(asset.read_bytes()).hexdigest()[:10] == m.group(3)
        assert not Image.open(asset).getexif(), asset.name
    srcs = {src for doc in pages.values() for src in doc.xpath("//img/@src")}
    assert srcs, "no images on the post pages"
    for src in srcs:
        assert re.fullmatch(r"/assets/.+\.[0-9a-f]{10}\.\w+", src), src
        assert (built.site / src.lstrip("/")).is_file(), src
    html = "".join(p.read_text(encoding="utf-8") for p in built.site.rglob("*.html"))
    assert "images/summit-hero.jpg" not in html


def test_changed_image_gets_a_new_name(make_site, post_text, settings, tmp_path, png_bytes):
    root = make_site({"a.md": post_text(
        "title: A\ndate: 2026-01-01\nslug: a\nimage: pic.png\nimage_alt: P\n")},
        images={"pic.png": (4, 4)})
    build_site(settings(root), tmp_path / "one")
    (root / "posts/pic.png").write_bytes(png_bytes(5, 5))
    build_site(settings(root), tmp_path / "two")
    [one] = (tmp_path / "one/site/assets").glob("pic.*")
    [two] = (tmp_path / "two/site/assets").glob("pic.*")
    assert one.name != two.name
    assert two.name in (tmp_path / "two/site/a/index.html").read_text(encoding="utf-8")


def test_stylesheet_is_fingerprinted(built):
    [css] = (built.site / "static").glob("style.*.css")
    hrefs = parse(built.site / "index.html").xpath("//link[@rel='stylesheet']/@href")
    assert f"/static/{css.name}" in hrefs


# ---------------------------------------------------------------------------
# atomic writes and template errors


BROKEN_TEMPLATE = """{% extends "blog/base.html" %}
{% block content %}
<p>{{ nope }}</p>
{% endblock %}
"""


def break_post_template(root: Path) -> Path:
    override = root / "templates/blog/post.html"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text(BROKEN_TEMPLATE, encoding="utf-8")
    return override


def test_failed_render_leaves_the_previous_output(sample_site, settings, tmp_path):
    out = tmp_path / "out"
    build_site(settings(sample_site), out)
    before = snapshot(out)
    assert "site/index.html" in before
    break_post_template(sample_site)
    with pytest.raises(TemplateError):
        build_site(settings(sample_site), out)
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["newsletters", "site"]


def test_template_error_names_the_template_file_and_line(sample_site, settings, tmp_path):
    override = break_post_template(sample_site)
    with pytest.raises(TemplateError) as info:
        build_site(settings(sample_site), tmp_path / "out")
    error = info.value
    assert "nope" in error.message
    assert error.path is not None
    assert Path(error.path).as_posix().endswith("templates/blog/post.html"), error.render()
    assert Path(error.path).resolve() == override.resolve()
    assert error.line == 3, error.render()
    assert error.hint


def test_template_syntax_error_names_file_and_line(make_site, post_text, settings, tmp_path):
    root = make_site({"a.md": post_text("title: A\ndate: 2026-01-01\n")},
                     files={"templates/blog/post.html":
                            '{% extends "blog/base.html" %}\n\n{% if %}\n'})
    with pytest.raises(TemplateError) as info:
        build_site(settings(root), tmp_path / "out")
    assert Path(info.value.path).as_posix().endswith("templates/blog/post.html")
    assert info.value.line == 3
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_post_writes_nothing(make_site, post_text, settings, tmp_path):
    from postpipe.errors import ErrorGroup

    root = make_site({"a.md": post_text("tittle: A\ndate: 2026-01-01\n")})
    with pytest.raises(ErrorGroup):
        build_site(settings(root), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rebuild_removes_stale_files(make_site, post_text, settings, tmp_path):
    root = make_site({"a.md": post_text("title: A\ndate: 2026-01-01\nslug: a\n"),
                      "b.md": post_text("title: B\ndate: 2026-01-02\nslug: b\n")})
    out = tmp_path / "out"
    build_site(settings(root), out)
    assert (out / "site/b/index.html").is_file()
    (root / "posts/b.md").unlink()
    build_site(settings(root), out)
    assert not (out / "site/b").exists()
    assert sorted(p.name for p in out.iterdir()) == ["newsletters", "site"]


def test_the_sample_written_as_people_write_reads_as_meant(pages):
    """posts/2026-11-18-trygghetsvandring-kortedala.md: hashtags at line start, lists
    right after a line, a list nested by 3 spaces, bare links, Swedish quotes."""
    body = pages["trygghetsvandring-kortedala"].cssselect(".post-body")[0]
    assert body.cssselect("h1") == []
    paragraphs = [" ".join(p.text_content().split()) for p in body.findall("p")]
    assert paragraphs[0].startswith("#trygghetsdagen fortsätter")
    assert "#kortedala #trygghetsvandring" in paragraphs
    assert paragraphs[2].startswith("”Det är första gången") and "’mer ljus" in paragraphs[2]
    assert [el.tag for el in body][:4] == ["p", "p", "ul", "p"]
    nested = body.cssselect("ol > li > ul > li")
    assert [li.text for li in nested][0] == "buskarna skymmer sikten från båda hållen"
    hrefs = [a.get("href") for a in body.iter("a")]
    assert "https://example.org/kortedala-vandring" in hrefs
    assert "https://www.example.org/kortedala-karta" in hrefs
