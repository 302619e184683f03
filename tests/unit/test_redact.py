"""Redaction: every form of a secret, in every place postpipe prints or stores text."""

from __future__ import annotations

import base64
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from postpipe import http
from postpipe.config import load_settings
from postpipe.ledger import Ledger
from postpipe.redact import MASK, Redactor, redact

PASSWORD = "s3cret P@ss/w+rd"
USER = "mailer"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def b64(data: bytes) -> list[str]:
    std = base64.b64encode(data).decode()
    url = base64.urlsafe_b64encode(data).decode()
    return [std, std.rstrip("="), url, url.rstrip("=")]


def forms_of(secret: str, user: str = USER) -> list[str]:
    """Every way a secret may show up in a message, a URL or a header."""
    raw = secret.encode()
    return [
        secret,
        secret.upper(),
        secret.lower(),
        secret.swapcase(),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote(secret, safe="").lower(),
        raw.hex(),
        raw.hex().upper(),
        *b64(raw),
        *b64(f"{user}:{secret}".encode()),  # HTTP Basic
        *b64(f"\0{user}\0{secret}".encode()),  # SMTP AUTH PLAIN
        *b64(f"some-longer-user@example.org:{secret}".encode()),  # a user it does not know
        *b64(f"x{secret}yz".encode()),  # any alignment inside a longer text
    ]


@pytest.mark.parametrize("form", forms_of(PASSWORD))
def test_every_form_of_a_secret_is_masked(form: str) -> None:
    r = Redactor([PASSWORD], [USER])
    shown = r(f"535 5.7.8 refused {form} (try again)")
    assert shown == f"535 5.7.8 refused {MASK} (try again)", form


def test_a_longer_secret_in_base64_of_any_text() -> None:
    secret = "pk-7f3a9c2e11b04d58a6"
    r = Redactor([secret])  # no user known: the base64 words are still found
    for prefix in ("", "a", "ab", "abc:", "editor@example.org:"):
        for form in b64(f"{prefix}{secret}".encode()):
            assert r(f"auth {form} end") == f"auth {MASK} end", (prefix, form)


def test_mailchimp_key_with_and_without_its_data_centre() -> None:
    key = "0123456789abcdef0123456789abcdef-us21"
    bare = key.removesuffix("-us21")
    r = Redactor([key])
    for form in (key, bare, bare.upper(), *b64(f"anystring:{key}".encode()), *b64(bare.encode())):
        assert r(f"x {form} y") == f"x {MASK} y", form
    assert r("the data centre us21 is fine") == "the data centre us21 is fine"


def test_ghost_admin_key_its_secret_and_the_decoded_bytes() -> None:
    key_id, secret_hex = "6489f1a2b3c4d5e6f7a8b9c0", "a1b2" * 16
    key = f"{key_id}:{secret_hex}"
    decoded = bytes.fromhex(secret_hex)
    r = Redactor([key])
    for form in (key, secret_hex, secret_hex.upper(), *b64(decoded), decoded.hex()):
        assert r(f"x {form} y") == f"x {MASK} y", form
    assert key_id in r(f"kid {key_id}")  # the key id is not a secret (it is in every JWT)


def test_brevo_key_parts() -> None:
    key = "xkeysib-" + "ab12" * 16 + "-Q7xPzR2mK9vLw3Nd"
    r = Redactor([key])
    for form in (key, "ab12" * 16, "Q7xPzR2mK9vLw3Nd"):
        assert MASK in r(f"x {form} y") and form not in r(f"x {form} y"), form


def test_short_strings_are_left_alone() -> None:
    r = Redactor(["abcde", "", None])
    assert r("abcde abcdef ABCDE") == "abcde abcdef ABCDE"
    assert redact("key abcde1 and abcde", ["abcde"]) == "key abcde1 and abcde"


