"""``postpipe report`` against the four HTTP list fakes: the field mapping, ``null``
handling, unknown ids, rate limits, the 15-minute cache and the hourly budget.

Field contracts relied on (from the providers' docs; see also
/work/shared/notes/api-contracts.md §8):

* **Mailchimp** ``GET /3.0/reports/{campaign_id}``: ``emails_sent``, ``unsubscribed``,
  ``bounces{hard_bounces, soft_bounces, syntax_errors}``, ``opens{opens_total,
  unique_opens, open_rate}``, ``clicks{clicks_total, unique_clicks,
  unique_subscriber_clicks, click_rate}``. Rates are fractions; ``unique_clicks`` sums
  unique clicks per link, people who clicked is ``unique_subscriber_clicks`` (used).
  ``GET /3.0/reports/{id}/click-details?count=&offset=`` → ``urls_clicked[{url,
  total_clicks, unique_clicks}]``, ``total_items`` (count ≤ 1000). Unknown id → 404
  problem+json. No Retry-After (429 under load).
* **listmonk** ``GET /api/campaigns/{id}`` → ``to_send``, ``sent``, ``views``,
  ``clicks``, ``bounces`` (events, not people); ``GET /api/campaigns/analytics/
  {views|clicks|links|bounces}?id=&from=&to=`` → ``{"data": [{campaign_id, count,
  timestamp}]}`` (links: ``[{url, count}]``, at most 50), per hour/day bucket,
  distinct subscribers per bucket with individual tracking on; needs
  ``campaigns:get_analytics``. Unknown id → 400 "Campaign not found". Only links
  written ``url@TrackLink`` (or ``{{ TrackLink "url" }}``) are counted.
* **Buttondown** ``GET /v1/emails/{id}/analytics`` → ``recipients``, ``deliveries``,
  ``opens``, ``clicks``, ``temporary_failures``, ``permanent_failures``,
  ``unsubscriptions``, ``complaints``, … (no per-link clicks). Unknown id → 404.
  429 carries ``Retry-After``.
* **Brevo** ``GET /v3/emailCampaigns/{id}`` → ``statistics{globalStats{sent,
  delivered, hardBounces, softBounces, uniqueViews, viewed, uniqueClicks, clickers,
  unsubscriptions, complaints}, campaignStats[{listId, …same…}], linksStats{url:
  clicks}, mirrorClick, remaining}``. Unknown id → 404 ``document_not_found``. The
  campaign endpoints share ~100 requests an hour: 429 without Retry-After,
  ``x-sib-ratelimit-*`` headers.

postpipe's mapping: recipients = emails sent; delivered = the provider's delivered
(Mailchimp: sent − bounces; listmonk: ``null``); bounces = hard + soft (Buttondown:
permanent failures); rates are the provider's where it gives one, else unique /
delivered (or recipients).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from listkit import FAKES, Harness, provider_env

if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from reportfigures import Figures  # noqa: E402
from sitekit import NOW, Site, at, base_env, describe, news_post  # noqa: E402

from postpipe.config import load_settings  # noqa: E402
from postpipe.errors import ProviderError  # noqa: E402
from postpipe.keys import IdempotencyKey  # noqa: E402
from postpipe.ledger import LIST, Ledger  # noqa: E402
from postpipe.report import FRESH, Reporter  # noqa: E402

LINK_A = "https://news.example.org/alpha/?utm_source=newsletter"
LINK_B = "https://example.com/speaker"
FIGURES = Figures(
    sent=200,
    delivered=190,
    hard_bounces=6,
    soft_bounces=4,
    opens_total=150,
    unique_opens=95,
    clicks_total=44,
    unique_clicks=38,
    unsubscribes=2,
    links={LINK_A: 30, LINK_B: 12},
)

#: what postpipe makes of FIGURES at each provider (see the module docstring)
EXPECTED: dict[str, dict[str, Any]] = {
    "mailchimp": dict(
        recipients=200, delivered=190, bounces=10, opens_unique=95, open_rate=0.5,
        clicks_unique=38, click_rate=0.2, unsubscribes=2, links=((LINK_A, 30), (LINK_B, 12)),
    ),
    "brevo": dict(
        recipients=200, delivered=190, bounces=10, opens_unique=95, open_rate=0.5,
        clicks_unique=38, click_rate=0.2, unsubscribes=2, links=((LINK_A, 30), (LINK_B, 12)),
    ),
    "buttondown": dict(
        recipients=200, delivered=190, bounces=6, opens_unique=95, open_rate=0.5,
        clicks_unique=38, click_rate=0.2, unsubscribes=2, links=(),
    ),
    "listmonk": dict(
        recipients=200, delivered=None, bounces=10, opens_unique=95, open_rate=0.475,
        clicks_unique=38, click_rate=0.19, unsubscribes=None, links=((LINK_A, 30), (LINK_B, 12)),
    ),
}  # fmt: skip


def sent_campaign(h: Harness, slug: str = "alpha") -> str:
    """Prepare and send one campaign through the adapter; its provider id."""
    lst = h.adapter()
    email = h.email(slug=slug)
    campaign = lst.prepare(email, IdempotencyKey.for_newsletter(slug, "test:"), None)
    sent = lst.send(campaign, email)
    assert sent.remote_id
    return str(sent.remote_id)


def report_calls(h: Harness) -> list[tuple[str, str, int]]:
    """The requests the report made (anything reading results, not campaigns lists)."""
    return [
        c
        for c in h.fake.calls()
        if "/reports/" in c[1]
        or "/analytics" in c[1]
        or (h.name == "brevo" and c[0] == "GET" and c[1].rstrip("/") != "/v3/emailCampaigns")
    ]


# -- the mapping ---------------------------------------------------------------------


def test_results_map_the_providers_fields(provider: Harness) -> None:
    cid = sent_campaign(provider)
    provider.fake.reports[cid] = FIGURES
    results = provider.adapter().results("alpha", cid)
    got = {k: getattr(results, k) for k in EXPECTED[provider.name]}
    assert got == EXPECTED[provider.name]


@pytest.mark.parametrize("name", ["mailchimp", "brevo", "buttondown"])
def test_a_figure_the_provider_leaves_out_is_none_not_zero(make_harness: Any, name: str) -> None:
    h = make_harness(name)
    cid = sent_campaign(h)
    h.fake.reports[cid] = Figures(
        sent=100, delivered=100, unique_clicks=5, omit=frozenset({"unique_opens", "unsubscribes"})
    )
    results = h.adapter().results("alpha", cid)
    assert results.opens_unique is None
    assert results.unsubscribes is None
    assert results.clicks_unique == 5
    if name != "mailchimp":  # Mailchimp always sends its own open_rate
        assert results.open_rate is None


def test_listmonk_without_any_open_gives_zero_not_none(make_harness: Any) -> None:
    h = make_harness("listmonk")
    cid = sent_campaign(h)
    h.fake.reports[cid] = Figures(sent=10)
    results = h.adapter().results("alpha", cid)
    assert (results.opens_unique, results.open_rate, results.clicks_unique) == (0, 0.0, 0)


def test_an_unknown_campaign_is_a_provider_error(provider: Harness) -> None:
    with pytest.raises(ProviderError):
        provider.adapter().results("alpha", "424242")


def test_brevo_out_of_hourly_requests_backs_off_then_fails_cleanly(make_harness: Any) -> None:
    h = make_harness("brevo")
    cid = sent_campaign(h)
    h.fake.reports[cid] = FIGURES
    h.fake.hourly = h.fake._used  # the hour's allowance is spent
    with pytest.raises(ProviderError) as caught:
        h.adapter().results("alpha", cid)
    assert caught.value.status == 429
    assert h.sleeps, "a 429 must back off before giving up"


def test_buttondown_429_waits_retry_after_and_succeeds(make_harness: Any) -> None:
    h = make_harness("buttondown")
    cid = sent_campaign(h)
    h.fake.reports[cid] = FIGURES
    h.fake.inject("any", "429")
    results = h.adapter().results("alpha", cid)
    assert results.opens_unique == 95
    assert h.sleeps == [1.0] or h.sleeps == [1]


# -- the cache and the budget (the ledger) --------------------------------------------


def ledger_with_sent(tmp_path: Path, target: str, cid: str, slug: str = "alpha") -> Ledger:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.record_prepared(slug, target, key=f"pp-{slug}", remote_id=cid, content_hash="h", now=NOW)
    ledger.claim_send(slug, target, f"pp-{slug}", NOW)
    ledger.confirm_sent(slug, target, remote_id=cid, now=NOW)
    return ledger


def reporter(h: Harness, ledger: Ledger, now: datetime) -> Reporter:
    settings = load_settings(h.root, environ=h.env)
    return Reporter(settings, ledger, now=now, make_list=lambda: h.adapter())


def test_a_second_report_within_15_minutes_makes_no_request(provider: Harness) -> None:
    cid = sent_campaign(provider)
    provider.fake.reports[cid] = FIGURES
    ledger = ledger_with_sent(provider.root, provider.name, cid)
    r = reporter(provider, ledger, NOW)
    notes: list[str] = []
    assert r.refresh(r.sent(), age=FRESH, force=False, notes=notes) > 0, notes
    provider.fake.reset_log()
    later = reporter(provider, ledger, NOW + timedelta(minutes=14))
    assert later.refresh(later.sent(), age=FRESH, force=False, notes=notes) == 0
    assert report_calls(provider) == []
    [row] = later.rows(later.sent(), None)
    assert row.figures["opens_unique"] == 95
    # past 15 minutes (or forced) it asks again
    stale = reporter(provider, ledger, NOW + timedelta(minutes=16))
    assert stale.refresh(stale.sent(), age=FRESH, force=False, notes=notes) > 0
    assert report_calls(provider)


def test_brevo_report_requests_stay_within_the_hourly_budget(make_harness: Any) -> None:
    h = make_harness("brevo")
    cid = sent_campaign(h)
    h.fake.reports[cid] = FIGURES
    ledger = ledger_with_sent(h.root, "brevo", cid)
    ledger.results.spend("brevo", NOW - timedelta(minutes=30), 20)  # this hour's budget
    h.fake.reset_log()
    r = reporter(h, ledger, NOW)
    notes: list[str] = []
    assert r.refresh(r.sent(), age=FRESH, force=True, notes=notes) == 0
    assert h.fake.calls() == []
    assert any("report requests this hour" in n for n in notes)
    # an hour later the budget is back
    r = reporter(h, ledger, NOW + timedelta(minutes=31))
    assert r.refresh(r.sent(), age=FRESH, force=True, notes=notes) == 1


def test_history_survives_a_change_of_provider(make_harness: Any, tmp_path: Path) -> None:
    h = make_harness("mailchimp")
    cid = sent_campaign(h)
    h.fake.reports[cid] = FIGURES
    ledger = ledger_with_sent(tmp_path, "mailchimp", cid)
    r = reporter(h, ledger, NOW)
    r.refresh(r.sent(), age=FRESH, force=False, notes=[])
    other = make_harness("brevo")
    later = reporter(other, ledger, NOW + timedelta(days=1))
    notes: list[str] = []
    later.refresh(later.sent(), age=FRESH, force=True, notes=notes)
    assert other.fake.calls() == []  # a mailchimp newsletter is not asked of Brevo
    [row] = later.rows(later.sent(), None)
    assert (row.list, row.figures["opens_unique"]) == ("mailchimp", 95)


# -- through the command line ---------------------------------------------------------

BODY = (
    "Intro with [the recap](/alpha/).\n\n"
    "## Dr. Ann Berg on street lighting\n\n"
    "Her slides: [slides](https://example.com/speaker).\n"
)


def cli_site(tmp_path: Path, fake: Any) -> Site:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "alpha.md").write_text(
        news_post("alpha", send_at=at(hours=-1), body=BODY), encoding="utf-8"
    )
    return Site(root=root, env={**base_env(tmp_path), **provider_env(fake)}, api=fake)


def sent_id(site: Site, target: str) -> str:
    with Ledger(site.ledger) as ledger:
        item = ledger.get("alpha", LIST, target)
    assert item is not None and item.state == "sent", item
    return str(item.remote_id)


@pytest.mark.cli
def test_cli_report_json_and_table(provider: Harness, tmp_path: Path) -> None:
    site = cli_site(tmp_path, provider.fake)
    site.ok("send", "--due")
    cid = sent_id(site, provider.name)
    provider.fake.reports[cid] = FIGURES
    later = {"POSTPIPE_NOW": at(hours=2)}  # the send's own hourly refresh is past
    out = json.loads(site.ok("report", "--json", env=later))
    [row] = out
    assert set(row) == {
        "slug", "list", "campaign_id", "sent_at", "recipients", "delivered", "bounces",
        "opens_unique", "open_rate", "clicks_unique", "click_rate", "unsubscribes",
        "fetched_at", "links",
    }  # fmt: skip
    expected = EXPECTED[provider.name]
    assert {k: row[k] for k in expected if k != "links"} == {
        k: v for k, v in expected.items() if k != "links"
    }
    assert (row["slug"], row["list"], row["campaign_id"]) == ("alpha", provider.name, cid)
    assert row["fetched_at"].startswith((NOW + timedelta(hours=2)).isoformat()[:16])
    links = {link["url"]: link for link in row["links"]}
    if provider.name != "buttondown":
        assert links[LINK_B] == {
            "url": LINK_B, "clicks": 12, "section": "Dr. Ann Berg on street lighting"
        }  # fmt: skip
        assert links[LINK_A]["section"] is None  # above the first heading
    # the table, from the stored figures: no request within 15 minutes
    provider.fake.reset_log()
    text = site.ok("report", env={"POSTPIPE_NOW": at(hours=2, minutes=10)})
    assert report_calls(provider) == []
    assert "Alpha event recap (alpha)" in text
    assert "95 (" in text and "Apple Mail Privacy Protection" in text
    if provider.name != "buttondown":
        assert "[Dr. Ann Berg on street lighting]" in text
    # --refresh asks again
    site.ok("report", "--refresh", env={"POSTPIPE_NOW": at(hours=2, minutes=11)})
    assert report_calls(provider)


@pytest.mark.cli
def test_cli_report_without_credentials_shows_stored_figures(
    make_harness: Any, tmp_path: Path
) -> None:
    h = make_harness("mailchimp")
    site = cli_site(tmp_path, h.fake)
    site.ok("send", "--due")
    h.fake.reports[sent_id(site, "mailchimp")] = FIGURES
    site.ok("report", env={"POSTPIPE_NOW": at(hours=2)})
    h.fake.reset_log()
    result = site.run(
        "report", "--json", env={"POSTPIPE_NOW": at(hours=5), "MAILCHIMP_API_KEY": ""}
    )
    assert result.returncode == 0, describe(result)
    assert h.fake.calls() == []
    assert "could not refresh" in result.stderr and "MAILCHIMP_API_KEY" in result.stderr
    assert json.loads(result.stdout)[0]["opens_unique"] == 95


@pytest.mark.cli
def test_cli_report_of_an_unsent_newsletter_is_a_clear_error(
    make_harness: Any, tmp_path: Path
) -> None:
    h = make_harness("mailchimp")
    site = cli_site(tmp_path, h.fake)
    result = site.run("report", "alpha")
    assert result.returncode == 1, describe(result)
    assert "never sent" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.cli
def test_send_due_refreshes_recent_results_silently_and_at_most_hourly(
    make_harness: Any, tmp_path: Path
) -> None:
    h = make_harness("mailchimp")
    site = cli_site(tmp_path, h.fake)
    site.ok("send", "--due")
    h.fake.reports[sent_id(site, "mailchimp")] = FIGURES
    out = site.ok("send", "--due", env={"POSTPIPE_NOW": at(hours=2)})
    assert out == ""  # cron stays silent
    with sqlite3.connect(site.ledger) as db:
        fetched = db.execute("SELECT fetched_at, opens_unique FROM results").fetchall()
    assert fetched == [((NOW + timedelta(hours=2)).isoformat(), 95)]
    h.fake.reset_log()
    site.ok("send", "--due", env={"POSTPIPE_NOW": at(hours=2, minutes=30)})
    assert report_calls(Harness("mailchimp", h.fake, tmp_path)) == []
    # a provider failure never fails the send
    h.fake.reports.clear()
    site.ok("send", "--due", env={"POSTPIPE_NOW": at(hours=4)})
    # eight days later it is no longer refreshed
    h.fake.reports[sent_id(site, "mailchimp")] = FIGURES
    h.fake.reset_log()
    site.ok("send", "--due", env={"POSTPIPE_NOW": at(days=8)})
    assert report_calls(Harness("mailchimp", h.fake, tmp_path)) == []


def test_nothing_to_report_for_the_outbox(tmp_path: Path) -> None:
    ledger = ledger_with_sent(tmp_path, "outbox", "x")
    settings = load_settings(tmp_path, environ={})
    r = Reporter(settings, ledger, now=NOW)
    notes: list[str] = []
    assert r.refresh(r.sent(), age=FRESH, force=False, notes=notes) == 0
    assert notes == ["the outbox list sends nothing out itself: it has nothing to report"]


@pytest.mark.cli
def test_cli_report_says_plainly_that_the_outbox_has_nothing_to_report(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "alpha.md").write_text(
        news_post("alpha", send_at=at(hours=-1)), encoding="utf-8"
    )
    site = Site(root=root, env=base_env(tmp_path))
    site.ok("send", "--due")
    result = site.run("report")
    assert result.returncode == 0, describe(result)
    assert "the outbox list sends nothing out itself: it has nothing to report" in result.stderr
    assert "via outbox: no figures stored" in result.stdout
    [row] = json.loads(site.run("report", "--json").stdout)
    assert (row["list"], row["recipients"], row["fetched_at"], row["links"]) == (
        "outbox",
        None,
        None,
        [],
    )
