"""``load_site``: the one path from post files to rendered, checked posts.

``build``, ``check``, ``publish``, ``send``, ``status`` and the preview all get
their posts here. Unchanged posts come from the render cache (their full render
is loaded only when something needs it); changed ones are read, rendered (in a
process pool when there are enough of them) and checked. A post whose front
matter is wrong, or whose slug another file owns, is kept apart with its errors
(``Site.broken``): callers decide whether that stops the run (``build``,
``check``) or only leaves that post out (``publish``, ``send --due``).
"""

from __future__ import annotations

import os
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from . import translations
from .build import Builder, EmailFacts, RenderedPost
from .cache import Entry, Prepared, RenderCache, cache_key, prepare, stat_of
from .checks import ERROR, Finding, check_post
from .config import Settings
from .content import Post, load_post, source_files
from .errors import ContentError, ErrorGroup, PostpipeError
from .render.blog import PostView

#: Below this many posts to render, a process pool costs more than it saves.
PARALLEL_MIN = 24


@dataclass(frozen=True, eq=False)
class SitePost:
    """One rendered post of a :class:`Site`: what the index knows, the render on demand.

    ``slug``, ``date``, ``url``, ``page_digest`` and ``email_facts()`` come from the
    render cache's index, so a run with nothing to do loads no render at all.
    """

    entry: Entry
    site: Site = field(repr=False)

    @property
    def rel(self) -> str:
        return self.entry.rel

    @property
    def slug(self) -> str:
        return self.entry.slug

    @property
    def draft(self) -> bool:
        return self.entry.draft

    @property
    def date(self) -> datetime:
        assert self.entry.date is not None
        return self.entry.date

    @property
    def url(self) -> str:
        return self.entry.url

    @property
    def page_digest(self) -> str:
        """Hash of the page and every file it uses: what a CMS push depends on."""
        return self.entry.page

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.entry.findings

    @property
    def has_errors(self) -> bool:
        return any(f.level == ERROR for f in self.entry.findings)

    def email_facts(self) -> EmailFacts | None:
        """The newsletter's facts, its list resolved for the post's language (§3)."""
        facts = self.entry.email
        if facts is None:
            return None
        return replace(facts, list_id=self.list_id)

    @property
    def list_id(self) -> str | None:
        """The list this post's newsletter goes to (None: the target's default)."""
        own = self.entry.email.list_id if self.entry.email else None
        return self.site.settings.newsletter_list(self.entry.lang, own)

    @property
    def view(self) -> PostView:
        return self.site.view_of(self.entry)

    @property
    def translations(self) -> list[dict[str, str]]:
        """The post's editions in other languages (``lang``, ``slug``, ``url``,
        ``label``), from the index: no render is loaded."""
        if not self.entry.translation_key:
            return []
        return list(self.site.listing(self.entry).get("translations") or [])

    @property
    def rendered(self) -> RenderedPost:
        """The full render (page, email, assets), loaded from the cache once."""
        return self.site.cache.load(self.entry)

    # the parts of the full render that publishing reads
    @property
    def post(self) -> Post:
        return self.rendered.post

    @property
    def body_html(self) -> str:
        return str(self.rendered.view["html"])


@dataclass(frozen=True)
class Broken:
    """A post file that cannot be rendered: bad front matter, a slug taken, a
    template that fails for it (or, in the preview, a bug: ``crash``)."""

    rel: str
    errors: tuple[PostpipeError, ...]
    slug: str | None = None  # when the front matter read far enough to know it
    post: Post | None = None  # when the front matter read fine
    crash: str | None = None  # the traceback of an unexpected exception

    @property
    def first(self) -> PostpipeError:
        return self.errors[0] if self.errors else PostpipeError(f"{self.rel}: crashed")


@dataclass(frozen=True, eq=False)
class Site:
    """Every post of the site at one moment: rendered and checked, or broken.

    ``posts`` are newest first (drafts only when loaded with ``drafts``);
    ``drafts`` are the drafts left out (parsed, not rendered); ``broken`` are
    the files with errors, each with all of them.
    """

    settings: Settings
    builder: Builder = field(repr=False)
    cache: RenderCache = field(repr=False)
    with_drafts: bool
    entries: tuple[Entry, ...]
    drafts: tuple[Post, ...] = ()
    broken: tuple[Broken, ...] = ()
    #: post files read and parsed by this load (unchanged cached posts are not read)
    parsed: int = 0
    rendered_now: int = 0

    @cached_property
    def posts(self) -> tuple[SitePost, ...]:
        return tuple(SitePost(e, self) for e in self.entries)

    def ok_posts(self) -> list[SitePost]:
        """The rendered posts without an error finding."""
        return [p for p in self.posts if not p.has_errors]

    @property
    def errors(self) -> list[PostpipeError]:
        """Every error of every broken post, in file order (a template's once)."""
        return _unique(e for b in self.broken for e in b.errors)

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every rendered post."""
        return [f for e in self.entries for f in e.findings]

    def by_slug(self, slug: str) -> SitePost | None:
        return self._by_slug.get(slug)

    @cached_property
    def _by_slug(self) -> dict[str, SitePost]:
        return {p.slug: p for p in self.posts}

    @cached_property
    def _listings(self) -> dict[str, dict[str, Any]]:
        views = self.cache.views(self.entries)  # one query for every post
        return {e.rel: v for e, v in zip(self.entries, views, strict=True)}

    @cached_property
    def _views(self) -> dict[str, PostView]:
        return {rel: PostView.of(v) for rel, v in self._listings.items()}

    def listing(self, entry: Entry) -> dict[str, Any]:
        """The post's template view without its HTML (what listing pages show)."""
        return self._listings[entry.rel]

    def view_of(self, entry: Entry) -> PostView:
        return self._views[entry.rel]

    def rendered(self, entry: Entry) -> RenderedPost:
        return self.cache.load(entry)


