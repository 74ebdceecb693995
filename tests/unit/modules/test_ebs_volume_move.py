"""Unit tests of plugins/modules/ebs_volume_move.py, in-process against the lab's simulated AWS."""

from __future__ import annotations

from typing import Any

import pytest

MODULE = "ebs_volume_move"
STORAGE = {"old": "old-storage-1", "new": "new-storage-1", "devices": ["/dev/xvdf", "/dev/xvdg"]}
ALL = [
    STORAGE,
    {"old": "old-storage-2", "new": "new-storage-2"},
    {"old": "old-logstorage-1", "new": "new-logstorage-1", "names": ["logs-1"]},
    {"old": "old-postgres-1", "new": "new-postgres-1", "devices": ["/dev/xvdp"]},
]


def where(lab: Any, name: str) -> tuple[str | None, str | None, str]:
    """(instance Name the volume is attached to, device, volume state)."""
    vol = lab.ec2.describe_volumes(VolumeIds=[lab.world["volumes"][name]])["Volumes"][0]
    att = next(iter(vol.get("Attachments") or []), None)
    if not att:
        return None, None, vol["State"]
    names = {v: k for k, v in lab.world["instances"].items()}
    return names[att["InstanceId"]], att["Device"], vol["State"]


@pytest.fixture
def lab(make_lab: Any) -> Any:
    return make_lab("default")


def test_four_runs_move_every_volume_at_its_device(lab, run_module, api_calls, no_sleep) -> None:
    check = run_module(MODULE, {"moves": ALL}, check_mode=True, diff=True)
    assert check.changed and not check.failed, check.msg
    assert {v["action"] for v in check["volumes"]} == {"would_move"}
    assert len(check["volumes"]) == 5
    assert where(lab, "home-1") == ("old-storage-1", "/dev/xvdf", "in-use"), "check mode changed nothing"

    api_calls.reset()
    real = run_module(MODULE, {"moves": ALL, "poll_interval": 0}, diff=True)
    assert real.changed and not real.failed, real.msg
    assert {v["action"] for v in real["volumes"]} == {"moved"}
    assert where(lab, "home-1") == ("new-storage-1", "/dev/xvdf", "in-use")
    assert where(lab, "home-2") == ("new-storage-1", "/dev/xvdg", "in-use")
    assert where(lab, "home-3") == ("new-storage-2", "/dev/xvdf", "in-use")
    assert where(lab, "logs-1") == ("new-logstorage-1", "/dev/xvdf", "in-use")
    assert where(lab, "pgdata-1") == ("new-postgres-1", "/dev/xvdp", "in-use")
    assert api_calls.calls["DescribeInstances"] == 1
    assert api_calls.calls["DetachVolume"] == 1 + 5  # DryRun, then one per volume
    assert api_calls.calls["AttachVolume"] == 5
    assert len(real["diff"]["after"]) == 5

    again_check = run_module(MODULE, {"moves": ALL}, check_mode=True)
    assert not again_check.changed and {v["action"] for v in again_check["volumes"]} == {"none"}
    assert len(again_check["volumes"]) == 5, "a rerun still reports every volume (selected by move-from)"
    again = run_module(MODULE, {"moves": ALL}, diff=True)
    assert not again.changed and not again.failed
    assert again["diff"] == {"before": {}, "after": {}}


def test_a_mounted_volume_stays_detaching_and_is_not_attached(lab, run_module, no_sleep) -> None:
    from lab.awssim.state import STATE

    STATE.mounted.add(lab.world["volumes"]["home-2"])
    result = run_module(MODULE, {"moves": [STORAGE], "detach_timeout": 0, "poll_interval": 0})
    assert result.failed and result.changed
    assert "still detaching" in result.msg and "home-2" in result.msg and "NOT attached" in result.msg
    assert where(lab, "home-1") == ("new-storage-1", "/dev/xvdf", "in-use"), "the free one moved"
    assert where(lab, "home-2")[0] == "old-storage-1", "the mounted one stays where it is"

    STATE.mounted.clear()  # unmounted: the rerun finishes the move
    rerun = run_module(MODULE, {"moves": [STORAGE], "poll_interval": 0})
    assert rerun.changed and not rerun.failed, rerun.msg
    actions = {v["name"]: v["action"] for v in rerun["volumes"]}
    assert actions["home-1"] == "none"
    assert actions["home-2"] in ("moved", "attached")  # the pending detach may finish before the rerun
    assert where(lab, "home-2") == ("new-storage-1", "/dev/xvdg", "in-use")


