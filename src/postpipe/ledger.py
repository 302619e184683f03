"""The ledger: what was pushed where, and the send state machine (DESIGN §5).

SQLite in WAL mode at ``.postpipe/ledger.sqlite3``, migrated with
``PRAGMA user_version``. One row per (post, kind, target). Every transition
is a named method running in one transaction; the send claim runs under
``BEGIN IMMEDIATE`` so two processes cannot both move a row to ``sending``.
This and ``suppression.py`` (the suppression list's own table) are the only
modules with SQL.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from .errors import LedgerError

if TYPE_CHECKING:
    from .ledger_results import LedgerResults
    from .suppression import Suppressions

CMS, LIST = "cms", "list"

# Newsletter states; a CMS row is "published", "scheduled" or "failed".
PREPARED, SCHEDULED, SENDING, SENT, MISSED, FAILED, PUBLISHED = (
    "prepared",
    "scheduled",
    "sending",
    "sent",
    "missed",
    "failed",
    "published",
)

MIGRATIONS: tuple[str, ...] = (
    # 1: items, remote assets, per-recipient sends, an event log
    """
    CREATE TABLE items (
        slug TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('cms', 'list')),
        target TEXT NOT NULL,
        state TEXT NOT NULL,
        remote_id TEXT,
        remote_url TEXT,
        content_hash TEXT,
        idem_key TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        claimed_by TEXT,
        last_error TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (slug, kind, target)
    );
    CREATE TABLE assets (
        target TEXT NOT NULL,
        digest TEXT NOT NULL,
        remote_id TEXT,
        remote_url TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (target, digest)
    );
    CREATE TABLE recipients (
        slug TEXT NOT NULL,
        target TEXT NOT NULL,
        email TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (slug, target, email)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        slug TEXT NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT
    );
    """,
    # 2: the smtp target's suppression list (postpipe.suppression), per recipients CSV
    """
    CREATE TABLE suppressions (
        list TEXT NOT NULL,
        email TEXT NOT NULL,
        address TEXT NOT NULL,
        reason TEXT,
        suppressed_at TEXT,
        soft_bounces INTEGER NOT NULL DEFAULT 0,
        last_soft_slug TEXT,
        detail TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (list, email)
    );
    """,
    # 3: results of sent newsletters (postpipe report), keyed by the newsletter, not the
    # provider's state: a change of provider keeps the history
    """
    CREATE TABLE results (
        slug TEXT NOT NULL,
        list TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        sent_at TEXT,
        fetched_at TEXT NOT NULL,
        recipients INTEGER,
        delivered INTEGER,
        bounces INTEGER,
        opens_unique INTEGER,
        open_rate REAL,
        clicks_unique INTEGER,
        click_rate REAL,
        unsubscribes INTEGER,
        PRIMARY KEY (slug, list, campaign_id)
    );
    CREATE TABLE result_links (
        slug TEXT NOT NULL,
        list TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        url TEXT NOT NULL,
        clicks INTEGER NOT NULL,
        PRIMARY KEY (slug, list, campaign_id, url)
    );
    CREATE TABLE result_requests (
        list TEXT NOT NULL,
        at TEXT NOT NULL,
        calls INTEGER NOT NULL
    );
    """,
)


def iso(value: datetime) -> str:
    """How the ledger and its tables store a time: UTC, to the second."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Item:
    """One ledger row."""

    slug: str
    kind: str
    target: str
    state: str
    remote_id: str | None = None
    remote_url: str | None = None
    content_hash: str | None = None
    idem_key: str | None = None
    attempts: int = 0
    created_at: str = ""
    updated_at: str = ""
    sent_at: str | None = None
    claimed_by: str | None = None
    last_error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Claim:
    """The outcome of :meth:`Ledger.claim_send`.

    ``action`` is ``send`` (we own a fresh claim), ``reconcile`` (a previous
    run left the row in ``sending``: ask the provider first) or ``done``.
    """

    action: str
    item: Item


