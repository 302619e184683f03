"""A newsletter is sent exactly once: real ``postpipe`` processes against the fake
list API (and the built-in ``outbox``), with overlapping runs, a SIGKILL between
the provider's answer and the ledger commit, lost answers, a 500, a 429, and a
deleted ledger. Every scenario checks the provider's count of real sends and
the ledger as ``postpipe status --json`` shows it.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from fakelist_target import FakeList
from sitekit import (
    API,
    NOW,
    RUN_TIMEOUT,
    InProcessAPI,
    Site,
    api_requests,
    at,
    describe,
    news_post,
    outbox_sends,
    sends,
    tree,
    wait_for,
)

from postpipe.config import load_settings
from postpipe.errors import AuthError, ProviderError, RateLimited
from postpipe.keys import IdempotencyKey
from postpipe.targets.base import Campaign, OutgoingEmail

DUE_HOUR_AGO = {"alpha.md": news_post("alpha", send_at=at(hours=-1))}


@pytest.fixture(params=["fakelist", "outbox"])
def api(request: pytest.FixtureRequest) -> API | None:
    """The list target: the fake list API, or None for the built-in outbox."""
    return request.getfixturevalue("listapi") if request.param == "fakelist" else None


def real_sends(site: Site) -> int:
    """Sends the provider made: the fake API's count, or .eml files with a key."""
    return sends(site.api) if site.api is not None else len(outbox_sends(site.root))


def send_posts(api: API) -> int:
    """How many ``POST /campaigns/{id}/send`` requests the API received."""
    return sum(1 for m, p in api_requests(api) if m == "POST" and p.endswith("/send"))


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
        pytest.fail(f"postpipe did not finish in {RUN_TIMEOUT}s: {out}{err}")
    return proc.returncode, out, err


# ---------------------------------------------------------------------------
# the fake API through its adapter (in process): the behaviour the scenarios rely on


def _email(slug: str = "alpha") -> OutgoingEmail:
    return OutgoingEmail(
        slug=slug,
        subject="Alpha recap",
        preheader="",
        html="<p>Hello</p>",
        text="Hello",
        from_name="Test",
        from_email="news@example.org",
        reply_to="news@example.org",
        view_url="https://news.example.org/alpha/",
        unsubscribe_url="mailto:news@example.org?subject=unsubscribe",
    )


