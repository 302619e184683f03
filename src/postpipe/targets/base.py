"""The target protocols and the registry of targets by name.

A target is a thin mapping from these protocols to one provider. It gets its
configuration from ``Settings``, frozen self-contained inputs (``PostPush``,
``OutgoingEmail``) and, for HTTP providers, a ready ``Http`` session
(``postpipe.http``). Its own bookkeeping goes through narrow interfaces,
``MediaStore`` (uploaded images), ``RecipientLog`` (per-recipient SMTP
sends) and ``SuppressionList`` (addresses SMTP never mails); it never sees
the ledger or the builder and never retries on its own.
``find`` and ``find_campaign`` let a crash or a deleted ledger recover without
creating a duplicate. Optional capabilities are declared here with their
defaults; a target subclasses ``CMS`` or ``MailingList`` to inherit them.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from html import escape as html_escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..assets import Asset
from ..errors import ConfigError, ContentError, ProviderError
from ..keys import IdempotencyKey

if TYPE_CHECKING:
    from ..config import Settings

#: A file a target writes: its bytes, or a file to copy.
FileContent = bytes | Path


@dataclass(frozen=True)
class RemoteRef:
    """A post as the CMS knows it."""

    id: str
    url: str
    status: str = "publish"  # publish | future
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Edition:
    """The post in another language, for a link from its body (``lang-switch``)."""

    lang: str
    label: str  # "Read in English", in the edition's own language
    slug: str


@dataclass(frozen=True)
class PostPush:
    """What a CMS needs to create or update one post."""

    slug: str
    title: str
    date: datetime
    scheduled: bool  # the date is ahead: the CMS should publish it then
    body_html: str  # the post body only (no site chrome), site-relative asset links
    summary: str
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    image: Asset | None  # hero image
    assets: tuple[Asset, ...]  # every local file the body and hero use
    url: str = ""  # where the site itself shows the post
    image_alt: str = ""  # the hero image's alt text
    #: the files of the post's own page (``slug/index.html`` and its assets), for
    #: targets that publish whole pages
    files: Mapping[str, FileContent] = field(default_factory=dict)
    #: an image's name → its email file (≤ 1200 px): uploaded beside the image, so a
    #: newsletter sent with this CMS links a file sized for mail
    email_files: Mapping[str, Asset] = field(default_factory=dict)
    #: the post's language as a tag (``lang-sv``) for a post with editions in other
    #: languages or not in the site's language; None: no language tag
    lang_tag: str | None = None
    #: the post's editions in other languages: a hosted CMS links them at the end of
    #: the body, at its own URL of each (``HostedCMS.editions_html``)
    editions: tuple[Edition, ...] = ()


#: A provider status postpipe does not know: counted as possibly sent, never sent again.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Campaign:
    """A newsletter as the mailing-list provider knows it."""

    key: str  # the idempotency key's value, as stored at the provider
    remote_id: str | None
    status: str  # draft | scheduled | sending | sent | unknown (possibly sent)
    data: dict[str, Any] = field(default_factory=dict)
    #: when the provider sent it, where it says (recorded instead of "when found")
    sent_at: datetime | None = None
    #: the provider's own word for the status (``status`` is postpipe's)
    provider_status: str | None = None

    @property
    def sent(self) -> bool:
        """It went out, is going out, or may have (an ``unknown`` status): never send it."""
        return self.status in ("sending", "sent", UNKNOWN)

    @property
    def unknown(self) -> bool:
        """The provider's status is one postpipe does not know: possibly sent, report it."""
        return self.status == UNKNOWN


@dataclass(frozen=True)
class CampaignResults:
    """How a sent newsletter did, as the provider counts it; ``None`` where it gives no figure.

    Rates are fractions (0.42 = 42 %): the provider's own where it gives one, else
    the unique count over ``delivered`` (or ``recipients``). ``links`` is
    ``(url, clicks)``, most clicked first.
    """

    recipients: int | None = None
    delivered: int | None = None
    bounces: int | None = None
    opens_unique: int | None = None
    open_rate: float | None = None
    clicks_unique: int | None = None
    click_rate: float | None = None
    unsubscribes: int | None = None
    links: tuple[tuple[str, int], ...] = ()

    def completed(self) -> CampaignResults:
        """The same figures with the rates the provider left out worked out from its counts,
        and the links sorted (most clicks first)."""
        base = self.delivered or self.recipients

        def rate(given: float | None, count: int | None) -> float | None:
            if given is not None:
                return round(float(given), 4)
            return round(count / base, 4) if count is not None and base else None

        return CampaignResults(
            recipients=self.recipients,
            delivered=self.delivered,
            bounces=self.bounces,
            opens_unique=self.opens_unique,
            open_rate=rate(self.open_rate, self.opens_unique),
            clicks_unique=self.clicks_unique,
            click_rate=rate(self.click_rate, self.clicks_unique),
            unsubscribes=self.unsubscribes,
            links=tuple(sorted(self.links, key=lambda link: (-link[1], link[0]))),
        )


