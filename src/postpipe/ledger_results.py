"""The ledger's results of sent newsletters (``postpipe report``, DESIGN §8).

A narrow view on the tables of migration 2: one row per newsletter (slug, the
list it went to, the provider's campaign id) with the time it was fetched and
the provider's figures, its links with their clicks, and a log of report
requests per list (the hourly budget of providers such as Brevo). Keyed by the
newsletter, so the history stays when the site changes provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .ledger import Ledger, iso

#: the figures of a result, in the order of the table and of ``--json``
FIGURES = (
    "recipients",
    "delivered",
    "bounces",
    "opens_unique",
    "open_rate",
    "clicks_unique",
    "click_rate",
    "unsubscribes",
)


@dataclass(frozen=True)
class StoredResult:
    """One newsletter's results as last fetched; ``None`` where the provider gave no figure."""

    slug: str
    list: str
    campaign_id: str
    sent_at: str | None
    fetched_at: str
    figures: Mapping[str, int | float | None]
    links: tuple[tuple[str, int], ...] = ()

    def __getitem__(self, name: str) -> int | float | None:
        return self.figures.get(name)


class LedgerResults:
    """Read and write the results tables of one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def get(self, slug: str, list_name: str, campaign_id: str) -> StoredResult | None:
        found = self._select(
            "WHERE slug=? AND list=? AND campaign_id=?", (slug, list_name, campaign_id)
        )
        return found[0] if found else None

    def all(self, slugs: Iterable[str] | None = None) -> list[StoredResult]:
        """Every stored result (of ``slugs`` only, if given), oldest send first."""
        wanted = list(slugs) if slugs is not None else None
        rows = self._select("", ())
        return [r for r in rows if wanted is None or r.slug in wanted]

    def put(
        self,
        *,
        slug: str,
        list_name: str,
        campaign_id: str,
        sent_at: str | None,
        fetched_at: datetime,
        figures: Mapping[str, Any],
        links: Iterable[tuple[str, int]],
    ) -> None:
        """Store one fetch, replacing the previous one of that newsletter (one transaction)."""
        key = (slug, list_name, campaign_id)
        with self.ledger.transaction() as db:
            db.execute("DELETE FROM results WHERE slug=? AND list=? AND campaign_id=?", key)
            db.execute("DELETE FROM result_links WHERE slug=? AND list=? AND campaign_id=?", key)
            cols = ", ".join(FIGURES)
            marks = ", ".join("?" * (5 + len(FIGURES)))
            db.execute(
                f"INSERT INTO results (slug, list, campaign_id, sent_at, fetched_at, {cols}) "
                f"VALUES ({marks})",
                (*key, sent_at, iso(fetched_at), *(figures.get(f) for f in FIGURES)),
            )
            db.executemany(
                "INSERT OR REPLACE INTO result_links (slug, list, campaign_id, url, clicks) "
                "VALUES (?, ?, ?, ?, ?)",
                [(*key, url, int(clicks)) for url, clicks in links],
            )

    def spend(self, list_name: str, now: datetime, calls: int) -> None:
        """Log ``calls`` report requests made to ``list_name`` at ``now`` (and forget
        the ones older than a day: only the last hour counts)."""
        with self.ledger.transaction() as db:
            db.execute("DELETE FROM result_requests WHERE at<?", (iso(now - timedelta(days=1)),))
            db.execute(
                "INSERT INTO result_requests (list, at, calls) VALUES (?, ?, ?)",
                (list_name, iso(now), calls),
            )

    def spent(self, list_name: str, since: datetime) -> int:
        """Report requests made to ``list_name`` since ``since``."""
        row = self.ledger.db.execute(
            "SELECT COALESCE(SUM(calls), 0) FROM result_requests WHERE list=? AND at>?",
            (list_name, iso(since)),
        ).fetchone()
        return int(row[0])

    def _select(self, where: str, args: tuple[Any, ...]) -> list[StoredResult]:
        db = self.ledger.db
        rows = db.execute(
            f"SELECT * FROM results {where} ORDER BY COALESCE(sent_at, fetched_at), slug", args
        ).fetchall()
        links: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
        for link in db.execute(
            "SELECT slug, list, campaign_id, url, clicks FROM result_links "
            "ORDER BY clicks DESC, url"
        ):
            links.setdefault((link[0], link[1], link[2]), []).append((link[3], link[4]))
        return [
            StoredResult(
                slug=r["slug"],
                list=r["list"],
                campaign_id=r["campaign_id"],
                sent_at=r["sent_at"],
                fetched_at=r["fetched_at"],
                figures={f: r[f] for f in FIGURES},
                links=tuple(links.get((r["slug"], r["list"], r["campaign_id"]), ())),
            )
            for r in rows
        ]
