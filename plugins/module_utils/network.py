# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an Elastic IP can go: the pure rules built on the network view of instances (``ec2.Instance``).

AWS's rules (DESIGN.md §1 "AWS facts", research/aws-rules.md §1a):
- in a VPC each private IPv4 address holds one EIP; an instance holds N EIPs only through N private IPs on
  its network interfaces (ENIs), bounded by its instance type (``MaximumNetworkInterfaces`` ×
  ``Ipv4AddressesPerInterface``); association by ``InstanceId`` alone means the primary private IP of the
  instance's only ENI, and is refused on an instance with several ENIs;
- an EC2-Classic instance holds exactly one EIP.

So a place for an EIP is a **slot**: (instance, ENI, private IP) in a VPC, the instance itself in
EC2-Classic. This file has:
- ``network_limits``: each instance type's interfaces and addresses (one DescribeInstanceTypes);
- the pure functions, unit-tested without AWS: ``slot_order``, ``holders``, ``assign_targets``,
  ``capacity``, ``bind_maintenance``.

Slot order on an instance: ENIs by device index; on each ENI the primary IP first, then the secondary IPs
by numeric value. EIPs sorted by (name, public_ip) take free slots in that order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import (
    CLASSIC_PLATFORM,
    VPC_PLATFORM,
    Instance,
    describe_instance_types,
    sorted_ips,
)

#: Types named in a capacity problem as "a larger instance type", first that holds what is needed.
DEFAULT_SUGGESTED_TYPES = ["m5.large", "m5.xlarge", "m5.2xlarge", "m5.4xlarge"]


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class Slot:
    """One place for one EIP: a private IP of an ENI (VPC), or an EC2-Classic instance."""

    instance_id: str
    network_interface_id: str | None = None
    private_ip_address: str | None = None
    device_index: int = 0
    primary: bool = True

    @property
    def key(self) -> str:
        return slot_key(self.instance_id, self.network_interface_id, self.private_ip_address)

    @property
    def classic(self) -> bool:
        return self.network_interface_id is None


def slot_key(instance_id: str | None, eni_id: str | None, private_ip: str | None) -> str:
    """The identity of a slot: ENI and private IP in a VPC (unique in the account), else the instance."""
    if eni_id:
        return f"{eni_id}/{private_ip}"
    return f"classic/{instance_id}"


def describe_slot(slot: Slot | None, name: str | None = None) -> str:
    """A slot for messages: "maint-1 eni-0abc 10.0.1.12" or "maint-3 (EC2-Classic)"."""
    if slot is None:
        return "nowhere"
    who = name or slot.instance_id
    if slot.classic:
        return f"{who} (EC2-Classic)"
    return f"{who} {slot.network_interface_id} {slot.private_ip_address}"


@dataclass(frozen=True)
class TypeInfo:
    """What DescribeInstanceTypes says about an instance type's network."""

    instance_type: str
    max_interfaces: int
    ipv4_per_interface: int

    @property
    def max_addresses(self) -> int:
        return self.max_interfaces * self.ipv4_per_interface

    def holds(self) -> str:
        return f"{self.max_interfaces} × {self.ipv4_per_interface}"

    @classmethod
    def from_aws(cls, raw: dict[str, Any]) -> TypeInfo:
        net = raw.get("NetworkInfo", {})
        return cls(
            raw["InstanceType"],
            int(net.get("MaximumNetworkInterfaces", 1)),
            int(net.get("Ipv4AddressesPerInterface", 1)),
        )


def network_limits(client: Any, types: Iterable[str]) -> dict[str, TypeInfo]:
    """Instance type -> its network limits: one DescribeInstanceTypes for every type named."""
    return {name: TypeInfo.from_aws(raw) for name, raw in describe_instance_types(client, types).items()}


def slot_order(instance: Instance) -> list[Slot]:
    """Every slot of an instance, in the order EIPs take them (ENIs by device index; primary IP first,
    then secondaries by numeric value). An EC2-Classic instance has one slot: itself."""
    if instance.classic:
        return [Slot(instance.instance_id, None, instance.private_ip_address)]
    return [
        Slot(instance.instance_id, eni.network_interface_id, ip.address, eni.device_index, ip.primary)
        for eni in sorted(instance.interfaces, key=lambda i: (i.device_index, i.network_interface_id))
        for ip in sorted_ips(eni.private_ips)
    ]


def holders(addresses: Mapping[str, Any]) -> dict[str, str]:
    """Slot key -> public IP of the EIP on it, from DescribeAddresses (``Eip`` objects by public IP).

    A VPC EIP sits on (ENI, private IP) as DescribeAddresses shows them; an EC2-Classic EIP on its instance.
    """
    out: dict[str, str] = {}
    for ip, eip in addresses.items():
        if eip.network_interface_id:
            out[slot_key(None, eip.network_interface_id, eip.private_ip_address)] = ip
        elif eip.instance_id:
            out[slot_key(eip.instance_id, None, None)] = ip
    return out


