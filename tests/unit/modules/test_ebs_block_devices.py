"""Unit tests of plugins/modules/ebs_block_devices.py: a volume's block device found by volume ID (NVMe by-id,
the Xen name, the AttachVolume name), who uses it, and what `require` refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.clusterswap.swap.plugins.modules import ebs_block_devices as m

from tests.unit.conftest import ModuleResult

MODULE = "ebs_block_devices"
VOL = "vol-0123456789abcdef0"
BY_ID = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"


def fake_dev(nodes: dict[str, tuple[str, tuple[int, int]]]) -> Any:
    """A probe over a fake /dev: {name: (node, devno)}."""
    return lambda path: nodes.get(path)


def test_candidates_nvme_by_id_first_then_the_xen_name_then_the_attach_name() -> None:
    assert [c for c, _ in m.candidates(VOL, "/dev/sdf")] == [BY_ID, BY_ID + "_1", "/dev/xvdf", "/dev/sdf"]
    assert [how for _, how in m.candidates(VOL, "/dev/xvdf")] == ["nvme-by-id", "nvme-by-id", "attach-name"]


@pytest.mark.parametrize(
    ("nodes", "found_by", "path"),
    [
        (
            {BY_ID: ("/dev/nvme7n1", (259, 7)), "/dev/sdf": ("/dev/nvme7n1", (259, 7))},
            "nvme-by-id",
            "/dev/nvme7n1",
        ),
        ({"/dev/xvdf": ("/dev/xvdf", (202, 80))}, "xen-name", "/dev/xvdf"),
        ({"/dev/sdf": ("/dev/nvme2n1", (259, 2))}, "attach-name", "/dev/nvme2n1"),  # Amazon Linux's link
    ],
)
def test_found_by_volume_id_or_by_name(nodes: Any, found_by: str, path: str) -> None:
    dev, number, wrong = m.find(VOL, "/dev/sdf", probe=fake_dev(nodes), serial=lambda node: None)
    assert (dev.present, dev.found_by, dev.path, wrong) == (True, found_by, path, None)
    assert number == nodes[dev.link][1] and dev.devno == f"{number[0]}:{number[1]}"


def test_a_missing_device_is_not_present_and_says_where_it_looked() -> None:
    dev, number, wrong = m.find(VOL, "/dev/sdf", probe=fake_dev({}), serial=lambda node: None)
    assert not dev.present and number is None and wrong is None
    assert dev.looked_for == [BY_ID, BY_ID + "_1", "/dev/xvdf", "/dev/sdf"]
    problems = m.problems_of(dev, m.LEVELS["present"], "old-storage-1")
    assert problems == [
        f"{VOL} (/dev/sdf) on old-storage-1: no block device found (looked for {BY_ID}, {BY_ID}_1, "
        "/dev/xvdf, /dev/sdf): is the volume attached to this server? Its filesystem can't be checked, so it "
        "is not touched"
    ]
    assert m.problems_of(dev, 0, "old-storage-1") == [], "without require, only a report"


def test_a_name_that_leads_to_another_volumes_nvme_device_is_refused() -> None:
    nodes = {"/dev/sdf": ("/dev/nvme1n1", (259, 1))}
    dev, number, wrong = m.find(
        VOL, "/dev/sdf", probe=fake_dev(nodes), serial=lambda node: "vol0ffffffffffffffff"
    )
    assert not dev.present and number is None
    assert (
        wrong
        == f"/dev/sdf is /dev/nvme1n1, whose NVMe serial is vol0ffffffffffffffff: another volume, not {VOL}"
    )


def test_mounts_of_the_device_and_its_holders_from_mountinfo() -> None:
    mountinfo = "\n".join(
        [
            "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw",
            "90 22 259:7 / /srv/home\\040dir rw,relatime shared:5 - ext4 /dev/nvme7n1 rw",
            "91 22 9:0 / /srv/raid rw,relatime shared:6 - xfs /dev/md0 rw",
        ]
    )
    got = m.mounts({(259, 7), (9, 0)}, mountinfo)
    assert [(x["target"], x["source"], x["devno"]) for x in got] == [
        ("/srv/home dir", "/dev/nvme7n1", "259:7"),
        ("/srv/raid", "/dev/md0", "9:0"),
    ]


def test_holders_are_found_recursively_in_sysfs(tmp_path: Path) -> None:
    for base, name, number in (("259:7", "md0", "9:0"), ("9:0", "dm-0", "253:0")):
        (tmp_path / "dev" / "block" / base / "holders" / name).mkdir(parents=True)
        (tmp_path / "class" / "block" / name).mkdir(parents=True)
        (tmp_path / "class" / "block" / name / "dev").write_text(number + "\n")
    assert m.holders(259, 7, str(tmp_path)) == [("md0", (9, 0)), ("dm-0", (253, 0))]


def test_a_process_with_its_cwd_or_an_open_file_on_the_filesystem_is_found(tmp_path: Path) -> None:
    st = os.stat(tmp_path)
    numbers = {(os.major(st.st_dev), os.minor(st.st_dev))}
    (tmp_path / "f").write_text("x")
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; f=open(sys.argv[1]); time.sleep(60)", str(tmp_path / "f")],
        cwd=tmp_path,
    )
    try:
        for _ in range(50):
            found = {p["pid"]: p for p in m.processes(numbers)}
            if child.pid in found and "open file" in found[child.pid]["via"]:
                break
        assert "cwd" in found[child.pid]["via"] and "open file" in found[child.pid]["via"]
        assert found[child.pid]["comm"].startswith("python")
        assert os.getpid() not in found, "the module's own process is left out"
    finally:
        child.kill()
        child.wait()


def device(**kw: Any) -> m.Device:
    base = {"volume_id": VOL, "device": "/dev/xvdf", "name": "home-1", "present": True, "path": "/dev/xvdf"}
    return m.Device(**{**base, **kw})


def test_what_each_level_refuses() -> None:
    dev = device(
        mounts=[{"target": "/srv/home", "fstype": "ext4", "source": "/dev/xvdf", "devno": "202:80"}],
        holders=["md0"],
        processes=[{"pid": 42, "comm": "sleep", "cmdline": "sleep 600", "via": ["cwd"]}],
    )
    assert m.problems_of(dev, m.LEVELS["present"], "old-storage-1") == []
    held = (
        f"{VOL} (home-1, /dev/xvdf) on old-storage-1 (/dev/xvdf, /srv/home) is held by pid 42 sleep "
        "(cwd: sleep 600)"
    )
    assert m.problems_of(dev, m.LEVELS["idle"], "old-storage-1") == [held + ": stop it (or its service)"]
    free = m.problems_of(dev, m.LEVELS["free"], "old-storage-1")
    assert (
        free[1]
        == f"{VOL} (home-1, /dev/xvdf) on old-storage-1 (/dev/xvdf) is still mounted on /srv/home: unmount it"
    )
    assert "is held by md0 (RAID/LVM on it" in free[2]


def test_two_volumes_with_one_uuid_or_one_device_are_refused() -> None:
    a = device(uuid="u-1")
    b = device(volume_id="vol-b", device="/dev/xvdg", name="home-2", path="/dev/xvdg", uuid="u-1")
    c = device(volume_id="vol-c", device="/dev/xvdh", name=None, path="/dev/xvdf", uuid="u-3")
    problems = m.shared_problems([a, b, c], "new-storage-1")
    assert problems[0].startswith(
        f"{VOL} (home-1, /dev/xvdf) and vol-c (/dev/xvdh) on new-storage-1 have the same block device "
        "/dev/xvdf"
    )
    assert "have the same filesystem UUID u-1: a volume restored from a snapshot" in problems[1]


# --------------------------------------------------------------------------- the module


@pytest.fixture
def run_module(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run the host-side module's main() with args (no AWS arguments)."""

    def run(name: str, args: dict[str, Any], check_mode: bool = False) -> ModuleResult:
        capsys.readouterr()
        with patch_module_args({**args, "_ansible_check_mode": check_mode}), pytest.raises(SystemExit):
            m.main()
        return ModuleResult(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))

    return run


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fake host: its /dev (`nodes`), mount table, processes and filesystems, all editable by the test."""
    state: dict[str, Any] = {"nodes": {}, "mountinfo": "", "processes": {}, "fs": {}}
    monkeypatch.setattr(m, "probe_path", lambda path: state["nodes"].get(path))
    monkeypatch.setattr(m, "read_serial", lambda node: None)
    monkeypatch.setattr(m, "read_mountinfo", lambda: state["mountinfo"])
    monkeypatch.setattr(m, "holders", lambda major, minor, sys_root="/sys": [])
    monkeypatch.setattr(
        m,
        "processes",
        lambda numbers, proc="/proc": [p for n, p in state["processes"].items() if n in numbers],
    )
    monkeypatch.setattr(m, "blkid_tags", lambda module, path: state["fs"].get(path, {}))
    return state


VOLUMES = [{"volume_id": VOL, "device": "/dev/xvdf", "name": "home-1"}]


def test_module_finds_an_nvme_volume_and_its_filesystem(run_module, host) -> None:
    host["nodes"][BY_ID] = ("/dev/nvme4n1", (259, 4))
    host["fs"]["/dev/nvme4n1"] = {"TYPE": "ext4", "UUID": "u-1", "LABEL": "home"}
    result = run_module(MODULE, {"volumes": VOLUMES, "require": "present"}, check_mode=True)
    assert not result.failed and not result.changed, result.msg
    entry = result["by_device"]["/dev/xvdf"]
    assert (entry["path"], entry["found_by"], entry["fstype"], entry["uuid"]) == (
        "/dev/nvme4n1",
        "nvme-by-id",
        "ext4",
        "u-1",
    )
    assert result["problems"] == []


def test_module_fails_naming_volume_host_and_holder(run_module, host) -> None:
    host["nodes"]["/dev/xvdf"] = ("/dev/xvdf", (202, 80))
    host["mountinfo"] = "90 22 202:80 / /srv/home rw - ext4 /dev/xvdf rw"
    host["processes"][(202, 80)] = {"pid": 7, "comm": "sleep", "cmdline": "sleep 600", "via": ["cwd"]}
    args = {"volumes": VOLUMES, "server": "old-storage-1", "refusal": "refusing to detach"}
    idle = run_module(MODULE, {**args, "require": "idle"})
    assert idle.failed and not idle.changed
    assert idle.msg.startswith(
        "old-storage-1: refusing to detach: vol-0123456789abcdef0 (home-1, /dev/xvdf) on "
    )
    assert "is held by pid 7 sleep (cwd: sleep 600)" in idle.msg and "still mounted" not in idle.msg
    free = run_module(MODULE, {**args, "require": "free"})
    assert free.failed and "is still mounted on /srv/home" in free.msg
    report = run_module(MODULE, args)
    assert not report.failed and report["devices"][0]["mounts"][0]["target"] == "/srv/home"


def test_module_refuses_a_volume_it_cannot_find(run_module, host) -> None:
    result = run_module(MODULE, {"volumes": VOLUMES, "require": "free", "server": "old-storage-1"})
    assert result.failed
    assert "no block device found (looked for " + BY_ID in result.msg
    assert result["devices"][0]["present"] is False


def test_module_waits_for_a_device_to_appear(run_module, host, monkeypatch) -> None:
    looks = {"n": 0}
    original = m.read_mountinfo

    def mountinfo() -> str:
        looks["n"] += 1
        if looks["n"] == 3:  # the volume appears on the third look
            host["nodes"][BY_ID] = ("/dev/nvme4n1", (259, 4))
        return str(original())

    monkeypatch.setattr(m, "read_mountinfo", mountinfo)
    result = run_module(
        MODULE, {"volumes": VOLUMES, "require": "present", "wait_timeout": 10, "poll_interval": 0.01}
    )
    assert not result.failed, result.msg
    assert looks["n"] == 3 and result["devices"][0]["path"] == "/dev/nvme4n1"
    gone = run_module(
        MODULE,
        {
            "volumes": [{"volume_id": "vol-0other", "device": "/dev/xvdg"}],
            "require": "present",
            "wait_timeout": 0,
        },
    )
    assert gone.failed and "vol-0other (/dev/xvdg)" in gone.msg
