"""The exactly-once scenarios of the publishing core once more, with the real
Mailchimp and listmonk adapters on their fakes, through real ``postpipe``
processes (the variables point at the fakes over http://127.0.0.1): publish
prepares and never sends, overlapping cron runs, a SIGKILL after the provider
sent, lost answers, a 429, and a deleted ledger. Each checks the provider's own
count of real sends and the calls it received.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from listkit import FAKES, provider_env

if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
import fake_brevo  # noqa: E402
import fake_buttondown  # noqa: E402
import fake_listmonk  # noqa: E402
import fake_mailchimp  # noqa: E402
from sitekit import RUN_TIMEOUT, Site, at, base_env, describe, news_post, wait_for  # noqa: E402

from postpipe.ledger import LIST, Ledger  # noqa: E402

DUE = {"alpha.md": news_post("alpha", send_at=at(hours=-1))}


@pytest.fixture(params=["mailchimp", "listmonk"])
def fake(request: pytest.FixtureRequest) -> Iterator[Any]:
    cls = {"mailchimp": fake_mailchimp.FakeMailchimp, "listmonk": fake_listmonk.FakeListmonk}
    with cls[request.param]() as server:
        yield server


def make_site(tmp_path: Path, fake: Any, posts: dict[str, str]) -> Site:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    return Site(root=root, env={**base_env(tmp_path), **provider_env(fake)}, api=fake)


def row(site: Site, slug: str, target: str) -> dict[str, Any]:
    """The ledger row of a newsletter, read directly (faster than ``status --json``)."""
    with Ledger(site.ledger) as ledger:
        item = ledger.get(slug, LIST, target)
    assert item is not None
    return {"state": item.state, "error": item.last_error, "sent_at": item.sent_at}


def send_calls(fake: Any) -> list[tuple[str, str, Any]]:
    """The requests that start a send: Mailchimp's actions/send, listmonk's status PUT."""
    return [
        (m, p, s)
        for m, p, s in fake.calls()
        if p.endswith("/actions/send") or (p.endswith("/status") and m == "PUT")
    ]


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
        pytest.fail(f"postpipe did not finish in {RUN_TIMEOUT}s: {out}{err}")
    return proc.returncode, out, err


def test_publish_prepares_and_cron_sends_once(fake: Any, tmp_path: Path) -> None:
    posts = {**DUE, "beta.md": news_post("beta", send_at=at(days=1))}
    site = make_site(tmp_path, fake, posts)
    out = site.ok("publish")
    assert f"prepared alpha → {fake.name} campaign" in out
    assert f"prepared beta → {fake.name} campaign; due" in out
    assert fake.sends == []
    writes = [(m, p.split("/")[-1]) for m, p, _ in fake.calls(writes_only=True)]
    if fake.name == "mailchimp":  # create, then the content: per post
        assert writes == [("POST", "campaigns"), ("PUT", "content")] * 2
    else:
        assert writes == [("POST", "campaigns")] * 2
    stored = fake.by_title if fake.name == "mailchimp" else fake.by_name
    keys = [
        k
        for k in (
            c.get("settings", {}).get("title") or c.get("name") for c in (fake.campaigns.values())
        )
        if k
    ]
    assert sorted(k.rsplit("-", 1)[0] for k in keys) == ["alpha", "beta"]
    assert all(len(stored(k)) == 1 for k in keys)

    fake.reset_log()
    assert site.ok("publish") == "nothing to do: everything is up to date\n"
    assert fake.calls() == []  # unchanged: not even a look

    assert f"sent   alpha → {fake.name}" in site.ok("send", "--due")
    assert len(fake.sends) == 1
    [cid] = [str(c["id"]) for c in stored(next(k for k in keys if k.startswith("alpha")))]
    if fake.name == "mailchimp":  # look, bring the campaign up to date, send
        assert [(m, p) for m, p, _ in fake.calls()] == [
            ("GET", "/3.0/campaigns"),
            ("PATCH", f"/3.0/campaigns/{cid}"),
            ("PUT", f"/3.0/campaigns/{cid}/content"),
            ("POST", f"/3.0/campaigns/{cid}/actions/send"),
        ]
    else:
        assert [(m, p) for m, p, _ in fake.calls()] == [
            ("GET", "/api/campaigns"),
            ("PUT", f"/api/campaigns/{cid}"),
            ("PUT", f"/api/campaigns/{cid}/status"),
        ]
    assert row(site, "alpha", fake.name)["state"] == "sent"
    assert row(site, "beta", fake.name)["state"] == "scheduled"
    fake.reset_log()
    assert site.ok("send", "--due") == ""
    assert fake.calls() == []
    assert len(fake.sends) == 1


def test_two_overlapping_cron_runs_send_once(fake: Any, tmp_path: Path) -> None:
    site = make_site(tmp_path, fake, DUE)
    fake.inject("send", "delay-after", seconds=0.5)  # the first run holds the lock meanwhile
    results = [finish(p) for p in [site.popen("send", "--due"), site.popen("send", "--due")]]
    assert [rc for rc, _, _ in results] == [0, 0], results
    outputs = sorted(out for _, out, _ in results)
    assert outputs[0] == ""  # the second run found it sent: cron stays quiet
    assert f"sent   alpha → {fake.name}" in outputs[1]
    assert len(fake.sends) == 1
    assert len(send_calls(fake)) == 1


def test_sigkill_after_the_provider_sent_is_reconciled(fake: Any, tmp_path: Path) -> None:
    site = make_site(tmp_path, fake, DUE)
    fake.inject("send", "delay-after", seconds=20)
    proc = site.popen("send", "--due")
    try:
        wait_for(fake.send_received.is_set, 20, "the send to arrive", proc)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.communicate(timeout=5)
    assert len(fake.sends) == 1
    assert row(site, "alpha", fake.name)["state"] == "sending"

    out = site.ok("send", "--due")
    assert f"alpha → {fake.name}: already sent (found at the provider); recorded" in out
    assert len(fake.sends) == 1
    assert len(send_calls(fake)) == 1  # it asked; it did not try again
    assert row(site, "alpha", fake.name) | {"sent_at": None} == {
        "state": "sent",
        "error": None,
        "sent_at": None,
    }


def test_lost_answer_is_reconciled_not_resent(fake: Any, tmp_path: Path) -> None:
    site = make_site(tmp_path, fake, DUE)
    fault = "drop-after" if fake.name == "mailchimp" else "500-after"
    fake.inject("send", fault)
    first = site.run("send", "--due")
    assert first.returncode == 1, describe(first)
    assert "it may have been sent; the next run asks the provider" in first.stdout
    assert "Traceback" not in first.stderr
    assert row(site, "alpha", fake.name)["state"] == "sending"
    assert len(fake.sends) == 1

    out = site.ok("send", "--due")
    assert "already sent (found at the provider); recorded" in out
    assert len(fake.sends) == 1
    assert len(send_calls(fake)) == 1
    assert row(site, "alpha", fake.name)["state"] == "sent"


def test_mailchimp_429_on_send_releases_and_the_next_run_sends(tmp_path: Path) -> None:
    with fake_mailchimp.FakeMailchimp() as fake:
        site = make_site(tmp_path, fake, DUE)
        fake.inject("send", "429")  # bare, without Retry-After
        first = site.run("send", "--due")
        assert first.returncode == 1, describe(first)
        assert "HTTP 429" in first.stdout and "not sent; the next run tries again" in first.stdout
        assert row(site, "alpha", "mailchimp")["state"] == "prepared"
        assert fake.sends == [] and len(send_calls(fake)) == 1  # no blind retry of a send

        assert "sent   alpha → mailchimp" in site.ok("send", "--due")
        assert len(fake.sends) == 1 and len(send_calls(fake)) == 2


def test_deleted_ledger_causes_no_duplicate_campaign_or_send(fake: Any, tmp_path: Path) -> None:
    site = make_site(tmp_path, fake, DUE)
    site.ok("publish")
    assert "sent   alpha" in site.ok("send", "--due")
    site.ledger.unlink()
    out = site.ok("publish")
    assert "already sent (found at the provider); recorded" in out
    site.ledger.unlink()
    out = site.ok("send", "--due")
    assert "already sent (found at the provider); recorded" in out
    assert len(fake.sends) == 1
    assert len(fake.campaigns) == 1  # no second campaign either
    assert len(send_calls(fake)) == 1


@pytest.mark.parametrize("name", ["buttondown", "brevo"])
def test_publish_and_send_due_make_exactly_these_calls(name: str, tmp_path: Path) -> None:
    cls = {"buttondown": fake_buttondown.FakeButtondown, "brevo": fake_brevo.FakeBrevo}[name]
    with cls() as fake:
        site = make_site(tmp_path, fake, DUE)
        assert "prepared alpha → " + name in site.ok("publish")
        published = [(m, p) for m, p, _ in fake.calls()]
        fake.reset_log()
        assert "sent   alpha → " + name in site.ok("send", "--due")
        sent = [(m, p) for m, p, _ in fake.calls()]
        assert len(fake.sends) == 1
        assert site.ok("send", "--due") == ""
        [item] = fake.emails.values() if name == "buttondown" else fake.campaigns.values()
        cid = item["id"]
    if name == "buttondown":
        assert published == [("GET", "/v1/emails"), ("POST", "/v1/emails")]
        # the draft is unchanged (its digest rides in metadata): no PATCH, just publish
        assert sent == [("GET", "/v1/emails"), ("POST", f"/v1/emails/{cid}/publish")]
        assert item["metadata"]["postpipe_key"].startswith("alpha-pk")
        assert "{{ unsubscribe_url }}" in item["body"]
    else:
        assert published == [("GET", "/v3/emailCampaigns"), ("POST", "/v3/emailCampaigns")]
        # no update (same content): one look and one send, of ~100 calls an hour
        assert sent == [
            ("GET", "/v3/emailCampaigns"),
            ("POST", f"/v3/emailCampaigns/{cid}/sendNow"),
        ]
        assert "{{ unsubscribe }}" in item["htmlContent"]


def test_a_campaign_scheduled_at_the_provider_is_only_reconciled(tmp_path: Path) -> None:
    with fake_mailchimp.FakeMailchimp() as fake:
        site = make_site(tmp_path, fake, DUE)
        site.ok("publish")
        [campaign] = fake.campaigns.values()
        campaign["status"] = "schedule"  # scheduled by hand in Mailchimp

        first = site.run("send", "--due")
        assert first.returncode == 1, describe(first)
        assert "is scheduled at Mailchimp; postpipe does not send it a second time" in first.stdout
        assert fake.sends == [] and send_calls(fake) == []
        assert row(site, "alpha", "mailchimp")["state"] == "sending"

        campaign["status"] = "sent"  # Mailchimp sent it at its time
        fake.record_send(campaign["id"])
        out = site.ok("send", "--due")
        assert "already sent (found at the provider); recorded" in out
        assert send_calls(fake) == [] and len(fake.sends) == 1
        assert row(site, "alpha", "mailchimp")["state"] == "sent"