def current_slot(eip: Any) -> str | None:
    """The slot key an EIP (``Eip``) is on now, or None."""
    if eip.network_interface_id:
        return slot_key(None, eip.network_interface_id, eip.private_ip_address)
    if eip.instance_id:
        return slot_key(eip.instance_id, None, None)
    return None


# --------------------------------------------------------------------------- assigning targets


@dataclass
class Assignment:
    """Where each EIP bound to one instance goes (None: no free slot yet), and the slots skipped."""

    targets: dict[str, Slot | None] = field(default_factory=dict)
    foreign: list[tuple[Slot, str]] = field(default_factory=list)  # (slot, public IP outside the plan)
    lost_pins: list[str] = field(default_factory=list)  # pinned to a slot the instance no longer has

    @property
    def complete(self) -> bool:
        return all(slot is not None for slot in self.targets.values())


def assign_targets(
    eips: Iterable[tuple[str, str]],
    slots: list[Slot],
    slot_holders: Mapping[str, str],
    planned: Iterable[str],
    pinned: Mapping[str, str] | None = None,
    taken: Iterable[str] = (),
) -> Assignment:
    """The slot of each EIP bound to one instance.

    - ``eips``: (name, public IP) of every EIP bound to the instance (for one role);
    - ``slots``: the instance's slots, in ``slot_order``;
    - ``slot_holders``: slot key -> public IP of the EIP on it now (``holders``);
    - ``planned``: the public IPs of every EIP in the plan;
    - ``pinned``: public IP -> slot key of targets already pinned (they never move);
    - ``taken``: slot keys pinned by EIPs of other roles on this instance.

    Pinned targets stay. An unpinned EIP already on a free slot of the instance keeps it. The others,
    sorted by (name, public IP), take the free slots in order. A slot that holds an EIP outside the plan
    is skipped and reported (``foreign``): taking it would silently disassociate that EIP.
    """
    pinned = dict(pinned or {})
    plan = set(planned)
    by_key = {s.key: s for s in slots}
    result = Assignment()
    used = set(taken)
    ordered = sorted(eips)
    for _name, ip in ordered:
        key = pinned.get(ip)
        if key is None:
            continue
        if key in by_key:
            result.targets[ip] = by_key[key]
            used.add(key)
        else:
            result.targets[ip] = None
            result.lost_pins.append(ip)
    for slot in slots:
        holder = slot_holders.get(slot.key)
        if holder is not None and holder not in plan:
            result.foreign.append((slot, holder))
            used.add(slot.key)
    waiting = [ip for _name, ip in ordered if ip not in result.targets]
    for slot in slots:  # an EIP already on a free slot of its instance keeps it
        holder = slot_holders.get(slot.key)
        if holder in waiting and slot.key not in used:
            result.targets[holder] = slot
            used.add(slot.key)
            waiting.remove(holder)
    free = iter(s for s in slots if s.key not in used)
    for ip in waiting:
        result.targets[ip] = next(free, None)
    return result


# --------------------------------------------------------------------------- capacity


def instance_can_hold(instance: Instance, types: Mapping[str, TypeInfo]) -> int | None:
    """How many EIPs the instance can hold on the interfaces it has now (None: type unknown)."""
    if instance.classic:
        return 1
    info = types.get(instance.instance_type or "")
    if info is None:
        return None
    return len(instance.interfaces) * info.ipv4_per_interface


def bind_maintenance(
    eips: Iterable[tuple[str, str]], fleet: list[tuple[str, int | None]]
) -> dict[str, str | None]:
    """Public IP -> maintenance instance name, for EIPs sorted by (name, public IP).

    ``fleet``: (name, how many EIPs it can hold) in the order listed. Fill-first: each instance takes as
    many as it can hold; what is left goes to the last one (whose capacity problem then says what to do).
    """
    ordered = sorted(eips)
    out: dict[str, str | None] = {}
    if not fleet:
        return {ip: None for _n, ip in ordered}
    index, used = 0, 0
    for _name, ip in ordered:
        while index < len(fleet) - 1 and fleet[index][1] is not None and used >= (fleet[index][1] or 0):
            index, used = index + 1, 0
        out[ip] = fleet[index][0]
        used += 1
    return out


