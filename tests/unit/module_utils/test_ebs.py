"""The EBS attachment rules checked before anything is detached (plugins/module_utils/ebs.py):
each rule, what AWS would answer, and what the message tells the operator to do."""

from __future__ import annotations

from ansible_collections.clusterswap.swap.plugins.module_utils.ebs import (
    Incoming,
    InstanceType,
    Target,
    capacity_problems,
    check,
    device_problems,
    zone_problems,
)

M5 = InstanceType("m5.large", "nitro", 27, "shared")
M7I = InstanceType("m7i.large", "nitro", 32, "dedicated")
M4 = InstanceType("m4.large", "xen", 40, "shared")
TYPES = {t.name: t for t in (M5, M7I, M4)}


def target(itype: str = "m5.large", **kw) -> Target:  # type: ignore[no-untyped-def]
    base = {
        "instance_id": "i-new",
        "name": "new-storage-1",
        "zone": "us-east-1a",
        "instance_type": itype,
        "root_device": "/dev/sda1",
        "mappings": {"/dev/sda1": "vol-root"},
        "interfaces": 1,
    }
    return Target(**{**base, **kw})


def incoming(volume_id: str = "vol-a", device: str = "/dev/xvdf", zone: str = "us-east-1a") -> Incoming:
    return Incoming(volume_id, f"{volume_id} (home)", device, zone, "i-new", "old-storage-1 -> new-storage-1")


def test_a_volume_in_another_zone_is_refused_with_the_way_forward() -> None:
    """ "The volume and instance must be within the same Availability Zone" [API-AttachVolume]."""
    problems = zone_problems([incoming(zone="us-east-1b")], {"i-new": target()})
    assert problems == [
        "vol-a (home) /dev/xvdf: is in us-east-1b, new-storage-1 (i-new) in us-east-1a; AWS attaches a "
        "volume only to an instance in its own Availability Zone (InvalidVolume.ZoneMismatch), so after the "
        "detach it would be stranded, attached nowhere: start the new server in us-east-1b, or the day "
        "before snapshot the volume and create it from the snapshot in us-east-1a (then move that one)"
    ]
    assert zone_problems([incoming()], {"i-new": target()}) == []


def test_a_name_taken_by_the_root_volume_or_another_volume_is_refused() -> None:
    t = target(mappings={"/dev/sda1": "vol-root", "/dev/xvdg": "vol-other"})
    root = device_problems([incoming(device="/dev/sda1")], {"i-new": t}, TYPES)
    assert root == [
        "vol-a (home): new-storage-1 (i-new) already has its root volume vol-root at /dev/sda1: "
        "Attachment point /dev/sda1 is already in use (InvalidParameterValue); refusing to attach a second "
        "volume there: free that name on the new server, or move the volume to another one"
    ]
    other = device_problems([incoming(device="/dev/xvdg")], {"i-new": t}, TYPES)
    assert len(other) == 1 and "already has vol-other at /dev/xvdg" in other[0]
    assert device_problems([incoming(device="/dev/sdg")], {"i-new": t}, TYPES) == [], (
        "Nitro: /dev/sdg and /dev/xvdg are two names to AWS and to the OS (both become NVMe)"
    )


def test_on_xen_sd_and_xvd_of_one_letter_are_one_device() -> None:
    """ "if you specify a device name of /dev/sdh, your device could be renamed /dev/xvdh"
    [UG-DeviceNaming]."""
    t = target("m4.large", mappings={"/dev/sda1": "vol-root", "/dev/sdg": "vol-other"})
    problems = device_problems([incoming(device="/dev/xvdg")], {"i-new": t}, TYPES)
    assert len(problems) == 1
    assert "on Xen the kernel names /dev/sdg and /dev/xvdg both /dev/xvdg" in problems[0]


