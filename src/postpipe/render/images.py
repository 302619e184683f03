"""Images: the one place that opens image files (Pillow).

Every local image that leaves the machine goes through :class:`ImageStore`:
its EXIF orientation is applied, then every piece of metadata is dropped (EXIF
with GPS and serial numbers, XMP, IPTC, comments); only the colour profile
stays. What comes out is cached under ``.postpipe/cache/images/`` by (content
hash of the original, recipe), so a rebuild with no image change opens no image:

* the **master**: the original format, at most :data:`MASTER_MAX` px on its
  longest side. An
  ``Asset`` of an image points at it, so the build, the folder CMS and the
  WordPress/Ghost uploads all get the stripped bytes;
* **blog derivatives** at :data:`BLOG_WIDTHS` (those narrower than the master)
  in WebP and the fallback format (JPEG, or PNG when the image has transparency);
* one **email** file at twice the shown width, at most :data:`EMAIL_MAX` px,
  JPEG (about :data:`EMAIL_PHOTO_BYTES` at most) or PNG;
* the **share card** (1200×630) of a post: its ``share_image`` cropped, or one
  drawn from the title, the event and the hero image (:func:`draw_card`).

Animated GIFs keep their frames (and their size); SVG files are copied as they
are (they are text, not camera output).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..assets import Asset, digest, file_digest

if TYPE_CHECKING:
    from PIL import Image as PILImage

#: bump when a recipe changes what it writes: old cache files are then unused
RECIPE_VERSION = "1"
MASTER_MAX = 2400
BLOG_WIDTHS = (480, 800, 1200, 1600)
EMAIL_MAX = 1200
EMAIL_MAX_PIXELS = 1200 * 900  # a tall photo gets narrower rather than heavier
EMAIL_PHOTO_BYTES = 150 * 1024
CARD_SIZE = (1200, 630)
JPEG_QUALITY = 85
WEBP_QUALITY = 80
WEBP_METHOD = 2  # of 0 (fast) to 6 (small): 4, the default, is three times as slow for ~6 %
EMAIL_QUALITIES = (82, 74, 66, 58, 50, 42)
FONTS = Path(__file__).resolve().parent.parent / "fonts"

IMAGE_SUFFIXES = frozenset(
    (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".bmp", ".tif", ".tiff", ".ico")
)
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
_EXT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}

#: how many times an image file was opened by this process (tests count it)
_OPENED = [0]


def opened() -> int:
    """Image files opened (decoded) by this process so far."""
    return _OPENED[0]


def _pillow() -> Any:
    """``PIL.Image`` with the WebP plugin registered.

    Pillow registers only BMP, GIF, JPEG, PPM and PNG up front; the first WebP it
    opens or saves makes it import all of its ~45 format plugins (``Image.init()``,
    tens of milliseconds a process). Registering WebP first avoids that; a file no
    registered plugin recognises still gets the full search, as before.
    """
    from PIL import Image, WebPImagePlugin  # noqa: F401 - registers WEBP

    _reuse_freed_memory()
    return Image


@lru_cache(maxsize=1)
def _reuse_freed_memory() -> None:
    """Let glibc keep freed image buffers for the next image.

    A 1200×630 card is a few 3 MB buffers. By default glibc returns such blocks to
    the kernel when they are freed, so every card touches fresh pages again: about
    2300 page faults and 6 ms of system time a card, a third of drawing it. Serving
    blocks under 64 MB from the heap and trimming it only past 128 MB free removes
    that; the peak memory is the same. Elsewhere (no glibc) this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD
    mallopt(-1, 128 << 20)  # M_TRIM_THRESHOLD


def _open(path: Path) -> PILImage.Image:
    _OPENED[0] += 1
    image: PILImage.Image = _pillow().open(path)
    return image


