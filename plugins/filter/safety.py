# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swap's safety rules, checked on what swap_plan_info read: where every EIP is, and the old servers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Where an EIP may be: its exact place (interface and private IP, or EC2-Classic instance) for a role.
PLACES = ("old", "maintenance", "new")
GONE = ("terminated", "shutting-down")


def eip_violations(eip: dict[str, Any], expected: str | None) -> list[str]:
    """What is wrong with where one EIP is (empty when it is on one exact place of the plan)."""
    who = f"EIP {eip['name']} ({eip['public_ip']})"
    location = eip["location"]
    if eip.get("moving"):
        return [
            f"{who} is {eip['moving']}: on no server (no page) until it arrives; rerun the phase that moves "
            "it (it waits for the move and puts the EIP on its target)"
        ]
    if location == "unassociated":
        return [
            f"{who} is on no server: users get neither the site nor the page. Rerun the phase that failed (a "
            "rerun finishes its job) or playbooks/rollback.yml"
        ]
    if location == "misplaced":
        return [
            f"{who} is on {eip.get('misplaced_on')}'s instance but not on its exact place there (interface "
            "and private IP): rerun the phase that placed it"
        ]
    if location not in PLACES:
        return [f"{who} is on an instance or interface outside the plan ({location}): someone moved it"]
    if expected and location != expected:
        return [f"{who} is on its {location} place; at this phase every EIP is on its {expected} place"]
    return []


def safety_violations(
    plan: dict[str, Any], old_instances: list[str] | None = None, expected: str | None = None
) -> list[str]:
    """Every broken safety rule in swap_plan_info's result, each saying what to do; empty when all hold.

    - every EIP of the plan on exactly one place of the plan (its old, maintenance or new target: the
      interface and private IP, or the EC2-Classic instance), none on no server, none moving, none elsewhere;
      with ``expected`` (``old``, ``maintenance`` or ``new``), every EIP on that place;
    - every old server still there (stopped or running, never terminated): it is the rollback.

    One EIP per private IP, and so no two EIPs on one place, is AWS's own rule: swap_plan_info reads it.
    """
    if expected is not None and expected not in PLACES:
        raise ValueError(f"expected must be one of {', '.join(PLACES)}, not {expected!r}")
    violations = [v for eip in plan.get("eips") or [] for v in eip_violations(eip, expected)]
    instances = plan.get("instances") or {}
    for name in old_instances or []:
        state = (instances.get(name) or {}).get("state")
        if state is None or state in GONE:
            violations.append(
                f"old server {name} is gone ({state or 'no instance with this Name tag'}): the rollback "
                "needs it; the old cluster is stopped, never terminated"
            )
    return violations


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"safety_violations": safety_violations}
