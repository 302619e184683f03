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


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height of an image file (``render.images``, where images are read)."""
    from .render.images import image_size as size_of

    return size_of(path)


IMAGE_PROBLEM_HINT = (
    "save or export the picture again as PNG or JPEG (a file cut short, or another "
    "kind of file renamed, cannot be shown)"
)


def image_problem(path: Path) -> str | None:
    """``cannot be read as an image (…)``, or None (see ``render.images.image_problem``)."""
    from .render.images import image_problem as problem_of

    return problem_of(path)
