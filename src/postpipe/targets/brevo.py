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
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from ..keys import IdempotencyKey
from .base import Campaign, CampaignResults, OutgoingEmail, count, list_ids, require_future
from .campaigns import CampaignList, HttpSetup, code_message

if TYPE_CHECKING:
    from ..config import Settings

#: Brevo's campaign states → postpipe's: every one it documents for ``GET
#: /emailCampaigns`` (draft, sent, archive, queued, suspended, inProcess — spelled
#: in_process in newer references —, inReview; api-contracts §7 and
#: developers.brevo.com "Get email campaigns"). A suspended campaign was never
#: started (Brevo suspends before sending); one in review goes out once approved.
STATUS = {
    "draft": "draft",
    "suspended": "draft",
    "queued": "scheduled",
    "inReview": "sending",
    "inProcess": "sending",
    "in_process": "sending",
    "sent": "sent",
    "archive": "sent",
}
PAGE = 100  # the largest page GET /emailCampaigns allows
TAG_PREFIX = "postpipe:"


def explain(response: requests.Response) -> tuple[str, str | None] | None:
    """Brevo's ``{"code", "message"}``; 402 and 401 with what to do."""
    body = response.json()
    if not isinstance(body, dict):
        return None
    code = str(body.get("code") or "").strip()
    message = code_message(code, body.get("message"))
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


class Brevo(CampaignList):
    """Brevo (``BREVO_API_KEY``, ``BREVO_LIST_IDS``, ``BREVO_BASE_URL``)."""

    name: ClassVar[str] = "brevo"
    unsubscribe_tag: ClassVar[str | None] = "{{ unsubscribe }}"  # the provider's merge tag
    provider: ClassVar[str] = "Brevo"
    scheduled_by: ClassVar[str] = "its scheduledAt"
    required: ClassVar[tuple[str, ...]] = ("brevo_api_key", "brevo_list_ids")
    STATUS = STATUS
    first_match: ClassVar[bool] = True  # newest first: the hourly budget is small
    #: of the ~100 campaign requests an hour, reports take at most this many (publish
    #: and send keep the rest)
    report_budget: ClassVar[int | None] = 20

    def _http_setup(self, settings: Settings) -> HttpSetup:
        self.lists = list_ids(settings.brevo_list_ids, "BREVO_LIST_IDS")
        return HttpSetup(
            base_url=settings.brevo_base_url,
            variable="BREVO_BASE_URL",
            headers={"api-key": settings.brevo_api_key or "", "Accept": "application/json"},
            explain=explain,
            auth_hint="check BREVO_API_KEY",
            rate_headers=("x-sib-ratelimit-remaining", "x-sib-ratelimit-reset"),
        )

    def _pages(self, key: IdempotencyKey) -> Iterator[list[dict[str, Any]]]:
        """Newest first, 100 a page (Brevo cannot search by name)."""
        params = {"type": "classic", "limit": PAGE, "sort": "desc", "excludeHtmlContent": "true"}
        return self._offset_pages("/emailCampaigns", params, "campaigns", "count")

    def _key_of(self, item: Mapping[str, Any]) -> str | None:
        return item.get("name")

    def _read(self, cid: str) -> dict[str, Any]:
        data = self.http.get(f"/emailCampaigns/{cid}", params={"excludeHtmlContent": "true"})
        return data.json()

    def _details(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"tag": data.get("tag")}

    # -- the protocol ----------------------------------------------------------------
    def _write(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        body = self._body(email, key.value)
        if existing is not None and existing.remote_id:
            if existing.data.get("tag") == body["tag"]:
                return existing  # same content: no call (the hourly budget is small)
            self.http.put(f"/emailCampaigns/{existing.remote_id}", json=body)
            cid = existing.remote_id
        else:
            cid = str(self.http.post("/emailCampaigns", json=body).json()["id"])
        return Campaign(key=key.value, remote_id=cid, status="draft", data={"tag": body["tag"]})

    def _start(self, campaign: Campaign, cid: str) -> Campaign:
        """``sendNow``; 402 (no credits) is final."""
        self.http.post(f"/emailCampaigns/{cid}/sendNow")
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
        return self._scheduled(Campaign(campaign.key, cid, "scheduled", campaign.data), when)

    def _report(self, cid: str) -> dict[str, Any]:
        """One ``GET /emailCampaigns/{id}``: its ``statistics`` hold globalStats,
        campaignStats (per list) and linksStats."""
        params = {"excludeHtmlContent": "true"}
        return self.http.get(f"/emailCampaigns/{cid}", params=params).json()

    def _results(self, report: Mapping[str, Any]) -> CampaignResults:
        """``globalStats``, or the sum of ``campaignStats`` (one entry per list) where
        Brevo leaves the global figures empty; ``linksStats`` is ``{url: clicks}``."""
        stats = report.get("statistics") or {}
        figures = dict(stats.get("globalStats") or {})
        per_list = [s for s in stats.get("campaignStats") or [] if isinstance(s, dict)]
        if not any(count(v) for v in figures.values()) and per_list:
            figures = {
                k: sum(count(s.get(k)) or 0 for s in per_list)
                for k in ("sent", "delivered", "hardBounces", "softBounces", "uniqueViews",
                          "uniqueClicks", "unsubscriptions")
            }  # fmt: skip
        hard, soft = count(figures.get("hardBounces")), count(figures.get("softBounces"))
        links = stats.get("linksStats") or {}
        return CampaignResults(
            recipients=count(figures.get("sent")),
            delivered=count(figures.get("delivered")),
            bounces=None if hard is None and soft is None else (hard or 0) + (soft or 0),
            opens_unique=count(figures.get("uniqueViews")),
            clicks_unique=count(figures.get("uniqueClicks")),
            unsubscribes=count(figures.get("unsubscriptions")),
            links=tuple(
                (str(url), count(n) or 0) for url, n in links.items() if isinstance(url, str)
            ),
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