def count(value: object) -> int | None:
    """A provider's figure as an int; ``None`` when it gives none (missing, null, not a number)."""
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        return None
    try:
        return int(value)
    except ValueError:  # "n/a", "1.5" as text
        return None


@dataclass(frozen=True)
class OutgoingEmail:
    """One newsletter ready for a list: both parts and the envelope facts."""

    slug: str
    subject: str
    preheader: str
    html: str
    text: str
    from_name: str
    from_email: str
    reply_to: str
    view_url: str
    unsubscribe_url: str
    list_id: str | None = None  # newsletter.list from the front matter

    def message(
        self,
        to: str | tuple[str, str],
        *,
        date: datetime,
        key: str | None = None,
        personalise_for: str | None = None,
    ) -> EmailMessage:
        """The MIME message for one recipient (``{email}`` filled in for them); ``to`` is
        an address or a ``(name, address)`` pair."""
        from ..render.email import build_message, personalise

        who = personalise_for or (to if isinstance(to, str) else to[1])
        return build_message(
            subject=self.subject,
            html=personalise(self.html, who),
            text=personalise(self.text, who),
            sender_name=self.from_name,
            sender_email=self.from_email,
            reply_to=self.reply_to,
            to=to,
            unsubscribe_url=personalise(self.unsubscribe_url, who),
            date=date,
            key=key,
            preheader=self.preheader,
        )


class MediaStore(Protocol):
    """Where a CMS remembers the images it uploaded, by content hash.

    ``target`` names the provider's site (``wordpress:https://…``): an upload
    belongs to one site.
    """

    def get(self, target: str, digest: str) -> tuple[str | None, str | None] | None:
        """``(remote id, url)`` of an upload of these bytes, if there was one."""
        ...

    def put(self, target: str, digest: str, remote_id: str, url: str) -> None:
        """Remember an upload at once (a later failure must not upload it again)."""
        ...


class RecipientLog(Protocol):
    """Where a list that sends itself (SMTP) keeps each recipient's state."""

    def states(self, slug: str) -> dict[str, str]:
        """Address → state for one newsletter."""
        ...

    def record(
        self, slug: str, address: str, state: str, now: datetime, error: str | None = None
    ) -> None:
        """Set one recipient's state (one transaction)."""
        ...


class SuppressionList(Protocol):
    """The addresses a list that sends itself (SMTP) never mails: unsubscribed,
    bounced or taken off by hand (``postpipe unsubscribe``)."""

    def suppressed(self) -> set[str]:
        """The keys (``MailAddress.key``) of every suppressed address of the list."""
        ...


class CMS(Protocol):
    """A place where posts are published.

    Declared capabilities (with their defaults): ``schedules`` (the CMS
    publishes a future-dated post by itself), ``site_pages`` (``finish`` wants
    the site-wide files: index, feed, tags) and ``media_target`` (the name its
    uploads are stored under in the ``MediaStore``; ``None``: it serves no
    images of its own, so the email links to the site's).
    """

    name: ClassVar[str]
    schedules: ClassVar[bool] = True
    site_pages: ClassVar[bool] = False
    media_target: str | None = None

    def find(self, post: PostPush) -> RemoteRef | None:
        """The post if the CMS has it already (by slug)."""
        ...

    def upsert(self, post: PostPush, existing: RemoteRef | None) -> RemoteRef:
        """Create the post, or update ``existing``; returns where it lives."""
        ...

    def upload(self, asset: Asset, alt: str) -> str:
        """Upload one image unless the media store has it; returns its URL.
        Only called where ``media_target`` is set."""
        raise NotImplementedError(f"the {self.name} CMS uploads no media")

    def finish(self, files: Mapping[str, FileContent]) -> int:
        """After a run that changed something: write the site-wide ``files``
        (only where ``site_pages``); returns files written."""
        return 0


