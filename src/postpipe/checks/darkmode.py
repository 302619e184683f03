"""Text that vanishes in a mail client's dark mode.

Clients that invert colours (the Gmail app, Outlook, Outlook.com) darken the
backgrounds they see and lighten the text colours they see; what is not set
stays the client's own. So text with a colour but no background behind it
(dark text left on a darkened default background), or a background with no
text colour (light default text on a light background the client keeps), can
become unreadable. A PNG logo that is dark on a transparent background
disappears on a dark background.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ..build import RenderedPost
from .base import WARNING, Finding
from .css import luminance, text_styles

RULE = "dark-mode"
#: a logo whose opaque pixels are darker than this (WCAG relative luminance) …
DARK_LOGO_LUMINANCE = 0.12
#: … and that has at least this share of (nearly) transparent pixels
TRANSPARENT_SHARE = 0.05


def colour_findings(r: RenderedPost) -> list[Finding]:
    if r.email is None or r.post.newsletter is None:
        return []
    post = r.post
    no_bg: list[str] = []
    no_fg: list[str] = []
    for t in text_styles(r.email.html):
        if t.hidden:
            continue
        if t.color_set and not t.painted:
            no_bg.append(t.text)
        elif not t.color_set and t.painted:
            no_fg.append(t.text)
    out = []
    for texts, what, hint in (
        (
            no_bg,
            "text has a colour but nothing behind it sets a background",
            "set a background colour (bgcolor and background-color) on the table cell or "
            "body around it, so inverting clients change both",
        ),
        (
            no_fg,
            "a background is set but the text on it has no colour",
            "set color: on the text (or the cell) as well, so inverting clients change both",
        ),
    ):
        if texts:
            sample = texts[0][:40] + ("…" if len(texts[0]) > 40 else "")
            out.append(
                Finding(
                    WARNING,
                    post.rel,
                    post.line("newsletter"),
                    f"in dark mode, {what} ({len(texts)} place{'s' if len(texts) > 1 else ''}, "
                    f"e.g. '{sample}'); the Gmail app and Outlook may make it unreadable",
                    hint,
                    rule=RULE,
                )
            )
    return out


def dark_on_transparent(path: Any) -> bool:
    """A PNG (or GIF/WebP) whose visible pixels are dark and that has a transparent part."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if "A" not in im.getbands() and "transparency" not in im.info:
                return False
            im.thumbnail((128, 128))
            rgba = im.convert("RGBA")
    except (OSError, ValueError):
        return False
    raw = rgba.tobytes()
    pixels = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    opaque = [p for p in pixels if p[3] >= 128]
    if not opaque or (len(pixels) - len(opaque)) / len(pixels) < TRANSPARENT_SHARE:
        return False
    n = len(opaque)
    mean = (
        sum(p[0] for p in opaque) / n,
        sum(p[1] for p in opaque) / n,
        sum(p[2] for p in opaque) / n,
    )
    return luminance(mean) < DARK_LOGO_LUMINANCE


@lru_cache(maxsize=256)
def _dark_on_transparent(path: Path, digest: str) -> bool:
    """:func:`dark_on_transparent` once per picture: ``digest`` is the SHA-256 of the
    file's bytes (the posts of a site share their logos and photos)."""
    return dark_on_transparent(path)


def image_findings(r: RenderedPost) -> list[Finding]:
    if r.email is None or r.post.newsletter is None:
        return []
    out = []
    from .base import find_line

    # each picture once, by its stripped master (not its derivatives)
    for asset in (p.master for p in r.pictures.values()):
        if asset.source.suffix.lower() not in (".png", ".gif", ".webp"):
            continue
        if _dark_on_transparent(asset.source, asset.digest):
            name = asset.source.name
            out.append(
                Finding(
                    WARNING,
                    r.post.rel,
                    find_line(r.post, name) or r.post.line("image"),
                    f"image '{name}' is dark on a transparent background: it disappears "
                    "on a dark-mode background",
                    "give the image a light background of its own (or a light outline), "
                    "e.g. export the logo on white",
                    rule=RULE,
                )
            )
    return out


def check(r: RenderedPost) -> list[Finding]:
    return colour_findings(r) + image_findings(r)
