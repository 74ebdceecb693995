# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EBS volumes as DescribeVolumes shows them (``describe_volumes``), instance types' EBS limits
(``ebs_limits``), and the attachment rules as AWS applies them, checked before anything is detached
(sources as in aws-rules.md §1d and §7: API-AttachVolume, UG-DeviceNaming, UG-VolumeLimits, UG-NVMe).

Every function takes plain descriptions (what DescribeInstances, DescribeInstanceTypes and DescribeVolumes
answer) and returns problems, each saying what AWS would do and what to do instead, so that a move that AWS
would refuse halfway - after the detach, with the volume stranded outside any server - stops before it starts:

- "The volume and instance must be within the same Availability Zone" [API-AttachVolume]
  (InvalidVolume.ZoneMismatch);
- device names valid for the instance's virtualization type [UG-DeviceNaming] (InvalidParameterValue "… is not
  a valid EBS device name") and free on the instance, the root volume's and every other mapping's included
  (InvalidParameterValue "Attachment point … is already in use"); on Xen "/dev/sdh … could be renamed
  /dev/xvdh" [UG-DeviceNaming], so /dev/sdf and /dev/xvdf are one device to the kernel;
- attachment limits: Nitro types take "a maximum of 28 attachments, including network interfaces, EBS volumes,
  and NVMe instance store volumes" [UG-VolumeLimits] (DescribeInstanceTypes `EbsInfo.AttachmentLimitType:
  shared`), types with `dedicated` limits take `EbsInfo.MaximumEbsAttachments` volumes; past it
  AttachmentLimitExceeded [API-AttachVolume]. Xen types: above 40 volumes is "best effort" - not refused.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import paginate
from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import describe_instance_types

#: UG-DeviceNaming's "available" names for EBS volumes on Linux, as AWS accepts them at AttachVolume:
#: /dev/sd[b-z], /dev/xvd[b-z], /dev/xvd[b-c][a-z]; root /dev/sda1, /dev/xvda;
#: trailing partition digits /dev/sd[b-z][1-15] only on paravirtual ("HVM AMIs do not support the use of
#: trailing numbers on device names, except for /dev/sda1").
HVM_DEVICE = re.compile(r"^/dev/(sd[b-z]|xvd[b-z]|xvd[b-c][a-z]|sda1|xvda)$")
PV_DEVICE = re.compile(r"^/dev/(sd[b-z]|sd[b-z](1[0-5]|[1-9])|xvd[b-z]|xvd[b-c][a-z]|sda1|xvda)$")
NITRO_ATTACHMENTS = 28
#: The tags ebs_volume_move puts on a volume before detaching it: where it comes from, where it goes, at which
#: device. A rerun finds a move halfway by them; move-to and move-device go once the volume is attached.
TAG_FROM = "clusterswap:move-from"
TAG_TO = "clusterswap:move-to"
TAG_DEVICE = "clusterswap:move-device"


@dataclass(frozen=True)
class InstanceType:
    """DescribeInstanceTypes: `Hypervisor` and `EbsInfo` of one type."""

    name: str
    hypervisor: str = "xen"  # nitro | xen
    max_ebs: int | None = None  # EbsInfo.MaximumEbsAttachments
    limit_type: str | None = None  # EbsInfo.AttachmentLimitType: shared | dedicated

    @classmethod
    def from_aws(cls, raw: dict[str, Any]) -> InstanceType:
        ebs = raw.get("EbsInfo") or {}
        return cls(
            name=raw["InstanceType"],
            hypervisor=str(raw.get("Hypervisor") or "xen"),
            max_ebs=ebs.get("MaximumEbsAttachments"),
            limit_type=ebs.get("AttachmentLimitType"),
        )


@dataclass(frozen=True)
class Volume:
    """An EBS volume as DescribeVolumes shows it."""

    volume_id: str
    state: str
    instance_id: str | None = None
    device: str | None = None
    attachment_state: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    zone: str | None = None

    @property
    def name(self) -> str | None:
        return self.tags.get("Name")

    def snapshot(self) -> dict[str, Any]:
        """What --diff shows for this volume."""
        return {"instance_id": self.instance_id, "device": self.device, "state": self.state}


def volume_from_aws(raw: dict[str, Any]) -> Volume:
    att = next(iter(raw.get("Attachments") or []), None) or {}
    return Volume(
        volume_id=raw["VolumeId"],
        state=raw.get("State", ""),
        instance_id=att.get("InstanceId"),
        device=att.get("Device"),
        attachment_state=att.get("State"),
        tags=boto3_tag_list_to_ansible_dict(raw.get("Tags", [])),
        zone=raw.get("AvailabilityZone"),
    )


def describe_volumes(client: Any, volume_ids: list[str] | None = None) -> dict[str, Volume]:
    """Every volume of the region (or the listed ones), by ID: one paginated DescribeVolumes."""
    answer = paginate(
        client, "describe_volumes", "volumes", **({"VolumeIds": volume_ids} if volume_ids else {})
    )
    return {raw["VolumeId"]: volume_from_aws(raw) for raw in answer.get("Volumes", [])}


def ebs_limits(client: Any, types: Iterable[str]) -> dict[str, InstanceType]:
    """Hypervisor and EBS limits of these types: one DescribeInstanceTypes (DescribeInstances' own
    `Hypervisor` says xen for Nitro instances too)."""
    return {name: InstanceType.from_aws(raw) for name, raw in describe_instance_types(client, types).items()}


@dataclass(frozen=True)
class Target:
    """An instance volumes are attached to, as DescribeInstances shows it (DescribeInstances' own `Hypervisor`
    says xen for Nitro instances too: the type's hypervisor comes from DescribeInstanceTypes)."""

    instance_id: str
    name: str
    zone: str | None
    instance_type: str
    virtualization: str = "hvm"  # hvm | paravirtual
    root_device: str | None = None
    mappings: dict[str, str] = field(default_factory=dict)  # device -> volume ID, root included
    interfaces: int = 0

    @property
    def label(self) -> str:
        return (
            f"{self.name} ({self.instance_id})"
            if self.name and self.name != self.instance_id
            else self.instance_id
        )


@dataclass(frozen=True)
class Incoming:
    """A volume to be attached to `target_id` at `device`."""

    volume_id: str
    label: str  # "vol-… (home-1)"
    device: str
    zone: str | None
    target_id: str
    move: str  # "old-storage-1 -> new-storage-1"


def xen_name(device: str) -> str:
    return "/dev/xvd" + device[len("/dev/sd") :] if device.startswith("/dev/sd") else device


def zone_problems(incoming: list[Incoming], targets: dict[str, Target]) -> list[str]:
    """A volume of another Availability Zone than its new instance."""
    problems = []
    for inc in incoming:
        target = targets[inc.target_id]
        if inc.zone and target.zone and inc.zone != target.zone:
            problems.append(
                f"{inc.label} {inc.device}: is in {inc.zone}, {target.label} in {target.zone}; AWS attaches "
                "a volume only to an instance in its own Availability Zone (InvalidVolume.ZoneMismatch), so "
                "after the detach it would be stranded, attached nowhere: start the new server in "
                f"{inc.zone}, or the day before snapshot the volume and create it from the snapshot in "
                f"{target.zone} (then move that one)"
            )
    return problems


def is_xen(target: Target, types: dict[str, InstanceType]) -> bool:
    return (types.get(target.instance_type) or InstanceType(target.instance_type)).hypervisor != "nitro"


def device_problems(
    incoming: list[Incoming], targets: dict[str, Target], types: dict[str, InstanceType]
) -> list[str]:
    """Invalid names, names already used on the new instance, two volumes aimed at one name."""
    problems = []
    aimed: dict[tuple[str, str], list[Incoming]] = defaultdict(list)
    for inc in incoming:
        target = targets[inc.target_id]
        xen = is_xen(target, types)
        valid = PV_DEVICE if target.virtualization == "paravirtual" else HVM_DEVICE
        if not valid.match(inc.device):
            problems.append(
                f"{inc.label}: device name {inc.device} is not valid on {target.label} "
                f"({target.virtualization}); AWS refuses it (InvalidParameterValue: {inc.device} is not a "
                "valid EBS device name): give the volume a valid name on the old server the day before "
                "(/dev/sd[f-p] are the recommended ones)"
            )
        used = dict(target.mappings)
        if target.root_device:
            used.setdefault(target.root_device, "")
        for device, holder in used.items():
            if holder == inc.volume_id:
                continue
            same = device == inc.device
            if not same and not (xen and xen_name(device) == xen_name(inc.device)):
                continue
            what = f"its root volume {holder}".strip() if device == target.root_device else holder
            why = (
                f"Attachment point {inc.device} is already in use (InvalidParameterValue)"
                if same
                else f"on Xen the kernel names {device} and {inc.device} both {xen_name(device)}"
            )
            problems.append(
                f"{inc.label}: {target.label} already has {what} at {device}: {why}; refusing to attach a "
                "second volume there: free that name on the new server, or move the volume to another one"
            )
        aimed[(inc.target_id, xen_name(inc.device) if xen else inc.device)].append(inc)
    for (target_id, device), incs in aimed.items():
        if len(incs) > 1:
            who = " and ".join(f"{i.label} ({i.move} {i.device})" for i in incs)
            problems.append(
                f"{who} would all go to {targets[target_id].label} at {device}: one volume per device name; "
                "move one to another server, or give the old volumes different device names"
            )
    return problems


def capacity_problems(
    incoming: list[Incoming], targets: dict[str, Target], types: dict[str, InstanceType]
) -> list[str]:
    """More attachments than the new instance's type takes, once the incoming volumes are on it."""
    problems = []
    count: dict[str, int] = defaultdict(int)
    for inc in incoming:
        count[inc.target_id] += 1
    for target_id, n in count.items():
        target = targets[target_id]
        itype = types.get(target.instance_type) or InstanceType(target.instance_type)
        volumes = len(target.mappings)
        total = volumes + target.interfaces + n
        if itype.hypervisor == "nitro" and itype.limit_type != "dedicated" and total > NITRO_ATTACHMENTS:
            problems.append(
                f"{target.label} ({itype.name}, Nitro): {target.interfaces} network interface(s) + {volumes} "
                f"volume(s) attached now + {n} to attach = {total} attachments, more than the "
                f"{NITRO_ATTACHMENTS} a Nitro instance takes (volumes and network interfaces together; AWS "
                "answers AttachmentLimitExceeded after the detach): move fewer volumes to it, detach an "
                "interface or a volume it does not need, or use a type with a dedicated EBS limit"
            )
        elif (
            (itype.limit_type == "dedicated" or itype.hypervisor == "nitro")
            and itype.max_ebs is not None
            and volumes + n > itype.max_ebs
        ):
            problems.append(
                f"{target.label} ({itype.name}): {volumes} volume(s) attached now + {n} to attach = "
                f"{volumes + n}, more than the {itype.max_ebs} EBS volumes its type takes "
                "(AttachmentLimitExceeded): move fewer volumes to it or use another type"
            )
    return problems


def check(incoming: list[Incoming], targets: dict[str, Target], types: dict[str, InstanceType]) -> list[str]:
    """Every problem of attaching `incoming` to `targets`, before anything is detached."""
    return [
        *zone_problems(incoming, targets),
        *device_problems(incoming, targets, types),
        *capacity_problems(incoming, targets, types),
    ]
