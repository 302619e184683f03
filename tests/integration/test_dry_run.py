"""``--dry-run`` prints the plan that ``plan()`` makes, through the CLI, and writes
nothing: no ledger, no site files, no outbox, no cache."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sitekit import NOW, at, describe, news_post, outbox_sends

from postpipe.config import load_settings
from postpipe.plan import MarkMissed, PrepareCampaign, PushPost, RefreshSite, Send
from postpipe.publish import Publisher, plan_line


def files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_publish_dry_run_prints_the_plan_from_plan(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site(
        {
            "alpha.md": news_post("alpha"),
            "beta.md": news_post("beta", date="2026-06-11 10:00", newsletter=False),
        }
    )
    before = files(site.root)
    out = site.ok("publish", "--dry-run")
    assert files(site.root) == before  # nothing written: not even the render cache
    # the lines are the plan, as the same plan() makes it in process
    with Publisher(load_settings(site.root, environ=site.env), now=NOW, dry_run=True) as p:
        report = p.publish()
    assert [type(a) for a in report.actions] == [PushPost, PushPost, PrepareCampaign, RefreshSite]
    printed = [plan_line(a, "folder", "outbox") for a in report.actions]
    assert out.splitlines() == [line for line in printed if line] == report.lines
    assert out.splitlines() == [
        "create beta → folder",  # the newest first
        "create alpha → folder",
        "create alpha → outbox campaign (not sent)",
    ]


def test_send_due_dry_run_prints_what_would_be_sent_and_sends_nothing(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site({"alpha.md": news_post("alpha", send_at=at(hours=-1))})
    site.ok("publish")
    ledger = site.ledger.read_bytes()
    out = site.ok("send", "--due", "--dry-run")
    assert out.splitlines() == ["send   alpha → outbox"]
    assert outbox_sends(site.root) == [] and site.ledger.read_bytes() == ledger
    assert site.status()["alpha"]["newsletter"] == "prepared"


def test_send_due_dry_run_says_missed_without_recording_it(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site({"alpha.md": news_post("alpha", send_at=at(hours=-30))})
    site.ok("publish")
    ledger = site.ledger.read_bytes()
    out = site.ok("send", "--due", "--dry-run")
    assert out.splitlines() == [
        f"missed alpha: due {(NOW - timedelta(hours=30)).isoformat(sep=' ', timespec='minutes')}"
        ", 30h late (more than POSTPIPE_MAX_LATENESS=24h); not sent. To send it anyway: "
        "postpipe send alpha --yes"
    ]
    assert site.ledger.read_bytes() == ledger
    assert site.status()["alpha"]["newsletter"] == "prepared"
    # the real run does what the dry run said
    assert site.ok("send", "--due").splitlines() == out.splitlines()
    assert site.status()["alpha"]["newsletter"] == "missed"


def test_send_slug_dry_run_shows_the_confirmation_and_the_plan(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site({"alpha.md": news_post("alpha")})
    result = site.run("send", "alpha", "--dry-run")
    assert result.returncode == 0, describe(result)
    lines = result.stdout.splitlines()
    assert lines[0] == "Send 'Alpha event recap'"
    assert lines[-2:] == ["create alpha → folder", "send   alpha → outbox"]
    assert not site.ledger.exists() and outbox_sends(site.root) == []


def test_the_dry_run_plan_is_the_executed_plan(pp_site) -> None:  # type: ignore[no-untyped-def]
    site = pp_site({"alpha.md": news_post("alpha", send_at=at(hours=-1))})
    settings = load_settings(site.root, environ=site.env)
    with Publisher(settings, now=NOW, dry_run=True) as p:
        planned = p.send_due().actions
    with Publisher(settings, now=NOW) as p:
        done = p.send_due()
    assert done.ok, done.lines
    assert [type(a) for a in done.actions] == [type(a) for a in planned]
    assert [type(a) for a in planned] == [PushPost, Send, RefreshSite]
    assert not any(isinstance(a, MarkMissed) for a in planned)
    assert len(outbox_sends(site.root)) == 1
