"""Block devices of the storage move (plugins/filter/storage_devices.py): what holds a device on the old
server, and how each volume becomes a checked, mounted filesystem on the new one."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.clusterswap.swap.plugins.filter import storage_devices as m


def found(**kw: Any) -> dict[str, Any]:
    return (
        {
            "volume_id": "vol-1",
            "name": "home-1",
            "device": "/dev/xvdf",
            "present": True,
            "path": "/dev/nvme3n1",
        }
        | {
            "fstype": "ext4",
            "uuid": "u-1",
            "mounts": [],
            "holders": [],
        }
        | kw
    )


def test_volume_ids_by_device_from_ec2_instance_info() -> None:
    instances = [
        {"block_device_mappings": [
            {"device_name": "/dev/xvda", "ebs": {"volume_id": "vol-root"}},
            {"device_name": "/dev/xvdf", "ebs": {"volume_id": "vol-1"}},
            {"device_name": "/dev/sdb"},
        ]}
    ]  # fmt: skip
    assert m.volume_ids_by_device(instances) == {"/dev/xvda": "vol-root", "/dev/xvdf": "vol-1"}


def test_only_devices_with_a_volume_attached_are_looked_for() -> None:
    mounts = {"/dev/xvdf": "/srv/home", "/dev/xvdg": "/srv/home2"}
    assert m.attached_volumes(mounts, {"/dev/xvdf": "vol-1"}) == [
        {"volume_id": "vol-1", "device": "/dev/xvdf"}
    ]


def test_mount_states_say_what_each_device_holds_and_whether_it_is_mounted_where_it_belongs() -> None:
    mounts = {"/dev/xvdf": "/srv/home", "/dev/xvdg": "/srv/home2"}
    by_device = {"/dev/xvdf": found(mounts=[{"target": "/srv/home"}])}
    states = m.mount_states(mounts, by_device, {"/dev/xvdf": "vol-1", "/dev/xvdg": "vol-2"})
    assert states == {
        "/dev/xvdf": {"present": True, "path": "/dev/nvme3n1", "volume_id": "vol-1", "fstype": "ext4"}
        | {"uuid": "u-1", "mounted": True},
        "/dev/xvdg": {"present": False, "path": None, "volume_id": "vol-2", "fstype": None, "uuid": None}
        | {"mounted": False},
    }


def test_mounted_elsewhere_is_not_mounted() -> None:
    states = m.mount_states({"/dev/xvdf": "/srv/home"}, {"/dev/xvdf": found(mounts=[{"target": "/mnt"}])}, {})
    assert states["/dev/xvdf"]["mounted"] is False


def test_a_device_without_a_filesystem_is_named() -> None:
    states = m.mount_states({"/dev/xvdf": "/srv/home"}, {"/dev/xvdf": found(fstype=None, uuid=None)}, {})
    assert m.blank_volumes(states) == ["vol-1 (/dev/xvdf, /dev/nvme3n1) holds no filesystem blkid recognises"]
    absent = m.mount_states({"/dev/xvdf": "/srv/home"}, {}, {"/dev/xvdf": "vol-1"})
    assert m.blank_volumes(absent) == []


@pytest.mark.parametrize(
    ("fstype", "argv"),
    [
        ("ext4", ["e2fsck", "-n", "-f", "/dev/nvme3n1"]),
        ("ext3", ["e2fsck", "-n", "-f", "/dev/nvme3n1"]),
        ("xfs", ["xfs_repair", "-n", "/dev/nvme3n1"]),
        ("btrfs", ["fsck", "-n", "/dev/nvme3n1"]),
    ],
)
def test_the_read_only_check_of_each_filesystem(fstype: str, argv: list[str]) -> None:
    assert m.fsck_argv({"path": "/dev/nvme3n1", "fstype": fstype}) == argv


def test_a_check_of_no_device_fails() -> None:
    with pytest.raises(AnsibleFilterError, match="no device path"):
        m.fsck_argv({"path": None, "fstype": "ext4"})


def test_a_failed_check_is_refused_naming_volume_device_server_and_output() -> None:
    states = {"/dev/xvdg": {"volume_id": "vol-2", "path": "/dev/nvme5n1"}}
    results = [
        {"item": {"device": "/dev/xvdf", "path": "/srv/home"}, "rc": 0},
        {"item": {"device": "/dev/xvdh", "path": "/srv/x"}, "skipped": True},
        {
            "item": {"device": "/dev/xvdg", "path": "/srv/bad"},
            "rc": 4,
            "cmd": ["e2fsck", "-n", "-f", "/dev/nvme5n1"],
        }
        | {"stdout_lines": ["Pass 1", "", "Free blocks count wrong"], "stderr_lines": ["e2fsck: aborted"]},
    ]
    assert m.fsck_refusals(results, states, "new-1") == [
        "REFUSING to mount vol-2 (/dev/xvdg, /dev/nvme5n1) on new-1 at /srv/bad: the read-only check"
        " (e2fsck -n -f /dev/nvme5n1) failed with exit code 4:"
        " Pass 1 / Free blocks count wrong / e2fsck: aborted."
    ]


def test_the_mounted_volumes_are_what_the_manifest_is_taken_of() -> None:
    devices = [
        found(mounts=[{"target": "/srv/home", "source": "/dev/nvme3n1"}]),
        found(volume_id="vol-2", mounts=[]),
    ]
    assert m.mounted_volumes(devices, "old-1", "new-1") == [
        {"volume_id": "vol-1", "name": "home-1", "old": "old-1", "new": "new-1", "device": "/dev/xvdf"}
        | {"path": "/dev/nvme3n1", "mountpoint": "/srv/home"}
    ]


def test_a_filesystem_on_a_holder_of_the_device_is_unmounted_too_deepest_first() -> None:
    # /dev/md0 holds both volumes (RAID 1): its mounts show under each; each is unmounted once, deepest first
    md = [{"target": "/srv/raid", "source": "/dev/md0"}, {"target": "/srv/raid/sub", "source": "/dev/md0"}]
    devices = [
        found(holders=["md0"], mounts=md),
        found(volume_id="vol-2", device="/dev/xvdg", holders=["md0"], mounts=md),
        found(volume_id="vol-3", device="/dev/xvdh", mounts=[{"target": "/srv/a", "source": "/dev/xvdh"}]),
    ]
    assert [mount["target"] for mount in m.unmount_order(devices)] == ["/srv/raid/sub", "/srv/raid", "/srv/a"]


def test_nothing_mounted_nothing_to_unmount() -> None:
    assert m.unmount_order([found(), found(mounts=None)]) == []
