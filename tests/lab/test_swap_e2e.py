"""The whole swap on the lab, as a new user runs it (`labctl swap`, what `make swap` calls): real
containers, real nginx, real Postgres and Django, EIP traffic through the edge, the simulated AWS with its
latency profile. The state after each run is asserted by describing the account and by HTTP through every
EIP; a second run must change nothing."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.hosts.seed import container_checksums, postgres_checksums, read_manifest
from lab.probe import summarize, violations
from tests.iam import assert_allowed
from tests.lab.helpers import REPO, SIM_URL, client, ec2, http_get, lab_api, labctl, page_fields
from tests.runner import events, progress_lines, run

LATENCY = "0.02"


@pytest.fixture(scope="module", autouse=True)
def reseeded_after(lab_session: None) -> Iterator[None]:
    yield
    labctl("seed", "--scenario", "default")  # leave the lab fresh, as the other lab tests expect it


def swap(scenario: str, *extra: str, verbosity: int = 0) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "lab.labctl", "swap", "--scenario", scenario, "--latency-scale", LATENCY]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_VERBOSITY": str(verbosity)}
    return subprocess.run([*args, *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)


def seeded_secrets() -> dict[str, str]:
    """What the lab gives the swap that must never be printed or written: the AWS secret key (of the
    credentials file labctl hands over) and every TLS private key the inventory reads (a line of each PEM's
    body, which any copy of the key contains)."""
    credentials = configparser.ConfigParser()
    credentials.read(REPO / "lab" / "aws-credentials")
    found = {"aws_secret_access_key": credentials["default"]["aws_secret_access_key"]}
    for key in sorted((REPO / "lab" / ".state" / "tls").glob("*.key")):
        body = [line for line in key.read_text().splitlines() if line and not line.startswith("-----")]
        found[key.name] = max(body, key=len)
    return found


def assert_no_secret(out: str, since: float) -> None:
    """No seeded secret in a run's output nor in any report or record written since `since`."""
    written = [p for p in (REPO / "reports").rglob("*") if p.is_file() and p.stat().st_mtime >= since]
    written += [p for p in (REPO / "lab" / ".state" / "records").rglob("*") if p.is_file()]
    assert written, "the run wrote its timeline report"
    for name, secret in seeded_secrets().items():
        assert len(secret) > 12, name
        assert secret not in out, f"{name} printed in the run's output"
        leaks = [str(p) for p in written if secret in p.read_text(errors="replace")]
        assert not leaks, f"{name} written to {leaks}"


def playbook(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)


