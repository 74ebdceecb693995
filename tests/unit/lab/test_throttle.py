"""In-process: EC2 API request throttling (lab/awssim/throttle.py) and the per-operation call counters.

AWS's rules are quoted from "Request throttling for the Amazon EC2 API"
(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html, aws-rules §1f) in each
test's docstring. The buckets run on an injected clock that only moves when a test says so (`clock`),
so a burst is exact and nothing sleeps. Clients make exactly one attempt (`total_max_attempts: 1`:
botocore's `max_attempts` counts retries, so `max_attempts: 1` would still retry once) so the throttle is
visible instead of being retried away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lab.awssim import STATE, Lab, mock_lab
from lab.awssim.control import backdate_addresses
from lab.awssim.throttle import (
    MUTATING,
    NON_MUTATING,
    UNFILTERED,
    request_spec,
    resource_cost,
)

ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
BOGUS_INSTANCE = "i-0123456789abcdef0"
BOGUS_ENI = "eni-0123456789abcdef0"


class FakeClock:
    """The throttle's clock: stands still unless advanced."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(STATE.throttle, "clock", fake)
    return fake


@pytest.fixture
def lab(clock: FakeClock) -> Iterator[Lab]:
    with mock_lab() as lab:
        yield lab


def ec2(region: str = "us-east-1", config: Config = ONE_ATTEMPT) -> Any:
    return boto3.client("ec2", region_name=region, config=config)


def outcome(call: Callable[[], Any]) -> str:
    """ "throttled" when AWS answered RequestLimitExceeded, else "admitted" (whatever else it answered:
    a request that fails for another reason was still let in and took its token)."""
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "RequestLimitExceeded":
            return "throttled"
    return "admitted"


def burst(call: Callable[[], Any], n: int) -> list[str]:
    return [outcome(call) for _ in range(n)]


def stats(operation: str, service: str = "ec2") -> dict[str, int]:
    return STATE.api_stats_dict()["services"].get(service, {}).get(operation, {})


# --------------------------------------------------------------------------- one bucket per category


def _calls(client: Any) -> dict[str, Callable[[], Any]]:
    """One call of each category. Calls on resources that do not exist are admitted (and answered
    NotFound) or throttled like any other request; DryRun calls change nothing."""
    tags = {"Resources": [BOGUS_INSTANCE], "Tags": [{"Key": "k", "Value": "v"}]}
    run = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1}
    return {
        "DescribeAddresses": lambda: client.describe_addresses(),
        "DescribeInstances": lambda: client.describe_instances(),
        "DescribeVolumes": lambda: client.describe_volumes(),
        "AllocateAddress": lambda: client.allocate_address(Domain="vpc", DryRun=True),
        "AssociateAddress": lambda: client.associate_address(
            AllocationId="eipalloc-1", InstanceId=BOGUS_INSTANCE
        ),
        "MoveAddressToVpc": lambda: client.move_address_to_vpc(PublicIp="127.100.9.9"),
        "DescribeMovingAddresses": lambda: client.describe_moving_addresses(),
        "RestoreAddressToClassic": lambda: client.restore_address_to_classic(PublicIp="127.100.9.9"),
        "StartInstances": lambda: client.start_instances(InstanceIds=[BOGUS_INSTANCE]),
        "RunInstances": lambda: client.run_instances(**run),
        "CreateTags": lambda: client.create_tags(DryRun=True, **tags),
        "DeleteTags": lambda: client.delete_tags(DryRun=True, **tags),
        "AssignPrivateIpAddresses": lambda: client.assign_private_ip_addresses(
            NetworkInterfaceId=BOGUS_ENI, SecondaryPrivateIpAddressCount=1
        ),
        "UnassignPrivateIpAddresses": lambda: client.unassign_private_ip_addresses(
            NetworkInterfaceId=BOGUS_ENI, PrivateIpAddresses=["10.0.1.99"]
        ),
        "ModifyNetworkInterfaceAttribute": lambda: client.modify_network_interface_attribute(
            NetworkInterfaceId=BOGUS_ENI, SourceDestCheck={"Value": False}
        ),
        "TerminateInstances": lambda: client.terminate_instances(InstanceIds=[BOGUS_INSTANCE]),
    }


