#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the account once and say where the swap stands: the plan, each EIP's exact place, every problem."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import duplicates, run_module
from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import (
    Instance,
    describe_instances_by_name,
    dry_run,
    ec2_client,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.eip import (
    CLASSIC,
    MOVING_TO_VPC,
    RESTORING_TO_CLASSIC,
    VPC,
    Eip,
    describe_addresses,
    describe_moving_addresses,
    eip_quotas,
    malformed_ips,
    quota_problem,
    young_addresses,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.network import (
    DEFAULT_SUGGESTED_TYPES,
    Slot,
    TypeInfo,
    assign_targets,
    bind_maintenance,
    capacity,
    current_slot,
    holders,
    instance_can_hold,
    network_limits,
    slot_key,
    slot_order,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.preflight import (
    CHECKS_OPTIONS,
    Checks,
    plan_summary,
    preflight_problems,
    problems_message,
    role_problems,
    unpinned,
)

DOCUMENTATION = r"""
---
module: swap_plan_info
short_description: Where a cluster swap stands, where each EIP goes exactly, and what would stop it
version_added: 0.1.0
description:
  - Reads the account with one C(DescribeInstances), one C(DescribeAddresses), one
    C(DescribeMovingAddresses), one C(DescribeAccountAttributes) and one C(DescribeInstanceTypes), whatever
    the number of EIPs.
  - "Builds the swap plan: every EIP with three exact B(targets): C(old) (where it was when the plan was
    recorded), C(maintenance) and C(new). A target is (instance, network interface, private IP) in a VPC,
    the instance itself in EC2-Classic, because AWS lets each private IPv4 address hold one EIP and an
    EC2-Classic instance hold one EIP: a second association silently disassociates the first (or is
    refused), and association by instance alone is refused on an instance with several interfaces."
  - On the first run the plan is every EIP associated with an old instance named in O(instance_map), going
    to the new instance that map names, and to a maintenance instance of O(maintenance_instances) (filled
    in the order listed, each with as many EIPs as it can hold). The plan is written to O(record) before
    anything changes (not in check mode), so a later run that finds the EIPs on the maintenance servers,
    moving, or half live still knows where each one came from and where it goes; rollback reads it too.
  - "Targets are B(pinned) in the record as soon as their instance has the private IPs for every EIP
    bound to it (C(playbooks/prepare-cluster.yml) assigns them): EIPs sorted by (name, public IP) take the
    instance's free slots in order (interfaces by device index; on each the primary IP, then the secondary
    IPs by numeric value); an EIP already on a free slot of its instance keeps it; a slot holding an EIP
    outside the plan is skipped. A pinned target never changes. The record is rewritten (atomically, never
    in check mode) when a pin is added."
  - Says where each EIP is now (C(location)), how much each target instance can hold and what prepare must
    assign (C(capacity)), and returns the associations each phase makes (C(moves)), so that roles need not
    build them.
  - Collects B(every) problem that would stop the swap, each with what to do, so that pre-flight fails
    once, before the maintenance window, with the whole list. C(DryRun) calls check the permissions of the
    changes the swap makes.
  - Among them - an instance given two roles (old, maintenance, new are disjoint; the maintenance server
    or a new instance among O(stop_instances)); a plan record that cannot be read as a plan (corrupt JSON,
    no list of EIPs, an unknown version, an entry without its address or its old and new instances, an EIP
    listed twice) or that disagrees with O(instance_map) (the record wins; the problem names both ways
    out); an EIP to move to the VPC that was allocated less than 24 hours ago (CloudTrail's
    C(AllocateAddress) events; when the history cannot be read, a warning says the rule was not checked).
  - Read-only towards AWS; the only write is the plan record on the controller.
author:
  - clusterswap
options:
  instance_map:
    description:
      - Old instance C(Name) tag to new instance C(Name) tag, for every old instance that holds EIPs.
    type: dict
    required: true
  maintenance_instances:
    description:
      - The C(Name) tags of the maintenance ("system down") servers, in the order they are filled.
      - An EC2-Classic instance holds one EIP, so a Classic maintenance fleet has one instance per EIP.
      - Each EIP gets a server on the platform its page needs (a VPC EIP one in a VPC, an EC2-Classic EIP
        one in EC2-Classic), except a Classic EIP bound for a VPC instance when the fleet has a server in a
        VPC; its page is there (C(moves.to_vpc_page)), and its move to the VPC starts as the window opens
        instead of after the office check.
      - A single name is accepted (alias O(maintenance_instance)).
    type: list
    elements: str
    required: true
    aliases: [maintenance_instance]
  stop_instances:
    description: C(Name) tags of the old instances the swap stops (checked to exist; DryRun of StopInstances).
    type: list
    elements: str
    default: []
  record:
    description:
      - Path of the plan record on the controller (JSON). Read if it exists; written when missing or when
        a target is pinned. A record of the first format (version 1, no targets) is read with every target
        unpinned and rewritten in version 2 once it gains a pin.
    type: path
    required: true
  check_permissions:
    description: Make C(DryRun) calls of AssociateAddress, StopInstances and MoveAddressToVpc.
    type: bool
    default: true
  suggested_instance_types:
    description:
      - Instance types a capacity problem may name as "a larger instance type" (the first that holds the EIPs
        needed on one interface, else the first that holds them at all). Described in the same
        C(DescribeInstanceTypes) call.
    type: list
    elements: str
    default: [m5.large, m5.xlarge, m5.2xlarge, m5.4xlarge]
  checks:
    description:
      - Pre-flight's checks beyond the plan, whose problems join RV(problems) (and, like the plan's, keep the
        record from being written). Omitted, only the plan is checked.
      - The storage and RDS suboptions take what the read-only checks of those moves found (their modules in
        preflight mode, C(ebs_block_devices) on the old servers), run before this module.
    type: dict
    suboptions:
      environment:
        description: The environment the swap runs in (C(staging), C(production), ...).
        type: str
        default: ""
      confirm:
        description: The confirmation given (C(-e clusterswap_confirm=production)).
        type: str
        default: ""
      confirm_environments:
        description: Environments that need a confirmation equal to their name.
        type: list
        elements: str
        default: [production]
      quiet_hours_utc:
        description: >-
          C({start, end}) hours, UTC, in which a big swap (storage or VPC parts, or EIPs to move to the VPC)
          may start.
        type: dict
        default: {start: 5, end: 8}
      allow_any_hour:
        description: Let a big swap start outside the quiet hours.
        type: bool
        default: false
      parts:
        description: The swap's parts, C({storage, vpc}) (booleans).
        type: dict
        default: {}
      office_networks:
        description: >-
          The office's CIDRs, which bypass the maintenance page: one at least, each an IPv4 CIDR. Omitted,
          not checked.
        type: list
        elements: str
      new_instances:
        description: >-
          C(Name) tags of the new cluster's instances, which must exist (read in the same
          C(DescribeInstances)).
        type: list
        elements: str
        default: []
      required_groups:
        description: Inventory groups the phases run on, which must not be empty.
        type: list
        elements: str
        default: []
      storage_groups:
        description: Inventory groups the storage part runs on, which must not be empty when it runs.
        type: list
        elements: str
        default: []
      inventory_groups:
        description: The inventory's groups, group name to host names (the play's C(groups)).
        type: dict
        default: {}
      storage_problems:
        description: What M(ebs_volume_move) in preflight mode found (its C(problems)).
        type: list
        elements: str
        default: []
      storage_moves:
        description: >-
          The EBS moves (C(old), C(new), C(devices), C(host_steps)): the old server of each whose host steps
          run (C(host_steps) not false) must be in the inventory (group C(all)).
        type: list
        elements: dict
        default: []
      storage_device_results:
        description: >-
          The registered C(results) of M(ebs_block_devices) looped over the old storage servers (C(item.old)):
          their C(problems), and which were C(unreachable).
        type: list
        elements: dict
        default: []
      rds_instances:
        description: The RDS DB instances to move into the VPC.
        type: list
        elements: str
        default: []
      db_subnet_group:
        description: >-
          The DB subnet group they move into (with C(parts.vpc), needed when there are RDS instances).
        type: str
        default: ""
      rds_problems:
        description: What M(rds_move_to_vpc) in preflight mode found (its C(problems)).
        type: list
        elements: str
        default: []
      aws_environment_names:
        description: >-
          The names (never the values) of the environment variables the plays give the AWS tasks
          (C(clusterswap_aws_environment)); a secret among them (C(AWS_SECRET_ACCESS_KEY),
          C(AWS_SESSION_TOKEN), ...) is a problem, because Ansible prints a play's environment at C(-vvv).
        type: list
        elements: str
        default: []
notes:
  - "C(location) of an EIP: C(old), C(maintenance) or C(new) only on that exact target (interface and private
    IP, not just the instance); C(misplaced) on the instance of one of its targets but on another address
    (C(misplaced_on) says which target; the next phase puts it on its exact target); C(elsewhere) on any
    other instance or interface (a problem: someone moved it); C(unassociated)."
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: "0.1 | Pre-flight | Read the account and the plan"
  clusterswap.swap.swap_plan_info:
    instance_map: {old-lb-1: new-lb-1, old-lb-2: new-lb-2}
    maintenance_instances: [maint-1]
    stop_instances: [old-lb-1, old-lb-2, old-web-1]
    record: "{{ playbook_dir }}/../.swap/production-plan.json"
  register: clusterswap_plan

- name: "2.2 | Maintenance | Every EIP to its exact maintenance target"
  clusterswap.swap.eip_associate:
    associations: "{{ clusterswap_plan.moves.to_maintenance }}"
"""

RETURN = r"""
stage:
  description: >-
    C(unswapped) (every EIP on its old target), C(maintenance) (every EIP on its maintenance target),
    C(live) (every EIP on its new target), C(in_progress) (anything between), C(empty) (no EIP in the plan).
  returned: always
  type: str
  sample: unswapped
eips:
  description: The plan, one entry per EIP, in the order of the record.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The EIP's Name tag (or its address)., type: str}
    public_ip: {description: The EIP's address., type: str}
    allocation_id: {description: Allocation ID (VPC EIPs)., type: str}
    domain: {description: C(standard) (EC2-Classic) or C(vpc)., type: str}
    moving: {description: C(movingToVpc) or C(restoringToClassic) while AWS moves it., type: str}
    location:
      description: old, maintenance, new, misplaced, unassociated or elsewhere (see the notes).
      type: str
    misplaced_on: {description: With C(location=misplaced), the target whose instance it is on., type: str}
    instance_id: {description: The instance it is associated with now., type: str}
    network_interface_id: {description: The network interface it is associated with now., type: str}
    private_ip_address: {description: The private IP it is mapped to now., type: str}
    old_instance: {description: Name of the old instance it served., type: str}
    old_instance_id: {description: Its id., type: str}
    maintenance_instance: {description: Name of its maintenance instance., type: str}
    needs_restore_to_classic:
      description: >-
        An EIP of an EC2-Classic old instance that is in the VPC now (or moving there): rollback restores it
        to EC2-Classic before putting it back.
      type: bool
    page_in_vpc:
      description: >-
        An EC2-Classic EIP of the old cluster whose maintenance page is in a VPC: it moves there as the window
        opens (C(moves.to_vpc_page)).
      type: bool
    maintenance_instance_id: {description: Its id., type: str}
    new_instance: {description: Name of the new instance it goes to., type: str}
    new_instance_id: {description: Its id., type: str}
    targets:
      description: >-
        C(old), C(maintenance), C(new): each C({instance, instance_id, network_interface_id,
        private_ip_address, pinned, placed}); C(placed) is false (and C(network_interface_id),
        C(private_ip_address) null) while no free private IP is found for it; C(pinned) says the record
        keeps it.
      type: dict
    needs_move_to_vpc: {description: A Classic EIP whose new instance is in a VPC., type: bool}
instances:
  description: >-
    Name -> {id, state, vpc_id, platform, instance_type, private_ip_address, interfaces} for every instance
    the plan names; C(interfaces) lists each network interface (C(network_interface_id), C(device_index),
    C(mac_address), C(subnet_id), C(private_ip_addresses)).
  returned: always
  type: dict
maintenance_instance_id:
  description: The first maintenance server's instance id.
  returned: always
  type: str
maintenance_instance_ids:
  description: Name -> instance id of every maintenance server.
  returned: always
  type: dict
moves:
  description: >-
    The associations each phase makes, ready for M(eip_associate): C(to_maintenance) (every EIP still on
    the old cluster, unassociated or misplaced, to its maintenance target), C(to_vpc_page) (the same, for
    the EC2-Classic EIPs whose maintenance server is in a VPC: each moves to the VPC first, then goes onto
    its place there), C(to_new) (every EIP not yet on
    its new target), C(to_old) (rollback: every EIP not on its old target). Each item is
    C({public_ip, instance_id, network_interface_id, private_ip_address}). Only exact targets are listed;
    the EIPs of a phase without one are in C(unplaced).
  returned: always
  type: dict
unplaced:
  description: >-
    C(to_maintenance), C(to_vpc_page), C(to_new), C(to_old): the names of the EIPs that phase would move
    but whose target is not pinned (maintenance, new: run C(playbooks/prepare-cluster.yml)) or cannot be
    placed (old).
  returned: always
  type: dict
unpinned:
  description: >-
    The names of the EIPs whose maintenance or new target is not pinned yet (C(unplaced) but for rollback):
    C(playbooks/prepare-cluster.yml) assigns their private IPs and pins them.
  returned: always
  type: list
  elements: str
capacity:
  description: >-
    One entry per maintenance and new instance: C(needed) EIPs, C(have) usable private IPs, C(can_hold) on
    its attached interfaces, the type's limits, and C(to_assign) per interface (C(network_interface_id),
    C(mac_address), C(subnet_id), C(secondary_private_ips) now, C(count) to add), with C(problem) when it
    cannot hold them.
  returned: always
  type: list
  elements: dict
capacity_problems:
  description: The capacity problems (also in C(problems)).
  returned: always
  type: list
  elements: str
vpc_moves_needed:
  description: How many EIPs must still move from EC2-Classic to the VPC.
  returned: always
  type: int
vpc_moves_after_office_check:
  description: >-
    How many of those move after the office check (playbooks/eip-vpc-migration.yml): the EIPs whose
    maintenance page is not in the VPC (the others move as the window opens, C(moves.to_vpc_page)).
  returned: always
  type: int
quotas:
  description: Classic and VPC EIP limits, used and available (as M(eip_quota_info) returns them).
  returned: always
  type: dict
problems:
  description: Every problem found, each saying what to do. Empty when the swap can go ahead.
  returned: always
  type: list
  elements: str
problems_message:
  description: The problems numbered, as pre-flight fails with them.
  returned: always
  type: str
summary:
  description: >-
    Where the swap stands in one paragraph (stage, locations, unpinned targets, VPC moves, VPC EIPs free).
  returned: always
  type: str
record_written:
  description: Whether this run wrote the plan record (created, or a pin added; never in check mode).
  returned: always
  type: bool
record_version:
  description: The version of the record read (1 or 2), or null when there was none.
  returned: always
  type: int
pins_added:
  description: How many targets this run pinned (written only when C(record_written)).
  returned: always
  type: int
"""

ARGUMENT_SPEC: dict[str, Any] = {
    "instance_map": {"type": "dict", "required": True},
    "maintenance_instances": {
        "type": "list",
        "elements": "str",
        "required": True,
        "aliases": ["maintenance_instance"],
    },
    "stop_instances": {"type": "list", "elements": "str", "default": []},
    "record": {"type": "path", "required": True},
    "check_permissions": {"type": "bool", "default": True},
    "suggested_instance_types": {
        "type": "list",
        "elements": "str",
        "default": list(DEFAULT_SUGGESTED_TYPES),
    },
    "checks": {"type": "dict", "options": CHECKS_OPTIONS},
}

ROLES = ("old", "maintenance", "new")
RECORD_VERSION = 2


# --------------------------------------------------------------------------- the plan and its record


@dataclass
class Target:
    """Where an EIP goes for one role; ``network_interface_id``/``private_ip_address`` set once pinned."""

    instance: str | None
    network_interface_id: str | None = None
    private_ip_address: str | None = None
    pinned: bool = False

    def to_record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"instance": self.instance}
        if self.pinned:
            out["network_interface_id"] = self.network_interface_id
            out["private_ip_address"] = self.private_ip_address
        return out

    @classmethod
    def from_record(cls, raw: dict[str, Any] | None) -> Target:
        raw = raw or {}
        pinned = "private_ip_address" in raw or "network_interface_id" in raw
        return cls(
            raw.get("instance"), raw.get("network_interface_id"), raw.get("private_ip_address"), pinned
        )


@dataclass
class Entry:
    """One EIP of the plan, as the record keeps it."""

    name: str
    public_ip: str
    targets: dict[str, Target] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "public_ip": self.public_ip,
            **{role: self.targets[role].to_record() for role in ROLES if role in self.targets},
        }


class RecordError(Exception):
    """The plan record cannot be read as a plan: each problem says what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


#: What to do about a record that cannot be trusted: it is never rewritten from the inventory.
RECORD_WAY_OUT = (
    "the record keeps where each EIP goes once the swap has begun, so it is never rebuilt from the "
    "inventory: restore it from your copy of the swap's record, or, while every EIP is still on the old "
    "cluster, delete it and rerun pre-flight to write a new one"
)


def record_entry_problems(raw: Any, n: int, version: int) -> list[str]:
    """What is wrong with the n-th entry of a record (empty when it can be read)."""
    if not isinstance(raw, dict):
        return [f"entry {n} is a {type(raw).__name__}, not an object"]
    problems = []
    if not isinstance(raw.get("public_ip"), str) or malformed_ips([raw["public_ip"]]):
        problems.append(f"entry {n} has no valid public_ip ({raw.get('public_ip')!r})")
    wanted = ("old_instance", "new_instance") if version == 1 else ("old", "new")
    for key in wanted:
        value = raw.get(key)
        instance = value if version == 1 else (value.get("instance") if isinstance(value, dict) else None)
        if not isinstance(instance, str) or not instance:
            shape = "an instance name" if version == 1 else "an object with its instance"
            problems.append(f"entry {n} ({raw.get('public_ip', '?')}) has no {key!r} ({shape})")
    maintenance = raw.get("maintenance")
    if version != 1 and maintenance is not None and not isinstance(maintenance, dict):
        problems.append(f"entry {n} ({raw.get('public_ip', '?')}): 'maintenance' is not an object")
    return problems


def parse_record(data: Any) -> tuple[int, list[Entry]]:
    """(version, entries) of a record; version 1 (``old_instance``/``new_instance``): unpinned targets.

    Raises RecordError naming every problem of a record that is not a plan: not an object, no list of EIPs,
    an unknown version, an entry without its address or its old and new instances, an EIP listed twice.
    """
    if not isinstance(data, dict) or not isinstance(data.get("eips"), list):
        raise RecordError(["it is not an object with a list 'eips'"])
    version = data.get("version", 1)
    if version not in (1, RECORD_VERSION):
        raise RecordError([f"its version {version!r} is not one this module reads (1 or {RECORD_VERSION})"])
    problems = [p for n, raw in enumerate(data["eips"], 1) for p in record_entry_problems(raw, n, version)]
    listed = [raw.get("public_ip") for raw in data["eips"] if isinstance(raw, dict)]
    ips = [ip for ip in listed if isinstance(ip, str)]  # an entry without one is named above
    problems += [f"EIP {ip} is listed {ips.count(ip)} times" for ip in sorted(duplicates(ips))]
    if problems:
        raise RecordError(problems)
    entries = []
    for raw in data["eips"]:
        if version == 1:
            targets = {
                "old": Target(raw["old_instance"]),
                "maintenance": Target(None),
                "new": Target(raw["new_instance"]),
            }
        else:
            targets = {role: Target.from_record(raw.get(role)) for role in ROLES}
        entries.append(Entry(raw.get("name") or raw["public_ip"], raw["public_ip"], targets))
    return version, entries


def read_record(path: str) -> tuple[int, list[Entry]] | None:
    """The record at ``path``, None when there is none; RecordError when it cannot be read as a plan."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError([f"it cannot be read ({exc})"]) from exc
    except json.JSONDecodeError as exc:
        raise RecordError([f"it is not valid JSON ({exc}), as if truncated or edited by hand"]) from exc
    return parse_record(data)


def record_problems(path: str, error: RecordError) -> list[str]:
    """The problems of a record that cannot be read, as pre-flight reports them."""
    return [
        f"the plan record {path} cannot be used: {'; '.join(error.problems)}. What to do: {RECORD_WAY_OUT}"
    ]


def disagreement_problems(path: str, entries: list[Entry], instance_map: dict[str, str]) -> list[str]:
    """Every recorded EIP whose old or new instance the inventory's instance map no longer says.

    The record wins: it pins where each EIP is going once the swap has begun (a rerun after some EIPs moved
    must not send the others elsewhere). Which to choose is the operator's call, so the disagreement stops
    the swap, naming both ways out.
    """
    wrong: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        old, new = entry.targets["old"].instance or "", entry.targets["new"].instance or ""
        if instance_map.get(old) != new:
            wrong.setdefault((old, new), []).append(f"{entry.name} ({entry.public_ip})")
    problems = []
    for (old, new), names in sorted(wrong.items()):
        now = instance_map.get(old)
        said = f"maps {old} to {now}" if now else f"does not map {old}"
        problems.append(
            f"the plan record {path} sends the EIP(s) of {old} to {new} ({', '.join(names)}), "
            f"clusterswap_instance_map {said}. The record wins, so nothing was planned from the map: to "
            f"keep the record, set clusterswap_instance_map back ({old}: {new}); to follow the map, while "
            "every EIP is still on the old cluster, delete the record and rerun pre-flight"
        )
    return problems


def write_record(path: str, entries: list[Entry]) -> None:
    """Write the record atomically: a temporary file in the same directory, flushed, then renamed."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    data = {"version": RECORD_VERSION, "eips": [e.to_record() for e in entries]}
    fd, tmp = tempfile.mkstemp(prefix=".swap-plan-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def initial_plan(
    addresses: dict[str, Eip], instance_map: dict[str, str], instances: dict[str, Instance]
) -> list[Entry]:
    """Every EIP on a mapped old instance, going to the new instance the map names."""
    eni_owner = interface_owners(instances)
    old_by_id = {instances[old].instance_id: old for old in instance_map if old in instances}
    plan = []
    for eip in sorted(addresses.values(), key=lambda e: (e.name or e.public_ip, e.public_ip)):
        old = old_by_id.get(holder_instance(eip, eni_owner) or "")
        if old:
            targets = {"old": Target(old), "maintenance": Target(None), "new": Target(instance_map[old])}
            plan.append(Entry(eip.name or eip.public_ip, eip.public_ip, targets))
    return plan


# --------------------------------------------------------------------------- instances


def resolve_instances(found: dict[str, list[Instance]], problems: list[str]) -> dict[str, Instance]:
    instances: dict[str, Instance] = {}
    for name, matches in found.items():
        if not matches:
            problems.append(
                f"instance {name!r}: no instance with this Name tag exists (terminated, misspelt, or in "
                "another region): fix the inventory or start the instance"
            )
        elif len(matches) > 1:
            ids = ", ".join(m.instance_id for m in matches)
            problems.append(
                f"instance {name!r}: {len(matches)} instances carry this Name ({ids}): make it unique"
            )
        else:
            instances[name] = matches[0]
    return instances


def interface_owners(instances: dict[str, Instance]) -> dict[str, str]:
    """ENI id -> instance id, for every ENI of the instances described."""
    return {eni.network_interface_id: i.instance_id for i in instances.values() for eni in i.interfaces}


def holder_instance(eip: Eip, eni_owner: dict[str, str]) -> str | None:
    """The instance an EIP is on now (DescribeAddresses may name only the ENI)."""
    return eip.instance_id or eni_owner.get(eip.network_interface_id or "")


# --------------------------------------------------------------------------- placing the targets


@dataclass
class Placed:
    """The effective target of one EIP for one role in this run."""

    instance: str | None
    slot: Slot | None  # pinned, or provisional (old targets of a v1 record)
    pinned: bool


def page_platform_classic(
    eip: Eip | None, entry: Entry, instances: dict[str, Instance], vpc_fleet: bool
) -> bool:
    """Whether this EIP's maintenance page must be on an EC2-Classic server: a Classic EIP that stays in
    Classic, or one bound for the VPC when the fleet has no server in a VPC (it then moves after the office
    check). A Classic EIP bound for the VPC with a VPC server in the fleet gets its page there: it moves to
    the VPC as the window opens, its move overlapping the rest of the window."""
    if eip is None or eip.domain == VPC:
        return False
    new = instances.get(entry.targets["new"].instance or "")
    return not (vpc_fleet and new is not None and not new.classic)


def bind_maintenance_targets(
    entries: list[Entry],
    maintenance: list[str],
    instances: dict[str, Instance],
    types: dict[str, TypeInfo],
    addresses: dict[str, Eip],
) -> None:
    """Give every entry without a maintenance instance one of the fleet's servers on the platform its page
    needs (page_platform_classic), filling them in the order listed."""
    unbound = [e for e in entries if not e.targets["maintenance"].instance]
    if not unbound:
        return
    already: dict[str, int] = {}
    for entry in entries:
        name = entry.targets["maintenance"].instance
        if name:
            already[name] = already.get(name, 0) + 1
    fleet: dict[bool, list[tuple[str, int | None]]] = {True: [], False: []}
    for name in maintenance:
        inst = instances.get(name)
        can = instance_can_hold(inst, types) if inst else 0
        member = (name, None if can is None else max(0, can - already.get(name, 0)))
        for classic in (True, False) if inst is None else (inst.classic,):
            fleet[classic].append(member)  # a server not found is named as a problem already
    vpc_fleet = any(not instances[n].classic for n in maintenance if n in instances)
    for classic in (True, False):
        group = [
            (e.name, e.public_ip)
            for e in unbound
            if page_platform_classic(addresses.get(e.public_ip), e, instances, vpc_fleet) == classic
        ]
        # no server on that platform: the whole fleet, and moves() names the mismatch
        binding = bind_maintenance(group, fleet[classic] or fleet[not classic])
        for entry in unbound:
            if entry.public_ip in binding:
                entry.targets["maintenance"].instance = binding[entry.public_ip]


def place_targets(
    entries: list[Entry],
    instances: dict[str, Instance],
    slot_holders: dict[str, str],
    problems: list[str],
) -> tuple[dict[tuple[str, str], Placed], int, dict[str, list[tuple[Slot, str]]]]:
    """The effective target of every (public IP, role); pins what can be pinned.

    Returns (placed, how many pins were added, foreign slots per instance name).
    """
    planned = {e.public_ip for e in entries}
    by_ip = {e.public_ip: e for e in entries}
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        for role in ROLES:
            name = entry.targets[role].instance
            if name:
                groups.setdefault((name, role), []).append(entry)

    def pinned_key(entry: Entry, role: str, inst: Instance) -> str | None:
        target = entry.targets[role]
        if not target.pinned:
            return None
        return slot_key(inst.instance_id, target.network_interface_id, target.private_ip_address)

    placed: dict[tuple[str, str], Placed] = {}
    foreign_by_instance: dict[str, list[tuple[Slot, str]]] = {}
    added = 0
    for (name, role), members in groups.items():
        inst = instances.get(name)
        if inst is None:
            for entry in members:
                placed[(entry.public_ip, role)] = Placed(name, None, False)
            continue
        slots = slot_order(inst)
        pins = {e.public_ip: k for e in members if (k := pinned_key(e, role, inst))}
        taken = {
            k
            for (other, other_role), others in groups.items()
            if other == name and other_role != role
            for e in others
            if (k := pinned_key(e, other_role, inst))
        }
        assignment = assign_targets(
            [(e.name, e.public_ip) for e in members], slots, slot_holders, planned, pins, taken
        )
        foreign_by_instance[name] = assignment.foreign
        for ip in assignment.lost_pins:
            target = by_ip[ip].targets[role]
            problems.append(
                f"EIP {by_ip[ip].name} ({ip}): its {role} target {name} {target.network_interface_id} "
                f"{target.private_ip_address} (pinned in the record) is no longer an address of {name} (the "
                "private IP was unassigned, or the instance was replaced): assign that address again, or "
                f"remove the pin ('{role}': network_interface_id, private_ip_address) from the record"
            )
        # maintenance and new targets are pinned once every EIP bound to the instance has a slot; an old
        # target only where the EIP was seen (it came from there), else it stays a provisional guess
        pin_all = role != "old" and assignment.complete
        for entry in members:
            slot = assignment.targets.get(entry.public_ip)
            target = entry.targets[role]
            if slot is not None and not target.pinned:
                seen_there = slot_holders.get(slot.key) == entry.public_ip
                if pin_all or (role == "old" and seen_there):
                    target.network_interface_id = slot.network_interface_id
                    target.private_ip_address = slot.private_ip_address
                    target.pinned = True
                    added += 1
            # an unpinned maintenance or new target is only the instance: no phase may use a guess
            placed[(entry.public_ip, role)] = Placed(
                name, slot if target.pinned or role == "old" else None, target.pinned
            )
    return placed, added, foreign_by_instance


# --------------------------------------------------------------------------- where each EIP is


def locate(
    eip: Eip, entry: Entry, placed: dict[tuple[str, str], Placed], instances: dict[str, Instance], eni_owner
) -> tuple[str, str | None]:
    """(location, misplaced_on) of an EIP (see the module's notes)."""
    now = current_slot(eip)
    if now is None:
        return "unassociated", None
    for role in ("new", "maintenance", "old"):
        target = placed.get((eip.public_ip, role))
        if target and target.slot is not None and target.slot.key == now:
            return role, None
    holder = holder_instance(eip, eni_owner)
    for role in ("new", "maintenance", "old"):
        target = placed.get((eip.public_ip, role))
        inst = instances.get(target.instance or "") if target else None
        if inst is not None and inst.instance_id == holder:
            return "misplaced", role
    return "elsewhere", None


def target_result(placed: Placed | None, instances: dict[str, Instance]) -> dict[str, Any]:
    if placed is None:
        return {"instance": None, "instance_id": None, "network_interface_id": None,
                "private_ip_address": None, "pinned": False, "placed": False}  # fmt: skip
    inst = instances.get(placed.instance or "")
    slot = placed.slot
    private_ip = slot.private_ip_address if slot else None
    if slot is not None and slot.classic and inst is not None:
        private_ip = inst.private_ip_address
    return {
        "instance": placed.instance,
        "instance_id": inst.instance_id if inst else None,
        "network_interface_id": slot.network_interface_id if slot else None,
        "private_ip_address": private_ip,
        "pinned": placed.pinned,
        "placed": slot is not None and inst is not None,
    }


def describe_plan(
    entries: list[Entry],
    addresses: dict[str, Eip],
    moving: dict[str, str],
    instances: dict[str, Instance],
    placed: dict[tuple[str, str], Placed],
    problems: list[str],
) -> list[dict[str, Any]]:
    eni_owner = interface_owners(instances)
    names_by_id = {i.instance_id: n for n, i in instances.items()}
    eips = []
    for entry in entries:
        eip = addresses.get(entry.public_ip)
        if eip is None:
            problems.append(
                f"EIP {entry.name} ({entry.public_ip}): in the plan record but not in the account "
                "(released?): restore it or remove it from the record"
            )
            continue
        location, misplaced_on = locate(eip, entry, placed, instances, eni_owner)
        holder = holder_instance(eip, eni_owner)
        if location == "elsewhere":
            where = names_by_id.get(holder or "") or holder or eip.network_interface_id
            old, maint, new = (entry.targets[role].instance for role in ROLES)
            problems.append(
                f"EIP {entry.name} ({eip.public_ip}): associated with {where} "
                f"({eip.network_interface_id or 'EC2-Classic'} {eip.private_ip_address or ''}), which is "
                f"neither its old instance {old}, its maintenance server {maint} nor its new instance {new}: "
                "find out who moved it before swapping"
            )
        targets = {role: target_result(placed.get((eip.public_ip, role)), instances) for role in ROLES}
        new_inst = instances.get(entry.targets["new"].instance or "")
        eips.append(
            {
                "name": entry.name,
                "public_ip": eip.public_ip,
                "allocation_id": eip.allocation_id,
                "domain": eip.domain,
                "moving": moving.get(eip.public_ip),
                "location": location,
                "misplaced_on": misplaced_on,
                "instance_id": holder,
                "network_interface_id": eip.network_interface_id,
                "private_ip_address": eip.private_ip_address,
                **{f"{role}_instance": targets[role]["instance"] for role in ROLES},
                **{f"{role}_instance_id": targets[role]["instance_id"] for role in ROLES},
                "targets": targets,
                "needs_move_to_vpc": eip.domain == CLASSIC and bool(new_inst and new_inst.vpc_id),
            }
        )
    return eips


def stage_of(eips: list[dict[str, Any]]) -> str:
    places = {e["location"] for e in eips}
    if not places:
        return "empty"
    for stage, place in (("unswapped", "old"), ("maintenance", "maintenance"), ("live", "new")):
        if places == {place} and not any(e["moving"] for e in eips):
            return stage
    return "in_progress"


# --------------------------------------------------------------------------- what each phase moves


def move_item(target: dict[str, Any], public_ip: str) -> dict[str, Any]:
    return {
        "public_ip": public_ip,
        "instance_id": target["instance_id"],
        "network_interface_id": target["network_interface_id"],
        "private_ip_address": target["private_ip_address"],
    }


def exact(target: dict[str, Any], require_pin: bool) -> bool:
    """The target names one slot (pinned, or for rollback a provisional one)."""
    return bool(target["placed"]) and (bool(target["pinned"]) or not require_pin)


def compatible(eip: dict[str, Any], instances: dict[str, Instance], role: str) -> bool:
    """A Classic EIP goes only on a Classic instance, a VPC EIP only on a VPC instance."""
    inst = instances.get(eip["targets"][role]["instance"] or "")
    if inst is None:
        return True  # named as a problem already
    return (eip["domain"] == VPC) == (not inst.classic)


def page_in_vpc(eip: dict[str, Any], instances: dict[str, Instance]) -> bool:
    """An EIP of the EC2-Classic old cluster whose maintenance page is in a VPC: it moves to the VPC as the
    window opens (whether it is still Classic, moving or moved), then goes onto its page there."""
    old = instances.get(eip["targets"]["old"]["instance"] or "")
    page = instances.get(eip["targets"]["maintenance"]["instance"] or "")
    return (
        old is not None
        and old.classic
        and page is not None
        and not page.classic
        and eip["moving"] != RESTORING_TO_CLASSIC
        and (eip["domain"] == VPC or eip["needs_move_to_vpc"] or eip["moving"] == MOVING_TO_VPC)
    )


def needs_restore_to_classic(eip: dict[str, Any], instances: dict[str, Instance]) -> bool:
    """An EIP of an EC2-Classic old instance that is in the VPC now (or moving there): rollback must restore
    it to EC2-Classic (RestoreAddressToClassic) before it can go back."""
    old = instances.get(eip["targets"]["old"]["instance"] or "")
    in_vpc = eip["domain"] == VPC or eip["moving"] == MOVING_TO_VPC
    return old is not None and old.classic and in_vpc and eip["moving"] != RESTORING_TO_CLASSIC


def moves(
    eips: list[dict[str, Any]], instances: dict[str, Instance], problems: list[str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    phases = ("to_maintenance", "to_vpc_page", "to_new", "to_old")
    out: dict[str, list[dict[str, Any]]] = {phase: [] for phase in phases}
    unplaced: dict[str, list[str]] = {phase: [] for phase in phases}

    def add(phase: str, role: str, eip: dict[str, Any], require_pin: bool) -> None:
        target = eip["targets"][role]
        if exact(target, require_pin):
            out[phase].append(move_item(target, eip["public_ip"]))
        else:
            unplaced[phase].append(eip["name"])

    for eip in eips:
        loc, on = eip["location"], eip["misplaced_on"]
        if loc in ("old", "unassociated") or (loc == "misplaced" and on != "new"):
            if page_in_vpc(eip, instances):
                add("to_vpc_page", "maintenance", eip, require_pin=True)
            elif not eip["moving"] and compatible(eip, instances, "maintenance"):
                add("to_maintenance", "maintenance", eip, require_pin=True)
            elif loc == "old" and not eip["moving"]:
                inst = eip["targets"]["maintenance"]["instance"]
                classic = eip["domain"] == CLASSIC
                kind = "an EC2-Classic" if classic else "a VPC"
                problems.append(
                    f"EIP {eip['name']} ({eip['public_ip']}) is {kind} EIP "
                    f"and its maintenance server {inst} is {'in a VPC' if classic else 'in EC2-Classic'}: "
                    "AWS cannot associate them; use a maintenance server on the EIPs' platform"
                    + (" (or, for an EIP bound for the VPC, one in the VPC)" if classic else "")
                )
        if loc != "new":
            add("to_new", "new", eip, require_pin=True)
        if loc != "old":
            add("to_old", "old", eip, require_pin=False)
    return out, unplaced


def unplaced_old_problems(eips: list[dict[str, Any]], instances: dict[str, Instance]) -> list[str]:
    """Rollback could not put these back exactly: the record does not say where, and no address is free."""
    problems = []
    for eip in eips:
        target = eip["targets"]["old"]
        inst = instances.get(target["instance"] or "")
        if eip["location"] == "old" or inst is None or inst.classic or target["network_interface_id"]:
            continue
        many = len(inst.interfaces) > 1
        why = (
            f"{inst.label} has {len(inst.interfaces)} network interfaces, and AWS refuses an association by "
            "instance alone on such an instance (InvalidInstanceID)"
            if many
            else f"an association by instance alone would take {inst.label}'s primary IP and silently "
            "disassociate the EIP there"
        )
        problems.append(
            f"EIP {eip['name']} ({eip['public_ip']}): the plan does not know which interface and private IP "
            f"of its old instance {inst.label} it was on (a version 1 record, or it shares an address with "
            f"another EIP, which AWS does not allow), and no free private IP is left there for it: {why}; "
            "rollback could not put it back: add its 'old' network_interface_id and private_ip_address to "
            "the record"
        )
    return problems


def foreign_problems(
    eips: list[dict[str, Any]], addresses: dict[str, Eip], slot_holders: dict[str, str]
) -> list[str]:
    """A pinned target address that holds an EIP outside the plan: associating there would drop it."""
    planned = {e["public_ip"] for e in eips}
    problems = []
    for eip in eips:
        for role in ("maintenance", "new"):
            target = eip["targets"][role]
            if not target["pinned"] or not target["instance_id"]:
                continue
            key = slot_key(
                target["instance_id"], target["network_interface_id"], target["private_ip_address"]
            )
            holder = slot_holders.get(key)
            if holder and holder not in planned:
                other = addresses[holder]
                where = target["network_interface_id"] or "(EC2-Classic)"
                where += f" {target['private_ip_address'] or ''}"
                problems.append(
                    f"EIP {eip['name']} ({eip['public_ip']}): its {role} target {target['instance']} {where} "
                    f"holds EIP {other.name or holder} ({holder}), which is not in the plan: associating "
                    "there would silently disassociate it (one private IPv4 address holds one EIP): move "
                    "that EIP to another address first"
                )
    return problems


def foreign_on_new(
    addresses: dict[str, Eip], eips: list[dict[str, Any]], instance_map: dict[str, str], instances, eni_owner
) -> list[str]:
    """EIPs outside the plan that already route traffic to the new cluster."""
    planned = {e["public_ip"] for e in eips}
    new_ids = {instances[n].instance_id: n for n in instance_map.values() if n in instances}
    out = []
    for e in addresses.values():
        holder = holder_instance(e, eni_owner)
        if e.public_ip not in planned and holder in new_ids:
            out.append(
                f"EIP {e.name or e.public_ip} ({e.public_ip}) is not in the plan but already sends traffic "
                f"to new instance {new_ids[holder]}: the new cluster must carry no traffic before the swap"
            )
    return out


# --------------------------------------------------------------------------- capacity


def capacity_report(
    eips: list[dict[str, Any]],
    instances: dict[str, Instance],
    types: dict[str, TypeInfo],
    foreign: dict[str, list[tuple[Slot, str]]],
    suggestions: dict[str, TypeInfo],
) -> list[dict[str, Any]]:
    needed: dict[tuple[str, str], int] = {}
    for eip in eips:
        for role in ("maintenance", "new"):
            name = eip["targets"][role]["instance"]
            if name:
                needed[(name, role)] = needed.get((name, role), 0) + 1
    report = []
    for (name, role), count in sorted(needed.items(), key=lambda kv: (kv[0][1] != "maintenance", kv[0][0])):
        inst = instances.get(name)
        if inst is None:
            continue
        hint = (
            "add maintenance instances (clusterswap_maintenance_instances)"
            if role == "maintenance"
            else "map fewer old instances to it (clusterswap_instance_map)"
        )
        report.append(
            capacity(inst, role, count, types, len(foreign.get(name, [])), suggestions, hint).to_result()
        )
    return report


# --------------------------------------------------------------------------- permissions


def association_call(eip: dict[str, Any], instances: dict[str, Instance]) -> dict[str, Any] | None:
    """The AssociateAddress the swap makes with this EIP (None when its target is not found).

    To the maintenance server while it must still move to the VPC, else to its new target. A Classic EIP is
    associated by public IP (AWS refuses AllowReassociation for it), a VPC one by allocation ID on an
    interface and private IP.
    """
    role = "maintenance" if eip["needs_move_to_vpc"] else "new"
    target = eip["targets"][role]
    inst = instances.get(target["instance"] or "")
    if inst is None:
        return None
    kwargs: dict[str, Any] = {"PublicIp": eip["public_ip"]}
    if eip["allocation_id"]:
        kwargs = {"AllocationId": eip["allocation_id"], "AllowReassociation": True}
    if inst.classic:
        kwargs["InstanceId"] = inst.instance_id
    elif inst.interfaces:
        eni = (
            target["network_interface_id"]
            or sorted(inst.interfaces, key=lambda i: i.device_index)[0].network_interface_id
        )
        kwargs["NetworkInterfaceId"] = eni
        if target["private_ip_address"]:
            kwargs["PrivateIpAddress"] = target["private_ip_address"]
    return kwargs


def permission_problems(
    client: Any, eips: list[dict[str, Any]], instances: dict[str, Instance], stop_ids: list[str]
) -> list[str]:
    """DryRun each distinct call the swap makes: one AssociateAddress per call shape (its parameters) and
    target instance or interface (an IAM policy may allow some resources and not others), the stop, the
    move to the VPC."""
    problems = []
    # An EIP whose page is in the VPC has no allocation ID to associate until it has moved.
    now = [e for e in eips if not page_in_vpc(e, instances) or e["domain"] == VPC]
    tried: set[tuple[Any, ...]] = set()
    for eip in now:
        kwargs = association_call(eip, instances)
        if kwargs is None:
            continue
        shape = (*sorted(kwargs), kwargs.get("InstanceId"), kwargs.get("NetworkInterfaceId"))
        if shape not in tried:
            tried.add(shape)
            problems.append(dry_run(client, "associate_address", eip["name"], **kwargs))
    if stop_ids:
        problems.append(dry_run(client, "stop_instances", "the old instances", InstanceIds=stop_ids))
    movers = [e for e in eips if e["needs_move_to_vpc"] and not e["moving"]]
    if movers:
        problems.append(
            dry_run(client, "move_address_to_vpc", movers[0]["name"], PublicIp=movers[0]["public_ip"])
        )
    return [p for p in problems if p]


# --------------------------------------------------------------------------- run


def run(module: AnsibleAWSModule) -> dict[str, Any]:
    params = module.params
    instance_map: dict[str, str] = {str(k): str(v) for k, v in params["instance_map"].items()}
    maintenance = [str(m) for m in params["maintenance_instances"]]
    problems: list[str] = []
    if not maintenance:
        problems.append(
            "no maintenance instance is named (clusterswap_maintenance_instances): name at least one"
        )

    try:
        read = read_record(params["record"])
    except RecordError as exc:
        problems.extend(record_problems(params["record"], exc))
        read = None
        unreadable = True
    else:
        unreadable = False
    version, recorded = (read[0], read[1]) if read is not None else (None, None)
    if recorded is not None:
        problems.extend(disagreement_problems(params["record"], recorded, instance_map))
    named = {t.instance for e in recorded or [] for t in e.targets.values() if t.instance}
    names = sorted({*instance_map, *instance_map.values(), *maintenance, *params["stop_instances"], *named})

    checks = Checks.from_params(params["checks"]) if params["checks"] is not None else None
    new_instances = checks.new_instances if checks else []
    problems.extend(
        role_problems(instance_map, maintenance, [str(s) for s in params["stop_instances"]], new_instances)
    )
    new_only = [n for n in checks.new_instances if n not in names] if checks else []

    client = ec2_client(module)
    found = describe_instances_by_name(client, [*names, *new_only])
    instances = resolve_instances({n: found[n] for n in names}, problems)
    addresses = describe_addresses(client)
    moving = describe_moving_addresses(client)
    suggested = [str(t) for t in params["suggested_instance_types"]]
    all_types = network_limits(client, [*(i.instance_type for i in instances.values()), *suggested])
    suggestions = {t: all_types[t] for t in suggested if t in all_types}

    entries = recorded if recorded is not None else initial_plan(addresses, instance_map, instances)
    if recorded is None and not entries and not unreadable:
        problems.append(
            "no EIP is associated with any old instance of the instance map "
            f"({', '.join(sorted(instance_map))}) and there is no plan record at {params['record']}: "
            "check clusterswap_instance_map, or restore the record of the swap in progress"
        )
    for entry in entries:
        bound = entry.targets["maintenance"].instance
        if bound and bound not in maintenance:
            problems.append(
                f"EIP {entry.name} ({entry.public_ip}): the record binds it to maintenance server {bound}, "
                f"which is not in clusterswap_maintenance_instances ({', '.join(maintenance)}): add it back"
            )
    bind_maintenance_targets(entries, maintenance, instances, all_types, addresses)

    slot_holders = holders(addresses)
    placed, pins_added, foreign = place_targets(entries, instances, slot_holders, problems)
    eips = describe_plan(entries, addresses, moving, instances, placed, problems)
    for eip in eips:
        eip["page_in_vpc"] = page_in_vpc(eip, instances)
        eip["needs_restore_to_classic"] = needs_restore_to_classic(eip, instances)
    eni_owner = interface_owners(instances)
    problems.extend(foreign_on_new(addresses, eips, instance_map, instances, eni_owner))
    problems.extend(foreign_problems(eips, addresses, slot_holders))
    problems.extend(unplaced_old_problems(eips, instances))
    report = capacity_report(eips, instances, all_types, foreign, suggestions)
    capacity_problems = [c["problem"] for c in report if c["problem"]]
    problems.extend(capacity_problems)
    phase_moves, unplaced = moves(eips, instances, problems)

    quotas = eip_quotas(module, client, addresses, moving)
    needed = sum(1 for e in eips if e["needs_move_to_vpc"] and not e["moving"])
    limit = quota_problem(needed, quotas["vpc"], module.region)
    if limit:
        problems.append(
            limit.replace("Nothing was moved. ", "") + " This must be done before the window opens."
        )

    movers = [e["public_ip"] for e in eips if e["needs_move_to_vpc"] and not e["moving"]]
    ages = young_addresses(module, movers)
    problems.extend(f"EIP {p}" for p in ages.problems(movers))

    if params["check_permissions"]:
        stop_ids = [instances[n].instance_id for n in params["stop_instances"] if n in instances]
        problems.extend(permission_problems(client, eips, instances, stop_ids))
    if checks is not None:
        problems.extend(
            preflight_problems(
                checks,
                vpc_moves_needed=needed,
                hour=datetime.now(UTC).hour,
                new_found={n for n, matches in found.items() if matches},
                maintenance=maintenance,
                states={n: i.state for n, i in instances.items()},
            )
        )

    written = False
    wanted = recorded is None or pins_added > 0
    if entries and wanted and not problems and not module.check_mode:
        write_record(params["record"], entries)
        written = True
    maint_ids = {n: instances[n].instance_id for n in maintenance if n in instances}
    result = {
        "changed": False,
        "stage": stage_of(eips),
        "eips": eips,
        "instances": {name: inst.to_result() for name, inst in instances.items()},
        "maintenance_instance_id": next(iter(maint_ids.values()), None),
        "maintenance_instance_ids": maint_ids,
        "moves": phase_moves,
        "unplaced": unplaced,
        "unpinned": unpinned(unplaced),
        "capacity": report,
        "capacity_problems": capacity_problems,
        "vpc_moves_needed": needed,
        # the moves that wait for the office check: those of EIPs whose page is not in the VPC
        "vpc_moves_after_office_check": sum(
            1 for e in eips if e["needs_move_to_vpc"] and not e["page_in_vpc"]
        ),
        "vpc_moves_in_progress": sum(1 for e in eips if e["moving"] == MOVING_TO_VPC),
        "quotas": quotas,
        "problems": problems,
        "record": params["record"],
        "record_written": written,
        "record_version": version,
        "pins_added": pins_added,
    }
    return {**result, "problems_message": problems_message(problems), "summary": plan_summary(result)}


def main() -> None:
    run_module(ARGUMENT_SPEC, lambda module: module.exit_json(**run(module)))


if __name__ == "__main__":
    main()
