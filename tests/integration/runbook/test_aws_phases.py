"""The runbook's AWS-side phases as a user runs them: ansible-playbook against the simulated AWS server.

Each state-changing phase is run four ways (check mode changed -> real changed -> check mode unchanged ->
real unchanged) and the resulting state is asserted by describing the account. The incident scenario must
stop in pre-flight, before any change, naming the VPC EIP limit, the number needed and the number free.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.runbook.phases import (
    MAINTENANCE_EIPS,
    addresses,
    ec2,
    four_runs,
    instances_by_name,
    prepare,
    recap,
    run_playbook,
    slots,
    target_slot,
)

OLD_EPHEMERALS = [
    "old-lb-1",
    "old-lb-2",
    "old-web-1",
    "old-web-2",
    "old-web-3",
    "old-consoles-1",
    "old-consoles-2",
    "old-notebooks-1",
    "old-housekeeping-1",
]


def test_incident_stops_in_preflight_before_any_change(seeded: Any, tmp_path: Path) -> None:
    url = seeded("incident")
    before = addresses(url)
    proc = run_playbook("full-swap.yml", url, tmp_path)
    assert proc.returncode != 0
    out = proc.stdout
    assert "Pre-flight found" in out, out[-3000:]
    assert "VPC Elastic IP limit too low" in out
    assert "24 addresses to move need 24 free VPC EIPs, only 5 free" in out
    assert "L-0263D0A3" in out
    assert "PLAY [Phase 1" not in out, "a phase ran after pre-flight failed"
    assert addresses(url) == before
    assert not (tmp_path / "plan.json").exists(), "the plan record is written only when the swap can go ahead"


def test_preflight_reports_every_problem_at_once(seeded: Any, tmp_path: Path) -> None:
    url = seeded("incident")
    proc = run_playbook(
        "preflight.yml",
        url,
        tmp_path,
        "-e",
        "clusterswap_environment=production",
        "-e",
        '{"clusterswap_office_networks": ["not-a-cidr"]}',
        "-e",
        '{"clusterswap_new_instances": ["new-lb-1", "new-lb-9"]}',
        "-e",
        "clusterswap_allow_any_hour=false",
        "-e",
        '{"clusterswap_quiet_hours_utc": {"start": 0, "end": 0}}',
    )
    assert proc.returncode != 0
    out = proc.stdout
    for expected in [
        "VPC Elastic IP limit too low",
        "needs an explicit confirmation: rerun with -e clusterswap_confirm=production",
        "outside the quiet hours",
        "office network not-a-cidr is not a CIDR",
        "new-cluster instance new-lb-9 does not exist",
    ]:
        assert expected in out, f"missing {expected!r} in:\n{out[-4000:]}"
    assert "Pre-flight found 5 problem(s)" in out, "each problem once, and no false one (DryRun on Classic)"


def test_ephemeral_stop_four_runs_and_state(seeded: Any, tmp_path: Path) -> None:
    url = seeded("default")
    four_runs("ephemeral-stop.yml", url, tmp_path)
    states = {name: inst["State"]["Name"] for name, inst in instances_by_name(url).items()}
    for name in OLD_EPHEMERALS:
        assert states[name] == "stopped", (name, states[name])
    for name in ["old-storage-1", "old-postgres-1", "new-lb-1", "maint-1"]:
        assert states[name] == "running", (name, states[name])


def test_go_live_four_runs_every_eip_on_its_exact_new_target(seeded: Any, tmp_path: Path) -> None:
    url = seeded("default")
    insts = instances_by_name(url)
    ids = {name: inst["InstanceId"] for name, inst in insts.items()}
    before = addresses(url)
    prepare(url, tmp_path)
    four_runs("go-live.yml", url, tmp_path)
    after = addresses(url)
    record = json.loads((tmp_path / "plan.json").read_text())
    assert record["version"] == 2 and {e["public_ip"] for e in record["eips"]} == set(before)
    assert len(after) == len(before) == 8
    for entry in record["eips"]:
        eip = after[entry["public_ip"]]
        assert slots(url)[entry["public_ip"]] == target_slot(entry, "new", ids), entry["name"]
        assert eip["InstanceId"] == ids[entry["new"]["instance"]]
        assert eip["AllocationId"] == before[entry["public_ip"]]["AllocationId"], (
            "go-live allocates nothing new"
        )
    assert len({(a["NetworkInterfaceId"], a["PrivateIpAddress"]) for a in after.values()}) == 8


def test_go_live_before_prepare_refuses_and_changes_nothing(seeded: Any, tmp_path: Path) -> None:
    url = seeded("default")
    before = addresses(url)
    check = run_playbook("go-live.yml", url, tmp_path, check=True)
    assert (
        recap(check)["failed"] == 0
        and "would be associated after playbooks/prepare-cluster.yml" in check.stdout
    )
    proc = run_playbook("go-live.yml", url, tmp_path)
    assert proc.returncode != 0
    assert "have no private IP on their new instance yet" in proc.stdout
    assert "run playbooks/prepare-cluster.yml first: it assigns the private" in proc.stdout
    assert addresses(url) == before


def test_resume_reads_the_record_and_finishes(seeded: Any, tmp_path: Path) -> None:
    """EIPs left on the maintenance server by a run that died: the next go-live finishes the job."""
    url = seeded("default")
    insts = instances_by_name(url)
    prepare(url, tmp_path)
    proc = run_playbook(MAINTENANCE_EIPS, url, tmp_path)  # what phase 2 leaves behind
    assert recap(proc)["failed"] == 0, proc.stdout[-3000:]
    proc = run_playbook("go-live.yml", url, tmp_path)
    assert recap(proc)["failed"] == 0, proc.stdout[-3000:]
    assert "Swap stage: maintenance" in proc.stdout
    new_ids = {insts["new-lb-1"]["InstanceId"], insts["new-lb-2"]["InstanceId"]}
    assert {e["InstanceId"] for e in addresses(url).values()} == new_ids


def test_verify_checks_the_safety_rules_read_only_at_every_stage(seeded: Any, tmp_path: Path) -> None:
    """playbooks/verify.yml: every EIP on one place of the plan (the phase's, when told), the old servers
    there, no volume a move touched on no server; it changes nothing, not even the record."""
    url = seeded("default")

    def verify(*extra: str) -> subprocess.CompletedProcess[str]:
        return run_playbook("verify.yml", url, tmp_path, *extra)

    before = verify("-e", "clusterswap_verify_expected=old")
    assert recap(before)["failed"] == 0 and recap(before)["changed"] == 0, before.stdout[-3000:]
    assert "Every safety rule holds." in before.stdout and not (tmp_path / "plan.json").exists()
    wrong_phase = verify("-e", "clusterswap_verify_expected=new")
    assert wrong_phase.returncode != 0 and "8 safety rule(s) broken" in wrong_phase.stdout
    assert "on its old place; at this phase every EIP is on its new place" in wrong_phase.stdout

    prepare(url, tmp_path)
    proc = run_playbook("go-live.yml", url, tmp_path)
    assert recap(proc)["failed"] == 0, proc.stdout[-3000:]
    live = verify("-e", "clusterswap_verify_expected=new")
    assert recap(live)["failed"] == 0, live.stdout[-3000:]

    stray = next(iter(addresses(url).values()))
    ec2(url).disassociate_address(AssociationId=stray["AssociationId"])
    old_web = instances_by_name(url)["old-web-1"]
    ec2(url).terminate_instances(InstanceIds=[old_web["InstanceId"]])
    # a volume whose move stopped between the detach and the attach (ebs_volume_move's tags on it)
    tags = {"move-from": old_web["InstanceId"], "move-to": "i-0new", "move-device": "/dev/sdf"}
    volume_tags = [{"Key": f"clusterswap:{k}", "Value": v} for k, v in tags.items()]
    zone = old_web["Placement"]["AvailabilityZone"]
    ec2(url).create_volume(
        AvailabilityZone=zone, Size=1, TagSpecifications=[{"ResourceType": "volume", "Tags": volume_tags}]
    )
    broken = verify()
    assert broken.returncode != 0 and "3 safety rule(s) broken" in broken.stdout, broken.stdout[-3000:]
    assert f"({stray['PublicIp']}) is on no server: users get neither the site nor the page" in broken.stdout
    assert "old server old-web-1 is gone (no instance with this Name tag)" in broken.stdout
    stranded = f"is on no server: its move from {old_web['InstanceId']} to i-0new at /dev/sdf stopped"
    assert stranded in broken.stdout