# (operation, bucket size, refill per second), as in aws-rules §1f
CATEGORIES = [
    ("DescribeAddresses", 100, 20),  # non-mutating
    ("DescribeInstances", 50, 10),  # unfiltered and unpaginated
    ("DescribeVolumes", 50, 10),  # unfiltered and unpaginated
    ("AllocateAddress", 50, 5),  # mutating
    ("AssociateAddress", 50, 5),  # mutating
    ("MoveAddressToVpc", 1, 1),
    ("DescribeMovingAddresses", 1, 1),
    ("RestoreAddressToClassic", 1, 1),
    ("StartInstances", 5, 2),
    ("RunInstances", 5, 2),
    ("CreateTags", 100, 10),
    ("DeleteTags", 100, 10),
    ("AssignPrivateIpAddresses", 100, 5),
    ("UnassignPrivateIpAddresses", 100, 5),
    ("ModifyNetworkInterfaceAttribute", 100, 5),
    ("TerminateInstances", 100, 5),
]


@pytest.mark.parametrize(("operation", "size", "refill"), CATEGORIES, ids=[c[0] for c in CATEGORIES])
def test_each_bucket_bursts_to_its_size_then_refills_at_its_rate(
    lab: Lab, clock: FakeClock, operation: str, size: int, refill: float
) -> None:
    """AWS: "the token bucket size for DescribeHosts, a non-mutating API action, is 100 tokens. You can
    make up to 100 DescribeHosts requests in one second. If you exceed 100 requests in a second, you are
    throttled on that API ... The bucket is then refilled by 20 tokens every second, until it reaches its
    maximum capacity" — with the sizes and refill rates of the page's tables (aws-rules §1f)."""
    call = _calls(ec2())[operation]
    assert burst(call, size) == ["admitted"] * size
    assert outcome(call) == "throttled"
    clock.advance(1 / refill)  # one token back
    assert burst(call, 2) == ["admitted", "throttled"]
    clock.advance(size / refill + 10)  # never more than the bucket holds
    assert burst(call, size + 1) == ["admitted"] * size + ["throttled"]
    assert stats(operation)["throttled"] == 3


def test_the_tables_classify_every_action() -> None:
    """AWS: non-mutating "Describe*, List*, Get*, Search*" 100/20; mutating "All APIs that are not a
    Describe*, List*, Search*, or Get*" 50/5 (AssociateAddress, DisassociateAddress, AttachVolume,
    DetachVolume, StopInstances, AllocateAddress, ...); unfiltered and unpaginated DescribeInstances,
    DescribeInstanceStatus, DescribeNetworkInterfaces, DescribeSecurityGroups, DescribeSnapshots,
    DescribeSpotInstanceRequests, DescribeVolumes 50/10."""
    for action in (
        "DescribeAddresses",
        "ListImagesInRecycleBin",
        "GetConsoleOutput",
        "SearchLocalGatewayRoutes",
    ):
        assert request_spec(action, {})[1] == NON_MUTATING
    for action in (
        "AssociateAddress",
        "DisassociateAddress",
        "AttachVolume",
        "DetachVolume",
        "StopInstances",
    ):
        assert request_spec(action, {})[1] == MUTATING
    for action in (
        "DescribeInstances",
        "DescribeInstanceStatus",
        "DescribeNetworkInterfaces",
        "DescribeSecurityGroups",
        "DescribeSnapshots",
        "DescribeSpotInstanceRequests",
        "DescribeVolumes",
    ):
        assert request_spec(action, {"Action": [action], "Version": ["2016-11-15"]})[1] == UNFILTERED
        assert request_spec(action, {"MaxResults": ["5"]})[1] == NON_MUTATING
        assert request_spec(action, {"Filter.1.Name": ["x"], "Filter.1.Value.1": ["y"]})[1] == NON_MUTATING
    assert request_spec("DescribeInstances", {"InstanceId.1": [BOGUS_INSTANCE]})[1] == NON_MUTATING
    assert request_spec("DescribeSecurityGroups", {"GroupName.1": ["default"]})[1] == NON_MUTATING
    assert request_spec("DescribeAddresses", {})[1] == NON_MUTATING  # not in the unfiltered table
    params = {"InstanceId.1": ["i-1"], "InstanceId.2": ["i-2"], "InstanceId.3": ["i-3"]}
    assert resource_cost("StopInstances", params)[2] == 3  # type: ignore[index]
    assert resource_cost("RunInstances", {"MinCount": ["1"], "MaxCount": ["7"]})[2] == 7  # type: ignore[index]
    assert resource_cost("AssociateAddress", {}) is None


