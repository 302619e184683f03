"""The path rule (``postpipe.paths``) and the image check (``assets.image_problem``),
in process: what is content, where references resolve, who uses the rule."""

from __future__ import annotations

import dataclasses
import http.client
import os
import threading
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from postpipe.assets import image_problem, image_size
from postpipe.build import Builder
from postpipe.checks import check_post
from postpipe.content import load_posts, source_files
from postpipe.paths import content_problem, locate_image
from postpipe.preview import Preview, PreviewServer

pytestmark = pytest.mark.unit


@pytest.fixture
def posts(tmp_path: Path, png_bytes) -> Path:  # type: ignore[no-untyped-def]
    """``site/posts`` with an image beside a post, one in images/, hidden ones and
    files outside; ``site/.env`` beside it."""
    d = tmp_path / "site" / "posts"
    for rel in ("2026/a.png", "images/b.png", ".secret/c.png", "images/.d.png", "x.md"):
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(png_bytes(2, 2))
    (tmp_path / "site" / ".env").write_text("KEY=1\n")
    (tmp_path / "outside.png").write_bytes(png_bytes(2, 2))
    return d


def reason(path: Path, posts_dir: Path) -> str | None:
    refusal = content_problem(path, posts_dir)
    return refusal.reason if refusal else None


def test_files_inside_posts_are_content(posts: Path) -> None:
    assert reason(posts / "2026" / "a.png", posts) is None
    assert reason(posts / "images" / "b.png", posts) is None
    assert reason(posts / "2026" / ".." / "images" / "b.png", posts) is None


def test_files_outside_posts_are_refused(posts: Path, tmp_path: Path) -> None:
    assert reason(posts / ".." / ".env", posts) == "is outside posts/"
    assert reason(tmp_path / "outside.png", posts) == "is outside posts/"
    assert reason(Path("/etc/passwd"), posts) == "is outside posts/"
    assert reason(posts, posts) == "is outside posts/"  # the folder itself is not a file


def test_dotfiles_and_dot_folders_are_refused(posts: Path) -> None:
    assert reason(posts / ".secret" / "c.png", posts) == "is a hidden file"
    assert reason(posts / "images" / ".d.png", posts) == "is a hidden file"


