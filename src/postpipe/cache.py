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
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__
from .assets import digest, file_digest
from .build import EmailFacts, FileContent, RenderedPost, post_files
from .checks import ERROR, Finding
from .config import FIELDS, Settings
from .render.templating import PACKAGE_TEMPLATES, template_paths

FORMAT = 2
_PACKAGE = Path(__file__).resolve().parent
KEEP_KEYS = 3  # cache folders kept (e.g. build, build --drafts, publish)
DB_NAME = "renders.sqlite3"

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


_LIST_KEYS_DROPPED = ("html", "page_html", "jsonld")


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
    #: the template view without html/jsonld (enough for listings); None when read
    #: back from disk, where it is kept apart (RenderCache.views) to keep reads small
    view: dict[str, Any] | None
    listing: str  # digest of ``view``
    body: str  # digest of the body html (the feed shows it)
    page: str  # digest of the page and its assets: the CMS content hash
    outputs: dict[str, str] = field(default_factory=dict)  # site/... and newsletters/... → digest
    has_email: bool = False
    email: EmailFacts | None = None
    date: datetime | None = None
    url: str = ""
    lang: str = ""
    translation_key: str | None = None


def outputs_of(r: RenderedPost) -> dict[str, str]:
    """Digest of every output file of one post, by path under the build folder."""
    out = {f"site/{r.path}index.html": digest(r.page)}
    for asset in r.assets.values():
        out[f"site/{asset.name}"] = asset.digest
    if r.email is not None:
        out[f"newsletters/{r.slug}.html"] = digest(r.email.html)
        out[f"newsletters/{r.slug}.txt"] = digest(r.email.text)
    return out


def build_files(r: RenderedPost, *, newsletter: bool) -> dict[str, FileContent]:
    """The files of one post under the build folder (the newsletter only if allowed)."""
    files: dict[str, FileContent] = {f"site/{p}": c for p, c in post_files(r).items()}
    if newsletter and r.email is not None:
        files[f"newsletters/{r.slug}.html"] = r.email.html.encode()
        files[f"newsletters/{r.slug}.txt"] = r.email.text.encode()
    return files


@dataclass(frozen=True)
class Prepared:
    """A render made ready for the cache and the build folder, where it was rendered
    (in a worker process: the main process then neither unpickles nor re-pickles it)."""

    entry: Entry
    blob: bytes  # the pickled RenderedPost
    files: dict[str, FileContent]  # build outputs; no newsletter with an error finding


def prepare(r: RenderedPost, findings: Iterable[Finding]) -> Prepared:
    findings = tuple(findings)
    view = {k: v for k, v in r.view.items() if k not in _LIST_KEYS_DROPPED}
    entry = Entry(
        rel=r.rel,
        stat=stat_of(r.post.source),
        slug=r.slug,
        draft=r.post.draft,
        blob=digest(r.rel)[:20],
        deps=tuple((p, stat_of(p)) for p in r.deps),
        links=r.links,
        findings=findings,
        view=view,
        listing=digest(pickle.dumps(view)),
        body=digest(str(r.view["html"])),
        page=r.page_digest,
        outputs=outputs_of(r),
        has_email=r.email is not None,
        email=r.email_facts(),
        date=r.date,
        url=r.url,
        lang=r.post.lang,
        translation_key=r.post.translation_key,
    )
    ok = not any(f.level == ERROR for f in findings)
    return Prepared(
        entry, pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL), build_files(r, newsletter=ok)
    )


