"""The ``smtp`` list: one personalised message per recipient, straight over SMTP.

For small lists (a board, a few hundred members): recipients come from the CSV
``SMTP_RECIPIENTS_FILE`` (an ``email`` and an optional ``name`` column), each
message carries that recipient's unsubscribe URL (``POSTPIPE_UNSUBSCRIBE_URL``
with ``{email}`` filled in) and the RFC 8058 ``List-Unsubscribe`` headers, and
at most ``POSTPIPE_SMTP_RATE`` messages leave per second.

The recipient log (``RecipientLog``, kept in the ledger) is this provider's
memory, one row per recipient:

* ``sending`` is committed before DATA, ``sent`` after the server's 250. A run
  killed in between leaves ``sending``: SMTP has no way to ask the server
  whether that message was accepted, so such a recipient is reported as
  *unconfirmed* and **never resent** (at most once per recipient).
* a permanent refusal (5xx for that address) is ``failed``, reported, not retried;
  a temporary one (4xx) is ``deferred`` and retried by the next run.
* a resumed run sends only to recipients with no row (or ``deferred``).
* an address on the list's suppression list (``SuppressionList``: unsubscribed,
  bounced, taken off by hand) is never mailed, also when it is suppressed while a
  send runs (checked before each message); each send says how many it skipped.

With ``SMTP_DKIM_SELECTOR`` and ``SMTP_DKIM_KEY_FILE`` every message (test copies
too) is DKIM-signed for the domain of ``POSTPIPE_FROM_EMAIL`` (``postpipe.signing``).

``find_campaign`` calls the newsletter sent when every recipient in the CSV has
a final state (sent, failed, or unconfirmed) or is suppressed. Deleting the ledger
deletes that memory: keep it (see the README).
"""

from __future__ import annotations

import csv
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..errors import AuthError, ConfigError, ProviderError
from ..headers import MailAddress, header_problem, parse_address, require_address
from ..http import is_loopback
from ..keys import IdempotencyKey
from ..redact import Redactor
from ..signing import DkimSigner
from .base import (
    Campaign,
    CampaignResults,
    MailingList,
    OutgoingEmail,
    RecipientLog,
    SuppressionList,
    require_sender,
    require_unsubscribe,
)

if TYPE_CHECKING:
    from ..config import Settings

# per-recipient states in the recipient log
SENDING, SENT, FAILED, DEFERRED = "sending", "sent", "failed", "deferred"
#: why a recipient is refused before anything is sent (recorded in the ledger)
NO_SMTPUTF8 = "non-ASCII local part and the server does not offer SMTPUTF8"
FINAL = frozenset({SENT, FAILED, SENDING})  # SENDING here: left by a killed run, never resent
#: a recipient without a final state whose address is on the suppression list
SUPPRESSED = "suppressed"
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_SHOWN = 5  # addresses named in a summary


@dataclass(frozen=True)
class Recipient:
    email: str  # as written in the CSV
    name: str
    line: int
    address: MailAddress

    @property
    def key(self) -> str:
        """The ledger's key: one send per mailbox (``MailAddress.key``: local part in
        lower case, domain in lower-case ASCII)."""
        return self.address.key


# Column names read as the address and the name. Besides our own ``email`` and
# ``name``: a Mailchimp audience export (``Email Address``, ``First Name``,
# ``Last Name``) and the usual Swedish and English spellings.
_EMAIL_COLUMNS = ("email", "email address", "e-mail", "e-mail address", "e-post", "e-postadress")
_NAME_COLUMNS = ("name", "full name", "namn")
_FIRST_NAME_COLUMNS = ("first name", "förnamn")
_LAST_NAME_COLUMNS = ("last name", "efternamn")
# a comma, or a semicolon as Excel writes CSV where the decimal mark is a comma
# (Swedish, German, …), or a tab (a sheet pasted into a text file)
_DELIMITERS = {",": "a comma", ";": "a semicolon", "\t": "a tab"}


def _column(name: str | None) -> str:
    return " ".join((name or "").replace("\ufeff", "").split()).lower()


