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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from ..errors import ProviderError
from ..http import make_http
from ..keys import IdempotencyKey
from ..render.email import UNSUBSCRIBE_TAGS
from .base import Campaign, OutgoingEmail, require_future, require_sender, require_unsubscribe

if TYPE_CHECKING:
    from ..config import Settings

API_VERSION = "2026-04-01"
#: Buttondown's email states → postpipe's. Everything past "about to send" is sent.
STATUS = {
    "draft": "draft",
    "scheduled": "scheduled",
    "about_to_send": "sending",
    "in_flight": "sending",
    "resending": "sending",
    "throttled": "sending",
    "paused": "sending",
    "sent": "sent",
    "errored": "sent",  # it may have reached part of the list: never again by itself
}
#: Every state an email of ours can be in, asked for explicitly (old API versions
#: list only sent emails otherwise).
SEARCH_STATES = (
    "draft",
    "scheduled",
    "about_to_send",
    "in_flight",
    "paused",
    "throttled",
    "resending",
    "errored",
    "sent",
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
    code = str(body.get("code") or "").strip()
    text = str(detail or "").strip()
    message = f"{code}: {text}" if code and text else (code or text)
    if not message:
        return None
    hint = None
    if response.status_code in (401, 403):
        hint = "check BUTTONDOWN_API_KEY (Settings → API; it needs email and sending access)"
    return message, hint


class Buttondown:
    """Buttondown (``BUTTONDOWN_API_KEY``, ``BUTTONDOWN_BASE_URL``)."""

    name: ClassVar[str] = "buttondown"

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        **_: object,
    ) -> None:
        settings.require("buttondown_api_key", target=self.name)
        require_sender(settings, self.name)
        self.clock = clock or (lambda: datetime.now(UTC))
        extra = {"sleep": sleep} if sleep else {}
        self.http = make_http(
            settings,
            self.name,
            f"{settings.buttondown_base_url}/v1",
            "BUTTONDOWN_BASE_URL",
            headers={
                "Authorization": f"Token {settings.buttondown_api_key}",
                "X-API-Version": API_VERSION,
            },
            explain=explain,
            auth_hint="check BUTTONDOWN_API_KEY",
            rate_headers=("X-RateLimit-Remaining", "X-RateLimit-Reset"),
            **extra,
        )

    # -- the protocol ----------------------------------------------------------------
    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        """The email whose ``metadata.postpipe_key`` is ``key``, in any state."""
        found: list[dict[str, Any]] = []
        url: str | None = "/emails"
        params: dict[str, Any] | None = {
            "status": list(SEARCH_STATES),
            "ordering": "-creation_date",
            "excluded_fields": "body",
        }
        while url:
            page = self.http.get(url, params=params).json()
            found += [
                e
                for e in page.get("results") or []
                if key.matches((e.get("metadata") or {}).get(META))
            ]
            url, params = page.get("next"), None  # "next" carries the query
        if not found:
            return None
        order = ("sent", "sending", "scheduled", "draft")
        best = min(found, key=lambda e: order.index(STATUS.get(e.get("status", ""), "sent")))
        return self._campaign(key.value, best)

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        require_unsubscribe(email, UNSUBSCRIBE_TAGS[self.name], self.name)
        if email.list_id:
            raise ProviderError(
                f"newsletter.list is {email.list_id!r}, but Buttondown sends to the one "
                "newsletter of BUTTONDOWN_API_KEY",
                target=self.name,
                hint="remove newsletter.list from the post, or use a key of that newsletter",
            )
        if existing is not None and existing.status != "draft":
            return existing  # scheduled or sent: never touched again
        fields: dict[str, Any] = {
            "subject": email.subject,
            "body": email.html,
            "description": email.preheader,
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

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        """Publish now. Not repeated on a lost answer; a refusal is checked against the state."""
        eid = self._id(campaign)
        if campaign.sent:
            return campaign  # it went out already: never a second time
        if campaign.status == "scheduled":
            raise self._scheduled_error(eid)
        try:
            data = self.http.post(
                f"/emails/{eid}/publish",
                json={},
                headers={"X-Idempotency-Key": f"{campaign.key}-send"},
            ).json()
        except ProviderError as exc:
            if exc.status != 400:
                raise
            current = self._get(campaign.key, eid)
            if current.sent:
                return current
            if current.status == "scheduled":
                raise self._scheduled_error(eid) from None
            raise
        result = self._campaign(campaign.key, data)
        if not result.sent:  # Buttondown answers with the email; "sending" at least
            result = Campaign(
                key=result.key, remote_id=result.remote_id, status="sending", data=result.data
            )
        return result

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        self.http.post(f"/emails/{self._id(campaign)}/send-draft", json={"recipients": [address]})

    def schedule(self, campaign: Campaign, email: OutgoingEmail, at: datetime) -> Campaign:
        """``status: scheduled`` with ``publish_date`` (never a past time: that sends at once)."""
        when = require_future(at, self.clock(), self.name)
        eid = self._id(campaign)
        data = self.http.patch(
            f"/emails/{eid}",
            json={"status": "scheduled", "publish_date": when.isoformat()},
            retry=True,
        ).json()
        result = self._campaign(campaign.key, data)
        return Campaign(
            key=result.key,
            remote_id=result.remote_id,
            status=result.status,
            data={**result.data, "scheduled_at": when.isoformat()},
        )

    # -- helpers -----------------------------------------------------------------------
    def _id(self, campaign: Campaign) -> str:
        if not campaign.remote_id:
            raise ProviderError(
                "the email has no Buttondown id; prepare it first", target=self.name
            )
        return campaign.remote_id

    def _campaign(self, key: str, data: dict[str, Any]) -> Campaign:
        return Campaign(
            key=key,
            remote_id=str(data["id"]),
            status=STATUS.get(str(data.get("status")), "sent"),
            data={
                "buttondown_status": data.get("status"),
                "url": data.get("absolute_url"),
                "digest": (data.get("metadata") or {}).get(DIGEST),
            },
        )

    def _get(self, key: str, eid: str) -> Campaign:
        return self._campaign(key, self.http.get(f"/emails/{eid}").json())

    def _scheduled_error(self, eid: str) -> ProviderError:
        return ProviderError(
            f"email {eid} is scheduled at Buttondown; postpipe does not send it a second time",
            target=self.name,
            hint="it goes out at its publish_date and the next run records it; to send it "
            "now, unschedule it in Buttondown first",
            maybe_sent=True,
        )
