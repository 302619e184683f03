"""Static files and images: content-hash fingerprints and pixel sizes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Asset:
    """A file copied into the site under a fingerprinted name."""

    source: Path
    name: str  # e.g. assets/summit-hero.3f2a9c1b0d.jpg, relative to the site root
    digest: str
    size: tuple[int, int] | None  # (width, height) for images we can read

    @property
    def width(self) -> int | None:
        return self.size[0] if self.size else None

    @property
    def height(self) -> int | None:
        return self.size[1] if self.size else None


def digest(*parts: str | bytes) -> str:
    """SHA-256 of several parts, each ended by a NUL (so "ab","c" ≠ "a","bc")."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")
    return h.hexdigest()


def file_digest(path: Path) -> str:
    return _digest(path, path.stat().st_mtime_ns, path.stat().st_size)


@lru_cache(maxsize=4096)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_asset(path: Path, folder: str = "assets") -> Asset:
    """Fingerprint a file: ``photo.jpg`` → ``assets/photo.<10 hex>.jpg``."""
    digest = file_digest(path)
    stem = path.stem.encode()[:200].decode(errors="ignore")  # the name stays < 255 bytes
    name = f"{folder}/{stem}.{digest[:10]}{path.suffix.lower()}"
    return Asset(source=path, name=name, digest=digest, size=image_size(path))


IMAGE_SUFFIXES = frozenset(
    (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".bmp", ".tif", ".tiff", ".ico")
)


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height of an image file, or None for anything Pillow cannot read."""
    info = _inspect(path)
    return info[0] if info else None


IMAGE_PROBLEM_HINT = (
    "save or export the picture again as PNG or JPEG (a file cut short, or another "
    "kind of file renamed, cannot be shown)"
)


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
    from PIL import Image  # 30 ms: loaded only when a site has images

    try:
        with Image.open(path) as img:
            dims = (int(img.width), int(img.height))
            if img.format == "JPEG":
                img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()  # decodes every byte: finds truncated and damaged files
    except Image.UnidentifiedImageError:
        return None, f"the content is not a {suffix[1:].upper()} image"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return None, str(exc) or type(exc).__name__
    return dims, None