class RenderCache:
    """The cache of one key (one set of templates and settings).

    One SQLite file holds the full renders (loaded one at a time, when needed)
    and the index entries (all loaded at start; only changed ones written back).
    """

    def __init__(self, state_dir: Path, key: str, *, readonly: bool = False) -> None:
        self.base = state_dir / "cache"
        self.dir = self.base / key
        self.key = key
        self.entries: dict[str, Entry] = {}
        self.lists: dict[str, Any] = {}
        self.readonly = readonly  # a dry run: renders stay in memory, nothing is written
        self._loaded: dict[str, RenderedPost] = {}
        self._mem: dict[str, bytes] = {}  # renders of a read-only (dry) run
        self._dirty: set[str] = set()
        self._gone: dict[str, str] = {}  # rel → blob
        self._lists_dirty = False
        self._db: sqlite3.Connection | None = None
        if (self.dir / DB_NAME).is_file():
            self._read()

    def _read(self) -> None:
        try:
            meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != str(FORMAT):
                raise ValueError("another cache format")
            self.entries = {
                rel: pickle.loads(data)
                for rel, data in self.db.execute("SELECT rel, data FROM entries")
            }
            self.lists = pickle.loads(meta["lists"]) if "lists" in meta else {}
        except (
            sqlite3.DatabaseError,
            pickle.UnpicklingError,
            EOFError,
            AttributeError,
            KeyError,
            ImportError,
            TypeError,
            ValueError,
        ):
            # a damaged or older cache is only a slower build: start afresh
            self.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            self.entries, self.lists = {}, {}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.dir / DB_NAME, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(
                "CREATE TABLE IF NOT EXISTS renders (blob TEXT PRIMARY KEY, data BLOB NOT NULL);"
                "CREATE TABLE IF NOT EXISTS entries (rel TEXT PRIMARY KEY, data BLOB NOT NULL, "
                "view BLOB NOT NULL);"
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
            )
        return self._db

    # -- lookups -----------------------------------------------------------------
    def load(self, entry: Entry, *, keep: bool = True) -> RenderedPost:
        """The full render of an entry (kept in memory with ``keep``)."""
        if entry.rel in self._loaded:
            return self._loaded[entry.rel]
        if entry.blob in self._mem:
            data = self._mem[entry.blob]
        else:
            row = self.db.execute(
                "SELECT data FROM renders WHERE blob = ?", (entry.blob,)
            ).fetchone()
            if row is None:
                raise KeyError(f"the render cache lost {entry.rel}; delete .postpipe/cache")
            data = row[0]
        r: RenderedPost = pickle.loads(data)
        if keep:
            self._loaded[entry.rel] = r
        return r

    def views(self, entries: Iterable[Entry]) -> list[dict[str, Any]]:
        """The listing views of these entries (read from disk in one query)."""
        entries = list(entries)
        missing = [e.rel for e in entries if e.view is None]
        stored: dict[str, dict[str, Any]] = {}
        if missing:
            wanted = set(missing)
            stored = {
                rel: pickle.loads(data)
                for rel, data in self.db.execute("SELECT rel, view FROM entries")
                if rel in wanted
            }
        return [e.view if e.view is not None else stored[e.rel] for e in entries]

    # -- updates -----------------------------------------------------------------
    def add(self, p: Prepared) -> Entry:
        """Keep one render (already pickled where it was made)."""
        rel = p.entry.rel
        if self.readonly:
            self._mem[p.entry.blob] = p.blob
        else:
            self.db.execute(
                "INSERT OR REPLACE INTO renders (blob, data) VALUES (?, ?)", (p.entry.blob, p.blob)
            )
        self.entries[rel] = p.entry
        self._dirty.add(rel)
        self._gone.pop(rel, None)
        self._loaded.pop(rel, None)
        return p.entry

    def set_lists(self, lists: dict[str, Any]) -> None:
        self.lists = lists
        self._lists_dirty = True

    def forget(self, keep: Iterable[str]) -> int:
        """Drop entries of posts that no longer exist (or are not rendered)."""
        keep = set(keep)
        gone = [r for r in self.entries if r not in keep]
        for rel in gone:
            self._gone[rel] = self.entries.pop(rel).blob
            self._dirty.discard(rel)
        return len(gone)

    def save(self) -> None:
        """Write what changed in one transaction; prune caches of other keys."""
        if self.readonly:
            return
        db = self.db
        for rel in self._dirty:
            entry = self.entries[rel]
            db.execute(
                "INSERT OR REPLACE INTO entries (rel, data, view) VALUES (?, ?, ?)",
                (
                    rel,
                    pickle.dumps(replace(entry, view=None), protocol=pickle.HIGHEST_PROTOCOL),
                    pickle.dumps(entry.view, protocol=pickle.HIGHEST_PROTOCOL),
                ),
            )
        for rel, blob in self._gone.items():
            db.execute("DELETE FROM entries WHERE rel = ?", (rel,))
            db.execute("DELETE FROM renders WHERE blob = ?", (blob,))
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)", (str(FORMAT),))
        if self._lists_dirty:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('lists', ?)",
                (pickle.dumps(self.lists),),
            )
        db.commit()
        self._dirty.clear()
        self._gone.clear()
        self._lists_dirty = False
        os.utime(self.dir)
        others = sorted(
            (
                p
                for p in self.base.iterdir()
                if p.is_dir() and p != self.dir and p.name not in ("manifests", "jinja", "images")
            ),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in others[KEEP_KEYS - 1 :]:
            shutil.rmtree(old, ignore_errors=True)