def _find(columns: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((columns[n] for n in names if n in columns), None)


def _header(lines: list[str], path: Path, variable: str) -> tuple[str, dict[str, str]]:
    """The delimiter and the columns (normalised name → as written) of the first line;
    a ConfigError that says what was expected and what was found."""
    first = next((line for line in lines if line.strip()), "")
    tried: list[tuple[str, list[str]]] = []
    for delimiter in _DELIMITERS:
        names = next(csv.reader([first], delimiter=delimiter), [])
        columns = {_column(c): c for c in names}
        if _find(columns, _EMAIL_COLUMNS):
            return delimiter, columns
        tried.append((delimiter, names))
    # nothing matched: show the split that found the most columns
    delimiter, names = max(tried, key=lambda t: len(t[1]))
    found = ", ".join(repr(n) for n in names[:8]) or "nothing"
    if first and parse_address_or_none(names[0].strip() if names else ""):
        hint = "the first line must name the columns: add a line 'email,name' at the top"
    else:
        hint = (
            "the first line names the columns; call the address column 'email' "
            "(a Mailchimp export's 'Email Address' works too) and the name column 'name'"
        )
    raise ConfigError(
        f"{variable}: {path} has no 'email' column: its first line, split at "
        f"{_DELIMITERS[delimiter]}, has {found}",
        path=path,
        line=1,
        hint=hint + "; columns may be separated by a comma, a semicolon or a tab",
    )


def parse_address_or_none(value: str) -> MailAddress | None:
    try:
        return parse_address(value)
    except ValueError:
        return None


def read_recipients(path: Path) -> list[Recipient]:
    """The recipients of the CSV at ``path``, duplicates dropped (the first one stays).

    The delimiter (comma, semicolon or tab) and the columns are read from the
    first line: ``email`` (or ``Email Address`` and the like) and an optional
    ``name`` (or ``First Name`` and ``Last Name``).
    """
    variable = "SMTP_RECIPIENTS_FILE"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            f"{variable}: no such file {path}",
            hint=f"set {variable} to a CSV with an 'email' column",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{variable}: cannot read {path}: {exc}",
            path=path,
            hint="save the file as CSV UTF-8 (in Excel: Save As, 'CSV UTF-8')",
        ) from None
    lines = text.splitlines(keepends=True)  # a quoted field may hold a line break
    delimiter, columns = _header(lines, path, variable)
    email_col = _find(columns, _EMAIL_COLUMNS)
    name_col = _find(columns, _NAME_COLUMNS)
    first_col, last_col = _find(columns, _FIRST_NAME_COLUMNS), _find(columns, _LAST_NAME_COLUMNS)
    reader = csv.DictReader(lines, delimiter=delimiter)
    out: list[Recipient] = []
    seen: set[str] = set()
    bad: list[str] = []
    for row in reader:
        line = reader.line_num
        address = (row.get(email_col) or "").strip()
        if name_col:
            name = (row.get(name_col) or "").strip()
        else:
            parts = (row.get(c) or "" for c in (first_col, last_col) if c)
            name = " ".join(p.strip() for p in parts if p.strip())
        if not address:
            continue
        try:
            parsed = parse_address(address)
            problem = header_problem(name)
            if problem:
                raise ValueError(f"the name {problem}")
        except ValueError as exc:
            bad.append(f"line {line}: {address!r} ({exc})")
            continue
        if parsed.key in seen:
            continue
        seen.add(parsed.key)
        out.append(Recipient(email=address, name=name, line=line, address=parsed))
    if bad:
        raise ConfigError(
            f"{variable}: {path} has invalid addresses: {', '.join(bad[:_SHOWN])}"
            + (f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""),
            path=path,
            hint="fix or remove those rows; nothing was sent",
        )
    return out


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


