"""Unit tests of plugins/modules/eip_move_to_vpc.py, in-process against the lab's simulated AWS.

The simulated AWS throttles as AWS does (MoveAddressToVpc and DescribeMovingAddresses: 1 request per
second each), and the module paces itself to stay inside. Tests that move many EIPs run on `virtual_time`
(sleeps are instant, the throttle sees the time pass) so they stay fast; one test moves 24 in real time.
"""

from __future__ import annotations

import time

import pytest

from lab.awssim import STATE

MODULE = "eip_move_to_vpc"


def next_task(virtual_time) -> None:
    """The second or so Ansible takes between two tasks (two module runs here follow within a millisecond,
    which AWS would throttle: each run starts with a DryRun MoveAddressToVpc)."""
    virtual_time.advance(1.0)


def test_four_runs_move_every_eip(make_lab, run_module, api_calls, virtual_time) -> None:
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

    next_task(virtual_time)
    api_calls.reset()
    real = run_module(MODULE, args, diff=True)
    assert real.changed and not real.failed, real.msg
    assert real["moved"] == 24
    assert all(a["allocation_id"].startswith("eipalloc-") for a in real["addresses"])
    assert {a["domain"] for a in real["addresses"]} == {"vpc"}
    assert len(real["diff"]["after"]) == 24
    assert lab.domains() == {"vpc": 24}
    assert api_calls.calls["MoveAddressToVpc"] == 1 + 24  # DryRun first, then one per EIP
    assert api_calls.attempts["MoveAddressToVpc"] == 1 + 24, "none throttled"
    paced = sum(virtual_time.slept)
    # one move per second after the DryRun: 24 s, less the real time the calls themselves took (the clock
    # runs on while a call is made; on a busy machine a few tenths)
    assert 23.0 <= paced <= 24.1, f"one move per second after the DryRun: {paced}"

    next_task(virtual_time)
    again_check = run_module(MODULE, args, check_mode=True)
    assert not again_check.changed and {a["action"] for a in again_check["addresses"]} == {"none"}
    next_task(virtual_time)
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


def test_move_interrupted_halfway_is_finished_by_a_rerun(
    make_lab, run_module, api_calls, virtual_time
) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate()
    ips = lab.all_ips()
    # call 1 is the DryRun; calls 2..13 move 12 EIPs; call 14 (the 13th move) fails
    lab.fault("MoveAddressToVpc", nth=14, code="AuthFailure", message="credentials expired mid-run")
    first = run_module(MODULE, {"public_ips": ips, "poll_interval": 0})
    assert first.failed
    assert f"MoveAddressToVpc {ips[12]}: AuthFailure" in first.msg
    assert first["error_code"] == "AuthFailure"
    assert first["error"]["code"] == "AuthFailure", "the AWS response is in the failure"
    assert first["moved"] == 12
    assert lab.domains() == {"vpc": 12, "standard": 12}

    next_task(virtual_time)
    api_calls.reset()
    second = run_module(MODULE, {"public_ips": ips, "poll_interval": 0})
    assert second.changed and not second.failed, second.msg
    assert [a["action"] for a in second["addresses"]] == ["none"] * 12 + ["moved"] * 12
    assert api_calls.calls["MoveAddressToVpc"] == 1 + 12, "moved ones are not moved again"
    assert lab.domains() == {"vpc": 24}


def test_moves_left_in_flight_are_waited_for_not_moved_again(
    make_lab, run_module, api_calls, virtual_time
) -> None:
    # a move takes 90 s * 0.5 = 45 s (virtual): the 24 paced moves take 24 s, so all are moving on resume
    lab = make_lab("vpc-day", latency_scale=0.5)
    lab.disassociate()
    ips = lab.all_ips()
    issued = run_module(MODULE, {"public_ips": ips, "wait": False})  # paced, on virtual time
    assert issued.changed and {a["status"] for a in issued["addresses"]} == {"MoveInProgress"}
    assert lab.ec2.describe_moving_addresses()["MovingAddressStatuses"], "still moving"

    next_task(virtual_time)
    api_calls.reset()
    resumed = run_module(MODULE, {"public_ips": ips, "poll_interval": 0.2, "wait_timeout": 60})
    assert not resumed.failed, resumed.msg
    assert "resumed" in {a["action"] for a in resumed["addresses"]} <= {"resumed", "none"}
    assert api_calls.calls["MoveAddressToVpc"] == 0
    assert lab.domains() == {"vpc": 24}
    assert resumed["progress"][-1].startswith("moves to VPC: 24/24 done")


