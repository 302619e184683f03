"""Reading the unsubscribe/return mailbox on a real IMAP server (Dovecot, IMAPS and
STARTTLS) holding real DSNs and unsubscribe mails, and the whole path through the
CLI: whoever unsubscribes (by mail or by hand) or hard-bounces is never mailed
again by a later ``send --due`` (aiosmtpd as the relay)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dovecot import PASSWORD as IMAP_PASSWORD
from dovecot import Dovecot
from reports import dsn, reply, unsubscribe_request

from postpipe.config import load_settings
from postpipe.errors import AuthError, ConfigError
from postpipe.keys import IdempotencyKey
from postpipe.ledger import Ledger
from postpipe.mailbox import HANDLED, Mailbox, read_mailbox
from postpipe.suppression import BOUNCED_HARD, UNSUBSCRIBED

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from sitekit import Site, at, base_env, describe, news_post  # noqa: E402

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
ALPHA = IdempotencyKey.for_newsletter("alpha", "smtp:").value


def settings_for(root: Path, server: Dovecot, security: str, **env: str):  # type: ignore[no-untyped-def]
    environ = {
        "POSTPIPE_LIST": "smtp",
        "POSTPIPE_FROM_EMAIL": "news@example.org",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_RECIPIENTS_FILE": "list.csv",
        **server.env(security),
        **env,
    }
    environ.pop("SSL_CERT_FILE")
    return load_settings(root, environ=environ)


def fill(server: Dovecot) -> None:
    """A morning's mail: two bounces, two requests, two messages for a person."""
    server.append(dsn("ann@example.org", hard=True, key=ALPHA))
    server.append(dsn("bo@example.org", hard=False, key=ALPHA))
    server.append(unsubscribe_request("Cy Berg <cy@example.org>"))
    server.append(reply("dee@example.org", "Thanks, lovely evening!"))  # quotes "Unsubscribe"
    server.append(reply("eve@example.org", "Hej! Snälla avsluta min prenumeration.", "SV: Recap"))
    server.append(b"From: fay@example.org\r\nSubject: question\r\n\r\nWhen is the next one?\r\n")


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_requests_and_bounces_are_read_flagged_once_and_nothing_deleted(
    dovecot: Dovecot, tmp_path: Path, trust: Path, security: str
) -> None:
    fill(dovecot)
    settings = settings_for(tmp_path, dovecot, security)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        outcome = read_mailbox(settings, ledger.suppressions, NOW)
        rows = {r.email: r.reason for r in ledger.suppressions.rows("list.csv")}
        assert rows == {
            "ann@example.org": BOUNCED_HARD,
            "cy@example.org": UNSUBSCRIBED,
            "eve@example.org": UNSUBSCRIBED,
        }
        soft = ledger.suppressions.get("list.csv", "bo@example.org")
        assert soft is not None and soft.reason is None and soft.soft_bounces == 1
        assert (outcome.handled, outcome.left) == (4, 2)
        assert outcome.summary() == (
            "mailbox: 4 messages handled: 2 unsubscribed (cy@example.org, eve@example.org), "
            "1 bounced hard (ann@example.org), 1 soft bounce read; "
            "2 messages not understood, left unread for a person"
        )

        messages = dovecot.messages()
        assert len(messages) == 6  # nothing deleted or moved
        flags = [f for f, _ in messages]
        handled = {HANDLED, "\\Seen"}
        assert flags[:3] == [handled] * 3 and flags[4] == handled
        assert flags[3] == set() and flags[5] == set()  # left untouched, still unread

        again = read_mailbox(settings, ledger.suppressions, NOW)
        assert (again.handled, again.left) == (0, 2)  # each message is read once
        assert ledger.suppressions.get("list.csv", "bo@example.org").soft_bounces == 1  # type: ignore[union-attr]


def test_soft_bounces_of_three_newsletters_in_a_row_suppress(
    dovecot: Dovecot, tmp_path: Path, trust: Path
) -> None:
    settings = settings_for(tmp_path, dovecot, "ssl")
    slugs = ("alpha", "beta", "gamma")
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        for day, slug in enumerate(slugs, start=1):  # bo got all three
            ledger.record_recipient(slug, "smtp", "bo@example.org", "sent", NOW.replace(day=day))
        for slug in slugs[:2]:
            key = IdempotencyKey.for_newsletter(slug, "smtp:").value
            dovecot.append(dsn("bo@example.org", hard=False, key=key))
            dovecot.append(dsn("bo@example.org", hard=False, key=key, action="delayed"))
        first = read_mailbox(settings, ledger.suppressions, NOW)
        assert first.handled == 4 and first.bounced_soft == []
        assert ledger.suppressions.suppressed("list.csv") == set()
        key = IdempotencyKey.for_newsletter("gamma", "smtp:").value
        dovecot.append(dsn("bo@example.org", hard=False, key=key))
        second = read_mailbox(settings, ledger.suppressions, NOW)
        assert second.summary() == (
            "mailbox: 1 message handled: 1 bounced softly on 3 newsletters in a row "
            "(bo@example.org)"
        )
        [row] = ledger.suppressions.rows("list.csv")
        assert (row.email, row.reason, row.soft_bounces) == ("bo@example.org", "bounced-soft", 3)


