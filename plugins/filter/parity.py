# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rehearsal parity: profile an account's swap, and name what production has that the rehearsal lacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: (profile key, what it is), in the order gaps are named.
FEATURES: tuple[tuple[str, str], ...] = (
    ("eips", "EIPs moved by the swap"),
    ("vpc_moves", "EC2-Classic EIPs that must move to the VPC (MoveAddressToVpc, the VPC EIP limit)"),
    ("classic_instances", "EC2-Classic instances (their EIPs drop when stopped)"),
    ("rds", "RDS instances"),
    ("rds_outside_vpc", "RDS instances outside any VPC (the RDS move into the VPC)"),
    ("storage", "the storage update (EBS volumes detached and attached)"),
    ("vpc", "the VPC migration"),
)
#: Features whose scale matters (limits and waits), not only whether the rehearsal has them.
SCALED = ("eips", "vpc_moves")
ROW = "%-62s %10s %10s"


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def parity_profile(
    plan: dict[str, Any], rds_instances: list[dict[str, Any]], parts: dict[str, Any]
) -> dict[str, int]:
    """What one account's swap exercises, counted (swap_plan_info, rds_instance_info, the plan's parts)."""
    instances = (plan.get("instances") or {}).values()
    return {
        "eips": len(plan.get("eips") or []),
        "vpc_moves": int(plan.get("vpc_moves_needed") or 0),
        "vpc_free": int(((plan.get("quotas") or {}).get("vpc") or {}).get("available") or 0),
        "classic_instances": sum(1 for i in instances if i.get("platform") == "classic"),
        "rds": len(rds_instances),
        "rds_outside_vpc": sum(1 for db in rds_instances if "db_subnet_group" not in db),
        "storage": int(truthy((parts or {}).get("storage"))),
        "vpc": int(truthy((parts or {}).get("vpc"))),
    }


def parity_gaps(profiles: dict[str, dict[str, int]]) -> list[str]:
    """What production has that the rehearsal would not exercise, and production's own VPC EIP shortfall."""
    rehearsal, production = profiles["rehearsal"], profiles["production"]
    gaps = []
    for key, what in FEATURES:
        p, r = int(production.get(key, 0)), int(rehearsal.get(key, 0))
        if p > 0 and r == 0:
            gaps.append(f"production has {what} ({p}), the rehearsal has none")
        elif p > r and key in SCALED:
            gaps.append(
                f"production has {p} {what}, the rehearsal only {r}: limits and waits are exercised at a "
                "smaller scale"
            )
    moves, free = int(production.get("vpc_moves", 0)), int(production.get("vpc_free", 0))
    if moves > free:
        gaps.append(
            f"production needs {moves} VPC EIPs and has {free} free: raise its VPC EIP limit before the day"
        )
    return gaps


def parity_report(profiles: dict[str, dict[str, int]], gaps: list[str]) -> str:
    """The two profiles side by side, then the gaps (or that there is none)."""
    rehearsal, production = profiles["rehearsal"], profiles["production"]
    lines = [ROW % ("", "rehearsal", "production")]
    lines += [ROW % (key, rehearsal.get(key), production[key]) for key in production]
    if not gaps:
        lines.append("No gap: the rehearsal exercises everything production has.")
    else:
        lines.append("What the rehearsal would not exercise:")
        lines += [f"  - {gap}" for gap in gaps]
    return "\n".join(lines)


class FilterModule:
    """clusterswap.swap.parity_profile, parity_gaps, parity_report."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"parity_profile": parity_profile, "parity_gaps": parity_gaps, "parity_report": parity_report}
