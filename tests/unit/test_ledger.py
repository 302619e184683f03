"""The ledger (DESIGN §5): schema migrations, WAL, and the newsletter state machine
``prepared → sending → sent`` with its claim under concurrent connections."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postpipe.errors import LedgerError
from postpipe.ledger import (
    CMS,
    FAILED,
    LIST,
    MIGRATIONS,
    MISSED,
    PREPARED,
    PUBLISHED,
    SCHEDULED,
    SENDING,
    SENT,
    Ledger,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
T = "fakelist"
KEY = "alpha-pp0123456789"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".postpipe" / "ledger.sqlite3"


@pytest.fixture
def ledger(path: Path):
    with Ledger(path) as led:
        yield led


def prepared(led: Ledger, slug: str = "alpha", **kw) -> None:
    args = {"key": KEY, "remote_id": "100", "content_hash": "h1", "now": NOW, **kw}
    led.record_prepared(slug, T, **args)


# ---------------------------------------------------------------------------
# the file


def test_a_new_ledger_is_migrated_and_in_wal_mode(path: Path) -> None:
    Ledger(path).close()  # creates the folder too
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"items", "assets", "recipients", "events"} <= tables
    finally:
        db.close()


def test_reopening_keeps_the_rows_and_the_version(path: Path) -> None:
    with Ledger(path) as led:
        prepared(led)
    with Ledger(path) as led:
        item = led.get("alpha", LIST, T)
        assert item is not None and item.state == PREPARED
        assert led.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert led.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_ledger_from_a_newer_postpipe_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(LedgerError) as info:
        Ledger(path)
    assert f"the ledger is from a newer postpipe (schema {len(MIGRATIONS) + 1})" in str(info.value)
    assert info.value.path == str(path)
    assert info.value.hint == "upgrade postpipe"
    # and it was left as it was
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
    db.close()


def test_a_damaged_file_is_a_ledger_error_with_a_way_out(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(LedgerError) as info:
        Ledger(path)
    assert "cannot open the ledger" in str(info.value)
    assert info.value.hint and "move it away" in info.value.hint


# ---------------------------------------------------------------------------
# the claim


def test_claim_send_under_two_connections(path: Path) -> None:
    with Ledger(path) as a, Ledger(path) as b:
        prepared(a)
        first = a.claim_send("alpha", T, "ignored-key", NOW)
        assert first.action == "send"
        assert first.item.state == SENDING
        assert first.item.idem_key == KEY  # the key of the prepared row wins
        assert first.item.attempts == 1
        assert first.item.claimed_by == a.owner

        second = b.claim_send("alpha", T, KEY, NOW)
        assert second.action == "reconcile"  # another run is (or was) sending: ask first
        assert second.item.state == SENDING

        a.confirm_sent("alpha", T, remote_id="100", now=LATER)
        third = b.claim_send("alpha", T, KEY, LATER)
        assert third.action == "done"
        assert third.item.state == SENT


def _claim(path: str, barrier, results) -> None:  # runs in a child process
    with Ledger(Path(path)) as led:
        barrier.wait(timeout=10)
        results.put(led.claim_send("alpha", T, KEY, NOW).action)


def test_of_many_processes_claiming_at_once_exactly_one_sends(path: Path) -> None:
    with Ledger(path) as led:
        prepared(led)
    ctx = multiprocessing.get_context("fork")
    n = 4
    barrier, results = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(str(path), barrier, results)) for _ in range(n)]
    for p in procs:
        p.start()
    actions = sorted(results.get(timeout=20) for _ in procs)
    for p in procs:
        p.join(timeout=10)
        assert p.exitcode == 0
    assert actions == ["reconcile"] * (n - 1) + ["send"]
    with Ledger(path) as led:
        item = led.get("alpha", LIST, T)
        assert item is not None and (item.state, item.attempts) == (SENDING, 1)


def test_a_claim_without_a_row_creates_it_with_the_given_key(ledger: Ledger) -> None:
    claim = ledger.claim_send("beta", T, "beta-ppabc", NOW)
    assert claim.action == "send"
    assert (claim.item.idem_key, claim.item.state) == ("beta-ppabc", SENDING)
    assert claim.item.created_at == "2026-06-15T12:00:00+00:00"


# ---------------------------------------------------------------------------
# transitions


def test_confirm_sent(ledger: Ledger) -> None:
    prepared(ledger)
    ledger.claim_send("alpha", T, KEY, NOW)
    ledger.record_error("alpha", LIST, T, "a flaky moment", NOW)
    ledger.confirm_sent("alpha", T, remote_id="c-9", now=LATER, detail="found at the provider")
    item = ledger.get("alpha", LIST, T)
    assert item is not None
    assert (item.state, item.remote_id, item.sent_at) == (SENT, "c-9", "2026-06-15T12:05:00+00:00")
    assert (item.last_error, item.claimed_by) == (None, None)
    assert item.idem_key == KEY


def test_confirm_sent_keeps_the_providers_time(ledger: Ledger) -> None:
    ledger.claim_send("alpha", T, KEY, NOW)
    ledger.confirm_sent("alpha", T, remote_id=None, now=LATER, sent_at=NOW)
    item = ledger.get("alpha", LIST, T)
    assert item is not None and item.sent_at == "2026-06-15T12:00:00+00:00"


def test_release_puts_the_newsletter_back_to_prepared(ledger: Ledger) -> None:
    prepared(ledger)
    ledger.claim_send("alpha", T, KEY, NOW)
    ledger.release("alpha", T, "HTTP 429 Too Many Requests", NOW)
    item = ledger.get("alpha", LIST, T)
    assert item is not None
    assert (item.state, item.last_error, item.claimed_by) == (
        PREPARED,
        "HTTP 429 Too Many Requests",
        None,
    )
    again = ledger.claim_send("alpha", T, KEY, LATER)
    assert (again.action, again.item.attempts) == ("send", 2)


def test_mark_uncertain_keeps_sending_and_the_next_claim_reconciles(ledger: Ledger) -> None:
    prepared(ledger)
    ledger.claim_send("alpha", T, KEY, NOW)
    ledger.mark_uncertain("alpha", T, "connection dropped after sending", NOW)
    item = ledger.get("alpha", LIST, T)
    assert item is not None
    assert (item.state, item.last_error, item.claimed_by) == (
        SENDING,
        "connection dropped after sending",
        None,
    )
    claim = ledger.claim_send("alpha", T, KEY, LATER)
    assert (claim.action, claim.item.attempts) == ("reconcile", 1)


def test_mark_missed(ledger: Ledger) -> None:
    prepared(ledger)
    ledger.mark_missed("alpha", T, key=KEY, now=NOW, detail="48h late")
    item = ledger.get("alpha", LIST, T)
    assert item is not None and (item.state, item.last_error) == (MISSED, "48h late")
    # a newsletter never prepared can be missed too
    ledger.mark_missed("beta", T, key="beta-ppx", now=NOW, detail="late")
    beta = ledger.get("beta", LIST, T)
    assert beta is not None and (beta.state, beta.idem_key) == (MISSED, "beta-ppx")


@pytest.mark.parametrize("state", [SENDING, SENT])
def test_mark_missed_never_touches_a_sending_or_sent_newsletter(ledger: Ledger, state: str) -> None:
    prepared(ledger)
    ledger.claim_send("alpha", T, KEY, NOW)
    if state == SENT:
        ledger.confirm_sent("alpha", T, remote_id="100", now=NOW)
    ledger.mark_missed("alpha", T, key=KEY, now=LATER, detail="late")
    item = ledger.get("alpha", LIST, T)
    assert item is not None and item.state == state
    assert "missed" not in [e["event"] for e in ledger.events("alpha")]


def test_record_prepared_scheduled_and_update(ledger: Ledger) -> None:
    prepared(ledger, scheduled=True, data={"web_id": 7})
    item = ledger.get("alpha", LIST, T)
    assert item is not None
    assert (item.state, item.remote_id, item.content_hash, item.data) == (
        SCHEDULED,
        "100",
        "h1",
        {"web_id": 7},
    )
    ledger.record_error("alpha", LIST, T, "boom", NOW)
    prepared(ledger, content_hash="h2", now=LATER)
    item = ledger.get("alpha", LIST, T)
    assert item is not None
    assert (item.state, item.content_hash, item.last_error) == (PREPARED, "h2", None)
    assert item.created_at == "2026-06-15T12:00:00+00:00"
    assert item.updated_at == "2026-06-15T12:05:00+00:00"


@pytest.mark.parametrize("state", [SENDING, SENT])
def test_record_prepared_refuses_to_overwrite_sending_or_sent(ledger: Ledger, state: str) -> None:
    prepared(ledger)
    ledger.claim_send("alpha", T, KEY, NOW)
    if state == SENT:
        ledger.confirm_sent("alpha", T, remote_id="100", now=NOW)
    with pytest.raises(LedgerError, match=f"newsletter 'alpha' is {state}; it cannot be changed"):
        prepared(ledger, content_hash="h2")
    item = ledger.get("alpha", LIST, T)
    assert item is not None and (item.state, item.content_hash) == (state, "h1")


def test_cms_rows(ledger: Ledger) -> None:
    ledger.record_error("alpha", CMS, "folder", "disk full", NOW)
    item = ledger.get("alpha", CMS, "folder")
    assert item is not None and (item.state, item.last_error) == (FAILED, "disk full")
    ledger.record_published(
        "alpha",
        "folder",
        remote_id="alpha",
        remote_url="https://news.example.org/alpha/",
        content_hash="p1",
        now=LATER,
    )
    item = ledger.get("alpha", CMS, "folder")
    assert item is not None
    assert (item.state, item.remote_url, item.last_error) == (
        PUBLISHED,
        "https://news.example.org/alpha/",
        None,
    )
    ledger.record_published(
        "beta", "folder", remote_id="b", remote_url="u", content_hash="p", now=NOW, scheduled=True
    )
    assert [(i.slug, i.kind, i.state) for i in ledger.items()] == [
        ("alpha", CMS, PUBLISHED),
        ("beta", CMS, SCHEDULED),
    ]
    # a CMS row and a list row of the same post are separate
    prepared(ledger)
    assert ledger.get("alpha", LIST, T) is not None
    assert ledger.get("alpha", CMS, T) is None


def test_events_log_every_transition_in_order(ledger: Ledger) -> None:
    prepared(ledger)
    ledger.claim_send("alpha", T, KEY, NOW)
    ledger.mark_uncertain("alpha", T, "dropped", NOW)
    ledger.claim_send("alpha", T, KEY, LATER)  # reconcile: no new event
    ledger.confirm_sent("alpha", T, remote_id="100", now=LATER, detail="found sent")
    prepared(ledger, slug="beta")
    events = ledger.events("alpha")
    assert [(e["event"], e["detail"]) for e in events] == [
        ("prepared", "100"),
        ("sending", KEY),
        ("uncertain", "dropped"),
        ("sent", "found sent"),
    ]
    assert {(e["slug"], e["kind"], e["target"]) for e in events} == {("alpha", LIST, T)}
    assert events[-1]["at"] == "2026-06-15T12:05:00+00:00"
    assert [e["slug"] for e in ledger.events()] == ["alpha"] * 4 + ["beta"]


def test_assets_and_recipients(ledger: Ledger) -> None:
    assert ledger.asset("wordpress", "d1") is None
    ledger.record_asset("wordpress", "d1", "55", "https://cms/x.png", NOW)
    assert ledger.asset("wordpress", "d1") == ("55", "https://cms/x.png")
    ledger.record_recipient("alpha", "smtp", "a@example.org", "sent", NOW)
    ledger.record_recipient("alpha", "smtp", "b@example.org", "failed", NOW, error="550")
    ledger.record_recipient("alpha", "smtp", "b@example.org", "sent", LATER)
    assert ledger.recipient_states("alpha", "smtp") == {
        "a@example.org": "sent",
        "b@example.org": "sent",
    }