def recap(out: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP per host: {host: {ok, changed, failed, ...}}."""
    rows = re.findall(r"^(\S+)\s+:\s+(ok=.*)$", out, flags=re.M)
    return {host: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", rest)} for host, rest in rows}


def changed(out: str) -> int:
    return sum(row.get("changed", 0) for row in recap(out).values())


def failed_lines(out: str) -> str:
    lines = [line[:2000] for line in out.splitlines() if "fatal:" in line or "FAILED" in line]
    return "\n".join(lines) + "\n...\n" + out[-3000:]


def world() -> dict[str, Any]:
    return lab_api("/_lab/world")


def eips_by_holder() -> dict[str, str | None]:
    return {a["PublicIp"]: a.get("InstanceId") for a in ec2().describe_addresses()["Addresses"]}


def instance_states() -> dict[str, str]:
    states = {}
    for res in ec2().describe_instances()["Reservations"]:
        for inst in res["Instances"]:
            name = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}.get("Name", inst["InstanceId"])
            states[name] = inst["State"]["Name"]
    return states


def timeline(out: str) -> dict[str, Any]:
    match = re.findall(r"timeline: (\S+)\.md", out)
    assert match, out[-2000:]
    path = Path(match[-1] + ".json")
    return json.loads((path if path.is_absolute() else REPO / path).read_text())


def probe_report(out: str) -> dict[str, Any]:
    match = re.findall(r"downtime probe: .*\((\S+-probe\.json)\)", out)
    assert match, out[-2000:]
    return json.loads(Path(match[-1]).read_text())


def assert_users_saw_old_then_page_then_new(report: dict[str, Any], max_no_page: float) -> None:
    """What the probe saw from an ordinary client through every EIP during the swap: the old cluster, then the
    maintenance page, then the new cluster, never the old cluster again after the page, and never nothing at
    all for longer than `max_no_page` seconds (lab/probe.py)."""
    assert violations(report, max_no_page) == []
    for ip, s in summarize(report).items():
        seen = [state for state in s["states"] if state in ("old", "maintenance", "new")]
        assert seen[0] == "old" and seen[-1] == "new" and "maintenance" in seen, (ip, s["states"])


def assert_live_on_new_cluster(scenario_eips: int) -> None:
    ids = world()["instances"]
    new_lbs = {ids["new-lb-1"], ids["new-lb-2"]}
    holders = eips_by_holder()
    assert len(holders) == scenario_eips
    assert set(holders.values()) <= new_lbs, holders
    assert ids["maint-1"] not in holders.values(), "nothing is left on the maintenance server"
    for ip in holders:
        fields = page_fields(http_get(ip))
        assert fields.get("cluster") == "new", (ip, fields)


def assert_normal_update_done(first: subprocess.CompletedProcess[str]) -> None:
    """After a normal update: every EIP live on the new cluster, what users saw, the old servers stopped."""
    assert first.returncode == 0, failed_lines(first.stdout)
    assert_live_on_new_cluster(8)
    # an EIP goes from one private IP to another in one AssociateAddress: no gap beyond the association
    # latency (3 s x 0.02), the edge's route cache (0.5 s) and the probe's own interval and timeout
    assert_users_saw_old_then_page_then_new(probe_report(first.stdout), max_no_page=1.5)
    states = instance_states()
    for name in ["old-lb-1", "old-lb-2", "old-web-1", "old-housekeeping-1"]:
        assert states[name] == "stopped", (name, states[name])
    assert states["old-postgres-1"] == "running", "the database server is not ephemeral"


def test_normal_update_end_to_end_then_nothing_to_do(lab: dict[str, Any]) -> None:
    labctl("seed", "--scenario", "default")  # a fresh world, whatever ran before
    since = time.time()
    # at -vvv, which prints every task's arguments and environment: no secret is printed or written
    first = swap("default", verbosity=3)
    assert_normal_update_done(first)
    assert "ESTABLISH" in first.stdout, "the run was at -vvv"
    assert_no_secret(first.stdout + first.stderr, since)
    # the office reaches the new cluster keeping its address; the timeline measured the window
    any_ip = next(iter(eips_by_holder()))
    assert page_fields(http_get(any_ip, source="127.10.0.7")).get("client") == "127.10.0.7"
    report = timeline(first.stdout)
    assert report["window"]["state"] == "closed", report["window"]
    phases = [p["name"] for p in report["phases"]]
    assert any("Maintenance on" in p for p in phases) and any("Go live" in p for p in phases), phases
    # it opens with the window, its critical path (the normal update's steps one after another), then what
    # users got through each EIP: the probe's record, on the run's clock
    path = report["critical_path"]
    assert [link["step"] for link in path["chain"]][-2:] == ["office_check", "go_live"], path
    assert 0 < path["duration_s"] <= report["window"]["duration_s"], path  # the bar (1.15x): make bench
    downtime = report["downtime"]
    assert sorted(e["ip"] for e in downtime["eips"]) == sorted(eips_by_holder()), downtime["eips"]
    assert all(e["answers"][-1] == "new" and e["segments"][-1][1] > 0 for e in downtime["eips"]), downtime
    md = Path(report["report"]["md"]).read_text().splitlines()
    assert md[2].startswith("**Maintenance: window") and md[4].startswith("**Critical path: "), md[:8]
    assert md[6].startswith("**Downtime (client): 8 EIPs probed"), md[:8]
    assert all(any(f"| {e['ip']} |" in line for line in md[:22]) for e in downtime["eips"]), md[:22]
    assert "What users got, per EIP" in Path(report["report"]["svg"]).read_text()

    second = swap("default")
    assert second.returncode == 0, failed_lines(second.stdout)
    assert changed(second.stdout) == 0, failed_lines(second.stdout)
    assert "Nothing to swap" in second.stdout
    assert_live_on_new_cluster(8)
    # least privilege: every AWS call of both runs is allowed by iam/normal-update.json
    assert_allowed(lab_api("/_lab/api-stats"), storage=False, vpc=False)


@pytest.mark.long  # a third normal update (~2 min): `make long`; make test parses staging on the lab
def test_staging_inventory_swaps_the_lab_then_nothing_to_do(lab: dict[str, Any]) -> None:
    """`make swap INVENTORY=inventories/staging`: staging's hosts, groups and plan (EIPs only), reached on the
    lab through lab/overlay with the lab's endpoint and dummy credentials."""
    labctl("seed", "--scenario", "default")
    first = swap("default", "--inventory", "inventories/staging")
    assert_normal_update_done(first)
    record = REPO / "lab" / ".state" / "records" / "staging-plan.json"
    assert record.exists(), "the plan record is the lab's, never in the operator's home"
    second = swap("default", "--inventory", "inventories/staging")
    assert second.returncode == 0, failed_lines(second.stdout)
    assert changed(second.stdout) == 0, failed_lines(second.stdout)
    assert_allowed(lab_api("/_lab/api-stats"), storage=False, vpc=False)


def test_check_mode_on_an_unswapped_lab_changes_nothing(lab: dict[str, Any]) -> None:
    labctl("seed", "--scenario", "default")
    before_eips, before_states = eips_by_holder(), instance_states()
    proc = playbook("playbooks/full-swap.yml", "--check", "--diff")
    assert proc.returncode == 0, failed_lines(proc.stdout)
    assert changed(proc.stdout) > 0, "check mode reports the changes it would make"
    assert eips_by_holder() == before_eips
    assert instance_states() == before_states
    listed = playbook("playbooks/full-swap.yml", "--list-tasks")
    assert listed.returncode == 0, listed.stdout[-2000:]
    order = [m for m in re.findall(r"(\d)\.\d+ \|", listed.stdout)]
    assert order == sorted(order), "--list-tasks reads like the checklist, in order"


@pytest.mark.long  # seeds 58 hosts (~1 min): `make long`; make test stops the incident in the simulator
def test_incident_stops_in_preflight_before_the_window(lab: dict[str, Any]) -> None:
    proc = swap("incident")
    assert proc.returncode != 0
    assert "24 addresses to move need 24 free VPC EIPs, only 5 free" in proc.stdout, proc.stdout[-3000:]
    assert "PLAY [Phase 2" not in proc.stdout
    ids = world()["instances"]
    old = {ids[name] for name in world()["plan"]["instance_map"]}
    assert set(eips_by_holder().values()) <= old, "nothing changed"


@pytest.mark.long  # ~9 min (58 hosts, twice): `make long`; vpc-to-vpc below is CI's storage-and-VPC day
@pytest.mark.timeout(1800)
def test_vpc_day_end_to_end_keeps_every_byte_then_nothing_to_do(lab: dict[str, Any]) -> None:
    """The write-up's day: old cluster in EC2-Classic, 24 Classic EIPs, RDS outside any VPC, storage and
    Postgres moved. Afterwards every EIP is in the VPC on the new cluster, RDS is in the VPC subnet group,
    and the data on the new servers is byte for byte what the lab seeded on the old ones."""
    labctl("seed", "--scenario", "vpc-day")
    seeded = read_manifest()
    first = swap("vpc-day")
    assert first.returncode == 0, failed_lines(first.stdout)
    assert {a["Domain"] for a in ec2().describe_addresses()["Addresses"]} == {"vpc"}
    assert_live_on_new_cluster(24)
    # a Classic EIP gives no page from leaving the old cluster until it is on its page in the VPC
    # (maint-vpc-1): the moves, paced to MoveAddressToVpc's 1 per second, the RDS moves issued meanwhile
    # (a pre-flight and a play, ~6 s), then the move itself (90 s x 0.02), then the association
    assert_users_saw_old_then_page_then_new(probe_report(first.stdout), max_no_page=24 * 1.0 + 1.8 + 12)
    rds = client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier="mysql-1")["DBInstances"][0]
    assert (
        db["DBSubnetGroup"]["DBSubnetGroupName"] == "clusterswap-vpc"
        and db["DBInstanceStatus"] == "available"
    )
    states = instance_states()
    assert states["old-storage-1"] == "running" and states["old-lb-1"] == "stopped"
    # every seeded file of the storage that has a host, read back on the new storage server
    on_hosts = [v for v in seeded["volumes"].values() if v["instance"] == "old-storage-1"]
    assert on_hosts, seeded["volumes"]
    for volume in on_hosts:
        assert container_checksums("cs-new-storage-1", volume["mountpoint"]) == volume["files"], volume[
            "name"
        ]
    assert postgres_checksums("cs-new-postgres-1") == seeded["postgres"]["tables"]
    assert timeline(first.stdout)["window"]["state"] == "closed"

    second = swap("vpc-day")
    assert second.returncode == 0, failed_lines(second.stdout)
    assert changed(second.stdout) == 0, failed_lines(second.stdout)
    assert_allowed(lab_api("/_lab/api-stats"), storage=True, vpc=True)


