"""Another inventory on the lab (`make swap INVENTORY=inventories/staging`): inventories/staging with the lab
overlay (lab/overlay) on top, against the simulated AWS. The overlay changes how the lab's containers are
reached and says what the lab's network is; the hosts, groups and plan stay staging's."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import yaml

from lab.awssim.client import LabClient
from lab.hosts.world import REPO
from lab.labctl import LAB_CREDENTIALS, OVERLAY, playbook_args

STAGING = "inventories/staging"
#: what the overlay may set: the lab's network, and a record that lives and dies with the lab
LAB_FACTS = {
    "clusterswap_office_networks",
    "clusterswap_office_source",
    "clusterswap_proxy_protocol",
    "clusterswap_proxy_protocol_trusted",
    "clusterswap_bypass_proxy_protocol",
    "clusterswap_record",
}


def ansible(tool: str, url: str, *args: str) -> str:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "AWS_ENDPOINT_URL": url}
    env.update(LAB_CREDENTIALS)
    inventories = playbook_args(STAGING)[:4]  # -i staging -i overlay
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / tool), *inventories, *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def plain(value: Any) -> Any:
    """ansible-inventory's JSON without its wrapping of untrusted strings ({"__ansible_unsafe": "..."})."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    return [plain(v) for v in value] if isinstance(value, list) else value


def test_the_overlay_reaches_the_containers_and_leaves_the_plan_to_staging(
    lab_url: str, lab: LabClient, aws: Any
) -> None:
    lab.seed("default")
    describe = aws("ec2").get_paginator("describe_instances")
    pages = describe.paginate(Filters=[{"Name": "tag-key", "Values": ["lab:host"]}])
    with_container = {
        tag["Value"]
        for page in pages
        for reservation in page["Reservations"]
        for instance in reservation["Instances"]
        for tag in instance["Tags"]
        if tag["Key"] == "Name"
    }
    inventory: dict[str, Any] = plain(json.loads(ansible("ansible-inventory", lab_url, "--list")))
    hostvars = inventory["_meta"]["hostvars"]
    lab_hosts = set(inventory["lab_hosts"]["hosts"])
    assert lab_hosts == with_container
    assert {"maint-1", "old-lb-1", "new-lb-1", "new-housekeeping-1"} <= lab_hosts
    for name, host in hostvars.items():
        if name in lab_hosts:  # a container, reached as the lab reaches it
            assert host["ansible_connection"] == "containers.podman.podman", name
            assert host["ansible_host"] == host["tags"]["lab:host"], name
        elif name != "localhost":  # only in the simulated AWS: staging's own way, never run on (--limit)
            assert host["ansible_host"] == host["private_ip_address"], name
            assert "ansible_connection" not in host, name
    assert hostvars["localhost"]["ansible_connection"] == "local"
    assert inventory["maintenance"]["hosts"] == ["maint-1"]
    assert playbook_args(STAGING)[4:] == ["--limit", "localhost:lab_hosts"]

    # the plan is staging's; the network facts are the lab's
    seen = json.loads(
        ansible(
            "ansible", lab_url, "localhost", "-o", "-m", "ansible.builtin.debug", "-a",
            "msg={{ {'map': clusterswap_instance_map, 'office': clusterswap_office_source,"
            " 'env': clusterswap_aws_environment} | to_json }}",
        ).split("=>", 1)[1]
    )["msg"]  # fmt: skip
    staging = yaml.safe_load((REPO / STAGING / "group_vars/all/swap.yml").read_text())
    assert json.loads(seen) == {
        "map": staging["clusterswap_instance_map"],
        "office": "127.10.0.5",
        "env": staging["clusterswap_aws_environment"],
    }


def test_the_overlay_sets_only_the_labs_network() -> None:
    overlay = yaml.safe_load((REPO / OVERLAY / "group_vars/all/on-the-lab.yml").read_text())
    assert set(overlay) <= LAB_FACTS, set(overlay) - LAB_FACTS
