# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance window's critical path: the longest chain of its steps that cannot overlap.

Each play of the window names its step (``vars: clusterswap_step: rds``); ``STEPS`` says what each step
must wait for. With the durations this run measured (each step's plays, inside the window), the critical
path is how long the window would be if every step started as soon as what it waits for had finished: the
least a runbook made of these steps can take. The report gives it, its chain, and the window as a ratio to
it; the time the window spent outside any step (the pre-flight re-checks each imported playbook runs,
Ansible's own) is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.timefmt import fmt_duration

#: The window's steps, each with the steps it must wait for (docs/checklist.md), in an order that lists a
#: step after everything it waits for.
STEPS: dict[str, tuple[str, ...]] = {
    # the window opens in it: the first EIP leaves the old cluster for the maintenance page
    "maintenance_on": (),
    # nobody reaches the old servers any more (their EIPs give the maintenance page)
    "stop": ("maintenance_on",),
    # nothing writes to the volumes or to Postgres once the old servers are stopped
    "storage": ("stop",),
    "postgres": ("stop",),
    # the same DB instance, moved: no write is lost, whatever still runs on the old servers
    "rds": ("maintenance_on",),
    # the EIPs whose page is in the VPC, moving there since the window opened, onto that page
    "eip_vpc_page": ("maintenance_on",),
    # the schema changes once no old code runs, on the databases where they now are
    "migrate": ("stop", "postgres", "rds"),
    # the office sees the whole new cluster (databases migrated, storage) through every EIP's page
    "office_check": ("migrate", "storage", "eip_vpc_page"),
    # these EIPs go onto the new cluster as they reach the VPC: after the office check
    "eip_vpc": ("office_check",),
    "go_live": ("office_check", "eip_vpc"),
}

LABELS = {
    "maintenance_on": "maintenance on",
    "stop": "stop the old servers",
    "storage": "EBS storage",
    "postgres": "Postgres",
    "rds": "RDS into the VPC",
    "eip_vpc_page": "EIPs to the VPC's maintenance page",
    "migrate": "migrations",
    "office_check": "office check",
    "eip_vpc": "EIPs to the VPC",
    "go_live": "go live",
}


def step_spans(report: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """Each step's span inside the window: from its first play's start to its last play's end (a step's plays
    run one after another; a step issued early and waited for later, as the RDS moves, spans both)."""
    window = report["window"]
    opened = window["opened_at_offset_s"]
    closed = (
        window["closed_at_offset_s"] if window["closed_at_offset_s"] is not None else report["duration_s"]
    )
    spans: dict[str, tuple[float, float]] = {}
    for phase in report["phases"]:
        step = phase.get("step")
        if step not in STEPS or phase["start_offset_s"] is None or phase["status"] == "skipped":
            continue  # a play with nothing to do (a part switched off) is time outside any step
        start, end = max(phase["start_offset_s"], opened), min(phase["end_offset_s"], closed)
        if end > start:
            first, last = spans.get(step, (start, end))
            spans[step] = (min(first, start), max(last, end))
    return spans


def covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of the spans."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def critical_path(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """The window's critical path (None when the window did not open or none of its plays names a step):
    its length, its chain of steps
    (those that took time), the window as a ratio to it, and the window's time outside any step."""
    window = report["window"]
    if window["opened_at_offset_s"] is None or not window["duration_s"]:
        return None
    spans = step_spans(report)
    durations = {step: end - start for step, (start, end) in spans.items()}
    if not durations:
        return None  # no play of the window names its step: not this runbook's window
    finish: dict[str, float] = {}
    before: dict[str, str | None] = {}
    for step, after in STEPS.items():
        last = max(after, key=lambda s: finish[s], default=None)
        before[step] = last
        finish[step] = (finish[last] if last else 0.0) + durations.get(step, 0.0)
    end = max(finish, key=lambda s: finish[s])
    chain: list[str] = []
    at: str | None = end
    while at is not None:
        chain.insert(0, at)
        at = before[at]
    links = [
        {"step": s, "label": LABELS[s], "duration_s": round(durations[s], 3)}
        for s in chain
        if durations.get(s)
    ]
    length = finish[end]
    outside = max(0.0, window["duration_s"] - covered(list(spans.values())))
    ratio = window["duration_s"] / length if length else None
    text = " → ".join(f"{link['label']} {fmt_duration(link['duration_s'])}" for link in links)
    summary = f"{fmt_duration(length)} ({text})"
    if ratio:
        summary += f"; the window took {ratio:.2f}× it"
    summary += f"; {fmt_duration(outside)} of the window outside any step"
    return {
        "duration_s": round(length, 3),
        "chain": links,
        "window_ratio": round(ratio, 3) if ratio else None,
        "outside_steps_s": round(outside, 3),
        # the same steps one after another, as this run measured them: what a serial runbook's window would be
        "serial_s": round(sum(durations.values()) + outside, 3),
        "steps": {s: round(d, 3) for s, d in durations.items()},
        "summary": summary,
    }
