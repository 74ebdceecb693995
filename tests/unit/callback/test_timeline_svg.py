"""Tests of plugin_utils/timeline/canvas.py and svg.py: the report as a standalone SVG."""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.canvas import tick_label, tick_step
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import build_report
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.svg import render_svg

Recorded = Callable[..., Timeline]
Texts = Callable[[str], str]


def test_tick_step_keeps_ten_ticks_or_fewer() -> None:
    for span in (0.5, 3, 59, 600, 2400, 7200, 90_000):
        step = tick_step(span)
        assert span / step <= 10
    assert tick_label(90) == "1m30s"
    assert tick_label(1200) == "20m"
    assert tick_label(3900) == "1h05m"


def test_svg_is_standalone_xml_with_awkward_names(recorded_run: Recorded, svg_texts: Texts) -> None:
    tl = recorded_run()
    tl.phases[0].name = 'Phase 1 | <Pre-flight> & "quotes"'
    svg = render_svg(build_report(tl))
    texts = svg_texts(svg)
    assert 'Phase 1 | <Pre-flight> & "quotes"' in texts
    assert "maintenance window 1m30s, within 2 min budget" in texts
    assert "href" not in svg and "<image" not in svg and "@import" not in svg


def test_svg_of_failed_check_mode_run(recorded_run: Recorded, svg_texts: Texts) -> None:
    texts = svg_texts(render_svg(build_report(recorded_run(fail_in_phase_two=True), check_mode=True)))
    assert "CHECK MODE" in texts
    assert "not run" in texts
    assert "stopped (failed)" in texts


def test_svg_leaves_out_phases_with_nothing_to_do(recorded_run: Recorded) -> None:
    svg = render_svg(build_report(recorded_run(), default_budget=20, slowest=1))
    assert "Post-live check" not in svg and "Go live" in svg
