"""The storage update and the Postgres move on the lab (playbooks/storage-move.yml): real filesystems on loop
devices in podman hosts, the simulated AWS moving the volumes, real Postgres.

Each test reseeds the `default` scenario first (the swap changes the world) and the module leaves the lab
reseeded. Proven independently of the roles' own manifests: the files against the lab's seed manifest
(lab/.state/manifest.json), the Postgres rows against the seed's own checksums."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from lab.awssim.client import LabClient
from lab.hosts import seed
from tests.lab.helpers import REPO, SIM_URL, ec2, in_container, labctl, podman, topology

PLAYBOOK = "playbooks/storage-move.yml"
RECORDS = REPO / "lab" / ".state" / "records"


def reseed() -> None:
    labctl("seed", "--scenario", "default")
    for name in (
        "storage-manifest-before.json",
        "storage-manifest-after.json",
        "postgres-checksums-before.json",
    ):
        (RECORDS / name).unlink(missing_ok=True)


@pytest.fixture(scope="module", autouse=True)
def reseeded_after(lab_session: None) -> Iterator[None]:
    yield
    reseed()  # leave the lab as the other tests expect it


@pytest.fixture
def world(lab: dict[str, Any]) -> dict[str, Any]:
    reseed()
    from tests.lab.helpers import lab_api

    return lab_api("/_lab/world")


def play(*args: str, playbook: str = PLAYBOOK) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-playbook"), playbook, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def recap(out: str) -> dict[str, dict[str, int]]:
    """{host: {ok, changed, failed, ...}} from the PLAY RECAP."""
    result = {}
    for line in out.split("PLAY RECAP", 1)[1].splitlines()[1:]:
        if ":" not in line or "=" not in line:
            break
        host, _, counts = line.partition(":")
        result[host.strip()] = {k: int(v) for k, v in (c.split("=") for c in counts.split())}
    return result


def changed(out: str) -> int:
    return sum(r["changed"] for r in recap(out).values())


def attached_to(world: dict[str, Any], volume: str) -> tuple[str | None, str]:
    vol = ec2().describe_volumes(VolumeIds=[world["volumes"][volume]])["Volumes"][0]
    att = next(iter(vol.get("Attachments") or []), None)
    names = {v: k for k, v in world["instances"].items()}
    return (names[att["InstanceId"]] if att else None), vol["State"]


def assert_files_as_seeded(container: str, volume_names: list[str]) -> None:
    manifest = seed.read_manifest()
    for vol in manifest["volumes"].values():
        if vol["name"] in volume_names:
            got = seed.container_checksums(container, vol["mountpoint"])
            assert got == vol["files"], f"{vol['name']} on {container} differs from the seed"


def test_four_runs_move_storage_and_postgres_byte_for_byte(world: dict[str, Any]) -> None:
    check = play("--check")
    assert check.returncode == 0, check.stdout[-4000:]
    assert changed(check.stdout) > 0
    assert attached_to(world, "home-1") == ("old-storage-1", "in-use"), "check mode changed nothing"

    real = play()
    assert real.returncode == 0, real.stdout[-6000:]
    assert changed(real.stdout) > 0
    for name, new in [("home-1", "new-storage-1"), ("home-2", "new-storage-1"), ("home-3", "new-storage-2"),
                      ("logs-1", "new-logstorage-1"), ("pgdata-1", "new-postgres-1")]:  # fmt: skip
        assert attached_to(world, name) == (new, "in-use")
    assert "2 volumes, 80 files: identical on the new servers." in real.stdout
    # on the new (Nitro) server the volumes are NVMe devices found by volume ID, mounted and in fstab by UUID
    for name, mountpoint in (("home-1", "/srv/home"), ("home-2", "/srv/home2")):
        by_id = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + world["volumes"][name].replace("-", "")
        node = in_container("cs-new-storage-1", f"readlink -f {by_id}").strip()
        assert node.startswith("/dev/nvme"), node
        assert (
            in_container("cs-new-storage-1", f"findmnt -rn -o SOURCE --mountpoint {mountpoint}").strip()
            == node
        )
        fstab = in_container("cs-new-storage-1", f"findmnt -rn -o SOURCE --fstab --mountpoint {mountpoint}")
        assert fstab.strip().startswith("UUID="), fstab
    # independent of the roles' manifests: the seed's checksums, on the new server, and through the export
    assert_files_as_seeded("cs-new-storage-1", ["home-1", "home-2"])
    before = json.loads((RECORDS / "storage-manifest-before.json").read_text())
    after = json.loads((RECORDS / "storage-manifest-after.json").read_text())
    assert {k: v["files"] for k, v in before.items()} == {k: v["files"] for k, v in after.items()}
    new_storage = topology().host("new-storage-1")
    alice = in_container("cs-new-web-1", f"curl -fsS http://{new_storage.ip}:2049/home/alice/.bashrc")
    assert alice.startswith("# alice on home-1")
    # Postgres: the seed's own row checksums (ORDER BY id) read on the new server
    assert seed.postgres_checksums("cs-new-postgres-1") == seed.read_manifest()["postgres"]["tables"]
    assert in_container("cs-old-postgres-1", "pg_lsclusters --no-header").split()[3] == "down"

    again_check = play("--check")
    assert again_check.returncode == 0 and changed(again_check.stdout) == 0, again_check.stdout[-4000:]
    again = play()
    assert again.returncode == 0 and changed(again.stdout) == 0, again.stdout[-4000:]


@pytest.mark.faults  # make faults (rollback from every phase); make test's slice: tests/integration/runbook
def test_rollback_after_the_moves_puts_every_volume_and_postgres_back(world: dict[str, Any]) -> None:
    """R.3 on real hosts: after the storage and Postgres moves, rollback.yml stops the exports and Postgres on
    the new servers, unmounts, moves every volume back to its old server at its device, mounts it there and
    proves the files and rows are what the new servers held; a second rollback changes nothing."""
    moved = play()
    assert moved.returncode == 0, moved.stdout[-6000:]
    # the default scenario is a normal update: its storage part is on for rollback as for this storage move
    storage_on = ["-e", json.dumps({"clusterswap_parts": {"storage": True, "vpc": False}})]
    back = play(*storage_on, playbook="playbooks/rollback.yml")
    assert back.returncode == 0, back.stdout[-6000:]
    assert "Every EBS volume back on its old server" in back.stdout
    for name, old in [("home-1", "old-storage-1"), ("home-2", "old-storage-1"), ("home-3", "old-storage-2"),
                      ("logs-1", "old-logstorage-1"), ("pgdata-1", "old-postgres-1")]:  # fmt: skip
        assert attached_to(world, name) == (old, "in-use"), name
    assert "/srv/home2" in in_container("cs-old-storage-1", "findmnt -rn -o TARGET")
    assert "/srv/home2" not in in_container("cs-new-storage-1", "findmnt -rn -o TARGET")
    # independent of the roles' manifests: the seed's checksums, on the old servers again
    assert_files_as_seeded("cs-old-storage-1", ["home-1", "home-2"])
    assert seed.postgres_checksums("cs-old-postgres-1") == seed.read_manifest()["postgres"]["tables"]
    assert in_container("cs-new-postgres-1", "pg_lsclusters --no-header").split()[3] == "down"

    again = play(*storage_on, playbook="playbooks/rollback.yml")
    assert again.returncode == 0 and changed(again.stdout) == 0, again.stdout[-4000:]


def test_a_volume_still_in_use_is_not_detached(world: dict[str, Any]) -> None:
    podman("exec", "-d", "cs-old-storage-1", "sh", "-c", "cd /srv/home2 && exec sleep 600")
    try:
        result = play()
    finally:
        in_container("cs-old-storage-1", "pkill -x sleep || true")
    assert result.returncode != 0
    assert "old-storage-1: refusing to unmount and detach" in result.stdout
    home2 = world["volumes"]["home-2"]
    assert (
        f"{home2} (home-2, /dev/xvdg) on old-storage-1 (/dev/xvdg, /srv/home2) is held by pid"
        in result.stdout
    )
    assert "sleep" in result.stdout
    assert attached_to(world, "home-1") == ("old-storage-1", "in-use")
    assert attached_to(world, "home-2") == ("old-storage-1", "in-use")
    assert "/srv/home2" in in_container("cs-old-storage-1", "findmnt -rn -o TARGET")
    assert attached_to(world, "pgdata-1") == ("old-postgres-1", "in-use"), (
        "the swap stopped: Postgres untouched"
    )


def test_a_half_finished_move_is_finished_by_a_rerun(world: dict[str, Any]) -> None:
    client = LabClient(SIM_URL)
    client.add_fault("AttachVolume", nth=2, code="IncorrectState", message="injected: attach failed halfway")
    try:
        first = play()
    finally:
        client.clear_faults()
    assert first.returncode != 0 and "injected: attach failed halfway" in first.stdout
    where = {name: attached_to(world, name) for name in ("home-1", "home-2")}
    # the refused volume is put back on its old server, so none is on no server (ebs_volume_move's put-back)
    assert sorted(where.values()) == [("new-storage-1", "in-use"), ("old-storage-1", "in-use")], where
    assert "put back on their old servers" in first.stdout, first.stdout[-4000:]

    rerun = play()
    assert rerun.returncode == 0, rerun.stdout[-6000:]
    assert attached_to(world, "home-1") == ("new-storage-1", "in-use")
    assert attached_to(world, "home-2") == ("new-storage-1", "in-use")
    assert "2 volumes, 80 files: identical on the new servers." in rerun.stdout
    assert_files_as_seeded("cs-new-storage-1", ["home-1", "home-2"])


def test_a_filesystem_that_fails_its_check_is_not_mounted(world: dict[str, Any]) -> None:
    # home-2, unmounted on the old server, then damaged: wrong free-blocks count and a file's inode freed
    in_container(
        "cs-old-storage-1",
        "umount /srv/home2 && debugfs -w -R 'ssv free_blocks_count 1' /dev/xvdg"
        " && debugfs -w -R 'freei /alice/.bashrc' /dev/xvdg",
    )
    result = play()
    assert result.returncode != 0, result.stdout[-4000:]
    home2 = world["volumes"]["home-2"]
    refusal = f"REFUSING to mount {home2} (/dev/xvdg, /dev/nvme"
    assert refusal in result.stdout and "on new-storage-1 at /srv/home2" in result.stdout, result.stdout[
        -6000:
    ]
    assert "e2fsck -n -f /dev/nvme" in result.stdout
    mounted = in_container("cs-new-storage-1", "findmnt -rn -o SOURCE,TARGET")
    assert "/srv/home2" not in mounted
    assert attached_to(world, "pgdata-1") == ("old-postgres-1", "in-use"), (
        "the swap stopped: Postgres untouched"
    )


def test_a_volume_whose_device_the_old_server_does_not_show_is_not_detached(world: dict[str, Any]) -> None:
    """R-4: the old server shows no device for home-2 (its node is gone; its filesystem stays mounted, as on
    a Nitro server where /dev/xvdg never existed). Nothing may be detached: not home-2, home-1 or pgdata."""
    in_container("cs-old-storage-1", "rm -f /dev/xvdg")
    result = play()
    assert result.returncode != 0
    home2 = world["volumes"]["home-2"]
    assert (
        f"{home2} (home-2, /dev/xvdg) on old-storage-1: no block device found (looked for " in result.stdout
    )
    for name, old in (
        ("home-1", "old-storage-1"),
        ("home-2", "old-storage-1"),
        ("pgdata-1", "old-postgres-1"),
    ):
        assert attached_to(world, name) == (old, "in-use"), name
    assert "/srv/home2" in in_container("cs-old-storage-1", "findmnt -rn -o TARGET"), (
        "still mounted, untouched"
    )
