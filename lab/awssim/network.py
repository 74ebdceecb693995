"""Addresses as AWS has them: network interfaces, private IPs, and one Elastic IP per private IP.

moto 5.2.5 lets one private IP (or one EC2-Classic instance) hold any number of EIPs, hands out random
(possibly duplicate or reserved) private IPs, and ignores instance-type limits. This module makes the
simulator keep AWS's rules, each with its source (keys as in `../shared/research/aws-rules.md` §7):

- **Instance types** — interfaces per instance and IPv4 addresses per interface come from moto's own copy of
  AWS's DescribeInstanceTypes data (`moto/ec2/resources/instance_types.json.gz`: `NetworkInfo.
  MaximumNetworkInterfaces`, `Ipv4AddressesPerInterface`), which matches the EC2 user guide's table
  [UG-ENI] (interfaces x addresses: m1.small 2 x 4, t3.micro 2 x 2, m5.large 3 x 10, m5.xlarge 4 x 15).
- **Private IPs** — "The first four IP addresses and the last IP address in each subnet CIDR block are not
  available for your use" (VPC user guide, subnet sizing); AWS never gives one address twice. The lab hands
  out the lowest free address of the subnet.
- **AssignPrivateIpAddresses** past the type's limit: `PrivateIpAddressLimitExceeded` "Number of private
  addresses will exceed limit." (aws/amazon-vpc-cni-k8s#989, cilium/cilium#36428, CloudTrail).
- **UnassignPrivateIpAddresses**: "When a secondary private IPv4 address is unassigned from a network
  interface, the Elastic IP address (if it exists) is also disassociated." [UG-MultipleIP]
- **AttachNetworkInterface** past the type's limit: `AttachmentLimitExceeded` "Interface count 3 exceeds the
  limit for m1.small" (chef/knife-ec2#375; cilium/cilium#15877: "Interface count 4 exceeds the limit for
  t3.medium").
- **AssociateAddress** [API-AssociateAddress, UG-EIP-classic, UG-MultipleIP]:
  - "Each private IPv4 address can be associated with a single Elastic IP address, and vice versa."
    [UG-MultipleIP]. In a VPC-only account a second EIP on a private IP silently disassociates the first
    ("If you associate an Elastic IP address with an instance that has an existing Elastic IP address, the
    existing address is disassociated from the instance"; community.aws#330 saw it happen); in a VPC of an
    EC2-Classic-enabled account "You cannot associate an Elastic IP address with an instance or network
    interface that has an existing Elastic IP address" [UG-EIP-classic] (code not confirmed: the lab
    answers `Resource.AlreadyAssociated`).
  - EC2-Classic: "Instances support only a single private IPv4 address and a corresponding Elastic IP
    address"; a new association disassociates the existing one [UG-EIP-classic].
  - `InstanceId` "requires exactly one attached network interface"; else `InvalidInstanceID` "There are
    multiple interfaces attached to instance 'i-…'. Please specify an interface ID for the operation
    instead." (cilium/cilium#39654, bobtfish/AWSnycast#28). Without `PrivateIpAddress` the EIP goes to the
    interface's primary private IP [API-AssociateAddress].
  - `AllowReassociation`: in a VPC-only account "reassociation is automatic, therefore you can specify false
    to ensure the operation fails if the Elastic IP address is already associated with another resource";
    otherwise the operation fails unless it is true [API-AssociateAddress] (`Resource.AlreadyAssociated`,
    ansible/ansible#27385); on an EC2-Classic target the parameter itself is refused (aws/aws-cli#62).
  - A VPC EIP by PublicIp: `InvalidParameterCombination` "You must specify an allocation id when mapping an
    address to a VPC instance" (the write-up; ansible/ansible#4436).
  - Association is eventually consistent [DESIGN §1]: it shows after the `eip_associate` latency.
- **DisassociateAddress** is eventually consistent too (latency `eip_disassociate`); a VPC EIP needs its
  AssociationId ("AssociationId … This parameter is required"; PublicIp is the deprecated Classic form)
  [API-DisassociateAddress].
- **DescribeAddresses** shows the exact `NetworkInterfaceId` and `PrivateIpAddress` of an association, and
  DescribeNetworkInterfaces/DescribeInstances show the EIP on that private IP (`PrivateIpAddresses[].
  Association`).
"""

from __future__ import annotations

import functools
import gzip
import ipaddress
import json
from pathlib import Path
from typing import Any

import moto
from moto.ec2 import exceptions as ec2_exceptions
from moto.ec2 import utils as ec2_utils
from moto.ec2.models import elastic_ip_addresses as eip_models
from moto.ec2.models import elastic_network_interfaces as eni_models
from moto.ec2.responses import EC2Response

