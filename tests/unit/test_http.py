"""Tests for postpipe.http against a real local HTTP server (no mocking of requests)."""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
import requests

from postpipe.errors import AuthError, ConfigError, NotFound, ProviderError, RateLimited
from postpipe.http import (
    Http,
    RetryPolicy,
    _sent_nothing,
    check_base_url,
    error_summary,
    parse_retry_after,
    redact,
)

NOW = 1_700_000_000.0
DROP = "drop"  # script step: read the request, then close the socket without answering


@dataclass
class Hang:
    """Script step: read the request, wait (past the client's read timeout), close."""

    seconds: float


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptServer:
    """A local HTTP server answering from ``script`` and recording every request."""

    httpd: ThreadingHTTPServer
    script: list[Any] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def next_step(self) -> Any:
        with self.lock:
            return self.script.pop(0) if self.script else (500, {}, "script exhausted")


class _Handler(BaseHTTPRequestHandler):
    server_version = "ScriptServer/1"

    def _handle(self) -> None:
        state: ScriptServer = self.server.state  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with state.lock:
            state.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
        step = state.next_step()
        if step == DROP:
            self.close_connection = True
            return
        if isinstance(step, Hang):
            state.release.wait(step.seconds)
            self.close_connection = True
            return
        status, headers, payload = step
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
            headers = {"Content-Type": "application/json", **headers}
        data = payload.encode() if isinstance(payload, str) else payload
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ScriptServer]:
    yield from _serve()


@pytest.fixture
def other_server() -> Iterator[ScriptServer]:
    yield from _serve()


