"""The ``mailchimp`` list: regular campaigns through the Marketing API v3.

The campaign's ``settings.title`` is the idempotency key, which is how
``find_campaign`` finds it again after a crash or a deleted ledger (Mailchimp has
no idempotency keys and does not keep titles unique). Mailchimp sends no
``Retry-After`` and may answer a bare 429 or 403 under load: ``http.py`` backs
off on a 429 for every call (Mailchimp did nothing), on a bare 403 only for calls
that are safe to repeat, and never repeats a create or a send that may have been
acted on. At most 4 connections are open (Mailchimp allows 10 per user).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from ..errors import ConfigError, ProviderError
from ..http import RetryPolicy
from ..keys import IdempotencyKey
from .base import Campaign, CampaignResults, OutgoingEmail, count, require_future
from .campaigns import CampaignList, HttpSetup

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger("postpipe.targets.mailchimp")

#: Mailchimp's campaign states → postpipe's (``sending``/``sent`` are never sent again).
#: The documented list (Marketing API v3, campaign ``status``: save, paused, schedule,
#: sending, sent, canceled, canceling, archived; api-contracts §8, and the OpenAPI enum
#: as in docs.rs/mailchimp-api ``CampaignStatus``). A campaign canceled or being
#: canceled was sending: part of the list may have it. An archived one was sent.
STATUS = {
    "save": "draft",
    "paused": "draft",
    "schedule": "scheduled",
    "sending": "sending",
    "sent": "sent",
    "canceling": "sending",
    "canceled": "sent",
    "archived": "sent",
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


class Mailchimp(CampaignList):
    """Mailchimp Marketing API v3 (``MAILCHIMP_API_KEY``, ``MAILCHIMP_LIST_ID``)."""

    name: ClassVar[str] = "mailchimp"
    unsubscribe_tag: ClassVar[str | None] = "*|UNSUB|*"  # the provider's merge tag
    provider: ClassVar[str] = "Mailchimp"
    required: ClassVar[tuple[str, ...]] = ("mailchimp_api_key", "mailchimp_list_id")
    STATUS = STATUS
    report_calls: ClassVar[int] = 2

    def _http_setup(self, settings: Settings) -> HttpSetup:
        key = settings.mailchimp_api_key or ""
        return HttpSetup(
            base_url=settings.mailchimp_base_url or base_url_for(key),
            variable="MAILCHIMP_BASE_URL" if settings.mailchimp_base_url else "MAILCHIMP_API_KEY",
            auth=("postpipe", key),
            # a bare 403 is how Mailchimp throttles, too: back off on it (safe calls only)
            policy=RetryPolicy(extra_statuses=frozenset({403})),
            max_connections=4,
            explain=explain,
            auth_hint="check MAILCHIMP_API_KEY (and MAILCHIMP_BASE_URL if set)",
        )

    def _pages(self, key: IdempotencyKey) -> Iterator[list[dict[str, Any]]]:
        """Newest first, 1000 a page."""
        fields = (
            "campaigns.id,campaigns.web_id,campaigns.status,campaigns.settings.title,"
            "campaigns.send_time,total_items"
        )
        params = {"count": PAGE, "sort_field": "create_time", "sort_dir": "DESC", "fields": fields}
        return self._offset_pages("/campaigns", params, "campaigns", "total_items")

    def _key_of(self, item: Mapping[str, Any]) -> str | None:
        return (item.get("settings") or {}).get("title")

    def _read(self, cid: str) -> dict[str, Any]:
        return self.http.get(f"/campaigns/{cid}", params={"fields": "id,web_id,status"}).json()

    def _details(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"web_id": data.get("web_id")}

    # -- the protocol ----------------------------------------------------------------
    def _write(
        self, email: OutgoingEmail, key: IdempotencyKey, existing: Campaign | None
    ) -> Campaign:
        """Create (or update) the campaign's settings, then PUT both parts."""
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

    def _start(self, campaign: Campaign, cid: str) -> Campaign:
        self.http.post(f"/campaigns/{cid}/actions/send")
        return Campaign(key=campaign.key, remote_id=cid, status="sent", data=campaign.data)

    def send_test(self, campaign: Campaign, email: OutgoingEmail, address: str) -> None:
        self.http.post(
            f"/campaigns/{self._id(campaign)}/actions/test",
            json={"test_emails": [address], "send_type": "html"},
        )

    def schedule(self, campaign: Campaign, email: OutgoingEmail, at: datetime) -> Campaign:
        """Schedule at ``at`` rounded up to the quarter hour (Mailchimp's only times)."""
        when = quarter_hour(require_future(at, self.clock(), self.name))
        note: dict[str, str] = {}
        if when != at.astimezone(UTC):
            note["note"] = (
                f"Mailchimp schedules on quarter hours only: {at.astimezone(UTC):%H:%M:%S} "
                f"was rounded up to {when:%H:%M} UTC"
            )
            log.warning("%s", note["note"])
        cid = self._id(campaign)
        self.http.post(
            f"/campaigns/{cid}/actions/schedule",
            json={"schedule_time": when.strftime("%Y-%m-%dT%H:%M:%S+00:00")},
        )
        return self._scheduled(replace(campaign, remote_id=cid, status="scheduled"), when, **note)

    def _report(self, cid: str) -> dict[str, Any]:
        """``GET /reports/{id}`` and its ``/click-details`` (the 1000 most clicked links)."""
        return {
            "report": self.http.get(f"/reports/{cid}").json(),
            "clicks": self.http.get(
                f"/reports/{cid}/click-details", params={"count": PAGE, "offset": 0}
            ).json(),
        }

    def _results(self, report: Mapping[str, Any]) -> CampaignResults:
        """``unique_subscriber_clicks`` is people who clicked (``unique_clicks`` sums per link);
        a bounce is hard or soft (syntax errors never left)."""
        r = report["report"]
        bounces = r.get("bounces") or {}
        hard, soft = count(bounces.get("hard_bounces")), count(bounces.get("soft_bounces"))
        sent = count(r.get("emails_sent"))
        bounced = None if hard is None and soft is None else (hard or 0) + (soft or 0)
        opens, clicks = r.get("opens") or {}, r.get("clicks") or {}
        return CampaignResults(
            recipients=sent,
            delivered=None if sent is None or bounced is None else sent - bounced,
            bounces=bounced,
            opens_unique=count(opens.get("unique_opens")),
            open_rate=opens.get("open_rate"),
            clicks_unique=count(clicks.get("unique_subscriber_clicks")),
            click_rate=clicks.get("click_rate"),
            unsubscribes=count(r.get("unsubscribed")),
            links=tuple(
                (str(u["url"]), count(u.get("total_clicks")) or 0)
                for u in report["clicks"].get("urls_clicked") or []
                if u.get("url")
            ),
        )

    def _refused(self, exc: ProviderError, cid: str) -> ProviderError:
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
