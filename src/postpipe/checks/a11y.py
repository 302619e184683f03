"""Accessibility of the email and the page: text contrast (from the inlined
email's final styles), generic link text, skipped heading levels, ``lang``."""

from __future__ import annotations

import re

from ..build import RenderedPost
from .base import ERROR, WARNING, Finding, find_line
from .css import contrast, hex_of, text_styles
from .trees import body, document, root_lang

MIN_CONTRAST = 4.5  # WCAG AA, normal text: below is a warning
MIN_LARGE_CONTRAST = 3.0  # WCAG AA, large text (24 px, or 18.66 px bold); normal text below: error
WHITE = (255.0, 255.0, 255.0)
BLACK = (0.0, 0.0, 0.0)

#: Link texts that say nothing out of context (a screen reader lists links alone).
GENERIC_LINK_TEXT = frozenset(
    {
        "click here",
        "click",
        "here",
        "this",
        "link",
        "this link",
        "more",
        "read more",
        "learn more",
        "klicka här",
        "klicka",
        "här",
        "läs mer",
        "mer",
        "länk",
    }
)


def contrast_findings(r: RenderedPost) -> list[Finding]:
    """Body text against its background in the inlined email (light scheme)."""
    if r.email is None or r.post.newsletter is None:
        return []
    post = r.post
    seen: dict[tuple[str, str], tuple[str, float, int, str]] = {}
    for t in text_styles(r.email.html):
        if t.hidden:
            continue
        fg = t.color or BLACK
        bg = t.background or WHITE
        ratio = contrast(fg, bg)
        large = t.font_px >= 24 or (t.bold and t.font_px >= 18.66)
        if ratio >= (MIN_LARGE_CONTRAST if large else MIN_CONTRAST):
            continue
        level = WARNING if large or ratio >= MIN_LARGE_CONTRAST else ERROR
        key = (hex_of(fg), hex_of(bg))
        if key in seen:
            lvl, rt, n, sample = seen[key]
            seen[key] = (ERROR if ERROR in (lvl, level) else WARNING, min(rt, ratio), n + 1, sample)
        else:
            seen[key] = (level, ratio, 1, t.text)
    out = []
    for (fg_hex, bg_hex), (level, ratio, n, sample) in seen.items():
        snippet = sample[:40] + ("…" if len(sample) > 40 else "")
        line = find_line(post, sample[:30]) or post.line("newsletter")
        out.append(
            Finding(
                level,
                post.rel,
                line,
                f"text {fg_hex} on {bg_hex} has a contrast of {ratio:.2f}:1 in the email "
                f"({n} place{'s' if n > 1 else ''}, e.g. '{snippet}')",
                f"make it at least {MIN_CONTRAST}:1 (WCAG AA): darken the text or lighten "
                "the background in the email template's <style>",
                rule="contrast",
            )
        )
    return out


def _norm(text: str) -> str:
    return re.sub(r"[\s\u00a0]+", " ", re.sub(r"[.:!?…»›→>\"'“”]+", "", text)).strip().lower()


def link_text_findings(r: RenderedPost) -> list[Finding]:
    """Links in the body whose whole text is generic ("click here", "läs mer")."""
    out = []
    root = body(r.markup.html)
    for a in root.iter("a"):
        text = _norm(a.text_content())
        if text in GENERIC_LINK_TEXT:
            label = a.text_content().strip()
            out.append(
                Finding(
                    WARNING,
                    r.post.rel,
                    find_line(r.post, f"[{label}]") or find_line(r.post, label),
                    f"link text '{label}' says nothing about where it leads",
                    "screen readers list links out of context: use words that name the target, "
                    "e.g. [the full programme](…) instead of [click here](…)",
                    rule="link-text",
                )
            )
    return out