class MailingList(Protocol):
    """A provider that sends newsletters to a list.

    Declared capabilities: ``unsubscribe_tag`` (the provider's merge tag for
    the unsubscribe link, checked in every email before it leaves),
    ``recipients_count()`` (shown before a send; ``None``: not known here),
    ``reports`` with ``results()`` (how a sent campaign did: ``postpipe report``;
    ``False``: nothing to report, like the outbox), and ``report_budget`` (report
    requests an hour the provider can spare; ``None``: no limit).
    ``schedule`` is an optional extra, see :class:`Scheduling`.
    """

    name: ClassVar[str]
    unsubscribe_tag: ClassVar[str | None] = None
    reports: ClassVar[bool] = False
    #: report requests an hour postpipe may spend at this provider (``None``: no limit)
    report_budget: ClassVar[int | None] = None
    #: requests one campaign's results take
    report_calls: ClassVar[int] = 1

    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        """The campaign carrying ``key`` (in its name or tag; ``key.matches``), with its status."""
        ...

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        """Create or update the campaign; never sends."""
        ...

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        """Send the prepared campaign now."""
        ...

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        """Send one test copy to ``address``; the send state is not touched."""
        ...

    def recipients_count(self) -> int | None:
        """How many recipients a send reaches, where the target knows it."""
        return None

    def results(self, slug: str, campaign_id: str | None) -> CampaignResults:
        """How the sent campaign ``campaign_id`` (the newsletter of ``slug``) did.
        Only called where ``reports`` is set."""
        raise NotImplementedError(f"the {self.name} list has nothing to report")


class Scheduling(MailingList, Protocol):
    """A list that can also schedule a prepared campaign at the provider (optional).

    postpipe itself schedules through cron (``send --due``); ``publish`` and
    ``send`` do not call this. A campaign scheduled at the provider is reported
    by ``find_campaign`` as ``scheduled`` (then ``sending``/``sent``), ``prepare``
    leaves it untouched and ``send`` refuses it with ``maybe_sent=True``, so
    ``send --due`` only reconciles it and never sends it a second time.
    """

    def schedule(self, campaign: Campaign, email: OutgoingEmail, at: datetime) -> Campaign:
        """Let the provider send the prepared campaign at ``at`` (rounded up where the
        provider needs it; the time used is in ``data["scheduled_at"]``)."""
        ...


#: The default of POSTPIPE_FROM_EMAIL: fine for the outbox, refused by real lists.
PLACEHOLDER_FROM_EMAIL = "newsletter@example.invalid"


def require_sender(settings: Settings, target: str) -> None:
    """A real list needs a real sender: refuse the placeholder from address."""
    if settings.from_email == PLACEHOLDER_FROM_EMAIL:
        raise ConfigError(
            f"the {target} target needs a real sender address, but POSTPIPE_FROM_EMAIL "
            f"is the placeholder {PLACEHOLDER_FROM_EMAIL}",
            hint="set POSTPIPE_FROM_EMAIL (and POSTPIPE_FROM_NAME) to the address your "
            "subscribers know; the provider must accept it as a sender",
        )


def require_unsubscribe(email: OutgoingEmail, link: str, target: str) -> None:
    """No newsletter leaves without its working unsubscribe link (as is, or HTML-escaped)."""
    if not link or (link not in email.html and html_escape(link) not in email.html):
        raise ContentError(
            f"the newsletter '{email.slug}' has no unsubscribe link {link!r} for {target}",
            hint="the email template must link to {{ email.unsubscribe_url }}",
        )


def list_ids(value: str | None, variable: str) -> list[int]:
    """``"3, 7"`` → ``[3, 7]``; a ConfigError naming ``variable`` otherwise."""
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ConfigError(
            f"{variable} must be a comma-separated list of numeric list ids, got {value!r}",
            hint=f"set {variable}, e.g. {variable}=3 or {variable}=3,7",
        )
    return [int(p) for p in parts]


def require_future(at: datetime, now: datetime, target: str, lead: float = 120.0) -> datetime:
    """``at`` in UTC if it is at least ``lead`` seconds ahead of ``now``.

    Some providers send at once when given a past time (Buttondown), others
    refuse it; postpipe refuses it before asking any of them.
    """
    if at.tzinfo is None:
        raise ValueError("a schedule time needs a time zone")
    at = at.astimezone(UTC)
    if (at - now).total_seconds() < lead:
        raise ProviderError(
            f"cannot schedule for {at:%Y-%m-%d %H:%M} UTC: that is less than "
            f"{lead / 60:.0f} minutes from now",
            target=target,
            hint="send it now with 'postpipe send SLUG', or pick a later time",
        )
    return at


