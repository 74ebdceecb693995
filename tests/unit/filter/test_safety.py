"""Unit tests of plugins/filter/safety.py: the swap's safety rules on swap_plan_info's result."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.clusterswap.swap.plugins.filter.safety import safety_violations


def eip(
    name: str, location: str, moving: str | None = None, misplaced_on: str | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "public_ip": f"203.0.113.{len(name)}",
        "location": location,
        "moving": moving,
        "misplaced_on": misplaced_on,
    }


def plan(*eips: dict[str, Any], states: dict[str, str] | None = None) -> dict[str, Any]:
    return {"eips": list(eips), "instances": {n: {"state": s} for n, s in (states or {}).items()}}


def test_every_eip_on_a_place_of_the_plan_and_the_old_servers_there_is_safe() -> None:
    mixed = plan(eip("a", "old"), eip("b", "maintenance"), eip("c", "new"), states={"old-1": "stopped"})
    assert safety_violations(mixed, ["old-1"]) == []


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            eip("a", "unassociated"),
            "EIP a (203.0.113.1) is on no server: users get neither the site nor the page",
        ),
        (eip("a", "unassociated", moving="movingToVpc"), "is movingToVpc: on no server (no page) until it"),
        (eip("a", "misplaced", misplaced_on="new"), "is on new's instance but not on its exact place there"),
        (
            eip("a", "elsewhere"),
            "is on an instance or interface outside the plan (elsewhere): someone moved it",
        ),
    ],
)
def test_an_eip_off_its_places_is_named_with_what_to_do(entry: dict[str, Any], expected: str) -> None:
    violations = safety_violations(plan(entry, eip("b", "new")))
    assert len(violations) == 1 and expected in violations[0], violations


def test_the_phase_says_where_every_eip_is() -> None:
    half = plan(eip("a", "new"), eip("bb", "maintenance"))
    assert safety_violations(half, [], "new") == [
        "EIP bb (203.0.113.2) is on its maintenance place; at this phase every EIP is on its new place"
    ]
    with pytest.raises(ValueError, match="expected must be one of old, maintenance, new"):
        safety_violations(half, [], "live")


def test_a_terminated_or_missing_old_server_breaks_the_rollback() -> None:
    gone = plan(eip("a", "new"), states={"old-1": "terminated", "old-2": "running"})
    violations = safety_violations(gone, ["old-1", "old-2", "old-3"])
    assert violations == [
        "old server old-1 is gone (terminated): the rollback needs it; the old cluster is stopped, never "
        "terminated",
        "old server old-3 is gone (no instance with this Name tag): the rollback needs it; the old cluster "
        "is stopped, never terminated",
    ]


def volume(vid: str, *attachments: tuple[str, str, str], **tags: str) -> dict[str, Any]:
    """An entry of amazon.aws.ec2_vol_info's volumes: attachments as (instance, device, status)."""
    return {
        "id": vid,
        "tags": {k.replace("_", ":move-"): v for k, v in tags.items()},
        "attachment_set": [{"instance_id": i, "device": d, "status": s} for i, d, s in attachments],
    }


def test_a_volume_a_move_touched_is_on_one_server_or_the_rule_says_where_it_is_and_what_to_do() -> None:
    """ec2_vol_info's volumes with the move's tags (ebs_volume_move writes clusterswap:move-from, -to and
    -device before its detach): on one server is safe; on none, attaching or detaching, or on two is not."""
    moved = volume("vol-1", ("i-new", "/dev/sdf", "attached"), clusterswap_from="i-old")
    assert safety_violations(plan(), [], None, [moved]) == []
    stranded = volume(
        "vol-2", clusterswap_from="i-old", clusterswap_to="i-new", clusterswap_device="/dev/sdg", Name="data"
    )
    detaching = volume("vol-3", ("i-old", "/dev/sdh", "detaching"), clusterswap_from="i-old")
    twice = volume(
        "vol-4", ("i-a", "/dev/sdf", "attached"), ("i-b", "/dev/sdf", "attached"), clusterswap_from="i-a"
    )
    assert safety_violations(plan(eip("a", "new")), [], "new", [moved, stranded, detaching, twice]) == [
        "volume vol-2 (data) is on no server: its move from i-old to i-new at /dev/sdg stopped between the"
        " detach and the attach. Rerun the storage phase (playbooks/storage-move.yml finds the move's tags"
        " and attaches it) or playbooks/rollback.yml",
        "volume vol-3 is detaching on i-old (/dev/sdh): rerun the storage phase (playbooks/storage-move.yml"
        " waits for it and finishes the move)",
        "volume vol-4 is on 2 servers (i-a (/dev/sdf), i-b (/dev/sdf)): a move attaches a volume to one"
        " server only",
    ]
