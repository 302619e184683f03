"""Incremental, parallel and serial builds give the same bytes; the cache knows
what makes a render stale."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from postpipe import site as site_module
from postpipe.config import load_settings
from postpipe.pipeline import build_site

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from generate import generate  # noqa: E402

pytestmark = pytest.mark.golden
ENV = {"POSTPIPE_SITE_URL": "https://news.example.org", "POSTPIPE_INLINER": "css-inline"}


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def corpus(tmp_path: Path, name: str, posts: int = 30) -> Path:
    root = tmp_path / name
    generate(posts, root)
    return root


def build(root: Path, out: Path, **kw: object):  # type: ignore[no-untyped-def]
    return build_site(load_settings(root, environ=ENV), out, **kw)


def test_parallel_and_serial_builds_give_identical_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(site_module, "PARALLEL_MIN", 2)
    a, b = corpus(tmp_path, "a"), corpus(tmp_path, "b")
    build(a, a / "out", jobs=1)
    report = build(b, b / "out", jobs=2)
    assert report.rendered_now == 30
    assert tree(a / "out") == tree(b / "out")
    assert len(tree(a / "out")) > 90


def test_incremental_build_equals_a_cold_build(tmp_path, monkeypatch):
    monkeypatch.setattr(site_module, "PARALLEL_MIN", 2)
    site, cold = corpus(tmp_path, "site"), corpus(tmp_path, "cold")
    first = build(site, site / "out")
    assert (first.rendered_now, first.written) == (30, len(tree(site / "out")))

    again = build(site, site / "out")
    assert (again.rendered_now, again.written, again.removed) == (0, 0, 0)

    posts = sorted((site / "posts").glob("*.md"))
    edited, deleted = posts[10], posts[20]
    for root in (site, cold):
        path = root / "posts" / edited.name
        path.write_text(path.read_text() + "\nAn added paragraph.\n")
        (root / "posts" / deleted.name).unlink()
    report = build(site, site / "out")
    assert report.rendered_now == 1
    assert report.removed >= 1  # the deleted post's page and newsletter
    build(cold, cold / "out")
    assert tree(site / "out") == tree(cold / "out")


def test_what_makes_a_render_stale(tmp_path):
    root = tmp_path / "site"
    (root / "posts" / "images").mkdir(parents=True)
    shutil.copy(REPO / "posts" / "images" / "panel-debate.jpg", root / "posts" / "images")
    (root / "posts" / "a.md").write_text(
        "---\ntitle: A\ndate: 2026-01-01\nsummary: s\n---\n\n![x](images/panel-debate.jpg)\n")
    (root / "posts" / "b.md").write_text(
        "---\ntitle: B\ndate: 2026-01-02\nsummary: s\n---\n\nSee [A](a.md).\n")
    (root / "posts" / "c.md").write_text("---\ntitle: C\ndate: 2026-01-03\nsummary: s\n---\n\nC\n")
    out = root / "out"
    assert build(root, out).rendered_now == 3

    # an image changes: only the post that shows it
    (root / "posts" / "images" / "panel-debate.jpg").write_bytes(
        (REPO / "posts" / "images" / "summit-workshop.jpg").read_bytes())
    assert build(root, out).rendered_now == 1

    # the linked post changes its slug: the post linking to it too
    (root / "posts" / "a.md").write_text(
        "---\ntitle: A\nslug: renamed\ndate: 2026-01-01\nsummary: s\n---\n\n"
        "![x](images/panel-debate.jpg)\n")
    report = build(root, out)
    assert report.rendered_now == 2
    assert b'href="/renamed/"' in (out / "site" / "b" / "index.html").read_bytes()
    assert not (out / "site" / "a" / "index.html").exists()  # the old slug's page is gone

    # a site template override: everything
    (root / "templates" / "blog").mkdir(parents=True)
    text = (REPO / "src/postpipe/templates/blog/post.html").read_text()
    (root / "templates" / "blog" / "post.html").write_text(text + "\n<!-- override -->\n")
    assert build(root, out).rendered_now == 3

    # nothing changed
    report = build(root, out)
    assert (report.rendered_now, report.written) == (0, 0)


def test_both_inliners_give_the_same_inline_styles(tmp_path):
    """premailer and css-inline: the same declarations on the same elements, and both
    keep the media queries, !important and the merge tags."""
    import lxml.html

    def styles(engine: str) -> tuple[list[tuple[str, frozenset[str]]], str]:
        root = tmp_path / engine
        shutil.copytree(REPO / "posts", root / "posts")
        env = {**ENV, "POSTPIPE_INLINER": engine, "POSTPIPE_LIST": "mailchimp"}
        build_site(load_settings(root, environ=env), root / "out")
        html = (root / "out/newsletters/safer-streets-summit-2026.html").read_text()
        doc = lxml.html.document_fromstring(html)
        found = []
        for el in doc.iter():
            if isinstance(el.tag, str) and el.get("class"):
                decls = frozenset(
                    _normal(d) for d in (el.get("style") or "").split(";") if d.strip())
                found.append((el.get("class"), decls))
        return found, html

    pre, pre_html = styles("premailer")
    css, css_html = styles("css-inline")
    assert len(pre) == len(css) > 50
    assert pre == css
    for html in (pre_html, css_html):
        assert 'href="*|UNSUB|*"' in html
        assert "@media" in html and "!important" in html


def _normal(decl: str) -> str:
    """One declaration as both engines agree on it (premailer shortens colours)."""
    name, _, value = decl.strip().partition(":")
    value = " ".join(value.split()).lower().replace(" !important", "!important")
    value = value.replace(", ", ",").replace("'", '"')
    for long, short in (("#ffffff", "#fff"), ("#000000", "#000")):
        value = value.replace(long, short)
    return f"{name.strip().lower()}:{value}"
