"""Unit tests of plugins/modules/eip_associate.py, in-process against the lab's simulated AWS."""

from __future__ import annotations

import boto3
import pytest

MODULE = "eip_associate"


def plan(lab, old_to_new: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Each EIP to the new load balancer that replaces the old one it was on (by public IP)."""
    old_to_new = old_to_new or {"old-lb-1": "new-lb-1", "old-lb-2": "new-lb-2"}
    by_id = {v: k for k, v in lab.world["instances"].items()}
    holders = lab.holders()
    return [
        {"public_ip": ip, "instance_id": lab.instance(old_to_new[by_id[holders[ip]]])} for ip in lab.all_ips()
    ]


@pytest.fixture
def moved(make_lab):
    """vpc-day with every EIP moved to the VPC, and the plan made while they were still on old-lb-*."""
    lab = make_lab("vpc-day")
    associations = plan(lab)
    lab.disassociate()
    lab.move()
    return lab, associations


def test_four_runs_associate_by_allocation_id(moved, run_module, api_calls) -> None:
    lab, associations = moved
    check = run_module(MODULE, {"associations": associations}, check_mode=True, diff=True)
    assert check.changed and not check.failed, check.msg
    assert {a["action"] for a in check["associations"]} == {"would_associate"}
    first = associations[0]
    assert check["diff"]["before"][first["public_ip"]] == {"domain": "vpc", "instance_id": None}
    assert check["diff"]["after"][first["public_ip"]] == {
        "domain": "vpc",
        "instance_id": first["instance_id"],
    }
    assert set(lab.holders().values()) == {None}, "check mode changed nothing"

    api_calls.reset()
    real = run_module(MODULE, {"associations": associations, "poll_interval": 0}, diff=True)
    assert real.changed and not real.failed, real.msg
    assert lab.holders() == {a["public_ip"]: a["instance_id"] for a in associations}
    assert all(a["association_id"].startswith("eipassoc-") for a in real["associations"])
    assert all(a["allocation_id"].startswith("eipalloc-") for a in real["associations"])
    assert api_calls.calls["AssociateAddress"] == 1 + 24  # DryRun, then one per EIP
    assert len(real["diff"]["after"]) == 24

    again_check = run_module(MODULE, {"associations": associations}, check_mode=True)
    assert not again_check.changed and {a["action"] for a in again_check["associations"]} == {"none"}
    again = run_module(MODULE, {"associations": associations}, diff=True)
    assert not again.changed and not again.failed
    assert again["diff"] == {"before": {}, "after": {}}


def test_by_allocation_id_and_network_interface(moved, run_module) -> None:
    lab, _ = moved
    address = lab.addresses()[lab.ip("web-3")]
    reservation = lab.ec2.describe_instances(InstanceIds=[lab.instance("new-web-1")])["Reservations"][0]
    eni = reservation["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    result = run_module(
        MODULE,
        {
            "associations": [
                {"allocation_id": address["AllocationId"], "network_interface_id": eni},
                {"public_ip": lab.ip("web-9"), "instance_id": lab.instance("new-lb-1")},
            ],
            "poll_interval": 0,
        },
    )
    assert result.changed and not result.failed, result.msg
    after = lab.addresses()
    assert after[lab.ip("web-3")]["NetworkInterfaceId"] == eni
    assert after[lab.ip("web-9")]["InstanceId"] == lab.instance("new-lb-1")


def test_classic_eip_onto_classic_instance_by_public_ip(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    ips = lab.all_ips()[:3]
    associations = [{"public_ip": ip, "instance_id": lab.instance("maint-1")} for ip in ips]
    check = run_module(MODULE, {"associations": associations}, check_mode=True)
    assert check.changed
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert result.changed and not result.failed, result.msg
    assert set(lab.holders(ips).values()) == {lab.instance("maint-1")}
    assert {a["domain"] for a in result["associations"]} == {"standard"}
    assert not run_module(MODULE, {"associations": associations}).changed


def test_four_runs_disassociate(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    old_lb_1 = lab.instance("old-lb-1")
    args = {
        "state": "absent",
        "associations": [{"public_ip": ip, "instance_id": old_lb_1} for ip in lab.all_ips()],
    }
    check = run_module(MODULE, args, check_mode=True, diff=True)
    assert check.changed and len(check["diff"]["after"]) == 12, "only the 12 on old-lb-1"
    assert None not in set(lab.holders().values())
    real = run_module(MODULE, {**args, "poll_interval": 0})
    assert real.changed and not real.failed, real.msg
    holders = lab.holders()
    assert list(holders.values()).count(None) == 12 and old_lb_1 not in holders.values()
    assert not run_module(MODULE, args, check_mode=True).changed
    assert not run_module(MODULE, args).changed


def test_association_interrupted_halfway_is_finished_by_a_rerun(moved, run_module, api_calls) -> None:
    lab, associations = moved
    # call 1 is the DryRun; calls 2..13 associate 12 EIPs; call 14 fails
    lab.fault("AssociateAddress", nth=14, code="AuthFailure", message="credentials expired mid-run")
    first = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert first.failed and f"AssociateAddress {associations[12]['public_ip']}: AuthFailure" in first.msg
    assert list(lab.holders().values()).count(None) == 12
    api_calls.reset()
    second = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert second.changed and not second.failed, second.msg
    assert [a["action"] for a in second["associations"]] == ["none"] * 12 + ["associated"] * 12
    assert api_calls.calls["AssociateAddress"] == 1 + 12
    assert lab.holders() == {a["public_ip"]: a["instance_id"] for a in associations}


def test_association_is_verified_by_describing_again(make_lab, run_module, api_calls) -> None:
    lab = make_lab("vpc-day")
    associations = plan(lab)
    lab.disassociate()
    lab.move()
    lab.lab.state.latency_scale = 0.1  # from now on DescribeAddresses shows an association after 0.3 s
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0.05})
    assert result.changed and not result.failed, result.msg
    assert api_calls.calls["DescribeAddresses"] >= 3, "polled until the associations showed"
    assert lab.holders() == {a["public_ip"]: a["instance_id"] for a in associations}
    assert "associations: 24/24 done" in result["progress"][-1]


def test_throttling_is_retried_with_backoff(moved, run_module, api_calls, no_sleep, monkeypatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    lab, associations = moved
    lab.fault("DescribeAddresses", nth=1, code="RequestLimitExceeded", times=2)
    lab.fault("AssociateAddress", nth=4, code="RequestLimitExceeded", times=3)
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert not result.failed, result.msg
    assert api_calls.calls["AssociateAddress"] == 1 + 24 + 3
    assert lab.holders() == {a["public_ip"]: a["instance_id"] for a in associations}
    assert len([s for s in no_sleep if s > 0]) >= 5


def bad_cases(lab) -> dict[str, tuple[dict[str, str], str]]:
    new_lb = lab.instance("new-lb-1")
    dead = "i-0000000000000dead"
    other = boto3.client("ec2", region_name="eu-west-1").allocate_address(Domain="vpc")["PublicIp"]
    return {
        "unknown": ({"public_ip": "203.0.113.9", "instance_id": new_lb}, "203.0.113.9: no Elastic IP"),
        "malformed": ({"public_ip": "127.100.0.300", "instance_id": new_lb}, "not a valid IPv4 address"),
        "other region": (
            {"public_ip": other, "instance_id": new_lb},
            f"{other}: no Elastic IP with this address",
        ),
        "unknown instance": (
            {"public_ip": lab.ip("web-5"), "instance_id": dead},
            f"target {dead} not found",
        ),
    }


@pytest.mark.parametrize("case", ["unknown", "malformed", "other region", "unknown instance"])
def test_bad_input_fails_and_changes_nothing(moved, run_module, api_calls, case) -> None:
    lab, associations = moved
    bad, expected = bad_cases(lab)[case]
    api_calls.reset()
    result = run_module(MODULE, {"associations": [*associations[:3], bad]})
    assert result.failed and expected in result.msg and result.msg.startswith("Nothing was changed.")
    assert api_calls.calls["AssociateAddress"] == 0
    assert set(lab.holders().values()) == {None}


def test_classic_eip_to_vpc_instance_says_move_it_first(make_lab, run_module, api_calls) -> None:
    """The incident's association step: Classic EIPs onto the new (VPC) cluster."""
    lab = make_lab("incident")
    associations = plan(lab)
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations})
    assert result.failed
    web3 = lab.ip("web-3")
    assert f"{web3}: is an EC2-Classic EIP and {lab.instance('new-lb-2')} is in VPC" in result.msg
    assert "move it to the VPC first" in result.msg
    assert api_calls.calls["AssociateAddress"] == 0
    assert lab.domains() == {"standard": 24}
    assert set(lab.holders().values()) == {lab.instance("old-lb-1"), lab.instance("old-lb-2")}


