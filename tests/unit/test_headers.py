"""Header values and addresses (issue 10, items 2 and 3): validated when posts and
settings are loaded, folded and encoded correctly for any length, internationalised
addresses in the recipients CSV and the outbox, and the CSV reader's hints."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from email import message_from_bytes
from email.parser import BytesHeaderParser, Parser
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postpipe.config import load_settings
from postpipe.content import load_post
from postpipe.errors import ConfigError, ErrorGroup, PostpipeError
from postpipe.headers import header_problem, parse_address
from postpipe.keys import IdempotencyKey
from postpipe.render.email import build_message
from postpipe.targets.base import OutgoingEmail
from postpipe.targets.outbox import Outbox
from postpipe.targets.smtp import read_recipients

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from sitekit import Site, base_env, describe  # noqa: E402

WHEN = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------
# the rules


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Hi\nBcc: x@evil.org", "a line break (at character 3)"),
        ("Hi\r\nBcc: x@evil.org", "a carriage return"),
        ("Hi\tthere", "a tab"),
        ("Hi\x00", "U+0000"),
        ("Hi\x85", "U+0085"),  # C1: NEL
        ("Hi\u2028there", "line separator"),
    ],
)
def test_control_characters_are_header_problems(value: str, problem: str) -> None:
    found = header_problem(value)
    assert found is not None and problem in found


def test_ordinary_text_is_fine() -> None:
    for value in ("Årsmöte 2026: välkomna!", "🎉 " * 50, "a  b", "C++ & C#", ""):
        assert header_problem(value) is None


@pytest.mark.parametrize(
    ("value", "key", "ascii"),
    [
        ("björn@example.org", "björn@example.org", None),
        ("anna@exämple.se", "anna@xn--exmple-cua.se", "anna@xn--exmple-cua.se"),
        ("Anna@EXÄMPLE.se", "anna@xn--exmple-cua.se", "Anna@xn--exmple-cua.se"),
        ("bo+news@example.org", "bo+news@example.org", "bo+news@example.org"),
    ],
)
def test_internationalised_addresses(value: str, key: str, ascii: str | None) -> None:
    address = parse_address(value)
    assert str(address) == value
    assert (address.key, address.ascii) == (key, ascii)
    assert address.needs_smtputf8 is (ascii is None)
    assert address.for_transport(True) == (ascii or value)
    assert address.for_transport(False) == ascii


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not-an-address", "no @"),
        ("@example.org", "nothing before the @"),
        ("ann@", "nothing after the @"),
        ("Ann <ann@example.org>", "contains a space"),
        ("ann@localhost", "not a valid domain"),
        ("ann@exa mple.org", "not a valid domain"),
        ("ann@-example.org", "not a valid domain"),
        ("ann..b@example.org", "two in a row"),
        ("ann\n@example.org", "line break"),
    ],
)
def test_invalid_addresses_say_why(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_address(value)


# ---------------------------------------------------------------------------
# front matter: subject and preheader


def load(tmp_path: Path, newsletter: str, title: str = 'title: "Årsmöte"\n'):  # type: ignore[no-untyped-def]
    posts = tmp_path / "posts"
    posts.mkdir(exist_ok=True)
    path = posts / "a.md"
    path.write_text(
        f"---\n{title}date: 2026-06-10\nnewsletter:\n{newsletter}---\n\nBody.\n",
        encoding="utf-8",
    )
    return load_post(path, posts, tz=ZoneInfo("UTC"), rel="posts/a.md")


@pytest.mark.parametrize(
    ("newsletter", "line", "key"),
    [
        ('  subject: "Hi\\nBcc: x@evil.org"\n', 5, "newsletter.subject"),
        ('  subject: "Hi"\n  preheader: "Read\\tthis"\n', 6, "newsletter.preheader"),
        ('  subject: "Hi\\u2028there"\n', 5, "newsletter.subject"),
        ("  subject: |\n    Line one\n    Line two\n", 5, "newsletter.subject"),
        ('  subject: "Hi\\x85there"\n', 5, "newsletter.subject"),  # C1 (NEL)
    ],
)
def test_a_control_character_in_subject_or_preheader_is_an_error_with_its_line(
    tmp_path: Path, newsletter: str, line: int, key: str
) -> None:
    post, errors = load(tmp_path, newsletter)
    assert post is None
    (error,) = errors
    assert (error.path, error.line) == ("posts/a.md", line)
    assert f"'{key}' contains" in error.message
    assert "email header" in error.message
    assert error.hint and "one line" in error.hint


def test_a_folded_subject_is_one_line(tmp_path: Path) -> None:
    post, errors = load(tmp_path, "  subject: >\n    Årsmöte 2026:\n    välkomna alla\n")
    assert errors == []
    assert post is not None and post.newsletter is not None
    assert post.newsletter.subject == "Årsmöte 2026: välkomna alla"


def test_a_title_with_a_line_break_cannot_be_the_default_subject(tmp_path: Path) -> None:
    post, errors = load(tmp_path, '  preheader: "x"\n', title="title: |\n  Two\n  lines\n")
    assert post is None
    (error,) = errors
    assert error.line == 6 and "defaults to the title" in error.message
    assert error.hint and "newsletter.subject" in error.hint


# ---------------------------------------------------------------------------
# settings: sender name and addresses


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("POSTPIPE_FROM_NAME", "News\nBcc: x@evil.org", "contains a line break"),
        ("POSTPIPE_SITE_TITLE", "News\r\nBcc: x@evil.org", "contains a carriage return"),
        ("POSTPIPE_FROM_EMAIL", "news@example.org\nBcc: x@evil.org", "line break"),
        ("POSTPIPE_FROM_EMAIL", "News <news@example.org>", "contains a space"),
        ("POSTPIPE_REPLY_TO", "desk@localhost", "not a valid domain"),
    ],
)
def test_sender_settings_are_validated(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={name: value})
    assert info.value.message.startswith(f"{name}=")
    assert expected in info.value.message


def test_internationalised_sender_settings(tmp_path: Path) -> None:
    s = load_settings(
        tmp_path,
        environ={
            "POSTPIPE_FROM_EMAIL": "björn@exämple.se",
            "POSTPIPE_REPLY_TO": "anna@exämple.se",
            "POSTPIPE_FROM_NAME": "Föreningen, Stockholm 🎉",
        },
    )
    assert (s.from_email, s.reply_to, s.sender_name) == (
        "björn@exämple.se",
        "anna@exämple.se",
        "Föreningen, Stockholm 🎉",
    )


# ---------------------------------------------------------------------------
# build_message: folding and encoding for any length

SUBJECTS = [
    "Kort",
    "Hej " * 74 + "Hej",  # 299 ASCII characters
    ("Årsmöte för föreningen – välkomna alla medlemmar! 🎉 " * 6).strip(),  # 311
    "🎉" * 120,
    "å" * 300,
    "x" * 300,  # one word longer than a line
    ("Ett väldigt_långt_ord_utan_mellanslag_" * 8).strip(),  # the stdlib drops a space here
    "a  b   c",
    "å  ä",
    "Ärende: =?utf-8?q?not_an_encoded_word?= really",
    ("👩‍👩‍👧 family " * 20).strip(),
]


def message_bytes(subject: str, to: str | tuple[str, str]) -> bytes:
    return bytes(
        build_message(
            subject=subject,
            html="<p>x</p>",
            text="x\n",
            sender_name="Föreningen för långa namn i Stockholms län – nyhetsbrevet",
            sender_email="news@exämple.se",
            reply_to="news@example.org",
            to=to,
            unsubscribe_url="https://news.example.org/u?e=x",
            date=WHEN,
            key="nl-x-1",
            preheader=subject,
        )
    )


@pytest.mark.parametrize("subject", SUBJECTS, ids=range(len(SUBJECTS)))
def test_any_subject_is_folded_and_comes_back_exactly(subject: str) -> None:
    raw = message_bytes(subject, ("Åsa Berg", "asa@example.se"))
    head = raw.split(b"\r\n\r\n")[0]
    assert head.isascii()  # 7-bit: RFC 2047 encoded words where needed
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = message_from_bytes(raw, policy=default)
    assert msg["Subject"] == subject
    assert msg["X-Preheader"] == subject
    assert msg["From"].addresses[0].addr_spec == "news@xn--exmple-cua.se"
    assert msg["To"].addresses[0].display_name == "Åsa Berg"


@pytest.mark.parametrize("subject", SUBJECTS, ids=range(len(SUBJECTS)))
def test_any_subject_in_a_utf8_message(subject: str) -> None:
    raw = message_bytes(subject, ("Björn", "björn@example.org"))
    assert max(len(line) for line in raw.decode("utf-8").split("\r\n")) <= 78
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    msg = Parser(policy=default).parsestr(raw.decode("utf-8"))  # RFC 6532 headers
    assert msg["Subject"] == subject
    assert msg["To"].addresses[0].addr_spec == "björn@example.org"


def test_a_header_value_with_a_line_break_never_reaches_a_message() -> None:
    with pytest.raises(ValueError, match="line break"):
        message_bytes("Hi\nBcc: x@evil.org", "ann@example.org")


# ---------------------------------------------------------------------------
# the recipients CSV


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding=encoding)
    return path


def test_internationalised_recipients(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "email,name\nbjörn@example.org,Björn\nanna@exämple.se,Anna\n"
        "ANNA@xn--exmple-cua.se,Anna again\n",
    )
    got = read_recipients(path)
    assert [(r.email, r.name, r.key) for r in got] == [
        ("björn@example.org", "Björn", "björn@example.org"),
        ("anna@exämple.se", "Anna", "anna@xn--exmple-cua.se"),  # the same mailbox once
    ]


def test_semicolons_as_excel_writes_them_in_sweden(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "E-post;Namn\nann@example.org;Ann, styrelsen\n", "utf-8-sig")
    (r,) = read_recipients(path)
    assert (r.email, r.name) == ("ann@example.org", "Ann, styrelsen")


def test_a_mailchimp_export(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        '"Email Address","First Name","Last Name",MEMBER_RATING\n'
        'ann@example.org,Ann,Åberg,2\n"bo@example.org",Bo,,1\n',
    )
    assert [(r.email, r.name) for r in read_recipients(path)] == [
        ("ann@example.org", "Ann Åberg"),
        ("bo@example.org", "Bo"),
    ]


def test_tabs(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "name\temail\nAnn\tann@example.org\n")
    assert [r.email for r in read_recipients(path)] == ["ann@example.org"]


def test_no_address_column_says_what_it_expected_and_found(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "Namn;Adress\nAnn;ann@example.org\n")
    with pytest.raises(ConfigError) as info:
        read_recipients(path)
    message, hint = info.value.message, info.value.hint or ""
    assert "has no 'email' column" in message
    assert "split at a semicolon, has 'Namn', 'Adress'" in message
    assert "'email'" in hint and "Email Address" in hint
    assert "a comma, a semicolon or a tab" in hint


def test_a_file_without_a_header_line(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "ann@example.org,Ann\nbo@example.org,Bo\n")
    with pytest.raises(ConfigError) as info:
        read_recipients(path)
    assert "split at a comma, has 'ann@example.org', 'Ann'" in info.value.message
    assert "add a line 'email,name' at the top" in (info.value.hint or "")


def test_invalid_rows_say_why(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path, 'email,name\nann@example.org,Ann\nAnn <ann@x.org>,\nbo@example.org,"B\no"\n'
    )
    with pytest.raises(ConfigError) as info:
        read_recipients(path)
    assert "line 3: 'Ann <ann@x.org>' (the part before @ contains a space: write the bare" in (
        info.value.message
    )
    assert "line 5: 'bo@example.org' (the name contains a line break" in info.value.message


# ---------------------------------------------------------------------------
# the outbox: a valid .eml for non-ASCII senders and recipients


def outgoing(from_email: str, from_name: str = "Föreningen, Stockholm") -> OutgoingEmail:
    return OutgoingEmail(
        slug="alpha",
        subject="Årsmöte 2026: välkomna! 🎉",
        preheader="Läs mer",
        html='<p>Hej <a href="mailto:x@example.org?e={email}">avregistrera</a></p>',
        text="Hej\n",
        from_name=from_name,
        from_email=from_email,
        reply_to=from_email,
        view_url="https://news.example.org/alpha/",
        unsubscribe_url=f"mailto:{from_email}?subject=unsubscribe",
    )


@pytest.mark.parametrize("utf8", [False, True])
def test_outbox_writes_a_valid_eml_for_an_internationalised_sender(
    tmp_path: Path, utf8: bool
) -> None:
    sender = "björn@exämple.se" if utf8 else "anna@exämple.se"
    settings = load_settings(tmp_path, environ={"POSTPIPE_FROM_EMAIL": sender})
    outbox = Outbox(settings, clock=lambda: WHEN)
    key = IdempotencyKey.for_newsletter("alpha", "outbox")
    campaign = outbox.send(outbox.prepare(outgoing(sender), key, None), outgoing(sender))
    assert campaign.remote_id is not None
    raw = (tmp_path / "outbox" / campaign.remote_id).read_bytes()
    assert raw.split(b"\r\n\r\n")[0].isascii() is not utf8
    msg = (
        Parser(policy=default).parsestr(raw.decode("utf-8"))
        if utf8
        else message_from_bytes(raw, policy=default)
    )
    (frm,) = msg["From"].addresses
    (to,) = msg["To"].addresses
    expected = sender if utf8 else "anna@xn--exmple-cua.se"
    assert (frm.display_name, frm.addr_spec) == ("Föreningen, Stockholm", expected)
    # one address, even with a comma in the sender name
    assert (to.display_name, to.addr_spec) == ("Föreningen, Stockholm subscribers", expected)
    assert msg["Subject"] == "Årsmöte 2026: välkomna! 🎉"
    assert "=?" not in str(msg["List-Unsubscribe"])  # a URI, percent-encoded, not a word
    # and the file is found again by its key (crash recovery, a deleted ledger)
    with (tmp_path / "outbox" / campaign.remote_id).open("rb") as f:
        assert key.matches(BytesHeaderParser(policy=default).parse(f)["X-Postpipe-Key"])
    assert outbox.find_campaign(key) is not None


def test_outbox_test_address_is_validated(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    outbox = Outbox(settings, clock=lambda: WHEN)
    key = IdempotencyKey.for_newsletter("alpha", "outbox")
    email = outgoing("news@example.org")
    with pytest.raises(PostpipeError, match="the test address 'ann@' is not an email address"):
        outbox.send_test(outbox.prepare(email, key, None), email, "ann@")
    assert not (tmp_path / "outbox").exists()


# ---------------------------------------------------------------------------
# through the CLI: check and publish refuse, nothing is sent, send never crashes

INJECTED = """---
title: "Årsmöte"
slug: arsmote
date: 2026-06-10 10:00
summary: "What happened."
newsletter:
  subject: "Hi\\nBcc: x@evil.org"
  send_at: 2026-06-15T11:00:00+00:00
