# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pre-flight's problems beyond the plan's own: the confirmation, the quiet hours, the office networks, the
new cluster, the maintenance servers, the inventory groups, storage and RDS.

Pure functions over plain data (names, states, the registered results of the storage checks), so that
``swap_plan_info`` can fold them into its one list of problems and every text is unit-tested. Each problem
says what is wrong and what to do.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CIDR = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}")
#: The argument spec of swap_plan_info's ``checks`` option (its DOCUMENTATION describes each).
STRS: dict[str, Any] = {"type": "list", "elements": "str", "default": []}
CHECKS_OPTIONS: dict[str, Any] = {
    "environment": {"type": "str", "default": ""},
    "confirm": {"type": "str", "default": "", "no_log": False},
    "confirm_environments": {"type": "list", "elements": "str", "default": ["production"]},
    "quiet_hours_utc": {"type": "dict", "default": {"start": 5, "end": 8}},
    "allow_any_hour": {"type": "bool", "default": False},
    "parts": {"type": "dict", "default": {}},
    "office_networks": {"type": "list", "elements": "str"},
    "new_instances": STRS,
    "required_groups": STRS,
    "storage_groups": STRS,
    "inventory_groups": {"type": "dict", "default": {}},
    "storage_problems": STRS,
    "storage_moves": {"type": "list", "elements": "dict", "default": []},
    "storage_device_results": {"type": "list", "elements": "dict", "default": []},
    "rds_instances": STRS,
    "db_subnet_group": {"type": "str", "default": ""},
    "rds_problems": STRS,
    "aws_environment_names": STRS,
}


@dataclass(frozen=True)
class Checks:
    """What pre-flight checks besides the plan (the ``checks`` option of swap_plan_info)."""

    environment: str = ""
    confirm: str = ""
    confirm_environments: list[str] = field(default_factory=list)
    quiet_hours_start: int = 5
    quiet_hours_end: int = 8
    allow_any_hour: bool = False
    storage: bool = False
    vpc: bool = False
    office_networks: list[str] | None = None
    new_instances: list[str] = field(default_factory=list)
    required_groups: list[str] = field(default_factory=list)
    storage_groups: list[str] = field(default_factory=list)
    inventory_groups: dict[str, list[str]] = field(default_factory=dict)
    storage_problems: list[str] = field(default_factory=list)
    storage_moves: list[dict[str, Any]] = field(default_factory=list)
    storage_device_results: list[dict[str, Any]] = field(default_factory=list)
    rds_instances: list[str] = field(default_factory=list)
    db_subnet_group: str = ""
    rds_problems: list[str] = field(default_factory=list)
    aws_environment_names: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, raw: dict[str, Any]) -> Checks:
        """From the module's ``checks`` option (its suboptions have the defaults of this class)."""
        hours = raw.get("quiet_hours_utc") or {}
        parts = raw.get("parts") or {}
        return cls(
            environment=str(raw.get("environment") or ""),
            confirm=str(raw.get("confirm") or ""),
            confirm_environments=[str(e) for e in raw.get("confirm_environments") or []],
            quiet_hours_start=int(hours.get("start", 5)),
            quiet_hours_end=int(hours.get("end", 8)),
            allow_any_hour=bool(raw.get("allow_any_hour")),
            storage=truthy(parts.get("storage")),
            vpc=truthy(parts.get("vpc")),
            office_networks=raw.get("office_networks"),
            new_instances=[str(n) for n in raw.get("new_instances") or []],
            required_groups=[str(g) for g in raw.get("required_groups") or []],
            storage_groups=[str(g) for g in raw.get("storage_groups") or []],
            inventory_groups={str(k): list(v or []) for k, v in (raw.get("inventory_groups") or {}).items()},
            storage_problems=[str(p) for p in raw.get("storage_problems") or []],
            storage_moves=list(raw.get("storage_moves") or []),
            storage_device_results=list(raw.get("storage_device_results") or []),
            rds_instances=[str(r) for r in raw.get("rds_instances") or []],
            db_subnet_group=str(raw.get("db_subnet_group") or ""),
            rds_problems=[str(p) for p in raw.get("rds_problems") or []],
            aws_environment_names=[str(n) for n in raw.get("aws_environment_names") or []],
        )


