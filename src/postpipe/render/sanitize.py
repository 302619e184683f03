"""What of a post body may leave the site: the one sanitiser for the email and the feed.

A post body is Markdown, and Markdown passes raw HTML through. The blog page
keeps what the author wrote (``check`` warns about scripts and the like); the
newsletter and the Atom feed get the body through :func:`sanitize`, which keeps
every tag and attribute the Markdown extensions and the templates produce and
drops scripts, frames, plug-ins, event handlers and script URLs.
:func:`unsafe_parts` names what :func:`sanitize` would drop for those reasons,
for the warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

#: Dropped with their content (a script's text must not reach the text part either).
REMOVED_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "noscript",
        "noembed",
        "noframes",
        "template",
        "xmp",
    }
)
#: The tags the report of :func:`unsafe_parts` names (the rest of the list above is
#: unusual enough to be named too, when it appears).
_ACTIVE_TAGS = REMOVED_WITH_CONTENT - {"style"} | {"base", "form", "meta", "link"}

#: Every tag Markdown, its extensions ("extra", "toc", "sane_lists", "smarty") and an
#: author's harmless raw HTML produce. Tags not listed are dropped; their text stays.
TAGS = frozenset(
    {
        "a",
        "abbr",
        "acronym",
        "address",
        "article",
        "aside",
        "b",
        "bdi",
        "bdo",
        "big",
        "blockquote",
        "br",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "colgroup",
        "data",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "font",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "main",
        "mark",
        "nav",
        "ol",
        "p",
        "picture",
        "pre",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "section",
        "small",
        "source",
        "span",
        "strike",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "wbr",
    }
)

#: Attributes allowed on every tag (``data-*`` and ``aria-*`` too, see below).
_GENERIC = {
    "align",
    "class",
    "dir",
    "height",
    "hidden",
    "id",
    "lang",
    "role",
    "style",
    "title",
    "translate",
    "valign",
    "width",
}
ATTRIBUTES: dict[str, set[str]] = {
    "*": _GENERIC,
    "a": {"href", "hreflang", "name", "rel", "target", "type"},
    "abbr": set(),
    "blockquote": {"cite"},
    "col": {"span"},
    "colgroup": {"span"},
    "data": {"value"},
    "del": {"cite", "datetime"},
    "details": {"open"},
    "font": {"color", "face", "size"},
    "img": {"alt", "border", "loading", "src", "srcset", "sizes", "decoding"},
    "ins": {"cite", "datetime"},
    "li": {"value"},
    "ol": {"reversed", "start", "type"},
    "q": {"cite"},
    "source": {"media", "sizes", "src", "srcset", "type"},
    "table": {"bgcolor", "border", "cellpadding", "cellspacing", "summary"},
    "td": {"bgcolor", "colspan", "headers", "rowspan", "scope"},
    "th": {"abbr", "bgcolor", "colspan", "headers", "rowspan", "scope"},
    "time": {"datetime"},
    "tr": {"bgcolor"},
    "ul": {"type"},
}
#: ``data:`` is allowed for images only (see :func:`_attribute`).
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "data"})
_URL_ATTRIBUTES = frozenset(
    {"href", "src", "srcset", "cite", "action", "formaction", "poster", "data", "xlink:href"}
)
_DATA_IMAGE = re.compile(r"data:image/(png|jpe?g|gif|webp|avif|bmp);", re.I)
_SCRIPT_URL = re.compile(r"^(javascript|vbscript|livescript|data):", re.I)
#: CSS that ran script in old browsers and mail clients (IE ``expression()``, bindings)
_ACTIVE_CSS = re.compile(r"expression\s*\(|javascript:|vbscript:|behavior\s*:|-moz-binding", re.I)
_INNER_BLANKS = re.compile(r"[\t\n\r]+")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _compact(value: str) -> str:
    """A URL or style as a browser reads it: no tabs or newlines, nothing around it."""
    return _INNER_BLANKS.sub("", value).strip(_C0_AND_SPACE)


def _attribute(tag: str, name: str, value: str) -> str | None:
    """nh3's attribute filter: ``data:`` URLs only as images, no script in CSS."""
    if name in _URL_ATTRIBUTES:
        url = _compact(value)
        if url[:5].lower() == "data:" and not (tag in ("img", "source") and _DATA_IMAGE.match(url)):
            return None
    elif name == "style" and _ACTIVE_CSS.search(_compact(value)):
        return None
    return value