# ---------------------------------------------------------------------------
# reading: is it an image, and how big


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height of an image file as stored, or None when Pillow cannot read it."""
    info = _inspect(path)
    return info[0] if info else None


def image_problem(path: Path) -> str | None:
    """``cannot be read as an image (…)``, or None when ``path`` is a good image.

    The whole image is decoded once (a truncated JPEG or a text file named
    ``.png`` fail), then remembered for as long as the file keeps its size and
    modification time.
    """
    info = _inspect(path)
    problem = "the file cannot be read" if info is None else info[1]
    return f"cannot be read as an image ({problem})" if problem else None


def _inspect(path: Path) -> tuple[tuple[int, int] | None, str | None] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return _read_image(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=4096)
def _read_image(path: Path, mtime_ns: int, size: int) -> tuple[tuple[int, int] | None, str | None]:
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:  # a stylesheet, a script: never an image
        return None, f"'{suffix or path.name}' is not an image format"
    if suffix == ".svg":  # Pillow has no SVG: it only has to look like one
        with path.open("rb") as f:
            head = f.read(4096)
        return (None, None) if b"<svg" in head else (None, "no <svg> element")
    from PIL import Image, UnidentifiedImageError  # 30 ms: loaded only when a site has images

    try:
        with _open(path) as img:
            dims = (int(img.width), int(img.height))
            if img.format == "JPEG":
                img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()  # decodes every byte: finds truncated and damaged files
    except UnidentifiedImageError:
        return None, f"the content is not a {suffix[1:].upper()} image"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return None, str(exc) or type(exc).__name__
    return dims, None


# ---------------------------------------------------------------------------
# what a page shows of one image


@dataclass(frozen=True)
class Picture:
    """One local image as published: the stripped master and its derivatives."""

    master: Asset
    webp: tuple[Asset, ...] = ()  # ascending widths, the master's width last
    fallback: tuple[Asset, ...] = ()  # the same widths in JPEG or PNG
    email: Asset | None = None  # the one file a newsletter links to

    @property
    def assets(self) -> tuple[Asset, ...]:
        """Every file of this picture (each once)."""
        found: dict[str, Asset] = {}
        for a in (self.master, *self.webp, *self.fallback, *((self.email,) if self.email else ())):
            found.setdefault(a.name, a)
        return tuple(found.values())

    @property
    def fallback_type(self) -> str:
        return _mime_of(self.fallback[0].name) if self.fallback else _mime_of(self.master.name)


def _mime_of(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "svg": "image/svg+xml"}.get(
        ext, f"image/{ext}"
    )


@dataclass(frozen=True)
class _Meta:
    size: tuple[int, int]  # after the EXIF orientation
    format: str  # of the master: JPEG, PNG, GIF or WEBP
    alpha: bool
    animated: bool

    @property
    def fallback(self) -> str:
        return "PNG" if self.alpha else "JPEG"


@dataclass(frozen=True)
class _Recipe:
    """One output of a source image: width cap, format, and for email a byte budget."""

    key: str  # e.g. m2400, w800, e1200 (goes into the file name)
    width: int
    format: str
    email: bool = False

    def size(self, original: tuple[int, int]) -> tuple[int, int]:
        """The pixel size this recipe makes of an (upright) original."""
        w, h = original
        if self.key.startswith("m") and h > w > 0 and h > MASTER_MAX:  # the longest side
            return max(1, round(w * MASTER_MAX / h)), MASTER_MAX
        return _scaled(original, self.width, EMAIL_MAX_PIXELS if self.email else None)

    def file_name(self, src: str, path: Path) -> str:
        """``<hash>-v1-w800/<name>.webp``: keyed by content and recipe, and named like
        the original (a CMS names the uploaded file after it)."""
        ext = path.suffix.lower() if _format_of(path) == self.format else _EXT[self.format]
        stem = path.stem.encode()[:120].decode(errors="ignore") or "image"
        return f"{src[:24]}-v{RECIPE_VERSION}-{self.key}/{stem}{ext}"


def _master_width(size: tuple[int, int]) -> int:
    """The master is at most MASTER_MAX px on its longest side."""
    w, h = size
    return min(w, MASTER_MAX if w >= h else max(1, round(MASTER_MAX * w / h)))


def _scaled(size: tuple[int, int], width: int, pixels: int | None = None) -> tuple[int, int]:
    w, h = size
    if pixels is not None and min(w, width) * h * min(w, width) / w > pixels:
        width = max(1, int((pixels * w / h) ** 0.5))
    if w <= width:
        return w, h
    return width, max(1, round(h * width / w))


class ImageStore:
    """Derivatives of local images, cached in ``folder`` (``.postpipe/cache/images``).

    With ``read_only`` (a dry run, which writes nothing) files already in ``folder``
    are used and new ones go to a temporary folder, removed when the process ends.
    """

    def __init__(
        self, folder: Path, *, read_only: bool = False, scratch: Path | None = None
    ) -> None:
        self.shared: Path | None = None
        if read_only:
            self.shared = folder
            if scratch is None:  # the first store of the run owns the temporary folder
                import atexit
                import shutil
                import tempfile

                scratch = Path(tempfile.mkdtemp(prefix="postpipe-images-"))
                atexit.register(shutil.rmtree, scratch, ignore_errors=True)
            folder = scratch
        self.folder = folder

    def _path(self, name: str) -> Path:
        """Where the cached file ``name`` is, or is to be written."""
        if self.shared is not None and (self.shared / name).is_file():
            return self.shared / name
        return self.folder / name

    # -- the public recipes ------------------------------------------------------
    def picture(
        self, path: Path, *, email_width: int = EMAIL_MAX, folder: str = "assets"
    ) -> Picture:
        """The stripped master of ``path`` with blog derivatives and one email file
        ``email_width`` px wide at most. The image must be good (``image_problem``)."""
        if path.suffix.lower() == ".svg":
            return Picture(master=_plain_asset(path, folder))
        src = file_digest(path)
        meta = self._meta(path, src)
        full = _master_width(meta.size)
        master = _Recipe(f"m{MASTER_MAX}", full, meta.format)
        recipes = [master]
        webp: list[_Recipe] = []
        fall: list[_Recipe | None] = []  # None: the master itself
        email: _Recipe | None = None
        if not meta.animated:  # an animated GIF keeps its frames and its size
            widths = [w for w in BLOG_WIDTHS if w < full] + [full]
            webp = [_Recipe(f"w{w}", w, "WEBP") for w in widths]
            fall = [
                None
                if w == full and meta.format == meta.fallback
                else _Recipe(f"w{w}", w, meta.fallback)
                for w in widths
            ]
            ew = min(email_width, EMAIL_MAX)
            email = _Recipe(f"e{ew}", ew, meta.fallback, email=True)
            recipes += webp + [r for r in fall if r is not None] + [email]
        files = self._ensure(path, src, meta, recipes)
        stem = path.stem.encode()[:200].decode(errors="ignore")

        def asset(r: _Recipe, suffix: str) -> Asset:
            out = files[r.key + r.format]
            d = file_digest(out)
            same = r is master and meta.format == _format_of(path)
            ext = path.suffix.lower() if same else _EXT[r.format]
            size = meta.size if meta.animated else r.size(meta.size)
            name = f"{folder}/{stem}{suffix}.{d[:10]}{ext}"
            return Asset(source=out, name=name, digest=d, size=size)

        m = asset(master, "")
        if email is None:
            return Picture(master=m, email=m)
        return Picture(
            master=m,
            webp=tuple(asset(r, f"-{r.width}w") for r in webp),
            fallback=tuple(m if r is None else asset(r, f"-{r.width}w") for r in fall),
            email=asset(email, "-email"),
        )

    def master(self, path: Path, folder: str = "assets") -> Asset:
        """Only the stripped, size-capped master (what a CMS receives)."""
        return self.picture(path, folder=folder).master

    def share_card(
        self,
        *,
        slug: str,
        title: str,
        site_title: str,
        event_name: str = "",
        event_when: str = "",
        event_place: str = "",
        hero: Path | None = None,
        share_image: Path | None = None,
        folder: str = "assets",
    ) -> Asset:
        """The 1200×630 card of a post: ``share_image`` cropped to fit, or one drawn."""
        parts: list[str] = [RECIPE_VERSION, "card"]
        if share_image is not None:
            parts += ["share", file_digest(share_image)]
        else:
            parts += [title, site_title, event_name, event_when, event_place]
            parts.append(
                file_digest(hero) if hero is not None and hero.suffix.lower() != ".svg" else ""
            )
            parts.append(file_digest(FONTS / "DejaVuSans-Bold.ttf"))
        key = digest(*parts)
        out = self._path(f"card-{key[:32]}.jpg")
        if not out.is_file():
            if share_image is not None:
                img = _cover(_oriented(share_image), CARD_SIZE)
            else:
                hero_img = (
                    _oriented(hero) if hero is not None and hero.suffix.lower() != ".svg" else None
                )
                img, _ = draw_card(title, site_title, event_name, event_when, event_place, hero_img)
            rgb = img if img.mode == "RGB" else img.convert("RGB")
            self._save(rgb, out, "JPEG", quality=JPEG_QUALITY)
        d = file_digest(out)
        return Asset(
            source=out, name=f"{folder}/{slug}-card.{d[:10]}.jpg", digest=d, size=CARD_SIZE
        )

    # -- the cache ---------------------------------------------------------------
    def _meta(self, path: Path, src: str) -> _Meta:
        meta_path = self.folder / f"{src[:24]}-v{RECIPE_VERSION}.json"
        try:
            data = json.loads(self._path(meta_path.name).read_text())
            w, h = data["size"]
            return _Meta((int(w), int(h)), data["format"], data["alpha"], data["animated"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        with _open(path) as im:
            animated = bool(getattr(im, "is_animated", False)) and im.format == "GIF"
            orientation = im.getexif().get(0x0112, 1)
            w, h = im.size
            if orientation in (5, 6, 7, 8):
                w, h = h, w
            alpha = _has_alpha(im)
            fmt = (
                im.format
                if im.format in ("JPEG", "PNG", "GIF", "WEBP")
                else ("PNG" if alpha else "JPEG")
            )
        meta = _Meta((w, h), fmt or "JPEG", alpha, animated)
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(
            meta_path,
            json.dumps(
                {
                    "size": list(meta.size),
                    "format": meta.format,
                    "alpha": alpha,
                    "animated": animated,
                }
            ).encode(),
        )
        return meta

    def _ensure(self, path: Path, src: str, meta: _Meta, recipes: list[_Recipe]) -> dict[str, Path]:
        """The cached file of every recipe; the source is opened once for all missing ones."""
        files = {r.key + r.format: self._path(r.file_name(src, path)) for r in recipes}
        missing = [r for r in recipes if not files[r.key + r.format].is_file()]
        if not missing:
            return files
        self.folder.mkdir(parents=True, exist_ok=True)
        if meta.animated:
            _strip_gif(path, files[missing[0].key + missing[0].format])
            return files
        base = _oriented(path, max(r.width for r in missing))
        # largest first, each made from the smallest image already made that is at
        # least as big: a 4000 px photo is scaled down once, not once per width
        made: dict[tuple[int, int], PILImage.Image] = {base.size: base}
        for r in sorted(missing, key=lambda r: r.size(meta.size), reverse=True):
            size = r.size(meta.size)
            if size not in made:
                fits = [im for s, im in made.items() if s[0] >= size[0] and s[1] >= size[1]]
                source = min(fits, key=lambda im: im.width) if fits else base
                made[size] = source.resize(size, _lanczos(), reducing_gap=3.0)
                made[size].info.update(base.info)
            self._encode(made[size], files[r.key + r.format], r)
        return files

    def _encode(self, img: PILImage.Image, out: Path, r: _Recipe) -> None:
        icc = img.info.get("icc_profile")
        if r.format == "JPEG":
            rgb = img.convert("RGB") if img.mode not in ("RGB", "L") else img
            if r.email:
                for q in EMAIL_QUALITIES:
                    self._save(rgb, out, "JPEG", quality=q, icc_profile=icc)
                    if out.stat().st_size <= EMAIL_PHOTO_BYTES:
                        break
            else:
                self._save(rgb, out, "JPEG", quality=JPEG_QUALITY, icc_profile=icc)
        elif r.format == "WEBP":
            mode = "RGBA" if _has_alpha(img) else "RGB"
            webp = img.convert(mode) if img.mode != mode else img
            self._save(webp, out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, icc_profile=icc)
        elif r.format == "GIF":
            self._save(img, out, "GIF")
        else:  # PNG
            keep = img if img.mode in ("RGBA", "RGB", "LA", "L", "P") else img.convert("RGBA")
            self._save(keep, out, "PNG", optimize=False, icc_profile=icc)

    @staticmethod
    def _save(img: PILImage.Image, out: Path, fmt: str, **params: Any) -> None:
        """Save with nothing but pixels (and the colour profile): ``info`` is cleared,
        so no EXIF, XMP, IPTC or comment rides along."""
        info = img.info
        img.info = {k: info[k] for k in ("transparency",) if k in info}
        params = {k: v for k, v in params.items() if v is not None}
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        _pillow()  # a WebP save must not load every format plugin
        try:
            img.save(tmp, fmt, **params)
        finally:
            img.info = info
        os.replace(tmp, out)


def _format_of(path: Path) -> str:
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP"}.get(
        path.suffix.lower(), ""
    )


def _plain_asset(path: Path, folder: str) -> Asset:
    from ..assets import make_asset

    return make_asset(path, folder)


def _lanczos() -> Any:
    from PIL import Image

    return Image.Resampling.LANCZOS


def _has_alpha(im: PILImage.Image) -> bool:
    if im.mode in ("RGBA", "LA", "PA"):
        return im.getextrema()[-1][0] < 255 if im.mode != "PA" else True  # type: ignore[index]
    return im.mode == "P" and "transparency" in im.info


def _oriented(path: Path, width: int | None = None) -> PILImage.Image:
    """The decoded image, upright (EXIF orientation applied), with only its ICC profile."""
    from PIL import ImageOps

    with _open(path) as im:
        if width is not None and im.format == "JPEG":
            im.draft(im.mode, (width, width))  # decode at a reduced scale: much faster
        im.load()
        icc = im.info.get("icc_profile")
        upright = ImageOps.exif_transpose(im)
        out = upright if upright is not None else im.copy()
    if out.mode == "P" and "transparency" in out.info or out.mode in ("LA", "PA"):
        out = out.convert("RGBA")
    elif out.mode not in ("RGB", "RGBA", "L"):
        out = out.convert("RGB")
    out.info.clear()
    if icc:
        out.info["icc_profile"] = icc
    return out


def _strip_gif(path: Path, out: Path) -> None:
    """An animated GIF with every frame and its timing, without comments or XMP."""
    from PIL import ImageSequence

    with _open(path) as im:
        frames, durations = [], []
        for frame in ImageSequence.Iterator(im):
            durations.append(frame.info.get("duration", 100))
            frames.append(frame.copy())
        loop = im.info.get("loop", 0)
    for f in frames:
        keep = {k: f.info[k] for k in ("transparency",) if k in f.info}
        f.info.clear()
        f.info.update(keep)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    frames[0].save(
        tmp, "GIF", save_all=True, append_images=frames[1:], duration=durations, loop=loop
    )
    os.replace(tmp, out)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _cover(img: PILImage.Image, size: tuple[int, int], fast: bool = False) -> PILImage.Image:
    """``img`` scaled and cropped to fill ``size`` (``fast``: for a shaded background)."""
    from PIL import Image, ImageOps

    method = Image.Resampling.BILINEAR if fast else _lanczos()
    return ImageOps.fit(img.convert("RGB"), size, method)


# ---------------------------------------------------------------------------
# the drawn share card

_MARGIN = 72
_TITLE_SIZES = tuple(range(72, 27, -4))
_MAX_TITLE_LINES = 4


def draw_card(
    title: str,
    site_title: str,
    event_name: str = "",
    event_when: str = "",
    event_place: str = "",
    hero: PILImage.Image | None = None,
) -> tuple[PILImage.Image, list[tuple[int, int, int, int]]]:
    """The 1200×630 card and the boxes of its text lines (each lies inside the card).

    The title wraps at word boundaries, then shrinks until it fits; a word too
    long for a line is cut with an ellipsis, and so is the last line when even
    the smallest size needs more than four lines.
    """
    from PIL import ImageDraw

    Image = _pillow()
    w, h = CARD_SIZE
    if hero is not None:
        card = _cover(hero, CARD_SIZE, fast=True)
        card = Image.blend(card, Image.new("RGB", CARD_SIZE, (12, 20, 38)), 0.67)
    else:
        card = Image.new("RGB", CARD_SIZE, (22, 40, 72))
    draw = ImageDraw.Draw(card)
    width = w - 2 * _MARGIN
    boxes: list[tuple[int, int, int, int]] = []

    def put(
        y: int,
        text: str,
        size: int,
        bold: bool = False,
        fill: tuple[int, int, int] = (255, 255, 255),
    ) -> int:
        font = _font(size, bold)
        text = _fit_line(draw, text, font, width)
        box = draw.textbbox((_MARGIN, y), text, font=font)
        draw.text((_MARGIN, y), text, font=font, fill=fill)
        boxes.append((int(box[0]), int(box[1]), int(box[2]), int(box[3])))
        return y + int(size * 1.25)

    y = _MARGIN - 8
    y = put(y, site_title, 30, fill=(200, 214, 240))
    event_lines = [
        t for t in (event_name, " · ".join(x for x in (event_when, event_place) if x)) if t
    ]
    bottom = h - _MARGIN - len(event_lines) * 44
    room = bottom - (y + 24)
    lines, size = _wrap_title(draw, title, width, room)
    y += 24
    for line in lines:
        y = put(y, line, size, bold=True)
    y = max(y + 8, bottom)
    for i, line in enumerate(event_lines):
        y = put(y, line, 32 if i == 0 else 28, bold=i == 0, fill=(230, 236, 248))
    return card, boxes


@lru_cache(maxsize=64)
def _font(size: int, bold: bool) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(
        str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size
    )


def _wrap_title(draw: Any, title: str, width: int, room: int) -> tuple[list[str], int]:
    words = title.split()
    for size in _TITLE_SIZES:
        font = _font(size, True)
        lines: list[str] = []
        for word in words:
            trial = f"{lines[-1]} {word}" if lines else word
            if lines and draw.textlength(trial, font=font) <= width:
                lines[-1] = trial
            else:
                lines.append(word)
        fits_lines = len(lines) <= _MAX_TITLE_LINES and len(lines) * int(size * 1.25) <= room
        if fits_lines and all(draw.textlength(line, font=font) <= width for line in lines):
            return lines, size
    size = _TITLE_SIZES[-1]
    per = max(1, room // int(size * 1.25))
    lines = lines[: min(per, _MAX_TITLE_LINES)]
    if lines:
        lines[-1] = lines[-1] + " …"
    return lines, size


def _fit_line(draw: Any, text: str, font: Any, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def mime_type(asset: Asset) -> str:
    """``image/webp`` etc. for a derivative."""
    return _mime_of(asset.name)


__all__ = [
    "BLOG_WIDTHS",
    "CARD_SIZE",
    "EMAIL_MAX",
    "ImageStore",
    "MASTER_MAX",
    "Picture",
    "draw_card",
    "image_problem",
    "image_size",
    "mime_type",
    "opened",
]