def test_force_detach_only_when_asked(lab, run_module, no_sleep) -> None:
    from lab.awssim.state import STATE

    STATE.mounted.add(lab.world["volumes"]["home-1"])
    result = run_module(MODULE, {"moves": [STORAGE], "force_detach": True, "poll_interval": 0})
    assert result.changed and not result.failed, result.msg
    assert where(lab, "home-1") == ("new-storage-1", "/dev/xvdf", "in-use")


def test_rerun_attaches_a_volume_left_available_halfway(lab, run_module, no_sleep) -> None:
    # a first run that died after DetachVolume: tagged, detached, not attached
    vol = lab.world["volumes"]["home-1"]
    lab.ec2.create_tags(
        Resources=[vol],
        Tags=[
            {"Key": "clusterswap:move-from", "Value": lab.instance("old-storage-1")},
            {"Key": "clusterswap:move-to", "Value": lab.instance("new-storage-1")},
            {"Key": "clusterswap:move-device", "Value": "/dev/xvdf"},
        ],
    )
    lab.ec2.detach_volume(VolumeId=vol)
    lab.lab.tick()
    assert where(lab, "home-1") == (None, None, "available")
    check = run_module(MODULE, {"moves": [STORAGE]}, check_mode=True)
    assert {v["name"]: v["action"] for v in check["volumes"]} == {
        "home-1": "would_attach",
        "home-2": "would_move",
    }
    real = run_module(MODULE, {"moves": [STORAGE], "poll_interval": 0})
    assert real.changed and not real.failed, real.msg
    assert where(lab, "home-1") == ("new-storage-1", "/dev/xvdf", "in-use")
    tags = {t["Key"] for t in lab.ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["Tags"]}
    assert "clusterswap:move-to" not in tags and "clusterswap:move-from" in tags


def move_tags(lab: Any, name: str) -> set[str]:
    vol = lab.ec2.describe_volumes(VolumeIds=[lab.world["volumes"][name]])["Volumes"][0]
    return {t["Key"] for t in vol.get("Tags", []) if t["Key"].startswith("clusterswap:move-")}


OLD_PLACES = {
    "home-1": ("old-storage-1", "/dev/xvdf", "in-use"),
    "home-2": ("old-storage-1", "/dev/xvdg", "in-use"),
    "home-3": ("old-storage-2", "/dev/xvdf", "in-use"),
    "logs-1": ("old-logstorage-1", "/dev/xvdf", "in-use"),
    "pgdata-1": ("old-postgres-1", "/dev/xvdp", "in-use"),
}


def test_a_refused_attach_puts_every_volume_not_attached_back_on_its_old_server(lab, run_module, no_sleep):
    """AWS refuses the second attach after every detach: that volume and the three not reached go back to
    their old servers at their devices (none on no server), their move tags removed; the failure names each;
    the rerun moves them."""
    assert {name: where(lab, name) for name in OLD_PLACES} == OLD_PLACES
    lab.fault("AttachVolume", 2, "IncorrectState", message="vol is not in a state to attach")
    first = run_module(MODULE, {"moves": ALL, "poll_interval": 0})
    assert first.failed and first.changed
    assert "IncorrectState" in first.msg and "the move stopped there" in first.msg, first.msg
    assert "put back on their old servers at their devices, so none is on no server" in first.msg, first.msg
    assert "LEFT DETACHED" not in first.msg and "rerun" in first.msg
    actions = {v["name"]: v["action"] for v in first["volumes"]}
    moved = [name for name, action in actions.items() if action == "moved"]
    back = sorted(name for name, action in actions.items() if action == "put_back")
    assert len(moved) == 1 and len(back) == 4, actions
    for name in back:
        assert where(lab, name) == OLD_PLACES[name], name
        assert move_tags(lab, name) == set(), f"{name}: back where it was, as before the move"
        assert name in first.msg or lab.world["volumes"][name] in first.msg
    assert where(lab, moved[0])[0].startswith("new-"), "the one attached stays on its new server"

    rerun = run_module(MODULE, {"moves": ALL, "poll_interval": 0})
    assert rerun.changed and not rerun.failed, rerun.msg
    assert {v["name"]: v["action"] for v in rerun["volumes"]} == {
        n: "none" if n in moved else "moved" for n in actions
    }
    assert all(where(lab, name)[0] == old.replace("old-", "new-") for name, (old, _, _) in OLD_PLACES.items())