from lab.awssim.state import STATE

ALLOC_ID_MESSAGE = "You must specify an allocation id when mapping an address to a VPC instance"
REASSOC_MESSAGE = (
    "The allowReassociation parameter is only supported when mapping to a VPC instance or interface."
)
IP_LIMIT_MESSAGE = "Number of private addresses will exceed limit."

#: (object, attribute) pairs this module relies on (checked by patches.check_moto).
REQUIRED_INTERNALS: list[tuple[Any, str]] = [
    (EC2Response, "associate_address"),
    (EC2Response, "disassociate_address"),
    (EC2Response, "assign_private_ip_addresses"),
    (EC2Response, "unassign_private_ip_addresses"),
    (EC2Response, "attach_network_interface"),
    (EC2Response, "create_network_interface"),
    (eni_models, "random_private_ip"),
    (eni_models.NetworkInterface, "__init__"),
    (eni_models.NetworkInterfaceBackend, "assign_private_ip_addresses"),
    (eni_models.NetworkInterfaceBackend, "get_network_interface"),
    (eip_models.ElasticAddressBackend, "associate_address"),
    (eip_models.ElasticAddressBackend, "disassociate_address"),
    (eip_models.ElasticAddressBackend, "address_by_association"),
    (ec2_utils, "random_eip_association_id"),
    (ec2_exceptions, "ResourceAlreadyAssociatedError"),
]


def ec2_error(code: str, message: str) -> Exception:
    return ec2_exceptions.EC2ClientError(code, message)


# ------------------------------------------------------------------------------------------------
# instance types


@functools.lru_cache(maxsize=1)
def _instance_types() -> dict[str, dict[str, Any]]:
    path = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"
    with gzip.open(path) as handle:
        return json.load(handle)  # type: ignore[no-any-return]


def type_info(instance_type: str) -> dict[str, Any]:
    """AWS's DescribeInstanceTypes entry for `instance_type` (moto's copy of AWS's data)."""
    info = _instance_types().get(instance_type)
    if info is None:
        raise KeyError(f"no instance type {instance_type!r} in AWS's DescribeInstanceTypes data")
    return info


def max_interfaces(instance_type: str) -> int:
    return int(type_info(instance_type)["NetworkInfo"]["MaximumNetworkInterfaces"])


def ips_per_interface(instance_type: str) -> int:
    return int(type_info(instance_type)["NetworkInfo"]["Ipv4AddressesPerInterface"])


def hypervisor(instance_type: str) -> str:
    """`nitro` or `xen`."""
    return str(type_info(instance_type).get("Hypervisor", "xen"))


# ------------------------------------------------------------------------------------------------
# private IP allocation


def _used_private_ips() -> set[str]:
    from lab.awssim.control import ec2_backends

    used: set[str] = set()
    for backend in ec2_backends():
        for eni in list(backend.enis.values()):
            used.update(
                a.get("PrivateIpAddress") for a in eni.private_ip_addresses if a.get("PrivateIpAddress")
            )
            if eni.private_ip_address:
                used.add(eni.private_ip_address)
        for reservation in list(backend.reservations.values()):
            for inst in reservation.instances:
                if getattr(inst, "_lab_classic", False) and inst.private_ip:
                    used.add(inst.private_ip)
    return used


def free_private_ip(cidr: str, taken: set[str] | None = None) -> str:
    """The lowest address of `cidr` AWS could hand out now (not reserved, not in use)."""
    net = ipaddress.IPv4Network(cidr)
    used = _used_private_ips() | (taken or set())
    first, last = int(net.network_address) + 4, int(net.broadcast_address) - 1
    for value in range(first, last + 1):
        ip = str(ipaddress.IPv4Address(value))
        if ip not in used:
            return ip
    raise ec2_error(
        "InsufficientFreeAddressesInSubnet",
        f"There are not enough free addresses in subnet for this request ({cidr}).",
    )


def _allocator(original: Any) -> Any:
    def random_private_ip(cidr: str | None = None, ipv6: bool = False) -> str:
        if ipv6 or not cidr:
            return original(cidr, ipv6)  # type: ignore[no-any-return]
        return free_private_ip(cidr)

    return random_private_ip


# ------------------------------------------------------------------------------------------------
# the model of an association: which EIP sits on which (ENI, private IP), or on which Classic instance


def is_classic_instance(instance: Any) -> bool:
    return bool(getattr(instance, "_lab_classic", False))


