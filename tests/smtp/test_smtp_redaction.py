"""A server that echoes the password in its refusal: no form of it reaches stdout,
stderr, ``status``, a ``--traceback`` or the ledger file (issue 10, item 4)."""

from __future__ import annotations

import base64
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

from smtpserver import USER

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from sitekit import Site, at, base_env, describe, news_post  # noqa: E402

WRONG = "Wr0ng-Secret/pw+42"  # what the site sends (the server expects another one)
UNSUB = "https://news.example.org/unsubscribe?email={email}"


def forms(secret: str) -> list[str]:
    """The password as is, in other cases, URL-encoded, hex, and base64 alone, as
    ``user:password`` and as SMTP AUTH PLAIN sends it."""
    raw = secret.encode()
    encoded = []
    for data in (raw, f"{USER}:{secret}".encode(), f"\0{USER}\0{secret}".encode()):
        for b64 in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
            encoded += [b64.decode(), b64.decode().rstrip("=")]
    return [
        secret,
        secret.upper(),
        secret.lower(),
        quote(secret, safe=""),
        quote_plus(secret),
        raw.hex(),
        *encoded,
        *(form[4:-4] for form in encoded if len(form) > 16),  # any part of a long one
    ]


def leaks(text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        return [f for f in forms(WRONG) if f.encode() in text]
    return [f for f in forms(WRONG) if f in text]


def make_site(tmp_path: Path, smtp_server) -> tuple[Site, object]:  # type: ignore[no-untyped-def]
    server = smtp_server("starttls", echo_auth=True)
    csv_path = tmp_path / "list.csv"
    csv_path.write_text("email,name\nann@example.org,Ann\n", encoding="utf-8")
    env = {
        **base_env(tmp_path),
        **server.env(csv_path),
        "SMTP_PASSWORD": WRONG,
        "POSTPIPE_UNSUBSCRIBE_URL": UNSUB,
    }
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "alpha.md").write_text(
        news_post("alpha", send_at=at(hours=-1)), encoding="utf-8"
    )
    return Site(root=root, env=env), server


def test_the_test_server_really_echoes_the_password(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    import smtplib
    import ssl

    server = smtp_server("starttls", echo_auth=True)
    context = ssl.create_default_context(cafile=str(server.cert))
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.starttls(context=context)
        try:
            client.login(USER, WRONG)
        except smtplib.SMTPAuthenticationError as exc:
            code, reply = exc.smtp_code, exc.smtp_error.decode()
        else:  # pragma: no cover - the test server refuses WRONG
            raise AssertionError("the login succeeded")
    assert code == 535
    assert WRONG in reply and WRONG.upper() in reply and quote(WRONG, safe="") in reply


def test_an_echoed_password_is_never_printed_or_stored(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    site, server = make_site(tmp_path, smtp_server)

    result = site.run("send", "alpha", "--yes")
    assert result.returncode == 1, describe(result)
    text = result.stdout + result.stderr
    assert "refused the login: 535" in text, describe(result)
    assert "***" in text and "check SMTP_USER and SMTP_PASSWORD" in text
    assert leaks(text) == [], describe(result)
    assert "Traceback" not in text
    assert server.handler.received == []  # type: ignore[attr-defined]

    # cron: the same through send --due
    due = site.run("send", "--due")
    assert due.returncode == 1 and "refused the login" in due.stdout, describe(due)
    assert leaks(due.stdout + due.stderr) == []

    # status, in both forms, shows the error without the password
    status = site.run("status")
    assert status.returncode == 0, describe(status)
    assert "last error: smtp: 127.0.0.1" in status.stdout and "535" in status.stdout
    assert leaks(status.stdout + status.stderr) == []
    row = site.status()["alpha"]
    assert row["newsletter"] == "prepared" and "535" in row["last_error"]
    assert leaks(row["last_error"]) == []

    # --traceback and POSTPIPE_DEBUG=1: the test send's error goes up to the CLI
    for args, env in (
        (("send", "alpha", "--test", "me@example.org", "--traceback"), None),
        (("send", "alpha", "--test", "me@example.org"), {"POSTPIPE_DEBUG": "1"}),
    ):
        debug = site.run(*args, env=env)
        out = debug.stdout + debug.stderr
        assert debug.returncode == 1, describe(debug)
        assert "Traceback (most recent call last)" in debug.stderr, describe(debug)
        assert "AuthError" in debug.stderr and "refused the login: 535" in debug.stderr
        assert leaks(out) == [], describe(debug)

    # the ledger file, byte for byte and through SQL
    files = sorted(site.ledger.parent.glob("ledger.sqlite3*"))
    assert files
    for path in files:
        assert leaks(path.read_bytes()) == [], path
    with sqlite3.connect(site.ledger) as db:
        dump = "\n".join(db.iterdump())
        errors = [
            r[0] for r in db.execute("SELECT last_error FROM items WHERE last_error IS NOT NULL")
        ]
        details = [r[0] for r in db.execute("SELECT detail FROM events WHERE detail IS NOT NULL")]
    assert any("535" in e for e in errors) and any("535" in d for d in details)
    assert leaks(dump) == []
