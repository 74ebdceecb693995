"""Pre-flight's storage and RDS checks as a user meets them: playbooks/preflight.yml on the lab inventory
against the simulated AWS server (vpc-to-vpc), and the ebs_move role on an old server whose devices can't
be found.

What AWS would refuse halfway through the window - after a volume is detached - must stop the swap before
it: a volume in another zone than its new server, a new server with no attachment left, two volumes aimed
at one device of one server, an RDS DB that can't move (read replicas). Nothing may change. A volume whose
device the old server does not show is never detached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.integration.conftest import REPO, ansible_playbook


def ec2(url: str) -> Any:
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="t",
    )


def rds(url: str) -> Any:
    return boto3.client(
        "rds",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="t",
    )


@pytest.fixture
def world(lab: Any, lab_url: str) -> dict[str, Any]:
    lab.seed("vpc-to-vpc")
    lab.set_latency(0.0)
    return lab.world()  # type: ignore[no-any-return]


def volumes(url: str) -> dict[str, tuple[str | None, str | None, str]]:
    """Volume ID -> (instance, device, state) of every volume."""
    out = {}
    for v in ec2(url).describe_volumes()["Volumes"]:
        att = next(iter(v.get("Attachments") or []), {})
        out[v["VolumeId"]] = (att.get("InstanceId"), att.get("Device"), v["State"])
    return out


def launch(url: str, world: dict[str, Any], name: str, zone: str) -> str:
    subnets = ec2(url).describe_subnets(Filters=[{"Name": "vpc-id", "Values": [world["vpc_id"]]}])["Subnets"]
    subnet = next(s["SubnetId"] for s in subnets if s["AvailabilityZone"] == zone)
    inst = ec2(url).run_instances(
        ImageId="ami-12c6146b",
        InstanceType="m4.large",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
    )["Instances"][0]["InstanceId"]
    return str(inst)


def test_storage_and_rds_problems_stop_the_swap_in_preflight_with_nothing_changed(
    world: dict[str, Any], lab_url: str, tmp_path: Path
) -> None:
    url = lab_url
    # 1. a volume in another zone: an old server in us-east-1b with its volume, bound for new-storage-2 (1a)
    far = launch(url, world, "old-storage-9", "us-east-1b")
    far_vol = ec2(url).create_volume(AvailabilityZone="us-east-1b", Size=1)["VolumeId"]
    ec2(url).attach_volume(VolumeId=far_vol, InstanceId=far, Device="/dev/xvdf")
    # 2. a full new server: new-logstorage-1 (m5.large, Nitro) with 27 volumes and 1 interface: 28 attachments
    full = world["instances"]["new-logstorage-1"]
    for name in [f"/dev/xvd{c}" for c in "ghijklmnopqrstuvwxyz"] + [f"/dev/xvdb{c}" for c in "abcdef"]:
        vol = ec2(url).create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        ec2(url).attach_volume(VolumeId=vol, InstanceId=full, Device=name)
    # 3. two volumes aimed at one device of one server: old-storage-2's /dev/xvdf also to new-storage-1
    servers = [
        {"old": "old-storage-1", "new": "new-storage-1", "devices": ["/dev/xvdf", "/dev/xvdg"]},
        {"old": "old-storage-2", "new": "new-storage-1", "devices": ["/dev/xvdf"], "host_steps": False},
        {"old": "old-logstorage-1", "new": "new-logstorage-1", "devices": ["/dev/xvdf"], "host_steps": False},
        {"old": "old-storage-9", "new": "new-storage-2", "devices": ["/dev/xvdf"], "host_steps": False},
    ]
    # 4. RDS: mysql-1 with a read replica can't change VPC
    rds(url).create_db_instance_read_replica(
        DBInstanceIdentifier="mysql-1-replica", SourceDBInstanceIdentifier="mysql-1"
    )
    before = volumes(url)
    proc = ansible_playbook(
        [
            "playbooks/preflight.yml",
            "-e",
            f"clusterswap_record={tmp_path / 'plan.json'}",
            "-e",
            json.dumps({"clusterswap_storage_servers": servers}),
        ],
        url,
        tmp_path,
    )
    out = proc.stdout
    assert proc.returncode != 0, out[-4000:]
    assert "Pre-flight found" in out, out[-6000:]
    for expected in [
        f"{far_vol} /dev/xvdf: is in us-east-1b, new-storage-2",
        "InvalidVolume.ZoneMismatch",
        "new-logstorage-1 ("
        + full
        + ") (m5.large, Nitro): 1 network interface(s) + 27 volume(s) attached now",
        "would all go to new-storage-1",
        "mysql-1: has read replicas (mysql-1-replica)",
    ]:
        assert expected in out, f"missing {expected!r} in:\n{out[-6000:]}"
    assert volumes(url) == before, "pre-flight changed nothing"
    assert "PLAY [Phase" not in out.split("Pre-flight found", 1)[1], "no phase ran"


def test_a_sound_vpc_to_vpc_world_passes_the_storage_and_rds_checks(
    world: dict[str, Any], lab_url: str, tmp_path: Path
) -> None:
    proc = ansible_playbook(
        ["playbooks/preflight.yml", "-e", f"clusterswap_record={tmp_path / 'plan.json'}"], lab_url, tmp_path
    )
    out = proc.stdout
    for task in ("Would every EBS volume attach on its new server?", "Could RDS move every DB"):
        assert task in out, out[-4000:]
    for word in (
        "ZoneMismatch",
        "AttachmentLimitExceeded",
        "would all go to",
        "read replica",
        "failure status",
    ):
        assert word not in out, out[-6000:]


INVENTORY = """all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: {python}
    old-storage-1:
      ansible_connection: local
      ansible_python_interpreter: {python}
    # an old server with nothing to move: it passes the host steps, so the play goes on to the move
    old-storage-0:
      ansible_connection: local
      ansible_python_interpreter: {python}
