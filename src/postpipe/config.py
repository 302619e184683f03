"""Settings: every environment variable postpipe reads, in one table.

Values come from the real environment first, then from ``.env`` in the site
root (python-dotenv). Everything is validated once, and every problem is
reported together. The same table generates ``.env.example`` and the README
configuration table (a test keeps them in sync).
"""

from __future__ import annotations

import builtins
import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from .errors import ConfigError, ErrorGroup
from .headers import header_problem, parse_address


def _str(value: str) -> str:
    return value


_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def _url(value: str) -> str:
    expected = "an absolute http(s) URL, e.g. https://news.example.org"
    if not re.match(r"^https?://[^/\s]+", value) or _CONTROL_OR_SPACE.search(value):
        raise ValueError(expected)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise ValueError(expected) from None
    if not parts.hostname:
        raise ValueError(expected)
    return value.rstrip("/")


def _unsubscribe_url(value: str) -> str:
    """An https://, http:// or mailto: template; ``{email}`` is filled per recipient."""
    expected = (
        "an unsubscribe URL such as https://example.org/unsubscribe?email={email} "
        "or mailto:news@example.org?subject=unsubscribe, with no spaces"
    )
    if _CONTROL_OR_SPACE.search(value):
        raise ValueError(expected)
    if value.lower().startswith("mailto:"):
        if "@" not in value:
            raise ValueError(expected)
        return value
    try:
        _url(value.replace("{email}", "x"))
    except ValueError:
        raise ValueError(expected) from None
    return value


def _dkim_selector(value: str) -> str:
    """A DNS name (one or more labels): ``mail``, ``pp2026``, ``s1.news``."""
    label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    if not re.fullmatch(rf"{label}(?:\.{label})*", value):
        raise ValueError("a DNS label such as 'mail' or 'pp2026' (letters, digits, -)")
    return value


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError("a port number (1 to 65535)")
    return int(value)


def _imap_folder(value: str) -> str:
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ValueError("a folder name such as INBOX or INBOX/Bounces, with no control characters")
    return value


def _lang(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2}(-[A-Za-z]{2})?", value):
        raise ValueError("a language code such as 'en' or 'sv'")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder
        raise ValueError("an IANA time zone name such as 'UTC' or 'Europe/Stockholm'") from None
    return value


MAX_DURATION = timedelta(days=366)


def parse_duration(value: str) -> timedelta:
    """``90s``, ``15m``, ``24h``, ``2d`` (or a plain number of seconds), at most a year."""
    expected = "a duration such as 30m, 24h or 2d (at most 366d)"
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if not m:
        raise ValueError(expected)
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    seconds = float(m.group(1)) * unit
    if not seconds <= MAX_DURATION.total_seconds():  # also inf, which timedelta cannot hold
        raise ValueError(expected)
    return timedelta(seconds=seconds)


def _positive_float(value: str) -> float:
    """A number of seconds or a rate: finite, from 0.000001 to 1000000 (``nan``,
    ``inf`` and ``1e999`` would break a timeout or a sleep)."""
    expected = "a positive number (from 0.000001 to 1000000)"
    try:
        number = float(value)
    except ValueError:
        raise ValueError(expected) from None
    if not (math.isfinite(number) and 1e-6 <= number <= 1e6):
        raise ValueError(expected)
    return number


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            close = difflib.get_close_matches(value, choices, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"one of: {', '.join(choices)}{hint}")
        return value

    return parse


def _target(*choices: str) -> Callable[[str], str]:
    """A built-in target name, or ``package.module:Class`` for a target of your own."""
    builtin = _choice(*choices)

    def parse(value: str) -> str:
        if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", value):
            return value
        try:
            return builtin(value)
        except ValueError as exc:
            raise ValueError(f"{exc} (or package.module:Class)") from None

    return parse


def _email(value: str) -> str:
    """An address (internationalised ones too: björn@exämple.se); no display name."""
    try:
        parse_address(value.strip())
    except ValueError as exc:
        raise ValueError(f"an email address such as news@example.org ({exc})") from None
    return value.strip()


def _header_text(value: str) -> str:
    """Text for an email header (a sender name): one line, no control characters."""
    problem = header_problem(value)
    if problem:
        raise ValueError(f"text on one line for an email header, but it {problem}")
    return value


CMS_TARGETS = ("folder", "wordpress", "ghost")
LIST_TARGETS = ("outbox", "mailchimp", "listmonk", "buttondown", "brevo", "smtp")


