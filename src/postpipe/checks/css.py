"""Small CSS helpers for the checks: colours, declarations, the resolved style of
an element of an inlined email (inline ``style`` and the old HTML attributes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

RGB = tuple[float, float, float]

NAMED: dict[str, str] = {
    "black": "#000000",
    "white": "#ffffff",
    "red": "#ff0000",
    "green": "#008000",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "gray": "#808080",
    "grey": "#808080",
    "silver": "#c0c0c0",
    "maroon": "#800000",
    "navy": "#000080",
    "teal": "#008080",
    "purple": "#800080",
    "orange": "#ffa500",
    "lightgray": "#d3d3d3",
    "lightgrey": "#d3d3d3",
    "darkgray": "#a9a9a9",
    "darkgrey": "#a9a9a9",
    "whitesmoke": "#f5f5f5",
}
_HEX = re.compile(r"#([0-9a-f]{3,8})\b", re.I)
_RGB = re.compile(
    r"rgba?\(\s*([\d.]+%?)[\s,]+([\d.]+%?)[\s,]+([\d.]+%?)(?:\s*[,/]\s*([\d.]+%?))?\s*\)"
)


def parse_color(value: str) -> RGB | None:
    """A CSS colour as RGB 0-255, or None (transparent, unknown, ``inherit``)."""
    value = value.strip().lower().replace("!important", "").strip()
    if value in NAMED:
        value = NAMED[value]
    m = _HEX.fullmatch(value)
    if m:
        h = m.group(1)
        if len(h) in (3, 4):
            if len(h) == 4 and h[3] != "f":
                return None  # translucent: cannot judge
            return (int(h[0] * 2, 16), int(h[1] * 2, 16), int(h[2] * 2, 16))
        if len(h) in (6, 8):
            if len(h) == 8 and h[6:] != "ff":
                return None
            return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
        return None
    m = _RGB.fullmatch(value)
    if m:
        if m.group(4) is not None and _num(m.group(4), 1) < 1:
            return None
        return (_num(m.group(1), 255), _num(m.group(2), 255), _num(m.group(3), 255))
    return None


def _num(text: str, scale: float) -> float:
    return float(text[:-1]) * scale / 100 if text.endswith("%") else float(text)


def background_color(value: str) -> RGB | None:
    """The colour in a ``background`` shorthand (the first token that is one)."""
    for token in re.findall(r"rgba?\([^)]*\)|#[0-9a-f]+|[a-z]+", value.lower()):
        c = parse_color(token)
        if c is not None:
            return c
    return None


def luminance(c: RGB) -> float:
    """WCAG relative luminance."""

    def chan(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * chan(c[0]) + 0.7152 * chan(c[1]) + 0.0722 * chan(c[2])


@lru_cache(maxsize=1024)
def contrast(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def hex_of(c: RGB) -> str:
    r, g, b = (round(v) for v in c)
    return f"#{r:02x}{g:02x}{b:02x}"


def declarations(style: str) -> dict[str, str]:
    """``a:b;c:d`` as a dict (last one wins), names lower case."""
    return dict(_parsed_declarations(style))


@lru_cache(maxsize=4096)
def _parsed_declarations(style: str) -> tuple[tuple[str, str], ...]:
    # an inlined email repeats the same few style attributes on hundreds of elements
    out: dict[str, str] = {}
    for part in style.split(";"):
        name, sep, value = part.partition(":")
        if sep and name.strip():
            out[name.strip().lower()] = value.strip()
    return tuple(out.items())


def style_of(el: Any) -> dict[str, str]:
    return declarations(el.get("style") or "")


def own_background(el: Any) -> str | None:
    """The background an element paints itself, as written (None: transparent)."""
    st = style_of(el)
    for name in ("background-color", "background"):
        if st.get(name):
            return st[name]
    bg = el.get("bgcolor")
    return str(bg) if bg else None


_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_VAR = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,\s*([^)]*))?\)")
DARK_MEDIA = re.compile(r"prefers-color-scheme\s*:\s*dark")


def stylesheet_rules(css: str) -> list[tuple[str, str, dict[str, str]]]:
    """(enclosing @media or "", selector, declarations) of every rule, in order
    (fresh dicts: the caller may change them)."""
    return [(media, selector, dict(decls)) for media, selector, decls in _stylesheet_rules(css)]


@lru_cache(maxsize=32)
def _stylesheet_rules(css: str) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    # every email of a site carries the same stylesheet: parse it once
    css = _COMMENT.sub("", css)
    out: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
    media: list[str] = []
    pos, depth_media = 0, []
    buf = ""
    while pos < len(css):
        ch = css[pos]
        if ch == "{":
            head = buf.strip()
            buf = ""
            if head.startswith("@"):
                media.append(head)
                depth_media.append(True)
            else:
                end = css.find("}", pos)
                if end < 0:
                    break
                out.append((" ".join(media), head, _parsed_declarations(css[pos + 1 : end])))
                pos = end
        elif ch == "}":
            if depth_media:
                depth_media.pop()
                media.pop()
            buf = ""
        else:
            buf += ch
        pos += 1
    return tuple(out)


def resolve_vars(value: str, variables: dict[str, str]) -> str:
    for _ in range(5):
        new = _VAR.sub(lambda m: variables.get(m.group(1), m.group(2) or ""), value)
        if new == value:
            break
        value = new
    return value


@dataclass(frozen=True)
class TextStyle:
    """The resolved style of one run of text in an inlined email."""

    text: str
    color: RGB | None  # None: the client's default (or a colour that cannot be judged)
    color_set: bool  # a colour is written somewhere above the text
    background: RGB | None  # the nearest painted background (None: none, or an image)
    painted: bool  # something above the text paints a background
    hidden: bool
    font_px: float
    bold: bool


_SKIP_TEXT = {"head", "title", "style", "script", "noscript", "xml"}
_BOLD_TAGS = {"b", "strong", "th", "h1", "h2", "h3", "h4", "h5", "h6"}


@lru_cache(maxsize=16)
def text_styles(html: str) -> tuple[TextStyle, ...]:
    """Every run of text of an inlined email with its inherited style, in one walk
    from the root (the inline ``style``, ``bgcolor`` and ``<font color>``)."""
    from .trees import document

    root = document(html)
    out: list[TextStyle] = []

    def walk(el: Any, state: tuple[Any, ...]) -> None:
        tag = el.tag
        if not isinstance(tag, str) or tag in _SKIP_TEXT:
            return
        color, color_set, bg, painted, hidden, size, bold = state
        new_color, new_bg, hides, new_size, new_bold = _effect(
            tag,
            el.get("style") or "",
            el.get("color") if tag == "font" else None,
            el.get("bgcolor"),
        )
        if new_color is not None:
            color, color_set = new_color[0], True
        if new_bg is not None:
            bg, painted = new_bg[0], True
        if hides:
            hidden = True
        if new_size is not None:
            size = new_size
        if new_bold is not None:
            bold = new_bold
        state = (color, color_set, bg, painted, hidden, size, bold)
        children = list(el)
        parts = [el.text or ""] + [c.tail or "" for c in children]
        text = " ".join([p for p in map(str.strip, parts) if p])
        if text and text.replace("\u00a0", "").strip():
            out.append(TextStyle(text, color, color_set, bg, painted, hidden, size, bold))
        for child in children:
            walk(child, state)

    walk(root, (None, False, None, False, False, 16.0, False))
    return tuple(out)


_FONT_SIZE = re.compile(r"([\d.]+)\s*(px|pt)?")


@lru_cache(maxsize=4096)
def _effect(
    tag: str, style: str, font_color: str | None, bgcolor: str | None
) -> tuple[tuple[RGB | None] | None, tuple[RGB | None] | None, bool, float | None, bool | None]:
    """What one element sets for the text inside it: (colour,) or None (inherited),
    (background,) or None, hides it, font size in px or None, bold or None.
    A pure function of the element's tag and attributes: an inlined email repeats the
    same few on hundreds of elements."""
    st = declarations(style)
    color: tuple[RGB | None] | None = None
    value = st.get("color") or font_color
    if value:
        color = (parse_color(value),)
    bg: tuple[RGB | None] | None = None
    own = next((st[name] for name in ("background-color", "background") if st.get(name)), None)
    if own is None and bgcolor:
        own = str(bgcolor)
    if own:
        c = background_color(own)
        if c is not None or "url(" in own:
            bg = (c,)
    hidden = (
        st.get("display", "").startswith("none")
        or st.get("mso-hide") == "all"
        or (st.get("max-height", "").startswith("0") and st.get("overflow") == "hidden")
    )
    size = None
    m = _FONT_SIZE.match(st.get("font-size", ""))
    if m:
        size = float(m.group(1)) * (4 / 3 if m.group(2) == "pt" else 1)
    weight = st.get("font-weight", "")
    bold = None
    if tag in _BOLD_TAGS:
        bold = True
    elif weight:
        bold = weight.startswith("bold") or (weight.isdigit() and int(weight) >= 700)
    return color, bg, hidden, size, bold