def test_filtered_and_paginated_describe_instances_are_not_in_the_unfiltered_bucket(
    lab: Lab, clock: FakeClock
) -> None:
    """AWS: the 50-token bucket (refill 10/s) is for "Unfiltered and unpaginated" DescribeInstances;
    a call with filters, instance IDs or MaxResults is an ordinary non-mutating request (100, 20/s)."""
    client = ec2()
    assert burst(client.describe_instances, 50) == ["admitted"] * 50
    assert outcome(client.describe_instances) == "throttled"
    filtered = [
        lambda: client.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}]),
        lambda: client.describe_instances(InstanceIds=[BOGUS_INSTANCE]),
        lambda: client.describe_instances(MaxResults=5),
    ]
    assert [outcome(call) for call in filtered] == ["admitted"] * 3


def test_buckets_are_per_api_per_region(lab: Lab, clock: FakeClock) -> None:
    """AWS: "Amazon EC2 throttles EC2 API requests for each AWS account on a per-Region basis" and
    "each API is evaluated individually ... requests for other API are not affected"."""
    client = ec2()
    ips = ["127.100.9.1", "127.100.9.2"]
    assert [outcome(lambda ip=ip: client.move_address_to_vpc(PublicIp=ip)) for ip in ips] == [
        "admitted",
        "throttled",
    ]
    assert outcome(client.describe_moving_addresses) == "admitted"  # another API: its own bucket
    assert (
        outcome(lambda: ec2("eu-west-1").move_address_to_vpc(PublicIp=ips[1])) == "admitted"
    )  # another region


# --------------------------------------------------------------------------- the answer, and no change


