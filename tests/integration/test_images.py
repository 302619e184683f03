"""Images (issue 13): camera photos are published upright, without GPS or serial
numbers, sized for the blog and the email, and every post gets a 1200×630 card.

One site with camera-like photos (EXIF orientation 6, GPS, body and lens
serials, XMP, a comment), a transparent PNG and an animated GIF is built and
published (folder CMS, outbox) through the CLI once; the tests read the outputs.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from camera import LENS_SERIAL, MARK, SERIAL, animated_gif, camera_jpeg, transparent_png
from PIL import Image, ImageSequence
from sitekit import base_env, describe

from postpipe.render.images import BLOG_WIDTHS, CARD_SIZE, draw_card

HERO_STORED = (2600, 1800)  # landscape as stored; upright (orientation 6) 1800×2600
BODY_STORED = (1600, 1200)

POST = """---
title: Sommarmöte på Åland – trygghet, öppenhet och polisens arbete i skärgården
date: 2026-05-01 10:00
summary: What we heard.
image: hero.jpg
image_alt: The hall in Mariehamn
event:
  name: Summit
  start: 2026-05-02 10:00
  location: Mariehamn
speakers:
  - name: Eva Ek
    photo: eva.jpg
    photo_alt: Eva Ek on stage
newsletter:
  subject: The summit
  preheader: What we heard at the summit in Mariehamn, and what comes next for us all.
---

We met in Mariehamn.

![A crowd in the hall](crowd.jpg)

