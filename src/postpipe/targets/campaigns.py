"""The base of the HTTP campaign lists (Mailchimp, listmonk, Buttondown, Brevo).

What every such provider does the same way lives here: construction (the
settings check, the sender check and the ``Http`` session), finding a campaign
by its idempotency key across pages, the one status mapping, and the send path
that reads the campaign again when the provider refuses a send. A provider
module supplies only its own facts: how to list a page and read the key from
an item, its status table, how to create, start and schedule.

**An unknown provider status counts as possibly sent.** A status postpipe does
not know (a new one, or one a provider added without notice) maps to
``unknown``, whose :attr:`Campaign.sent` is True: ``send`` is never called for
it, ``prepare`` leaves it alone, and the run says the status is unknown and
asks to check it at the provider. Sending a second newsletter to a whole list
is worse than not sending one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ProviderError
from ..http import ErrorReader, Http, RetryPolicy, make_http
from ..keys import IdempotencyKey
from .base import (
    UNKNOWN,
    Campaign,
    CampaignResults,
    MailingList,
    OutgoingEmail,
    require_sender,
    require_unsubscribe,
)

if TYPE_CHECKING:
    from ..config import Settings

#: Which campaign wins when several carry the key: one that may have gone out first.
ORDER = ("sent", UNKNOWN, "sending", "scheduled", "draft")
#: Answers to a send that mean "not now" rather than "failed": read the campaign again.
REFUSALS = frozenset({400, 409})


def code_message(code: object, text: object) -> str:
    """``"code: text"`` from an error body's two fields, either of which may be missing."""
    code, text = str(code or "").strip(), str(text or "").strip()
    return f"{code}: {text}" if code and text else (code or text)


@dataclasses.dataclass(frozen=True)
class HttpSetup:
    """What a provider tells :func:`make_http` (see its arguments)."""

    base_url: str
    variable: str
    explain: ErrorReader
    auth_hint: str
    headers: Mapping[str, str] | None = None
    auth: tuple[str, str] | None = None
    policy: RetryPolicy | None = None
    max_connections: int = 8
    rate_headers: tuple[str, str] | None = None


