"""In-process: latency transitions, fault injection, volumes and hooks, RDS, the moto version guard."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import moto
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import lab.awssim.patches as patches
from lab.awssim import STATE, check_moto, install, mock_lab
from lab.awssim.hooks import NullHooks
from lab.awssim.latency import load_latency_profile


def ec2() -> Any:
    return boto3.client("ec2", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.01)
    return time.monotonic() - start


def _state(client: Any, instance_id: str) -> str:
    return client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"][
        "Name"
    ]


def _run(client: Any, **kw: Any) -> str:
    return client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, **kw)["Instances"][0][
        "InstanceId"
    ]


def test_wrong_moto_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(RuntimeError, match=r"moto 5\.3\.0 is installed"):
        install()


def test_missing_moto_internal_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    class Gone:
        pass

    monkeypatch.setattr(patches, "REQUIRED_INTERNALS", [*patches.REQUIRED_INTERNALS, (Gone, "address_by_ip")])
    with pytest.raises(RuntimeError, match=r"Gone\.address_by_ip"):
        check_moto()


def test_latency_profile_uses_the_middle_of_design_ranges() -> None:
    profile = load_latency_profile()
    assert profile["instance_stop"] == 60
    assert profile["rds_modify_vpc"] == 450
    assert profile["eip_associate"] == 3


def test_stop_takes_its_scaled_time_and_calls_the_hook() -> None:
    calls: list[tuple[str, str]] = []

    class Recorder(NullHooks):
        def instance_stopped(self, instance_id: str, tags: dict[str, str]) -> None:
            calls.append(("stopped", instance_id))

        def instance_started(self, instance_id: str, tags: dict[str, str]) -> None:
            calls.append(("started", instance_id))

    # unthrottled: wait_for polls DescribeInstances every 10 ms (100/s, AWS allows 20/s after a burst of
    # 100), and this test measures the latency, which a throttled poll's retry backoff would blur
    with mock_lab(latency_scale=0.05, hooks=Recorder(), throttle=False):  # stop 60 s -> 3 s, start 2.25 s
        client = ec2()
        iid = _run(client)
        start = time.monotonic()
        assert (
            client.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]["CurrentState"]["Name"]
            == "stopping"
        )
        assert _state(client, iid) == "stopping"
        wait_for(lambda: _state(client, iid) == "stopped")
        assert time.monotonic() - start == pytest.approx(3.0, abs=0.75)
        assert calls == [("stopped", iid)]
        client.start_instances(InstanceIds=[iid])
        assert _state(client, iid) == "pending"
        assert wait_for(lambda: _state(client, iid) == "running") == pytest.approx(2.25, abs=0.75)
        assert calls[-1] == ("started", iid)


def test_injected_fault_fires_on_the_nth_call_only() -> None:
    with mock_lab() as lab:
        client = ec2()
        lab.state.add_fault("DescribeAddresses", nth=3, code="UnauthorizedOperation", message="nope", times=2)
        client.describe_addresses()
        client.describe_addresses()
        for _ in range(2):
            with pytest.raises(ClientError) as err:
                client.describe_addresses()
            assert err.value.response["Error"]["Code"] == "UnauthorizedOperation"
            assert err.value.response["Error"]["Message"] == "nope"
        client.describe_addresses()
        assert lab.state.faults[0].fired == 2


def test_scenario_file_faults_are_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.awssim import world

    original = world.load_scenario

    def with_fault(name: str) -> dict[str, Any]:
        sc = original(name)
        sc["faults"] = [{"operation": "MoveAddressToVpc", "nth": 1, "code": "RequestLimitExceeded"}]
        return sc

    monkeypatch.setattr(world, "load_scenario", with_fault)
    with mock_lab("incident") as lab:
        assert [(f.operation, f.nth, f.code) for f in lab.state.faults] == [
            ("MoveAddressToVpc", 1, "RequestLimitExceeded")
        ]


def test_detach_of_a_mounted_volume_stays_detaching_until_unmounted() -> None:
    detached: list[str] = []

    class Recorder(NullHooks):
        def volume_detached(
            self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
        ) -> None:
            detached.append(volume_id)

    with mock_lab(latency_scale=0.001, hooks=Recorder()) as lab:
        client = ec2()
        iid = _run(client)
        vol = client.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        client.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/xvdf")
        wait_for(
            lambda: (
                client.describe_volumes(VolumeIds=[vol])["Volumes"][0]["Attachments"][0]["State"]
                == "attached"
            )
        )
        lab.state.mounted.add(vol)
        client.detach_volume(VolumeId=vol)
        time.sleep(0.2)  # well past the scaled 35 ms
        v = client.describe_volumes(VolumeIds=[vol])["Volumes"][0]
        assert v["State"] == "in-use"
        assert v["Attachments"][0]["State"] == "detaching"
        lab.state.mounted.discard(vol)
        wait_for(lambda: client.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"] == "available")
        assert detached == [vol]


def test_force_detach_skips_the_mounted_check() -> None:
    with mock_lab() as lab:
        client = ec2()
        iid = _run(client)
        vol = client.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        client.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/xvdf")
        lab.state.mounted.add(vol)
        client.detach_volume(VolumeId=vol)
        assert (
            client.describe_volumes(VolumeIds=[vol])["Volumes"][0]["Attachments"][0]["State"] == "detaching"
        )
        client.detach_volume(VolumeId=vol, Force=True)
        assert client.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"] == "available"


def test_classic_launch_depends_on_the_account_platforms() -> None:
    with mock_lab():
        client = ec2()
        inst = client.describe_instances(InstanceIds=[_run(client)])["Reservations"][0]["Instances"][0]
        assert "VpcId" not in inst
        assert client.allocate_address()["Domain"] == "standard"
    with mock_lab(platforms=("VPC",)):
        client = ec2()
        inst = client.describe_instances(InstanceIds=[_run(client)])["Reservations"][0]["Instances"][0]
        assert inst["VpcId"].startswith("vpc-")
        assert client.allocate_address()["Domain"] == "vpc"


def test_rds_outside_vpc_has_no_subnet_group_and_moves_with_latency() -> None:
    with mock_lab("vpc-day", latency_scale=0.0005) as lab:  # 450 s -> 0.225 s
        rds = boto3.client("rds", region_name="us-east-1")
        db = rds.describe_db_instances(DBInstanceIdentifier="mysql-1")["DBInstances"][0]
        assert "DBSubnetGroup" not in db
        rds.modify_db_instance(DBInstanceIdentifier="mysql-1", DBSubnetGroupName=lab.world["db_subnet_group"])
        db = rds.describe_db_instances(DBInstanceIdentifier="mysql-1")["DBInstances"][0]
        assert "DBSubnetGroup" not in db
        assert db["PendingModifiedValues"]["DBSubnetGroupName"] == "clusterswap-vpc"
        assert db["DBInstanceStatus"] == "available"
        start = time.monotonic()
        rds.modify_db_instance(
            DBInstanceIdentifier="mysql-1", DBSubnetGroupName="clusterswap-vpc", ApplyImmediately=True
        )

        def describe() -> dict[str, Any]:
            return rds.describe_db_instances(DBInstanceIdentifier="mysql-1")["DBInstances"][0]  # type: ignore[no-any-return]

        assert describe()["DBInstanceStatus"] == "moving-to-vpc"
        assert "DBSubnetGroup" not in describe()
        wait_for(lambda: describe()["DBInstanceStatus"] == "available")
        assert 0.225 <= time.monotonic() - start < 5  # at least the scaled move, however loaded the machine
        assert describe()["DBSubnetGroup"]["VpcId"] == lab.world["vpc_id"]


def test_state_is_fresh_for_each_mock_lab() -> None:
    with mock_lab("incident") as lab:
        lab.state.add_fault("DescribeAddresses", nth=1, code="X")
    with mock_lab():
        assert STATE.faults == []
        assert STATE.vpc_limit == 5
        assert ec2().describe_addresses()["Addresses"] == []


def test_volumes_are_described_with_a_snapshot_id_as_aws_does() -> None:
    """AWS always sends SnapshotId ("" when none); amazon.aws.ec2_vol_info fails without it."""
    with mock_lab():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)
        volumes = ec2.describe_volumes()["Volumes"]
        assert volumes and all(v["SnapshotId"] == "" for v in volumes)


def test_the_storage_plan_comes_from_the_world_file() -> None:
    """lab/world.yml is the one place the volumes are written: the plan the lab inventory gives the runbook
    (servers, devices, mount points) and the hosts' seeded layouts are derived from it."""
    from lab.awssim.world import WORLD, plan_of
    from lab.hosts.world import SEEDED_VOLUMES

    plan = plan_of({"parts": {"storage": True}})
    volumes = WORLD["volumes"]
    moved = {(p["old"], d) for p in plan["storage_servers"] + plan["postgres_servers"] for d in p["devices"]}
    assert moved == {(v["instance"], v["device"]) for v in volumes.values()} == set(SEEDED_VOLUMES)
    by_old = {p["old"]: p for p in plan["storage_servers"]}
    assert by_old["old-storage-1"] == {
        "old": "old-storage-1",
        "new": "new-storage-1",
        "devices": ["/dev/xvdf", "/dev/xvdg"],
    }
    assert by_old["old-storage-2"]["host_steps"] is False, "no container host: AWS side only"
    assert plan["postgres_servers"] == [
        {"old": "old-postgres-1", "new": "new-postgres-1", "devices": ["/dev/xvdp"]}
    ]
    assert plan["storage_mounts"]["new-storage-1"] == {"/dev/xvdf": "/srv/home", "/dev/xvdg": "/srv/home2"}
    assert plan["postgres_mounts"] == {"new-postgres-1": {"/dev/xvdp": "/srv/pgdata"}}