def test_a_wrong_password_is_an_auth_error_without_the_password(
    dovecot: Dovecot, tmp_path: Path, trust: Path
) -> None:
    settings = settings_for(tmp_path, dovecot, "ssl", IMAP_PASSWORD="wrong-" + IMAP_PASSWORD)
    with pytest.raises(AuthError) as caught:
        Mailbox(settings).connect()
    assert "refused the login" in caught.value.render()
    assert "wrong-" not in caught.value.render()


def test_an_untrusted_certificate_is_a_clear_error(dovecot: Dovecot, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, dovecot, "ssl")
    with pytest.raises(Exception, match="certificate of 127.0.0.1.* is not trusted"):
        Mailbox(settings).connect()  # SSL_CERT_FILE not set here


def test_plain_imap_only_on_loopback(tmp_path: Path) -> None:
    environ = {"IMAP_HOST": "imap.example.org", "IMAP_SECURITY": "none", "IMAP_USER": "u",
               "IMAP_PASSWORD": "p"}  # fmt: skip
    with pytest.raises(ConfigError, match="IMAP_SECURITY=none would send the IMAP password"):
        Mailbox(load_settings(tmp_path, environ=environ))
    with pytest.raises(ConfigError, match="needs IMAP_USER, IMAP_PASSWORD"):
        Mailbox(load_settings(tmp_path, environ={"IMAP_HOST": "imap.example.org"}))


# ---------------------------------------------------------------------------
# the whole path, through the CLI


def smtp_site(tmp_path: Path, server, dovecot: Dovecot | None, rows: list[str]) -> Site:  # type: ignore[no-untyped-def]
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    csv = root / "list.csv"
    csv.write_text("email\n" + "\n".join(rows) + "\n", encoding="utf-8")
    env = {
        **base_env(tmp_path),
        **server.env(csv),
        "SMTP_RECIPIENTS_FILE": "list.csv",
        "POSTPIPE_SMTP_RATE": "100",
        **(dovecot.env("ssl") if dovecot else {}),
    }
    return Site(root=root, env=env)


MEMBERS = ["ann@example.org", "bo@example.org", "cy@example.org", "dee@example.org",
           "eve@example.org"]  # fmt: skip


def test_nobody_who_unsubscribed_or_bounced_is_mailed_again(
    tmp_path: Path, smtp_server, dovecot: Dovecot
) -> None:
    server = smtp_server("starttls")
    site = smtp_site(tmp_path, server, dovecot, MEMBERS)
    site.write_post("alpha.md", news_post("alpha", send_at=at(hours=-1)))
    first = site.run("send", "--due")
    assert first.returncode == 0, describe(first)
    assert sorted(server.handler.to()) == MEMBERS
    assert "mailbox" not in first.stdout  # an empty mailbox says nothing (cron)

    # replies come in: a hard bounce, an unsubscribe by mail; one more by hand
    dovecot.append(dsn("ann@example.org", hard=True, key=ALPHA))
    dovecot.append(unsubscribe_request("cy@example.org"))
    dovecot.append(reply("bo@example.org", "Great evening, thanks!"))
    by_hand = site.run("unsubscribe", "Dee@example.org")
    assert by_hand.returncode == 0, describe(by_hand)
    assert "suppressed Dee@example.org" in by_hand.stdout

    site.write_post("beta.md", news_post("beta", send_at=at(minutes=-5)))
    second = site.run("send", "--due")
    assert second.returncode == 0, describe(second)
    beta = server.handler.to()[len(MEMBERS) :]
    assert sorted(beta) == ["bo@example.org", "eve@example.org"]
    assert (
        "mailbox: 2 messages handled: 1 unsubscribed (cy@example.org), 1 bounced hard "
        "(ann@example.org); 1 message not understood, left unread for a person"
    ) in second.stdout
    assert "2 of 5 sent, 3 suppressed, skipped" in second.stdout, describe(second)

    listed = site.ok("unsubscribe", "--list")
    assert "3 suppressed for list.csv:" in listed
    for address, reason in (
        ("ann@example.org", "bounced-hard"),
        ("cy@example.org", "unsubscribed"),
        ("Dee@example.org", "by-hand"),
    ):
        assert any(line.split()[:2] == [address, reason] for line in listed.splitlines()), listed

    # and never again, by any later send: a third newsletter, sent by hand
    site.write_post("gamma.md", news_post("gamma"))
    third = site.run("send", "gamma", "--yes")
    assert third.returncode == 0, describe(third)
    assert "to:    2 recipients" in third.stdout
    assert sorted(server.handler.to()[len(MEMBERS) + 2 :]) == ["bo@example.org", "eve@example.org"]


