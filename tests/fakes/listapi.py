"""A fake mailing-list HTTP API for the publishing tests.

Runs in process (``FakeListServer(...).start()``, a thread) or as its own
process, so that it outlives a client killed with SIGKILL::

    python tests/fakes/listapi.py --port-file F --state-file S [--token T]

The API (JSON; every call needs ``Authorization: Bearer <token>``, else 401
``{"message": "bad token"}``):

* ``POST /campaigns`` {name, subject, html, text} → 201 {id, name, status: "draft"}
  (400 when a field is missing)
* ``GET /campaigns?name=<key>`` → 200 [campaign, ...] (every campaign without ``name``)
* ``PUT /campaigns/{id}`` → 200 the campaign (409 once it was sent)
* ``POST /campaigns/{id}/send`` → 200 {status: "sent"}; a second send → 409
  {"message": "campaign already sent"}
* ``POST /campaigns/{id}/test`` {email} → 200

Every request is recorded (method, path, query, body, status) and real sends
are counted. Control, without auth and not recorded: ``GET /_state`` (the
state as JSON) and ``POST /_control`` with ``{"send_faults": [...]}`` (a
queue: each send takes the next fault), ``{"reset_log": true}`` or
``{"token": "..."}``. A fault is ``{"kind": K}`` with K one of

* ``"500"``: mark the campaign sent, then answer 500;
* ``"drop"``: mark the campaign sent, then close the connection unanswered;
* ``"429"``: answer 429 with ``Retry-After: 1`` (or the fault's ``"retry_after"``)
  and do not send;
* ``"delay"`` (with ``"seconds"``): mark the campaign sent, save the state
  (``send_received`` is then true in the state file), sleep, then answer 200.

With a state file the state is written (atomically) after every change, so a
test can read it even when the server is another process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_TOKEN = "test-token-5f3c9a"
FAULT_KINDS = ("500", "drop", "429", "delay")
_REQUIRED = ("name", "subject", "html", "text")
DELAY = "x-fake-delay"  # internal: seconds to sleep before answering
_CAMPAIGN = re.compile(r"^/campaigns/(\d+)(/send|/test)?$")


def _short(value: Any) -> Any:
    """A request body for the log: long strings cut, so the state file stays small."""
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, str) and len(value) > 120:
        return value[:100] + f"… ({len(value)} chars)"
    return value


class FakeListServer:
    """The fake API and its state; one instance per test."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        state_file: Path | str | None = None,
        send_faults: list[dict[str, Any]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.state_file = Path(state_file) if state_file else None
        self.lock = threading.RLock()
        self.campaigns: dict[int, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.sends = 0  # real sends: a campaign moved to "sent"
        self.tests: list[dict[str, Any]] = []
        self.send_faults: list[dict[str, Any]] = list(send_faults or [])
        self.send_received = False
        self._next_id = 100
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeListServer:
        self.save()
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeListServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state -------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            return json.loads(
                json.dumps(
                    {
                        "campaigns": list(self.campaigns.values()),
                        "requests": self.requests,
                        "sends": self.sends,
                        "tests": self.tests,
                        "send_faults": self.send_faults,
                        "send_received": self.send_received,
                    }
                )
            )

    def save(self) -> None:
        if self.state_file is None:
            return
        with self.lock:
            data = json.dumps(self.state(), indent=1)
            tmp = self.state_file.with_name(f".{self.state_file.name}.tmp")
            tmp.write_text(data, encoding="utf-8")
            os.replace(tmp, self.state_file)

    def control(self, body: dict[str, Any]) -> None:
        with self.lock:
            if body.get("reset_log"):
                self.requests.clear()
            if "send_faults" in body:
                faults = list(body["send_faults"])
                for fault in faults:
                    if fault.get("kind") not in FAULT_KINDS:
                        raise ValueError(f"unknown fault {fault!r}")
                self.send_faults = faults
            if "token" in body:
                self.token = body["token"]
            self.save()

    # -- the API -----------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        """Answer one API request: (status, JSON body or ``"drop"``, extra headers)."""
        with self.lock:
            record = {"method": method, "path": path, "query": query, "body": _short(body)}
            self.requests.append(record)
            if auth != f"Bearer {self.token}":
                record["status"] = 401
                return 401, {"message": "bad token"}, {}
            status, answer, headers = self._route(method, path, query, body)
            record["status"] = status if answer != "drop" else "dropped"
            return status, answer, headers

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/campaigns" and method == "GET":
            names = query.get("name")
            found = [c for c in self.campaigns.values() if not names or c["name"] in names]
            return 200, found, {}
        if path == "/campaigns" and method == "POST":
            if not isinstance(body, dict):
                return 400, {"message": "a JSON object is expected"}, {}
            missing = [k for k in _REQUIRED if not body.get(k)]
            if missing:
                return 400, {"message": f"missing field: {missing[0]}"}, {}
            cid = self._next_id
            self._next_id += 1
            campaign = {k: body[k] for k in _REQUIRED}
            campaign.update(id=cid, status="draft", sent_at=None)
            self.campaigns[cid] = campaign
            return 201, campaign, {}
        m = _CAMPAIGN.match(path)
        if not m:
            return 404, {"message": f"no route {method} {path}"}, {}
        campaign = self.campaigns.get(int(m.group(1)))
        if campaign is None:
            return 404, {"message": "no such campaign"}, {}
        action = m.group(2)
        if action is None and method == "GET":
            return 200, campaign, {}
        if action is None and method == "PUT":
            if campaign["status"] == "sent":
                return 409, {"message": "campaign already sent"}, {}
            if not isinstance(body, dict):
                return 400, {"message": "a JSON object is expected"}, {}
            for key in _REQUIRED:
                if key in body:
                    campaign[key] = body[key]
            return 200, campaign, {}
        if action == "/send" and method == "POST":
            return self._send(campaign)
        if action == "/test" and method == "POST":
            email = body.get("email") if isinstance(body, dict) else None
            if not email:
                return 400, {"message": "missing field: email"}, {}
            self.tests.append({"campaign": campaign["id"], "email": email})
            return 200, {"status": "test sent", "email": email}, {}
        return 405, {"message": f"{method} not allowed here"}, {}

    def _send(self, campaign: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if campaign["status"] == "sent":
            return 409, {"message": "campaign already sent"}, {}
        fault = self.send_faults.pop(0) if self.send_faults else {}
        kind = fault.get("kind")
        if kind == "429":
            wait = str(fault.get("retry_after", 1))
            return 429, {"message": "too many requests"}, {"Retry-After": wait}
        campaign["status"] = "sent"
        campaign["sent_at"] = time.time()
        self.sends += 1
        self.send_received = True
        if kind == "500":
            return 500, {"message": "internal error"}, {}
        if kind == "drop":
            return 0, "drop", {}
        if kind == "delay":
            return (
                200,
                {"id": campaign["id"], "status": "sent"},
                {DELAY: str(fault.get("seconds", 5))},
            )
        return 200, {"id": campaign["id"], "status": "sent"}, {}

    # -- HTTP --------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _reply(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    self._reply(400, {"message": "invalid JSON"}, {})
                    return
                if parts.path == "/_state" and self.command == "GET":
                    self._reply(200, server.state(), {})
                    return
                if parts.path == "/_control" and self.command == "POST":
                    try:
                        server.control(body or {})
                    except ValueError as exc:
                        self._reply(400, {"message": str(exc)}, {})
                        return
                    self._reply(200, {"ok": True}, {})
                    return
                status, answer, headers = server.handle(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    body,
                    self.headers.get("Authorization"),
                )
                server.save()
                if answer == "drop":
                    self.close_connection = True  # no answer at all
                    return
                delay = headers.pop(DELAY, None)
                if delay is not None:
                    time.sleep(float(delay))  # "send received" is in the state file now
                with contextlib.suppress(OSError):  # the client may be gone (killed)
                    self._reply(status, answer, headers)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", required=True, help="the port is written here once bound")
    parser.add_argument("--state-file", required=True, help="the state as JSON, kept current")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--send-faults", default="[]", help="a JSON list of faults")
    args = parser.parse_args(argv)
    server = FakeListServer(
        token=args.token, state_file=args.state_file, send_faults=json.loads(args.send_faults)
    )
    server.save()
    port_file = Path(args.port_file)
    tmp = port_file.with_name(f".{port_file.name}.tmp")
    tmp.write_text(str(server.port), encoding="utf-8")
    os.replace(tmp, port_file)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