![The network's logo](logo.png)

![A waving hand](wave.gif)
"""

NO_HERO = """---
title: A post without a picture
date: 2026-05-03 10:00
summary: Just words.
---

Only text here.
"""

SHARED = """---
title: With its own share image
date: 2026-05-04 10:00
summary: A chosen card.
share_image: card.jpg
---

Text.
"""

SERIALS = (SERIAL.encode(), LENS_SERIAL.encode())


def run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postpipe", *args, "--root", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("images") / "site"
    posts = root / "posts"
    posts.mkdir(parents=True)
    (posts / "hero.jpg").write_bytes(camera_jpeg(*HERO_STORED))
    (posts / "crowd.jpg").write_bytes(camera_jpeg(*BODY_STORED, seed=2))
    (posts / "eva.jpg").write_bytes(camera_jpeg(900, 700, seed=3))
    (posts / "card.jpg").write_bytes(camera_jpeg(1500, 1000, seed=4, orientation=1))
    (posts / "logo.png").write_bytes(transparent_png())
    (posts / "wave.gif").write_bytes(animated_gif())
    (posts / "2026-05-01-summit.md").write_text(POST, encoding="utf-8")
    (posts / "2026-05-03-words.md").write_text(NO_HERO, encoding="utf-8")
    (posts / "2026-05-04-shared.md").write_text(SHARED, encoding="utf-8")
    env = base_env(root.parent)
    for args in (("build",), ("publish",), ("send", "--due")):
        result = run(root, env, *args)
        assert result.returncode == 0, describe(result)
    return root, env


def summit_slug(root: Path) -> str:
    return next(p.parent.name for p in (root / "build/site").glob("sommarmote*/index.html"))


def page(root: Path, slug: str) -> str:
    return (root / "build/site" / slug / "index.html").read_text(encoding="utf-8")


def site_file(root: Path, url: str) -> Path:
    path = re.sub(r"^https://news\.example\.org", "", url).lstrip("/")
    return root / "build/site" / path


def published_files(root: Path) -> list[Path]:
    found = [p for top in ("build", "public", "outbox") for p in (root / top).rglob("*")]
    return [p for p in found if p.is_file()]


# ---------------------------------------------------------------------------
# nothing that leaves the machine tells where or with what a photo was taken


def test_no_published_file_carries_gps_or_serial(site: tuple[Path, dict[str, str]]) -> None:
    root, _ = site
    files = published_files(root)
    images = 0
    for path in files:
        data = path.read_bytes()
        assert not any(s in data for s in SERIALS), path
        try:
            img = Image.open(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - not an image: its bytes were checked
            continue
        images += 1
        exif = img.getexif()
        assert not exif, f"{path}: EXIF {dict(exif)}"
        assert not exif.get_ifd(0x8825), path  # GPS
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment", "Comment"} & set(img.info), (
            path,
            img.info.keys(),
        )
    assert images >= 30, images  # masters, derivatives, email files, cards
    assert any(p.parts[-3] == "public" or "public" in p.parts for p in files if p.suffix == ".jpg")


def test_the_originals_did_carry_them(site: tuple[Path, dict[str, str]]) -> None:
    """The check above can fail: the sources hold GPS and serials in EXIF, XMP, comment."""
    root, _ = site
    data = (root / "posts/hero.jpg").read_bytes()
    assert SERIAL.encode() in data
    assert Image.open(root / "posts/hero.jpg").getexif().get_ifd(0x8825)


def test_orientation_is_applied(site: tuple[Path, dict[str, str]]) -> None:
    root, _ = site
    html = page(root, summit_slug(root))
    src = re.search(r'<figure class="hero">.*?<img src="([^"]+)"', html, re.S).group(1)
    img = Image.open(site_file(root, src)).convert("RGB")
    # upright (portrait), and at most 2400 px on its longest side
    assert img.size == (round(2400 * HERO_STORED[1] / HERO_STORED[0]), 2400)
    w, _ = img.size
    # orientation 6: the stored top-left corner is shown at the top right
    assert _near(img.getpixel((w - 20, 20)), MARK)
    assert not _near(img.getpixel((20, 20)), MARK)


def _near(a: tuple[int, ...], b: tuple[int, ...], tol: int = 40) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


# ---------------------------------------------------------------------------
# the blog: <picture> with WebP and the original format, fingerprinted


def _srcset(value: str) -> list[tuple[str, int]]:
    return [(u, int(w[:-1])) for u, w in (part.split() for part in value.split(", "))]


def test_blog_pictures_have_derivatives_within_limits(site: tuple[Path, dict[str, str]]) -> None:
    root, _ = site
    html = page(root, summit_slug(root))
    pictures = re.findall(r"<picture>.*?</picture>", html, re.S)
    assert len(pictures) == 3, pictures  # hero, crowd, logo (the GIF stays an <img>)
    for pic in pictures:
        webp = _srcset(re.search(r'<source type="image/webp" srcset="([^"]+)"', pic).group(1))
        img = re.search(r"<img\b[^>]*>", pic).group(0)
        fallback = _srcset(re.search(r'\ssrcset="([^"]+)"', img).group(1))
        assert 'sizes="' in img and re.search(r'width="\d+"', img) and 'height="' in img
        width = int(re.search(r'width="(\d+)"', img).group(1))
        expected = [w for w in BLOG_WIDTHS if w < min(width, 2400)] + [min(width, 2400)]
        assert [w for _, w in webp] == expected == [w for _, w in fallback]
        for url, w in webp + fallback:
            assert re.search(r"\.[0-9a-f]{10}\.(webp|jpg|png)$", url), url  # fingerprinted
            im = Image.open(site_file(root, url))
            assert im.width == w, url
            assert im.format == ("WEBP" if url.endswith(".webp") else im.format)
        assert all(Image.open(site_file(root, u)).format == "WEBP" for u, _ in webp)
    hero, body = pictures[0], pictures[1]
    assert 'loading="lazy"' not in hero and 'fetchpriority="high"' in hero
    assert 'loading="lazy"' in body


def test_png_transparency_is_kept(site: tuple[Path, dict[str, str]]) -> None:
    root, _ = site
    logos = sorted((root / "build/site/assets").glob("logo*"))
    assert {p.suffix for p in logos} == {".png", ".webp"}
    for path in logos:
        img = Image.open(path).convert("RGBA")
        assert img.getpixel((2, 2))[3] == 0, path  # the transparent half
        assert img.getpixel((img.width - 3, 2))[3] == 255, path


def test_animated_gif_keeps_its_frames(site: tuple[Path, dict[str, str]]) -> None:
    root, _ = site
    (gif,) = (root / "build/site/assets").glob("wave*.gif")
    assert len(list(ImageSequence.Iterator(Image.open(gif)))) == 3


# ---------------------------------------------------------------------------
# the email: one JPEG or PNG per image, ≤ 1200 px, a photo ≲ 150 KB, shown ≤ 600


def test_email_images_are_sized_for_mail(site: tuple[Path, dict[str, str]]) -> None:
    root, _ = site
    html = (root / "build/newsletters" / f"{summit_slug(root)}.html").read_text()
    assert "srcset" not in html and ".webp" not in html and "<picture" not in html
    imgs = re.findall(r"<img\b[^>]*>", html)
    assert len(imgs) >= 5  # hero, speaker, crowd, logo, gif
    for tag in imgs:
        src = re.search(r'src="([^"]+)"', tag).group(1)
        shown = int(re.search(r'width="(\d+)"', tag).group(1))
        assert shown <= 600, tag
        path = site_file(root, src)
        img = Image.open(path)
        assert img.format in ("JPEG", "PNG", "GIF"), tag
        assert img.width <= 1200, tag
        if img.format == "JPEG":
            assert path.stat().st_size <= 150 * 1024, (tag, path.stat().st_size)
    hero = Image.open(
        site_file(root, re.search(r'<img class="hero"[^>]*src="([^"]+)"', html).group(1))
    )
    # shown 600 px wide: twice that, but a tall photo is held to 1200×900 pixels in all
    assert (hero.width, hero.height) == (864, 1248)
    speaker = re.search(r'<img class="speaker-photo"[^>]*src="([^"]+)"', html).group(1)
    assert Image.open(site_file(root, speaker)).width == 96  # twice 48


# ---------------------------------------------------------------------------
# share cards


@pytest.mark.parametrize(
    "which", ["summit", "a-post-without-a-picture", "with-its-own-share-image"]
)
def test_every_post_has_a_1200x630_share_image(
    site: tuple[Path, dict[str, str]], which: str
) -> None:
    root, _ = site
    slug = summit_slug(root) if which == "summit" else which
    html = page(root, slug)
    og = re.search(r'<meta property="og:image" content="([^"]+)">', html).group(1)
    tw = re.search(r'<meta name="twitter:image" content="([^"]+)">', html).group(1)
    assert og == tw
    assert '<meta property="og:image:width" content="1200">' in html
    assert '<meta property="og:image:height" content="630">' in html
    card = Image.open(site_file(root, og))
    assert card.size == CARD_SIZE and card.format == "JPEG"
    ld = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    )
    posting = ld["@graph"][0] if "@graph" in ld else ld
    if which == "summit":
        assert posting["image"] != og  # the hero
    else:
        assert posting["image"] == og
    if which == "with-its-own-share-image":
        # the share image, cropped: its gradient runs top to bottom, the drawn card is flat
        rgb = card.convert("RGB")
        assert rgb.getpixel((600, 625))[1] - rgb.getpixel((600, 5))[1] > 100


@pytest.mark.parametrize(
    "title",
    [
        "Årsmöte",
        "Sommarmöte på Åland – trygghet, öppenhet och polisens arbete i skärgården " * 3,
        "Ö" * 90,
        "Trygghetsvandringar i Göteborg, Malmö, Örebro och Umeå: vad händer när "
        "kommunerna, polisen och föreningarna går tillsammans genom kvarteren efter "
        "mörkrets inbrott?",
    ],
)
@pytest.mark.parametrize("hero", [False, True])
def test_card_text_stays_inside_the_card(title: str, hero: bool) -> None:
    photo = Image.open(io.BytesIO(camera_jpeg(800, 600, orientation=1))) if hero else None
    card, boxes = draw_card(
        title,
        "Nordiska nätverket för trygghet",
        "Sommarmöte 2026",
        "2 maj 2026 10:00",
        "Mariehamn, Åland",
        photo,
    )
    assert card.size == CARD_SIZE
    assert len(boxes) >= 4
    for left, top, right, bottom in boxes:
        assert 0 <= left < right <= CARD_SIZE[0] and 0 <= top < bottom <= CARD_SIZE[1], boxes
    ordered = sorted(boxes, key=lambda b: b[1])
    assert all(a[3] <= b[1] + 2 for a, b in zip(ordered, ordered[1:], strict=False)), boxes


# ---------------------------------------------------------------------------
# the cache: a rebuild with no image change opens no image

_COUNT = """
import sys
from pathlib import Path
from postpipe.config import load_settings
from postpipe.pipeline import build_site
from postpipe.render import images
import os
root = Path(sys.argv[1])
settings = load_settings(root, environ=dict(os.environ))
report = build_site(settings, root / "build")
print(images.opened(), report.written)
"""


def test_second_build_opens_no_image(site: tuple[Path, dict[str, str]]) -> None:
    root, env = site
    cache = root / ".postpipe/cache/images"
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    assert len(before) > 30
    result = subprocess.run(
        [sys.executable, "-c", _COUNT, str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0"]
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == before


def test_a_changed_post_text_reuses_the_derivatives(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts/hero.jpg").write_bytes(camera_jpeg(1300, 900))
    post = root / "posts/a.md"
    post.write_text(
        "---\ntitle: A\ndate: 2026-05-01\nsummary: s.\nimage: hero.jpg\n"
        "image_alt: A hall\n---\n\nText.\n"
    )
    env = base_env(tmp_path)
    assert run(root, env, "build").returncode == 0
    cache = root / ".postpipe/cache/images"
    before = {p.name for p in cache.iterdir() if not p.name.startswith("card-")}
    post.write_text(post.read_text().replace("Text.", "Other text."))
    result = subprocess.run(
        [sys.executable, "-c", _COUNT, str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    opened, _ = result.stdout.split()
    assert int(opened) <= 1  # the front matter check decodes the hero once; no derivative
    assert {p.name for p in cache.iterdir() if not p.name.startswith("card-")} == before


# ---------------------------------------------------------------------------
# checks


def test_alt_text_that_is_a_file_name_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts/IMG_2041.jpg").write_bytes(camera_jpeg(600, 400, noise=False))
    (root / "posts/a.md").write_text(
        "---\ntitle: A\ndate: 2026-05-01\nsummary: s.\n---\n\n"
        "Text.\n\n![IMG_2041.jpg](IMG_2041.jpg)\n"
    )
    result = run(root, base_env(tmp_path), "check")
    assert result.returncode == 1, describe(result)
    out = result.stdout + result.stderr
    assert "posts/a.md:9: the alt text of image 'IMG_2041.jpg' is a file name" in out, out
    assert not (root / "build").exists()


def test_email_image_checks(tmp_path: Path) -> None:
    """A small picture shown 600 px wide is blurry; six big photos weigh over 1 MB."""
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts/small.jpg").write_bytes(camera_jpeg(700, 500, orientation=1))
    body = "Text.\n\n" + "".join(f"![Photo {i}](p{i}.jpg)\n\n" for i in range(9))
    for i in range(9):
        (root / f"posts/p{i}.jpg").write_bytes(camera_jpeg(2400, 1600, seed=10 + i, orientation=1))
    (root / "posts/a.md").write_text(
        "---\ntitle: A\ndate: 2026-05-01\nsummary: s.\nimage: small.jpg\nimage_alt: A hall\n"
        "newsletter:\n  subject: A\n  preheader: What we heard at the summit, and what comes "
        "next for all of us.\n---\n\n" + body
    )
    result = run(root, base_env(tmp_path), "check")
    out = result.stdout + result.stderr
    assert result.returncode == 0, describe(result)
    assert re.search(
        r"posts/a\.md:\d+: warning: image 'small\.jpg' is shown 600 px "
        r"wide in the email but has 700 px: blurry on high-density screens",
        out,
    ), out
    assert re.search(r"warning: the images of the email weigh \d{4,} KB together", out), out


def test_a_share_image_that_is_svg_is_an_error_with_the_line(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts/logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (root / "posts/a.md").write_text("---\ntitle: A\ndate: 2026-05-01\nsummary: s.\n"
                                     "share_image: logo.svg\n---\n\nText.\n")
    result = run(root, base_env(tmp_path), "build")
    assert result.returncode == 1, describe(result)
    out = result.stdout + result.stderr
    assert "posts/a.md:5: share_image 'logo.svg' is SVG" in out, out
    assert "Traceback" not in out and not (root / "build").exists()
