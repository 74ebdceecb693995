"""The simulator keeps AWS's EBS rules (lab/awssim/storage.py): zones, device names, attachment limits, root
volumes. Each test quotes the AWS behaviour it follows (sources: aws-rules.md §1d, §7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lab.awssim import mock_lab
from lab.awssim.state import STATE

RUN = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1}


def ec2() -> Any:
    return boto3.client("ec2", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_lab(platforms=("VPC",)):
        yield ec2()


def instance(client: Any, itype: str = "m5.large", zone: str = "us-east-1a") -> str:
    inst = client.run_instances(InstanceType=itype, Placement={"AvailabilityZone": zone}, **RUN)
    return str(inst["Instances"][0]["InstanceId"])


def volume(client: Any, zone: str = "us-east-1a") -> str:
    return str(client.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"])


def refused(client: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        client.attach_volume(**kwargs)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_a_volume_attaches_only_in_its_own_zone(client: Any) -> None:
    """ "The volume and instance must be within the same Availability Zone" [API-AttachVolume]:
    InvalidVolume.ZoneMismatch "The volume 'vol-…' is not in the same availability zone as instance 'i-…'"
    (linuxkit/linuxkit#2388)."""
    inst, vol = instance(client, zone="us-east-1a"), volume(client, zone="us-east-1b")
    assert refused(client, VolumeId=vol, InstanceId=inst, Device="/dev/sdf") == (
        "InvalidVolume.ZoneMismatch",
        f"The volume '{vol}' is not in the same availability zone as instance '{inst}'",
    )
    assert client.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"] == "available"


@pytest.mark.parametrize("device", ["/dev/bogus", "/dev/sda", "/dev/sdi16", "xvdf"])
def test_an_invalid_device_name_is_refused(client: Any, device: str) -> None:
    """UG-DeviceNaming lists the names available for EBS volumes on Linux; anything else is
    InvalidParameterValue "Value (/dev/sdi1) for parameter device is invalid. /dev/sdi1 is not a valid EBS
    device name." (sous-chefs/aws#134)."""
    code, message = refused(client, VolumeId=volume(client), InstanceId=instance(client), Device=device)
    assert code == "InvalidParameterValue"
    assert (
        message
        == f"Value ({device}) for parameter device is invalid. {device} is not a valid EBS device name."
    )


def test_a_device_name_in_use_on_the_instance_is_refused(client: Any) -> None:
    """A second volume at a device name in use: InvalidParameterValue "Invalid value '/dev/sdf' for
    unixDevice. Attachment point /dev/sdf is already in use" (nanovms/ops#1189); /dev/xvdf is another name
    to AWS (joeduffy/blocker#1)."""
    inst = instance(client)
    client.attach_volume(VolumeId=volume(client), InstanceId=inst, Device="/dev/sdf")
    assert refused(client, VolumeId=volume(client), InstanceId=inst, Device="/dev/sdf") == (
        "InvalidParameterValue",
        "Invalid value '/dev/sdf' for unixDevice. Attachment point /dev/sdf is already in use",
    )
    client.attach_volume(VolumeId=volume(client), InstanceId=inst, Device="/dev/xvdf")


def test_a_nitro_instance_takes_28_attachments_volumes_and_interfaces_together(client: Any) -> None:
    """UG-VolumeLimits: Nitro instances support "a maximum of 28 attachments, including network interfaces,
    EBS volumes, and NVMe instance store volumes" (DescribeInstanceTypes: AttachmentLimitType shared).
    m5.large: root + 1 interface + 26 data volumes = 28; the next is AttachmentLimitExceeded. A Xen
    instance (m4.large) takes more (above 40 is "best effort", not refused)."""
    # 54 volumes made in a row, one attempt each: AWS's request buckets are not what this tests
    with STATE.unthrottled():
        inst = instance(client)
        names = [f"/dev/sd{c}" for c in "bcdefghijklmnopqrstuvwxyz"] + ["/dev/xvdba"]
        for name in names:
            client.attach_volume(VolumeId=volume(client), InstanceId=inst, Device=name)
        code, _ = refused(client, VolumeId=volume(client), InstanceId=inst, Device="/dev/xvdbb")
        assert code == "AttachmentLimitExceeded"
        xen = instance(client, itype="m4.large")
        for name in [*names, "/dev/xvdbb"]:
            client.attach_volume(VolumeId=volume(client), InstanceId=xen, Device=name)


def test_the_root_volume_of_a_running_instance_stays(client: Any) -> None:
    """A root volume can't be detached while its instance runs [API-DetachVolume] (code and text not
    confirmed: the lab answers IncorrectState), Force or not."""
    inst = instance(client)
    root = client.describe_instances(InstanceIds=[inst])["Reservations"][0]["Instances"][0]
    vol = root["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    for force in (False, True):
        with pytest.raises(ClientError) as err:
            client.detach_volume(VolumeId=vol, InstanceId=inst, Force=force)
        assert err.value.response["Error"]["Code"] == "IncorrectState"
