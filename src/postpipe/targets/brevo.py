"""The ``brevo`` list: email campaigns through the Brevo API v3.

Brevo's campaign endpoints allow about 100 requests an hour (General plan), so
this adapter makes as few calls as it can: one listing to find a campaign (the
campaign's ``name`` is the idempotency key), one create, and no update when the
content did not change (a digest of it rides in the campaign's ``tag``). Brevo
has no idempotency keys and sends no ``Retry-After``; its ``x-sib-ratelimit-*``
headers pace the requests (``http.py``). 402 (no credits) is final.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from ..errors import ProviderError
from ..http import make_http
from ..keys import IdempotencyKey
from ..render.email import UNSUBSCRIBE_TAGS
from .base import (
    Campaign,
    OutgoingEmail,
    list_ids,
    require_future,
    require_sender,
    require_unsubscribe,
)

if TYPE_CHECKING:
    from ..config import Settings

#: Brevo's campaign states → postpipe's.
STATUS = {
    "draft": "draft",
    "suspended": "draft",
    "queued": "scheduled",
    "inProcess": "sending",
    "in_process": "sending",
    "sent": "sent",
    "archive": "sent",
    "inReview": "sending",
}
PAGE = 100  # the largest page GET /emailCampaigns allows
TAG_PREFIX = "postpipe:"


def explain(response: requests.Response) -> tuple[str, str | None] | None:
    """Brevo's ``{"code", "message"}``; 402 and 401 with what to do."""
    body = response.json()
    if not isinstance(body, dict):
        return None
    code = str(body.get("code") or "").strip()
    text = str(body.get("message") or "").strip()
    message = f"{code}: {text}" if code and text else (code or text)
    if not message:
        return None
    hint = None
    if response.status_code == 402 or code == "not_enough_credits":
        hint = (
            "nothing was sent: the Brevo account has no email credits left; "
            "add credits, then send again"
        )
    elif response.status_code in (401, 403):
        hint = "check BREVO_API_KEY (SMTP & API → API keys; an SMTP key does not work here)"
    elif response.status_code == 429:
        hint = "Brevo allows about 100 campaign requests an hour; nothing was sent, run again later"
    return message, hint


class Brevo:
    """Brevo (``BREVO_API_KEY``, ``BREVO_LIST_IDS``, ``BREVO_BASE_URL``)."""

    name: ClassVar[str] = "brevo"

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        **_: object,
    ) -> None:
        settings.require("brevo_api_key", "brevo_list_ids", target=self.name)
        require_sender(settings, self.name)
        self.lists = list_ids(settings.brevo_list_ids, "BREVO_LIST_IDS")
        self.clock = clock or (lambda: datetime.now(UTC))
        extra = {"sleep": sleep} if sleep else {}
        self.http = make_http(
            settings,
            self.name,
            settings.brevo_base_url,
            "BREVO_BASE_URL",
            headers={"api-key": settings.brevo_api_key or "", "Accept": "application/json"},
            explain=explain,
            auth_hint="check BREVO_API_KEY",
            rate_headers=("x-sib-ratelimit-remaining", "x-sib-ratelimit-reset"),
            **extra,
        )

    # -- the protocol ----------------------------------------------------------------
    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        """The campaign named ``key``: newest first, one page of 100 per request."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.http.get(
                "/emailCampaigns",
                params={
                    "type": "classic",
                    "limit": PAGE,
                    "offset": offset,
                    "sort": "desc",
                    "excludeHtmlContent": "true",
                },
            ).json()
            campaigns = page.get("campaigns") or []
            found += [c for c in campaigns if key.matches(c.get("name"))]
            offset += len(campaigns)
            if found or not campaigns or offset >= int(page.get("count") or 0):
                break
        if not found:
            return None
        order = ("sent", "sending", "scheduled", "draft")
        best = min(found, key=lambda c: order.index(STATUS.get(c.get("status", ""), "sent")))
        return self._campaign(key.value, best)

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        require_unsubscribe(email, UNSUBSCRIBE_TAGS[self.name], self.name)
        if existing is not None and existing.status != "draft":
            return existing  # scheduled or sent: never touched again
        body = self._body(email, key.value)
        if existing is not None and existing.remote_id:
            if existing.data.get("tag") == body["tag"]:
                return existing  # same content: no call (the hourly budget is small)
            self.http.put(f"/emailCampaigns/{existing.remote_id}", json=body)
            return Campaign(
                key=key.value,
                remote_id=existing.remote_id,
                status="draft",
                data={"tag": body["tag"]},
            )
        data = self.http.post("/emailCampaigns", json=body).json()
        return Campaign(
            key=key.value, remote_id=str(data["id"]), status="draft", data={"tag": body["tag"]}
        )

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        """``sendNow``; 402 is final; a refusal is checked against the campaign's state."""
        cid = self._id(campaign)
        if campaign.sent:
            return campaign  # it went out already: never a second time
        if campaign.status == "scheduled":
            raise self._scheduled_error(cid)
        try:
            self.http.post(f"/emailCampaigns/{cid}/sendNow")
        except ProviderError as exc:
            if exc.status != 400:
                raise
            current = self._get(campaign.key, cid)
            if current.sent:
                return current
            if current.status == "scheduled":
                raise self._scheduled_error(cid) from None
            raise
        return Campaign(key=campaign.key, remote_id=cid, status="sending", data=campaign.data)

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        self.http.post(
            f"/emailCampaigns/{self._id(campaign)}/sendTest", json={"emailTo": [address]}
        )

    def schedule(self, campaign: Campaign, email: OutgoingEmail, at: datetime) -> Campaign:
        """``scheduledAt`` on the campaign; Brevo sends it then."""
        when = require_future(at, self.clock(), self.name)
        cid = self._id(campaign)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.http.put(f"/emailCampaigns/{cid}", json={"scheduledAt": stamp})
        return Campaign(
            key=campaign.key,
            remote_id=cid,
            status="scheduled",
            data={**campaign.data, "scheduled_at": when.isoformat()},
        )

    # -- helpers -----------------------------------------------------------------------
    def _body(self, email: OutgoingEmail, key: str) -> dict[str, Any]:
        lists = list_ids(email.list_id, "newsletter.list") if email.list_id else self.lists
        body: dict[str, Any] = {
            "name": key,
            "subject": email.subject,
            "previewText": email.preheader,
            "sender": {"name": email.from_name, "email": email.from_email},
            "replyTo": email.reply_to,
            "htmlContent": email.html,
            "recipients": {"listIds": lists},
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
        body["tag"] = TAG_PREFIX + digest
        return body

    def _id(self, campaign: Campaign) -> str:
        if not campaign.remote_id:
            raise ProviderError("the campaign has no Brevo id; prepare it first", target=self.name)
        return campaign.remote_id

    def _campaign(self, key: str, data: dict[str, Any]) -> Campaign:
        return Campaign(
            key=key,
            remote_id=str(data["id"]),
            status=STATUS.get(str(data.get("status")), "sent"),
            data={"tag": data.get("tag"), "brevo_status": data.get("status")},
        )

    def _get(self, key: str, cid: str) -> Campaign:
        data = self.http.get(f"/emailCampaigns/{cid}", params={"excludeHtmlContent": "true"})
        return self._campaign(key, data.json())

    def _scheduled_error(self, cid: str) -> ProviderError:
        return ProviderError(
            f"campaign {cid} is scheduled at Brevo; postpipe does not send it a second time",
            target=self.name,
            hint="it goes out at its scheduledAt and the next run records it; to send it "
            "now, unschedule it in Brevo first",
            maybe_sent=True,
        )
