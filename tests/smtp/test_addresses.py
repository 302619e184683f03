"""Internationalised addresses against the real SMTP server, with and without SMTPUTF8:
IDNA for non-ASCII domains, UTF-8 only where a local part needs it, and a recipient
that cannot be sent to is refused on its own while the list goes on."""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest
from test_smtp import KEY, UNSUB, outgoing, recipients_csv

from postpipe.errors import PostpipeError, ProviderError
from postpipe.targets.smtp import NO_SMTPUTF8

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from sitekit import Site, at, base_env, describe, news_post  # noqa: E402

# the rows: björn (non-ASCII local part) sits in the middle of the list
ROWS = [
    ("ann@example.org", "Ann Åberg"),
    ("björn@example.org", "Björn Östlund"),
    ("anna@exämple.se", "Anna"),
    ("cy@example.org", ""),
]


@pytest.fixture
def site_with(setup):  # type: ignore[no-untyped-def]  # noqa: F811 - the imported fixture
    """``setup`` of test_smtp: ``site_with(rows, smtputf8=…)`` → a Setup."""
    return setup


def errors(root: Path) -> dict[str, tuple[str, str | None]]:
    """``{email: (state, error)}`` of the ledger's per-recipient table."""
    with sqlite3.connect(root / ".postpipe" / "ledger.sqlite3") as db:
        rows = db.execute("SELECT email, state, error FROM recipients").fetchall()
    return {email: (state, error) for email, state, error in rows}


def test_without_smtputf8_idna_domains_and_one_refusal_the_list_goes_on(site_with) -> None:  # type: ignore[no-untyped-def]
    s = site_with(ROWS)  # the server does not offer SMTPUTF8
    lst = s.adapter()
    campaign = lst.prepare(outgoing(), KEY, None)
    result = lst.send(campaign, outgoing())

    assert result.status == "sent"
    assert result.remote_id == "3 of 4 sent, 1 refused (björn@example.org)"
    received = s.server.handler.received
    # everyone after björn got it; the IDNA form of exämple.se is the envelope address
    assert [m.rcpt_tos for m in received] == [
        ["ann@example.org"],
        ["anna@xn--exmple-cua.se"],
        ["cy@example.org"],
    ]
    for got in received:
        assert not got.smtputf8
        assert got.data.isascii()  # a plain 7-bit message
        assert max(len(line) for line in got.data.split(b"\r\n")) <= 78
    anna = received[1].message
    assert anna["To"] == "Anna <anna@xn--exmple-cua.se>"
    assert anna["To"].addresses[0].display_name == "Anna"
    assert received[0].message["To"].addresses[0].display_name == "Ann Åberg"

    assert errors(s.root) == {
        "ann@example.org": ("sent", None),
        "björn@example.org": ("failed", f"{NO_SMTPUTF8} (björn@example.org)"),
        "anna@xn--exmple-cua.se": ("sent", None),
        "cy@example.org": ("sent", None),
    }
    # a rerun has nobody left: björn's refusal is final, nobody is mailed twice
    assert lst.send(campaign, outgoing()).remote_id == result.remote_id
    assert len(received) == 3
    found = lst.find_campaign(KEY)
    assert found is not None and found.sent


def test_with_smtputf8_everyone_gets_it(site_with) -> None:  # type: ignore[no-untyped-def]
    s = site_with(ROWS, smtputf8=True)
    lst = s.adapter()
    result = lst.send(lst.prepare(outgoing(), KEY, None), outgoing())

    assert result.remote_id == "4 of 4 sent"
    received = s.server.handler.received
    assert [m.rcpt_tos for m in received] == [
        ["ann@example.org"],
        ["björn@example.org"],
        ["anna@xn--exmple-cua.se"],
        ["cy@example.org"],
    ]
    # SMTPUTF8 (and UTF-8 headers) only for the message that needs it
    assert [m.smtputf8 for m in received] == [False, True, False, False]
    bjorn = received[1]
    assert b"To: =?" not in bjorn.data  # no encoded words inside an address
    msg = bjorn.message
    assert msg["To"].addresses[0].addr_spec == "björn@example.org"
    assert msg["To"].addresses[0].display_name == "Björn Östlund"
    assert msg["Subject"] == "Summit recap: 5 ideas"
    mine = UNSUB.replace("{email}", "bj%C3%B6rn@example.org")
    assert msg["List-Unsubscribe"].strip().startswith(f"<{mine}>")
    assert mine in msg.get_body(("plain",)).get_content()
    assert set(errors(s.root).values()) == {("sent", None)}