#: Built-in targets, imported on first use (``module:Class``).
CMS_TARGETS: dict[str, str] = {
    "folder": "postpipe.targets.folder:FolderCMS",
    "wordpress": "postpipe.targets.wordpress:WordPressCMS",
    "ghost": "postpipe.targets.ghost:GhostCMS",
}
LIST_TARGETS: dict[str, str] = {
    "outbox": "postpipe.targets.outbox:Outbox",
    "mailchimp": "postpipe.targets.mailchimp:Mailchimp",
    "listmonk": "postpipe.targets.listmonk:Listmonk",
    "buttondown": "postpipe.targets.buttondown:Buttondown",
    "brevo": "postpipe.targets.brevo:Brevo",
    "smtp": "postpipe.targets.smtp:Smtp",
}


def _load(kind: str, name: str, registry: dict[str, str], variable: str) -> type[Any]:
    from ..config import CMS_TARGETS as PLANNED_CMS
    from ..config import LIST_TARGETS as PLANNED_LISTS

    if ":" in name:  # a target of your own: package.module:Class
        module, _, cls = name.partition(":")
        try:
            target = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"cannot load the {kind} target '{name}': {exc}",
                hint=f"check {variable} and that the module is importable",
            ) from None
        if not isinstance(target, type):
            raise ConfigError(
                f"{variable}={name!r} is not a class: expected package.module:Class",
                hint=f"point {variable} at the class of your {kind} target",
            )
        return target
    if name not in registry and name in (*PLANNED_CMS, *PLANNED_LISTS):
        raise ConfigError(
            f"the {kind} target '{name}' is not available in this version",
            hint=f"available: {', '.join(registry)}; set {variable}",
        )
    if name not in registry:
        close = difflib.get_close_matches(name, registry, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"set {variable} to one of them"
        raise ConfigError(
            f"unknown {kind} target '{name}'; expected one of: {', '.join(registry)}", hint=hint
        )
    module, _, cls = registry[name].partition(":")
    found: type[Any] = getattr(importlib.import_module(module), cls)
    return found


def get_cms(settings: Settings, *, media: MediaStore | None = None, **kw: Any) -> CMS:
    """The configured CMS target (``POSTPIPE_CMS``); ``media`` keeps its uploads."""
    cls = _load("CMS", settings.cms, CMS_TARGETS, "POSTPIPE_CMS")
    cms: CMS = cls(settings, media=media, **kw)
    return cms


def get_list(
    settings: Settings, *, recipients: RecipientLog | None = None, **kw: Any
) -> MailingList:
    """The configured mailing-list target (``POSTPIPE_LIST``); ``recipients`` is the
    per-recipient log of a list that sends itself (SMTP)."""
    cls = _load("list", settings.list, LIST_TARGETS, "POSTPIPE_LIST")
    lst: MailingList = cls(settings, recipients=recipients, **kw)
    return lst


def cms_name(settings: Settings) -> str:
    """The name of the configured CMS target, without constructing it (no credentials)."""
    return str(_load("CMS", settings.cms, CMS_TARGETS, "POSTPIPE_CMS").name)


def list_name(settings: Settings) -> str:
    """The name of the configured list target, without constructing it (no credentials)."""
    return str(_load("list", settings.list, LIST_TARGETS, "POSTPIPE_LIST").name)


# -- helpers of the CMS adapters that upload images ------------------------------

_LINK_ATTR = re.compile(r'(\s(?:src|href)=")([^"]+)(")')


def _asset_of(value: str, assets: Sequence[Asset]) -> Asset | None:
    path = value.split("?", 1)[0].split("#", 1)[0]
    for asset in assets:
        if path == asset.name or path.endswith("/" + asset.name):
            return asset
    return None


def used_assets(post: PostPush) -> list[Asset]:
    """The local files the body links to (``src``/``href``), then the hero image, then
    the email files of those images; each once."""
    found: dict[str, Asset] = {}
    for match in _LINK_ATTR.finditer(post.body_html):
        asset = _asset_of(match.group(2), post.assets)
        if asset is not None:
            found.setdefault(asset.name, asset)
    if post.image is not None:
        found.setdefault(post.image.name, post.image)
    for name in list(found):
        email = post.email_files.get(name)
        if email is not None:
            found.setdefault(email.name, email)
    return list(found.values())


def rewrite_assets(html: str, assets: Sequence[Asset], urls: Mapping[str, str]) -> str:
    """``src``/``href`` values naming one of ``assets`` → its remote URL (``urls`` by name).

    The body links assets site-relative by their fingerprinted name
    (``/assets/x.<hash>.jpg``); a CMS serves them from its own media URL.
    """

    def swap(match: re.Match[str]) -> str:
        asset = _asset_of(match.group(2), assets)
        if asset is None or asset.name not in urls:
            return match.group(0)
        return f"{match.group(1)}{html_escape(urls[asset.name])}{match.group(3)}"

    return _LINK_ATTR.sub(swap, html)