def heading_findings(r: RenderedPost) -> list[Finding]:
    """Heading levels in the body that skip one (the page's title is the h1)."""
    out = []
    level = 1
    root = body(r.markup.html)
    for h in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        n = int(h.tag[1])
        if n > level + 1:
            text = h.text_content().strip()
            out.append(
                Finding(
                    WARNING,
                    r.post.rel,
                    find_line(r.post, text),
                    f"heading '{text}' is an h{n} after an h{level}: a level is skipped",
                    f"use {'#' * (level + 1)} for it (the post's title is the h1); screen "
                    "readers navigate by heading level",
                    rule="heading-order",
                )
            )
        level = n
    return out


def lang_findings(r: RenderedPost) -> list[Finding]:
    """``lang`` on the page's and the email's ``<html>``, and on the email's body wrapper."""
    out = []
    missing = []
    if not (root_lang(r.page) or "").strip():
        missing.append("the blog page's <html>")
    if r.email is not None and r.post.newsletter is not None:
        root = document(r.email.html)
        if not (root.get("lang") or "").strip():
            missing.append("the email's <html>")
        body = root.find("body")
        wrapped = body is not None and any(
            (el.get("lang") or "").strip() for el in body.iterdescendants() if el.tag == "div"
        )
        if not wrapped:
            missing.append("the email's body wrapper (some clients drop <html>)")
    for where in missing:
        out.append(
            Finding(
                WARNING,
                r.post.rel,
                r.post.line("lang") if "lang" in r.post.line_of else r.post.line("title"),
                f"no lang attribute on {where}",
                'the template must set lang="{{ lang }}" there, so screen readers pick the '
                "right voice",
                rule="lang",
            )
        )
    return out


def check(r: RenderedPost) -> list[Finding]:
    return contrast_findings(r) + link_text_findings(r) + heading_findings(r) + lang_findings(r)


_STATES = re.compile(
    r":(hover|focus|focus-visible|active|visited|target)|::selection|::placeholder"
)


def stylesheet_findings(css: str, path: str) -> list[Finding]:
    """Text colours of the blog stylesheet against their background, light and dark:
    a rule's own background, else the page's (``body``)."""
    from .css import DARK_MEDIA, background_color, parse_color, resolve_vars, stylesheet_rules

    rules = stylesheet_rules(css)
    out: list[Finding] = []
    for scheme in ("light", "dark"):

        def applies(media: str, scheme: str = scheme) -> bool:
            if not media:
                return True
            return scheme == "dark" and bool(DARK_MEDIA.search(media)) and "max-width" not in media

        variables: dict[str, str] = {}
        merged: dict[str, dict[str, str]] = {}
        for media, selector, decls in rules:
            if not applies(media):
                continue
            if selector.strip() in (":root", "html"):
                variables.update({k: v for k, v in decls.items() if k.startswith("--")})
            for sel in selector.split(","):
                merged.setdefault(sel.strip(), {}).update(decls)
        page = (
            background_color(
                resolve_vars(
                    merged.get("body", {}).get("background", "")
                    or merged.get("body", {}).get("background-color", "")
                    or "#ffffff",
                    variables,
                )
            )
            or WHITE
        )
        for sel, decls in merged.items():
            if "color" not in decls or _STATES.search(sel) or sel.startswith("@"):
                continue
            fg = parse_color(resolve_vars(decls["color"], variables))
            own = decls.get("background-color") or decls.get("background")
            bg = background_color(resolve_vars(own, variables)) if own else page
            if fg is None or bg is None:
                continue
            ratio = contrast(fg, bg)
            if ratio >= MIN_CONTRAST:
                continue
            out.append(
                Finding(
                    WARNING if ratio >= MIN_LARGE_CONTRAST else ERROR,
                    path,
                    None,
                    f"'{sel}' in the {scheme} scheme: text {hex_of(fg)} on {hex_of(bg)} has "
                    f"a contrast of {ratio:.2f}:1",
                    f"make it at least {MIN_CONTRAST}:1 (WCAG AA)",
                    rule="contrast",
                )
            )
    return out
