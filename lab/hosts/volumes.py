"""EBS volumes as loop devices: one sparse file per volume in lab/.state/volumes, a host loop device over
it while the volume is attached to a container host, and a block device node (`mknod b 7 <minor>`) at the
attachment's device name inside the container."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from lab.hosts import podman
from lab.hosts.world import STATE_DIR, VOLUME_DIR

LOOP_MAJOR = 7
ATTACHMENTS = STATE_DIR / "attachments.json"


def volume_file(volume_id: str) -> Path:
    return VOLUME_DIR / f"{volume_id}.img"


def ensure_file(volume_id: str, size_mib: int = 64) -> Path:
    """The volume's backing file, created sparse (a blank volume) if missing."""
    path = volume_file(volume_id)
    if not path.exists():
        VOLUME_DIR.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            f.truncate(size_mib * 1024 * 1024)
    return path


def _losetup(*args: str) -> str:
    proc = subprocess.run(["losetup", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"losetup {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def our_loops() -> dict[str, str]:
    """Loop devices whose backing file is a lab volume file: {device: backing file}."""
    out = _losetup("--json", "--list", "--output", "NAME,BACK-FILE")
    loops = json.loads(out or '{"loopdevices": []}').get("loopdevices", [])
    prefix = str(VOLUME_DIR) + "/"
    return {
        d["name"]: (d.get("back-file") or "").replace(" (deleted)", "")
        for d in loops
        if (d.get("back-file") or "").startswith(prefix)
    }


def loop_for(path: Path) -> str | None:
    return next((dev for dev, back in our_loops().items() if back == str(path)), None)


def ensure_loop(path: Path) -> str:
    """The loop device over `path`, set up if there is none."""
    return loop_for(path) or _losetup("--find", "--show", str(path)).strip()


def release_loop(path: Path) -> None:
    dev = loop_for(path)
    if dev:
        _losetup("--detach", dev)


def loop_minor(dev: str) -> int:
    return os.minor(os.stat(dev).st_rdev)


def add_device(container: str, device: str, minor: int) -> None:
    """Create the block device node for loop `minor` at `device` inside the running container."""
    podman.exec_in(container, ["sh", "-c", f"rm -f {device} && mknod -m 660 {device} b {LOOP_MAJOR} {minor}"])


def remove_device(container: str, device: str) -> None:
    podman.exec_in(container, ["rm", "-f", device], check=False)


def mounted_in(container: str, minor: int) -> bool:
    """True while loop `minor` is mounted in the container (its PID 1's mount table) or held by a
    device-mapper/md device."""
    pid = podman.main_pid(container)
    if pid is None:
        return False
    needle = f" {LOOP_MAJOR}:{minor} "
    try:
        mountinfo = Path(f"/proc/{pid}/mountinfo").read_text()
    except OSError:
        return False
    if any(needle in line for line in mountinfo.splitlines()):
        return True
    holders = Path(f"/sys/block/loop{minor}/holders")
    return holders.is_dir() and any(holders.iterdir())


# --- attachments: which volume sits on which container at which device (survives container restarts) ---


@contextlib.contextmanager
def _locked_attachments() -> Iterator[dict[str, dict[str, str]]]:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with (STATE_DIR / "attachments.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data: dict[str, dict[str, str]] = json.loads(ATTACHMENTS.read_text()) if ATTACHMENTS.exists() else {}
        yield data
        tmp = ATTACHMENTS.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(ATTACHMENTS)


def record_attachment(volume_id: str, instance_id: str, container: str, device: str) -> None:
    with _locked_attachments() as data:
        data[volume_id] = {"instance_id": instance_id, "container": container, "device": device}


def forget_attachment(volume_id: str) -> None:
    with _locked_attachments() as data:
        data.pop(volume_id, None)


def attachments() -> dict[str, dict[str, str]]:
    return json.loads(ATTACHMENTS.read_text()) if ATTACHMENTS.exists() else {}


def clear_attachments() -> None:
    ATTACHMENTS.unlink(missing_ok=True)


# --- the operations the hooks and the seeding use ---


def attach(volume_id: str, instance_id: str, container: str, device: str, size_mib: int = 64) -> str:
    """Loop device over the volume's file; device node in the container if it runs. Returns the loop."""
    loop = ensure_loop(ensure_file(volume_id, size_mib))
    record_attachment(volume_id, instance_id, container, device)
    if podman.is_running(container):
        add_device(container, device, loop_minor(loop))
    return loop


def detach(volume_id: str, container: str, device: str) -> None:
    forget_attachment(volume_id)
    if podman.is_running(container):
        remove_device(container, device)
    release_loop(volume_file(volume_id))


def in_use(volume_id: str, container: str) -> bool:
    loop = loop_for(volume_file(volume_id))
    return loop is not None and mounted_in(container, loop_minor(loop))


def restore_devices(container: str) -> None:
    """After a container (re)starts: its /dev is new, so recreate the nodes of the volumes attached to it."""
    for volume_id, att in attachments().items():
        if att["container"] == container:
            loop = ensure_loop(ensure_file(volume_id))
            add_device(container, att["device"], loop_minor(loop))


def remove_all() -> None:
    """Detach every lab loop device and delete every volume file."""
    for dev in our_loops():
        _losetup("--detach", dev)
    for path in VOLUME_DIR.glob("*.img"):
        path.unlink()
    clear_attachments()
