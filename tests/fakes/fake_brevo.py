"""A fake Brevo API v3 email-campaign API (api-contracts §6 and §7).

Enforced: the ``api-key`` header → 401 ``unauthorized``; ``{"code","message"}``
errors; create needs ``name``, ``sender`` (``{name?, email}`` or ``{id}``, not
both), ``subject`` and exactly one of ``htmlContent``/``htmlUrl``/``templateId``,
and existing ``recipients.listIds``; ``sendNow`` → 402 ``not_enough_credits``
when the account has none, 400 ``campaign_sent`` once sent; ``sendTest`` at most
50 a day and only to known test contacts; an hourly budget on
``/emailCampaigns*`` (100 by default) → 429 with ``x-sib-ratelimit-*`` headers
(on every response) and no ``Retry-After``.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from fakeprovider import FakeProvider, Reply, Request, after_fault
from reportfigures import Figures

KEY = "xkeysib-0f1e2d3c4b5a-test"
_CAMPAIGN = re.compile(r"^/v3/emailCampaigns/(\d+)(/sendNow|/sendTest)?$")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def err(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message})


class FakeBrevo(FakeProvider):
    name = "brevo"

    def __init__(
        self,
        key: str = KEY,
        lists: tuple[int, ...] = (7,),
        testers: tuple[str, ...] = ("test@example.org",),
        hourly: int = 100,
    ) -> None:
        super().__init__()
        self.key = key
        self.lists = set(lists)
        self.testers = set(testers)
        self.hourly = hourly
        self.credits = True
        self.campaigns: dict[int, dict[str, Any]] = {}
        #: campaign id → the ``statistics`` of ``GET /emailCampaigns/{id}`` (set by a test)
        self.reports: dict[str, Figures] = {}
        self.now = lambda: datetime.now(UTC)
        self._used = 0
        self._hour_start = time.time()
        self._tests_today = 0
        self._next = 1

    @property
    def url(self) -> str:
        """The value for BREVO_BASE_URL."""
        return f"{self.origin}/v3"

    def invalid_json(self) -> Reply:
        return err(400, "bad_request", "Input must be a valid JSON object")

    def _limit_headers(self) -> dict[str, str]:
        reset = int(self._hour_start + 3600 - time.time())
        return {
            "x-sib-ratelimit-limit": str(self.hourly),
            "x-sib-ratelimit-remaining": str(max(0, self.hourly - self._used)),
            "x-sib-ratelimit-reset": str(max(0, reset)),  # seconds
        }

    def before(self, req: Request) -> Reply | None:
        with self.lock:
            if req.path.startswith("/v3/emailCampaigns"):
                if time.time() >= self._hour_start + 3600:
                    self._hour_start, self._used = time.time(), 0
                if self._used >= self.hourly:
                    return err(429, "too_many_requests", "Too many requests")  # no Retry-After
                self._used += 1
        if req.headers.get("api-key") != self.key:
            return err(401, "unauthorized", "Key not found")
        return None

    def after(self, req: Request, reply: Reply) -> None:
        with self.lock:
            reply.headers = {**self._limit_headers(), **reply.headers}

    # -- routes ------------------------------------------------------------------------------
    def route(self, req: Request) -> Reply:
        if req.path == "/v3/emailCampaigns":
            if req.method == "POST":
                return self.create(req.body)
            if req.method == "GET":
                return self.list_campaigns(req)
            return err(405, "method_not_allowed", "Method not allowed")
        m = _CAMPAIGN.match(req.path)
        if not m:
            return err(404, "document_not_found", "Not found")
        c = self.campaigns.get(int(m.group(1)))
        if c is None:
            return err(404, "document_not_found", "Campaign ID does not exist")
        action = m.group(2)
        if action is None:
            if req.method == "GET":
                return Reply(200, self.public(c, req.query.get("excludeHtmlContent") == ["true"]))
            if req.method == "PUT":
                return self.update(c, req.body)
            if req.method == "DELETE":
                del self.campaigns[c["id"]]
                return Reply(204)
        if action == "/sendNow" and req.method == "POST":
            return self.send_now(c)
        if action == "/sendTest" and req.method == "POST":
            return self.send_test(c, req.body)
        return err(405, "method_not_allowed", "Method not allowed")

    def public(self, c: dict[str, Any], no_html: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in c.items() if not k.startswith("_")}
        if no_html:
            out.pop("htmlContent", None)
        figures = self.reports.get(str(c["id"]))
        if figures is not None:
            out["statistics"] = self.statistics(c, figures)
        return out

    def statistics(self, c: dict[str, Any], figures: Figures) -> dict[str, Any]:
        """globalStats, campaignStats (one entry per list: the figures split over them)
        and linksStats ``{url: clicks}``."""
        names = {
            "sent": "sent",
            "delivered": "delivered",
            "hardBounces": "hard_bounces",
            "softBounces": "soft_bounces",
            "uniqueViews": "unique_opens",
            "viewed": "opens_total",
            "uniqueClicks": "unique_clicks",
            "clickers": "clicks_total",
            "unsubscriptions": "unsubscribes",
        }
        stats = {ours: figures.get(theirs) for ours, theirs in names.items()}
        stats = {k: v for k, v in stats.items() if v is not None}
        lists = (c.get("recipients") or {}).get("listIds") or [0]
        per_list = [
            {"listId": lid, **{k: v // len(lists) for k, v in stats.items()}} for lid in lists
        ]
        return {
            "globalStats": {**stats, "complaints": 0},
            "campaignStats": per_list,
            "linksStats": dict(figures.links),
            "mirrorClick": 0,
            "remaining": 0,
        }

    def validate(self, body: dict[str, Any], *, create: bool) -> Reply | None:
        for field in ("name", "sender", "subject") if create else ():
            if not body.get(field):
                return err(400, "missing_parameter", f"{field} is missing")
        sender = body.get("sender")
        if sender is not None:
            if not isinstance(sender, dict) or ("email" in sender and "id" in sender):
                return err(400, "invalid_parameter", "sender: give either email or id, not both")
            if "email" in sender and not re.fullmatch(r"[^@\s]+@[^@\s]+", str(sender["email"])):
                return err(400, "invalid_parameter", "sender.email is not valid")
        sources = [k for k in ("htmlContent", "htmlUrl", "templateId") if body.get(k)]
        if create and len(sources) != 1:
            return err(
                400,
                "invalid_parameter",
                "exactly one of htmlContent, htmlUrl or templateId is required",
            )
        lists = (body.get("recipients") or {}).get("listIds")
        if lists is not None and (not isinstance(lists, list) or not set(lists) <= self.lists):
            return err(400, "invalid_parameter", "recipients.listIds: unknown list")
        if body.get("scheduledAt") and not _STAMP.match(str(body["scheduledAt"])):
            return err(400, "invalid_parameter", "scheduledAt is not a valid date")
        return None

    def create(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return self.invalid_json()
        problem = self.validate(body, create=True)
        if problem:
            return problem
        cid = self._next
        self._next += 1
        self.campaigns[cid] = {
            "id": cid,
            "name": body["name"],
            "subject": body["subject"],
            "previewText": body.get("previewText", ""),
            "sender": body["sender"],
            "replyTo": body.get("replyTo"),
            "htmlContent": body.get("htmlContent", ""),
            "recipients": body.get("recipients") or {},
            "tag": body.get("tag", ""),
            "scheduledAt": body.get("scheduledAt"),
            "status": "queued" if body.get("scheduledAt") else "draft",
            "type": "classic",
        }
        return Reply(201, {"id": cid})

    def list_campaigns(self, req: Request) -> Reply:
        q = {k: v[-1] for k, v in req.query.items()}
        limit = int(q.get("limit", 50))
        if limit > 100:
            return err(400, "out_of_range", "limit must be at most 100")
        offset = int(q.get("offset", 0))
        items = sorted(
            self.campaigns.values(), key=lambda c: c["id"], reverse=q.get("sort", "desc") == "desc"
        )
        if "status" in q:
            items = [c for c in items if c["status"] == q["status"]]
        no_html = q.get("excludeHtmlContent") == "true"
        chunk = [self.public(c, no_html) for c in items[offset : offset + limit]]
        return Reply(200, {"campaigns": chunk, "count": len(items)})

    def update(self, c: dict[str, Any], body: Any) -> Reply:
        if not isinstance(body, dict):
            return self.invalid_json()
        if c["status"] in ("sent", "inProcess"):
            return err(400, "campaign_sent", "Campaign has already been sent")
        problem = self.validate(body, create=False)
        if problem:
            return problem
        c.update({k: v for k, v in body.items() if k in c or k == "scheduledAt"})
        if body.get("scheduledAt"):
            c["status"] = "queued"
        return Reply(204)

    def send_now(self, c: dict[str, Any]) -> Reply:
        fault = self.take_fault("send")
        if fault and fault["kind"] in ("429", "403"):
            return err(int(fault["kind"]), "too_many_requests", "Too many requests")
        if c["status"] in ("sent", "archive"):
            return err(400, "campaign_sent", "Campaign has already been sent")
        if c["status"] == "inProcess":
            return err(400, "campaign_processing", "Campaign is being processed")
        if not self.credits:
            return err(
                402, "not_enough_credits", "You don't have enough credit to send this campaign"
            )
        if not c["recipients"].get("listIds") or not c["htmlContent"]:
            return err(400, "invalid_parameter", "Campaign has no recipients or no content")
        c["status"] = "sent"
        self.record_send(c["id"])
        return after_fault(fault, Reply(204), err(500, "internal_error", "Internal error"))

    def send_test(self, c: dict[str, Any], body: Any) -> Reply:
        emails = (body or {}).get("emailTo") or sorted(self.testers)
        unknown = [e for e in emails if e not in self.testers]
        if unknown:
            return Reply(
                400,
                {
                    "code": "invalid_parameter",
                    "message": "Test email could not be sent to the following email addresses",
                    "unexistingEmails": unknown,
                },
            )
        if self._tests_today + len(emails) > 50:
            return err(400, "invalid_parameter", "Daily test email limit (50) reached")
        self._tests_today += len(emails)
        self.tests += [{"campaign": c["id"], "email": e} for e in emails]
        return Reply(204)

    # -- what tests look at -----------------------------------------------------------------
    def by_name(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.campaigns.values() if c["name"] == name]
