# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as a standalone SVG: a bar per phase, the maintenance window and its budget, the markers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.canvas import (
    BAR_HEIGHT,
    FONT,
    LABEL_WIDTH,
    ROW_HEIGHT,
    SVG_WIDTH,
    SvgCanvas,
    axis_span,
    svg_grid,
    svg_stripes,
    text,
    tick_label,
    truncate,
)
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.model import WINDOW_CLOSE, WINDOW_OPEN
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import shown_eips, shown_phases
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.timefmt import (
    fmt_duration,
    fmt_minutes,
)

PHASE_COLOURS = {
    "ok": "#3c8d2f",
    "failed": "#c0392b",
    "skipped": "#9e9e9e",
    "interrupted": "#e67e22",
    "not_run": "#d0d0d0",
}


def svg_header(canvas: SvgCanvas, report: Mapping[str, Any]) -> None:
    canvas.add(text(12, 24, f"Swap timeline: {report['playbook']}", font_size=17, font_weight="bold"))
    duration = fmt_duration(report["duration_s"])
    sub = f"started {report['started_at']} UTC · {duration} · status {report['status']}"
    canvas.add(text(12, 44, sub, font_size=12, fill="#333"))
    y = 56
    path = report.get("critical_path")
    if path:
        ratio = f", the window {path['window_ratio']:.2f}× it" if path["window_ratio"] else ""
        chain = " → ".join(link["label"] for link in path["chain"])
        line = truncate(f"critical path {fmt_duration(path['duration_s'])}{ratio} (outlined): {chain}", 150)
        canvas.add(text(12, y + 6, line, font_size=12, fill="#111"))
        y += 18
    if report["check_mode"]:
        canvas.add(
            f'<rect x="8" y="{y}" width="{SVG_WIDTH - 16}" height="22" fill="#fff3cd" stroke="#d4a017"/>'
        )
        banner = "CHECK MODE: dry run, nothing changed. These durations are not real swap timings."
        canvas.add(text(16, y + 15, banner, font_size=12, font_weight="bold", fill="#7a5b00"))
        y += 26
    stop = report["stopped_at"]
    if stop:
        where = f"stopped ({stop['reason']}) in phase \u201c{stop['phase'] or '?'}\u201d"
        where += f" at task \u201c{stop['task']}\u201d" if stop["task"] else ""
        canvas.add(text(12, y + 15, truncate(where, 150), font_size=12, font_weight="bold", fill="#c0392b"))


def window_label(window: Mapping[str, Any], check_mode: bool) -> str:
    duration = fmt_duration(window["duration_s"])
    if window["state"] == "open_at_end":
        label = f"maintenance window still open at end of run, {duration} so far"
    else:
        label = f"maintenance window {duration}"
    budget = fmt_minutes(window["budget_minutes"])
    if check_mode:
        return label + " (check mode: no verdict)"
    if window["verdict"] == "over_budget":
        return label + f", OVER {budget} budget"
    if window["verdict"] == "within_budget":
        return label + f", within {budget} budget"
    return label


def svg_window(canvas: SvgCanvas, report: Mapping[str, Any]) -> None:
    window = report["window"]
    opened = window["opened_at_offset_s"]
    if opened is None:
        canvas.add(text(LABEL_WIDTH, canvas.top - 8, window["summary"], font_size=12, fill="#666"))
        return
    closed = (
        window["closed_at_offset_s"] if window["closed_at_offset_s"] is not None else report["duration_s"]
    )
    x0, x1 = canvas.x(opened), canvas.x(closed)
    over = window["verdict"] == "over_budget"
    colour = "#c0392b" if over else "#2e86c1"
    canvas.add(
        f'<rect x="{x0:.1f}" y="{canvas.top - 4}" width="{max(x1 - x0, 2):.1f}"'
        f' height="{canvas.rows_bottom - canvas.top + 4}" fill="{colour}" fill-opacity="0.14"'
        f' stroke="{colour}" stroke-opacity="0.6"><title>{escape(window["summary"])}</title></rect>'
    )
    label = window_label(window, report["check_mode"])
    anchor = "start" if x0 < LABEL_WIDTH + canvas.plot_w * 0.55 else "end"
    canvas.add(
        text(x0 if anchor == "start" else x1, canvas.top - 8, label, font_size=12, font_weight="bold",
             fill=colour, text_anchor=anchor)
    )  # fmt: skip
    svg_budget_line(canvas, opened + window["budget_s"], window["budget_minutes"])