@dataclass(frozen=True)
class Field:
    """One environment variable: its parser, default and documentation."""

    env: str
    attr: str
    default: str | None
    doc: str
    parse: Callable[[str], Any] = _str
    secret: bool = False
    group: str = "general"
    #: a family of variables, one per language (``MAILCHIMP_LIST_ID_<LANG>``): read
    #: together into ``Settings.lang_lists``, documented here once
    per_language: bool = False


FIELDS: tuple[Field, ...] = (
    Field(
        "POSTPIPE_SITE_URL",
        "site_url",
        "http://localhost:8000",
        "Base URL of the published site; used for absolute links in email, feed, sitemap.",
        _url,
    ),
    Field(
        "POSTPIPE_SITE_TITLE",
        "site_title",
        "postpipe",
        "Site title, shown in the blog header and the newsletter.",
        _header_text,  # the default sender name
    ),
    Field("POSTPIPE_AUTHOR", "author", "", "Default author of posts."),
    Field("POSTPIPE_LANG", "lang", "en", "Default language of posts (en, sv).", _lang),
    Field(
        "POSTPIPE_TIMEZONE",
        "timezone",
        "UTC",
        "Time zone for dates written without an offset.",
        _timezone,
    ),
    Field(
        "POSTPIPE_FROM_NAME",
        "from_name",
        None,
        "Newsletter sender name (default: the site title).",
        _header_text,
    ),
    Field(
        "POSTPIPE_FROM_EMAIL",
        "from_email",
        "newsletter@example.invalid",
        "Newsletter sender address; a real list target needs a real one.",
        _email,
    ),
    Field(
        "POSTPIPE_REPLY_TO",
        "reply_to",
        None,
        "Reply-To address (default: the from address).",
        _email,
    ),
    Field(
        "POSTPIPE_UNSUBSCRIBE_URL",
        "unsubscribe_url",
        None,
        "For outbox and smtp: unsubscribe URL template with {email} "
        "(default: mailto:<from email>?subject=unsubscribe).",
        _unsubscribe_url,
    ),
    Field(
        "POSTPIPE_MAX_LATENESS",
        "max_lateness",
        "24h",
        "send --due marks a newsletter 'missed' instead of sending it later than this.",
        parse_duration,
    ),
    Field(
        "POSTPIPE_INLINER",
        "inliner",
        "premailer",
        "CSS inliner engine: premailer, or css-inline (pip install postpipe[fast]).",
        _choice("premailer", "css-inline"),
    ),
    Field(
        "POSTPIPE_UTM",
        "utm",
        "utm_source=newsletter&utm_medium=email&utm_campaign={slug}",
        "Query parameters appended to every link to the own site in emails (HTML and text "
        "part, pages and files); empty disables.",
    ),
    Field(
        "POSTPIPE_CMS",
        "cms",
        "folder",
        "CMS target: folder, wordpress, ghost.",
        _target(*CMS_TARGETS),
        group="targets",
    ),
    Field(
        "POSTPIPE_PUBLISH_DIR",
        "publish_dir",
        "public",
        "folder target: where the deployable static site is written.",
        group="targets",
    ),
    Field(
        "POSTPIPE_LIST",
        "list",
        "outbox",
        "Mailing-list target: outbox, mailchimp, listmonk, buttondown, brevo, smtp.",
        _target(*LIST_TARGETS),
        group="targets",
    ),
    Field(
        "POSTPIPE_OUTBOX_DIR",
        "outbox_dir",
        "outbox",
        "outbox target: where .eml files are written.",
        group="targets",
    ),
    Field(
        "POSTPIPE_OUTBOX_DIR_<LANG>",
        "lang_lists",
        None,
        "Per language (e.g. POSTPIPE_OUTBOX_DIR_SV): where the .eml files of newsletters in "
        "that language are written; without it, POSTPIPE_OUTBOX_DIR.",
        per_language=True,
        group="targets",
    ),
    Field(
        "POSTPIPE_HTTP_TIMEOUT",
        "http_timeout",
        "30",
        "Read timeout in seconds for every HTTP call (connect timeout is 5 s).",
        _positive_float,
        group="targets",
    ),
    Field(
        "WORDPRESS_URL",
        "wordpress_url",
        None,
        "WordPress site URL (https://…; the REST API is found below it).",
        _url,
        group="wordpress",
    ),
    Field("WORDPRESS_USER", "wordpress_user", None, "WordPress user name.", group="wordpress"),
    Field(
        "WORDPRESS_APP_PASSWORD",
        "wordpress_app_password",
        None,
        "WordPress Application Password.",
        secret=True,
        group="wordpress",
    ),
    Field(
        "GHOST_URL",
        "ghost_url",
        None,
        "Ghost site URL (its admin URL when that is on another domain).",
        _url,
        group="ghost",
    ),
    Field(
        "GHOST_ADMIN_API_KEY",
        "ghost_admin_api_key",
        None,
        "Ghost Admin API key (id:secret).",
        secret=True,
        group="ghost",
    ),
    Field(
        "MAILCHIMP_API_KEY",
        "mailchimp_api_key",
        None,
        "Mailchimp API key (ends in the data centre, e.g. -us21).",
        secret=True,
        group="mailchimp",
    ),
    Field(
        "MAILCHIMP_LIST_ID",
        "mailchimp_list_id",
        None,
        "Mailchimp audience (list) id.",
        group="mailchimp",
    ),
    Field(
        "MAILCHIMP_LIST_ID_<LANG>",
        "lang_lists",
        None,
        "Per language (e.g. MAILCHIMP_LIST_ID_SV): the audience of newsletters in that "
        "language; without it, MAILCHIMP_LIST_ID. A post's newsletter.list wins.",
        per_language=True,
        group="mailchimp",
    ),
    Field(
        "MAILCHIMP_BASE_URL",
        "mailchimp_base_url",
        None,
        "Mailchimp API base (default: from the key's data-centre suffix).",
        _url,
        group="mailchimp",
    ),
    Field("LISTMONK_URL", "listmonk_url", None, "listmonk URL.", _url, group="listmonk"),
    Field("LISTMONK_USER", "listmonk_user", None, "listmonk API user.", group="listmonk"),
    Field(
        "LISTMONK_TOKEN",
        "listmonk_token",
        None,
        "listmonk API token.",
        secret=True,
        group="listmonk",
    ),
    Field(
        "LISTMONK_LIST_IDS",
        "listmonk_list_ids",
        None,
        "Comma-separated listmonk list ids.",
        group="listmonk",
    ),
    Field(
        "LISTMONK_TRACK_LINKS",
        "listmonk_track_links",
        "on",
        "on: newsletter links are written url@TrackLink so listmonk counts each link's "
        "clicks (postpipe report); off: plain links.",
        _choice("on", "off"),
        group="listmonk",
    ),
    Field(
        "LISTMONK_LIST_IDS_<LANG>",
        "lang_lists",
        None,
        "Per language (e.g. LISTMONK_LIST_IDS_SV): the lists of newsletters in that "
        "language; without it, LISTMONK_LIST_IDS. A post's newsletter.list wins.",
        per_language=True,
        group="listmonk",
    ),
    Field(
        "BUTTONDOWN_API_KEY",
        "buttondown_api_key",
        None,
        "Buttondown API key.",
        secret=True,
        group="buttondown",
    ),
    Field(
        "BUTTONDOWN_TAG",
        "buttondown_tag",
        None,
        "Buttondown subscriber tag (its name or id) a newsletter goes to (default: every "
        "subscriber).",
        group="buttondown",
    ),
    Field(
        "BUTTONDOWN_TAG_<LANG>",
        "lang_lists",
        None,
        "Per language (e.g. BUTTONDOWN_TAG_SV): the subscriber tag of newsletters in that "
        "language; without it, BUTTONDOWN_TAG.",
        per_language=True,
        group="buttondown",
    ),
    Field(
        "BUTTONDOWN_BASE_URL",
        "buttondown_base_url",
        "https://api.buttondown.com",
        "Buttondown API base URL.",
        _url,
        group="buttondown",
    ),
    Field("BREVO_API_KEY", "brevo_api_key", None, "Brevo API key.", secret=True, group="brevo"),
    Field(
        "BREVO_LIST_IDS", "brevo_list_ids", None, "Comma-separated Brevo list ids.", group="brevo"
    ),
    Field(
        "BREVO_LIST_IDS_<LANG>",
        "lang_lists",
        None,
        "Per language (e.g. BREVO_LIST_IDS_SV): the lists of newsletters in that "
        "language; without it, BREVO_LIST_IDS. A post's newsletter.list wins.",
        per_language=True,
        group="brevo",
    ),
    Field(
        "BREVO_BASE_URL",
        "brevo_base_url",
        "https://api.brevo.com/v3",
        "Brevo API base URL.",
        _url,
        group="brevo",
    ),
    Field("SMTP_HOST", "smtp_host", None, "SMTP server host.", group="smtp"),
    Field(
        "SMTP_PORT",
        "smtp_port",
        None,
        "SMTP port (default 587, 465 for ssl, 25 for none).",
        group="smtp",
    ),
    Field("SMTP_USER", "smtp_user", None, "SMTP user name.", group="smtp"),
    Field("SMTP_PASSWORD", "smtp_password", None, "SMTP password.", secret=True, group="smtp"),
    Field(
        "SMTP_SECURITY",
        "smtp_security",
        "starttls",
        "starttls, ssl or none.",
        _choice("starttls", "ssl", "none"),
        group="smtp",
    ),
    Field(
        "SMTP_RECIPIENTS_FILE",
        "smtp_recipients_file",
        None,
        "CSV of recipients with an 'email' and an optional 'name' column.",
        group="smtp",
    ),
    Field(
        "SMTP_RECIPIENTS_FILE_<LANG>",
        "lang_lists",
        None,
        "Per language (e.g. SMTP_RECIPIENTS_FILE_SV): the recipients of newsletters in "
        "that language; without it, SMTP_RECIPIENTS_FILE.",
        per_language=True,
        group="smtp",
    ),
    Field(
        "POSTPIPE_SMTP_RATE",
        "smtp_rate",
        "5",
        "SMTP messages per second at most.",
        _positive_float,
        group="smtp",
    ),
    Field(
        "SMTP_DKIM_SELECTOR",
        "smtp_dkim_selector",
        None,
        "DKIM selector: smtp messages are signed for the domain of POSTPIPE_FROM_EMAIL "
        "with the key published at <selector>._domainkey.<domain>.",
        _dkim_selector,
        group="smtp",
    ),
    Field(
        "SMTP_DKIM_KEY_FILE",
        "smtp_dkim_key_file",
        None,
        "PEM file with the DKIM private key (RSA) of SMTP_DKIM_SELECTOR.",
        group="smtp",
    ),
    Field(
        "IMAP_HOST",
        "imap_host",
        None,
        "IMAP server of the mailbox that gets the smtp target's unsubscribe requests and "
        "bounces (read by send --due and unsubscribe --fetch; nothing is deleted).",
        group="smtp",
    ),
    Field(
        "IMAP_PORT",
        "imap_port",
        None,
        "IMAP port (default 993 for ssl, 143 for starttls and none).",
        _port,
        group="smtp",
    ),
    Field("IMAP_USER", "imap_user", None, "IMAP user name.", group="smtp"),
    Field("IMAP_PASSWORD", "imap_password", None, "IMAP password.", secret=True, group="smtp"),
    Field(
        "IMAP_FOLDER",
        "imap_folder",
        "INBOX",
        "IMAP folder where unsubscribe requests and bounces arrive.",
        _imap_folder,
        group="smtp",
    ),
    Field(
        "IMAP_SECURITY",
        "imap_security",
        "ssl",
        "ssl, starttls or none (none only for a server on 127.0.0.1/localhost).",
        _choice("ssl", "starttls", "none"),
        group="smtp",
    ),
)