def _eni_ips(eni: Any) -> list[str]:
    ips = [a["PrivateIpAddress"] for a in eni.private_ip_addresses if a.get("PrivateIpAddress")]
    if eni.private_ip_address and eni.private_ip_address not in ips:
        ips.insert(0, eni.private_ip_address)
    return ips


def _holders(backend: Any, eni: Any, private_ip: str | None, instance: Any) -> list[Any]:
    """EIPs on that VPC slot (ENI, private IP), or on that EC2-Classic instance."""
    out = []
    for eip in backend.addresses:
        if eni is not None and eip.eni is not None and eip.eni.id == eni.id:
            if getattr(eip, "_lab_private_ip", None) == private_ip:
                out.append(eip)
        elif (
            eni is None
            and instance is not None
            and eip.instance is not None
            and eip.instance.id == instance.id
        ):
            out.append(eip)
    return out


def _set_eni_association(eip: Any, on: bool) -> None:
    """Keep DescribeNetworkInterfaces' `PrivateIpAddresses[].Association` in step with the EIP."""
    eni, ip = eip.eni, getattr(eip, "_lab_private_ip", None)
    if eni is None or ip is None:
        return
    for entry in eni.private_ip_addresses:
        if entry.get("PrivateIpAddress") == ip:
            if on:
                entry["Association"] = {
                    "PublicIp": eip.public_ip,
                    "AllocationId": eip.allocation_id,
                    "AssociationId": eip.association_id,
                    "IpOwnerId": "amazon",
                }
            else:
                entry.pop("Association", None)
    if ip == eni.private_ip_address:
        eni.public_ip = eip.public_ip if on else None


def detach_eip(eip: Any) -> None:
    """Take an EIP off whatever it is on (the model only; callers hold the API lock)."""
    _set_eni_association(eip, on=False)
    if eip.eni is not None and eip.eni.public_ip == eip.public_ip:
        eip.eni.public_ip = None
    eip.eni = None
    eip.instance = None
    eip.association_id = None
    eip._lab_private_ip = None


def attach_eip(eip: Any, instance: Any, eni: Any, private_ip: str | None, association_id: str | None) -> None:
    eip.instance = instance if instance is not None else getattr(eni, "instance", None)
    eip.eni = eni
    eip._lab_private_ip = private_ip if eni is not None else None
    eip.association_id = association_id
    _set_eni_association(eip, on=True)


# ------------------------------------------------------------------------------------------------
# AssociateAddress / DisassociateAddress


def _resolve_vpc_target(
    backend: Any, instance: Any, eni_id: str | None, private_ip: str | None
) -> tuple[Any, str]:
    if eni_id:
        eni = backend.get_network_interface(eni_id)
    else:
        nics = [instance.nics[i] for i in sorted(instance.nics)]
        if len(nics) != 1:
            raise ec2_error(
                "InvalidInstanceID",
                f"There are multiple interfaces attached to instance '{instance.id}'. "
                "Please specify an interface ID for the operation instead.",
            )
        eni = nics[0]
    if private_ip:
        if private_ip not in _eni_ips(eni):
            # rule from the API reference (the address must be one of the interface's); text not confirmed
            raise ec2_error(
                "InvalidParameterValue",
                f"The private IP address {private_ip} is not assigned to network interface {eni.id}",
            )
        return eni, private_ip
    return eni, eni.private_ip_address