class Smtp(MailingList):
    """SMTP (``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_SECURITY``, ``SMTP_USER``, ``SMTP_PASSWORD``,
    ``SMTP_RECIPIENTS_FILE``, ``POSTPIPE_SMTP_RATE``)."""

    name: ClassVar[str] = "smtp"

    def __init__(
        self,
        settings: Settings,
        *,
        recipients: RecipientLog | None = None,
        suppressions: SuppressionList | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        **_: object,
    ) -> None:
        settings.require("smtp_host", "smtp_recipients_file", target=self.name)
        require_sender(settings, self.name)
        self.settings = settings
        self.log = recipients
        self.suppressions = suppressions
        #: a server's refusal may echo the credentials: every text it sends goes through this
        self.redact = Redactor.for_settings(settings)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._monotonic = monotonic
        self.server = SmtpServer(settings, self.redact, self.name)
        self.recipients_file = settings.path(settings.smtp_recipients_file or "")
        self.rate = settings.smtp_rate
        #: the DKIM signer (key read once, here), or None without SMTP_DKIM_*
        self.signer = DkimSigner.from_settings(settings)

    def _recipients_file(self, list_id: str | None) -> Path:
        """The recipients of a newsletter's list: ``SMTP_RECIPIENTS_FILE``, or the
        ``SMTP_RECIPIENTS_FILE_<LANG>`` the settings chose for its language."""
        if not list_id:
            return self.recipients_file
        if list_id in self.settings.language_lists(self.name).values():
            return self.settings.path(list_id)
        raise ProviderError(
            f"newsletter.list is {list_id!r}, but the smtp target sends to "
            "SMTP_RECIPIENTS_FILE (or SMTP_RECIPIENTS_FILE_<LANG>) only",
            target=self.name,
            hint="remove newsletter.list from the post",
        )

    # -- the protocol ----------------------------------------------------------------
    reports: ClassVar[bool] = True
    report_calls: ClassVar[int] = 0  # its results are its own log: no request

    def recipients_count(self) -> int:
        """The recipients a send reaches: the CSV's, less the suppressed ones."""
        suppressed = self._suppressed()
        return sum(r.key not in suppressed for r in read_recipients(self.recipients_file))

    def results(self, slug: str, campaign_id: str | None) -> CampaignResults:
        """From the recipient log, no network: the server accepted (``delivered``) or
        refused (``bounces``) each message; SMTP tells nothing of opens or clicks."""
        states = list(self._states(slug).values())
        return CampaignResults(
            recipients=len(states),
            delivered=states.count(SENT),
            bounces=states.count(FAILED),
        )

    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        """From the ledger: sent once every recipient has a final state."""
        states = self._states(key.slug)
        if not states:
            return None
        recipients = read_recipients(self._recipients_file(key.list_id))
        states = _with_suppressed(recipients, states, self._suppressed())
        pending = [r for r in recipients if states.get(r.key) not in FINAL | {SUPPRESSED}]
        counts = _counts(recipients, states)
        return Campaign(
            key=key.value, remote_id=None, status="partial" if pending else "sent", data=counts
        )

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        """Nothing to create: check the unsubscribe link and the recipients file."""
        require_unsubscribe(email, email.unsubscribe_url, self.name)
        count = len(read_recipients(self._recipients_file(email.list_id)))
        if existing is not None:
            return existing
        return Campaign(key=key.value, remote_id=None, status="draft", data={"recipients": count})

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        """Send to every recipient without a final state; resumable, at most once each."""
        if self.log is None:
            raise ConfigError(
                "the smtp target needs its recipient log to send",
                hint="run it through postpipe send",
            )
        slug = email.slug
        recipients = read_recipients(self._recipients_file(email.list_id))
        states = self._states(slug)
        started_before = any(s in (SENT, SENDING, FAILED) for s in states.values())
        states = _with_suppressed(recipients, states, self._suppressed())
        todo = [r for r in recipients if states.get(r.key) not in FINAL | {SUPPRESSED}]
        if todo:
            self._send_all(campaign, email, todo, started_before)
        states = _with_suppressed(recipients, self._states(slug), self._suppressed())
        counts = _counts(recipients, states)
        deferred = [r for r in recipients if states.get(r.key) == DEFERRED]
        summary = _summary(recipients, states)
        if deferred:
            raise ProviderError(
                f"{summary}; the next run retries the deferred ones",
                target=self.name,
                hint="the server refused them for now (4xx)",
                maybe_sent=counts[SENT] > 0 or started_before,
            )
        return Campaign(key=campaign.key, remote_id=summary, status="sent", data=counts)

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        """One copy to ``address`` (personalised for it); the ledger is not touched."""
        parsed = require_address(address, "the test address")
        msg = email.message(to=address, date=self.clock(), personalise_for=address)
        msg.replace_header("Subject", f"[Test] {email.subject}")
        with self.server.connect() as smtp:
            utf8 = _smtputf8(smtp)
            sender = self._envelope_sender(email, utf8, False)
            rcpt = parsed.for_transport(utf8)
            if rcpt is None:
                raise self.server.error(
                    f"cannot send to {address}: {NO_SMTPUTF8}",
                    hint="test with an address whose part before @ is ASCII",
                )
            try:
                _transmit(smtp, msg, sender, rcpt, self.signer)
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                raise self.server.error(
                    f"{address} refused: {code} {self.server.text(text)}"
                ) from None
            except (smtplib.SMTPException, OSError) as exc:
                raise self.server.error(f"test send failed: {self.server.reason(exc)}") from None

    # -- sending -----------------------------------------------------------------------
    def _send_all(
        self,
        campaign: Campaign,
        email: OutgoingEmail,
        todo: list[Recipient],
        started_before: bool,
    ) -> None:
        assert self.log is not None
        slug, interval = email.slug, 1.0 / self.rate
        sent_now = 0
        smtp: smtplib.SMTP | None = None
        try:
            first = self._monotonic()
            for i, r in enumerate(todo):
                wait = first + i * interval - self._monotonic()
                if wait > 0:
                    self._sleep(wait)
                try:
                    # nothing is in flight here: a connection the server closed (idle
                    # timeout, 421) is replaced before this recipient is marked "sending"
                    smtp = self.server.ready(smtp)
                except ProviderError as exc:
                    exc.maybe_sent = started_before or sent_now > 0
                    raise
                now = self.clock()
                utf8 = _smtputf8(smtp)
                sender = self._envelope_sender(email, utf8, started_before or sent_now > 0)
                rcpt = r.address.for_transport(utf8)
                if rcpt is None:  # this one address cannot go out: refused, the list goes on
                    reason = f"{NO_SMTPUTF8} ({r.email})"
                    self.log.record(slug, r.key, FAILED, now, reason)
                    continue
                if r.key in self._suppressed():  # suppressed while this send runs
                    continue
                msg = email.message(
                    to=(r.name, r.email), date=now, key=campaign.key, personalise_for=r.email
                )
                self.log.record(slug, r.key, SENDING, now)
                try:
                    _transmit(smtp, msg, sender, rcpt, self.signer)
                except smtplib.SMTPRecipientsRefused as exc:  # RCPT refused: nothing sent
                    code, text = next(iter(exc.recipients.values()))
                    self._refused(slug, r, code, self.server.text(text), now)
                except smtplib.SMTPDataError as exc:  # DATA refused: not accepted
                    self._refused(slug, r, exc.smtp_code, self.server.text(exc.smtp_error), now)
                except smtplib.SMTPSenderRefused as exc:  # MAIL FROM refused: nothing sent
                    reason = f"{exc.smtp_code} {self.server.text(exc.smtp_error)}"
                    self.log.record(slug, r.key, DEFERRED, now, reason)
                    raise ProviderError(
                        f"the server refused the sender {email.from_email}: {reason}",
                        target=self.name,
                        hint="check POSTPIPE_FROM_EMAIL: the SMTP account must be allowed "
                        "to send as that address",
                        maybe_sent=started_before or sent_now > 0,
                    ) from None
                except (smtplib.SMTPException, OSError) as exc:
                    # the connection broke while this message was on its way: it stays
                    # "sending" (unconfirmed, never resent); the next run goes on after it
                    reason = self.server.reason(exc)
                    raise ProviderError(
                        f"the connection broke while sending to {r.email}: {reason}; "
                        f"{r.email} is left unconfirmed and will not be resent",
                        target=self.name,
                        hint="the next run sends to the recipients not reached yet",
                        maybe_sent=True,
                    ) from None
                else:
                    sent_now += 1
                    self.log.record(slug, r.key, SENT, self.clock())
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()

    def _envelope_sender(self, email: OutgoingEmail, utf8: bool, maybe_sent: bool) -> str:
        """``POSTPIPE_FROM_EMAIL`` as the envelope sender this server can take (and a
        ``POSTPIPE_REPLY_TO`` it can carry): the whole send stops if it cannot."""
        sender = parse_address(email.from_email)  # both validated with the settings
        for variable, value in (
            ("POSTPIPE_FROM_EMAIL", email.from_email),
            ("POSTPIPE_REPLY_TO", email.reply_to),
        ):
            if parse_address(value).for_transport(utf8) is None:
                raise ProviderError(
                    f"{variable}={value} has a non-ASCII part before @ and "
                    f"{self.server.host} does not offer SMTPUTF8",
                    target=self.name,
                    hint="use an address whose part before @ is ASCII, or a server with SMTPUTF8",
                    maybe_sent=maybe_sent,
                )
        return sender.for_transport(utf8) or email.from_email

    def _refused(self, slug: str, r: Recipient, code: int, text: str, now: datetime) -> None:
        assert self.log is not None
        state = FAILED if 500 <= code < 600 else DEFERRED
        self.log.record(slug, r.key, state, now, f"{code} {text}")

    # -- helpers -----------------------------------------------------------------------
    def _states(self, slug: str) -> dict[str, str]:
        return self.log.states(slug) if self.log else {}

    def _suppressed(self) -> set[str]:
        return self.suppressions.suppressed() if self.suppressions else set()


