"""One parse per HTML text, shared by the rules of a post.

The rules read the same three documents of a rendered post (the blog page, the
inlined email, the body); each is parsed once and the tree is shared. The trees
are **read-only**: a rule that needs to change one works on a copy
(``copy.deepcopy``), so that no rule changes what another sees
(``tests/gate/test_shared_parse.py`` checks that the rules leave them as they were).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any


@lru_cache(maxsize=8)
def document(html: str) -> Any:
    """The lxml document of ``html`` (shared: never change it), as plain
    ``lxml.etree`` elements: the same tree ``lxml.html.document_fromstring``
    builds, without the per-element class lookup of ``lxml.html`` (a rule that
    walks a whole email pays it on every element it touches)."""
    import lxml.html

    return lxml.html.document_fromstring(html, parser=_plain_parser())


@cache
def _plain_parser() -> Any:
    """``lxml.html``'s parser options, without its element classes."""
    import lxml.etree

    return lxml.etree.HTMLParser()


@lru_cache(maxsize=8)
def body(html: str) -> Any:
    """A post body's HTML in a ``<div>``, as ``lxml.html`` elements (``text_content``)
    (shared: never change it)."""
    import lxml.html

    return lxml.html.document_fromstring(f"<div>{html}</div>")


#: how the templates start a page: a doctype, then ``<html lang="…">`` with a plain
#: language tag and nothing else in it (anything else: parse the page)
_HTML_LANG = re.compile(
    r'(?:<!doctype html>[ \t\n\r\f]*)?<html[ \t\n\r\f]+lang="([a-z0-9-]*)"[ \t\n\r\f]*>', re.I
)


def root_lang(html: str) -> str | None:
    """``document(html).get("lang")``, without parsing a page that starts as the
    templates write it (the root's attributes are the ones of its start tag; a
    later ``<html>`` never overrides them)."""
    m = _HTML_LANG.match(html)
    if m:
        return m.group(1)
    lang = document(html).get("lang")
    return None if lang is None else str(lang)