def associate_address(self: Any) -> Any:
    from moto.core.responses import ActionResult

    backend = self.ec2_backend
    instance_id = self._get_param("InstanceId")
    eni_id = self._get_param("NetworkInterfaceId")
    public_ip = self._get_param("PublicIp")
    allocation_id = self._get_param("AllocationId")
    private_ip = self._get_param("PrivateIpAddress")
    reassoc = self._get_param("AllowReassociation")  # None when the caller did not send it
    if not (instance_id or eni_id) or not (public_ip or allocation_id):
        return _ORIG["associate_address"](self)  # moto's own MissingParameter errors
    instance = backend.get_instance(instance_id) if instance_id else None
    eip = (
        backend.address_by_ip([public_ip])[0]
        if public_ip
        else backend.address_by_allocation([allocation_id])[0]
    )
    classic_target = instance is not None and is_classic_instance(instance)
    eni = None
    if classic_target:
        if reassoc is not None:
            raise ec2_error("InvalidParameterCombination", REASSOC_MESSAGE)
        if eip.domain == "vpc" or allocation_id or eni_id or private_ip:
            # "You can't associate an Elastic IP address that you allocated for use with a VPC with an
            # instance in EC2-Classic" [UG-EIP-classic]; code/message not confirmed (Classic is retired)
            raise ec2_error(
                "InvalidParameterCombination",
                f"The address with allocation id [{eip.allocation_id}] cannot be associated with an "
                "EC2-Classic instance",
            )
    else:
        if public_ip:
            raise ec2_error("InvalidParameterCombination", ALLOC_ID_MESSAGE)
        if eip.domain == "standard":
            # not confirmed against AWS; a Classic EIP has no allocation id so this is rarely reached
            raise ec2_error("InvalidParameterValue", f"The address {eip.public_ip} is an EC2-Classic address")
        eni, private_ip = _resolve_vpc_target(backend, instance, eni_id, private_ip)
        if instance is None:
            instance = eni.instance
    if getattr(eip, "_lab_moving", None):
        # not confirmed against AWS: the docs only say the address can't be used while moving
        raise ec2_error("InvalidAddress.Moving", f"The address {eip.public_ip} is being moved")
    self.error_on_dryrun()

    here = (eni is not None and eip.eni is not None and eip.eni.id == eni.id
            and getattr(eip, "_lab_private_ip", None) == private_ip) or (
        eni is None and eip.instance is not None and instance is not None and eip.instance.id == instance.id
    )  # fmt: skip
    elsewhere = (eip.instance is not None or eip.eni is not None) and not here
    if elsewhere and not classic_target:
        allowed = reassoc is not False if not STATE.classic_enabled else reassoc is True
        if not allowed:
            raise ec2_exceptions.ResourceAlreadyAssociatedError(eip.public_ip)
    others = [h for h in _holders(backend, eni, private_ip, instance) if h is not eip]
    if others and not classic_target and STATE.classic_enabled:
        # "You cannot associate an Elastic IP address with an instance or network interface that has an
        # existing Elastic IP address" (VPC in an EC2-Classic account) [UG-EIP-classic]; code not confirmed
        raise ec2_error(
            "Resource.AlreadyAssociated",
            f"The private IP address {private_ip} of {eni.id} already has an Elastic IP address "
            f"({others[0].public_ip})",
        )
    association_id = None if eip.domain == "standard" else ec2_utils.random_eip_association_id()

    def apply() -> None:
        # AWS holds one EIP per private IP (per Classic instance): whatever is there now is disassociated
        for holder in _holders(backend, eni, private_ip, instance):
            if holder is not eip:
                detach_eip(holder)
        detach_eip(eip)
        attach_eip(eip, instance, eni, private_ip, association_id)

    STATE.schedule("eip_association", eip.public_ip, STATE.delay("eip_associate"), apply)
    return ActionResult({"AssociationId": association_id})


