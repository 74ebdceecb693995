"""rds_move_to_vpc as a user runs it: ansible-playbook against the simulated AWS server (vpc-day).

A tiny playbook calling the module four ways (check changed -> real changed -> check unchanged -> real
unchanged), a refusal that changes nothing, and playbooks/rds-move.yml (pre-flight, then the role).
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ansible_playbook, ansible_playbook_lines
from tests.integration.conftest import recap as localhost_recap

TINY = """---
- name: Move mysql-1 into the VPC
  hosts: localhost
  gather_facts: false
  environment:
    AWS_ENDPOINT_URL: "{{ url }}"
    AWS_ACCESS_KEY_ID: testing
    AWS_SECRET_ACCESS_KEY: testing
    AWS_DEFAULT_REGION: us-east-1
  tasks:
    - name: "V.3 | RDS | Move into the VPC: {{ dbs | join(', ') }}"
      clusterswap.swap.rds_move_to_vpc:
        db_instance_identifiers: "{{ dbs }}"
        db_subnet_group_name: clusterswap-vpc
        wait_timeout: 60
        poll_interval: 0.2
      register: moved

    - name: Result
      ansible.builtin.copy:
        content: "{{ moved | to_json }}"
        dest: "{{ out }}"
        mode: "0644"
      check_mode: false
      changed_when: false
"""


def run(args: list[str], url: str, tmp_path: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    return ansible_playbook([*args, "-e", f"url={url}"], url, tmp_path, check=check)


def recap(proc: subprocess.CompletedProcess[str]) -> dict[str, int]:
    return localhost_recap(proc.stdout)


def mysql(aws: Any, ident: str = "mysql-1") -> dict[str, Any]:
    return aws("rds").describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]  # type: ignore[no-any-return]


@pytest.fixture
def vpc_day(lab: Any) -> dict[str, Any]:
    world = lab.seed("vpc-day")
    lab.set_latency(0.002)  # the 450 s move takes 0.9 s
    return world  # type: ignore[no-any-return]


def test_tiny_playbook_four_runs(vpc_day: dict[str, Any], lab_url: str, aws: Any, tmp_path: Path) -> None:
    book = tmp_path / "rds.yml"
    book.write_text(TINY)
    out = tmp_path / "moved.json"
    args = [str(book), "-e", f"out={out}", "-e", '{"dbs": ["mysql-1"]}']
    assert "DBSubnetGroup" not in mysql(aws)
    for check, want_change in [(True, True), (False, True), (True, False), (False, False)]:
        proc = run(args, lab_url, tmp_path, check=check)
        got = recap(proc)
        where = f"check={check}:\n{proc.stdout[-4000:]}"
        assert got["failed"] == 0 and (got["changed"] > 0) == want_change, where
        result = json.loads(out.read_text())
        if check and want_change:
            assert "clusterswap-vpc" in proc.stdout and "db_subnet_group_name" in proc.stdout, "--diff shown"
            assert "DBSubnetGroup" not in mysql(aws), "check mode changed nothing"
        if not check and want_change:
            assert result["db_instances"][0]["action"] == "moved"
            assert result["endpoint"]["port"] == 3306 and result["vpc_id"] == vpc_day["vpc_id"]
    db = mysql(aws)
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == "clusterswap-vpc"
    assert db["DBSubnetGroup"]["VpcId"] == vpc_day["vpc_id"] and db["DBInstanceStatus"] == "available"


def test_the_wait_shows_progress_at_least_every_15_seconds(
    vpc_day: dict[str, Any], lab: Any, lab_url: str, tmp_path: Path
) -> None:
    """At the default verbosity, while the move runs (450 s at AWS's pace, 22 s here): what it waits for, how
    many are done, the time spent and the deadline, as it happens (the time each line reached the terminal),
    never 15 s of silence between the task's start and its end (issue 14)."""
    lab.set_latency(0.05)
    book = tmp_path / "rds.yml"
    book.write_text(TINY)
    rc, lines = ansible_playbook_lines(
        [str(book), "-e", f"url={lab_url}", "-e", f"out={tmp_path / 'o.json'}", "-e", '{"dbs": ["mysql-1"]}'],
        lab_url,
        tmp_path,
    )
    output = "\n".join(text for _, text in lines)
    assert rc == 0, output[-4000:]
    start = next(at for at, text in lines if text.startswith("TASK [V.3 | RDS | Move into the VPC"))
    end = next(at for at, text in lines if text.startswith("changed: [localhost]"))
    shown = [(at, text) for at, text in lines if text.startswith("  [localhost] RDS moves into the VPC: ")]
    assert end - start > 15, f"the move must outlast one heartbeat for this test to mean anything:\n{output}"
    # the deadline is what is left of wait_timeout (60) when the wait begins: 60s, less on a busy machine
    heartbeat = re.compile(r"0/1 done after [\d.]+s of at most (\d+)s \(still waiting for mysql-1\)$")
    deadlines = [int(m[1]) for _, t in shown if (m := heartbeat.search(t))]
    assert deadlines and all(40 <= d <= 60 for d in deadlines), output
    assert shown[-1][1].startswith("  [localhost] RDS moves into the VPC: 1/1 done after"), output
    stamps = [start] + [at for at, _ in shown] + [end]
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(stamps)]
    assert max(gaps) <= 15, f"silent for {max(gaps)} s between progress lines {gaps}:\n{output}"


def test_refusal_changes_nothing_and_says_why(
    vpc_day: dict[str, Any], lab_url: str, aws: Any, tmp_path: Path
) -> None:
    aws("rds").create_db_instance(
        DBInstanceIdentifier="mysql-maz",
        Engine="mysql",
        DBInstanceClass="db.m1.small",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="lab-password-not-secret",
        MultiAZ=True,
    )
    book = tmp_path / "rds.yml"
    book.write_text(TINY)
    proc = run(
        [str(book), "-e", f"out={tmp_path / 'o.json'}", "-e", '{"dbs": ["mysql-1", "mysql-maz"]}'],
        lab_url,
        tmp_path,
    )
    assert recap(proc)["failed"] == 1
    assert "Nothing was changed" in proc.stdout and "mysql-maz: is Multi-AZ" in proc.stdout
    assert "InvalidParameterCombination" in proc.stdout
    assert "DBSubnetGroup" not in mysql(aws) and "DBSubnetGroup" not in mysql(aws, "mysql-maz")


def test_rds_move_playbook_runs_preflight_then_the_role(
    vpc_day: dict[str, Any], lab_url: str, aws: Any, tmp_path: Path
) -> None:
    extra = [
        "-e",
        f"clusterswap_record={tmp_path / 'plan.json'}",
        "-e",
        '{"clusterswap_rds_instances": ["mysql-1"], "clusterswap_db_subnet_group": "clusterswap-vpc"}',
        "-e",
        "rds_move_to_vpc_poll_interval=0.2",
    ]
    proc = run(["playbooks/rds-move.yml", *extra], lab_url, tmp_path)
    got = recap(proc)
    assert got["failed"] == 0 and got["changed"] >= 1, proc.stdout[-4000:]
    assert "Pre-flight" in proc.stdout
    assert "V.3 | RDS | Move into the VPC's subnet group, together: mysql-1" in proc.stdout
    assert "mysql-1: moved, available in clusterswap-vpc" in proc.stdout
    assert mysql(aws)["DBSubnetGroup"]["VpcId"] == vpc_day["vpc_id"]
    again = run(["playbooks/rds-move.yml", *extra, "--tags", "rds"], lab_url, tmp_path)
    assert recap(again)["failed"] == 0 and recap(again)["changed"] == 0, again.stdout[-4000:]