@dataclass(frozen=True)
class Snapshot:
    """The ledger as it was when a run started: a frozen value to plan against."""

    items: Mapping[tuple[str, str, str], Item] = field(default_factory=dict)
    #: ``(target, digest)`` → URL of each uploaded image
    media: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def get(self, slug: str, kind: str, target: str) -> Item | None:
        return self.items.get((slug, kind, target))


def _same(text: str) -> str:
    return text


class _LedgerDb:
    """The connection: WAL set-up, migrations, transactions and the ``items`` row codec.

    ``redact`` hides secrets from every text it stores (``last_error``, the
    event log, a recipient's error): a provider's error may echo a credential.
    """

    def __init__(self, path: Path, redact: Callable[[str], str] = _same) -> None:
        self.path = path
        self.redact = redact
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"cannot open the ledger: {exc}",
                path=str(path),
                hint="if the file is damaged, move it away; postpipe finds "
                "existing posts and campaigns at the targets again",
            ) from None
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------
    @contextmanager
    def transaction(self, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction(immediate=True) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise LedgerError(
                    f"the ledger is from a newer postpipe (schema {version})",
                    path=str(self.path),
                    hint="upgrade postpipe",
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    @staticmethod
    def _item(row: sqlite3.Row | None) -> Item | None:
        if row is None:
            return None
        values = dict(row)
        values["data"] = json.loads(values.get("data") or "{}")
        return Item(**values)

    def _log(
        self,
        db: sqlite3.Connection,
        slug: str,
        kind: str,
        target: str,
        event: str,
        now: datetime,
        detail: str | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO events (at, slug, kind, target, event, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (iso(now), slug, kind, target, event, self.redact(detail) if detail else detail),
        )

    def _upsert(
        self,
        db: sqlite3.Connection,
        slug: str,
        kind: str,
        target: str,
        now: datetime,
        **values: Any,
    ) -> None:
        if "data" in values:
            values["data"] = json.dumps(values["data"], sort_keys=True)
        if values.get("last_error"):
            values["last_error"] = self.redact(values["last_error"])
        exists = db.execute(
            "SELECT 1 FROM items WHERE slug=? AND kind=? AND target=?", (slug, kind, target)
        ).fetchone()
        values["updated_at"] = iso(now)
        if exists:
            sets = ", ".join(f"{k} = ?" for k in values)
            db.execute(
                f"UPDATE items SET {sets} WHERE slug=? AND kind=? AND target=?",
                (*values.values(), slug, kind, target),
            )
        else:
            values.setdefault("state", FAILED)
            values["created_at"] = iso(now)
            cols = ", ".join(["slug", "kind", "target", *values])
            marks = ", ".join("?" * (3 + len(values)))
            db.execute(
                f"INSERT INTO items ({cols}) VALUES ({marks})",
                (slug, kind, target, *values.values()),
            )

    def _row(self, db: sqlite3.Connection, slug: str, kind: str, target: str) -> Item | None:
        return self._item(
            db.execute(
                "SELECT * FROM items WHERE slug=? AND kind=? AND target=?", (slug, kind, target)
            ).fetchone()
        )


class _LedgerStates(_LedgerDb):
    """The state transitions of CMS rows and newsletters (DESIGN §5), one transaction each."""

    # -- CMS transitions ------------------------------------------------------------
    def record_published(
        self,
        slug: str,
        target: str,
        *,
        remote_id: str,
        remote_url: str,
        content_hash: str,
        now: datetime,
        scheduled: bool = False,
        data: dict[str, Any] | None = None,
    ) -> None:
        """The CMS accepted the post (published, or scheduled for its date)."""
        state = SCHEDULED if scheduled else PUBLISHED
        with self.transaction() as db:
            self._upsert(
                db,
                slug,
                CMS,
                target,
                now,
                state=state,
                remote_id=remote_id,
                remote_url=remote_url,
                content_hash=content_hash,
                last_error=None,
                data=data or {},
            )
            self._log(db, slug, CMS, target, state, now, remote_url)

    def record_error(self, slug: str, kind: str, target: str, error: str, now: datetime) -> None:
        """Keep the last error on the row (creating a ``failed`` row if there is none)."""
        with self.transaction() as db:
            self._upsert(db, slug, kind, target, now, last_error=error)
            self._log(db, slug, kind, target, "error", now, error)

    # -- newsletter transitions -------------------------------------------------------
    def record_prepared(
        self,
        slug: str,
        target: str,
        *,
        key: str,
        remote_id: str | None,
        content_hash: str,
        now: datetime,
        scheduled: bool = False,
        data: dict[str, Any] | None = None,
    ) -> None:
        """The campaign exists at the provider (or is ready locally), not sent."""
        with self.transaction(immediate=True) as db:
            row = self._row(db, slug, LIST, target)
            if row is not None and row.state in (SENDING, SENT):
                raise LedgerError(f"newsletter '{slug}' is {row.state}; it cannot be changed")
            self._upsert(
                db,
                slug,
                LIST,
                target,
                now,
                state=SCHEDULED if scheduled else PREPARED,
                idem_key=key,
                remote_id=remote_id,
                content_hash=content_hash,
                last_error=None,
                data=data or {},
            )
            self._log(db, slug, LIST, target, "prepared", now, remote_id)

    def claim_send(self, slug: str, target: str, key: str, now: datetime) -> Claim:
        """Move the newsletter to ``sending`` before any call that sends.

        Runs under ``BEGIN IMMEDIATE``: of two processes, one gets ``send`` and
        the other sees ``sending`` (``reconcile``) or ``sent`` (``done``).
        """
        with self.transaction(immediate=True) as db:
            row = self._row(db, slug, LIST, target)
            if row is not None and row.state == SENT:
                return Claim("done", row)
            if row is not None and row.state == SENDING:
                return Claim("reconcile", row)
            key = row.idem_key if row and row.idem_key else key
            attempts = (row.attempts if row else 0) + 1
            self._upsert(
                db,
                slug,
                LIST,
                target,
                now,
                state=SENDING,
                idem_key=key,
                attempts=attempts,
                claimed_by=self.owner,
            )
            self._log(db, slug, LIST, target, "sending", now, key)
        claimed = self._row(self.db, slug, LIST, target)
        assert claimed is not None
        return Claim("send", claimed)

    def confirm_sent(
        self,
        slug: str,
        target: str,
        *,
        remote_id: str | None,
        now: datetime,
        sent_at: datetime | None = None,
        detail: str | None = None,
    ) -> None:
        """The provider sent (or says it had already sent) the newsletter."""
        with self.transaction(immediate=True) as db:
            self._upsert(
                db,
                slug,
                LIST,
                target,
                now,
                state=SENT,
                remote_id=remote_id,
                sent_at=iso(sent_at or now),
                last_error=None,
                claimed_by=None,
            )
            self._log(db, slug, LIST, target, "sent", now, detail)

    def release(self, slug: str, target: str, error: str, now: datetime) -> None:
        """The send certainly did not happen: back to ``prepared`` with the error."""
        with self.transaction(immediate=True) as db:
            self._upsert(
                db, slug, LIST, target, now, state=PREPARED, last_error=error, claimed_by=None
            )
            self._log(db, slug, LIST, target, "released", now, error)

    def mark_uncertain(self, slug: str, target: str, error: str, now: datetime) -> None:
        """The send may have happened: stay ``sending``; the next run asks the provider."""
        with self.transaction(immediate=True) as db:
            self._upsert(
                db, slug, LIST, target, now, state=SENDING, last_error=error, claimed_by=None
            )
            self._log(db, slug, LIST, target, "uncertain", now, error)

    def mark_missed(
        self,
        slug: str,
        target: str,
        *,
        key: str,
        now: datetime,
        detail: str,
        confirmed_unsent: bool = False,
    ) -> None:
        """Too late to send. A ``sending`` row qualifies only once the provider
        confirmed that it never sent (``confirmed_unsent``)."""
        with self.transaction(immediate=True) as db:
            row = self._row(db, slug, LIST, target)
            if row is not None and (
                row.state == SENT or (row.state == SENDING and not confirmed_unsent)
            ):
                return
            self._upsert(db, slug, LIST, target, now, state=MISSED, idem_key=key, last_error=detail)
            self._log(db, slug, LIST, target, "missed", now, detail)


class Ledger(_LedgerStates):
    """A connection to one site's ledger.

    The plumbing is :class:`_LedgerDb`, the transitions :class:`_LedgerStates`;
    here: the reads, and the asset and recipient bookkeeping.
    """

    @property
    def results(self) -> LedgerResults:
        """The results of sent newsletters (``postpipe report``)."""
        from .ledger_results import LedgerResults

        return LedgerResults(self)

    @property
    def suppressions(self) -> Suppressions:
        """The smtp target's suppression list (its own table and class)."""
        from .suppression import Suppressions

        return Suppressions(self)

    # -- reads -------------------------------------------------------------------
    def get(self, slug: str, kind: str, target: str) -> Item | None:
        return self._row(self.db, slug, kind, target)

    def items(self) -> list[Item]:
        rows = self.db.execute("SELECT * FROM items ORDER BY slug, kind, target").fetchall()
        return [i for i in map(self._item, rows) if i is not None]

    def snapshot(self) -> Snapshot:
        """Every row and every known upload, read in one transaction."""
        with self.transaction() as db:
            rows = db.execute("SELECT * FROM items").fetchall()
            media = db.execute("SELECT target, digest, remote_url FROM assets").fetchall()
        items = [i for i in map(self._item, rows) if i is not None]
        return Snapshot(
            items={(i.slug, i.kind, i.target): i for i in items},
            media={(m[0], m[1]): m[2] for m in media if m[2]},
        )

    def events(self, slug: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM events" + (" WHERE slug=?" if slug else "") + " ORDER BY id"
        return [dict(r) for r in self.db.execute(query, (slug,) if slug else ())]

    # -- assets and recipients (used by CMS and SMTP adapters) ---------------------------
    def asset(self, target: str, digest: str) -> tuple[str | None, str | None] | None:
        row = self.db.execute(
            "SELECT remote_id, remote_url FROM assets WHERE target=? AND digest=?", (target, digest)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def record_asset(
        self, target: str, digest: str, remote_id: str, remote_url: str, now: datetime
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO assets (target, digest, remote_id, remote_url, "
                "created_at) VALUES (?, ?, ?, ?, ?)",
                (target, digest, remote_id, remote_url, iso(now)),
            )

    def recipient_states(self, slug: str, target: str) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT email, state FROM recipients WHERE slug=? AND target=?", (slug, target)
        )
        return {r[0]: r[1] for r in rows}

    def record_recipient(
        self,
        slug: str,
        target: str,
        email: str,
        state: str,
        now: datetime,
        error: str | None = None,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO recipients (slug, target, email, state, "
                "updated_at, error) VALUES (?, ?, ?, ?, ?, ?)",
                (slug, target, email, state, iso(now), self.redact(error) if error else error),
            )


class LedgerMedia:
    """The ledger as a CMS's ``MediaStore``: uploads by content hash."""

    def __init__(self, ledger: Ledger, clock: Callable[[], datetime]) -> None:
        self.ledger = ledger
        self.clock = clock

    def get(self, target: str, digest: str) -> tuple[str | None, str | None] | None:
        return self.ledger.asset(target, digest)

    def put(self, target: str, digest: str, remote_id: str, url: str) -> None:
        self.ledger.record_asset(target, digest, remote_id, url, self.clock())


class LedgerRecipients:
    """The ledger as an SMTP list's ``RecipientLog``: one row per recipient."""

    def __init__(self, ledger: Ledger, target: str) -> None:
        self.ledger = ledger
        self.target = target

    def states(self, slug: str) -> dict[str, str]:
        return self.ledger.recipient_states(slug, self.target)

    def record(
        self, slug: str, address: str, state: str, now: datetime, error: str | None = None
    ) -> None:
        self.ledger.record_recipient(slug, self.target, address, state, now, error)
