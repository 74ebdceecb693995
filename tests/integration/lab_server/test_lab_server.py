"""The simulated AWS over HTTP: the incident's errors, moves in progress, faults, latency, control API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lab.awssim.client import LabClient, LabError

REPO = Path(__file__).resolve().parents[3]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - start


def test_incident_sixth_move_fails_after_five(lab: LabClient, aws: Any) -> None:
    world = lab.seed("incident")
    # about the limit, not the rate: these moves come milliseconds apart, AWS allows 1 per second
    lab.set_throttle(False)
    ec2 = aws("ec2")
    with pytest.raises(ClientError) as err:
        ec2.associate_address(PublicIp=world["eips"]["web-3"], InstanceId=world["instances"]["new-lb-1"])
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert (
        err.value.response["Error"]["Message"]
        == "You must specify an allocation id when mapping an address to a VPC instance"
    )
    assert len(world["eips"]) == 24
    for ip in world["eips"].values():
        ec2.disassociate_address(PublicIp=ip)
    statuses, error = [], None
    for ip in world["eips"].values():
        try:
            statuses.append(ec2.move_address_to_vpc(PublicIp=ip)["Status"])
        except ClientError as exc:
            error = exc.response["Error"]
            break
    assert statuses == ["MoveInProgress"] * 5
    assert error is not None
    assert error["Code"] == "AddressLimitExceeded"
    assert error["Message"] == "The maximum limit on Elastic IP addresses has been reached."


def test_limits_settable_while_running(lab: LabClient, aws: Any) -> None:
    lab.set_limits(classic=40, vpc=17)
    attrs = {
        a["AttributeName"]: a["AttributeValues"][0]["AttributeValue"]
        for a in aws("ec2").describe_account_attributes()["AccountAttributes"]
    }
    assert (attrs["max-elastic-ips"], attrs["vpc-max-elastic-ips"]) == ("40", "17")
    assert lab.state()["limits"] == {"classic": 40, "vpc": 17}


def test_move_seen_in_progress_then_done_by_the_ticker(lab: LabClient, aws: Any) -> None:
    world = lab.seed("vpc-day")
    lab.set_latency(0.003)  # address_move 90 s -> 0.27 s
    ec2 = aws("ec2")
    ip = world["eips"]["web-9"]
    ec2.disassociate_address(PublicIp=ip)  # eventually consistent (eip_disassociate 3 s -> 9 ms)
    wait_for(lambda: (lab.routes()[ip] or None) is None)
    start = time.monotonic()
    assert ec2.move_address_to_vpc(PublicIp=ip)["Status"] == "MoveInProgress"
    assert ec2.describe_moving_addresses()["MovingAddressStatuses"] == [
        {"MoveStatus": "movingToVpc", "PublicIp": ip}
    ]
    # no request in between: the server's ticker completes the move on its own (and a second between the
    # two DescribeMovingAddresses: AWS allows 1 per second)
    time.sleep(1.0)
    assert lab.state()["pending"] == []
    assert ec2.describe_moving_addresses()["MovingAddressStatuses"] == []
    addr = ec2.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert addr["Domain"] == "vpc"
    assert time.monotonic() - start >= 0.27
    # associated by allocation id it routes to the new load balancer once visible (eip_associate 9 ms)
    ec2.associate_address(AllocationId=addr["AllocationId"], InstanceId=world["instances"]["new-lb-1"])
    # (new-lb-1 has one interface: InstanceId alone means its primary private IP)
    wait_for(lambda: (lab.routes()[ip] or {}).get("instance_id") == world["instances"]["new-lb-1"])
    assert lab.routes()[ip]["lab_host"] == "cs-new-lb-1"


def test_injected_fault_fires_on_nth_call_over_http(lab: LabClient, aws: Any) -> None:
    world = lab.seed("vpc-day")
    # about fault rules, not the rate: four moves milliseconds apart, AWS allows 1 per second
    lab.set_throttle(False)
    ec2 = aws("ec2")
    for ip in world["eips"].values():
        ec2.disassociate_address(PublicIp=ip)
    lab.add_fault("MoveAddressToVpc", nth=3, code="InvalidAddress.Locked", message="locked by the lab")
    ips = list(world["eips"].values())
    ec2.move_address_to_vpc(PublicIp=ips[0])
    ec2.move_address_to_vpc(PublicIp=ips[1])
    with pytest.raises(ClientError) as err:
        ec2.move_address_to_vpc(PublicIp=ips[2])
    assert err.value.response["Error"]["Code"] == "InvalidAddress.Locked"
    assert err.value.response["Error"]["Message"] == "locked by the lab"
    assert ec2.move_address_to_vpc(PublicIp=ips[2])["Status"] == "MoveInProgress"
    assert lab.state()["faults"][0]["fired"] == 1
    lab.clear_faults()
    assert lab.state()["faults"] == []


def test_stop_takes_its_scaled_time_over_http(lab: LabClient, aws: Any) -> None:
    world = lab.seed("default")
    lab.set_latency(0.005)  # instance_stop 60 s -> 0.3 s
    ec2 = aws("ec2")
    iid = world["instances"]["old-web-2"]

    def state() -> str:
        return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]  # type: ignore[no-any-return]

    start = time.monotonic()
    ec2.stop_instances(InstanceIds=[iid])
    assert state() == "stopping"
    wait_for(lambda: state() == "stopped")
    assert time.monotonic() - start == pytest.approx(0.3, abs=0.2)


def test_mounted_volume_detach_stays_detaching_over_http(lab: LabClient, aws: Any) -> None:
    world = lab.seed("vpc-day")
    ec2 = aws("ec2")
    vol = world["volumes"]["home-1"]
    lab.set_mounted(vol, True)
    ec2.detach_volume(VolumeId=vol)
    time.sleep(0.2)
    assert ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["Attachments"][0]["State"] == "detaching"
    lab.set_mounted(vol, False)
    wait_for(lambda: ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"] == "available")


def test_unknown_scenario_and_endpoint_are_refused(lab: LabClient) -> None:
    with pytest.raises(LabError, match="unknown scenario"):
        lab.seed("nope")
    with pytest.raises(LabError, match="no such control endpoint"):
        lab._call("GET", "nothing-here")


def test_replay_incident_script_shows_the_write_ups_errors(lab_url: str) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": lab_url}
    out = subprocess.run(
        [sys.executable, str(REPO / "lab" / "replay_incident.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "You must specify an allocation id when mapping an address to a VPC instance" in out
    assert out.count('"Status": "MoveInProgress"') == 5
    assert (
        "web-5\n\nAn error occurred (AddressLimitExceeded) when calling the MoveAddressToVpc operation: "
        in out
    )
    assert out.rstrip().endswith("The maximum limit on Elastic IP addresses has been reached.")
