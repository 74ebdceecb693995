# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-flight's storage and RDS checks: what each old server must show, and the VPC the RDS DBs go to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.clusterswap.swap.plugins.module_utils.preflight import hosted_servers

#: ebs_volume_move's preflight actions of a volume that leaves its old server.
LEAVING = ("would_move", "would_wait_detach")
VOLUME_KEYS = ("volume_id", "device", "name")


def storage_device_checks(
    volumes: list[dict[str, Any]], moves: list[dict[str, Any]], inventory_hosts: list[str]
) -> list[dict[str, Any]]:
    """One check per old server whose host steps run, that is in the inventory and gives up volumes: ``{old,
    volumes}``, the volumes as ebs_block_devices takes them (from ebs_volume_move's preflight ``volumes``)."""
    known = set(inventory_hosts)
    checks = []
    for old in dict.fromkeys(hosted_servers(moves)):
        leaving = [
            {k: v[k] for k in VOLUME_KEYS if k in v}
            for v in volumes
            if v.get("old") == old and v.get("action") in LEAVING
        ]
        if old in known and leaving:
            checks.append({"old": old, "volumes": leaving})
    return checks


def rds_target_vpc(new_instances: list[dict[str, Any]], vpc_id: str = "") -> str:
    """The VPC the RDS DBs move into: the one given, else the new cluster's if it has just one, else ''."""
    if vpc_id:
        return vpc_id
    vpcs = sorted({i["vpc_id"] for i in new_instances if i.get("vpc_id")})
    return vpcs[0] if len(vpcs) == 1 else ""


class FilterModule:
    """clusterswap.swap.storage_device_checks, rds_target_vpc."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"storage_device_checks": storage_device_checks, "rds_target_vpc": rds_target_vpc}