def _serve() -> Iterator[ScriptServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    state = ScriptServer(httpd)
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=2)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_http(sleeps: list[float]) -> Iterator[Any]:
    clients: list[Http] = []

    def make(base_url: str, **kwargs: Any) -> Http:
        kwargs.setdefault("sleep", sleeps.append)
        kwargs.setdefault("clock", lambda: NOW)
        kwargs.setdefault("rng", lambda: 0.5)  # no jitter: delays are exactly base * 2**n
        kwargs.setdefault("timeout", (2.0, 2.0))
        client = Http("testsvc", base_url, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


# -- retries on statuses -----------------------------------------------------------


def test_get_retried_on_503_then_200(server, make_http, sleeps):
    server.script = [(503, {}, "busy"), (200, {}, {"ok": True})]
    response = make_http(server.url).get("/items", params={"page": 2})
    assert response.json() == {"ok": True}
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/items?page=2")] * 2
    assert sleeps == [0.5]


def test_429_retry_after_seconds(server, make_http, sleeps):
    server.script = [(429, {"Retry-After": "1"}, ""), (200, {}, "ok")]
    assert make_http(server.url).get("x").text == "ok"
    assert sleeps == [1.0]


def test_503_retry_after_http_date(server, make_http, sleeps):
    when = formatdate(NOW + 7, usegmt=True)
    server.script = [(503, {"Retry-After": when}, ""), (200, {}, "ok")]
    make_http(server.url).get("x")
    assert sleeps == [7.0]


def test_retry_after_is_capped(server, make_http, sleeps):
    server.script = [(429, {"Retry-After": "3600"}, ""), (200, {}, "ok")]
    make_http(server.url, policy=RetryPolicy(retry_after_cap=60.0)).get("x")
    assert sleeps == [60.0]


def test_backoff_grows_then_rate_limited(server, make_http, sleeps):
    server.script = [(429, {}, "")] * 3 + [(429, {"Retry-After": "9"}, {"message": "slow down"})]
    with pytest.raises(RateLimited) as info:
        make_http(server.url).get("x")
    assert len(server.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert info.value.retry_after == 9.0
    assert info.value.status == 429
    assert "slow down" in str(info.value)


def test_post_503_not_retried(server, make_http, sleeps):
    server.script = [(503, {}, "busy"), (200, {}, "ok")]
    with pytest.raises(ProviderError) as info:
        make_http(server.url).post("items", json={"title": "x"})
    assert type(info.value) is ProviderError
    assert info.value.status == 503
    assert info.value.method == "POST"
    assert len(server.requests) == 1
    assert json.loads(server.requests[0].body) == {"title": "x"}
    assert sleeps == []


def test_post_429_is_retried_after_retry_after(server, make_http, sleeps):
    # a 429 means the provider did nothing: even a create is safe to repeat
    server.script = [(429, {"Retry-After": "1"}, ""), (201, {}, {"id": 7})]
    assert make_http(server.url).post("items", json={"title": "x"}).json() == {"id": 7}
    assert [r.method for r in server.requests] == ["POST", "POST"]
    assert server.requests[1].body == server.requests[0].body
    assert sleeps == [1.0]


def test_patch_429_retried_within_the_attempts_then_rate_limited(server, make_http, sleeps):
    server.script = [(429, {"Retry-After": "4"}, "")] * 3
    with pytest.raises(RateLimited) as info:
        make_http(server.url, policy=RetryPolicy(max_attempts=3)).patch("items/1", json={})
    assert info.value.retry_after == 4.0
    assert not info.value.maybe_sent  # nothing was done: the caller may release it
    assert len(server.requests) == 3 and sleeps == [4.0, 4.0]


def test_post_429_without_retry_after_backs_off(server, make_http, sleeps):
    server.script = [(429, {}, ""), (429, {}, ""), (200, {}, "ok")]
    assert make_http(server.url).post("items/1/send").text == "ok"
    assert sleeps == [0.5, 1.0]


def test_post_429_not_retried_with_retry_false(server, make_http, sleeps):
    server.script = [(429, {"Retry-After": "1"}, ""), (200, {}, "ok")]
    with pytest.raises(RateLimited):
        make_http(server.url).post("items", json={}, retry=False)
    assert len(server.requests) == 1 and sleeps == []


def test_post_500_and_502_are_still_not_retried(server, make_http, sleeps):
    for status in (500, 502):
        server.requests.clear()
        server.script = [(status, {}, "oops"), (200, {}, "ok")]
        with pytest.raises(ProviderError) as info:
            make_http(server.url).post("items", json={"title": "x"})
        assert info.value.status == status and info.value.maybe_sent
        assert len(server.requests) == 1
    assert sleeps == []


def test_post_with_retry_true_is_retried(server, make_http, sleeps):
    server.script = [(502, {}, ""), (200, {}, "ok")]
    assert make_http(server.url).post("search", json={"q": 1}, retry=True).text == "ok"
    assert len(server.requests) == 2
    assert server.requests[1].body == server.requests[0].body


def test_retry_false_disables_retries(server, make_http, sleeps):
    server.script = [(503, {}, ""), (200, {}, "ok")]
    with pytest.raises(ProviderError):
        make_http(server.url).get("x", retry=False)
    assert len(server.requests) == 1 and sleeps == []


def test_extra_status_for_bare_403(server, make_http, sleeps):
    server.script = [(403, {}, ""), (200, {}, "ok")]
    policy = RetryPolicy(extra_statuses=frozenset({403}))
    assert make_http(server.url, policy=policy).get("x").text == "ok"
    assert len(server.requests) == 2


def test_files_are_rewound_between_attempts(server, make_http):
    server.script = [(503, {}, ""), (200, {}, "ok")]
    upload = io.BytesIO(b"image-bytes")
    make_http(server.url).put("media", files={"file": ("a.png", upload, "image/png")})
    assert len(server.requests) == 2
    assert all(b"image-bytes" in r.body for r in server.requests)


# -- network failures --------------------------------------------------------------


def test_dropped_connection_get_retried(server, make_http, sleeps):
    server.script = [DROP, (200, {}, "ok")]
    assert make_http(server.url).get("x").text == "ok"
    assert len(server.requests) == 2 and sleeps == [0.5]


def test_dropped_connection_get_exhausted(server, make_http, sleeps):
    server.script = [DROP] * 4
    with pytest.raises(ProviderError) as info:
        make_http(server.url).get("x")
    assert f"could not reach {server.url} after 4 attempts" in str(info.value)
    assert info.value.status is None
    assert len(server.requests) == 4 and len(sleeps) == 3


def test_dropped_connection_post_not_retried(server, make_http, sleeps):
    server.script = [DROP, (200, {}, "ok")]
    with pytest.raises(ProviderError) as info:
        make_http(server.url).post("items", json={"a": 1})
    assert info.value.status is None
    assert f"POST to {server.url} failed after the request was sent" in info.value.message
    assert "may have reached the server" in (info.value.hint or "")
    assert len(server.requests) == 1 and sleeps == []


def test_read_timeout_get_retried_post_not(server, make_http):
    server.script = [Hang(2.0), (200, {}, "ok")]
    http = make_http(server.url, timeout=(2.0, 0.1))
    assert http.get("x").text == "ok"
    assert len(server.requests) == 2

    server.script = [Hang(2.0), (200, {}, "ok")]
    with pytest.raises(ProviderError) as info:
        http.post("x", data=b"payload")
    assert info.value.status is None
    assert len(server.requests) == 3


def test_connection_refused_retried_even_for_post(make_http, sleeps):
    url = closed_port_url()
    with pytest.raises(ProviderError) as info:
        make_http(url).post("items", json={"a": 1})
    error = info.value
    assert f"could not reach {url} after 4 attempts" in error.message
    assert "refused" in error.message.lower()
    assert error.status is None and error.method == "POST"
    assert sleeps == [0.5, 1.0, 2.0]


def test_connection_refused_retry_false(make_http, sleeps):
    with pytest.raises(ProviderError, match="after 1 attempt:"):
        make_http(closed_port_url()).post("items", retry=False)
    assert sleeps == []


def test_sent_nothing_classification():
    assert _sent_nothing(requests.exceptions.ConnectTimeout())
    assert not _sent_nothing(requests.exceptions.ReadTimeout())
    assert not _sent_nothing(requests.exceptions.ConnectionError("reset"))
    assert not _sent_nothing(requests.exceptions.SSLError())


# -- error mapping -----------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors(server, make_http, status):
    server.script = [(status, {}, {"code": "rest_forbidden", "message": "Sorry, no."})]
    with pytest.raises(AuthError) as info:
        make_http(server.url).get("wp/v2/posts")
    assert info.value.status == status
    assert info.value.target == "testsvc"
    assert info.value.url == f"{server.url}/wp/v2/posts"
    assert "Sorry, no." in str(info.value)
    assert len(server.requests) == 1


def test_404_not_found_with_detail(server, make_http):
    body = {"title": "Resource Not Found", "detail": "The requested resource could not be found."}
    server.script = [(404, {}, body)]
    with pytest.raises(NotFound) as info:
        make_http(server.url).delete("lists/abc")
    assert "HTTP 404 Not Found: The requested resource could not be found." in str(info.value)


def test_body_excerpt_at_most_200_chars(server, make_http):
    server.script = [(500, {}, "<html>" + "x" * 5000)]
    with pytest.raises(ProviderError) as info:
        make_http(server.url).put("x")
    excerpt = info.value.body_excerpt
    assert excerpt is not None and 0 < len(excerpt) <= 200
    assert excerpt.startswith("<html>xxx")
    assert str(info.value).startswith("testsvc: HTTP 500")


def test_expect_rejects_other_success_status(server, make_http):
    server.script = [(200, {}, "ok")]
    with pytest.raises(ProviderError, match="unexpected answer HTTP 200"):
        make_http(server.url).post("items", expect={201})
    server.script = [(201, {}, "ok")]
    assert make_http(server.url).post("items", expect={201}).status_code == 201
    server.script = [(404, {}, "gone")]
    assert make_http(server.url).get("items/9", expect={200, 404}).status_code == 404


def test_post_redirect_is_an_error(server, make_http):
    server.script = [(301, {"Location": "https://elsewhere.example/items"}, "")]
    with pytest.raises(ProviderError, match="redirected to https://elsewhere.example/items"):
        make_http(server.url).post("items", json={})
    assert len(server.requests) == 1


def test_get_redirect_to_other_host_drops_credentials(server, other_server, make_http):
    port = other_server.httpd.server_address[1]
    server.script = [(302, {"Location": f"http://localhost:{port}/moved"}, "")]
    other_server.script = [(200, {}, "ok")]
    http = make_http(server.url, headers={"X-Api-Key": API_KEY}, auth=("editor", PASSWORD))
    assert http.get("items").text == "ok"
    assert server.requests[0].headers["X-Api-Key"] == API_KEY
    moved = other_server.requests[0].headers
    assert "X-Api-Key" not in moved and "Authorization" not in moved


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "Key not found", "code": "unauthorized"}, "Key not found"),
        ({"errors": [{"message": "Validation error", "context": "x"}]}, "Validation error"),
        ({"error": {"message": "nested"}}, "nested"),
        ({"error": "invalid_grant"}, "invalid_grant"),
        ({"code": 42}, "42"),
        ({"errors": {"email": ["Enter a valid email address."]}}, "email: Enter a valid email"),
    ],
)
def test_error_summary_extracts_provider_message(server, body, expected):
    server.script = [(422, {}, body)]
    response = requests.get(server.url, timeout=2)
    assert error_summary(response).startswith(f"HTTP 422 Unprocessable Entity: {expected}")