def test_ordinary_text_is_not_mangled() -> None:
    r = Redactor([PASSWORD, "0123456789abcdef0123456789abcdef-us21"], [USER])
    text = (
        "sent   alpha → smtp (3 of 3 sent)\nerror  beta → outbox: cannot write to outbox/x.eml\n"
        "  hint: check POSTPIPE_OUTBOX_DIR"
    )
    assert r(text) == text
    assert r("") == ""


def test_credential_shapes_without_the_secret() -> None:
    assert redact("Authorization: Bearer zzz\nX: 1") == "Authorization: ***\nX: 1"
    assert redact("https://bob:pw@host/x") == "https://bob:***@host/x"
    assert redact('{"password": "pw", "name": "n"}') == '{"password": "***", "name": "n"}'


def test_http_keeps_its_redact() -> None:
    assert http.redact is redact
    assert http.redact(f"x {PASSWORD.upper()} y", [PASSWORD]) == f"x {MASK} y"


def test_settings_list_every_secret_variable(tmp_path: Path) -> None:
    environ = {
        "WORDPRESS_APP_PASSWORD": "wp-app-pass-1",
        "GHOST_ADMIN_API_KEY": "id:" + "ab" * 32,
        "MAILCHIMP_API_KEY": "mc0123456789-us21",
        "LISTMONK_TOKEN": "listmonk-token-1",
        "BUTTONDOWN_API_KEY": "buttondown-key-1",
        "BREVO_API_KEY": "xkeysib-brevo-key-1",
        "SMTP_PASSWORD": "smtp-password-1",
    }
    settings = load_settings(tmp_path, environ=environ)
    assert sorted(settings.secrets()) == sorted(environ.values())
    r = Redactor.for_settings(settings)
    text = " ".join(environ.values())
    assert r(text).split() == [MASK] * len(environ)
    # the same secrets read raw from .env (when the settings themselves fail to load)
    (tmp_path / ".env").write_text(
        "".join(f"{k}={v}\n" for k, v in environ.items()) + "POSTPIPE_SMTP_RATE=fast\n"
    )
    assert Redactor.for_site(tmp_path, environ={})(text).split() == [MASK] * len(environ)


def test_for_site_never_raises(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"\xff\xfe\x00 not an env file = = =\n")
    r = Redactor.for_site(tmp_path, environ={"SMTP_PASSWORD": "from-the-environment"})
    assert r("x from-the-environment") == f"x {MASK}"
    assert Redactor.for_site(tmp_path / "missing", environ={})("plain") == "plain"


def test_the_ledger_stores_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    leak = f"535 refused {PASSWORD} {b64(f'{chr(0)}{USER}{chr(0)}{PASSWORD}'.encode())[0]}"
    with Ledger(path, redact=Redactor([PASSWORD], [USER])) as led:
        led.record_error("a", "cms", "folder", leak, NOW)
        led.claim_send("b", "outbox", "b-key", NOW)
        led.release("b", "outbox", leak, NOW)
        led.claim_send("c", "outbox", "c-key", NOW)
        led.mark_uncertain("c", "outbox", leak, NOW)
        led.mark_missed("d", "outbox", key="d-key", now=NOW, detail=leak)
        led.record_recipient("e", "smtp", "x@example.org", "failed", NOW, leak)
        errors = [i.last_error for i in led.items()]
        details = [e["detail"] for e in led.events() if e["event"] != "sending"]
    assert errors == [f"535 refused {MASK} {MASK}"] * 4
    assert details == [f"535 refused {MASK} {MASK}"] * 4
    with sqlite3.connect(path) as db:
        (recipient_error,) = db.execute("SELECT error FROM recipients").fetchone()
        dump = "\n".join(db.iterdump())
    assert recipient_error == f"535 refused {MASK} {MASK}"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for form in forms_of(PASSWORD):
        assert form not in dump and form.encode() not in raw, form


def test_a_ledger_without_redactor_stores_text_as_is(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite3") as led:
        led.record_error("a", "cms", "folder", "plain error text", NOW)
        assert led.get("a", "cms", "folder").last_error == "plain error text"  # type: ignore[union-attr]