_BY_ENV = {f.env: f for f in FIELDS if not f.per_language}
#: a variable with ``_<LANG>`` appended is the list of that language (DESIGN §3);
#: the settings table documents it as ``<VARIABLE>_<LANG>`` (``Field.per_language``)
LIST_VARIABLES = {
    "outbox": "POSTPIPE_OUTBOX_DIR",
    "mailchimp": "MAILCHIMP_LIST_ID",
    "listmonk": "LISTMONK_LIST_IDS",
    "buttondown": "BUTTONDOWN_TAG",
    "brevo": "BREVO_LIST_IDS",
    "smtp": "SMTP_RECIPIENTS_FILE",
}
_NUMERIC_LISTS = ("LISTMONK_LIST_IDS", "BREVO_LIST_IDS")
_PER_LANG = re.compile(
    rf"(?P<var>{'|'.join(LIST_VARIABLES.values())})_(?P<lang>[A-Z]{{2,3}}(?:_[A-Z0-9]{{2,4}})?)"
)


@dataclass(frozen=True)
class Settings:
    """Validated settings of one site. Build with :func:`load_settings`."""

    root: Path
    site_url: str = "http://localhost:8000"
    site_title: str = "postpipe"
    author: str = ""
    lang: str = "en"
    timezone: str = "UTC"
    from_name: str | None = None
    from_email: str = "newsletter@example.invalid"
    reply_to: str | None = None
    unsubscribe_url: str | None = None
    max_lateness: timedelta = timedelta(hours=24)
    inliner: str = "premailer"
    utm: str = "utm_source=newsletter&utm_medium=email&utm_campaign={slug}"
    cms: str = "folder"
    publish_dir: str = "public"
    list: str = "outbox"
    outbox_dir: str = "outbox"
    http_timeout: float = 30.0
    wordpress_url: str | None = None
    wordpress_user: str | None = None
    wordpress_app_password: str | None = field(default=None, repr=False)
    ghost_url: str | None = None
    ghost_admin_api_key: str | None = field(default=None, repr=False)
    mailchimp_api_key: str | None = field(default=None, repr=False)
    mailchimp_list_id: str | None = None
    mailchimp_base_url: str | None = None
    listmonk_url: str | None = None
    listmonk_user: str | None = None
    listmonk_token: str | None = field(default=None, repr=False)
    listmonk_list_ids: str | None = None
    listmonk_track_links: str = "on"
    buttondown_api_key: str | None = field(default=None, repr=False)
    buttondown_base_url: str = "https://api.buttondown.com"
    brevo_api_key: str | None = field(default=None, repr=False)
    brevo_list_ids: str | None = None
    brevo_base_url: str = "https://api.brevo.com/v3"
    smtp_host: str | None = None
    smtp_port: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "starttls"
    smtp_recipients_file: str | None = None
    smtp_rate: float = 5.0
    smtp_dkim_selector: str | None = None
    smtp_dkim_key_file: str | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_user: str | None = None
    imap_password: str | None = field(default=None, repr=False)
    imap_folder: str = "INBOX"
    imap_security: str = "ssl"
    buttondown_tag: str | None = None
    #: ``(VARIABLE_LANG, value)`` of every per-language list variable that is set
    lang_lists: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()

    def newsletter_list(
        self, lang: str, own: str | None = None, target: str | None = None
    ) -> str | None:
        """The list a newsletter in ``lang`` goes to on ``target`` (default
        ``POSTPIPE_LIST``): the post's own ``newsletter.list``, else the list
        variable with ``_<LANG>`` appended (``MAILCHIMP_LIST_ID_SV``), else None:
        the target's own default (the plain variable). The one place a list is chosen."""
        if own:
            return own
        var = LIST_VARIABLES.get(target or self.list)
        if var is None:
            return None
        wanted = f"{var}_{lang.upper().replace('-', '_')}"
        base = f"{var}_{lang.split('-')[0].upper()}"
        found = dict(self.lang_lists)
        return found.get(wanted) or found.get(base)

    def language_lists(self, target: str | None = None) -> dict[str, str]:
        """``LANG → list`` of the per-language variables of ``target``."""
        var = LIST_VARIABLES.get(target or self.list, "")
        return {
            name.removeprefix(f"{var}_"): value
            for name, value in self.lang_lists
            if name.startswith(f"{var}_")
        }

    @property
    def sender_name(self) -> str:
        return self.from_name or self.site_title

    @property
    def reply_address(self) -> str:
        return self.reply_to or self.from_email

    @property
    def unsubscribe_template(self) -> str:
        """URL template with ``{email}`` for the outbox and smtp targets."""
        return self.unsubscribe_url or f"mailto:{self.from_email}?subject=unsubscribe"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def state_dir(self) -> Path:
        return self.root / ".postpipe"

    def path(self, value: str) -> Path:
        """A configured path, relative to the site root unless absolute."""
        p = Path(value)
        return p if p.is_absolute() else self.root / p

    def secrets(self) -> builtins.list[str]:
        """Every secret value that is set, for redaction."""
        return [getattr(self, f.attr) for f in FIELDS if f.secret and getattr(self, f.attr)]

    def require(self, *attrs: str, target: str) -> None:
        """Fail with the variables' names when a target's settings are missing."""
        missing = [f.env for f in FIELDS if f.attr in attrs and not getattr(self, f.attr)]
        if missing:
            raise ConfigError(
                f"the {target} target needs {', '.join(missing)}",
                hint=f"set {', '.join(missing)} in .env or the environment (see .env.example)",
            )