def test_a_mailbox_that_fails_never_stops_a_due_send(tmp_path: Path, smtp_server) -> None:
    server = smtp_server("starttls")
    site = smtp_site(tmp_path, server, None, MEMBERS[:2])
    from dovecot import free_port

    site.env.update(
        {
            "IMAP_HOST": "127.0.0.1",
            "IMAP_PORT": str(free_port()),
            "IMAP_USER": "news",
            "IMAP_PASSWORD": "imap-secret-77c1",
        }  # fmt: skip
    )
    site.write_post("alpha.md", news_post("alpha", send_at=at(hours=-1)))
    result = site.run("send", "--due")
    assert sorted(server.handler.to()) == MEMBERS[:2]  # sent all the same
    assert result.returncode == 1, describe(result)
    output = result.stdout + result.stderr
    assert "error  mailbox: imap: cannot connect to 127.0.0.1:" in output
    assert "(sending anyway)" in output and "imap-secret-77c1" not in output
    assert "2 of 2 sent" in result.stdout


def test_unsubscribe_by_hand_list_and_remove(tmp_path: Path, smtp_server) -> None:
    site = smtp_site(tmp_path, smtp_server("starttls"), None, MEMBERS)
    bad = site.run("unsubscribe", "ann@example.org", "not-an-address", "bo@")
    assert bad.returncode == 1
    assert "not an email address: 'not-an-address' (there is no @ in it), 'bo@'" in bad.stderr
    assert "nothing was changed" in bad.stderr and "Traceback" not in bad.stderr
    assert "no suppressed addresses for list.csv" in site.ok("unsubscribe", "--list")

    added = site.ok("unsubscribe", "ann@example.org", "bo@example.org")
    assert "suppressed ann@example.org" in added and "suppressed bo@example.org" in added
    assert "was already suppressed (by-hand)" in site.ok("unsubscribe", "ann@example.org")

    refused = site.run("unsubscribe", "--remove", "ann@example.org")  # stdin is no terminal
    assert refused.returncode == 1
    assert "refusing to take addresses off the suppression list without confirmation" in (
        refused.stderr
    )
    assert "2 suppressed" in site.ok("unsubscribe", "--list")
    removed = site.ok("unsubscribe", "--remove", "ann@example.org", "zed@example.org", "--yes")
    assert "removed ann@example.org: the next send of list.csv mails it again" in removed
    assert "zed@example.org is not on the suppression list" in removed
    listed = site.ok("unsubscribe", "--list")
    assert "1 suppressed" in listed and "bo@example.org" in listed and "ann@" not in listed

    nothing = site.run("unsubscribe")
    assert nothing.returncode == 1 and "--list or --fetch" in nothing.stderr
    no_imap = site.run("unsubscribe", "--fetch")
    assert no_imap.returncode == 1 and "IMAP_HOST is not set" in no_imap.stderr
    help_text = site.ok("unsubscribe", "--help")
    assert "postpipe unsubscribe --remove member@example.org" in help_text


def test_unsubscribe_fetch_reads_the_mailbox_now(
    tmp_path: Path, smtp_server, dovecot: Dovecot
) -> None:
    site = smtp_site(tmp_path, smtp_server("starttls"), dovecot, MEMBERS)
    dovecot.append(unsubscribe_request("eve@example.org"))
    out = site.ok("unsubscribe", "--fetch", "--list")
    assert "mailbox: 1 message handled: 1 unsubscribed (eve@example.org)" in out
    assert "eve@example.org" in out.split("1 suppressed for list.csv:")[1]


def test_the_suppression_list_is_the_smtp_targets(tmp_path: Path) -> None:
    site = Site(root=tmp_path, env={**base_env(tmp_path), "POSTPIPE_LIST": "outbox"})
    result = site.run("unsubscribe", "--list")
    assert result.returncode == 1
    assert "belongs to the smtp target, but POSTPIPE_LIST is outbox" in result.stderr