---

The evening gathered forty neighbours.
"""


@pytest.fixture
def injected(tmp_path: Path) -> Site:
    root = tmp_path / "site"
    site = Site(root=root, env=base_env(tmp_path))
    site.write_post("arsmote.md", INJECTED)
    return site


def refused(result: subprocess.CompletedProcess[str]) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == 1, describe(result)
    assert "Traceback" not in out
    assert "posts/arsmote.md:7" in out and "newsletter.subject" in out, describe(result)
    assert "line break" in out
    return out


@pytest.mark.cli
def test_cli_check_and_publish_refuse_a_line_break_in_the_subject(injected: Site) -> None:
    refused(injected.run("check"))
    refused(injected.run("publish"))
    outbox = injected.root / "outbox"
    assert not outbox.exists() or list(outbox.iterdir()) == []
    assert not (injected.public / "arsmote").exists()
    # cron: reported, no traceback, nothing sent, nothing left "sending"
    refused(injected.run("send", "--due"))
    refused(injected.run("send", "arsmote", "--yes"))
    assert not outbox.exists() or list(outbox.iterdir()) == []
    status = injected.status().get("arsmote", {})
    assert status.get("newsletter") != "sending"


@pytest.mark.cli
def test_cli_a_line_break_in_the_sender_name_names_the_variable(injected: Site) -> None:
    injected.write_post("arsmote.md", INJECTED.replace("Hi\\nBcc: x@evil.org", "Hi"))
    (injected.root / ".env").write_text('POSTPIPE_FROM_NAME="News\\nBcc: x@evil.org"\n')
    result = injected.run("publish")
    out = result.stdout + result.stderr
    assert result.returncode == 1, describe(result)
    assert "Traceback" not in out
    assert "POSTPIPE_FROM_NAME=" in out and "line break" in out
    assert not (injected.root / "outbox").exists()


def test_errors_are_grouped_not_raised_one_by_one(tmp_path: Path) -> None:
    with pytest.raises(ErrorGroup) as info:
        load_settings(
            tmp_path,
            environ={"POSTPIPE_FROM_NAME": "a\nb", "POSTPIPE_REPLY_TO": "x"},
        )
    assert len(info.value.errors) == 2
