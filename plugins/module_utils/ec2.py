# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2 as every clusterswap module sees it: one shape of an instance and of a network interface, and one
helper per describe operation (each paginated, retried, failing with ``AwsError``):

- ``describe_instances`` (``describe_instances_by_name`` / ``describe_instances_by_id``): one
  DescribeInstances for a whole list;
- ``describe_network_interfaces``, ``describe_instance_types``, ``describe_security_groups``;
- ``dry_run``: the DryRun permission check every module makes before its first change.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore.exceptions

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.transformation import (
    ansible_dict_to_boto3_filter_list,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import (
    aws_client,
    aws_error,
    format_aws_error,
    paginate,
)

VPC_PLATFORM = "vpc"
CLASSIC_PLATFORM = "classic"
LIVE_STATES = ["pending", "running", "stopping", "stopped"]
GONE_STATES = ("shutting-down", "terminated")


def ec2_client(module: AnsibleAWSModule) -> Any:
    return aws_client(module, "ec2")


# --------------------------------------------------------------------------- the shapes


@dataclass(frozen=True)
class PrivateIp:
    address: str
    primary: bool


@dataclass(frozen=True)
class Interface:
    """A network interface as DescribeInstances / DescribeNetworkInterfaces show it."""

    network_interface_id: str
    device_index: int = 0
    mac_address: str | None = None
    subnet_id: str | None = None
    private_ips: tuple[PrivateIp, ...] = ()
    instance_id: str | None = None  # the instance it is attached to
    status: str | None = None

    def has(self, address: str) -> bool:
        return any(p.address == address for p in self.private_ips)

    @property
    def primary_ip(self) -> str | None:
        return next((p.address for p in self.private_ips if p.primary), None)


@dataclass(frozen=True)
class Instance:
    """An instance as DescribeInstances shows it: the one shape every module uses (EIPs: its network;
    EBS: its zone, root device, virtualization and block device mappings)."""

    instance_id: str
    name: str | None = None
    state: str | None = None
    instance_type: str | None = None
    vpc_id: str | None = None
    private_ip_address: str | None = None
    interfaces: tuple[Interface, ...] = ()
    zone: str | None = None
    root_device: str | None = None
    virtualization: str = "hvm"
    mappings: dict[str, str] = field(default_factory=dict)  # device -> volume ID (BlockDeviceMappings)

    @property
    def platform(self) -> str:
        return VPC_PLATFORM if self.vpc_id else CLASSIC_PLATFORM

    @property
    def classic(self) -> bool:
        return self.platform == CLASSIC_PLATFORM

    @property
    def label(self) -> str:
        return self.name or self.instance_id

    def interface(self, eni_id: str) -> Interface | None:
        return next((i for i in self.interfaces if i.network_interface_id == eni_id), None)

    def interface_with(self, address: str) -> Interface | None:
        return next((i for i in self.interfaces if i.has(address)), None)

    def to_result(self) -> dict[str, Any]:
        return {
            "id": self.instance_id,
            "state": self.state,
            "vpc_id": self.vpc_id,
            "platform": self.platform,
            "instance_type": self.instance_type,
            "private_ip_address": self.private_ip_address,
            "interfaces": [
                {
                    "network_interface_id": i.network_interface_id,
                    "device_index": i.device_index,
                    "mac_address": i.mac_address,
                    "subnet_id": i.subnet_id,
                    "private_ip_addresses": [
                        {"private_ip_address": p.address, "primary": p.primary}
                        for p in sorted_ips(i.private_ips)
                    ],
                }
                for i in sorted(self.interfaces, key=lambda i: i.device_index)
            ],
        }


def sorted_ips(ips: Iterable[PrivateIp]) -> list[PrivateIp]:
    """The primary IP first, then the secondary IPs by numeric value."""
    return sorted(ips, key=lambda p: (not p.primary, int(ipaddress.IPv4Address(p.address))))


# --------------------------------------------------------------------------- describing


def interface_from_aws(raw: dict[str, Any]) -> Interface:
    attachment = raw.get("Attachment") or {}
    return Interface(
        network_interface_id=raw["NetworkInterfaceId"],
        device_index=int(attachment.get("DeviceIndex", 0)),
        mac_address=raw.get("MacAddress"),
        subnet_id=raw.get("SubnetId"),
        private_ips=tuple(
            PrivateIp(p["PrivateIpAddress"], bool(p.get("Primary")))
            for p in raw.get("PrivateIpAddresses", [])
            if p.get("PrivateIpAddress")
        ),
        instance_id=attachment.get("InstanceId"),
        status=raw.get("Status"),
    )


def instance_from_aws(raw: dict[str, Any]) -> Instance:
    return Instance(
        instance_id=raw["InstanceId"],
        name=boto3_tag_list_to_ansible_dict(raw.get("Tags", [])).get("Name"),
        state=(raw.get("State") or {}).get("Name"),
        instance_type=raw.get("InstanceType"),
        vpc_id=raw.get("VpcId") or None,
        private_ip_address=raw.get("PrivateIpAddress") or None,
        interfaces=tuple(
            interface_from_aws(
                {**eni, "Attachment": {**(eni.get("Attachment") or {}), "InstanceId": raw["InstanceId"]}}
            )
            for eni in raw.get("NetworkInterfaces", [])
        ),
        zone=(raw.get("Placement") or {}).get("AvailabilityZone"),
        root_device=raw.get("RootDeviceName"),
        virtualization=raw.get("VirtualizationType") or "hvm",
        mappings={
            m["DeviceName"]: (m.get("Ebs") or {}).get("VolumeId", "")
            for m in raw.get("BlockDeviceMappings", [])
            if m.get("DeviceName")
        },
    )


def describe_instances(client: Any, subject: str, filters: dict[str, Any]) -> list[Instance]:
    """The instances matching ``filters`` (``{"instance-id": [...]}``): one paginated DescribeInstances."""
    answer = paginate(
        client, "describe_instances", subject, Filters=ansible_dict_to_boto3_filter_list(filters)
    )
    return [instance_from_aws(i) for r in answer.get("Reservations", []) for i in r.get("Instances", [])]


def describe_live_instances(client: Any) -> list[Instance]:
    """Every instance of the region that is not terminated."""
    return describe_instances(client, "instances", {"instance-state-name": LIVE_STATES})


def describe_instances_by_name(client: Any, names: Iterable[str]) -> dict[str, list[Instance]]:
    """Name tag -> every non-terminated instance with it: one DescribeInstances for the whole list."""
    wanted = sorted(set(names))
    found: dict[str, list[Instance]] = {name: [] for name in wanted}
    if not wanted:
        return found
    filters = {"tag:Name": wanted, "instance-state-name": LIVE_STATES}
    for inst in describe_instances(client, "the plan's instances", filters):
        if inst.name in found:
            found[inst.name].append(inst)
    return found


def describe_instances_by_id(client: Any, instance_ids: Iterable[str]) -> dict[str, Instance]:
    """Instance id -> instance (in any state, so that a terminated target is named as such)."""
    wanted = sorted(set(instance_ids))
    if not wanted:
        return {}
    found = describe_instances(client, "target instances", {"instance-id": wanted})
    return {i.instance_id: i for i in found}


def describe_network_interfaces(client: Any, eni_ids: Iterable[str]) -> dict[str, Interface]:
    """ENI id -> interface (with the instance it is attached to): one DescribeNetworkInterfaces."""
    wanted = sorted(set(eni_ids))
    if not wanted:
        return {}
    answer = paginate(
        client,
        "describe_network_interfaces",
        "target network interfaces",
        Filters=ansible_dict_to_boto3_filter_list({"network-interface-id": wanted}),
    )
    return {eni["NetworkInterfaceId"]: interface_from_aws(eni) for eni in answer.get("NetworkInterfaces", [])}


def describe_instance_types(client: Any, types: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Instance type -> what DescribeInstanceTypes says of it: one call for every type named."""
    wanted = sorted({t for t in types if t})
    if not wanted:
        return {}
    answer = paginate(client, "describe_instance_types", ", ".join(wanted), InstanceTypes=wanted)
    return {raw["InstanceType"]: raw for raw in answer.get("InstanceTypes", [])}


def describe_security_groups(client: Any, group_ids: list[str]) -> dict[str, str | None]:
    """Security group ID -> its VPC: one DescribeSecurityGroups for the list."""
    answer = paginate(client, "describe_security_groups", ", ".join(group_ids), GroupIds=group_ids)
    return {g["GroupId"]: g.get("VpcId") for g in answer.get("SecurityGroups", [])}


# --------------------------------------------------------------------------- permission check


def dry_run(client: Any, operation: str, subject: str, **kwargs: Any) -> str | None:
    """Ask AWS whether ``operation`` would be allowed, changing nothing.

    Returns None when AWS answers DryRunOperation (allowed), else a problem naming the subject and the code.
    """
    try:
        getattr(client, operation)(aws_retry=True, DryRun=True, **kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        code, message = aws_error(exc)
        if code == "DryRunOperation":
            return None
        return "permission check (DryRun) " + format_aws_error(operation, subject, code, message)
    return (
        f"permission check (DryRun) {operation} {subject}: AWS did not answer DryRunOperation; "
        "refusing to go on with an endpoint that may ignore DryRun"
    )
