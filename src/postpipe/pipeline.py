"""Orchestration of ``build`` and ``check``: load → render → check → write.

``render_incremental`` is the one way posts get rendered for ``build``,
``publish`` and the preview: unchanged posts come from the cache, changed ones
are rendered (in a process pool when there are enough of them), every post's
findings are kept with it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .assets import digest, file_digest
from .build import Builder, FileContent, RenderedPost
from .cache import Entry, Prepared, RenderCache, build_files, cache_key, prepare, stat_of
from .checks import ERROR, Finding, check_post, from_errors
from .config import Settings
from .content import Post, load_post, load_posts, source_files
from .errors import ContentError, ErrorGroup, TemplateError
from .render.blog import FEED_ENTRIES
from .tempfiles import write_atomic

#: Below this many posts to render, a process pool costs more than it saves.
PARALLEL_MIN = 24


class Link(NamedTuple):
    slug: str
    draft: bool


@dataclass
class SiteRender:
    """Every post of the site, rendered or taken from the cache."""

    settings: Settings
    builder: Builder
    cache: RenderCache
    entries: list[Entry]  # newest first; drafts only when rendering drafts
    rendered_now: int = 0
    drafts_skipped: int = 0
    errors: list[ContentError] = field(default_factory=list)  # with ``tolerant``

    def rendered(self, entry: Entry) -> RenderedPost:
        return self.cache.load(entry)

    @property
    def findings(self) -> list[Finding]:
        return [f for e in self.entries for f in e.findings]


def _effective(link: Link, drafts: bool) -> str | None:
    return None if link.draft and not drafts else link.slug


def render_incremental(
    settings: Settings,
    *,
    drafts: bool = False,
    jobs: int | None = None,
    emit: Callable[[Prepared], None] | None = None,
    write_cache: bool = True,
    save: bool = True,
    tolerant: bool = False,
) -> SiteRender:
    """Render what changed since the last run; raises ErrorGroup on bad input.

    ``emit`` sees each post as it is rendered (the build writes it out at once, so
    a thousand renders are never all in memory). With ``tolerant`` a post with
    bad input is left out and its errors are kept in ``SiteRender.errors``.
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
    builder = Builder(settings, drafts=drafts, write_cache=write_cache)
    cache = RenderCache(settings.state_dir, cache_key(settings, drafts), readonly=not write_cache)
    paths = source_files(posts_dir)
    rels = {p: p.relative_to(root).as_posix() for p in paths}

    # 1. reuse what is unchanged on disk; read the rest
    reused: dict[str, Entry] = {}
    loaded: dict[str, Post] = {}
    errors: list[ContentError] = []
    for path in paths:
        rel = rels[path]
        entry = cache.entries.get(rel)
        if (
            entry is not None
            and entry.stat == stat_of(path)
            and all(stat_of(p) == st for p, st in entry.deps)
        ):
            reused[rel] = entry
            continue
        post, errs = load_post(
            path, posts_dir, tz=settings.tz, lang=settings.lang, author=settings.author, rel=rel
        )
        errors.extend(errs)
        if post is not None:
            loaded[rel] = post

    # 2. slugs across all files (the later file of a duplicate is the error)
    links: dict[Path, Link] = {}
    first: dict[str, str] = {}
    for path in paths:
        rel = rels[path]
        if rel in reused:
            link = Link(reused[rel].slug, reused[rel].draft)
        elif rel in loaded:
            link = Link(loaded[rel].slug, loaded[rel].draft)
        else:
            continue
        if link.slug in first:
            post = loaded.pop(rel, None)
            reused.pop(rel, None)
            line = 1 if post is None else post.line("slug" if "slug" in post.line_of else "title")
            errors.append(
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
    if errors and not tolerant:
        raise ErrorGroup(errors)

    # 3. a cached post whose links now point elsewhere is stale too
    slugs = {str(p): _effective(link, drafts) for p, link in links.items()}
    for rel, entry in list(reused.items()):
        if any(slugs.get(p) != s for p, s in entry.links):
            del reused[rel]
            post, errs = load_post(
                root / rel,
                posts_dir,
                tz=settings.tz,
                lang=settings.lang,
                author=settings.author,
                rel=rel,
            )
            if post is None:
                if not tolerant:
                    raise ErrorGroup(errs)
                errors.extend(errs)
                continue
            loaded[rel] = post

    # 4. render the rest
    todo = [p for p in loaded.values() if drafts or not p.draft]
    for prepared in render_many(builder, settings, todo, links, drafts=drafts, jobs=jobs):
        cache.add(prepared)
        if emit is not None:
            emit(prepared)
    kept = {rel for rel in rels.values() if rel in reused or rel in loaded}
    forgotten = cache.forget(kept)
    entries = [cache.entries[rel] for rel in kept if rel in cache.entries]
    entries.sort(key=lambda e: (e.date, e.slug), reverse=True)
    if save and (todo or forgotten):
        cache.save()
    skipped = sum(1 for p in loaded.values() if p.draft and not drafts)
    return SiteRender(
        settings=settings,
        builder=builder,
        cache=cache,
        entries=entries,
        rendered_now=len(todo),
        drafts_skipped=skipped,
        errors=errors,
    )


# ---------------------------------------------------------------------------
# rendering many posts on every core

_WORKER: dict[str, Any] = {}


def _init_worker(settings: Settings, drafts: bool, links: dict[Path, Link]) -> None:
    _WORKER["builder"] = Builder(settings, drafts=drafts)
    _WORKER["links"] = links


def _render_checked(builder: Builder, post: Post, links: dict[Path, Link]) -> Prepared:
    r = builder.render_post(post, links)
    return prepare(r, check_post(r))


def _render_chunk(posts: list[Post]) -> list[Prepared]:
    builder: Builder = _WORKER["builder"]
    return [_render_checked(builder, p, _WORKER["links"]) for p in posts]


def render_many(
    builder: Builder,
    settings: Settings,
    posts: Sequence[Post],
    links: dict[Path, Link],
    *,
    drafts: bool,
    jobs: int | None = None,
) -> Iterator[Prepared]:
    """Render and check posts, in a process pool when there are enough of them.

    Every worker renders with its own ``Builder``; the bytes are the same as a
    serial render (a golden test compares them).
    """
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers < 2 or len(posts) < PARALLEL_MIN:
        yield from (_render_checked(builder, p, links) for p in posts)
        return
    from concurrent.futures import ProcessPoolExecutor  # only when it pays

    size = max(4, len(posts) // (workers * 8))
    chunks = [list(posts[i : i + size]) for i in range(0, len(posts), size)]
    with ProcessPoolExecutor(
        workers, initializer=_init_worker, initargs=(settings, drafts, links)
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


# ---------------------------------------------------------------------------
# build


@dataclass
class BuildReport:
    pages: int = 0
    drafts_skipped: int = 0
    newsletters: int = 0
    newsletters_refused: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rendered_now: int = 0
    written: int = 0
    removed: int = 0
    site: SiteRender | None = None

    @property
    def rendered(self) -> list[RenderedPost]:
        """Every post's full render (loaded from the cache on demand)."""
        return [self.site.rendered(e) for e in self.site.entries] if self.site else []

    def counts(self) -> tuple[int, int]:
        errors = sum(f.level == ERROR for f in self.findings)
        return errors, len(self.findings) - errors


def _list_files(site: SiteRender) -> dict[str, FileContent]:
    entries = site.entries
    newest = [e for e in entries if not e.draft][:FEED_ENTRIES]
    feed = [site.cache.load(e, keep=False).view for e in newest]
    files = site.builder.list_files(site.cache.views(entries), feed)
    return {f"site/{path}": content for path, content in files.items()}


def _content_digest(content: FileContent) -> str:
    return file_digest(content) if isinstance(content, Path) else digest(content)


class _Stage:
    """Files to change, written under a staging folder until the build succeeded."""

    def __init__(self, out: Path, manifest: dict[str, str] | None) -> None:
        self.out = out
        self.out_str = str(out)
        self.manifest = manifest or {}
        self.cold = manifest is None or not (out / "site").is_dir()
        # beside the output folder, not in it: a failed first build creates nothing
        self.dir = out.parent / f".{out.name}.staging-{os.getpid()}"
        self.staged: list[str] = []
        self.seen: set[str] = set()
        self.dirs: set[Path] = set()

    def needs(self, path: str, d: str) -> bool:
        if path in self.seen:  # e.g. an image that several posts show
            return False
        if self.cold or self.manifest.get(path) != d:
            return True
        return not os.path.exists(os.path.join(self.out_str, path))  # deleted by hand

    def add(self, path: str, content: FileContent) -> None:
        dest = self.dir / path
        if dest.parent not in self.dirs:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.dirs.add(dest.parent)
        if isinstance(content, Path):
            shutil.copyfile(content, dest)
        else:
            dest.write_bytes(content)
        self.staged.append(path)
        self.seen.add(path)

    def commit(self, expected: dict[str, str]) -> int:
        """Move the staged files into place; remove files of ours that are gone."""
        removed = 0
        self.out.mkdir(parents=True, exist_ok=True)
        if self.cold:
            for top in ("site", "newsletters"):
                (self.dir / top).mkdir(parents=True, exist_ok=True)
                final, old = self.out / top, self.out / f".old-{os.getpid()}-{top}"
                if final.exists():
                    final.rename(old)
                (self.dir / top).rename(final)
                shutil.rmtree(old, ignore_errors=True)
        else:
            for path in self.staged:
                dest = self.out / path
                if dest.parent not in self.dirs:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    self.dirs.add(dest.parent)
                os.replace(self.dir / path, dest)
            for path in self.manifest:
                if path not in expected:
                    (self.out / path).unlink(missing_ok=True)
                    removed += 1
                    _prune_dirs((self.out / path).parent, self.out)
        self.discard()
        return removed

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def build_site(
    settings: Settings, out: Path, *, drafts: bool = False, jobs: int | None = None
) -> BuildReport:
    """``postpipe build``: ``out/site`` and ``out/newsletters``, incrementally.

    Front matter or template errors raise before the output changes. A
    newsletter with an error finding is not written (the blog page is). Changed
    files are staged as posts are rendered and moved into place at the end (the
    first build swaps whole folders); files of posts that are gone are removed.
    """
    manifest_path = _manifest_path(settings, out)
    stage = _Stage(out, _read_manifest(manifest_path))
    expected: dict[str, str] = {}
    rendered_now: set[str] = set()

    def emit(p: Prepared) -> None:
        rendered_now.add(p.entry.rel)
        for path, content in p.files.items():
            d = _content_digest(content)
            expected[path] = d
            if stage.needs(path, d):
                stage.add(path, content)

    try:
        site = render_incremental(settings, drafts=drafts, jobs=jobs, emit=emit, save=False)
        cache, builder = site.cache, site.builder
        for e in site.entries:  # posts taken from the cache
            if e.rel in rendered_now:
                continue
            refused = e.has_email and any(f.level == ERROR for f in e.findings)
            outputs = {
                p: d for p, d in e.outputs.items() if not (refused and p.startswith("newsletters/"))
            }
            expected.update(outputs)
            if any(stage.needs(p, d) for p, d in outputs.items()):
                ok = not any(f.level == ERROR for f in e.findings)
                files = build_files(cache.load(e, keep=False), newsletter=ok)
                for path, content in files.items():
                    if stage.needs(path, _content_digest(content)):
                        stage.add(path, content)
        static = {f"site/{a.name}": a for a in builder.static.values()}
        for path, asset in static.items():
            expected[path] = asset.digest
            if stage.needs(path, asset.digest):
                stage.add(path, asset.source)

        # listing pages, feed and sitemap: re-rendered only when what they show changed
        feed_bodies = [e.body for e in site.entries if not e.draft][:FEED_ENTRIES]
        lists_key = digest(*(e.listing for e in site.entries), *feed_bodies, builder.site.css_href)
        outputs = cache.lists.get("outputs", {})
        if (
            stage.cold
            or cache.lists.get("key") != lists_key
            or any(stage.needs(p, d) for p, d in outputs.items())
        ):
            files = {p: c for p, c in _list_files(site).items() if p not in static}
            outputs = {p: _content_digest(c) for p, c in files.items()}
            for path, content in files.items():
                if stage.needs(path, outputs[path]):
                    stage.add(path, content)
            cache.set_lists({"key": lists_key, "outputs": outputs})
        expected.update(outputs)
        removed = stage.commit(expected)
    except BaseException:
        stage.discard()
        raise
    if expected != stage.manifest or stage.staged or site.rendered_now:
        _write_file(manifest_path, json.dumps(expected, indent=0, sort_keys=True).encode())
        cache.save()
    findings = site.findings
    refused_slugs = sorted(
        {e.slug for e in site.entries if e.has_email and any(f.level == ERROR for f in e.findings)}
    )
    newsletters = sum(1 for p in expected if p.startswith("newsletters/")) // 2
    return BuildReport(
        pages=len(site.entries),
        drafts_skipped=site.drafts_skipped,
        newsletters=newsletters,
        newsletters_refused=refused_slugs,
        findings=findings,
        rendered_now=site.rendered_now,
        written=len(stage.staged),
        removed=removed,
        site=site,
    )


def _manifest_path(settings: Settings, out: Path) -> Path:
    """Where the files of the last build into ``out`` are listed, with digests."""
    name = digest(str(out.resolve()))[:16]
    return settings.state_dir / "cache" / "manifests" / f"{name}.json"


def _read_manifest(path: Path) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_file(dest: Path, content: FileContent) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(dest, content.read_bytes() if isinstance(content, Path) else content)


def _prune_dirs(folder: Path, top: Path) -> None:
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


# ---------------------------------------------------------------------------
# full renders (check, tests)


def render_site(
    settings: Settings, *, drafts: bool = False
) -> tuple[Builder, list[RenderedPost], int]:
    """Load and render every post, without the cache; raises ErrorGroup on bad input."""
    builder = Builder(settings, drafts=drafts)
    posts, _ = load_posts(settings.root, tz=settings.tz, lang=settings.lang, author=settings.author)
    kept = [p for p in posts if drafts or not p.draft]
    return builder, builder.render_all(kept), len(posts) - len(kept)


def check_site(settings: Settings) -> tuple[list[Finding], int]:
    """``postpipe check``: every finding of every post, drafts included; never raises
    for bad posts (they become findings). Uses the render cache like ``build``."""
    try:
        site = render_incremental(settings, drafts=True, tolerant=True)
    except TemplateError as exc:
        return from_errors([exc]), 0
    except ErrorGroup as exc:  # no posts/ folder
        return from_errors(exc.errors), 0
    findings = from_errors(site.errors) + site.findings
    checked = len(site.entries) + len({e.path for e in site.errors})
    return findings, checked


__all__ = [
    "BuildReport",
    "SiteRender",
    "build_site",
    "check_site",
    "render_incremental",
    "render_site",
]