def test_an_invalid_device_name_is_refused() -> None:
    """UG-DeviceNaming: "HVM AMIs do not support the use of trailing numbers on device names, except for
    /dev/sda1"; /dev/bogus is no EBS device name at all (InvalidParameterValue)."""
    for device in ("/dev/bogus", "/dev/sdf1"):
        problems = device_problems([incoming(device=device)], {"i-new": target()}, TYPES)
        assert problems[0].startswith(f"vol-a (home): device name {device} is not valid on new-storage-1")
        assert "(/dev/sd[f-p] are the recommended ones)" in problems[0]
    pv = target("m4.large", virtualization="paravirtual")
    assert device_problems([incoming(device="/dev/sdf1")], {"i-new": pv}, TYPES) == []


def test_two_volumes_aimed_at_one_device_of_one_server_are_refused() -> None:
    a = incoming("vol-a", "/dev/xvdf")
    b = Incoming(
        "vol-b", "vol-b (pgdata)", "/dev/xvdf", "us-east-1a", "i-new", "old-postgres-1 -> new-storage-1"
    )
    problems = device_problems([a, b], {"i-new": target()}, TYPES)
    assert problems == [
        "vol-a (home) (old-storage-1 -> new-storage-1 /dev/xvdf) and vol-b (pgdata) (old-postgres-1 -> "
        "new-storage-1 /dev/xvdf) would all go to new-storage-1 (i-new) at /dev/xvdf: one volume per device "
        "name; move one to another server, or give the old volumes different device names"
    ]


def test_a_nitro_server_takes_28_attachments_volumes_and_interfaces_together() -> None:
    """UG-VolumeLimits: "a maximum of 28 attachments, including network interfaces, EBS volumes, and NVMe
    instance store volumes"; past it AttachmentLimitExceeded [API-AttachVolume]."""
    full = {f"/dev/xvd{c}": f"vol-{c}" for c in "bcdefghijklmnopqrstuvwxy"}  # 24 + root = 25 volumes
    t = target(mappings={"/dev/sda1": "vol-root", **full}, interfaces=2)  # 27 attachments
    one = [incoming("vol-new", "/dev/xvdz")]
    assert capacity_problems(one, {"i-new": t}, TYPES) == []  # 28
    two = [*one, incoming("vol-new2", "/dev/xvdba")]
    assert capacity_problems(two, {"i-new": t}, TYPES) == [
        "new-storage-1 (i-new) (m5.large, Nitro): 2 network interface(s) + 25 volume(s) attached now + 2 to "
        "attach = 29 attachments, more than the 28 a Nitro instance takes (volumes and network interfaces "
        "together; AWS answers AttachmentLimitExceeded after the detach): move fewer volumes to it, detach "
        "an interface or a volume it does not need, or use a type with a dedicated EBS limit"
    ]
    assert (
        capacity_problems(two, {"i-new": target("m4.large", mappings=t.mappings, interfaces=2)}, TYPES) == []
    ), "Xen: above 40 is best effort, not refused"


def test_a_dedicated_limit_counts_volumes_only() -> None:
    many = {f"/dev/xvd{c}": f"vol-{c}" for c in "bcdefghijklmnopqrstuvwxyz"}
    many.update({f"/dev/xvdb{c}": f"vol-b{c}" for c in "abcdef"})  # 31 + root = 32
    t = target("m7i.large", mappings={"/dev/sda1": "vol-root", **many}, interfaces=3)
    problems = capacity_problems([incoming("vol-new", "/dev/xvdbz")], {"i-new": t}, TYPES)
    assert problems == [
        "new-storage-1 (i-new) (m7i.large): 32 volume(s) attached now + 1 to attach = 33, more than the 32 "
        "EBS volumes its type takes (AttachmentLimitExceeded): move fewer volumes to it or use another type"
    ]


def test_check_reports_every_problem_at_once() -> None:
    bad = [incoming("vol-a", "/dev/bogus", "us-east-1b")]
    assert len(check(bad, {"i-new": target()}, TYPES)) == 2