def svg_budget_line(canvas: SvgCanvas, budget_end: float, minutes: float) -> None:
    label = f"budget {fmt_minutes(minutes)}"
    if budget_end <= canvas.span:
        x = canvas.x(budget_end)
        canvas.add(
            f'<line x1="{x:.1f}" y1="{canvas.top - 4}" x2="{x:.1f}" y2="{canvas.rows_bottom + 46}"'
            f' stroke="#c0392b" stroke-width="2" stroke-dasharray="6,4"><title>{escape(label)}</title></line>'
        )
        anchor = "start" if x < LABEL_WIDTH + canvas.plot_w * 0.6 else "end"
        label_x = x + 4 if anchor == "start" else x - 4
        canvas.add(text(label_x, canvas.rows_bottom + 54, f"{label} ends", font_size=11, fill="#c0392b",
                        text_anchor=anchor))  # fmt: skip
    else:
        note = f"{label} ends at +{tick_label(round(budget_end))}, beyond this axis →"
        canvas.add(text(canvas.x(canvas.span), canvas.rows_bottom + 54, note, font_size=11, fill="#c0392b",
                        text_anchor="end"))  # fmt: skip


def svg_phase_row(
    canvas: SvgCanvas, phase: Mapping[str, Any], row: int, report_check: bool, critical: set[str]
) -> None:
    y = canvas.top + row * ROW_HEIGHT
    name = f"{phase['index']}. {phase['name']}"
    label = escape(truncate(name, 44))
    canvas.add(f'<text x="12" y="{y + 18}" font-size="12"><title>{escape(name)}</title>{label}</text>')
    if phase["start_offset_s"] is None:
        canvas.add(text(LABEL_WIDTH + 4, y + 18, "not run", font_size=12, font_style="italic", fill="#888"))
        return
    x0, x1 = canvas.x(phase["start_offset_s"]), canvas.x(phase["end_offset_s"])
    colour = PHASE_COLOURS.get(phase["status"], "#3c8d2f")
    hatch = ' fill-opacity="0.55" stroke-dasharray="4,2" stroke="#7a5b00"' if report_check else ""
    if phase.get("step") in critical and not report_check:
        hatch = ' stroke="#111" stroke-width="2"'  # on the critical path: outlined
    canvas.add(
        f'<rect x="{x0:.1f}" y="{y + (ROW_HEIGHT - BAR_HEIGHT) / 2}" width="{max(x1 - x0, 2):.1f}"'
        f' height="{BAR_HEIGHT}" rx="2" fill="{colour}"{hatch}>'
        f"<title>{escape(name)}: {fmt_duration(phase['duration_s'])}, {phase['status']}</title></rect>"
    )
    label = fmt_duration(phase["duration_s"]) + ("" if phase["status"] == "ok" else f" {phase['status']}")
    if x1 + 8 + len(label) * 7 > SVG_WIDTH:
        canvas.add(
            text(x1 - 4, y + 18, label, font_size=11, fill="#fff", text_anchor="end", font_weight="bold")
        )
    else:
        canvas.add(text(x1 + 4, y + 18, label, font_size=11, fill="#222"))


def svg_markers(canvas: SvgCanvas, report: Mapping[str, Any]) -> None:
    for marker in report["markers"]:
        x = canvas.x(marker["at_offset_s"])
        colour = "#2e86c1" if marker["event"] in (WINDOW_OPEN, WINDOW_CLOSE) else "#555"
        y = canvas.rows_bottom
        canvas.add(
            f'<path d="M{x - 5:.1f},{y + 40} L{x + 5:.1f},{y + 40} L{x:.1f},{y + 31} Z" fill="{colour}">'
            f"<title>{escape(marker['event'])} +{fmt_duration(marker['at_offset_s'])}: "
            f"{escape(marker['label'])} ({escape(marker['task'])})</title></path>"
        )


def svg_legend(canvas: SvgCanvas) -> None:
    x, y = 12.0, canvas.height - 16
    for status in ("ok", "failed", "skipped", "interrupted"):
        canvas.add(f'<rect x="{x}" y="{y - 10}" width="14" height="10" fill="{PHASE_COLOURS[status]}"/>')
        canvas.add(text(x + 18, y, status, font_size=11))
        x += 40 + len(status) * 7
    canvas.add(f'<rect x="{x}" y="{y - 10}" width="14" height="10" fill="#2e86c1" fill-opacity="0.3"/>')
    canvas.add(text(x + 18, y, "maintenance window", font_size=11))
    x += 150
    canvas.add(
        f'<line x1="{x}" y1="{y - 5}" x2="{x + 16}" y2="{y - 5}" stroke="#c0392b" stroke-dasharray="4,3"/>'
    )
    canvas.add(text(x + 20, y, "budget", font_size=11))
    x += 70
    canvas.add(f'<path d="M{x},{y} L{x + 10},{y} L{x + 5},{y - 9} Z" fill="#2e86c1"/>')
    canvas.add(text(x + 14, y, "marker", font_size=11))


