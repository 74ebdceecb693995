#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Associate Elastic IPs with exact private IPs (VPC, by allocation ID) or EC2-Classic instances, verified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import (
    AwsError,
    Heartbeat,
    Pacer,
    Progress,
    call,
    changes,
    fail_aws,
    pace,
    run_module,
    wait_until,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import (
    GONE_STATES,
    Instance,
    Interface,
    describe_instances_by_id,
    describe_network_interfaces,
    dry_run,
    ec2_client,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.eip import (
    CLASSIC,
    VPC,
    Eip,
    by_allocation_id,
    describe_addresses,
    eip_diff,
    malformed_ips,
    not_found_message,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.network import (
    Slot,
    current_slot,
    describe_slot,
    holders,
)

DOCUMENTATION = r"""
---
module: eip_associate
short_description: Associate Elastic IPs with exact private IPs (or EC2-Classic instances), and verify it
version_added: 0.1.0
description:
  - Associates each listed Elastic IP (EIP) with an exact place. In a VPC that is a B(network interface and
    one of its private IPs), because each private IPv4 address holds one EIP; a VPC EIP is always associated
    by allocation ID with C(NetworkInterfaceId) and C(PrivateIpAddress). An EC2-Classic EIP is associated by
    public IP with an EC2-Classic instance, which holds one EIP.
  - "The place is given by O(associations[].network_interface_id) (and O(associations[].private_ip_address),
    default the interface's primary IP), or by O(associations[].instance_id) and
    O(associations[].private_ip_address) (the interface that has that address), or by
    O(associations[].instance_id) alone on an instance with exactly one interface (its primary IP). AWS
    refuses an association by instance alone on an instance with several interfaces
    (C(InvalidInstanceID)), so does this module, before any change."
  - "Every input is checked before anything changes, and the module fails once with every problem and
    C(Nothing was changed.): unknown or malformed address; an EIP listed more than once, by the same name or
    by its public IP in one entry and its allocation ID in another (each entry is resolved to its EIP first);
    unknown, terminated or Classic/VPC-mismatched target; a private IP the instance or interface does not
    have; two EIPs for one private IP (or one EC2-Classic instance); a target address that holds an EIP this
    batch does not move away (AWS would silently disassociate it in a VPC-only account, refuse in a
    Classic-enabled account's VPC, and replace it on an EC2-Classic instance); an address associated elsewhere
    without O(allow_reassociation). C(DryRun) calls check the permission of every distinct kind of call the
    run makes."
  - Calls are ordered so that an EIP leaving an address leaves (verified) before another takes it; a ring of
    EIPs trading places is broken by disassociating one first.
  - Association is eventually consistent, so the module verifies instance, interface and private IP by
    describing again (one C(DescribeAddresses) per poll, bounded by O(wait_timeout)). An EIP of the batch
    seen in place and then found unassociated or elsewhere fails the run at once, saying that AWS dropped or
    replaced it and which EIP now holds that address.
  - Associations already in place are left alone. The whole list costs one C(DescribeAddresses) (plus one
    per verification poll), at most one C(DescribeNetworkInterfaces) and at most one C(DescribeInstances).
  - With O(state=absent) the listed EIPs are disassociated instead (from whatever they are associated with,
    or only from the instance, interface or private IP given).
  - C(changed) is true exactly when a call that changes an association was made (in check mode, would be).
    Check mode changes nothing; C(--diff) shows each EIP's domain, instance, interface and private IP before
    and after.
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
          O(associations[].allocation_id); each EIP once in the list, whichever names it.
        type: str
      allocation_id:
        description: The EIP's allocation ID (VPC EIPs only).
        type: str
      instance_id:
        description:
          - The instance to associate with. With O(state=present) at least one of
            O(associations[].instance_id) and O(associations[].network_interface_id); with both, the interface
            must be attached to the instance.
          - Alone it means the primary private IP of the instance's only interface; on an instance with
            several interfaces give O(associations[].network_interface_id) or
            O(associations[].private_ip_address).
          - With O(state=absent), disassociate only if the EIP is associated with this instance.
        type: str
      network_interface_id:
        description:
          - The network interface to associate with (VPC EIPs only).
          - With O(state=absent), disassociate only if the EIP is associated with this interface.
        type: str
      private_ip_address:
        description:
          - The private IP to map the EIP to (VPC EIPs), an address of the interface or of one of the
            instance's interfaces. Default the interface's primary IP.
          - For an EC2-Classic target it must be the instance's private IP, if given.
          - With O(state=absent), disassociate only if the EIP is mapped to this private IP.
        type: str
  allow_reassociation:
    description:
      - Take an EIP that is associated with another instance or interface. With V(false) such an EIP
        is an error and nothing is changed.
    type: bool
    default: true
  require_running:
    description:
      - Refuse (changing nothing) when a target instance is not C(running). AWS associates an EIP with a
        stopped VPC instance, where it answers nobody; go-live sets this so that a stopped or stopping new
        cluster stops the phase before any EIP leaves the maintenance page.
    type: bool
    default: false
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
- name: "2.2 | EIP | Every EIP to its exact maintenance target (swap_plan_info's moves)"
  clusterswap.swap.eip_associate:
    associations: "{{ clusterswap_preflight.moves.to_maintenance }}"

- name: "6.4 | EIP | Associate with an exact interface and private IP"
  clusterswap.swap.eip_associate:
    associations:
      - public_ip: 127.100.0.1
        network_interface_id: eni-0123456789abcdef0
        private_ip_address: 10.0.1.21
      - allocation_id: eipalloc-0123456789abcdef0
        instance_id: i-0123456789abcdef0
        private_ip_address: 10.0.1.22
    allow_reassociation: false

- name: "V.1 | EIP | Disassociate from the maintenance server"
  clusterswap.swap.eip_associate:
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
    private_ip_address:
      description: The private IP the EIP is mapped to after this run.
      type: str
      sample: 10.0.1.21
    association_id:
      description: The association ID (VPC EIPs) after this run.
      type: str
      sample: eipassoc-0123456789abcdef0
    action:
      description: C(associated), C(disassociated), C(none), C(would_associate), C(would_disassociate).
      type: str
      sample: associated
calls:
  description: How many association and disassociation calls this run made (DryRun checks not counted).
  returned: always
  type: int
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
    "require_running": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "wait_timeout": {"type": "int", "default": 120},
    "poll_interval": {"type": "float", "default": 1},
}


@dataclass
class Step:
    """One listed association, resolved against what AWS has."""

    request: dict[str, Any]
    eip: Eip | None = None
    target: Slot | None = None  # where it goes (present)
    target_name: str | None = None  # the instance's Name, for messages
    action: str = "none"  # associate | disassociate | none

    @property
    def label(self) -> str:
        return self.request.get("public_ip") or self.request.get("allocation_id") or "?"

    @property
    def who(self) -> str:
        """The EIP for messages: "web-3 (127.100.0.3)"."""
        if self.eip is None:
            return self.label
        return f"{self.eip.name} ({self.eip.public_ip})" if self.eip.name else self.eip.public_ip


@dataclass
class Call:
    """One AWS call of the run: associate a step's EIP, or take it off its address first (a ring)."""

    step: Step
    operation: str  # associate_address | disassociate_address
    kwargs: dict[str, Any]
    leaves: str | None = None  # the slot key it frees (disassociate)

    @property
    def shape(self) -> tuple[str, tuple[str, ...]]:
        return self.operation, tuple(sorted(k for k in self.kwargs if k != "AllowReassociation"))


# --------------------------------------------------------------------------- input


def shape_problems(request: dict[str, Any], state: str) -> list[str]:
    label = request.get("public_ip") or request.get("allocation_id") or str(request)
    problems = []
    if bool(request.get("public_ip")) == bool(request.get("allocation_id")):
        problems.append(f"{label}: give exactly one of public_ip and allocation_id")
    if state == "present" and not (request.get("instance_id") or request.get("network_interface_id")):
        problems.append(f"{label}: give instance_id or network_interface_id (or both)")
    if request.get("public_ip"):
        problems += malformed_ips([request["public_ip"]])
    if request.get("private_ip_address"):
        problems += [
            p.replace("is not a valid IPv4 address", "(private_ip_address) is not a valid IPv4 address")
            for p in malformed_ips([request["private_ip_address"]])
        ]
    return problems


def input_problems(requests: list[dict[str, Any]], state: str) -> list[str]:
    """The entries' own shape. An EIP listed twice is found once each entry is resolved to its address
    (``listed_twice``): a public IP and an allocation ID can name the same EIP."""
    return [p for r in requests for p in shape_problems(r, state)]


def resolve_eip(request: dict[str, Any], addresses: dict[str, Eip], by_alloc: dict[str, Eip]) -> Eip | None:
    if request.get("allocation_id"):
        return by_alloc.get(request["allocation_id"])
    return addresses.get(request["public_ip"])


def _times(n: int) -> str:
    return "twice" if n == 2 else f"{n} times"


def listed_twice(steps: list[Step]) -> tuple[list[Step], list[str]]:
    """One step per EIP, and a problem for every EIP listed more than once, whatever names it (its public IP,
    its allocation ID, or both, in any mix): two entries for one EIP would both be issued, the second
    undoing the first. An address that resolves to no EIP is grouped by the name given."""
    groups: dict[str, list[tuple[int, Step]]] = {}
    for n, step in enumerate(steps, 1):
        key = step.eip.public_ip if step.eip is not None else step.label
        groups.setdefault(key, []).append((n, step))
    problems = []
    for same in groups.values():
        if len(same) < 2:
            continue
        spellings: dict[str, int] = {}
        for _, step in same:
            spellings[step.label] = spellings.get(step.label, 0) + 1
        names = " and ".join(
            f"as {label}" + (f" {_times(count)}" if count > 1 else "") for label, count in spellings.items()
        )
        positions = ", ".join(str(n) for n, _ in same[:-1]) + f" and {same[-1][0]}"
        problems.append(
            f"{same[0][1].who}: listed more than once ({names}; entries {positions}): list each EIP once"
        )
    first = {id(same[0][1]) for same in groups.values()}
    return [s for s in steps if id(s) in first], problems


def _eip_missing(step: Step, region: str | None) -> str:
    if step.request.get("allocation_id"):
        return (
            f"{step.label}: no Elastic IP with this allocation ID in region {region} "
            "(InvalidAllocationID.NotFound)"
        )
    return not_found_message(step.label, region)


# --------------------------------------------------------------------------- targets


@dataclass
class Targets:
    """What DescribeInstances and DescribeNetworkInterfaces say about the listed targets."""

    instances: dict[str, Instance]
    interfaces: dict[str, Interface]  # every ENI known: the instances' and the ones described alone

    def owner(self, eni_id: str) -> Instance | None:
        eni = self.interfaces.get(eni_id)
        return self.instances.get(eni.instance_id or "") if eni else None


def describe(client: Any, requests: list[dict[str, Any]]) -> Targets:
    """The interfaces named (one DescribeNetworkInterfaces), then the instances named or owning them (one
    DescribeInstances: their names, states and every interface)."""
    named = describe_network_interfaces(
        client, [r["network_interface_id"] for r in requests if r.get("network_interface_id")]
    )
    owners = [eni.instance_id for eni in named.values() if eni.instance_id]
    instances = describe_instances_by_id(
        client, [*(r["instance_id"] for r in requests if r.get("instance_id")), *owners]
    )
    interfaces = {
        **named,
        **{eni.network_interface_id: eni for i in instances.values() for eni in i.interfaces},
    }
    return Targets(instances, interfaces)


def _addresses_of(eni: Interface) -> str:
    return ", ".join(p.address for p in eni.private_ips) or "none"


def resolve_target(step: Step, targets: Targets) -> str | None:
    """Set ``step.target`` (the exact slot); return a problem or None."""
    req, eip = step.request, step.eip
    assert eip is not None
    instance_id, eni_id, private_ip = (
        req.get("instance_id"),
        req.get("network_interface_id"),
        req.get("private_ip_address"),
    )
    inst = targets.instances.get(instance_id or "")
    if instance_id and inst is None:
        return f"{step.who}: target {instance_id} not found in this region"
    if inst is not None and inst.state in GONE_STATES:
        return f"{step.who}: target {inst.label} ({inst.instance_id}) is {inst.state}"
    if eni_id:
        eni = targets.interfaces.get(eni_id)
        if eni is None:
            return f"{step.who}: target network interface {eni_id} not found in this region"
        if inst is not None and eni.instance_id != inst.instance_id:
            return (
                f"{step.who}: network interface {eni_id} is not attached to {inst.label} "
                f"({inst.instance_id}) but to {eni.instance_id or 'no instance'}: give the interface alone, "
                "or the right instance"
            )
        owner = inst or targets.owner(eni_id)
        if owner is not None and owner.state in GONE_STATES:
            return f"{step.who}: {eni_id} is attached to {owner.label} ({owner.instance_id}), {owner.state}"
        step.target_name = owner.label if owner else None
        address = private_ip or eni.primary_ip
        if address is None or not eni.has(address):
            return (
                f"{step.who}: {address} is not a private IP of {eni_id} (it has {_addresses_of(eni)}): "
                "assign it first (playbooks/prepare-cluster.yml does), or fix private_ip_address"
            )
        step.target = Slot(
            eni.instance_id or "", eni_id, address, eni.device_index, address == eni.primary_ip
        )
        return _platform_problem(step, eip, classic=False, vpc_id=None)
    assert inst is not None
    step.target_name = inst.label
    if inst.classic:
        if private_ip and inst.private_ip_address and private_ip != inst.private_ip_address:
            return (
                f"{step.who}: {private_ip} is not the private IP of EC2-Classic instance {inst.label} "
                f"({inst.private_ip_address})"
            )
        step.target = Slot(inst.instance_id, None, inst.private_ip_address)
        return _platform_problem(step, eip, classic=True, vpc_id=None)
    if private_ip:
        eni = inst.interface_with(private_ip)
        if eni is None:
            have = "; ".join(f"{e.network_interface_id}: {_addresses_of(e)}" for e in inst.interfaces)
            return (
                f"{step.who}: {private_ip} is not a private IP of {inst.label} ({have}): assign it first "
                "(playbooks/prepare-cluster.yml does), or fix private_ip_address"
            )
    elif len(inst.interfaces) != 1:
        enis = ", ".join(e.network_interface_id for e in inst.interfaces)
        return (
            f"{step.who}: {inst.label} ({inst.instance_id}) has {len(inst.interfaces)} network interfaces "
            f"({enis}): AWS refuses an association by instance ID alone (InvalidInstanceID); give "
            "network_interface_id (and private_ip_address)"
        )
    else:
        eni = inst.interfaces[0]
        private_ip = eni.primary_ip
    step.target = Slot(inst.instance_id, eni.network_interface_id, private_ip, eni.device_index)
    return _platform_problem(step, eip, classic=False, vpc_id=inst.vpc_id)


def _platform_problem(step: Step, eip: Eip, classic: bool, vpc_id: str | None) -> str | None:
    where = step.target_name or (step.target.instance_id if step.target else "?")
    if eip.domain == CLASSIC and not classic:
        return (
            f"{eip.public_ip}: is an EC2-Classic EIP and {where} is in "
            f"{f'VPC {vpc_id}' if vpc_id else 'a VPC'}: "
            "a Classic EIP can't go on a VPC instance; move it to the VPC first (eip_move_to_vpc)"
        )
    if eip.domain == VPC and classic:
        return (
            f"{eip.public_ip}: is a VPC EIP and {where} is an EC2-Classic instance; "
            "associate a Classic EIP with it instead"
        )
    return None


def plan_present(step: Step, allow: bool) -> str | None:
    eip, target = step.eip, step.target
    assert eip is not None and target is not None
    if current_slot(eip) == target.key:
        return None
    if eip.associated and not allow:
        holder = eip.instance_id or eip.network_interface_id
        return f"{eip.public_ip}: associated with {holder}, and allow_reassociation is false"
    step.action = "associate"
    return None


def conflicts(steps: list[Step], addresses: dict[str, Eip]) -> list[str]:
    """Two EIPs for one address; a target address holding an EIP this batch does not move away."""
    problems = []
    by_slot: dict[str, list[Step]] = {}
    for step in steps:
        if step.target is not None:
            by_slot.setdefault(step.target.key, []).append(step)
    for same in by_slot.values():
        if len(same) > 1:
            target = same[0].target
            rule = (
                "an EC2-Classic instance holds one EIP"
                if target and target.classic
                else "one private IPv4 address holds one EIP"
            )
            problems.append(
                f"{' and '.join(s.who for s in same)}: all go to "
                f"{describe_slot(target, same[0].target_name)}: {rule}; give each its own private_ip_address "
                "(or instance)"
            )
    leaving = {current_slot(s.eip) for s in steps if s.eip is not None and s.action == "associate"}
    in_batch = {s.eip.public_ip for s in steps if s.eip is not None}
    slot_holders = holders(addresses)
    for step in steps:
        if step.action != "associate" or step.target is None:
            continue
        holder = slot_holders.get(step.target.key)
        if holder is None or (holder in in_batch and step.target.key in leaving):
            continue
        if holder in in_batch:
            continue  # it stays there and another step wants it too: named above
        other = addresses[holder]
        other_who = f"{other.name} ({holder})" if other.name else holder
        consequence = (
            "an EC2-Classic instance holds one EIP: AWS would replace it"
            if step.target.classic
            else "AWS would silently disassociate it (in a VPC-only account; an account with EC2-Classic "
            "refuses the call)"
        )
        problems.append(
            f"{step.who}: its target {describe_slot(step.target, step.target_name)} holds EIP {other_who}, "
            f"which this batch does not move away: {consequence}; move {other_who} elsewhere in the same "
            "batch, or choose another private_ip_address"
        )
    return problems


def plan_absent(step: Step) -> None:
    eip, req = step.eip, step.request
    assert eip is not None
    if not eip.associated:
        return
    for key, have in (
        ("instance_id", eip.instance_id),
        ("network_interface_id", eip.network_interface_id),
        ("private_ip_address", eip.private_ip_address),
    ):
        if req.get(key) and req[key] != have:
            return
    step.action = "disassociate"


def not_running(step: Step, targets: Targets) -> str | None:
    """A target instance that is not running (AWS associates an EIP with a stopped VPC instance: it then
    answers nobody)."""
    inst = targets.instances.get(step.target.instance_id) if step.target else None
    if inst is None or inst.state == "running":
        return None
    return (
        f"{step.who}: target {inst.label} ({inst.instance_id}) is {inst.state}, so its EIPs would answer "
        "nobody: start it (playbooks/prepare-cluster.yml starts the new cluster), or set require_running "
        "to false"
    )


def plan(
    module: AnsibleAWSModule, client: Any, requests: list[dict[str, Any]], addresses: dict[str, Eip]
) -> tuple[list[Step], list[str]]:
    by_alloc = by_allocation_id(addresses)
    steps = [Step(r, resolve_eip(r, addresses, by_alloc)) for r in requests]
    once, problems = listed_twice(steps)
    problems += [_eip_missing(s, module.region) for s in once if s.eip is None]
    found = [s for s in once if s.eip is not None]
    if module.params["state"] == "absent":
        for step in found:
            plan_absent(step)
        return steps, problems
    targets = describe(client, [s.request for s in found])
    for step in found:
        problem = resolve_target(step, targets) or plan_present(step, module.params["allow_reassociation"])
        if not problem and module.params["require_running"]:
            problem = not_running(step, targets)
        if problem:
            problems.append(problem)
    problems += conflicts(found, addresses)
    return steps, problems


# --------------------------------------------------------------------------- calls, in order


def associate_kwargs(step: Step, allow: bool) -> dict[str, Any]:
    eip, target = step.eip, step.target
    assert eip is not None and target is not None
    if eip.domain == CLASSIC:
        return {"PublicIp": eip.public_ip, "InstanceId": target.instance_id}
    return {
        "AllocationId": eip.allocation_id,
        "NetworkInterfaceId": target.network_interface_id,
        "PrivateIpAddress": target.private_ip_address,
        "AllowReassociation": allow,
    }


def disassociate_kwargs(eip: Eip) -> dict[str, Any]:
    if eip.domain == VPC and eip.association_id:
        return {"AssociationId": eip.association_id}
    return {"PublicIp": eip.public_ip}


def waves(todo: list[Step], allow: bool) -> list[list[Call]]:
    """The calls in waves: a wave's calls only take addresses that are free once the waves before are done.

    A step waits for the step whose EIP sits on its target (that EIP leaves first). A ring of EIPs trading
    places has no such order: one of them is disassociated first, in a wave of its own.
    """
    pending = list(todo)
    # address -> the step whose EIP sits there now and leaves it
    occupied = {current_slot(s.eip): s for s in todo if s.eip is not None and s.action == "associate"}

    def blocked(step: Step) -> bool:
        blocker = occupied.get(step.target.key) if step.target is not None else None
        return blocker is not None and any(blocker is p for p in pending)

    out: list[list[Call]] = []
    while pending:
        ready = [s for s in pending if not blocked(s)]
        if not ready:  # a ring: take the first one off its address
            first = pending[0]
            assert first.eip is not None
            leaves = current_slot(first.eip)
            out.append([Call(first, "disassociate_address", disassociate_kwargs(first.eip), leaves)])
            occupied.pop(leaves, None)
            continue
        wave = []
        for step in ready:
            pending = [p for p in pending if p is not step]
            assert step.eip is not None
            if step.action == "associate":
                wave.append(Call(step, "associate_address", associate_kwargs(step, allow)))
            else:
                wave.append(Call(step, "disassociate_address", disassociate_kwargs(step.eip)))
        out.append(wave)
    return out


def permission_problems(client: Any, calls: list[Call]) -> list[str]:
    """One DryRun of every distinct kind of call (associate by interface, by instance, disassociate)."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    problems = []
    for c in calls:
        if c.shape in seen:
            continue
        seen.add(c.shape)
        problem = dry_run(client, c.operation, c.step.label, **c.kwargs)
        if problem:
            problems.append(problem)
    return problems


# --------------------------------------------------------------------------- verifying


def in_place(step: Step, eip: Eip | None) -> bool:
    if eip is None:
        return False
    if step.action == "disassociate":
        return not eip.associated
    target = step.target
    assert target is not None
    if current_slot(eip) != target.key:
        return False
    # DescribeAddresses names the instance of an attached interface too: it must be the target's
    return not (eip.instance_id and target.instance_id and eip.instance_id != target.instance_id)


def where(eip: Eip | None) -> str:
    if eip is None:
        return "gone from the account"
    if not eip.associated:
        return "unassociated"
    if eip.network_interface_id:
        return f"on {eip.instance_id or '?'} {eip.network_interface_id} {eip.private_ip_address}"
    return f"on {eip.instance_id} (EC2-Classic)"


def dropped_message(step: Step, now: dict[str, Eip], calls_made: int) -> str:
    """What AWS did to an EIP that was in place: which EIP holds its address now, and where it is."""
    target = step.target
    assert target is not None and step.eip is not None
    holder = holders(now).get(target.key)
    place = describe_slot(target, step.target_name)
    if holder and holder != step.eip.public_ip:
        other = now[holder]
        other_who = f"{other.name} ({holder})" if other.name else holder
        verb = f"replaced it: {place} now holds {other_who}"
        rule = (
            "an EC2-Classic instance holds one EIP"
            if target.classic
            else "one private IPv4 address holds one EIP"
        )
        verb += f" ({rule})"
    else:
        verb = f"dropped it: {place} now holds no EIP"
    return (
        f"AWS {verb}. {step.who} was in place on {place} and is now {where(now.get(step.eip.public_ip))}. "
        f"Something outside this run changed it ({calls_made} calls made by this run); find out what, "
        "fix it and rerun"
    )


def verify(
    module: AnsibleAWSModule,
    client: Any,
    watched: list[Step],
    expected: list[Step],
    progress: Progress,
    calls_made: int,
    result: dict[str, Any],
    seen: set[int],
) -> dict[str, Eip]:
    """Describe again until every ``expected`` change shows; fail at once if a watched EIP seen in place
    leaves it. Returns the last description."""
    last: dict[str, dict[str, Eip]] = {}

    def pending() -> list[str]:
        now = describe_addresses(client)
        last["addresses"] = now
        for step in watched:
            eip = now.get(step.eip.public_ip) if step.eip else None
            if in_place(step, eip):
                seen.add(id(step))
            elif id(step) in seen and step.action != "disassociate":
                module.fail_json(msg=dropped_message(step, now, calls_made), changed=calls_made > 0, **result)
        return [s.label for s in expected if s.eip and not in_place(s, now.get(s.eip.public_ip))]

    p = module.params
    remaining = wait_until(
        pending, p["wait_timeout"], p["poll_interval"], progress, "associations", len(expected)
    )
    if remaining:
        now = last["addresses"]
        lines = []
        for step in expected:
            if step.eip and step.label in remaining:
                lines.append(f"{step.who} is {where(now.get(step.eip.public_ip))}")
        module.fail_json(
            msg=f"DescribeAddresses still does not show the change after {p['wait_timeout']}s for: "
            + "; ".join(lines)
            + " (AWS is eventually consistent: rerun to finish; raise wait_timeout if this repeats)",
            changed=calls_made > 0,
            **result,
        )
    return last["addresses"]


# --------------------------------------------------------------------------- results


def predicted(step: Step) -> dict[str, Any]:
    """The state check mode promises for a step."""
    eip = step.eip
    assert eip is not None
    base = eip.to_result()
    base["private_ip_address"] = eip.private_ip_address
    if step.action == "disassociate":
        return {
            **base,
            "instance_id": None,
            "network_interface_id": None,
            "private_ip_address": None,
            "association_id": None,
        }
    if step.action == "associate" and step.target is not None:
        return {
            **base,
            "instance_id": step.target.instance_id or None,
            "network_interface_id": step.target.network_interface_id,
            "private_ip_address": step.target.private_ip_address,
        }
    return base


def state_of(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "domain": entry["domain"],
        "instance_id": entry.get("instance_id"),
        "network_interface_id": entry.get("network_interface_id"),
        "private_ip_address": entry.get("private_ip_address"),
    }


def entries(steps: list[Step], final: dict[str, Eip] | None, check_mode: bool) -> list[dict[str, Any]]:
    out = []
    for step in steps:
        if step.eip is None:
            continue
        action = {"associate": "associated", "disassociate": "disassociated"}.get(step.action, "none")
        if check_mode and step.action != "none":
            action = f"would_{step.action}"
        if final is None:
            state = predicted(step)
        else:
            eip = final[step.eip.public_ip]
            state = {**eip.to_result(), "private_ip_address": eip.private_ip_address}
            if not state["instance_id"] and step.target is not None and in_place(step, eip):
                state["instance_id"] = step.target.instance_id or None
        out.append({**state, "action": action})
    return out


def diff(steps: list[Step], after: list[dict[str, Any]]) -> dict[str, Any]:
    before = {}
    for s in steps:
        if s.eip:
            before[s.eip.public_ip] = {
                "domain": s.eip.domain,
                "instance_id": s.eip.instance_id or None,
                "network_interface_id": s.eip.network_interface_id,
                "private_ip_address": s.eip.private_ip_address,
            }
            if s.action == "none":  # unchanged: shown as it is reported after
                before[s.eip.public_ip] = None
    after_states = {e["public_ip"]: state_of(e) for e in after}
    changed = {ip for ip, b in before.items() if b is not None}
    return eip_diff(
        {ip: b for ip, b in before.items() if ip in changed},
        {ip: a for ip, a in after_states.items() if ip in changed},
    )


def fail(module: AnsibleAWSModule, problems: list[str]) -> None:
    module.fail_json(msg="Nothing was changed. " + " | ".join(problems), problems=problems, changed=False)


#: AWS's request bucket of each of these mutating APIs: 50 tokens, refilled at 5 per second ("Request
#: throttling for the Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
MUTATING_BURST = 50
MUTATING_PER_SECOND = 5.0
#: Tokens of that bucket left unused, for a request that reaches AWS earlier than it left after the one
#: before (a second's worth): the calls then keep AWS's pace without waiting a round trip each.
MUTATING_RESERVE = 5


def paced_client(client: Any) -> Any:
    """The EC2 client with AssociateAddress and DisassociateAddress held to AWS's bucket (50, then 5 per
    second): 200 EIPs take ~30 s instead of 50 throttled calls and their retries."""
    return pace(
        client,
        {
            "AssociateAddress": Pacer(MUTATING_PER_SECOND, burst=MUTATING_BURST, reserve=MUTATING_RESERVE),
            "DisassociateAddress": Pacer(MUTATING_PER_SECOND, burst=MUTATING_BURST, reserve=MUTATING_RESERVE),
        },
    )


def run(module: AnsibleAWSModule) -> None:
    requests = [{k: v for k, v in r.items() if v} for r in module.params["associations"]]
    allow = module.params["allow_reassociation"]
    problems = input_problems(requests, module.params["state"])
    if problems:
        fail(module, problems)
    client = paced_client(ec2_client(module))
    addresses = describe_addresses(client)
    steps, problems = plan(module, client, requests, addresses)
    todo = [s for s in steps if s.action != "none"]
    plan_waves = waves(todo, allow) if not problems else []
    calls = [c for wave in plan_waves for c in wave]
    if not problems:
        problems = permission_problems(client, calls)
    if problems:
        fail(module, problems)
    if module.check_mode:
        after = entries(steps, None, check_mode=True)
        module.exit_json(
            changed=bool(todo), associations=after, calls=0, progress=[], diff=diff(steps, after)
        )
    progress = Progress(module.log)
    found = [s for s in steps if s.eip is not None]
    watched = [s for s in found if s.target is not None]  # present: every EIP with its exact place
    seen = {id(s) for s in watched if s.action == "none"}  # in place from the start
    made = 0
    final = addresses
    beat = Heartbeat(progress, "AssociateAddress and DisassociateAddress", len(calls))
    # a describe failing after changes were made fails with changed=true, and says how to finish
    with changes(lambda: f" ({made} changes made before it: rerun to finish)", when=lambda: made > 0):
        for wave in plan_waves:
            expected: list[Step] = []
            for c in wave:
                name = "AssociateAddress" if c.operation == "associate_address" else "DisassociateAddress"
                try:
                    call(
                        client,
                        c.operation,
                        c.step.eip.public_ip if c.step.eip else c.step.label,
                        name,
                        **c.kwargs,
                    )
                except AwsError as exc:
                    partial = {"associations": [], "calls": made, "progress": progress.lines}
                    if made:
                        final = describe_addresses(client)
                        partial["associations"] = entries(steps, final, check_mode=False)
                    fail_aws(
                        module,
                        exc,
                        f"{exc} ({made} changes made before it; fix and rerun)",
                        changed=made > 0,
                        **partial,
                    )
                made += 1
                beat.tick(made)
                if c.leaves is None:
                    expected.append(c.step)
            ring_breaks = [c for c in wave if c.leaves is not None]
            if ring_breaks:
                final = wait_left(module, client, ring_breaks, progress, made)
            if expected:
                result = {"associations": [], "calls": made, "progress": progress.lines}
                final = verify(module, client, watched, expected, progress, made, result, seen)
    after = entries(steps, final, check_mode=False)
    module.exit_json(
        changed=made > 0, associations=after, calls=made, progress=progress.lines, diff=diff(steps, after)
    )


def wait_left(
    module: AnsibleAWSModule, client: Any, calls: list[Call], progress: Progress, made: int
) -> dict[str, Eip]:
    """Wait until the EIPs taken off their address (to break a ring) show unassociated."""
    last: dict[str, dict[str, Eip]] = {}

    def pending() -> list[str]:
        last["addresses"] = now = describe_addresses(client)
        return [
            c.step.label for c in calls if c.step.eip and current_slot(now[c.step.eip.public_ip]) == c.leaves
        ]

    p = module.params
    remaining = wait_until(pending, p["wait_timeout"], p["poll_interval"], progress, "leaving", len(calls))
    if remaining:
        module.fail_json(
            msg=f"DescribeAddresses still shows {', '.join(remaining)} on its address after "
            f"{p['wait_timeout']}s (taken off to let another EIP take it): rerun to finish",
            changed=True,
            calls=made,
            progress=progress.lines,
        )
    return last["addresses"]


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
