"""The exactly-once scenarios of the publishing core once more, with the real
adapters of all four HTTP lists (Mailchimp, listmonk, Buttondown, Brevo) on their
fakes, through real ``postpipe`` processes (the variables point at the fakes over
http://127.0.0.1): publish prepares and never sends, overlapping cron runs, a
SIGKILL between the provider's answer and the ledger commit, a dropped
connection and a 500 after the provider sent, a 429, a deleted ledger, and a
status postpipe does not know. Each checks the provider's own count of real
sends and the calls it received.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from listkit import FAKE_CLASSES, FAKES, is_send, provider_env

if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
import fake_brevo  # noqa: E402
import fake_buttondown  # noqa: E402
import fake_listmonk  # noqa: E402
import fake_mailchimp  # noqa: E402
from sitekit import RUN_TIMEOUT, Site, at, base_env, describe, news_post, wait_for  # noqa: E402

from postpipe.config import load_settings  # noqa: E402
from postpipe.ledger import LIST, Ledger  # noqa: E402
from postpipe.publish import Publisher  # noqa: E402
from postpipe.targets.base import get_list  # noqa: E402

DUE = {"alpha.md": news_post("alpha", send_at=at(hours=-1))}


@pytest.fixture(params=sorted(FAKE_CLASSES))
def fake(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Each of the four HTTP lists' fakes."""
    with FAKE_CLASSES[request.param]() as server:
        yield server


def stored(fake: Any) -> list[dict[str, Any]]:
    """Every campaign (Buttondown: email) the provider holds."""
    return list((fake.emails if fake.name == "buttondown" else fake.campaigns).values())


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
    """The requests that start a send (``listkit.is_send``)."""
    return [c for c in fake.calls() if is_send(*c)]


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
        pytest.fail(f"postpipe did not finish in {RUN_TIMEOUT}s: {out}{err}")
    return proc.returncode, out, err


@pytest.mark.parametrize("fake", ["listmonk", "mailchimp"], indirect=True)
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


@pytest.mark.parametrize("fault", ["drop-after", "500-after"])
def test_lost_answer_to_a_send_is_reconciled_not_resent(
    fake: Any, fault: str, tmp_path: Path
) -> None:
    # the provider sent, then the connection dropped (or it answered 500)
    site = make_site(tmp_path, fake, DUE)
    fake.inject("send", fault)
    if fake.name == "listmonk" and fault == "drop-after":
        # listmonk's status PUT is safe to repeat: the repeat is refused (it is
        # running) and the campaign, read again, is sent: one run, one send
        assert "sent   alpha → listmonk" in site.ok("send", "--due")
        assert [s for _, _, s in send_calls(fake)] == ["dropped", 400]
        assert len(fake.sends) == 1
        assert row(site, "alpha", fake.name)["state"] == "sent"
        return
    first = site.run("send", "--due")
    assert first.returncode == 1, describe(first)
    assert "it may have been sent; the next run asks the provider" in first.stdout
    assert "Traceback" not in first.stderr
    assert row(site, "alpha", fake.name)["state"] == "sending"
    assert len(fake.sends) == 1
    sent_before = len(send_calls(fake))

    out = site.ok("send", "--due")
    assert "already sent (found at the provider); recorded" in out
    assert len(fake.sends) == 1
    assert len(send_calls(fake)) == sent_before  # it asked; it did not try again
    assert row(site, "alpha", fake.name)["state"] == "sent"


def test_429_on_send_is_retried_and_sends_once(tmp_path: Path) -> None:
    # a 429 means the provider did nothing: http.py asks again (after a backoff:
    # Mailchimp sends no Retry-After), and the newsletter goes out once
    with fake_mailchimp.FakeMailchimp() as fake:
        site = make_site(tmp_path, fake, DUE)
        fake.inject("send", "429")  # bare, without Retry-After
        assert "sent   alpha → mailchimp" in site.ok("send", "--due")
        assert [s for _, _, s in send_calls(fake)] == [429, 204]
        assert len(fake.sends) == 1
        assert row(site, "alpha", "mailchimp")["state"] == "sent"


def test_listmonk_429_on_create_is_retried_and_publish_succeeds(tmp_path: Path) -> None:
    # in process, to take the backoff without sleeping: the list adapter gets a
    # sleep that records (Http's ``sleep``)
    with fake_listmonk.FakeListmonk() as fake:
        site = make_site(tmp_path, fake, DUE)
        fake.inject("create", "429", retry_after=1)
        settings = load_settings(site.root, environ=site.env)
        slept: list[float] = []
        with Publisher(settings, now=datetime.now(UTC)) as publisher:
            publisher.lst = get_list(settings, sleep=slept.append)
            report = publisher.publish()
        assert report.failures == 0, report.lines
        assert any(line.startswith("prepared alpha → listmonk") for line in report.lines)
        assert slept == [1.0]  # Retry-After honoured
        creates = [s for m, p, s in fake.calls() if (m, p) == ("POST", "/api/campaigns")]
        assert creates == [429, 200]
        assert len(fake.campaigns) == 1 and fake.sends == []


def test_listmonk_500_on_create_is_not_retried_and_the_next_run_finds_it(
    tmp_path: Path,
) -> None:
    with fake_listmonk.FakeListmonk() as fake:
        site = make_site(tmp_path, fake, DUE)
        fake.inject("create", "500-after")  # created, then the answer is a 500
        first = site.run("publish")
        assert first.returncode == 1, describe(first)
        assert "HTTP 500" in first.stdout
        creates = [c for c in fake.calls() if c[:2] == ("POST", "/api/campaigns")]
        assert [s for _, _, s in creates] == [500]  # not repeated blind
        assert len(fake.campaigns) == 1

        assert "prepared alpha → listmonk" in site.ok("publish")
        [campaign] = fake.campaigns.values()  # found by its key and updated: no second one
        assert [c for c in fake.calls() if c[:2] == ("POST", "/api/campaigns")] == creates
        assert "sent   alpha → listmonk" in site.ok("send", "--due")
        assert [s["id"] for s in fake.sends] == [campaign["id"]]


def test_an_unknown_provider_status_is_never_sent_and_is_reported(
    fake: Any, tmp_path: Path
) -> None:
    site = make_site(tmp_path, fake, DUE)
    site.ok("publish")
    [campaign] = stored(fake)
    campaign["status"] = "on_the_moon"  # a status postpipe has never heard of
    out = site.ok("send", "--due")
    assert (
        f"sent?  alpha → {fake.name}: status 'on_the_moon' unknown to postpipe; not sending; "
        f"check it at the provider (campaign {campaign['id']})" in out
    )
    assert "already sent" not in out
    assert send_calls(fake) == [] and fake.sends == []
    assert row(site, "alpha", fake.name)["state"] == "sent"  # never again
    assert site.ok("send", "--due") == "" and send_calls(fake) == []


def test_mailchimp_campaign_cancelled_halfway_is_never_sent_again(tmp_path: Path) -> None:
    with fake_mailchimp.FakeMailchimp() as fake:
        site = make_site(tmp_path, fake, DUE)
        site.ok("publish")
        [campaign] = fake.campaigns.values()
        campaign["status"] = "canceled"  # started, then cancelled in Mailchimp
        out = site.ok("send", "--due")
        assert "alpha → mailchimp: already sent (found at the provider); recorded" in out
        assert send_calls(fake) == [] and fake.sends == []
        assert row(site, "alpha", "mailchimp")["state"] == "sent"


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
    assert len(stored(fake)) == 1  # no second campaign either
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
