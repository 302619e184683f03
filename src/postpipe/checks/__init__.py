"""The rules of DESIGN §4: findings with level, place, hint and a stable rule id.

``check_post`` runs every per-post rule on one rendered post (pure: no network,
no files written); its findings are cached with the render, so ``build``,
``check``, ``publish``, ``send`` and the preview share them. The families live
in their own modules and are listed in :data:`RULES`: ``placeholders``, ``a11y``
(contrast, link text, heading order, lang), ``darkmode``, ``clients`` (caniemail
data). Site-wide and slow or networked rules run in ``postpipe check`` only:
:func:`check_stylesheet`, ``spam`` (SpamAssassin) and ``links``
(``check --links``). README "Checks" lists every rule id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from urllib.parse import urlsplit

from ..build import RenderedPost
from ..config import Settings
from ..content import cut_slug
from ..errors import PostpipeError, TemplateError
from ..render.sanitize import unsafe_parts
from . import a11y, clients, darkmode, placeholders
from .base import ERROR, INFO, WARNING, Finding, prose_lines

CLIP_BYTES = 102 * 1024  # Gmail clips messages over ~102 KB of HTML
CLIP_WARN_BYTES = 90 * 1024  # leave room for what the provider adds
MAX_SUBJECT = 80
LONG_SLUG = 80  # longer slugs work (up to 200) but make poor URLs
MAX_EMAIL_IMAGE_BYTES = 1024 * 1024  # every image of one email together
_LOOPBACK = re.compile(r"^http://(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(/|$)")


def from_errors(errors: Iterable[PostpipeError]) -> list[Finding]:
    """Load errors (front matter, templates) as error findings."""
    return [
        Finding(ERROR, e.path or "", e.line, e.message, e.hint, rule=_load_rule(e)) for e in errors
    ]


def _load_rule(e: PostpipeError) -> str:
    if isinstance(e, TemplateError):
        return "template"
    if e.message.startswith("translation_key "):
        return "duplicate-translation"
    if "is already used by" in e.message:
        return "duplicate-slug"
    return "front-matter"


def _body_line(r: RenderedPost, needle: str) -> int | None:
    for i, line in enumerate(r.post.body.split("\n")):
        if needle in line:
            return r.post.body_line + i
    return None


def _unsafe_html_lines(r: RenderedPost, needles: list[tuple[str, ...]]) -> list[int | None]:
    """The .md line of each unsafe part, in order: the first line at or after the
    previous part's that holds one of its needles (case-insensitive), outside
    fenced code (Markdown escapes what is there)."""
    lines = [
        (line, text.lower())
        for line, text in prose_lines(r.post.body, r.post.body_line, blank_code=False)
    ]
    out: list[int | None] = []
    start = 0
    for options in needles:
        found = None
        for needle in options:
            needle = needle.lower()
            found = next((k for k in range(start, len(lines)) if needle in lines[k][1]), None)
            if found is not None:
                break
        if found is None:
            out.append(None)
            continue
        start = found
        out.append(lines[found][0])
    return out


def check_post(r: RenderedPost) -> list[Finding]:
    """Every rule for one rendered post."""
    post, out = r.post, []

    def add(
        level: str, line: int | None, message: str, hint: str | None = None, *, rule: str = ""
    ) -> None:
        out.append(Finding(level, post.rel, line, message, hint, rule=rule))

    refused = {src for src, _, _ in r.refused}
    for src, message, hint in r.refused:  # outside posts/, hidden, not an image
        add(ERROR, _body_line(r, src), message, hint, rule="unsafe-path")
    for href in r.markup.broken_links:
        if href.partition("#")[0] in refused:
            continue
        add(
            ERROR,
            _body_line(r, href),
            f"broken link to another post: '{href}'",
            "link to an existing post file, relative to this one, e.g. "
            "2026-10-22-summit.md (a draft counts as missing)",
            rule="broken-link",
        )
    for src, asset, alt in r.markup.images:
        line = _body_line(r, src)
        if asset is None and src not in refused and not re.match(r"^[a-z]+:", src):
            add(
                ERROR,
                line,
                f"image '{src}' does not exist",
                "put the image beside the post or in posts/images/",
                rule="missing-image",
            )
        if not alt.strip():
            add(
                ERROR,
                line,
                f"image '{src}' has no alt text",
                "write ![what the picture shows](path) so screen readers and mail clients "
                "that block images can describe it",
                rule="missing-alt",
            )
    for href in r.markup.links:
        if href.startswith("http://") and not _LOOPBACK.match(href):
            add(
                WARNING,
                _body_line(r, href),
                f"link to insecure http:// URL: {href}",
                "use https:// if the site supports it",
                rule="http-link",
            )
    out.extend(check_images(r))
    unsafe = unsafe_parts(r.markup.html)
    for part, line in zip(unsafe, _unsafe_html_lines(r, [u.needles for u in unsafe]), strict=True):
        add(
            WARNING,
            line or r.post.body_line,
            f"unsafe HTML in the body: {part.what}",
            "no mail client runs scripts; it is removed from the email and the feed "
            "(the blog page keeps it); remove it or embed with a link",
            rule="unsafe-html",
        )
    if len(post.slug) > LONG_SLUG:
        explicit = "slug" in post.line_of
        add(
            WARNING,
            post.line("slug" if explicit else "title"),
            f"the slug has {len(post.slug)} characters",
            ("shorten it" if explicit else "set slug: in the front matter")
            + f" to keep the URL readable, e.g. slug: {cut_slug(post.slug, 50)}",
            rule="long-slug",
        )
    if not r.summary_given:
        add(
            WARNING,
            post.line("title"),
            "no summary in the front matter",
            "add summary: one or two sentences; the first paragraph is used meanwhile",
            rule="no-summary",
        )
    out.extend(check_headings(r))
    out.extend(check_event(r))
    if r.email is not None and post.newsletter is not None:
        out.extend(check_email(r))
    for rule in RULES:
        out.extend(rule(r))
    return [replace(f, post=post.slug) for f in out]


MAX_HEADING = 100  # characters; longer is usually a paragraph that starts with '#'
_HEADING_HTML = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1>", re.S | re.I)
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)")
_HEADING_HINT = (
    "a line that starts with '#' and a space is a heading; write '\\#' for a '#' "
    "at the start of a paragraph, and start body sections at '## '"
)


def check_headings(r: RenderedPost) -> list[Finding]:
    """An ``<h1>`` in the body (the page has its title) or a heading over 100
    characters: usually a paragraph that starts with ``#``."""
    from ..render.markup import plain_text

    out: list[Finding] = []
    sources = _heading_lines(r)
    for n, m in enumerate(_HEADING_HTML.finditer(r.markup.html)):
        level, text = int(m.group(1)), " ".join(plain_text(m.group(2)).split())
        line = sources[n] if n < len(sources) else None
        if level == 1:
            out.append(
                Finding(
                    WARNING,
                    r.post.rel,
                    line,
                    f"a level-1 heading in the body: '{_short(text)}'",
                    "the title is the page's only <h1>; use '## ' for sections. " + _HEADING_HINT,
                    rule="heading-h1",
                )
            )
        elif len(text) > MAX_HEADING:
            out.append(
                Finding(
                    WARNING,
                    r.post.rel,
                    line,
                    f"a heading of {len(text)} characters: '{_short(text)}'",
                    f"keep headings under {MAX_HEADING} characters. " + _HEADING_HINT,
                    rule="heading-length",
                )
            )
    return out


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _heading_lines(r: RenderedPost) -> list[int]:
    """The .md line of each heading of the body, in order (ATX and setext,
    outside fenced code)."""
    found: list[int] = []
    prev_line, prev = 0, ""  # the previous line outside code, for setext underlines
    for line, text in prose_lines(r.post.body, r.post.body_line, blank_code=False):
        if _ATX.match(text):
            found.append(line)
        elif (
            prev_line == line - 1  # not right after a code fence
            and re.match(r"^ {0,3}(=+|-+) *$", text)
            and prev.strip()
            and not re.match(r"^ {0,3}([-*+] |\d+\. |#)", prev)
        ):
            found.append(line - 1)
        prev_line, prev = line, text
    return found


