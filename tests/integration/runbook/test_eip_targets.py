"""The runbook's EIP steps as AWS allows them (one EIP per private IP, one per EC2-Classic instance), run with
ansible-playbook against the simulated AWS server: prepare gives the targets their private IPs and pins them,
each phase puts every EIP on its exact target, rollback puts each back exactly where the world had it, and
pre-flight stops a plan AWS could not hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runbook.phases import (
    MAINTENANCE_EIPS,
    addresses,
    ec2,
    four_runs,
    ids,
    instances_by_name,
    prepare,
    recap,
    run_playbook,
    slots,
    target_slot,
    world_slots,
)


@pytest.fixture
def seeded(lab: Any, lab_url: str) -> Any:
    def seed(scenario: str) -> tuple[str, dict[str, Any]]:
        world = lab.seed(scenario)
        lab.set_latency(0.0)
        return lab_url, world

    return seed


def record(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "plan.json").read_text())


def on_targets(url: str, tmp_path: Path, role: str) -> dict[str, bool]:
    now, instance_ids = slots(url), ids(url)
    return {
        e["name"]: now[e["public_ip"]] == target_slot(e, role, instance_ids) for e in record(tmp_path)["eips"]
    }


def test_prepare_four_runs_gives_the_private_ips_and_pins_every_target(seeded: Any, tmp_path: Path) -> None:
    url, _world = seeded("default")
    four_runs("prepare-cluster.yml", url, tmp_path, "--limit", "localhost")
    plan = record(tmp_path)
    assert plan["version"] == 2
    for entry in plan["eips"]:
        for role in ("old", "maintenance", "new"):
            assert entry[role].get("private_ip_address"), (entry["name"], role)
    # every maintenance and new target is a distinct private IP its interface has
    enis = {e["NetworkInterfaceId"]: e for e in ec2(url).describe_network_interfaces()["NetworkInterfaces"]}
    for role in ("maintenance", "new"):
        targets = [(e[role]["network_interface_id"], e[role]["private_ip_address"]) for e in plan["eips"]]
        assert len(set(targets)) == 8, role
        for eni, private_ip in targets:
            assert private_ip in {p["PrivateIpAddress"] for p in enis[eni]["PrivateIpAddresses"]}
    maint = instances_by_name(url)["maint-1"]["NetworkInterfaces"][0]
    assert len(maint["PrivateIpAddresses"]) == 8, "the primary and the 7 prepare assigned"


def test_maintenance_step_four_runs_puts_every_eip_on_its_exact_target(seeded: Any, tmp_path: Path) -> None:
    url, _world = seeded("default")
    prepare(url, tmp_path)
    four_runs(MAINTENANCE_EIPS, url, tmp_path)
    assert all(on_targets(url, tmp_path, "maintenance").values()), on_targets(url, tmp_path, "maintenance")
    maint = ids(url)["maint-1"]
    assert {a["InstanceId"] for a in addresses(url).values()} == {maint}
    assert len({(a["NetworkInterfaceId"], a["PrivateIpAddress"]) for a in addresses(url).values()}) == 8


def test_maintenance_step_before_prepare_refuses_and_changes_nothing(seeded: Any, tmp_path: Path) -> None:
    url, _world = seeded("default")
    before = addresses(url)
    check = run_playbook(MAINTENANCE_EIPS, url, tmp_path, check=True)
    assert recap(check)["failed"] == 0 and "would move to the maintenance server after" in check.stdout
    proc = run_playbook(MAINTENANCE_EIPS, url, tmp_path)
    assert proc.returncode != 0
    assert "8 EIP(s) have no private IP on the maintenance server yet" in proc.stdout
    assert "run playbooks/prepare-cluster.yml first: it assigns the" in proc.stdout
    assert addresses(url) == before


def test_rollback_four_runs_puts_each_eip_back_where_it_was(seeded: Any, tmp_path: Path) -> None:
    url, world = seeded("default")
    seeded_at = world_slots(url, world)
    assert slots(url) == seeded_at
    prepare(url, tmp_path)
    assert recap(run_playbook(MAINTENANCE_EIPS, url, tmp_path))["failed"] == 0
    assert recap(run_playbook("go-live.yml", url, tmp_path))["failed"] == 0
    assert all(on_targets(url, tmp_path, "new").values())
    four_runs("rollback.yml", url, tmp_path, "-e", "rollback_check_enabled=false")
    assert slots(url) == seeded_at, "each EIP on the exact interface and private IP it had"


def test_a_maintenance_server_too_small_stops_preflight(seeded: Any, tmp_path: Path) -> None:
    url, _world = seeded("small-maintenance")
    before = addresses(url)
    proc = run_playbook("full-swap.yml", url, tmp_path)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "Pre-flight found 1 problem(s)" in out, proc.stdout[-3000:]
    assert (
        "maint-1 (t3.micro, 1 of at most 2 interfaces attached, 2 IPv4 addresses per interface) must hold "
        "8 EIPs but can hold at most 2 on its attached interfaces: attach another interface (at most 4 "
        "addresses with 2, still not enough), use a larger instance type (m5.large holds 3 × 10), or add "
        "maintenance instances"
    ) in out
    assert "PLAY [Phase 1" not in proc.stdout
    assert addresses(url) == before and not (tmp_path / "plan.json").exists()


def test_an_empty_inventory_group_stops_preflight(seeded: Any, tmp_path: Path) -> None:
    url, _world = seeded("default")
    proc = run_playbook(
        "preflight.yml", url, tmp_path, "-e", '{"clusterswap_required_groups": ["maintenance", "no_such"]}'
    )
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "inventory group 'no_such' is empty: the plays on it would be skipped ('no hosts matched')" in out
    assert "Did an inventory source fail to parse?" in out
    assert "inventory group 'maintenance'" not in out


#: the vpc-day's Classic maintenance fleet alone (its plan lists maint-vpc-1 too): the page in EC2-Classic
CLASSIC_FLEET = [
    "-e",
    json.dumps({"clusterswap_maintenance_instances": [f"maint-{n}" for n in range(1, 25)]}),
]


def test_vpc_day_every_eip_on_its_exact_target_at_each_step(seeded: Any, tmp_path: Path) -> None:
    """24 Classic EIPs: one per Classic maintenance server, then moved to the VPC and onto new-lb-1 (12 on one
    interface) and new-lb-2 (10 + 2 on its two interfaces)."""
    url, world = seeded("vpc-day")
    prepare(url, tmp_path, *CLASSIC_FLEET)
    four_runs(MAINTENANCE_EIPS, url, tmp_path, *CLASSIC_FLEET)
    assert all(on_targets(url, tmp_path, "maintenance").values())
    maint = {ids(url)[name] for name in world["plan"]["maintenance_instances"] if "vpc" not in name}
    assert sorted(a["InstanceId"] for a in addresses(url).values()) == sorted(maint), "one per Classic server"

    proc = run_playbook("eip-vpc-migration.yml", url, tmp_path, *CLASSIC_FLEET)
    assert recap(proc)["failed"] == 0, proc.stdout[-4000:]
    assert {a["Domain"] for a in addresses(url).values()} == {"vpc"}
    assert all(on_targets(url, tmp_path, "new").values()), on_targets(url, tmp_path, "new")
    new_lb_2 = instances_by_name(url)["new-lb-2"]["NetworkInterfaces"]
    by_device = {e["NetworkInterfaceId"]: e["Attachment"]["DeviceIndex"] for e in new_lb_2}
    devices = sorted(
        by_device[a["NetworkInterfaceId"]]
        for a in addresses(url).values()
        if a["NetworkInterfaceId"] in by_device
    )
    assert devices == [0] * 10 + [1] * 2
    again = run_playbook("eip-vpc-migration.yml", url, tmp_path, *CLASSIC_FLEET)
    assert recap(again)["failed"] == 0 and recap(again)["changed"] == 0, again.stdout[-3000:]


def test_vpc_day_page_in_the_vpc_then_live_then_rolled_back(seeded: Any, tmp_path: Path) -> None:
    """maint-vpc-1 in the fleet: maintenance on takes the Classic EIPs off the old cluster, to the VPC and
    onto their own private IP of maint-vpc-1 a batch of 12 at a time, the last batch only off
    (maintenance-page.yml), then moves that one (maintenance-vpc-page.yml), each half four ways; go-live
    moves them onto the new cluster without moving them again; rollback restores every one to EC2-Classic and
    puts it back on its old server."""
    url, world = seeded("vpc-day")
    prepare(url, tmp_path)
    no_hosts = ["--limit", "localhost", "-e", "maintenance_mode_verify_enabled=false"]
    batches = ["-e", "clusterswap_vpc_page_batch_size=12"]
    four_runs("maintenance-page.yml", url, tmp_path, *no_hosts, *batches)
    # a batch at a time (clusterswap_vpc_page_batch_size, 12): the first off, moved and on its page; the last
    # (the other 12) off the old cluster, moved in the second half
    page = ids(url)["maint-vpc-1"]
    where = sorted((a["Domain"], a.get("InstanceId")) for a in addresses(url).values())
    assert where == [("standard", None)] * 12 + [("vpc", page)] * 12, where
    four_runs("maintenance-vpc-page.yml", url, tmp_path, *no_hosts)
    assert all(on_targets(url, tmp_path, "maintenance").values()), on_targets(url, tmp_path, "maintenance")
    assert {a["InstanceId"] for a in addresses(url).values()} == {page}
    assert len({a["PrivateIpAddress"] for a in addresses(url).values()}) == 24, "one private IP each"

    proc = run_playbook("go-live.yml", url, tmp_path)
    assert recap(proc)["failed"] == 0, proc.stdout[-4000:]
    assert all(on_targets(url, tmp_path, "new").values()), on_targets(url, tmp_path, "new")

    back = run_playbook("rollback.yml", url, tmp_path, "-e", "rollback_check_enabled=false")
    assert recap(back)["failed"] == 0, back.stdout[-4000:]
    assert {a["Domain"] for a in addresses(url).values()} == {"standard"}, "restored to EC2-Classic"
    assert slots(url) == world_slots(url, world), "each EIP back on its old server"
    again = run_playbook("rollback.yml", url, tmp_path, "-e", "rollback_check_enabled=false")
    assert recap(again)["failed"] == 0 and recap(again)["changed"] == 0, again.stdout[-3000:]
