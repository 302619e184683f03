"""Link rewriting for HTML that leaves the site: absolute URLs and UTM tags."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:
    import lxml.html


#: listmonk counts a link's clicks only when it is written for its tracker; the
#: ``url@TrackLink`` shorthand (unlike ``{{ TrackLink "url" }}``) has no quotes, so it
#: survives HTML attribute quoting and CSS inlining unchanged
TRACK_SUFFIX = "@TrackLink"


def absolute(href: str, page_url: str, site_url: str) -> str:
    """``/x`` resolves against the site URL, ``x`` and ``#x`` against the page's own URL."""
    href = href.strip()
    if not href or href.startswith(("mailto:", "tel:", "data:")) or urlsplit(href).scheme:
        return href
    if href.startswith("//"):
        return "https:" + href
    if href.startswith("/"):
        return urljoin(site_url + "/", href)
    return urljoin(page_url, href)


def is_own(url: str, own_prefixes: tuple[str, ...]) -> bool:
    """True when ``url`` points into one of our own sites (the blog, the CMS)."""
    return any(url == p or url.startswith(p.rstrip("/") + "/") for p in own_prefixes if p)


def add_query(url: str, params: str) -> str:
    """Append ``a=1&b=2`` to ``url``, keeping its query and fragment; existing keys win."""
    if not params:
        return url
    parts = urlsplit(url)
    existing = parse_qsl(parts.query, keep_blank_values=True)
    have = {k for k, _ in existing}
    extra = [(k, v) for k, v in parse_qsl(params, keep_blank_values=True) if k not in have]
    if not extra:
        return url
    query = parts.query + ("&" if parts.query else "") + urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def parse_fragment(html: str) -> lxml.html.HtmlElement:
    """Parse a body fragment into one wrapping ``<div>``."""
    import lxml.html  # loaded when an email or a feed is made, not for a no-op build

    return lxml.html.fragment_fromstring(html, create_parent="div")


def serialize_children(root: lxml.html.HtmlElement) -> str:
    import lxml.html

    text = root.text or ""
    return escape(text, quote=False) + "".join(
        lxml.html.tostring(child, encoding="unicode", method="html") for child in root
    )


def absolutize_tree(root: lxml.html.HtmlElement, page_url: str, site_url: str) -> None:
    """Rewrite every ``href`` and ``src`` under ``root`` to an absolute URL."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("href", "src"):
            value = el.get(attr)
            if value is not None:
                el.set(attr, absolute(value, page_url, site_url))


def absolutize_html(html: str, page_url: str, site_url: str) -> str:
    """The same HTML fragment with absolute links (for the feed)."""
    root = parse_fragment(html)
    absolutize_tree(root, page_url, site_url)
    return serialize_children(root)
