"""The ``mailchimp`` list: regular campaigns through the Marketing API v3.

The campaign's ``settings.title`` is the idempotency key, which is how
``find_campaign`` finds it again after a crash or a deleted ledger (Mailchimp has
no idempotency keys and does not keep titles unique). Mailchimp sends no
``Retry-After`` and may answer a bare 429 or 403 under load: ``http.py`` backs
off on both for calls that are safe to repeat, and never repeats a create or a
send. At most 4 connections are open (Mailchimp allows 10 per user).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from ..errors import ConfigError, ProviderError
from ..http import RetryPolicy, make_http
from ..keys import IdempotencyKey
from ..render.email import UNSUBSCRIBE_TAGS
from .base import Campaign, OutgoingEmail, require_future, require_sender, require_unsubscribe

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger("postpipe.targets.mailchimp")

#: Mailchimp's campaign states → postpipe's (``sending``/``sent`` are never sent again).
STATUS = {
    "save": "draft",
    "paused": "draft",
    "schedule": "scheduled",
    "sending": "sending",
    "sent": "sent",
}
PAGE = 1000  # the largest page GET /campaigns allows
_DC = re.compile(r"-([a-z]+\d+)$")


def base_url_for(api_key: str) -> str:
    """``https://<dc>.api.mailchimp.com/3.0`` from the key's data-centre suffix."""
    m = _DC.search(api_key.strip())
    if not m:
        raise ConfigError(
            "MAILCHIMP_API_KEY does not end in a data centre such as -us21",
            hint="copy the whole key from Mailchimp (Profile → Extras → API keys), "
            "or set MAILCHIMP_BASE_URL",
        )
    return f"https://{m.group(1)}.api.mailchimp.com/3.0"


