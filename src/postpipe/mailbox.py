"""Reading the smtp target's mailbox over IMAP: unsubscribe requests and bounces.

``postpipe send --due`` (before it sends) and ``postpipe unsubscribe --fetch`` read
every message in ``IMAP_FOLDER`` that postpipe has not handled yet and classify it:

* a delivery status notification (RFC 3464 ``multipart/report;
  report-type=delivery-status``): per recipient, its ``Action`` and ``Status``
  fields; a permanent failure (``5.x.x``) suppresses the address at once
  (``bounced-hard``), a temporary one (``4.x.x``, failed or delayed) counts as a
  soft bounce (three newsletters in a row suppress it). Bounces in other formats
  are read with ``flufl.bounce`` (permanent vs temporary likewise).
* a complaint (RFC 5965 ``report-type=feedback-report``): ``complained``.
* an unsubscribe request: the subject ``unsubscribe`` that the default
  ``mailto:`` link sets (also as a reply), or a reply whose own text (quoted lines
  left out) says "unsubscribe" or "avsluta": its sender is ``unsubscribed``.

A handled message gets the IMAP keyword ``$PostpipeHandled`` and ``\\Seen`` (so it
is read once, and a person sees it as dealt with); where the server keeps no
keywords, ``\\Flagged`` and ``\\Seen`` instead. Nothing is ever deleted, moved or
expunged. A message that fits none of these is left untouched (read with
``BODY.PEEK``, so it stays unread) for a person, and counted.

Connections use TLS (``IMAP_SECURITY=ssl``, the default, or ``starttls``; ``none``
only on a loopback host) with the settings' timeout; every error text is redacted.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING

from flufl.bounce import all_failures

from .errors import AuthError, ConfigError, ProviderError
from .headers import parse_address
from .keys import slug_of
from .redact import Redactor
from .suppression import BOUNCED_HARD, COMPLAINED, UNSUBSCRIBED, Suppressions, list_key

if TYPE_CHECKING:
    from .config import Settings

NAME = "imap"
HANDLED = "$PostpipeHandled"
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
_WORDS = re.compile(r"\b(unsubscribe|avsluta)\b", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*((re|sv|aw|vs|antw|fw|fwd)\s*:\s*)+", re.IGNORECASE)
# where a reply's own text ends and the quoted newsletter begins
_QUOTE_INTRO = re.compile(
    r"^\s*(-{2,}\s*original message|_{5,}|(on|den|am|le|el|op)\b.*\b(wrote|skrev|schrieb|"
    r"a écrit|escribió|schreef)\s*:?\s*$|from:\s)",
    re.IGNORECASE,
)


@dataclass
class Outcome:
    """What one read of the mailbox did."""

    unsubscribed: list[str] = field(default_factory=list)
    bounced_hard: list[str] = field(default_factory=list)
    soft_counted: list[str] = field(default_factory=list)
    bounced_soft: list[str] = field(default_factory=list)  # suppressed by soft bounces
    complained: list[str] = field(default_factory=list)
    handled: int = 0
    left: int = 0  # messages left for a person

    @property
    def suppressed(self) -> int:
        return len(self.unsubscribed + self.bounced_hard + self.bounced_soft + self.complained)

    def summary(self) -> str:
        """``mailbox: 2 messages handled: 1 unsubscribed (a@x), 1 bounced hard (b@y); 1
        message not understood, left unread for a person``."""
        parts = []
        for label, items in (
            ("unsubscribed", self.unsubscribed),
            ("bounced hard", self.bounced_hard),
            ("bounced softly on 3 newsletters in a row", self.bounced_soft),
            ("complained", self.complained),
        ):
            if items:
                parts.append(f"{len(items)} {label} ({', '.join(items[:5])})")
        soft = len(self.soft_counted) - len(self.bounced_soft)
        if soft > 0:
            parts.append(f"{soft} soft bounce{'s' if soft != 1 else ''} read")
        text = f"mailbox: {self.handled} message{'s' if self.handled != 1 else ''} handled"
        if parts:
            text += f": {', '.join(parts)}"
        if self.left:
            text += (
                f"; {self.left} message{'s' if self.left != 1 else ''} not understood, "
                "left unread for a person"
            )
        return text


# -- classification ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bounce:
    address: str
    permanent: bool
    status: str  # e.g. 5.1.1, or "" when not known


@dataclass(frozen=True)
class Classified:
    """``kind`` is ``bounce``, ``complaint``, ``unsubscribe`` or ``unknown``."""

    kind: str
    bounces: tuple[Bounce, ...] = ()
    address: str | None = None  # the complainer or the unsubscriber
    slug: str | None = None  # the newsletter a bounce or complaint is about


def classify(msg: Message) -> Classified:
    """What ``msg`` is (see the module docstring)."""
    report_type = ""
    if msg.get_content_type() == "multipart/report":
        report_type = str(msg.get_param("report-type") or "").lower()
    if report_type == "delivery-status":
        bounces = _dsn_bounces(msg) or _flufl_bounces(msg)
        return Classified("bounce", bounces, slug=_original_slug(msg)) if bounces else _UNKNOWN
    if report_type == "feedback-report":
        who = _complainer(msg)
        return Classified("complaint", address=who, slug=_original_slug(msg)) if who else _UNKNOWN
    if _is_automatic(msg):
        bounces = _flufl_bounces(msg)  # a bounce in an older, non-standard format
        return Classified("bounce", bounces, slug=_original_slug(msg)) if bounces else _UNKNOWN
    who = _sender(msg)
    if who and _asks_to_unsubscribe(msg):
        return Classified("unsubscribe", address=who)
    return _UNKNOWN


_UNKNOWN = Classified("unknown")


def _dsn_bounces(msg: Message) -> tuple[Bounce, ...]:
    """The failed and delayed recipients of an RFC 3464 report, from its own fields."""
    out: list[Bounce] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        # the email package parses the per-message and per-recipient field groups
        # into a list of Message objects (the first is the per-message group)
        groups = [g for g in payload if isinstance(g, Message)] if isinstance(payload, list) else []
        for group in groups[1:] if len(groups) > 1 else groups:
            action = str(group.get("Action", "")).strip().lower()
            status = str(group.get("Status", "")).strip().split(" ")[0]
            recipient = str(group.get("Final-Recipient") or group.get("Original-Recipient") or "")
            address = recipient.partition(";")[2].strip() or recipient.strip()
            address = address.strip("<>")
            if not address or action not in ("failed", "delayed"):
                continue
            permanent = action == "failed" and status.startswith("5")
            out.append(Bounce(address, permanent, status))
    return tuple(out)


def _flufl_bounces(msg: Message) -> tuple[Bounce, ...]:
    temporary, permanent = all_failures(msg)
    out = [Bounce(a.decode("utf-8", "replace"), True, "") for a in sorted(permanent)]
    out += [Bounce(a.decode("utf-8", "replace"), False, "") for a in sorted(temporary - permanent)]
    return tuple(b for b in out if "@" in b.address)


def _original_slug(msg: Message) -> str | None:
    """The slug in the ``X-Postpipe-Key`` of the original message a report quotes."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            headers = message_from_bytes(bytes(text), policy=policy.compat32)
        elif ctype == "message/rfc822":
            inner = part.get_payload()
            found = inner[0] if isinstance(inner, list) and inner else None
            if not isinstance(found, Message):
                continue
            headers = found
        else:
            continue
        key = headers.get("X-Postpipe-Key")
        if key:
            return slug_of(str(key).strip())
    return None


