# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report: a plain dict of the recorded run, written as JSON and rendered to Markdown and SVG."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.critical_path import critical_path
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.model import PhaseRecord, TaskRecord
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.timefmt import iso_utc
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.window import measure_window

SCHEMA = "clusterswap.timeline/1"


def slug(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-.")
    return cleaned or "playbook"


def playbook_name(paths: Iterable[str]) -> str:
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    return slug("+".join(stems))


def task_dict(task: TaskRecord) -> dict[str, Any]:
    end = task.end if task.end is not None else task.start
    data: dict[str, Any] = {
        "name": task.name,
        "start_offset_s": round(task.start, 3),
        "end_offset_s": round(end, 3),
        "duration_s": round(end - task.start, 3),
        "status": task.status,
        "hosts": dict(task.hosts),
    }
    if task.handler:
        data["handler"] = True
    if task.check_mode:
        data["check_mode"] = True
    if task.messages:
        data["messages"] = dict(task.messages)
    return data


def phase_dict(phase: PhaseRecord, wall0: float, slowest: int) -> dict[str, Any]:
    tasks = [task_dict(t) for t in phase.tasks]
    ranked = sorted(tasks, key=lambda t: t["duration_s"], reverse=True)[:slowest]
    started = phase.start is not None
    end = phase.end if phase.end is not None else phase.start
    failed_hosts = sorted(
        {h for t in phase.tasks for h, s in t.hosts.items() if s in ("failed", "unreachable")}
    )
    return {
        "index": phase.index,
        "name": phase.name,
        "step": phase.step,
        "status": phase.status,
        "check_mode": phase.check_mode,
        "no_hosts_matched": phase.no_hosts,
        "start_offset_s": round(phase.start, 3) if started else None,
        "end_offset_s": round(end, 3) if started else None,
        "duration_s": round(end - phase.start, 3) if started else None,
        "started_at": iso_utc(wall0 + phase.start) if started else None,
        "ended_at": iso_utc(wall0 + end) if started else None,
        "failed_hosts": failed_hosts,
        "slowest_tasks": [
            {"name": t["name"], "duration_s": t["duration_s"], "status": t["status"]} for t in ranked
        ],
        "tasks": tasks,
    }


def failures(timeline: Timeline) -> list[dict[str, Any]]:
    found = []
    for phase in timeline.phases:
        for task in phase.tasks:
            for host, status in task.hosts.items():
                if status in ("failed", "unreachable"):
                    found.append(
                        {
                            "phase": phase.name,
                            "phase_index": phase.index,
                            "task": task.name,
                            "host": host,
                            "status": status,
                            "at_offset_s": round(task.end if task.end is not None else task.start, 3),
                            "message": task.messages.get(host, ""),
                        }
                    )
    return found


def stopped_at(timeline: Timeline, status: str, failed: list[dict[str, Any]]) -> dict[str, Any] | None:
    if status == "ok":
        return None
    not_run = [p.name for p in timeline.phases if p.start is None]
    if status == "interrupted":
        phase = next((p for p in reversed(timeline.phases) if p.start is not None), None)
        task = phase.tasks[-1] if phase and phase.tasks else None
        return {
            "reason": "interrupted",
            "phase": phase.name if phase else None,
            "phase_index": phase.index if phase else None,
            "task": task.name if task else None,
            "hosts": [],
            "message": "the run ended without its final statistics (interrupted or a fatal error)",
            "phases_not_run": not_run,
        }
    last = max(failed, key=lambda f: f["at_offset_s"]) if failed else None
    if last is None:
        return {"reason": "failed", "phase": None, "phase_index": None, "task": None, "hosts": [],
                "message": "hosts failed (see stats)", "phases_not_run": not_run}  # fmt: skip
    hosts = sorted({f["host"] for f in failed if f["task"] == last["task"] and f["phase"] == last["phase"]})
    return {
        "reason": "failed",
        "phase": last["phase"],
        "phase_index": last["phase_index"],
        "task": last["task"],
        "hosts": hosts,
        "message": last["message"],
        "phases_not_run": not_run,
    }


def run_status(timeline: Timeline) -> str:
    if timeline.interrupted:
        return "interrupted"
    if any(p.status == "failed" for p in timeline.phases):
        return "failed"
    if any(s.get("failures") or s.get("unreachable") for s in timeline.stats.values()):
        return "failed"
    return "ok"


def build_report(
    timeline: Timeline,
    *,
    check_mode: bool = False,
    default_budget: float = 20.0,
    slowest: int = 5,
    run_info: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    end = timeline.ended_at if timeline.ended_at is not None else timeline.now()
    status = run_status(timeline)
    failed = failures(timeline)
    report = {
        "schema": SCHEMA,
        "playbook": playbook_name(timeline.playbooks),
        "playbooks": list(timeline.playbooks),
        "run": dict(run_info or {}),
        "check_mode": check_mode,
        "status": status,
        "started_at": iso_utc(timeline.wall0),
        "ended_at": iso_utc(timeline.wall0 + end),
        "duration_s": round(end, 3),
        "stopped_at": stopped_at(timeline, status, failed),
        "window": measure_window(
            timeline.markers, end, default_budget, check_mode, carried=timeline.carried_open
        ),
        "phases": [phase_dict(p, timeline.wall0, slowest) for p in timeline.phases],
        "markers": [
            {
                "event": m.event,
                "label": m.label,
                "at_offset_s": round(m.at, 3),
                "at": iso_utc(timeline.wall0 + m.at),
                "host": m.host,
                "task": m.task,
                "phase": m.phase,
                "budget_minutes": m.budget_minutes,
            }
            for m in timeline.markers
        ],
        "failures": failed,
        "stats": timeline.stats,
        "warnings": list(timeline.warnings),
    }
    # a dry run's timings say nothing of the window's: no critical path, as no budget verdict
    report["critical_path"] = None if check_mode else critical_path(report)
    return report


def shown_phases(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The phases drawn and tabled: a phase in which every task was skipped (a part switched off, a
    pre-flight already done in this run) is listed in one line instead; the JSON keeps them all."""
    shown = [p for p in report["phases"] if p["status"] != "skipped"]
    return shown or list(report["phases"])


def acted(phase: Mapping[str, Any]) -> bool:
    """A phase in which some task changed something, failed, was rescued or ignored (not only read)."""
    return any(t["status"] not in ("ok", "skipped") for t in phase["tasks"])


#: Beyond this many EIPs the Markdown and the SVG show the worst (a flip back first, then the longest without
#: a page); the JSON keeps them all.
DOWNTIME_ROWS = 50


def shown_eips(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The EIPs of the report's ``downtime`` that are tabled and drawn, in name order."""
    eips = list((report.get("downtime") or {}).get("eips", []))
    if len(eips) <= DOWNTIME_ROWS:
        return eips
    worst = sorted(eips, key=lambda e: (not e["flip_back_to_old"], -e["longest_no_page_s"]))[:DOWNTIME_ROWS]
    return [e for e in eips if e in worst]
