"""The preview's Results tab in real Chromium: the server-drawn SVG chart has one bar
per section of the post with its clicks, and the list of posts shows the rates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from postpipe.ledger import Ledger

pytestmark = pytest.mark.browser

SUMMIT = "2026-10-22-safer-streets-summit-2026"
SENT = datetime(2026, 10, 23, 9, 0, tzinfo=UTC)
FETCHED = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
ELIN = "Dr Elin Marttila, Nordic Institute for Crime Prevention Research"
THANKS = "Thank you, and see you in 2027"


def store_results(root: Any) -> None:
    """The summit's newsletter, sent via Mailchimp, with results as ``report`` stores them."""
    with Ledger(root / ".postpipe" / "ledger.sqlite3") as ledger:
        slug, target, key = "safer-streets-summit-2026", "mailchimp", "pp-summit"
        ledger.record_prepared(slug, target, key=key, remote_id="c1", content_hash="h", now=SENT)
        ledger.claim_send(slug, target, key, SENT)
        ledger.confirm_sent(slug, target, remote_id="c1", now=SENT)
        ledger.results.put(
            slug=slug,
            list_name=target,
            campaign_id="c1",
            sent_at=SENT.isoformat(),
            fetched_at=FETCHED,
            figures={
                "recipients": 400,
                "delivered": 390,
                "bounces": 10,
                "opens_unique": 156,
                "open_rate": 0.4,
                "clicks_unique": 37,
                "click_rate": 0.0949,
                "unsubscribes": 1,
            },  # fmt: skip
            links=[
                ("https://bra.se/", 7),
                ("https://example.org/summit-2026", 3),
                ("https://example.org/summit-2026?utm_source=newsletter", 2),
                ("https://elsewhere.example/not-in-the-post", 4),
            ],
        )


def test_results_tab_draws_one_bar_per_section(page: Any, preview: Any) -> None:
    store_results(preview.root)
    page.goto(f"{preview.url}_preview/posts/{SUMMIT}#results")
    page.get_by_role("tab", name="Results").click()
    chart = page.locator("[data-pp-panel=results] svg.pp-chart").first
    chart.wait_for()
    bars = chart.locator("rect.pp-bar")
    got = {
        bars.nth(i).get_attribute("data-label"): float(bars.nth(i).get_attribute("data-value"))
        for i in range(bars.count())
    }
    assert got == {ELIN: 7.0, THANKS: 5.0, "(no section)": 4.0}
    assert bars.count() == 3
    widths = [float(bars.nth(i).get_attribute("width")) for i in range(3)]
    assert widths[0] > widths[1] > widths[2] > 0  # drawn to scale
    assert chart.get_attribute("role") == "img"
    assert page.locator("[data-pp-panel=results]").get_by_text("Apple Mail Privacy").count() == 1
    # the rates chart: this edition's open and click rate
    rates = page.locator("[data-pp-panel=results] svg.pp-chart").nth(1).locator("rect.pp-bar")
    assert [rates.nth(i).get_attribute("data-value") for i in range(rates.count())] == [
        "0.4",
        "0.0949",
    ]
    assert page.evaluate("typeof Chart === 'undefined' && typeof d3 === 'undefined'")


def test_the_list_of_posts_shows_open_and_click_rates(page: Any, preview: Any) -> None:
    store_results(preview.root)
    page.goto(preview.url)
    row = page.locator(f"tr[data-key='{SUMMIT}']")
    assert "opens 40.0% · clicks 9.5%" in row.inner_text()
