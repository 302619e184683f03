"""The preview's model: one complete state of the site (``Snapshot``), made from
``site.load_site``, and each post file in it (``PostEntry``).

``preview.Preview`` swaps in a new snapshot when files change; request handlers
only read snapshots. Kept apart from ``preview.py``, which watches, serves and
renders the preview's pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .build import Builder, FileContent, RenderedPost, post_files
from .cache import Entry
from .checks import Finding, from_errors
from .config import Settings
from .content import Post
from .errors import ContentError, PostpipeError
from .site import Site, load_site


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PostEntry:
    """One post file as the preview sees it: rendered, or why it is not."""

    key: str  # path under posts/ without .md: stable while the title (and slug) change
    rel: str  # posts/….md, relative to the site root
    source: Path
    text: str = ""
    parsed: Post | None = None  # the front matter read fine
    load_errors: tuple[PostpipeError, ...] = ()
    duplicate_of: str | None = None  # another file owns this slug
    rendered: RenderedPost | None = None
    render_errors: tuple[PostpipeError, ...] = ()
    crash: str | None = None  # traceback of an unexpected exception
    findings: tuple[Finding, ...] = ()
    last_good: Post | None = None  # the last version that worked, for titles and dates
    stamp: tuple[Any, ...] | None = field(default=None, compare=False)  # of the cached render

    @property
    def errors(self) -> tuple[PostpipeError, ...]:
        """Why the post cannot be shown: front matter, duplicate slug, templates."""
        dup: tuple[PostpipeError, ...] = ()
        if self.duplicate_of and self.parsed is not None:
            p = self.parsed
            dup = (
                ContentError(
                    f"slug '{p.slug}' is already used by {self.duplicate_of}",
                    path=self.rel,
                    line=p.line("slug") if "slug" in p.line_of else p.line("title"),
                    hint="give one of the posts its own slug: line in the front matter",
                ),
            )
        return self.load_errors + dup + self.render_errors

    @property
    def renderable(self) -> bool:
        return (
            self.parsed is not None
            and not self.load_errors
            and not self.duplicate_of
            and self.crash is None
        )

    @property
    def ok(self) -> bool:
        return self.rendered is not None and not self.errors and self.crash is None

    @property
    def post(self) -> Post | None:
        return self.rendered.post if self.rendered else self.parsed or self.last_good

    @property
    def title(self) -> str:
        return self.post.title if self.post else Path(self.rel).name

    @property
    def sort_key(self) -> tuple[str, str]:
        post = self.post
        if post is not None:
            return (post.date.astimezone(UTC).isoformat(), self.rel)
        m = re.match(r"(\d{4}-\d\d-\d\d)", Path(self.rel).name)
        return (m.group(1) if m else "9999", self.rel)  # unknown dates first: they need work


@dataclass(frozen=True)
class Snapshot:
    """One complete state of the preview; request handlers only read snapshots."""

    settings: Settings
    builder: Builder
    entries: Mapping[str, PostEntry]
    files: Mapping[str, FileContent]
    status: Mapping[str, Mapping[str, Any]]
    problems: tuple[PostpipeError, ...] = ()  # site-wide: .env, list templates, status
    gen: int = 0
    built_at: datetime = field(default_factory=utcnow)

    def by_slug(self, slug: str) -> PostEntry | None:
        for entry in self.entries.values():
            post = entry.post
            if post is not None and post.slug == slug:
                return entry
        return None

    def ordered(self) -> list[PostEntry]:
        """Every post, newest first."""
        return sorted(self.entries.values(), key=lambda e: e.sort_key, reverse=True)


def load_snapshot(
    settings: Settings,
    *,
    gen: int,
    old: Snapshot | None,
    problems: tuple[PostpipeError, ...] = (),
    clock: Callable[[], datetime] = utcnow,
) -> Snapshot:
    """A new snapshot from ``load_site`` (the render cache keeps it incremental)."""
    previous = dict(old.entries) if old else {}
    found: list[PostpipeError] = list(problems)
    site: Site | None = None
    if not (settings.root / "posts").is_dir():
        found.append(
            ContentError(
                "there is no posts/ folder",
                path=str(settings.root),
                hint="create posts/ or run 'postpipe new \"Title\"'; the preview "
                "picks it up by itself",
            )
        )
        old = None  # nothing of the last snapshot is there any more
    else:
        try:
            site = load_site(settings, drafts=True, keep_going=True)
        except PostpipeError as exc:
            found.append(exc)
    if site is None:
        builder = old.builder if old else Builder(settings, drafts=True)
        return Snapshot(
            settings=settings,
            builder=builder,
            entries={} if old is None else old.entries,
            files={} if old is None else old.files,
            status={} if old is None else old.status,
            problems=tuple(found),
            gen=gen,
            built_at=clock(),
        )
    entries: dict[str, PostEntry] = {}
    for sp in site.posts:
        key = _key_of(sp.rel)
        before = previous.get(key)
        stamp = _stamp(sp.entry)
        if before is not None and before.stamp == stamp and before.rendered is not None:
            entries[key] = before  # unchanged: keep the render already in memory
            continue
        rendered = sp.rendered
        entries[key] = PostEntry(
            key,
            sp.rel,
            rendered.post.source,
            parsed=rendered.post,
            rendered=rendered,
            findings=sp.findings,
            last_good=rendered.post,
            stamp=stamp,
        )
    for b in site.broken:
        key = _key_of(b.rel)
        before = previous.get(key)
        if (
            before is not None
            and before.rendered is None
            and before.crash == b.crash
            and [e.render() for e in before.errors] == [e.render() for e in b.errors]
        ):
            entries[key] = before  # still broken the same way
            continue
        entries[key] = PostEntry(
            key,
            b.rel,
            settings.root / b.rel,
            parsed=b.post,
            load_errors=b.errors,
            crash=b.crash,
            findings=tuple(from_errors(b.errors)),
            last_good=b.post or (before.last_good if before else None),
        )
    ordered = sorted(entries.values(), key=lambda e: e.sort_key, reverse=True)
    rendered_posts = [e.rendered for e in ordered if e.ok and e.rendered is not None]
    try:
        files: dict[str, FileContent] = site.builder.lists.site_files(rendered_posts)
    except Exception as exc:  # a list template: keep the old lists, show the error
        found.append(
            exc
            if isinstance(exc, PostpipeError)
            else PostpipeError(f"building the index pages failed: {exc!r}")
        )
        files = dict(old.files) if old else {}
        for r in rendered_posts:
            files.update(post_files(r))
    status, status_problem = ledger_status(site, old, clock)
    if status_problem:
        found.append(status_problem)
    return Snapshot(
        settings=settings,
        builder=site.builder,
        entries=entries,
        files=files,
        status=status,
        problems=tuple(found),
        gen=gen,
        built_at=clock(),
    )


def ledger_status(
    site: Site, old: Snapshot | None, clock: Callable[[], datetime]
) -> tuple[dict[str, Mapping[str, Any]], PostpipeError | None]:
    """Ledger states by slug, read from the ledger and the site (no target is built)."""
    from .publish import open_ledger, status_rows

    previous = dict(old.status) if old else {}
    try:
        ledger = open_ledger(site.settings, read_only=True)
        try:
            rows = status_rows(site, ledger, now=clock())
        finally:
            ledger.close()
    except PostpipeError as exc:
        return previous, PostpipeError(
            f"the publishing state is not available: {exc.message}", hint=exc.hint
        )
    except Exception as exc:  # a locked or damaged ledger must not stop the preview
        return previous, PostpipeError(f"the publishing state is not available: {exc!r}")
    return {row["slug"]: row for row in rows}, None


def _key_of(rel: str) -> str:
    """A post's key: its path under posts/ without .md (stable while its slug changes)."""
    return Path(rel).relative_to("posts").with_suffix("").as_posix()


def _stamp(entry: Entry) -> tuple[Any, ...]:
    """What makes two cached renders of a post the same."""
    return (
        entry.stat,
        entry.deps,
        entry.links,
        entry.page,
        entry.listing,
        entry.findings,
        tuple(sorted(entry.outputs.items())),
    )
