"""Unit tests of plugins/modules/eip_move_to_vpc.py, in-process against the lab's simulated AWS."""

from __future__ import annotations

import pytest

MODULE = "eip_move_to_vpc"


def test_four_runs_move_every_eip(make_lab, run_module, api_calls) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate()
    ips = lab.all_ips()
    args = {"public_ips": ips, "poll_interval": 0}

    check = run_module(MODULE, args, check_mode=True, diff=True)
    assert check.changed and not check.failed
    assert {a["action"] for a in check["addresses"]} == {"would_move"}
    assert check["diff"]["before"][ips[0]] == {"domain": "standard", "instance_id": None}
    assert check["diff"]["after"][ips[0]] == {"domain": "vpc", "instance_id": None}
    assert lab.domains() == {"standard": 24}, "check mode changed nothing"

    api_calls.reset()
    real = run_module(MODULE, args, diff=True)
    assert real.changed and not real.failed, real.msg
    assert real["moved"] == 24
    assert all(a["allocation_id"].startswith("eipalloc-") for a in real["addresses"])
    assert {a["domain"] for a in real["addresses"]} == {"vpc"}
    assert len(real["diff"]["after"]) == 24
    assert lab.domains() == {"vpc": 24}
    assert api_calls.calls["MoveAddressToVpc"] == 1 + 24  # DryRun first, then one per EIP

    again_check = run_module(MODULE, args, check_mode=True)
    assert not again_check.changed and {a["action"] for a in again_check["addresses"]} == {"none"}
    again = run_module(MODULE, args, diff=True)
    assert not again.changed and not again.failed
    assert again["diff"] == {"before": {}, "after": {}}
    assert [a["allocation_id"] for a in again["addresses"]] == [a["allocation_id"] for a in real["addresses"]]


def test_incident_fails_before_any_change(make_lab, run_module, api_calls) -> None:
    lab = make_lab("incident")
    lab.disassociate()
    api_calls.reset()
    result = run_module(MODULE, {"public_ips": lab.all_ips()})
    assert result.failed
    assert "24 addresses to move need 24 free VPC EIPs, only 5 free" in result.msg
    assert "L-0263D0A3" in result.msg and "at least 24" in result.msg
    assert result.msg.startswith("Nothing was moved.")
    assert api_calls.calls["MoveAddressToVpc"] == 0
    assert lab.domains() == {"standard": 24}


def test_incident_still_associated_reports_every_problem(make_lab, run_module) -> None:
    lab = make_lab("incident")
    result = run_module(MODULE, {"public_ips": lab.all_ips()})
    assert result.failed
    web3 = lab.ip("web-3")
    assert f"{web3}: still associated with {lab.instance('old-lb-2')}" in result.msg
    assert lab.domains() == {"standard": 24}
    assert all(lab.holders().values()), "nothing was disassociated either"


def test_move_interrupted_halfway_is_finished_by_a_rerun(make_lab, run_module, api_calls) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate()
    ips = lab.all_ips()
    # call 1 is the DryRun; calls 2..13 move 12 EIPs; call 14 (the 13th move) fails
    lab.fault("MoveAddressToVpc", nth=14, code="AuthFailure", message="credentials expired mid-run")
    first = run_module(MODULE, {"public_ips": ips, "poll_interval": 0})
    assert first.failed
    assert f"MoveAddressToVpc {ips[12]}: AuthFailure" in first.msg
    assert first["error_code"] == "AuthFailure"
    assert first["moved"] == 12
    assert lab.domains() == {"vpc": 12, "standard": 12}

    api_calls.reset()
    second = run_module(MODULE, {"public_ips": ips, "poll_interval": 0})
    assert second.changed and not second.failed, second.msg
    assert [a["action"] for a in second["addresses"]] == ["none"] * 12 + ["moved"] * 12
    assert api_calls.calls["MoveAddressToVpc"] == 1 + 12, "moved ones are not moved again"
    assert lab.domains() == {"vpc": 24}


def test_moves_left_in_flight_are_waited_for_not_moved_again(make_lab, run_module, api_calls) -> None:
    lab = make_lab("vpc-day", latency_scale=0.1)  # a move takes 90 s * 0.1 = 9 s: still moving on resume
    lab.disassociate()
    ips = lab.all_ips()
    issued = run_module(MODULE, {"public_ips": ips, "wait": False})
    assert issued.changed and {a["status"] for a in issued["addresses"]} == {"MoveInProgress"}
    assert lab.ec2.describe_moving_addresses()["MovingAddressStatuses"], "still moving"

    api_calls.reset()
    resumed = run_module(MODULE, {"public_ips": ips, "poll_interval": 0.2, "wait_timeout": 60})
    assert not resumed.failed, resumed.msg
    assert "resumed" in {a["action"] for a in resumed["addresses"]} <= {"resumed", "none"}
    assert api_calls.calls["MoveAddressToVpc"] == 0
    assert lab.domains() == {"vpc": 24}
    assert resumed["progress"][-1].startswith("moves to VPC: 24/24 done")


