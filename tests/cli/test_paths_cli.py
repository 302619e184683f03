"""The path rule through the command line: no file outside ``posts/``, no dotfile and
no unreadable image ever reaches ``build/``, ``public/`` or the outbox.

Every case plants a secret with a unique marker where a hostile or careless post
points at it, runs ``build`` and ``publish`` as real processes, and then greps
every file they wrote for the marker.
"""

from __future__ import annotations

import re
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:  # clikit, the shared CLI-process helper
    sys.path.insert(0, str(FAKES))

from clikit import cli_env, run_postpipe  # noqa: E402

pytestmark = pytest.mark.cli


def png_bytes(width: int, height: int) -> bytes:
    buf = BytesIO()
    Image.new("RGB", (width, height), (14, 107, 111)).save(buf, "PNG")
    return buf.getvalue()


def post_text(front: str, body: str = "A first paragraph of the post.\n") -> str:
    """As ``conftest.post_text`` (a module here cannot import the top conftest)."""
    return f"---\n{front}---\n\n{body}"


MARKER = b"PP-SECRET-7f3c9a1e-do-not-publish"
SECRET_PNG = png_bytes(4, 3) + MARKER  # a good image, with the marker after IEND
FRONT = 'title: "Evening walk"\ndate: 2026-05-01 18:00\nslug: walk\n'
NEWSLETTER = 'newsletter:\n  subject: "Evening walk"\n'
OUTPUTS = ("build", "public", "outbox")


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(
        root,
        POSTPIPE_SITE_URL="https://news.example.org",
        POSTPIPE_SITE_TITLE="Test Network",
        POSTPIPE_FROM_EMAIL="news@example.org",
    )
    return run_postpipe(*args, root=root, env=env)


def leaked(root: Path) -> list[str]:
    """Every file under the output folders that holds the marker."""
    found = []
    for top in OUTPUTS:
        for path in (root / top).rglob("*"):
            if path.is_file() and MARKER in path.read_bytes():
                found.append(path.relative_to(root).as_posix())
    return found


def make_site(tmp_path: Path, post: str, extra: dict[str, bytes] | None = None) -> Path:
    """A site with one post ``posts/walk.md``, a ``.env`` holding the marker, and a
    secret image outside the site (``../outside/secret.png``)."""
    root = tmp_path / "site"
    (root / "posts" / "images").mkdir(parents=True)
    (root / "posts" / "walk.md").write_text(post, encoding="utf-8")
    (root / ".env").write_bytes(b"# " + MARKER + b"\nPOSTPIPE_AUTHOR=Ann\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.png").write_bytes(SECRET_PNG)
    (tmp_path / "outside" / "other.md").write_bytes(
        post_text(FRONT.replace("walk", "other"), MARKER.decode()).encode()
    )
    for rel, data in (extra or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def symlink(root: Path, rel: str, target: Path) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).symlink_to(target)


def hero(ref: str) -> str:
    return post_text(FRONT + f"image: {ref}\nimage_alt: A walk\n" + NEWSLETTER)


def body(text: str) -> str:
    return post_text(FRONT + NEWSLETTER, f"We walked.\n\n{text}\n")


# (post text, files to add, where the reference is, the message): line 2 is the
# first front matter key; after FRONT + NEWSLETTER (lines 2-6) the body text is on 9
CASES = {
    "hero": (hero("../.env"), {}, "posts/walk.md:5", "image '../.env' (image) is outside posts/"),
    "speaker-photo": (
        post_text(
            FRONT + "speakers:\n  - name: Ann\n    photo: ../../outside/secret.png\n"
            "    photo_alt: Ann\n"
        ),
        {},
        "posts/walk.md:7",
        "image '../../outside/secret.png' (speakers[0].photo) is outside posts/",
    ),
    "body-image": (
        body("![a secret](../../outside/secret.png)"),
        {},
        "posts/walk.md:11",
        "image '../../outside/secret.png' is outside posts/",
    ),
    "body-env": (
        body("![p](../.env)"),
        {},
        "posts/walk.md:11",
        "image '../.env' is outside posts/",
    ),
    "symlink-in-posts": (
        body("![an innocent picture](images/innocent.png)"),
        {},
        "posts/walk.md:11",
        "image 'images/innocent.png' is outside posts/",
    ),
    "dotfile": (
        body("![p](.hidden.png)"),
        {"posts/.hidden.png": SECRET_PNG},
        "posts/walk.md:11",
        "image '.hidden.png' is a hidden file",
    ),
    "dot-folder": (
        hero(".secret/x.png"),
        {"posts/.secret/x.png": SECRET_PNG},
        "posts/walk.md:5",
        "image '.secret/x.png' (image) is a hidden file",
    ),
    "md-link": (
        body("Read [the other one](../../outside/other.md)."),
        {},
        "posts/walk.md:11",
        "link '../../outside/other.md' is outside posts/",
    ),
    "md-link-symlink": (
        body("Read [the other one](other.md)."),
        {},
        "posts/walk.md:11",
        "link 'other.md' is outside posts/",
    ),
}


