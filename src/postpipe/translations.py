"""Editions of one post in several languages (``translation_key``, DESIGN §7).

Posts that share a ``translation_key`` are translations of each other. Posts in
the default language (``POSTPIPE_LANG``) live at ``/<slug>/``, the others at
``/<lang>/<slug>/``; each language has its home page, tag and category pages and
feed under its own section (``""`` or ``"<lang>/"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import ContentError


def base_lang(lang: str) -> str:
    """``sv-FI`` → ``sv``: the part that picks a section and a catalogue."""
    return lang.split("-")[0].lower()


def section(lang: str, default_lang: str) -> str:
    """Where a language's pages live under the site: ``""`` or ``"sv/"``."""
    if base_lang(lang) == base_lang(default_lang) or not lang:
        return ""
    return f"{lang.lower()}/"


def post_path(slug: str, lang: str, default_lang: str) -> str:
    """A post's folder under the site: ``slug/`` or ``sv/slug/``."""
    return f"{section(lang, default_lang)}{slug}/"


@dataclass(frozen=True)
class Edition:
    """One language edition of a post: what other pages need to link it."""

    key: str
    lang: str
    slug: str
    draft: bool = False
    rel: str = ""


class Translations:
    """Every ``translation_key`` group of a site: ``key → editions`` (one per language).

    Built from what is known of every post before rendering (``site.Link``), so a
    page can link its translations; drafts take part only when drafts are built.
    """

    def __init__(self, editions: Iterable[Edition], *, drafts: bool = False) -> None:
        groups: dict[str, dict[str, Edition]] = {}
        for e in editions:
            if e.draft and not drafts:
                continue
            groups.setdefault(e.key, {}).setdefault(base_lang(e.lang), e)
        self.groups: dict[str, tuple[Edition, ...]] = {
            k: tuple(v[lang] for lang in sorted(v)) for k, v in groups.items()
        }

    @classmethod
    def of(cls, links: Iterable[PostLink], *, drafts: bool) -> Translations:
        """The groups of these posts (``site.Link``, ``Post`` or cache entries)."""
        return cls(
            (
                Edition(link.translation_key, link.lang, link.slug, link.draft, link.rel)
                for link in links
                if link.translation_key
            ),
            drafts=drafts,
        )

    def editions(self, key: str | None) -> tuple[Edition, ...]:
        """Every edition of ``key`` (sorted by language); none for ``None``."""
        return self.groups.get(key, ()) if key else ()

    def others(self, key: str | None, slug: str) -> tuple[Edition, ...]:
        """The translations of the post ``slug`` (itself left out)."""
        return tuple(e for e in self.editions(key) if e.slug != slug)

    def in_language(self, key: str | None, lang: str) -> Edition | None:
        """The edition of ``key`` in ``lang``, if there is one."""
        for e in self.editions(key):
            if base_lang(e.lang) == base_lang(lang):
                return e
        return None

    def signature(self, key: str | None) -> str | None:
        """What a page that shows ``key``'s editions depends on (cache staleness)."""
        if not key:
            return None
        return "|".join(f"{e.lang}:{e.slug}" for e in self.editions(key))


def original(editions: Iterable[Edition], default_lang: str) -> Edition | None:
    """The edition others translate: the one in the default language, else the first."""
    editions = list(editions)
    for e in editions:
        if base_lang(e.lang) == base_lang(default_lang):
            return e
    return editions[0] if editions else None


class PostLink(Protocol):
    """What grouping, and a link to another post, need of a post (a ``Post`` or a
    ``site.Link``; read-only: posts are frozen)."""

    @property
    def slug(self) -> str: ...

    @property
    def draft(self) -> bool: ...

    @property
    def lang(self) -> str: ...

    @property
    def translation_key(self) -> str | None: ...

    @property
    def rel(self) -> str: ...


def duplicates(
    links: Iterable[PostLink], line_of: Callable[[str], int]
) -> list[tuple[str, ContentError]]:
    """``(rel, error)`` for every post whose language another post of its
    ``translation_key`` already has (the later file is the error)."""
    first: dict[tuple[str, str], str] = {}
    out: list[tuple[str, ContentError]] = []
    for link in links:
        if not link.translation_key:
            continue
        k = (link.translation_key, base_lang(link.lang))
        if k not in first:
            first[k] = link.rel
            continue
        out.append(
            (
                link.rel,
                ContentError(
                    f"translation_key '{link.translation_key}' already has an edition in "
                    f"'{link.lang}': {first[k]}",
                    path=link.rel,
                    line=line_of(link.rel),
                    hint="each language has one edition per key: give this post another "
                    "lang: or its own translation_key:",
                ),
            )
        )
    return out


def link_state(links: Mapping[Path, PostLink], drafts: bool) -> dict[str, str | None]:
    """What each post's links to others resolved to, as renders record it
    (``RenderedPost.links``): the slug of each post file (``None`` for a draft
    that is not built), its language (``lang:<file>``) and the editions of each
    key (``group:<key>``). A cached render whose record differs is stale."""
    state: dict[str, str | None] = {}
    for path, link in links.items():
        state[str(path)] = None if link.draft and not drafts else link.slug
        state[f"lang:{path}"] = link.lang
    index = Translations.of(links.values(), drafts=drafts)
    for key in index.groups:
        state[f"group:{key}"] = index.signature(key)
    return state


__all__ = [
    "Edition",
    "Translations",
    "base_lang",
    "duplicates",
    "link_state",
    "original",
    "post_path",
    "section",
]
