"""Tests of plugins/callback/swap_timeline.py: writing the files, then real ansible-playbook runs.

The pure parts (model, recorder, window, report, Markdown, SVG) are tested beside this file against
plugins/plugin_utils/timeline directly (test_timeline_*.py). The real runs use the repo's ansible.cfg
(which enables the callback) and the playbooks beside this file, with waits of 1-2 s, so phase durations
and the window can be checked against known sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.clusterswap.swap.plugins.callback import swap_timeline as st
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import build_report

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

Texts = Callable[[str], str]


def test_unique_base_never_overwrites(tmp_path: Path) -> None:
    first = st.unique_base(str(tmp_path), "20260101T000000Z", "swap")
    Path(first + ".json").write_text("{}")
    assert st.unique_base(str(tmp_path), "20260101T000000Z", "swap") == first + "-2"


def test_write_report_writes_json_markdown_and_svg_side_by_side(
    tmp_path: Path, recorded_run: Callable[..., Any], svg_texts: Texts
) -> None:
    report = build_report(recorded_run())
    base = str(tmp_path / "new-dir" / "20260101T000000Z-full-swap")
    paths = st.write_report(report, base)
    assert paths == {ext: f"{base}.{ext}" for ext in ("json", "md", "svg")}
    assert sorted(p.name for p in (tmp_path / "new-dir").iterdir()) == [
        "20260101T000000Z-full-swap.json",
        "20260101T000000Z-full-swap.md",
        "20260101T000000Z-full-swap.svg",
    ]  # no temporary file left behind
    written = json.loads(Path(paths["json"]).read_text())
    assert written["report"] == paths and written["window"] == report["window"]
    assert Path(paths["md"]).read_text().endswith("![timeline](20260101T000000Z-full-swap.svg)\n")
    assert "Phase 2 | Go live" in svg_texts(Path(paths["svg"]).read_text())


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


def test_real_run_reads_each_plays_step_for_the_critical_path(within_budget: Any) -> None:
    """A play's ``clusterswap_step`` var names its step of the window; the critical path follows them."""
    _, report, path = within_budget
    assert [p["step"] for p in report["phases"]] == [None, "go_live"]
    path_ = report["critical_path"]
    assert [link["step"] for link in path_["chain"]] == ["go_live"]
    assert 2.0 <= path_["duration_s"] <= report["window"]["duration_s"] < 10
    assert path_["window_ratio"] == pytest.approx(report["window"]["duration_s"] / path_["duration_s"], 1e-2)
    assert f"**Critical path: {path_['summary']}**" in path.with_suffix(".md").read_text()


def test_real_run_svg_parses_and_names_the_phases(within_budget: Any, svg_texts: Texts) -> None:
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


def test_real_run_in_check_mode_is_flagged(run_playbook: Run, svg_texts: Texts) -> None:
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
