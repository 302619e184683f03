"""Static files and images: content-hash fingerprints and pixel sizes."""

from __future__ import annotations

import hashlib
import struct
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
    """Width and height of a PNG, JPEG, GIF or WebP file, read from its header."""
    try:
        st = path.stat()
    except OSError:
        return None
    return _image_size(path, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=4096)
def _image_size(path: Path, mtime_ns: int, size: int) -> tuple[int, int] | None:
    with path.open("rb") as f:
        head = f.read(32)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return int(w), int(h)
        if head[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", head[6:10])
            return int(w), int(h)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(head, f)
        if head[:2] == b"\xff\xd8":
            f.seek(2)
            return _jpeg_size(f)
    return None


def _webp_size(head: bytes, f) -> tuple[int, int] | None:  # type: ignore[no-untyped-def]
    f.seek(12)
    chunk = f.read(30)
    kind = chunk[:4]
    if kind == b"VP8X":
        w = int.from_bytes(chunk[12:15], "little") + 1
        h = int.from_bytes(chunk[15:18], "little") + 1
        return w, h
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", chunk[18:22])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L":
        b = chunk[9:13]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    return None


def _jpeg_size(f) -> tuple[int, int] | None:  # type: ignore[no-untyped-def]
    while True:
        byte = f.read(1)
        while byte and byte != b"\xff":
            byte = f.read(1)
        while byte == b"\xff":
            byte = f.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        length_bytes = f.read(2)
        if len(length_bytes) < 2:
            return None
        length = struct.unpack(">H", length_bytes)[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            data = f.read(5)
            if len(data) < 5:
                return None
            h, w = struct.unpack(">HH", data[1:5])
            return int(w), int(h)
        f.seek(length - 2, 1)
