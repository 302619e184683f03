"""DKIM signatures for the ``smtp`` target (``SMTP_DKIM_SELECTOR``, ``SMTP_DKIM_KEY_FILE``).

The domain is that of ``POSTPIPE_FROM_EMAIL`` (its ASCII form), so the signature
aligns with the From address as DMARC wants. Signed with ``dkimpy``: rsa-sha256,
relaxed/relaxed canonicalisation, over the headers a receiver and a list-unsubscribe
button rely on. The private key is read once, when the target is set up; it never
appears in an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

from .errors import ConfigError
from .headers import parse_address

if TYPE_CHECKING:
    from .config import Settings

#: signed headers; one that a message lacks is signed as absent, so it cannot be added later
SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
    b"Reply-To",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
)


class DkimSigner:
    """Signs a message's bytes for one domain with one selector's key."""

    def __init__(self, selector: str, domain: str, key: bytes) -> None:
        self.selector = selector
        self.domain = domain
        self._key = key

    def __repr__(self) -> str:  # never the key
        return f"DkimSigner(selector={self.selector!r}, domain={self.domain!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """The signer of the settings; None when DKIM is not configured."""
        selector, key_file = settings.smtp_dkim_selector, settings.smtp_dkim_key_file
        if not selector and not key_file:
            return None
        if not selector or not key_file:
            missing, given = (
                ("SMTP_DKIM_SELECTOR", "SMTP_DKIM_KEY_FILE")
                if not selector
                else ("SMTP_DKIM_KEY_FILE", "SMTP_DKIM_SELECTOR")
            )
            raise ConfigError(
                f"{given} is set but {missing} is not: DKIM needs both",
                hint="set both (the selector names the DNS record <selector>._domainkey."
                "<domain>), or neither",
            )
        path = settings.path(key_file)
        return cls(selector, parse_address(settings.from_email).ascii_domain, read_key(path))

    def sign(self, message: bytes) -> bytes:
        """``message`` with its ``DKIM-Signature`` header in front."""
        header = dkim.sign(
            message,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return bytes(header) + message


def read_key(path: Path) -> bytes:
    """The PEM private key in ``path`` (RSA); a ConfigError that never shows it."""
    variable = "SMTP_DKIM_KEY_FILE"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{variable}: no such file {path}",
            hint="make a key with: openssl genrsa -out dkim.pem 2048",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{variable}: cannot read {path}: {exc.strerror or type(exc).__name__}",
            hint="the user that runs postpipe must be able to read the key file",
        ) from None
    try:
        parse_pem_private_key(data)
    except (UnparsableKeyError, ValueError, IndexError, TypeError):
        raise ConfigError(
            f"{variable}: {path} is not a PEM RSA private key",
            path=path,
            hint="make one with: openssl genrsa -out dkim.pem 2048 (the file starts with "
            "-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)",
        ) from None
    return data
