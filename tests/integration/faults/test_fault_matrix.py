"""The playbook-level fault matrix (issue 13): faults injected into the simulated AWS (or the controller
SIGKILLed) while the real playbooks run the swap's AWS side (playbooks/swap-aws.yml here: full-swap.yml's
phases in its order, limited to the controller: the simulated AWS has no hosts).

Each case: seed a world, start the swap, inject the fault when the line of the phase's task is printed (or
before the run), and assert what the faulted run did: a clear failure naming what failed and what to do, or
the retries absorbing it; then clear the fault and finish (the same playbook again, or rollback.yml), run
playbooks/verify.yml (the read-only safety check) for the side the swap ended on, and check the account:
no EIP allocated or released, no volume created, deleted, resized or left on no server, no instance
terminated, every DB kept. The EIPs without a page (on no instance of the plan, or on one not running) are
counted from the simulator at the failure point and timed by polling it; each case's row goes into the
matrix's table (reports/fault-matrix.md).

Outcomes: "pre-flight" (stopped before any change, the account as it was), "absorbed" (the run finishes
despite the fault), "rerun" (the run fails clearly; the rerun finishes), "rollback" (the way back is
rollback.yml).

`make faults` runs every case; `make test` runs the cases not marked `faults` (the representative slice).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lab.awssim.client import LabClient
from tests.integration.faults.matrix import (
    SWAP,
    PageWatch,
    Row,
    account,
    data_changes,
    moving,
    no_host_vars,
    off_page,
    plan_instance_ids,
    run_streaming,
    stranded_volumes,
    write_row,
)
from tests.integration.runbook.phases import recap, run_playbook

Inject = Callable[[LabClient, dict[str, Any]], Any]

D, V = "default", "vpc-day"
PREFLIGHT, ABSORBED, RERUN, ROLLBACK = "pre-flight", "absorbed", "rerun", "rollback"

# the banners of the tasks a fault or a kill is aimed at (the task's module starts right after)
PREPARE_IPS = "1.2 | Prepare | Give each target interface"
MAINT_MOVE = "2.2 | Maintenance | Move every EIP from the old cluster"
VPC_LEAVE = "V.1 | EIP | Take the EIPs that must move to the VPC off"
VPC_MOVE = "V.2 | EIP | Move every one of them to the VPC"
VPC_PAGE = "2.2 | Maintenance | Every moved EIP to its place on the maintenance server in the VPC"
STOP = "3.1 | Stop | Stop the old ephemeral servers"
STOP_WAIT = "3.2 | Stop | Wait until every old ephemeral server is stopped"
EBS_MOVE = "S.4 | EBS | Detach, wait until available"
RDS_MOVE = "V.3 | RDS | Move into the VPC's subnet group"
GO_LIVE = "6.1 | Go live | Every EIP to its exact place on the new cluster, verified"


@dataclass(frozen=True)
class Case:
    id: str
    case: str
    scenario: str
    outcome: str
    inject: Inject | None = None  # the fault, set on the simulator
    at: str | None = None  # when the line with this text is printed (None: before the run)
    kill_after: float | None = None  # SIGKILL the controller this many seconds after `at`
    expect: tuple[str, ...] = ()  # texts the failure must print (what failed, what to do)
    extra: tuple[str, ...] = ()  # -e of the faulted run
    clear: Inject | None = None  # what an operator fixes before the rerun (besides clearing the faults)
    slice: bool = False  # in make test's representative slice
    most_off_at_failure: int | None = None  # EIPs without a page the failure may leave at most
    most_volumes_off_at_failure: int | None = None  # volumes on no server the failure may leave at most


def fault(
    operation: str, code: str, nth: int = 1, times: int = 1, status: int = 400, message: str = ""
) -> Inject:
    def inject(lab: LabClient, world: dict[str, Any]) -> Any:
        return lab.add_fault(operation, nth, code, message or f"Injected {code}", times=times, status=status)

    inject.operation = operation  # type: ignore[attr-defined] the test checks that the fault was met
    return inject


def faults_met(lab: LabClient, operation: str) -> int:
    """How many calls of `operation` the simulator failed with an injected fault since the seed."""
    services = lab.api_stats()["services"]
    return sum(int((ops.get(operation) or {}).get("faults", 0)) for ops in services.values())


def faults(*injects: Inject) -> Inject:
    def inject(lab: LabClient, world: dict[str, Any]) -> None:
        for one in injects:
            one(lab, world)

    return inject


def mounted(name: str, on: bool = True) -> Inject:
    def inject(lab: LabClient, world: dict[str, Any]) -> Any:
        return lab.set_mounted(world["volumes"][name], on)

    return inject


def latency(scale: float) -> Inject:
    def inject(lab: LabClient, world: dict[str, Any]) -> Any:
        return lab.set_latency(scale)

    return inject


def rds_outcome(status: str) -> Inject:
    def inject(lab: LabClient, world: dict[str, Any]) -> Any:
        return lab.set_rds_outcome("mysql-1", status)

    return inject


THROTTLED = "Rate exceeded: Request limit exceeded."
AUTH = "AWS was not able to validate the provided access credentials"

CASES = [
    # --- stopped in pre-flight, nothing changed
    Case(
        "F01",
        "credentials refused (AuthFailure on every DescribeAddresses) before the swap",
        D,
        PREFLIGHT,
        fault("DescribeAddresses", "AuthFailure", times=1000, message=AUTH),
        expect=("AuthFailure",),
        slice=True,
    ),
    Case(
        "F02",
        "the VPC EIP limit lowered to 5 the morning of the VPC day",
        V,
        PREFLIGHT,
        lambda lab, world: lab.set_limits(vpc=5),
        expect=("VPC Elastic IP limit too low", "L-0263D0A3"),
        clear=lambda lab, world: lab.set_limits(vpc=30),
    ),
    # --- the EIPs' moves to the VPC (maintenance-vpc-page.yml)
    Case(
        "F03",
        "AddressLimitExceeded at the 6th MoveAddressToVpc (the incident's error mid-move)",
        V,
        RERUN,
        fault(
            "MoveAddressToVpc",
            "AddressLimitExceeded",
            nth=7,
            times=1000,
            message="The maximum limit on Elastic IP addresses has been reached.",
        ),
        at=VPC_MOVE,
        expect=("MoveAddressToVpc", "AddressLimitExceeded", "back on the old cluster"),
        most_off_at_failure=0,  # the moved ones on their page in the VPC, the others back on the old cluster
    ),
    Case(
        "F04",
        "RequestLimitExceeded storm on MoveAddressToVpc (3 in a row, retried)",
        V,
        ABSORBED,
        fault("MoveAddressToVpc", "RequestLimitExceeded", nth=2, times=3, status=503, message=THROTTLED),
        at=VPC_MOVE,
    ),
    Case(
        "F05",
        "RequestLimitExceeded storm on DescribeMovingAddresses (4 in a row, retried)",
        V,
        ABSORBED,
        fault("DescribeMovingAddresses", "RequestLimitExceeded", times=4, status=503, message=THROTTLED),
        at=VPC_MOVE,
    ),
    Case(
        "F06",
        "a move stuck past its wait (MoveAddressToVpc ~30 s each, wait 3 s)",
        V,
        RERUN,
        latency(0.3),
        at=VPC_MOVE,
        expect=("Still moving after 3s", "rerun to resume"),
        extra=("-e", "eip_vpc_migration_move_timeout=3"),
    ),
    Case(
        "F07",
        "DisassociateAddress refused at the 5th EIP leaving the old cluster (V.1)",
        V,
        RERUN,
        fault("DisassociateAddress", "InvalidAssociationID.NotFound", nth=6, times=1000),
        at=VPC_LEAVE,
        expect=("DisassociateAddress", "InvalidAssociationID.NotFound", "back on the old cluster"),
        most_off_at_failure=0,  # the ones taken off put back on the old cluster
    ),
    Case(
        "F08",
        "AssociateAddress refused once, at the 4th EIP onto the maintenance page in the VPC",
        V,
        RERUN,
        fault("AssociateAddress", "IncorrectInstanceState", nth=5, times=1),
        at=VPC_PAGE,
        expect=("AssociateAddress", "IncorrectInstanceState", "on their maintenance page in the VPC"),
        most_off_at_failure=0,  # the rescue puts the moved EIPs onto their page
    ),
    Case(
        "F09",
        "CloudTrail LookupEvents refused (the 24 h rule unproven: a warning, not a stop)",
        V,
        ABSORBED,
        fault(
            "LookupEvents",
            "AccessDeniedException",
            times=1000,
            message="not authorized to perform cloudtrail:LookupEvents",
        ),
        expect=("Grant cloudtrail:LookupEvents",),  # the warning the run prints
    ),
    # --- the maintenance page (normal update)
    Case(
        "F10",
        "AssociateAddress refused at the 4th EIP to the maintenance server",
        D,
        RERUN,
        fault("AssociateAddress", "IncorrectInstanceState", nth=5, times=1000),
        at=MAINT_MOVE,
        expect=("AssociateAddress", "IncorrectInstanceState"),
    ),
    Case(
        "F11",
        "RequestLimitExceeded storm on AssociateAddress in maintenance (5 in a row, retried)",
        D,
        ABSORBED,
        fault("AssociateAddress", "RequestLimitExceeded", nth=2, times=5, status=503, message=THROTTLED),
        at=MAINT_MOVE,
    ),
    Case(
        "F12",
        "RequestLimitExceeded storm on DescribeAddresses (4 in a row, retried)",
        D,
        ABSORBED,
        fault("DescribeAddresses", "RequestLimitExceeded", times=4, status=503, message=THROTTLED),
        at=MAINT_MOVE,
    ),
    Case(
        "F13",
        "InternalError (HTTP 500) once on AssociateAddress in maintenance (retried)",
        D,
        ABSORBED,
        fault(
            "AssociateAddress",
            "InternalError",
            nth=2,
            times=1,
            status=500,
            message="An internal error has occurred",
        ),
        at=MAINT_MOVE,
    ),
    # --- the stop
    Case(
        "F14",
        "StopInstances refused (IncorrectInstanceState)",
        D,
        RERUN,
        fault("StopInstances", "IncorrectInstanceState", times=1000),
        at=STOP,
        expect=("IncorrectInstanceState",),
    ),
    # --- storage
    Case(
        "F15",
        "a detach stuck on a mounted volume (home-1 still mounted; detach wait 5 s)",
        V,
        RERUN,
        mounted("home-1"),
        extra=("-e", "ebs_move_detach_timeout=5", "-e", "ebs_move_poll_interval=1"),
        expect=("still detaching", "home-1", "Unmount it"),
        clear=mounted("home-1", False),
    ),
    Case(
        "F16",
        "AttachVolume refused after the detach (IncorrectState, the 2nd attach)",
        V,
        RERUN,
        fault("AttachVolume", "IncorrectState", nth=2),
        at=EBS_MOVE,
        expect=("AttachVolume", "IncorrectState", "put back on their old servers", "rerun"),
        most_volumes_off_at_failure=0,
    ),
    Case(
        "F16b",
        "AttachVolume refused from the 2nd on, the attaches back to the old servers too",
        V,
        RERUN,
        fault("AttachVolume", "IncorrectState", nth=2, times=1000),
        at=EBS_MOVE,
        expect=("AttachVolume", "IncorrectState", "LEFT DETACHED", "rerun"),
    ),
    # --- RDS
    Case(
        "F17",
        "ModifyDBInstance refused (InvalidDBInstanceState) as the window opens",
        V,
        RERUN,
        fault(
            "ModifyDBInstance", "InvalidDBInstanceState", times=1000, message="DB instance is not available"
        ),
        at=RDS_MOVE,
        expect=("ModifyDBInstance", "InvalidDBInstanceState", "is back there"),
        most_off_at_failure=0,  # the EIPs V.1 took off put back on the old cluster
    ),
    Case(
        "F18",
        "the RDS move ends in a failure status (incompatible-network)",
        V,
        ROLLBACK,
        rds_outcome("incompatible-network"),
        expect=("incompatible-network",),
    ),
    # --- go-live
    Case(
        "F19",
        "AssociateAddress refused at the 4th EIP going live",
        D,
        RERUN,
        fault("AssociateAddress", "IncorrectInstanceState", nth=5, times=1000),
        at=GO_LIVE,
        expect=("AssociateAddress", "IncorrectInstanceState"),
    ),
    Case(
        "F20",
        "RequestLimitExceeded on every AssociateAddress going live (beyond the retry budget)",
        D,
        RERUN,
        fault("AssociateAddress", "RequestLimitExceeded", times=1000, status=503, message=THROTTLED),
        at=GO_LIVE,
        expect=("RequestLimitExceeded",),
    ),
    Case(
        "F21",
        "credentials expired going live (AuthFailure on DescribeAddresses from then on)",
        D,
        RERUN,
        fault("DescribeAddresses", "AuthFailure", times=1000, message=AUTH),
        at=GO_LIVE,
        expect=("AuthFailure",),
    ),
    Case(
        "F22",
        "InternalError (HTTP 500) on every AssociateAddress going live",
        D,
        RERUN,
        fault(
            "AssociateAddress",
            "InternalError",
            times=1000,
            status=500,
            message="An internal error has occurred",
        ),
        at=GO_LIVE,
        expect=("InternalError",),
    ),
    # --- the controller killed in each phase
    Case(
        "K01",
        "controller killed in prepare (private IPs being assigned)",
        D,
        RERUN,
        at=PREPARE_IPS,
        kill_after=1.0,
    ),
    Case("K02", "controller killed in the maintenance moves", D, RERUN, at=MAINT_MOVE, kill_after=1.5),
    Case("K03", "controller killed in the stop's wait", D, RERUN, latency(0.2), at=STOP_WAIT, kill_after=1.0),
    Case(
        "K04",
        "controller killed while EIPs leave the old cluster (V.1)",
        V,
        RERUN,
        at=VPC_LEAVE,
        kill_after=2.0,
    ),
    Case(
        "K05", "controller killed mid-way through the moves to the VPC", V, RERUN, at=VPC_MOVE, kill_after=8.0
    ),
    Case(
        "K06",
        "controller killed in the RDS moves' start",
        V,
        RERUN,
        latency(0.02),
        at=RDS_MOVE,
        kill_after=1.5,
    ),
    Case("K07", "controller killed in the EBS moves", V, RERUN, latency(0.2), at=EBS_MOVE, kill_after=3.0),
    Case("K08", "controller killed in the go-live associations", D, RERUN, at=GO_LIVE, kill_after=1.5),
]


def params() -> list[Any]:
    return [
        pytest.param(case, id=case.id, marks=() if case.slice else (pytest.mark.faults,)) for case in CASES
    ]


def failure_lines(output: str) -> str:
    return "\n".join(
        line
        for line in output.splitlines()
        if line.startswith(("fatal:", "[ERROR]", "failed:")) or "FAILED!" in line
    )


def volumes_on_new_servers(world: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Every volume of a storage or Postgres pair: on the old server at a device before, on the new one at the
    same device (attached) after; the ones that are not."""
    ids, plan = world["instances"], world["plan"]
    wrong = []
    for pair in plan.get("storage_servers", []) + plan.get("postgres_servers", []):
        old, new = ids[pair["old"]], ids[pair["new"]]
        for vid, vol in before["volumes"].items():
            for instance, device, _ in vol["attachments"]:
                moved = [(new, device, "attached")]
                if (
                    instance == old
                    and device in pair["devices"]
                    and after["volumes"][vid]["attachments"] != moved
                ):
                    wrong.append(f"{vid} {device}: {after['volumes'][vid]['attachments']}")
    return wrong


