"""In-process: Classic EIPs, the move to the VPC, the separate limits and the association rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lab.awssim import Lab, mock_lab
from lab.awssim.control import backdate_addresses


@pytest.fixture
def incident() -> Iterator[Lab]:
    with mock_lab("incident") as lab:
        yield lab


@pytest.fixture
def small() -> Iterator[Lab]:
    """A bare Classic-enabled lab with three Classic EIPs, each on its own Classic instance (a Classic
    instance holds one EIP), plus a VPC instance (cheaper than seeding a whole scenario); `world` is shaped
    like a seeded one.

    Unthrottled: these tests are about what each call does, and make calls (e.g. two MoveAddressToVpc)
    milliseconds apart that AWS would throttle (1 per second); throttling is tested in test_throttle.py."""
    with mock_lab(throttle=False) as lab:
        client = ec2()
        vpc = client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = client.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        run = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1}
        olds = [client.run_instances(**run)["Instances"][0]["InstanceId"] for _ in range(3)]
        maint = client.run_instances(**run)["Instances"][0]["InstanceId"]
        new = client.run_instances(SubnetId=subnet, **run)["Instances"][0]["InstanceId"]
        instances = {f"old-lb-{n + 1}": old for n, old in enumerate(olds)}
        lab.world = {"instances": {**instances, "maint-1": maint, "new-lb-1": new}, "eips": {}}
        for i, name in enumerate(["web-3", "web-9", "web-5"]):
            ip = client.allocate_address(
                Domain="standard",
                Address=f"127.100.0.{i + 1}",
                TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": name}]}],
            )["PublicIp"]
            client.associate_address(PublicIp=ip, InstanceId=olds[i])
            lab.world["eips"][name] = ip
        backdate_addresses(48)
        yield lab


def ec2() -> Any:
    return boto3.client("ec2", region_name="us-east-1")


def _disassociate_all(client: Any, lab: Lab) -> None:
    for ip in lab.world["eips"].values():
        client.disassociate_address(PublicIp=ip)


def _attrs(client: Any) -> dict[str, list[str]]:
    res = client.describe_account_attributes()["AccountAttributes"]
    return {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]] for a in res}


def test_classic_eips_and_instances_are_described_as_aws_does(incident: Lab) -> None:
    client = ec2()
    addrs = client.describe_addresses()["Addresses"]
    assert len(addrs) == 24
    for a in addrs:
        assert a["Domain"] == "standard"
        assert "AllocationId" not in a
        assert "AssociationId" not in a
        assert a["PublicIp"].startswith("127.100.")
    old_lb = client.describe_instances(InstanceIds=[incident.world["instances"]["old-lb-1"]])
    inst = old_lb["Reservations"][0]["Instances"][0]
    assert "VpcId" not in inst
    assert "SubnetId" not in inst
    new_lb = client.describe_instances(InstanceIds=[incident.world["instances"]["new-lb-1"]])
    assert new_lb["Reservations"][0]["Instances"][0]["VpcId"] == incident.world["vpc_id"]


def test_account_attributes_report_separate_limits(incident: Lab) -> None:
    attrs = _attrs(ec2())
    assert attrs["max-elastic-ips"] == ["30"]
    assert attrs["vpc-max-elastic-ips"] == ["5"]
    assert attrs["supported-platforms"] == ["EC2", "VPC"]
    incident.state.vpc_limit = 40
    assert _attrs(ec2())["vpc-max-elastic-ips"] == ["40"]


def test_vpc_limit_quota_in_service_quotas() -> None:
    with mock_lab() as lab:
        sq = boto3.client("service-quotas", region_name="us-east-1")
        assert sq.get_service_quota(ServiceCode="ec2", QuotaCode="L-0263D0A3")["Quota"]["Value"] == 5.0
        lab.state.vpc_limit = 24
        assert sq.get_service_quota(ServiceCode="ec2", QuotaCode="L-0263D0A3")["Quota"]["Value"] == 24.0


def test_sixth_move_fails_with_address_limit_exceeded_after_five(incident: Lab) -> None:
    # The write-up's loop of CLI calls was about a second per move; these six come milliseconds apart,
    # which AWS would throttle (MoveAddressToVpc: 1 per second). This test is about the limit: unthrottled.
    incident.state.throttle_enabled = False
    client = ec2()
    _disassociate_all(client, incident)
    statuses: list[str] = []
    error = None
    for ip in incident.world["eips"].values():
        try:
            statuses.append(client.move_address_to_vpc(PublicIp=ip)["Status"])
        except ClientError as exc:
            error = exc
            break
    assert statuses == ["MoveInProgress"] * 5
    assert error is not None
    assert error.response["Error"]["Code"] == "AddressLimitExceeded"
    assert error.response["Error"]["Message"] == "The maximum limit on Elastic IP addresses has been reached."


def test_allocate_over_the_vpc_limit_fails() -> None:
    with mock_lab(platforms=("VPC",)) as lab:
        lab.state.vpc_limit = 2
        client = ec2()
        client.allocate_address(Domain="vpc")
        client.allocate_address(Domain="vpc")
        with pytest.raises(ClientError) as err:
            client.allocate_address(Domain="vpc")
        assert err.value.response["Error"]["Code"] == "AddressLimitExceeded"


def test_moved_address_lands_in_vpc_with_new_allocation_id(small: Lab) -> None:
    client = ec2()
    ip = small.world["eips"]["web-3"]
    client.disassociate_address(PublicIp=ip)
    answer = client.move_address_to_vpc(PublicIp=ip)
    answer.pop("ResponseMetadata")
    assert answer == {"Status": "MoveInProgress"}  # as the write-up's CLI showed: no AllocationId yet
    moved = client.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert moved["Domain"] == "vpc"
    assert moved["AllocationId"].startswith("eipalloc-")
    assert moved["Tags"] == [{"Key": "Name", "Value": "web-3"}]
    assert client.describe_moving_addresses()["MovingAddressStatuses"] == []
    assert client.move_address_to_vpc(PublicIp=ip)["Status"] == "InVpc"


def test_move_is_seen_in_progress_before_it_completes() -> None:
    # unthrottled: it polls DescribeMovingAddresses every 20 ms, AWS allows 1 per second
    with mock_lab("incident", latency_scale=0.02, throttle=False) as lab:  # address_move 90 s -> 1.8 s
        client = ec2()
        ip = lab.world["eips"]["web-9"]
        client.disassociate_address(PublicIp=ip)  # eventually consistent: wait until it shows
        while client.describe_addresses(PublicIps=[ip])["Addresses"][0].get("InstanceId"):
            time.sleep(0.01)
        assert client.move_address_to_vpc(PublicIp=ip)["Status"] == "MoveInProgress"
        moving = client.describe_moving_addresses(PublicIps=[ip])["MovingAddressStatuses"]
        assert moving == [{"MoveStatus": "movingToVpc", "PublicIp": ip}]
        assert client.describe_addresses(PublicIps=[ip])["Addresses"][0]["Domain"] == "standard"
        deadline = time.monotonic() + 15
        while client.describe_moving_addresses()["MovingAddressStatuses"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.describe_moving_addresses()["MovingAddressStatuses"] == []
        assert client.describe_addresses(PublicIps=[ip])["Addresses"][0]["Domain"] == "vpc"


def test_restore_address_to_classic(small: Lab) -> None:
    client = ec2()
    ip = small.world["eips"]["web-3"]
    client.disassociate_address(PublicIp=ip)
    client.move_address_to_vpc(PublicIp=ip)
    assert client.restore_address_to_classic(PublicIp=ip)["Status"] == "MoveInProgress"
    back = client.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert back["Domain"] == "standard"
    assert "AllocationId" not in back
    assert back["Tags"] == [{"Key": "Name", "Value": "web-3"}]


def test_move_refuses_an_associated_address(small: Lab) -> None:
    with pytest.raises(ClientError) as err:
        ec2().move_address_to_vpc(PublicIp=small.world["eips"]["web-3"])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "associated" in err.value.response["Error"]["Message"]


def test_move_refuses_an_address_allocated_less_than_a_day_ago(small: Lab) -> None:
    client = ec2()
    small.state.classic_limit = 100
    ip = client.allocate_address(Domain="standard")["PublicIp"]
    with pytest.raises(ClientError) as err:
        client.move_address_to_vpc(PublicIp=ip)
    assert "24 hours" in err.value.response["Error"]["Message"]


def test_associate_by_public_ip_onto_vpc_instance_fails_with_aws_message(small: Lab) -> None:
    with pytest.raises(ClientError) as err:
        ec2().associate_address(
            PublicIp=small.world["eips"]["web-3"], InstanceId=small.world["instances"]["new-lb-1"]
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert (
        err.value.response["Error"]["Message"]
        == "You must specify an allocation id when mapping an address to a VPC instance"
    )


def test_vpc_eip_refused_on_classic_instance(small: Lab) -> None:
    client = ec2()
    small.state.vpc_limit = 10
    alloc = client.allocate_address(Domain="vpc")["AllocationId"]
    with pytest.raises(ClientError) as err:
        client.associate_address(AllocationId=alloc, InstanceId=small.world["instances"]["maint-1"])
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_classic_eip_moves_between_classic_instances_by_public_ip(small: Lab) -> None:
    client = ec2()
    ip = small.world["eips"]["web-3"]
    maint = small.world["instances"]["maint-1"]
    client.associate_address(PublicIp=ip, InstanceId=maint)
    assert client.describe_addresses(PublicIps=[ip])["Addresses"][0]["InstanceId"] == maint


def test_stopping_classic_instance_drops_its_eips_but_vpc_keeps_them(small: Lab) -> None:
    client = ec2()
    old, new = small.world["instances"]["old-lb-1"], small.world["instances"]["new-lb-1"]
    others = [small.world["instances"]["old-lb-2"], small.world["instances"]["old-lb-3"]]
    small.state.vpc_limit = 10
    alloc = client.allocate_address(Domain="vpc")["AllocationId"]
    client.associate_address(AllocationId=alloc, InstanceId=new)

    def on(instance_id: str) -> list[str]:
        return [
            a["PublicIp"]
            for a in client.describe_addresses()["Addresses"]
            if a.get("InstanceId") == instance_id
        ]

    assert len(on(old)) == 1
    assert len(on(new)) == 1
    client.stop_instances(InstanceIds=[old, new])
    assert on(old) == []
    assert len(on(new)) == 1
    assert [len(on(i)) for i in others] == [1, 1]  # the running Classic instances keep theirs


def test_association_becomes_visible_only_after_its_delay() -> None:
    # unthrottled: it polls DescribeAddresses every 10 ms (100/s, AWS allows 20/s after a burst of 100)
    # and measures the delay, which a throttled poll's retry backoff would blur
    with mock_lab("vpc-day", latency_scale=0.5, throttle=False) as lab:  # eip_associate 3 s -> 1.5 s
        client = ec2()
        ip = lab.world["eips"]["web-3"]
        maint = lab.world["instances"]["maint-1"]
        start = time.monotonic()
        client.associate_address(PublicIp=ip, InstanceId=maint)
        assert client.describe_addresses(PublicIps=[ip])["Addresses"][0]["InstanceId"] != maint
        while client.describe_addresses(PublicIps=[ip])["Addresses"][0]["InstanceId"] != maint:
            assert time.monotonic() - start < 10
            time.sleep(0.01)
        assert time.monotonic() - start == pytest.approx(1.5, abs=0.5)