@dataclass
class Link:
    """What a link to another post needs of it (``translations.PostLink``)."""

    slug: str
    draft: bool
    lang: str = ""
    translation_key: str | None = None
    rel: str = ""


def load_site(
    settings: Settings,
    *,
    drafts: bool,
    cache: bool = True,
    all_or_nothing: bool = False,
    jobs: int | None = None,
    emit: Callable[[Prepared], None] | None = None,
    save: bool = True,
    keep_going: bool = False,
) -> Site:
    """Load, render and check the site; only what changed since the last run is rendered.

    ``cache=False`` writes nothing (a dry run: renders stay in memory). With
    ``all_or_nothing`` any post's error raises :class:`ErrorGroup` before anything
    is rendered; otherwise the broken posts are left out and kept in
    ``Site.broken``. ``emit`` sees each post as it is rendered (the build writes
    it out at once, so a thousand renders are never all in memory); ``save=False``
    leaves saving the cache index to the caller. A template error that a post
    meets makes that post broken; with ``keep_going`` (the preview) so does an
    unexpected exception. A missing ``posts/`` folder raises.
    """
    root = settings.root
    posts_dir = root / "posts"
    if not posts_dir.is_dir():
        raise ErrorGroup(
            [
                ContentError(
                    "there is no posts/ folder",
                    path=str(root),
                    hint="create posts/ or run 'postpipe new \"Title\"'",
                )
            ]
        )
    builder = Builder(settings, drafts=drafts, write_cache=cache)
    rcache = RenderCache(settings.state_dir, cache_key(settings, drafts), readonly=not cache)
    paths = source_files(posts_dir)
    rels = {p: p.relative_to(root).as_posix() for p in paths}
    parsed = 0

    def read(path: Path, rel: str) -> tuple[Post | None, list[ContentError]]:
        nonlocal parsed
        parsed += 1
        return load_post(
            path, posts_dir, tz=settings.tz, lang=settings.lang, author=settings.author, rel=rel
        )

    # 1. reuse what is unchanged on disk; read the rest
    reused: dict[str, Entry] = {}
    loaded: dict[str, Post] = {}
    errors: dict[str, list[PostpipeError]] = {}
    crashes: dict[str, str] = {}
    for path in paths:
        rel = rels[path]
        entry = rcache.entries.get(rel)
        if (
            entry is not None
            and entry.stat == stat_of(path)
            and all(stat_of(p) == st for p, st in entry.deps)
        ):
            reused[rel] = entry
            continue
        post, errs = read(path, rel)
        if errs:
            errors[rel] = list(errs)
        if post is not None:
            loaded[rel] = post

    # 2. slugs across all files (the later file of a duplicate is the error)
    links: dict[Path, Link] = {}
    first: dict[str, str] = {}
    slug_of: dict[str, str] = {}
    for path in paths:
        rel = rels[path]
        if rel in reused:
            e = reused[rel]
            link = Link(e.slug, e.draft, e.lang, e.translation_key, rel)
        elif rel in loaded:
            p = loaded[rel]
            link = Link(p.slug, p.draft, p.lang, p.translation_key, rel)
        else:
            continue
        slug_of[rel] = link.slug
        if link.slug in first:
            post = loaded.pop(rel, None)
            reused.pop(rel, None)
            line = 1 if post is None else post.line("slug" if "slug" in post.line_of else "title")
            errors.setdefault(rel, []).append(
                ContentError(
                    f"slug '{link.slug}' is already used by {first[link.slug]}",
                    path=rel,
                    line=line,
                    hint="give one of the posts its own slug: line in the front matter",
                )
            )
            continue
        first[link.slug] = rel
        links[path] = link  # absolute: the site root is resolved

    def key_line(rel: str) -> int:
        post = loaded.get(rel) or read(root / rel, rel)[0]
        return post.line("translation_key") if post is not None else 1

    for rel, error in translations.duplicates(links.values(), key_line):
        loaded.pop(rel, None)
        reused.pop(rel, None)
        links = {p: link for p, link in links.items() if link.rel != rel}
        errors.setdefault(rel, []).append(error)
    if errors and all_or_nothing:
        raise ErrorGroup([e for rel in rels.values() for e in errors.get(rel, ())])

    # 3. a cached post whose links now point elsewhere is stale too
    slugs = translations.link_state(links, drafts)
    for rel, entry in list(reused.items()):
        if any(slugs.get(p) != s for p, s in entry.links):
            del reused[rel]
            post, errs = read(root / rel, rel)
            if post is None:
                if all_or_nothing:
                    raise ErrorGroup(errs)
                errors[rel] = list(errs)
                continue
            loaded[rel] = post

    # 4. render the rest
    todo = [p for p in loaded.values() if drafts or not p.draft]
    renders = render_many(
        builder, settings, todo, links, drafts=drafts, jobs=jobs, keep_going=keep_going
    )
    for prepared in renders:
        if isinstance(prepared, Failed):
            loaded.pop(prepared.rel, None)
            errors[prepared.rel] = list(prepared.errors)
            if prepared.crash is not None:
                crashes[prepared.rel] = prepared.crash
            continue
        rcache.add(prepared)
        if emit is not None:
            emit(prepared)
    if errors and all_or_nothing:  # a template that fails for some posts
        found = _unique(e for rel in rels.values() for e in errors.get(rel, ()))
        raise found[0] if len(found) == 1 else ErrorGroup(found)
    kept = {rel for rel in rels.values() if rel in reused or rel in loaded}
    forgotten = rcache.forget(kept)
    entries = [rcache.entries[rel] for rel in kept if rel in rcache.entries]
    entries.sort(key=lambda e: (e.date, e.slug), reverse=True)
    if save and (todo or forgotten):
        rcache.save()
    left_out = sorted(
        (p for p in loaded.values() if p.draft and not drafts),
        key=lambda p: (p.date, p.slug),
        reverse=True,
    )
    posts_of = {p.rel: p for p in todo}
    broken = tuple(
        Broken(rel, tuple(errors[rel]), slug_of.get(rel), posts_of.get(rel), crashes.get(rel))
        for rel in rels.values()
        if rel in errors or rel in crashes
    )
    return Site(
        settings=settings,
        builder=builder,
        cache=rcache,
        with_drafts=drafts,
        entries=tuple(entries),
        drafts=tuple(left_out),
        broken=broken,
        parsed=parsed,
        rendered_now=len(todo),
    )


