"""Bar charts as inline SVG, drawn on the server (no JavaScript charting library).

Each bar is a ``<rect class="pp-bar">`` carrying ``data-label`` and ``data-value``
(and ``data-series`` when there are several), with a ``<title>`` for a tooltip and
screen readers; the chart has ``role="img"`` and an ``aria-label``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
LABEL_W = 220  # left column: the labels
BAR_H = 18
GAP = 8
PAD = 6
#: the series of a grouped chart, in order, with their colours
COLOURS = ("#0e6b6f", "#c2571a", "#5b4a9e", "#2f6db5")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    series: str = ""


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    series: Sequence[str] = (),
) -> str:
    """Horizontal bars, one row per bar (grouped by label when ``series`` is given,
    one colour per series), scaled to the largest value."""
    top = max((b.value for b in bars), default=0) or 1
    span = WIDTH - LABEL_W - 60
    rows: list[str] = []
    y = PAD
    last_label = None
    for b in bars:
        colour = (
            COLOURS[series.index(b.series) % len(COLOURS)] if b.series in series else COLOURS[0]
        )
        if b.label != last_label:
            if last_label is not None and series:
                y += GAP
            rows.append(
                f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 5}" text-anchor="end" '
                f'class="pp-bar-label">{escape(_short(b.label))}</text>'
            )
            last_label = b.label
        width = max(1.0, b.value / top * span) if b.value else 0
        tip = f"{b.label}{' · ' + b.series if b.series else ''}: {fmt(b.value)}"
        extra = f' data-series="{escape(b.series)}"' if b.series else ""
        rows.append(
            f'<rect class="pp-bar" x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR_H}" '
            f'fill="{colour}" data-label="{escape(b.label)}" data-value="{b.value:g}"{extra}>'
            f"<title>{escape(tip)}</title></rect>"
            f'<text x="{LABEL_W + width + 6:.1f}" y="{y + BAR_H - 5}" '
            f'class="pp-bar-value">{escape(fmt(b.value))}</text>'
        )
        y += BAR_H + (2 if series else GAP)
    legend = ""
    if series:
        items = [
            f'<rect x="{LABEL_W + i * 110}" y="{y + 4}" width="10" height="10" '
            f'fill="{COLOURS[i % len(COLOURS)]}"/><text x="{LABEL_W + i * 110 + 14}" '
            f'y="{y + 13}" class="pp-bar-label">{escape(name)}</text>'
            for i, name in enumerate(series)
        ]
        legend = "".join(items)
        y += 20
    height = y + PAD
    return (
        f'<svg class="pp-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{escape(title)}</title>{''.join(rows)}{legend}</svg>"
    )