def check_event(r: RenderedPost) -> list[Finding]:
    """An event without a start: no ``Event`` in the structured data."""
    ev = r.post.event
    if ev is None or ev.start is not None:
        return []
    return [
        Finding(
            WARNING,
            r.post.rel,
            r.post.line("event"),
            "the event has no start, so the page carries no schema.org Event "
            "(search engines need a startDate) and no calendar links",
            "add event.start: 2027-02-11 09:30 (and event.end)",
            rule="event-start",
        )
    ]


def check_email(r: RenderedPost) -> list[Finding]:
    """Rules for the newsletter of a post."""
    post, email, out = r.post, r.email, []
    assert email is not None and post.newsletter is not None

    def add(level: str, key: str, message: str, hint: str | None = None, *, rule: str = "") -> None:
        out.append(Finding(level, post.rel, post.line(key), message, hint, rule=rule))

    size = len(email.html.encode())
    if size > CLIP_BYTES:
        add(
            ERROR,
            "newsletter",
            f"the email is {size / 1024:.0f} KB of HTML; Gmail clips "
            "mails over 102 KB and hides the unsubscribe link",
            "shorten the post or move parts of it to the web version",
            rule="email-size",
        )
    elif size > CLIP_WARN_BYTES:
        add(
            WARNING,
            "newsletter",
            f"the email is {size / 1024:.0f} KB of HTML, close to Gmail's 102 KB clipping limit",
            "the provider adds tracking; leave room",
            rule="email-size",
        )
    hrefs = email.links  # collected while the mail was rendered, before inlining
    unsub = email.unsubscribe_url
    if unsub not in hrefs or unsub not in email.text:
        add(
            ERROR,
            "newsletter",
            "the newsletter has no unsubscribe link",
            f"the email template must link to {{{{ email.unsubscribe_url }}}} ({unsub}) "
            "in both the HTML and the text part",
            rule="unsubscribe",
        )
    for bad in ("%7B%7B", "%7D%7D", "*%7C", "%7C*"):
        if bad in email.html:
            add(
                ERROR,
                "newsletter",
                f"a merge tag was mangled ('{bad}' in the HTML)",
                "merge tags must survive inlining; report this as a postpipe bug",
                rule="merge-tag",
            )
            break
    relative = [h for h in hrefs if h and not urlsplit(h).scheme and "{" not in h and "*|" not in h]
    if relative:
        add(
            ERROR,
            "newsletter",
            f"relative link in the email: {relative[0]}",
            "every link in an email must be absolute",
            rule="relative-link",
        )
    subject = post.newsletter.subject
    if len(subject) > MAX_SUBJECT:
        add(
            WARNING,
            "newsletter.subject",
            f"the subject has {len(subject)} characters",
            f"keep it under {MAX_SUBJECT}; inboxes cut it off",
            rule="subject-length",
        )
    if not email.preheader.strip():
        add(
            WARNING,
            "newsletter.preheader",
            "the preheader is empty",
            "add newsletter.preheader: the line inboxes show after the subject",
            rule="preheader",
        )
    elif not 40 <= len(email.preheader) <= 120:
        add(
            WARNING,
            "newsletter.preheader" if "newsletter.preheader" in post.line_of else "newsletter",
            f"the preheader has {len(email.preheader)} characters",
            "inboxes show 40 to 100 characters; aim for that",
            rule="preheader-length",
        )
    return out