def quarter_hour(at: datetime) -> datetime:
    """``at`` (UTC) rounded up to the next :00/:15/:30/:45 (unchanged if already on one)."""
    at = at.astimezone(UTC)
    base = at.replace(minute=0, second=0, microsecond=0)
    steps = -(-(at - base) // timedelta(minutes=15))  # ceiling division
    return base + steps * timedelta(minutes=15)


def explain(response: requests.Response) -> tuple[str, str | None] | None:
    """Mailchimp's problem+json (title, detail and field errors), or a bare 403/429."""
    status = response.status_code
    if not response.content.strip():
        if status in (403, 429):
            return (
                f"Mailchimp answered a bare {status} (no body): it does this when it throttles "
                "(more than 10 connections at once) or when the plan lacks the feature",
                "wait a minute and run again; if it persists, check the account's plan and "
                "MAILCHIMP_API_KEY",
            )
        return None
    body = response.json()
    if not isinstance(body, dict):
        return None
    title = str(body.get("title") or "").strip()
    detail = str(body.get("detail") or "").strip()
    message = ": ".join(x for x in (title, detail) if x) or f"HTTP {status}"
    fields = [
        f"{e.get('field') or '?'}: {e.get('message')}"
        for e in body.get("errors") or []
        if isinstance(e, dict) and e.get("message")
    ]
    if fields:
        message += " (" + "; ".join(fields) + ")"
    hint = None
    if status == 401:
        hint = (
            "check MAILCHIMP_API_KEY, and that its -usNN suffix matches the data centre "
            "(or MAILCHIMP_BASE_URL)"
        )
    elif (
        status == 404
        and response.request.method == "POST"
        and ((response.request.url or "").rstrip("/").endswith("/campaigns"))
    ):
        hint = (
            "check MAILCHIMP_LIST_ID or the post's newsletter.list (Audience → Settings → "
            "Audience name and defaults shows the id)"
        )
    return message, hint


class Mailchimp:
    """Mailchimp Marketing API v3 (``MAILCHIMP_API_KEY``, ``MAILCHIMP_LIST_ID``)."""

    name: ClassVar[str] = "mailchimp"

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        **_: object,
    ) -> None:
        settings.require("mailchimp_api_key", "mailchimp_list_id", target=self.name)
        require_sender(settings, self.name)
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        key = settings.mailchimp_api_key or ""
        base = settings.mailchimp_base_url or base_url_for(key)
        extra = {"sleep": sleep} if sleep else {}
        self.http = make_http(
            settings,
            self.name,
            base,
            "MAILCHIMP_BASE_URL" if settings.mailchimp_base_url else "MAILCHIMP_API_KEY",
            auth=("postpipe", key),
            # a bare 403 is how Mailchimp throttles, too: back off on it (safe calls only)
            policy=RetryPolicy(extra_statuses=frozenset({403})),
            max_connections=4,
            explain=explain,
            auth_hint="check MAILCHIMP_API_KEY (and MAILCHIMP_BASE_URL if set)",
            **extra,
        )

    # -- the protocol ----------------------------------------------------------------
    def find_campaign(self, key: IdempotencyKey) -> Campaign | None:
        """The newest campaign whose title is ``key`` (a sent one wins over drafts)."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.http.get(
                "/campaigns",
                params={
                    "count": PAGE,
                    "offset": offset,
                    "sort_field": "create_time",
                    "sort_dir": "DESC",
                    "fields": "campaigns.id,campaigns.web_id,campaigns.status,"
                    "campaigns.settings.title,campaigns.send_time,total_items",
                },
            ).json()
            campaigns = page.get("campaigns") or []
            found += [c for c in campaigns if key.matches((c.get("settings") or {}).get("title"))]
            offset += len(campaigns)
            if not campaigns or offset >= int(page.get("total_items") or 0):
                break
        if not found:
            return None
        order = ("sent", "sending", "scheduled", "draft")
        best = min(found, key=lambda c: order.index(STATUS.get(c.get("status", ""), "draft")))
        return self._campaign(key.value, best)

    def prepare(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        """Create (or update) the campaign's settings, then PUT both parts."""
        require_unsubscribe(email, UNSUBSCRIBE_TAGS[self.name], self.name)
        if existing is not None and existing.status != "draft":
            return existing  # scheduled or sent at Mailchimp: never touched again
        body = {
            "type": "regular",
            "recipients": {"list_id": email.list_id or self.settings.mailchimp_list_id},
            "settings": {
                "title": key.value,
                "subject_line": email.subject,
                "preview_text": email.preheader,
                "from_name": email.from_name,
                "reply_to": email.reply_to,
            },
        }
        if existing is not None and existing.remote_id:
            cid = existing.remote_id
            del body["type"]
            # the same PATCH twice has the same effect: safe to repeat
            data = self.http.patch(f"/campaigns/{cid}", json=body, retry=True).json()
        else:
            data = self.http.post("/campaigns", json=body).json()
            cid = str(data["id"])
        self.http.put(
            f"/campaigns/{cid}/content", json={"html": email.html, "plain_text": email.text}
        )
        return self._campaign(key.value, data)

    def send(self, campaign: Campaign, email: OutgoingEmail) -> Campaign:
        """``actions/send``; a refusal is explained by the campaign's state or checklist."""
        cid = self._id(campaign)
        if campaign.sent:
            return campaign  # it went out already: never a second time
        if campaign.status == "scheduled":
            raise self._scheduled_error(cid)
        try:
            self.http.post(f"/campaigns/{cid}/actions/send")
        except ProviderError as exc:
            if exc.status != 400:
                raise
            current = self._get(campaign.key, cid)
            if current.sent:
                return current  # it went out already (another run, or by hand)
            if current.status == "scheduled":
                raise self._scheduled_error(cid) from None
            raise self._not_ready(exc, cid) from None
        return Campaign(key=campaign.key, remote_id=cid, status="sent", data=campaign.data)

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        self.http.post(
            f"/campaigns/{self._id(campaign)}/actions/test",
            json={"test_emails": [address], "send_type": "html"},
        )

    def schedule(self, campaign: Campaign, email: OutgoingEmail, at: datetime) -> Campaign:
        """Schedule at ``at`` rounded up to the quarter hour (Mailchimp's only times)."""
        when = quarter_hour(require_future(at, self.clock(), self.name))
        data = dict(campaign.data, scheduled_at=when.isoformat())
        if when != at.astimezone(UTC):
            data["note"] = (
                f"Mailchimp schedules on quarter hours only: {at.astimezone(UTC):%H:%M:%S} "
                f"was rounded up to {when:%H:%M} UTC"
            )
            log.warning("%s", data["note"])
        cid = self._id(campaign)
        self.http.post(
            f"/campaigns/{cid}/actions/schedule",
            json={"schedule_time": when.strftime("%Y-%m-%dT%H:%M:%S+00:00")},
        )
        return Campaign(key=campaign.key, remote_id=cid, status="scheduled", data=data)

    # -- helpers -----------------------------------------------------------------------
    def _id(self, campaign: Campaign) -> str:
        if not campaign.remote_id:
            raise ProviderError(
                "the campaign has no Mailchimp id; prepare it first", target=self.name
            )
        return campaign.remote_id

    def _campaign(self, key: str, data: dict[str, Any]) -> Campaign:
        return Campaign(
            key=key,
            remote_id=str(data["id"]),
            status=STATUS.get(str(data.get("status")), "draft"),
            data={"web_id": data.get("web_id"), "mailchimp_status": data.get("status")},
        )

    def _get(self, key: str, cid: str) -> Campaign:
        data = self.http.get(f"/campaigns/{cid}", params={"fields": "id,web_id,status"}).json()
        return self._campaign(key, data)

    def _scheduled_error(self, cid: str) -> ProviderError:
        return ProviderError(
            f"campaign {cid} is scheduled at Mailchimp; postpipe does not send it a second time",
            target=self.name,
            hint="it goes out at its scheduled time and the next run records it; to send it "
            "now, unschedule it in Mailchimp first",
            maybe_sent=True,
        )

    def _not_ready(self, exc: ProviderError, cid: str) -> ProviderError:
        """The send was refused: add what Mailchimp's send checklist says is missing."""
        problems: list[str] = []
        try:
            checklist = self.http.get(f"/campaigns/{cid}/send-checklist").json()
            problems = [
                f"{item.get('heading')}: {item.get('details')}"
                for item in checklist.get("items") or []
                if item.get("type") == "error"
            ]
        except ProviderError:
            pass
        if problems:
            exc.message = f"{exc.message}; send checklist: {'; '.join(problems)}"
        exc.hint = exc.hint or (
            "nothing was sent; right after a create Mailchimp may still be counting the "
            "audience: the next run tries again"
        )
        exc.maybe_sent = False
        return exc
