"""The ``listmonk`` list: campaigns on a self-hosted listmonk (``LISTMONK_URL/api``).

The campaign's name is the idempotency key. listmonk's own state machine refuses
to start a campaign twice ("Only paused campaigns and drafts can be started."),
which is what makes a repeated status change harmless. Every auth failure is a
403 there, and a missing campaign is a 400, not a 404.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from ..keys import IdempotencyKey
from .base import Campaign, CampaignResults, OutgoingEmail, count, list_ids, require_future
from .campaigns import CampaignList, HttpSetup

if TYPE_CHECKING:
    from ..config import Settings

#: listmonk's campaign states → postpipe's: all it documents (draft, scheduled,
#: running, paused, cancelled, finished; api-contracts §4 and §8, listmonk's
#: ``models.CampaignStatus*``). A paused or cancelled campaign was running: part of
#: the list may have it, so it is never started again.
STATUS = {
    "draft": "draft",
    "scheduled": "scheduled",
    "running": "sending",
    "paused": "sending",
    "cancelled": "sent",
    "finished": "sent",
}
PER_PAGE = 50  # listmonk's maximum page size
_CREDENTIALS = "LISTMONK_USER and LISTMONK_TOKEN"


def explain(response: requests.Response) -> tuple[str, str | None] | None:
    """listmonk's ``{"message": …}``, with the variables to check on a 403."""
    body = response.json()
    message = str(body.get("message") or "").strip() if isinstance(body, dict) else ""
    if not message:
        return None
    hint = None
    if response.status_code == 403:
        if "permission" in message:
            hint = (
                "give the API user of LISTMONK_USER a role with campaigns:get_all, "
                "campaigns:manage and campaigns:send, and campaigns:get_analytics for "
                "postpipe report (Admin → Users → Roles)"
            )
        else:
            hint = f"check {_CREDENTIALS} (an API user from Admin → Users)"
    elif "subscribers to test" in message:
        hint = "listmonk sends test copies only to existing subscribers: add the address to a list"
    return message, hint


