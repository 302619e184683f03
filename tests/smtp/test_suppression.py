"""The suppression list (ledger) and what the ``smtp`` list does with it, and DKIM:
suppressed addresses are skipped and counted, soft bounces suppress after three
newsletters in a row, and every message received by the SMTP server (aiosmtpd)
verifies with ``dkimpy`` against the public key."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from test_smtp import ROWS, outgoing

from postpipe.cli import Env, main
from postpipe.errors import ConfigError
from postpipe.keys import IdempotencyKey
from postpipe.ledger import Ledger
from postpipe.suppression import (
    BOUNCED_HARD,
    BOUNCED_SOFT,
    BY_HAND,
    UNSUBSCRIBED,
    Suppressions,
)

KEY = IdempotencyKey.for_newsletter("alpha", "test:")
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
LIST = "list.csv"


# ---------------------------------------------------------------------------
# the list itself


@pytest.fixture
def ledger(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        yield ledger


def sent(ledger: Ledger, slug: str, address: str, day: int) -> None:
    """``address`` got newsletter ``slug`` on June ``day`` (the smtp recipient log)."""
    ledger.record_recipient(slug, "smtp", address, "sent", NOW.replace(day=day))


def test_suppress_is_per_list_keyed_by_mailbox_and_kept_once(ledger: Ledger) -> None:
    store = ledger.suppressions
    assert store.suppress(LIST, "Ann@Example.ORG", UNSUBSCRIBED, NOW, "asked by email")
    assert not store.suppress(LIST, "ann@example.org", BY_HAND, NOW + timedelta(days=1))
    assert store.suppressed(LIST) == {"ann@example.org"}  # MailAddress.key: one per mailbox
    assert store.suppressed("other.csv") == set()
    [row] = store.rows(LIST)
    assert (row.reason, row.suppressed_at, row.detail) == (
        UNSUBSCRIBED,
        "2026-06-15T12:00:00+00:00",
        "asked by email",
    )
    assert store.remove(LIST, "ann@example.org")
    assert store.suppressed(LIST) == set() and not store.remove(LIST, "ann@example.org")


def test_three_newsletters_in_a_row_that_bounce_softly_suppress(ledger: Ledger) -> None:
    store: Suppressions = ledger.suppressions
    for day, slug in enumerate(("alpha", "beta", "gamma"), start=1):
        sent(ledger, slug, "bo@example.org", day)
    assert not store.soft_bounce(LIST, "bo@example.org", "alpha", NOW)
    assert not store.soft_bounce(LIST, "bo@example.org", "alpha", NOW)  # same one: once
    assert not store.soft_bounce(LIST, "bo@example.org", "beta", NOW)
    assert store.suppressed(LIST) == set()
    assert store.soft_bounce(LIST, "bo@example.org", "gamma", NOW, detail="bounce 4.2.2")
    [row] = store.rows(LIST)
    assert (row.reason, row.soft_bounces, row.detail) == (BOUNCED_SOFT, 3, "bounce 4.2.2")


def test_a_delivery_in_between_starts_the_soft_count_again(ledger: Ledger) -> None:
    store = ledger.suppressions
    for day, slug in enumerate(("alpha", "beta", "gamma", "delta", "omega"), start=1):
        sent(ledger, slug, "bo@example.org", day)
    store.soft_bounce(LIST, "bo@example.org", "alpha", NOW)
    store.soft_bounce(LIST, "bo@example.org", "beta", NOW)
    # gamma went out and did not bounce: delta's bounce is the first of a new row
    assert not store.soft_bounce(LIST, "bo@example.org", "delta", NOW)
    assert not store.soft_bounce(LIST, "bo@example.org", "omega", NOW)
    assert store.get(LIST, "bo@example.org").soft_bounces == 2  # type: ignore[union-attr]
    assert store.suppressed(LIST) == set()


def test_a_hard_bounce_after_soft_ones_suppresses(ledger: Ledger) -> None:
    store = ledger.suppressions
    store.soft_bounce(LIST, "bo@example.org", None, NOW)
    assert store.suppress(LIST, "bo@example.org", BOUNCED_HARD, NOW, "bounce 5.1.1")
    assert store.suppressed(LIST) == {"bo@example.org"}
    assert not store.soft_bounce(LIST, "bo@example.org", None, NOW)  # already suppressed


def test_the_migration_upgrades_a_ledger_of_schema_1(tmp_path: Path) -> None:
    import sqlite3

    from postpipe.ledger import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO recipients VALUES ('alpha', 'smtp', 'ann@example.org', 'sent', 'x', NULL)"
    )
    db.commit()
    db.close()
    with Ledger(path) as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert ledger.recipient_states("alpha", "smtp") == {"ann@example.org": "sent"}
        ledger.suppressions.suppress(LIST, "ann@example.org", BY_HAND, NOW)
        assert ledger.suppressions.suppressed(LIST) == {"ann@example.org"}


# ---------------------------------------------------------------------------
# sending skips them


def test_suppressed_addresses_are_skipped_and_counted(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS)
    s.ledger.suppressions.suppress("list.csv", "BO+news@example.org", UNSUBSCRIBED, NOW)
    lst = s.adapter()
    assert lst.recipients_count() == 2
    campaign = lst.prepare(outgoing(), KEY, None)
    done = lst.send(campaign, outgoing())
    assert s.server.handler.to() == ["ann@example.org", "cy@example.org"]
    assert done.remote_id == "2 of 3 sent, 1 suppressed, skipped"
    assert done.data["suppressed"] == 1
    found = lst.find_campaign(KEY)
    assert found is not None and found.status == "sent"  # not "partial" for ever


def test_an_address_suppressed_while_a_send_runs_is_not_mailed(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS)
    lst = s.adapter()

    def clock() -> datetime:  # read before each message: cy unsubscribes after the first
        if s.server.handler.received:
            s.ledger.suppressions.suppress("list.csv", "cy@example.org", UNSUBSCRIBED, NOW)
        return NOW

    lst.clock = clock
    done = lst.send(lst.prepare(outgoing(), KEY, None), outgoing())
    assert s.server.handler.to() == ["ann@example.org", "bo+news@example.org"]
    assert done.remote_id == "2 of 3 sent, 1 suppressed, skipped"


def test_a_deferred_address_suppressed_before_the_retry_is_not_retried(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS, defer={"cy@example.org"})
    lst = s.adapter()
    campaign = lst.prepare(outgoing(), KEY, None)
    with pytest.raises(Exception, match="deferred"):
        lst.send(campaign, outgoing())
    s.ledger.suppressions.suppress("list.csv", "cy@example.org", BOUNCED_HARD, NOW)
    s.server.handler.defer.clear()
    done = lst.send(campaign, outgoing())
    assert s.server.handler.to() == ["ann@example.org", "bo+news@example.org"]
    assert done.status == "sent" and "1 suppressed, skipped" in (done.remote_id or "")


def test_the_list_key_is_the_csv_path_in_the_site(tmp_path: Path) -> None:
    from postpipe.config import load_settings
    from postpipe.suppression import list_key

    env = {"SMTP_RECIPIENTS_FILE": "lists/board.csv"}
    assert list_key(load_settings(tmp_path, environ=env)) == "lists/board.csv"
    env = {"SMTP_RECIPIENTS_FILE": str(tmp_path / "lists" / ".." / "board.csv")}
    assert list_key(load_settings(tmp_path, environ=env)) == "board.csv"
    outside = tmp_path.parent / "members.csv"
    env = {"SMTP_RECIPIENTS_FILE": str(outside)}
    assert list_key(load_settings(tmp_path, environ=env)) == outside.resolve().as_posix()


# ---------------------------------------------------------------------------
# DKIM


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """(the private key's PEM file, the DNS TXT record of its public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def dns(record: bytes, name: bytes = b"pp2026._domainkey.example.org."):  # type: ignore[no-untyped-def]
    """A stub resolver: ``record`` at the selector's name, nothing elsewhere."""

    def lookup(qname: bytes, timeout: int = 5) -> bytes | None:
        return record if qname == name else None

    return lookup


def test_every_message_is_signed_and_verifies(setup, dkim_key) -> None:  # type: ignore[no-untyped-def]
    path, record = dkim_key
    s = setup(ROWS)
    env = {"SMTP_DKIM_SELECTOR": "pp2026", "SMTP_DKIM_KEY_FILE": str(path)}
    lst = s.adapter(**env)
    campaign = lst.prepare(outgoing(), KEY, None)
    lst.send(campaign, outgoing())
    lst.send_test(campaign, outgoing(), "me@example.org")
    assert len(s.server.handler.received) == 4
    for received in s.server.handler.received:
        data = received.data
        assert data.startswith(
            b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;"
        )
        signature = data.split(b"\r\n\r\n", 1)[0].decode()
        signed = signature.lower().split("h=", 1)[1].split(";", 1)[0]
        assert {h.strip() for h in signed.split(":")} >= {
            "from", "to", "subject", "date", "message-id", "mime-version",
            "content-type", "list-unsubscribe", "list-unsubscribe-post",
        }  # fmt: skip
        assert dkim.verify(data, dnsfunc=dns(record))
        # a changed body, or a key the DNS does not publish, fails
        assert not dkim.verify(data.replace(b"Forty", b"Fifty"), dnsfunc=dns(record))
        other = b"v=DKIM1; k=rsa; p=" + record.split(b"p=")[1][:-8] + b"AAAAAAAA"
        assert not dkim.verify(data, dnsfunc=dns(other))
        assert not dkim.verify(data, dnsfunc=dns(record, name=b"other._domainkey.example.org."))


def test_without_dkim_nothing_is_signed(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS[:1])
    lst = s.adapter()
    lst.send(lst.prepare(outgoing(), KEY, None), outgoing())
    assert b"DKIM-Signature" not in s.server.handler.received[0].data


def test_a_bad_key_file_is_a_clear_error_that_never_shows_the_key(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS[:1])
    with pytest.raises(ConfigError, match="SMTP_DKIM_KEY_FILE: no such file") as missing:
        s.adapter(SMTP_DKIM_SELECTOR="pp2026", SMTP_DKIM_KEY_FILE=str(tmp_path / "nope.pem"))
    assert "openssl genrsa" in (missing.value.hint or "")
    secretish = (
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
    )
    bad = tmp_path / "bad.pem"
    bad.write_text(secretish, encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a PEM RSA private key") as invalid:
        s.adapter(SMTP_DKIM_SELECTOR="pp2026", SMTP_DKIM_KEY_FILE=str(bad))
    assert "c2VjcmV0" not in invalid.value.render()
    with pytest.raises(ConfigError, match="SMTP_DKIM_SELECTOR is set but SMTP_DKIM_KEY_FILE"):
        s.adapter(SMTP_DKIM_SELECTOR="pp2026")


def test_check_warns_when_smtp_has_no_dkim(tmp_path: Path, monkeypatch, dkim_key) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "posts").mkdir()
    env = {
        "POSTPIPE_LIST": "smtp",
        "POSTPIPE_FROM_EMAIL": "news@example.org",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_RECIPIENTS_FILE": "list.csv",
    }
    # only these settings: CI's own POSTPIPE_NPM_DIR would be an "unknown variable"
    # warning, which --strict counts
    for name in list(os.environ):
        if name.startswith(("POSTPIPE_", "SMTP_", "IMAP_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def check(*args: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["check", *args, "--root", str(tmp_path)], Env(stdout=out, stderr=err))
        return code, out.getvalue() + err.getvalue()

    code, output = check("--json")
    assert code == 0, output
    assert '"rule": "smtp-dkim"' in output and "example.org without DKIM" in output
    assert check("--strict")[0] == 1
    monkeypatch.setenv("SMTP_DKIM_SELECTOR", "pp2026")
    monkeypatch.setenv("SMTP_DKIM_KEY_FILE", str(dkim_key[0]))
    code, output = check("--strict")
    assert code == 0 and "smtp-dkim" not in output and "DKIM" not in output, output
    monkeypatch.setenv("POSTPIPE_LIST", "outbox")
    monkeypatch.delenv("SMTP_DKIM_SELECTOR")
    assert "DKIM" not in check()[1]
