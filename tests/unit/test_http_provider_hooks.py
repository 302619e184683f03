"""The provider hooks of ``postpipe.http``: error readers, auth hints and pacing on
rate-limit headers (used by the list adapters)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from postpipe.errors import AuthError, ProviderError
from postpipe.http import Http


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Session(requests.Session):
    """Answers from a list of (status, headers, body) without any network."""

    def __init__(self, answers: list[tuple[int, dict[str, str], bytes]]) -> None:
        super().__init__()
        self.answers = answers
        self.seen: list[str] = []

    def request(self, method: str, url: str, **kw: Any) -> requests.Response:  # type: ignore[override]
        status, headers, body = self.answers.pop(0)
        self.seen.append(f"{method} {url}")
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        response._content = body  # noqa: SLF001
        response.url = url
        response.request = requests.Request(method, url).prepare()
        return response


def client(answers: list[tuple[int, dict[str, str], bytes]], clock: Clock, **kw: Any) -> Http:
    return Http(
        "demo",
        "https://api.example.org",
        session=Session(answers),
        clock=clock,
        sleep=clock.sleep,
        headers={"api-key": "secret-key-123"},
        **kw,
    )


def test_remaining_zero_waits_for_the_reset_in_seconds_or_epoch() -> None:
    clock = Clock()
    http = client(
        [
            (200, {"x-left": "0", "x-reset": "7"}, b"{}"),  # seconds from now
            (200, {"x-left": "0", "x-reset": str(int(clock.now) + 7 + 3)}, b"{}"),  # epoch
            (200, {"x-left": "5", "x-reset": "9"}, b"{}"),
            (200, {}, b"{}"),
        ],
        clock,
        rate_headers=("x-left", "x-reset"),
    )
    http.get("/a")
    assert clock.sleeps == []
    http.get("/b")
    assert clock.sleeps == [7.0]
    http.get("/c")
    assert clock.sleeps == [7.0, 3.0]
    http.get("/d")  # requests were left: no wait
    assert clock.sleeps == [7.0, 3.0]


def test_a_long_reset_is_capped() -> None:
    clock = Clock()
    http = client(
        [(200, {"x-left": "0", "x-reset": "3600"}, b"{}"), (200, {}, b"{}")],
        clock,
        rate_headers=("x-left", "x-reset"),
    )
    http.get("/a")
    http.get("/b")
    assert clock.sleeps == [http.policy.retry_after_cap]


def test_explain_and_auth_hint_shape_the_error() -> None:
    clock = Clock()

    def explain(response: requests.Response) -> tuple[str, str | None] | None:
        body = response.json()
        return (f"{body['code']}: {body['message']}", "add credits") if "code" in body else None

    http = client(
        [
            (402, {}, b'{"code": "not_enough_credits", "message": "No credits"}'),
            (401, {}, b'{"message": "Key not found: secret-key-123"}'),
            (400, {}, b"not json"),
        ],
        clock,
        explain=explain,
        auth_hint="check DEMO_API_KEY",
    )
    with pytest.raises(ProviderError) as info:
        http.post("/send")
    assert info.value.message == "HTTP 402: not_enough_credits: No credits"
    assert info.value.hint == "add credits"
    with pytest.raises(AuthError) as info:
        http.get("/x")
    assert info.value.hint == "check DEMO_API_KEY"
    assert "secret-key-123" not in info.value.render()
    with pytest.raises(ProviderError) as info:  # the reader fails on this body: the default
        http.get("/y")
    assert info.value.message == "HTTP 400"
