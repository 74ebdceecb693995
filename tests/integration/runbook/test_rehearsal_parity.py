"""playbooks/rehearsal-parity.yml names what production has that the rehearsal would not exercise."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from lab.awssim.client import LabClient
from tests.integration.conftest import sim_server

REPO = Path(__file__).resolve().parents[3]


def plan_vars(url: str, tmp_path: Path, side: str) -> Path:
    """A plan's variables for the account at `url`, literal as a staging or production file is (the lab's
    own file asks its simulator for the plan; here each side's plan is that account's world)."""
    plan = LabClient(url).world()["plan"]
    variables = {
        "clusterswap_aws_environment": {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        "clusterswap_instance_map": plan["instance_map"],
        "clusterswap_maintenance_instances": plan["maintenance_instances"],
        "clusterswap_record": str(tmp_path / f"{side}.json"),
        "clusterswap_parts": {"storage": plan["storage"], "vpc": plan["vpc"]},
    }
    path = tmp_path / f"{side}.yml"
    path.write_text(json.dumps(variables))  # JSON is YAML
    return path


def parity(rehearsal: Path, production: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "CLUSTERSWAP_REPORT_DIR": str(tmp_path)}
    # parity runs on the controller alone: its inventory, not the lab's AWS (not running in these tests)
    args = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "playbooks/rehearsal-parity.yml"]
    args += ["-i", "inventories/lab/controller.yml"]
    args += ["-e", f"rehearsal_parity_rehearsal_vars={rehearsal}"]
    args += ["-e", f"rehearsal_parity_production_vars={production}"]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_vpc_day_production_against_a_plain_rehearsal(lab: Any, lab_url: str, tmp_path: Path) -> None:
    lab.seed("default")
    with sim_server(tmp_path) as production_url:
        LabClient(production_url).seed("vpc-day")
        proc = parity(plan_vars(lab_url, tmp_path, "r"), plan_vars(production_url, tmp_path, "p"), tmp_path)
    assert proc.returncode != 0
    out = proc.stdout
    assert "6 gap(s)" in out, out[-3000:]
    assert "production has 24 EIPs moved by the swap, the rehearsal only 8" in out
    assert "EC2-Classic EIPs that must move to the VPC (MoveAddressToVpc, the VPC EIP limit) (24)" in out
    assert "production has EC2-Classic instances (their EIPs drop when stopped) (48)" in out
    assert "production has the storage update (EBS volumes detached and attached) (1)" in out
    assert "production has the VPC migration (1)" in out
    assert "RDS instances outside any VPC" in out
    assert not list(tmp_path.glob("[rp].json")), "parity is read-only: no plan record written"


def test_a_faithful_rehearsal_has_no_gap(lab: Any, lab_url: str, tmp_path: Path) -> None:
    lab.seed("vpc-day")
    with sim_server(tmp_path) as production_url:
        LabClient(production_url).seed("vpc-day")
        proc = parity(plan_vars(lab_url, tmp_path, "r"), plan_vars(production_url, tmp_path, "p"), tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "No gap: the rehearsal exercises everything production has." in proc.stdout
