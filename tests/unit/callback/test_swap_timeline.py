"""Tests of plugins/callback/swap_timeline.py: pure parts on a fake clock, then real ansible-playbook runs.

The real runs use the repo's ansible.cfg (which enables the callback) and the playbooks beside this file,
with waits of 1-2 s, so phase durations and the window can be checked against known sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
SVG_NS = "{http://www.w3.org/2000/svg}"


from ansible_collections.clusterswap.swap.plugins.callback import swap_timeline as st  # noqa: E402

# ---------------------------------------------------------------------------------------------------------
# A fake clock and a recorded run


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def marker(event: str, budget: Any = None, label: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {"event": event, "label": label}
    if budget is not None:
        data["budget_minutes"] = budget
    return data


def recorded_run(fail_in_phase_two: bool = False) -> tuple[Any, FakeClock]:
    """Phase 1: 30 s; window opens; phase 2: 90 s with one failure if asked; phase 3 runs unless it failed."""
    clock = FakeClock()
    tl = st.Timeline(clock=clock, wall=lambda: 1_700_000_000.0)
    tl.start_playbook("playbooks/full-swap.yml", [("p1", "Phase 1 | Pre-flight"), ("p2", "Phase 2 | Go live"),
                                                  ("p3", "Phase 3 | Post-live check")])  # fmt: skip
    tl.start_phase("p1", "Phase 1 | Pre-flight")
    tl.start_task("t1", "1.1 | Check | Limits")
    clock.advance(30)
    tl.host_result("t1", "localhost", "ok")
    tl.start_task("t2", "1.2 | Window | Opens")
    tl.host_result("t2", "localhost", "ok")
    tl.add_marker(
        marker("window_open", budget=2, label="first EIP leaves"), "localhost", "1.2 | Window | Opens"
    )
    tl.start_phase("p2", "Phase 2 | Go live")
    tl.start_task("t3", "2.1 | EIP | Move web-3")
    clock.advance(90)
    tl.host_result("t3", "web-3", "changed")
    tl.host_result("t3", "web-4", "failed" if fail_in_phase_two else "ok", "AddressLimitExceeded")
    if not fail_in_phase_two:
        tl.start_task("t4", "2.2 | Window | Closes")
        tl.host_result("t4", "localhost", "ok")
        tl.add_marker(marker("window_close"), "localhost", "2.2 | Window | Closes")
        tl.start_phase("p3", "Phase 3 | Post-live check")
        tl.start_task("t5", "3.1 | Check | Sites")
        clock.advance(5)
        tl.host_result("t5", "localhost", "skipped")
    tl.finish()
    return tl, clock


# ---------------------------------------------------------------------------------------------------------
# Pure helpers


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(None, "-"), (0.0123, "0.01s"), (9.994, "9.99s"), (12.34, "12.3s"), (65, "1m05s"), (3723, "1h02m03s")],
)
def test_fmt_duration(seconds: float | None, expected: str) -> None:
    assert st.fmt_duration(seconds) == expected


def test_tick_step_keeps_ten_ticks_or_fewer() -> None:
    for span in (0.5, 3, 59, 600, 2400, 7200, 90_000):
        step = st.tick_step(span)
        assert span / step <= 10
    assert st.tick_label(90) == "1m30s"
    assert st.tick_label(1200) == "20m"
    assert st.tick_label(3900) == "1h05m"


def test_playbook_name_is_file_safe() -> None:
    assert st.playbook_name(["playbooks/full-swap.yml"]) == "full-swap"
    assert st.playbook_name(["a/x y.yml", "b/z.yaml"]) == "x-y+z"
    assert st.playbook_name([]) == "playbook"


@pytest.mark.parametrize(
    ("raw", "expected"), [(20, 20.0), ("0.5", 0.5), ("x", None), (True, None), (-1, None)]
)
def test_parse_budget(raw: Any, expected: float | None) -> None:
    assert st.parse_budget(raw) == expected


def test_find_markers_top_level_and_loop_items() -> None:
    top = {"ansible_facts": {"clusterswap_marker": marker("window_open")}}
    loop = {"results": [{"ansible_facts": {"clusterswap_marker": marker("eip_moved")}}, {"changed": False}]}
    assert [m["event"] for m in st.find_markers(top)] == ["window_open"]
    assert [m["event"] for m in st.find_markers(loop)] == ["eip_moved"]
    assert st.find_markers({"ansible_facts": {"clusterswap_marker": {"label": "no event"}}}) == []


def window_markers(*events: tuple[str, float, Any]) -> list[Any]:
    return [
        st.Marker(event=e, label="", at=at, host="h", task="t", phase="p", budget_minutes=b)
        for e, at, b in events
    ]


def test_window_within_budget() -> None:
    w = st.measure_window(
        window_markers(("window_open", 10, 20), ("window_close", 610, None)), 700, 40, False
    )
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
    w = st.measure_window(markers, 200, 20, False)
    assert (w["duration_s"], w["budget_minutes"], w["verdict"]) == (120, 1, "over_budget")
    assert "OVER the 1 min budget" in w["summary"]


def test_window_budget_falls_back_to_close_marker_then_option() -> None:
    w = st.measure_window(window_markers(("window_open", 0, None), ("window_close", 5, 0.05)), 10, 20, False)
    assert (w["budget_minutes"], w["budget_source"], w["verdict"]) == (0.05, "marker", "over_budget")
    w = st.measure_window(window_markers(("window_open", 0, None), ("window_close", 5, None)), 10, 33, False)
    assert (w["budget_minutes"], w["budget_source"], w["verdict"]) == (33, "default", "within_budget")


def test_window_not_opened_and_still_open() -> None:
    assert st.measure_window([], 10, 20, False)["summary"] == "window not opened"
    only_close = st.measure_window(window_markers(("window_close", 3, None)), 10, 20, False)
    assert only_close["state"] == "closed_without_open"
    still_open = st.measure_window(window_markers(("window_open", 4, None)), 10, 20, False)
    assert (still_open["state"], still_open["duration_s"]) == ("open_at_end", 6)
    assert still_open["summary"].startswith("window still open at end of run")
    reopened = window_markers(("window_open", 1, None), ("window_close", 2, None), ("window_open", 3, 0.01))
    w = st.measure_window(reopened, 10, 20, False)
    assert (w["state"], w["duration_s"]) == ("open_at_end", 9)


def test_window_in_check_mode_gives_no_verdict() -> None:
    w = st.measure_window(window_markers(("window_open", 0, 0.001), ("window_close", 5, None)), 10, 20, True)
    assert w["verdict"] == "not_measured"
    assert w["summary"].startswith("CHECK MODE")


# ---------------------------------------------------------------------------------------------------------
# The recorder and the report, on a fake clock


def test_report_of_a_complete_run() -> None:
    tl, _ = recorded_run()
    report = st.build_report(tl, default_budget=20, slowest=1)
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


def test_report_of_a_run_that_failed_midway() -> None:
    tl, _ = recorded_run(fail_in_phase_two=True)
    report = st.build_report(tl)
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


def test_report_of_an_interrupted_run() -> None:
    clock = FakeClock()
    tl = st.Timeline(clock=clock)
    tl.start_playbook("swap.yml", [("p1", "Phase 1"), ("p2", "Phase 2")])
    tl.start_phase("p1", "Phase 1")
    tl.start_task("t1", "1.1 | Long wait")
    clock.advance(12)
    tl.finish(interrupted=True)
    report = st.build_report(tl)
    assert report["status"] == "interrupted"
    assert report["phases"][0]["status"] == "interrupted"
    assert report["phases"][0]["duration_s"] == 12
    assert report["stopped_at"]["task"] == "1.1 | Long wait"
    assert report["stopped_at"]["phases_not_run"] == ["Phase 2"]


def test_serial_batches_of_one_play_are_one_phase() -> None:
    clock = FakeClock()
    tl = st.Timeline(clock=clock)
    tl.start_playbook("rolling.yml", [("p1", "Phase 4 | Stop old ephemerals")])
    for batch in range(3):
        tl.start_phase("p1", "Phase 4 | Stop old ephemerals")
        tl.start_task(f"t{batch}", "4.1 | EC2 | Stop")
        clock.advance(10)
        tl.host_result(f"t{batch}", f"web-{batch}", "changed")
    tl.finish()
    report = st.build_report(tl)
    assert len(report["phases"]) == 1
    assert report["phases"][0]["duration_s"] == 30


def test_ignored_and_rescued_failures_do_not_fail_the_phase() -> None:
    tl = st.Timeline(clock=FakeClock())
    tl.start_playbook("x.yml", [("p1", "Phase 1")])
    tl.start_phase("p1", "Phase 1")
    tl.start_task("t1", "ignored")
    tl.host_result("t1", "h", "ignored", "boom")
    tl.start_task("t2", "rescued")
    tl.host_result("t2", "h", "rescued", "boom")
    tl.finish()
    report = st.build_report(tl)
    assert report["status"] == "ok"
    assert [t["status"] for t in report["phases"][0]["tasks"]] == ["ignored", "rescued"]


def test_markdown_escapes_pipes_and_flags_check_mode() -> None:
    tl, _ = recorded_run(fail_in_phase_two=True)
    md = st.render_markdown(st.build_report(tl, check_mode=True), "x.svg")
    assert "**CHECK MODE" in md
    assert "| 2 | Phase 2 \\| Go live | +30.0s | 1m30s | failed (web-4) |" in md
    assert "**Stopped** (failed) in phase 2 `Phase 2 | Go live`" in md
    assert "![timeline](x.svg)" in md


def svg_texts(svg: str) -> str:
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG_NS}svg"
    return " ".join(t for t in root.itertext())


def test_svg_is_standalone_xml_with_awkward_names() -> None:
    tl, _ = recorded_run()
    tl.phases[0].name = 'Phase 1 | <Pre-flight> & "quotes"'
    svg = st.render_svg(st.build_report(tl))
    texts = svg_texts(svg)
    assert 'Phase 1 | <Pre-flight> & "quotes"' in texts
    assert "maintenance window 1m30s, within 2 min budget" in texts
    assert "href" not in svg and "<image" not in svg and "@import" not in svg


def test_svg_of_failed_check_mode_run() -> None:
    tl, _ = recorded_run(fail_in_phase_two=True)
    texts = svg_texts(st.render_svg(st.build_report(tl, check_mode=True)))
    assert "CHECK MODE" in texts
    assert "not run" in texts
    assert "stopped (failed)" in texts


def test_unique_base_never_overwrites(tmp_path: Path) -> None:
    first = st.unique_base(str(tmp_path), "20260101T000000Z", "swap")
    Path(first + ".json").write_text("{}")
    assert st.unique_base(str(tmp_path), "20260101T000000Z", "swap") == first + "-2"


# ---------------------------------------------------------------------------------------------------------
# Real runs of ansible-playbook with the repo's ansible.cfg


def run_env(report_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        CLUSTERSWAP_REPORT_DIR=str(report_dir),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCAL_TEMP=str(report_dir / ".ansible-tmp"),
        PATH=f"{ANSIBLE_PLAYBOOK.parent}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("CLUSTERSWAP_WINDOW_BUDGET_MINUTES", None)
    return env


def playbook_cmd(playbook: str, *args: str) -> list[str]:
    return [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(PLAYBOOKS / playbook), *args]


def one_report(report_dir: Path) -> tuple[dict[str, Any], Path]:
    reports = sorted(report_dir.glob("*.json"))
    assert len(reports) == 1, reports
    return json.loads(reports[0].read_text()), reports[0]


Run = Callable[..., tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]]


@pytest.fixture(scope="module")
def run_playbook(tmp_path_factory: pytest.TempPathFactory) -> Run:
    def run(
        playbook: str, *args: str, expect_rc: int = 0
    ) -> tuple[subprocess.CompletedProcess[str], dict, Path]:
        report_dir = tmp_path_factory.mktemp("reports")
        proc = subprocess.run(
            playbook_cmd(playbook, *args), env=run_env(report_dir), cwd=REPO, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == expect_rc, proc.stdout + proc.stderr
        report, path = one_report(report_dir)
        return proc, report, path

    return run


@pytest.fixture(scope="module")
def within_budget(run_playbook: Run) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    return run_playbook("two_phases.yml")


def test_real_run_writes_three_files_and_prints_the_path(within_budget: Any) -> None:
    proc, report, path = within_budget
    base = path.with_suffix("")
    assert base.name.endswith("-two_phases")
    assert time.strptime(base.name.split("-")[0], "%Y%m%dT%H%M%SZ")
    for ext in ("md", "svg"):
        assert base.with_suffix(f".{ext}").is_file()
    last_line = proc.stdout.strip().splitlines()[-1]
    assert last_line == f"timeline: {base}.md"
    assert report["report"]["md"] == f"{base}.md"


def test_real_run_phase_durations_cover_the_waits(within_budget: Any) -> None:
    _, report, _ = within_budget
    assert report["status"] == "ok" and report["check_mode"] is False
    phases = {p["name"]: p for p in report["phases"]}
    assert list(phases) == ["Phase 1 | Prepare", "Phase 2 | Go live"]
    assert 1.0 <= phases["Phase 1 | Prepare"]["duration_s"] < 10
    assert 2.0 <= phases["Phase 2 | Go live"]["duration_s"] < 10
    assert phases["Phase 2 | Go live"]["start_offset_s"] >= phases["Phase 1 | Prepare"]["end_offset_s"]
    slowest = phases["Phase 2 | Go live"]["slowest_tasks"][0]
    assert slowest["name"] == "2.1 | Wait | Two seconds" and 2.0 <= slowest["duration_s"] < 10
    assert 3.0 <= report["duration_s"] < 30


def test_real_run_measures_the_window_between_markers(within_budget: Any) -> None:
    _, report, path = within_budget
    window = report["window"]
    assert window["state"] == "closed"
    assert 2.0 <= window["duration_s"] < 10  # the 2 s wait of phase 2 sits between the markers
    assert window["closed_at_offset_s"] - window["opened_at_offset_s"] == pytest.approx(
        window["duration_s"], 1e-3
    )
    assert (window["budget_minutes"], window["verdict"]) == (20, "within_budget")
    assert [m["event"] for m in report["markers"]] == ["window_open", "window_close"]
    md = path.with_suffix(".md").read_text()
    assert "within the 20 min budget" in md


def test_real_run_svg_parses_and_names_the_phases(within_budget: Any) -> None:
    _, _, path = within_budget
    texts = svg_texts(path.with_suffix(".svg").read_text())
    assert "Phase 1 | Prepare" in texts and "Phase 2 | Go live" in texts
    assert "maintenance window" in texts


def test_real_run_over_budget(run_playbook: Run) -> None:
    _, report, path = run_playbook("two_phases.yml", "-e", "timeline_budget_minutes=0.001")
    assert report["window"]["budget_minutes"] == 0.001
    assert report["window"]["verdict"] == "over_budget"
    assert "OVER the 0.001 min" in path.with_suffix(".md").read_text()


def test_real_run_failing_midway_still_reports_where_it_stopped(run_playbook: Run) -> None:
    proc, report, path = run_playbook("fails_midway.yml", expect_rc=2)
    assert report["status"] == "failed"
    assert [(p["name"], p["status"]) for p in report["phases"]] == [
        ("Phase 1 | Maintenance on", "ok"),
        ("Phase 2 | Migrate", "failed"),
        ("Phase 3 | Go live", "not_run"),
    ]
    tasks = {t["name"]: t["status"] for t in report["phases"][1]["tasks"]}
    assert tasks["2.1 | Migrate | Ignored failure"] == "ignored"
    assert tasks["2.2.1 | Migrate | Fails inside a block"] == "rescued"
    assert tasks["2.3 | Migrate | Breaks"] == "failed"
    assert "2.4 | Migrate | Never reached" not in tasks
    stop = report["stopped_at"]
    assert (stop["phase"], stop["task"], stop["message"]) == (
        "Phase 2 | Migrate",
        "2.3 | Migrate | Breaks",
        "migration 0042 failed",
    )
    assert stop["phases_not_run"] == ["Phase 3 | Go live"]
    assert report["window"]["state"] == "open_at_end"
    assert report["window"]["duration_s"] >= 1.0
    assert "window still open at end of run" in path.with_suffix(".md").read_text()
    assert proc.stdout.strip().splitlines()[-1].startswith("timeline: ")


def test_real_run_in_check_mode_is_flagged(run_playbook: Run) -> None:
    _, report, path = run_playbook("two_phases.yml", "--check", "-e", "timeline_budget_minutes=0.001")
    assert report["check_mode"] is True
    assert report["run"]["check"] is True
    assert report["window"]["verdict"] == "not_measured"  # never a budget verdict from a dry run
    assert "CHECK MODE" in path.with_suffix(".md").read_text()
    assert "CHECK MODE" in svg_texts(path.with_suffix(".svg").read_text())


def test_real_run_interrupted_is_written_at_exit(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        playbook_cmd("two_phases.yml"), env=run_env(tmp_path), cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "2.1 | Wait | Two seconds" in line:
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            break
    output = proc.stdout.read()
    assert proc.wait(timeout=60) != 0
    report, _ = one_report(tmp_path)
    assert report["status"] == "interrupted", output
    assert report["stopped_at"]["phase"] == "Phase 2 | Go live"
    assert report["phases"][1]["status"] == "interrupted"
    assert report["window"]["state"] == "open_at_end"
    assert "timeline: " in output


def test_phases_with_nothing_to_do_are_listed_in_one_line() -> None:
    tl, _ = recorded_run()
    report = st.build_report(tl, default_budget=20, slowest=1)
    md = st.render_markdown(report)
    assert "| 3 | Phase 3 \\| Post-live check" not in md
    assert "Skipped, nothing to do (1): `Phase 3 \\| Post-live check`" in md
    svg = st.render_svg(report)
    assert "Post-live check" not in svg and "Go live" in svg
    assert [p["name"] for p in report["phases"]][-1] == "Phase 3 | Post-live check", "the JSON keeps it"