def test_throttled_call_answers_request_limit_exceeded_503(lab: Lab, clock: FakeClock) -> None:
    """AWS: "If you exceed an API throttling limit, you get the RequestLimitExceeded error code", as
    "Request limit exceeded." with HTTP status 503 (public reports, e.g. bosh-aws-cpi-release#61:
    "Request limit exceeded. (Service: AmazonEC2; Status Code: 503; Error Code: RequestLimitExceeded")."""
    client = ec2()
    client.describe_moving_addresses()
    with pytest.raises(ClientError) as exc:
        client.describe_moving_addresses()
    response = exc.value.response
    assert response["Error"] == {"Code": "RequestLimitExceeded", "Message": "Request limit exceeded."}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_botocore_retries_a_throttled_call_by_itself(
    lab: Lab, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: "we recommend that you use an exponential backoff and retry strategy"; botocore treats the
    answer as throttling (standard mode: `botocore/retries/standard.py` ThrottledRetryableChecker lists
    RequestLimitExceeded; legacy mode: `botocore/data/_retry.json` ec2 `request_limit_exceeded`, code
    RequestLimitExceeded with HTTP 503) and retries it after a backoff, so the caller sees no error."""
    import time

    slept: list[float] = []

    def sleep(seconds: float) -> None:  # backoff passes on the throttle's clock, instantly
        slept.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    # standard mode (botocore's default) with room for its jittered backoff (random 0..1 s, 0..2 s, ...)
    # to add up to the one second the bucket needs
    retrying = Config(retries={"mode": "standard", "total_max_attempts": 10})
    client = boto3.client("ec2", region_name="us-east-1", config=retrying)
    client.describe_moving_addresses()
    client.describe_moving_addresses()  # throttled at first, then retried after a backoff
    assert slept
    assert sum(slept) >= 1.0 - 1e-6
    assert stats("DescribeMovingAddresses")["throttled"] >= 1
    assert stats("DescribeMovingAddresses")["calls"] == 2 + stats("DescribeMovingAddresses")["throttled"]


def test_a_throttled_move_changes_nothing(clock: FakeClock) -> None:
    """AWS: a throttled request is refused ("you are throttled on that API and the remaining requests
    within that second fail"): nothing it asked for happens."""
    with mock_lab("vpc-day") as lab:
        client = ec2()
        ips = list(lab.world["eips"].values())[:2]
        for ip in ips:  # unassociated first, with throttling off: not what this test is about
            with STATE.unthrottled():
                client.disassociate_address(PublicIp=ip)
        client.move_address_to_vpc(PublicIp=ips[0])
        assert outcome(lambda: client.move_address_to_vpc(PublicIp=ips[1])) == "throttled"
        with STATE.unthrottled():
            addresses = {a["PublicIp"]: a for a in client.describe_addresses()["Addresses"]}
            moving = client.describe_moving_addresses()["MovingAddressStatuses"]
        assert addresses[ips[1]]["Domain"] == "standard"
        assert ips[1] not in {m["PublicIp"] for m in moving}
        assert addresses[ips[0]]["Domain"] == "vpc"


def test_dry_run_counts_like_the_call(lab: Lab, clock: FakeClock) -> None:
    """AWS does not say whether DryRun requests are throttled; the lab counts them like the call (a
    DryRun is a request AWS evaluates). So eip_move_to_vpc's DryRun takes MoveAddressToVpc's one token
    and the first real move right after it is throttled (aws-rules §3 R-8)."""
    client = ec2()
    ip = client.allocate_address(Domain="standard")["PublicIp"]
    backdate_addresses(48)  # movable: allocated more than 24 h ago, not associated
    with pytest.raises(ClientError, match="DryRunOperation"):
        client.move_address_to_vpc(PublicIp=ip, DryRun=True)
    assert outcome(lambda: client.move_address_to_vpc(PublicIp=ip)) == "throttled"
    assert stats("MoveAddressToVpc") == {"calls": 2, "throttled": 1, "faults": 0}


def test_stop_instances_resource_bucket_counts_each_instance(clock: FakeClock) -> None:
    """AWS: resource rate limiting — "the resource token bucket size for ... is 1000 tokens" for
    StopInstances, refill 20 per second, and each instance the request affects takes a token. The
    request bucket (mutating, 50) still has room when the resource bucket is empty."""
    with mock_lab(throttle=False):  # launch 50 instances without RunInstances' own limits
        client = ec2()
        ids = [
            i["InstanceId"]
            for i in client.run_instances(ImageId="ami-12c6146b", MinCount=50, MaxCount=50)["Instances"]
        ]
        STATE.throttle_enabled = True
        stop = lambda: client.stop_instances(InstanceIds=ids)  # noqa: E731
        assert burst(stop, 20) == ["admitted"] * 20  # 20 requests x 50 instances = 1000 tokens
        assert outcome(stop) == "throttled"  # 20 of 50 request tokens used
        assert outcome(lambda: client.stop_instances(InstanceIds=ids[:1])) == "throttled"
        clock.advance(2.5)  # 50 resource tokens back
        assert burst(stop, 2) == ["admitted", "throttled"]
        bucket = STATE.as_dict()["throttle"]["buckets"]["123456789012/us-east-1/StopInstances instances"]
        assert bucket["size"] == 1000 and bucket["refill_per_s"] == 20


def test_a_request_refused_by_its_resource_bucket_changes_nothing(clock: FakeClock) -> None:
    """AWS: a StopInstances request past the resource bucket (1000 instances, refill 20/s) is throttled:
    it fails, and the instance keeps running."""
    with mock_lab(throttle=False):
        client = ec2()
        run = client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
        instance = run["Instances"][0]["InstanceId"]
        STATE.throttle_enabled = True
        thousand = [f"i-{n:017x}" for n in range(1000)]  # let in (answered NotFound): takes 1000 tokens
        assert outcome(lambda: client.stop_instances(InstanceIds=thousand)) == "admitted"
        assert outcome(lambda: client.stop_instances(InstanceIds=[instance])) == "throttled"
        state = client.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]
        assert state["Name"] == "running"


# --------------------------------------------------------------------------- when throttling is off


def test_seeding_is_not_throttled_and_the_world_starts_with_full_buckets(clock: FakeClock) -> None:
    """A world is built "long ago": seeding vpc-day launches ~50 instances one RunInstances each, far past
    RunInstances' 5-token bucket (refill 2/s), and is not throttled; afterwards throttling is on, every
    bucket is full and the counters are zero."""
    with mock_lab("vpc-day") as lab:
        assert len(lab.world["instances"]) > 5
        assert STATE.throttle_enabled
        assert STATE.throttle.buckets == {}
        assert STATE.api_stats_dict()["totals"] == {"calls": 0, "throttled": 0, "faults": 0}
        run = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1}
        assert burst(lambda: ec2().run_instances(**run), 6) == ["admitted"] * 5 + ["throttled"]


