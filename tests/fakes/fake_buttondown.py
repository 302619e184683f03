"""A fake Buttondown API v1 (api-contracts §5 and §7), under ``/v1``.

Enforced: ``Authorization: Token <key>`` → 401 ``authentication_missing`` /
``authentication_invalid``; **a create without ``status`` is a real send** (and
needs ``X-Buttondown-Live-Dangerously`` on API versions ≥ 2026-04-01, else 400
``sending_requires_confirmation``); unknown fields → 422 ``extra_forbidden``,
missing or too long subject → 422; YAML front matter in the body → 400;
``scheduled`` without ``publish_date`` → 400, a past ``publish_date`` sends at
once; ``X-Idempotency-Key`` replays the first answer; ``X-RateLimit-*`` on every
response and 429 with ``Retry-After`` past the limit; ``{results, count, next,
previous}`` pages; publishing an email that went out → 400 and no second send.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fakeprovider import FakeProvider, Reply, Request, after_fault
from reportfigures import Figures

KEY = "bd-key-8c1e7a55"
CURRENT_VERSION = "2026-04-01"
FIELDS = {
    "subject",
    "body",
    "status",
    "publish_date",
    "slug",
    "description",
    "canonical_url",
    "image",
    "filters",
    "metadata",
    "email_type",
    "attachments",
    "template",
}
STATUSES = {
    "draft",
    "managed_by_rss",
    "about_to_send",
    "scheduled",
    "in_flight",
    "paused",
    "deleted",
    "errored",
    "sent",
    "imported",
    "throttled",
    "resending",
    "transactional",
    "suppressed",
}
GONE_OUT = {"about_to_send", "in_flight", "sent", "resending", "throttled"}


def err(status: int, code: str, detail: str) -> Reply:
    return Reply(status, {"code": code, "detail": detail, "metadata": {}})


def unprocessable(kind: str, loc: list[str], msg: str) -> Reply:
    return Reply(422, {"detail": [{"type": kind, "loc": loc, "msg": msg}]})


class FakeButtondown(FakeProvider):
    name = "buttondown"

    def __init__(
        self,
        key: str = KEY,
        limit: int = 600,
        window: float = 60.0,
        page_size: int = 20,
        tags: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        #: tag id → name; an email's audience filter names tags by id only
        self.tags = {f"tag_{i:026d}": name for i, name in enumerate(tags, 1)}
        self.key = key
        self.limit, self.window = limit, window
        self.page_size = page_size
        self.emails: dict[str, dict[str, Any]] = {}
        #: email id → what ``GET /v1/emails/{id}/analytics`` answers (set by a test)
        self.reports: dict[str, Figures] = {}
        self.replays: dict[str, Reply] = {}
        self.now = lambda: datetime.now(UTC)
        self._window_start = time.time()
        self._used = 0
        self._n = 0
        self.rate_limited = 0  # 429s answered

    @property
    def url(self) -> str:
        """The value for BUTTONDOWN_BASE_URL."""
        return self.origin

    def invalid_json(self) -> Reply:
        return unprocessable("json_invalid", ["body"], "JSON decode error")

    # -- auth, rate limit, idempotency ---------------------------------------------------------
    def _rate_headers(self) -> dict[str, str]:
        reset = self._window_start + self.window
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self._used)),
            "X-RateLimit-Reset": str(int(reset) + 1),  # epoch seconds
        }

    def before(self, req: Request) -> Reply | None:
        with self.lock:
            now = time.time()
            if now >= self._window_start + self.window:
                self._window_start, self._used = now, 0
            fault = self.take_fault("any")
            if self._used >= self.limit or (fault and fault["kind"] == "429"):
                self.rate_limited += 1
                wait = max(1, int(self._window_start + self.window - now + 0.999))
                if fault:
                    wait = 1
                reply = err(429, "rate_limited", "Request was throttled.")
                reply.headers = {**self._rate_headers(), "Retry-After": str(wait)}
                return reply
            self._used += 1
        auth = req.headers.get("authorization")
        if not auth:
            return err(
                401, "authentication_missing", "Authentication credentials were not provided."
            )
        if auth != f"Token {self.key}":
            return err(401, "authentication_invalid", "Invalid token.")
        key = req.headers.get("x-idempotency-key")
        if key is not None:
            if len(key) > 200:
                return err(
                    400, "idempotency_key_invalid", "Idempotency keys are at most 200 characters."
                )
            with self.lock:
                if key in self.replays:
                    old = self.replays[key]
                    return Reply(old.status, old.body, dict(old.headers))
        return None

    def after(self, req: Request, reply: Reply) -> None:
        with self.lock:
            reply.headers = {**self._rate_headers(), **reply.headers}
            key = req.headers.get("x-idempotency-key")
            if (
                key is not None
                and key not in self.replays
                and reply.status not in (401, 429)
                and reply.status < 500
                and not reply.drop
            ):
                self.replays[key] = Reply(reply.status, reply.body, {})

    # -- routes ------------------------------------------------------------------------------
    def analytics(self, eid: str) -> Reply:
        """``GET /v1/emails/{id}/analytics`` (the Analytics schema of the OpenAPI docs)."""
        figures = self.reports.get(eid)
        if figures is None:
            return err(404, "not_found", "Email not found.")
        f = figures.get
        body = {
            "recipients": f("sent"),
            "deliveries": f("delivered"),
            "opens": f("unique_opens"),
            "clicks": f("unique_clicks"),
            "temporary_failures": f("soft_bounces"),
            "permanent_failures": f("hard_bounces"),
            "unsubscriptions": f("unsubscribes"),
            "complaints": 0,
            "survey_responses": 0,
            "webmentions": 0,
            "page_views__lifetime": 0,
            "page_views__30": 0,
            "page_views__7": 0,
            "subscriptions": 0,
            "paid_subscriptions": 0,
            "replies": 0,
            "comments": 0,
            "social_mentions": 0,
        }
        return Reply(200, {k: v for k, v in body.items() if v is not None})

    def route(self, req: Request) -> Reply:
        version = req.headers.get("x-api-version", CURRENT_VERSION)
        parts = req.path.strip("/").split("/")
        if parts == ["v1", "tags"] and req.method == "GET":
            return self.list_tags(req)
        if parts[:2] != ["v1", "emails"]:
            return err(404, "not_found", "Not found.")
        rest = parts[2:]
        if not rest:
            if req.method == "POST":
                return self.create(req, version)
            if req.method == "GET":
                return self.list_emails(req, version)
            return err(405, "method_not_allowed", "Method not allowed.")
        email = self.emails.get(rest[0])
        if email is None:
            return err(404, "not_found", "Email not found.")
        self.settle(email)
        if len(rest) == 1:
            if req.method == "GET":
                return Reply(200, email)
            if req.method == "PATCH":
                return self.update(email, req.body)
            if req.method == "DELETE":
                email["status"] = "deleted"
                return Reply(204)
        if rest[1:] == ["analytics"] and req.method == "GET":
            return self.analytics(rest[0])
        if rest[1:] == ["send-draft"] and req.method == "POST":
            recipients = (req.body or {}).get("recipients") or []
            if not recipients:
                return err(400, "recipients_invalid", "Provide recipients or subscribers.")
            self.tests += [{"campaign": email["id"], "email": r} for r in recipients]
            return Reply(200, None)
        if rest[1:] == ["publish"] and req.method == "POST":
            return self.publish(email, req.body)
        return err(405, "method_not_allowed", "Method not allowed.")

    def settle(self, email: dict[str, Any]) -> None:
        if email["status"] == "about_to_send" and email.get("_sent"):
            email["status"] = "sent"
        if email["status"] == "scheduled" and email.get("publish_date"):
            when = datetime.fromisoformat(email["publish_date"].replace("Z", "+00:00"))
            if when <= self.now():
                self.go_out(email)
                email["status"] = "sent"

    def go_out(self, email: dict[str, Any]) -> None:
        email["status"] = "about_to_send"
        email["_sent"] = True
        self.record_send(email["id"])

    def check_fields(self, body: Any, *, create: bool) -> Reply | None:
        if not isinstance(body, dict):
            return unprocessable("model_attributes_type", ["body"], "Input should be an object")
        for k in body:
            if k not in FIELDS:
                return unprocessable(
                    "extra_forbidden", ["body", k], "Extra inputs are not permitted"
                )
        if create and not body.get("subject"):
            return unprocessable("missing", ["body", "subject"], "Field required")
        if len(str(body.get("subject") or "")) > 2000:
            return unprocessable(
                "string_too_long", ["body", "subject"], "String should have at most 2000 characters"
            )
        if "status" in body and body["status"] not in STATUSES:
            return err(400, "status_invalid", f"'{body['status']}' is not a valid status.")
        if str(body.get("body") or "").lstrip().startswith("---"):
            return err(
                400, "body_contains_frontmatter", "The body appears to contain YAML front matter."
            )
        if body.get("status") == "scheduled" and not body.get("publish_date"):
            return err(400, "publish_date_missing", "Scheduled emails need a publish_date.")
        for f in (body.get("filters") or {}).get("filters") or []:
            # "Tag filters require the tag's ID (either a UUID or TypeID), not its name."
            if f.get("field") == "subscriber.tags" and f.get("value") not in self.tags:
                return err(400, "tag_invalid", f"The tag {f.get('value')!r} does not exist.")
        return None

    def list_tags(self, req: Request) -> Reply:
        """``GET /v1/tags``: a ``Page[Tag]`` (``page``, ``page_size``, ``next``)."""
        page = int((req.query.get("page") or ["1"])[-1])
        size = int((req.query.get("page_size") or ["100"])[-1])
        items = [{"id": i, "name": n} for i, n in self.tags.items()]
        chunk = items[(page - 1) * size : page * size]
        more = page * size < len(items)
        nxt = f"{self.url}/v1/tags?{urlencode({'page': page + 1, 'page_size': size})}"
        return Reply(200, {"results": chunk, "count": len(items), "next": nxt if more else None})

    def create(self, req: Request, version: str) -> Reply:
        body = req.body
        problem = self.check_fields(body, create=True)
        if problem:
            return problem
        status = body.get("status", "about_to_send")  # the default sends to everyone
        if (
            status == "about_to_send"
            and version >= "2026-04-01"
            and (req.headers.get("x-buttondown-live-dangerously") != "true")
        ):
            return err(
                400,
                "sending_requires_confirmation",
                "Creating an email that sends right away needs X-Buttondown-Live-Dangerously.",
            )
        self._n += 1
        eid = f"em_{self._n:026d}"
        email = {
            "id": eid,
            "subject": body["subject"],
            "body": body.get("body", ""),
            "description": body.get("description", ""),
            "metadata": body.get("metadata") or {},
            "filters": body.get("filters") or {"filters": [], "groups": [], "predicate": "and"},
            "slug": body.get("slug") or f"email-{self._n}",
            "status": "draft",
            "publish_date": body.get("publish_date"),
            "creation_date": self.now().isoformat(),
            "absolute_url": f"https://buttondown.com/test/archive/email-{self._n}/",
            "_n": self._n,
        }
        self.emails[eid] = email
        if status == "about_to_send":
            self.go_out(email)
        elif status == "scheduled":
            email["status"] = "scheduled"
            self.settle(email)
        return Reply(201, self.public(email))

    def public(self, email: dict[str, Any], excluded: tuple[str, ...] = ()) -> dict[str, Any]:
        return {k: v for k, v in email.items() if not k.startswith("_") and k not in excluded}

    def list_emails(self, req: Request, version: str) -> Reply:
        q = req.query
        statuses = q.get("status") or ([] if version >= "2025-06-01" else ["sent", "in_flight"])
        items = sorted(
            self.emails.values(),
            key=lambda e: e["_n"],
            reverse=(q.get("ordering") or [""])[-1] == "-creation_date",
        )
        for e in items:
            self.settle(e)
        items = [e for e in items if e["status"] != "deleted" or "deleted" in statuses]
        if statuses:
            items = [e for e in items if e["status"] in statuses]
        if q.get("subject"):
            needle = q["subject"][-1].lower()
            items = [e for e in items if needle in e["subject"].lower()]
        page = int((q.get("page") or ["1"])[-1])
        excluded = tuple(x for v in q.get("excluded_fields") or [] for x in v.split(","))
        start = (page - 1) * self.page_size
        chunk = items[start : start + self.page_size]
        more = start + self.page_size < len(items)
        flat = [(k, v) for k, vs in q.items() if k != "page" for v in vs]
        nxt = f"{self.url}/v1/emails?{urlencode([*flat, ('page', page + 1)])}" if more else None
        prev = (
            f"{self.url}/v1/emails?{urlencode([*flat, ('page', page - 1)])}" if page > 1 else None
        )
        headers = {"Link": f'<{nxt}>; rel="next"'} if nxt else {}
        return Reply(
            200,
            {
                "results": [self.public(e, excluded) for e in chunk],
                "count": len(items),
                "next": nxt,
                "previous": prev,
            },
            headers,
        )

    def update(self, email: dict[str, Any], body: Any) -> Reply:
        problem = self.check_fields(body, create=False)
        if problem:
            return problem
        if email["status"] in GONE_OUT:
            return err(400, "email_already_sent", "This email has already been sent.")
        for k, v in body.items():
            if k != "status":
                email[k] = v
        status = body.get("status")
        if status == "about_to_send":
            self.go_out(email)
        elif status == "scheduled":
            email["status"] = "scheduled"
            self.settle(email)  # a past publish_date goes out at once
        elif status:
            email["status"] = status
        return Reply(200, self.public(email))

    def publish(self, email: dict[str, Any], body: Any) -> Reply:
        fault = self.take_fault("send")
        if fault and fault["kind"] in ("429", "403"):
            return err(int(fault["kind"]), "rate_limited", "Request was throttled.")
        if email["status"] in GONE_OUT | {"errored"}:
            return err(400, "email_already_sent", "This email has already been sent.")
        body = body or {}
        if body.get("publish_date"):
            email["publish_date"] = body["publish_date"]
            email["status"] = "scheduled"
            self.settle(email)
            return Reply(200, self.public(email))
        self.go_out(email)
        return after_fault(
            fault,
            Reply(200, self.public(email)),
            err(500, "internal_error", "Internal server error."),
        )

    # -- what tests look at -----------------------------------------------------------------
    def by_key(self, key: str) -> list[dict[str, Any]]:
        return [e for e in self.emails.values() if e["metadata"].get("postpipe_key") == key]
