#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the account once and say where the swap stands: the plan, each EIP's place, and every problem."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.module_utils.clusterswap_eip import (
    CLASSIC,
    MOVING_TO_VPC,
    AwsCallError,
    Eip,
    call,
    describe_addresses,
    describe_moving_addresses,
    dry_run,
    ec2_client,
    eip_quotas,
    quota_problem,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

DOCUMENTATION = r"""
---
module: swap_plan_info
short_description: Where a cluster swap stands, what it will do, and what would stop it
version_added: 0.1.0
description:
  - Reads the account with one C(DescribeInstances), one C(DescribeAddresses), one
    C(DescribeMovingAddresses) and one C(DescribeAccountAttributes), whatever the number of EIPs.
  - Builds the swap plan, every EIP with the old instance it serves and the new instance it goes to.
    On the first run the plan is every EIP associated with an old instance named in
    O(instance_map), going to the new instance that map names. The plan is written to O(record)
    before anything changes (not in check mode), so a later run that finds the EIPs on the maintenance
    server, moving, or half live still knows where each one came from and where it goes; rollback reads it
    too.
  - Says where each EIP is now (C(old), C(maintenance), C(new), C(unassociated), C(elsewhere)), whether it
    must move from EC2-Classic to the VPC (a Classic EIP whose new instance is in a VPC), and the stage of
    the whole swap.
  - Collects B(every) problem that would stop the swap, each with what to do, so that pre-flight fails
    once, before the maintenance window, with the whole list. The VPC EIP limit is checked for every move
    the plan needs, even when the plan does not yet say it moves EIPs. C(DryRun) calls check the
    permissions of the changes the swap makes.
  - Read-only towards AWS; the only write is the plan record on the controller.
author:
  - clusterswap
options:
  instance_map:
    description:
      - Old instance C(Name) tag to new instance C(Name) tag, for every old instance that holds EIPs.
    type: dict
    required: true
  maintenance_instance:
    description: The C(Name) tag of the maintenance ("system down") server.
    type: str
    required: true
  stop_instances:
    description: C(Name) tags of the old instances the swap stops (checked to exist; DryRun of StopInstances).
    type: list
    elements: str
    default: []
  record:
    description:
      - Path of the plan record on the controller (JSON). Read if it exists; written when missing.
    type: path
    required: true
  check_permissions:
    description: Make C(DryRun) calls of AssociateAddress, StopInstances and MoveAddressToVpc.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: "0.1 | Pre-flight | Read the account and the plan"
  swap_plan_info:
    instance_map: {old-lb-1: new-lb-1, old-lb-2: new-lb-2}
    maintenance_instance: maint-1
    stop_instances: [old-lb-1, old-lb-2, old-web-1]
    record: "{{ playbook_dir }}/../.swap/production-plan.json"
  register: clusterswap_plan
"""

RETURN = r"""
stage:
  description: >-
    C(unswapped) (every EIP on its old instance), C(maintenance) (every EIP on the maintenance server),
    C(live) (every EIP on its new instance), C(in_progress) (anything between), C(empty) (no EIP in the plan).
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
    location: {description: old, maintenance, new, unassociated or elsewhere., type: str}
    instance_id: {description: The instance it is associated with now., type: str}
    old_instance: {description: Name of the old instance it served., type: str}
    old_instance_id: {description: Its id., type: str}
    new_instance: {description: Name of the new instance it goes to., type: str}
    new_instance_id: {description: Its id., type: str}
    needs_move_to_vpc: {description: A Classic EIP whose new instance is in a VPC., type: bool}
instances:
  description: Name -> {id, state, vpc_id, platform} for every instance the plan names.
  returned: always
  type: dict
maintenance_instance_id:
  description: The maintenance server's instance id.
  returned: always
  type: str
vpc_moves_needed:
  description: How many EIPs must still move from EC2-Classic to the VPC.
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
record_written:
  description: Whether this run wrote the plan record (first run only, never in check mode).
  returned: always
  type: bool
"""


