"""The controller killed (SIGKILL, the whole process group) inside a phase: the rerun finishes the job, the
safety rules hold after it (playbooks/verify.yml), and the window the rerun reports spans both runs (the
opening is kept beside the plan record)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import REPO, playbook_command
from tests.integration.runbook.phases import MAINTENANCE_EIPS, prepare, recap, run_playbook


def killed_at(playbook: str, url: str, tmp_path: Path, marker: str) -> list[str]:
    """Run `playbook` and SIGKILL its process group as soon as a line with `marker` is printed."""
    args = [
        playbook,
        "-e",
        f"clusterswap_record={tmp_path / 'plan.json'}",
        "-e",
        "go_live_check_enabled=false",
    ]
    cmd, env = playbook_command(args, url, tmp_path)
    lines: list[str] = []
    with subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 600
        for line in proc.stdout:
            lines.append(line)
            if marker in line or time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, "".join(lines[-40:])
    return lines


def last_report(tmp_path: Path) -> dict[str, Any]:
    reports = sorted((tmp_path / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(reports[-1].read_text())


GO_LIVE = "playbooks/go-live.yml"
# the killed phase, and the line at whose printing it is killed (the task's module is then running)
KILLS = {
    "maintenance-moves": (MAINTENANCE_EIPS, "2.2 | Maintenance | Move every EIP from the old cluster"),
    "go-live-associations": (GO_LIVE, "6.1 | Go live | Every EIP to its exact place on the new cluster"),
}


@pytest.mark.parametrize("kill", list(KILLS))
def test_killed_inside_a_phase_a_rerun_finishes_and_the_window_spans_the_runs(
    seeded: Any, tmp_path: Path, kill: str
) -> None:
    url = seeded("default")
    prepare(url, tmp_path)
    playbook, marker = KILLS[kill]
    if playbook == GO_LIVE:
        opened = run_playbook(MAINTENANCE_EIPS, url, tmp_path)  # the window opens: every EIP on the page
        assert recap(opened)["failed"] == 0, opened.stdout[-3000:]
    lines = killed_at(playbook, url, tmp_path, marker)
    assert (tmp_path / "plan.json.window.json").exists(), "the opening is kept beside the record"
    time.sleep(2)
    for rerun in dict.fromkeys([playbook, GO_LIVE]):
        proc = run_playbook(rerun, url, tmp_path)
        assert recap(proc)["failed"] == 0, f"{rerun}: {proc.stdout[-3000:]}"
    window = last_report(tmp_path)["window"]
    assert window["state"] == "closed" and window["opened_before_run_s"] > 2, window
    assert window["duration_s"] > window["opened_before_run_s"], "measured from the first run's opening"
    assert not (tmp_path / "plan.json.window.json").exists(), "the close took the opening"
    verify = run_playbook("verify.yml", url, tmp_path, "-e", "clusterswap_verify_expected=new")
    assert recap(verify)["failed"] == 0, verify.stdout[-3000:]
    assert len(lines) > 0
