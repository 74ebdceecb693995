"""Rollback from every phase (issue 13): the real playbooks run up to a phase against the simulated
AWS server, then playbooks/rollback.yml, and the account is described: every EIP on the exact place the
seeded world had it (interface and private IP; EC2-Classic: its instance), the old servers running
(started again after the stop) and started before any EIP leaves where it is, the EBS volumes back on
their old servers at their devices (none on no server, none on two), the RDS moves reported as what
rollback cannot undo, playbooks/verify.yml passing with every EIP on its old place, and a second rollback
changing nothing.

No hosts stand behind the EIPs here (host plays are limited out): the storage and Postgres rollback is
proven on the AWS side only; the data proof (checksums, Postgres row counts) needs the container lab.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runbook.phases import (
    MAINTENANCE_EIPS,
    addresses,
    ec2,
    instances_by_name,
    prepare,
    recap,
    run_playbook,
    slots,
    world_slots,
)

NO_CHECK = ["-e", "rollback_check_enabled=false"]
#: maintenance-on.yml's AWS side (configuring the maintenance hosts and the proof through the EIPs need hosts)
NO_HOSTS = ["--limit", "localhost", "-e", "maintenance_mode_verify_enabled=false"]
#: the vpc-day's Classic maintenance fleet alone (its plan lists maint-vpc-1 too): the page in EC2-Classic
CLASSIC_FLEET = [
    "-e",
    json.dumps({"clusterswap_maintenance_instances": [f"maint-{n}" for n in range(1, 25)]}),
]
#: the EIP operations that take an EIP from where it is (the fault that proves nothing left before the start)
#: the storage update's and the Postgres move's AWS side (no hosts: their host steps off)
STORAGE_AWS = "tests/integration/runbook/playbooks/storage-aws.yml"
EIP_CALLS = ["AssociateAddress", "DisassociateAddress", "RestoreAddressToClassic", "MoveAddressToVpc"]


@pytest.fixture
def world(lab: Any, lab_url: str) -> Any:
    def seed(scenario: str) -> tuple[str, dict[str, Any]]:
        seeded = lab.seed(scenario)
        lab.set_latency(0.0)
        return lab_url, {**seeded, "plan": lab.world()["plan"]}

    return seed


def volumes(url: str) -> dict[str, list[tuple[str, str, str]]]:
    """Volume ID -> [(instance, device, attachment state)] (empty: on no server), the volume's state last."""
    out = {}
    for v in ec2(url).describe_volumes()["Volumes"]:
        out[v["VolumeId"]] = [(a["InstanceId"], a["Device"], a["State"]) for a in v.get("Attachments") or []]
    return out


def states(url: str, names: list[str]) -> dict[str, str]:
    insts = instances_by_name(url)
    return {name: insts[name]["State"]["Name"] for name in names}


def no_host_storage(world: dict[str, Any]) -> list[str]:
    """The world's storage and Postgres moves with the host steps off (no hosts behind this simulated AWS)."""
    plan = world["plan"]
    kinds = ("storage_servers", "postgres_servers")
    servers = {key: [{**s, "host_steps": False} for s in plan[key]] for key in kinds}
    return [
        "-e",
        json.dumps(
            {
                "clusterswap_storage_servers": servers["storage_servers"],
                "clusterswap_postgres_servers": servers["postgres_servers"],
            }
        ),
    ]


def run_ok(playbook: str, url: str, tmp_path: Path, *extra: str) -> str:
    proc = run_playbook(playbook, url, tmp_path, *extra)
    assert recap(proc)["failed"] == 0, f"{playbook}:\n{proc.stdout[-5000:]}"
    return proc.stdout


def task_output(out: str, name: str) -> str:
    """The lines a task printed, from its TASK line (a role's tasks: "TASK [role : name]") to the next one."""
    start = out.index(f"{name}")
    end = out.find("\nTASK [", start + 1)
    return out[start : end if end > 0 else None]


def first_eip_call_refused(lab: Any, url: str, tmp_path: Path, *extra: str) -> str:
    """A rollback whose first EIP call is refused: returns its output. Whatever it did before that call is
    what it does before any EIP leaves where it is now."""
    for operation in EIP_CALLS:
        lab.add_fault(operation, 1, "UnauthorizedOperation", "Injected: the rollback's first EIP call")
    proc = run_playbook("rollback.yml", url, tmp_path, *NO_CHECK, *extra)
    lab.clear_faults()
    assert proc.returncode != 0, proc.stdout[-4000:]
    return proc.stdout


