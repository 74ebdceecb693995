"""Unit tests of plugins/filter/preflight.py: what each old storage server must show, the RDS target VPC."""

from __future__ import annotations

from ansible_collections.clusterswap.swap.plugins.filter.preflight import (
    FilterModule,
    rds_target_vpc,
    storage_device_checks,
)

VOLUMES = [
    {
        "volume_id": "vol-1",
        "device": "/dev/xvdf",
        "name": "data",
        "old": "s1",
        "action": "would_move",
        "new": "n1",
    },
    {"volume_id": "vol-2", "device": "/dev/xvdg", "old": "s1", "action": "would_wait_detach"},
    {"volume_id": "vol-3", "device": "/dev/xvdf", "old": "s1", "action": "moved"},
    {"volume_id": "vol-4", "device": "/dev/xvdf", "old": "s2", "action": "would_move"},
    {"volume_id": "vol-5", "device": "/dev/xvdf", "old": "s3", "action": "would_move"},
    {"volume_id": "vol-6", "device": "/dev/xvdf", "old": "s4", "action": "moved"},
]
MOVES = [
    {"old": "s1", "new": "n1"},
    {"old": "s2", "new": "n2", "host_steps": False},
    {"old": "s3", "new": "n3"},
    {"old": "s4", "new": "n4"},
]


def test_each_hosted_server_in_the_inventory_with_the_volumes_it_gives_up() -> None:
    assert storage_device_checks(VOLUMES, MOVES, ["localhost", "s1", "s2", "s4"]) == [
        {
            "old": "s1",
            "volumes": [
                {"volume_id": "vol-1", "device": "/dev/xvdf", "name": "data"},
                {"volume_id": "vol-2", "device": "/dev/xvdg"},
            ],
        }
    ], "s2: host_steps false; s3: not in the inventory (a problem pre-flight names); s4: nothing leaves it"


def test_a_server_with_two_moves_is_checked_once() -> None:
    moves = [{"old": "s1", "new": "n1"}, {"old": "s1", "new": "n9"}]
    assert [c["old"] for c in storage_device_checks(VOLUMES, moves, ["s1"])] == ["s1"]


def test_no_storage_check_ran() -> None:
    assert storage_device_checks([], MOVES, ["s1"]) == []


def test_rds_target_vpc() -> None:
    one = [{"vpc_id": "vpc-new"}, {"vpc_id": "vpc-new"}, {"vpc_id": None}]
    assert rds_target_vpc(one) == "vpc-new"
    assert rds_target_vpc(one, "vpc-given") == "vpc-given"
    assert rds_target_vpc([{"vpc_id": "vpc-a"}, {"vpc_id": "vpc-b"}]) == "", (
        "two VPCs: the subnet group decides"
    )
    assert rds_target_vpc([]) == ""


def test_the_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"storage_device_checks", "rds_target_vpc"}
