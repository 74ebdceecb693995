"""Tests of plugin_utils/timeline/markdown.py: the report in Markdown."""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.markdown import (
    md_cell,
    render_markdown,
)
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import build_report

Recorded = Callable[..., Timeline]


def test_markdown_escapes_pipes_and_flags_check_mode(recorded_run: Recorded) -> None:
    md = render_markdown(build_report(recorded_run(fail_in_phase_two=True), check_mode=True), "x.svg")
    assert "**CHECK MODE" in md
    assert "| 2 | Phase 2 \\| Go live | +30.0s | 1m30s | failed (web-4) |" in md
    assert "**Stopped** (failed) in phase 2 `Phase 2 | Go live`" in md
    assert "![timeline](x.svg)" in md


def test_markdown_lists_markers_and_slowest_tasks(recorded_run: Recorded) -> None:
    md = render_markdown(build_report(recorded_run(), slowest=1))
    assert "| +30.0s | window_open | first EIP leaves | localhost | 1.2 \\| Window \\| Opens |" in md
    assert "| Phase | Task | Duration | Status |\n|---|---|---|---|\n" in md
    assert "| 2. Phase 2 \\| Go live | 2.1 \\| EIP \\| Move web-3 | 1m30s | changed |" in md
    assert "![timeline]" not in md


def test_phases_with_nothing_to_do_are_listed_in_one_line(recorded_run: Recorded) -> None:
    report = build_report(recorded_run(), default_budget=20, slowest=1)
    md = render_markdown(report)
    assert "| 3 | Phase 3 \\| Post-live check" not in md
    assert "Skipped, nothing to do (1): `Phase 3 \\| Post-live check`" in md
    assert [p["name"] for p in report["phases"]][-1] == "Phase 3 | Post-live check", "the JSON keeps it"


def test_the_window_comes_first_and_only_phases_that_changed_get_details(recorded_run: Recorded) -> None:
    report = build_report(recorded_run(), default_budget=20, slowest=2)
    md = render_markdown(report)
    assert md.splitlines()[2].startswith("**Maintenance: window ") and "budget" in md.splitlines()[2]
    acted = [p["name"] for p in report["phases"] if any(t["status"] == "changed" for t in p["tasks"])]
    read_only = [p["name"] for p in report["phases"] if p["status"] != "skipped" and p["name"] not in acted]
    assert acted and read_only, "the recorded run has both kinds"
    slowest = md.split("## Slowest tasks", 1)[1]
    for name in acted:
        assert f". {md_cell(name)} |" in slowest
    for name in read_only:
        assert f". {md_cell(name)} |" not in slowest, f"{name} only read: no detail"