@pytest.mark.parametrize("case", params())
def test_fault(case: Case, lab: LabClient, seeded: Any, tmp_path: Path) -> None:
    started = time.monotonic()
    url = seeded(case.scenario)
    world = lab.world()
    extra = ["-e", json.dumps(no_host_vars(world))]
    before = account(url)
    notes: list[str] = []

    def inject() -> None:
        if case.inject:
            case.inject(lab, world)

    with PageWatch(lab, plan_instance_ids(world)) as watch:
        if case.at is None:
            inject()
        run = run_streaming(
            SWAP,
            url,
            tmp_path,
            extra + list(case.extra),
            marker=case.at,
            on_marker=inject if case.at else None,
            kill_after=case.kill_after,
        )
        if case.at:
            assert run.triggered, f"{case.id}: the line {case.at!r} never came:\n{run.output[-4000:]}"
        operation = getattr(case.inject, "operation", None)
        if operation:
            assert faults_met(lab, operation) > 0, f"{case.id}: no {operation} call met the fault"
        lab.clear_faults()  # describing the account must not meet the fault
        at_failure = account(url)
        off = off_page(world, at_failure)
        said = failure_lines(run.output)
        if case.kill_after is not None:
            assert run.rc == -9, f"{case.id}: not killed (rc {run.rc}):\n{run.output[-3000:]}"
        elif case.outcome == ABSORBED:
            assert run.rc == 0, f"{case.id}: the retries did not absorb it:\n{said}\n{run.output[-3000:]}"
            for text in case.expect:  # a warning, where the fault is one
                assert text in run.output, f"{case.id}: {text!r} not printed:\n{run.output[-2500:]}"
        else:
            assert run.rc != 0, f"{case.id}: the fault went unnoticed:\n{run.output[-3000:]}"
            for text in case.expect:
                assert text in said, f"{case.id}: {text!r} not in the failure:\n{said}\n{run.output[-2500:]}"
        if case.most_off_at_failure is not None:
            assert len(off) <= case.most_off_at_failure, (
                f"{case.id}: {len(off)} EIPs left without a page: {off}"
            )
        if case.outcome == PREFLIGHT:
            assert "Pre-flight found" in said or "0.1 | Pre-flight" in run.output, said
            assert "PLAY [Phase 1" not in run.output, f"{case.id}: a phase ran after pre-flight failed"
            assert at_failure == before, f"{case.id}: pre-flight changed the account"
        lab.set_latency(0.0)
        if case.clear:
            case.clear(lab, world)
        if case.outcome == ROLLBACK:
            # limited to the controller like the swap's run (run_streaming), with its vars (no_host_vars): the
            # volumes go back on the AWS side only
            finish = run_playbook(
                "rollback.yml",
                url,
                tmp_path,
                "--limit",
                "localhost",
                *extra,
                "-e",
                "rollback_check_enabled=false",
            )
            expected = "old"
        elif case.outcome in (RERUN,) or case.kill_after is not None:
            rerun = run_streaming(SWAP, url, tmp_path, extra)
            assert rerun.rc == 0, (
                f"{case.id}: the rerun did not finish:\n{failure_lines(rerun.output)}\n{rerun.output[-3000:]}"
            )
            finish = None
            expected = "new"
        else:
            finish = None
            expected = "old" if case.outcome == PREFLIGHT else "new"
        if finish is not None:
            assert finish.returncode == 0 and recap(finish)["failed"] == 0, (
                f"{case.id}: {finish.stdout[-3000:]}"
            )
    after = account(url)
    verify = run_playbook("verify.yml", url, tmp_path, "-e", f"clusterswap_verify_expected={expected}")
    assert recap(verify)["failed"] == 0, f"{case.id}: verify.yml:\n{verify.stdout[-3000:]}"
    assert "Every safety rule holds." in verify.stdout
    assert not moving(url), "an EIP still moving"
    assert off_page(world, after) == [], f"{case.id}: EIPs without a page at the end"
    changed = data_changes(before, after)
    stranded = stranded_volumes(before, after)
    assert not changed, f"{case.id}: {changed}"
    assert not stranded, f"{case.id}: volumes on no server: {stranded}"
    if expected == "new" and world["plan"].get("storage"):
        assert volumes_on_new_servers(world, before, after) == [], (
            f"{case.id}: volumes not on their new server"
        )
    if expected == "new" and world["plan"].get("vpc"):
        assert after["dbs"]["mysql-1"]["group"] == world["plan"]["db_subnet_group"], after["dbs"]
        assert after["dbs"]["mysql-1"]["status"] == "available", after["dbs"]
    stranded_then = stranded_volumes(before, at_failure)
    if case.most_volumes_off_at_failure is not None:
        assert len(stranded_then) <= case.most_volumes_off_at_failure, (
            f"{case.id}: volumes on no server at the failure: {stranded_then}"
        )
    if stranded_then:
        notes.append(f"{len(stranded_then)} volume(s) on no server at the failure: {stranded_then}")
    write_row(
        Row(
            id=case.id,
            case=case.case,
            scenario=case.scenario,
            outcome=case.outcome + (" (killed)" if case.kill_after is not None else ""),
            off_at_failure=len(off),
            eips=len(before["eips"]),
            most_off=watch.most_off,
            longest_off_s=watch.longest,
            data_changed="none" + (f"; {'; '.join(notes)}" if notes else ""),
            seconds=time.monotonic() - started,
        )
    )
