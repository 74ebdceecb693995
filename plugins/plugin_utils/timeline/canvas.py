# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SVG's drawing surface: its sizes, the time axis (span, ticks, grid), the row stripes, text elements."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

SVG_WIDTH = 1100
LABEL_WIDTH = 300
RIGHT_MARGIN = 110
ROW_HEIGHT = 28
BAR_HEIGHT = 16
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)


def tick_step(span: float, max_ticks: int = 10) -> float:
    for step in TICK_STEPS:
        if span / step <= max_ticks:
            return step
    return math.ceil(span / max_ticks / 3600) * 3600


def tick_label(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes >= 60:
        return f"{minutes // 60}h{minutes % 60:02d}m" if minutes % 60 else f"{minutes // 60}h"
    return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"


def axis_span(report: Mapping[str, Any]) -> float:
    """The time axis covers the run, and the budget's end when it is not far beyond the run."""
    span = max(report["duration_s"], 1.0)
    window = report["window"]
    if window["opened_at_offset_s"] is not None:
        budget_end = window["opened_at_offset_s"] + window["budget_s"]
        if budget_end <= span * 1.5:
            span = max(span, budget_end)
    return span


def text(x: float, y: float, content: str, **attrs: Any) -> str:
    extra = "".join(f" {k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def truncate(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


class SvgCanvas:
    """Maps offsets to x and keeps the elements in drawing order."""

    def __init__(self, span: float, rows: int, top: float, extra: float = 0.0, legend_lines: int = 1):
        """``rows`` phase rows from ``top``, then ``extra`` pixels of other rows (the EIPs' bands)."""
        self.span = span
        self.plot_w = SVG_WIDTH - LABEL_WIDTH - RIGHT_MARGIN
        self.top = top
        self.rows_bottom = top + rows * ROW_HEIGHT + extra
        self.height = self.rows_bottom + 78 + 18 * legend_lines
        self.parts: list[str] = []

    def x(self, offset: float) -> float:
        return LABEL_WIDTH + max(0.0, min(offset, self.span)) / self.span * self.plot_w

    def add(self, part: str) -> None:
        self.parts.append(part)


def svg_stripes(canvas: SvgCanvas, rows: int) -> None:
    for row in range(1, rows, 2):
        y = canvas.top + row * ROW_HEIGHT
        canvas.add(f'<rect x="0" y="{y}" width="{SVG_WIDTH}" height="{ROW_HEIGHT}" fill="#f4f4f4"/>')


def svg_grid(canvas: SvgCanvas) -> None:
    step = tick_step(canvas.span)
    tick = 0.0
    while tick <= canvas.span + 1e-9:
        x = canvas.x(tick)
        canvas.add(
            f'<line x1="{x:.1f}" y1="{canvas.top}" x2="{x:.1f}" y2="{canvas.rows_bottom}" stroke="#e3e3e3"/>'
        )
        bottom = canvas.rows_bottom
        canvas.add(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="#333"/>')
        canvas.add(text(x, canvas.rows_bottom + 18, tick_label(tick), font_size=11, text_anchor="middle"))
        tick += step
    canvas.add(
        f'<line x1="{LABEL_WIDTH}" y1="{canvas.rows_bottom}" x2="{canvas.x(canvas.span):.1f}"'
        f' y2="{canvas.rows_bottom}" stroke="#333"/>'
    )
    y = canvas.rows_bottom + 18
    canvas.add(text(LABEL_WIDTH - 16, y, "time since start", font_size=11, text_anchor="end"))