def describe_named_instances(client: Any, names: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Name tag -> every non-terminated instance with it: one DescribeInstances for the whole list."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    kwargs: dict[str, Any] = {
        "Filters": [
            {"Name": "tag:Name", "Values": sorted(set(names))},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
    }
    while True:
        answer = call(client, "describe_instances", "the plan's instances", "DescribeInstances for", **kwargs)
        for reservation in answer.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                name = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}.get("Name")
                if name in found:
                    found[name].append(
                        {
                            "id": inst["InstanceId"],
                            "state": inst.get("State", {}).get("Name"),
                            "vpc_id": inst.get("VpcId") or None,
                            "platform": "vpc" if inst.get("VpcId") else "classic",
                        }
                    )
        if not answer.get("NextToken"):
            return found
        kwargs["NextToken"] = answer["NextToken"]


def resolve_instances(
    found: dict[str, list[dict[str, Any]]], problems: list[str]
) -> dict[str, dict[str, Any]]:
    instances: dict[str, dict[str, Any]] = {}
    for name, matches in found.items():
        if not matches:
            problems.append(
                f"instance {name!r}: no instance with this Name tag exists (terminated, misspelt, or in "
                "another region): fix the inventory or start the instance"
            )
        elif len(matches) > 1:
            ids = ", ".join(m["id"] for m in matches)
            problems.append(
                f"instance {name!r}: {len(matches)} instances carry this Name ({ids}): make it unique"
            )
        else:
            instances[name] = matches[0]
    return instances


def read_record(path: str) -> list[dict[str, str]] | None:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["eips"]


def write_record(path: str, plan: list[dict[str, str]]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"eips": plan}, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


def initial_plan(
    addresses: dict[str, Eip], instance_map: dict[str, str], instances: dict[str, dict[str, Any]]
) -> list[dict[str, str]]:
    """Every EIP on a mapped old instance, going to the new instance the map names."""
    old_by_id = {instances[old]["id"]: old for old in instance_map if old in instances}
    plan = []
    for eip in sorted(addresses.values(), key=lambda e: e.name or e.public_ip):
        old = old_by_id.get(eip.instance_id or "")
        if old:
            plan.append(
                {
                    "name": eip.name or eip.public_ip,
                    "public_ip": eip.public_ip,
                    "old_instance": old,
                    "new_instance": instance_map[old],
                }
            )
    return plan


def locate(
    eip: Eip, entry: dict[str, str], instances: dict[str, dict[str, Any]], maint_id: str | None
) -> str:
    where = eip.instance_id
    if not where:
        return "unassociated"
    if where == instances.get(entry["new_instance"], {}).get("id"):
        return "new"
    if where == maint_id:
        return "maintenance"
    if where == instances.get(entry["old_instance"], {}).get("id"):
        return "old"
    return "elsewhere"


