"""EBS volumes as loop devices: one sparse file per volume in lab/.state/volumes, a host loop device over
it while the volume is attached to a container host, and inside the container the block device node
(`mknod b 7 <minor>`) under the name the instance's OS would see, with the links udev would make.

What the guest OS sees (keys as in ../shared/research/aws-rules.md §7):
- **Nitro** (DescribeInstanceTypes `Hypervisor: nitro`: m5, c5, r5, t3 and later): "EBS volumes are exposed
  as NVMe block devices on Nitro-based instances. The device names are /dev/nvme0n1, /dev/nvme1n1, and so
  on. The device names that you specify in a block device mapping are renamed using NVMe device names
  (/dev/nvme[0-26]n1). The block device driver can assign NVMe device names in a different order than you
  specified" [UG-NVMe, UG-DeviceNaming]. So the name given to AttachVolume (/dev/sdf) is no device node at
  all; the lab numbers the namespace from a hash of the volume ID (never the attach order, never nvme0n1,
  the root volume's) and keeps the number across container restarts. "NVMe EBS volumes have the EBS volume
  ID set as the serial number in the device identification" [UG-NVMe]: udev's persistent-storage rule turns
  it into `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<id without the dash>` -> `../../nvme<N>n1`,
  the one name that is stable on every distribution. "Amazon Linux creates a symbolic link for the name you
  specified to the renamed device. Other operating systems could behave differently" [UG-DeviceNaming]:
  the lab behaves like the others.
- **Xen** (m1, m3, m4, ...): the requested name, except that "if you specify a device name of /dev/sdh,
  your device could be renamed /dev/xvdh" [UG-DeviceNaming]; the lab always renames (/dev/sdf -> /dev/xvdf,
  /dev/xvdf stays).
- On both, udev links a device holding a filesystem at `/dev/disk/by-uuid/<UUID>` ("When a device is
  formatted, a UUID is generated that persists for the life of the filesystem" [UG-NVMe]): what
  `mount UUID=…` and an fstab line by UUID resolve through. The lab makes that link when the device appears
  (a filesystem made later inside the container gets none: udev would see it, the lab does not).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import posixpath
import subprocess
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.hosts import podman
from lab.hosts.world import STATE_DIR, VOLUME_DIR

LOOP_MAJOR = 7
ATTACHMENTS = STATE_DIR / "attachments.json"
#: "/dev/nvme[0-26]n1" [UG-NVMe]; nvme0n1 is the root volume, so data volumes get 1..26.
NVME_FIRST, NVME_LAST = 1, 26
BY_ID = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
BY_UUID = "/dev/disk/by-uuid/"


# --- the names the guest OS gives an attached volume ---


def xen_name(device: str) -> str:
    """The name a Xen guest's kernel gives the AttachVolume name: /dev/sdX... -> /dev/xvdX...
    ("the kernel may rename /dev/sdh to /dev/xvdh" [UG-DeviceNaming])."""
    return "/dev/xvd" + device[len("/dev/sd") :] if device.startswith("/dev/sd") else device


def by_id_link(volume_id: str) -> str:
    """udev's stable link of an NVMe EBS volume: the serial is the volume ID without the dash [UG-NVMe]."""
    return BY_ID + volume_id.replace("-", "")


def nvme_index(volume_id: str, taken: Collection[int], attach_order: int) -> int:
    """The NVMe namespace number for a newly attached volume: from a hash of its volume ID, the next free
    one from there (wrapping), and never its place in the attach order (`attach_order`, 1 for the first
    data volume), so a runbook that counts attachments to guess the name finds the wrong device or none."""
    span = NVME_LAST - NVME_FIRST + 1
    start = int(hashlib.sha256(volume_id.encode()).hexdigest(), 16) % span
    order = [NVME_FIRST + (start + k) % span for k in range(span)]
    free = [n for n in order if n not in taken]
    if not free:
        raise RuntimeError(f"no free NVMe name for {volume_id}: nvme{NVME_FIRST}..{NVME_LAST}n1 all taken")
    return next((n for n in free if n != attach_order), free[0])


def guest_device(
    volume_id: str, device: str, hypervisor: str, taken: Collection[int] = (), attach_order: int = 1
) -> str:
    """The block device node the instance's OS shows for a volume attached at `device`."""
    if hypervisor == "nitro":
        return f"/dev/nvme{nvme_index(volume_id, set(taken), attach_order)}n1"
    return xen_name(device)


def nvme_number(node: str) -> int | None:
    """3 for /dev/nvme3n1; None for anything else."""
    name = node.removeprefix("/dev/")
    if name.startswith("nvme") and name.endswith("n1") and name[4:-2].isdigit():
        return int(name[4:-2])
    return None


def _losetup(*args: str) -> str:
    proc = subprocess.run(["losetup", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"losetup {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


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


def filesystem_uuid(loop: str) -> str | None:
    """The UUID of the filesystem on the loop device (probed on the host, as udev probes it), or None."""
    proc = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "UUID", loop], capture_output=True, text=True, check=False
    )
    uuid = proc.stdout.strip()
    return uuid if proc.returncode == 0 and uuid else None


def links_for(volume_id: str, node: str, hypervisor: str, uuid: str | None) -> list[str]:
    """The udev links of the node: by-id for an NVMe volume, by-uuid for a filesystem."""
    links = [by_id_link(volume_id)] if hypervisor == "nitro" else []
    return links + ([BY_UUID + uuid] if uuid else [])