@dataclass
class Capacity:
    """Whether one target instance can hold the EIPs bound to it, and what prepare must assign."""

    instance: str
    instance_id: str
    role: str  # maintenance | new
    platform: str
    instance_type: str | None
    needed: int
    have: int  # private IPs usable now (not holding an EIP outside the plan)
    can_hold: int | None  # on the interfaces attached now
    attached_interfaces: int
    max_interfaces: int | None
    ipv4_per_interface: int | None
    foreign: int
    to_assign: list[dict[str, Any]]
    problem: str | None = None

    def to_result(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "instance_id": self.instance_id,
            "role": self.role,
            "platform": self.platform,
            "instance_type": self.instance_type,
            "needed": self.needed,
            "have": self.have,
            "can_hold": self.can_hold,
            "attached_interfaces": self.attached_interfaces,
            "max_interfaces": self.max_interfaces,
            "ipv4_per_interface": self.ipv4_per_interface,
            "foreign": self.foreign,
            "to_assign": self.to_assign,
            "to_assign_total": sum(a["count"] for a in self.to_assign),
            "problem": self.problem,
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


def _larger_type(needed: int, current: str | None, suggestions: Mapping[str, TypeInfo]) -> TypeInfo | None:
    """The first suggested type that holds ``needed`` on one interface, else the first holding it at all."""
    candidates = [t for t in suggestions.values() if t.instance_type != current]
    return next((t for t in candidates if t.ipv4_per_interface >= needed), None) or next(
        (t for t in candidates if t.max_addresses >= needed), None
    )


def _assign_per_interface(instance: Instance, info: TypeInfo, missing: int) -> list[dict[str, Any]]:
    """How many secondary IPs each ENI needs (device order, filling each before the next)."""
    out = []
    for eni in sorted(instance.interfaces, key=lambda i: i.device_index):
        room = max(0, info.ipv4_per_interface - len(eni.private_ips))
        count = min(room, missing)
        missing -= count
        out.append(
            {
                "network_interface_id": eni.network_interface_id,
                "device_index": eni.device_index,
                "mac_address": eni.mac_address,
                "subnet_id": eni.subnet_id,
                "private_ips": len(eni.private_ips),
                "secondary_private_ips": sum(1 for p in eni.private_ips if not p.primary),
                "count": count,
            }
        )
    return out


def capacity(
    instance: Instance,
    role: str,
    needed: int,
    types: Mapping[str, TypeInfo],
    foreign: int = 0,
    suggestions: Mapping[str, TypeInfo] | None = None,
    fleet_hint: str | None = None,
) -> Capacity:
    """Can ``instance`` hold the ``needed`` EIPs bound to it? If not, the problem says what to do.

    ``foreign``: its private IPs that hold EIPs outside the plan (unusable). ``fleet_hint``: the last
    option of the message ("add maintenance instances", "bind fewer EIPs to it ...").
    """
    name = instance.label
    hint = fleet_hint or (
        "add maintenance instances" if role == "maintenance" else "spread its EIPs over more new instances"
    )
    if instance.classic:
        problem = None
        if needed > 1:
            problem = (
                f"{name} (EC2-Classic) must hold {needed} EIPs but an EC2-Classic instance holds exactly 1: "
                f"a Classic {role} fleet needs one instance per EIP ({hint}: {needed - 1} more)"
            )
        return Capacity(
            name, instance.instance_id, role, CLASSIC_PLATFORM, instance.instance_type, needed,
            have=1, can_hold=1, attached_interfaces=0, max_interfaces=None, ipv4_per_interface=None,
            foreign=foreign, to_assign=[], problem=problem,
        )  # fmt: skip
    info = types.get(instance.instance_type or "")
    attached = len(instance.interfaces)
    addresses = sum(len(i.private_ips) for i in instance.interfaces)
    have = addresses - foreign
    if info is None:
        problem = (
            f"{name}: DescribeInstanceTypes says nothing about its type {instance.instance_type!r}, so how "
            f"many EIPs it can hold is unknown ({needed} needed): check the instance type"
        )
        return Capacity(
            name, instance.instance_id, role, VPC_PLATFORM, instance.instance_type, needed, have, None,
            attached, None, None, foreign, [], problem,
        )  # fmt: skip
    can_hold = attached * info.ipv4_per_interface - foreign
    to_assign = _assign_per_interface(instance, info, max(0, needed - have))
    problem = None
    if needed > can_hold:
        options = []
        enis_needed = math.ceil((needed + foreign) / info.ipv4_per_interface)
        if attached < info.max_interfaces:
            with_max = info.max_addresses - foreign
            if enis_needed <= info.max_interfaces:
                more = enis_needed - attached
                options.append(
                    f"attach {'another interface' if more == 1 else f'{more} more interfaces'} "
                    f"(then {enis_needed * info.ipv4_per_interface - foreign} addresses)"
                )
            else:
                options.append(
                    f"attach another interface (at most {with_max} addresses with {info.max_interfaces}, "
                    "still not enough)"
                )
        larger = _larger_type(needed + foreign, instance.instance_type, suggestions or {})
        if larger is not None:
            options.append(f"use a larger instance type ({larger.instance_type} holds {larger.holds()})")
        else:
            options.append("use a larger instance type")
        options.append(hint)
        interfaces = _plural(info.max_interfaces, "interface")
        problem = (
            f"{name} ({instance.instance_type}, {attached} of at most {interfaces} "
            f"attached, {_plural(info.ipv4_per_interface, 'IPv4 address')} per interface) must hold "
            f"{_plural(needed, 'EIP')} but can hold at most {max(can_hold, 0)} on its attached interfaces"
            + (f" ({_plural(foreign, 'address')} already hold EIPs outside the plan)" if foreign else "")
            + ": "
            + ", ".join(options[:-1])
            + f", or {options[-1]}"
        )
    return Capacity(
        name, instance.instance_id, role, VPC_PLATFORM, instance.instance_type, needed, have, can_hold,
        attached, info.max_interfaces, info.ipv4_per_interface, foreign, to_assign, problem,
    )  # fmt: skip
