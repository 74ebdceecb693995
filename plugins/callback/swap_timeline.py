# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swap timeline: how long each phase of a run took, and the maintenance window against its budget."""
# ruff: noqa: E402 - Ansible plugins put DOCUMENTATION and EXAMPLES before the imports

from __future__ import annotations

DOCUMENTATION = r"""
name: swap_timeline
type: aggregate
short_description: write the swap timeline (phases, slowest tasks, window vs budget) after every run
description:
  - "After every C(ansible-playbook) run, writes C(<report_dir>/<UTC start time>-<playbook>.json), C(.md) and
    C(.svg), and prints one line at the end, C(timeline: <path>.md) (on stderr when the stdout callback is a
    JSON one, so that stdout stays parseable)."
  - Every play is a phase. For each phase the report gives start offset, end, duration, status
    (C(ok), C(failed), C(skipped), C(not_run), C(interrupted)), its slowest tasks, and in the JSON every task
    with its duration and per-host status.
  - A run that fails midway still writes the report, saying in which phase and at which task it stopped and
    which phases never ran. A run that dies without the final statistics (Ctrl-C, a fatal error) is written at
    interpreter exit with status C(interrupted).
  - "The maintenance window is measured between two markers that roles emit: a task whose result carries
    C(ansible_facts.clusterswap_marker), which is what C(ansible.builtin.set_fact: {clusterswap_marker: ...})
    returns. The marker is a mapping: C(event) (C(window_open), C(window_close) or any other name, which is
    recorded as a plain event), C(label) (free text), C(budget_minutes) (optional number)."
  - A marker is timestamped when its task result reaches the controller. The window runs from the first
    C(window_open) to the last C(window_close) after it. Its budget is the C(budget_minutes) of the first
    C(window_open) marker that carries one, else of a C(window_close) marker, else the I(budget_minutes)
    option.
  - The report says C(within budget) or C(OVER budget), or C(window not opened), or
    C(window still open at end of run) with the time it has been open so far.
  - Check mode runs (C(--check)) are flagged (C(check_mode) in the JSON, a banner in the Markdown and the SVG)
    and no budget verdict is given for them. Timings of a check-mode run are not timings of a swap.
requirements:
  - "enable in ansible.cfg: C(callbacks_enabled = swap_timeline) with C(callback_plugins) pointing at the
    directory holding this file"
options:
  report_dir:
    description:
      - Directory the reports are written to; created if missing.
      - A relative path from the environment is relative to the current directory; a relative path in
        ansible.cfg is relative to the directory of that ansible.cfg.
      - When not set, C(reports/) in the directory of the ansible.cfg in use (the project directory), or
        C(reports/) in the current directory when no ansible.cfg is in use.
    type: path
    env:
      - name: CLUSTERSWAP_REPORT_DIR
    ini:
      - section: callback_swap_timeline
        key: report_dir
  budget_minutes:
    description:
      - Maintenance window budget in minutes when no marker carries C(budget_minutes).
    type: float
    default: 20
    env:
      - name: CLUSTERSWAP_WINDOW_BUDGET_MINUTES
    ini:
      - section: callback_swap_timeline
        key: budget_minutes
  slowest_tasks:
    description:
      - How many of the slowest tasks to list per phase in the Markdown and in C(slowest_tasks) of the JSON.
    type: int
    default: 5
    env:
      - name: CLUSTERSWAP_TIMELINE_SLOWEST_TASKS
    ini:
      - section: callback_swap_timeline
        key: slowest_tasks
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callback_plugins = plugins/callback
# callbacks_enabled = ansible.posix.profile_tasks, swap_timeline
#
# [callback_swap_timeline]
# report_dir = reports

# In a role: the first EIP is about to leave the old cluster.
- name: "2.1 | Maintenance | Window opens"
  ansible.builtin.set_fact:
    clusterswap_marker:
      event: window_open
      budget_minutes: "{{ clusterswap_window_budget_minutes | default(20) }}"
      label: first EIP leaves the old cluster

# In a role: the last EIP answers from the new cluster.
- name: "6.3 | Go live | Window closes"
  ansible.builtin.set_fact:
    clusterswap_marker:
      event: window_close
      label: last EIP answers from the new cluster
"""

