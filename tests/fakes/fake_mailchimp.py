"""A fake Mailchimp Marketing API v3 (api-contracts §3 and §7), under ``/3.0``.

Enforced: HTTP Basic with the API key as password and the key's data centre
(``-us21``) → else 401 "API Key Invalid"; every error is
``application/problem+json``; at most 10 requests in flight (→ 429, never with
``Retry-After``); ``type`` and ``recipients.list_id`` on create (unknown list →
404); ``test_emails`` + ``send_type`` on a test; schedule only in the future, on
a quarter hour, from ``save``; send only when ready (html, subject, from name,
reply-to, list) and only once (``schedule``/``sending``/``sent`` → 400).
A campaign without ``*|UNSUB|*`` gets ``auto_footer_added`` (Mailchimp adds its own
footer rather than refusing).
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from fakeprovider import FakeProvider, Reply, Request, after_fault
from reportfigures import Figures

PROBLEM = "application/problem+json"
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
KEY = "0123456789abcdef0123456789abcdef-us21"
LIST_ID = "a1b2c3d4e5"
MAX_CONNECTIONS = 10


def problem(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> Reply:
    body: dict[str, Any] = {
        "type": ERRORS_DOC,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(uuid.uuid4()),
    }
    if errors:
        body["errors"] = errors
    return Reply(status, body, content_type=PROBLEM)


def invalid(errors: list[dict[str, str]]) -> Reply:
    return problem(
        400,
        "Invalid Resource",
        "The resource submitted could not be validated. For field-specific details, "
        "see the 'errors' array.",
        errors,
    )


NOT_FOUND = ("Resource Not Found", "The requested resource could not be found.")


class FakeMailchimp(FakeProvider):
    name = "mailchimp"

    def __init__(self, key: str = KEY, lists: tuple[str, ...] = (LIST_ID,)) -> None:
        super().__init__()
        self.key = key
        self.lists = set(lists)
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.content: dict[str, dict[str, str]] = {}
        #: campaign id → the results ``GET /reports/{id}`` answers (set by a test)
        self.reports: dict[str, Figures] = {}
        self.now = lambda: datetime.now(UTC)
        self._n = 0

    @property
    def url(self) -> str:
        """The value for MAILCHIMP_BASE_URL."""
        return f"{self.origin}/3.0"

    def invalid_json(self) -> Reply:
        return problem(
            400, "JSON Parse Exception", "We encountered an unspecified JSON parsing error."
        )

    # -- auth and load ---------------------------------------------------------------------
    def before(self, req: Request) -> Reply | None:
        if self.in_flight > MAX_CONNECTIONS:
            return problem(
                429,
                "Too Many Requests",
                "You have exceeded the limit of 10 simultaneous connections.",
            )
        auth = req.headers.get("authorization", "")
        password = ""
        if auth.startswith("Basic "):
            try:
                password = base64.b64decode(auth[6:]).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                password = ""
        fault = self.take_fault("any")  # load: a bare 429 or 403 on whatever comes next
        if fault is not None:
            return Reply(int(fault["kind"]), b"")
        if password != self.key:
            return problem(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        return None

    # -- routes ---------------------------------------------------------------------------
    def report(self, cid: str, rest: list[str], req: Request) -> Reply:
        """``/reports/{id}`` and ``/reports/{id}/click-details`` (paged: count ≤ 1000, offset)."""
        figures = self.reports.get(cid)
        if cid not in self.campaigns or figures is None:
            return problem(404, *NOT_FOUND)
        f = figures.get
        if rest == ["click-details"]:
            count = int((req.query.get("count") or ["10"])[-1])
            offset = int((req.query.get("offset") or ["0"])[-1])
            if count > 1000:
                return problem(400, "Invalid Resource", "count must be at most 1000")
            urls = [
                {"id": f"l{i}", "url": url, "total_clicks": n, "unique_clicks": n}
                for i, (url, n) in enumerate(figures.links.items())
            ]
            return Reply(
                200,
                {"urls_clicked": urls[offset : offset + count], "total_items": len(urls)},
            )
        if rest:
            return problem(404, *NOT_FOUND)
        sent, bounced = f("sent"), (f("hard_bounces") or 0) + (f("soft_bounces") or 0)
        reached = (sent or 0) - bounced
        body: dict[str, Any] = {
            "id": cid,
            "emails_sent": sent,
            "unsubscribed": f("unsubscribes"),
            "bounces": {
                "hard_bounces": f("hard_bounces"),
                "soft_bounces": f("soft_bounces"),
                "syntax_errors": 0,
            },
            "opens": {
                "opens_total": f("opens_total"),
                "unique_opens": f("unique_opens"),
                # Mailchimp's rate: unique opens over the emails that did not bounce
                "open_rate": (f("unique_opens") or 0) / reached if reached else 0,
            },
            "clicks": {
                "clicks_total": f("clicks_total"),
                "unique_clicks": sum(figures.links.values()),
                "unique_subscriber_clicks": f("unique_clicks"),
                "click_rate": (f("unique_clicks") or 0) / reached if reached else 0,
            },
        }
        for name in figures.omit:  # a figure the test made Mailchimp leave out
            for part in (body, body["opens"], body["clicks"], body["bounces"]):
                part.pop(
                    {
                        "sent": "emails_sent",
                        "unsubscribes": "unsubscribed",
                        "unique_clicks": "unique_subscriber_clicks",
                    }.get(name, name),
                    None,
                )
        return Reply(200, body)

    def route(self, req: Request) -> Reply:
        parts = req.path.strip("/").split("/")
        if parts[:1] != ["3.0"]:
            return problem(404, *NOT_FOUND)
        parts = parts[1:]
        if parts[:1] == ["reports"] and len(parts) in (2, 3) and req.method == "GET":
            return self.report(parts[1], parts[2:], req)
        if parts == ["campaigns"]:
            if req.method == "GET":
                return self.list_campaigns(req)
            if req.method == "POST":
                return self.create(req.body)
            return problem(
                405, "Method Not Allowed", "The requested method and resource are not compatible."
            )
        if len(parts) < 2 or parts[0] != "campaigns":
            return problem(404, *NOT_FOUND)
        campaign = self.campaigns.get(parts[1])
        if campaign is None:
            return problem(404, *NOT_FOUND)
        rest = parts[2:]
        if not rest:
            if req.method == "GET":
                return Reply(200, self.public(campaign))
            if req.method == "PATCH":
                return self.update(campaign, req.body)
            if req.method == "DELETE":
                del self.campaigns[campaign["id"]]
                return Reply(204)
        if rest == ["content"] and req.method == "PUT":
            return self.put_content(campaign, req.body)
        if rest == ["send-checklist"] and req.method == "GET":
            return Reply(200, self.checklist(campaign))
        if rest == ["actions", "test"] and req.method == "POST":
            return self.test(campaign, req.body)
        if rest == ["actions", "schedule"] and req.method == "POST":
            return self.schedule(campaign, req.body)
        if rest == ["actions", "send"] and req.method == "POST":
            return self.send(campaign)
        return problem(
            405, "Method Not Allowed", "The requested method and resource are not compatible."
        )

    def public(self, c: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in c.items() if not k.startswith("_")}

    def list_campaigns(self, req: Request) -> Reply:
        q = {k: v[-1] for k, v in req.query.items()}
        try:
            count = int(q.get("count", 10))
            offset = int(q.get("offset", 0))
        except ValueError:
            return invalid([{"field": "count", "message": "must be an integer"}])
        if count > 1000:
            return invalid(
                [{"field": "count", "message": "Count must be less than or equal to 1000."}]
            )
        items = list(self.campaigns.values())
        if "status" in q:
            items = [c for c in items if c["status"] == q["status"]]
        if "list_id" in q:
            items = [c for c in items if c["recipients"]["list_id"] == q["list_id"]]
        if q.get("sort_field") == "create_time":
            items.sort(key=lambda c: c["_n"], reverse=q.get("sort_dir") == "DESC")
        page = items[offset : offset + count]
        return Reply(200, {"campaigns": [self.public(c) for c in page], "total_items": len(items)})

    def create(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return invalid(
                [{"field": "", "message": "Schema describes object, NULL found instead"}]
            )
        errors = []
        if body.get("type") not in ("regular", "plaintext", "absplit", "rss", "variate"):
            errors.append(
                {
                    "field": "type",
                    "message": "Data did not match any of the schemas described in anyOf.",
                }
            )
        recipients = body.get("recipients") or {}
        if "recipients" in body and not recipients.get("list_id"):
            errors.append(
                {"field": "recipients.list_id", "message": "This value should not be blank."}
            )
        if errors:
            return invalid(errors)
        if recipients.get("list_id") and recipients["list_id"] not in self.lists:
            return problem(404, *NOT_FOUND)
        self._n += 1
        cid = uuid.uuid4().hex[:10]
        campaign = {
            "id": cid,
            "web_id": 1000 + self._n,
            "type": body["type"],
            "status": "save",
            "create_time": self.now().isoformat(),
            "send_time": "",
            "recipients": {"list_id": recipients.get("list_id", "")},
            "settings": dict(body.get("settings") or {}),
            "_n": self._n,
        }
        self.campaigns[cid] = campaign
        return Reply(200, self.public(campaign))

    def update(self, c: dict[str, Any], body: Any) -> Reply:
        if c["status"] not in ("save", "paused"):
            return problem(
                400,
                "Bad Request",
                "This campaign cannot be updated once it has been sent or scheduled.",
            )
        if not isinstance(body, dict):
            return invalid([{"field": "", "message": "Schema describes object"}])
        if "type" in body:
            return invalid(
                [{"field": "type", "message": "The type of a campaign cannot be changed."}]
            )
        recipients = body.get("recipients") or {}
        if recipients.get("list_id"):
            if recipients["list_id"] not in self.lists:
                return problem(404, *NOT_FOUND)
            c["recipients"]["list_id"] = recipients["list_id"]
        c["settings"].update(body.get("settings") or {})
        return Reply(200, self.public(c))

    def put_content(self, c: dict[str, Any], body: Any) -> Reply:
        if c["status"] not in ("save", "paused"):
            return problem(
                400,
                "Bad Request",
                "Content cannot be changed once the campaign was sent or scheduled.",
            )
        if not isinstance(body, dict) or not (
            body.get("html") or body.get("plain_text") or body.get("url")
        ):
            return invalid([{"field": "html", "message": "Content is required."}])
        content = {"html": body.get("html", ""), "plain_text": body.get("plain_text", "")}
        self.content[c["id"]] = content
        c["auto_footer_added"] = "*|UNSUB|*" not in content["html"]
        return Reply(200, {**content, "archive_html": content["html"]})

    def checklist(self, c: dict[str, Any]) -> dict[str, Any]:
        items = []
        s = c["settings"]
        for field, heading in (
            ("subject_line", "Subject line"),
            ("from_name", "From name"),
            ("reply_to", "Reply-to address"),
        ):
            if not s.get(field):
                items.append(
                    {"type": "error", "id": len(items), "heading": heading, "details": "Missing."}
                )
        if not c["recipients"].get("list_id"):
            items.append(
                {
                    "type": "error",
                    "id": len(items),
                    "heading": "Audience",
                    "details": "Pick an audience.",
                }
            )
        if not (self.content.get(c["id"]) or {}).get("html"):
            items.append(
                {"type": "error", "id": len(items), "heading": "Content", "details": "No content."}
            )
        return {"is_ready": not items, "items": items}

    def test(self, c: dict[str, Any], body: Any) -> Reply:
        errors = []
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("test_emails"), list)
            or not body["test_emails"]
        ):
            errors.append({"field": "test_emails", "message": "This value should not be blank."})
        if not isinstance(body, dict) or body.get("send_type") not in ("html", "plaintext"):
            errors.append({"field": "send_type", "message": "Value is not one of the enum values."})
        if errors:
            return invalid(errors)
        if not self.checklist(c)["is_ready"]:
            return problem(400, "Bad Request", "Your Campaign is not ready to send.")
        for address in body["test_emails"]:
            self.tests.append({"campaign": c["id"], "email": address})
        return Reply(204)

    def schedule(self, c: dict[str, Any], body: Any) -> Reply:
        bad = problem(400, "Bad Request", "This campaign cannot be scheduled: .")
        when_raw = body.get("schedule_time") if isinstance(body, dict) else None
        if not when_raw:
            return invalid(
                [{"field": "schedule_time", "message": "This value should not be blank."}]
            )
        try:
            when = datetime.fromisoformat(str(when_raw).replace("Z", "+00:00"))
        except ValueError:
            return bad
        if (
            when.tzinfo is None
            or when <= self.now()
            or when.minute % 15
            or when.second
            or c["status"] != "save"
            or not self.checklist(c)["is_ready"]
        ):
            return bad
        c["status"] = "schedule"
        c["send_time"] = when.isoformat()
        return Reply(204)

    def send(self, c: dict[str, Any]) -> Reply:
        fault = self.take_fault("send")
        if fault and fault["kind"] == "429":
            # under load Mailchimp answers a bare 429 (no body, no Retry-After)
            return Reply(429, b"" if fault.get("bare", True) else None)
        if fault and fault["kind"] == "403":
            return Reply(403, b"")
        if c["status"] not in ("save", "paused"):  # sending, sent, schedule, cancel*, archived
            return problem(
                400,
                "Bad Request",
                "Cannot send a campaign that has already been sent or scheduled.",
            )
        if not self.checklist(c)["is_ready"]:
            return problem(400, "Bad Request", "Your Campaign is not ready to send.")
        c["status"] = "sent"
        c["send_time"] = self.now().isoformat()
        self.record_send(c["id"])
        return after_fault(
            fault,
            Reply(204),
            problem(500, "Internal Server Error", "An unexpected error occurred."),
        )

    # -- what tests look at -----------------------------------------------------------------
    def by_title(self, title: str) -> list[dict[str, Any]]:
        return [c for c in self.campaigns.values() if c["settings"].get("title") == title]
