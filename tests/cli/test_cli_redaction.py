"""``cli.main`` prints every error, traceback and line without the site's secrets,
even when the settings themselves fail to load (issue 10, item 4)."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from urllib.parse import quote

import pytest

from postpipe import cli
from postpipe.cli import Env, main
from postpipe.config import FIELDS
from postpipe.errors import ProviderError

PASSWORD = "smtp-Pa55word/x"
KEY = "0123456789abcdef0123456789abcdef-us21"


def forms() -> list[str]:
    return [
        PASSWORD,
        PASSWORD.upper(),
        quote(PASSWORD, safe=""),
        base64.b64encode(f"\0mailer\0{PASSWORD}".encode()).decode(),
        KEY,
        KEY.removesuffix("-us21"),
        KEY.upper(),
    ]


LEAK = " ".join(forms())


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for f in FIELDS:
        monkeypatch.delenv(f.env, raising=False)
    monkeypatch.delenv("POSTPIPE_DEBUG", raising=False)
    # the secrets live in .env only; POSTPIPE_SMTP_RATE is invalid, so the settings
    # cannot load: the redactor must not depend on them
    (tmp_path / ".env").write_text(
        f"SMTP_USER=mailer\nSMTP_PASSWORD={PASSWORD}\nMAILCHIMP_API_KEY={KEY}\n"
        "POSTPIPE_SMTP_RATE=fast\n"
    )
    return tmp_path


def run(root: Path, *args: str) -> tuple[int, str]:
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO())
    code = main(["status", "--root", str(root), *args], env=env)
    return code, env.stdout.getvalue() + env.stderr.getvalue()  # type: ignore[attr-defined]


def leaked(text: str) -> list[str]:
    return [form for form in forms() if form in text]


def test_the_settings_error_itself(site: Path) -> None:
    code, text = run(site)
    assert code == 1 and "POSTPIPE_SMTP_RATE='fast' is not valid" in text
    assert leaked(text) == []


@pytest.mark.parametrize(
    "error",
    [
        ProviderError(f"refused: {LEAK}", target="smtp", hint=f"the server said {LEAK}"),
        RuntimeError(f"a bug that prints {LEAK}"),
        KeyboardInterrupt(LEAK),
    ],
    ids=["provider-error", "bug", "ctrl-c"],
)
@pytest.mark.parametrize("debug", ["", "--traceback", "POSTPIPE_DEBUG=1"])
def test_errors_and_tracebacks_are_redacted(
    site: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException, debug: str
) -> None:
    def command(args: object, env: Env) -> int:
        raise error

    monkeypatch.setattr(cli, "cmd_status", command)
    args: list[str] = []
    if debug == "--traceback":
        args.append(debug)
    elif debug:
        monkeypatch.setenv("POSTPIPE_DEBUG", "1")
    code, text = run(site, *args)
    assert code == (130 if isinstance(error, KeyboardInterrupt) else 1)
    assert leaked(text) == [], text
    assert "***" in text or isinstance(error, KeyboardInterrupt)
    assert ("Traceback (most recent call last)" in text) == bool(debug), text
    if isinstance(error, RuntimeError):
        assert "error: unexpected RuntimeError: a bug that prints ***" in text
        assert "run again with --traceback" in text


def test_secrets_from_the_environment_too(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREVO_API_KEY", "xkeysib-environment-only-key")

    def command(args: object, env: Env) -> int:
        env.out("a line with XKEYSIB-ENVIRONMENT-ONLY-KEY")
        return 0

    monkeypatch.setattr(cli, "cmd_status", command)
    code, text = run(site)
    assert code == 0 and text == "a line with ***\n"