def test_error_summary_without_json(server):
    server.script = [(502, {}, "<html><body>Bad gateway</body></html>")]
    assert error_summary(requests.get(server.url, timeout=2)) == "HTTP 502 Bad Gateway"


# -- secrets -----------------------------------------------------------------------

API_KEY = "sk-live-abcdef123456"
QUERY_TOKEN = "qs-token-987654"
PASSWORD = "hunter2 p@ss/word"
BEARER = "eyJhbGciOi.bearer-token.xyz"


def _leaks(text: str | None) -> list[str]:
    basic = base64.b64encode(f"editor:{PASSWORD}".encode()).decode()
    forms = [API_KEY, QUERY_TOKEN, PASSWORD, quote(PASSWORD, safe=""), BEARER, basic]
    return [form for form in forms if text and form in text]


def test_secrets_never_leak_from_http_errors(server, make_http, caplog):
    caplog.set_level(logging.DEBUG, logger="postpipe.http")
    echo = (
        f"denied key={API_KEY} token={QUERY_TOKEN} pw={PASSWORD} bearer {BEARER} "
        f"Authorization: Basic {base64.b64encode(f'editor:{PASSWORD}'.encode()).decode()}"
    )
    server.script = [(503, {}, echo), (401, {}, {"message": echo})]
    http = make_http(
        server.url, headers={"X-Api-Key": API_KEY}, auth=("editor", PASSWORD), secrets=[BEARER]
    )
    with pytest.raises(AuthError) as info:
        http.get("items", params={"token": QUERY_TOKEN})
    error = info.value
    # The credentials were really sent...
    sent = server.requests[0]
    assert sent.headers["X-Api-Key"] == API_KEY
    assert f"token={QUERY_TOKEN}" in sent.path
    assert sent.headers["Authorization"].startswith("Basic ")
    # ...and appear nowhere we report.
    for text in (str(error), error.render(), error.url, error.body_excerpt, caplog.text):
        assert _leaks(text) == [], text
    assert "token=***" in (error.url or "")
    assert any(r.levelno == logging.INFO and "retry 1/3" in r.getMessage() for r in caplog.records)
    assert any(r.levelno == logging.DEBUG and "-> 401" in r.getMessage() for r in caplog.records)


