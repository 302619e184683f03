"""The preview's view of editions in several languages (issue 15): the posts list
keeps each ``translation_key`` group together, and a post's page links its
translations. Kept apart from ``preview.py``, which only calls these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from urllib.parse import quote

from .content import Post
from .render.i18n import language_name


class _Entry(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def post(self) -> Post | None: ...


def group_rows(rows: Sequence[dict[str, Any]], entries: Sequence[_Entry]) -> list[dict[str, Any]]:
    """The rows (one per entry, newest first) with each group of editions together,
    at the place of its newest edition; every row gets ``lang`` and ``edition``
    (true for the editions listed under the first one of their group)."""
    key_of = {e.key: e.post.translation_key if e.post else None for e in entries}
    lang_of = {e.key: e.post.lang if e.post else "" for e in entries}
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        group = key_of.get(row["key"])
        if group:
            members.setdefault(group, []).append(row)
    out: list[dict[str, Any]] = []
    placed: set[str] = set()
    for row in rows:
        group = key_of.get(row["key"])
        if group and len(members[group]) > 1:
            if group in placed:
                continue
            placed.add(group)
            for n, member in enumerate(members[group]):
                out.append({**member, "lang": lang_of[member["key"]], "edition": n > 0})
            continue
        out.append({**row, "lang": lang_of.get(row["key"], ""), "edition": False})
    return out


def translation_links(
    entry: _Entry, entries: Iterable[_Entry], prefix: str
) -> list[dict[str, str]]:
    """Links to the preview pages of the post's editions in other languages."""
    post = entry.post
    if post is None or not post.translation_key:
        return []
    links = []
    for other in entries:
        p = other.post
        if other.key == entry.key or p is None or p.translation_key != post.translation_key:
            continue
        links.append(
            {
                "lang": p.lang,
                "name": language_name(p.lang),
                "title": p.title,
                "href": f"{prefix}/posts/{quote(other.key)}",
            }
        )
    return sorted(links, key=lambda link: link["lang"])


__all__ = ["group_rows", "translation_links"]