def test_an_attach_back_refused_too_is_named_left_detached_and_the_rerun_attaches_it(
    lab, run_module, no_sleep
):
    lab.fault("AttachVolume", 2, "IncorrectState", times=2)  # the second attach, and the first attach back
    first = run_module(MODULE, {"moves": ALL, "poll_interval": 0})
    assert first.failed and first.changed
    assert "LEFT DETACHED (the attach back was refused too" in first.msg, first.msg
    detached = [name for name in OLD_PLACES if where(lab, name)[0] is None]
    assert len(detached) == 1 and where(lab, detached[0])[2] == "available", detached
    assert lab.world["volumes"][detached[0]] in first.msg.split("LEFT DETACHED", 1)[1]
    assert "clusterswap:move-to" in move_tags(lab, detached[0]), "still tagged: the rerun finds it"
    put_back = [v["name"] for v in first["volumes"] if v["action"] == "put_back"]
    assert len(put_back) == 3 and all(where(lab, name) == OLD_PLACES[name] for name in put_back)

    rerun = run_module(MODULE, {"moves": ALL, "poll_interval": 0})
    assert rerun.changed and not rerun.failed, rerun.msg
    assert all(where(lab, name)[0] == old.replace("old-", "new-") for name, (old, _, _) in OLD_PLACES.items())


def test_refuses_a_volume_attached_elsewhere_and_a_taken_device(lab, run_module, no_sleep) -> None:
    elsewhere = run_module(
        MODULE, {"moves": [{"old": "old-storage-2", "new": "new-storage-2", "names": ["home-1"]}]}
    )
    assert elsewhere.failed and not elsewhere.changed
    assert (
        "neither old-storage-2 nor new-storage-2" in elsewhere.msg and "Nothing was changed" in elsewhere.msg
    )

    blank = lab.ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    lab.ec2.attach_volume(VolumeId=blank, InstanceId=lab.instance("new-storage-1"), Device="/dev/xvdg")
    lab.lab.tick()
    taken = run_module(MODULE, {"moves": [STORAGE]})
    assert taken.failed and not taken.changed
    assert f"already has {blank} at /dev/xvdg" in taken.msg
    assert where(lab, "home-1") == ("old-storage-1", "/dev/xvdf", "in-use"), "nothing moved"


def test_bad_input_names_every_problem(lab, run_module) -> None:
    result = run_module(
        MODULE,
        {
            "moves": [
                {"old": "old-storage-9", "new": "new-storage-1"},
                {"old": "old-storage-1", "new": "new-storage-1", "devices": ["/dev/xvdz"]},
            ]
        },
    )
    assert result.failed and not result.changed
    assert "old-storage-9: no instance" in result.msg
    assert "no volume at /dev/xvdz" in result.msg


def test_waits_while_slow_and_reports_progress(make_lab, run_module) -> None:
    lab = make_lab("default", latency_scale=0.02)  # detach 0.7 s, attach 0.2 s
    result = run_module(MODULE, {"moves": [STORAGE], "poll_interval": 0.1})
    assert result.changed and not result.failed, result.msg
    assert any(line.startswith("detached: 2/2 done") for line in result["progress"])
    assert any(line.startswith("attached: 2/2 done") for line in result["progress"])
    assert where(lab, "home-2") == ("new-storage-1", "/dev/xvdg", "in-use")


# --------------------------------------------------------------------------- checked before any detach


def launch(lab: Any, name: str, itype: str = "m5.large", zone: str = "us-east-1a") -> str:
    """A new server named `name` (in the lab's VPC; the subnet decides the zone)."""
    subnets = lab.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [lab.world["vpc_id"]]}])[
        "Subnets"
    ]
    subnet = next(s["SubnetId"] for s in subnets if s["AvailabilityZone"] == zone)
    inst = lab.ec2.run_instances(
        ImageId="ami-12c6146b",
        InstanceType=itype,
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
    )["Instances"][0]["InstanceId"]
    lab.world["instances"][name] = inst
    return str(inst)


def assert_nothing_moved(lab: Any) -> None:
    assert where(lab, "home-1") == ("old-storage-1", "/dev/xvdf", "in-use")
    assert where(lab, "home-2") == ("old-storage-1", "/dev/xvdg", "in-use")


