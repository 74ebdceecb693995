"""Tests of plugin_utils/timeline/recorder.py and report.py: runs on a fake clock, and their report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import (
    build_report,
    playbook_name,
)

Recorded = Callable[..., Timeline]


def test_playbook_name_is_file_safe() -> None:
    assert playbook_name(["playbooks/full-swap.yml"]) == "full-swap"
    assert playbook_name(["a/x y.yml", "b/z.yaml"]) == "x-y+z"
    assert playbook_name([]) == "playbook"


def test_report_of_a_complete_run(recorded_run: Recorded) -> None:
    report = build_report(recorded_run(), default_budget=20, slowest=1)
    assert report["status"] == "ok" and report["stopped_at"] is None
    assert report["started_at"] == "2023-11-14T22:13:20.000Z"
    assert [(p["name"], p["duration_s"], p["status"]) for p in report["phases"]] == [
        ("Phase 1 | Pre-flight", 30, "ok"),
        ("Phase 2 | Go live", 90, "ok"),
        ("Phase 3 | Post-live check", 5, "skipped"),
    ]
    assert report["phases"][1]["start_offset_s"] == 30
    assert report["phases"][0]["slowest_tasks"] == [
        {"name": "1.1 | Check | Limits", "duration_s": 30, "status": "ok"}
    ]
    assert report["phases"][1]["tasks"][0]["hosts"] == {"web-3": "changed", "web-4": "ok"}
    assert (report["window"]["duration_s"], report["window"]["verdict"]) == (90, "within_budget")


def test_report_of_a_run_that_failed_midway(recorded_run: Recorded) -> None:
    report = build_report(recorded_run(fail_in_phase_two=True))
    assert report["status"] == "failed"
    assert [p["status"] for p in report["phases"]] == ["ok", "failed", "not_run"]
    assert report["phases"][1]["failed_hosts"] == ["web-4"]
    stop = report["stopped_at"]
    assert (stop["phase"], stop["task"], stop["hosts"]) == (
        "Phase 2 | Go live",
        "2.1 | EIP | Move web-3",
        ["web-4"],
    )
    assert stop["message"] == "AddressLimitExceeded"
    assert stop["phases_not_run"] == ["Phase 3 | Post-live check"]
    assert report["window"]["state"] == "open_at_end"
    assert (report["window"]["duration_s"], report["window"]["verdict"]) == (
        90,
        "open_at_end",
    )  # budget 2 min


def test_report_of_an_interrupted_run(clock: Any) -> None:
    tl = Timeline(clock=clock)
    tl.start_playbook("swap.yml", [("p1", "Phase 1"), ("p2", "Phase 2")])
    tl.start_phase("p1", "Phase 1")
    tl.start_task("t1", "1.1 | Long wait")
    clock.advance(12)
    tl.finish(interrupted=True)
    report = build_report(tl)
    assert report["status"] == "interrupted"
    assert report["phases"][0]["status"] == "interrupted"
    assert report["phases"][0]["duration_s"] == 12
    assert report["stopped_at"]["task"] == "1.1 | Long wait"
    assert report["stopped_at"]["phases_not_run"] == ["Phase 2"]


def test_serial_batches_of_one_play_are_one_phase(clock: Any) -> None:
    tl = Timeline(clock=clock)
    tl.start_playbook("rolling.yml", [("p1", "Phase 4 | Stop old ephemerals")])
    for batch in range(3):
        tl.start_phase("p1", "Phase 4 | Stop old ephemerals")
        tl.start_task(f"t{batch}", "4.1 | EC2 | Stop")
        clock.advance(10)
        tl.host_result(f"t{batch}", f"web-{batch}", "changed")
    tl.finish()
    report = build_report(tl)
    assert len(report["phases"]) == 1
    assert report["phases"][0]["duration_s"] == 30


def test_ignored_and_rescued_failures_do_not_fail_the_phase(clock: Any) -> None:
    tl = Timeline(clock=clock)
    tl.start_playbook("x.yml", [("p1", "Phase 1")])
    tl.start_phase("p1", "Phase 1")
    tl.start_task("t1", "ignored")
    tl.host_result("t1", "h", "ignored", "boom")
    tl.start_task("t2", "rescued")
    tl.host_result("t2", "h", "rescued", "boom")
    tl.finish()
    report = build_report(tl)
    assert report["status"] == "ok"
    assert [t["status"] for t in report["phases"][0]["tasks"]] == ["ignored", "rescued"]


def test_a_marker_with_a_bad_budget_is_kept_with_a_warning(clock: Any) -> None:
    tl = Timeline(clock=clock)
    tl.start_playbook("x.yml", [("p1", "Phase 1")])
    tl.start_phase("p1", "Phase 1")
    tl.add_marker({"event": "window_open", "budget_minutes": "soon"}, "h", "2.1 | Window | Opens")
    tl.finish()
    report = build_report(tl, default_budget=7)
    assert report["markers"][0]["budget_minutes"] is None and report["markers"][0]["phase"] == "Phase 1"
    assert report["window"]["budget_source"] == "default"
    assert report["warnings"] == ["marker on task '2.1 | Window | Opens': budget_minutes 'soon' ignored"]
