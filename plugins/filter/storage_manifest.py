# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The storage move's safety proof: checksum manifests of every file, taken before and after, and their diff.

A manifest is {volume_id: {name, old, new, device, mountpoint, files: {path: sha256}}}; ebs_move takes it on
the old servers before unmounting, storage_check on the new servers after mounting, and every file must be
there, byte for byte. Documentation: the sidecar YAML beside this file, one per filter."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

_LINE = re.compile(r"^(?P<escaped>\\?)(?P<digest>[0-9a-f]{64}) [ *](?P<path>.*)$")
_UNESCAPE = {"\\\\": "\\", "\\n": "\n", "\\r": "\r"}
# Fields of a volume that the manifest keeps beside its files.
VOLUME_FIELDS = ("name", "old", "new", "device", "mountpoint")


def _unescape(path: str) -> str:
    return re.sub(r"\\[\\nr]", lambda m: _UNESCAPE[m.group(0)], path)


def sha256sum_files(lines: Iterable[str]) -> dict[str, str]:
    """{path: digest} from `sha256sum` output run on `./relative` paths (the leading `./` dropped).

    A name with a backslash or a newline is written escaped by sha256sum (a leading `\\`); it is unescaped."""
    files: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        match = _LINE.match(line)
        if not match:
            raise AnsibleFilterError(
                f"sha256sum_files: not a line of sha256sum output: {line[:120]!r} "
                "(expected '<64 hex digits>  ./path')"
            )
        path = match["path"]
        if match["escaped"]:
            path = _unescape(path)
        files[path.removeprefix("./")] = match["digest"]
    return files


def manifest_diff(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, list[str]]:
    """Files missing after, changed (another digest) and extra (not there before), each sorted."""
    return {
        "missing": sorted(set(before) - set(after)),
        "changed": sorted(f for f in set(before) & set(after) if before[f] != after[f]),
        "extra": sorted(set(after) - set(before)),
    }


def checksum_manifest(results: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The manifest from a checksum task's loop results, keyed by volume ID.

    Each result's `item` is a volume ({volume_id, name, device, mountpoint, ...}) and its `stdout_lines` the
    sha256sum output of that mount point. Skipped and failed results (rc other than 0: not mounted) are left
    out."""
    manifest: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.get("skipped") or result.get("rc", 0) != 0 or "stdout_lines" not in result:
            continue
        item = result["item"]
        if "volume_id" not in item:
            raise AnsibleFilterError(f"checksum_manifest: the loop item has no volume_id: {dict(item)!r}")
        entry = {k: item.get(k) for k in VOLUME_FIELDS}
        entry["files"] = sha256sum_files(result["stdout_lines"])
        manifest[item["volume_id"]] = entry
    return manifest


def checksums_by_device(results: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """{device: {mountpoint, files}} from a checksum task's loop results (item = {device, mountpoint}).

    Skipped and failed results (rc other than 0: not mounted) are left out."""
    sums: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.get("skipped") or result.get("rc", 0) != 0 or "stdout_lines" not in result:
            continue
        item = result["item"]
        sums[item["device"]] = {
            "mountpoint": item["mountpoint"],
            "files": sha256sum_files(result["stdout_lines"]),
        }
    return sums


def manifest_after(
    volumes: Iterable[Mapping[str, Any]], sums: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """The manifest after the move: each volume (as manifest_volumes gives them) with the checksums its new
    server took at its device (`sums`: {server: checksums_by_device}). A volume without them is left out."""
    manifest = {}
    for v in volumes:
        taken = (sums.get(v["new"]) or {}).get(v["device"])
        if taken is not None:
            manifest[v["volume_id"]] = {k: v.get(k) for k in VOLUME_FIELDS} | {
                "mountpoint": taken["mountpoint"],
                "files": dict(taken["files"]),
            }
    return manifest


def manifest_volumes(
    before: Mapping[str, Mapping[str, Any]],
    mounts: Mapping[str, Mapping[str, str]],
    servers: Iterable[str],
) -> list[dict[str, Any]]:
    """The volumes of the manifest before that moved to one of `servers` which mounts their device there.

    Each as {volume_id, name, old, new, device, mountpoint} with the mount point on the new server (from
    `mounts`: {server: {device: mountpoint}}), sorted by volume ID."""
    servers = set(servers)
    volumes = []
    for volume_id, v in sorted(before.items()):
        where = mounts.get(v.get("new"), {}) or {}
        if v.get("new") in servers and v.get("device") in where:
            volumes.append(
                {"volume_id": volume_id, "name": v.get("name"), "old": v.get("old"), "new": v["new"]}
                | {"device": v["device"], "mountpoint": where[v["device"]]}
            )
    return volumes


def _listed(kind: str, files: list[str], limit: int) -> str:
    more = f" and {len(files) - limit} more" if len(files) > limit else ""
    return f"{len(files)} {kind} {files[:limit]!r}{more}"


def manifest_problems(
    before: Mapping[str, Mapping[str, Any]],
    after: Mapping[str, Mapping[str, Any]],
    volumes: Iterable[Mapping[str, Any]] | None = None,
    limit: int = 5,
) -> list[str]:
    """One message per volume whose files differ after the move, naming the first `limit` of each kind.

    `volumes` (as manifest_volumes gives them) says which volumes of `before` must be in `after`; by default
    every one. A volume missing from `after` is not mounted on its new server."""
    wanted = [v["volume_id"] for v in volumes] if volumes is not None else sorted(before)
    problems = []
    for volume_id in wanted:
        v = before[volume_id]
        a = after.get(volume_id)
        if a is None:
            problems.append(
                f"{volume_id} ({v.get('name')}, {v.get('device')}) is not mounted on {v.get('new')}"
            )
            continue
        diff = manifest_diff(v.get("files", {}), a.get("files", {}))
        if any(diff.values()):
            problems.append(
                f"{volume_id} ({v.get('name')}, {v.get('old')} {v.get('device')} -> "
                f"{a.get('new')} {a.get('mountpoint')}): "
                + ", ".join(_listed(kind, diff[kind], limit) for kind in ("missing", "changed", "extra"))
            )
    return problems


def manifest_samples(after: Mapping[str, Mapping[str, Any]], per_volume: int) -> list[dict[str, str]]:
    """The first `per_volume` files (by path) of each volume: {volume, server, path (absolute), sha256}."""
    samples = []
    for volume_id, v in sorted(after.items()):
        for path in sorted(v["files"])[:per_volume]:
            samples.append(
                {"volume": volume_id, "server": v["new"], "path": f"{v['mountpoint'].rstrip('/')}/{path}"}
                | {"sha256": v["files"][path]}
            )
    return samples


class FilterModule:
    """Checksum manifests of the storage move."""

    def filters(self) -> dict[str, Any]:
        return {
            "sha256sum_files": sha256sum_files,
            "manifest_diff": manifest_diff,
            "checksum_manifest": checksum_manifest,
            "checksums_by_device": checksums_by_device,
            "manifest_after": manifest_after,
            "manifest_volumes": manifest_volumes,
            "manifest_problems": manifest_problems,
            "manifest_samples": manifest_samples,
        }