class Listmonk(CampaignList):
    """listmonk (``LISTMONK_URL``, ``LISTMONK_USER``, ``LISTMONK_TOKEN``, ``LISTMONK_LIST_IDS``)."""

    name: ClassVar[str] = "listmonk"
    unsubscribe_tag: ClassVar[str | None] = "{{ UnsubscribeURL }}"  # the provider's merge tag
    provider: ClassVar[str] = "listmonk"
    scheduled_by: ClassVar[str] = "its send_at"
    required: ClassVar[tuple[str, ...]] = (
        "listmonk_url",
        "listmonk_user",
        "listmonk_token",
        "listmonk_list_ids",
    )
    STATUS = STATUS

    def _http_setup(self, settings: Settings) -> HttpSetup:
        self.lists = list_ids(settings.listmonk_list_ids, "LISTMONK_LIST_IDS")
        token = f"token {settings.listmonk_user}:{settings.listmonk_token}"
        return HttpSetup(
            base_url=f"{settings.listmonk_url}/api",
            variable="LISTMONK_URL",
            headers={"Authorization": token},
            explain=explain,
            auth_hint=f"check {_CREDENTIALS}",
        )

    def _pages(self, key: IdempotencyKey) -> Iterator[list[dict[str, Any]]]:
        """listmonk searches name and subject for the slug; the key is matched exactly."""
        page = 1
        while True:
            data = self.http.get(
                "/campaigns",
                params={"query": key.slug, "no_body": "true", "page": page, "per_page": PER_PAGE},
            ).json()["data"]
            results = data.get("results") or []
            yield results
            if not results or page * PER_PAGE >= int(data.get("total") or 0):
                return
            page += 1

    def _key_of(self, item: Mapping[str, Any]) -> str | None:
        return item.get("name")

    def _read(self, cid: str) -> dict[str, Any]:
        return self.http.get(f"/campaigns/{cid}", params={"no_body": "true"}).json()["data"]

    def _details(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"uuid": data.get("uuid")}

    report_calls: ClassVar[int] = 4

    def _report(self, cid: str) -> dict[str, Any]:
        """The campaign (its counts) and its analytics from its start until tomorrow:
        views, clicks (per hour or day bucket) and links (the 50 most clicked)."""
        campaign = self._read(cid)
        start = str(campaign.get("started_at") or campaign.get("created_at") or "")[:10]
        until = (self.clock() + timedelta(days=1)).strftime("%Y-%m-%d")
        window = {"id": cid, "from": start or until, "to": until}
        out: dict[str, Any] = {"campaign": campaign}
        for kind in ("views", "clicks", "links"):
            answer = self.http.get(f"/campaigns/analytics/{kind}", params=window).json()
            out[kind] = answer.get("data") or []
        return out

    def _results(self, report: Mapping[str, Any]) -> CampaignResults:
        """listmonk counts a campaign's ``views``/``clicks`` as events; the analytics
        buckets count distinct subscribers per bucket when individual tracking is on
        (events otherwise), the closest listmonk comes to unique opens. It knows no
        deliveries and no unsubscribes per campaign."""
        c = report["campaign"]

        def total(rows: list[dict[str, Any]]) -> int | None:
            return sum(count(r.get("count")) or 0 for r in rows) if rows else None

        views, clicks = total(report["views"]), total(report["clicks"])
        return CampaignResults(
            recipients=count(c.get("sent")),
            bounces=count(c.get("bounces")),
            opens_unique=views if views is not None else (0 if c.get("views") == 0 else None),
            clicks_unique=clicks if clicks is not None else (0 if c.get("clicks") == 0 else None),
            links=tuple(
                (str(r["url"]), count(r.get("count")) or 0) for r in report["links"] if r.get("url")
            ),
        )

    # -- the protocol ----------------------------------------------------------------
    def _write(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        body = self._body(email, key.value)
        if existing is not None and existing.remote_id:
            data = self.http.put(f"/campaigns/{existing.remote_id}", json=body).json()["data"]
        else:
            data = self.http.post("/campaigns", json=body).json()["data"]
        return self._campaign(key.value, data)

    def _start(self, campaign: Campaign, cid: str) -> Campaign:
        """Status → ``running``: a repeat is refused by listmonk (400), never sent twice.
        listmonk stores ``scheduled`` instead when the campaign has a send_at."""
        data = self.http.put(f"/campaigns/{cid}/status", json={"status": "running"})
        return self._campaign(campaign.key, data.json()["data"])

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        """listmonk re-validates the whole campaign on a test, so send every field again."""
        body = {**self._body(email, campaign.key), "subscribers": [address]}
        self.http.post(f"/campaigns/{self._id(campaign)}/test", json=body)

    def schedule(self, campaign: Campaign, email: OutgoingEmail, at: datetime) -> Campaign:
        """Store ``send_at``, then status → ``scheduled``; listmonk starts it then."""
        when = require_future(at, self.clock(), self.name)
        cid = self._id(campaign)
        body = {**self._body(email, campaign.key), "send_at": when.isoformat()}
        self.http.put(f"/campaigns/{cid}", json=body)
        data = self.http.put(f"/campaigns/{cid}/status", json={"status": "scheduled"})
        return self._scheduled(self._campaign(campaign.key, data.json()["data"]), when)

    # -- helpers -----------------------------------------------------------------------
    def _body(self, email: OutgoingEmail, key: str) -> dict[str, Any]:
        lists = list_ids(email.list_id, "newsletter.list") if email.list_id else self.lists
        return {
            "name": key,
            "subject": email.subject,
            "lists": lists,
            "type": "regular",
            "content_type": "html",
            "body": email.html,
            "altbody": email.text,
            "from_email": formataddr((email.from_name, email.from_email)),
            "messenger": "email",
            "tags": ["postpipe"],
        }
