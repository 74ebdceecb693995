# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report in Markdown: the run, the window, the phases, the markers, the slowest tasks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import (
    acted,
    shown_eips,
    shown_phases,
)
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.timefmt import fmt_duration


def md_cell(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def phase_status_text(phase: Mapping[str, Any]) -> str:
    text = phase["status"].replace("_", " ")
    if phase["status"] == "skipped" and phase["no_hosts_matched"]:
        text += " (no hosts matched)"
    if phase["failed_hosts"]:
        text += f" ({', '.join(phase['failed_hosts'])})"
    if phase["check_mode"]:
        text += ", check mode"
    return text


def render_markdown(report: Mapping[str, Any], svg_name: str | None = None) -> str:
    # the window against its budget first: what the people who run the swap look for
    lines = [f"# Swap timeline: {report['playbook']}", "", f"**Maintenance: {report['window']['summary']}**"]
    lines.append("")
    if report.get("critical_path"):
        lines += [f"**Critical path: {report['critical_path']['summary']}**", ""]
    if report["check_mode"]:
        lines += [
            "> **CHECK MODE (`--check`): nothing was changed. These are the timings of a dry run,",
            "> not of a swap; no budget verdict is given.**",
            "",
        ]
    lines += render_markdown_downtime(report)
    lines += [
        f"- Run: {report['started_at']} to {report['ended_at']} (UTC), {fmt_duration(report['duration_s'])},"
        f" status **{report['status']}**",
        f"- Playbooks: {', '.join(f'`{p}`' for p in report['playbooks'])}",
    ]
    stop = report["stopped_at"]
    if stop:
        where = f"phase {stop['phase_index']} `{stop['phase']}`" if stop["phase"] else "unknown phase"
        task = f", task `{stop['task']}`" if stop["task"] else ""
        hosts = f" on {', '.join(stop['hosts'])}" if stop["hosts"] else ""
        msg = f": {stop['message']}" if stop["message"] else ""
        lines.append(f"- **Stopped** ({stop['reason']}) in {where}{task}{hosts}{msg}")
        if stop["phases_not_run"]:
            lines.append(f"- Not run: {', '.join(f'`{n}`' for n in stop['phases_not_run'])}")
    lines += ["", "## Phases", "", "| # | Phase | Start | Duration | Status |", "|---|---|---|---|---|"]
    for phase in shown_phases(report):
        start = f"+{fmt_duration(phase['start_offset_s'])}" if phase["start_offset_s"] is not None else "-"
        lines.append(
            f"| {phase['index']} | {md_cell(phase['name'])} | {start} | {fmt_duration(phase['duration_s'])}"
            f" | {md_cell(phase_status_text(phase))} |"
        )
    skipped = [p for p in report["phases"] if p not in shown_phases(report)]
    if skipped:
        # by the phase's first two parts ("Phase S | Storage"): one entry per part of the swap switched off
        counts = Counter(" | ".join(p["name"].split(" | ")[:2]) for p in skipped)
        names = ", ".join(f"`{md_cell(n)}`" + (f" (x{c})" if c > 1 else "") for n, c in counts.items())
        lines += ["", f"Skipped, nothing to do ({len(skipped)}): {names}"]
    lines += render_markdown_markers(report) + render_markdown_slowest(report)
    if report["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in report["warnings"]]
    if svg_name:
        lines += ["", f"![timeline]({svg_name})"]
    return "\n".join(lines) + "\n"


def states_text(states: list[str], limit: int = 8) -> str:
    """The answers in order; an answer from the old cluster after the page or the new one in bold."""
    after = [i > 0 and bool({"maintenance", "new"} & set(states[:i])) for i in range(len(states))]
    shown = [f"**{s}**" if s == "old" and late else s for s, late in zip(states, after, strict=True)]
    return " → ".join(shown[:limit]) + (f" → … ({len(states) - limit} more)" if len(states) > limit else "")


def render_markdown_downtime(report: Mapping[str, Any]) -> list[str]:
    """What users got through each EIP (a downtime probe's record joined to the run), after the window."""
    downtime = report.get("downtime")
    if not downtime:
        return []
    eips = shown_eips(report)
    lines = [f"**Downtime ({downtime['source']}): {downtime['summary']}**", ""]
    if not eips:
        return lines
    if len(eips) < len(downtime["eips"]):
        lines += [f"The {len(eips)} worst of {len(downtime['eips'])} EIPs (all in the JSON):", ""]
    lines += [
        "| EIP | Address | Maintenance page | No page at all | Longest without a page | What users got |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {md_cell(e['name'])} | {e['ip']} | {fmt_duration(e['maintenance_s'])}"
        f" | {fmt_duration(e['no_page_s'])} | {fmt_duration(e['longest_no_page_s'])}"
        f" | {md_cell(states_text(e['answers']))} |"
        for e in eips
    ]
    return [*lines, ""]


def render_markdown_markers(report: Mapping[str, Any]) -> list[str]:
    if not report["markers"]:
        return []
    lines = ["", "## Markers", "", "| At | Event | Label | Host | Task |", "|---|---|---|---|---|"]
    for m in report["markers"]:
        lines.append(
            f"| +{fmt_duration(m['at_offset_s'])} | {md_cell(m['event'])} | {md_cell(m['label'])}"
            f" | {md_cell(m['host'])} | {md_cell(m['task'])} |"
        )
    return lines


#: The slowest tasks tabled, across the phases that changed something (the JSON keeps each phase's).
SLOWEST_ROWS = 15


def render_markdown_slowest(report: Mapping[str, Any]) -> list[str]:
    """One table of the slowest tasks of the phases that changed something or failed (the others only
    read): where the time went, whatever the number of phases."""
    rows = [(t, p) for p in report["phases"] if acted(p) for t in p["slowest_tasks"]]
    if not rows:
        return []
    rows.sort(key=lambda row: row[0]["duration_s"], reverse=True)
    lines = [
        "",
        f"## Slowest tasks of the phases that changed something ({min(len(rows), SLOWEST_ROWS)} of"
        f" {len(rows)})",
        "",
        "| Phase | Task | Duration | Status |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {p['index']}. {md_cell(p['name'])} | {md_cell(t['name'])} | {fmt_duration(t['duration_s'])}"
        f" | {t['status']} |"
        for t, p in rows[:SLOWEST_ROWS]
    ]
    return lines