def test_symlinks_are_followed(posts: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside.png", posts / "images" / "out.png")
    os.symlink(posts / ".secret" / "c.png", posts / "images" / "hidden.png")
    os.symlink(posts / "images" / "b.png", posts / "images" / "ok.png")
    os.symlink(posts / ".secret", posts / "images" / "dir")
    assert reason(posts / "images" / "out.png", posts) == "is outside posts/"
    assert reason(posts / "images" / "hidden.png", posts) == "is a hidden file"
    assert reason(posts / "images" / "ok.png", posts) is None
    assert reason(posts / "images" / "dir" / "c.png", posts) == "is a hidden file"


def test_a_symlinked_posts_folder_is_still_posts(tmp_path: Path, posts: Path) -> None:
    link = tmp_path / "linked-posts"
    os.symlink(posts, link)
    assert reason(link / "images" / "b.png", link) is None
    assert reason(link / ".." / "site" / ".env", link) == "is outside posts/"


def test_locate_image_searches_beside_the_post_then_posts_then_images(posts: Path) -> None:
    post_dir = posts / "2026"
    assert locate_image("a.png", post_dir, posts).path == post_dir / "a.png"
    assert locate_image("images/b.png", post_dir, posts).path == posts / "images" / "b.png"
    found = locate_image("b.png", post_dir, posts)
    assert found.path == posts / "images" / "b.png"
    assert found.tried == (post_dir / "b.png", posts / "b.png", posts / "images" / "b.png")
    assert locate_image("https://example.org/x.png", post_dir, posts) == locate_image(
        "data:image/png;base64,AAAA", post_dir, posts
    )


def test_locate_image_refuses_instead_of_searching_on(posts: Path) -> None:
    found = locate_image("../../.env", posts / "2026", posts)
    assert found.path is None and found.refusal is not None
    assert found.refusal.reason == "is outside posts/"
    assert "posts/images/" in found.refusal.hint
    missing = locate_image("nope.png", posts, posts)
    assert missing.path is None and missing.refusal is None


def test_hidden_and_escaping_post_files_are_not_posts(posts: Path, tmp_path: Path) -> None:
    (posts / ".drafts").mkdir()
    (posts / ".drafts" / "y.md").write_text("---\n")
    (posts / ".z.md").write_text("---\n")
    (tmp_path / "far.md").write_text("---\n")
    os.symlink(tmp_path / "far.md", posts / "far.md")
    os.symlink(posts / "x.md", posts / "alias.md")
    assert [p.name for p in source_files(posts)] == ["alias.md", "x.md"]


# ---------------------------------------------------------------------------
# images Pillow cannot read


def jpeg(width: int = 64, height: int = 48) -> bytes:
    img = Image.new("RGB", (width, height), (200, 40, 40))
    for x in range(width):
        img.putpixel((x, x % height), (0, 0, 255))
    buf = BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("cut.jpg", jpeg()[:300], "truncated"),  # in the header
        ("half.jpg", jpeg()[: len(jpeg()) // 2], "truncated"),  # in the pixels
        ("text.png", b"hello, I am text\n", "not a png image"),
        ("notes.txt", b"x", "'.txt' is not an image format"),
        ("fake.svg", b"<html></html>", "no <svg> element"),
    ],
)
def test_unreadable_images_are_named(tmp_path: Path, name: str, data: bytes, problem: str) -> None:
    (tmp_path / name).write_bytes(data)
    text = image_problem(tmp_path / name)
    assert text is not None and text.startswith("cannot be read as an image (")
    assert problem in text.lower()


def test_good_images_have_their_size(tmp_path: Path, png_bytes) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.jpg").write_bytes(jpeg(64, 48))
    (tmp_path / "b.png").write_bytes(png_bytes(7, 5))
    (tmp_path / "c.svg").write_text(
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'
    )
    assert (image_problem(tmp_path / "a.jpg"), image_size(tmp_path / "a.jpg")) == (None, (64, 48))
    assert (image_problem(tmp_path / "b.png"), image_size(tmp_path / "b.png")) == (None, (7, 5))
    assert (image_problem(tmp_path / "c.svg"), image_size(tmp_path / "c.svg")) == (None, None)


def test_an_image_is_read_again_only_when_it_changed(tmp_path: Path, png_bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(3, 3))
    assert image_problem(path) is None
    path.write_bytes(b"now text")  # another size: read again
    assert image_problem(path) is not None


# ---------------------------------------------------------------------------
# every way in uses the rule


def test_front_matter_errors_name_the_line(make_site, settings, post_text) -> None:  # type: ignore[no-untyped-def]
    root = make_site(
        {
            "a.md": post_text(
                "title: A\ndate: 2026-01-01\nimage: ../.env\nimage_alt: x\n"
                "speakers:\n  - name: B\n    photo: .hidden.png\n    photo_alt: B\n"
            )
        },
        images={".hidden.png": (2, 2)},
        files={".env": "POSTPIPE_AUTHOR=x\n"},
    )
    _, errors = load_posts(root, tz=settings(root).tz, raise_errors=False)
    assert [(e.line, e.message) for e in errors] == [
        (4, "image '../.env' (image) is outside posts/"),
        (8, "image '.hidden.png' (speakers[0].photo) is a hidden file"),
    ]


def test_body_refusals_are_error_findings_with_the_line(
    make_site, settings, post_text, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "secret.md").write_text("---\ntitle: S\ndate: 2026-01-01\n---\nsecret\n")
    root = make_site(
        {
            "a.md": post_text(
                "title: A\ndate: 2026-01-01\n",
                'Intro.\n\n![env](../.env)\n\n<img src="images/.x.png" alt="raw">\n\n'
                "[s](../../secret.md) and ![ok](images/ok.png)\n\n[h](.drafts/h.md)\n",
            ),
            ".drafts/h.md": post_text("title: H\ndate: 2026-01-01\n"),
        },
        images={"images/.x.png": (2, 2), "images/ok.png": (2, 2)},
        files={".env": "POSTPIPE_AUTHOR=x\n"},
    )
    s = settings(root)
    [post], _ = load_posts(root, tz=s.tz)
    builder = Builder(s, write_cache=False)
    r = builder.render_post(post, {})
    # nothing else published (the other keys are ok.png's derivatives and the card)
    assert {Path(k.split("#")[0]).name for k in r.assets if k[0] != "#"} == {"ok.png"}
    errors = [(f.line, f.message) for f in check_post(r) if f.level == "error"]
    assert errors == [
        (8, "image '../.env' is outside posts/"),
        (12, "link '../../secret.md' is outside posts/"),
        (14, "link '.drafts/h.md' is a hidden file"),
    ]
    # a raw <img> is HTML that Markdown passes through untouched: it is not resolved,
    # so nothing is copied for it (an unresolved relative src points at nothing)
    assert 'src="images/.x.png"' in r.page


def test_the_preview_serves_no_file_outside_posts(
    make_site, settings, post_text, png_bytes
) -> None:  # type: ignore[no-untyped-def]
    """Even a file list that names one (the preview's own check, after the resolver's)."""
    root = make_site(
        {"a.md": post_text("title: A\ndate: 2026-01-01\n", "![ok](images/ok.png)\n")},
        images={"images/ok.png": (2, 2), ".h.png": (2, 2)},
        files={".env": "POSTPIPE_AUTHOR=SECRET-MARKER\n"},
    )
    preview = Preview(settings(root), clock=lambda: datetime(2026, 5, 4, tzinfo=UTC))
    snap = preview.snapshot
    ok = next(p for p in snap.files if p.startswith("assets/ok."))
    css = next(p for p in snap.files if p.startswith("static/style."))
    preview.snapshot = dataclasses.replace(
        snap,
        files={
            **snap.files,
            "assets/env.png": root / ".env",
            "assets/h.png": root / "posts" / ".h.png",
        },
    )
    server = PreviewServer(port=0, preview=preview)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        status = {}
        for name in (ok, "assets/env.png", "assets/h.png", css):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", f"/{name}", headers={"Host": f"127.0.0.1:{server.port}"})
            res = conn.getresponse()
            status[name.split(".")[0]] = (res.status, b"SECRET-MARKER" in res.read())
            conn.close()
    finally:
        server.shutdown()
        server.close()
        thread.join(timeout=5)
    assert status == {
        "assets/ok": (200, False),
        "assets/env": (404, False),
        "assets/h": (404, False),
        "static/style": (200, False),
    }
