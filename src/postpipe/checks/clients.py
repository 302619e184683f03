"""Client support from the caniemail.com data (``data/caniemail.json``, MIT; refreshed
by ``scripts/update-caniemail``).

Every CSS property (inline, and in ``<style>`` including ``@media``), HTML
element and attribute of the final, inlined email is looked up for the clients
of :data:`CLIENTS`. Only "n" (not supported at the newest tested version)
counts; "a" (partial) and "u" (unknown) do not.

* A **layout** feature (:data:`LAYOUT`) that a client does not support is an
  error unless the email carries that feature's fallback for the element that
  uses it (:data:`LAYOUT` names it): a ``width``/``height`` attribute, an
  ``align`` attribute, or Outlook's MSO conditional comments.
* Everything else is **cosmetic** (rounded corners, shadows, letter spacing…):
  an info. So is anything inside ``@media``: a client that ignores the media
  query shows the email without it (progressive enhancement).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from ..build import RenderedPost
from .base import ERROR, INFO, Finding
from .css import declarations, stylesheet_rules
from .trees import document

RULE = "client-support"

#: the clients looked up, in the order summaries show them (names from the data)
CLIENTS = (
    "gmail-web",
    "gmail-ios",
    "gmail-android",
    "outlook-windows",
    "outlook-com",
    "outlook-macos",
    "outlook-ios",
    "apple-mail-macos",
    "apple-mail-ios",
    "yahoo",
    "samsung-email",
)

#: The layout features, each with the fallback that keeps the layout where the
#: feature is ignored: "width" (a width attribute on the element), "height" (a
#: height attribute), "align" (an align attribute on it or its parent), "mso"
#: (MSO conditional comments in the email: a ghost table for Outlook), "mso-hide"
#: (mso-hide:all beside it), or None (no fallback: unsupported is an error).
LAYOUT: dict[str, str | None] = {
    "css-width": "width",
    "css-max-width": "width",
    "css-min-width": "width",
    "css-height": "height",
    "css-max-height": "height",
    "css-min-height": "height",
    "css-table-layout": "width",
    "css-margin": "align",
    "css-float": "align",
    "css-display": "mso",
    "css-display-none": "mso-hide",
    "css-display-flex": "mso",
    "css-display-grid": "mso",
    "css-flex-direction": "mso",
    "css-flex-wrap": "mso",
    "css-align-items": "mso",
    "css-justify-content": "mso",
    "css-gap": "mso",
    "css-grid-template": "mso",
    "css-column-count": "mso",
    "css-column-layout-properties": "mso",
    "css-position": None,
    "css-left-right-top-bottom": None,
    "css-inset": None,
    "css-padding": "mso",
    "css-box-sizing": None,
    "css-writing-mode": None,
    "html-table": None,
}

#: values that ask for nothing (the client's default is the same)
_DEFAULTS = {"auto", "none", "initial", "inherit", "normal", "0", "0px", "unset"}
_MSO = re.compile(r"<!--\[if [^\]]*mso[^\]]*\]>", re.I)
_ATTRS = {
    "width": "html-width",
    "height": "html-height",
    "align": "html-align",
    "valign": "html-valign",
    "cellpadding": "html-cellpadding",
    "cellspacing": "html-cellspacing",
    "background": "html-background",
    "role": "html-role",
    "lang": "html-lang",
    "dir": "html-dir",
    "srcset": "html-srcset",
    "target": "html-target",
    "loading": "html-loading-attribute",
    "aria-label": "html-aria-label",
    "aria-hidden": "html-aria-hidden",
    "aria-describedby": "html-aria-describedby",
    "aria-labelledby": "html-aria-labelledby",
    "hidden": "html-hidden",
}
_TAGS = {
    **{f"h{i}": "html-h1-h6" for i in range(1, 7)},
    "ul": "html-lists",
    "ol": "html-lists",
    "li": "html-lists",
    "dl": "html-lists",
    "s": "html-strike",
    "strike": "html-strike",
    "input": "html-input-text",
}
_IMAGE_EXT = {
    ".png": "image-png",
    ".jpg": "image-jpg",
    ".jpeg": "image-jpg",
    ".gif": "image-gif",
    ".webp": "image-webp",
    ".svg": "image-svg",
    ".avif": "image-avif",
}


@cache
def data() -> dict[str, Any]:
    """The shipped caniemail data (see ``scripts/update-caniemail``)."""
    text = resources.files("postpipe.checks").joinpath("data/caniemail.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def client_name(cid: str) -> str:
    return str(data()["clients"].get(cid, cid))


def css_features(prop: str, value: str) -> list[str]:
    """The caniemail slugs a declaration uses."""
    return list(_css_features(prop, value))


@lru_cache(maxsize=4096)
def _css_features(prop: str, value: str) -> tuple[str, ...]:
    # the same declarations recur on every element of an inlined email
    feats = data()["features"]
    prop = prop.strip().lower()
    value = value.strip().lower()
    if not prop or prop.startswith(("-", "mso-")):
        return ()
    out: list[str] = []
    if prop == "display":
        v = value.replace("!important", "").strip()
        out.append(
            {
                "none": "css-display-none",
                "flex": "css-display-flex",
                "inline-flex": "css-display-flex",
                "grid": "css-display-grid",
            }.get(v, "css-display")
        )
    else:
        name = prop
        while name and f"css-{name}" not in feats:
            name = name.rpartition("-")[0]
        if name:
            out.append(f"css-{name}")
        if prop.startswith(("margin-inline", "margin-block", "padding-inline", "padding-block")):
            out = [f for f in out if f not in ("css-margin", "css-padding")]
    if "!important" in value:
        out.append("css-important")
    for fn, slug in (
        ("rgba(", "css-rgba"),
        ("rgb(", "css-rgb"),
        ("calc(", "css-unit-calc"),
        ("linear-gradient(", "css-linear-gradient"),
        ("var(", "css-variables"),
    ):
        if fn in value:
            out.append(slug)
    return tuple(f for f in out if f in feats)


@dataclass
class Use:
    """One feature used in the email: where, and whether its fallback is there."""

    feature: str
    example: str
    in_media: bool = False
    fallback: bool = False


@dataclass
class Report:
    """Per client: the layout features it ignores with no fallback, the cosmetic ones."""

    layout: dict[str, dict[str, Use]] = field(default_factory=dict)
    cosmetic: dict[str, dict[str, Use]] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        """One row per client, for the preview."""
        rows = []
        for cid in CLIENTS:
            layout = sorted(self.layout.get(cid, {}))
            cosmetic = sorted(self.cosmetic.get(cid, {}))
            rows.append(
                {
                    "client": client_name(cid),
                    "layout": [title(f) for f in layout],
                    "cosmetic": [title(f) for f in cosmetic],
                }
            )
        return rows


def title(slug: str) -> str:
    f = data()["features"].get(slug)
    return str(f["title"]) if f else slug


def _fallback(
    kind: str | None,
    attrs: tuple[str, ...],
    style: str | None,
    parent_align: bool,
    value: str,
    mso: bool,
) -> bool:
    """Whether the element (its attribute names, its style, whether its parent has
    ``align``) carries the fallback of a layout feature of ``kind``."""
    if kind is None:
        return False
    if value.replace("!important", "").strip() in _DEFAULTS:
        return True  # asks for the default: nothing to lose
    if kind == "width":
        return "width" in attrs or mso
    if kind == "height":
        return "height" in attrs
    if kind == "align":
        return "align" in attrs or mso or parent_align
    if kind == "mso":
        return mso
    if kind == "mso-hide":
        return "mso-hide" in (style or "")
    return False


#: one feature use: (feature, example, in_media, fallback), the fields of a :class:`Use`
_UseKey = tuple[str, str, bool, bool]


def uses(html: str) -> Iterator[Use]:
    """Every feature the email uses, with its fallback state."""
    for group in _use_groups(html):
        for feature, example, in_media, fallback in group:
            yield Use(feature, example, in_media=in_media, fallback=fallback)


def _use_groups(html: str) -> Iterator[tuple[_UseKey, ...]]:
    """The uses of each element in document order, a group per element (and one
    per stylesheet). Equal elements give the same (memoised) tuple."""
    mso = bool(_MSO.search(html))
    for el in document(html).iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        parent = el.getparent()
        low = tag.lower()
        yield _element_uses(
            tag,
            tuple(el.keys()),
            el.get("style"),
            (el.get("src") or "") if low == "img" else None,
            parent is not None and parent.get("align") is not None,
            mso,
        )
        if low == "style":
            yield _style_uses(el.text or "")


@lru_cache(maxsize=4096)
def _element_uses(
    tag: str,
    attrs: tuple[str, ...],
    style: str | None,
    src: str | None,
    parent_align: bool,
    mso: bool,
) -> tuple[_UseKey, ...]:
    """The uses of one element's tag, attributes, image source (``src``: an
    ``<img>``'s) and inline style, but not of its stylesheet: a pure function of
    these, which an inlined email repeats on hundreds of elements."""
    feats = data()["features"]
    out: list[_UseKey] = []
    tag = tag.lower()
    slug = _TAGS.get(tag, f"html-{tag}")
    if slug in feats:
        out.append((slug, f"<{tag}>", False, False))
    if src is not None:
        src = src.lower().split("?")[0]
        for ext, s in _IMAGE_EXT.items():
            if src.endswith(ext):
                out.append((s, src.rsplit("/", 1)[-1], False, False))
    for attr in attrs:
        a = _ATTRS.get(attr.lower())
        if a and a in feats:
            out.append(
                (a, f'{attr}="…" on <{tag}>', False, False)
            )  # the attributes are the fallbacks
    for prop, value in declarations(style or "").items():
        for f in css_features(prop, value):
            fallback = (
                _fallback(LAYOUT[f], attrs, style, parent_align, value, mso)
                if f in LAYOUT
                else False
            )
            out.append((f, f"{prop}:{value} on <{tag}>", False, fallback))
    return tuple(out)


@lru_cache(maxsize=32)
def _style_uses(css: str) -> tuple[_UseKey, ...]:
    """The uses of a ``<style>`` element's stylesheet."""
    out: list[_UseKey] = []
    for media, _selector, decls in stylesheet_rules(css):
        for prop, value in decls.items():
            for f in css_features(prop, value):
                out.append((f, f"{prop}:{value}", bool(media), bool(media)))
    if "@media" in css:
        out.append(("css-at-media", "@media", True, False))
    if re.search(r"prefers-color-scheme", css):
        out.append(
            ("css-at-media-prefers-color-scheme", "@media (prefers-color-scheme)", True, False)
        )
    return tuple(out)


