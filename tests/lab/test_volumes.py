"""EBS volumes are loop devices: attach/detach in the simulated AWS adds/removes the block device in the
container; a mounted volume's detach stays `detaching` until it is unmounted."""

from __future__ import annotations

import time
from typing import Any

from tests.lab.helpers import ec2, in_container, volume_state, wait_for

CONTAINER = "cs-new-storage-1"


def _device_present(device: str) -> bool:
    return in_container(CONTAINER, f"test -b {device} && echo yes", check=False).strip() == "yes"


def _new_volume() -> str:
    return ec2().create_volume(AvailabilityZone="us-east-1a", Size=1, VolumeType="gp2")["VolumeId"]


def test_attach_and_detach_add_and_remove_the_block_device(lab: dict[str, Any]) -> None:
    instance_id = lab["instances"]["new-storage-1"]
    volume_id, device = _new_volume(), "/dev/xvdh"
    assert not _device_present(device)
    ec2().attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device=device)
    wait_for("volume attached", lambda: volume_state(volume_id) == ("in-use", "attached"))
    wait_for(f"{device} in the container", lambda: _device_present(device))
    # it is a real block device: a filesystem can be made on it
    in_container(CONTAINER, f"mkfs.ext4 -q {device} && blkid -o value -s TYPE {device}")
    ec2().detach_volume(VolumeId=volume_id)
    wait_for("volume available", lambda: volume_state(volume_id) == ("available", None))
    wait_for(f"{device} gone from the container", lambda: not _device_present(device))
    ec2().delete_volume(VolumeId=volume_id)


def test_detach_of_a_mounted_volume_stays_detaching_until_unmounted(lab: dict[str, Any]) -> None:
    instance_id = lab["instances"]["new-storage-1"]
    volume_id, device, mnt = _new_volume(), "/dev/xvdi", "/mnt/lab-test"
    ec2().attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device=device)
    wait_for(f"{device} in the container", lambda: _device_present(device))
    in_container(
        CONTAINER, f"mkfs.ext4 -q {device} && mkdir -p {mnt} && mount {device} {mnt} && echo x > {mnt}/f"
    )
    ec2().detach_volume(VolumeId=volume_id)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert volume_state(volume_id) == ("in-use", "detaching")
        assert _device_present(device)
        time.sleep(0.25)
    in_container(CONTAINER, f"umount {mnt}")
    wait_for("volume available once unmounted", lambda: volume_state(volume_id) == ("available", None))
    wait_for(f"{device} gone from the container", lambda: not _device_present(device))
    ec2().delete_volume(VolumeId=volume_id)