def test_cloudtrail_lists_the_allocations_of_the_last_hours_newest_first_in_pages() -> None:
    """LookupEvents answers AllocateAddress from the lab's allocation times (moto has no LookupEvents)."""
    import json

    from lab.awssim.control import backdate_addresses

    with mock_lab():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        trail = boto3.client("cloudtrail", region_name="us-east-1")
        old = ec2.allocate_address(Domain="vpc")["PublicIp"]
        backdate_addresses(48)
        fresh = [ec2.allocate_address(Domain="vpc")["PublicIp"] for _ in range(3)]
        since = time.time() - 24 * 3600
        name = [{"AttributeKey": "EventName", "AttributeValue": "AllocateAddress"}]
        pages = list(
            trail.get_paginator("lookup_events").paginate(
                LookupAttributes=name, StartTime=since, PaginationConfig={"PageSize": 2}
            )
        )
        assert [len(p["Events"]) for p in pages] == [2, 1]
        events = [e for p in pages for e in p["Events"]]
        ips = [json.loads(e["CloudTrailEvent"])["responseElements"]["publicIp"] for e in events]
        assert sorted(ips) == sorted(fresh) and old not in ips, "only the last 24 hours"
        times = [e["EventTime"] for e in events]
        assert times == sorted(times, reverse=True), "newest first"
        everything = trail.lookup_events(LookupAttributes=name)["Events"]
        assert len(everything) == 4, "90 days by default"
        with pytest.raises(ClientError, match="InvalidMaxResultsException"):
            trail.lookup_events(MaxResults=51)