def test_a_non_ascii_sender(site_with) -> None:  # type: ignore[no-untyped-def]
    rows = [("ann@example.org", "Ann"), ("bo@example.org", "")]
    plain = site_with(rows)
    email = outgoing()
    sender = {"from_email": "björn@exämple.se", "reply_to": "björn@exämple.se"}
    email = type(email)(**{**email.__dict__, **sender})
    lst = plain.adapter(POSTPIPE_FROM_EMAIL="björn@exämple.se")
    with pytest.raises(ProviderError) as info:
        lst.send(lst.prepare(email, KEY, None), email)
    assert "POSTPIPE_FROM_EMAIL=björn@exämple.se" in info.value.message
    assert "SMTPUTF8" in info.value.message
    assert plain.server.handler.received == []
    # a Reply-To only SMTPUTF8 can carry stops the send the same way
    email = type(email)(**{**outgoing().__dict__, "reply_to": "björn@exämple.se"})
    lst = plain.adapter(POSTPIPE_REPLY_TO="björn@exämple.se")
    with pytest.raises(ProviderError, match="POSTPIPE_REPLY_TO=björn@exämple.se"):
        lst.send(lst.prepare(email, KEY, None), email)
    assert plain.server.handler.received == []


def test_a_non_ascii_sender_with_smtputf8(site_with) -> None:  # type: ignore[no-untyped-def]
    s = site_with([("ann@example.org", "Ann")], smtputf8=True)
    email = outgoing()
    email = type(email)(**{**email.__dict__, "from_email": "björn@exämple.se"})
    lst = s.adapter(POSTPIPE_FROM_EMAIL="björn@exämple.se")
    assert lst.send(lst.prepare(email, KEY, None), email).remote_id == "1 of 1 sent"
    (got,) = s.server.handler.received
    assert got.smtputf8 and got.mail_from == "björn@exämple.se"
    assert got.message["From"].addresses[0].addr_spec == "björn@exämple.se"


def test_send_test_to_a_non_ascii_address(site_with) -> None:  # type: ignore[no-untyped-def]
    s = site_with([("ann@example.org", "")])
    lst = s.adapter()
    campaign = lst.prepare(outgoing(), KEY, None)
    with pytest.raises(ProviderError, match=NO_SMTPUTF8):
        lst.send_test(campaign, outgoing(), "björn@example.org")
    with pytest.raises(PostpipeError, match="not an email address"):
        lst.send_test(campaign, outgoing(), "Björn <björn@example.org")
    lst.send_test(campaign, outgoing(), "anna@exämple.se")
    assert s.server.handler.to() == ["anna@xn--exmple-cua.se"]


# ---------------------------------------------------------------------------
# through the CLI: the send finishes, the refusal is recorded and reported


def test_cli_send_goes_on_after_a_recipient_it_cannot_reach(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server("starttls")
    csv_path = recipients_csv(tmp_path, ROWS)
    env = {**base_env(tmp_path), **server.env(csv_path), "POSTPIPE_UNSUBSCRIBE_URL": UNSUB}
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "alpha.md").write_text(
        news_post("alpha", send_at=at(hours=-1)), encoding="utf-8"
    )
    site = Site(root=root, env=env)

    result = site.run("send", "--due")
    assert result.returncode == 0, describe(result)
    assert "Traceback" not in result.stdout + result.stderr
    assert "3 of 4 sent, 1 refused (björn@example.org)" in result.stdout
    assert Counter(server.handler.to()) == Counter(
        ["ann@example.org", "anna@xn--exmple-cua.se", "cy@example.org"]
    )
    assert site.status()["alpha"]["newsletter"] == "sent"
    assert errors(root)["björn@example.org"] == ("failed", f"{NO_SMTPUTF8} (björn@example.org)")
    # cron's next run: nothing to do, nobody mailed twice
    assert site.ok("send", "--due") == ""
    assert len(server.handler.to()) == 3
