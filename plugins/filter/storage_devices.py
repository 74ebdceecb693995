# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Block devices of moved EBS volumes: what holds them on the old server, and how each becomes a mounted,
checked filesystem on the new one. Inputs are what ebs_block_devices and amazon.aws.ec2_instance_info return.
Documentation: the sidecar YAML beside this file, one per filter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

EXT = ("ext2", "ext3", "ext4")


def volume_ids_by_device(instances: list[Mapping[str, Any]]) -> dict[str, str]:
    """{AttachVolume device name: volume ID} of the instances' EBS volumes (ec2_instance_info)."""
    ids: dict[str, str] = {}
    for instance in instances:
        for mapping in instance.get("block_device_mappings") or []:
            ebs = mapping.get("ebs") or {}
            if ebs.get("volume_id"):
                ids[mapping["device_name"]] = ebs["volume_id"]
    return ids


def attached_volumes(mounts: Mapping[str, str], ids: Mapping[str, str]) -> list[dict[str, str]]:
    """[{volume_id, device}] of each device to mount ({device: mountpoint}) that has a volume attached."""
    return [{"volume_id": ids[device], "device": device} for device in mounts if device in ids]


def mount_states(
    mounts: Mapping[str, str], found: Mapping[str, Mapping[str, Any]], ids: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """{device: {present, path, volume_id, fstype, uuid, mounted}} of each device to mount.

    `found` is ebs_block_devices' by_device; `mounted` means mounted at its own mount point already."""
    states = {}
    for device, mountpoint in mounts.items():
        d = found.get(device) or {}
        states[device] = {
            "present": bool(d.get("present")),
            "path": d.get("path"),
            "volume_id": d.get("volume_id") or ids.get(device),
            "fstype": d.get("fstype"),
            "uuid": d.get("uuid"),
            "mounted": any(m.get("target") == mountpoint for m in d.get("mounts") or []),
        }
    return states


def blank_volumes(states: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A message per device that is there but holds no filesystem with a UUID (nothing to mount by UUID)."""
    return [
        f"{s['volume_id']} ({device}, {s['path']}) holds no filesystem blkid recognises"
        for device, s in states.items()
        if s["present"] and not (s["fstype"] and s["uuid"])
    ]


def fsck_argv(state: Mapping[str, Any]) -> list[str]:
    """The read-only check of a device's filesystem: e2fsck -n -f, xfs_repair -n, else fsck -n."""
    path = state.get("path")
    if not path:
        raise AnsibleFilterError(f"fsck_argv: no device path to check in {dict(state)!r}")
    if state.get("fstype") in EXT:
        return ["e2fsck", "-n", "-f", path]
    if state.get("fstype") == "xfs":
        return ["xfs_repair", "-n", path]
    return ["fsck", "-n", path]


def fsck_refusals(
    results: Iterable[Mapping[str, Any]], states: Mapping[str, Mapping[str, Any]], server: str
) -> list[str]:
    """A refusal per failed read-only check (a loop result with rc other than 0), naming volume, device,
    server, mount point, the command, its exit code and the last lines it printed."""
    refusals = []
    for r in results:
        if "rc" not in r or r["rc"] == 0:
            continue
        item = r["item"]
        s = states[item["device"]]
        output = [line for line in list(r.get("stdout_lines", [])) + list(r.get("stderr_lines", [])) if line]
        refusals.append(
            f"REFUSING to mount {s['volume_id']} ({item['device']}, {s['path']}) "
            f"on {server} at {item['path']}: "
            f"the read-only check ({' '.join(r.get('cmd') or [])}) failed with exit code {r['rc']}: "
            + " / ".join(output[-5:])
            + "."
        )
    return refusals


def mounted_volumes(devices: Iterable[Mapping[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    """The found volumes that hold a mounted filesystem (directly or through a holder such as md or LVM), as
    {volume_id, name, old, new, device, path, mountpoint}: what the manifest before is taken of."""
    return [
        {"volume_id": d["volume_id"], "name": d.get("name"), "old": old, "new": new, "device": d["device"]}
        | {"path": d.get("path"), "mountpoint": d["mounts"][0]["target"]}
        for d in devices
        if d.get("mounts")
    ]


def unmount_order(devices: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every mount of the devices and of what is stacked on them, once each, deepest mount point first."""
    by_target: dict[str, Mapping[str, Any]] = {}
    for d in devices:
        for mount in d.get("mounts") or []:
            by_target.setdefault(mount["target"], mount)
    return [
        dict(by_target[t])
        for t in sorted(by_target, key=lambda t: (t.rstrip("/").count("/"), t), reverse=True)
    ]


class FilterModule:
    """Block devices of the storage move."""

    def filters(self) -> dict[str, Any]:
        return {
            "volume_ids_by_device": volume_ids_by_device,
            "attached_volumes": attached_volumes,
            "mount_states": mount_states,
            "blank_volumes": blank_volumes,
            "fsck_argv": fsck_argv,
            "fsck_refusals": fsck_refusals,
            "mounted_volumes": mounted_volumes,
            "unmount_order": unmount_order,
        }
