"""``postpipe preview``, in process: routes, what each page shows, refusals, error
pages, the rebuild scope of a change, the watcher and the event stream.

Every server runs on 127.0.0.1 port 0 in a thread; requests go through
``http.client`` so that paths reach the server exactly as written (``..``,
``%2e%2e``) instead of being normalised by a client.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from postpipe import preview as pv
from postpipe.build import Builder
from postpipe.cli import Env, main
from postpipe.errors import PostpipeError
from postpipe.preview import Preview, PreviewServer, Watcher, safe_path

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SUMMIT = "2026-10-22-safer-streets-summit-2026"
SUMMIT_SLUG = "safer-streets-summit-2026"
PANEL = "2026-11-12-panel-policing-and-trust"
INVITE = "2026-11-20-inbjudan-trygghetsdag-2027"
INVITE_EN = "2026-11-20-invitation-safety-day-2027"  # its English edition (issue 15)
WALK = "2026-11-18-trygghetsvandring-kortedala"
DRAFT = "drafts/2026-11-24-volunteer-evening"


# ---------------------------------------------------------------------------
# helpers


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def doc(self) -> lxml.html.HtmlElement:
        return lxml.html.document_fromstring(self.body)


class Running:
    """A preview server in a thread, with a raw HTTP client."""

    def __init__(self, preview: Preview) -> None:
        self.preview = preview
        self.server = PreviewServer(port=0, preview=preview)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.port

    def get(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        host: str | None = None,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host or f"127.0.0.1:{self.port}")
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            res = conn.getresponse()
            return Response(res.status, res.headers, res.read())
        finally:
            conn.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def site(sample_site: Path, sample_env: dict[str, str]) -> Path:
    """A writable copy of the sample posts, with the sample settings in ``.env``."""
    (sample_site / ".env").write_text(
        "".join(f"{k}={v}\n" for k, v in sample_env.items()), encoding="utf-8"
    )
    return sample_site


@pytest.fixture
def make_preview(settings: Callable) -> Callable[..., Preview]:
    def make(root: Path, **env: str) -> Preview:
        return Preview(
            settings(root, **env),
            reload_settings=lambda: settings(root, **env),
            clock=lambda: NOW,
        )

    return make


@pytest.fixture
def serve() -> Iterator[Callable[[Preview], Running]]:
    started: list[Running] = []

    def start(preview: Preview) -> Running:
        running = Running(preview)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def running(site: Path, make_preview, serve) -> Running:  # type: ignore[no-untyped-def]
    return serve(make_preview(site))


@pytest.fixture(scope="module")
def shared(  # type: ignore[no-untyped-def]
    tmp_path_factory, repo_root: Path, sample_env: dict[str, str], settings
) -> Iterator[Running]:
    """One server on the sample posts for tests that only read; ``.env`` holds a secret."""
    root = tmp_path_factory.mktemp("shared") / "site"
    shutil.copytree(repo_root / "posts", root / "posts")
    env = {**sample_env, "MAILCHIMP_API_KEY": "sekrit-token-us21"}
    (root / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    running = Running(Preview(settings(root), clock=lambda: NOW))
    yield running
    running.stop()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def post_path(root: Path, key: str) -> Path:
    return root / "posts" / f"{key}.md"


# ---------------------------------------------------------------------------
# the server: address, index, post page


def test_listens_on_loopback_only(shared: Running) -> None:
    assert shared.server.server_address[0] == "127.0.0.1"
    assert shared.server.url == f"http://127.0.0.1:{shared.port}/"


def test_index_lists_every_post_newest_first_with_drafts_marked(shared: Running) -> None:
    res = shared.get("/")
    assert res.status == 200
    rows = res.doc().cssselect("tr.pp-row")
    keys = [r.get("data-key") for r in rows]
    # dates 24, 20, 18, 12 Nov, 22 Oct; the two editions of the invitation together
    assert keys[0] == DRAFT and keys[3:] == [WALK, PANEL, SUMMIT]
    assert set(keys[1:3]) == {INVITE, INVITE_EN}
    draft = rows[0]
    assert "is-draft" in draft.get("class")
    assert "Draft" in [c.text_content() for c in draft.cssselect(".pp-chip")]
    for row in rows:
        link = row.cssselect(".pp-title a")[0]
        assert link.get("href") == f"/_preview/posts/{row.get('data-key')}"
        assert row.cssselect(".pp-checks .pp-count")[0].text_content() == "No problems"
    summit = rows[5].text_content()
    assert "22 Oct 2026" in summit and "Safer Streets Summit 2026" in summit
    assert "Newsletter not prepared" in summit  # no ledger yet: nothing prepared


def test_index_groups_the_editions_of_a_post(shared: Running) -> None:
    rows = shared.get("/").doc().cssselect("tr.pp-row")
    by_key = {r.get("data-key"): r for r in rows}
    keys = [r.get("data-key") for r in rows]
    first, second = keys[1:3]
    assert {first, second} == {INVITE, INVITE_EN}
    assert "pp-edition" not in by_key[first].cssselect(".pp-title")[0].get("class")
    assert "pp-edition" in by_key[second].cssselect(".pp-title")[0].get("class")
    langs = {k: by_key[k].cssselect(".pp-lang")[0].text_content() for k in (INVITE, INVITE_EN)}
    assert langs == {INVITE: "sv", INVITE_EN: "en"}
    assert not by_key[PANEL].cssselect(".pp-edition")  # no translation: a plain row


def test_post_page_links_its_translation(shared: Running) -> None:
    doc = shared.get(f"/_preview/posts/{INVITE}").doc()
    [link] = doc.cssselect("nav.pp-langs a")
    assert link.get("href") == f"/_preview/posts/{INVITE_EN}"
    assert link.get("hreflang") == "en"
    assert "Invitation: Safety Day 2027" in link.text_content()
    back = shared.get(f"/_preview/posts/{INVITE_EN}").doc().cssselect("nav.pp-langs a")
    assert [a.get("href") for a in back] == [f"/_preview/posts/{INVITE}"]
    assert not shared.get(f"/_preview/posts/{PANEL}").doc().cssselect("nav.pp-langs")


def test_index_counts_findings_per_post(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    path = post_path(site, PANEL)
    path.write_text(
        re.sub(r"(?m)^summary: .*\n", "", path.read_text(encoding="utf-8")), encoding="utf-8"
    )
    edit(post_path(site, PANEL), "About 140 people", "About [140](http://example.org/x) people")
    res = serve(make_preview(site)).get("/")
    row = res.doc().cssselect(f'tr[data-key="{PANEL}"]')[0]
    counts = [c.text_content() for c in row.cssselect(".pp-checks .pp-count")]
    assert counts == ["2 warnings"]  # no summary, an http:// link
    others = res.doc().cssselect(f'tr.pp-row:not([data-key="{PANEL}"]) .pp-checks')
    assert [o.text_content().strip() for o in others] == ["No problems"] * 5  # nothing leaks


def test_index_shows_the_ledger_state(site: Path, make_preview, serve, settings) -> None:  # type: ignore[no-untyped-def]
    from postpipe.publish import run

    s = settings(site)
    report = run(
        s,
        lambda p: p.send_one("panel-can-community-policing-rebuild-trust"),
        now=NOW,
        confirm=lambda _text: True,
    )
    assert report.ok, report.lines
    running = serve(make_preview(site))
    row = running.get("/").doc().cssselect(f'tr[data-key="{PANEL}"]')[0]
    chips = [c.text_content() for c in row.cssselect(".pp-chip")]
    assert "Published" in chips
    assert any(c.startswith("Newsletter sent · 25 Nov 2026") for c in chips), chips
    # the preview read the ledger and wrote nothing
    assert not (site / "build").exists()


def test_post_page_shows_blog_email_text_headers_and_checks(shared: Running) -> None:
    res = shared.get(f"/_preview/posts/{SUMMIT}")
    assert res.status == 200
    doc = res.doc()
    assert doc.cssselect(".pp-h1")[0].text_content().startswith("Safer Streets Summit 2026")
    blog = doc.cssselect('iframe[data-pp-frame="blog"]')[0]
    assert blog.get("src") == f"/{SUMMIT_SLUG}/?embed"
    e600 = doc.cssselect('iframe[data-pp-frame="email-600"]')[0]
    e375 = doc.cssselect('iframe[data-pp-frame="email-375"]')[0]
    assert (e600.get("width"), e375.get("width")) == ("600", "375")
    assert e600.get("src") == e375.get("src") == f"/_preview/email/{SUMMIT}"
    rendered = shared.preview.snapshot.entries[SUMMIT].rendered
    assert rendered is not None and rendered.email is not None
    assert doc.cssselect("pre.pp-plain")[0].text_content() == rendered.email.text
    headers = doc.cssselect(".pp-headers")[0].text_content()
    assert "Summit recap: 5 ideas for safer streets" in headers
    assert "Police, NGOs, researchers and youth workers on what actually works" in headers
    assert "Nordic Safer Communities Network <news@example.org>" in headers
    size = len(rendered.email.html.encode()) / 1024
    assert f"{size:.0f} KB" in headers and "of 102 KB" in headers
    assert "All checks pass" in doc.cssselect('[data-pp-region="head"]')[0].text_content()
    assert not doc.cssselect('[data-pp-region="checks"] .pp-finding')


def test_post_page_lists_findings_with_place_and_hint(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    edit(post_path(site, PANEL), "About 140 people", "About [140](http://example.org/x) people")
    doc = serve(make_preview(site)).get(f"/_preview/posts/{PANEL}").doc()
    findings = doc.cssselect(".pp-finding")
    assert len(findings) == 1
    text = findings[0].text_content()
    line = next(
        i
        for i, ln in enumerate(post_path(site, PANEL).read_text().split("\n"), 1)
        if "http://example.org/x" in ln
    )
    assert f"posts/{PANEL}.md:{line}" in text
    assert "insecure http:// URL" in text and "use https://" in text


def test_post_without_newsletter_says_so(shared: Running) -> None:
    doc = shared.get(f"/_preview/posts/{DRAFT}").doc()
    assert not doc.cssselect("iframe.pp-email")
    panel = doc.cssselect('[data-pp-panel="email"]')[0].text_content()
    assert "no newsletter" in panel


# ---------------------------------------------------------------------------
# the built site and the email


def test_blog_page_is_the_page_as_built(site: Path, running: Running, settings) -> None:  # type: ignore[no-untyped-def]
    from postpipe.pipeline import build_site

    build_site(settings(site), site / "out", drafts=True)
    built = (site / "out" / "site" / SUMMIT_SLUG / "index.html").read_bytes()
    embedded = running.get(f"/{SUMMIT_SLUG}/?embed")
    assert embedded.status == 200 and embedded.headers["Content-Type"].startswith("text/html")
    assert embedded.body == built
    alone = running.get(f"/{SUMMIT_SLUG}/")
    script = re.search(rb'<script src="/_preview/static/preview\.js"[^>]*></script>', alone.body)
    assert script, "a page opened on its own gets the live-reload script"
    assert alone.body.replace(script.group(0), b"") == built
    assert alone.body.index(script.group(0)) < alone.body.index(b"</body>")


def test_css_images_and_feed_of_the_build_are_served(shared: Running) -> None:
    doc = shared.get(f"/{SUMMIT_SLUG}/?embed").doc()
    css = doc.cssselect('link[rel="stylesheet"]')[0].get("href")
    img = doc.cssselect("img")[0].get("src")
    res = shared.get(css)
    assert res.status == 200 and res.headers["Content-Type"].startswith("text/css")
    res = shared.get(img)
    assert res.status == 200 and res.headers["Content-Type"] == "image/jpeg"
    assert res.body[:2] == b"\xff\xd8"
    assert shared.get("/feed.xml").status == 200
    assert shared.get("/index.html").status == 200  # the blog's own home page


def test_email_view_is_the_html_that_is_sent(running: Running, site: Path, settings) -> None:  # type: ignore[no-untyped-def]
    snap = running.preview.snapshot
    builder = Builder(settings(site), drafts=True)
    post = snap.entries[SUMMIT].parsed
    assert post is not None
    by_source = {e.parsed.source.resolve(): e.parsed for e in snap.entries.values() if e.parsed}
    sent = builder.render_post(post, by_source).email
    assert sent is not None
    as_sent = running.get(f"/_preview/email/{SUMMIT}?as-sent")
    assert as_sent.text == sent.html
    shown = running.get(f"/_preview/email/{SUMMIT}")
    # the same HTML; only images on the site's URL load from the preview
    remote = re.findall(r'src="(https://news\.example\.org/[^"]+)"', sent.html)
    assert remote
    assert shown.text == sent.html.replace('src="https://news.example.org/', 'src="/')
    for url in remote:
        assert running.get(url.removeprefix("https://news.example.org")).status == 200
    assert 'style="' in shown.text  # inlined


def test_trailing_slash_redirect_and_no_listings(shared: Running) -> None:
    res = shared.get(f"/{SUMMIT_SLUG}")
    assert res.status == 301 and res.headers["Location"] == f"/{SUMMIT_SLUG}/"
    for path in (
        "/assets/",
        "/static/",
        "/tags/",
        "/_preview/",
        "/_preview/static/",
        "/posts/",
        "/posts/images/",
    ):
        assert shared.get(path).status == 404, path


def test_only_get_and_head(shared: Running) -> None:
    res = shared.get("/", method="POST")
    assert res.status == 405 and res.headers["Allow"] == "GET, HEAD"
    head = shared.get(f"/{SUMMIT_SLUG}/", method="HEAD")
    assert head.status == 200 and head.body == b"" and int(head.headers["Content-Length"]) > 0


def test_foreign_host_names_are_refused(shared: Running) -> None:
    # DNS rebinding: a page on evil.example must not read drafts through our port
    assert shared.get("/", host=f"evil.example:{shared.port}").status == 403
    assert shared.get("/", host=f"localhost:{shared.port}").status == 200


# ---------------------------------------------------------------------------
# safety


TRAVERSALS = [
    "/../../../../etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/.env",
    "/static/%2e%2e/%2e%2e/.env",
    "/static%2fstyle.css",
    "/assets/..%5c..%5c.env",
    "/assets/..\\..\\.env",
    "//etc/passwd",
    "/./.env",
    "/.env",
    "/posts/2026-10-22-safer-streets-summit-2026.md",
    "/_preview/static/../../../.env",
    "/_preview/static/%2e%2e/preview.py",
    "/_preview/static/preview.py",
    "/_preview/posts/../../.env",
    "/_preview/posts/%2e%2e/%2e%2e/.env",
    "/_preview/email/..%2f..%2f.env",
    "/%00",
    "/%ff%fe",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_paths_out_of_the_build_are_not_found(shared: Running, path: str) -> None:
    res = shared.get(path)
    assert res.status == 404, (path, res.status)
    assert b"sekrit" not in res.body and b"root:" not in res.body


def test_safe_path_decodes_plain_paths_and_refuses_the_rest() -> None:
    assert safe_path("/a%20b/c.html") == ["a b", "c.html"]
    assert safe_path("/") == [""]
    for bad in ("/a/../b", "/%2e%2e/b", "/a%2fb", "/a%5Cb", "a/b", "//a", "/a\\b", "/%00"):
        assert safe_path(bad) is None, bad


def test_a_symlink_out_of_the_site_is_not_served(
    tmp_path: Path,
    make_site,
    make_preview,
    serve,
    png_bytes,
    post_text,  # type: ignore[no-untyped-def]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png_bytes(3, 2) + b"SECRET-BYTES")
    root = make_site(
        {
            "a.md": post_text(
                "title: A\ndate: 2026-01-01\n",
                "![inside](images/in.png)\n\n![leak](images/leak.png)\n",
            )
        },
        images={"images/in.png": (4, 3)},
    )
    os.symlink(outside / "secret.png", root / "posts" / "images" / "leak.png")
    running = serve(make_preview(root))
    doc = running.get("/a/?embed").doc()
    srcs = {i.get("alt"): i.get("src") for i in doc.cssselect("img")}
    assert running.get(srcs["inside"]).status == 200
    res = running.get(srcs["leak"])
    assert res.status == 404 and b"SECRET-BYTES" not in res.body


# ---------------------------------------------------------------------------
# errors in the browser


def test_broken_front_matter_shows_the_place_and_recovers(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site))
    path = post_path(site, PANEL)
    good = path.read_text(encoding="utf-8")
    others = {k: running.get(f"/_preview/posts/{k}").body for k in (SUMMIT, INVITE)}
    invite_page = running.get("/sv/trygghetsdagen-2027/?embed").body

    edit(path, "date: 2026-11-12 18:00\n", "date: 2026-11-12 18:00\ntittle: oops\n")
    change = running.preview.rebuild({path})
    assert change is not None and PANEL in change.keys
    res = running.get(f"/_preview/posts/{PANEL}")
    assert res.status == 200
    doc = res.doc()
    assert doc.get_element_by_id("pp-page").get("data-shape") == "error"
    problem = doc.cssselect(".pp-problem")[0].text_content()
    assert f"posts/{PANEL}.md:4" in problem
    assert "unknown front matter key 'tittle'" in problem
    assert "did you mean 'title'?" in problem
    here = doc.cssselect(".pp-line.is-here")[0].text_content()
    assert here == "4tittle: oops"
    # the blog page of the broken post shows the error, not a stale page
    stale = running.get("/panel-can-community-policing-rebuild-trust/")
    assert "unknown front matter key" in stale.text
    # the other posts keep their last good render
    assert running.get("/sv/trygghetsdagen-2027/?embed").body == invite_page
    assert running.get(f"/_preview/posts/{INVITE}").status == 200
    row = running.get("/").doc().cssselect(f'tr[data-key="{PANEL}"]')[0]
    assert "Needs fixing" in row.text_content() and "1 error" in row.text_content()

    path.write_text(good, encoding="utf-8")
    running.preview.rebuild({path})
    doc = running.get(f"/_preview/posts/{PANEL}").doc()
    assert doc.get_element_by_id("pp-page").get("data-shape") == "post"
    assert doc.cssselect('iframe[data-pp-frame="email-600"]')
    assert running.get(f"/_preview/posts/{SUMMIT}").status == 200
    del others


def test_template_error_names_the_template_and_line(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site))
    tpl = site / "templates" / "blog" / "post.html"
    tpl.parent.mkdir(parents=True)
    tpl.write_text(
        '{% extends "blog/base.html" %}\n{% block content %}\n'
        "<h1>{{ post.title }}</h1>\n<p>{{ post.no_such_thing }}</p>\n"
        "{% endblock %}\n",
        encoding="utf-8",
    )
    change = running.preview.rebuild({tpl})
    assert change is not None and change.everything
    doc = running.get(f"/_preview/posts/{SUMMIT}").doc()
    problem = doc.cssselect(".pp-problem")[0].text_content()
    assert "templates/blog/post.html:4" in problem
    assert "no_such_thing" in problem
    assert doc.cssselect(".pp-line.is-here")[0].text_content().startswith("4<p>")
    tpl.unlink()
    running.preview.rebuild({tpl})
    doc = running.get(f"/_preview/posts/{SUMMIT}").doc()
    assert doc.get_element_by_id("pp-page").get("data-shape") == "post"


def test_a_list_template_error_keeps_the_last_lists(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site))
    home = running.get("/index.html?embed").body
    tpl = site / "templates" / "blog" / "list.html"
    tpl.parent.mkdir(parents=True)
    tpl.write_text("{% for p in posts %}{{ p.oops() }}{% endfor %}\n", encoding="utf-8")
    running.preview.rebuild({tpl})
    banner = running.get("/").doc().cssselect(".pp-banner")[0].text_content()
    assert "templates/blog/list.html:1" in banner
    assert running.get("/index.html?embed").body == home
    assert running.get(f"/_preview/posts/{SUMMIT}").status == 200


def test_a_bug_in_postpipe_gives_a_500_page_with_the_traceback(
    site: Path,
    make_preview,
    serve,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    running = serve(make_preview(site))
    real = Builder.render_post

    def render_post(self, post, *a, **kw):  # type: ignore[no-untyped-def]
        if post.slug == SUMMIT_SLUG:
            raise RuntimeError("boom in render_post")
        return real(self, post, *a, **kw)

    monkeypatch.setattr(Builder, "render_post", render_post)
    path = post_path(site, SUMMIT)
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # a real save
    running.preview.rebuild({path})
    res = running.get(f"/_preview/posts/{SUMMIT}")
    assert res.status == 500
    assert "RuntimeError: boom in render_post" in res.text and "Traceback" in res.text
    assert running.get(f"/_preview/posts/{PANEL}").status == 200  # the server lives on

    monkeypatch.setattr(pv, "render_index", lambda *a: 1 / 0)
    res = running.get("/")
    assert res.status == 500 and "ZeroDivisionError" in res.text
    assert running.get(f"/_preview/posts/{INVITE}").status == 200


def test_a_deleted_post_page_says_so(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site))
    path = post_path(site, INVITE)
    path.unlink()
    change = running.preview.rebuild({path})
    # its English edition loses its link to it (hreflang, language switch): re-rendered too
    assert change is not None and change.keys == {INVITE, INVITE_EN}
    res = running.get(f"/_preview/posts/{INVITE}")
    assert res.status == 404 and "Post not found" in res.text
    assert INVITE not in [r.get("data-key") for r in running.get("/").doc().cssselect("tr")]
    assert running.get("/sv/trygghetsdagen-2027/").status == 404


def test_a_duplicate_slug_is_an_error_of_the_second_file(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site))
    copy = site / "posts" / "zz-copy.md"
    copy.write_text(post_path(site, INVITE).read_text(encoding="utf-8"), encoding="utf-8")
    running.preview.rebuild({copy})
    text = running.get("/_preview/posts/zz-copy").text
    assert "slug &#39;trygghetsdagen-2027&#39; is already used by" in text
    assert (
        running.get(f"/_preview/posts/{INVITE}")
        .doc()
        .get_element_by_id("pp-page")
        .get("data-shape")
        == "post"
    )
    copy.unlink()
    running.preview.rebuild({copy})
    assert running.get("/_preview/posts/zz-copy").status == 404


def test_a_broken_env_keeps_the_last_settings_and_says_why(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site))
    env = site / ".env"
    good = env.read_text(encoding="utf-8")
    env.write_text(good + "POSTPIPE_LANG=english\n", encoding="utf-8")
    running.preview.rebuild({env})
    banner = running.get("/").doc().cssselect(".pp-banner")[0].text_content()
    assert "POSTPIPE_LANG" in banner
    assert running.get(f"/_preview/posts/{SUMMIT}").status == 200
    running.preview.rebuild({post_path(site, PANEL)})  # still shown after another rebuild
    assert running.get("/").doc().cssselect(".pp-banner")
    env.write_text(good.replace("Nordic Safer Communities Network", "NSCN News"), encoding="utf-8")
    running.preview.rebuild({env})
    doc = running.get("/").doc()
    assert not doc.cssselect(".pp-banner")
    assert "NSCN News" in doc.cssselect(".pp-site")[0].text_content()


# ---------------------------------------------------------------------------
# what a change rebuilds


@pytest.fixture
def small_site(make_site, post_text) -> Path:  # type: ignore[no-untyped-def]
    """a.md; b.md links to a.md; c.md shows images/c.png; nothing uses images/x.png."""
    return make_site(
        {
            "a.md": post_text("title: A\ndate: 2026-01-01\nsummary: A.\n"),
            "b.md": post_text("title: B\ndate: 2026-01-02\nsummary: B.\n", "See [A](a.md).\n"),
            "c.md": post_text(
                "title: C\ndate: 2026-01-03\nsummary: C.\n", "![a c](images/c.png)\n"
            ),
        },
        images={"images/c.png": (4, 3), "images/x.png": (2, 2)},
    )


def test_a_post_change_rebuilds_that_post_and_the_posts_linking_to_it(
    small_site: Path,
    make_preview,  # type: ignore[no-untyped-def]
) -> None:
    preview = make_preview(small_site)
    before = dict(preview.snapshot.entries)
    path = small_site / "posts" / "c.md"
    edit(path, "title: C", "title: C2")
    change = preview.rebuild({path})
    assert change is not None and change.keys == {"c"} and not change.everything
    after = preview.snapshot.entries
    assert after["c"].title == "C2"
    assert after["a"] is before["a"] and after["b"] is before["b"]  # untouched renders
    assert b"C2" in preview.snapshot.files["index.html"]  # the lists follow

    path = small_site / "posts" / "a.md"
    edit(path, "title: A", "title: A\nslug: a-new")
    change = preview.rebuild({path})
    assert change is not None and change.keys == {"a", "b"}
    assert b'href="/a-new/"' in preview.snapshot.files["b/index.html"]  # type: ignore[operator]


def test_an_image_change_rebuilds_the_posts_that_use_it(
    small_site: Path,
    make_preview,
    png_bytes,  # type: ignore[no-untyped-def]
) -> None:
    preview = make_preview(small_site)
    old_page = preview.snapshot.files["c/index.html"]
    image = small_site / "posts" / "images" / "c.png"
    image.write_bytes(png_bytes(8, 6))
    change = preview.rebuild({image})
    assert change is not None and change.keys == {"c"}
    page = preview.snapshot.files["c/index.html"]
    assert page != old_page and b'width="8"' in page  # type: ignore[operator]
    unused = small_site / "posts" / "images" / "x.png"
    unused.write_bytes(png_bytes(3, 3))
    assert preview.rebuild({unused}) is None  # nothing uses it: nothing to refresh


def test_a_missing_image_that_appears_fixes_the_post(
    small_site: Path,
    make_preview,
    png_bytes,  # type: ignore[no-untyped-def]
) -> None:
    path = small_site / "posts" / "a.md"
    edit(path, "summary: A.\n", "summary: A.\nimage: images/new.png\nimage_alt: New\n")
    preview = make_preview(small_site)
    assert not preview.snapshot.entries["a"].ok
    image = small_site / "posts" / "images" / "new.png"
    image.write_bytes(png_bytes(5, 5))
    change = preview.rebuild({image})
    # b.md links to a.md: its link works again, so its page changed too
    assert change is not None and change.keys == {"a", "b"}
    assert preview.snapshot.entries["a"].ok
    assert b'href="/a/"' in preview.snapshot.files["b/index.html"]  # type: ignore[operator]


def test_a_template_or_static_change_rebuilds_everything(small_site: Path, make_preview) -> None:  # type: ignore[no-untyped-def]
    preview = make_preview(small_site)
    css = small_site / "templates" / "static" / "style.css"
    css.parent.mkdir(parents=True)
    css.write_text("body { color: teal }\n", encoding="utf-8")
    change = preview.rebuild({css})
    assert change is not None and change.everything and change.keys == {"a", "b", "c"}
    names = [n for n in preview.snapshot.files if n.startswith("static/style.")]
    assert len(names) == 1 and preview.snapshot.files[names[0]] == css


def test_a_new_post_appears(small_site: Path, make_preview, post_text) -> None:  # type: ignore[no-untyped-def]
    preview = make_preview(small_site)
    path = small_site / "posts" / "sub" / "d.md"
    path.parent.mkdir()
    path.write_text(post_text("title: D\ndate: 2026-02-01\n"), encoding="utf-8")
    change = preview.rebuild({path})
    assert change is not None and change.keys == {"sub/d"}
    assert [e.key for e in preview.snapshot.ordered()] == ["sub/d", "c", "b", "a"]


def test_a_ledger_change_refreshes_the_states_only(site: Path, make_preview, settings) -> None:  # type: ignore[no-untyped-def]
    from postpipe.publish import run

    preview = make_preview(site)
    ledger = site / ".postpipe" / "ledger.sqlite3"
    assert preview.rebuild({ledger}) is None  # no ledger, no change
    run(settings(site), lambda p: p.publish(["trygghetsdagen-2027"]), now=NOW)
    change = preview.rebuild({ledger})
    assert change is not None and change.keys == {INVITE}
    assert preview.snapshot.status["trygghetsdagen-2027"]["post"] == "published"


# ---------------------------------------------------------------------------
# watching and the event stream


def test_watcher_waits_for_a_burst_of_saves_to_end(tmp_path: Path) -> None:
    """An editor saves in a burst: each debounce wait sees one more write; the
    change is reported once, after a wait in which nothing was written."""
    post = tmp_path / "a.md"
    post.write_text("0")
    saves = [("x" * i) for i in range(1, 6)]
    waits: list[float] = []

    def editor_saves_while_we_wait(seconds: float) -> None:
        waits.append(seconds)
        if saves:
            post.write_text(saves.pop(0))

    watcher = Watcher(lambda: [tmp_path], interval=1, debounce=0.5, wait=editor_saves_while_we_wait)
    assert watcher.changes() == set() and waits == []
    post.write_text("first")
    assert watcher.changes() == {post}
    assert waits == [0.5] * 6  # five waits that saw a save, then a quiet one
    assert post.read_text() == "xxxxx"
    assert watcher.changes() == set()  # the burst was one change
    post.rename(tmp_path / "b.md")
    assert watcher.changes() == {post, tmp_path / "b.md"}


def test_watcher_follows_symlinked_folders_once(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.png").write_bytes(b"1")
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.symlink(tmp_path, tmp_path / "real" / "loop")  # a cycle must not hang the scan
    found = Watcher(lambda: [tmp_path], interval=1).scan()
    assert [p.name for p in found] == ["x.png"]  # once, by whichever path came first


class Stream:
    """A raw Server-Sent Events client."""

    def __init__(self, port: int, query: str, headers: dict[str, str] | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(
            f"GET /_preview/events?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"{extra}\r\n".encode()
        )
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n")[0] and b"text/event-stream" in head

    def _until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        part, self.buf = self.buf.split(sep, 1)
        return part

    def message(self, timeout: float = 2.0) -> str:
        """The next block (an event or a comment), without 'retry:' blocks."""
        self.sock.settimeout(timeout)
        while True:
            block = self._until(b"\n\n").decode()
            if not block.startswith("retry:"):
                return block

    def event(self, timeout: float = 2.0) -> dict:
        block = self.message(timeout)
        data = [ln[6:] for ln in block.split("\n") if ln.startswith("data: ")]
        assert data, block
        return json.loads(data[0])

    def close(self) -> None:
        self.sock.close()


def test_events_stream_one_message_per_rebuild(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site))
    preview = running.preview
    stream = Stream(running.port, f"since={preview.snapshot.gen}&boot={preview.boot}")
    path = post_path(site, INVITE)
    edit(path, "anmäl dig nu", "anmäl dig idag")
    threading.Thread(target=preview.rebuild, args=({path},)).start()
    event = stream.event(timeout=30)  # (a hang guard, not a speed check)
    assert event == {"gen": preview.snapshot.gen, "keys": [INVITE], "all": False}
    stream.close()


def test_events_catch_up_and_merge_what_a_client_missed(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site))
    preview = running.preview
    since = preview.snapshot.gen
    edits = ((INVITE, "anmäl dig nu", "anmäl dig!"), (PANEL, "rebuild trust?", "win trust?"))
    for key, old, new in edits:
        edit(post_path(site, key), old, new)
        preview.rebuild({post_path(site, key)})
    stream = Stream(running.port, f"since={since}&boot={preview.boot}")
    event = stream.event(timeout=1)
    assert event["gen"] == since + 2 and set(event["keys"]) >= {INVITE, PANEL}
    stream.close()
    # EventSource reconnects with Last-Event-ID: that wins over the page's since=
    stream = Stream(
        running.port, f"since=0&boot={preview.boot}", {"Last-Event-ID": str(preview.snapshot.gen)}
    )
    with pytest.raises(TimeoutError):
        stream.message(timeout=0.3)
    stream.close()


def test_a_page_from_an_earlier_server_run_refreshes_at_once(running: Running) -> None:
    stream = Stream(running.port, "since=7&boot=0ldb00t")
    assert stream.event(timeout=1) == {"gen": running.preview.snapshot.gen, "keys": [], "all": True}
    stream.close()


def test_events_keep_alive_and_end_when_the_server_stops(running: Running, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pv, "KEEPALIVE_SECONDS", 0.1)
    stream = Stream(running.port, f"boot={running.preview.boot}")
    assert stream.message(timeout=1) == ": keep-alive"
    running.preview.close()
    with pytest.raises(EOFError):
        for _ in range(50):
            stream.message(timeout=2)
    stream.close()


def test_saving_a_file_reaches_an_open_page(
    site: Path,
    make_preview,
    serve,  # type: ignore[no-untyped-def]
) -> None:
    running = serve(make_preview(site))
    running.server.watch()  # the real watcher (its first scan is taken before it returns)
    preview = running.preview
    stream = Stream(running.port, f"since={preview.snapshot.gen}&boot={preview.boot}")
    edit(post_path(site, PANEL), 'rebuild trust?"', 'rebuild trust at last?"')
    event = stream.event(timeout=30)  # (a hang guard, not a speed check)
    assert PANEL in event["keys"]
    page = running.get(f"/_preview/posts/{PANEL}").doc()
    assert "rebuild trust at last?" in page.cssselect(".pp-h1")[0].text_content()
    stream.close()


# ---------------------------------------------------------------------------
# ports


def test_a_busy_port_names_the_port_and_suggests_port_0(site: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PostpipeError) as info:
            PreviewServer(port=port)
        assert f"port {port}" in info.value.message and "--port 0" in (info.value.hint or "")

        import io

        out, err = io.StringIO(), io.StringIO()
        code = main(
            ["preview", "--root", str(site), "--port", str(port)], Env(stdout=out, stderr=err)
        )
        assert code == 1
        assert f"port {port} is already in use" in err.getvalue()
        assert "--port 0" in err.getvalue()
        assert out.getvalue() == ""  # failed before building anything


def test_port_0_picks_a_free_port() -> None:
    server = PreviewServer(port=0)
    try:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}/"
    finally:
        server.server_close()


def test_a_site_under_a_sub_path_is_served_there(site: Path, make_preview, serve) -> None:  # type: ignore[no-untyped-def]
    running = serve(make_preview(site, POSTPIPE_SITE_URL="https://example.org/news"))
    assert running.get("/").status == 200  # the preview's list of posts
    assert running.get(f"/news/{SUMMIT_SLUG}/").status == 200
    assert running.get(f"/{SUMMIT_SLUG}/").status == 404
    doc = running.get(f"/_preview/posts/{SUMMIT}").doc()
    assert doc.cssselect('iframe[data-pp-frame="blog"]')[0].get("src") == (
        f"/news/{SUMMIT_SLUG}/?embed"
    )
    email = running.get(f"/_preview/email/{SUMMIT}").text
    images = re.findall(r'<img[^>]+src="([^"]+)"', email)
    assert images and all(src.startswith("/news/assets/") for src in images), images
    for src in images:
        assert running.get(src).status == 200


def test_post_page_shows_client_support_and_notes(shared: Running) -> None:
    doc = shared.get(f"/_preview/posts/{SUMMIT}").doc()
    clients = doc.cssselect(".pp-clients")[0].text_content()
    assert "Mail clients: 0 with layout problems" in clients
    assert "Outlook Windows: " in clients and "cosmetic feature" in clients
    assert "border-radius" in clients and "Apple Mail (iOS): everything supported" in clients
    # the cosmetic summary is a note, not a problem: the post still passes
    notes = doc.cssselect(".pp-notes .pp-note-item")
    assert notes and "cosmetic features some clients ignore" in notes[0].text_content()
    assert not doc.cssselect('[data-pp-region="checks"] .pp-finding')
    # the spam score as 'postpipe check' last computed it; the preview never waits for it
    spam = doc.cssselect(".pp-spam")[0].text_content()
    assert spam in (
        "not scored yet: run postpipe check",
        "SpamAssassin is not installed (apt-get install spamassassin) — no spam score",
    )


def test_the_email_route_serves_dark_and_inverted(shared: Running) -> None:
    light = shared.get(f"/_preview/email/{SUMMIT}").body.decode()
    dark = shared.get(f"/_preview/email/{SUMMIT}?scheme=dark").body.decode()
    inverted = shared.get(f"/_preview/email/{SUMMIT}?scheme=invert").body.decode()
    assert "(prefers-color-scheme: dark)" in light and "@media all" not in light
    assert "@media all" in dark and "(prefers-color-scheme: dark)" not in dark
    assert "filter:invert(1)" in inverted and "filter:invert(1)" not in light


def test_post_page_shows_the_share_card_and_the_email_image_weight(shared: Running) -> None:
    """Issue 13: the share card of the post, and the email's real image files."""
    from PIL import Image

    doc = shared.get(f"/_preview/posts/{SUMMIT}").doc()
    [card] = doc.cssselect('[data-pp-region="share"] img')
    res = shared.get(card.get("src"))
    assert res.status == 200
    assert Image.open(io.BytesIO(res.body)).size == (1200, 630)
    notes = [n.text_content() for n in doc.cssselect('[data-pp-panel="email"] .pp-note')]
    assert any("KB in all" in n for n in notes), notes
    email = shared.get(f"/_preview/email/{SUMMIT}").body.decode()
    srcs = re.findall(r'<img[^>]* src="([^"]+)"', email)
    assert srcs and all("-email." in s for s in srcs), srcs  # the email files, not the masters
    for src in srcs:
        assert shared.get(src).status == 200, src
