"""``postpipe preview``: a live-reloading preview of the blog and the newsletters.

The shape follows MkDocs' livereload (``mkdocs/livereload/__init__.py``): a stdlib
HTTP server, a watcher, a short debounce, and pages that hear about rebuilds
over one long-lived request. Where it differs:

* The preview renders nothing itself: every change asks ``site.load_site`` for
  a new ``Site`` and swaps in the snapshot made from it; only a completed
  snapshot is ever served. The render cache re-renders what depends on the
  change: a post file → that post (and the posts that link to it), an image →
  the posts that use it, a template, a static file or ``.env`` → everything.
  Every change also refreshes the lists and the index.
* A post that fails shows an error page with ``path:line``, the message, the
  hint and the lines around it (MkDocs leaves the browser "stuck" on the old
  page). The other posts keep their last good render. The page comes back by
  itself when the file is fixed.
* Pages update in place over Server-Sent Events: the preview chrome swaps the
  changed parts and reloads its iframes behind the visible ones, so the tab, the
  scroll positions and the page itself survive a rebuild.

The watcher polls ``stat()`` every 0.2 s instead of using watchdog: a site has a
few hundred files (a scan costs about a millisecond), polling works the same on
every file system (network shares, container bind mounts, editors that save by
renaming), and it adds no dependency.

This module never prints; ``cli.cmd_preview`` passes ``say`` for the log lines.
"""

from __future__ import annotations

import contextlib
import errno
import html
import json
import mimetypes
import os
import re
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jinja2

from .build import RenderedPost
from .checks import CLIP_BYTES, CLIP_WARN_BYTES, ERROR, INFO, WARNING, Finding
from .config import Settings
from .content import Post
from .errors import ErrorGroup, PostpipeError
from .paths import content_problem
from .preview_languages import group_rows, translation_links
from .preview_snapshot import PostEntry, Snapshot, load_snapshot, utcnow
from .render.templating import PACKAGE_TEMPLATES

HOST = "127.0.0.1"  # never 0.0.0.0: drafts and unsent newsletters stay on this machine
PREFIX = "/_preview"  # the preview's own pages; everything else is the built site
CHROME = Path(__file__).resolve().parent / "preview_ui"  # the preview's own pages
POLL_SECONDS = 0.2
DEBOUNCE_SECONDS = 0.1
KEEPALIVE_SECONDS = 15.0
HISTORY = 200  # rebuilds remembered for clients that reconnect

Say = Callable[[str], None]


# ---------------------------------------------------------------------------
# watching


Stamp = tuple[int, int, int]  # (mtime_ns, size, inode)


