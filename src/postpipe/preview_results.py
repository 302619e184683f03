"""The preview's "Results" tab and the rates in its list of posts.

Shows the results ``postpipe report`` stored in the ledger (the preview never asks
a provider): the figures of a sent newsletter, a chart of its clicks per section
of the post, and a chart of its open and click rates against the editions before
it. The charts are SVG drawn here (:mod:`postpipe.render.chart`).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING

from markupsafe import Markup

from .render.chart import Bar, bar_chart
from .report import APPLE_NOTE, PostText, Row, sent_items, stored_rows

if TYPE_CHECKING:
    from .config import Settings

#: how a link outside every section is shown (above the first heading, or not in the body)
NO_SECTION = "(no section)"
#: editions shown against the current one
LAST_EDITIONS = 5


def load_results(settings: Settings, posts: Mapping[str, PostText]) -> dict[str, Row]:
    """The stored results of every sent newsletter, by slug (the newest send of each);
    empty when there is no ledger or it cannot be read."""
    from .errors import PostpipeError
    from .publish import open_ledger

    if not (settings.state_dir / "ledger.sqlite3").exists():
        return {}
    try:
        ledger = open_ledger(settings, read_only=True)
    except PostpipeError:
        return {}
    try:
        rows = stored_rows(settings, ledger, sent_items(ledger), posts)
    finally:
        ledger.close()
    return {r.slug: r for r in rows if r.fetched_at}


def clicks_by_section(row: Row) -> list[Bar]:
    """One bar per section of the post, most clicked first; links outside every
    section last."""
    totals: dict[str, int] = {}
    for link in row.links:
        name = link.section or NO_SECTION
        totals[name] = totals.get(name, 0) + link.clicks
    order = sorted(totals.items(), key=lambda kv: (kv[0] == NO_SECTION, -kv[1], kv[0]))
    return [Bar(name, clicks) for name, clicks in order]


def _pct(value: float | int | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _when(stamp: str | None) -> str:
    return escape((stamp or "")[:16].replace("T", " "))


def rates(row: Row | None) -> str:
    """``opens 40.0% · clicks 9.5%`` for the list of posts ("" when there are none)."""
    if row is None:
        return ""
    return (
        f"opens {_pct(row.figures.get('open_rate'))} · clicks {_pct(row.figures.get('click_rate'))}"
    )


def results_panel(row: Row, all_rows: Mapping[str, Row]) -> Markup:
    """The HTML of the Results tab of one sent newsletter."""
    f = row.figures
    cells = [
        ("Recipients", f.get("recipients")),
        ("Delivered", f.get("delivered")),
        ("Bounces", f.get("bounces")),
        ("Unique opens", f.get("opens_unique")),
        ("Open rate", _pct(f.get("open_rate"))),
        ("Unique clicks", f.get("clicks_unique")),
        ("Click rate", _pct(f.get("click_rate"))),
        ("Unsubscribes", f.get("unsubscribes")),
    ]
    table = "".join(
        f"<tr><th scope='row'>{name}</th><td>{'–' if v is None else escape(str(v))}</td></tr>"
        for name, v in cells
    )
    parts = [
        '<div class="pp-card pp-results">',
        f"<p class='pp-note'>Sent {_when(row.sent_at)} via {escape(row.list)}; figures "
        f"fetched {_when(row.fetched_at)} (run <code>postpipe report</code> to refresh "
        "them).</p>",
        f"<table class='pp-table pp-figures'>{table}</table>",
    ]
    sections = clicks_by_section(row)
    if sections:
        parts.append("<h2 class='pp-h2'>Clicks per section</h2>")
        parts.append(bar_chart(sections, title="Clicks per section of the post"))
    else:
        parts.append("<p class='pp-note'>The provider reported no clicks per link.</p>")
    editions = sorted(all_rows.values(), key=lambda r: (r.sent_at or "", r.slug))
    upto = [r for r in editions if (r.sent_at or "", r.slug) <= (row.sent_at or "", row.slug)]
    recent = upto[-(LAST_EDITIONS + 1) :]
    bars = [
        Bar(r.title, float(value), series)
        for r in recent
        for series, value in (
            ("open rate", r.figures.get("open_rate")),
            ("click rate", r.figures.get("click_rate")),
        )
        if value is not None
    ]
    if bars:
        parts.append("<h2 class='pp-h2'>Against the last editions</h2>")
        parts.append(
            bar_chart(
                bars,
                title="Open and click rates of this and the previous editions",
                fmt=lambda v: f"{v * 100:.1f}%",
                series=("open rate", "click rate"),
            )
        )
    parts.append(f"<p class='pp-note'>{escape(APPLE_NOTE)}</p></div>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped
