"""An invalid value of any variable: exit 1, the variable's name and what it expects,
never a traceback, never a secret's value.

Each case runs ``postpipe publish --dry-run`` in process (``cli.main`` with
captured streams) with the variable's target selected, so the value is parsed
wherever it is parsed: the settings table or the target that reads it.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from postpipe.cli import Env, main
from postpipe.config import FIELDS

GHOST_KEY = "0123456789abcdef01234567:" + "ab" * 32
SENDER = {"POSTPIPE_FROM_EMAIL": "news@example.org"}
#: what selects the target that reads a group's variables, with valid values
TARGET = {
    "wordpress": {"POSTPIPE_CMS": "wordpress", "WORDPRESS_URL": "https://wp.example.org",
                  "WORDPRESS_USER": "editor", "WORDPRESS_APP_PASSWORD": "abcd efgh ijkl"},
    "ghost": {"POSTPIPE_CMS": "ghost", "GHOST_URL": "https://ghost.example.org",
              "GHOST_ADMIN_API_KEY": GHOST_KEY},
    "mailchimp": {"POSTPIPE_LIST": "mailchimp", "MAILCHIMP_API_KEY": "0123abcd-us21",
                  "MAILCHIMP_LIST_ID": "a1b2c3", **SENDER},
    "listmonk": {"POSTPIPE_LIST": "listmonk", "LISTMONK_URL": "https://lists.example.org",
                 "LISTMONK_USER": "api", "LISTMONK_TOKEN": "tok", "LISTMONK_LIST_IDS": "3",
                 **SENDER},
    "buttondown": {"POSTPIPE_LIST": "buttondown", "BUTTONDOWN_API_KEY": "bd-key", **SENDER},
    "brevo": {"POSTPIPE_LIST": "brevo", "BREVO_API_KEY": "xkeysib-1", "BREVO_LIST_IDS": "3",
              **SENDER},
    "smtp": {"POSTPIPE_LIST": "smtp", "SMTP_HOST": "smtp.example.org",
             "SMTP_RECIPIENTS_FILE": "recipients.csv", **SENDER},
}
TARGET["targets"] = TARGET["general"] = {}

#: (variable, invalid value, what the message says it expects)
BAD: list[tuple[str, str, str]] = [
    ("POSTPIPE_SITE_URL", "news.example.org", "absolute http(s) URL"),
    ("POSTPIPE_SITE_URL", "http://[::1", "absolute http(s) URL"),
    ("POSTPIPE_SITE_URL", "https://news.example.org:99999", "absolute http(s) URL"),
    ("POSTPIPE_SITE_URL", "https://news.example.org/a b", "absolute http(s) URL"),
    ("POSTPIPE_LANG", "Swedish", "language code"),
    ("POSTPIPE_TIMEZONE", "Europe", "IANA time zone"),
    ("POSTPIPE_TIMEZONE", "../../etc/passwd", "IANA time zone"),
    ("POSTPIPE_FROM_EMAIL", "news-at-example.org", "email address"),
    ("POSTPIPE_REPLY_TO", "nobody", "email address"),
    ("POSTPIPE_UNSUBSCRIBE_URL", "unsubscribe here", "unsubscribe URL"),
    ("POSTPIPE_UNSUBSCRIBE_URL", "javascript:alert(1)", "unsubscribe URL"),
    ("POSTPIPE_UNSUBSCRIBE_URL", "mailto:nobody", "unsubscribe URL"),
    ("POSTPIPE_MAX_LATENESS", "24 hours", "duration such as 30m, 24h or 2d"),
    ("POSTPIPE_MAX_LATENESS", "-1h", "duration"),
    ("POSTPIPE_MAX_LATENESS", "abc", "duration"),
    ("POSTPIPE_MAX_LATENESS", "99999999999d", "at most 366d"),
    ("POSTPIPE_MAX_LATENESS", "1" + "0" * 400, "at most 366d"),
    ("POSTPIPE_INLINER", "fast", "premailer, css-inline"),
    ("POSTPIPE_CMS", "drupal", "folder, wordpress, ghost"),
    ("POSTPIPE_CMS", "no_such_module_pp:Target", "cannot load"),
    ("POSTPIPE_CMS", "os:getcwd", "is not a class"),
    ("POSTPIPE_LIST", "pigeon", "outbox, mailchimp"),
    ("POSTPIPE_LIST", "os:sep", "is not a class"),
    ("POSTPIPE_HTTP_TIMEOUT", "0", "positive number"),
    ("POSTPIPE_HTTP_TIMEOUT", "-5", "positive number"),
    ("POSTPIPE_HTTP_TIMEOUT", "abc", "positive number"),
    ("POSTPIPE_HTTP_TIMEOUT", "nan", "positive number"),
    ("POSTPIPE_HTTP_TIMEOUT", "inf", "positive number"),
    ("POSTPIPE_HTTP_TIMEOUT", "1e999", "positive number"),
    ("WORDPRESS_URL", "wp.example.org", "absolute http(s) URL"),
    ("GHOST_URL", "ftp://ghost.example.org", "absolute http(s) URL"),
    ("GHOST_ADMIN_API_KEY", "not-a-key", "<24 hex id>:<64 hex secret>"),
    ("MAILCHIMP_API_KEY", "0123abcd", "data centre such as -us21"),
    ("MAILCHIMP_BASE_URL", "us21.api.mailchimp.com", "absolute http(s) URL"),
    ("LISTMONK_URL", "lists", "absolute http(s) URL"),
    ("LISTMONK_LIST_IDS", "news,events", "numeric list ids"),
    ("LISTMONK_TRACK_LINKS", "yes", "on, off"),
    ("BUTTONDOWN_BASE_URL", "api.buttondown.com", "absolute http(s) URL"),
    ("BREVO_LIST_IDS", "3;7", "numeric list ids"),
    ("BREVO_BASE_URL", "https://", "absolute http(s) URL"),
    ("SMTP_PORT", "submission", "port number"),
    ("SMTP_SECURITY", "tls", "starttls, ssl, none"),
    ("POSTPIPE_SMTP_RATE", "0", "positive number"),
    ("POSTPIPE_SMTP_RATE", "fast", "positive number"),
    ("POSTPIPE_SMTP_RATE", "nan", "positive number"),
    ("POSTPIPE_SMTP_RATE", "1e-300", "positive number"),
    ("SMTP_DKIM_SELECTOR", "my selector", "DNS label"),
    ("SMTP_DKIM_SELECTOR", "-mail", "DNS label"),
    ("SMTP_DKIM_KEY_FILE", "dkim.pem", "DKIM needs both"),
    ("IMAP_PORT", "imaps", "port number"),
    ("IMAP_PORT", "70000", "port number"),
    ("IMAP_SECURITY", "tls", "ssl, starttls, none"),
    ("IMAP_FOLDER", "INBOX\x01", "no control characters"),
]

#: Variables any text is valid for (names, titles, ids, secrets, paths); their
#: header-safety is checked where they become headers.
FREE_TEXT = {
    "POSTPIPE_SITE_TITLE", "POSTPIPE_AUTHOR", "POSTPIPE_FROM_NAME", "POSTPIPE_UTM",
    "POSTPIPE_PUBLISH_DIR", "POSTPIPE_OUTBOX_DIR", "WORDPRESS_USER", "WORDPRESS_APP_PASSWORD",
    "MAILCHIMP_LIST_ID", "LISTMONK_USER", "LISTMONK_TOKEN", "BUTTONDOWN_API_KEY",
    "BREVO_API_KEY", "SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "SMTP_RECIPIENTS_FILE",
    "IMAP_HOST", "IMAP_USER", "IMAP_PASSWORD", "BUTTONDOWN_TAG",
}
#: the per-language families (``MAILCHIMP_LIST_ID_<LANG>``) are no variable themselves:
#: tests/unit/test_translations.py sets them with a language
GROUP = {f.env: f.group for f in FIELDS if not f.per_language}
SECRET = {f.env for f in FIELDS if f.secret}


def test_every_variable_has_a_bad_value_or_takes_any_text() -> None:
    """A new variable needs its cases here (or a place in FREE_TEXT)."""
    covered = {name for name, _, _ in BAD}
    assert covered | FREE_TEXT == set(GROUP), set(GROUP) ^ (covered | FREE_TEXT)
    assert not covered & FREE_TEXT


def run(root: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
        *args: str) -> tuple[int, str]:
    for name in [*GROUP, "POSTPIPE_NOW"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--root", str(root)], Env(stdout=out, stderr=err))
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "posts").mkdir()
    (tmp_path / "recipients.csv").write_text("email\nann@example.org\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("group", sorted({*GROUP.values()}))
def test_each_target_loads_with_valid_values(root: Path, monkeypatch: pytest.MonkeyPatch,
                                             group: str) -> None:
    """The control: without the bad value the same run succeeds."""
    code, output = run(root, monkeypatch, TARGET[group], "publish", "--dry-run")
    assert code == 0, output


@pytest.mark.parametrize(("name", "value", "expects"), BAD,
                         ids=[f"{n}={v[:20]}" for n, v, _ in BAD])
def test_an_invalid_value_names_the_variable_and_what_it_expects(
    root: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expects: str
) -> None:
    env = {**TARGET[GROUP[name]], name: value}
    code, output = run(root, monkeypatch, env, "publish", "--dry-run")
    assert code == 1, output
    assert name in output
    assert expects in output, output
    assert "Traceback" not in output
    if name in SECRET:
        assert value not in output


@pytest.mark.parametrize("command", [("check",), ("build",), ("status",), ("send", "--due")])
def test_every_command_reports_it(root: Path, monkeypatch: pytest.MonkeyPatch,
                                  command: tuple[str, ...]) -> None:
    code, output = run(root, monkeypatch, {"POSTPIPE_MAX_LATENESS": "99999999999d"}, *command)
    assert code == 1, output
    assert "POSTPIPE_MAX_LATENESS" in output and "duration" in output


def test_a_bad_clock_override_is_an_error_too(root: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = run(root, monkeypatch, {"POSTPIPE_NOW": "yesterday"}, "publish", "--dry-run")
    assert code == 1, output
    assert "POSTPIPE_NOW='yesterday' is not valid" in output


def test_through_a_real_process(root: Path) -> None:
    """What a user at a terminal sees (a subprocess: the real streams and exit code)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in GROUP}
    env["POSTPIPE_MAX_LATENESS"] = "99999999999d"  # was an OverflowError traceback
    result = subprocess.run([sys.executable, "-m", "postpipe", "send", "--due", "--root",
                             str(root)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "POSTPIPE_MAX_LATENESS='99999999999d' is not valid: expected a duration" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
