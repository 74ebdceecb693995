"""The swap's playbooks under ansible-runner, as AWX and Automation Controller run them: a private data dir
(env/envvars, env/extravars), the checkout as the project, no terminal, no prompt. The RDS move (pre-flight,
then the role; 22 s here, 450 s at AWS's pace) ends successful, and its progress lines are events, in order,
while it waits (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.integration.conftest import REPO

RUNNER = REPO / ".venv" / "bin" / "ansible-runner"


def private_data_dir(tmp_path: Path, url: str, extravars: dict[str, Any]) -> Path:
    """A runner private data dir as AWX writes one: the environment and the extra vars, nothing else."""
    pdd = tmp_path / "runner"
    (pdd / "env").mkdir(parents=True)
    envvars = {
        "AWS_ENDPOINT_URL": url,
        "CLUSTERSWAP_REPORT_DIR": str(tmp_path / "reports"),
        "ANSIBLE_NOCOLOR": "1",
    }
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    return pdd


def events(pdd: Path) -> list[dict[str, Any]]:
    (artifacts,) = (pdd / "artifacts").iterdir()
    found = [json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")]
    return sorted(found, key=lambda e: e["counter"])


def test_rds_move_under_ansible_runner_succeeds_and_streams_its_progress(
    lab: Any, lab_url: str, tmp_path: Path
) -> None:
    lab.seed("vpc-day")
    lab.set_latency(0.05)  # the 450 s move takes 22 s: two heartbeats
    pdd = private_data_dir(
        tmp_path,
        lab_url,
        {
            "aws_endpoint_url": lab_url,
            "clusterswap_record": str(tmp_path / "plan.json"),
            "clusterswap_rds_instances": ["mysql-1"],
            "clusterswap_db_subnet_group": "clusterswap-vpc",
            "rds_move_to_vpc_poll_interval": 1,
            "preflight_check_storage_hosts": False,
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "AWS_"))}
    env["PATH"] = f"{RUNNER.parent}{os.pathsep}{env.get('PATH', '')}"  # the EE's ansible-playbook
    proc = subprocess.run(
        [str(RUNNER), "run", str(pdd), "--project-dir", str(REPO), "-p", "playbooks/rds-move.yml"],
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: a prompt would fail the run, not wait for an answer
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    (artifacts,) = (pdd / "artifacts").iterdir()
    assert (artifacts / "status").read_text() == "successful" and (artifacts / "rc").read_text() == "0"

    got = events(pdd)
    kinds = [e["event"] for e in got]
    assert kinds.count("playbook_on_start") == 1 and kinds.count("playbook_on_stats") == 1, kinds
    move = next(
        i for i, e in enumerate(got) if e["event"] == "playbook_on_task_start" and "V.3 | RDS" in e["stdout"]
    )
    moved = next(i for i, e in enumerate(got) if i > move and e["event"] == "runner_on_ok")
    progress = [
        e["stdout"]
        for e in got[move:moved]
        if e["event"] == "verbose" and "RDS moves into the VPC: " in e["stdout"]
    ]
    assert any("(still waiting for mysql-1)" in line for line in progress), [
        e["stdout"] for e in got[move:moved]
    ]
    assert "1/1 done after" in progress[-1], progress
    stats = next(e["event_data"] for e in got if e["event"] == "playbook_on_stats")
    assert stats["failures"] == {} and stats["changed"].get("localhost", 0) >= 1