def rolled_back(
    url: str,
    tmp_path: Path,
    world: dict[str, Any],
    *extra: str,
    check_first: bool = False,
    again: bool = True,
) -> str:
    """Rollback (after a check-mode run that reports changes and makes none, with `check_first`), then: every
    EIP where the world had it, verify.yml passing on the old place, and (`again`) a second rollback changing
    nothing. Returns the rollback's output."""
    if check_first:
        before = slots(url), volumes(url)
        check = run_playbook("rollback.yml", url, tmp_path, *NO_CHECK, *extra, check=True)
        assert recap(check)["failed"] == 0 and recap(check)["changed"] > 0, check.stdout[-4000:]
        assert (slots(url), volumes(url)) == before, "check mode changed nothing"
    out = run_ok("rollback.yml", url, tmp_path, *NO_CHECK, *extra)
    assert slots(url) == world_slots(url, world), "each EIP on the exact interface and private IP it had"
    verify = run_playbook("verify.yml", url, tmp_path, "-e", "clusterswap_verify_expected=old", *extra)
    assert recap(verify)["failed"] == 0 and "Every safety rule holds." in verify.stdout, verify.stdout[-4000:]
    if again:
        rerun = run_playbook("rollback.yml", url, tmp_path, *NO_CHECK, *extra)
        assert recap(rerun)["failed"] == 0 and recap(rerun)["changed"] == 0, rerun.stdout[-4000:]
    return out


def test_rollback_after_maintenance_on(world: Any, tmp_path: Path) -> None:
    """make test's case: every EIP on the maintenance server; rollback puts each back (the second rollback
    changing nothing: every case of make faults, and test_eip_targets' four runs after go-live)."""
    url, seeded = world("default")
    prepare(url, tmp_path)
    run_ok(MAINTENANCE_EIPS, url, tmp_path)
    assert slots(url) != world_slots(url, seeded)
    rolled_back(url, tmp_path, seeded, again=False)


@pytest.mark.faults
def test_rollback_after_the_stop_starts_the_old_cluster_before_any_eip_moves(
    world: Any, lab: Any, tmp_path: Path
) -> None:
    url, seeded = world("default")
    old = seeded["plan"]["old_ephemerals"]
    prepare(url, tmp_path)
    run_ok(MAINTENANCE_EIPS, url, tmp_path)
    run_ok("ephemeral-stop.yml", url, tmp_path)
    assert set(states(url, old).values()) == {"stopped"}
    on_page = slots(url)
    out = first_eip_call_refused(lab, url, tmp_path)
    assert set(states(url, old).values()) == {"running"}, "started before the first EIP call"
    assert slots(url) == on_page, "the refused call left every EIP on its page: " + out[-3000:]
    rolled_back(url, tmp_path, seeded, check_first=True)
    assert set(states(url, old).values()) == {"running"}


@pytest.mark.faults
def test_rollback_after_go_live_starts_the_old_cluster_before_the_eips_leave_the_new(
    world: Any, lab: Any, tmp_path: Path
) -> None:
    url, seeded = world("default")
    old = seeded["plan"]["old_ephemerals"]
    prepare(url, tmp_path)
    run_ok(MAINTENANCE_EIPS, url, tmp_path)
    run_ok("ephemeral-stop.yml", url, tmp_path)
    run_ok("go-live.yml", url, tmp_path)
    live = slots(url)
    first_eip_call_refused(lab, url, tmp_path)
    assert set(states(url, old).values()) == {"running"}
    assert slots(url) == live, "no EIP left the new cluster before the old one ran"
    out = rolled_back(url, tmp_path, seeded)
    assert out.index("R.2 | Rollback | Start the old cluster") < out.index("R.4 | Rollback | Every EIP back")


@pytest.mark.faults
def test_rollback_after_the_storage_and_postgres_moves_puts_every_volume_back(
    world: Any, tmp_path: Path
) -> None:
    """vpc-to-vpc: the storage update's and the Postgres data volume's moves, then rollback (AWS side)."""
    url, seeded = world("vpc-to-vpc")
    storage = [*no_host_storage(seeded), "--limit", "localhost"]
    before = volumes(url)
    assert all(len(a) == 1 for a in before.values())
    prepare(url, tmp_path)
    run_ok(MAINTENANCE_EIPS, url, tmp_path)
    run_ok("ephemeral-stop.yml", url, tmp_path)
    run_ok(STORAGE_AWS, url, tmp_path, *storage)
    moved, data = volumes(url), set(seeded["volumes"].values())  # the data volumes (not the root volumes)
    assert data and all(moved[v][0][0] != before[v][0][0] for v in data), "every volume on its new server"
    roots = set(before) - data
    assert {v: moved[v] for v in roots} == {v: before[v] for v in roots}, "root volumes stay"
    out = rolled_back(url, tmp_path, seeded, *storage, check_first=True)
    assert "Every EBS volume back on its old server" in out
    assert volumes(url) == before, "each volume on its old server at its device, on one server only"
    assert set(states(url, seeded["plan"]["old_ephemerals"]).values()) == {"running"}


