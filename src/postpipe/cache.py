"""Incremental builds: rendered posts cached under ``.postpipe/cache/``.

A cached render is reused while everything that shaped it is unchanged: the
post file, the images it uses (and the places a missing one was looked for),
the slugs of the posts it links to, and, through the cache key, the templates,
the settings and the postpipe version. ``build``, ``publish`` and the preview
share the machinery; the index keeps, per post, what the listing pages, the
checks and the publish plan need, so a run with nothing changed loads no
rendered post at all.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__
from .assets import digest, file_digest
from .build import EmailFacts, RenderedPost
from .checks import Finding
from .config import FIELDS, Settings
from .render.templating import PACKAGE_TEMPLATES, template_paths

FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent
KEEP_KEYS = 3  # cache folders kept (e.g. build, build --drafts, publish)

Stat = tuple[int, int] | None


def stat_of(path: str | Path) -> Stat:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def cache_key(settings: Settings, drafts: bool) -> str:
    """Everything that changes every render: version, templates, settings."""
    parts = [__version__, str(FORMAT), str(drafts)]
    for f in FIELDS:
        if not f.secret:
            parts.append(f"{f.env}={getattr(settings, f.attr)!r}")
    # the code itself: an upgrade or a local edit of postpipe renders everything again
    for path in sorted(_PACKAGE.rglob("*.py")):
        parts.append(f"{path.relative_to(_PACKAGE)}:{stat_of(path)}")
    for path in template_paths(settings.root):
        base = PACKAGE_TEMPLATES if path.is_relative_to(PACKAGE_TEMPLATES) else settings.root
        parts.append(f"{path.relative_to(base)}:{file_digest(path)}")
    return digest(*parts)[:20]


_LIST_KEYS_DROPPED = ("html", "jsonld")


@dataclass(frozen=True)
class Entry:
    """What the index keeps of one rendered post."""

    rel: str
    stat: Stat
    slug: str
    draft: bool
    blob: str
    deps: tuple[tuple[str, Stat], ...]
    links: tuple[tuple[str, str | None], ...]
    findings: tuple[Finding, ...]
    view: dict[str, Any]  # the template view without html/jsonld: enough for listings
    listing: str  # digest of ``view``
    body: str  # digest of the body html (the feed shows it)
    page: str  # digest of the page and its assets: the CMS content hash
    outputs: dict[str, str] = field(default_factory=dict)  # site/... and newsletters/... → digest
    has_email: bool = False
    email: EmailFacts | None = None
    date: datetime | None = None


def outputs_of(r: RenderedPost) -> dict[str, str]:
    """Digest of every output file of one post, by path under the build folder."""
    out = {f"site/{r.slug}/index.html": digest(r.page)}
    for asset in r.assets.values():
        out[f"site/{asset.name}"] = asset.digest
    if r.email is not None:
        out[f"newsletters/{r.slug}.html"] = digest(r.email.html)
        out[f"newsletters/{r.slug}.txt"] = digest(r.email.text)
    return out


class RenderCache:
    """The cache of one key (one set of templates and settings)."""

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __init__(self, state_dir: Path, key: str, *, readonly: bool = False) -> None:
        self.base = state_dir / "cache"
        self.dir = self.base / key
        self.key = key
        self.entries: dict[str, Entry] = {}
        self.lists: dict[str, Any] = {}
        self._loaded: dict[str, RenderedPost] = {}
        self._db: sqlite3.Connection | None = None
        self.readonly = readonly  # a dry run: renders stay in memory, nothing is written
        index = self.dir / "index.pickle"
        if index.is_file():
            try:
                with index.open("rb") as f:
                    data = pickle.load(f)
                if data.get("format") == FORMAT:
                    self.entries = data["entries"]
                    self.lists = data.get("lists", {})
            except (
                OSError,
                pickle.UnpicklingError,
                EOFError,
                AttributeError,
                KeyError,
                ImportError,
                TypeError,
                ValueError,
            ):
                self.entries = {}  # a damaged cache is only a slower build

    # -- lookups -----------------------------------------------------------------
    def fresh(self, rel: str, stat: Stat, slugs: dict[str, str | None]) -> Entry | None:
        """The entry of ``rel`` if nothing it depends on changed."""
        entry = self.entries.get(rel)
        if entry is None or entry.stat != stat or stat is None:
            return None
        if any(stat_of(path) != st for path, st in entry.deps):
            return None
        if any(slugs.get(path) != slug for path, slug in entry.links):
            return None
        return entry

    @property
    def db(self) -> sqlite3.Connection:
        """Rendered posts, one row each: one file instead of thousands."""
        if self._db is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.dir / "renders.sqlite3", timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS renders (blob TEXT PRIMARY KEY, data BLOB NOT NULL)"
            )
        return self._db

    def load(self, entry: Entry, *, keep: bool = True) -> RenderedPost:
        """The full render of an entry (kept in memory with ``keep``)."""
        if entry.rel in self._loaded:
            return self._loaded[entry.rel]
        row = self.db.execute("SELECT data FROM renders WHERE blob = ?", (entry.blob,)).fetchone()
        if row is None:
            raise KeyError(f"the render cache lost {entry.rel}; delete .postpipe/cache")
        r: RenderedPost = pickle.loads(row[0])
        if keep:
            self._loaded[entry.rel] = r
        return r

    # -- updates -----------------------------------------------------------------
    def put(self, r: RenderedPost, findings: Iterable[Finding]) -> Entry:
        rel = r.post.rel
        blob = digest(rel)[:20]
        if not self.readonly:
            self.db.execute(
                "INSERT OR REPLACE INTO renders (blob, data) VALUES (?, ?)",
                (blob, pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)),
            )
        view = {k: v for k, v in r.view.items() if k not in _LIST_KEYS_DROPPED}
        entry = Entry(
            rel=rel,
            stat=stat_of(r.post.source),
            slug=r.slug,
            draft=r.post.draft,
            blob=blob,
            deps=tuple((p, stat_of(p)) for p in r.deps),
            links=r.links,
            findings=tuple(findings),
            view=view,
            listing=digest(pickle.dumps(view)),
            body=digest(str(r.view["html"])),
            page=r.page_digest,
            outputs=outputs_of(r),
            has_email=r.email is not None,
            email=r.email_facts(),
            date=r.date,
        )
        self.entries[rel] = entry
        if self.readonly:
            self._loaded[rel] = r
        else:
            self._loaded.pop(rel, None)
        return entry

    def forget(self, keep: Iterable[str]) -> int:
        """Drop entries of posts that no longer exist (or are not rendered)."""
        keep = set(keep)
        gone = [r for r in self.entries if r not in keep]
        for rel in gone:
            entry = self.entries.pop(rel)
            if not self.readonly:
                self.db.execute("DELETE FROM renders WHERE blob = ?", (entry.blob,))
        return len(gone)

    def save(self) -> None:
        """Commit the renders, write the index atomically, prune caches of other keys."""
        if self.readonly:
            return
        self.db.commit()  # the renders first: an index never names a missing render
        data = {"format": FORMAT, "entries": self.entries, "lists": self.lists}
        tmp = self.dir / f".index.{os.getpid()}"
        with tmp.open("wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.dir / "index.pickle")
        os.utime(self.dir)
        others = sorted(
            (
                p
                for p in self.base.iterdir()
                if p.is_dir() and p != self.dir and p.name != "manifests"
            ),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in others[KEEP_KEYS - 1 :]:
            shutil.rmtree(old, ignore_errors=True)


class LazyRendered:
    """A cached post that loads its full render only when something needs it.

    ``slug``, ``date``, ``url``, ``page_digest`` and ``email_facts()`` come from
    the index, so a publish run with nothing to do loads no render at all.
    """

    def __init__(self, cache: RenderCache, entry: Entry) -> None:
        self._cache = cache
        self._entry = entry
        self.slug = entry.slug
        self.date = entry.date
        self.url = str(entry.view["url"])
        self.page_digest = entry.page

    def email_facts(self) -> EmailFacts | None:
        return self._entry.email

    def __getattr__(self, name: str) -> Any:  # post, view, page, email, assets, ...
        return getattr(self._cache.load(self._entry), name)