import atexit
import datetime as dt
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase

MARKER_FACT = "clusterswap_marker"
WINDOW_OPEN = "window_open"
WINDOW_CLOSE = "window_close"
SCHEMA = "clusterswap.timeline/1"

# Host statuses, worst first: a task's status is the worst of its hosts'.
STATUS_ORDER = ("failed", "unreachable", "rescued", "ignored", "changed", "ok", "skipped")
PHASE_COLOURS = {
    "ok": "#3c8d2f",
    "failed": "#c0392b",
    "skipped": "#9e9e9e",
    "interrupted": "#e67e22",
    "not_run": "#d0d0d0",
}


# ---------------------------------------------------------------------------------------------------------
# What a run is made of


@dataclass
class TaskRecord:
    uuid: str
    name: str
    start: float
    handler: bool = False
    check_mode: bool = False
    end: float | None = None
    hosts: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if not self.hosts:
            return "no_result"
        return min(self.hosts.values(), key=STATUS_ORDER.index)


@dataclass
class PhaseRecord:
    index: int
    name: str
    uuid: str | None = None
    start: float | None = None
    end: float | None = None
    check_mode: bool = False
    no_hosts: bool = False
    interrupted: bool = False
    tasks: list[TaskRecord] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.start is None:
            return "not_run"
        statuses = {task.status for task in self.tasks}
        if statuses & {"failed", "unreachable"}:
            return "failed"
        if self.interrupted:
            return "interrupted"
        if self.no_hosts or (statuses and statuses <= {"skipped", "no_result"} and "skipped" in statuses):
            return "skipped"
        return "ok"


@dataclass
class Marker:
    event: str
    label: str
    at: float
    host: str
    task: str
    phase: str
    budget_minutes: float | None = None


# ---------------------------------------------------------------------------------------------------------
# Small pure helpers


def fmt_duration(seconds: float | None) -> str:
    """12.3s, 4m05s, 1h02m03s."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s"


def fmt_minutes(minutes: float) -> str:
    if minutes >= 1 and float(minutes).is_integer():
        return f"{int(minutes)} min"
    if minutes >= 1:
        return f"{minutes:g} min"
    return f"{minutes:g} min ({fmt_duration(minutes * 60)})"


def iso_utc(epoch: float) -> str:
    return (
        dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def slug(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-.")
    return cleaned or "playbook"


def playbook_name(paths: Iterable[str]) -> str:
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    return slug("+".join(stems))


def parse_budget(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        budget = float(value)
    except (TypeError, ValueError):
        return None
    return budget if math.isfinite(budget) and budget >= 0 else None


def find_markers(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Markers carried by a task result, including each item of a loop."""
    found: list[Mapping[str, Any]] = []
    candidates = [result, *[r for r in result.get("results", []) or [] if isinstance(r, Mapping)]]
    for candidate in candidates:
        facts = candidate.get("ansible_facts")
        if isinstance(facts, Mapping):
            marker = facts.get(MARKER_FACT)
            if isinstance(marker, Mapping) and marker.get("event"):
                found.append(marker)
    return found


