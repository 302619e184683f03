"""The ``smtp`` list against a real SMTP server (aiosmtpd, STARTTLS or TLS, AUTH):
the messages as received, the rate limit, refusals, and the per-recipient ledger
that makes a killed run resume without mailing anyone twice."""

from __future__ import annotations

import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from smtpserver import PASSWORD, SmtpServer

from postpipe.config import load_settings
from postpipe.errors import AuthError, ConfigError, ContentError, ProviderError
from postpipe.keys import IdempotencyKey
from postpipe.ledger import Ledger, LedgerRecipients
from postpipe.suppression import ListSuppressions
from postpipe.targets.base import OutgoingEmail, get_list

KEY = IdempotencyKey.for_newsletter("alpha", "test:")
UNSUB = "https://news.example.org/unsubscribe?email={email}"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from sitekit import Site, at, base_env, describe, news_post, wait_for  # noqa: E402


def recipients_csv(folder: Path, rows: list[tuple[str, str]], name: str = "list.csv") -> Path:
    path = folder / name
    lines = ["email,name", *(f"{email},{who}" for email, who in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def outgoing(slug: str = "alpha") -> OutgoingEmail:
    html = (
        "<!DOCTYPE html><html><body><p>Forty neighbours came. Grüße!</p>"
        f'<p><a href="{UNSUB}">Unsubscribe</a></p></body></html>'
    )
    return OutgoingEmail(
        slug=slug,
        subject="Summit recap: 5 ideas",
        preheader="What we heard",
        html=html,
        text=f"Forty neighbours came. Grüße!\n\nUnsubscribe:\n{UNSUB}\n",
        from_name="Test Network",
        from_email="news@example.org",
        reply_to="desk@example.org",
        view_url=f"https://news.example.org/{slug}/",
        unsubscribe_url=UNSUB,
    )


class Setup:
    def __init__(self, root: Path, server: SmtpServer, rows: list[tuple[str, str]]) -> None:
        self.root = root
        self.server = server
        self.csv = recipients_csv(root, rows)
        self.ledger = Ledger(root / ".postpipe" / "ledger.sqlite3")
        self.sleeps: list[float] = []
        #: the adapter's monotonic clock: it moves only when the adapter sleeps
        self.ticks = 1000.0

    def adapter(self, monotonic=None, **env: str):  # type: ignore[no-untyped-def]
        environ = {
            "POSTPIPE_FROM_EMAIL": "news@example.org",
            "POSTPIPE_UNSUBSCRIBE_URL": UNSUB,
            "POSTPIPE_SMTP_RATE": "200",
            **self.server.env(self.csv),
            **env,
        }
        environ.pop("SSL_CERT_FILE")
        settings = load_settings(self.root, environ=environ)

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.ticks += seconds

        return get_list(
            settings,
            recipients=LedgerRecipients(self.ledger, "smtp"),
            suppressions=ListSuppressions(self.ledger.suppressions, settings),
            clock=lambda: NOW,
            sleep=sleep,
            monotonic=monotonic or (lambda: self.ticks),
        )


ROWS = [("ann@example.org", "Ann Åberg"), ("bo+news@example.org", ""), ("cy@example.org", "Cy")]


def test_one_personalised_message_per_recipient(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup([*ROWS, ("ANN@example.org", "Ann again")])  # the same mailbox once only
    lst = s.adapter()
    assert lst.recipients_count() == 3
    assert lst.find_campaign(KEY) is None
    campaign = lst.prepare(outgoing(), KEY, None)
    result = lst.send(campaign, outgoing())
    assert result.status == "sent"
    assert result.remote_id == "3 of 3 sent"

    received = s.server.handler.received
    assert [m.rcpt_tos for m in received] == [[e] for e, _ in ROWS]
    for (address, name), got in zip(ROWS, received, strict=True):
        assert got.login == "mailer" and got.tls  # AUTH after STARTTLS
        assert got.mail_from == "news@example.org"
        msg = got.message
        assert msg["To"] == (f"{name} <{address}>" if name else address)
        assert msg["Subject"] == "Summit recap: 5 ideas"
        assert msg["Reply-To"] == "desk@example.org"
        assert msg["X-Postpipe-Key"] == KEY.value
        mine = UNSUB.replace("{email}", address.replace("+", "%2B"))
        assert msg["List-Unsubscribe"].strip() == (
            f"<{mine}>, <mailto:news@example.org?subject=unsubscribe>"
        )
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        plain = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "Grüße" in plain and "Grüße" in html
        assert mine in plain and f'href="{mine}"' in html
        assert "{email}" not in plain + html
        others = [e for e, _ in ROWS if e != address]
        assert not any(o in msg.as_string() for o in others)

    assert s.ledger.recipient_states("alpha", "smtp") == {e.lower(): "sent" for e, _ in ROWS}
    found = lst.find_campaign(KEY)
    assert found is not None and found.sent
    # a second send has nobody left to mail
    assert lst.send(campaign, outgoing()).status == "sent"
    assert len(s.server.handler.received) == 3


def test_rate_limit_spaces_the_messages(setup) -> None:  # type: ignore[no-untyped-def]
    """POSTPIPE_SMTP_RATE=10: each message starts 0.1 s after the one before, on the
    adapter's own clock (injected: it moves by what the adapter sleeps, and by 0.03 s
    for each message the server received), so a wait is the interval less the time
    the sending took."""
    rows = [(f"r{i}@example.org", "") for i in range(5)]
    s = setup(rows)
    received = s.server.handler.received
    lst = s.adapter(POSTPIPE_SMTP_RATE="10", monotonic=lambda: s.ticks + 0.03 * len(received))
    lst.send(lst.prepare(outgoing(), KEY, None), outgoing())
    assert len(received) == 5
    assert s.sleeps == pytest.approx([0.07] * 4)


def test_refusals_are_recorded_deferrals_retried(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS, refuse={"ann@example.org"}, defer={"bo+news@example.org"})
    lst = s.adapter()
    campaign = lst.prepare(outgoing(), KEY, None)
    with pytest.raises(ProviderError) as info:
        lst.send(campaign, outgoing())
    err = info.value
    assert err.maybe_sent  # cy got it: the core keeps it "sending" and resumes
    assert "1 of 3 sent" in err.message
    assert "1 refused (ann@example.org)" in err.message
    assert "1 deferred (bo+news@example.org)" in err.message
    assert s.ledger.recipient_states("alpha", "smtp") == {
        "ann@example.org": "failed",
        "bo+news@example.org": "deferred",
        "cy@example.org": "sent",
    }
    assert lst.find_campaign(KEY).status == "partial"

    s.server.handler.defer.clear()  # the mailbox is free again; ann still does not exist
    result = lst.send(campaign, outgoing())
    assert result.status == "sent"
    assert result.remote_id == "2 of 3 sent, 1 refused (ann@example.org)"
    assert s.server.handler.to() == ["cy@example.org", "bo+news@example.org"]
    assert lst.find_campaign(KEY).sent


def test_a_closed_connection_is_reopened_between_messages(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS, hang_up=True)
    lst = s.adapter(POSTPIPE_SMTP_RATE="20")  # the server hangs up between two messages
    result = lst.send(lst.prepare(outgoing(), KEY, None), outgoing())
    assert result.remote_id == "3 of 3 sent"  # nobody left unconfirmed
    assert s.server.handler.to() == [e for e, _ in ROWS]


def test_send_test_goes_to_one_address_only(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS)
    lst = s.adapter()
    lst.send_test(lst.prepare(outgoing(), KEY, None), outgoing(), "me@example.org")
    [got] = s.server.handler.received
    assert got.rcpt_tos == ["me@example.org"]
    assert got.message["Subject"] == "[Test] Summit recap: 5 ideas"
    assert "email=me@example.org" in got.message.get_body(("plain",)).get_content()
    assert s.ledger.recipient_states("alpha", "smtp") == {}
    assert lst.find_campaign(KEY) is None


def test_implicit_tls(setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS[:1], security="ssl")
    lst = s.adapter()
    lst.send(lst.prepare(outgoing(), KEY, None), outgoing())
    [got] = s.server.handler.received  # a plain client could not talk to this port
    assert got.login == "mailer"


def test_wrong_password_and_untrusted_certificate(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS)
    lst = s.adapter(SMTP_PASSWORD="not-the-password")
    with pytest.raises(AuthError) as info:
        lst.send(lst.prepare(outgoing(), KEY, None), outgoing())
    assert "SMTP_USER and SMTP_PASSWORD" in (info.value.hint or "")
    assert "not-the-password" not in info.value.render()
    assert not info.value.maybe_sent
    assert s.ledger.recipient_states("alpha", "smtp") == {}

    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(ProviderError) as info:
        s.adapter().send_test(None, outgoing(), "me@example.org")  # type: ignore[arg-type]
    assert "not trusted" in info.value.message and "SSL_CERT_FILE" in (info.value.hint or "")
    assert PASSWORD not in info.value.render()
    assert s.server.handler.received == []


def test_configuration_errors_name_the_variable(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = setup(ROWS)
    with pytest.raises(ConfigError, match="POSTPIPE_FROM_EMAIL"):
        s.adapter(POSTPIPE_FROM_EMAIL="newsletter@example.invalid")
    with pytest.raises(ConfigError, match="SMTP_HOST"):
        s.adapter(SMTP_HOST="")
    with pytest.raises(ConfigError, match="unencrypted"):
        s.adapter(SMTP_HOST="mail.example.org", SMTP_SECURITY="none")
    bad = recipients_csv(tmp_path, [("ann@example.org", ""), ("not-an-address", "")], "bad.csv")
    with pytest.raises(ConfigError) as info:
        s.adapter(SMTP_RECIPIENTS_FILE=str(bad)).prepare(outgoing(), KEY, None)
    assert "line 3: 'not-an-address'" in info.value.message
    with pytest.raises(ConfigError, match="SMTP_RECIPIENTS_FILE: no such file"):
        s.adapter(SMTP_RECIPIENTS_FILE=str(tmp_path / "missing.csv")).prepare(outgoing(), KEY, None)
    no_link = OutgoingEmail(**{**outgoing().__dict__, "html": "<p>no link</p>"})
    with pytest.raises(ContentError, match="unsubscribe"):
        s.adapter().prepare(no_link, KEY, None)


# ---------------------------------------------------------------------------
# a real postpipe process killed mid-list, then resumed


def cli_site(tmp_path: Path, server: SmtpServer, csv_path: Path) -> Site:
    """A site whose post ``alpha`` is due, sending through *server* to *csv_path*."""
    env = {
        **base_env(tmp_path),
        **server.env(csv_path),
        "POSTPIPE_UNSUBSCRIBE_URL": UNSUB,
        "POSTPIPE_SMTP_RATE": "100",
    }
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "alpha.md").write_text(
        news_post("alpha", send_at=at(hours=-1)), encoding="utf-8"
    )
    return Site(root=root, env=env)


def killed_mid_list(site: Site, server: SmtpServer) -> None:
    """``send --due`` SIGKILLed while the third message waits inside DATA for its 250."""
    proc = site.popen("send", "--due")
    try:
        for _ in range(3):
            wait_for(
                lambda: server.handler.in_data.acquire(timeout=0.05),
                20,
                "a message to arrive",
                proc,
            )
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.communicate(timeout=5)


def test_killed_run_resumes_and_mails_nobody_twice(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server("starttls", hold=0.25)
    rows = [(f"member{i}@example.org", f"Member {i}") for i in range(6)]
    csv_path = recipients_csv(tmp_path, rows)
    site = cli_site(tmp_path, server, csv_path)

    killed_mid_list(site, server)
    assert server.handler.to() == [e for e, _ in rows[:3]]
    row = site.status()["alpha"]
    assert row["newsletter"] == "sending"  # the claim was committed before the first DATA

    server.handler.hold = 0
    result = site.run("send", "alpha", "--yes")
    assert result.returncode == 0, describe(result)
    assert "3 unconfirmed, not resent" not in result.stdout
    assert "5 of 6 sent, 1 unconfirmed, not resent (member2@example.org)" in result.stdout
    counts = Counter(server.handler.to())
    assert counts == Counter(e for e, _ in rows)  # everyone exactly once
    assert site.status()["alpha"]["newsletter"] == "sent"

    # and never again
    assert site.ok("send", "--due") == ""
    again = site.run("send", "alpha", "--yes")
    assert again.returncode == 0 and "already sent" in again.stdout, describe(again)
    assert Counter(server.handler.to()) == Counter(e for e, _ in rows)


def test_killed_run_resumes_without_mailing_anyone_suppressed(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """Killed mid-list; two members unsubscribe by hand (one already mailed, one not);
    the resumed run and every later send mail nobody twice and nobody suppressed."""
    server = smtp_server("starttls", hold=0.25)
    rows = [(f"member{i}@example.org", f"Member {i}") for i in range(6)]
    csv_path = recipients_csv(tmp_path, rows)
    site = cli_site(tmp_path, server, csv_path)

    killed_mid_list(site, server)
    assert server.handler.to() == [e for e, _ in rows[:3]]

    # member0 got it already; member4 has not yet: neither is mailed from now on
    site.ok("unsubscribe", "member0@example.org", "MEMBER4@example.org")
    server.handler.hold = 0
    result = site.run("send", "alpha", "--yes")
    assert result.returncode == 0, describe(result)
    assert (
        "4 of 6 sent, 1 unconfirmed, not resent (member2@example.org), 1 suppressed, skipped"
    ) in result.stdout, describe(result)
    counts = Counter(server.handler.to())
    assert counts == Counter(e for e, _ in rows if e != "member4@example.org")  # once each
    assert site.status()["alpha"]["newsletter"] == "sent"

    # a later newsletter, sent by cron: the suppressed two are left out
    (site.root / "posts" / "beta.md").write_text(
        news_post("beta", send_at=at(minutes=-1)), encoding="utf-8"
    )
    later = site.run("send", "--due")
    assert later.returncode == 0, describe(later)
    beta = server.handler.to()[sum(counts.values()) :]
    assert sorted(beta) == [f"member{i}@example.org" for i in (1, 2, 3, 5)]
    assert "4 of 6 sent, 2 suppressed, skipped" in later.stdout
    assert site.ok("send", "--due") == ""  # and never again
