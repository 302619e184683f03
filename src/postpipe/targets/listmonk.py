"""The ``listmonk`` list: campaigns on a self-hosted listmonk (``LISTMONK_URL/api``).

The campaign's name is the idempotency key. listmonk's own state machine refuses
to start a campaign twice ("Only paused campaigns and drafts can be started."),
which is what makes a repeated status change harmless. Every auth failure is a
403 there, and a missing campaign is a 400, not a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import formataddr
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

#: listmonk's campaign states → postpipe's. A paused or cancelled campaign was
#: running: part of the list may have it, so it is never started again.
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
                "campaigns:manage and campaigns:send (Admin → Users → Roles)"
            )
        else:
            hint = f"check {_CREDENTIALS} (an API user from Admin → Users)"
    elif "subscribers to test" in message:
        hint = "listmonk sends test copies only to existing subscribers: add the address to a list"
    return message, hint


class Listmonk:
    """listmonk (``LISTMONK_URL``, ``LISTMONK_USER``, ``LISTMONK_TOKEN``, ``LISTMONK_LIST_IDS``)."""

    name: ClassVar[str] = "listmonk"

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        **_: object,
    ) -> None:
        settings.require(
            "listmonk_url",
            "listmonk_user",
            "listmonk_token",
            "listmonk_list_ids",
            target=self.name,
        )
        require_sender(settings, self.name)
        self.settings = settings
        self.lists = list_ids(settings.listmonk_list_ids, "LISTMONK_LIST_IDS")
        self.clock = clock or (lambda: datetime.now(UTC))
        extra = {"sleep": sleep} if sleep else {}
        self.http = make_http(
            settings,
            self.name,
            f"{settings.listmonk_url}/api",
            "LISTMONK_URL",
            headers={"Authorization": f"token {settings.listmonk_user}:{settings.listmonk_token}"},
            explain=explain,
            auth_hint=f"check {_CREDENTIALS}",
            **extra,
        )

    # -- the protocol ----------------------------------------------------------------
    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        """The campaign named ``key`` (listmonk searches name and subject; we match exactly)."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self.http.get(
                "/campaigns",
                params={"query": key.slug, "no_body": "true", "page": page, "per_page": PER_PAGE},
            ).json()["data"]
            results = data.get("results") or []
            found += [c for c in results if key.matches(c.get("name"))]
            if not results or page * PER_PAGE >= int(data.get("total") or 0):
                break
            page += 1
        if not found:
            return None
        order = ("sent", "sending", "scheduled", "draft")
        best = min(found, key=lambda c: order.index(STATUS.get(c.get("status", ""), "draft")))
        return self._campaign(key.value, best)

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        require_unsubscribe(email, UNSUBSCRIBE_TAGS[self.name], self.name)
        if existing is not None and existing.status != "draft":
            return existing  # scheduled or started: listmonk refuses changes anyway
        body = self._body(email, key.value)
        if existing is not None and existing.remote_id:
            data = self.http.put(f"/campaigns/{existing.remote_id}", json=body).json()["data"]
        else:
            data = self.http.post("/campaigns", json=body).json()["data"]
        return self._campaign(key.value, data)

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        """Status → ``running``. A repeat is refused by listmonk (400), never sent twice."""
        cid = self._id(campaign)
        if campaign.sent:
            return campaign  # it went out already: never a second time
        if campaign.status == "scheduled":
            raise self._scheduled_error(cid)
        try:
            data = self.http.put(f"/campaigns/{cid}/status", json={"status": "running"}).json()[
                "data"
            ]
        except ProviderError as exc:
            if exc.status is None or exc.status >= 500:
                exc.maybe_sent = True  # the status change may have been stored
                raise
            if exc.status != 400:
                raise
            current = self._get(campaign.key, cid)
            if current.sent:
                return current
            if current.status == "scheduled":
                raise self._scheduled_error(cid) from None
            raise
        result = self._campaign(campaign.key, data)
        if result.status == "scheduled":
            # listmonk stores "scheduled" for "running" when the campaign has a send_at
            raise self._scheduled_error(cid)
        return result

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
        data = self.http.put(f"/campaigns/{cid}/status", json={"status": "scheduled"}).json()[
            "data"
        ]
        result = self._campaign(campaign.key, data)
        return Campaign(
            key=result.key,
            remote_id=result.remote_id,
            status=result.status,
            data={**result.data, "scheduled_at": when.isoformat()},
        )

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

    def _id(self, campaign: Campaign) -> str:
        if not campaign.remote_id:
            raise ProviderError(
                "the campaign has no listmonk id; prepare it first", target=self.name
            )
        return campaign.remote_id

    def _campaign(self, key: str, data: dict[str, Any]) -> Campaign:
        return Campaign(
            key=key,
            remote_id=str(data["id"]),
            status=STATUS.get(str(data.get("status")), "draft"),
            data={"uuid": data.get("uuid"), "listmonk_status": data.get("status")},
        )

    def _get(self, key: str, cid: str) -> Campaign:
        data = self.http.get(f"/campaigns/{cid}", params={"no_body": "true"}).json()["data"]
        return self._campaign(key, data)

    def _scheduled_error(self, cid: str) -> ProviderError:
        return ProviderError(
            f"campaign {cid} is scheduled in listmonk; postpipe does not start it a second time",
            target=self.name,
            hint="listmonk starts it at its send_at and the next run records it; to send it "
            "now, unschedule it in listmonk first",
            maybe_sent=True,
        )