def test_a_volume_in_another_zone_stops_the_move_before_any_detach(lab, run_module, api_calls) -> None:
    new = launch(lab, "new-storage-b", zone="us-east-1b")
    moves = [{"old": "old-storage-1", "new": "new-storage-b", "devices": ["/dev/xvdf"]}]
    pre = run_module(MODULE, {"moves": moves, "preflight": True})
    assert not pre.failed and not pre.changed, pre.msg
    vol = lab.world["volumes"]["home-1"]
    assert pre["problems"] == [
        f"{vol} (home-1) /dev/xvdf: is in us-east-1a, new-storage-b ({new}) in us-east-1b; AWS attaches a "
        "volume only to an instance in its own Availability Zone (InvalidVolume.ZoneMismatch), so after the "
        "detach it would be stranded, attached nowhere: start the new server in us-east-1a, or the day "
        "before snapshot the volume and create it from the snapshot in us-east-1b (then move that one)"
    ]
    api_calls.reset()
    real = run_module(MODULE, {"moves": moves, "poll_interval": 0})
    assert real.failed and not real.changed and real.msg.startswith("Nothing was changed.")
    assert "InvalidVolume.ZoneMismatch" in real.msg
    assert api_calls.calls["DetachVolume"] == 0 and api_calls.calls["CreateTags"] == 0
    assert_nothing_moved(lab)


def test_a_full_new_server_stops_the_move_before_any_detach(lab, run_module, api_calls) -> None:
    """new-storage-1 (m5.large, Nitro): 1 interface + 26 volumes (root included) = 27 attachments; 2 more
    are 29, past the 28 a Nitro instance takes [UG-VolumeLimits]."""
    new = lab.instance("new-storage-1")
    for c in "hijklmnopqrstuvwxyz":
        blank = lab.ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        lab.ec2.attach_volume(VolumeId=blank, InstanceId=new, Device=f"/dev/xvd{c}")
    for c in "abcdef":
        blank = lab.ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        lab.ec2.attach_volume(VolumeId=blank, InstanceId=new, Device=f"/dev/xvdb{c}")
    lab.lab.tick()
    api_calls.reset()
    result = run_module(MODULE, {"moves": [STORAGE], "poll_interval": 0})
    assert result.failed and not result.changed
    assert (
        f"new-storage-1 ({new}) (m5.large, Nitro): 1 network interface(s) + 26 volume(s) attached now + 2 to "
        "attach = 29 attachments, more than the 28 a Nitro instance takes" in result.msg
    ), result.msg
    assert api_calls.calls["DetachVolume"] == 0 and api_calls.calls["DescribeInstanceTypes"] == 1
    assert_nothing_moved(lab)


def aimed_at_one_device(lab: Any, new: str, *incoming: tuple[str, str, str]) -> str:
    """The problem of volumes (label, move, device given to AttachVolume) all aimed at `device` of `new`."""
    *_, device = incoming[-1]
    who = " and ".join(f"{label} ({move} {dev})" for label, move, dev in incoming)
    return (
        f"{who} would all go to {new} ({lab.instance(new)}) at {device}: one volume per device name; "
        "move one to another server, or give the old volumes different device names"
    )


def test_two_volumes_aimed_at_one_device_of_one_server_stop_the_move(lab, run_module, api_calls) -> None:
    """Probe E05: two moves to new-storage-1 at /dev/xvdf. AWS refuses the second AttachVolume only after both
    detaches ("Attachment point /dev/xvdf is already in use"), leaving home-3 on no server mid-window."""
    moves = [
        {"old": "old-storage-1", "new": "new-storage-1", "devices": ["/dev/xvdf"]},
        {"old": "old-storage-2", "new": "new-storage-1", "devices": ["/dev/xvdf"]},
    ]
    vols = lab.world["volumes"]
    expected = aimed_at_one_device(
        lab,
        "new-storage-1",
        (f"{vols['home-1']} (home-1)", "old-storage-1 -> new-storage-1", "/dev/xvdf"),
        (f"{vols['home-3']} (home-3)", "old-storage-2 -> new-storage-1", "/dev/xvdf"),
    )
    pre = run_module(MODULE, {"moves": moves, "preflight": True})
    assert not pre.failed and pre["problems"] == [expected], pre["problems"]
    api_calls.reset()
    real = run_module(MODULE, {"moves": moves})
    assert real.failed and not real.changed and real.msg == f"Nothing was changed. {expected}", real.msg
    assert api_calls.calls["DetachVolume"] == 0 and api_calls.calls["CreateTags"] == 0
    assert api_calls.calls["AttachVolume"] == 0
    assert_nothing_moved(lab)
    assert where(lab, "home-3") == ("old-storage-2", "/dev/xvdf", "in-use")