def truthy(value: Any) -> bool:
    """Ansible's idea of a boolean from an inventory value ("true", "yes", 1, True)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


# --------------------------------------------------------------------------- the run itself


def confirmation_problems(environment: str, confirm: str, confirm_environments: list[str]) -> list[str]:
    if environment in confirm_environments and confirm != environment:
        return [
            f"environment {environment} needs an explicit confirmation: rerun with "
            f"-e clusterswap_confirm={environment}"
        ]
    return []


def quiet_hours_problems(checks: Checks, vpc_moves_needed: int, hour: int) -> list[str]:
    """A big swap (storage, VPC, or EIPs to move to the VPC) only in the quiet hours, unless allowed."""
    big = checks.storage or checks.vpc or vpc_moves_needed > 0
    start, end = checks.quiet_hours_start, checks.quiet_hours_end
    if not big or checks.allow_any_hour or start <= hour < end:
        return []
    return [
        f"this swap is big (storage or VPC parts, or {vpc_moves_needed} EIPs to move to the VPC) and it is "
        f"{hour}:00 UTC, outside the quiet hours {start}:00-{end}:00 UTC: start it then, or allow it with "
        "-e clusterswap_allow_any_hour=true"
    ]


def is_cidr(network: str) -> bool:
    """An IPv4 network written a.b.c.d/n (host bits may be set, as nginx accepts)."""
    if not CIDR.fullmatch(network):
        return False
    try:
        ipaddress.IPv4Network(network, strict=False)
    except ValueError:
        return False
    return True


def office_network_problems(networks: list[str] | None) -> list[str]:
    if networks is None:
        return []
    if not networks:
        return [
            "no office network is set (clusterswap_office_networks): the office could not see the new "
            "cluster through the maintenance server; set at least one CIDR"
        ]
    return [
        f"office network {n} is not a CIDR like 203.0.113.0/24: fix clusterswap_office_networks"
        for n in networks
        if not is_cidr(str(n))
    ]


#: environment variables that hold an AWS secret (botocore's credential variables)
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def secret_environment_problems(names: list[str]) -> list[str]:
    """A secret in clusterswap_aws_environment is printed: Ansible puts a play's environment on the command
    line it shows at -vvv (`EXEC /bin/sh -c 'AWS_SECRET_ACCESS_KEY=... python ...'`)."""
    return [
        f"clusterswap_aws_environment sets {name}: Ansible prints a play's environment at -vvv, so the "
        "secret would be in the output and its logs; give the credentials as a profile (AWS_PROFILE, and "
        "AWS_SHARED_CREDENTIALS_FILE for another file), the controller's instance role or its own "
        "environment, and keep only settings that are not secret there (region, endpoint, profile)"
        for name in names
        if name.upper() in SECRET_VARIABLES
    ]


# --------------------------------------------------------------------------- the instances and the inventory


def missing_new_instance_problems(new_instances: list[str], found: set[str]) -> list[str]:
    return [
        f"new-cluster instance {name} does not exist: start the new cluster (playbooks/prepare-cluster.yml) "
        "or fix the inventory"
        for name in new_instances
        if name not in found
    ]


def role_problems(
    instance_map: dict[str, str], maintenance: list[str], stop: list[str], new_instances: list[str]
) -> list[str]:
    """Every instance given two roles: old, maintenance and new are disjoint, and step 3 stops only old ones.

    An instance in two roles is harmed by one of them: the maintenance server or a new load balancer among
    the instances to stop is stopped in the window (the page or the new cluster goes with it); a new target
    that is an old instance or the maintenance server leaves traffic on the old side or on the page.
    """
    new_role = "a new-cluster instance (a value of clusterswap_instance_map, or clusterswap_new_instances)"
    roles = {
        "an old instance (a key of clusterswap_instance_map)": set(instance_map),
        "a maintenance server (clusterswap_maintenance_instances)": set(maintenance),
        new_role: {
            *instance_map.values(),
            *new_instances,
        },
    }
    problems = []
    for name in sorted(set().union(*roles.values())):
        held = [role for role, names in roles.items() if name in names]
        if len(held) > 1:
            problems.append(
                f"instance {name} is both {' and '.join(held)}: an instance has one role in the swap; "
                "fix the inventory"
            )
    kept = {"the maintenance server": set(maintenance), "a new-cluster instance": roles[new_role]}
    for name in sorted(set(stop)):
        for role, names in kept.items():
            if name in names:
                problems.append(
                    f"instance {name} is among the old instances to stop (clusterswap_old_ephemerals) and is "
                    f"{role}: step 3 would stop it in the window; take it out of clusterswap_old_ephemerals"
                )
    return problems


def stopped_maintenance_problems(maintenance: list[str], states: dict[str, str | None]) -> list[str]:
    """Every maintenance server that exists and is not running (a missing one is named by the plan)."""
    return [
        f"the maintenance server {name} is not running: start it (playbooks/prepare-cluster.yml starts it) "
        "before the window"
        for name in states
        if name in maintenance and states[name] != "running"
    ]


def empty_group_problems(wanted: list[str], inventory_groups: dict[str, list[str]]) -> list[str]:
    """An empty group skips its plays ('no hosts matched') while the rest of the swap goes on."""
    empty = [g for g in wanted if not inventory_groups.get(g)]
    if not empty:
        return []
    many = len(empty) > 1
    names = "', '".join(empty)
    return [
        f"inventory group{'s' if many else ''} '{names}' {'are' if many else 'is'} empty: the plays on "
        f"{'them' if many else 'it'} would be skipped ('no hosts matched') while the rest of the swap goes "
        "on. Did an inventory source fail to parse? Check ansible-inventory --graph with this inventory, or "
        "fix the groups"
    ]


# --------------------------------------------------------------------------- storage and RDS


def hosted_servers(moves: list[dict[str, Any]]) -> list[str]:
    """The old servers whose host steps run: every move's, unless its entry says host_steps: false."""
    return [str(m["old"]) for m in moves if "old" in m and truthy(m.get("host_steps", True))]