def _unique(errors: Iterable[PostpipeError]) -> list[PostpipeError]:
    """One of each error (a broken template fails every post the same way)."""
    seen: dict[str, PostpipeError] = {}
    for e in errors:
        seen.setdefault(e.render(), e)
    return list(seen.values())


# ---------------------------------------------------------------------------
# rendering many posts on every core

_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class Failed:
    """A post whose render failed: a template error, or (``keep_going``) a crash."""

    rel: str
    errors: tuple[PostpipeError, ...] = ()
    crash: str | None = None


def _init_worker(
    settings: Settings,
    drafts: bool,
    links: dict[Path, Link],
    keep_going: bool,
    write_cache: bool = True,
    image_scratch: Path | None = None,
) -> None:
    _WORKER["builder"] = Builder(
        settings, drafts=drafts, write_cache=write_cache, image_scratch=image_scratch
    )
    _WORKER["links"] = links
    _WORKER["keep_going"] = keep_going


def _render_checked(
    builder: Builder, post: Post, links: dict[Path, Link], keep_going: bool = False
) -> Prepared | Failed:
    try:
        r = builder.render_post(post, links)
        return prepare(r, check_post(r))
    except ErrorGroup as exc:
        return Failed(post.rel, tuple(exc.errors))
    except PostpipeError as exc:
        return Failed(post.rel, (exc,))
    except Exception:
        if not keep_going:
            raise
        return Failed(post.rel, crash=traceback.format_exc())


def _render_chunk(posts: list[Post]) -> list[Prepared | Failed]:
    builder: Builder = _WORKER["builder"]
    links, keep_going = _WORKER["links"], _WORKER["keep_going"]
    return [_render_checked(builder, p, links, keep_going) for p in posts]


def render_many(
    builder: Builder,
    settings: Settings,
    posts: Sequence[Post],
    links: dict[Path, Link],
    *,
    drafts: bool,
    jobs: int | None = None,
    keep_going: bool = False,
) -> Iterator[Prepared | Failed]:
    """Render and check posts, in a process pool when there are enough of them.

    Every worker renders with its own ``Builder``; the bytes are the same as a
    serial render (a golden test compares them).
    """
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers < 2 or len(posts) < PARALLEL_MIN:
        yield from (_render_checked(builder, p, links, keep_going) for p in posts)
        return
    from concurrent.futures import ProcessPoolExecutor  # only when it pays

    size = max(4, len(posts) // (workers * 8))
    chunks = [list(posts[i : i + size]) for i in range(0, len(posts), size)]
    with ProcessPoolExecutor(
        workers,
        initializer=_init_worker,
        initargs=(
            settings,
            drafts,
            links,
            keep_going,
            builder.write_cache,
            builder.images.folder if not builder.write_cache else None,
        ),
    ) as pool:
        # a few chunks in flight per worker: results are written out as they come,
        # so a thousand renders are never all waiting in memory
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_render_chunk, chunk))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


__all__ = ["Broken", "PostView", "Site", "SitePost", "load_site", "render_many"]
