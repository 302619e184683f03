"""Which section of a post a link sits in: the text of the nearest heading above it.

``postpipe report`` and the preview's results chart show a provider's clicks per
link against the post's structure (a speaker's section). The provider reports
the URL as it left in the email: made absolute, with UTM parameters, perhaps
with listmonk's ``@TrackLink`` suffix. :func:`link_key` folds both sides to the
same key.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .links import TRACK_SUFFIX, absolute, parse_fragment

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def link_key(url: str) -> str:
    """``url`` without tracking: no ``@TrackLink``, no ``utm_*`` parameters, no fragment,
    host in lower case, no trailing slash."""
    url = url.strip()
    if url.endswith(TRACK_SUFFIX):
        url = url[: -len(TRACK_SUFFIX)]
    parts = urlsplit(url.replace("&amp;", "&"))
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.startswith("utm_")
    ]
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def link_sections(html: str, page_url: str, site_url: str) -> dict[str, str | None]:
    """Every link of a post's body HTML (by :func:`link_key`) → the text of the nearest
    heading above it (``None`` before the first heading). The first place a link
    appears wins."""
    root = parse_fragment(html)
    current: str | None = None
    found: dict[str, str | None] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in HEADINGS:
            current = " ".join(el.text_content().split()) or current
        elif el.tag == "a" and el.get("href"):
            key = link_key(absolute(el.get("href", ""), page_url, site_url))
            found.setdefault(key, current)
    return found
