"""A fake listmonk API (api-contracts §4 and §7), under ``/api``.

Enforced: ``Authorization: token user:tok`` or Basic ``user:tok``, every auth
failure a 403 ``{"message"}`` (and ``permission denied: campaigns:send`` for a
user without that permission); success ``{"data": …}``; create validation with
listmonk's messages; a missing campaign is a **400** "Campaign not found"; the
status state machine (a second ``running`` → 400 "Only paused campaigns and
drafts can be started.", ``running`` with ``send_at`` stored as ``scheduled``);
a test re-validates every field and goes only to existing subscribers;
``per_page`` at most 50. A running campaign reads ``finished`` afterwards.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fakeprovider import FakeProvider, Reply, Request, after_fault
from reportfigures import Figures

USER, TOKEN = "postpipe", "lm-token-4d2f9b"
PERMS = (
    "campaigns:get_all",
    "campaigns:manage",
    "campaigns:send",
    "campaigns:get_analytics",
)
CONTENT_TYPES = ("richtext", "html", "markdown", "plain", "visual")
_CAMPAIGN = re.compile(r"^/api/campaigns/([^/]+)(/status|/test)?$")
_FROM = re.compile(r"^(?:[^<>]*<[^@\s<>]+@[^@\s<>]+>|[^@\s<>]+@[^@\s<>]+)$")


def error(message: str, status: int = 400) -> Reply:
    return Reply(status, {"message": message})


class FakeListmonk(FakeProvider):
    name = "listmonk"

    def __init__(
        self,
        lists: dict[int, list[str]] | None = None,
        perms: tuple[str, ...] = PERMS,
    ) -> None:
        super().__init__()
        # list id → subscriber emails
        self.lists = lists if lists is not None else {3: ["ann@example.org", "bo@example.org"]}
        self.perms = set(perms)
        #: campaign id → its counts and analytics (set by a test)
        self.reports: dict[str, Figures] = {}
        self.campaigns: dict[int, dict[str, Any]] = {}
        self.now = lambda: datetime.now(UTC)
        self._next = 1

    @property
    def url(self) -> str:
        """The value for LISTMONK_URL."""
        return self.origin

    def invalid_json(self) -> Reply:
        return error("invalid JSON")

    # -- auth -------------------------------------------------------------------------------
    def before(self, req: Request) -> Reply | None:
        if "session=" in req.headers.get("cookie", ""):
            return error("invalid session", 403)
        auth = req.headers.get("authorization", "")
        if not auth:
            return error("invalid session", 403)
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "basic":
            try:
                value = base64.b64decode(value).decode()
            except (ValueError, UnicodeDecodeError):
                return error("invalid Basic auth", 403)
        elif scheme.lower() != "token":
            return error("unknown Authorization scheme", 403)
        user, sep, token = value.partition(":")
        if not sep:
            return error("api_key:token missing", 403)
        if not user or not token:
            return error("empty `api_key` or `token`", 403)
        if (user, token) != (USER, TOKEN):
            return error("invalid API credentials", 403)
        return None

    def allowed(self, perm: str) -> Reply | None:
        return None if perm in self.perms else error(f"permission denied: {perm}", 403)

    # -- routes ------------------------------------------------------------------------------
    def analytics(self, kind: str, req: Request) -> Reply:
        """``/api/campaigns/analytics/{views|clicks|links|bounces}?id=&from=&to=``: counts
        bucketed by day (the fake's test ranges span ≥ 7 days or one bucket), links the
        50 most clicked; ``from``/``to`` are required dates."""
        q = {k: v[-1] for k, v in req.query.items()}
        if kind not in ("views", "clicks", "links", "bounces"):
            return error("invalid analytics type")
        try:
            start = datetime.fromisoformat(q["from"][:10])
            datetime.fromisoformat(q["to"][:10])
        except (KeyError, ValueError):
            return error("invalid `from` or `to` date")
        ids = [i for i in q.get("id", "").split(",") if i.isdigit()]
        if not ids:
            return error("invalid ID")
        data: list[dict[str, Any]] = []
        for cid in ids:
            figures = self.reports.get(cid)
            if figures is None:
                continue
            if kind == "links":
                data += [{"url": u, "count": n} for u, n in figures.links.items()][:50]
                continue
            n = figures.get(
                {"views": "unique_opens", "clicks": "unique_clicks"}.get(kind, "hard_bounces")
            )
            if n:
                data.append(
                    {"campaign_id": int(cid), "count": n, "timestamp": start.isoformat() + "Z"}
                )
        return Reply(200, {"data": data})

    def route(self, req: Request) -> Reply:
        if req.path.startswith("/api/campaigns/analytics/"):
            if req.method != "GET":
                return error("method not allowed", 405)
            kind = req.path.rsplit("/", 1)[1]
            return self.allowed("campaigns:get_analytics") or self.analytics(kind, req)
        if req.path == "/api/campaigns":
            if req.method == "GET":
                return self.allowed("campaigns:get_all") or self.query(req)
            if req.method == "POST":
                return self.allowed("campaigns:manage") or self.create(req.body)
            return error("method not allowed", 405)
        m = _CAMPAIGN.match(req.path)
        if not m:
            return error("not found", 404)
        if not m.group(1).isdigit() or int(m.group(1)) == 0:
            return error("invalid ID")
        campaign = self.campaigns.get(int(m.group(1)))
        if campaign is None:
            return error("Campaign not found")
        self.settle(campaign)
        action = m.group(2)
        if action is None:
            if req.method == "GET":
                no_body = req.query.get("no_body", ["false"])[-1] == "true"
                return Reply(200, {"data": self.public(campaign, no_body)})
            if req.method == "PUT":
                return self.allowed("campaigns:manage") or self.update(campaign, req.body)
            if req.method == "DELETE":
                del self.campaigns[campaign["id"]]
                return Reply(200, {"data": True})
        if action == "/status" and req.method == "PUT":
            return self.allowed("campaigns:send") or self.status(campaign, req.body)
        if action == "/test" and req.method == "POST":
            return self.allowed("campaigns:send") or self.test(campaign, req.body)
        return error("method not allowed", 405)

    def settle(self, c: dict[str, Any]) -> None:
        """A running campaign has been delivered by the time anyone looks again."""
        if c["status"] == "running" and c.get("_delivered"):
            c["status"] = "finished"

    def public(self, c: dict[str, Any], no_body: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in c.items() if not k.startswith("_")}
        figures = self.reports.get(str(c["id"]))
        if figures is not None:  # listmonk's campaign counts: events, not people
            out.update(
                to_send=figures.sent,
                sent=figures.sent,
                views=figures.opens_total,
                clicks=figures.clicks_total,
                bounces=figures.hard_bounces + figures.soft_bounces,
            )
        if no_body:
            out.pop("body", None)
            out.pop("altbody", None)
        return out

    def query(self, req: Request) -> Reply:
        q = req.query
        text = (q.get("query") or [""])[-1].strip().lower()
        statuses = q.get("status") or []
        per_page_raw = (q.get("per_page") or ["20"])[-1]
        page = int((q.get("page") or ["1"])[-1])
        items = sorted(self.campaigns.values(), key=lambda c: c["id"], reverse=True)
        for c in items:
            self.settle(c)
        if text:
            items = [c for c in items if text in f"{c['name']} {c['subject']}".lower()]
        if statuses:
            items = [c for c in items if c["status"] in statuses]
        per_page = len(items) or 1 if per_page_raw == "all" else min(int(per_page_raw), 50)
        start = (page - 1) * per_page
        no_body = (q.get("no_body") or ["false"])[-1] == "true"
        results = [self.public(c, no_body) for c in items[start : start + per_page]]
        data = {
            "results": results,
            "query": text,
            "total": len(items),
            "per_page": per_page,
            "page": page,
        }
        return Reply(200, {"data": data})

    def validate(self, body: dict[str, Any], *, creating: bool) -> Reply | None:
        if not 1 <= len(str(body.get("name") or "")) <= 2000:
            return error("Invalid length for name.")
        if not 1 <= len(str(body.get("subject") or "")) <= 5000:
            return error("Invalid length for subject.")
        lists = body.get("lists")
        if not isinstance(lists, list) or not lists or not all(isinstance(x, int) for x in lists):
            return error("Invalid list IDs.")
        if any(x not in self.lists for x in lists):
            return error("Invalid list IDs.")
        if body.get("from_email") and not _FROM.match(str(body["from_email"])):
            return error("Invalid `from_email`.")
        if body.get("messenger", "email") != "email":
            return error(f"Unknown messenger {body['messenger']}.")
        if body.get("send_at"):
            try:
                when = datetime.fromisoformat(str(body["send_at"]).replace("Z", "+00:00"))
            except ValueError:
                return error("Invalid send_at.")
            if when <= self.now():
                return error("Scheduled date should be in the future.")
        if creating and not any(self.lists[x] for x in lists):
            return error("There are no subscribers in the selected lists to create the campaign.")
        return None

    def create(self, body: Any) -> Reply:
        """A new draft; faults on the ``create`` route: ``429`` (with ``Retry-After``, the
        fault's ``retry_after`` or 1 — as a proxy in front of listmonk answers) does
        nothing, ``500-after``/``drop-after`` create it, then lose the answer."""
        fault = self.take_fault("create")
        if fault and fault["kind"] == "429":
            reply = error("too many requests", 429)
            reply.headers["Retry-After"] = str(fault.get("retry_after", 1))
            return reply
        if not isinstance(body, dict):
            return error("invalid JSON")
        problem = self.validate(body, creating=True)
        if problem:
            return problem
        cid = self._next
        self._next += 1
        content_type = body.get("content_type", "richtext")
        campaign = {
            "id": cid,
            "uuid": str(uuid.uuid4()),
            "type": body.get("type", "regular"),
            "name": body["name"],
            "subject": body["subject"],
            "from_email": body.get("from_email", "listmonk <noreply@listmonk.yoursite.com>"),
            "body": body.get("body", ""),
            "altbody": body.get("altbody"),
            "send_at": body.get("send_at"),
            "status": "draft",
            "content_type": content_type if content_type in CONTENT_TYPES else "richtext",
            "tags": body.get("tags") or [],
            "messenger": "email",
            "lists": [{"id": x, "name": f"list {x}"} for x in body["lists"]],
            "headers": body.get("headers") or [],
        }
        self.campaigns[cid] = campaign
        reply = Reply(200, {"data": self.public(campaign)})
        return after_fault(fault, reply, error("internal error", 500))

    def update(self, c: dict[str, Any], body: Any) -> Reply:
        if c["status"] in ("running", "finished", "cancelled", "paused"):
            return error("Cannot update a running or a finished campaign.")
        if not isinstance(body, dict):
            return error("invalid JSON")
        merged = {**c, "lists": [x["id"] for x in c["lists"]], **body}
        problem = self.validate(merged, creating=False)
        if problem:
            return problem
        for k in ("name", "subject", "from_email", "body", "altbody", "send_at", "tags", "headers"):
            if k in body:
                c[k] = body[k]
        if "content_type" in body:
            c["content_type"] = (
                body["content_type"] if body["content_type"] in CONTENT_TYPES else "richtext"
            )
        if "lists" in body:
            c["lists"] = [{"id": x, "name": f"list {x}"} for x in body["lists"]]
        return Reply(200, {"data": self.public(c)})

    def status(self, c: dict[str, Any], body: Any) -> Reply:
        wanted = body.get("status") if isinstance(body, dict) else None
        now = c["status"]
        if wanted == "scheduled":
            if now not in ("draft", "paused"):
                return error("Only draft or paused campaigns can be scheduled.")
            if not c.get("send_at"):
                return error("Campaign needs a date to be scheduled.")
            c["status"] = "scheduled"
        elif wanted == "running":
            fault = self.take_fault("send")
            if fault and fault["kind"] in ("429", "403"):
                return error("too many requests", int(fault["kind"]))
            if now not in ("draft", "paused"):
                return error("Only paused campaigns and drafts can be started.")
            if c.get("send_at"):
                c["status"] = "scheduled"  # listmonk's SQL does this
            else:
                c["status"] = "running"
                c["_delivered"] = True
                self.record_send(c["id"])
            return after_fault(
                fault, Reply(200, {"data": self.public(c)}), error("internal error", 500)
            )
        elif wanted == "paused":
            if now != "running":
                return error("Only running campaigns can be paused.")
            c["status"] = "paused"
        elif wanted == "cancelled":
            if now not in ("running", "paused"):
                return error("Only running campaigns can be cancelled.")
            c["status"] = "cancelled"
        elif wanted == "draft":
            if now != "scheduled":
                return error("Only scheduled campaigns can be unscheduled.")
            c["status"] = "draft"
        else:
            return error("Invalid status.")
        return Reply(200, {"data": self.public(c)})

    def test(self, c: dict[str, Any], body: Any) -> Reply:
        if not isinstance(body, dict):
            return error("invalid JSON")
        problem = self.validate(body, creating=False)
        if problem:
            return problem
        emails = body.get("subscribers") or []
        if not emails:
            return error("There are no subscribers to target.")
        known = {e for subs in self.lists.values() for e in subs}
        if not any(e in known for e in emails):
            return error("No known subscribers to test.")
        for e in emails:
            if e in known:
                self.tests.append({"campaign": c["id"], "email": e})
        return Reply(200, {"data": True})

    # -- what tests look at -----------------------------------------------------------------
    def by_name(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.campaigns.values() if c["name"] == name]
