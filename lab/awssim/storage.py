"""EBS as AWS has it: zones, device names, attachment limits, root volumes (sources: aws-rules.md §1d, §7).

- "The volume and instance must be within the same Availability Zone" [API-AttachVolume]:
  `InvalidVolume.ZoneMismatch` "The volume 'vol-…' is not in the same availability zone as instance 'i-…'"
  (linuxkit/linuxkit#2388, kubernetes-sigs/aws-ebs-csi-driver#52).
- Device names must be valid for Linux instances [UG-DeviceNaming]: `InvalidParameterValue` "Value (/dev/sdi1)
  for parameter device is invalid. /dev/sdi1 is not a valid EBS device name." (sous-chefs/aws#134). The lab
  accepts the names UG-DeviceNaming lists as available for EBS volumes on Linux: /dev/sd[b-z], /dev/xvd[b-z],
  /dev/xvd[b-c][a-z], and (paravirtual) /dev/sd[b-z][1-15]; the root names /dev/sda1 and /dev/xvda.
- A device name already used on the instance: `InvalidParameterValue` "Invalid value '/dev/sdf' for
  unixDevice. Attachment point /dev/sdf is already in use" (nanovms/ops#1189, kopeio/etcd-manager#323).
  /dev/sdf and /dev/xvdf count as different names, as AWS counts them (joeduffy/blocker#1).
- Nitro instances take "a maximum of 28 attachments, including network interfaces, EBS volumes, and NVMe
  instance store volumes" [UG-VolumeLimits]; DescribeInstanceTypes says `EbsInfo.AttachmentLimitType:
  shared`. Past it: `AttachmentLimitExceeded` [API-AttachVolume] (message not confirmed). Xen instances: more
  than 40 volumes is "best effort" on Linux — not refused.
- A root volume can't be detached while its instance runs [API-DetachVolume] (code and text not confirmed:
  the lab answers `IncorrectState`).
"""

from __future__ import annotations

import re
from typing import Any

from lab.awssim.network import ec2_error, hypervisor

NITRO_ATTACHMENTS = 28
VALID_DEVICE = re.compile(r"^/dev/(sd[b-z]|xvd[b-z]|xvd[b-c][a-z]|sd[b-z](1[0-5]|[1-9])|sda1|xvda)$")


def _attached_devices(instance: Any) -> dict[str, str]:
    """Device name -> volume id of every EBS attachment of the instance (root included)."""
    return {
        device: getattr(block, "volume_id", "") for device, block in instance.block_device_mapping.items()
    }


def attach_refusal(backend: Any, volume: Any, instance: Any, device: str) -> Exception | None:
    """What AWS answers to AttachVolume(volume, instance, device) that it refuses, or None."""
    zone = instance._placement.zone
    if volume.zone and zone and volume.zone.name != zone:
        return ec2_error(
            "InvalidVolume.ZoneMismatch",
            f"The volume '{volume.id}' is not in the same availability zone as instance '{instance.id}'",
        )
    if not VALID_DEVICE.match(device or ""):
        return ec2_error(
            "InvalidParameterValue",
            f"Value ({device}) for parameter device is invalid. {device} is not a valid EBS device name.",
        )
    if device in _attached_devices(instance):
        return ec2_error(
            "InvalidParameterValue",
            f"Invalid value '{device}' for unixDevice. Attachment point {device} is already in use",
        )
    if hypervisor(instance.instance_type) == "nitro":
        used = len(_attached_devices(instance)) + len(instance.nics)
        if used + 1 > NITRO_ATTACHMENTS:
            return ec2_error(
                "AttachmentLimitExceeded",
                f"Instance '{instance.id}' ({instance.instance_type}) has {used} attachments (volumes and "
                f"network interfaces); the limit is {NITRO_ATTACHMENTS}",
            )  # message not confirmed
    return None


def detach_refusal(volume: Any, instance: Any, device: str, force: bool) -> Exception | None:
    """A root volume of a running instance stays where it is, Force or not [API-DetachVolume]."""
    if device == instance.root_device_name and instance._state.name in ("running", "pending", "stopping"):
        return ec2_error(
            "IncorrectState", f"Unable to detach root volume '{volume.id}' from instance '{instance.id}'"
        )
    return None
