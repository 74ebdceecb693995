# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollback's data shaping: the storage moves turned around, and what rollback cannot undo (the RDS moves)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.module_utils.parsing.convert_bool import boolean

#: rds_move_to_vpc's check-mode actions by what they say of a DB: in the target group, moving there, not moved
IN_TARGET = ("none", "would_set_security_groups", "security_groups")
MOVING = ("would_wait", "in_progress", "resumed")
NOT_MOVED = ("would_move",)


def rollback_storage_moves(servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The swap's storage (or Postgres) moves turned around: each volume from the new server back to the old
    one, at the same devices (or Name tags); host_steps, raid and lvm stay with the pair."""
    turned = []
    for server in servers:
        if not server.get("old") or not server.get("new"):
            raise ValueError(f"a storage move needs old and new: {server!r}")
        turned.append({**server, "old": server["new"], "new": server["old"]})
    return turned


def hosted_moves(servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The storage moves whose host steps run (unmount, checksums, mount): every one but those that set
    host_steps: false (a pair with no host to log in to moves on the AWS side only). host_steps is read as
    Ansible reads a boolean (``| bool``): "no", "false", 0 and False all mean false."""
    return [server for server in servers if boolean(server.get("host_steps", True), strict=False)]


def rollback_mounts(mounts: dict[str, dict[str, str]], servers: list[dict[str, Any]]) -> dict[str, Any]:
    """The new servers' mounts ({new server: {device: mount point}}) keyed by the old server of each pair:
    the old servers mount their volumes where the swap mounted them on the new ones (the old mount points)."""
    old_of = {s["new"]: s["old"] for s in servers}
    return {old_of[new]: dict(points) for new, points in mounts.items() if new in old_of}


def _rds_note(db: dict[str, Any]) -> str:
    name = db["db_instance_identifier"]
    where = f"the VPC {db.get('vpc_id') or '?'} (DB subnet group {db.get('db_subnet_group_name') or '?'})"
    endpoint = db.get("endpoint") or {}
    address = f"{endpoint.get('address')}:{endpoint.get('port')}" if endpoint.get("address") else "unchanged"
    forward = (
        f"The way forward: its endpoint ({address}) did not change with the move; the old cluster "
        "reaches it only if it can reach that VPC (from EC2-Classic: ClassicLink or a publicly "
        "accessible DB; from another VPC: peering and the DB's security groups): prove the old cluster "
        "connects before trusting the rollback, else roll forward (rerun playbooks/full-swap.yml: the "
        "finished phases change nothing)."
    )
    action = db.get("action")
    if action in IN_TARGET:
        return (
            f"{name} stays in {where}: rollback cannot undo an RDS move. A DB instance cannot be "
            "moved back to EC2-Classic (AWS has no such move, and EC2-Classic is retired); a move back "
            "to another VPC is another ModifyDBInstance with another outage of minutes, which rollback "
            "does not make. " + forward
        )
    if action in MOVING:
        return (
            f"{name} is still moving into {where} (status {db.get('status')}): a move in progress cannot be "
            "stopped or undone, and it ends there. " + forward
        )
    if action in NOT_MOVED:
        return f"{name} did not move (it is not in the target DB subnet group): nothing to undo."
    return (
        f"{name}: {action} (status {db.get('status')}): rollback cannot tell where it is; look at it in the "
        "RDS console before trusting the rollback."
    )


def rds_rollback_notes(db_instances: list[dict[str, Any]]) -> list[str]:
    """What rollback cannot undo, one text per RDS DB of the swap, from rds_move_to_vpc's check-mode
    result against the swap's target DB subnet group: moved (stays there, and the way forward), still
    moving, or not moved (nothing to undo)."""
    return [_rds_note(db) for db in db_instances]


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "rollback_storage_moves": rollback_storage_moves,
            "hosted_moves": hosted_moves,
            "rollback_mounts": rollback_mounts,
            "rds_rollback_notes": rds_rollback_notes,
        }
