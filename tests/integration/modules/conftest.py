"""Fixtures of the EIP integration tests: the lab's simulated AWS server (tests/integration/conftest.py
starts it on a free port) reseeded with a scenario, and ansible-playbook pointed at it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from lab.awssim.client import LabClient

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


@dataclass
class SimServer:
    """The running simulated AWS, seeded with a scenario, and what talking to it needs."""

    url: str
    control: LabClient
    record: Path  # the swap's plan record (pre-flight writes it; each seeding gets a fresh one)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def ec2(self) -> Any:
        return boto3.client(
            "ec2",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def prepare(self) -> None:
        """Step 1 on the AWS side (the day before): the targets' private IPs, every EIP's target pinned."""
        result = self.playbook("--limit", "localhost", playbook="playbooks/prepare-cluster.yml")
        assert result.returncode == 0, result.stdout[-3000:]

    def playbook(
        self, *args: str, playbook: str = "playbooks/eip-vpc-migration.yml"
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            str(BIN / "ansible-playbook"),
            playbook,
            "-e",
            f"aws_endpoint_url={self.url}",
            "-e",
            f"clusterswap_record={self.record}",
            "-e",
            "go_live_check_enabled=false",  # no hosts behind the EIPs on a bare simulator
            "-e",
            "preflight_check_storage_hosts=false",  # nor the old storage servers' devices
        ]
        return subprocess.run(
            [*cmd, *args], cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=900, check=False
        )


@pytest.fixture
def sim_server(lab_url: str, tmp_path: Path) -> Callable[..., SimServer]:
    """Factory: `sim_server("vpc-day", latency_scale=0.0)` reseeds the server and returns it."""

    def seed(scenario: str = "vpc-day", latency_scale: float = 0.0) -> SimServer:
        control = LabClient(lab_url)
        control.reset()
        control.set_latency(0.0)
        control.seed(scenario)
        control.set_latency(latency_scale)
        return SimServer(lab_url, control, tmp_path / f"plan-{scenario}.json")

    return seed