def test_secrets_never_leak_from_network_errors(make_http, caplog):
    caplog.set_level(logging.DEBUG, logger="postpipe.http")
    http = make_http(closed_port_url(), headers={"Authorization": f"Bearer {BEARER}"})
    with pytest.raises(ProviderError) as info:
        http.get(f"items?access_token={QUERY_TOKEN}", params={"api_key": API_KEY})
    error = info.value
    for text in (str(error), error.render(), error.url, caplog.text):
        assert _leaks(text) == [], text
    assert error.__suppress_context__  # tracebacks do not show the raw requests error
    assert "could not reach" in caplog.text or "refused" in caplog.text.lower()


# -- plumbing ----------------------------------------------------------------------


class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    def request(self, method, url, **kwargs):  # type: ignore[override]
        self.calls.append({"method": method, "url": url, **kwargs})
        return super().request(method, url, **kwargs)


def test_every_call_has_a_timeout_and_paths_join(server, make_http):
    server.script = [(200, {}, "a"), (200, {}, "b"), (200, {}, "c")]
    session = RecordingSession()
    http = make_http(server.url + "/api/", session=session, timeout=(1.5, 9.0))
    http.get("/v1/things")
    http.request("HEAD", "v1/other")
    http.get(f"{server.url}/absolute", timeout=None)
    assert [c["timeout"] for c in session.calls] == [(1.5, 9.0)] * 3
    assert [c["url"] for c in session.calls] == [
        f"{server.url}/api/v1/things",
        f"{server.url}/api/v1/other",
        f"{server.url}/absolute",
    ]
    http.close()  # an injected session stays usable
    server.script = [(200, {}, "d")]
    assert session.get(server.url, timeout=2).text == "d"
    session.close()


