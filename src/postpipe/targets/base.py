"""The target protocols and the registry of targets by name.

A target is a thin mapping from these protocols to one provider. It gets its
configuration from ``Settings`` and, for HTTP providers, a ready ``Http``
session (``postpipe.http``); it never touches the ledger and never retries on
its own. ``find`` and ``find_campaign`` let a crash or a deleted ledger
recover without creating a duplicate.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..assets import Asset
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..build import RenderedPost
    from ..config import Settings


@dataclass(frozen=True)
class RemoteRef:
    """A post as the CMS knows it."""

    id: str
    url: str
    status: str = "publish"  # publish | future
    data: dict[str, Any] = field(default_factory=dict)


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
    rendered: RenderedPost  # the full render, for targets that publish whole pages


@dataclass(frozen=True)
class Campaign:
    """A newsletter as the mailing-list provider knows it."""

    key: str
    remote_id: str | None
    status: str  # draft | scheduled | sending | sent
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def sent(self) -> bool:
        return self.status in ("sending", "sent")


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
        self, to: str, *, date: datetime, key: str | None = None, personalise_for: str | None = None
    ) -> EmailMessage:
        """The MIME message for one recipient (``{email}`` filled in for them)."""
        from ..render.email import build_message, personalise

        who = personalise_for or to
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


class CMS(Protocol):
    """A place where posts are published."""

    name: ClassVar[str]

    def find(self, post: PostPush) -> RemoteRef | None:
        """The post if the CMS has it already (by slug)."""

    def upsert(self, post: PostPush, existing: RemoteRef | None) -> RemoteRef:
        """Create the post, or update ``existing``; returns where it lives."""

    def finish(self, published: Sequence[PostPush]) -> int:
        """After a run: refresh site-wide pages (index, feed); returns files written."""


class MailingList(Protocol):
    """A provider that sends newsletters to a list."""

    name: ClassVar[str]

    def find_campaign(self, key: str) -> Campaign | None:
        """The campaign carrying ``key`` (in its name or tag), with its status."""

    def prepare(self, email: OutgoingEmail, key: str, existing: Campaign | None) -> Campaign:
        """Create or update the campaign; never sends."""

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        """Send the prepared campaign now."""

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        """Send one test copy to ``address``; the send state is not touched."""


#: Built-in targets, imported on first use (``module:Class``).
CMS_TARGETS: dict[str, str] = {
    "folder": "postpipe.targets.folder:FolderCMS",
}
LIST_TARGETS: dict[str, str] = {
    "outbox": "postpipe.targets.outbox:Outbox",
}


def _load(kind: str, name: str, registry: dict[str, str], variable: str) -> type:
    from ..config import CMS_TARGETS as PLANNED_CMS
    from ..config import LIST_TARGETS as PLANNED_LISTS

    if ":" in name:  # a target of your own: package.module:Class
        module, _, cls = name.partition(":")
        try:
            return getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"cannot load the {kind} target '{name}': {exc}",
                hint=f"check {variable} and that the module is importable",
            ) from None
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
    return getattr(importlib.import_module(module), cls)


def get_cms(settings: Settings, **kw: Any) -> CMS:
    """The configured CMS target (``POSTPIPE_CMS``)."""
    return _load("CMS", settings.cms, CMS_TARGETS, "POSTPIPE_CMS")(settings, **kw)


def get_list(settings: Settings, **kw: Any) -> MailingList:
    """The configured mailing-list target (``POSTPIPE_LIST``)."""
    return _load("list", settings.list, LIST_TARGETS, "POSTPIPE_LIST")(settings, **kw)
