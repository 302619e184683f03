"""The ``smtp`` target's suppression list, kept in the ledger (table ``suppressions``).

An address on it is never mailed again by that list. Rows belong to one *list*:
the recipients CSV (``SMTP_RECIPIENTS_FILE``), keyed by :func:`list_key`, its
path relative to the site folder (``members.csv``, ``lists/board.csv``), or its
absolute path when it lies outside the site folder. Renaming or moving the CSV
makes it a new list: move the suppressions along with ``postpipe unsubscribe``
(they are shown by ``postpipe unsubscribe --list``).

A row has a ``reason`` once the address is suppressed (:data:`REASONS`) and the
time it was; before that it may only count soft bounces. A soft bounce counts
once per newsletter; three newsletters in a row that bounced softly suppress the
address (``bounced-soft``); a newsletter in between that was sent and did not
bounce (a delivery) starts the count again. Addresses are keyed like the
recipient log (``MailAddress.key``: local part in lower case, ASCII domain).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .errors import ConfigError
from .headers import parse_address
from .ledger import Ledger, iso

if TYPE_CHECKING:
    from .config import Settings

UNSUBSCRIBED, BOUNCED_HARD, BOUNCED_SOFT, COMPLAINED, BY_HAND = (
    "unsubscribed",
    "bounced-hard",
    "bounced-soft",
    "complained",
    "by-hand",
)
REASONS = (UNSUBSCRIBED, BOUNCED_HARD, BOUNCED_SOFT, COMPLAINED, BY_HAND)
#: soft bounces of this many newsletters in a row suppress an address
SOFT_LIMIT = 3


def list_key(settings: Settings) -> str:
    """The key of the smtp target's list: ``SMTP_RECIPIENTS_FILE`` relative to the
    site folder, as a POSIX path (absolute when it lies outside the site folder)."""
    value = settings.smtp_recipients_file
    if not value:
        raise ConfigError(
            "the suppression list belongs to the smtp target's recipients, but "
            "SMTP_RECIPIENTS_FILE is not set",
            hint="set SMTP_RECIPIENTS_FILE to the CSV of recipients",
        )
    path = settings.path(value).resolve()
    try:
        return path.relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class Suppressed:
    """One row: ``reason`` is None while the address only counts soft bounces."""

    list: str
    email: str  # the key
    address: str  # as first seen
    reason: str | None
    suppressed_at: str | None
    soft_bounces: int
    detail: str | None
    last_soft_slug: str | None = None


class Suppressions:
    """The suppression list of every smtp list in one ledger (``Ledger.suppressions``)."""

    def __init__(self, ledger: Ledger, redact: Callable[[str], str] | None = None) -> None:
        self.ledger = ledger
        self.redact = redact or ledger.redact

    # -- reads --------------------------------------------------------------------------
    def get(self, lst: str, address: str) -> Suppressed | None:
        row = self.ledger.db.execute(
            "SELECT * FROM suppressions WHERE list=? AND email=?", (lst, _key(address))
        ).fetchone()
        return _row(row)

    def suppressed(self, lst: str) -> set[str]:
        """The keys of every suppressed address of ``lst``."""
        rows = self.ledger.db.execute(
            "SELECT email FROM suppressions WHERE list=? AND reason IS NOT NULL", (lst,)
        )
        return {r[0] for r in rows}

    def rows(self, lst: str | None = None) -> list[Suppressed]:
        """Suppressed addresses (of ``lst``, or of every list), oldest first."""
        query = "SELECT * FROM suppressions WHERE reason IS NOT NULL"
        args: tuple[str, ...] = ()
        if lst is not None:
            query, args = query + " AND list=?", (lst,)
        rows = self.ledger.db.execute(query + " ORDER BY suppressed_at, email", args)
        return [s for s in map(_row, rows) if s is not None]

    # -- writes -------------------------------------------------------------------------
    def suppress(
        self, lst: str, address: str, reason: str, now: datetime, detail: str | None = None
    ) -> bool:
        """Suppress ``address`` for ``lst``; False when it already was (kept as it was)."""
        if reason not in REASONS:
            raise ValueError(f"unknown suppression reason {reason!r}")
        key = _key(address)
        with self.ledger.transaction(immediate=True) as db:
            row = db.execute(
                "SELECT reason FROM suppressions WHERE list=? AND email=?", (lst, key)
            ).fetchone()
            if row is not None and row[0] is not None:
                return False
            db.execute(
                "INSERT INTO suppressions (list, email, address, reason, suppressed_at, "
                "detail, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (list, email) DO UPDATE SET reason=excluded.reason, "
                "suppressed_at=excluded.suppressed_at, detail=excluded.detail, "
                "updated_at=excluded.updated_at",
                (lst, key, address, reason, iso(now), self._clean(detail), iso(now)),
            )
        return True

    def remove(self, lst: str, address: str) -> bool:
        """Take ``address`` off the list (its soft-bounce count too); False if it was not on it."""
        with self.ledger.transaction(immediate=True) as db:
            cursor = db.execute(
                "DELETE FROM suppressions WHERE list=? AND email=?", (lst, _key(address))
            )
        return cursor.rowcount > 0

    def soft_bounce(
        self,
        lst: str,
        address: str,
        slug: str | None,
        now: datetime,
        *,
        target: str = "smtp",
        detail: str | None = None,
    ) -> bool:
        """Count one soft bounce of newsletter ``slug`` (None: not known); True when the
        address is suppressed now (the :data:`SOFT_LIMIT`-th newsletter in a row).

        In a row: the count goes on only when the newsletter sent to this address just
        before ``slug`` (per the recipient log of ``target``) bounced too; a second
        bounce of the same newsletter does not count again.
        """
        key = _key(address)
        with self.ledger.transaction(immediate=True) as db:
            row = _row(
                db.execute(
                    "SELECT * FROM suppressions WHERE list=? AND email=?", (lst, key)
                ).fetchone()
            )
            if row is not None and row.reason is not None:
                return False
            count, last = (row.soft_bounces, row.last_soft_slug) if row else (0, None)
            if slug is not None and last == slug:
                return False  # the same newsletter again
            if slug is not None and last is not None:
                sent = [
                    r[0]
                    for r in db.execute(
                        "SELECT slug FROM recipients WHERE target=? AND email=? AND state='sent' "
                        "ORDER BY updated_at, slug",
                        (target, key),
                    )
                ]
                before = sent[sent.index(slug) - 1] if slug in sent[1:] else None
                if before is not None and before != last:
                    count = 0  # a newsletter in between was delivered
            count += 1
            suppressed = count >= SOFT_LIMIT
            db.execute(
                "INSERT INTO suppressions (list, email, address, reason, suppressed_at, "
                "soft_bounces, last_soft_slug, detail, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (list, email) DO UPDATE SET reason=excluded.reason, "
                "suppressed_at=excluded.suppressed_at, soft_bounces=excluded.soft_bounces, "
                "last_soft_slug=excluded.last_soft_slug, detail=excluded.detail, "
                "updated_at=excluded.updated_at",
                (
                    lst,
                    key,
                    address,
                    BOUNCED_SOFT if suppressed else None,
                    iso(now) if suppressed else None,
                    count,
                    slug,
                    self._clean(detail),
                    iso(now),
                ),
            )
        return suppressed

    def _clean(self, detail: str | None) -> str | None:
        return self.redact(detail)[:500] if detail else None


def _key(address: str) -> str:
    try:
        return parse_address(address.strip()).key
    except ValueError:
        return address.strip().lower()


def _row(row: sqlite3.Row | None) -> Suppressed | None:
    if row is None:
        return None
    values = dict(row)
    return Suppressed(
        list=values["list"],
        email=values["email"],
        address=values["address"],
        reason=values["reason"],
        suppressed_at=values["suppressed_at"],
        soft_bounces=values["soft_bounces"],
        detail=values["detail"],
        last_soft_slug=values["last_soft_slug"],
    )


class ListSuppressions:
    """The smtp target's list's suppressions as its ``SuppressionList``; the list key
    is read from the settings when first asked (other targets never ask). One sender,
    one mailbox: the list of ``SMTP_RECIPIENTS_FILE`` also applies to every
    ``SMTP_RECIPIENTS_FILE_<LANG>``, so an unsubscribe or a bounce read from the mailbox
    (which cannot say which language's list it came from) stops every edition."""

    def __init__(self, store: Suppressions, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def suppressed(self) -> set[str]:
        return self.store.suppressed(list_key(self.settings))
