"""Seeded data: real filesystems on the volumes (home directories, logs), the old Postgres server's
database, and a checksum manifest (lab/.state/manifest.json) so a swap can be proven to keep every byte."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lab.hosts import podman, volumes
from lab.hosts.world import STATE_DIR, VolumeLayout

MANIFEST = STATE_DIR / "manifest.json"
SEED_POSTGRES = Path(__file__).with_name("seed_postgres.sh")
PG_TABLES = ("users", "webapps", "consoles")
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")


@dataclass(frozen=True)
class SeededVolume:
    """One volume of the world, as the simulated AWS knows it at seed time."""

    volume_id: str
    name: str
    instance_name: str
    device: str
    layout: VolumeLayout


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def home_tree(root: Path, label: str) -> None:
    """Users' home directories: text, code and a binary file each, deterministic per volume."""
    rng = random.Random(f"home:{label}")
    for user in USERS:
        home = root / user
        _write(home / ".bashrc", f"# {user} on {label}\nexport PS1='{user}$ '\n".encode())
        _write(home / "notes.txt", f"{user}'s notes on {label}\n".encode() * rng.randint(5, 50))
        _write(home / "mysite" / "manage.py", f"# django project of {user}\nprint('hello')\n".encode())
        _write(home / "data.bin", rng.randbytes(rng.randint(16, 96) * 1024))


def logs_tree(root: Path, label: str) -> None:
    """Web access logs per day, deterministic per volume."""
    rng = random.Random(f"logs:{label}")
    for day in range(1, 8):
        lines = [
            f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - [0{day}/Jun/2015:12:{m:02d}:00 +0000] "
            f'"GET /user/{rng.choice(USERS)}/ HTTP/1.1" 200 {rng.randint(200, 9000)}\n'
            for m in range(60)
        ]
        _write(root / "access" / f"access.log.2015-06-0{day}", "".join(lines).encode())


def file_checksums(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every regular file under root (lost+found excluded)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "lost+found" not in p.parts
    }


def make_volume_file(vol: SeededVolume) -> dict[str, str]:
    """(Re)create the volume's backing file; home/logs get an ext4 filesystem with files. Returns the
    checksums of the files written (empty for pgdata/blank, which get theirs inside the server)."""
    path = volumes.volume_file(vol.volume_id)
    path.unlink(missing_ok=True)
    volumes.ensure_file(vol.volume_id, vol.layout.size_mib)
    if vol.layout.kind not in ("home", "logs"):
        return {}
    with tempfile.TemporaryDirectory(prefix="clusterswap-seed.") as tmp:
        root = Path(tmp)
        (home_tree if vol.layout.kind == "home" else logs_tree)(root, vol.name)
        subprocess.run(
            ["mkfs.ext4", "-q", "-F", "-L", vol.layout.kind, "-d", str(root), str(path)],
            check=True,
            capture_output=True,
        )
        return file_checksums(root)


def mount_in(container: str, device: str, mountpoint: str) -> None:
    podman.exec_in(container, ["sh", "-c", f"mkdir -p {mountpoint} && mount {device} {mountpoint}"])


def seed_postgres(container: str, device: str, mountpoint: str, trusted: list[str]) -> None:
    """Create the database on the data volume; clients from the `trusted` networks (the lab's) need no
    password."""
    podman.run_script(container, SEED_POSTGRES.read_text(), device, mountpoint, *trusted)


def postgres_checksums(container: str, database: str = "pythonanywhere") -> dict[str, str]:
    """{table: md5 of all its rows in id order} read from the running server in `container`."""
    sums = {}
    for table in PG_TABLES:
        sql = f"SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t"
        out = podman.exec_in(container, ["su", "postgres", "-c", f'psql -At -d {database} -c "{sql}"'])
        sums[table] = out.strip()
    return sums


def container_checksums(container: str, mountpoint: str) -> dict[str, str]:
    """{relative path: sha256} of every regular file under `mountpoint` inside the container."""
    out = podman.exec_in(
        container,
        [
            "sh",
            "-c",
            f"cd {mountpoint} && find . -path ./lost+found -prune -o -type f -print0 | xargs -0r sha256sum",
        ],
    )
    sums = {}
    for line in out.splitlines():
        digest, _, rel = line.partition("  ")
        sums[rel.removeprefix("./")] = digest
    return dict(sorted(sums.items()))


def write_manifest(manifest: dict) -> None:
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True))


def read_manifest() -> dict:
    return json.loads(MANIFEST.read_text())
