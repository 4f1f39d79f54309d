"""Charts drawn on the server as SVG: nothing to download, prints as it shows, and the table
behind each chart is on the same page. Labels are escaped; sizes are in the viewBox, so a chart
scales with its box from a phone to a 4K screen."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

ROW = 26
LABEL_WIDTH = 230
BAR_WIDTH = 420
WIDTH = LABEL_WIDTH + BAR_WIDTH + 90


def _number(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def bar_chart(items: Sequence[tuple[str, float | None]], *, title: str, unit: str = "") -> SafeString:
    """Horizontal bars, one per (label, value); a missing value is drawn as "—"."""
    values = [value for _, value in items if value is not None]
    top = max(values, default=0) or 1
    height = ROW * max(len(items), 1) + 10
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(items):
        y = 5 + index * ROW
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end" class="chart-label">{escape(short)}</text>')
        if value is None:
            parts.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + 17}" class="chart-value">—</text>')
            continue
        width = max(1.0, BAR_WIDTH * value / top) if value else 0
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" class="chart-bar"/>')
        parts.append(
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 17}" class="chart-value">{_number(value)}{escape(unit)}</text>'
        )
    if not items:
        parts.append('<text x="10" y="20" class="chart-value">No data in this range.</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def pareto_chart(items: Sequence[tuple[str, int, float]], *, title: str) -> SafeString:
    """Bars from the largest count down, with the running share as a line on a 0–100 % scale."""
    count = max(len(items), 1)
    plot_w, plot_h, left, top = 640, 220, 50, 24
    step = plot_w / count
    peak = max((n for _, n, _ in items), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {left + plot_w + 50} {top + plot_h + 110}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="chart-axis"/>',
    ]
    points = []
    for index, (label, n, cumulative) in enumerate(items):
        x = left + index * step
        h = plot_h * n / peak
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" class="chart-bar"/>'
        )
        parts.append(
            f'<text x="{x + step / 2:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle" class="chart-value">{n}</text>'
        )
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(
            f'<text x="{x + step / 2:.1f}" y="{top + plot_h + 14}" text-anchor="end" class="chart-label" '
            f'transform="rotate(-35 {x + step / 2:.1f} {top + plot_h + 14})">{escape(short)}</text>'
        )
        points.append(f"{x + step / 2:.1f},{top + plot_h - plot_h * cumulative / 100:.1f}")
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" class="chart-line"/>')
        parts.append(f'<text x="{left + plot_w + 4}" y="{top + 10}" class="chart-label">100 %</text>')
    else:
        parts.append(f'<text x="{left}" y="{top + 20}" class="chart-value">No root causes recorded in this range.</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above