@pytest.mark.faults
def test_rollback_after_the_rds_move_says_what_it_cannot_undo(world: Any, tmp_path: Path) -> None:
    """vpc-day: mysql-1 moved from EC2-Classic into the VPC; rollback puts the EIPs back, leaves the DB where
    it is (there is no way back to EC2-Classic) and says so, with the way forward."""
    url, seeded = world("vpc-day")
    prepare(url, tmp_path, *CLASSIC_FLEET)
    run_ok(MAINTENANCE_EIPS, url, tmp_path, *CLASSIC_FLEET)
    run_ok("ephemeral-stop.yml", url, tmp_path, *CLASSIC_FLEET)
    run_ok("rds-move.yml", url, tmp_path, *CLASSIC_FLEET)
    out = rolled_back(url, tmp_path, seeded, *CLASSIC_FLEET)
    text = " ".join(out.split())
    assert "mysql-1 stays in the VPC" in text, out[-4000:]
    assert "cannot be moved back to EC2-Classic" in text
    assert "way forward" in text
    assert set(states(url, seeded["plan"]["old_ephemerals"]).values()) == {"running"}


@pytest.mark.faults
def test_rollback_after_the_moves_to_the_vpc_restores_every_eip_to_classic(
    world: Any, lab: Any, tmp_path: Path
) -> None:
    """vpc-day with the page in the VPC: every Classic EIP moved to the VPC and onto maint-vpc-1, the old
    cluster stopped (EC2-Classic: its EIPs dropped); rollback starts it, restores every EIP to EC2-Classic
    (RestoreAddressToClassic) and puts each back on its old server."""
    url, seeded = world("vpc-day")
    prepare(url, tmp_path)
    run_ok("maintenance-on.yml", url, tmp_path, *NO_HOSTS)
    run_ok("ephemeral-stop.yml", url, tmp_path)
    assert {a["Domain"] for a in addresses(url).values()} == {"vpc"}
    on_page = slots(url)
    first_eip_call_refused(lab, url, tmp_path)
    assert set(states(url, seeded["plan"]["old_ephemerals"]).values()) == {"running"}
    assert slots(url) == on_page
    rolled_back(url, tmp_path, seeded)
    assert {a["Domain"] for a in addresses(url).values()} == {"standard"}, "restored to EC2-Classic"


@pytest.mark.faults
def test_rollback_with_eips_still_moving_to_the_vpc_waits_for_them_then_restores(
    world: Any, lab: Any, tmp_path: Path
) -> None:
    """vpc-day with the page in the VPC, the window just opened (maintenance-page.yml: every Classic EIP off
    the old cluster) and three moves to the VPC issued and still running: rollback waits for those (a move
    cannot be stopped), restores them to EC2-Classic and puts every EIP back on its old server."""
    url, seeded = world("vpc-day")
    prepare(url, tmp_path)
    # all at once (not a batch at a time): every Classic EIP off the old cluster, none moved yet
    run_ok("maintenance-page.yml", url, tmp_path, *NO_HOSTS, "-e", "clusterswap_vpc_page_batch_size=0")
    assert not any(a.get("InstanceId") for a in addresses(url).values()), "off the old cluster"
    lab.set_latency(0.3)  # a move to the VPC takes tens of seconds
    moving = sorted(addresses(url))[:3]
    lab.set_throttle(False)  # the setup's burst of moves is not what this is about (1 a second at AWS)
    for ip in moving:
        ec2(url).move_address_to_vpc(PublicIp=ip)
    lab.set_throttle(True, reset=True)
    in_flight = ec2(url).describe_moving_addresses()["MovingAddressStatuses"]
    assert {m["PublicIp"] for m in in_flight} == set(moving)
    out = rolled_back(url, tmp_path, seeded)
    waited = task_output(out, "R.2 | Rollback | EIPs still moving to the VPC")
    assert "changed: [localhost]" in waited or "ok: [localhost]" in waited, waited
    assert not ec2(url).describe_moving_addresses()["MovingAddressStatuses"]
    assert {a["Domain"] for a in addresses(url).values()} == {"standard"}, "restored to EC2-Classic"
