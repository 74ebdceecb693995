"""Tests of plugin_utils/timeline/critical_path.py: the window's longest chain of steps that cannot overlap,
from the steps each play names and the durations the run measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.critical_path import (
    LABELS,
    STEPS,
    critical_path,
)
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.markdown import render_markdown
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import build_report
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.svg import render_svg

from tests.unit.callback.conftest import FakeClock, marker

#: The VPC day at AWS's pace (seconds), as the runbook runs it: one play after the other, a pre-flight
#: re-check (no step) of 3 s before each imported playbook's phase.
VPC_DAY = [
    ("maintenance_on", 60.0),
    ("stop", 76.0),
    ("storage", 67.0),
    ("postgres", 77.0),
    ("rds", 451.0),
    ("migrate", 8.0),
    ("office_check", 1.0),
    ("eip_vpc", 116.0),
    ("go_live", 1.0),
]


def recorded(
    steps: list[tuple[str, float]], opens_after: float = 20.0, check_mode: bool = False
) -> dict[str, Any]:
    """A run of one play per step (the window opening `opens_after` seconds into the first, closing at the
    end of the last), each after a 3 s pre-flight play."""
    clock = FakeClock()
    tl = Timeline(clock=clock, wall=lambda: 1_700_000_000.0)
    plays = []
    for n, (step, _) in enumerate(steps):
        plays += [(f"pre{n}", "Pre-flight", None), (f"p{n}", f"Phase {n} | {LABELS[step]}", step)]
    tl.start_playbook("playbooks/full-swap.yml", plays)
    for n, (step, seconds) in enumerate(steps):
        tl.start_phase(f"pre{n}", "Pre-flight")
        tl.start_task(f"pre{n}t", "0.1 | Check")
        clock.advance(3)
        tl.host_result(f"pre{n}t", "localhost", "ok")
        tl.start_phase(f"p{n}", f"Phase {n} | {LABELS[step]}")
        tl.start_task(f"p{n}t", f"{n}.1 | {step}")
        if n == 0:
            clock.advance(opens_after)
            tl.add_marker(marker("window_open", budget=40), "localhost", "opens")
            seconds -= opens_after
        clock.advance(seconds)
        tl.host_result(f"p{n}t", "localhost", "changed")
        if n == len(steps) - 1:
            tl.add_marker(marker("window_close"), "localhost", "closes")
    tl.finish()
    return build_report(tl, check_mode=check_mode)


def test_the_steps_are_listed_after_what_they_wait_for_and_each_has_a_label() -> None:
    seen: set[str] = set()
    for step, after in STEPS.items():
        assert set(after) <= seen, f"{step} waits for a step listed after it: {after}"
        seen.add(step)
    assert set(LABELS) == set(STEPS)


def test_the_vpc_days_critical_path_is_the_rds_move_then_what_waits_for_it() -> None:
    report = recorded(VPC_DAY)
    path = report["critical_path"]
    assert [link["step"] for link in path["chain"]] == [
        "maintenance_on", "rds", "migrate", "office_check", "eip_vpc", "go_live",
    ]  # fmt: skip
    assert path["duration_s"] == pytest.approx(40 + 451 + 8 + 1 + 116 + 1)
    window = report["window"]["duration_s"]  # every step in series, and 8 pre-flight plays inside the window
    assert window == pytest.approx(40 + 76 + 67 + 77 + 451 + 8 + 1 + 116 + 1 + 8 * 3)
    assert path["window_ratio"] == pytest.approx(window / path["duration_s"], 1e-3)
    assert path["outside_steps_s"] == pytest.approx(24)
    assert path["summary"].startswith(
        "10m17s (maintenance on 40.0s → RDS into the VPC 7m31s → migrations 8.00s → office check 1.00s"
        " → EIPs to the VPC 1m56s → go live 1.00s); the window took 1.40× it; 24.0s of the window outside"
    )
    md = render_markdown(report).splitlines()
    assert md[2].startswith("**Maintenance: window") and md[4] == f"**Critical path: {path['summary']}**"


def test_without_the_rds_move_the_stop_and_postgres_lead_the_chain() -> None:
    """A storage update: the stop, then Postgres (longer than the EBS move), then the migrations."""
    steps = [s for s in VPC_DAY if s[0] not in ("rds", "eip_vpc")]
    path = recorded(steps)["critical_path"]
    assert [link["step"] for link in path["chain"]] == [
        "maintenance_on", "stop", "postgres", "migrate", "office_check", "go_live",
    ]  # fmt: skip
    assert path["duration_s"] == pytest.approx(40 + 76 + 77 + 8 + 1 + 1)


def test_no_critical_path_for_a_dry_run_a_window_never_opened_or_plays_without_steps() -> None:
    assert recorded(VPC_DAY, check_mode=True)["critical_path"] is None
    report = recorded(VPC_DAY)
    report["window"]["opened_at_offset_s"] = None
    assert critical_path(report) is None
    for phase in report["phases"]:
        phase["step"] = None
    report = {**report, "window": recorded(VPC_DAY)["window"]}
    assert critical_path(report) is None


def test_the_svg_names_the_critical_path_and_outlines_its_phases(svg_texts: Any) -> None:
    report = recorded(VPC_DAY)
    svg = render_svg(report)
    assert (
        "critical path 10m17s, the window 1.40× it (outlined): maintenance on → RDS into the VPC → migrations"
        " → office check → EIPs to the VPC → go live"
    ) in svg_texts(svg)
    outlined = [line for line in svg.splitlines() if 'stroke="#111" stroke-width="2"' in line]
    names = " ".join(outlined)
    assert len(outlined) == 6 and "RDS into the VPC" in names and "stop the old servers" not in names


def test_the_checklist_lists_the_same_steps_and_waits() -> None:
    """docs/checklist.md's table of the window's steps is critical_path.STEPS, so a reader can check the
    chain the report names against the checklist."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "checklist.md").read_text()
    table = text.split("### The window's steps and what each waits for", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:4] for line in table.splitlines() if line.startswith("| `")]
    listed = {
        step.strip(" `"): tuple(w.strip(" `") for w in waits.split(",") if w.strip(" \u2013"))
        for step, _, waits in rows
    }
    assert listed == STEPS and list(listed) == list(STEPS)


