"""Dead links (``postpipe check --links``, opt-in: it uses the network).

Every external link of every post (body, event and speaker URLs) is requested
concurrently, at most :data:`MAX_PARALLEL` at a time and :data:`PER_HOST` per
host, HEAD first and GET when HEAD is refused, through the HTTP layer
(:mod:`postpipe.http`: its timeouts; one attempt each). A 404 or 410 or a host
that does not resolve is an error; a redirect to another host is an info; any
other failure (5xx, timeout, refused connection, 403) a warning, since the link
may work for a reader. Results are cached for 24 hours in
``.postpipe/linkcheck.json``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .base import ERROR, INFO, WARNING, Finding, find_line

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..build import RenderedPost
    from ..config import Settings

RULE = "dead-link"
MAX_PARALLEL = 8
PER_HOST = 2
CACHE_TTL = timedelta(hours=24)
CACHE_FILE = "linkcheck.json"
DEAD = frozenset({404, 410})
#: HEAD answers that mean "ask again with GET" (servers that do not do HEAD)
HEAD_REFUSED = frozenset({400, 403, 405, 406, 429, 500, 501, 502, 503})


@dataclass(frozen=True)
class LinkResult:
    """What one URL gave: level None means fine."""

    level: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"level": self.level, "message": self.message}


def external_links(r: RenderedPost) -> list[tuple[str, int | None]]:
    """(url, .md line) of every http(s) link of a post, in order, once each."""
    post = r.post
    found: dict[str, int | None] = {}
    for href in r.markup.links:
        if urlsplit(href).scheme in ("http", "https"):
            found.setdefault(href.split("#", 1)[0], find_line(post, href))
    if post.event is not None and getattr(post.event, "url", None):
        found.setdefault(str(post.event.url), post.line("event.url"))
    for i, s in enumerate(post.speakers):
        if getattr(s, "url", None):
            found.setdefault(str(s.url), post.line(f"speakers[{i}].url") or post.line("speakers"))
    return list(found.items())


def _is_dns_failure(exc: BaseException) -> bool:
    import urllib3.exceptions

    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, urllib3.exceptions.NameResolutionError):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, urllib3.exceptions.NameResolutionError):
            return True
        nxt = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = nxt or seen.__context__
    text = str(exc).lower()
    return "resolve" in text or "name or service not known" in text


def check_url(url: str, http_for: Callable[[str], Any]) -> LinkResult:
    """HEAD, then GET if HEAD is refused; classify the answer."""
    from ..errors import ProviderError

    every = range(100, 600)
    http = http_for(url)
    try:
        response = http.request("HEAD", url, expect=every, retry=False)
        if response.status_code in HEAD_REFUSED:
            response.close()
            response = http.request("GET", url, expect=every, retry=False, stream=True)
    except ProviderError as exc:
        if _is_dns_failure(exc):
            host = urlsplit(url).hostname
            return LinkResult(ERROR, f"the host {host} does not exist (DNS lookup failed)")
        return LinkResult(WARNING, f"could not be checked: {exc.message}")
    status = response.status_code
    final = response.url
    response.close()
    if status in DEAD:
        return LinkResult(ERROR, f"the page is gone (HTTP {status})")
    if status >= 400:
        return LinkResult(WARNING, f"answers HTTP {status}")
    old, new = urlsplit(url).hostname, urlsplit(final).hostname
    if old and new and old.lower() != new.lower():
        return LinkResult(INFO, f"redirects to another host: {final}")
    return LinkResult(None, f"HTTP {status}")


class LinkCache:
    """url → (checked at, result), kept for :data:`CACHE_TTL`."""

    def __init__(self, path: Path, now: datetime) -> None:
        self.path, self.now = path, now
        self.data: dict[str, dict[str, Any]] = {}
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self.data = loaded
        except (OSError, ValueError):
            pass

    def get(self, url: str) -> LinkResult | None:
        row = self.data.get(url)
        try:
            when = datetime.fromisoformat(row["checked_at"]) if row else None
        except (TypeError, ValueError, KeyError):
            return None
        if row is None or when is None or not (self.now - CACHE_TTL < when <= self.now):
            return None
        return LinkResult(row.get("level"), str(row.get("message", "")))

    def put(self, url: str, result: LinkResult) -> None:
        self.data[url] = {"checked_at": self.now.isoformat(), **result.as_json()}

    def save(self) -> None:
        fresh = {u: r for u, r in self.data.items() if self._fresh(r)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(fresh, indent=1, sort_keys=True), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # an unwritable cache only means checking again next time

    def _fresh(self, row: dict[str, Any]) -> bool:
        try:
            return self.now - datetime.fromisoformat(row["checked_at"]) < CACHE_TTL
        except (TypeError, ValueError, KeyError):
            return False


def check_urls(
    urls: Iterable[str], http_for: Callable[[str], Any], cache: LinkCache | None = None
) -> dict[str, LinkResult]:
    """Check URLs concurrently: :data:`MAX_PARALLEL` at once, :data:`PER_HOST` per host."""
    todo: list[str] = []
    out: dict[str, LinkResult] = {}
    for url in dict.fromkeys(urls):
        hit = cache.get(url) if cache is not None else None
        if hit is not None:
            out[url] = hit
        else:
            todo.append(url)
    hosts: dict[str, threading.Semaphore] = {}
    lock = threading.Lock()

    def one(url: str) -> tuple[str, LinkResult]:
        host = (urlsplit(url).hostname or "").lower()
        with lock:
            gate = hosts.setdefault(host, threading.Semaphore(PER_HOST))
        with gate:
            return url, check_url(url, http_for)

    if todo:
        with ThreadPoolExecutor(MAX_PARALLEL) as pool:
            for url, result in pool.map(one, todo):
                out[url] = result
                if cache is not None:
                    cache.put(url, result)
    if cache is not None:
        cache.save()
    return out


def site_findings(
    settings: Settings, posts: Iterable[RenderedPost], now: datetime
) -> list[Finding]:
    """``check --links``: a finding per post and failing link."""
    from ..http import Http, RetryPolicy

    per_post: list[tuple[Any, list[tuple[str, int | None]]]] = []
    for r in posts:
        per_post.append((r, external_links(r)))
    sessions: dict[str, Any] = {}
    lock = threading.Lock()

    def http_for(url: str) -> Any:
        host = (urlsplit(url).hostname or "").lower()
        with lock:
            if host not in sessions:
                sessions[host] = Http(
                    "link check",
                    "https://link-check.invalid",  # every request names its full URL
                    headers={"User-Agent": "postpipe link check"},
                    timeout=(5.0, settings.http_timeout),
                    policy=RetryPolicy(max_attempts=1),
                    max_connections=PER_HOST,
                )
            return sessions[host]

    cache = LinkCache(settings.state_dir / CACHE_FILE, now)
    try:
        results = check_urls((u for _, links in per_post for u, _ in links), http_for, cache)
    finally:
        for http in sessions.values():
            http.close()
    out: list[Finding] = []
    for r, links in per_post:
        for url, line in links:
            res = results.get(url)
            if res is None or res.level is None:
                continue
            out.append(
                Finding(
                    res.level,
                    r.post.rel,
                    line,
                    f"link {url}: {res.message}",
                    "update or remove the link (checked with check --links; results are "
                    "kept for 24 hours in .postpipe/linkcheck.json)",
                    rule=RULE,
                    post=r.post.slug,
                )
            )
    return out