def load_settings(root: str | Path = ".", environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``.env`` in ``root`` and the environment; validate every variable."""
    root = Path(root).resolve()
    env = dict(os.environ if environ is None else environ)
    dotenv_path = root / ".env"
    file_values: dict[str, str | None] = {}
    if dotenv_path.is_file():
        file_values = dotenv_values(dotenv_path)
    merged: dict[str, str] = {k: v for k, v in file_values.items() if v is not None}
    merged.update(env)  # the real environment wins

    values: dict[str, Any] = {}
    errors: list[ConfigError] = []
    lang_lists = []
    for name in sorted(merged):
        found = _PER_LANG.fullmatch(name)
        value = merged[name].strip()
        if not found or not value:
            continue
        if found["var"] in _NUMERIC_LISTS and not re.fullmatch(r"\d+(\s*,\s*\d+)*", value):
            shown = found["var"]
            errors.append(
                ConfigError(
                    f"{name}={value!r} is not valid: expected comma-separated numeric list ids",
                    hint=f"set {name} like {shown}, e.g. {name}=3 or {name}=3,7",
                )
            )
        lang_lists.append((name, value))
    values["lang_lists"] = tuple(lang_lists)
    for f in FIELDS:
        if f.per_language:  # read above, into lang_lists
            continue
        raw = merged.get(f.env)
        if raw is None or (raw == "" and f.env not in _EMPTY_ALLOWED):
            raw = f.default
        if raw is None:
            values[f.attr] = None
            continue
        if raw == "":
            values[f.attr] = ""
            continue
        try:
            values[f.attr] = f.parse(raw)
        except (ValueError, ArithmeticError) as exc:  # a parser's overflow is bad input too
            shown = "***" if f.secret else repr(raw)
            errors.append(
                ConfigError(
                    f"{f.env}={shown} is not valid: expected {exc}",
                    hint=f"fix {f.env} in .env or the environment ({f.doc})",
                )
            )
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)

    warnings = []
    known = set(_BY_ENV)
    for name in sorted(merged):
        if (
            name.startswith("POSTPIPE_")
            and name not in known
            and name not in _INTERNAL_ENV
            and not _PER_LANG.fullmatch(name)
        ):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            warnings.append(f"unknown variable {name}{hint}")
    return Settings(root=root, warnings=tuple(warnings), **values)


# Variables whose empty value means something (empty UTM disables tagging).
_EMPTY_ALLOWED = {"POSTPIPE_UTM"}
# Variables read elsewhere that are not site settings.
_INTERNAL_ENV = {"POSTPIPE_DEBUG", "POSTPIPE_NOW", "POSTPIPE_REQUIRE_SERVERS"}


def env_example() -> str:
    """The text of ``.env.example``, generated from :data:`FIELDS`."""
    out = [
        "# postpipe configuration. Copy to .env and fill in what you use.",
        "# The real environment wins over this file. Secrets are never printed.",
    ]
    group = None
    for f in FIELDS:
        if f.group != group:
            group = f.group
            out.append("")
            out.append(f"# --- {group} ---")
        out.append(f"# {f.doc}")
        default = f.default if f.default is not None else ""
        out.append(f"# {f.env}={default}")
    return "\n".join(out) + "\n"


def config_table() -> str:
    """The README configuration table (Markdown), generated from :data:`FIELDS`."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for f in FIELDS:
        default = f"`{f.default}`" if f.default else ""
        secret = " Secret: never printed." if f.secret else ""
        rows.append(f"| `{f.env}` | {default} | {f.doc}{secret} |")
    return "\n".join(rows) + "\n"


def readme_with_table(readme: str) -> str:
    """*readme* with the text between the config-table markers replaced by :func:`config_table`."""
    start, end = "<!-- config-table:start -->\n", "<!-- config-table:end -->"
    head, _, rest = readme.partition(start)
    _, _, tail = rest.partition(end)
    return head + start + config_table() + end + tail


if __name__ == "__main__":  # pragma: no cover - used by `make docs`
    import sys

    if sys.argv[1:2] == ["readme"]:
        readme = Path(sys.argv[2])
        readme.write_text(readme_with_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(env_example() if sys.argv[1:] == ["env"] else config_table(), end="")