@pytest.mark.timeout(1500)  # two swaps: past the default 600 s on a loaded 2-core machine (CI once)
def test_vpc_to_vpc_end_to_end_xen_to_nitro_every_byte_then_nothing_to_do(lab: dict[str, Any]) -> None:
    """The form of the day an account can still have: old cluster (Xen) in one VPC, new cluster (Nitro) in
    another. The volumes leave Xen-named old servers (/dev/xvdf) and arrive on Nitro ones as NVMe devices
    found by volume ID and mounted by UUID; RDS moves from the old VPC's subnet group into the new VPC's;
    every EIP goes to the new cluster by allocation ID; a second run changes nothing."""
    labctl("seed", "--scenario", "vpc-to-vpc")
    seeded = read_manifest()
    w = world()
    first = swap("vpc-to-vpc")
    assert first.returncode == 0, failed_lines(first.stdout)
    assert {a["Domain"] for a in ec2().describe_addresses()["Addresses"]} == {"vpc"}
    assert_live_on_new_cluster(24)
    rds = client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier="mysql-1")["DBInstances"][0]
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == "clusterswap-new-vpc"
    assert db["DBSubnetGroup"]["VpcId"] == w["new_vpc_id"] and db["DBInstanceStatus"] == "available"
    for volume in (v for v in seeded["volumes"].values() if v["instance"] == "old-storage-1"):
        assert container_checksums("cs-new-storage-1", volume["mountpoint"]) == volume["files"], volume[
            "name"
        ]
        source = subprocess.run(
            ["podman", "exec", "cs-new-storage-1", "findmnt", "-rn", "-o", "SOURCE", "--mountpoint",
             volume["mountpoint"]],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert source.startswith("/dev/nvme"), (volume["name"], source)
    assert postgres_checksums("cs-new-postgres-1") == seeded["postgres"]["tables"]
    report = timeline(first.stdout)
    assert report["window"]["state"] == "closed"

    second = swap("vpc-to-vpc")
    assert second.returncode == 0, failed_lines(second.stdout)
    assert changed(second.stdout) == 0, failed_lines(second.stdout)
    assert_allowed(lab_api("/_lab/api-stats"), storage=True, vpc=True)


@pytest.mark.long  # a further normal update (~2 min): `make long`; make test runs the RDS move under runner
def test_normal_update_under_ansible_runner(lab: dict[str, Any], tmp_path: Path) -> None:
    """The normal update as AWX runs it (ansible-runner, a private data dir naming the account's endpoint, the
    checkout as the project, no terminal): successful, every EIP live on the new cluster, the old servers
    stopped, the waits' progress lines among its events."""
    labctl("seed", "--scenario", "default")
    proc, artifacts = run(tmp_path, "playbooks/full-swap.yml", {"AWS_ENDPOINT_URL": SIM_URL})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert (artifacts / "status").read_text() == "successful"
    assert_live_on_new_cluster(8)
    states = instance_states()
    assert all(states[n] == "stopped" for n in ["old-lb-1", "old-lb-2", "old-web-1", "old-housekeeping-1"])
    found = events(artifacts)
    assert progress_lines(found, "] associations: "), [e["stdout"] for e in found if e["event"] == "verbose"]