def support_report(html: str) -> Report:
    feats = data()["features"]
    report = Report()
    seen: set[tuple[str, bool, bool]] = set()
    # an element equal to an earlier one gives the same tuple, whose uses are all
    # seen already; held here so that no id is reused while the report is made
    done: dict[int, tuple[_UseKey, ...]] = {}
    for group in _use_groups(html):
        if id(group) in done:
            continue
        done[id(group)] = group
        for feature, example, in_media, fallback in group:
            kind = (feature, in_media, fallback)
            if kind in seen:
                continue  # it would land where its first use did (the first use is kept)
            seen.add(kind)
            use = Use(feature, example, in_media=in_media, fallback=fallback)
            support = feats[use.feature]["support"]
            for cid in CLIENTS:
                status = support.get(cid, ["u"])[0]
                if status != "n":
                    continue
                layout = use.feature in LAYOUT and not use.in_media
                if layout and use.fallback:
                    continue  # the fallback carries the layout there
                bucket = report.layout if layout else report.cosmetic
                bucket.setdefault(cid, {}).setdefault(use.feature, use)
    return report


def check(r: RenderedPost) -> list[Finding]:
    if r.email is None or r.post.newsletter is None:
        return []
    post = r.post
    report = support_report(r.email.html)
    out: list[Finding] = []
    by_feature: dict[str, list[str]] = {}
    examples: dict[str, str] = {}
    for cid in CLIENTS:
        for feature, use in report.layout.get(cid, {}).items():
            by_feature.setdefault(feature, []).append(client_name(cid))
            examples.setdefault(feature, use.example)
    for feature, clients in by_feature.items():
        url = data()["features"][feature]["url"]
        out.append(
            Finding(
                ERROR,
                post.rel,
                post.line("newsletter"),
                f"{', '.join(clients)} ignore{'s' if len(clients) == 1 else ''} "
                f"'{title(feature)}' ({examples[feature]}) and the email has no fallback "
                "for it: the layout breaks there",
                f"add the fallback (a width/height attribute, align, or an MSO conditional "
                f"table for Outlook) or drop the feature; see {url}",
                rule=RULE,
            )
        )
    cosmetic = [
        f"{client_name(cid)}: {', '.join(sorted(title(f) for f in report.cosmetic[cid]))}"
        for cid in CLIENTS
        if report.cosmetic.get(cid)
    ]
    if cosmetic:
        out.append(
            Finding(
                INFO,
                post.rel,
                post.line("newsletter"),
                "cosmetic features some clients ignore (the email still reads): "
                + "; ".join(cosmetic),
                None,
                rule=RULE,
            )
        )
    return out