def describe_plan(
    plan: list[dict[str, str]],
    addresses: dict[str, Eip],
    moving: dict[str, str],
    instances: dict[str, dict[str, Any]],
    maint_id: str | None,
    problems: list[str],
) -> list[dict[str, Any]]:
    eips = []
    for entry in plan:
        eip = addresses.get(entry["public_ip"])
        if eip is None:
            problems.append(
                f"EIP {entry['name']} ({entry['public_ip']}): in the plan record but not in the account "
                "(released?): restore it or remove it from the record"
            )
            continue
        new = instances.get(entry["new_instance"], {})
        location = locate(eip, entry, instances, maint_id)
        if location == "elsewhere":
            problems.append(
                f"EIP {entry['name']} ({eip.public_ip}): associated with {eip.instance_id}, which is neither "
                f"its old instance {entry['old_instance']}, the maintenance server nor its new instance "
                f"{entry['new_instance']}: find out who moved it before swapping"
            )
        eips.append(
            {
                **entry,
                "allocation_id": eip.allocation_id,
                "domain": eip.domain,
                "moving": moving.get(eip.public_ip),
                "location": location,
                "instance_id": eip.instance_id,
                "old_instance_id": instances.get(entry["old_instance"], {}).get("id"),
                "new_instance_id": new.get("id"),
                "needs_move_to_vpc": eip.domain == CLASSIC and bool(new.get("vpc_id")),
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


def foreign_on_new(
    addresses: dict[str, Eip], eips: list[dict[str, Any]], instance_map: dict[str, str], instances: dict
) -> list[str]:
    """EIPs outside the plan that already route traffic to the new cluster."""
    planned = {e["public_ip"] for e in eips}
    new_ids = {instances[n]["id"]: n for n in instance_map.values() if n in instances}
    return [
        f"EIP {e.name or e.public_ip} ({e.public_ip}) is not in the plan but already sends traffic to new "
        f"instance {new_ids[e.instance_id]}: the new cluster must carry no traffic before the swap"
        for e in addresses.values()
        if e.public_ip not in planned and e.instance_id in new_ids
    ]


def permission_problems(
    client: Any, eips: list[dict[str, Any]], maint_id: str | None, stop_ids: list[str]
) -> list[str]:
    problems = []
    if eips and maint_id:
        # The association the swap makes with this EIP: to the maintenance server while it must still move
        # to the VPC, else to its new instance. A Classic EIP is associated by public IP (AWS refuses
        # AllowReassociation for it), a VPC one by allocation ID.
        first = eips[0]
        instance = maint_id if first["needs_move_to_vpc"] else first["new_instance_id"]
        target: dict[str, Any] = {"PublicIp": first["public_ip"]}
        if first["allocation_id"]:
            target = {"AllocationId": first["allocation_id"], "AllowReassociation": True}
        if instance:
            name = first["name"]
            problems.append(dry_run(client, "associate_address", name, InstanceId=instance, **target))
    if stop_ids:
        problems.append(dry_run(client, "stop_instances", "the old instances", InstanceIds=stop_ids))
    movers = [e for e in eips if e["needs_move_to_vpc"] and not e["moving"]]
    if movers:
        problems.append(
            dry_run(client, "move_address_to_vpc", movers[0]["name"], PublicIp=movers[0]["public_ip"])
        )
    return [p for p in problems if p]


def run(module: AnsibleAWSModule) -> dict[str, Any]:
    params = module.params
    instance_map: dict[str, str] = {str(k): str(v) for k, v in params["instance_map"].items()}
    maint = params["maintenance_instance"]
    names = sorted({*instance_map, *instance_map.values(), maint, *params["stop_instances"]})
    client = ec2_client(module)
    problems: list[str] = []

    instances = resolve_instances(describe_named_instances(client, names), problems)
    addresses = describe_addresses(client)
    moving = describe_moving_addresses(client)
    maint_id = instances.get(maint, {}).get("id")

    recorded = read_record(params["record"])
    plan = recorded if recorded is not None else initial_plan(addresses, instance_map, instances)
    if recorded is None and not plan:
        problems.append(
            "no EIP is associated with any old instance of the instance map "
            f"({', '.join(sorted(instance_map))}) and there is no plan record at {params['record']}: "
            "check clusterswap_instance_map, or restore the record of the swap in progress"
        )
    eips = describe_plan(plan, addresses, moving, instances, maint_id, problems)
    problems.extend(foreign_on_new(addresses, eips, instance_map, instances))

    quotas = eip_quotas(module, client, addresses, moving)
    needed = sum(1 for e in eips if e["needs_move_to_vpc"] and not e["moving"])
    limit = quota_problem(needed, quotas["vpc"], module.region)
    if limit:
        problems.append(
            limit.replace("Nothing was moved. ", "") + " This must be done before the window opens."
        )

    if params["check_permissions"]:
        stop_ids = [instances[n]["id"] for n in params["stop_instances"] if n in instances]
        problems.extend(permission_problems(client, eips, maint_id, stop_ids))

    written = False
    if recorded is None and plan and not problems and not module.check_mode:
        write_record(params["record"], plan)
        written = True
    return {
        "changed": False,
        "stage": stage_of(eips),
        "eips": eips,
        "instances": instances,
        "maintenance_instance_id": maint_id,
        "vpc_moves_needed": needed,
        "vpc_moves_in_progress": sum(1 for e in eips if e["moving"] == MOVING_TO_VPC),
        "quotas": quotas,
        "problems": problems,
        "record": params["record"],
        "record_written": written,
    }


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "instance_map": {"type": "dict", "required": True},
            "maintenance_instance": {"type": "str", "required": True},
            "stop_instances": {"type": "list", "elements": "str", "default": []},
            "record": {"type": "path", "required": True},
            "check_permissions": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except AwsCallError as exc:
        module.fail_json(msg=str(exc), error_code=exc.code)


if __name__ == "__main__":
    main()