def _relative(link: str, node: str) -> str:
    return posixpath.relpath(node, posixpath.dirname(link))  # ../../nvme3n1, as udev writes them


def add_device(container: str, node: str, minor: int, links: Sequence[str] = ()) -> None:
    """Create the block device node for loop `minor` at `node` inside the running container, and its links."""
    script = [f"rm -f {node} && mknod -m 660 {node} b {LOOP_MAJOR} {minor}"]
    for link in links:
        script.append(f"mkdir -p {posixpath.dirname(link)} && ln -sfn {_relative(link, node)} {link}")
    podman.exec_in(container, ["sh", "-c", " && ".join(script)])


def remove_device(container: str, node: str, links: Sequence[str] = ()) -> None:
    podman.exec_in(container, ["rm", "-f", node, *links], check=False)


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


# --- attachments: which volume sits on which container, under which names (survives container restarts) ---


@dataclass
class Attachment:
    """One volume attached to a container host: the AWS device name and what the guest OS shows."""

    instance_id: str
    container: str
    device: str  # the name given to AttachVolume
    node: str = ""  # the block device node in the container (/dev/nvme3n1, /dev/xvdf)
    hypervisor: str = "xen"
    links: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Attachment:
        known = {
            k: raw[k]
            for k in ("instance_id", "container", "device", "node", "hypervisor", "links")
            if k in raw
        }
        att = cls(**known)  # type: ignore[arg-type]
        att.node = att.node or att.device  # records written before the guest names
        return att


@contextlib.contextmanager
def _locked_attachments() -> Iterator[dict[str, dict[str, object]]]:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with (STATE_DIR / "attachments.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data: dict[str, dict[str, object]] = (
            json.loads(ATTACHMENTS.read_text()) if ATTACHMENTS.exists() else {}
        )
        yield data
        tmp = ATTACHMENTS.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(ATTACHMENTS)


def _place(
    data: dict[str, dict[str, object]], volume_id: str, container: str, device: str, hypervisor: str
) -> str:
    """The guest node for a new attachment, given the container's other attachments in `data`."""
    mine = [
        Attachment.from_json(a) for v, a in data.items() if v != volume_id and a.get("container") == container
    ]
    taken = {n for n in (nvme_number(a.node) for a in mine) if n is not None}
    return guest_device(volume_id, device, hypervisor, taken, attach_order=len(mine) + 1)


def record_attachment(
    volume_id: str, instance_id: str, container: str, device: str, hypervisor: str = "xen"
) -> Attachment:
    """Record the attachment and pick its guest node (kept if the volume is recorded there already)."""
    with _locked_attachments() as data:
        old = data.get(volume_id)
        if old and old.get("container") == container and old.get("device") == device and old.get("node"):
            att = Attachment.from_json(old)
        else:
            node = _place(data, volume_id, container, device, hypervisor)
            att = Attachment(instance_id, container, device, node, hypervisor)
        data[volume_id] = asdict(att)
    return att


def _save(volume_id: str, att: Attachment) -> None:
    with _locked_attachments() as data:
        data[volume_id] = asdict(att)


def forget_attachment(volume_id: str) -> Attachment | None:
    with _locked_attachments() as data:
        raw = data.pop(volume_id, None)
    return Attachment.from_json(raw) if raw else None


def attachments() -> dict[str, Attachment]:
    raw = json.loads(ATTACHMENTS.read_text()) if ATTACHMENTS.exists() else {}
    return {v: Attachment.from_json(a) for v, a in raw.items()}


def clear_attachments() -> None:
    ATTACHMENTS.unlink(missing_ok=True)


# --- the operations the hooks and the seeding use ---


def _show(volume_id: str, att: Attachment, loop: str) -> None:
    """Make the node and its udev links in the container (the filesystem UUID probed now)."""
    att.links = links_for(volume_id, att.node, att.hypervisor, filesystem_uuid(loop))
    _save(volume_id, att)
    add_device(att.container, att.node, loop_minor(loop), att.links)


def attach(
    volume_id: str, instance_id: str, container: str, device: str, size_mib: int = 64, hypervisor: str = "xen"
) -> Attachment:
    """Loop device over the volume's file; the guest's device node and links in the container if it runs."""
    loop = ensure_loop(ensure_file(volume_id, size_mib))
    att = record_attachment(volume_id, instance_id, container, device, hypervisor)
    if podman.is_running(container):
        _show(volume_id, att, loop)
    return att


def detach(volume_id: str, container: str, device: str) -> None:
    att = forget_attachment(volume_id)
    if podman.is_running(container):
        node = att.node if att else device
        remove_device(container, node, att.links if att else [])
    release_loop(volume_file(volume_id))


def in_use(volume_id: str, container: str) -> bool:
    loop = loop_for(volume_file(volume_id))
    return loop is not None and mounted_in(container, loop_minor(loop))


def restore_devices(container: str) -> None:
    """After a container (re)starts: its /dev is new, so recreate the nodes (same names as before) and links
    of the volumes attached to it."""
    for volume_id, att in attachments().items():
        if att.container == container:
            _show(volume_id, att, ensure_loop(ensure_file(volume_id)))


def guest_node(volume_id: str) -> str | None:
    """The node the guest OS shows for an attached volume (None when the lab has no record of it)."""
    att = attachments().get(volume_id)
    return att.node if att else None


def remove_all() -> None:
    """Detach every lab loop device and delete every volume file."""
    for dev in our_loops():
        _losetup("--detach", dev)
    for path in VOLUME_DIR.glob("*.img"):
        path.unlink()
    clear_attachments()
