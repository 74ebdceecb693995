"""Unit tests of plugins/modules/swap_plan_info.py, in-process against the lab's simulated AWS."""

from __future__ import annotations

import json
from pathlib import Path

MODULE = "swap_plan_info"
OLD_EPHEMERALS = ["old-lb-1", "old-lb-2", "old-web-1", "old-housekeeping-1"]


def args(record: Path, **extra: object) -> dict[str, object]:
    return {
        "instance_map": {"old-lb-1": "new-lb-1", "old-lb-2": "new-lb-2"},
        "maintenance_instance": "maint-1",
        "stop_instances": OLD_EPHEMERALS,
        "record": str(record),
        **extra,
    }


def test_plan_of_a_normal_update(make_lab, run_module, api_calls, tmp_path: Path) -> None:
    lab = make_lab("default")
    api_calls.reset()
    result = run_module(MODULE, args(tmp_path / "plan.json"))
    assert not result.failed and not result.changed, result.msg
    assert result["problems"] == []
    assert result["stage"] == "unswapped"
    assert len(result["eips"]) == 8
    for eip in result["eips"]:
        assert eip["location"] == "old"
        assert eip["new_instance"] == eip["old_instance"].replace("old-", "new-")
        assert eip["new_instance_id"] == lab.instance(eip["new_instance"])
        assert not eip["needs_move_to_vpc"]
    assert result["record_written"]
    recorded = json.loads((tmp_path / "plan.json").read_text())["eips"]
    assert {e["public_ip"] for e in recorded} == set(lab.all_ips())
    # one describe of each kind, whatever the number of EIPs
    assert api_calls.calls["DescribeAddresses"] == 1
    assert api_calls.calls["DescribeInstances"] == 1


def test_check_mode_writes_no_record(make_lab, run_module, tmp_path: Path) -> None:
    make_lab("default")
    result = run_module(MODULE, args(tmp_path / "plan.json"), check_mode=True)
    assert not result.failed and result["stage"] == "unswapped"
    assert not result["record_written"] and not (tmp_path / "plan.json").exists()


def test_incident_names_the_limit_needed_and_free(make_lab, run_module, tmp_path: Path) -> None:
    make_lab("incident")
    result = run_module(MODULE, args(tmp_path / "plan.json"))
    assert result["vpc_moves_needed"] == 24
    assert all(e["needs_move_to_vpc"] for e in result["eips"])
    problems = "\n".join(result["problems"])
    assert "24 addresses to move need 24 free VPC EIPs, only 5 free" in problems
    assert "L-0263D0A3" in problems
    assert "AllowReassociation" not in problems and "DryRun" not in problems, problems
    assert not (tmp_path / "plan.json").exists(), "no record while a problem stands"


def test_vpc_day_plan_is_clean(make_lab, run_module, tmp_path: Path) -> None:
    make_lab("vpc-day")
    result = run_module(MODULE, args(tmp_path / "plan.json"))
    assert result["problems"] == [], result["problems"]
    assert result["vpc_moves_needed"] == 24
    assert {e["domain"] for e in result["eips"]} == {"standard"}


def test_resume_from_the_record_when_eips_are_on_maintenance(make_lab, run_module, tmp_path: Path) -> None:
    lab = make_lab("default")
    record = tmp_path / "plan.json"
    run_module(MODULE, args(record))
    maint = lab.instance("maint-1")
    for eip in lab.addresses().values():
        lab.ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=maint, AllowReassociation=True)
    result = run_module(MODULE, args(record))
    assert result["problems"] == []
    assert result["stage"] == "maintenance"
    assert {e["location"] for e in result["eips"]} == {"maintenance"}
    assert all(e["old_instance"].startswith("old-lb-") for e in result["eips"]), "the record remembers"


def test_live_and_half_live_stages(make_lab, run_module, tmp_path: Path) -> None:
    lab = make_lab("default")
    record = tmp_path / "plan.json"
    plan = run_module(MODULE, args(record))["eips"]
    for i, eip in enumerate(plan):
        lab.ec2.associate_address(
            AllocationId=eip["allocation_id"], InstanceId=eip["new_instance_id"], AllowReassociation=True
        )
        if i == 2:
            assert run_module(MODULE, args(record))["stage"] == "in_progress"
    assert run_module(MODULE, args(record))["stage"] == "live"


def test_every_problem_is_named(make_lab, run_module, tmp_path: Path) -> None:
    lab = make_lab("default")
    stray = lab.ec2.allocate_address(Domain="vpc")
    lab.ec2.associate_address(AllocationId=stray["AllocationId"], InstanceId=lab.instance("new-lb-1"))
    hijacked = lab.all_ips()[0]
    lab.ec2.associate_address(
        AllocationId=lab.addresses()[hijacked]["AllocationId"],
        InstanceId=lab.instance("old-web-1"),
        AllowReassociation=True,
    )
    result = run_module(
        MODULE,
        args(tmp_path / "plan.json", stop_instances=["old-lb-1", "old-nothing-9"]),
    )
    problems = "\n".join(result["problems"])
    assert "instance 'old-nothing-9': no instance with this Name tag exists" in problems
    assert (
        f"({stray['PublicIp']}) is not in the plan but already sends traffic to new instance new-lb-1"
        in problems
    )
    assert len(result["eips"]) == 7, "the EIP moved to old-web-1 is no longer on a mapped old instance"


def test_eip_moved_elsewhere_after_the_record_is_a_problem(make_lab, run_module, tmp_path: Path) -> None:
    lab = make_lab("default")
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
