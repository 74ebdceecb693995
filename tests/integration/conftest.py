"""Integration fixtures: the lab's simulated AWS as a subprocess on a free port, boto3 over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from lab.awssim.client import LabClient
from lab.parity import sim_server

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def lab_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sim_server(tmp_path_factory.mktemp("awssim")) as url:
        yield url


@pytest.fixture
def lab(lab_url: str) -> LabClient:
    client = LabClient(lab_url)
    client.reset()
    client.set_latency(0.0)
    return client


@pytest.fixture
def seeded(lab: LabClient, lab_url: str) -> Any:
    """seeded(scenario): the simulated AWS seeded with a world, no latency; returns its URL."""

    def seed(scenario: str) -> str:
        lab.seed(scenario)
        lab.set_latency(0.0)
        return lab_url

    return seed


@pytest.fixture
def aws(lab_url: str) -> Any:
    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=lab_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    return make


def playbook_command(
    args: list[str], url: str, tmp_path: Path, *, check: bool = False
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of `ansible-playbook ARGS` from the repo, as a user runs it, against
    the simulated AWS at `url` (the modules' `aws_endpoint_url`, and the lab inventory's endpoint:
    inventories/lab/aws_ec2.yml follows AWS_ENDPOINT_URL), with its timeline written under `tmp_path`."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    env["AWS_ENDPOINT_URL"] = url
    env["CLUSTERSWAP_REPORT_DIR"] = str(tmp_path / "reports")
    cmd = [str(REPO / ".venv" / "bin" / "ansible-playbook"), *args, "-e", f"aws_endpoint_url={url}"]
    # no container hosts behind this simulated AWS: pre-flight must not look for volumes on the lab's hosts
    cmd += ["-e", "preflight_check_storage_hosts=false"]
    if check:
        cmd += ["--check", "--diff"]
    return cmd, env


def ansible_playbook(
    args: list[str], url: str, tmp_path: Path, *, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """`ansible-playbook ARGS` run to its end (playbook_command)."""
    cmd, env = playbook_command(args, url, tmp_path, check=check)
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)


def ansible_playbook_lines(args: list[str], url: str, tmp_path: Path) -> tuple[int, list[tuple[float, str]]]:
    """`ansible-playbook ARGS` (playbook_command), each line of its output with the second it arrived at."""
    cmd, env = playbook_command(args, url, tmp_path)
    started = time.monotonic()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.monotonic() - started, line.rstrip("\n")))
        return proc.wait(timeout=60), lines


def recap(output: str) -> dict[str, int]:
    """The PLAY RECAP counters of localhost: {ok, changed, unreachable, failed, skipped, ...}."""
    match = re.search(r"^localhost\s+:\s+(.*)$", output, flags=re.M)
    assert match, output[-3000:]
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}