def short_message(result: Mapping[str, Any], limit: int = 300) -> str:
    msg = result.get("msg") or result.get("stderr") or result.get("reason") or ""
    if result.get("censored"):
        msg = "output hidden (no_log)"
    text = " ".join(str(msg).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def budget_share(duration: float, budget_minutes: float) -> str:
    if budget_minutes <= 0:
        return "no time allowed"
    share = duration / (budget_minutes * 60)
    return "under 1% of it" if share < 0.01 else f"{share:.0%} of it"


def measure_window(
    markers: list[Marker], run_end: float, default_budget: float, check_mode: bool
) -> dict[str, Any]:
    """The maintenance window: first window_open to the last window_close after it, against the budget."""
    opens = [m for m in markers if m.event == WINDOW_OPEN]
    closes = [m for m in markers if m.event == WINDOW_CLOSE]
    budget, source = default_budget, "default"
    for marker in [*opens, *closes]:
        if marker.budget_minutes is not None:
            budget, source = marker.budget_minutes, "marker"
            break
    window: dict[str, Any] = {
        "state": "not_opened",
        "opened_at_offset_s": None,
        "closed_at_offset_s": None,
        "duration_s": None,
        "budget_minutes": budget,
        "budget_s": round(budget * 60, 3),
        "budget_source": source,
        "verdict": "not_measured",
        "open_label": None,
        "close_label": None,
    }
    if not opens:
        window["summary"] = "window not opened"
        if closes:
            window["state"] = "closed_without_open"
            window["summary"] = (
                "window not opened in this run (a window_close marker came without a window_open)"
            )
        return window
    first_open = min(opens, key=lambda m: m.at)
    later_closes = [m for m in closes if m.at >= first_open.at]
    last_close = max(later_closes, key=lambda m: m.at) if later_closes else None
    reopened = last_close is not None and any(m.at > last_close.at for m in opens)
    window["opened_at_offset_s"] = round(first_open.at, 3)
    window["open_label"] = first_open.label
    if last_close is None or reopened:
        duration = run_end - first_open.at
        window.update(state="open_at_end", duration_s=round(duration, 3))
        over = duration > budget * 60
        window["verdict"] = "over_budget" if over else "open_at_end"
        window["summary"] = (
            f"window still open at end of run: open for {fmt_duration(duration)} so far"
            f" (budget {fmt_minutes(budget)}{', already OVER budget' if over else ''})"
        )
    else:
        duration = last_close.at - first_open.at
        window.update(
            state="closed",
            closed_at_offset_s=round(last_close.at, 3),
            close_label=last_close.label,
            duration_s=round(duration, 3),
        )
        within = duration <= budget * 60
        window["verdict"] = "within_budget" if within else "over_budget"
        verdict = "within the" if within else "OVER the"
        window["summary"] = (
            f"window {fmt_duration(duration)}, {verdict} {fmt_minutes(budget)} budget"
            f" ({budget_share(duration, budget)})"
        )
    if check_mode:
        window["verdict"] = "not_measured"
        state = "still open at end of run" if window["state"] == "open_at_end" else "between the markers"
        window["summary"] = (
            f"CHECK MODE: {fmt_duration(window['duration_s'])} {state} in a dry run; not a measurement,"
            f" no verdict against the {fmt_minutes(budget)} budget"
        )
    return window


# ---------------------------------------------------------------------------------------------------------
# The recorder: fed by the callback, independent of Ansible's objects so that it can be tested alone


class Timeline:
    """Collects phases, tasks, results and markers against one clock; builds the report."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time):
        self._clock = clock
        self.t0 = clock()
        self.wall0 = wall()
        self.playbooks: list[str] = []
        self.phases: list[PhaseRecord] = []
        self.markers: list[Marker] = []
        self.warnings: list[str] = []
        self.current: PhaseRecord | None = None
        self.ended_at: float | None = None
        self.interrupted = False
        self.stats: dict[str, dict[str, int]] = {}

    def now(self) -> float:
        return self._clock() - self.t0

    def start_playbook(self, path: str, plays: Iterable[tuple[str, str]]) -> None:
        """plays: (uuid, name) of every play the playbook will run, in order."""
        self.close_phase()
        self.playbooks.append(path)
        for uuid, name in plays:
            self.phases.append(PhaseRecord(index=len(self.phases) + 1, name=name, uuid=uuid))
        self.ended_at = None

    def start_phase(self, uuid: str, name: str, check_mode: bool = False) -> None:
        phase = next((p for p in self.phases if p.uuid == uuid), None)
        if phase is not None and phase is self.current:
            return  # another serial batch of the same play
        self.close_phase()
        if phase is None:
            phase = PhaseRecord(index=len(self.phases) + 1, name=name, uuid=uuid)
            self.phases.append(phase)
        phase.name, phase.start, phase.check_mode = name, self.now(), check_mode
        self.current = phase

    def no_hosts(self) -> None:
        if self.current is not None:
            self.current.no_hosts = True

    def start_task(self, uuid: str, name: str, handler: bool = False, check_mode: bool = False) -> None:
        phase = self.current
        if phase is None:
            return
        self._close_open_tasks(phase)
        phase.tasks.append(
            TaskRecord(uuid=uuid, name=name, start=self.now(), handler=handler, check_mode=check_mode)
        )

    def host_result(self, uuid: str, host: str, status: str, message: str = "") -> None:
        task = self._find_task(uuid)
        if task is None:
            return
        task.end = self.now()
        previous = task.hosts.get(host)
        if previous is None or STATUS_ORDER.index(status) < STATUS_ORDER.index(previous):
            task.hosts[host] = status
        if message and status in ("failed", "unreachable", "rescued", "ignored"):
            task.messages.setdefault(host, message)

    def add_marker(self, raw: Mapping[str, Any], host: str, task: str) -> None:
        budget = parse_budget(raw.get("budget_minutes"))
        if raw.get("budget_minutes") not in (None, "") and budget is None:
            self.warnings.append(
                f"marker on task {task!r}: budget_minutes {raw.get('budget_minutes')!r} ignored"
            )
        phase = self.current.name if self.current else ""
        self.markers.append(
            Marker(
                event=str(raw.get("event")),
                label=str(raw.get("label") or ""),
                at=self.now(),
                host=host,
                task=task,
                phase=phase,
                budget_minutes=budget,
            )
        )

    def close_phase(self) -> None:
        if self.current is None:
            return
        self.current.end = self.now()
        self._close_open_tasks(self.current)
        self.current = None

    def finish(self, interrupted: bool = False) -> None:
        self.interrupted = interrupted
        if interrupted and self.current is not None:
            self.current.interrupted = True
        self.close_phase()
        self.ended_at = self.now()

    def _find_task(self, uuid: str) -> TaskRecord | None:
        for phase in reversed(self.phases):
            for task in reversed(phase.tasks):
                if task.uuid == uuid:
                    return task
        return None

    def _close_open_tasks(self, phase: PhaseRecord) -> None:
        now = self.now()
        for task in phase.tasks:
            if task.end is None:
                task.end = now


# ---------------------------------------------------------------------------------------------------------
# The report (a plain dict, written as JSON, rendered to Markdown and SVG)


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
    return {
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
        "window": measure_window(timeline.markers, end, default_budget, check_mode),
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


# ---------------------------------------------------------------------------------------------------------
# Markdown


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


def shown_phases(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The phases drawn and tabled: a phase in which every task was skipped (a part switched off, a
    pre-flight already done in this run) is listed in one line instead; the JSON keeps them all."""
    shown = [p for p in report["phases"] if p["status"] != "skipped"]
    return shown or list(report["phases"])


def render_markdown(report: Mapping[str, Any], svg_name: str | None = None) -> str:
    lines = [f"# Swap timeline: {report['playbook']}", ""]
    if report["check_mode"]:
        lines += [
            "> **CHECK MODE (`--check`): nothing was changed. These are the timings of a dry run,",
            "> not of a swap; no budget verdict is given.**",
            "",
        ]
    lines += [
        f"- Run: {report['started_at']} to {report['ended_at']} (UTC), {fmt_duration(report['duration_s'])},"
        f" status **{report['status']}**",
        f"- Playbooks: {', '.join(f'`{p}`' for p in report['playbooks'])}",
        f"- Maintenance: **{report['window']['summary']}**",
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
        counts = Counter(p["name"] for p in skipped)
        names = ", ".join(f"`{md_cell(n)}`" + (f" (x{c})" if c > 1 else "") for n, c in counts.items())
        lines += ["", f"Skipped, nothing to do ({len(skipped)}): {names}"]
    lines += render_markdown_markers(report) + render_markdown_slowest(report)
    if report["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in report["warnings"]]
    if svg_name:
        lines += ["", f"![timeline]({svg_name})"]
    return "\n".join(lines) + "\n"


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


def render_markdown_slowest(report: Mapping[str, Any]) -> list[str]:
    lines = ["", "## Slowest tasks"]
    for phase in report["phases"]:
        if not phase["slowest_tasks"]:
            continue
        lines += [
            "",
            f"### {phase['index']}. {phase['name']}",
            "",
            "| Task | Duration | Status |",
            "|---|---|---|",
        ]
        lines += [
            f"| {md_cell(t['name'])} | {fmt_duration(t['duration_s'])} | {t['status']} |"
            for t in phase["slowest_tasks"]
        ]
    return lines


# ---------------------------------------------------------------------------------------------------------
# SVG

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

    def __init__(self, span: float, rows: int, top: float):
        self.span = span
        self.plot_w = SVG_WIDTH - LABEL_WIDTH - RIGHT_MARGIN
        self.top = top
        self.rows_bottom = top + rows * ROW_HEIGHT
        self.height = self.rows_bottom + 96
        self.parts: list[str] = []

    def x(self, offset: float) -> float:
        return LABEL_WIDTH + max(0.0, min(offset, self.span)) / self.span * self.plot_w

    def add(self, part: str) -> None:
        self.parts.append(part)


def svg_header(canvas: SvgCanvas, report: Mapping[str, Any]) -> None:
    canvas.add(text(12, 24, f"Swap timeline: {report['playbook']}", font_size=17, font_weight="bold"))
    duration = fmt_duration(report["duration_s"])
    sub = f"started {report['started_at']} UTC · {duration} · status {report['status']}"
    canvas.add(text(12, 44, sub, font_size=12, fill="#333"))
    y = 56
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


def svg_phase_row(canvas: SvgCanvas, phase: Mapping[str, Any], row: int, report_check: bool) -> None:
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


def render_svg(report: Mapping[str, Any]) -> str:
    phases = shown_phases(report)
    top = 80 + (26 if report["check_mode"] else 0) + (22 if report["stopped_at"] else 0)
    canvas = SvgCanvas(axis_span(report), max(len(phases), 1), top)
    svg_header(canvas, report)
    svg_stripes(canvas, len(phases))
    svg_grid(canvas)
    for row, phase in enumerate(phases):
        svg_phase_row(canvas, phase, row, report["check_mode"] or phase["check_mode"])
    svg_window(canvas, report)
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


# ---------------------------------------------------------------------------------------------------------
# Writing


def default_report_dir() -> str:
    config = getattr(C, "CONFIG_FILE", None)
    base = os.path.dirname(os.path.abspath(config)) if config else os.getcwd()
    return os.path.join(base, "reports")


def unique_base(directory: str, stamp: str, name: str) -> str:
    base = os.path.join(directory, f"{stamp}-{name}")
    candidate, n = base, 2
    while os.path.exists(candidate + ".json"):
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def write_atomic(path: str, content: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.replace(tmp, path)


def write_report(report: dict[str, Any], base: str) -> dict[str, str]:
    os.makedirs(os.path.dirname(base), exist_ok=True)
    paths = {ext: f"{base}.{ext}" for ext in ("json", "md", "svg")}
    report["report"] = paths
    write_atomic(paths["svg"], render_svg(report))
    write_atomic(paths["md"], render_markdown(report, os.path.basename(paths["svg"])))
    write_atomic(paths["json"], json.dumps(report, indent=2, default=str) + "\n")
    return paths


def display_path(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


# ---------------------------------------------------------------------------------------------------------
# The callback: translates Ansible's events into the Timeline


def in_rescued_block(task: Any) -> bool:
    """True when the task sits in the `block:` part of a block that has a `rescue:`."""
    child, parent = task, getattr(task, "_parent", None)
    while parent is not None:
        if getattr(parent, "rescue", None) and any(
            getattr(t, "_uuid", None) == getattr(child, "_uuid", "")
            for t in getattr(parent, "block", None) or []
        ):
            return True
        child, parent = parent, getattr(parent, "_parent", None)
    return False


def stdout_is_machine_readable() -> bool:
    """With a JSON stdout callback the `timeline:` line goes to stderr, so stdout stays parseable."""
    name = str(getattr(C, "DEFAULT_STDOUT_CALLBACK", "") or "")
    return "json" in name


def cli_args() -> Mapping[str, Any]:
    try:
        return dict(context.CLIARGS)
    except Exception:
        return {}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "swap_timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: Any = None) -> None:
        super().__init__(display=display)
        self.timeline: Timeline | None = None
        self._base: str | None = None
        self._finished = True
        self._atexit = False
        self._written: str | None = None

    # -- playbook and play ------------------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook: Any) -> None:
        if self.timeline is None:
            self.timeline = Timeline()
        plays = [(p._uuid, p.get_name()) for p in playbook.get_plays()]
        self.timeline.start_playbook(getattr(playbook, "_file_name", "playbook"), plays)
        self._finished = False
        if not self._atexit:
            atexit.register(self._at_exit)
            self._atexit = True

    def v2_playbook_on_play_start(self, play: Any) -> None:
        if self.timeline is not None:
            self.timeline.start_phase(
                play._uuid, play.get_name().strip(), bool(getattr(play, "check_mode", False))
            )

    def v2_playbook_on_no_hosts_matched(self) -> None:
        if self.timeline is not None:
            self.timeline.no_hosts()

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._task_start(task, handler=False)

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._task_start(task, handler=True)

    def _task_start(self, task: Any, handler: bool) -> None:
        if self.timeline is not None:
            check = bool(getattr(task, "check_mode", False))
            self.timeline.start_task(task._uuid, task.get_name().strip(), handler=handler, check_mode=check)

    # -- results ----------------------------------------------------------------------------------------
    def v2_runner_on_ok(self, result: Any) -> None:
        data = result.result if hasattr(result, "result") else result._result
        status = "changed" if data.get("changed") else "ok"
        self._record(result, status, data)
        if self.timeline is None:
            return
        for marker in find_markers(data):
            self.timeline.add_marker(marker, result._host.get_name(), self._task_name(result))

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        status = "ignored" if ignore_errors else ("rescued" if in_rescued_block(result._task) else "failed")
        self._record(result, status)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        ignored = bool(getattr(result._task, "ignore_unreachable", False))
        self._record(result, "ignored" if ignored else "unreachable")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, "skipped")

    def _record(self, result: Any, status: str, data: Mapping[str, Any] | None = None) -> None:
        if self.timeline is None:
            return
        data = data if data is not None else (result.result if hasattr(result, "result") else result._result)
        self.timeline.host_result(result._task._uuid, result._host.get_name(), status, short_message(data))

    @staticmethod
    def _task_name(result: Any) -> str:
        return str(getattr(result, "task_name", None) or result._task.get_name())

    # -- the end ----------------------------------------------------------------------------------------
    def v2_playbook_on_stats(self, stats: Any) -> None:
        if self.timeline is None:
            return
        self.timeline.stats = {h: dict(stats.summarize(h)) for h in sorted(stats.processed)}
        self.timeline.finish()
        self._finished = True
        self._written = self._write()

    def _at_exit(self) -> None:
        """Prints the report's path last, after the other callbacks' summaries; writes an interrupted run."""
        try:
            if self.timeline is not None and not self._finished:
                self.timeline.finish(interrupted=True)
                self._finished = True
                self._written = self._write()
            if self._written:
                line = f"timeline: {display_path(self._written)}"
                self._display.display(line, stderr=stdout_is_machine_readable())
        except Exception as exc:  # never turn the end of a run into a traceback
            self._display.warning(f"swap_timeline: could not finish the timeline report: {exc}")

    def _write(self) -> str | None:
        assert self.timeline is not None
        args = cli_args()
        try:
            report = build_report(
                self.timeline,
                check_mode=bool(args.get("check")),
                default_budget=float(self.get_option("budget_minutes")),
                slowest=int(self.get_option("slowest_tasks")),
                run_info=self._run_info(args),
            )
            directory = self.get_option("report_dir") or default_report_dir()
            if self._base is None:
                stamp = dt.datetime.fromtimestamp(self.timeline.wall0, tz=dt.UTC).strftime("%Y%m%dT%H%M%SZ")
                self._base = unique_base(directory, stamp, playbook_name(self.timeline.playbooks))
            return write_report(report, self._base)["md"]
        except OSError as exc:
            self._display.warning(f"swap_timeline: could not write the timeline report: {exc}")
            return None

    @staticmethod
    def _run_info(args: Mapping[str, Any]) -> dict[str, Any]:
        keys = ("inventory", "subset", "tags", "skip_tags", "check", "diff", "forks")
        info = {k: args.get(k) for k in keys if args.get(k) not in (None, (), [], "")}
        info["ansible_config"] = getattr(C, "CONFIG_FILE", None)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in info.items()}
