"""EBS volumes are loop devices: attach/detach in the simulated AWS adds/removes the block device in the
container under the name the instance's OS gives it (lab/hosts/volumes.py) - on Nitro (new-storage-1,
m5.large) /dev/nvme<N>n1 in no promised order with udev's by-id link, and no node at the AttachVolume name
[UG-NVMe]; on Xen (old-storage-1, m4.large) the requested name with sd renamed xvd [UG-DeviceNaming]. A
mounted volume's detach stays `detaching` until it is unmounted."""

from __future__ import annotations

import time
from typing import Any

from lab.hosts import volumes
from tests.lab.helpers import ec2, in_container, volume_state, wait_for

NITRO = "cs-new-storage-1"
XEN = "cs-old-storage-1"


def _present(container: str, path: str) -> bool:
    return in_container(container, f"test -b {path} && echo yes", check=False).strip() == "yes"


def _exists(container: str, path: str) -> bool:
    return in_container(container, f"test -e {path} && echo yes", check=False).strip() == "yes"


def _new_volume() -> str:
    return ec2().create_volume(AvailabilityZone="us-east-1a", Size=1, VolumeType="gp2")["VolumeId"]


def _by_id(volume_id: str) -> str:
    return "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + volume_id.replace("-", "")


def _data_volumes(lab: dict[str, Any], name: str) -> int:
    inst = ec2().describe_instances(InstanceIds=[lab["instances"][name]])["Reservations"][0]["Instances"][0]
    return len([m for m in inst["BlockDeviceMappings"] if m["DeviceName"] != inst["RootDeviceName"]])


def test_on_nitro_a_volume_is_an_nvme_device_found_by_its_volume_id(lab: dict[str, Any]) -> None:
    instance_id = lab["instances"]["new-storage-1"]
    order = _data_volumes(lab, "new-storage-1") + 1
    volume_id = _new_volume()
    ec2().attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdh")
    wait_for("volume attached", lambda: volume_state(volume_id) == ("in-use", "attached"))
    wait_for("its by-id link in the container", lambda: _present(NITRO, _by_id(volume_id)))
    node = in_container(NITRO, f"readlink -f {_by_id(volume_id)}").strip()
    number = volumes.nvme_number(node)
    assert number is not None and 1 <= number <= 26, node
    assert number != order, f"{node}: the attach order ({order}) is no name AWS promises"
    assert in_container(NITRO, f"readlink {_by_id(volume_id)}").strip() == f"../../nvme{number}n1"
    assert not _exists(NITRO, "/dev/sdh") and not _exists(NITRO, "/dev/xvdh"), (
        "no node at the AttachVolume name"
    )
    # a real block device under its NVMe name
    in_container(NITRO, f"mkfs.ext4 -q {_by_id(volume_id)} && blkid -o value -s TYPE {node}")
    ec2().detach_volume(VolumeId=volume_id)
    wait_for("volume available", lambda: volume_state(volume_id) == ("available", None))
    wait_for(f"{node} gone", lambda: not _exists(NITRO, node) and not _exists(NITRO, _by_id(volume_id)))

    # attached again it holds a filesystem: udev's by-uuid link, so `mount UUID=` works
    ec2().attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdh")
    wait_for("its by-id link again", lambda: _present(NITRO, _by_id(volume_id)))
    uuid = in_container(NITRO, f"blkid -p -o value -s UUID {_by_id(volume_id)}").strip()
    assert _present(NITRO, f"/dev/disk/by-uuid/{uuid}")
    in_container(NITRO, f"mkdir -p /mnt/lab-uuid && mount UUID={uuid} /mnt/lab-uuid && umount /mnt/lab-uuid")
    ec2().detach_volume(VolumeId=volume_id)
    wait_for("volume available", lambda: volume_state(volume_id) == ("available", None))
    # the node and its links leave the OS around the time the detach completes, not before DescribeVolumes
    # says available (as the by-id link above): wait for them as for the node
    wait_for("its by-uuid link gone", lambda: not _exists(NITRO, f"/dev/disk/by-uuid/{uuid}"))
    ec2().delete_volume(VolumeId=volume_id)


def test_on_xen_the_requested_name_is_renamed_sd_to_xvd(lab: dict[str, Any]) -> None:
    instance_id = lab["instances"]["old-storage-1"]
    volume_id = _new_volume()
    ec2().attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdh")
    wait_for("/dev/xvdh in the container", lambda: _present(XEN, "/dev/xvdh"))
    assert not _exists(XEN, "/dev/sdh") and not _exists(XEN, _by_id(volume_id)), "Xen: no NVMe, no by-id"
    ec2().detach_volume(VolumeId=volume_id)
    wait_for("/dev/xvdh gone", lambda: not _exists(XEN, "/dev/xvdh"))
    ec2().delete_volume(VolumeId=volume_id)


def test_a_restarted_instance_shows_its_volumes_under_the_same_names(lab: dict[str, Any]) -> None:
    instance_id = lab["instances"]["new-storage-1"]
    volume_id = _new_volume()
    ec2().attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdi")
    wait_for("its by-id link", lambda: _present(NITRO, _by_id(volume_id)))
    node = in_container(NITRO, f"readlink -f {_by_id(volume_id)}").strip()
    ec2().stop_instances(InstanceIds=[instance_id])
    wait_for("stopped", lambda: _state(instance_id) == "stopped", timeout=120)
    ec2().start_instances(InstanceIds=[instance_id])
    wait_for("running", lambda: _state(instance_id) == "running", timeout=120)
    wait_for("its by-id link after the restart", lambda: _present(NITRO, _by_id(volume_id)), timeout=60)
    assert in_container(NITRO, f"readlink -f {_by_id(volume_id)}").strip() == node
    ec2().detach_volume(VolumeId=volume_id)
    wait_for("volume available", lambda: volume_state(volume_id) == ("available", None))
    ec2().delete_volume(VolumeId=volume_id)


def _state(instance_id: str) -> str:
    inst = ec2().describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return str(inst["State"]["Name"])


def test_detach_of_a_mounted_volume_stays_detaching_until_unmounted(lab: dict[str, Any]) -> None:
    instance_id = lab["instances"]["new-storage-1"]
    volume_id, mnt = _new_volume(), "/mnt/lab-test"
    ec2().attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/xvdi")
    device = _by_id(volume_id)
    wait_for(f"{device} in the container", lambda: _present(NITRO, device))
    in_container(
        NITRO, f"mkfs.ext4 -q {device} && mkdir -p {mnt} && mount {device} {mnt} && echo x > {mnt}/f"
    )
    ec2().detach_volume(VolumeId=volume_id)
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert volume_state(volume_id) == ("in-use", "detaching")
        assert _present(NITRO, device)
        time.sleep(0.25)
    in_container(NITRO, f"umount {mnt}")
    wait_for("volume available once unmounted", lambda: volume_state(volume_id) == ("available", None))
    wait_for(f"{device} gone from the container", lambda: not _exists(NITRO, device))
    ec2().delete_volume(VolumeId=volume_id)
