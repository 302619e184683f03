"""The common machinery of the fake mailing-list providers (``fake_mailchimp.py``,
``fake_listmonk.py``, ``fake_buttondown.py``, ``fake_brevo.py``).

Each fake is a ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) in a thread that
records every request, keeps a ledger of real sends (``sends``: one entry per
campaign that really went out; a second send of the same campaign must never
add one) and test copies (``tests``), and takes injected faults per route:

* ``{"route": "send", "kind": "429"}``: answer the provider's 429 (or ``"403"``
  for Mailchimp's bare 403) and do nothing (listmonk also takes faults on its
  ``"create"`` route);
* ``"500-after"``: do the work (send), then answer 500;
* ``"drop-after"``: do the work, then close the connection without an answer;
* ``"delay-after"`` with ``"seconds"``: do the work, set ``send_received``,
  then wait before answering (a window to kill the client in).

A subclass implements :meth:`FakeProvider.route` and its own error shapes.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("429", "403", "500-after", "drop-after", "delay-after")


@dataclass
class Reply:
    """One answer: status, a JSON-able body (or raw bytes, or None), headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None
    raw: bytes


class FakeProvider:
    """Base of the fakes: lifecycle, recording, faults, the HTTP plumbing."""

    name = "fake"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.log: list[dict[str, Any]] = []
        self.sends: list[dict[str, Any]] = []  # real sends: one per campaign, ever
        self.tests: list[dict[str, Any]] = []  # test copies
        self.faults: list[dict[str, Any]] = []
        self.send_received = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProvider:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests look at ---------------------------------------------------------------
    def inject(self, route: str, kind: str, **extra: Any) -> None:
        """Queue a fault for the next request to ``route`` (see the module docstring)."""
        assert kind in FAULT_KINDS, kind
        with self.lock:
            self.faults.append({"route": route, "kind": kind, **extra})

    def calls(self, *, writes_only: bool = False) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request so far."""
        with self.lock:
            return [
                (r["method"], r["path"], r["status"])
                for r in self.log
                if not writes_only or r["method"] != "GET"
            ]

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()

    def record_send(self, campaign_id: Any) -> None:
        """A real send: the provider mailed the list. Twice for one campaign is a bug."""
        with self.lock:
            assert not any(s["id"] == campaign_id for s in self.sends), (
                f"{self.name}: campaign {campaign_id} sent twice"
            )
            self.sends.append({"id": campaign_id, "at": time.time()})
        self.send_received.set()

    def take_fault(self, route: str) -> dict[str, Any] | None:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault["route"] == route:
                    return self.faults.pop(i)
        return None

    # -- to implement ---------------------------------------------------------------------
    def route(self, req: Request) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def invalid_json(self) -> Reply:
        return Reply(400, {"message": "invalid JSON"})

    def before(self, req: Request) -> Reply | None:
        """A hook before routing (auth, concurrency); a Reply short-circuits."""
        return None

    def after(self, req: Request, reply: Reply) -> None:
        """A hook after routing (headers on every response)."""

    # -- plumbing -------------------------------------------------------------------------
    def _answer(self, req: Request) -> Reply:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.before(req)
            if reply is None:
                with self.lock:
                    reply = self.route(req)
            self.after(req, reply)
        finally:
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            self.log.append(
                {
                    "method": req.method,
                    "path": req.path,
                    "query": req.query,
                    "headers": req.headers,
                    "body": req.body,
                    "status": "dropped" if reply.drop else reply.status,
                }
            )
        return reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                body: Any = None
                bad_json = False
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        bad_json = True
                req = Request(self.command, parts.path, parse_qs(parts.query), headers, body, raw)
                reply = fake.invalid_json() if bad_json else fake._answer(req)
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.body is None:
                    data = b""
                elif isinstance(reply.body, bytes):
                    data = reply.body
                else:
                    data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    if data:
                        self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client is gone (killed while we waited)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler


def after_fault(fault: dict[str, Any] | None, reply: Reply, error: Reply) -> Reply:
    """The answer to a request whose work was done, given an ``*-after`` fault."""
    if fault is None:
        return reply
    if fault["kind"] == "500-after":
        return error
    if fault["kind"] == "drop-after":
        return Reply(0, drop=True)
    if fault["kind"] == "delay-after":
        reply.delay = float(fault.get("seconds", 5))
    return reply
