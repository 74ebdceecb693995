"""Addresses as AWS has them, phase by phase, on the lab (issue 9): after each phase of the swap every EIP
sits on its own place (a private IP of an interface in a VPC, an instance in EC2-Classic: AWS holds one EIP
per private IP and one per Classic instance), on the host the phase intends, and traffic through each EIP
answers from that host. The simulated AWS is strict (lab/awssim/network.py), so a runbook that put two EIPs
on one private IP would lose one here as on AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.helpers import REPO, ec2, http_get, lab_api, labctl, page_fields

MAINTENANCE_PAGE = "Down for maintenance"


@pytest.fixture(scope="module", autouse=True)
def reseeded_after(lab_session: None) -> Iterator[None]:
    yield
    labctl("seed", "--scenario", "default")  # leave the lab fresh, as the other lab tests expect it


def phase(book: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), f"playbooks/{book}"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{book} failed:\n" + proc.stdout[-4000:]
    return proc


def names_by_id() -> dict[str, str]:
    out = {}
    for res in ec2().describe_instances()["Reservations"]:
        for inst in res["Instances"]:
            out[inst["InstanceId"]] = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}.get("Name", "")
    return out


def placements() -> dict[str, dict[str, Any]]:
    """{public ip: {name, holder (instance Name), place}} as DescribeAddresses shows them now."""
    names = names_by_id()
    out = {}
    for a in ec2().describe_addresses()["Addresses"]:
        eni = a.get("NetworkInterfaceId")
        holder = names.get(a.get("InstanceId", ""), None)
        tags = {t["Key"]: t["Value"] for t in a.get("Tags", [])}
        place = (eni, a.get("PrivateIpAddress")) if eni else holder
        out[a["PublicIp"]] = {"name": tags.get("Name", a["PublicIp"]), "holder": holder, "place": place}
    return out


def assert_each_on_its_own_place(where: dict[str, dict[str, Any]]) -> None:
    places = [w["place"] for w in where.values()]
    assert None not in places, {ip: w for ip, w in where.items() if w["place"] is None}
    assert len(places) == len(set(places)), "two EIPs on one private IP (or one Classic instance)"


def assert_phase(expected: str, plan: dict[str, Any]) -> None:
    """Every EIP on a host of the `expected` side (old | maintenance | new), each on its own place, and
    traffic through it answering from that side (the load balancers' pages name the host: via=<its
    hostname>)."""
    where = placements()
    assert_each_on_its_own_place(where)
    maintenance = set(plan["maintenance_instances"])
    for ip, w in where.items():
        holder = w["holder"]
        if expected == "old":
            assert holder in plan["instance_map"], (ip, w)
        elif expected == "maintenance":
            assert holder in maintenance, (ip, w)
        else:
            assert holder in set(plan["instance_map"].values()), (ip, w)
        body = http_get(ip)
        if expected == "maintenance":
            assert body is not None and MAINTENANCE_PAGE in body, (ip, w, body)
            office = page_fields(http_get(ip, source="127.10.0.5"))
            assert office.get("cluster") == "new", (ip, w, office)
        else:
            fields = page_fields(body)
            assert fields.get("cluster") == expected and fields.get("via") == holder, (ip, w, fields)


PHASES = {
    "default": [
        ("prepare-cluster.yml", "old"),
        ("maintenance-on.yml", "maintenance"),
        ("ephemeral-stop.yml", "maintenance"),
        ("migrate.yml", "maintenance"),
        ("office-check.yml", "maintenance"),
        ("go-live.yml", "new"),
    ],
    "vpc-day": [
        ("prepare-cluster.yml", "old"),
        ("maintenance-on.yml", "maintenance"),
        ("ephemeral-stop.yml", "maintenance"),
        ("storage-move.yml", "maintenance"),
        ("rds-move.yml", "maintenance"),
        ("migrate.yml", "maintenance"),
        ("office-check.yml", "maintenance"),
        ("eip-vpc-migration.yml", "new"),
        ("go-live.yml", "new"),
    ],
}


@pytest.mark.parametrize(
    "scenario",
    ["default", pytest.param("vpc-day", marks=[pytest.mark.long, pytest.mark.timeout(1800)])],  # ~10 min
)
def test_every_phase_leaves_each_eip_on_its_own_place_answering_from_the_intended_host(
    lab: dict[str, Any], scenario: str
) -> None:
    labctl("seed", "--scenario", scenario)
    plan = lab_api("/_lab/world")["plan"]
    assert_phase("old", plan)
    for book, expected in PHASES[scenario]:
        phase(book)
        assert_phase(expected, plan)
