"""``postpipe check --links``: dead links against a local HTTP server (issue 14)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from gatekit import ENV, FRONT, post_text, run, write

from postpipe.checks import links as linkcheck


class Handler(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()

    def log_message(self, format, *args):  # noqa: A002
        pass

    def answer(self, head: bool) -> None:
        Handler.hits[f"{self.command} {self.path}"] += 1
        port = self.server.server_address[1]
        routes = {
            "/ok": (200, {}),
            "/gone": (404, {}),
            "/removed": (410, {}),
            "/elsewhere": (301, {"Location": f"http://localhost:{port}/ok"}),
            "/same-host": (302, {"Location": "/ok"}),
            "/broken": (500, {}),
        }
        if self.path == "/no-head":
            status, headers = (405, {}) if head else (200, {})
        else:
            status, headers = routes.get(self.path, (404, {}))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if not head:
            self.wfile.write(b"ok")

    def do_HEAD(self):  # noqa: N802
        self.answer(True)

    def do_GET(self):  # noqa: N802
        self.answer(False)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.hits.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def site(tmp_path, base: str):
    body = (
        f"Intro.\n\n[ok]({base}/ok) and [gone]({base}/gone)\n\n"
        f"[removed]({base}/removed)\n\n[moved]({base}/elsewhere) [same]({base}/same-host)\n\n"
        f"[no head]({base}/no-head) [broken]({base}/broken)\n\n"
        "[nowhere](http://no-such-host.invalid/page)\n"
    )
    return write(tmp_path, {"posts/a.md": post_text(FRONT, body)})


def by_url(data):
    return {d["message"].split(": ", 1)[0].removeprefix("link "): d for d in data
            if d["rule"] == "dead-link"}


def test_dead_links_are_errors_redirects_info(tmp_path, server):
    root = site(tmp_path, server)
    result = run("check", "--links", "--json", "--root", str(root), **ENV)
    assert result.returncode == 1, result.stderr
    found = by_url(json.loads(result.stdout))
    levels = {url.removeprefix(server): (d["level"], d["line"]) for url, d in found.items()}
    assert levels == {
        "/gone": ("error", 12),
        "/removed": ("error", 14),
        "/elsewhere": ("info", 16),
        "/broken": ("warning", 18),
        "http://no-such-host.invalid/page": ("error", 20),
    }
    assert "HTTP 404" in found[f"{server}/gone"]["message"]
    assert "DNS" in found["http://no-such-host.invalid/page"]["message"]
    assert "another host: http://localhost:" in found[f"{server}/elsewhere"]["message"]
    # HEAD first; GET only where HEAD was refused
    assert Handler.hits["HEAD /ok"] == 3 and Handler.hits["GET /ok"] == 0  # + 2 redirects
    assert Handler.hits["HEAD /no-head"] == 1 and Handler.hits["GET /no-head"] == 1


def test_results_are_kept_for_24_hours(tmp_path, server):
    root = site(tmp_path, server)
    first = run("check", "--links", "--json", "--root", str(root), **ENV)
    assert Handler.hits["HEAD /gone"] == 1
    assert (root / ".postpipe/linkcheck.json").is_file()
    again = run("check", "--links", "--json", "--root", str(root),
                **dict(ENV, POSTPIPE_NOW="2026-05-05T09:00:00+00:00"))
    assert Handler.hits["HEAD /gone"] == 1  # 23 h later: from the cache
    assert again.stdout == first.stdout
    run("check", "--links", "--json", "--root", str(root),
        **dict(ENV, POSTPIPE_NOW="2026-05-05T11:00:00+00:00"))
    assert Handler.hits["HEAD /gone"] == 2  # 25 h later: asked again


def test_without_links_nothing_is_requested(tmp_path, server):
    root = site(tmp_path, server)
    result = run("check", "--json", "--root", str(root), **ENV)
    assert not [d for d in json.loads(result.stdout) if d["rule"] == "dead-link"]
    assert sum(Handler.hits.values()) == 0


class FakeResponse:
    status_code = 200

    def __init__(self, url: str) -> None:
        self.url = url

    def close(self) -> None:
        pass


def counting(wait_for):
    """A fake HTTP layer that records requests in flight (per host and in all); each
    request waits, without a clock, until ``wait_for(flight, host, left)`` holds."""
    flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    cond = threading.Condition()
    left: Counter[str] = Counter()

    class Fake:
        def request(self, method, url, **kw):
            host = url.split("/")[2]
            with cond:
                flight[host] += 1
                flight["*"] += 1
                peak[host] = max(peak[host], flight[host])
                peak["*"] = max(peak["*"], flight["*"])
                cond.notify_all()
                assert cond.wait_for(lambda: wait_for(flight, host, left), timeout=30)
                flight[host] -= 1
                flight["*"] -= 1
                left[host] -= 1
                left["*"] -= 1
                cond.notify_all()
            return FakeResponse(url)

    def check(urls):
        left.update(u.split("/")[2] for u in urls)
        left["*"] = len(urls)
        results = linkcheck.check_urls(urls, lambda url: Fake())
        assert len(results) == len(urls) and all(r.level is None for r in results.values())
        return peak

    return check


def test_at_most_2_per_host():
    """Each request waits until its host has 2 in flight: reached, never passed."""
    urls = [f"https://h{i // 4}.example/{i}" for i in range(24)]  # 6 hosts, 4 links each
    peak = counting(lambda flight, host, left: flight[host] >= 2 or left[host] < 2)(urls)
    assert max(v for k, v in peak.items() if k != "*") == linkcheck.PER_HOST == 2


def test_at_most_8_at_a_time():
    """Each request waits until 8 are in flight: reached, never passed."""
    urls = [f"https://h{i}.example/" for i in range(24)]  # one link on each of 24 hosts
    peak = counting(lambda flight, host, left: flight["*"] >= 8 or left["*"] < 8)(urls)
    assert peak["*"] == linkcheck.MAX_PARALLEL == 8
