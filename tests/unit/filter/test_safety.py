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