def test_associated_elsewhere_without_reassociation_fails(moved, run_module) -> None:
    lab, associations = moved
    run_module(MODULE, {"associations": associations[:1], "poll_interval": 0})
    moved_elsewhere = [{**associations[0], "instance_id": lab.instance("new-web-1")}, associations[1]]
    result = run_module(MODULE, {"associations": moved_elsewhere, "allow_reassociation": False})
    assert result.failed
    assert f"{associations[0]['public_ip']}: associated with {associations[0]['instance_id']}" in result.msg
    assert lab.holders([associations[1]["public_ip"]]) == {associations[1]["public_ip"]: None}


@pytest.mark.parametrize("count", [24, 200])
def test_describe_calls_do_not_grow_with_the_number_of_eips(make_lab, run_module, api_calls, count) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate()
    ips = lab.add_classic_eips(count)
    lab.move()
    new = [lab.instance("new-lb-1"), lab.instance("new-lb-2")]
    associations = [{"public_ip": ip, "instance_id": new[i % 2]} for i, ip in enumerate(ips)]
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert not result.failed, result.msg
    assert api_calls.calls["DescribeAddresses"] == 2  # the plan, one verification (latency 0)
    assert api_calls.calls["DescribeInstances"] == 1
    assert api_calls.calls["AssociateAddress"] == 1 + count
    assert api_calls.describes() == 3