#: The rule families beyond the ones above: each a pure function of one rendered
#: post returning its findings. Add a family here.
RULES: list[Callable[[RenderedPost], list[Finding]]] = [
    placeholders.check,
    a11y.check,
    darkmode.check,
    clients.check,
]


def check_stylesheet(settings: Settings) -> list[Finding]:
    """Site-wide rules: the blog stylesheet's text contrast (the site's own
    ``templates/static/style.css``, else the built-in one)."""
    from ..render.templating import PACKAGE_TEMPLATES

    own = settings.root / "templates" / "static" / "style.css"
    path = own if own.is_file() else PACKAGE_TEMPLATES / "static" / "style.css"
    rel = "templates/static/style.css" if own.is_file() else "style.css (built-in)"
    try:
        css = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return a11y.stylesheet_findings(css, rel)


def run_checks(rendered: Iterable[RenderedPost]) -> list[Finding]:
    findings: list[Finding] = []
    for r in rendered:
        findings.extend(check_post(r))
    return findings


def has_errors(findings: Iterable[Finding], strict: bool = False) -> bool:
    """An error, or with ``strict`` a warning too (an info never fails a check)."""
    return any(f.level == ERROR or (strict and f.level == WARNING) for f in findings)


# ---------------------------------------------------------------------------
# images (DESIGN §7): added after the other rules