class CampaignList(MailingList):
    """A mailing list whose provider keeps campaigns behind an HTTP API.

    A subclass sets the class attributes and implements the ``_``-prefixed
    hooks; :meth:`send_test` and (optionally) ``schedule`` are its own.
    """

    name: ClassVar[str]
    #: the provider's name as users know it, e.g. "Mailchimp"
    provider: ClassVar[str]
    #: what the provider calls a campaign ("campaign", "email")
    noun: ClassVar[str] = "campaign"
    #: the provider's field or words for when a scheduled campaign goes out
    scheduled_by: ClassVar[str] = "its scheduled time"
    #: settings that must be set (``Settings.require``)
    required: ClassVar[tuple[str, ...]]
    #: the provider's documented statuses → postpipe's (draft, scheduled, sending, sent);
    #: anything else is ``unknown`` (possibly sent)
    STATUS: ClassVar[Mapping[str, str]]
    #: stop paging at the first page with a match (newest first; saves calls)
    first_match: ClassVar[bool] = False

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        **_: object,
    ) -> None:
        settings.require(*self.required, target=self.name)
        require_sender(settings, self.name)
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        setup = self._http_setup(settings)
        self.http: Http = make_http(
            settings,
            self.name,
            setup.base_url,
            setup.variable,
            headers=setup.headers,
            auth=setup.auth,
            policy=setup.policy,
            max_connections=setup.max_connections,
            explain=setup.explain,
            auth_hint=setup.auth_hint,
            rate_headers=setup.rate_headers,
            sleep=sleep or time.sleep,
        )

    # -- what a provider supplies ---------------------------------------------------
    def _http_setup(self, settings: Settings) -> HttpSetup:
        raise NotImplementedError

    def _pages(self, key: IdempotencyKey) -> Iterator[list[dict[str, Any]]]:
        """The provider's campaigns that may carry ``key``, one page at a time."""
        raise NotImplementedError

    def _key_of(self, item: Mapping[str, Any]) -> str | None:
        """Where the provider keeps our key in a listed campaign."""
        raise NotImplementedError

    def _read(self, cid: str) -> dict[str, Any]:
        """The campaign ``cid`` as the provider describes it now."""
        raise NotImplementedError

    def _write(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        """Create the draft, or update ``existing`` (a draft); never send."""
        raise NotImplementedError

    def _check(self, email: OutgoingEmail) -> None:
        """Refuse a newsletter this provider cannot send as asked (before any call)."""

    def _start(self, campaign: Campaign, cid: str) -> Campaign:
        """Ask the provider to send ``cid`` now; what it says afterwards."""
        raise NotImplementedError

    def _details(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The provider's facts worth keeping in :attr:`Campaign.data`."""
        return {}

    def _refused(self, exc: ProviderError, cid: str) -> ProviderError:
        """A send refused (400/409) of a campaign that is not sent: explain it."""
        return exc

    def _report(self, cid: str) -> dict[str, Any]:
        """The provider's answers about a sent campaign's results (one entry per call)."""
        raise NotImplementedError

    def _results(self, report: Mapping[str, Any]) -> CampaignResults:
        """The provider's fields → :class:`CampaignResults` (the mapping only)."""
        raise NotImplementedError

    # -- the protocol -----------------------------------------------------------------
    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        """The campaign carrying ``key`` (``key.matches``); one that may be sent wins."""
        found: list[dict[str, Any]] = []
        for items in self._pages(key):
            found += [c for c in items if key.matches(self._key_of(c))]
            if found and self.first_match:
                break
        if not found:
            return None
        best = min(found, key=lambda c: ORDER.index(self.status_of(c)))
        return self._campaign(key.value, best)

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        """Create or update the campaign; never sends. One past its draft is left alone."""
        require_unsubscribe(email, self.unsubscribe_tag or "", self.name)
        self._check(email)
        if existing is not None and existing.status != "draft":
            return existing  # scheduled, sent or unknown at the provider: never touched
        return self._write(email, key, existing)

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        """Send now, once. A refusal is checked against the campaign's state."""
        cid = self._id(campaign)
        if campaign.sent:
            return campaign  # it went out already, or may have: never a second time
        if campaign.status == "scheduled":
            raise self._scheduled_error(cid)
        try:
            result = self._start(campaign, cid)
        except ProviderError as exc:
            if exc.status is None or exc.status >= 500:
                exc.maybe_sent = True  # the provider may have acted before the answer was lost
                raise
            if exc.status not in REFUSALS:
                raise
            current = self._get(campaign.key, cid)
            if current.sent:
                return current  # it went out already (another run, or by hand)
            if current.status == "scheduled":
                raise self._scheduled_error(cid) from None
            raise self._refused(exc, cid) from None
        if result.status == "scheduled":
            raise self._scheduled_error(cid)
        return result

    reports: ClassVar[bool] = True

    def results(self, slug: str, campaign_id: str | None) -> CampaignResults:
        """Ask the provider how the campaign did; the provider module only maps fields.
        An unknown id is the provider's 404 (or listmonk's 400), raised as a ProviderError."""
        if not campaign_id:
            raise ProviderError(
                f"the newsletter '{slug}' has no {self.provider} {self.noun} id to report on",
                target=self.name,
                hint="it was not sent through this list",
            )
        return self._results(self._report(campaign_id)).completed()

    # -- helpers ----------------------------------------------------------------------
    def status_of(self, data: Mapping[str, Any]) -> str:
        """postpipe's status of a provider campaign; ``unknown`` if the provider's is new."""
        return self.STATUS.get(str(data.get("status")), UNKNOWN)

    def _offset_pages(
        self, path: str, params: Mapping[str, Any], items: str, total: str
    ) -> Iterator[list[dict[str, Any]]]:
        """The pages of a listing paged by ``offset``: ``items`` and ``total`` name its fields."""
        offset = 0
        while True:
            page = self.http.get(path, params={**params, "offset": offset}).json()
            batch = page.get(items) or []
            yield batch
            offset += len(batch)
            if not batch or offset >= int(page.get(total) or 0):
                return

    def _next_pages(
        self, path: str, params: Mapping[str, Any], items: str = "results"
    ) -> Iterator[list[dict[str, Any]]]:
        """The pages of a listing that links its ``next`` page (the link carries the query)."""
        url: str | None = path
        query: Mapping[str, Any] | None = params
        while url:
            page = self.http.get(url, params=query).json()
            yield page.get(items) or []
            url, query = page.get("next"), None

    def _campaign(self, key: str, data: Mapping[str, Any]) -> Campaign:
        return Campaign(
            key=key,
            remote_id=str(data["id"]),
            status=self.status_of(data),
            data={f"{self.name}_status": data.get("status"), **self._details(data)},
            provider_status=str(data.get("status")),
        )

    def _get(self, key: str, cid: str) -> Campaign:
        return self._campaign(key, self._read(cid))

    def _id(self, campaign: Campaign) -> str:
        if not campaign.remote_id:
            raise ProviderError(
                f"the {self.noun} has no {self.provider} id; prepare it first", target=self.name
            )
        return campaign.remote_id

    @staticmethod
    def _scheduled(campaign: Campaign, when: datetime, **data: Any) -> Campaign:
        """``campaign`` with the time it is scheduled for in its data."""
        merged = {**campaign.data, **data, "scheduled_at": when.isoformat()}
        return dataclasses.replace(campaign, data=merged)

    def _scheduled_error(self, cid: str) -> ProviderError:
        return ProviderError(
            f"{self.noun} {cid} is scheduled at {self.provider}; postpipe does not send it "
            "a second time",
            target=self.name,
            hint=f"it goes out at {self.scheduled_by} and the next run records it; to send "
            f"it now, unschedule it in {self.provider} first",
            maybe_sent=True,
        )