@pytest.fixture
def adapter(listapi: InProcessAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeList:
    monkeypatch.setenv("FAKELIST_URL", listapi.url)
    monkeypatch.setenv("FAKELIST_TOKEN", listapi.token)
    return FakeList(load_settings(tmp_path, environ={}), clock=lambda: NOW)


def test_the_fake_list_and_its_adapter(listapi: InProcessAPI, adapter: FakeList) -> None:
    key = IdempotencyKey.for_newsletter("alpha", "test:")
    assert adapter.find_campaign(key) is None
    draft = adapter.prepare(_email(), key, None)
    assert (draft.key, draft.status) == (key.value, "draft")
    assert adapter.find_campaign(key) == draft
    assert adapter.prepare(_email(), key, draft).remote_id == draft.remote_id  # PUT
    adapter.send_test(draft, _email(), "a@example.org")
    assert sends(listapi) == 0

    sent = adapter.send(draft, _email())
    assert (sent.status, sent.sent) == ("sent", True)
    found = adapter.find_campaign(key)
    assert found is not None and found.sent
    # a second send is refused with 409 "already sent": the adapter reports it as sent
    assert adapter.send(draft, _email()).status == "sent"
    assert sends(listapi) == 1
    with pytest.raises(ProviderError, match="409"):  # a sent campaign cannot change
        adapter.prepare(_email(), key, found)
    assert api_requests(listapi) == [
        ("GET", "/campaigns"),
        ("POST", "/campaigns"),
        ("GET", "/campaigns"),
        ("PUT", f"/campaigns/{draft.remote_id}"),
        ("POST", f"/campaigns/{draft.remote_id}/test"),
        ("POST", f"/campaigns/{draft.remote_id}/send"),
        ("GET", "/campaigns"),
        ("POST", f"/campaigns/{draft.remote_id}/send"),
        ("PUT", f"/campaigns/{draft.remote_id}"),
    ]


def test_the_fake_list_faults_as_http_py_sees_them(
    listapi: InProcessAPI, adapter: FakeList
) -> None:
    def fresh(n: int) -> Campaign:
        return adapter.prepare(_email(), IdempotencyKey.for_newsletter(f"post{n}", "test:"), None)

    # a 429 on each of the policy's 3 attempts (a 429 is retried, even for a POST)
    lasting_429 = [{"kind": "429", "retry_after": 0}] * 3
    listapi.control(send_faults=[*lasting_429, {"kind": "500"}, {"kind": "drop"}])
    with pytest.raises(RateLimited) as limited:
        adapter.send(fresh(1), _email())
    assert (limited.value.retry_after, limited.value.maybe_sent) == (0.0, False)
    assert sends(listapi) == 0
    with pytest.raises(ProviderError) as failed:
        adapter.send(fresh(2), _email())
    assert (failed.value.status, failed.value.maybe_sent) == (500, True)
    with pytest.raises(ProviderError) as dropped:
        adapter.send(fresh(3), _email())
    assert (dropped.value.status, dropped.value.maybe_sent) == (None, True)
    assert sends(listapi) == 2  # the 500 and the dropped answer both came after the send
    assert [r["status"] for r in listapi.state()["requests"] if r["path"].endswith("/send")] == [
        429,
        429,
        429,
        500,
        "dropped",
    ]

    listapi.control(token="another-token")
    with pytest.raises(AuthError, match="HTTP 401 Unauthorized: bad token"):
        adapter.find_campaign(IdempotencyKey.for_newsletter("post1", "test:"))


def test_the_fake_list_validates_what_it_is_given(listapi: InProcessAPI) -> None:
    import requests

    auth = {"Authorization": f"Bearer {listapi.token}"}
    missing = requests.post(
        f"{listapi.url}/campaigns", json={"name": "x", "subject": "s"}, headers=auth, timeout=5
    )
    assert (missing.status_code, missing.json()) == (400, {"message": "missing field: html"})
    anonymous = requests.get(f"{listapi.url}/campaigns", timeout=5)
    assert (anonymous.status_code, anonymous.json()) == (401, {"message": "bad token"})


# ---------------------------------------------------------------------------
# overlapping runs


def test_two_concurrent_send_due_runs_send_once(api: API | None, pp_site) -> None:
    site = pp_site(DUE_HOUR_AGO, api=api)
    if api is not None:
        # the first run holds the run lock for half a second inside the send call,
        # so the second one certainly overlaps it
        api.control(send_faults=[{"kind": "delay", "seconds": 0.5}])
    procs = [site.popen("send", "--due"), site.popen("send", "--due")]
    results = [finish(p) for p in procs]

    assert [rc for rc, _, _ in results] == [0, 0], results
    assert [err for _, _, err in results] == ["", ""], results
    outputs = sorted(out for _, out, _ in results)
    assert outputs[0] == "", outputs  # the second run found it sent: cron stays quiet
    assert "sent   alpha →" in outputs[1]
    assert real_sends(site) == 1
    if api is not None:
        assert send_posts(api) == 1
    row = site.status()["alpha"]
    assert row["newsletter"] == "sent"
    assert row["sent_at"] == NOW.isoformat()


# ---------------------------------------------------------------------------
# a crash and lost answers


def test_sigkill_after_the_provider_sent_is_reconciled(listapi_process, pp_site) -> None:
    api = listapi_process(send_faults=[{"kind": "delay", "seconds": 20}])
    site = pp_site(DUE_HOUR_AGO, api=api)
    proc = site.popen("send", "--due")
    try:
        # the provider has sent and is holding its answer back: kill the client now,
        # after the send and before postpipe could commit "sent"
        wait_for(lambda: api.state()["send_received"], 15, "the send to arrive", proc)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.communicate(timeout=5)
    assert sends(api) == 1
    assert site.status()["alpha"]["newsletter"] == "sending"  # the claim was committed

    out = site.ok("send", "--due")
    assert "alpha → fakelist: already sent (found at the provider); recorded" in out
    assert sends(api) == 1
    assert send_posts(api) == 1  # it asked; it did not try again
    row = site.status()["alpha"]
    assert row["newsletter"] == "sent"
    assert row["last_error"] is None
    assert site.ok("send", "--due") == ""


@pytest.mark.parametrize(
    ("fault", "error"),
    [("500", "HTTP 500"), ("drop", "failed after the request was sent")],
    ids=["500-after-send", "connection-dropped-after-send"],
)
def test_ambiguous_send_failure_is_reconciled_not_resent(
    listapi: API, pp_site, fault: str, error: str
) -> None:
    site = pp_site(DUE_HOUR_AGO, api=listapi)
    listapi.control(send_faults=[{"kind": fault}])

    first = site.run("send", "--due")
    assert first.returncode == 1, describe(first)
    assert "error  alpha → fakelist" in first.stdout
    assert error in first.stdout
    assert "it may have been sent; the next run asks the provider" in first.stdout
    assert "Traceback" not in first.stderr
    row = site.status()["alpha"]
    assert row["newsletter"] == "sending"
    assert error in row["last_error"]
    assert sends(listapi) == 1

    out = site.ok("send", "--due")
    assert "already sent (found at the provider); recorded" in out
    assert sends(listapi) == 1
    assert send_posts(listapi) == 1
    row = site.status()["alpha"]
    assert (row["newsletter"], row["last_error"]) == ("sent", None)
    assert site.ok("send", "--due") == ""


def test_429_on_send_is_retried_after_retry_after_and_sends_once(listapi: API, pp_site) -> None:
    # A 429 means the provider did not act: http.py asks again after Retry-After
    # (here 0 seconds, so the run does not wait), and the newsletter goes out once.
    site = pp_site(DUE_HOUR_AGO, api=listapi)
    listapi.control(send_faults=[{"kind": "429", "retry_after": 0}])
    assert "sent   alpha → fakelist" in site.ok("send", "--due")
    assert send_posts(listapi) == 2  # the 429, then the send
    assert sends(listapi) == 1
    assert site.status()["alpha"]["newsletter"] == "sent"


def test_a_lasting_429_on_send_releases_the_claim(listapi: API, pp_site) -> None:
    # A 429 on every attempt: nothing was sent, so the run fails cleanly, the
    # newsletter goes back to "prepared", and the next run sends it once.
    site = pp_site(DUE_HOUR_AGO, api=listapi)
    listapi.control(send_faults=[{"kind": "429", "retry_after": 0}] * 3)  # every attempt

    first = site.run("send", "--due")
    assert first.returncode == 1, describe(first)
    assert "HTTP 429" in first.stdout
    assert "not sent; the next run tries again" in first.stdout
    assert send_posts(listapi) == 3  # the policy's attempts, no more
    assert sends(listapi) == 0
    row = site.status()["alpha"]
    assert row["newsletter"] == "prepared"
    assert "429" in row["last_error"]

    out = site.ok("send", "--due")
    assert "sent   alpha → fakelist" in out
    assert sends(listapi) == 1
    assert send_posts(listapi) == 4
    row = site.status()["alpha"]
    assert (row["newsletter"], row["last_error"]) == ("sent", None)


# ---------------------------------------------------------------------------
# a deleted ledger


def test_deleted_ledger_causes_no_duplicate_post_or_send(api: API | None, pp_site) -> None:
    site = pp_site(DUE_HOUR_AGO, api=api)
    site.ok("publish")
    assert "sent   alpha" in site.ok("send", "--due")
    assert real_sends(site) == 1
    public = tree(site.public)
    assert "alpha/index.html" in public

    # the ledger is gone: publish finds the post and the sent campaign again
    assert not site.ledger.with_name("ledger.sqlite3-wal").exists()  # closed cleanly
    site.ledger.unlink()
    out = site.ok("publish")
    assert "already sent (found at the provider); recorded" in out
    assert site.ok("send", "--due") == ""
    assert real_sends(site) == 1
    assert tree(site.public) == public  # same files, none rewritten: no second post
    assert site.status()["alpha"]["newsletter"] == "sent"

    # and straight from cron, without a publish first
    site.ledger.unlink()
    out = site.ok("send", "--due")
    assert "already sent (found at the provider); recorded" in out
    assert real_sends(site) == 1
    assert tree(site.public) == public
    assert site.status()["alpha"]["newsletter"] == "sent"
    if api is not None:
        assert len(api.state()["campaigns"]) == 1  # no second campaign either
        assert send_posts(api) == 1


def test_a_new_site_url_and_a_deleted_ledger_send_nothing_twice(api: API | None, pp_site) -> None:
    """The key comes from the slug and the list, not POSTPIPE_SITE_URL (issue: a moved
    site whose ledger was deleted sent its newsletter again)."""
    site = pp_site(DUE_HOUR_AGO, api=api)
    site.ok("publish")
    assert "sent   alpha" in site.ok("send", "--due")
    sent_at = site.status()["alpha"]["sent_at"]
    assert sent_at and sent_at.startswith(NOW.isoformat()[:16])

    site.ledger.unlink()
    later = {"POSTPIPE_SITE_URL": "https://www.example.net/news", "POSTPIPE_NOW": at(hours=3)}
    out = site.ok("send", "--due", env=later)
    assert "already sent (found at the provider); recorded" in out
    assert real_sends(site) == 1
    row = site.ok("status", "--json", env=later)
    alpha = next(r for r in json.loads(row) if r["slug"] == "alpha")
    assert alpha["newsletter"] == "sent"
    if api is None:  # the outbox knows when the message went out: its Date header
        assert alpha["sent_at"] == sent_at


def test_a_campaign_with_a_key_of_the_old_form_is_found(api: API | None, pp_site) -> None:
    """Campaigns made before the key changed form (it hashed the site URL) are found."""
    site = pp_site(DUE_HOUR_AGO, api=api)
    site.ok("publish")
    db = sqlite3.connect(site.ledger)
    with db:  # what an older postpipe stored: <slug>-pp<sha256(site_url|slug)[:10]>
        db.execute("UPDATE items SET idem_key = 'alpha-pp0123456789' WHERE kind = 'list'")
    db.close()
    assert "sent   alpha" in site.ok("send", "--due")
    assert real_sends(site) == 1
    site.ledger.unlink()  # a new postpipe, no ledger: only the old-form key is out there
    out = site.ok("send", "--due")
    assert "already sent (found at the provider); recorded" in out
    assert real_sends(site) == 1


# ---------------------------------------------------------------------------
# send_at, lateness and quiet cron runs


def test_send_due_follows_send_at_and_max_lateness(api: API | None, pp_site) -> None:
    site = pp_site(
        {
            "future.md": news_post("future", send_at=at(minutes=30)),
            "hour.md": news_post("hour", send_at=at(hours=-1)),
            "twodays.md": news_post("twodays", send_at=at(days=-2)),
            "plain.md": news_post("plain", newsletter=False),
        },
        api=api,
    )
    out = site.ok("send", "--due")
    lines = out.splitlines()
    assert any(line.startswith("sent   hour →") for line in lines), out
    missed = [line for line in lines if line.startswith("missed twodays")]
    assert missed == [
        "missed twodays: due 2026-06-13 12:00+00:00, 48h late (more than "
        "POSTPIPE_MAX_LATENESS=24h); not sent. To send it anyway: "
        "postpipe send twodays --yes"
    ]
    assert "future" not in out
    assert real_sends(site) == 1
    rows = site.status()
    assert rows["future"]["newsletter"] == "scheduled"
    assert rows["hour"]["newsletter"] == "sent"
    assert rows["twodays"]["newsletter"] == "missed"
    assert "48h late" in rows["twodays"]["last_error"]
    assert rows["plain"]["newsletter"] == "none"

    # the next minute: nothing to say (the missed line is not repeated)
    assert site.ok("send", "--due") == ""
    # once its time has come, the scheduled one goes out
    later = {"POSTPIPE_NOW": at(minutes=31)}
    assert "sent   future →" in site.ok("send", "--due", env=later)
    assert real_sends(site) == 2
    assert site.ok("send", "--due", env=later) == ""
    assert real_sends(site) == 2


def test_max_lateness_is_configurable(listapi: API, pp_site) -> None:
    site = pp_site(
        {"twodays.md": news_post("twodays", send_at=at(days=-2))},
        api=listapi,
        env={"POSTPIPE_MAX_LATENESS": "72h"},
    )
    assert "sent   twodays →" in site.ok("send", "--due")
    assert sends(listapi) == 1


def test_send_due_with_nothing_due_prints_nothing(listapi: API, pp_site) -> None:
    site = pp_site(
        {
            "future.md": news_post("future", send_at=at(days=3)),
            "nosend.md": news_post("nosend"),  # a newsletter without send_at: sent by hand
            "plain.md": news_post("plain", newsletter=False),
        },
        api=listapi,
    )
    result = site.run("send", "--due")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert api_requests(listapi) == []  # not even a look at the provider
    assert sends(listapi) == 0
    site.ok("publish")
    result = site.run("send", "--due")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert sends(listapi) == 0