#: alt text that is only a file name, as a camera or a phone names it
_FILE_NAME_ALT = re.compile(
    r"^\s*[\w.\- ]*\.(jpe?g|png|gif|webp|heic|heif|tiff?|bmp|avif|svg)\s*$", re.IGNORECASE
)
_HASHED = re.compile(r"\.[0-9a-f]{10}(?=\.\w+$)")  # the fingerprint in an asset name
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\s(src|width)="([^"]*)"')


def check_images(r: RenderedPost) -> list[Finding]:
    """Alt text that is a file name (error); in the email: an image shown wider than
    half its pixels (blurry on high-density screens) and images over 1 MB in all."""
    post, out = r.post, []
    alts = [(src, alt, _body_line(r, src)) for src, _, alt in r.markup.images]
    if post.image is not None:
        alts.append((post.image.ref, post.image.alt, post.line("image_alt")))
    for i, s in enumerate(post.speakers):
        if s.photo is not None:
            alts.append((s.photo.ref, s.photo.alt, post.line(f"speakers[{i}].photo_alt")))
    for src, alt, line in alts:
        if _FILE_NAME_ALT.match(alt):
            out.append(
                Finding(
                    ERROR,
                    post.rel,
                    line,
                    f"the alt text of image '{src}' is a file name ('{alt.strip()}')",
                    "describe what the picture shows, e.g. 'Speakers on stage at the summit'; "
                    "screen readers read the alt text aloud",
                    rule="alt-file-name",
                )
            )
    if r.email is None:
        return out
    by_name = {a.name: a for a in r.assets.values()}
    # an email file is narrower than its picture when the picture is tall: the
    # picture's own pixels decide whether it can be sharp
    original = {p.email.name: p.master for p in r.pictures.values() if p.email is not None}
    total, seen = 0, set()
    for tag in _IMG_TAG.findall(r.email.html):
        attrs = dict(_ATTR.findall(tag))
        path = urlsplit(attrs.get("src", "")).path.lstrip("/")
        asset = next((a for n, a in by_name.items() if path == n or path.endswith("/" + n)), None)
        if asset is None:
            continue
        if asset.name not in seen:
            seen.add(asset.name)
            total += asset.source.stat().st_size
        shown = int(attrs["width"]) if attrs.get("width", "").isdigit() else 0
        source = original.get(asset.name, asset)
        pixels, known = source.width, _HASHED.sub("", source.name.rsplit("/", 1)[-1])
        if pixels and shown * 2 > pixels:
            out.append(
                Finding(
                    WARNING,
                    post.rel,
                    post.line("newsletter"),
                    f"image '{known}' is shown {shown} px wide in the "
                    f"email but has {pixels} px: blurry on high-density screens",
                    f"use a picture at least {shown * 2} px wide",
                    rule="image-blurry",
                )
            )
    if total > MAX_EMAIL_IMAGE_BYTES:
        out.append(
            Finding(
                WARNING,
                post.rel,
                post.line("newsletter"),
                f"the images of the email weigh {total // 1024} KB together",
                "use fewer pictures, or link to a gallery; readers on mobile data "
                "download every one (keep them under 1 MB together)",
                rule="email-image-weight",
            )
        )
    return out


__all__ = [
    "ERROR",
    "INFO",
    "RULES",
    "WARNING",
    "Finding",
    "check_email",
    "check_images",
    "check_post",
    "check_stylesheet",
    "from_errors",
    "has_errors",
    "run_checks",
]
