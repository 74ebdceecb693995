"""The seeded data reads back byte for byte: files on the mounted volumes, rows in Postgres."""

from __future__ import annotations

from typing import Any

from lab.hosts import seed
from tests.lab.helpers import in_container


def test_seeded_files_read_back_the_same(lab: dict[str, Any]) -> None:
    manifest = seed.read_manifest()
    on_containers = {v["instance"] for v in manifest["volumes"].values()} & {"old-storage-1"}
    assert on_containers == {"old-storage-1"}
    checked = 0
    for vol in manifest["volumes"].values():
        if vol["instance"] != "old-storage-1":
            continue
        assert vol["kind"] == "home" and len(vol["files"]) >= 10
        got = seed.container_checksums("cs-old-storage-1", vol["mountpoint"])
        assert got == vol["files"], f"{vol['name']} at {vol['mountpoint']} differs"
        checked += 1
    assert checked == 2
    logs = [v for v in manifest["volumes"].values() if v["kind"] == "logs"]
    assert logs and all(v["files"] for v in logs)


def test_seeded_postgres_rows_read_back_the_same(lab: dict[str, Any]) -> None:
    manifest = seed.read_manifest()
    pg = manifest["postgres"]
    assert pg["instance"] == "old-postgres-1"
    assert pg["tables"]["users"].startswith("200:")
    assert seed.postgres_checksums("cs-old-postgres-1") == pg["tables"]
    mounts = in_container("cs-old-postgres-1", "findmnt -n -o SOURCE,TARGET /srv/pgdata").split()
    assert mounts == ["/dev/xvdp", "/srv/pgdata"]


def test_a_changed_file_is_detected(lab: dict[str, Any]) -> None:
    """The checksum comparison can fail: a file changed in the container no longer matches."""
    vol = next(v for v in seed.read_manifest()["volumes"].values() if v["mountpoint"] == "/srv/home2")
    path = f"/srv/home2/{next(iter(vol['files']))}"
    original = in_container("cs-old-storage-1", f"base64 -w0 {path}")
    in_container("cs-old-storage-1", f"echo tampered >> {path}")
    try:
        assert seed.container_checksums("cs-old-storage-1", "/srv/home2") != vol["files"]
    finally:
        in_container("cs-old-storage-1", f"echo {original} | base64 -d > {path}")
    assert seed.container_checksums("cs-old-storage-1", "/srv/home2") == vol["files"]
