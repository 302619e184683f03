"""The newsletter: inlined HTML, plain text and the MIME message.

Order of work for the HTML: render the template, protect merge tags, make
every link absolute (UTM on links to our own site), cap image sizes, inline
the CSS (``inline_css`` is the only function that knows the inliner), and put
the merge tags back byte for byte.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UniqueUnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8, Policy
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import jinja2
import lxml.html
from markupsafe import Markup

from ..errors import ConfigError
from ..headers import MailAddress, header_problem, parse_address
from . import i18n
from .links import TRACK_SUFFIX, absolute, add_query, is_own, parse_fragment, serialize_children
from .sanitize import sanitize
from .templating import render

MAX_IMAGE_WIDTH = 600  # the email column; the hero image spans it
BODY_IMAGE_WIDTH = 536  # the column minus the body padding (Outlook ignores max-width)

#: The unsubscribe merge tag each mailing-list provider replaces per recipient.
UNSUBSCRIBE_TAGS: dict[str, str] = {
    "mailchimp": "*|UNSUB|*",
    "listmonk": "{{ UnsubscribeURL }}",
    "buttondown": "{{ unsubscribe_url }}",
    "brevo": "{{ unsubscribe }}",
}

#: The suffix that makes a list count a link's clicks, for lists that need one (the
#: others track every link by themselves: Mailchimp and Brevo by default, Buttondown
#: when the newsletter's click tracking is on).
TRACK_LINKS: dict[str, str] = {"listmonk": TRACK_SUFFIX}


def track_suffix_for(list_target: str, enabled: bool = True) -> str:
    """What :class:`LinkPolicy` appends to each link for ``list_target`` ("" for none)."""
    return TRACK_LINKS.get(list_target, "") if enabled else ""


# Template and merge tags that must survive inlining untouched.
_MERGE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\*\|.*?\|\*|\{email\}", re.S)


def unsubscribe_for(list_target: str, template: str) -> str:
    """The unsubscribe link for a list target: its merge tag, or our URL template."""
    return UNSUBSCRIBE_TAGS.get(list_target, template)


def personalise(text: str, email: str) -> str:
    """Fill ``{email}`` in an unsubscribe URL template for one recipient."""
    return text.replace("{email}", quote(email, safe="@"))


# ---------------------------------------------------------------------------
# inlining


def _protect(html: str) -> tuple[str, dict[str, str]]:
    saved: dict[str, str] = {}

    def keep(m: re.Match[str]) -> str:
        token = f"ppmergetag{len(saved)}x"
        saved[token] = m.group(0)
        return token

    return _MERGE_TAG.sub(keep, html), saved


def _restore(html: str, saved: Mapping[str, str]) -> str:
    for token, original in saved.items():
        html = html.replace(token, original)
    return html


def inline_css(html: str, engine: str = "premailer") -> str:
    """Move the CSS of ``<style>`` into ``style=""``; keep ``@media`` rules in the head.

    Merge tags (``*|UNSUB|*``, ``{{ … }}``) survive byte for byte; ``!important``
    is kept in the media queries so phone rules beat the inline styles.
    """
    protected, saved = _protect(html)
    return _restore(_inline_protected(protected, engine), saved)


def _inline_protected(html: str, engine: str) -> str:
    """The engine itself, on HTML whose merge tags are already protected."""
    if engine == "premailer":
        return _premailer(html)
    if engine == "css-inline":
        return _css_inline(html)
    raise ConfigError(f"unknown inliner '{engine}'", hint="use premailer or css-inline")


_PREMAILER: Any = None


def _premailer_class() -> Any:
    """premailer's ``Premailer`` with the parsed stylesheet memoised.

    Every newsletter carries the same stylesheet; premailer re-parses and
    re-serialises it for each mail (its shared 128-entry cache is flooded by
    the inline styles). Memoising ``_parse_style_rules`` per stylesheet text
    halves the time; a larger cache keeps the inline-style parses too.
    """
    global _PREMAILER
    if _PREMAILER is None:
        os.environ.setdefault("PREMAILER_CACHE_MAXSIZE", "2000")  # read at import
        from premailer import Premailer

        memo: dict[tuple[Any, ...], Any] = {}

        class MemoPremailer(Premailer):
            def _parse_style_rules(self, css_body: str, ruleset_index: int) -> Any:
                key = (css_body, ruleset_index, self.strip_important)
                if key not in memo:
                    memo[key] = super()._parse_style_rules(css_body, ruleset_index)
                return memo[key]

            def _css_rules_to_string(self, rules: Any) -> str:
                # the kept @media rules are the memoised objects above: serialise once
                key = ("rules", tuple(id(r) for r in rules), self.strip_important)
                if key not in memo:
                    memo[key] = (rules, super()._css_rules_to_string(rules))
                return memo[key][1]

        _PREMAILER = MemoPremailer
    return _PREMAILER


def _premailer(html: str) -> str:
    return _premailer_class()(
        html,
        strip_important=False,
        keep_style_tags=False,
        remove_classes=False,
        disable_validation=True,
        align_floating_images=False,
        allow_network=False,
        # keep our width/height attributes: Outlook needs them, CSS "auto" is not one
        disable_basic_attributes=["width", "height"],
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)


def _css_inline(html: str) -> str:
    try:
        import css_inline
    except ImportError:
        raise ConfigError(
            "POSTPIPE_INLINER=css-inline but css-inline is not installed",
            hint="pip install 'postpipe[fast]' or set POSTPIPE_INLINER=premailer",
        ) from None
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False).inline(html)


# ---------------------------------------------------------------------------
# links and images


@dataclass(frozen=True)
class LinkPolicy:
    page_url: str  # where the post is published (relative links resolve here)
    site_url: str  # where /paths resolve
    own: tuple[str, ...]  # URL prefixes of our own sites (get UTM)
    utm: str  # query string to append, already formatted
    #: image URL on our site → where the CMS serves it (its media library)
    media: Mapping[str, str] = field(default_factory=dict)
    #: image URL on our site → its email file (twice the shown width, ≤ 1200 px),
    #: linked where the CMS serves it (``media``) when it does
    images: Mapping[str, str] = field(default_factory=dict)
    #: appended to every http(s) link of the mail so the list counts its clicks
    #: (listmonk: ``@TrackLink``); the plain text and the checks see the links without it
    track: str = ""

    def href(self, href: str) -> str:
        """A link of the mail as readers get it in both parts: absolute, with the UTM
        query when it points to our own site (a page or a file, such as the .ics)."""
        url = absolute(href, self.page_url, self.site_url)
        if self.utm and is_own(url, self.own):
            url = add_query(url, self.utm)
        return url


def track_links(doc: lxml.html.HtmlElement, suffix: str) -> None:
    """Append ``suffix`` to every ``<a href="http…">`` (merge tags and mailto: stay as they are)."""
    for el in doc.iter("a"):
        href = el.get("href") or ""
        if href.startswith(("http://", "https://")) and not href.endswith(suffix):
            el.set("href", href + suffix)


def prepare_links(
    root: lxml.html.HtmlElement, policy: LinkPolicy, max_width: int = MAX_IMAGE_WIDTH
) -> None:
    """Absolute URLs everywhere, UTM on own links, images capped at ``max_width``."""
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if el.tag == "a" and "footnote-backref" in (el.get("class") or ""):
            el.drop_tree()  # "jump back" arrows make no sense in a mail
            continue
        href = el.get("href")
        if href is not None and not _MERGE_TAG.search(href) and "ppmergetag" not in href:
            if el.tag == "a":
                el.set("href", policy.href(href))
            else:
                el.set("href", absolute(href, policy.page_url, policy.site_url))
        if el.tag == "img":
            src = el.get("src", "")
            if "ppmergetag" not in src:
                url = absolute(src, policy.page_url, policy.site_url)
                # the image's email file, where the CMS serves it if it does
                small = policy.images.get(url, url)
                el.set("src", policy.media.get(small) or policy.media.get(url) or small)
            el.attrib.pop("loading", None)
            if el.get("alt") is None:
                el.set("alt", "")
            _cap_image(el, max_width)


def _cap_image(img: lxml.html.HtmlElement, max_width: int) -> None:
    try:
        width = int(img.get("width", "0"))
        height = int(img.get("height", "0"))
    except ValueError:
        return
    if width > max_width:
        if height:
            img.set("height", str(round(height * max_width / width)))
        img.set("width", str(max_width))


def capped(width: int | None, height: int | None) -> tuple[int, int]:
    """Image size capped to the 600 px email column, keeping the ratio."""
    if not width or not height:
        return MAX_IMAGE_WIDTH, 0
    if width <= MAX_IMAGE_WIDTH:
        return width, height
    return MAX_IMAGE_WIDTH, round(height * MAX_IMAGE_WIDTH / width)


# ---------------------------------------------------------------------------
# plain text

_BLOCK = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "table",
    "hr",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "nav",
    "thead",
    "tbody",
    "tr",
}


def fill_words(words: list[str], width: int, first: str = "", rest: str = "") -> str:
    """Greedy wrap at spaces, never breaking a word (a URL longer than the line
    stands alone). The same lines as ``textwrap.fill(" ".join(words), width,
    initial_indent=first, subsequent_indent=rest, break_long_words=False,
    break_on_hyphens=False)``, in a fraction of the time (a test compares them)."""
    lines: list[str] = []
    line = ""
    for word in words:
        if not line:
            line = (rest if lines else first) + word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = rest + word
    if line:
        lines.append(line)
    return "\n".join(lines)


def underlined(text: str, char: str, width: int = 76) -> str:
    """A heading wrapped to ``width``, underlined as long as its longest line."""
    lines = fill_words(text.split(), width)
    return f"{lines}\n{char * max((len(ln) for ln in lines.split(chr(10))), default=0)}"


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class _TextRenderer:
    """Turns a parsed HTML fragment into wrapped plain text with numbered links."""

    def __init__(self, width: int = 76) -> None:
        self.width = width
        self.links: list[str] = []

    def link_number(self, url: str) -> int:
        if url not in self.links:
            self.links.append(url)
        return self.links.index(url) + 1

    # inline content -----------------------------------------------------
    def inline(self, el: lxml.html.HtmlElement) -> str:
        parts = [el.text or ""]
        for child in el:
            parts.append(self.inline_el(child))
            parts.append(child.tail or "")
        return "".join(parts)

    def inline_el(self, el: lxml.html.HtmlElement) -> str:
        if not isinstance(el.tag, str):
            return ""
        tag = el.tag
        if tag == "br":
            return "\n"
        if tag == "img":
            alt = (el.get("alt") or "").strip()
            return f"[{alt}]" if alt else ""
        if tag in ("script", "style"):
            return ""
        text = self.inline(el)
        if tag == "a":
            href = el.get("href") or ""
            if "footnote-ref" in (el.get("class") or ""):
                return text  # the number; the note itself follows at the end
            label = " ".join(text.split())
            if not href or href.startswith("#"):
                return text
            if label in (href, href.removeprefix("mailto:")):
                return f"<{href.removeprefix('mailto:')}>"
            return f"{text} [{self.link_number(href)}]"
        if tag == "sup":
            mark = "".join(text.split())
            return mark.translate(_SUPERSCRIPT) if mark.isdigit() else text
        if tag == "code":
            return f"`{text}`"
        return text

    # blocks --------------------------------------------------------------
    def blocks(self, el: lxml.html.HtmlElement) -> list[str]:
        """Render the children of a container: inline runs become paragraphs."""
        out: list[str] = []
        run: list[str] = [el.text or ""]

        def flush() -> None:
            text = " ".join("".join(run).split(" ")).strip()
            if text.strip():
                out.append(self.wrap(text))
            run.clear()

        for child in el:
            if isinstance(child.tag, str) and child.tag in _BLOCK:
                flush()
                out.extend(self.block(child))
                run.append(child.tail or "")
            else:
                run.append(self.inline_el(child))
                run.append(child.tail or "")
        flush()
        return out

    def wrap(self, text: str, indent: str = "", first: str | None = None) -> str:
        lines = []
        for i, para in enumerate(text.split("\n")):
            lead = first if (first is not None and i == 0) else indent
            lines.append(fill_words(para.split(), self.width, lead, indent) or lead.rstrip())
        return "\n".join(lines)

    def block(self, el: lxml.html.HtmlElement) -> list[str]:
        tag = el.tag
        if tag == "p" or tag == "figcaption" or tag == "dt":
            text = " ".join(self.inline(el).split(" ")).strip()
            return [self.wrap(text)] if text else []
        if tag in ("h1", "h2"):
            return [underlined(self.inline(el), "=" if tag == "h1" else "-", self.width)]
        if tag in ("h3", "h4", "h5", "h6"):
            mark = "#" * int(tag[1]) + " "
            return [fill_words(self.inline(el).split(), self.width, mark, " " * len(mark))]
        if tag == "hr":
            return ["-" * 20]
        if tag == "pre":
            # code keeps its lines (a break changes a command or a config line); mail
            # clients wrap them on screen, as the HTML part's pre-wrap does
            code = el.text_content().rstrip("\n")
            return ["\n".join("    " + line for line in code.split("\n"))]
        if tag in ("ul", "ol"):
            return [self.list_block(el)]
        if tag == "blockquote":
            inner = self.indented(el, "> ")
            return [inner] if inner else []
        if tag == "dd":
            inner = self.indented(el, "    ")
            return [inner] if inner else []
        if tag == "table":
            return [self.table(el)]
        return self.blocks(el)

    def indented(self, el: lxml.html.HtmlElement, prefix: str) -> str:
        saved = self.width
        self.width = max(20, saved - len(prefix))
        try:
            text = "\n\n".join(self.blocks(el))
        finally:
            self.width = saved
        return "\n".join((prefix + line).rstrip() for line in text.split("\n"))

    def list_block(self, el: lxml.html.HtmlElement) -> str:
        ordered = el.tag == "ol"
        start = int(el.get("start", "1")) if (el.get("start") or "1").isdigit() else 1
        items = []
        for i, li in enumerate(c for c in el if c.tag == "li"):
            marker = f"{start + i}. " if ordered else "- "
            saved = self.width
            self.width = max(20, saved - len(marker))
            # a tight item (no paragraphs) keeps its nested list on the next line
            sep = "\n\n" if any(c.tag == "p" for c in li) else "\n"
            try:
                body = sep.join(self.blocks(li))
            finally:
                self.width = saved
            lines = body.split("\n") or [""]
            pad = " " * len(marker)
            items.append("\n".join([marker + lines[0]] + [(pad + ln).rstrip() for ln in lines[1:]]))
        return "\n".join(items)

    def table(self, el: lxml.html.HtmlElement) -> str:
        rows: list[list[str]] = []
        header: list[str] | None = None
        for tr in el.iter("tr"):
            cells = [" ".join(self.inline(c).split()) for c in tr if c.tag in ("td", "th")]
            if header is None and all(c.tag == "th" for c in tr if c.tag in ("td", "th")):
                header = cells
            else:
                rows.append(cells)
        ncols = max([len(r) for r in rows] + [len(header or [])] + [0])
        table = ([header] if header else []) + rows
        for r in table:
            r.extend([""] * (ncols - len(r)))
        widths = [max((len(r[i]) for r in table), default=0) for i in range(ncols)]
        if sum(widths) + 3 * (ncols - 1) <= self.width:

            def fmt(r: list[str]) -> str:
                return " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

            lines = []
            if header:
                lines.append(fmt(header))
                lines.append("-+-".join("-" * w for w in widths))
            lines.extend(fmt(r) for r in rows)
            return "\n".join(lines)
        # too wide: one "Header: value" line per cell, a blank line between rows
        names = header or [""] * ncols
        out = []
        for r in rows:
            out.append(
                "\n".join(
                    self.wrap(f"{n}: {c}" if n else c, indent="  ")
                    for n, c in zip(names, r, strict=True)
                    if c
                )
            )
        return "\n\n".join(out)


def html_to_text(
    html: str | lxml.html.HtmlElement, width: int = 76, links_label: str = "Links"
) -> str:
    """Plain text of an HTML fragment: headings marked, lists, ``> `` quotes, tables
    aligned, links as ``text [n]`` with a numbered list at the end."""
    root = parse_fragment(html) if isinstance(html, str) else html
    r = _TextRenderer(width)
    text = "\n\n".join(b for b in r.blocks(root) if b.strip())
    if r.links:
        label = links_label
        # a URL too long for "[n] url" on one line stands alone on the next
        refs = "\n".join(
            f"[{i}] {url}" if len(f"[{i}] {url}") <= width else f"[{i}]\n{url}"
            for i, url in enumerate(r.links, 1)
        )
        text += f"\n\n{label}:\n{refs}"
    return text.strip() + "\n"


def event_text(post: Mapping[str, Any], t: Mapping[str, str], width: int = 76) -> str:
    """The event box as plain text, wrapped to ``width`` (a URL stands on its own line)."""
    lines: list[str] = []

    def fact(label: str, value: str) -> None:
        lines.append(fill_words(f"{label}: {value}".split(), width, "", "  "))

    ev = post.get("event")
    if ev:
        lines.append(fill_words(ev["name"].split(), width))
        if ev["when"]:
            fact(t["when"], ev["when"])
        if ev["location"]:
            fact(t["where"], ev["location"])
        if ev["organisers"]:
            fact(t["organisers"], ", ".join(ev["organisers"]))
        if ev["url"]:
            lines.append(ev["url"])
    cal = post.get("calendar")
    if cal:
        lines.append("")
        lines.append(f"{t['add_to_calendar']}:")
        for label, url in (
            (t["calendar_file"], cal["ics_url"]),
            (t["google_calendar"], cal["google"]),
            (t["outlook_calendar"], cal["outlook"]),
        ):
            lines.append(f"- {label}:")
            lines.append(url)
    if post.get("speakers"):
        if lines:
            lines.append("")
        lines.append(f"{t['speakers']}:")
        for s in post["speakers"]:
            detail = ", ".join(x for x in (s["role"], s["affiliation"]) if x)
            text = s["name"] + (f" ({detail})" if detail else "")
            if s["talk"]:
                text += f": {s['talk']}"
            lines.append(fill_words(text.split(), width, "- ", "  "))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# the newsletter


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str
    view_url: str
    unsubscribe_url: str
    #: every href and src of the mail (merge tags as written), for the checks
    links: tuple[str, ...] = ()


def render_newsletter(
    env: jinja2.Environment,
    *,
    post: Mapping[str, Any],
    site: Mapping[str, Any],
    subject: str,
    preheader: str,
    view_url: str,
    unsubscribe_url: str,
    sender_name: str,
    sender_email: str,
    links: LinkPolicy,
    inliner: str = "premailer",
) -> RenderedEmail:
    """Render, absolutise and inline one newsletter; returns HTML and plain text."""
    lang = post["lang"]
    post = own_links(post, links)  # the text part links them as the HTML part does
    t = dict(i18n.labels(lang))
    t["why_received"] = t["why_received"].format(site=site["title"])
    body = parse_fragment(sanitize(str(post["html"])))  # no mail client runs scripts
    prepare_links(body, links, BODY_IMAGE_WIDTH)
    body_html = serialize_children(body)
    hero_w, hero_h = (
        capped(post["image"]["width"], post["image"]["height"])
        if post["image"]
        else (MAX_IMAGE_WIDTH, 0)
    )
    email = {
        "subject": subject,
        "preheader": preheader,
        "view_url": links.href(view_url),
        "unsubscribe_url": unsubscribe_url,
        "sender_name": sender_name,
        "sender_email": sender_email,
        "body_html": Markup(body_html),
        "body_text": html_to_text(body, links_label=t["links"]),
        "event_text": event_text(post, t),
        "subject_text": underlined(subject, "="),
        "hero_width": hero_w,
        "hero_height": hero_h,
    }
    context = {"site": site, "lang": lang, "t": t, "post": post, "email": email}
    html = render(env, "email/newsletter.html", **context)
    text = render(env, "email/newsletter.txt", **context)
    protected, saved = _protect(html)
    doc = lxml.html.document_fromstring(protected)
    prepare_links(doc, links)
    found = tuple(_restore(value, saved) for value in _hrefs(doc))
    if links.track:
        track_links(doc, links.track)
    html = lxml.html.tostring(doc, encoding="unicode", method="html", doctype="<!DOCTYPE html>")
    # inline while the merge tags are still protected (inline_css's work, minus a
    # second protect pass over the whole mail)
    html = _restore(_inline_protected(html, inliner), saved)
    return RenderedEmail(
        subject=subject,
        preheader=preheader,
        html=html,
        text=_tidy_text(text),
        view_url=view_url,
        unsubscribe_url=unsubscribe_url,
        links=found,
    )


#: RFC 5322 §2.1.1: a line of a message is at most 998 octets (78 is a SHOULD: prose
#: is wrapped to 76, a code line or a URL is kept whole up to this limit)
MAX_LINE = 998
#: starts each further piece of a line cut at :data:`MAX_LINE`
CONTINUED = "↪ "


def own_links(post: Mapping[str, Any], links: LinkPolicy) -> dict[str, Any]:
    """``post`` with the links the templates write outside the body (other editions,
    the event, "Add to calendar") as :meth:`LinkPolicy.href` makes them, so the
    plain text gets the URLs the HTML part gets (``prepare_links`` leaves them be)."""
    out = dict(post)
    out["translations"] = [
        {**tr, "url": links.href(tr["url"])} for tr in post.get("translations") or ()
    ]
    ev = post.get("event")
    if ev and ev.get("url"):
        out["event"] = {**ev, "url": links.href(ev["url"])}
    cal = post.get("calendar")
    if cal:
        out["calendar"] = {
            **cal,
            **{k: links.href(cal[k]) for k in ("ics_url", "google", "outlook")},
        }
    return out


def _tidy_text(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return "\n".join(piece for line in text.split("\n") for piece in cut_line(line))


def cut_line(line: str, limit: int = MAX_LINE) -> list[str]:
    """``line`` as it is if it fits ``limit`` UTF-8 octets; else pieces that do, the
    later ones repeating its indent and quote marks and starting with
    :data:`CONTINUED`."""
    if len(line.encode("utf-8")) <= limit:
        return [line]
    lead = line[: len(line) - len(line.lstrip(" >"))]
    pieces: list[str] = []
    piece, size = "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            pieces.append(piece)
            piece = lead + CONTINUED
            size = len(piece.encode("utf-8"))
        piece += ch
        size += n
    pieces.append(piece)
    return pieces


def build_message(
    *,
    subject: str,
    html: str,
    text: str,
    sender_name: str,
    sender_email: str,
    reply_to: str,
    to: str | tuple[str, str],
    unsubscribe_url: str,
    date: datetime,
    key: str | None = None,
    preheader: str | None = None,
    message_id: str | None = None,
    boundary: str | None = None,
) -> EmailMessage:
    """The MIME message: multipart/alternative, UTF-8, RFC 8058 unsubscribe headers.

    ``to`` is an address (``"Name <address>"`` or bare) or a ``(name, address)``
    pair. Addresses may be internationalised: domains go out in their ASCII
    (IDNA) form; only a non-ASCII local part (``björn@…``) makes the message an
    RFC 6532 one with UTF-8 headers (``msg.policy.utf8``), which needs a server
    with SMTPUTF8. Subject and preheader of any length are folded to lines of at
    most 78 characters, RFC 2047-encoded where they are not ASCII.

    ``message_id`` (``<id@domain>``) and ``boundary`` replace the random ones, for
    a message whose bytes must depend on its content only (the spam check's cache).
    """
    if isinstance(to, str):  # a bare address, or "Name <address>"
        to = parseaddr(to) if "<" in to else ("", to)
    to_name, to_email = to
    for name, value in (("subject", subject), ("preheader", preheader or "")):
        problem = header_problem(value)
        if problem:  # validated when the post is loaded; this is the last guard
            raise ValueError(f"the newsletter {name} {problem}")
    sender, reply, rcpt = (parse_address(a) for a in (sender_email, reply_to, to_email))
    utf8 = any(a.needs_smtputf8 for a in (sender, reply, rcpt))
    policy = (SMTPUTF8 if utf8 else SMTP).clone(header_factory=_HEADERS)

    def address(name: str, a: MailAddress) -> Address:
        return Address(name, a.local, a.domain if utf8 else a.ascii_domain)

    msg = EmailMessage(policy=policy)
    msg["Subject"] = subject
    msg["From"] = address(sender_name, sender)
    msg["To"] = address(to_name, rcpt)
    msg["Reply-To"] = address("", reply)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id or make_msgid(idstring=key, domain=sender.ascii_domain)
    msg["MIME-Version"] = "1.0"
    # a URI in a header is ASCII: percent-encode any other character (UTF-8)
    unsubscribe_url = re.sub(r"[^\x21-\x7e]", lambda m: quote(m.group()), unsubscribe_url)
    unsub = [f"<{unsubscribe_url}>"]
    if not unsubscribe_url.startswith("mailto:"):
        mailbox = f"{quote(sender.local, safe=_LOCAL_SAFE)}@{sender.ascii_domain}"
        unsub.append(f"<mailto:{mailbox}?subject=unsubscribe>")
    msg["List-Unsubscribe"] = ", ".join(unsub)
    if unsubscribe_url.startswith("https://"):
        # RFC 8058 one-click needs an HTTPS URI in List-Unsubscribe
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if key:
        msg["X-Postpipe-Key"] = key
    if preheader:
        msg["X-Preheader"] = preheader
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    if boundary:
        msg.set_boundary(boundary)
    return msg


# characters left as they are when a mailto local part is percent-encoded
_LOCAL_SAFE = "!$'*+-.=^_`{|}~"
# RFC 2047: an encoded word is at most 75 characters; B encoding of UTF-8
_EW_OVERHEAD = len("=?utf-8?b??=")
_EW_MAX = 75


def fold_text(name: str, value: str, policy: Policy) -> str:
    """``name: value`` folded to ``policy.max_line_length`` (78) characters per line.

    The stdlib folder drops a space between encoded words in some long
    non-ASCII subjects (CPython 3.11/3.12), so unstructured headers we write
    (Subject, X-Preheader) are folded here: plain words stay as they are, runs of
    words that need encoding (non-ASCII without SMTPUTF8, too long for a line, or
    looking like an encoded word) become B-encoded words, each whole characters.
    """
    limit = policy.max_line_length or 78
    utf8 = bool(getattr(policy, "utf8", False))

    def size(s: str) -> int:
        return len(s.encode("utf-8")) if utf8 else len(s)

    def plain(word: str) -> bool:
        return (utf8 or word.isascii()) and "=?" not in word and size(word) <= limit - 1

    # words split on single spaces: an empty word is one extra space; it joins an
    # encoded run before it (so no space is lost between two encoded words)
    tokens: list[tuple[bool, list[str]]] = []  # (encoded, words)
    for word in value.split(" "):
        encode = not plain(word) if word else bool(tokens and tokens[-1][0])
        if tokens and encode and tokens[-1][0]:
            tokens[-1][1].append(word)
        else:
            tokens.append((encode, [word]))

    lines: list[str] = []
    line = f"{name}:"

    def place(piece: str, *, may_break: bool = True) -> None:
        nonlocal line
        if size(line) + 1 + size(piece) > limit and may_break and line.strip():
            lines.append(line)
            line = ""
        line += " " + piece

    for encoded, words in tokens:
        if not encoded:
            for word in words:
                place(word, may_break=bool(word))
            continue
        rest = " ".join(words)
        while rest:
            room = min(_EW_MAX, limit - size(line) - 1)
            if room < _EW_OVERHEAD + 8:  # not even two characters: a new line
                lines.append(line)
                line, room = "", min(_EW_MAX, limit - 1)
            n, used = 0, 0
            while n < len(rest):
                b = len(rest[n].encode("utf-8"))
                if _EW_OVERHEAD + 4 * ((used + b + 2) // 3) > room:
                    break
                n, used = n + 1, used + b
            chunk, rest = rest[: max(n, 1)], rest[max(n, 1) :]
            encoded_word = base64.b64encode(chunk.encode("utf-8")).decode("ascii")
            line += f" =?utf-8?b?{encoded_word}?="
    lines.append(line)
    return policy.linesep.join(lines) + policy.linesep


class _FoldedText(UniqueUnstructuredHeader, BaseHeader):
    """Subject and X-Preheader, folded by :func:`fold_text`."""

    max_count: ClassVar[Literal[1]] = 1

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        # the text as written: a subject that looks like an encoded word stays as it is
        kwds["parse_tree"] = cls.value_parser(value)
        kwds["decoded"] = value

    def fold(self, *, policy: Policy) -> str:
        return fold_text(self.name, str(self), policy)


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", _FoldedText)
_HEADERS.map_to_type("x-preheader", _FoldedText)


def iter_hrefs(html: str) -> Iterator[str]:
    """Every href and src of a document (for checks)."""
    protected, saved = _protect(html)
    for value in _hrefs(lxml.html.document_fromstring(protected)):
        yield _restore(value, saved)


def _hrefs(doc: lxml.html.HtmlElement) -> Iterator[str]:
    for el in doc.iter():
        if isinstance(el.tag, str):
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is not None:
                    yield value
