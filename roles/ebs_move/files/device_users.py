#!/usr/bin/python3
"""Who uses these block devices on this server (read-only): mounts of the device and of anything stacked on
it (md RAID, device-mapper/LVM holders), the holders themselves, and processes that hold the device or a
file on one of those filesystems (open files, cwd, root, mapped files). Prints JSON: {device: {...}}.

Used by the ebs_move role before it unmounts (what to unmount) and after (confirm nothing holds the device:
a detach of a device still in use hangs in `detaching`). Needs no fuser/lsof: only /proc and /sys."""

import json
import os
import stat
import sys


def devno(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.major(st.st_rdev), os.minor(st.st_rdev)) if stat.S_ISBLK(st.st_mode) else None


def holders(major, minor):
    """Devices stacked on this one (md, dm), recursively: [(name, (major, minor))]."""
    out = []
    base = f"/sys/dev/block/{major}:{minor}/holders"
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        try:
            with open(f"/sys/class/block/{name}/dev") as f:
                ma, mi = (int(x) for x in f.read().strip().split(":"))
        except OSError:
            continue
        out.append((name, (ma, mi)))
        out += holders(ma, mi)
    return out


def mounts(numbers):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            ma, mi = (int(x) for x in fields[2].split(":"))
            if (ma, mi) in numbers:
                sep = fields.index("-")
                found.append(
                    {
                        "target": fields[4].replace("\\040", " "),
                        "fstype": fields[sep + 1],
                        "source": fields[sep + 2],
                        "devno": f"{ma}:{mi}",
                    }
                )
    return found


def _on(path, numbers):
    try:
        st = os.stat(path)
    except OSError:
        return False
    dev = (os.major(st.st_dev), os.minor(st.st_dev))
    rdev = (os.major(st.st_rdev), os.minor(st.st_rdev)) if stat.S_ISBLK(st.st_mode) else None
    return dev in numbers or rdev in numbers


def processes(numbers):
    """Processes that hold one of these devices or a file on their filesystems."""
    me = os.getpid()
    found = []
    for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
        if pid == me:
            continue
        base = f"/proc/{pid}"
        via = []
        for what in ("cwd", "root", "exe"):
            if what != "root" and _on(f"{base}/{what}", numbers):
                via.append(what)
        try:
            fds = os.listdir(f"{base}/fd")
        except OSError:
            fds = []
        if any(_on(f"{base}/fd/{fd}", numbers) for fd in fds):
            via.append("open file")
        try:
            with open(f"{base}/maps") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 6:
                        ma, mi = (int(x, 16) for x in parts[3].split(":"))
                        if (ma, mi) in numbers and parts[4] != "0":
                            via.append("mapped file")
                            break
        except OSError:
            pass
        if via:
            try:
                with open(f"{base}/comm") as f:
                    comm = f.read().strip()
                with open(f"{base}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            found.append({"pid": pid, "comm": comm, "cmdline": cmdline[:200], "via": via})
    return found


def main(devices):
    report = {}
    for device in devices:
        number = devno(device)
        if number is None:
            report[device] = {"exists": False, "mounts": [], "holders": [], "processes": []}
            continue
        stacked = holders(*number)
        numbers = {number, *(n for _, n in stacked)}
        report[device] = {
            "exists": True,
            "devno": f"{number[0]}:{number[1]}",
            "holders": [name for name, _ in stacked],
            "mounts": mounts(numbers),
            "processes": processes(numbers),
        }
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
