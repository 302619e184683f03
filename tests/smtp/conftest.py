"""Fixtures of the SMTP tests: the server of ``smtpserver.py`` and its certificate."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

try:  # the test extra installs both; CI must run these tests, never skip them
    import aiosmtpd  # noqa: F401
    import cryptography  # noqa: F401
except ImportError:
    if os.environ.get("POSTPIPE_REQUIRE_SERVERS") == "1":
        raise
    collect_ignore = [
        "test_smtp.py",
        "test_addresses.py",
        "test_suppression.py",
        "test_mailbox.py",
    ]
else:
    from smtpserver import (
        Controller,
        Handler,
        SmtpServer,
        authenticator,
        free_port,
        make_certificate,
    )


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[Callable[..., SmtpServer]]:
    """Factory: ``smtp_server(security="starttls"|"ssl", smtputf8=False, **handler options)``;
    ``smtputf8`` makes the server offer SMTPUTF8 (RFC 6531)."""
    controllers: list[Controller] = []

    def start(security: str = "starttls", smtputf8: bool = False, **options: Any) -> SmtpServer:
        cert, key = certificate
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        handler = Handler(**options)
        port = free_port()
        kwargs: dict[str, Any] = {
            "authenticator": authenticator,
            "auth_require_tls": True,
            "enable_SMTPUTF8": smtputf8,
        }
        if security == "ssl":
            # implicit TLS: the whole session is encrypted (aiosmtpd only tracks STARTTLS)
            kwargs.update(ssl_context=context, auth_require_tls=False)
        else:
            kwargs.update(tls_context=context, require_starttls=True)
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return SmtpServer(handler, port, cert, security)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def dovecot(certificate: tuple[Path, Path]) -> Iterator[Any]:
    """A Dovecot of its own (``dovecot.py``): fails, never skips, where CI needs it."""
    import shutil

    from dovecot import start_dovecot

    if not (shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists()):
        message = "dovecot is not installed: apt-get install dovecot-imapd (see .ci/run)"
        if os.environ.get("POSTPIPE_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = start_dovecot(*certificate)
    yield server
    server.stop()


@pytest.fixture
def trust(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Trust the test certificate in this process (as SSL_CERT_FILE does for postpipe)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return certificate[0]


@pytest.fixture
def setup(tmp_path: Path, smtp_server: Callable[..., SmtpServer], trust: Path) -> Iterator[Any]:
    """``setup(rows, security, **server_options)``: a recipients CSV, a real server and a
    ledger (``test_smtp.Setup``), closed at the end."""
    from test_smtp import Setup

    made: list[Setup] = []

    def make(rows: list[tuple[str, str]], security: str = "starttls", **options: Any) -> Setup:
        s = Setup(tmp_path, smtp_server(security, **options), rows)
        made.append(s)
        return s

    yield make
    for s in made:
        s.ledger.close()