def test_wait_timeout_is_bounded_and_resumable(make_lab, run_module, virtual_time) -> None:
    lab = make_lab("vpc-day", latency_scale=1.0)  # 90 s moves
    lab.disassociate()
    ips = lab.all_ips()[:3]
    result = run_module(MODULE, {"public_ips": ips, "wait_timeout": 1, "poll_interval": 0.2})
    assert result.failed and "Still moving after 1s" in result.msg and "rerun" in result.msg
    assert result["moved"] == 3
    next_task(virtual_time)
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


def test_an_eip_allocated_less_than_24_hours_ago_fails_the_whole_move_before_any(
    make_lab, run_module, api_calls
) -> None:
    """The probe's M02: two movable EIPs, then one allocated an hour ago; AWS would refuse the third after
    moving the first two. CloudTrail's AllocateAddress events name it before anything moves."""
    lab = make_lab("vpc-day")
    ips = lab.all_ips()[:2]
    lab.disassociate(ips)
    young = lab.ec2.allocate_address(Domain="standard")["PublicIp"]
    STATE.vpc_limit = 100
    api_calls.reset()
    result = run_module(MODULE, {"public_ips": [*ips, young], "poll_interval": 1})
    assert result.failed and not result.changed
    assert result.msg.startswith(f"Nothing was moved. {young}: allocated at "), result.msg
    assert (
        "MoveAddressToVpc refuses an address allocated less than 24 hours ago, so it can move from"
        in result.msg
    )
    assert "hold the swap until then, or take it out of the plan" in result.msg
    assert lab.domains([*ips, young]) == {"standard": 3}, "nothing moved"
    assert api_calls.calls["LookupEvents"] == 1 and "MoveAddressToVpc" not in api_calls.calls
    without = run_module(MODULE, {"public_ips": ips, "poll_interval": 1})
    assert without.changed and not without.failed and lab.domains(ips) == {"vpc": 2}, without.msg


