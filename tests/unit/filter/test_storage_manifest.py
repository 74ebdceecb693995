"""The storage move's safety proof (plugins/filter/storage_manifest.py): sha256sum output parsed, manifests
built from checksum loop results, and every missing, changed or extra file named."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.clusterswap.swap.plugins.filter import storage_manifest as m

A = "a" * 64
B = "b" * 64
C = "c" * 64


def before(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        "vol-1": {"name": "home-1", "old": "old-1", "new": "new-1", "device": "/dev/xvdf"}
        | {"mountpoint": "/srv/home", "files": files}
    }


def after(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        "vol-1": {"name": "home-1", "old": "old-1", "new": "new-1", "device": "/dev/xvdf"}
        | {"mountpoint": "/srv/home", "files": files}
    }


def test_sha256sum_lines_become_paths_and_digests() -> None:
    lines = [f"{A}  ./alice/.bashrc", f"{B}  ./bob/data.bin", ""]
    assert m.sha256sum_files(lines) == {"alice/.bashrc": A, "bob/data.bin": B}


def test_an_escaped_name_is_unescaped() -> None:
    assert m.sha256sum_files([f"\\{A}  ./odd\\nname\\\\x"]) == {"odd\nname\\x": A}


def test_a_line_that_is_not_sha256sum_output_fails() -> None:
    with pytest.raises(
        AnsibleFilterError, match=r"not a line of sha256sum output: 'sha256sum: \./x: Permission denied'"
    ):
        m.sha256sum_files(["sha256sum: ./x: Permission denied"])


def test_diff_names_missing_changed_and_extra_files_sorted() -> None:
    diff = m.manifest_diff(
        {"z": A, "a": A, "same": B, "changed": A}, {"same": B, "changed": C, "new2": A, "new1": A}
    )
    assert diff == {"missing": ["a", "z"], "changed": ["changed"], "extra": ["new1", "new2"]}


def test_identical_manifests_have_no_diff() -> None:
    assert m.manifest_diff({"a": A}, {"a": A}) == {"missing": [], "changed": [], "extra": []}


def test_the_manifest_of_checksum_results_keeps_mounted_volumes_only() -> None:
    entry = {"name": "home-1", "old": "old-1", "new": "new-1", "device": "/dev/xvdf"}
    vol = {"volume_id": "vol-1"} | entry
    results = [
        {
            "item": vol | {"mountpoint": "/srv/home", "path": "/dev/xvdf"},
            "rc": 0,
            "stdout_lines": [f"{A}  ./f"],
        },
        {"item": vol | {"volume_id": "vol-2", "mountpoint": "/srv/x"}, "skipped": True},
        {"item": vol | {"volume_id": "vol-3", "mountpoint": "/srv/y"}, "rc": 1, "stdout_lines": []},
    ]
    assert m.checksum_manifest(results) == {"vol-1": entry | {"mountpoint": "/srv/home", "files": {"f": A}}}


def test_a_checksum_result_without_a_volume_id_fails() -> None:
    with pytest.raises(AnsibleFilterError, match="no volume_id"):
        m.checksum_manifest([{"item": {"device": "/dev/xvdf"}, "rc": 0, "stdout_lines": []}])


def test_checksums_by_device_leave_unmounted_ones_out() -> None:
    results = [
        {"item": {"device": "/dev/xvdf", "mountpoint": "/srv/home"}, "rc": 0, "stdout_lines": [f"{A}  ./f"]},
        {"item": {"device": "/dev/xvdg", "mountpoint": "/srv/home2"}, "rc": 1, "stdout_lines": []},
    ]
    assert m.checksums_by_device(results) == {"/dev/xvdf": {"mountpoint": "/srv/home", "files": {"f": A}}}


def test_the_volumes_of_a_check_are_those_moved_to_a_checked_server_that_mounts_them() -> None:
    manifest = before({"f": A}) | {
        "vol-2": {"name": "pg", "old": "old-pg", "new": "new-pg", "device": "/dev/xvdp", "files": {}},
        "vol-3": {"name": "other", "old": "old-1", "new": "new-1", "device": "/dev/xvdz", "files": {}},
    }
    mounts = {"new-1": {"/dev/xvdf": "/srv/home2"}, "new-pg": {"/dev/xvdp": "/srv/pgdata"}}
    assert m.manifest_volumes(manifest, mounts, ["new-1"]) == [
        {"volume_id": "vol-1", "name": "home-1", "old": "old-1", "new": "new-1", "device": "/dev/xvdf"}
        | {"mountpoint": "/srv/home2"}
    ]


def test_the_manifest_after_joins_the_new_servers_checksums_by_device() -> None:
    volumes = m.manifest_volumes(before({"f": A}), {"new-1": {"/dev/xvdf": "/srv/home"}}, ["new-1"])
    sums = {"new-1": {"/dev/xvdf": {"mountpoint": "/srv/home", "files": {"f": A}}}}
    assert m.manifest_after(volumes, sums) == after({"f": A})
    assert m.manifest_after(volumes, {"new-1": {}}) == {}


def test_identical_files_are_no_problem() -> None:
    assert m.manifest_problems(before({"f": A, "g": B}), after({"f": A, "g": B})) == []


def test_a_missing_file_is_named() -> None:
    (problem,) = m.manifest_problems(before({"f": A, "gone": B}), after({"f": A}))
    assert problem == (
        "vol-1 (home-1, old-1 /dev/xvdf -> new-1 /srv/home): 1 missing ['gone'], 0 changed [], 0 extra []"
    )


def test_a_changed_file_is_named() -> None:
    (problem,) = m.manifest_problems(before({"bob/data.bin": A}), after({"bob/data.bin": B}))
    assert "0 missing [], 1 changed ['bob/data.bin'], 0 extra []" in problem


def test_an_extra_file_is_named() -> None:
    (problem,) = m.manifest_problems(before({"f": A}), after({"f": A, "new": C}))
    assert problem.endswith("0 missing [], 0 changed [], 1 extra ['new']")


def test_the_message_names_the_first_few_and_counts_the_rest() -> None:
    files = {f"f{i:02}": A for i in range(12)}
    (problem,) = m.manifest_problems(before(files), after({}), limit=3)
    assert "12 missing ['f00', 'f01', 'f02'] and 9 more" in problem


def test_a_volume_not_mounted_after_is_a_problem() -> None:
    assert m.manifest_problems(before({"f": A}), {}) == ["vol-1 (home-1, /dev/xvdf) is not mounted on new-1"]


def test_only_the_volumes_of_the_check_are_compared() -> None:
    manifest = before({"f": A}) | {
        "vol-9": {"name": "x", "new": "elsewhere", "device": "/dev/xvdq", "files": {"a": A}}
    }
    volumes = [{"volume_id": "vol-1"}]
    assert m.manifest_problems(manifest, after({"f": A}), volumes) == []


def test_samples_are_the_first_files_of_each_volume_with_absolute_paths() -> None:
    samples = m.manifest_samples(after({"b": B, "a": A, "c": C}), 2)
    assert samples == [
        {"volume": "vol-1", "server": "new-1", "path": "/srv/home/a", "sha256": A},
        {"volume": "vol-1", "server": "new-1", "path": "/srv/home/b", "sha256": B},
    ]


def test_the_filters_are_exported_by_name() -> None:
    assert {"sha256sum_files", "manifest_diff", "manifest_problems"} <= set(m.FilterModule().filters())
