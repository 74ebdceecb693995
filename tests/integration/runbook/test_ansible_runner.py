"""The swap's playbooks under ansible-runner, as AWX and Automation Controller run them: a private data dir
(env/envvars, env/extravars), the checkout as the project, no terminal, no prompt. The RDS move (pre-flight,
then the role; 22 s here, 450 s at AWS's pace) ends successful, and its progress lines are events, in order,
while it waits (issue 14). The normal update on the lab's hosts: tests/lab/test_swap_e2e.py (make long)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.runner import events, progress_lines, run


def test_rds_move_under_ansible_runner_succeeds_and_streams_its_progress(
    lab: Any, lab_url: str, tmp_path: Path
) -> None:
    lab.seed("vpc-day")
    lab.set_latency(0.05)  # the 450 s move takes 22 s: two heartbeats
    extravars = {
        "aws_endpoint_url": lab_url,
        "clusterswap_record": str(tmp_path / "plan.json"),
        "clusterswap_rds_instances": ["mysql-1"],
        "clusterswap_db_subnet_group": "clusterswap-vpc",
        "rds_move_to_vpc_poll_interval": 1,
        "preflight_check_storage_hosts": False,
    }
    proc, artifacts = run(tmp_path, "playbooks/rds-move.yml", {"AWS_ENDPOINT_URL": lab_url}, extravars)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert (artifacts / "status").read_text() == "successful" and (artifacts / "rc").read_text() == "0"

    got = events(artifacts)
    kinds = [e["event"] for e in got]
    assert kinds.count("playbook_on_start") == 1 and kinds.count("playbook_on_stats") == 1, kinds
    move = next(
        i for i, e in enumerate(got) if e["event"] == "playbook_on_task_start" and "V.3 | RDS" in e["stdout"]
    )
    moved = next(i for i, e in enumerate(got) if i > move and e["event"] == "runner_on_ok")
    progress = progress_lines(got[move:moved], "RDS moves into the VPC: ")
    assert any("(still waiting for mysql-1)" in line for line in progress), [
        e["stdout"] for e in got[move:moved]
    ]
    assert "1/1 done after" in progress[-1], progress
    stats = next(e["event_data"] for e in got if e["event"] == "playbook_on_stats")
    assert stats["failures"] == {} and stats["changed"].get("localhost", 0) >= 1
