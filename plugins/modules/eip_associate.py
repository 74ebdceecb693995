#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Associate Elastic IPs (VPC by allocation ID, EC2-Classic by public IP), verified by describing again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible.module_utils.clusterswap_eip import (
    CLASSIC,
    VPC,
    AwsCallError,
    Eip,
    Progress,
    by_allocation_id,
    call,
    describe_addresses,
    describe_targets,
    dry_run,
    duplicates,
    ec2_client,
    eip_diff,
    malformed_ips,
    not_found_message,
    wait_until,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

DOCUMENTATION = r"""
---
module: eip_associate
short_description: Associate Elastic IPs with instances, VPC ones by allocation ID, and verify it
version_added: 0.1.0
description:
  - Associates each listed Elastic IP (EIP) with an instance or a network interface.
  - A VPC EIP is associated by B(allocation ID), resolved from its public IP when only that is given
    (by public IP AWS answers C(InvalidParameterCombination)). An EC2-Classic EIP is associated by
    public IP, and only with an EC2-Classic instance; a Classic EIP for a VPC instance is refused with a
    message that says to move it to the VPC first (M(eip_move_to_vpc)).
  - Every input is checked before anything changes (unknown or malformed address, unknown instance,
    Classic/VPC mismatch, address associated elsewhere without O(allow_reassociation)) and a C(DryRun) call
    checks the permission; if anything is wrong nothing is changed and the error names each EIP.
  - Association is eventually consistent, so the module verifies each one by describing again (bounded by
    O(wait_timeout)) instead of sleeping.
  - Associations already in place are left alone. The whole list costs one C(DescribeAddresses) (plus one
    per verification poll), one C(DescribeInstances) and at most one C(DescribeNetworkInterfaces).
  - With O(state=absent) the listed EIPs are disassociated instead (from whatever they are associated
    with, or only from O(associations[].instance_id) when given).
  - Check mode tells what would change and changes nothing; C(--diff) shows each EIP's domain and
    instance before and after.
author:
  - clusterswap
options:
  associations:
    description:
      - The associations to make (or, with O(state=absent), to remove).
    type: list
    elements: dict
    required: true
    suboptions:
      public_ip:
        description: The EIP's public IP. Exactly one of O(associations[].public_ip) and
          O(associations[].allocation_id).
        type: str
      allocation_id:
        description: The EIP's allocation ID (VPC EIPs only).
        type: str
      instance_id:
        description:
          - The instance to associate with. Exactly one of O(associations[].instance_id) and
            O(associations[].network_interface_id) with O(state=present).
          - With O(state=absent), disassociate only if the EIP is associated with this instance.
        type: str
      network_interface_id:
        description: The network interface to associate with (VPC EIPs only).
        type: str
      private_ip_address:
        description: The private IP of the instance or interface to map to (VPC EIPs only).
        type: str
  allow_reassociation:
    description:
      - Take an EIP that is associated with another instance or interface. With V(false) such an EIP
        is an error and nothing is changed.
    type: bool
    default: true
  state:
    description:
      - V(present) associates, V(absent) disassociates.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - Seconds to wait for DescribeAddresses to show every change.
    type: int
    default: 120
  poll_interval:
    description:
      - Seconds between two verification polls.
    type: float
    default: 1
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: "6.4 | EIP | Associate with the new cluster by allocation ID"
  eip_associate:
    associations:
      - public_ip: 127.100.0.1
        instance_id: i-0123456789abcdef0
      - allocation_id: eipalloc-0123456789abcdef0
        network_interface_id: eni-0123456789abcdef0
    allow_reassociation: false

- name: "6.1 | EIP | Disassociate from the maintenance server"
  eip_associate:
    state: absent
    associations:
      - public_ip: 127.100.0.1
        instance_id: "{{ maint_instance_id }}"
"""