"""

VARS = """
  vars:
    ebs_move_servers:
      - {{old: old-storage-1, new: new-storage-1, devices: [/dev/xvdf, /dev/xvdg]}}
      - {{old: old-storage-2, new: new-storage-2, devices: [/dev/xvdf], host_steps: false}}
    ebs_move_export_services: []
    ebs_move_manifest: {manifest}
    ebs_move_poll_interval: 0.2
    ebs_move_aws_environment:
      AWS_ENDPOINT_URL: {url}
      AWS_ACCESS_KEY_ID: testing
      AWS_SECRET_ACCESS_KEY: testing
      AWS_DEFAULT_REGION: us-east-1
"""

# No any_errors_fatal here: the role itself must detach nothing when an old server fails its host steps
# (old-storage-0 passes them, so Ansible goes on to the move play).
PLAY = (
    """---
- name: The EBS move, with an old server that does not show its volumes' devices - the plan
  hosts: localhost
  gather_facts: false"""
    + VARS
    + """  tasks:
    - name: Plan
      ansible.builtin.import_role: {{name: ebs_move, tasks_from: plan}}

- name: The host steps on the old servers
  hosts: old-storage-0:old-storage-1
  gather_facts: false"""
    + VARS
    + """  tasks:
    - name: Host steps
      ansible.builtin.import_role: {{name: ebs_move, tasks_from: old_server}}
      vars:
        ebs_move_plan_volumes: "{{{{ hostvars['localhost'].ebs_move_plan.volumes }}}}"

- name: The move
  hosts: localhost
  gather_facts: false"""
    + VARS
    + """  tasks:
    - name: Move
      ansible.builtin.import_role: {{name: ebs_move, tasks_from: aws}}
"""
)


def test_a_volume_whose_old_device_cannot_be_found_is_not_detached(
    world: dict[str, Any], lab_url: str, tmp_path: Path
) -> None:
    """R-4: on a Nitro old server /dev/xvdf is no device; the run must stop naming the volume and the host,
    and detach nothing - not that volume, not the other server's."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(INVENTORY.format(python=sys.executable))
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(url=lab_url, manifest=tmp_path / "manifest.json"))
    before = volumes(lab_url)
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    env["CLUSTERSWAP_REPORT_DIR"] = str(tmp_path / "reports")
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(play)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode != 0, out[-4000:]
    home1 = world["volumes"]["home-1"]
    assert "old-storage-1: refusing to unmount and detach" in out, out[-6000:]
    assert f"{home1} (home-1, /dev/xvdf) on old-storage-1: no block device found (looked for " in out
    assert "Nothing was detached: the host steps failed on old-storage-1" in out, out[-6000:]
    assert volumes(lab_url) == before, "nothing detached, on any server"
