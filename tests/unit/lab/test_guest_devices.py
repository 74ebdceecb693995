"""The names the lab's container hosts give attached volumes, as the instance's OS would
(lab/hosts/volumes.py), and the hypervisor the simulator passes its host hooks. Sources: UG-NVMe,
UG-DeviceNaming (aws-rules.md §7)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from lab.awssim import NullHooks, mock_lab
from lab.hosts import volumes

RUN = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1}


def test_xen_renames_sd_to_xvd_and_keeps_xvd() -> None:
    """ "if you specify a device name of /dev/sdh, your device could be renamed /dev/xvdh"
    [UG-DeviceNaming]."""
    assert volumes.xen_name("/dev/sdh") == "/dev/xvdh"
    assert volumes.xen_name("/dev/sdf1") == "/dev/xvdf1"
    assert volumes.xen_name("/dev/xvdf") == "/dev/xvdf"
    assert volumes.guest_device("vol-1", "/dev/sdg", "xen") == "/dev/xvdg"


def test_nitro_names_are_nvme_namespaces_never_the_attach_name_nor_the_attach_order() -> None:
    """ "The device names that you specify … are renamed using NVMe device names (/dev/nvme[0-26]n1). The
    block device driver can assign NVMe device names in a different order than you specified" [UG-NVMe]."""
    taken: set[int] = set()
    names = []
    for order in range(1, 27):
        vol = f"vol-{order:017x}"
        node = volumes.guest_device(vol, "/dev/sdf", "nitro", taken, attach_order=order)
        number = volumes.nvme_number(node)
        assert node == f"/dev/nvme{number}n1" and number is not None and 1 <= number <= 26, node
        assert number != order or len(taken) == 25, f"{vol} got its attach order {order}"
        taken.add(number)
        names.append(node)
    assert len(set(names)) == 26, "every volume its own namespace"
    with pytest.raises(RuntimeError, match="no free NVMe name"):
        volumes.guest_device("vol-0fffffffffffffff0", "/dev/sdz", "nitro", taken, attach_order=27)


def test_nvme_numbers_are_deterministic_per_volume() -> None:
    a = volumes.guest_device("vol-0123456789abcdef0", "/dev/sdf", "nitro", set(), attach_order=1)
    assert a == volumes.guest_device("vol-0123456789abcdef0", "/dev/sdg", "nitro", set(), attach_order=1)


def test_udev_links_by_id_for_nvme_and_by_uuid_for_a_filesystem() -> None:
    """ "NVMe EBS volumes have the EBS volume ID set as the serial number" [UG-NVMe]: udev's by-id link is
    nvme-Amazon_Elastic_Block_Store_vol<id without the dash>, relative to the node as udev writes it."""
    links = volumes.links_for("vol-0abc", "/dev/nvme3n1", "nitro", "1234-uuid")
    assert links == ["/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc", "/dev/disk/by-uuid/1234-uuid"]
    assert volumes._relative(links[0], "/dev/nvme3n1") == "../../nvme3n1"
    assert volumes.links_for("vol-0abc", "/dev/xvdf", "xen", None) == []


def test_attachments_keep_their_guest_names_and_avoid_each_other(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(volumes, "STATE_DIR", tmp_path)
    monkeypatch.setattr(volumes, "ATTACHMENTS", tmp_path / "attachments.json")
    first = volumes.record_attachment("vol-a", "i-1", "cs-new", "/dev/xvdf", "nitro")
    second = volumes.record_attachment("vol-b", "i-1", "cs-new", "/dev/xvdg", "nitro")
    assert first.node != second.node and first.node.startswith("/dev/nvme")
    assert volumes.record_attachment("vol-a", "i-1", "cs-new", "/dev/xvdf", "nitro").node == first.node, (
        "a restart keeps the name"
    )
    xen = volumes.record_attachment("vol-c", "i-2", "cs-old", "/dev/sdf", "xen")
    assert xen.node == "/dev/xvdf"
    assert volumes.guest_node("vol-b") == second.node
    assert volumes.forget_attachment("vol-b") is not None and volumes.guest_node("vol-b") is None


class Recorder(NullHooks):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def volume_attached(
        self, volume_id: str, instance_id: str, tags: Any, device: str, hypervisor: str = "?"
    ):
        self.seen.append(("attached", device, hypervisor))

    def volume_detached(
        self, volume_id: str, instance_id: str, tags: Any, device: str, hypervisor: str = "?"
    ):
        self.seen.append(("detached", device, hypervisor))


def test_the_simulator_tells_the_hosts_the_instance_types_hypervisor() -> None:
    """DescribeInstanceTypes `Hypervisor`: m5 nitro, m4 xen (moto's copy of AWS's data)."""
    hooks = Recorder()
    with mock_lab(platforms=("VPC",), hooks=hooks) as lab:
        ec2 = boto3.client("ec2", region_name="us-east-1")
        for itype in ("m5.large", "m4.large"):
            iid = ec2.run_instances(InstanceType=itype, Placement={"AvailabilityZone": "us-east-1a"}, **RUN)[
                "Instances"
            ][0]["InstanceId"]
            vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
            ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/sdf")
            lab.tick()
            ec2.detach_volume(VolumeId=vol)
            lab.tick()
        deadline = time.monotonic() + 5
        while len(hooks.seen) < 4 and time.monotonic() < deadline:
            lab.tick()
    assert hooks.seen == [
        ("attached", "/dev/sdf", "nitro"),
        ("detached", "/dev/sdf", "nitro"),
        ("attached", "/dev/sdf", "xen"),
        ("detached", "/dev/sdf", "xen"),
    ]