class Watcher:
    """Polls ``stat()`` of every file under some folders, plus some single files.

    ``changes()`` returns the paths that appeared, disappeared or changed since
    the last call, after they have been quiet for ``debounce`` seconds (editors
    save in bursts: write, rename, chmod).
    """

    def __init__(
        self,
        paths: Callable[[], Iterable[Path]],
        *,
        interval: float = POLL_SECONDS,
        debounce: float = DEBOUNCE_SECONDS,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.paths = paths
        self.interval = interval
        self.debounce = debounce
        self._stop = threading.Event()
        #: how the debounce waits (a test passes one that plays the editor's saves)
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None
        self.last = self.scan()

    def scan(self) -> dict[Path, Stamp]:
        """The stamp of every file below the watched paths (symlinks followed once)."""
        found: dict[Path, Stamp] = {}
        seen_dirs: set[str] = set()

        def visit(path: Path) -> None:
            try:
                st = path.stat()
            except OSError:
                return
            if os.path.isdir(path):
                real = os.path.realpath(path)
                if real in seen_dirs:
                    return
                seen_dirs.add(real)
                try:
                    children = sorted(os.scandir(path), key=lambda e: e.name)
                except OSError:
                    return
                for child in children:  # not editor swap and backup files
                    if not child.name.startswith((".", "~")) and not child.name.endswith("~"):
                        visit(Path(child.path))
            else:
                found[path] = (st.st_mtime_ns, st.st_size, st.st_ino)

        for path in self.paths():
            visit(path)
        return found

    def changes(self) -> set[Path]:
        """Paths changed since the last call (empty when nothing did)."""
        current = self.scan()
        if current == self.last:
            return set()
        while not self._stop.is_set():  # wait until the burst of saves is over
            self._wait(self.debounce)
            settled = self.scan()
            if settled == current:
                break
            current = settled
        changed = {
            p for p in self.last.keys() | current.keys() if self.last.get(p) != current.get(p)
        }
        self.last = current
        return changed

    def start(self, on_change: Callable[[set[Path]], object]) -> None:
        """Poll in a daemon thread and call ``on_change`` with each batch of changes."""

        def loop() -> None:
            while not self._stop.wait(self.interval):
                changed = self.changes()
                if changed and not self._stop.is_set():
                    on_change(changed)

        self._thread = threading.Thread(target=loop, name="postpipe-preview-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


# ---------------------------------------------------------------------------
# rebuilds: what changed, the pages that hear of it, and the snapshot served
# (the snapshot itself and how one is made: preview_snapshot.py)


@dataclass(frozen=True)
class Change:
    """What one rebuild changed: post keys, or everything."""

    gen: int
    keys: frozenset[str] = frozenset()
    everything: bool = False

    def merge(self, other: Change) -> Change:
        return Change(
            max(self.gen, other.gen), self.keys | other.keys, self.everything or other.everything
        )

    def to_json(self) -> str:
        return json.dumps({"gen": self.gen, "keys": sorted(self.keys), "all": self.everything})


class ChangeFeed:
    """The rebuilds the open pages hear about: the last ``HISTORY`` changes and a
    wait for the next one (the preview's event stream reads it)."""

    def __init__(self, current_gen: Callable[[], int]) -> None:
        self._current_gen = current_gen  # the generation of the snapshot being served
        self._cond = threading.Condition()
        self._history: deque[Change] = deque(maxlen=HISTORY)
        self.closing = False

    def publish(self, change: Change) -> None:
        """Remember ``change`` and wake every page waiting for it."""
        with self._cond:
            self._history.append(change)
            self._cond.notify_all()

    def wait(self, since: int, timeout: float) -> Change | None:
        """Block until a rebuild newer than ``since`` (merged), or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.closing:
                newer = [c for c in self._history if c.gen > since]
                if newer:
                    merged = newer[0]
                    for c in newer[1:]:
                        merged = merged.merge(c)
                    if self._history and since < self._history[0].gen - 1:
                        merged = replace(merged, everything=True)  # history lost: refresh all
                    return merged
                gen = self._current_gen()
                if since > gen:  # a client from another boot of the server
                    return Change(gen, everything=True)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
        return None

    def close(self) -> None:
        with self._cond:
            self.closing = True
            self._cond.notify_all()


class Preview:
    """The site as the preview shows it, rebuilt piece by piece as files change."""

    def __init__(
        self,
        settings: Settings,
        *,
        reload_settings: Callable[[], Settings] | None = None,
        clock: Callable[[], datetime] = utcnow,
        say: Say | None = None,
    ) -> None:
        self.reload_settings = reload_settings
        self.clock = clock
        self.say = say or (lambda _line: None)
        self.boot = secrets.token_hex(4)  # a restarted server is a new boot: pages refresh
        self._build_lock = threading.Lock()
        self.changes = ChangeFeed(lambda: self.snapshot.gen)
        self.config_problems: tuple[PostpipeError, ...] = ()  # a broken .env, until fixed
        self.snapshot = load_snapshot(settings, gen=0, old=None, clock=clock)

    # -- what to watch -----------------------------------------------------------
    def watched(self) -> list[Path]:
        """Folders and files whose changes matter: posts, templates, .env, the ledger."""
        root = self.snapshot.settings.root
        return [
            root / "posts",
            root / "templates",
            PACKAGE_TEMPLATES,
            root / ".env",
            self.snapshot.settings.state_dir / "ledger.sqlite3",
        ]

    # -- building ----------------------------------------------------------------
    def rebuild(self, changed: Iterable[Path]) -> Change | None:
        """Rebuild what depends on ``changed``, publish the new snapshot, wake the pages."""
        changed = {Path(p) for p in changed}
        with self._build_lock:
            started = time.monotonic()
            old = self.snapshot
            change = self._rebuild(old, changed)
            if change is None:
                return None
            self.changes.publish(change)
            self._log(old, change, time.monotonic() - started)
            return change

    def _log(self, old: Snapshot, change: Change, took: float) -> None:
        snap = self.snapshot
        if change.everything:
            what = f"all {len(snap.entries)} posts"
        else:
            rels = sorted(
                (snap.entries.get(k) or old.entries[k]).rel
                for k in change.keys
                if k in snap.entries or k in old.entries
            )
            what = ", ".join(rels) or "the publishing state"
        self.say(f"rebuilt {what} in {took:.2f} s")
        for key in sorted(change.keys):
            entry = snap.entries.get(key)
            if entry is not None:
                for err in entry.errors:
                    self.say(err.render())
                if entry.crash:
                    self.say(f"{entry.rel}: crashed: {entry.crash.strip().splitlines()[-1]}")
        for problem in snap.problems:
            if problem not in old.problems:
                self.say(problem.render())

    def _rebuild(self, old: Snapshot, changed: set[Path]) -> Change | None:
        settings = old.settings
        root = settings.root
        gen = old.gen + 1

        def under(path: Path, base: Path) -> bool:
            return path == base or base in path.parents

        everything = any(
            under(p, root / "templates") or under(p, PACKAGE_TEMPLATES) or p == root / ".env"
            for p in changed
        )
        if any(p == root / ".env" for p in changed) and self.reload_settings:
            try:
                settings = self.reload_settings()
                self.config_problems = ()
            except PostpipeError as exc:  # keep the last good settings, say what is wrong
                self.config_problems = tuple(exc.errors) if isinstance(exc, ErrorGroup) else (exc,)
        snap = load_snapshot(
            settings, gen=gen, old=old, problems=self.config_problems, clock=self.clock
        )
        if everything:
            self.snapshot = snap
            return Change(gen, frozenset(snap.entries) | frozenset(old.entries), True)
        keys = {
            k
            for k in snap.entries.keys() | old.entries.keys()
            if snap.entries.get(k) is not old.entries.get(k)
        }
        if not keys:
            changed_status = {
                slug
                for slug in snap.status.keys() | old.status.keys()
                if snap.status.get(slug) != old.status.get(slug)
            }
            if not changed_status:
                return None
            keys = {
                e.key for e in snap.entries.values() if e.post and e.post.slug in changed_status
            }
        self.snapshot = snap
        return Change(gen, frozenset(keys))

    def close(self) -> None:
        """End the open event streams."""
        self.changes.close()


# ---------------------------------------------------------------------------
# pages of the preview itself


_CHROME_ENV: jinja2.Environment | None = None


def chrome_env() -> jinja2.Environment:
    """Templates of the preview's own pages (package data, not overridable by a site)."""
    global _CHROME_ENV
    if _CHROME_ENV is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(CHROME)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["url"] = lambda key: quote(key)
        _CHROME_ENV = env
    return _CHROME_ENV


POST_STATES = {
    "draft": ("Draft", "muted"),
    "scheduled": ("Scheduled", "info"),
    "published": ("Published", "ok"),
    "unpublished": ("Not published yet", "neutral"),
}
NEWSLETTER_STATES = {
    "none": ("No newsletter", "neutral"),
    "not prepared": ("Newsletter not prepared", "neutral"),
    "prepared": ("Newsletter prepared", "info"),
    "scheduled": ("Newsletter scheduled", "info"),
    "sending": ("Newsletter sending", "warn"),
    "sent": ("Newsletter sent", "ok"),
    "missed": ("Newsletter missed", "error"),
    "failed": ("Newsletter failed", "error"),
}


def _page(name: str, **context: Any) -> str:
    return chrome_env().get_template(name).render(**context)


def _short_date(value: datetime | str | None, *, time_too: bool = False) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    text = f"{value.day} {value:%b %Y}"
    return f"{text}, {value:%H:%M}" if time_too else text


def _chips(entry: PostEntry, status: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Status labels of a post: build trouble, draft/scheduled/published, newsletter."""
    chips = []
    if not entry.ok:
        chips.append({"label": "Needs fixing", "tone": "error"})
    post = entry.post
    if status is not None:
        label, tone = POST_STATES.get(status["post"], (status["post"], "neutral"))
        chips.append({"label": label, "tone": tone})
        state = status["newsletter"]
        label, tone = NEWSLETTER_STATES.get(state, (f"Newsletter {state}", "neutral"))
        when = status.get("sent_at") if state == "sent" else status.get("send_at")
        if when and state in ("sent", "scheduled", "prepared", "not prepared", "missed"):
            label = f"{label} · {_short_date(when, time_too=True)}"
        chips.append({"label": label, "tone": tone})
    elif post is not None and post.draft:
        chips.append({"label": "Draft", "tone": "muted"})
    return chips


def _counts(findings: Iterable[Finding]) -> dict[str, int]:
    findings = list(findings)
    errors = sum(f.level == ERROR for f in findings)
    return {"errors": errors, "warnings": sum(f.level == WARNING for f in findings)}


def _finding_view(f: Finding | PostpipeError, snap: Snapshot) -> dict[str, Any]:
    path = f.path or ""
    return {
        "level": getattr(f, "level", ERROR),
        "rule": getattr(f, "rule", ""),
        "where": _display_where(path, f.line, snap.settings.root),
        "message": f.message,
        "hint": f.hint,
    }


def _display_path(path: str, root: Path) -> str:
    p = Path(path)
    if p.is_absolute():
        for base, label in ((root, ""), (PACKAGE_TEMPLATES, "postpipe/templates/")):
            try:
                return label + p.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                continue
    return path


def _display_where(path: str, line: int | None, root: Path) -> str:
    shown = _display_path(path, root)
    return f"{shown}:{line}" if line and shown else shown


def _excerpt(path: str | None, line: int | None, root: Path) -> list[dict[str, Any]]:
    """The lines around ``line`` of a post or template, for the error page."""
    if not path or not line:
        return []
    p = Path(path)
    candidates = [p] if p.is_absolute() else [root / p, PACKAGE_TEMPLATES / p]
    for candidate in candidates:
        try:
            resolved = candidate.resolve()
            if not _inside(resolved, (root, PACKAGE_TEMPLATES)) or not resolved.is_file():
                continue
            lines = resolved.read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            continue
        start, end = max(1, line - 3), min(len(lines), line + 3)
        return [{"n": n, "text": lines[n - 1], "here": n == line} for n in range(start, end + 1)]
    return []


def _inside(path: Path, bases: Iterable[Path]) -> bool:
    return any(path == b.resolve() or b.resolve() in path.parents for b in bases)


def _email_view(snap: Snapshot, r: RenderedPost) -> dict[str, Any] | None:
    email, post, s = r.email, r.post, snap.settings
    if email is None or post.newsletter is None:
        return None
    size = len(email.html.encode())
    level = "error" if size > CLIP_BYTES else "warn" if size > CLIP_WARN_BYTES else "ok"
    return {
        "subject": email.subject,
        "preheader": email.preheader,
        "sender": f"{s.sender_name} <{s.from_email}>",
        "sender_name": s.sender_name,
        "reply_to": s.reply_address if s.reply_address != s.from_email else "",
        "list": post.newsletter.list or s.list,
        "send_at": _short_date(post.newsletter.send_at, time_too=True),
        "kb": f"{size / 1024:.0f}",
        "limit_kb": CLIP_BYTES // 1024,
        "percent": min(100, round(100 * size / CLIP_BYTES)),
        "level": level,
        "text": email.text,
        "clients": _client_rows(email.html),
        "spam": _spam_line(s, email),
        # the files the email links to: what a reader downloads
        "images_kb": f"{_email_image_bytes(r) / 1024:.0f}",
    }


def _spam_line(settings: Settings, email: Any) -> dict[str, str]:
    """The newsletter's SpamAssassin score, as ``postpipe check`` last computed it
    (the preview never waits for SpamAssassin)."""
    from .checks import spam

    if spam.installed() is None:
        return {
            "level": "muted",
            "text": "SpamAssassin is not installed (apt-get install spamassassin) — no spam score",
        }
    result = spam.cached(
        spam.newsletter_message(settings, email), spam.cache_dir(settings.state_dir)
    )
    if result is None:
        return {"level": "muted", "text": "not scored yet: run postpipe check"}
    level = (
        "error"
        if result.score >= spam.ERROR_AT
        else "warn"
        if result.score >= spam.WARN_AT
        else "ok"
    )
    top = result.top(3)
    return {"level": level, "text": f"{result.score:.1f} (5 is spam)" + (f": {top}" if top else "")}


def _client_rows(html: str) -> list[dict[str, Any]]:
    """Per mail client: what it ignores of this email (the caniemail data)."""
    from .checks.clients import support_report

    rows = []
    for row in support_report(html).summary():
        layout, cosmetic = row["layout"], row["cosmetic"]
        parts = []
        if layout:
            parts.append(
                f"{len(layout)} layout feature{'s' if len(layout) > 1 else ''} without a "
                f"fallback ({', '.join(layout)})"
            )
        if cosmetic:
            parts.append(
                f"{len(cosmetic)} cosmetic feature{'s' if len(cosmetic) > 1 else ''} ignored "
                f"({', '.join(cosmetic)})"
            )
        rows.append(
            {
                "client": row["client"],
                "text": "; ".join(parts) or "everything supported",
                "level": "error" if layout else "warn" if cosmetic else "ok",
            }
        )
    return rows


def _email_image_bytes(r: RenderedPost) -> int:
    assert r.email is not None
    return sum(
        a.source.stat().st_size
        for a in {a.name: a for a in r.assets.values()}.values()
        if f"/{a.name}" in r.email.html
    )


def _base_context(preview: Preview, snap: Snapshot, watch: str) -> dict[str, Any]:
    problems = [
        {**_finding_view(p, snap), "excerpt": _excerpt(p.path, p.line, snap.settings.root)}
        for p in snap.problems
    ]
    return {
        "prefix": PREFIX,
        "site_title": snap.settings.site_title,
        "blog_home": snap.builder.site.href("index.html"),
        "gen": snap.gen,
        "boot": preview.boot,
        "watch": watch,
        "problems": problems,
    }


def _results(snap: Snapshot) -> dict[str, Any]:
    """The stored results of the sent newsletters, by slug (``preview_results``)."""
    from .preview_results import load_results
    from .report import PostText

    posts = {
        e.rendered.post.slug: PostText(
            str(e.rendered.view["title"]), str(e.rendered.view["html"]), str(e.rendered.view["url"])
        )
        for e in snap.entries.values()
        if e.rendered is not None
    }
    return load_results(snap.settings, posts)


def render_index(preview: Preview, snap: Snapshot) -> str:
    """The list of every post, drafts included, newest first."""
    from .preview_results import rates

    results = _results(snap)
    rows = []
    for entry in snap.ordered():
        post = entry.post
        status = snap.status.get(post.slug) if post else None
        rows.append(
            {
                "key": entry.key,
                "rel": entry.rel,
                "title": entry.title,
                "date": _short_date(post.date) if post else "",
                "date_iso": post.date.isoformat() if post else "",
                "draft": bool(post and post.draft),
                "ok": entry.ok,
                "chips": _chips(entry, status),
                "counts": _counts(entry.findings),
                "blog_href": _blog_href(snap, post) if post and entry.ok else "",
                "rates": rates(results.get(post.slug)) if post else "",
            }
        )
    drafts = sum(1 for r in rows if r["draft"])
    rows = group_rows(rows, snap.ordered())  # a post's editions in other languages together
    return _page(
        "index.html",
        **_base_context(preview, snap, "*"),
        page_title="Posts",
        shape="index",
        rows=rows,
        drafts=drafts,
        root=str(snap.settings.root),
    )


def _blog_href(snap: Snapshot, post: Post) -> str:
    site = snap.builder.site
    return site.href(site.post_path(post.slug, post.lang))


def render_post_page(preview: Preview, snap: Snapshot, entry: PostEntry) -> str:
    """The preview of one post: blog, email at 600 and 375 px, plain text, checks."""
    post = entry.post
    status = snap.status.get(post.slug) if post else None
    ctx: dict[str, Any] = {
        **_base_context(preview, snap, entry.key),
        "page_title": entry.title,
        "entry": {"key": entry.key, "rel": entry.rel, "title": entry.title},
        "chips": _chips(entry, status),
        "date": _short_date(post.date, time_too=True) if post else "",
        "author": post.author if post else "",
        # infos (cosmetic client support, placeholders in a draft) are notes, not problems
        "findings": [_finding_view(f, snap) for f in entry.findings if f.level != INFO],
        "notes": [_finding_view(f, snap) for f in entry.findings if f.level == INFO],
        "counts": _counts(entry.findings),
    }
    if entry.crash:
        return _page("error.html", **ctx, shape="crash", errors=[], crash=entry.crash)
    if not entry.ok or entry.rendered is None:
        errors = [
            {**_finding_view(e, snap), "excerpt": _excerpt(e.path, e.line, snap.settings.root)}
            for e in entry.errors
        ]
        return _page("error.html", **ctx, shape="error", errors=errors, crash=None)
    r = entry.rendered
    from .preview_results import results_panel

    results = _results(snap)
    return _page(
        "post.html",
        results=results_panel(results[r.post.slug], results) if r.post.slug in results else None,
        **ctx,
        shape="post",
        blog_src=snap.builder.site.href(r.path) + "?embed",
        blog_href=snap.builder.site.href(r.path),
        email=_email_view(snap, r),
        email_src=f"{PREFIX}/email/{quote(entry.key)}",
        share=_share_view(snap, r),
        translations=translation_links(entry, snap.ordered(), PREFIX),
    )


def _share_view(snap: Snapshot, r: RenderedPost) -> dict[str, Any] | None:
    """The post's share card (``og:image``), served from the preview."""
    share = r.view.get("share")
    if not share:
        return None
    site = snap.builder.site
    return {"src": site.base_path + share["url"].removeprefix(site.url), **share}


def render_message(
    preview: Preview, snap: Snapshot, title: str, message: str, *, shape: str = "missing"
) -> str:
    """A short page: not found, deleted post."""
    return _page(
        "message.html",
        **_base_context(preview, snap, "*"),
        page_title=title,
        message=message,
        shape=shape,
    )


def render_crash(snap: Snapshot | None, tb: str) -> str:
    """A 500 page with the traceback; only ever shown by the preview."""
    return (
        "<!DOCTYPE html><meta charset=utf-8><title>postpipe preview: internal error</title>"
        f'<link rel="stylesheet" href="{PREFIX}/static/preview.css">'
        '<main class="pp-wrap"><h1>Something went wrong inside postpipe</h1>'
        "<p>This is a bug in postpipe, not in your post. The preview keeps running.</p>"
        f'<pre class="pp-trace">{html.escape(tb)}</pre></main>'
    )


def email_for_preview(snap: Snapshot, email_html: str) -> str:
    """The sent HTML, with images on the site's URL loaded from the preview.

    Only ``src``/``background`` attributes change, so pictures show before the
    site is deployed; links, text and size are those of the sent message.
    """
    site = snap.builder.site
    pattern = re.compile(r'(\b(?:src|background)=["\'])' + re.escape(site.url) + "/")
    return pattern.sub(lambda m: m.group(1) + site.base_path + "/", email_html)


_DARK_MEDIA = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.I)
#: what an inverting client (the Gmail app, Outlook) does, near enough: every colour
#: inverted, pictures kept as they are
INVERT_CSS = (
    "<style>html{filter:invert(1) hue-rotate(180deg);background:#fff}"
    "img,picture,video{filter:invert(1) hue-rotate(180deg)}</style>"
)


def email_in_scheme(html: str, scheme: str) -> str:
    """The email as a client shows it in ``scheme``: ``light`` (as sent), ``dark``
    (its own ``prefers-color-scheme: dark`` rules applied, as Apple Mail does) or
    ``invert`` (colours inverted, as the Gmail app and Outlook do)."""
    if scheme == "dark":
        return _DARK_MEDIA.sub("@media all", html)
    if scheme == "invert":
        head = html.lower().find("</head>")
        return html[:head] + INVERT_CSS + html[head:] if head >= 0 else INVERT_CSS + html
    return html


# ---------------------------------------------------------------------------
# the HTTP server


class PreviewServer(ThreadingHTTPServer):
    """Serves the preview on 127.0.0.1; one thread per request."""

    daemon_threads = True

    preview: Preview  # set before serving; binding first makes a busy port fail fast

    def __init__(self, port: int = 8000, preview: Preview | None = None) -> None:
        if preview is not None:
            self.preview = preview
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PostpipeError(
                    f"port {port} is already in use on {HOST}",
                    hint=f"stop the program using port {port}, or run "
                    "'postpipe preview --port 0' to pick a free port",
                ) from None
            if exc.errno == errno.EACCES:
                raise PostpipeError(
                    f"no permission to listen on port {port}",
                    hint="use a port above 1023, e.g. --port 8000, or --port 0 for any free one",
                ) from None
            raise PostpipeError(
                f"cannot listen on {HOST}:{port}: {exc.strerror or exc}",
                hint="try --port 0 to pick a free port",
            ) from None
        self.watcher: Watcher | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def watch(self, *, interval: float = POLL_SECONDS, debounce: float = DEBOUNCE_SECONDS) -> None:
        """Start the file watcher that rebuilds on change."""
        self.watcher = Watcher(self.preview.watched, interval=interval, debounce=debounce)
        self.watcher.start(self._rebuild)

    def _rebuild(self, changed: set[Path]) -> None:
        try:
            self.preview.rebuild(changed)
        except Exception:  # never let the watcher die: report and go on
            self.preview.say("preview rebuild failed:\n" + traceback.format_exc())

    def close(self) -> None:
        """Stop watching, end the open event streams and close the socket."""
        if self.watcher is not None:
            self.watcher.stop()
        preview = getattr(self, "preview", None)  # unset when the first build failed
        if preview is not None:
            preview.close()
        self.server_close()


_SAFE_SEGMENT = re.compile(r"^[^\x00-\x1f\\]*$")


def safe_path(raw: str) -> list[str] | None:
    """The decoded segments of a request path, or None for anything that tries to leave.

    Refuses ``..`` and ``.`` (plain or percent-encoded), encoded slashes and
    backslashes (``%2f``, ``%5c``), NUL and control characters, and ``//``.
    """
    if re.search(r"%(2f|5c|00)", raw, re.IGNORECASE):
        return None
    path = unquote(raw, errors="strict") if "%" in raw else raw
    if not path.startswith("/") or "//" in path:
        return None
    segments = path[1:].split("/")
    for seg in segments:
        if seg in (".", "..") or not _SAFE_SEGMENT.match(seg):
            return None
    return segments


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "postpipe-preview"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass  # a request log would drown the rebuild lines

    # -- responses ---------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes | str,
        ctype: str = "text/html; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _not_found(self, snap: Snapshot) -> None:
        self._send(
            404,
            render_message(
                self.server.preview, snap, "Not found", "There is nothing at this address."
            ),
        )

    # -- routing -----------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        snap = self.server.preview.snapshot
        try:
            self._route(snap)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            with contextlib.suppress(OSError):
                self._send(500, render_crash(snap, traceback.format_exc()))

    def _method_not_allowed(self) -> None:
        self._send(405, "only GET and HEAD", "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _method_not_allowed  # noqa: N815

    def _host_ok(self) -> bool:
        # against DNS rebinding: a web page must not read drafts through a name of its own
        host = self.headers.get("Host")
        port = self.server.port
        return host is None or host in (f"{HOST}:{port}", f"localhost:{port}")

    def _route(self, snap: Snapshot) -> None:
        if not self._host_ok():
            self._send(403, f"use {self.server.url}", "text/plain; charset=utf-8")
            return
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            segments = safe_path(parts.path)
        except UnicodeDecodeError:
            segments = None
        if segments is None:
            self._not_found(snap)
            return
        path = "/" + "/".join(segments)
        if path == "/":
            self._send(200, render_index(self.server.preview, snap))
        elif path == PREFIX or path.startswith(PREFIX + "/"):
            self._preview_route(snap, segments[1:], query)
        else:
            self._site_route(snap, path, query)

    def _preview_route(self, snap: Snapshot, rest: list[str], query: dict[str, list[str]]) -> None:
        head, tail = (rest[0], rest[1:]) if rest else ("", [])
        if head == "events" and not tail:
            self._events(query)
        elif head == "static" and len(tail) == 1 and tail[0] in ("preview.css", "preview.js"):
            name = tail[0]
            ctype = "text/css" if name.endswith(".css") else "text/javascript"
            self._send(200, (CHROME / name).read_bytes(), f"{ctype}; charset=utf-8")
        elif head == "posts" and tail:
            entry = snap.entries.get("/".join(tail))
            if entry is None:
                self._send(
                    404,
                    render_message(
                        self.server.preview,
                        snap,
                        "Post not found",
                        "This post does not exist (any more). It may have been renamed or "
                        "deleted; pick it again from the list of posts.",
                    ),
                )
                return
            page = render_post_page(self.server.preview, snap, entry)
            self._send(500 if entry.crash else 200, page)
        elif head == "email" and tail:
            entry = snap.entries.get("/".join(tail))
            email = entry.rendered.email if entry and entry.rendered else None
            if email is None:
                self._not_found(snap)
                return
            body = email.html if "as-sent" in query else email_for_preview(snap, email.html)
            self._send(200, email_in_scheme(body, (query.get("scheme") or ["light"])[0]))
        else:
            self._not_found(snap)

    def _site_route(self, snap: Snapshot, path: str, query: dict[str, list[str]]) -> None:
        base = snap.builder.site.base_path
        if base and not (path == base or path.startswith(base + "/")):
            self._not_found(snap)
            return
        rel = path[len(base) :].lstrip("/")
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        content = snap.files.get(rel)
        if content is None:
            if f"{rel}/index.html" in snap.files:
                self._send(301, "", headers={"Location": path + "/"})
                return
            # the page of a post that is broken right now: show why, not a stale page
            if rel.endswith("/index.html") and rel.count("/") == 1:
                entry = snap.by_slug(rel.split("/")[0])
                if entry is not None and not entry.ok:
                    page = render_post_page(self.server.preview, snap, entry)
                    self._send(500 if entry.crash else 200, page)
                    return
            self._not_found(snap)
            return
        if isinstance(content, Path):
            root = snap.settings.root
            resolved = content.resolve()
            # a post's image: the path rule of build and publish; else a static file
            # (images are served as processed: from the image cache)
            allowed = (
                root / "templates" / "static",
                PACKAGE_TEMPLATES / "static",
                (snap.settings.state_dir / "cache" / "images").resolve(),
            )
            if content_problem(content, root / "posts") is not None and not _inside(
                resolved, allowed
            ):
                self._not_found(snap)  # e.g. an image symlinked to a file outside posts/
                return
            if not resolved.is_file():
                self._not_found(snap)
                return
            data = resolved.read_bytes()
        else:
            data = content
        ctype = _content_type(rel)
        if ctype.startswith("text/html") and "embed" not in query:
            data = _inject_live(data, snap, self.server.preview.boot)
        self._send(200, data, ctype)

    # -- live reload ---------------------------------------------------------------
    def _events(self, query: dict[str, list[str]]) -> None:
        """Server-Sent Events: one ``data: {"gen", "keys", "all"}`` message per rebuild."""
        preview = self.server.preview
        since_text = self.headers.get("Last-Event-ID") or (query.get("since") or ["-1"])[0]
        try:
            since = int(since_text)
        except ValueError:
            since = -1
        boot = (query.get("boot") or [""])[0]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(b"retry: 500\n\n")
        if boot and boot != preview.boot:  # the page came from an earlier run of the server
            snap = preview.snapshot
            self._event(Change(snap.gen, everything=True))
            since = snap.gen
        elif since < 0:
            since = preview.snapshot.gen
        self.wfile.flush()
        while not preview.changes.closing:
            change = preview.changes.wait(since, KEEPALIVE_SECONDS)
            if preview.changes.closing:
                break
            if change is None:
                self.wfile.write(b": keep-alive\n\n")  # also finds closed tabs
                self.wfile.flush()
                continue
            self._event(change)
            since = change.gen

    def _event(self, change: Change) -> None:
        self.wfile.write(f"id: {change.gen}\ndata: {change.to_json()}\n\n".encode())
        self.wfile.flush()


def _content_type(rel: str) -> str:
    if rel.endswith(".html"):
        return "text/html; charset=utf-8"
    if rel.endswith(".xml"):
        return "application/xml; charset=utf-8"
    guessed = mimetypes.guess_type(rel)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def _inject_live(page: bytes, snap: Snapshot, boot: str) -> bytes:
    """A blog page opened on its own reloads itself on rebuilds (MkDocs injects the same)."""
    tag = (
        f'<script src="{PREFIX}/static/preview.js" data-mode="blog" data-gen="{snap.gen}"'
        f' data-boot="{boot}"></script>'
    ).encode()
    at = page.rfind(b"</body>")
    return page[:at] + tag + page[at:] if at >= 0 else page + tag
