# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swap's safety rules, checked on what swap_plan_info and ec2_vol_info read: where every EIP is, the old
servers, and the volumes a storage move touched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.clusterswap.swap.plugins.module_utils.ebs import TAG_DEVICE, TAG_FROM, TAG_TO

#: Where an EIP may be: its exact place (interface and private IP, or EC2-Classic instance) for a role.
PLACES = ("old", "maintenance", "new")
GONE = ("terminated", "shutting-down")
#: An attachment on its way (AWS's attachment states; a volume in one is on no server yet, or not for long).
IN_FLIGHT = ("attaching", "detaching")


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


def volume_violations(volume: dict[str, Any]) -> list[str]:
    """What is wrong with one volume a storage move touched (an entry of amazon.aws.ec2_vol_info's
    ``volumes``): empty when it is attached to exactly one server."""
    tags = volume.get("tags") or {}
    who = f"volume {volume['id']}" + (f" ({tags['Name']})" if tags.get("Name") else "")
    attachments = volume.get("attachment_set") or []
    moving = [a for a in attachments if a.get("status") in IN_FLIGHT]
    attached = [a for a in attachments if a.get("status") == "attached"]
    if moving:
        a = moving[0]
        return [
            f"{who} is {a['status']} on {a.get('instance_id')} ({a.get('device')}): rerun the storage phase "
            "(playbooks/storage-move.yml waits for it and finishes the move)"
        ]
    if not attached:
        move = f"from {tags.get(TAG_FROM, '?')}"
        if tags.get(TAG_TO):
            move += f" to {tags[TAG_TO]} at {tags.get(TAG_DEVICE, '?')}"
        return [
            f"{who} is on no server: its move {move} stopped between the detach and the attach. Rerun the "
            "storage phase (playbooks/storage-move.yml finds the move's tags and attaches it) or "
            "playbooks/rollback.yml"
        ]
    if len(attached) > 1:
        on = ", ".join(f"{a.get('instance_id')} ({a.get('device')})" for a in attached)
        return [f"{who} is on {len(attached)} servers ({on}): a move attaches a volume to one server only"]
    return []


def safety_violations(
    plan: dict[str, Any],
    old_instances: list[str] | None = None,
    expected: str | None = None,
    volumes: list[dict[str, Any]] | None = None,
) -> list[str]:
    """Every broken safety rule in swap_plan_info's result, each saying what to do; empty when all hold.

    - every EIP of the plan on exactly one place of the plan (its old, maintenance or new target: the
      interface and private IP, or the EC2-Classic instance), none on no server, none moving, none elsewhere;
      with ``expected`` (``old``, ``maintenance`` or ``new``), every EIP on that place;
    - every old server still there (stopped or running, never terminated): it is the rollback;
    - every volume in ``volumes`` (ec2_vol_info's: those a storage move touched, with the tag
      ``clusterswap:move-from``) attached to exactly one server, none on no server, none attaching or
      detaching.

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
    violations += [v for volume in volumes or [] for v in volume_violations(volume)]
    return violations


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"safety_violations": safety_violations}
