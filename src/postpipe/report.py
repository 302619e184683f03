"""``postpipe report``: how each sent newsletter did (DESIGN §2 and §8).

The ledger knows every newsletter that was sent and where; the list target's
``results()`` (a declared capability) asks the provider for its figures. They
are kept in the ledger with the time fetched (:mod:`postpipe.ledger_results`),
so a second ``report`` within :data:`FRESH` makes no request, ``report`` without
credentials still shows what was fetched before, and the history stays when the
site changes provider. Providers with a small hourly allowance (Brevo) get a
budget of report requests an hour (``MailingList.report_budget``), counted in
the ledger across runs; a 429 backs off in the shared HTTP client like every
other call. Each link is shown with the section of the post it sits in (the
nearest heading above it).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import ContentError, PostpipeError
from .ledger import LIST, SENT, Item, Ledger, LedgerRecipients
from .ledger_results import FIGURES, StoredResult
from .render.sections import link_key, link_sections
from .targets.base import MailingList, get_list, list_name

if TYPE_CHECKING:
    from .config import Settings
    from .site import Site

#: results younger than this are not fetched again (``--refresh`` forces it)
FRESH = timedelta(minutes=15)
#: ``send --due`` refreshes the newsletters sent this recently, at most every REFRESH_EVERY
RECENT = timedelta(days=7)
REFRESH_EVERY = timedelta(hours=1)
HOUR = timedelta(hours=1)
TOP_LINKS = 10

APPLE_NOTE = (
    "Opens are approximate: since Apple Mail Privacy Protection (2021) many opens are "
    "counted when Apple's servers fetch the images, not when a person reads the mail."
)


@dataclass(frozen=True)
class Link:
    url: str
    clicks: int
    section: str | None


@dataclass(frozen=True)
class Row:
    """One sent newsletter's results, as stored (``fetched_at`` is ``None``: never fetched)."""

    slug: str
    title: str
    list: str
    campaign_id: str | None
    sent_at: str | None
    fetched_at: str | None
    figures: dict[str, int | float | None]
    links: tuple[Link, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The DESIGN §8 shape (``null`` where the provider gives no figure)."""
        return {
            "slug": self.slug,
            "list": self.list,
            "campaign_id": self.campaign_id,
            "sent_at": self.sent_at,
            **{f: self.figures.get(f) for f in FIGURES},
            "fetched_at": self.fetched_at,
            "links": [{"url": k.url, "clicks": k.clicks, "section": k.section} for k in self.links],
        }


@dataclass
class Results:
    """What ``report`` found: one row per sent newsletter, and what it could not do."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests: int = 0


def _campaign_id(item: Item) -> str:
    # SMTP keeps a summary in remote_id ("12 of 14 sent"): its newsletter is its key
    if item.target == "smtp":
        return item.idem_key or item.slug
    return item.remote_id or item.idem_key or item.slug


def _older(stamp: str | None, now: datetime, age: timedelta) -> bool:
    return stamp is None or datetime.fromisoformat(stamp) <= now - age


class Reporter:
    """Fetches what is stale (within the provider's budget) and reads back what is stored."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        now: datetime,
        make_list: Callable[[], MailingList] | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.now = now
        self.current = list_name(settings)
        self._make_list = make_list or (
            lambda: get_list(
                settings,
                recipients=LedgerRecipients(ledger, self.current),
                clock=lambda: self.now,
            )
        )
        self._list: MailingList | None = None
        self._list_error: PostpipeError | None = None

    def sent(self, slugs: Sequence[str] = ()) -> list[Item]:
        """The newsletters the ledger calls sent (of ``slugs`` only, if given), at any list."""
        items = sent_items(self.ledger)
        if slugs:
            known = {i.slug for i in items}
            for slug in slugs:
                if slug not in known:
                    raise ContentError(
                        f"the newsletter of '{slug}' was never sent, so there is nothing to report",
                        hint="postpipe status shows every newsletter's state",
                    )
            items = [i for i in items if i.slug in slugs]
        return items

    def target(self) -> MailingList | None:
        """The configured list, constructed once; ``None`` when it cannot be (no credentials)."""
        if self._list is None and self._list_error is None:
            try:
                self._list = self._make_list()
            except PostpipeError as exc:  # ConfigError: missing credentials, bad settings
                self._list_error = exc
        return self._list

    def refresh(
        self, items: Iterable[Item], *, age: timedelta, force: bool, notes: list[str]
    ) -> int:
        """Fetch the results of ``items`` at the current list that are older than ``age``
        (all of them with ``force``); returns the requests made."""
        made = 0
        store = self.ledger.results
        for item in items:
            if item.target != self.current:
                continue  # sent with another provider: its history stays as stored
            cid = _campaign_id(item)
            stored = store.get(item.slug, item.target, cid)
            if not force and not _older(stored.fetched_at if stored else None, self.now, age):
                continue
            lst = self.target()
            if lst is None:
                notes.append(
                    f"could not refresh the results from {self.current}: {self._list_error}; "
                    "these are the figures stored before"
                )
                return made
            if not lst.reports:
                notes.append(
                    f"the {self.current} list sends nothing out itself: it has nothing to report"
                )
                return made
            budget = lst.report_budget
            if budget is not None:
                spent = store.spent(self.current, self.now - HOUR)
                if spent + lst.report_calls > budget:
                    notes.append(
                        f"{self.current} allows few requests an hour: postpipe spent its "
                        f"{budget} report requests this hour; the rest is refreshed by a "
                        "later run"
                    )
                    return made
            try:
                results = lst.results(item.slug, item.remote_id)
            except PostpipeError as exc:
                notes.append(f"could not fetch the results of '{item.slug}': {exc}")
                continue
            finally:
                if lst.report_calls:  # asked the provider: counts against its budget
                    store.spend(self.current, self.now, lst.report_calls)
            made += lst.report_calls
            store.put(
                slug=item.slug,
                list_name=item.target,
                campaign_id=cid,
                sent_at=item.sent_at,
                fetched_at=self.now,
                figures=dataclasses.asdict(results),
                links=results.links,
            )
        return made

    def rows(self, items: Iterable[Item], site: Site | None) -> list[Row]:
        """What is stored for ``items``, with each link's section, oldest send first."""
        posts = {
            p.slug: PostText(p.view.title, p.body_html, p.url)
            for p in (site.posts if site is not None else ())
        }
        return stored_rows(self.settings, self.ledger, items, posts)


@dataclass(frozen=True)
class PostText:
    """What the sections of a post's links are read from."""

    title: str
    body_html: str
    url: str


def stored_rows(
    settings: Settings, ledger: Ledger, items: Iterable[Item], posts: Mapping[str, PostText]
) -> list[Row]:
    """The stored results of ``items`` (no request), each link with the section of the
    post it sits in (``posts`` by slug), oldest send first."""
    stored = {(r.slug, r.list, r.campaign_id): r for r in ledger.results.all()}
    rows = []
    for item in items:
        cid = _campaign_id(item)
        post = posts.get(item.slug)
        sections = link_sections(post.body_html, post.url, settings.site_url) if post else {}
        found = stored.get((item.slug, item.target, cid))
        rows.append(_row(item, cid, found, post.title if post else item.slug, sections))
    rows.sort(key=lambda r: (r.sent_at or "", r.slug))
    return rows


def sent_items(ledger: Ledger) -> list[Item]:
    """Every newsletter the ledger calls sent, at any list."""
    return [i for i in ledger.items() if i.kind == LIST and i.state == SENT]


def _row(
    item: Item,
    cid: str,
    found: StoredResult | None,
    title: str,
    sections: dict[str, str | None],
) -> Row:
    links = tuple(
        Link(url, clicks, sections.get(link_key(url)))
        for url, clicks in (found.links if found else ())
    )
    return Row(
        slug=item.slug,
        title=title,
        list=item.target,
        campaign_id=cid,
        sent_at=item.sent_at,
        fetched_at=found.fetched_at if found else None,
        figures=dict(found.figures) if found else {f: None for f in FIGURES},
        links=links,
    )


def report(
    settings: Settings,
    *,
    slugs: Sequence[str] = (),
    now: datetime,
    refresh: bool = False,
    make_list: Callable[[], MailingList] | None = None,
) -> Results:
    """``postpipe report``: refresh what is older than :data:`FRESH` (everything with
    ``refresh``), then every sent newsletter's stored results."""
    from .publish import open_ledger
    from .site import load_site

    site = load_site(settings, drafts=False)
    ledger = open_ledger(settings, read_only=True)
    try:
        reporter = Reporter(settings, ledger, now=now, make_list=make_list)
        items = reporter.sent(slugs)
        out = Results()
        out.requests = reporter.refresh(items, age=FRESH, force=refresh, notes=out.notes)
        out.rows = reporter.rows(items, site)
        return out
    finally:
        ledger.close()


def refresh_recent(
    settings: Settings,
    *,
    now: datetime,
    make_list: Callable[[], MailingList] | None = None,
) -> int:
    """For ``send --due``: refresh the results of newsletters sent in the last
    :data:`RECENT`, each at most every :data:`REFRESH_EVERY`; returns the requests
    made. Silent, and never raises: a report must never fail a send."""
    from .publish import open_ledger

    if not (settings.state_dir / "ledger.sqlite3").exists():
        return 0
    try:
        ledger = open_ledger(settings, read_only=True)
    except Exception:  # noqa: BLE001 - silent by design: the send is what matters
        return 0
    try:
        reporter = Reporter(settings, ledger, now=now, make_list=make_list)
        # sent within the week, and at least an hour ago (right after a send there is
        # nothing to count yet)
        recent = [
            i
            for i in reporter.sent()
            if i.sent_at
            and not _older(i.sent_at, now, RECENT)
            and _older(i.sent_at, now, REFRESH_EVERY)
        ]
        if not recent:
            return 0
        return reporter.refresh(recent, age=REFRESH_EVERY, force=False, notes=[])
    except Exception:  # noqa: BLE001 - silent by design: the send is what matters
        return 0
    finally:
        ledger.close()


# -- output ---------------------------------------------------------------------------


def _num(value: int | float | None) -> str:
    return "–" if value is None else f"{value}"


def _pct(value: int | float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _when(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") if stamp else "never"


def render_json(results: Results) -> str:
    return json.dumps([r.as_json() for r in results.rows], indent=2, ensure_ascii=False)


def render_text(results: Results) -> list[str]:
    """The table per newsletter, its top links with their sections, and a comparison
    line per edition when there are several."""
    lines: list[str] = []
    if not results.rows:
        return ["no newsletter has been sent yet: nothing to report"]
    for r in results.rows:
        f = r.figures
        lines.append(f"{r.title} ({r.slug})")
        if r.fetched_at is None:
            lines.append(f"  sent {_when(r.sent_at)} via {r.list}: no figures stored")
            lines.append("")
            continue
        lines.append(
            f"  sent {_when(r.sent_at)} via {r.list} (campaign {r.campaign_id}), "
            f"figures fetched {_when(r.fetched_at)}"
        )
        lines.append(
            f"  {'recipients':>10}  {'delivered':>9}  {'bounces':>7}  {'unique opens':>18}  "
            f"{'unique clicks':>18}  {'unsubscribes':>12}"
        )
        lines.append(
            f"  {_num(f['recipients']):>10}  {_num(f['delivered']):>9}  {_num(f['bounces']):>7}  "
            f"{_num(f['opens_unique']) + ' (' + _pct(f['open_rate']) + ')':>18}  "
            f"{_num(f['clicks_unique']) + ' (' + _pct(f['click_rate']) + ')':>18}  "
            f"{_num(f['unsubscribes']):>12}"
        )
        if r.links:
            lines.append("  top links:")
            for link in r.links[:TOP_LINKS]:
                section = f"  [{link.section}]" if link.section else ""
                lines.append(f"  {link.clicks:>6}  {link.url}{section}")
        lines.append("")
    if len(results.rows) > 1:
        lines.append("editions (oldest first):")
        width = max(len(r.slug) for r in results.rows)
        for r in results.rows:
            opens, clicks = _pct(r.figures["open_rate"]), _pct(r.figures["click_rate"])
            lines.append(
                f"  {(r.sent_at or '')[:10]:<10}  {r.slug:<{width}}  "
                f"opens {opens:>6}  clicks {clicks:>6}"
            )
        lines.append("")
    lines.append(APPLE_NOTE)
    return lines