def sanitize(html: str) -> str:
    """The body HTML without scripts, frames, plug-ins, event handlers or script URLs.

    Everything Markdown produces passes unchanged (the golden newsletters and
    feed prove it); comments are dropped; no ``rel`` is added to links.
    """
    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_attribute,
        generic_attribute_prefixes={"data-", "aria-"},
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )


@dataclass(frozen=True)
class Unsafe:
    """One thing :func:`sanitize` removes because it could run code."""

    what: str  # "<script>", "onerror= on <img>", "javascript: URL in <a href>"
    needles: tuple[str, ...]  # what to look for in the Markdown source, best first


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Unsafe] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        opening = f"<{tag}"
        if tag in _ACTIVE_TAGS:
            self.found.append(Unsafe(f"<{tag}>", (opening,)))
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(Unsafe(f"{name}= on <{tag}>", (name, opening)))
            elif value and name in _URL_ATTRIBUTES:
                url = _compact(value)
                scheme = _SCRIPT_URL.match(url)
                if scheme and not (tag in ("img", "source") and _DATA_IMAGE.match(url)):
                    kind = (
                        "data:text/html" if scheme.group(1).lower() == "data" else scheme.group(0)
                    )
                    what = f"{kind.lower()} URL in <{tag} {name}>"
                    self.found.append(Unsafe(what, (value.strip(), opening)))
            elif value and name == "style" and _ACTIVE_CSS.search(_compact(value)):
                self.found.append(Unsafe(f"script in the style of <{tag}>", (value, opening)))

    handle_startendtag = handle_starttag


#: Strings without which nothing in a body can run (checked before parsing it).
_TRIGGERS = (
    *(f"<{tag}" for tag in sorted(_ACTIVE_TAGS)),
    "script:",
    "data:",
    "expression(",
    "behavior:",
    "-moz-binding",
)
_ON_ATTRIBUTE = re.compile(r"[\s/\"']on[a-z]+\s*=")
_SPACED = re.compile(r"script\s+:|data\s+:|expression\s+\(|behavior\s+:")
# a URL spelled with character references (&#106;avascript:, javascript&colon;)
_ENTITY_URL = re.compile(
    r"(?:href|src|srcset|action|formaction|poster|data|cite)\s*=\s*[\"']?[^\"'>]*?"
    r"&(?:#|colon|tab|newline)"
)


_ON_NAME = re.compile(r"on[a-z]+\s*=")  # _ON_ATTRIBUTE but its first character
_BEFORE_ON = re.compile(r"[\s/\"']")


def _maybe_unsafe(html: str) -> bool:
    low = html.lower()
    # each regex only where the literal text it needs is there (a body seldom has
    # any of it); _ON_ATTRIBUTE as a literal-prefix search, then its first character
    return (
        any(t in low for t in _TRIGGERS)
        or any(m.start() and _BEFORE_ON.match(low, m.start() - 1) for m in _ON_NAME.finditer(low))
        or (
            ("script" in low or "data" in low or "expression" in low or "behavior" in low)
            and bool(_SPACED.search(low))
        )
        or (
            ("&#" in low or "&colon" in low or "&tab" in low or "&newline" in low)
            and bool(_ENTITY_URL.search(low))
        )
    )


def unsafe_parts(html: str) -> list[Unsafe]:
    """What in ``html`` runs code or frames other pages, in document order."""
    if not _maybe_unsafe(html):
        return []  # the common case: no raw HTML that could run anything
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return finder.found