def test_without_cloudtrail_the_age_is_not_checked_and_the_module_says_so(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    ips = lab.all_ips()[:2]
    lab.disassociate(ips)
    lab.fault("LookupEvents", nth=1, code="AccessDeniedException", message="not authorized to LookupEvents")
    result = run_module(MODULE, {"public_ips": ips, "poll_interval": 1})
    assert result.changed and not result.failed, result.msg
    warnings = str(result.data.get("warnings"))
    assert "Could not read CloudTrail's event history (AccessDeniedException" in warnings, warnings
    assert "the 24-hour rule of MoveAddressToVpc was not checked" in warnings


def test_changed_says_whether_a_move_was_issued_even_when_the_module_fails(make_lab, run_module) -> None:
    """The probe: a describe failing after the moves reported changed=false; a refused first move, true."""
    lab = make_lab("vpc-day")
    ips = lab.all_ips()[:2]
    lab.disassociate(ips)
    # the first poll after the moves fails: they were issued, so changed is true
    lab.fault("DescribeMovingAddresses", nth=2, code="UnauthorizedOperation", message="denied", times=50)
    after = run_module(MODULE, {"public_ips": ips, "poll_interval": 1})
    assert after.failed and after.changed, after.msg
    assert "moves were issued: rerun to finish, nothing moves twice" in after.msg
    lab.lab.state.clear_faults()
    rerun = run_module(MODULE, {"public_ips": ips, "poll_interval": 1})
    assert not rerun.failed and lab.domains(ips) == {"vpc": 2}, rerun.msg
    # the first move is refused: nothing was issued, so changed is false
    more = lab.all_ips()[2:4]
    lab.disassociate(more)
    lab.fault("MoveAddressToVpc", nth=2, code="InvalidParameterValue", message="refused")
    refused = run_module(MODULE, {"public_ips": more, "poll_interval": 1})
    assert refused.failed and not refused.changed and "0 moves issued before it" in refused.msg, refused.msg
    assert lab.domains(more) == {"standard": 2}


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
def test_describe_calls_do_not_grow_with_the_number_of_eips(
    make_lab, run_module, api_calls, virtual_time, count
) -> None:
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


def test_poll_interval_below_one_second_is_raised_to_one(make_lab, run_module, virtual_time) -> None:
    """AWS allows one DescribeMovingAddresses per second (bucket 1, refill 1/s): the module never polls
    faster, whatever poll_interval says, and says so."""
    lab = make_lab("vpc-day", latency_scale=0.01)  # a move takes 0.9 s
    lab.disassociate()
    result = run_module(MODULE, {"public_ips": lab.all_ips()[:1], "poll_interval": 0.2})
    assert not result.failed, result.msg
    assert "poll_interval 0.2 raised to 1" in str(result.data.get("warnings"))
    assert result["invocation"]["module_args"]["poll_interval"] == 1.0


def test_24_moves_against_the_throttled_lab_are_never_throttled(make_lab, run_module) -> None:
    """AWS: MoveAddressToVpc and DescribeMovingAddresses each have a bucket of 1 token refilled at 1 per
    second ("Request throttling for the Amazon EC2 API", aws-rules §1f); sending 24 moves back to back gets
    about 23 of them RequestLimitExceeded (aws-rules §3 R-8). The module paces itself: in real time, the
    DryRun then 24 moves, one per second, and not one request throttled. Measured: 24.6 s (24 s of pacing:
    the DryRun takes the first token, so the 24th move goes out 24 s after it)."""
    lab = make_lab("vpc-day")
    lab.disassociate()
    STATE.reset_api_stats()
    start = time.monotonic()
    result = run_module(MODULE, {"public_ips": lab.all_ips()})
    took = time.monotonic() - start
    assert not result.failed, result.msg
    assert result["moved"] == 24 and lab.domains() == {"vpc": 24}
    stats = STATE.api_stats_dict()
    assert stats["services"]["ec2"]["MoveAddressToVpc"] == {"calls": 25, "throttled": 0, "faults": 0}
    assert stats["totals"]["throttled"] == 0
    assert 23 <= took < 40, took


def test_four_runs_restore_every_moved_eip_to_classic(make_lab, run_module, api_calls, virtual_time) -> None:
    """domain=standard, rollback's way back: every moved EIP restored to EC2-Classic, paced as AWS allows
    (RestoreAddressToClassic: 1 request per second), check mode honest, a rerun changes nothing."""
    lab = make_lab("vpc-day")
    lab.disassociate()
    ips = lab.all_ips()
    assert run_module(MODULE, {"public_ips": ips, "poll_interval": 0}).changed
    assert lab.domains() == {"vpc": 24}
    back = {"public_ips": ips, "poll_interval": 0, "domain": "standard"}

    next_task(virtual_time)
    check = run_module(MODULE, back, check_mode=True, diff=True)
    assert check.changed and {a["action"] for a in check["addresses"]} == {"would_move"}
    assert check["diff"]["after"][ips[0]] == {"domain": "standard", "instance_id": None}
    assert lab.domains() == {"vpc": 24}, "check mode changed nothing"

    next_task(virtual_time)
    api_calls.reset()
    real = run_module(MODULE, back)
    assert real.changed and not real.failed, real.msg
    assert real["moved"] == 24 and {a["status"] for a in real["addresses"]} == {"InClassic"}
    assert lab.domains() == {"standard": 24}
    assert api_calls.calls["RestoreAddressToClassic"] == api_calls.attempts["RestoreAddressToClassic"] == 25
    assert api_calls.calls.get("MoveAddressToVpc", 0) == 0
    assert real["progress"][-1].startswith("restores to EC2-Classic: 24/24 done")

    next_task(virtual_time)
    again = run_module(MODULE, back)
    assert not again.changed and {a["action"] for a in again["addresses"]} == {"none"}


def test_restore_of_an_eip_still_moving_to_the_vpc_fails_and_restores_nothing(
    make_lab, run_module, api_calls, virtual_time
) -> None:
    lab = make_lab("vpc-day", latency_scale=0.5)  # 45 s moves: still moving when the restore is asked
    lab.disassociate()
    ips = lab.all_ips()
    assert run_module(MODULE, {"public_ips": ips[:2], "wait": False}).changed
    next_task(virtual_time)
    api_calls.reset()
    result = run_module(MODULE, {"public_ips": ips[:2], "domain": "standard"})
    assert result.failed and result.msg.startswith("Nothing was moved.")
    assert f"{ips[0]}: is being moved to the VPC (movingToVpc); wait and rerun" in result.msg, result.msg
    assert api_calls.calls.get("RestoreAddressToClassic", 0) == 0