def _complainer(msg: Message) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            groups = payload if isinstance(payload, list) else []
            for group in groups:
                if not isinstance(group, Message):
                    continue
                value = group.get("Original-Rcpt-To")
                if value:
                    return str(value).strip().strip("<>")
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(headers, Message) and headers.get("To"):
                found = getaddresses([str(headers["To"])])
                if found and found[0][1]:
                    return found[0][1]
    return None


def _is_automatic(msg: Message) -> bool:
    """An auto-reply or a bounce: never read as a person's unsubscribe request."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    return (
        auto != "no"
        or sender.startswith(("mailer-daemon@", "postmaster@"))
        or msg.get("X-Autoreply") is not None
        or str(msg.get("Precedence", "")).lower() in ("bulk", "junk", "auto_reply")
    )


def _sender(msg: Message) -> str | None:
    address = parseaddr(str(msg.get("From", "")))[1]
    try:
        return str(parse_address(address)) if address else None
    except ValueError:
        return None


def _asks_to_unsubscribe(msg: Message) -> bool:
    """The ``mailto:`` link's subject (as sent, or replied to), or a reply (``Re:`` or
    ``In-Reply-To``) whose own text asks for it."""
    subject = " ".join(str(msg.get("Subject", "")).split())
    bare = _REPLY_PREFIX.sub("", subject).strip().lower()
    if bare in ("unsubscribe", "avsluta") or bare.startswith(("unsubscribe ", "avsluta ")):
        return True
    is_reply = subject.lower() != bare or msg.get("In-Reply-To") is not None
    return is_reply and bool(_WORDS.search(bare + "\n" + _own_text(msg)))


def _own_text(msg: Message) -> str:
    """The plain text a person wrote: quoted lines and the quoted newsletter left out."""
    part = msg.get_body(("plain",)) if hasattr(msg, "get_body") else None
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        return ""
    own: list[str] = []
    for line in str(text).splitlines():
        if _QUOTE_INTRO.match(line):
            break
        if not line.lstrip().startswith(">"):
            own.append(line)
    return "\n".join(own)


# -- IMAP ---------------------------------------------------------------------------------


def configured(settings: Settings) -> bool:
    """Whether a mailbox is set up (``IMAP_HOST``)."""
    return bool(settings.imap_host)


class Mailbox:
    """The IMAP mailbox of the settings; every text it answers is redacted."""

    def __init__(self, settings: Settings, redact: Redactor | None = None) -> None:
        settings.require("imap_host", "imap_user", "imap_password", target="mailbox")
        self.redact = redact or Redactor.for_settings(settings)
        self.host = settings.imap_host or ""
        self.security = settings.imap_security
        self.port = settings.imap_port or DEFAULT_PORTS[self.security]
        from .http import is_loopback  # (the HTTP client itself is not needed here)

        if self.security == "none" and not is_loopback(self.host):
            raise ConfigError(
                f"IMAP_SECURITY=none would send the IMAP password to {self.host} unencrypted",
                hint="use IMAP_SECURITY=ssl or starttls (none is only for 127.0.0.1/localhost)",
            )
        self.user = settings.imap_user or ""
        self.password = settings.imap_password or ""
        self.folder = settings.imap_folder or "INBOX"
        self.timeout = settings.http_timeout

    def error(self, message: str, hint: str | None = None, auth: bool = False) -> ProviderError:
        cls = AuthError if auth else ProviderError
        return cls(self.redact(message), target=NAME, hint=self.redact(hint) if hint else hint)

    def _reason(self, exc: BaseException) -> str:
        return self.redact(" ".join(str(exc).split()) or type(exc).__name__)

    def connect(self) -> imaplib.IMAP4:
        """A logged-in connection with ``IMAP_FOLDER`` selected (read-write)."""
        context = ssl.create_default_context()
        where = f"{self.host}:{self.port}"
        try:
            if self.security == "ssl":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=context, timeout=self.timeout
                )
            else:
                imap = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        except ssl.SSLCertVerificationError as exc:
            raise self.error(
                f"the certificate of {where} is not trusted: {exc.verify_message}",
                hint="IMAP_HOST must be the name in the server's certificate; for a private "
                "CA set SSL_CERT_FILE",
            ) from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self.error(
                f"cannot connect to {where} ({self.security}): {self._reason(exc)}",
                hint="check IMAP_HOST, IMAP_PORT and IMAP_SECURITY",
            ) from None
        try:
            if self.security == "starttls":
                try:
                    imap.starttls(ssl_context=context)
                except ssl.SSLCertVerificationError as exc:
                    raise self.error(
                        f"the certificate of {where} is not trusted: {exc.verify_message}",
                        hint="IMAP_HOST must be the name in the server's certificate; for a "
                        "private CA set SSL_CERT_FILE",
                    ) from None
            try:
                imap.login(self.user, self.password)
            except imaplib.IMAP4.error as exc:
                raise self.error(
                    f"{where} refused the login: {self._reason(exc)}",
                    hint="check IMAP_USER and IMAP_PASSWORD",
                    auth=True,
                ) from None
            status, data = imap.select(_quote(self.folder))
            if status != "OK":
                raise self.error(
                    f"cannot open the folder {self.folder!r}: {self._reason(_text(data))}",
                    hint="check IMAP_FOLDER (default INBOX)",
                )
        except ProviderError:
            _close(imap)
            raise
        except (OSError, imaplib.IMAP4.error) as exc:
            _close(imap)
            raise self.error(
                f"{where}: {self._reason(exc)}", hint="check IMAP_HOST, IMAP_PORT, IMAP_SECURITY"
            ) from None
        return imap

    def read(self, store: Suppressions, lst: str, now: datetime) -> Outcome:
        """Classify every message not handled yet; suppress, count and flag (see module)."""
        outcome = Outcome()
        imap = self.connect()
        try:
            keywords = _keeps_keywords(imap)
            unhandled = f"UNKEYWORD {HANDLED}" if keywords else "UNFLAGGED"
            status, data = imap.uid("SEARCH", unhandled)
            if status != "OK":
                raise self.error(f"the search failed: {self._reason(_text(data))}")
            for uid in (data[0] or b"").decode("ascii").split():
                status, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
                if status != "OK" or raw is None:
                    continue
                try:
                    found = classify(message_from_bytes(raw, policy=policy.default))
                except Exception:  # noqa: BLE001 - a malformed message is one for a person
                    found = _UNKNOWN
                if found.kind == "unknown":
                    outcome.left += 1
                    continue
                self._apply(found, store, lst, now, outcome)
                flags = f"({HANDLED} \\Seen)" if keywords else "(\\Flagged \\Seen)"
                imap.uid("STORE", uid, "+FLAGS.SILENT", flags)
                outcome.handled += 1
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self.error(f"reading {self.folder!r} failed: {self._reason(exc)}") from None
        finally:
            _close(imap)
        return outcome

    @staticmethod
    def _apply(
        found: Classified, store: Suppressions, lst: str, now: datetime, outcome: Outcome
    ) -> None:
        if found.kind in ("unsubscribe", "complaint") and found.address:
            unsubscribed = found.kind == "unsubscribe"
            reason, detail = (
                (UNSUBSCRIBED, "asked by email") if unsubscribed else (COMPLAINED, "a complaint")
            )
            if store.suppress(lst, found.address, reason, now, detail):
                (outcome.unsubscribed if unsubscribed else outcome.complained).append(found.address)
        for b in found.bounces:
            detail = f"bounce {b.status}".strip()
            if b.permanent:
                if store.suppress(lst, b.address, BOUNCED_HARD, now, detail):
                    outcome.bounced_hard.append(b.address)
            else:
                outcome.soft_counted.append(b.address)
                if store.soft_bounce(lst, b.address, found.slug, now, detail=detail):
                    outcome.bounced_soft.append(b.address)


def read_mailbox(settings: Settings, store: Suppressions, now: datetime) -> Outcome:
    """Read the configured mailbox into the smtp list's suppression list."""
    return Mailbox(settings).read(store, list_key(settings), now)


def _keeps_keywords(imap: imaplib.IMAP4) -> bool:
    """Whether the selected folder keeps keywords of our own (``\\*`` in PERMANENTFLAGS)."""
    flags = imap.untagged_responses.get("PERMANENTFLAGS") or []
    return any(b"\\*" in (f if isinstance(f, bytes) else b"") for f in flags)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: object) -> Exception:
    items = data if isinstance(data, list) else [data]
    return Exception(
        " ".join(i.decode("utf-8", "replace") if isinstance(i, bytes) else str(i) for i in items)
    )


def _close(imap: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        imap.logout()