RETURN = r"""
associations:
  description: One entry for every listed association, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    public_ip:
      description: The EIP's public IP.
      type: str
      sample: 127.100.0.1
    allocation_id:
      description: The EIP's allocation ID (VPC EIPs).
      type: str
      sample: eipalloc-0123456789abcdef0
    domain:
      description: C(vpc) or C(standard) (EC2-Classic).
      type: str
      sample: vpc
    instance_id:
      description: The instance the EIP is associated with after this run.
      type: str
      sample: i-0123456789abcdef0
    network_interface_id:
      description: The network interface the EIP is associated with after this run.
      type: str
    association_id:
      description: The association ID (VPC EIPs) after this run.
      type: str
      sample: eipassoc-0123456789abcdef0
    action:
      description: C(associated), C(disassociated), C(none), C(would_associate), C(would_disassociate).
      type: str
      sample: associated
progress:
  description: The progress lines of the verification.
  returned: always
  type: list
  elements: str
"""

ASSOCIATION_SPEC: dict[str, Any] = {
    "public_ip": {"type": "str"},
    "allocation_id": {"type": "str"},
    "instance_id": {"type": "str"},
    "network_interface_id": {"type": "str"},
    "private_ip_address": {"type": "str"},
}
ARGUMENT_SPEC: dict[str, Any] = {
    "associations": {"type": "list", "elements": "dict", "required": True, "options": ASSOCIATION_SPEC},
    "allow_reassociation": {"type": "bool", "default": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "wait_timeout": {"type": "int", "default": 120},
    "poll_interval": {"type": "float", "default": 1},
}


@dataclass
class Step:
    """One listed association, resolved against what AWS has."""

    request: dict[str, Any]
    eip: Eip | None = None
    target: str | None = None  # instance or ENI id (present); the instance to remove from (absent)
    action: str = "none"  # associate | disassociate | none

    @property
    def label(self) -> str:
        return self.request.get("public_ip") or self.request.get("allocation_id") or "?"

    @property
    def by_eni(self) -> bool:
        return bool(self.request.get("network_interface_id"))


# --------------------------------------------------------------------------- input


def shape_problems(request: dict[str, Any], state: str) -> list[str]:
    label = request.get("public_ip") or request.get("allocation_id") or str(request)
    problems = []
    if bool(request.get("public_ip")) == bool(request.get("allocation_id")):
        problems.append(f"{label}: give exactly one of public_ip and allocation_id")
    if state == "present" and bool(request.get("instance_id")) == bool(request.get("network_interface_id")):
        problems.append(f"{label}: give exactly one of instance_id and network_interface_id")
    if request.get("public_ip"):
        problems += malformed_ips([request["public_ip"]])
    return problems


def input_problems(requests: list[dict[str, Any]], state: str) -> list[str]:
    problems = [p for r in requests for p in shape_problems(r, state)]
    labels = [r.get("public_ip") or r.get("allocation_id") or "" for r in requests]
    problems += [f"{label}: listed more than once" for label in duplicates(labels) if label]
    return problems


def resolve_eip(request: dict[str, Any], addresses: dict[str, Eip], by_alloc: dict[str, Eip]) -> Eip | None:
    if request.get("allocation_id"):
        return by_alloc.get(request["allocation_id"])
    return addresses.get(request["public_ip"])


# --------------------------------------------------------------------------- planning


def _eip_missing(step: Step, region: str | None) -> str:
    if step.request.get("allocation_id"):
        return (
            f"{step.label}: no Elastic IP with this allocation ID in region {region} "
            "(InvalidAllocationID.NotFound)"
        )
    return not_found_message(step.label, region)


def plan_present(step: Step, targets: dict[str, dict[str, Any]], allow: bool) -> str | None:
    """Decide what to do for one association; return a problem or None."""
    eip, req = step.eip, step.request
    assert eip is not None
    step.target = req.get("network_interface_id") or req.get("instance_id")
    target = targets.get(step.target or "")
    if target is None:
        return f"{eip.public_ip}: target {step.target} not found in this region"
    in_vpc = bool(target["vpc_id"])
    if eip.domain == CLASSIC and in_vpc:
        return (
            f"{eip.public_ip}: is an EC2-Classic EIP and {step.target} is in VPC {target['vpc_id']}: "
            "a Classic EIP can't go on a VPC instance; move it to the VPC first (eip_move_to_vpc)"
        )
    if eip.domain == VPC and not in_vpc:
        return (
            f"{eip.public_ip}: is a VPC EIP and {step.target} is an EC2-Classic instance; "
            "associate a Classic EIP with it instead"
        )
    current = eip.network_interface_id if step.by_eni else eip.instance_id
    wanted_private = req.get("private_ip_address")
    if current == step.target and (not wanted_private or wanted_private == eip.private_ip_address):
        return None
    if eip.associated and not allow:
        holder = eip.instance_id or eip.network_interface_id
        return f"{eip.public_ip}: associated with {holder}, and allow_reassociation is false"
    step.action = "associate"
    return None


def plan_absent(step: Step) -> None:
    eip = step.eip
    assert eip is not None
    only_from = step.request.get("instance_id")
    if eip.associated and (not only_from or only_from == eip.instance_id):
        step.target = eip.instance_id or eip.network_interface_id
        step.action = "disassociate"


def plan(
    module: AnsibleAWSModule, client: Any, requests: list[dict[str, Any]], addresses: dict[str, Eip]
) -> tuple[list[Step], list[str]]:
    by_alloc = by_allocation_id(addresses)
    steps = [Step(r, resolve_eip(r, addresses, by_alloc)) for r in requests]
    problems = [_eip_missing(s, module.region) for s in steps if s.eip is None]
    found = [s for s in steps if s.eip is not None]
    if module.params["state"] == "absent":
        for step in found:
            plan_absent(step)
        return steps, problems
    instance_ids = [s.request["instance_id"] for s in found if s.request.get("instance_id")]
    eni_ids = [s.request["network_interface_id"] for s in found if s.request.get("network_interface_id")]
    targets = describe_targets(client, instance_ids, eni_ids)
    for step in found:
        problem = plan_present(step, targets, module.params["allow_reassociation"])
        if problem:
            problems.append(problem)
    return steps, problems


# --------------------------------------------------------------------------- calls


def associate_kwargs(step: Step, allow: bool) -> dict[str, Any]:
    eip, req = step.eip, step.request
    assert eip is not None
    if eip.domain == CLASSIC:
        return {"PublicIp": eip.public_ip, "InstanceId": req["instance_id"]}
    kwargs: dict[str, Any] = {"AllocationId": eip.allocation_id, "AllowReassociation": allow}
    if step.by_eni:
        kwargs["NetworkInterfaceId"] = req["network_interface_id"]
    else:
        kwargs["InstanceId"] = req["instance_id"]
    if req.get("private_ip_address"):
        kwargs["PrivateIpAddress"] = req["private_ip_address"]
    return kwargs


def disassociate_kwargs(step: Step) -> dict[str, Any]:
    eip = step.eip
    assert eip is not None
    if eip.domain == VPC and eip.association_id:
        return {"AssociationId": eip.association_id}
    return {"PublicIp": eip.public_ip}


def operation_for(step: Step, allow: bool) -> tuple[str, dict[str, Any]]:
    if step.action == "associate":
        return "associate_address", associate_kwargs(step, allow)
    return "disassociate_address", disassociate_kwargs(step)


def permission_problem(client: Any, todo: list[Step], allow: bool) -> str | None:
    if not todo:
        return None
    operation, kwargs = operation_for(todo[0], allow)
    return dry_run(client, operation, todo[0].label, **kwargs)


def issue(client: Any, todo: list[Step], allow: bool) -> tuple[list[Step], AwsCallError | None]:
    """Make every change without waiting in between; stop at the first error."""
    done: list[Step] = []
    for step in todo:
        operation, kwargs = operation_for(step, allow)
        name = "AssociateAddress" if step.action == "associate" else "DisassociateAddress"
        try:
            call(client, operation, step.eip.public_ip if step.eip else step.label, name, **kwargs)
        except AwsCallError as exc:
            return done, exc
        done.append(step)
    return done, None


def in_place(step: Step, eip: Eip | None) -> bool:
    if eip is None:
        return False
    if step.action == "disassociate":
        return not eip.associated
    current = eip.network_interface_id if step.by_eni else eip.instance_id
    return current == step.target


def verify(module: AnsibleAWSModule, client: Any, done: list[Step], progress: Progress) -> dict[str, Eip]:
    """Describe again until every change shows (eventual consistency); return the last description."""
    last: dict[str, dict[str, Eip]] = {}

    def pending() -> list[str]:
        last["addresses"] = describe_addresses(client)
        return [s.label for s in done if s.eip and not in_place(s, last["addresses"].get(s.eip.public_ip))]

    p = module.params
    remaining = wait_until(
        pending, p["wait_timeout"], p["poll_interval"], progress, "associations", len(done)
    )
    if remaining:
        module.fail_json(
            msg=f"DescribeAddresses still does not show the change after {p['wait_timeout']}s for: "
            + ", ".join(remaining),
            changed=True,
            progress=progress.lines,
        )
    return last["addresses"]


# --------------------------------------------------------------------------- results


def predicted(step: Step) -> dict[str, Any]:
    """The state check mode promises for a step."""
    eip = step.eip
    assert eip is not None
    if step.action == "disassociate":
        return {**eip.to_result(), "instance_id": None, "network_interface_id": None, "association_id": None}
    if step.action == "associate":
        key = "network_interface_id" if step.by_eni else "instance_id"
        return {**eip.to_result(), key: step.target}
    return eip.to_result()


def entries(steps: list[Step], final: dict[str, Eip] | None, check_mode: bool) -> list[dict[str, Any]]:
    out = []
    for step in steps:
        if step.eip is None:
            continue
        action = {"associate": "associated", "disassociate": "disassociated"}.get(step.action, "none")
        if check_mode and step.action != "none":
            action = f"would_{step.action}"
        state = predicted(step) if final is None else final[step.eip.public_ip].to_result()
        out.append({**state, "action": action})
    return out


def diff(steps: list[Step], after: list[dict[str, Any]]) -> dict[str, Any]:
    before = {s.eip.public_ip: s.eip.state() for s in steps if s.eip}
    after_states = {
        e["public_ip"]: {"domain": e["domain"], "instance_id": e.get("instance_id")} for e in after
    }
    return eip_diff(before, after_states)


def fail(module: AnsibleAWSModule, problems: list[str]) -> None:
    module.fail_json(msg="Nothing was changed. " + " | ".join(problems), problems=problems, changed=False)


def run(module: AnsibleAWSModule) -> None:
    requests = [{k: v for k, v in r.items() if v} for r in module.params["associations"]]
    allow = module.params["allow_reassociation"]
    problems = input_problems(requests, module.params["state"])
    if problems:
        fail(module, problems)
    client = ec2_client(module)
    addresses = describe_addresses(client)
    steps, problems = plan(module, client, requests, addresses)
    todo = [s for s in steps if s.action != "none"]
    problem = None if problems else permission_problem(client, todo, allow)
    if problems or problem:
        fail(module, [*problems, *([problem] if problem else [])])
    if module.check_mode:
        after = entries(steps, None, check_mode=True)
        module.exit_json(changed=bool(todo), associations=after, progress=[], diff=diff(steps, after))
    progress = Progress(module.log)
    done, error = issue(client, todo, allow)
    final = verify(module, client, done, progress) if done else addresses
    after = entries(steps, final, check_mode=False)
    result = {
        "changed": bool(done),
        "associations": after,
        "progress": progress.lines,
        "diff": diff(steps, after),
    }
    if error:
        module.fail_json(
            msg=f"{error} ({len(done)} changes made before it; fix and rerun)",
            error_code=error.code,
            **result,
        )
    module.exit_json(**result)


def main() -> None:
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        run(module)
    except AwsCallError as exc:
        module.fail_json(msg=str(exc), error_code=exc.code, changed=False)


if __name__ == "__main__":
    main()
