#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ebs_block_devices: find EBS volumes' block devices on this host by volume ID, and who uses them."""

from __future__ import annotations

import os
import re
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: ebs_block_devices
short_description: Find EBS volumes' block devices on this host by volume ID, and who uses them
version_added: 0.2.0
description:
  - Runs B(on the host) (standard library, C(/proc), C(/sys) and C(blkid)), read-only. For each listed EBS
    volume it finds the block device the host's operating system shows for it, B(by volume ID), and reports
    the filesystem on it and everything that uses it - mounts of the device and of what is stacked on it (md
    RAID, device-mapper/LVM), the stacked devices themselves, and processes holding the device or a file on
    one of those filesystems (open files, cwd, root, executable, mapped files).
  - "The name given to C(AttachVolume) is not the name the OS uses. On Nitro instances (every current
    generation) EBS volumes are NVMe devices, C(/dev/nvme[0-26]n1), numbered in an order AWS does not promise;
    the volume ID (without the dash) is the NVMe serial number, which udev turns into
    C(/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...) on any distribution (EC2 user guide, Amazon EBS
    and NVMe). On Xen instances the kernel may rename C(/dev/sdh) to C(/dev/xvdh) (EC2 user guide, Device
    naming on Linux instances)."
  - So a volume's device is looked for, in order, at the NVMe by-id link of its volume ID, at the Xen name
    (C(/dev/sd*) renamed C(/dev/xvd*)), and at the name given to C(AttachVolume) (Amazon Linux links it to the
    NVMe device). A device found by name whose NVMe serial (C(/sys/class/block/*/device/serial)) is another
    volume's is refused. On Xen nothing can prove which volume a name is (Xen devices carry no serial).
  - With O(require) the module B(fails), naming each volume, this host and what holds the volume, when a
    volume's device cannot be found (V(present)), or also when a process holds it (V(idle), ready to be
    unmounted), or also when it is mounted or something is stacked on it (V(free), ready to be detached).
    Two listed volumes on the same device, or two with the same filesystem UUID (a volume restored from a
    snapshot of another, so that mounting by UUID would pick either), fail any O(require) too.
  - With O(wait_timeout) it waits until every listed volume's device is there (a volume just attached).
author:
  - clusterswap
options:
  volumes:
    description: The volumes to look for.
    type: list
    elements: dict
    required: true
    suboptions:
      volume_id:
        description: The EBS volume ID (C(vol-...)).
        type: str
        required: true
      device:
        description: The device name the volume is attached at, as given to C(AttachVolume) (C(/dev/sdf)).
        type: str
        required: true
      name:
        description: The volume's C(Name) tag, for messages.
        type: str
  require:
    description:
      - V(present) fails when a device cannot be found; V(idle) also when a process holds one; V(free) also
        when one is mounted or held by a RAID/LVM device. Omitted, the module only reports.
    type: str
    choices: [present, idle, free]
  refusal:
    description: What a failure refuses, first in its message (e.g. C(refusing to detach)).
    type: str
    default: refusing to go on
  server:
    description: This host's name in messages (default the host name).
    type: str
  wait_timeout:
    description: Seconds to wait until every listed volume's device is there (0 = look once).
    type: int
    default: 0
  poll_interval:
    description: Seconds between two looks while waiting.
    type: float
    default: 1
  probe:
    description: Probe each device's filesystem (C(blkid -p)) for its type, UUID and label.
    type: bool
    default: true
notes:
  - Supports check mode (it is read-only and runs the same).
"""

EXAMPLES = r"""
- name: "S.2 | EBS | Find the old server's volumes by volume ID; stop unless nothing holds them"
  clusterswap.swap.ebs_block_devices:
    volumes:
      - {volume_id: vol-0123456789abcdef0, device: /dev/xvdf, name: home-1}
    require: free
    refusal: refusing to detach
    server: "{{ inventory_hostname }}"

- name: "S.6 | Storage up | Wait for the attached volumes on the new server"
  clusterswap.swap.ebs_block_devices:
    volumes: "{{ storage_mount_volumes }}"
    require: present
    wait_timeout: 60
  register: attached
"""

RETURN = r"""
devices:
  description: One entry per listed volume, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    volume_id:
      description: The volume.
      type: str
    name:
      description: Its C(Name) tag, as given.
      type: str
    device:
      description: The C(AttachVolume) name, as given.
      type: str
      sample: /dev/xvdf
    present:
      description: Whether its block device was found.
      type: bool
    path:
      description: The block device node (symlinks resolved).
      type: str
      sample: /dev/nvme2n1
    found_by:
      description: C(nvme-by-id), C(xen-name) or C(attach-name); null when not found.
      type: str
    link:
      description: The name it was found at.
      type: str
      sample: /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0
    looked_for:
      description: Every name looked at, in order.
      type: list
      elements: str
    devno:
      description: C(major:minor).
      type: str
    fstype:
      description: The filesystem type (C(blkid)); null when none is recognised.
      type: str
    uuid:
      description: The filesystem UUID; null when none.
      type: str
    label:
      description: The filesystem label; null when none.
      type: str
    mounts:
      description: Mounts of the device or of one stacked on it (C(target), C(fstype), C(source), C(devno)).
      type: list
      elements: dict
    holders:
      description: Devices stacked on it (md, dm), recursively.
      type: list
      elements: str
    processes:
      description: Processes that hold it or a file on it (C(pid), C(comm), C(cmdline), C(via)).
      type: list
      elements: dict
    problems:
      description: What O(require) refuses about this volume.
      type: list
      elements: str
by_device:
  description: The same entries keyed by the C(AttachVolume) device name.
  returned: always
  type: dict
problems:
  description: Every problem (empty when O(require) is omitted or met).
  returned: always
  type: list
  elements: str
waited_seconds:
  description: Seconds spent waiting for devices to appear.
  returned: always
  type: float
"""

ARGUMENT_SPEC: dict[str, Any] = {
    "volumes": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "volume_id": {"type": "str", "required": True},
            "device": {"type": "str", "required": True},
            "name": {"type": "str"},
        },
    },
    "require": {"type": "str", "choices": ["present", "idle", "free"]},
    "refusal": {"type": "str", "default": "refusing to go on"},
    "server": {"type": "str"},
    "wait_timeout": {"type": "int", "default": 0},
    "poll_interval": {"type": "float", "default": 1},
    "probe": {"type": "bool", "default": True},
}

BY_ID = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
LEVELS = {"present": 1, "idle": 2, "free": 3}
Devno = tuple[int, int]


# --------------------------------------------------------------------------- finding the device


def nvme_serial(volume_id: str) -> str:
    """ "NVMe EBS volumes have the EBS volume ID set as the serial number" (vol-0ab -> vol0ab) [UG-NVMe]."""
    return volume_id.replace("-", "")


def xen_name(device: str) -> str:
    """/dev/sdh -> /dev/xvdh: "if you specify a device name of /dev/sdh, your device could be renamed
    /dev/xvdh" [UG-DeviceNaming]."""
    return "/dev/xvd" + device[len("/dev/sd") :] if device.startswith("/dev/sd") else device


def candidates(volume_id: str, device: str) -> list[tuple[str, str]]:
    """(name, how) to look at, most certain first: the NVMe by-id link of the volume ID (newer udev also
    makes one with the namespace appended, `_1`), the Xen name, the AttachVolume name."""
    by_id = BY_ID + nvme_serial(volume_id)
    out = [(by_id, "nvme-by-id"), (by_id + "_1", "nvme-by-id")]
    if xen_name(device) != device:
        out.append((xen_name(device), "xen-name"))
    out.append((device, "attach-name"))
    return out


def probe_path(path: str) -> tuple[str, Devno] | None:
    """(node, (major, minor)) when `path` is, or links to, a block device; None otherwise."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    return os.path.realpath(path), (os.major(st.st_rdev), os.minor(st.st_rdev))


def read_serial(node: str) -> str | None:
    """The NVMe serial of a namespace node (/sys/class/block/nvme1n1/device/serial), or None (not NVMe)."""
    try:
        with open(f"/sys/class/block/{os.path.basename(node)}/device/serial") as f:
            return f.read().strip() or None
    except OSError:
        return None


@dataclass
class Device:
    """One listed volume and what this host shows of it."""

    volume_id: str
    device: str
    name: str | None = None
    present: bool = False
    path: str | None = None
    found_by: str | None = None
    link: str | None = None
    looked_for: list[str] = field(default_factory=list)
    devno: str | None = None
    fstype: str | None = None
    uuid: str | None = None
    label: str | None = None
    mounts: list[dict[str, str]] = field(default_factory=list)
    holders: list[str] = field(default_factory=list)
    processes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def label_text(self) -> str:
        named = f"{self.name}, " if self.name else ""
        return f"{self.volume_id} ({named}{self.device})"


def find(
    volume_id: str,
    device: str,
    probe: Callable[[str], tuple[str, Devno] | None] | None = None,
    serial: Callable[[str], str | None] | None = None,
) -> tuple[Device, Devno | None, str | None]:
    """Find the volume's node. Returns the Device, its devno, and a problem when a name led to the wrong
    volume (an NVMe device whose serial is another volume's)."""
    probe = probe or probe_path
    serial = serial or read_serial
    dev = Device(volume_id=volume_id, device=device)
    for path, how in candidates(volume_id, device):
        dev.looked_for.append(path)
        found = probe(path)
        if found is None:
            continue
        node, number = found
        other = serial(node)
        if other and other != nvme_serial(volume_id):
            return (
                dev,
                None,
                (f"{path} is {node}, whose NVMe serial is {other}: another volume, not {volume_id}"),
            )
        dev.present, dev.path, dev.found_by, dev.link = True, node, how, path
        dev.devno = f"{number[0]}:{number[1]}"
        return dev, number, None
    return dev, None, None


# --------------------------------------------------------------------------- who uses it


def holders(major: int, minor: int, sys_root: str = "/sys") -> list[tuple[str, Devno]]:
    """Devices stacked on this one (md, dm), recursively: [(name, (major, minor))]."""
    out: list[tuple[str, Devno]] = []
    base = f"{sys_root}/dev/block/{major}:{minor}/holders"
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        try:
            with open(f"{sys_root}/class/block/{name}/dev") as f:
                ma, mi = (int(x) for x in f.read().strip().split(":"))
        except (OSError, ValueError):
            continue
        out.append((name, (ma, mi)))
        out += holders(ma, mi, sys_root)
    return out


def _unescape(text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mounts(numbers: set[Devno], mountinfo: str) -> list[dict[str, str]]:
    """Mounts (from /proc/self/mountinfo text) of any of these devices."""
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 10 or "-" not in fields:
            continue
        ma, mi = (int(x) for x in fields[2].split(":"))
        if (ma, mi) in numbers:
            sep = fields.index("-")
            found.append(
                {
                    "target": _unescape(fields[4]),
                    "fstype": fields[sep + 1],
                    "source": _unescape(fields[sep + 2]),
                    "devno": f"{ma}:{mi}",
                }
            )
    return found


def _on(path: str, numbers: set[Devno]) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    dev = (os.major(st.st_dev), os.minor(st.st_dev))
    rdev = (os.major(st.st_rdev), os.minor(st.st_rdev)) if stat.S_ISBLK(st.st_mode) else None
    return dev in numbers or rdev in numbers


def _read(path: str, binary: bool = False) -> Any:
    with open(path, "rb" if binary else "r") as f:
        return f.read()


def processes(numbers: set[Devno], proc: str = "/proc") -> list[dict[str, Any]]:
    """Processes that hold one of these devices or a file on their filesystems (not this one)."""
    me = os.getpid()
    found = []
    for pid in sorted(int(p) for p in os.listdir(proc) if p.isdigit()):
        if pid == me:
            continue
        base = f"{proc}/{pid}"
        via = [what for what in ("cwd", "exe") if _on(f"{base}/{what}", numbers)]
        try:
            chrooted = os.readlink(f"{base}/root") != "/"
        except OSError:
            chrooted = False
        if chrooted and _on(f"{base}/root", numbers):
            via.append("root")  # chrooted onto the volume
        try:
            fds = os.listdir(f"{base}/fd")
        except OSError:
            fds = []
        if any(_on(f"{base}/fd/{fd}", numbers) for fd in fds):
            via.append("open file")
        try:
            for line in _read(f"{base}/maps").splitlines():
                parts = line.split()
                if len(parts) >= 6 and parts[4] != "0":
                    ma, mi = (int(x, 16) for x in parts[3].split(":"))
                    if (ma, mi) in numbers:
                        via.append("mapped file")
                        break
        except (OSError, ValueError):
            pass
        if not via:
            continue
        try:
            comm = _read(f"{base}/comm").strip()
            cmdline = _read(f"{base}/cmdline", binary=True).replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found.append({"pid": pid, "comm": comm, "cmdline": cmdline.strip()[:200], "via": via})
    return found


def parse_blkid(output: str) -> dict[str, str]:
    """`blkid -p -o export` lines (KEY=value) -> {KEY: value}."""
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def blkid_tags(module: AnsibleModule, path: str) -> dict[str, str]:
    """TYPE, UUID, LABEL of the filesystem on `path`, probed from the device itself (not blkid's cache)."""
    rc, out, _ = module.run_command(["blkid", "-p", "-o", "export", path])
    return parse_blkid(out) if rc == 0 else {}


def read_mountinfo() -> str:
    return str(_read("/proc/self/mountinfo"))


# --------------------------------------------------------------------------- what require refuses


def problems_of(dev: Device, level: int, server: str) -> list[str]:
    """What `require` (level 1 present, 2 idle, 3 free) refuses about one volume."""
    where = f"{dev.label_text} on {server}"
    if level < 1:
        return []
    if not dev.present:
        return [
            f"{where}: no block device found (looked for {', '.join(dev.looked_for)}): is the volume "
            "attached to this server? Its filesystem can't be checked, so it is not touched"
        ]
    out = []
    mounted = ", ".join(m["target"] for m in dev.mounts) or "not mounted"
    if level >= 2:
        out += [
            f"{where} ({dev.path}, {mounted}) is held by pid {p['pid']} {p['comm']} ({', '.join(p['via'])}: "
            f"{p['cmdline']}): stop it (or its service)"
            for p in dev.processes
        ]
    if level >= 3:
        out += [f"{where} ({dev.path}) is still mounted on {m['target']}: unmount it" for m in dev.mounts]
        out += [
            f"{where} ({dev.path}) is held by {h} (RAID/LVM on it: stop it, or list it in raid/lvm of this "
            "server)"
            for h in dev.holders
        ]
    return out


def shared_problems(devices: list[Device], server: str) -> list[str]:
    """Two volumes on one node, or two filesystems with one UUID, among the present ones."""
    out = []
    for attr, what in (("path", "the same block device"), ("uuid", "the same filesystem UUID")):
        seen: dict[str, Device] = {}
        for dev in devices:
            value = getattr(dev, attr)
            if not dev.present or not value:
                continue
            if value in seen:
                first = seen[value]
                hint = (
                    ": a volume restored from a snapshot of the other? Mounting by UUID would pick either; "
                    "give one a new UUID (tune2fs -U random, xfs_admin -U generate) before the window"
                    if attr == "uuid"
                    else ""
                )
                out.append(f"{first.label_text} and {dev.label_text} on {server} have {what} {value}{hint}")
            else:
                seen[value] = dev
    return out


# --------------------------------------------------------------------------- the run


def look(module: AnsibleModule, volume: dict[str, Any], mountinfo: str) -> Device:
    dev, number, wrong = find(volume["volume_id"], volume["device"])
    dev.name = volume.get("name")
    if wrong:
        dev.problems.append(f"{dev.label_text}: {wrong}")
    if number is None:
        return dev
    stacked = holders(*number)
    numbers = {number, *(n for _, n in stacked)}
    dev.holders = [name for name, _ in stacked]
    dev.mounts = mounts(numbers, mountinfo)
    dev.processes = processes(numbers)
    if module.params["probe"] and dev.path:
        tags = blkid_tags(module, dev.path)
        dev.fstype, dev.uuid, dev.label = tags.get("TYPE"), tags.get("UUID"), tags.get("LABEL")
    return dev


def look_all(module: AnsibleModule) -> tuple[list[Device], float]:
    """Look at every volume, waiting (wait_timeout) until every device is there."""
    p = module.params
    start = time.monotonic()
    while True:
        mountinfo = read_mountinfo()
        devices = [look(module, v, mountinfo) for v in p["volumes"]]
        waited = time.monotonic() - start
        if all(d.present for d in devices) or waited >= p["wait_timeout"]:
            return devices, round(waited, 1)
        time.sleep(min(p["poll_interval"], max(0.0, p["wait_timeout"] - waited)))


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    server = p["server"] or socket.gethostname()
    devices, waited = look_all(module)
    level = LEVELS.get(p["require"] or "", 0)
    for dev in devices:
        dev.problems += problems_of(dev, level, server)
    problems = [q for d in devices for q in d.problems]
    if level:
        problems += shared_problems(devices, server)
    entries = [asdict(dev) for dev in devices]
    result = {
        "changed": False,
        "devices": entries,
        "by_device": {e["device"]: e for e in entries},
        "problems": problems,
        "waited_seconds": waited,
    }
    if level and problems:
        module.fail_json(
            msg=f"{server}: {p['refusal']}: " + " | ".join(problems) + ". Nothing was changed by this check.",
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