def test_rds_issued_as_the_window_opens_spans_to_the_end_of_its_wait_and_the_window_nears_the_path() -> None:
    """full-swap.yml issues the RDS moves right after maintenance on (2 s) and waits for them before the
    migrations: the step spans both plays, the stop, storage and Postgres inside it."""
    overlapped = [
        VPC_DAY[0],
        ("rds", 2.0),
        *VPC_DAY[1:4],
        ("rds", 451 - 2 - 3 * 4 - 76 - 67 - 77),
        *VPC_DAY[5:],
    ]
    report = recorded(overlapped)
    path = report["critical_path"]
    assert [link["step"] for link in path["chain"]] == [
        "maintenance_on", "rds", "migrate", "office_check", "eip_vpc", "go_live",
    ]  # fmt: skip
    assert path["steps"]["rds"] == pytest.approx(451)
    assert path["duration_s"] == pytest.approx(40 + 451 + 8 + 1 + 116 + 1)
    # the window: the path, and the pre-flight re-checks outside any step (before the RDS moves, the
    # migrations, the office check, the EIPs' move and go-live: 5 x 3 s)
    assert path["outside_steps_s"] == pytest.approx(15)
    assert report["window"]["duration_s"] == pytest.approx(path["duration_s"] + 15)
    assert path["window_ratio"] < 1.03
    assert path["serial_s"] == pytest.approx(report["window"]["duration_s"] + 76 + 67 + 77)  # what overlapped
