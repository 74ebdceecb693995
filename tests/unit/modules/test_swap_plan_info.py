"""Unit tests of plugins/modules/swap_plan_info.py, in-process against the lab's simulated AWS.

The worlds hold one EIP per private IP (or per EC2-Classic instance), as AWS does; the target instances are
given the private IPs prepare would give them (`EipLab.give_slots`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MODULE = "swap_plan_info"
OLD_EPHEMERALS = ["old-lb-1", "old-lb-2", "old-web-1", "old-housekeeping-1"]
DEFAULT_MAP = {"old-lb-1": "new-lb-1", "old-lb-2": "new-lb-2"}


def args(record: Path, **extra: object) -> dict[str, object]:
    return {
        "instance_map": DEFAULT_MAP,
        "maintenance_instances": ["maint-1"],
        "stop_instances": OLD_EPHEMERALS,
        "record": str(record),
        **extra,
    }


def prepared(lab) -> None:
    """What playbooks/prepare-cluster.yml gives the targets: a private IP for every EIP bound to them."""
    lab.give_slots("maint-1", 8)
    lab.give_slots("new-lb-1", 4)
    lab.give_slots("new-lb-2", 4)


def default_lab(make_lab, prepare: bool = True):
    lab = make_lab("default")
    if prepare:
        prepared(lab)
    return lab


def record_of(path: Path) -> dict:
    return json.loads(path.read_text())


def slot_of(target: dict) -> tuple[str, str]:
    return target["network_interface_id"], target["private_ip_address"]


# --------------------------------------------------------------------------- the plan


def test_plan_of_a_normal_update(make_lab, run_module, api_calls, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    api_calls.reset()
    result = run_module(MODULE, args(tmp_path / "plan.json"))
    calls = dict(api_calls.calls)
    assert not result.failed and not result.changed, result.msg
    assert result["problems"] == []
    assert result["stage"] == "unswapped"
    assert len(result["eips"]) == 8
    for eip in result["eips"]:
        assert eip["location"] == "old"
        assert eip["new_instance"] == eip["old_instance"].replace("old-", "new-")
        assert eip["new_instance_id"] == lab.instance(eip["new_instance"])
        assert eip["maintenance_instance"] == "maint-1"
        assert not eip["needs_move_to_vpc"]
        assert slot_of(eip["targets"]["old"]) == lab.where(eip["public_ip"]), "old = where it is"
        assert all(t["pinned"] for t in eip["targets"].values())
    # every target its own address
    for role in ("old", "maintenance", "new"):
        assert len({slot_of(e["targets"][role]) for e in result["eips"]}) == 8, role
    assert result["record_written"] and result["record_version"] is None
    recorded = record_of(tmp_path / "plan.json")
    assert recorded["version"] == 2
    assert {e["public_ip"] for e in recorded["eips"]} == set(lab.all_ips())
    assert all(
        "private_ip_address" in e[role] for e in recorded["eips"] for role in ("old", "maintenance", "new")
    )
    # one describe of each kind, whatever the number of EIPs
    describes = {op: n for op, n in calls.items() if op.startswith("Describe")}
    assert describes == {
        "DescribeAddresses": 1,
        "DescribeInstances": 1,
        "DescribeInstanceTypes": 1,
        "DescribeMovingAddresses": 1,
        "DescribeAccountAttributes": 1,
    }


def test_eips_take_the_targets_slots_in_order(make_lab, run_module, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    result = run_module(MODULE, args(tmp_path / "plan.json"))
    by_name = sorted(result["eips"], key=lambda e: (e["name"], e["public_ip"]))
    assert [slot_of(e["targets"]["maintenance"]) for e in by_name] == lab.slots("maint-1")[:8]
    on_new_lb_1 = [e for e in by_name if e["new_instance"] == "new-lb-1"]
    assert [slot_of(e["targets"]["new"]) for e in on_new_lb_1] == lab.slots("new-lb-1")[:4]


def test_the_moves_are_ready_for_eip_associate(make_lab, run_module, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    result = run_module(MODULE, args(tmp_path / "plan.json"))
    moves = result["moves"]
    assert moves["to_old"] == [], "every EIP is on its old target"
    assert len(moves["to_maintenance"]) == len(moves["to_new"]) == 8
    for item in moves["to_maintenance"] + moves["to_new"]:
        assert set(item) == {"public_ip", "instance_id", "network_interface_id", "private_ip_address"}
        assert item["network_interface_id"].startswith("eni-") and item["private_ip_address"]
    assert {m["instance_id"] for m in moves["to_maintenance"]} == {lab.instance("maint-1")}
    assert result["unplaced"] == {"to_maintenance": [], "to_vpc_page": [], "to_new": [], "to_old": []}


def test_check_mode_writes_no_record(make_lab, run_module, tmp_path: Path) -> None:
    default_lab(make_lab)
    result = run_module(MODULE, args(tmp_path / "plan.json"), check_mode=True)
    assert not result.failed and result["stage"] == "unswapped"
    assert not result["record_written"] and not (tmp_path / "plan.json").exists()


def test_a_single_maintenance_instance_name_still_works(make_lab, run_module, tmp_path: Path) -> None:
    default_lab(make_lab)
    plan = args(tmp_path / "plan.json")
    del plan["maintenance_instances"]
    result = run_module(MODULE, {**plan, "maintenance_instance": "maint-1"})
    assert result["problems"] == [] and result["maintenance_instance_ids"] == {
        "maint-1": result["maintenance_instance_id"]
    }


# --------------------------------------------------------------------------- pinning


def test_targets_are_pinned_once_the_instance_has_the_private_ips(
    make_lab, run_module, tmp_path: Path
) -> None:
    """Before prepare the maintenance and new targets are only instances; each run pins what it can."""
    lab = default_lab(make_lab, prepare=False)
    lab.give_slots("maint-1", 2)  # room for 10 on its interface (m5.large), but only 2 addresses yet
    record = tmp_path / "plan.json"
    first = run_module(MODULE, args(record))
    assert first["problems"] == [], first["problems"]
    assert first["record_written"] and first["pins_added"] == 8, "the old targets, where each EIP is"
    maint = [e["targets"]["maintenance"] for e in first["eips"]]
    assert not any(t["pinned"] or t["network_interface_id"] for t in maint)
    assert {c["instance"]: c["to_assign_total"] for c in first["capacity"]} == {
        "maint-1": 6,
        "new-lb-1": 3,
        "new-lb-2": 3,
    }
    assert sorted(first["unplaced"]["to_maintenance"]) == sorted(e["name"] for e in first["eips"])
    assert first["moves"]["to_maintenance"] == []
    assert record_of(record)["eips"][0]["maintenance"] == {"instance": "maint-1"}

    lab.give_slots("maint-1", 8)
    second = run_module(MODULE, args(record))
    assert second["problems"] == [] and second["record_written"] and second["pins_added"] == 8
    assert len(second["moves"]["to_maintenance"]) == 8 and second["unplaced"]["to_new"]
    pinned = {e["public_ip"]: slot_of(e["targets"]["maintenance"]) for e in second["eips"]}

    lab.give_slots("new-lb-1", 4)
    lab.give_slots("new-lb-2", 4)
    lab.give_slots("maint-1", 10)  # more addresses later: the pinned targets stay where they are
    third = run_module(MODULE, args(record))
    assert third["pins_added"] == 8 and third["unplaced"]["to_new"] == []
    assert {e["public_ip"]: slot_of(e["targets"]["maintenance"]) for e in third["eips"]} == pinned
    fourth = run_module(MODULE, args(record))
    assert fourth["pins_added"] == 0 and not fourth["record_written"]


def test_a_version_1_record_is_read_and_rewritten_with_pins(make_lab, run_module, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    by_id = {v: k for k, v in lab.world["instances"].items()}
    holders = lab.holders()
    v1 = [
        {
            "name": lab.name_of(ip),
            "public_ip": ip,
            "old_instance": by_id[holders[ip]],
            "new_instance": DEFAULT_MAP[by_id[holders[ip]]],
        }
        for ip in lab.all_ips()
    ]
    record = tmp_path / "plan.json"
    record.write_text(json.dumps({"eips": v1}))
    result = run_module(MODULE, args(record))
    assert result["problems"] == [] and result["record_version"] == 1
    assert result["record_written"] and result["pins_added"] == 24
    assert {e["location"] for e in result["eips"]} == {"old"}
    rewritten = record_of(record)
    assert rewritten["version"] == 2 and len(rewritten["eips"]) == 8
    assert all(e["old"]["network_interface_id"] for e in rewritten["eips"])


def test_a_pin_to_an_address_that_is_gone_is_a_problem(make_lab, run_module, tmp_path: Path) -> None:
    default_lab(make_lab)
    record = tmp_path / "plan.json"
    run_module(MODULE, args(record))
    data = record_of(record)
    data["eips"][0]["maintenance"]["network_interface_id"] = "eni-0000000000000gone"
    record.write_text(json.dumps(data))
    result = run_module(MODULE, args(record))
    assert any(
        "(pinned in the record) is no longer an address of maint-1" in p and data["eips"][0]["public_ip"] in p
        for p in result["problems"]
    ), result["problems"]
    assert data["eips"][0]["name"] in result["unplaced"]["to_maintenance"]


# --------------------------------------------------------------------------- where each EIP is


def test_location_is_exact_not_just_the_instance(make_lab, run_module, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    record = tmp_path / "plan.json"
    plan = run_module(MODULE, args(record))["eips"]
    first, second = plan[0], plan[1]
    lab.put(first["public_ip"], *slot_of(first["targets"]["maintenance"]))
    lab.put(second["public_ip"], *slot_of(plan[5]["targets"]["maintenance"]))  # maint-1, another's address
    result = run_module(MODULE, args(record))
    where = {e["public_ip"]: (e["location"], e["misplaced_on"]) for e in result["eips"]}
    assert where[first["public_ip"]] == ("maintenance", None)
    assert where[second["public_ip"]] == ("misplaced", "maintenance")
    assert result["stage"] == "in_progress" and result["problems"] == []
    to_maintenance = {m["public_ip"] for m in result["moves"]["to_maintenance"]}
    assert second["public_ip"] in to_maintenance and first["public_ip"] not in to_maintenance
    assert {m["public_ip"] for m in result["moves"]["to_old"]} == {first["public_ip"], second["public_ip"]}


def test_resume_from_the_record_when_eips_are_on_maintenance(make_lab, run_module, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    record = tmp_path / "plan.json"
    for eip in run_module(MODULE, args(record))["eips"]:
        lab.put(eip["public_ip"], *slot_of(eip["targets"]["maintenance"]))
    result = run_module(MODULE, args(record))
    assert result["problems"] == []
    assert result["stage"] == "maintenance"
    assert {e["location"] for e in result["eips"]} == {"maintenance"}
    assert all(e["old_instance"].startswith("old-lb-") for e in result["eips"]), "the record remembers"
    assert result["moves"]["to_maintenance"] == [] and len(result["moves"]["to_new"]) == 8
    back = {
        m["public_ip"]: (m["network_interface_id"], m["private_ip_address"])
        for m in result["moves"]["to_old"]
    }
    assert back == {e["public_ip"]: slot_of(e["targets"]["old"]) for e in result["eips"]}, "rollback: exact"


def test_live_and_half_live_stages(make_lab, run_module, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    record = tmp_path / "plan.json"
    plan = run_module(MODULE, args(record))["eips"]
    for i, eip in enumerate(plan):
        lab.put(eip["public_ip"], *slot_of(eip["targets"]["new"]))
        if i == 2:
            assert run_module(MODULE, args(record))["stage"] == "in_progress"
    live = run_module(MODULE, args(record))
    assert live["stage"] == "live" and live["moves"]["to_new"] == [] and live["moves"]["to_maintenance"] == []


# --------------------------------------------------------------------------- problems


def test_every_problem_is_named(make_lab, run_module, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    stray = lab.ec2.allocate_address(Domain="vpc")
    lab.ec2.associate_address(AllocationId=stray["AllocationId"], InstanceId=lab.instance("new-lb-1"))
    hijacked = lab.all_ips()[0]
    lab.ec2.associate_address(
        AllocationId=lab.addresses()[hijacked]["AllocationId"],
        InstanceId=lab.instance("old-web-1"),
        AllowReassociation=True,
    )
    result = run_module(MODULE, args(tmp_path / "plan.json", stop_instances=["old-lb-1", "old-nothing-9"]))
    problems = "\n".join(result["problems"])
    assert "instance 'old-nothing-9': no instance with this Name tag exists" in problems
    assert (
        f"({stray['PublicIp']}) is not in the plan but already sends traffic to new instance new-lb-1"
        in problems
    )
    assert len(result["eips"]) == 7, "the EIP moved to old-web-1 is no longer on a mapped old instance"
    new_lb_1 = next(c for c in result["capacity"] if c["instance"] == "new-lb-1")
    assert new_lb_1["foreign"] == 1, "the stray EIP's address is skipped"
    stray_slot = lab.where(stray["PublicIp"])
    assert stray_slot not in {slot_of(e["targets"]["new"]) for e in result["eips"]}


def test_an_instance_in_two_roles_stops_preflight(make_lab, run_module, tmp_path: Path) -> None:
    default_lab(make_lab)
    stop = [*OLD_EPHEMERALS, "maint-1", "new-lb-1"]
    result = run_module(MODULE, args(tmp_path / "a.json", stop_instances=stop))
    assert result["problems"] == [
        "instance maint-1 is among the old instances to stop (clusterswap_old_ephemerals) and is the "
        "maintenance server: step 3 would stop it in the window; take it out of clusterswap_old_ephemerals",
        "instance new-lb-1 is among the old instances to stop (clusterswap_old_ephemerals) and is a "
        "new-cluster instance: step 3 would stop it in the window; take it out of clusterswap_old_ephemerals",
    ]
    assert not (tmp_path / "a.json").exists(), "no record is written for a plan with problems"
    back = run_module(
        MODULE, args(tmp_path / "b.json", instance_map={"old-lb-1": "maint-1", "old-lb-2": "old-lb-1"})
    )
    problems = "\n".join(back["problems"])
    assert (
        "instance maint-1 is both a maintenance server (clusterswap_maintenance_instances) and a new-cluster"
        in problems
    )
    assert (
        "instance old-lb-1 is both an old instance (a key of clusterswap_instance_map) and a new-cluster"
        in problems
    )
    assert "old-lb-1 is among the old instances to stop" in problems


def test_each_distinct_association_is_tried_by_dry_run(
    make_lab, run_module, api_calls, tmp_path: Path
) -> None:
    """The probe found the DryRun tried only the first EIP of a batch: a policy that allows new-lb-1 and not
    new-lb-2 passed pre-flight. One DryRun per call shape and target interface catches it."""
    lab = default_lab(make_lab)
    run_module(MODULE, args(tmp_path / "plan.json"))  # pins the targets
    api_calls.reset()
    clean = run_module(MODULE, args(tmp_path / "plan.json"))
    assert clean["problems"] == [] and api_calls.calls["AssociateAddress"] == 2, "one per new load balancer"
    lab.fault("AssociateAddress", nth=2, code="UnauthorizedOperation", message="You are not authorized")
    denied = run_module(MODULE, args(tmp_path / "plan.json"))
    assert len(denied["problems"]) == 1 and "UnauthorizedOperation" in denied["problems"][0], denied[
        "problems"
    ]


def test_an_unreadable_record_is_a_problem_not_a_crash(make_lab, run_module, tmp_path: Path) -> None:
    default_lab(make_lab)
    record = tmp_path / "plan.json"
    assert run_module(MODULE, args(record))["record_written"]
    good = record.read_text()
    v2 = json.loads(good)
    no_new = json.loads(good)
    no_new["eips"][1].pop("new")
    twice = json.loads(good)
    twice["eips"].append(twice["eips"][0])
    no_ip = json.loads(good)
    no_ip["eips"][1].pop("public_ip")
    cases = {
        good[:55]: "it is not valid JSON (",
        '{"plan": []}': "it is not an object with a list 'eips'",
        json.dumps({**v2, "version": 7}): "its version 7 is not one this module reads (1 or 2)",
        json.dumps(no_new): f"entry 2 ({v2['eips'][1]['public_ip']}) has no 'new'",
        json.dumps(twice): f"EIP {v2['eips'][0]['public_ip']} is listed 2 times",
        json.dumps(no_ip): "entry 2 has no valid public_ip (None)",
        json.dumps(
            {"version": 1, "eips": [{"public_ip": "1.2.3"}]}
        ): "entry 1 has no valid public_ip ('1.2.3')",
    }
    for text, expected in cases.items():
        record.write_text(text)
        result = run_module(MODULE, args(record))
        assert not result.failed, result.msg
        assert len(result["problems"]) == 1, (expected, result["problems"])
        problem = result["problems"][0]
        assert problem.startswith(f"the plan record {record} cannot be used: "), problem
        assert expected in problem and "restore it from your copy" in problem, (expected, problem)
        assert record.read_text() == text, "a record that cannot be read is never rewritten"
        assert "Pre-flight found 1 problem(s); nothing has been changed" in result["problems_message"]


def test_a_record_that_disagrees_with_the_instance_map_stops_preflight(
    make_lab, run_module, tmp_path: Path
) -> None:
    default_lab(make_lab)
    record = tmp_path / "plan.json"
    first = run_module(MODULE, args(record))
    written = record.read_text()
    swapped = {"old-lb-1": "new-lb-2", "old-lb-2": "new-lb-1"}
    result = run_module(MODULE, args(record, instance_map=swapped))
    assert len(result["problems"]) == 2, result["problems"]
    on_lb_1 = [f"{e['name']} ({e['public_ip']})" for e in first["eips"] if e["old_instance"] == "old-lb-1"]
    assert result["problems"][0] == (
        f"the plan record {record} sends the EIP(s) of old-lb-1 to new-lb-1 ({', '.join(on_lb_1)}), "
        "clusterswap_instance_map maps old-lb-1 to new-lb-2. The record wins, so nothing was planned from "
        "the map: to keep the record, set clusterswap_instance_map back (old-lb-1: new-lb-1); to follow the "
        "map, while every EIP is still on the old cluster, delete the record and rerun pre-flight"
    )
    assert record.read_text() == written
    dropped = run_module(MODULE, args(record, instance_map={"old-lb-1": "new-lb-1"}))
    assert any("clusterswap_instance_map does not map old-lb-2" in p for p in dropped["problems"])
    assert run_module(MODULE, args(record))["problems"] == [], "the map set back: the record is used again"


def test_an_eip_outside_the_plan_on_a_pinned_target_is_a_problem(
    make_lab, run_module, tmp_path: Path
) -> None:
    lab = default_lab(make_lab)
    record = tmp_path / "plan.json"
    eip = run_module(MODULE, args(record))["eips"][0]
    stray = lab.ec2.allocate_address(Domain="vpc")
    lab.put(stray["PublicIp"], *slot_of(eip["targets"]["maintenance"]))
    result = run_module(MODULE, args(record))
    assert any(
        f"its maintenance target maint-1 {' '.join(slot_of(eip['targets']['maintenance']))} holds EIP "
        f"{stray['PublicIp']} ({stray['PublicIp']}), which is not in the plan"
        in p
        and "silently disassociate" in p
        for p in result["problems"]
    ), result["problems"]


def test_eip_moved_elsewhere_after_the_record_is_a_problem(make_lab, run_module, tmp_path: Path) -> None:
    lab = default_lab(make_lab)
    record = tmp_path / "plan.json"
    run_module(MODULE, args(record))
    ip = lab.all_ips()[0]
    lab.ec2.associate_address(
        AllocationId=lab.addresses()[ip]["AllocationId"],
        InstanceId=lab.instance("old-web-1"),
        AllowReassociation=True,
    )
    result = run_module(MODULE, args(record))
    assert any(ip in p and "neither its old instance" in p for p in result["problems"]), result["problems"]


def test_a_maintenance_server_that_cannot_hold_the_eips_stops_preflight(
    make_lab, run_module, tmp_path: Path
) -> None:
    make_lab("small-maintenance")  # maint-1 is a t3.micro: 2 interfaces x 2 addresses, the plan has 8 EIPs
    result = run_module(MODULE, args(tmp_path / "plan.json"))
    assert result["capacity_problems"] == [
        "maint-1 (t3.micro, 1 of at most 2 interfaces attached, 2 IPv4 addresses per interface) must hold "
        "8 EIPs but can hold at most 2 on its attached interfaces: attach another interface (at most 4 "
        "addresses with 2, still not enough), use a larger instance type (m5.large holds 3 × 10), or add "
        "maintenance instances (clusterswap_maintenance_instances)"
    ]
    assert result["capacity_problems"][0] in result["problems"]
    assert not (tmp_path / "plan.json").exists()


# --------------------------------------------------------------------------- the VPC day


def vpc_day_args(record: Path, lab, **extra: object) -> dict[str, object]:
    return {
        "instance_map": lab.instance_map,
        "maintenance_instances": lab.maintenance_instances,
        "stop_instances": ["old-lb-1"],
        "record": str(record),
        **extra,
    }


def vpc_day(make_lab, scenario: str = "vpc-day"):
    lab = make_lab(scenario)
    lab.give_slots("new-lb-1", 12)  # m5.xlarge: 12 on its interface
    lab.give_slots("new-lb-2", 12)  # m5.large with 2 interfaces: 10 + 2
    return lab


CLASSIC_FLEET = [f"maint-{n}" for n in range(1, 25)]


def test_vpc_day_plan_is_clean(make_lab, run_module, api_calls, tmp_path: Path) -> None:
    lab = vpc_day(make_lab)
    api_calls.reset()
    result = run_module(
        MODULE, vpc_day_args(tmp_path / "plan.json", lab, maintenance_instances=CLASSIC_FLEET)
    )
    assert result["problems"] == [], result["problems"]
    assert result["moves"]["to_vpc_page"] == [], "the page is in EC2-Classic: the moves wait for go-live"
    assert result["vpc_moves_needed"] == 24
    assert {e["domain"] for e in result["eips"]} == {"standard"}
    # a Classic maintenance fleet: one EIP per instance
    assert sorted(e["maintenance_instance"] for e in result["eips"]) == sorted(
        f"maint-{n}" for n in range(1, 25)
    )
    for item in result["moves"]["to_maintenance"]:
        assert item["network_interface_id"] is None and item["instance_id"].startswith("i-")
    assert len(result["moves"]["to_maintenance"]) == 24 and len(result["moves"]["to_new"]) == 24
    assert api_calls.calls["DescribeInstances"] == 1 and api_calls.calls["DescribeInstanceTypes"] == 1


def test_an_eip_to_move_allocated_less_than_24_hours_ago_stops_preflight(
    make_lab, run_module, tmp_path: Path
) -> None:
    """The probe's F8: one EIP of the plan allocated an hour ago passed pre-flight, then MoveAddressToVpc
    refused it after every EIP had left the maintenance server."""
    import time

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    lab = vpc_day(make_lab)
    young = lab.all_ips()[3]
    for address in ec2_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].addresses:
        if address.public_ip == young:
            address._lab_allocated_at = time.time() - 3600
    result = run_module(
        MODULE, vpc_day_args(tmp_path / "plan.json", lab, maintenance_instances=CLASSIC_FLEET)
    )
    assert len(result["problems"]) == 1, result["problems"]
    assert result["problems"][0].startswith(f"EIP {young}: allocated at "), result["problems"]
    assert re.search(r"it can move from \S+ \S+ UTC \(in 22h5\dm\): hold the swap", result["problems"][0])
    assert not (tmp_path / "plan.json").exists()


def test_with_a_maintenance_server_in_the_vpc_the_classic_eips_page_is_there(
    make_lab, run_module, api_calls, tmp_path: Path
) -> None:
    """maint-vpc-1 in the fleet (the lab's vpc-day plan lists it first of 25): every Classic EIP bound for the
    VPC gets its page there, so its move can start as the window opens (moves.to_vpc_page), none on the
    Classic fleet; pre-flight's DryRun checks still pass (no association can be tried before the move)."""
    lab = vpc_day(make_lab)
    lab.give_slots("maint-vpc-1", 24)  # prepare's private IPs (m5.4xlarge: 30 on its interface)
    args = vpc_day_args(tmp_path / "plan.json", lab)
    assert "maint-vpc-1" in args["maintenance_instances"] and "maint-1" in args["maintenance_instances"]
    result = run_module(MODULE, args)
    assert result["problems"] == [], result["problems"]
    assert {e["maintenance_instance"] for e in result["eips"]} == {"maint-vpc-1"}
    assert all(e["page_in_vpc"] for e in result["eips"])
    assert result["moves"]["to_maintenance"] == []
    page = result["moves"]["to_vpc_page"]
    assert len(page) == 24 and {m["instance_id"] for m in page} == {lab.instance("maint-vpc-1")}
    assert len({m["private_ip_address"] for m in page}) == 24, "each on its own private IP"
    assert result["unpinned"] == [] and result["vpc_moves_needed"] == 24


def test_eips_moved_for_a_page_in_the_vpc_stay_on_their_page_and_rollback_knows_to_restore_them(
    make_lab, run_module, tmp_path: Path
) -> None:
    """After the first half of maintenance on (off the old cluster) and the moves, a rerun of pre-flight still
    sends them to their page in the VPC, not to the late move; each needs RestoreAddressToClassic before
    rollback can put it back on its Classic old server, whose place rollback still knows."""
    lab = vpc_day(make_lab)
    lab.give_slots("maint-vpc-1", 24)
    args = vpc_day_args(tmp_path / "plan.json", lab)
    first = run_module(MODULE, args)
    assert first["problems"] == [] and not any(e["needs_restore_to_classic"] for e in first["eips"])
    assert first["vpc_moves_after_office_check"] == 0, "no move waits for the office check"
    lab.disassociate()
    lab.move()
    again = run_module(MODULE, args)
    assert again["problems"] == [], again["problems"]
    assert again["vpc_moves_needed"] == 0 and len(again["moves"]["to_vpc_page"]) == 24
    assert again["moves"]["to_maintenance"] == []
    assert all(e["page_in_vpc"] and e["needs_restore_to_classic"] for e in again["eips"])
    assert len(again["moves"]["to_old"]) == 24 and again["unplaced"]["to_old"] == []


def test_a_single_classic_maintenance_server_cannot_hold_24(make_lab, run_module, tmp_path: Path) -> None:
    lab = vpc_day(make_lab)
    result = run_module(MODULE, vpc_day_args(tmp_path / "plan.json", lab, maintenance_instances=["maint-1"]))
    assert (
        "maint-1 (EC2-Classic) must hold 24 EIPs but an EC2-Classic instance holds exactly 1: a Classic "
        "maintenance fleet needs one instance per EIP (add maintenance instances "
        "(clusterswap_maintenance_instances): 23 more)"
    ) in result["problems"]


def test_incident_names_the_limit_needed_and_free(make_lab, run_module, tmp_path: Path) -> None:
    lab = vpc_day(make_lab, "incident")
    result = run_module(MODULE, vpc_day_args(tmp_path / "plan.json", lab))
    assert result["vpc_moves_needed"] == 24
    assert all(e["needs_move_to_vpc"] for e in result["eips"])
    problems = "\n".join(result["problems"])
    assert "24 addresses to move need 24 free VPC EIPs, only 5 free" in problems
    assert "L-0263D0A3" in problems
    assert "AllowReassociation" not in problems and "DryRun" not in problems, problems
    assert len(result["problems"]) == 1, result["problems"]
    assert not (tmp_path / "plan.json").exists(), "no record while a problem stands"
