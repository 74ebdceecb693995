# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lists the EIP and interface modules take, built from pre-flight's plan (swap_plan_info's result)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def eni_ip_counts(capacity: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """eni_private_ips' interfaces: each interface with IPs to add, and how many it must have in all."""
    return [
        {
            "network_interface_id": item["network_interface_id"],
            "secondary_private_ips": int(item["secondary_private_ips"]) + int(item["count"]),
        }
        for entry in capacity
        for item in entry.get("to_assign") or []
        if int(item.get("count") or 0) > 0
    ]


def target_subnets(instances: dict[str, dict[str, Any]], names: list[str]) -> list[str]:
    """The subnets of every interface of the named instances (each once, in order)."""
    out: list[str] = []
    for name in names:
        for eni in instances[name].get("interfaces") or []:
            if eni["subnet_id"] not in out:
                out.append(eni["subnet_id"])
    return out


def subnet_prefixes(subnets: list[dict[str, Any]]) -> dict[str, int]:
    """Subnet ID -> prefix length of its CIDR (ec2_vpc_subnet_info's ``subnets``)."""
    return {s["id"]: int(str(s["cidr_block"]).rsplit("/", 1)[1]) for s in subnets}


def host_interfaces(enis: list[dict[str, Any]], prefixes: dict[str, int]) -> list[dict[str, Any]]:
    """host_private_ips' interfaces: {mac_address, private_ips, prefix_length} of each interface of a host."""
    out = []
    for eni in enis:
        if eni["subnet_id"] not in prefixes:
            raise ValueError(
                f"host_interfaces: no prefix length for subnet {eni['subnet_id']} of {eni['mac_address']}: "
                "read the subnets of the target interfaces first (prepare's step 1.4)"
            )
        out.append(
            {
                "mac_address": eni["mac_address"],
                "private_ips": [a["private_ip_address"] for a in eni.get("private_ip_addresses") or []],
                "prefix_length": prefixes[eni["subnet_id"]],
            }
        )
    return out


def eip_disassociations(eips: list[dict[str, Any]], flag: str = "needs_move_to_vpc") -> list[dict[str, str]]:
    """eip_associate's state=absent list: every plan EIP that must move to the VPC (or, with
    ``flag="needs_restore_to_classic"``, back to EC2-Classic), by public IP."""
    return [{"public_ip": e["public_ip"]} for e in eips if e.get(flag)]


def vpc_page_batches(plan: dict[str, Any], size: int = 0) -> list[dict[str, Any]]:
    """The EIPs whose maintenance page is in the VPC (swap_plan_info's ``moves.to_vpc_page``), in batches
    of at most ``size`` (0: one batch): per batch, its plan ``eips`` (what eip_vpc_migration takes), its
    ``associations`` onto the page (what eip_associate takes) and its ``public_ips``."""
    size = int(size)
    if size < 0:
        raise ValueError(f"vpc_page_batches: the batch size must be 0 (all at once) or more, not {size}")
    moves = list(plan["moves"]["to_vpc_page"])
    by_ip = {e["public_ip"]: e for e in plan["eips"]}
    unknown = [m["public_ip"] for m in moves if m["public_ip"] not in by_ip]
    if unknown:
        raise ValueError(f"vpc_page_batches: moves.to_vpc_page names EIPs the plan does not have: {unknown}")
    step = size or len(moves) or 1
    return [
        {
            "eips": [by_ip[m["public_ip"]] for m in moves[start : start + step]],
            "associations": moves[start : start + step],
            "public_ips": [m["public_ip"] for m in moves[start : start + step]],
        }
        for start in range(0, len(moves), step)
    ]


class FilterModule:
    """The association and interface lists (clusterswap.swap.eni_ip_counts, host_interfaces, ...)."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "eni_ip_counts": eni_ip_counts,
            "target_subnets": target_subnets,
            "subnet_prefixes": subnet_prefixes,
            "host_interfaces": host_interfaces,
            "eip_disassociations": eip_disassociations,
            "vpc_page_batches": vpc_page_batches,
        }