def test_wait_timeout_is_bounded_and_resumable(make_lab, run_module) -> None:
    lab = make_lab("vpc-day", latency_scale=1.0)  # 90 s moves
    lab.disassociate()
    ips = lab.all_ips()[:3]
    result = run_module(MODULE, {"public_ips": ips, "wait_timeout": 1, "poll_interval": 0.2})
    assert result.failed and "Still moving after 1s" in result.msg and "rerun" in result.msg
    assert result["moved"] == 3
    check = run_module(MODULE, {"public_ips": ips}, check_mode=True)
    assert {a["action"] for a in check["addresses"]} == {"would_wait"}


def test_throttling_is_retried_with_backoff(make_lab, run_module, api_calls, no_sleep, monkeypatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no botocore retries: the module's own backoff must do it
    lab = make_lab("vpc-day")
    lab.disassociate()
    lab.fault(
        "DescribeAddresses", nth=1, code="RequestLimitExceeded", times=2, message="Request limit exceeded."
    )
    lab.fault(
        "MoveAddressToVpc", nth=5, code="RequestLimitExceeded", times=3, message="Request limit exceeded."
    )
    api_calls.reset()
    result = run_module(MODULE, {"public_ips": lab.all_ips(), "poll_interval": 0})
    assert not result.failed, result.msg
    assert lab.domains() == {"vpc": 24}
    assert api_calls.calls["MoveAddressToVpc"] == 1 + 24 + 3
    assert len([s for s in no_sleep if s > 0]) >= 5, "backed off before each retry"


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("203.0.113.9", "203.0.113.9: no Elastic IP with this address in region us-east-1"),
        ("300.1.2.3", "'300.1.2.3' is not a valid IPv4 address"),
        ("web-3", "'web-3' is not a valid IPv4 address"),
    ],
)
def test_bad_address_fails_and_moves_nothing(make_lab, run_module, api_calls, bad, expected) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate()
    api_calls.reset()
    result = run_module(MODULE, {"public_ips": [*lab.all_ips()[:3], bad]})
    assert result.failed and expected in result.msg
    assert api_calls.calls["MoveAddressToVpc"] == 0
    assert lab.domains() == {"standard": 24}


def test_eip_of_another_region_fails_and_moves_nothing(make_lab, run_module) -> None:
    import boto3

    lab = make_lab("vpc-day")
    lab.disassociate()
    other = boto3.client("ec2", region_name="eu-west-1").allocate_address(Domain="vpc")["PublicIp"]
    result = run_module(MODULE, {"public_ips": [lab.ip("web-3"), other]})
    assert result.failed
    assert f"{other}: no Elastic IP with this address in region us-east-1" in result.msg
    assert "another region" in result.msg
    assert lab.domains() == {"standard": 24}


def test_associated_eip_fails_and_moves_nothing(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate(lab.all_ips()[1:])
    result = run_module(MODULE, {"public_ips": lab.all_ips()})
    assert result.failed
    assert f"{lab.ip('web-9')}: still associated with {lab.instance('old-lb-1')}" in result.msg
    assert lab.domains() == {"standard": 24}


def test_permission_denied_by_dry_run_moves_nothing(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate()
    lab.fault("MoveAddressToVpc", nth=1, code="UnauthorizedOperation", message="You are not authorized")
    result = run_module(MODULE, {"public_ips": lab.all_ips()})
    assert (
        result.failed and "permission check (DryRun)" in result.msg and "UnauthorizedOperation" in result.msg
    )
    assert lab.domains() == {"standard": 24}


@pytest.mark.parametrize("count", [24, 200])
def test_describe_calls_do_not_grow_with_the_number_of_eips(make_lab, run_module, api_calls, count) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate()
    ips = lab.add_classic_eips(count)
    assert len(ips) == count
    api_calls.reset()
    result = run_module(MODULE, {"public_ips": ips, "poll_interval": 0})
    assert not result.failed, result.msg
    assert api_calls.calls["DescribeAddresses"] == 2  # the plan, the final state
    assert api_calls.calls["DescribeMovingAddresses"] == 2  # the plan, one poll (latency 0)
    assert api_calls.calls["DescribeAccountAttributes"] == 1
    assert api_calls.calls["MoveAddressToVpc"] == 1 + count
    assert api_calls.describes() == 5