def disassociate_address(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    backend = self.ec2_backend
    public_ip = self._get_param("PublicIp")
    association_id = self._get_param("AssociationId")
    if public_ip:
        eip = backend.address_by_ip([public_ip])[0]
        if eip.domain == "vpc":
            # not confirmed verbatim against AWS: VPC addresses are disassociated by association id
            raise ec2_error(
                "InvalidParameterValue",
                "You must specify an association id when unmapping an address from a VPC instance",
            )
    elif association_id:
        eip = backend.address_by_association([association_id])[0]  # InvalidAssociationID.NotFound
    else:
        raise ec2_error("MissingParameter", "The request must contain the parameter AssociationId")
    self.error_on_dryrun()
    if eip.instance is None and eip.eni is None:
        return EmptyResult()  # "This is an idempotent operation" [API-DisassociateAddress]
    was = (eip.association_id, eip.instance)

    def apply() -> None:
        if (eip.association_id, eip.instance) == was:  # not re-associated meanwhile
            detach_eip(eip)

    STATE.schedule("eip_association", eip.public_ip, STATE.delay("eip_disassociate"), apply)
    return EmptyResult()


# ------------------------------------------------------------------------------------------------
# interfaces and their private IPs


def _eni_instance_type(eni: Any) -> str | None:
    return getattr(getattr(eni, "instance", None), "instance_type", None)


def assign_private_ip_addresses(self: Any) -> Any:
    from moto.core.responses import ActionResult

    backend = self.ec2_backend
    eni = backend.get_network_interface(self._get_param("NetworkInterfaceId"))
    count = int(self._get_param("SecondaryPrivateIpAddressCount") or 0)
    wanted = list(self._get_param("PrivateIpAddresses", []) or [])
    have = _eni_ips(eni)
    new = [ip for ip in wanted if ip not in have]
    itype = _eni_instance_type(eni)
    if itype and len(have) + len(new) + count > ips_per_interface(itype):
        raise ec2_error("PrivateIpAddressLimitExceeded", IP_LIMIT_MESSAGE)
    used = _used_private_ips()
    for ip in new:
        if ip in used:
            # AWS refuses an address in use (text not confirmed)
            raise ec2_error("InvalidParameterValue", f"Address {ip} is in use.")
        if ipaddress.IPv4Address(ip) not in ipaddress.IPv4Network(eni.subnet.cidr_block):
            raise ec2_error(
                "InvalidParameterValue", f"Address {ip} does not fall within the subnet's address range"
            )
    self.error_on_dryrun()
    taken: set[str] = set()
    for _ in range(count):
        ip = free_private_ip(eni.subnet.cidr_block, taken)
        taken.add(ip)
        new.append(ip)
    eni.private_ip_addresses.extend({"Primary": False, "PrivateIpAddress": ip} for ip in new)
    return ActionResult(
        {
            "NetworkInterfaceId": eni.id,
            "AssignedPrivateIpAddresses": [{"PrivateIpAddress": ip} for ip in new],
        }
    )


def unassign_private_ip_addresses(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    backend = self.ec2_backend
    eni = backend.get_network_interface(self._get_param("NetworkInterfaceId"))
    ips = list(self._get_param("PrivateIpAddresses", []) or [])
    if eni.private_ip_address in ips:
        # the primary private IPv4 address can't be removed [UG-MultipleIP]; text not confirmed
        raise ec2_error(
            "InvalidParameterValue",
            f"The primary private IP address {eni.private_ip_address} can not be unassigned",
        )
    self.error_on_dryrun()
    for eip in list(backend.addresses):
        if eip.eni is not None and eip.eni.id == eni.id and getattr(eip, "_lab_private_ip", None) in ips:
            detach_eip(eip)  # "the Elastic IP address (if it exists) is also disassociated" [UG-MultipleIP]
    eni.private_ip_addresses[:] = [
        a for a in eni.private_ip_addresses if a.get("PrivateIpAddress") not in ips
    ]
    return EmptyResult()


def attach_network_interface(self: Any) -> Any:
    instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
    if is_classic_instance(instance):
        raise ec2_error(
            "InvalidParameterCombination",
            f"Network interfaces can't be attached to EC2-Classic instance {instance.id}",
        )  # text not confirmed
    limit = max_interfaces(instance.instance_type)
    if len(instance.nics) + 1 > limit:
        raise ec2_error(
            "AttachmentLimitExceeded",
            f"Interface count {len(instance.nics) + 1} exceeds the limit for {instance.instance_type}",
        )
    return _ORIG["attach_network_interface"](self)


# ------------------------------------------------------------------------------------------------
# install


def create_network_interface(self: Any) -> Any:
    """moto draws all secondary addresses of a new interface at once (duplicates possible): create the
    interface with its primary address, then assign the secondary ones as AssignPrivateIpAddresses does."""
    count = int(self._get_param("SecondaryPrivateIpAddressCount") or 0)
    self.params.pop("SecondaryPrivateIpAddressCount", None)
    result = _ORIG["create_network_interface"](self)
    if count:
        eni = result.result["NetworkInterface"] if hasattr(result, "result") else None
        if eni is None:
            raise RuntimeError("lab.awssim: cannot read the interface CreateNetworkInterface made")
        taken: set[str] = set()
        for _ in range(count):
            ip = free_private_ip(eni.subnet.cidr_block, taken)
            taken.add(ip)
            eni.private_ip_addresses.append({"Primary": False, "PrivateIpAddress": ip})
    return result


_ORIG: dict[str, Any] = {}


def patch() -> None:
    """Install the address rules (called once by lab.awssim.patches.install)."""
    for name in ("associate_address", "attach_network_interface", "create_network_interface"):
        _ORIG[name] = getattr(EC2Response, name)
    eni_models.random_private_ip = _allocator(eni_models.random_private_ip)  # type: ignore[assignment]

    EA = eip_models.ElasticAddress
    EA.private_ip_address = property(  # type: ignore[assignment,method-assign]
        lambda self: (
            None if self.domain == "standard" or not self.eni else getattr(self, "_lab_private_ip", None)
        )
    )
    EC2Response.associate_address = associate_address  # type: ignore[method-assign]
    EC2Response.disassociate_address = disassociate_address  # type: ignore[method-assign]
    EC2Response.assign_private_ip_addresses = assign_private_ip_addresses  # type: ignore[method-assign]
    EC2Response.unassign_private_ip_addresses = unassign_private_ip_addresses  # type: ignore[method-assign]
    EC2Response.attach_network_interface = attach_network_interface  # type: ignore[method-assign]
    EC2Response.create_network_interface = create_network_interface  # type: ignore[method-assign]