def test_throttle_false_switches_it_off(clock: FakeClock) -> None:
    """`mock_lab(throttle=False)` for a test whose burst is not what it is about; calls are still
    counted."""
    with mock_lab(throttle=False):
        client = ec2()
        assert burst(client.describe_moving_addresses, 5) == ["admitted"] * 5
        assert stats("DescribeMovingAddresses") == {"calls": 5, "throttled": 0, "faults": 0}
        assert STATE.as_dict()["throttle"]["enabled"] is False
    with mock_lab():
        assert STATE.throttle_enabled  # a fresh lab: on again


def test_refill_is_real_time_not_scaled_by_latency(clock: FakeClock) -> None:
    """AWS's buckets refill by the second; the lab's latency scale shortens slow operations but never
    the refill (1 token per second for MoveAddressToVpc at any scale)."""
    with mock_lab(latency_scale=0.001):
        client = ec2()
        move = lambda: client.move_address_to_vpc(PublicIp="127.100.9.1")  # noqa: E731
        assert burst(move, 2) == ["admitted", "throttled"]
        clock.advance(0.5)
        assert outcome(move) == "throttled"
        clock.advance(0.5)
        assert outcome(move) == "admitted"


def test_unthrottled_restores_the_previous_setting() -> None:
    """Switching throttling off around a block (as seeding does) puts back what was set before."""
    with mock_lab(throttle=False):
        with STATE.unthrottled():
            assert not STATE.throttle_enabled
        assert not STATE.throttle_enabled
        STATE.throttle_enabled = True
        with STATE.unthrottled():
            assert not STATE.throttle_enabled
        assert STATE.throttle_enabled


# --------------------------------------------------------------------------- counting


def test_api_stats_count_calls_throttles_and_faults_per_service_and_operation(
    lab: Lab, clock: FakeClock
) -> None:
    """Every AWS call is counted by service and operation (CloudWatch's EC2 API metrics count calls and
    RequestLimitExceeded per API, the same shape). RDS and Service Quotas are not throttled: their limits
    are not in the EC2 page's tables."""
    client = ec2()
    STATE.add_fault("DescribeAddresses", nth=2, code="InternalError", status=500)
    burst(client.describe_addresses, 3)
    burst(client.describe_moving_addresses, 3)
    rds = boto3.client("rds", region_name="us-east-1", config=ONE_ATTEMPT)
    assert burst(rds.describe_db_instances, 60) == ["admitted"] * 60
    quotas = boto3.client("service-quotas", region_name="us-east-1", config=ONE_ATTEMPT)
    burst(lambda: quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-0263D0A3"), 3)
    got = STATE.api_stats_dict()
    assert got["services"]["ec2"]["DescribeAddresses"] == {"calls": 3, "throttled": 0, "faults": 1}
    assert got["services"]["ec2"]["DescribeMovingAddresses"] == {"calls": 3, "throttled": 2, "faults": 0}
    assert got["services"]["rds"]["DescribeDBInstances"] == {"calls": 60, "throttled": 0, "faults": 0}
    (quota_stats,) = [ops["GetServiceQuota"] for ops in got["services"].values() if "GetServiceQuota" in ops]
    assert quota_stats == {"calls": 3, "throttled": 0, "faults": 0}
    assert got["totals"] == {"calls": 69, "throttled": 2, "faults": 1}
    STATE.reset_api_stats()
    assert STATE.api_stats_dict()["services"] == {}


def test_a_throttled_call_is_not_seen_by_the_fault_rules(lab: Lab, clock: FakeClock) -> None:
    """The throttle is AWS's front door: a request it refuses never reaches the service, so "the nth call
    fails" counts only the requests that were let in."""
    client = ec2()
    rule = STATE.add_fault("DescribeMovingAddresses", nth=2, code="InternalError", status=500)
    assert burst(client.describe_moving_addresses, 3) == ["admitted", "throttled", "throttled"]
    assert rule.seen == 1
    clock.advance(1)
    with pytest.raises(ClientError, match="InternalError"):
        client.describe_moving_addresses()
