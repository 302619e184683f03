"""A real SMTP server for the ``smtp`` list tests: aiosmtpd on 127.0.0.1 with STARTTLS
(or implicit TLS) and AUTH, a self-signed certificate made here with
``cryptography``, and a handler that records every message, can refuse or defer
addresses, and can hold each DATA for a while (a window to kill a client in).

Clients trust the certificate through ``SSL_CERT_FILE``, exactly as a site with a
private CA would.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import Parser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller  # noqa: F401 - the conftest starts it
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "mailer", "smtp-pw-93b1c7"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "postpipe test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    at: float
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None
    tls: bool
    smtputf8: bool = False  # MAIL FROM carried SMTPUTF8

    @property
    def message(self) -> Message:
        if self.smtputf8:  # RFC 6532: the headers are UTF-8
            return Parser(policy=default_policy).parsestr(self.data.decode("utf-8"))
        return message_from_bytes(self.data, policy=default_policy)


@dataclass
class Handler:
    """Records messages; refuses (5xx) or defers (4xx) listed addresses; holds DATA."""

    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)
    hold: float = 0.0  # seconds each DATA waits before its 250
    hang_up: bool = False  # close the connection right after each accepted message
    # a careless server: its 535 refusal echoes the credentials it was given, as they
    # were sent (base64) and decoded
    echo_auth: bool = False
    received: list[Received] = field(default_factory=list)
    in_data: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: no such user"
        if address in self.defer:
            return f"450 4.2.1 <{address}>: mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if session.authenticated else None
        with self.lock:
            self.received.append(
                Received(
                    time.monotonic(),
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content or envelope.content,
                    login,
                    session.ssl is not None,
                    envelope.smtp_utf8,
                )
            )
        self.in_data.release()
        if self.hold:
            await asyncio.sleep(self.hold)
        if self.hang_up:  # like a server with one message per connection, or an idle timeout
            session.hung_up = True
            asyncio.get_running_loop().call_later(0.01, server.transport.close)
        return "250 2.0.0 Message accepted for delivery"

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:
        # a NOOP that comes before the hang-up above gets the 421 a closing server
        # sends (the client must reconnect either way: no race with the close)
        if getattr(session, "hung_up", False):
            return "421 4.4.2 closing the connection"
        return "250 OK"

    def to(self) -> list[str]:
        """Every RCPT of every received message, in order."""
        with self.lock:
            return [r for m in self.received for r in m.rcpt_tos]


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    message = None
    if not ok and getattr(server.event_handler, "echo_auth", False):
        message = echo_refusal(mechanism, auth_data.login, auth_data.password)
    return AuthResult(
        success=ok, handled=False, auth_data=auth_data if ok else None, message=message
    )


def echo_refusal(mechanism: str, login: bytes, password: bytes) -> str:
    """A 535 that repeats the credentials in every way a server might: as sent on the
    wire (base64 of ``\\0user\\0password`` for PLAIN, of the password for LOGIN), and
    decoded as is, in upper case and URL-encoded."""
    wire = b"\0" + login + b"\0" + password if mechanism == "PLAIN" else password
    text = password.decode("utf-8", "replace")
    return (
        f"535 5.7.8 {mechanism} {base64.b64encode(wire).decode()} rejected: "
        f"user {login.decode()} pass {text} PASS {text.upper()} "
        f"pw {quote(text, safe='')} basic {base64.b64encode(login + b':' + password).decode()}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpServer:
    handler: Handler
    port: int
    cert: Path
    security: str

    def env(self, recipients: Path) -> dict[str, str]:
        """The variables (and SSL_CERT_FILE) that point postpipe at this server."""
        return {
            "POSTPIPE_LIST": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_SECURITY": self.security,
            "SMTP_USER": USER,
            "SMTP_PASSWORD": PASSWORD,
            "SMTP_RECIPIENTS_FILE": str(recipients),
            "SSL_CERT_FILE": str(self.cert),
        }