def site_for(tmp_path: Path, case: str) -> tuple[Path, str, str]:
    text, extra, where, message = CASES[case]
    root = make_site(tmp_path, text, extra)
    if case == "symlink-in-posts":
        symlink(root, "posts/images/innocent.png", tmp_path / "outside" / "secret.png")
    if case == "md-link-symlink":  # a post file that is a symlink to a file elsewhere
        symlink(root, "posts/other.md", tmp_path / "outside" / "other.md")
    return root, where, message


@pytest.mark.parametrize("case", sorted(CASES))
def test_build_refuses_a_path_outside_posts(tmp_path: Path, case: str) -> None:
    root, where, message = site_for(tmp_path, case)
    result = run(root, "build")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f"{where}: {message}" in out
    assert "hint: " in out
    assert "Traceback" not in out
    assert leaked(root) == []
    if where.endswith(":5") or where.endswith(":7"):  # front matter: nothing written at all
        assert not (root / "build").exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_publish_refuses_and_says_why(tmp_path: Path, case: str) -> None:
    root, where, message = site_for(tmp_path, case)
    result = run(root, "publish")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f"{where}: {message}" in out  # the error itself, not only "skip …"
    assert "hint: " in out
    assert "Traceback" not in out
    assert leaked(root) == []
    assert not (root / "public" / "walk").exists()  # the post is not published
    assert not list((root / "outbox").glob("*.eml")) if (root / "outbox").exists() else True


@pytest.mark.parametrize("case", ["hero", "body-image", "md-link"])  # one of each kind
def test_check_reports_the_path(tmp_path: Path, case: str) -> None:
    root, where, message = site_for(tmp_path, case)
    result = run(root, "check")
    assert result.returncode == 1
    assert f"{where}: {message}" in result.stdout + result.stderr


def test_a_good_image_beside_the_post_and_in_images_is_published(tmp_path: Path) -> None:
    """The rule lets through what README promises: beside the post, in posts/images/,
    and a symlink that stays inside posts/."""
    text = post_text(
        FRONT + "image: images/hero.png\nimage_alt: A walk\n",
        "We walked.\n\n![beside](beside.png) ![linked](images/link.png)\n",
    )
    root = make_site(
        tmp_path,
        text,
        {"posts/images/hero.png": png_bytes(8, 4), "posts/beside.png": png_bytes(2, 2)},
    )
    symlink(root, "posts/images/link.png", root / "posts" / "beside.png")
    result = run(root, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assets = sorted(p.name.split(".")[0] for p in (root / "build" / "site" / "assets").iterdir())
    # the pictures (their derivatives -2w, -email and the post's share card aside)
    assert [a for a in assets if not re.search(r"-(\d+w|email|card)$", a)] == [
        "beside",
        "hero",
        "link",
    ]
    page = (root / "build" / "site" / "walk" / "index.html").read_text()
    assert 'height="2" loading="lazy" src="/assets/link.' in page  # sized by Pillow


# ---------------------------------------------------------------------------
# images Pillow cannot read (issue 10, item 10)


def _jpeg() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 40, 40))
    for x in range(64):
        img.putpixel((x, x % 48), (0, 0, 255))
    buf = BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


BROKEN = {
    "truncated-jpeg-hero": (
        hero("images/cut.jpg"),
        {"posts/images/cut.jpg": _jpeg()[:400]},
        "posts/walk.md:5",
        "image 'images/cut.jpg' (image) cannot be read as an image",
    ),
    "text-as-png-body": (
        body("![a chart](images/chart.png)"),
        {"posts/images/chart.png": b"this is not a picture\n"},
        "posts/walk.md:11",
        "image 'images/chart.png' cannot be read as an image",
    ),
}


@pytest.mark.parametrize("command", ["build", "check", "publish"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_an_image_pillow_cannot_read_is_an_error(tmp_path: Path, case: str, command: str) -> None:
    text, extra, where, message = BROKEN[case]
    root = make_site(tmp_path, text, extra)
    result = run(root, command)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f"{where}: {message}" in out
    assert "hint: save or export the picture again" in out
    published = [*root.glob("public/assets/*"), *root.glob("build/site/assets/*")]
    assert not [p for p in published if "-card." not in p.name]  # only the drawn share card