def test_context_manager_closes(server, sleeps):
    server.script = [(200, {}, "ok")]
    with Http("svc", server.url, sleep=sleeps.append) as http:
        assert http.get("").text == "ok"


# -- pure helpers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://x",
        "https://x.example/ghost/",
        "http://127.0.0.1:8080",
        "http://localhost",
        "http://[::1]:1",
        "http://127.1.2.3/",
    ],
)
def test_check_base_url_accepts(url):
    assert check_base_url(url, "WP_URL") == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://example.com", "ftp://x", "example.com", "", "https://", "http://127.0.0.1:x"]
)
def test_check_base_url_refuses(url):
    with pytest.raises(ConfigError) as info:
        check_base_url(url, "GHOST_URL")
    assert "GHOST_URL" in info.value.message
    assert "https" in (info.value.hint or "")


def test_http_refuses_plain_http_base_url():
    with pytest.raises(ConfigError):
        Http("wordpress", "http://blog.example.com")


def test_retry_policy_delay_exponential_and_bounded():
    policy = RetryPolicy(backoff_base=0.5, backoff_max=30.0, jitter=0.25)
    assert [policy.delay(n, None, lambda: 0.5) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert policy.delay(3, None, lambda: 0.0) == pytest.approx(1.5)
    assert policy.delay(3, None, lambda: 1.0) == pytest.approx(2.5)
    for rng in (lambda: 0.0, lambda: 0.999):
        delays = [policy.delay(n, None, rng) for n in range(1, 20)]
        assert delays == sorted(delays)
        assert all(0 < d <= 30.0 for d in delays)
    assert policy.delay(1, 7.0, lambda: 0.9) == 7.0
    assert policy.delay(1, 500.0, lambda: 0.9) == 120.0
    assert RetryPolicy(extra_statuses=frozenset({403})).retry_statuses == {403, 429, 502, 503, 504}
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("0", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),
        ("Wed, 32 Foo 2024 99:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_redact():
    assert redact("key abcde1 and abcde", ["abcde"]) == "key abcde1 and abcde"  # too short
    assert redact("p=a%2Fb%2Fc%2Fd x a/b/c/d", ["a/b/c/d"]) == "p=*** x ***"
    assert redact("Authorization: Bearer zzz\nX: 1", []) == "Authorization: ***\nX: 1"
    assert redact('{"api-key": "k1"}', []) == '{"api-key": "***"}'
    assert (
        redact("https://h/x?page=2&api_key=K&apikey=L&access_token=M&secret=N&q=ok", [])
        == "https://h/x?page=2&api_key=***&apikey=***&access_token=***&secret=***&q=ok"
    )
    assert redact('{"password": "pw", "name": "n"}', []) == '{"password": "***", "name": "n"}'
    assert redact("https://bob:pw@host/x", []) == "https://bob:***@host/x"
    assert redact("", ["secret"]) == ""
