"""Running the runbook's phases against the simulated AWS server: ansible-playbook as a user runs it, the
four-way check, and describing the account afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import boto3

from tests.integration.conftest import ansible_playbook
from tests.integration.conftest import recap as localhost_recap

MAINTENANCE_EIPS = "tests/integration/runbook/playbooks/maintenance-eips.yml"


def run_playbook(
    playbook: str, url: str, tmp_path: Path, *extra: str, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """A phase playbook on the lab inventory against the simulated AWS at `url` (no hosts behind the EIPs)."""
    path = playbook if "/" in playbook else f"playbooks/{playbook}"
    args = [path, "-e", f"clusterswap_record={tmp_path / 'plan.json'}"]
    args += ["-e", "go_live_check_enabled=false", *extra]
    return ansible_playbook(args, url, tmp_path, check=check)


def recap(proc: subprocess.CompletedProcess[str]) -> dict[str, int]:
    return localhost_recap(proc.stdout + proc.stderr[-3000:])


def four_runs(playbook: str, url: str, tmp_path: Path, *extra: str) -> None:
    """check changed -> real changed -> check unchanged -> real unchanged, none failing."""
    expected = [(True, True), (False, True), (True, False), (False, False)]
    for check, want_change in expected:
        proc = run_playbook(playbook, url, tmp_path, *extra, check=check)
        got = recap(proc)
        where = f"{playbook} check={check}:\n{proc.stdout[-4000:]}"
        assert got["failed"] == 0, where
        assert (got["changed"] > 0) == want_change, where


def ec2(url: str) -> Any:
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def instances_by_name(url: str) -> dict[str, dict[str, Any]]:
    found = {}
    for res in ec2(url).describe_instances()["Reservations"]:
        for inst in res["Instances"]:
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            found[tags.get("Name", inst["InstanceId"])] = inst
    return found


def addresses(url: str) -> dict[str, dict[str, Any]]:
    return {a["PublicIp"]: a for a in ec2(url).describe_addresses()["Addresses"]}


def prepare(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Step 1 on the AWS side only (the simulated AWS has no hosts: the host plays are limited out)."""
    proc = run_playbook("prepare-cluster.yml", url, tmp_path, "--limit", "localhost", *extra)
    assert recap(proc)["failed"] == 0, proc.stdout[-4000:]
    return proc


def slots(url: str) -> dict[str, tuple[str | None, str | None]]:
    """Public IP -> (interface, private IP) it is on now; EC2-Classic: (None, its instance)."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for ip, a in addresses(url).items():
        if a.get("NetworkInterfaceId"):
            out[ip] = (a["NetworkInterfaceId"], a.get("PrivateIpAddress"))
        else:
            out[ip] = (None, a.get("InstanceId"))
    return out


def target_slot(
    entry: dict[str, Any], role: str, instance_ids: dict[str, str]
) -> tuple[str | None, str | None]:
    """The (interface, private IP) of a record entry's target; EC2-Classic: (None, the instance's id)."""
    target = entry[role]
    if target.get("network_interface_id"):
        return target["network_interface_id"], target["private_ip_address"]
    return None, instance_ids[target["instance"]]


def ids(url: str) -> dict[str, str]:
    """Name tag -> instance ID of every instance."""
    return {name: inst["InstanceId"] for name, inst in instances_by_name(url).items()}


def world_slots(url: str, world: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    """Where the seeded world put each EIP: IP -> (interface, private IP); EC2-Classic: (None, instance)."""
    instance_ids = ids(url)
    out = {}
    for name, slot in world["slots"].items():
        ip = world["eips"][name]
        if slot["network_interface_id"]:
            out[ip] = (slot["network_interface_id"], slot["private_ip"])
        else:
            out[ip] = (None, instance_ids[slot["instance"]])
    return out