def storage_host_problems(checks: Checks) -> list[str]:
    """The old storage servers: in the inventory, reachable, showing every volume they give up."""
    problems: list[str] = []
    if checks.storage:
        known = set(checks.inventory_groups.get("all", []))
        problems += [
            f"old storage server {name} is not in the inventory: its filesystems could not be checked "
            "unmounted, so its volumes would not move; add it, or set host_steps: false on its entry if "
            "nothing on it is mounted"
            for name in hosted_servers(checks.storage_moves)
            if name not in known
        ]
    for result in checks.storage_device_results:
        problems += [str(p) for p in result.get("problems") or []]
    for result in checks.storage_device_results:
        if result.get("unreachable"):
            old = (result.get("item") or {}).get("old", "?")
            problems.append(
                f"old storage server {old} is unreachable: its volumes could not be checked, and the storage "
                "move would stop at it in the window; make it reachable"
            )
    return problems


def rds_problems(checks: Checks) -> list[str]:
    problems = []
    if checks.vpc and checks.rds_instances and not checks.db_subnet_group:
        problems.append(
            f"RDS DB instances to move ({', '.join(checks.rds_instances)}) but no DB subnet group to move "
            "them into: set clusterswap_db_subnet_group to a subnet group of the new VPC"
        )
    return problems + checks.rds_problems


# --------------------------------------------------------------------------- all of them


def preflight_problems(
    checks: Checks,
    *,
    vpc_moves_needed: int,
    hour: int,
    new_found: set[str],
    maintenance: list[str],
    states: dict[str, str | None],
) -> list[str]:
    """Every problem pre-flight adds to the plan's, in the order an operator reads them."""
    groups = checks.required_groups + (checks.storage_groups if checks.storage else [])
    return [
        *confirmation_problems(checks.environment, checks.confirm, checks.confirm_environments),
        *quiet_hours_problems(checks, vpc_moves_needed, hour),
        *office_network_problems(checks.office_networks),
        *secret_environment_problems(checks.aws_environment_names),
        *missing_new_instance_problems(checks.new_instances, new_found),
        *stopped_maintenance_problems(maintenance, states),
        *(empty_group_problems(groups, checks.inventory_groups) if checks.inventory_groups else []),
        *checks.storage_problems,
        *storage_host_problems(checks),
        *rds_problems(checks),
    ]


def problems_message(problems: list[str]) -> str:
    """Pre-flight's failure: every problem, numbered."""
    lines = [f"Pre-flight found {len(problems)} problem(s); nothing has been changed:"]
    lines += [f"  {n}. {p}" for n, p in enumerate(problems, 1)]
    return "\n".join(lines)


def unpinned(unplaced: dict[str, list[str]]) -> list[str]:
    """The EIPs some phase of the swap would move but whose target is not pinned yet (prepare pins it)."""
    phases = ("to_maintenance", "to_vpc_page", "to_new")
    return sorted({name for phase in phases for name in unplaced.get(phase, [])})


def plan_summary(result: dict[str, Any]) -> str:
    """Where the swap stands, in one paragraph (pre-flight's report)."""
    eips = result.get("eips") or []
    where = ", ".join(f"{k}: {v}" for k, v in Counter(e["location"] for e in eips).items())
    unplaced = result.get("unplaced") or {}
    waiting = unpinned(unplaced)
    hint = " (playbooks/prepare-cluster.yml assigns their private IPs)" if waiting else ""
    vpc = (result.get("quotas") or {}).get("vpc") or {}
    text = (
        f"Swap stage: {result.get('stage')}; {len(eips)} EIPs in the plan ({where}); "
        f"{len(set(waiting))} without a pinned maintenance or new target{hint}; "
        f"{result.get('vpc_moves_needed', 0)} to move to the VPC; "
        f"VPC EIPs free {vpc.get('available')} of {vpc.get('limit')}."
    )
    if result.get("stage") == "live":
        text += " Nothing to swap: every EIP already answers from the new cluster."
    return text
