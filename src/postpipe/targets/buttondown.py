"""The ``buttondown`` list: emails through the Buttondown API v1.

Buttondown sends an email created without a ``status`` to every subscriber at
once, so this adapter always creates a ``draft`` and sends only in ``send``.
The idempotency key travels in ``metadata.postpipe_key`` (how ``find_campaign``
finds the email again) and, with a digest of the content, in
``X-Idempotency-Key``: Buttondown replays the first answer to a repeated
create instead of making a second email, so a create is safe to retry. The API
version is pinned, and the ``X-RateLimit-*`` headers and ``Retry-After`` pace
the requests (``http.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from ..errors import ProviderError
from ..keys import IdempotencyKey
from .base import Campaign, CampaignResults, OutgoingEmail, count, require_future
from .campaigns import CampaignList, HttpSetup, code_message

if TYPE_CHECKING:
    from ..config import Settings

API_VERSION = "2026-04-01"
#: Buttondown's email states → postpipe's: every ``EmailStatus`` it documents (draft,
#: managed_by_rss, about_to_send, scheduled, in_flight, paused, deleted, errored, sent,
#: imported, throttled, resending, transactional, suppressed; api-contracts §6 and the
#: ``EmailStatus`` enum of its OpenAPI schema). Everything past "about to send" may have
#: reached part of the list: never sent again by itself. An RSS-managed email is sent by
#: Buttondown; an imported, transactional, suppressed or deleted one is not ours to send.
STATUS = {
    "draft": "draft",
    "scheduled": "scheduled",
    "managed_by_rss": "scheduled",
    "about_to_send": "sending",
    "in_flight": "sending",
    "resending": "sending",
    "throttled": "sending",
    "paused": "sending",
    "sent": "sent",
    "errored": "sent",
    "deleted": "sent",
    "imported": "sent",
    "transactional": "sent",
    "suppressed": "sent",
}
#: A tag's id (a TypeID such as ``tag_01h…``, or a UUID): what an email's tag filter needs.
TAG_ID = re.compile(
    r"(?:sub_)?tag_[0-9a-z]{26}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
META = "postpipe_key"
DIGEST = "postpipe_digest"  # of subject, body and description: no PATCH when unchanged


def explain(response: requests.Response) -> tuple[str, str | None] | None:
    """``{"code", "detail"}`` errors and the 422 validation list."""
    body = response.json()
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    if isinstance(detail, list):  # 422: [{"type","loc","msg"}]
        problems = [
            f"{'.'.join(str(x) for x in item.get('loc') or [])}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        ]
        return "invalid request: " + "; ".join(problems), None
    message = code_message(body.get("code"), detail)
    if not message:
        return None
    hint = None
    if response.status_code in (401, 403):
        hint = "check BUTTONDOWN_API_KEY (Settings → API; it needs email and sending access)"
    return message, hint


class Buttondown(CampaignList):
    """Buttondown (``BUTTONDOWN_API_KEY``, ``BUTTONDOWN_BASE_URL``)."""

    name: ClassVar[str] = "buttondown"
    unsubscribe_tag: ClassVar[str | None] = "{{ unsubscribe_url }}"  # the provider's merge tag
    provider: ClassVar[str] = "Buttondown"
    noun: ClassVar[str] = "email"
    scheduled_by: ClassVar[str] = "its publish_date"
    required: ClassVar[tuple[str, ...]] = ("buttondown_api_key",)
    STATUS = STATUS

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(settings, **options)
        self._tag_ids: dict[str, str] = {}  # tag name → id, read once per run

    def _http_setup(self, settings: Settings) -> HttpSetup:
        return HttpSetup(
            base_url=f"{settings.buttondown_base_url}/v1",
            variable="BUTTONDOWN_BASE_URL",
            headers={
                "Authorization": f"Token {settings.buttondown_api_key}",
                "X-API-Version": API_VERSION,
            },
            explain=explain,
            auth_hint="check BUTTONDOWN_API_KEY",
            rate_headers=("X-RateLimit-Remaining", "X-RateLimit-Reset"),
        )

    def _pages(self, key: IdempotencyKey) -> Iterator[list[dict[str, Any]]]:
        # no status filter: since API version 2025-06-01 (pinned above) the list holds
        # every status but "deleted", so an email in a status new to postpipe is found too
        return self._next_pages(
            "/emails", {"ordering": "-creation_date", "excluded_fields": "body"}
        )

    def _tag_id(self, tag: str) -> str:
        """The id of the subscriber tag ``tag`` (a name, or already an id): Buttondown's
        audience filter takes ids only. Names are looked up once (``GET /tags``)."""
        if TAG_ID.fullmatch(tag):
            return tag
        if tag not in self._tag_ids:
            for page in self._next_pages("/tags", {"page_size": 1000}):
                for item in page:
                    self._tag_ids.setdefault(str(item.get("name")), str(item.get("id")))
            if tag not in self._tag_ids:
                raise ProviderError(
                    f"Buttondown has no subscriber tag named {tag!r}",
                    target=self.name,
                    hint="create the tag in Buttondown (Subscribers → Tags), or set "
                    "BUTTONDOWN_TAG / BUTTONDOWN_TAG_<LANG> to an existing tag's name or id",
                )
        return self._tag_ids[tag]

    def _key_of(self, item: Mapping[str, Any]) -> str | None:
        return (item.get("metadata") or {}).get(META)

    def _read(self, cid: str) -> dict[str, Any]:
        return self.http.get(f"/emails/{cid}").json()

    def _details(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"url": data.get("absolute_url"), "digest": (data.get("metadata") or {}).get(DIGEST)}

    def _report(self, cid: str) -> dict[str, Any]:
        """``GET /v1/emails/{id}/analytics``."""
        return self.http.get(f"/emails/{cid}/analytics").json()

    def _results(self, report: Mapping[str, Any]) -> CampaignResults:
        """Buttondown counts ``opens`` and ``clicks`` per subscriber; a bounce is a
        ``permanent_failures``; it gives no clicks per link in this endpoint."""
        return CampaignResults(
            recipients=count(report.get("recipients")),
            delivered=count(report.get("deliveries")),
            bounces=count(report.get("permanent_failures")),
            opens_unique=count(report.get("opens")),
            clicks_unique=count(report.get("clicks")),
            unsubscribes=count(report.get("unsubscriptions")),
        )

    # -- the protocol ----------------------------------------------------------------
    def _check(self, email: OutgoingEmail) -> None:
        self._tag(email)

    def _tag(self, email: OutgoingEmail) -> str | None:
        """The subscriber tag the email goes to: ``BUTTONDOWN_TAG``, or the
        ``BUTTONDOWN_TAG_<LANG>`` the settings chose for its language; None: everyone."""
        if not email.list_id:
            return self.settings.buttondown_tag or None
        if email.list_id in self.settings.language_lists(self.name).values():
            return email.list_id
        raise ProviderError(
            f"newsletter.list is {email.list_id!r}, but Buttondown sends to the one "
            "newsletter of BUTTONDOWN_API_KEY (a subscriber tag: BUTTONDOWN_TAG, "
            "BUTTONDOWN_TAG_<LANG>)",
            target=self.name,
            hint="remove newsletter.list from the post, or use a key of that newsletter",
        )

    def _write(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        fields: dict[str, Any] = {
            "subject": email.subject,
            "body": email.html,
            "description": email.preheader,
        }
        tag = self._tag(email)
        if tag:  # only subscribers with this tag (e.g. the Swedish edition's readers)
            tag_id = self._tag_id(tag)
            fields["filters"] = {
                "filters": [{"field": "subscriber.tags", "operator": "contains", "value": tag_id}],
                "groups": [],
                "predicate": "and",
            }
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
        fields["metadata"] = {META: key.value, DIGEST: digest}
        if existing is not None and existing.remote_id:
            if existing.data.get("digest") == digest:
                return existing  # unchanged: no write
            data = self.http.patch(f"/emails/{existing.remote_id}", json=fields, retry=True).json()
        else:
            data = self.http.post(
                "/emails",
                # never without a status: Buttondown would send it to everyone at once
                json={**fields, "status": "draft"},
                headers={"X-Idempotency-Key": f"{key}-create-{digest}"},
                retry=True,  # safe: the same idempotency key replays the first answer
            ).json()
        return self._campaign(key.value, data)

    def _start(self, campaign: Campaign, cid: str) -> Campaign:
        """Publish now; a repeat with the same idempotency key replays the first answer."""
        data = self.http.post(
            f"/emails/{cid}/publish",
            json={},
            headers={"X-Idempotency-Key": f"{campaign.key}-send"},
        ).json()
        result = self._campaign(campaign.key, data)
        # Buttondown answers with the email: "sending" at least
        return result if result.sent else replace(result, status="sending")

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        self.http.post(f"/emails/{self._id(campaign)}/send-draft", json={"recipients": [address]})

    def schedule(self, campaign: Campaign, email: OutgoingEmail, at: datetime) -> Campaign:
        """``status: scheduled`` with ``publish_date`` (never a past time: that sends at once)."""
        when = require_future(at, self.clock(), self.name)
        data = self.http.patch(
            f"/emails/{self._id(campaign)}",
            json={"status": "scheduled", "publish_date": when.isoformat()},
            retry=True,
        ).json()
        return self._scheduled(self._campaign(campaign.key, data), when)