def test_sdf_and_xvdf_are_one_device_of_a_xen_server(lab, run_module, api_calls) -> None:
    """AttachVolume keeps each volume's old name: /dev/xvdf and /dev/sdf, two names AWS accepts side by side,
    but on a Xen instance the kernel names both /dev/xvdf [UG-DeviceNaming]."""
    launch(lab, "new-storage-x", itype="m4.large")  # Xen
    blank = lab.ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    lab.ec2.attach_volume(VolumeId=blank, InstanceId=lab.instance("old-storage-2"), Device="/dev/sdf")
    lab.lab.tick()
    moves = [
        {"old": "old-storage-1", "new": "new-storage-x", "devices": ["/dev/xvdf"]},
        {"old": "old-storage-2", "new": "new-storage-x", "devices": ["/dev/sdf"]},
    ]
    expected = aimed_at_one_device(
        lab,
        "new-storage-x",
        (f"{lab.world['volumes']['home-1']} (home-1)", "old-storage-1 -> new-storage-x", "/dev/xvdf"),
        (blank, "old-storage-2 -> new-storage-x", "/dev/sdf"),
    ).replace("at /dev/sdf:", "at /dev/xvdf:")
    api_calls.reset()
    real = run_module(MODULE, {"moves": moves})
    assert real.failed and not real.changed and real.msg == f"Nothing was changed. {expected}", real.msg
    assert api_calls.calls["DetachVolume"] == 0 and api_calls.calls["CreateTags"] == 0
    assert_nothing_moved(lab)
    vol = lab.ec2.describe_volumes(VolumeIds=[blank])["Volumes"][0]["Attachments"][0]
    assert (vol["InstanceId"], vol["Device"]) == (lab.instance("old-storage-2"), "/dev/sdf")


def test_a_volume_left_halfway_counts_at_the_device_it_will_attach_to(lab, run_module, api_calls) -> None:
    """home-1 was detached by a run that died: it attaches at its clusterswap:move-device tag, /dev/xvdf of
    new-storage-1, where another move now aims home-3."""
    vol = lab.world["volumes"]["home-1"]
    lab.ec2.create_tags(
        Resources=[vol],
        Tags=[
            {"Key": "clusterswap:move-from", "Value": lab.instance("old-storage-1")},
            {"Key": "clusterswap:move-to", "Value": lab.instance("new-storage-1")},
            {"Key": "clusterswap:move-device", "Value": "/dev/xvdf"},
        ],
    )
    lab.ec2.detach_volume(VolumeId=vol)
    lab.lab.tick()
    moves = [
        {"old": "old-storage-1", "new": "new-storage-1", "devices": ["/dev/xvdf"]},
        {"old": "old-storage-2", "new": "new-storage-1", "devices": ["/dev/xvdf"]},
    ]
    expected = aimed_at_one_device(
        lab,
        "new-storage-1",
        (f"{vol} (home-1)", "old-storage-1 -> new-storage-1", "/dev/xvdf"),
        (f"{lab.world['volumes']['home-3']} (home-3)", "old-storage-2 -> new-storage-1", "/dev/xvdf"),
    )
    api_calls.reset()
    real = run_module(MODULE, {"moves": moves})
    assert real.failed and not real.changed and real.msg == f"Nothing was changed. {expected}", real.msg
    assert api_calls.calls["DetachVolume"] == 0 and api_calls.calls["AttachVolume"] == 0
    assert where(lab, "home-1") == (None, None, "available"), "left as the first run left it"
    assert where(lab, "home-3") == ("old-storage-2", "/dev/xvdf", "in-use")


def test_preflight_of_a_sound_plan_has_no_problem_and_changes_nothing(lab, run_module, api_calls) -> None:
    api_calls.reset()
    pre = run_module(MODULE, {"moves": ALL, "preflight": True})
    assert not pre.failed and not pre.changed and pre["problems"] == [], pre["problems"]
    assert {v["action"] for v in pre["volumes"]} == {"would_move"}
    mutating = {op for op in api_calls.calls if not op.startswith("Describe")}
    assert mutating == {"DetachVolume"} and api_calls.calls["DetachVolume"] == 1, "only the DryRun"
    assert_nothing_moved(lab)
