"""Pieces of ``postpipe report``: the section each link sits in, the results tables of
the ledger (migration 2), and listmonk's ``@TrackLink`` links in the built newsletter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postpipe.ledger import MIGRATIONS, Ledger
from postpipe.render.sections import link_key, link_sections
from postpipe.targets.base import CampaignResults

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

BODY = """\
Welcome, see [the programme](https://example.com/programme).

## Dr. Ann Berg: *street lighting*

[Her slides](https://example.com/slides?x=1&y=2) and [the recap](/alpha/).

### Q&A

Again [the programme](https://example.com/programme) and [a question](https://example.com/q#top).
"""


def test_each_link_gets_the_nearest_heading_above_it() -> None:
    html = (
        '<p>Welcome, see <a href="https://example.com/programme">the programme</a>.</p>'
        "<h2>Dr. Ann Berg: <em>street lighting</em></h2>"
        '<p><a href="https://example.com/slides?x=1&amp;y=2">slides</a> '
        '<a href="/alpha/">recap</a></p><h3>Q&amp;A</h3>'
        '<p><a href="https://example.com/programme">again</a> '
        '<a href="https://example.com/q#top">q</a></p>'
    )
    found = link_sections(html, "https://news.example.org/alpha/", "https://news.example.org")
    assert found[link_key("https://example.com/programme")] is None  # first place wins
    assert found[link_key("https://example.com/slides?x=1&y=2")] == "Dr. Ann Berg: street lighting"
    assert found[link_key("https://news.example.org/alpha/")] == "Dr. Ann Berg: street lighting"
    assert found[link_key("https://example.com/q")] == "Q&A"


def test_link_key_ignores_what_the_email_adds() -> None:
    plain = link_key("https://News.example.org/alpha/")
    assert link_key("https://news.example.org/alpha?utm_source=newsletter&utm_campaign=a") == plain
    assert link_key("https://news.example.org/alpha/@TrackLink") == plain
    assert link_key("https://news.example.org/alpha/?id=3") != plain


def test_rates_are_worked_out_only_from_the_providers_counts() -> None:
    r = CampaignResults(recipients=200, delivered=190, opens_unique=95, clicks_unique=None)
    done = r.completed()
    assert (done.open_rate, done.click_rate) == (0.5, None)
    assert CampaignResults(opens_unique=3).completed().open_rate is None  # no base: no rate
    assert CampaignResults(delivered=10, open_rate=0.123456).completed().open_rate == 0.1235


def test_results_tables_keep_one_fetch_per_newsletter(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        assert ledger.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        store = ledger.results
        for at, opens in ((NOW, 5), (NOW + timedelta(hours=1), 9)):
            store.put(
                slug="alpha",
                list_name="brevo",
                campaign_id="7",
                sent_at=NOW.isoformat(),
                fetched_at=at,
                figures={"opens_unique": opens, "open_rate": 0.25},
                links=[("https://a", 3), ("https://b", 4)],
            )
        [row] = store.all()
        assert (row["opens_unique"], row["open_rate"], row["delivered"]) == (9, 0.25, None)
        assert row.links == (("https://b", 4), ("https://a", 3))
        assert row.fetched_at == (NOW + timedelta(hours=1)).isoformat()
        store.spend("brevo", NOW, 1)
        store.spend("brevo", NOW + timedelta(minutes=50), 1)
        assert store.spent("brevo", NOW + timedelta(minutes=70) - timedelta(hours=1)) == 1
        assert store.spent("mailchimp", NOW - timedelta(days=1)) == 0


def build(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(root),
        "POSTPIPE_SITE_URL": "https://news.example.org",
        "POSTPIPE_NOW": NOW.isoformat(),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "postpipe", "build", "--root", str(root)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


#: listmonk's own pattern for the shorthand (models/common.go, regTplFuncs)
LISTMONK_SHORTHAND = re.compile(r"(https?://[\w\-.~!#$&'()*+,/:;=?@\[\]%]*)@TrackLink")


def test_listmonk_newsletter_links_are_written_for_its_tracker(
    tmp_path: Path, write_site: Callable[..., Path], post_text: Callable[..., str]
) -> None:
    front = 'title: "Alpha"\nslug: alpha\ndate: 2026-06-10\nnewsletter:\n  subject: "Alpha"\n'
    root = write_site(tmp_path / "site", {"alpha.md": post_text(front, BODY)})
    result = build(root, POSTPIPE_LIST="listmonk")
    assert result.returncode == 0, result.stderr
    html = (root / "build" / "newsletters" / "alpha.html").read_text(encoding="utf-8")
    text = (root / "build" / "newsletters" / "alpha.txt").read_text(encoding="utf-8")
    tracked = LISTMONK_SHORTHAND.findall(html)
    assert "https://example.com/slides?x=1&amp;y=2" in tracked  # listmonk undoes &amp;
    assert "https://example.com/programme" in tracked
    assert any(u.startswith("https://news.example.org/alpha/?utm_") for u in tracked)
    # every tracked link sits alone in its href (the pattern stops at the quote)
    assert all('"' not in u and "<" not in u for u in tracked)
    assert 'href="{{ UnsubscribeURL }}"' in html  # the merge tag survives inlining
    assert "style=" in html  # and the mail was inlined
    assert "@TrackLink" not in text  # the plain text shows the real links

    result = build(root, POSTPIPE_LIST="listmonk", LISTMONK_TRACK_LINKS="off")
    assert result.returncode == 0, result.stderr
    html = (root / "build" / "newsletters" / "alpha.html").read_text(encoding="utf-8")
    assert "@TrackLink" not in html


def test_other_lists_get_plain_links(
    tmp_path: Path, write_site: Callable[..., Path], post_text: Callable[..., str]
) -> None:
    front = 'title: "Alpha"\nslug: alpha\ndate: 2026-06-10\nnewsletter:\n  subject: "Alpha"\n'
    root = write_site(tmp_path / "site", {"alpha.md": post_text(front, BODY)})
    for name in ("outbox", "mailchimp", "brevo", "buttondown"):
        result = build(root, POSTPIPE_LIST=name)
        assert result.returncode == 0, result.stderr
        html = (root / "build" / "newsletters" / "alpha.html").read_text(encoding="utf-8")
        assert "@TrackLink" not in html, name