#: What a user got through an EIP (a downtime probe's states); anything else is no page at all.
DOWNTIME_COLOURS = {"old": "#95a5a6", "maintenance": "#f0b429", "new": "#17a589", "no page": "#c0392b"}
EIP_ROW, EIP_BAR, EIP_HEADING = 16, 10, 36


def svg_downtime(canvas: SvgCanvas, report: Mapping[str, Any], y: float) -> None:
    """One band per EIP under the phases: what users got through it over time (the probe's segments)."""
    eips = shown_eips(report)
    downtime = report["downtime"]
    canvas.add(text(12, y + 16, "What users got, per EIP", font_size=12, font_weight="bold"))
    shown = f"{downtime['source']}, {len(eips)} of {len(downtime['eips'])} EIPs"
    canvas.add(text(12, y + 30, shown, font_size=11, fill="#555"))
    canvas.add(text(LABEL_WIDTH, y + 16, truncate(downtime["summary"], 110), font_size=11, fill="#333"))
    y += EIP_HEADING
    for eip in eips:
        name = f"{eip['name']} {eip['ip']}"
        canvas.add(
            text(
                24,
                y + 12,
                truncate(name, 40),
                font_size=11,
                fill="#c0392b" if eip["flip_back_to_old"] else "#222",
            )
        )
        for start, end, state in eip["segments"]:
            since = f"{'+' if start >= 0 else '-'}{fmt_duration(abs(start))}"
            colour = DOWNTIME_COLOURS.get(state, DOWNTIME_COLOURS["no page"])
            x0, x1 = canvas.x(start), canvas.x(end)
            canvas.add(
                f'<rect x="{x0:.1f}" y="{y + (EIP_ROW - EIP_BAR) / 2}" width="{max(x1 - x0, 1):.1f}"'
                f' height="{EIP_BAR}" fill="{colour}"><title>{escape(name)}: {escape(state)} from'
                f" {since} for {fmt_duration(end - start)}</title></rect>"
            )
        y += EIP_ROW


def svg_downtime_legend(canvas: SvgCanvas) -> None:
    x, y = 12.0, canvas.height - 34
    canvas.add(text(x, y, "through each EIP:", font_size=11))
    x += 110
    for state, colour in DOWNTIME_COLOURS.items():
        label = "old cluster" if state == "old" else "new cluster" if state == "new" else state
        canvas.add(f'<rect x="{x}" y="{y - 10}" width="14" height="10" fill="{colour}"/>')
        canvas.add(
            text(
                x + 18, y, label + (" (error, refused, timeout)" if state == "no page" else ""), font_size=11
            )
        )
        x += 40 + len(label) * 7 + (170 if state == "no page" else 0)


def render_svg(report: Mapping[str, Any]) -> str:
    phases = shown_phases(report)
    top = 80 + (26 if report["check_mode"] else 0) + (22 if report["stopped_at"] else 0)
    top += 18 if report.get("critical_path") else 0
    eips = shown_eips(report)
    extra = EIP_HEADING + EIP_ROW * len(eips) if report.get("downtime") else 0.0
    rows = max(len(phases), 1)
    canvas = SvgCanvas(axis_span(report), rows, top, extra, legend_lines=2 if extra else 1)
    svg_header(canvas, report)
    svg_stripes(canvas, len(phases))
    svg_grid(canvas)
    svg_window(canvas, report)  # behind the bars: they keep their status's colour inside the window
    critical = {link["step"] for link in (report.get("critical_path") or {}).get("chain", [])}
    for row, phase in enumerate(phases):
        svg_phase_row(canvas, phase, row, report["check_mode"] or phase["check_mode"], critical)
    if extra:
        svg_downtime(canvas, report, top + rows * ROW_HEIGHT)
        svg_downtime_legend(canvas)
    svg_markers(canvas, report)
    svg_legend(canvas)
    body = "\n  ".join(canvas.parts)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{canvas.height:.0f}"'
        f' viewBox="0 0 {SVG_WIDTH} {canvas.height:.0f}" font-family={quoteattr(FONT)}>\n'
        f"  <title>{escape('Swap timeline: ' + report['playbook'])}</title>\n"
        f'  <rect x="0" y="0" width="{SVG_WIDTH}" height="{canvas.height:.0f}" fill="#ffffff"/>\n'
        f"  {body}\n</svg>\n"
    )