class SmtpServer:
    """The SMTP server of the settings: its address, security and login, checked once,
    and open connections to it. Every text it answers is redacted."""

    def __init__(self, settings: Settings, redact: Redactor, name: str) -> None:
        self.name = name
        self.redact = redact
        self.host = settings.smtp_host or ""
        self.security = settings.smtp_security
        try:
            self.port = int(settings.smtp_port or DEFAULT_PORTS[self.security])
        except ValueError:
            raise ConfigError(
                f"SMTP_PORT={settings.smtp_port!r} is not valid: expected a port number",
                hint="usually 587 (starttls), 465 (ssl) or 25",
            ) from None
        self.user = settings.smtp_user
        self.password = settings.smtp_password or ""
        if self.user and not self.password:
            raise ConfigError(
                "SMTP_USER is set but SMTP_PASSWORD is not",
                hint="set SMTP_PASSWORD, or unset SMTP_USER to send without AUTH",
            )
        if self.user and self.security == "none" and not is_loopback(self.host):
            raise ConfigError(
                f"SMTP_SECURITY=none would send the SMTP password to {self.host} unencrypted",
                hint="use SMTP_SECURITY=starttls or ssl (none is only for 127.0.0.1/localhost)",
            )
        self.timeout = settings.http_timeout

    def ready(self, smtp: smtplib.SMTP | None) -> smtplib.SMTP:
        """``smtp`` if it still answers NOOP, else a new connection."""
        if smtp is not None:
            try:
                if smtp.noop()[0] == 250:
                    return smtp
            except (smtplib.SMTPException, OSError):
                pass
            smtp.close()
        return self.connect()

    def connect(self) -> smtplib.SMTP:
        """An open, authenticated connection (TLS unless SMTP_SECURITY=none)."""
        context = ssl.create_default_context()
        where = f"{self.host}:{self.port}"
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                smtp.ehlo()
                if self.security == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self.password)
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthError(
                f"{where} refused the login: {exc.smtp_code} {self.text(exc.smtp_error)}",
                target=self.name,
                hint="check SMTP_USER and SMTP_PASSWORD",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise self.error(
                f"{where} does not support {self.reason(exc)}",
                hint="check SMTP_SECURITY (starttls, ssl or none) and SMTP_PORT",
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise self.error(
                f"the certificate of {where} is not trusted: {exc.verify_message}",
                hint="SMTP_HOST must be the name in the server's certificate; for a private "
                "CA set SSL_CERT_FILE",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self.error(
                f"cannot connect to {where} ({self.security}): {self.reason(exc)}",
                hint="check SMTP_HOST, SMTP_PORT and SMTP_SECURITY",
            ) from None
        return smtp

    def error(self, message: str, hint: str | None = None) -> ProviderError:
        return ProviderError(
            self.redact(message), target=self.name, hint=self.redact(hint) if hint else hint
        )

    def text(self, value: bytes | str) -> str:
        """A server's reply text on one line, without secrets (a server may echo them)."""
        return self.redact(_one_line(value))

    def reason(self, exc: BaseException) -> str:
        """An exception on one line, without secrets."""
        return self.redact(_one_line(str(exc)) or type(exc).__name__)


def _with_suppressed(
    recipients: list[Recipient], states: dict[str, str], suppressed: set[str]
) -> dict[str, str]:
    """``states`` with :data:`SUPPRESSED` for each suppressed recipient not in a final
    state (one that was sent to, refused or left unconfirmed keeps that state)."""
    out = dict(states)
    for r in recipients:
        if r.key in suppressed and out.get(r.key) not in FINAL:
            out[r.key] = SUPPRESSED
    return out


def _counts(recipients: list[Recipient], states: dict[str, str]) -> dict[str, int]:
    counts = {SENT: 0, FAILED: 0, SENDING: 0, DEFERRED: 0, SUPPRESSED: 0, "pending": 0}
    for r in recipients:
        state = states.get(r.key, "pending")
        counts[state] = counts.get(state, 0) + 1
    return counts


def _summary(recipients: list[Recipient], states: dict[str, str]) -> str:
    """``12 sent, 1 refused (a@x: 550 …), 1 unconfirmed (b@y)``."""
    by_state: dict[str, list[str]] = {}
    for r in recipients:
        by_state.setdefault(states.get(r.key, "pending"), []).append(r.email)
    parts = [f"{len(by_state.get(SENT, []))} of {len(recipients)} sent"]
    if by_state.get(FAILED):
        parts.append(f"{len(by_state[FAILED])} refused ({_listing(by_state[FAILED])})")
    if by_state.get(SENDING):
        parts.append(
            f"{len(by_state[SENDING])} unconfirmed, not resent ({_listing(by_state[SENDING])})"
        )
    if by_state.get(DEFERRED):
        parts.append(f"{len(by_state[DEFERRED])} deferred ({_listing(by_state[DEFERRED])})")
    if by_state.get(SUPPRESSED):
        parts.append(f"{len(by_state[SUPPRESSED])} suppressed, skipped")
    return ", ".join(parts)


def _smtputf8(smtp: smtplib.SMTP) -> bool:
    """Whether the server takes UTF-8 addresses and headers (RFC 6531)."""
    return bool(smtp.has_extn("smtputf8"))


def _transmit(
    smtp: smtplib.SMTP,
    msg: EmailMessage,
    sender: str,
    rcpt: str,
    signer: DkimSigner | None = None,
) -> None:
    """Send ``msg`` as built (DKIM-signed by ``signer``): an RFC 6532 message (UTF-8
    headers, ``msg.policy.utf8``) with SMTPUTF8, any other as 7-bit ASCII. ``sender``
    and ``rcpt`` are envelope addresses from ``MailAddress.for_transport`` (non-ASCII
    only with SMTPUTF8)."""
    utf8 = (isinstance(msg.policy, EmailPolicy) and msg.policy.utf8) or not (
        sender + rcpt
    ).isascii()
    options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else []
    data = msg.as_bytes()
    smtp.sendmail(sender, [rcpt], signer.sign(data) if signer else data, mail_options=options)


def _one_line(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())
