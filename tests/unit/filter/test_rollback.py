"""Unit tests of plugins/filter/rollback.py: the storage moves turned around, the RDS notes."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.clusterswap.swap.plugins.filter.rollback import (
    hosted_moves,
    rds_rollback_notes,
    rollback_mounts,
    rollback_storage_moves,
)

SERVERS = [
    {"old": "old-storage-1", "new": "new-storage-1", "devices": ["/dev/xvdf", "/dev/xvdg"]},
    {"old": "old-storage-2", "new": "new-storage-2", "names": ["home-3"], "host_steps": False, "raid": {}},
]


def test_storage_moves_turn_around_keeping_devices_and_host_steps() -> None:
    turned = rollback_storage_moves(SERVERS)
    assert turned == [
        {"old": "new-storage-1", "new": "old-storage-1", "devices": ["/dev/xvdf", "/dev/xvdg"]},
        {**SERVERS[1], "old": "new-storage-2", "new": "old-storage-2"},
    ]
    assert rollback_storage_moves(turned) == SERVERS, "turned twice: the swap's own moves"
    assert SERVERS[0]["old"] == "old-storage-1", "the input is not changed"


def test_hosted_moves_are_those_without_host_steps_false() -> None:
    assert hosted_moves(SERVERS) == [SERVERS[0]], "no host_steps: the host steps run"
    assert hosted_moves([{**SERVERS[0], "host_steps": True}]) == [{**SERVERS[0], "host_steps": True}]
    assert hosted_moves(rollback_storage_moves(SERVERS)) == rollback_storage_moves(SERVERS)[:1]
    assert hosted_moves([]) == []
    for false in ("no", "false", "False", 0):
        assert hosted_moves([{**SERVERS[0], "host_steps": false}]) == [], f"{false!r} is false"
    assert hosted_moves([{**SERVERS[0], "host_steps": "yes"}]) == [{**SERVERS[0], "host_steps": "yes"}]


def test_a_storage_move_without_both_ends_is_refused() -> None:
    with pytest.raises(ValueError, match="needs old and new"):
        rollback_storage_moves([{"old": "old-storage-1", "devices": ["/dev/xvdf"]}])


def test_mounts_are_keyed_by_the_old_server_of_each_pair() -> None:
    mounts = {"new-storage-1": {"/dev/xvdf": "/srv/home"}, "new-other": {"/dev/xvdh": "/srv/x"}}
    assert rollback_mounts(mounts, SERVERS) == {"old-storage-1": {"/dev/xvdf": "/srv/home"}}
    assert rollback_mounts({}, SERVERS) == {}


def db(action: str, **extra: Any) -> dict[str, Any]:
    return {
        "db_instance_identifier": "mysql-1",
        "action": action,
        "status": extra.pop("status", "available"),
        "db_subnet_group_name": "clusterswap-vpc",
        "vpc_id": "vpc-1",
        "endpoint": {"address": "mysql-1.x.rds.amazonaws.com", "port": 3306},
        **extra,
    }


def test_a_moved_db_stays_and_the_note_says_what_cannot_be_undone_and_the_way_forward() -> None:
    [note] = rds_rollback_notes([db("none")])
    assert note.startswith("mysql-1 stays in the VPC vpc-1 (DB subnet group clusterswap-vpc)")
    assert "cannot be moved back to EC2-Classic" in note
    assert "The way forward: its endpoint (mysql-1.x.rds.amazonaws.com:3306) did not change" in note
    assert "roll forward" in note


def test_a_db_still_moving_ends_there() -> None:
    [note] = rds_rollback_notes([db("would_wait", status="modifying")])
    assert "still moving into the VPC vpc-1" in note and "status modifying" in note
    assert "cannot be stopped or undone" in note and "The way forward" in note


def test_a_db_that_did_not_move_has_nothing_to_undo() -> None:
    assert rds_rollback_notes([db("would_move", vpc_id=None)]) == [
        "mysql-1 did not move (it is not in the target DB subnet group): nothing to undo."
    ]


def test_an_unknown_state_says_to_look() -> None:
    [note] = rds_rollback_notes([db("failed", status="incompatible-network")])
    assert "failed (status incompatible-network)" in note and "RDS console" in note
    assert rds_rollback_notes([]) == []
