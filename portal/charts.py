"""Charts drawn on the server as inline SVG (no chart library, nothing from elsewhere, legible without script).

`bars()` draws horizontal bars, one group per row (a unit, an institution) and one bar per series
(allocated / reserved / used ...), scaled to the largest value; every chart has a title for screen readers and
the page shows the same figures in a table beside it. Presentation attributes only (the pages' CSP allows no
inline style).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from html import escape

PALETTE = ("#1f5fa8", "#d4822a", "#2e8b57", "#b03a2e", "#6b4fa0")  # contrast >= 3:1 on white (WCAG non-text)
LABEL_WIDTH, CHART_WIDTH, BAR, GAP, GROUP_GAP = 190, 760, 12, 2, 12


@dataclass(frozen=True)
class Series:
    key: str
    label: str


def number(value) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def shown(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def bars(title: str, rows: list[dict], series: list[Series], label_key: str = "label", unit: str = "") -> str:
    """Grouped horizontal bars: rows (each with label_key and the series' keys) × series."""
    largest = max((number(row.get(s.key)) for row in rows for s in series), default=Decimal(0)) or Decimal(1)
    plot = CHART_WIDTH - LABEL_WIDTH - 90
    group = len(series) * (BAR + GAP) + GROUP_GAP
    legend = 24
    height = legend + max(len(rows), 1) * group + 4
    parts = [
        f'<div class="chart-wrap" tabindex="0" role="group" aria-label="{escape(title)}">'
        f'<svg class="chart" viewBox="0 0 {CHART_WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" font-size="13" '
        f'font-family="sans-serif"><title>{escape(title)}</title>'
    ]
    x = LABEL_WIDTH
    for index, s in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="14" fill="#333">{escape(s.label)}</text>')
        x += 24 + 13 * len(s.label) + 20
    for row_index, row in enumerate(rows):
        top = legend + row_index * group
        label = str(row.get(label_key, ""))
        label = label if len(label) <= 14 else label[:13] + "…"
        middle = top + (len(series) * (BAR + GAP)) / 2 + 4
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle:.0f}" text-anchor="end" fill="#222">{escape(label)}</text>'
        )
        for index, s in enumerate(series):
            raw = row.get(s.key)
            value = number(raw)
            figure = "—" if raw in (None, "") else shown(value)  # no figure is not a zero
            width = float(value / largest) * plot if value > 0 else 0
            y = top + index * (BAR + GAP)
            colour = PALETTE[index % len(PALETTE)]
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{colour}">'
                f"<title>{escape(label)} · {escape(s.label)}: {figure}{escape(unit) if raw not in (None, '') else ''}</title></rect>"
            )
            parts.append(
                f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + BAR - 2}" fill="#333" font-size="11">{figure}</text>'
            )
    if not rows:
        parts.append(f'<text x="{LABEL_WIDTH}" y="{legend + 14}" fill="#666">—</text>')
    parts.append(f'<line x1="{LABEL_WIDTH}" y1="{legend - 2}" x2="{LABEL_WIDTH}" y2="{height}" stroke="#999"/>')
    parts.append("</svg></div>")
    return "".join(parts)  # every text in it escaped here: the template shows it as it is (|safe)
