"""What may go into an email header: header values and (internationalised) addresses.

The one place that decides it, used when front matter and settings are loaded
(so a bad value is an error with its line or variable, never a crash mid-send)
and when a message is built and sent.

* A header value holds no control character (C0, DEL, C1) and no Unicode line or
  paragraph separator: ``"Hi\\nBcc: x@evil.org"`` would start a new header. A tab
  is refused too (mail clients show it as a gap); a YAML folded scalar never
  produces one, so a valid subject never needs it.
* An address is ``local@domain``. Both parts may be non-ASCII (RFC 6531/6532):
  ``björn@example.org``, ``anna@exämple.se``. The domain always has an ASCII
  form (IDNA, ``xn--exmple-cua.se``); the local part has none, so a non-ASCII
  local part can only go to a server that offers SMTPUTF8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {
    "\n": "a line break",
    "\r": "a carriage return",
    "\t": "a tab",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}
# characters that never occur in an unquoted local part (quoted ones are not supported)
_LOCAL_FORBIDDEN = re.compile(r'[\s<>()\[\]\\,;:"@]')
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")


def header_problem(value: str) -> str | None:
    """Why ``value`` cannot be an email header value, or None when it can."""
    m = _CONTROL.search(value)
    if m is None:
        return None
    char = m.group()
    what = _NAMED.get(char, f"the control character U+{ord(char):04X}")
    return f"contains {what} (at character {m.start() + 1})"


@dataclass(frozen=True)
class MailAddress:
    """A validated address: ``local@domain`` as written, and the domain's ASCII form."""

    local: str
    domain: str
    ascii_domain: str

    def __str__(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def needs_smtputf8(self) -> bool:
        """True when the local part is non-ASCII: only SMTPUTF8 can carry it."""
        return not self.local.isascii()

    @property
    def ascii(self) -> str | None:
        """The all-ASCII form (IDNA domain), or None when the local part is non-ASCII."""
        return None if self.needs_smtputf8 else f"{self.local}@{self.ascii_domain}"

    @property
    def key(self) -> str:
        """One mailbox, one key: local part lower-cased, domain in lower-case ASCII."""
        return f"{self.local.lower()}@{self.ascii_domain}"

    def for_transport(self, smtputf8: bool) -> str | None:
        """The address to send to: ASCII where possible, UTF-8 only when needed and
        allowed; None when it cannot be sent without SMTPUTF8."""
        return self.ascii or (str(self) if smtputf8 else None)


def parse_address(value: str) -> MailAddress:
    """``value`` as a :class:`MailAddress`; ``ValueError`` says what is wrong with it."""
    problem = header_problem(value)
    if problem:
        raise ValueError(problem)
    local, at, domain = value.rpartition("@")
    if not at:
        raise ValueError("there is no @ in it")
    if not local or not domain:
        raise ValueError(f"there is nothing {'before' if not local else 'after'} the @")
    bad = _LOCAL_FORBIDDEN.search(local)
    if bad:
        char = "a space" if bad.group().isspace() else repr(bad.group())
        raise ValueError(
            f"the part before @ contains {char}: write the bare address, e.g. ann@example.org"
        )
    if len(local.encode("utf-8")) > 64:
        raise ValueError("the part before @ is longer than 64 bytes")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError("the part before @ starts or ends with a dot, or has two in a row")
    return MailAddress(local=local, domain=domain, ascii_domain=ascii_domain(domain))


def ascii_domain(domain: str) -> str:
    """``domain`` in lower-case ASCII (IDNA for non-ASCII labels); ``ValueError`` if invalid."""
    try:
        # the stdlib codec (IDNA 2003 with nameprep: also lower-cases)
        ascii_form = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"the domain {domain!r} is not a valid domain name") from None
    labels = ascii_form.split(".")
    if (
        len(labels) < 2
        or len(ascii_form) > 253
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not _TLD.fullmatch(labels[-1])
    ):
        raise ValueError(f"the domain {domain!r} is not a valid domain name")
    return ascii_form


def require_address(value: str, what: str) -> MailAddress:
    """``value`` as an address, or a :class:`PostpipeError` naming ``what`` it is."""
    from .errors import PostpipeError

    try:
        return parse_address(value.strip())
    except ValueError as exc:
        raise PostpipeError(
            f"{what} {value!r} is not an email address: {exc}",
            hint="give a bare address such as ann@example.org",
        ) from None
