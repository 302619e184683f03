"""Per-language recipients with the ``smtp`` list (issue 15, DESIGN §3), on a real
SMTP server: ``send --due`` mails the Swedish edition to ``SMTP_RECIPIENTS_FILE_SV``
and the English ones to ``SMTP_RECIPIENTS_FILE``; the ``outbox`` writes each
language's messages to ``POSTPIPE_OUTBOX_DIR_<LANG>``."""

from __future__ import annotations

import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from sitekit import Site, at, base_env, describe, news_post  # noqa: E402

UNSUB = "https://news.example.org/unsubscribe?email={email}"


def pair(root: Path) -> None:
    (root / "posts").mkdir(parents=True)
    due = at(hours=-1)
    for slug, lang, key in (
        ("inbjudan", "sv", "day"),
        ("invitation", "en", "day"),
        ("notes", "en", None),
    ):
        extra = f"lang: {lang}" + (f"\ntranslation_key: {key}" if key else "")
        text = news_post(slug, send_at=due, extra=extra)
        (root / "posts" / f"{slug}.md").write_text(text, encoding="utf-8")


def csv(path: Path, *emails: str) -> Path:
    path.write_text("email,name\n" + "".join(f"{e},\n" for e in emails), encoding="utf-8")
    return path


def smtp_pair(tmp_path: Path, server, english: Path, swedish: Path) -> Site:  # type: ignore[no-untyped-def]
    """The sv/en pair sent by smtp: English recipients by default, Swedish ones for sv."""
    env = {
        **base_env(tmp_path),
        **server.env(english),
        "SMTP_RECIPIENTS_FILE_SV": str(swedish),
        "POSTPIPE_UNSUBSCRIBE_URL": UNSUB,
        "POSTPIPE_SMTP_RATE": "100",
    }
    root = tmp_path / "site"
    pair(root)
    return Site(root=root, env=env)


def test_smtp_sends_each_language_to_its_recipients(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server("starttls")
    english = csv(tmp_path / "en.csv", "ann@example.org", "bo@example.org")
    swedish = csv(tmp_path / "sv.csv", "sven@example.se")
    site = smtp_pair(tmp_path, server, english, swedish)
    result = site.run("send", "--due")
    assert result.returncode == 0, describe(result)
    got: dict[str, set[str]] = {}
    for m in server.handler.received:
        msg = message_from_bytes(m.data, policy=default)
        got.setdefault(str(msg["Subject"]), set()).update(m.rcpt_tos)
    assert got == {
        "Inbjudan event recap": {"sven@example.se"},
        "Invitation event recap": {"ann@example.org", "bo@example.org"},
        "Notes event recap": {"ann@example.org", "bo@example.org"},
    }
    # the Swedish message links the English edition
    [sv] = [m for m in server.handler.received if "sven@example.se" in m.rcpt_tos]
    text = (
        message_from_bytes(sv.data, policy=default)
        .get_body(("plain",))
        .get_content()
        .replace("\r\n", "\n")
    )
    assert "Read in English:\nhttps://news.example.org/invitation/" in text
    # a second run finds them sent: nobody is mailed twice
    assert site.ok("send", "--due") == ""
    assert len(server.handler.to()) == 5


def test_outbox_writes_each_language_to_its_folder(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "POSTPIPE_OUTBOX_DIR_SV": "outbox-sv"}
    root = tmp_path / "site"
    pair(root)
    site = Site(root=root, env=env)
    result = site.run("send", "--due")
    assert result.returncode == 0, describe(result)
    sv = sorted(p.name.split("-", 1)[1] for p in (root / "outbox-sv").glob("*.eml"))
    en = sorted(p.name.split("-", 1)[1] for p in (root / "outbox").glob("*.eml"))
    assert sv == ["inbjudan.eml"]
    assert en == ["invitation.eml", "notes.eml"]
    assert site.ok("send", "--due") == ""  # found again in its own folder: not sent twice
    assert len(list((root / "outbox-sv").glob("*.eml"))) == 1


def test_an_address_suppressed_by_hand_gets_no_edition_in_any_language(
    tmp_path: Path,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    """One sender, one suppression list: it applies to every language's recipients."""
    server = smtp_server("starttls")
    english = csv(tmp_path / "en.csv", "ann@example.org", "both@example.org")
    swedish = csv(tmp_path / "sv.csv", "sven@example.se", "both@example.org")
    site = smtp_pair(tmp_path, server, english, swedish)
    site.ok("unsubscribe", "both@example.org")
    result = site.run("send", "--due")
    assert result.returncode == 0, describe(result)
    assert "both@example.org" not in server.handler.to()
    assert sorted(set(server.handler.to())) == ["ann@example.org", "sven@example.se"]
    assert "1 suppressed, skipped" in result.stdout
