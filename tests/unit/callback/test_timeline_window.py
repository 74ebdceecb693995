"""Tests of plugin_utils/timeline/window.py: the window between its markers, against the budget."""

from __future__ import annotations

from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.model import Marker
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.window import measure_window


def window_markers(*events: tuple[str, float, Any]) -> list[Marker]:
    return [
        Marker(event=e, label="", at=at, host="h", task="t", phase="p", budget_minutes=b)
        for e, at, b in events
    ]


def test_window_within_budget() -> None:
    w = measure_window(window_markers(("window_open", 10, 20), ("window_close", 610, None)), 700, 40, False)
    assert (w["state"], w["duration_s"], w["budget_minutes"], w["budget_source"]) == (
        "closed",
        600,
        20,
        "marker",
    )
    assert w["verdict"] == "within_budget"
    assert "within the 20 min budget (50% of it)" in w["summary"]


def test_window_over_budget_uses_first_open_and_last_close() -> None:
    markers = window_markers(
        ("window_open", 10, 1),
        ("window_open", 50, 99),
        ("window_close", 60, None),
        ("window_close", 130, None),
    )
    w = measure_window(markers, 200, 20, False)
    assert (w["duration_s"], w["budget_minutes"], w["verdict"]) == (120, 1, "over_budget")
    assert "OVER the 1 min budget" in w["summary"]


def test_window_budget_falls_back_to_close_marker_then_option() -> None:
    w = measure_window(window_markers(("window_open", 0, None), ("window_close", 5, 0.05)), 10, 20, False)
    assert (w["budget_minutes"], w["budget_source"], w["verdict"]) == (0.05, "marker", "over_budget")
    w = measure_window(window_markers(("window_open", 0, None), ("window_close", 5, None)), 10, 33, False)
    assert (w["budget_minutes"], w["budget_source"], w["verdict"]) == (33, "default", "within_budget")


def test_window_not_opened_and_still_open() -> None:
    assert measure_window([], 10, 20, False)["summary"] == "window not opened"
    only_close = measure_window(window_markers(("window_close", 3, None)), 10, 20, False)
    assert only_close["state"] == "closed_without_open"
    still_open = measure_window(window_markers(("window_open", 4, None)), 10, 20, False)
    assert (still_open["state"], still_open["duration_s"]) == ("open_at_end", 6)
    assert still_open["summary"].startswith("window still open at end of run")
    reopened = window_markers(("window_open", 1, None), ("window_close", 2, None), ("window_open", 3, 0.01))
    w = measure_window(reopened, 10, 20, False)
    assert (w["state"], w["duration_s"]) == ("open_at_end", 9)


def test_window_in_check_mode_gives_no_verdict() -> None:
    w = measure_window(window_markers(("window_open", 0, 0.001), ("window_close", 5, None)), 10, 20, True)
    assert w["verdict"] == "not_measured"
    assert w["summary"].startswith("CHECK MODE")


# --------------------------------------------------------------------------- a window that spans runs


def test_a_window_opened_by_an_earlier_run_is_measured_from_that_opening() -> None:
    carried = Marker(
        event="window_open", label="8 EIPs", at=-300, host="", task="", phase="", budget_minutes=20
    )
    w = measure_window(window_markers(("window_close", 60, None)), 100, 40, False, carried=carried)
    assert (w["state"], w["duration_s"], w["opened_before_run_s"]) == ("closed", 360, 300)
    assert w["opened_at_offset_s"] == 0, "drawn from this run's start"
    assert (w["budget_minutes"], w["open_label"]) == (20, "8 EIPs")
    assert w["summary"].startswith("opened by an earlier run 5m00s before this one began; window 6m00s")


def test_the_opening_is_kept_beside_the_record_until_a_close_takes_it(tmp_path) -> None:
    from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.carry import carry_path, read_open
    from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline
    from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import build_report

    record = str(tmp_path / "plan.json")
    clock = {"mono": 0.0, "wall": 1_000_000.0}

    def run() -> Timeline:
        return Timeline(clock=lambda: clock["mono"], wall=lambda: clock["wall"])

    killed = run()
    clock["mono"] += 30
    killed.add_marker(
        {"event": "window_open", "label": "page", "budget_minutes": 20, "record": record}, "h", "t"
    )
    assert read_open(record) == {"opened_at": 1_000_030.0, "label": "page", "budget_minutes": 20}
    # the run dies; the rerun starts 10 minutes later; a check-mode run neither keeps nor takes the opening
    clock["mono"], clock["wall"] = 0.0, 1_000_630.0
    dry = run()
    dry.add_marker({"event": "window_close", "record": record}, "h", "t", check_mode=True)
    assert read_open(record) is not None and dry.carried_open is None
    rerun = run()
    rerun.add_marker({"event": "window_open", "label": "again", "record": record}, "h", "t")
    assert read_open(record)["label"] == "page", "the earlier opening wins"
    clock["mono"] = 120.0
    rerun.add_marker({"event": "window_close", "label": "live", "record": record}, "h", "t")
    assert not (tmp_path / "plan.json.window.json").exists() and carry_path(record).endswith(".window.json")
    rerun.finish()
    window = build_report(rerun, check_mode=False, default_budget=20, slowest=3, run_info={})["window"]
    assert (window["duration_s"], window["opened_before_run_s"]) == (720, 600), window
    assert window["verdict"] == "within_budget"
