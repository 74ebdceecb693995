"""The fault matrix's machinery: the AWS side of the whole swap run as one ansible-playbook against the
simulated AWS server (playbooks/swap-aws.yml here), a fault injected (or the controller SIGKILLed) when a
given line is printed, the EIPs without a page watched from the simulator while it runs, the account
described before and after, and the matrix's table written from every case's row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from lab.awssim.client import LabClient
from tests.integration.conftest import REPO, playbook_command

SWAP = "tests/integration/faults/playbooks/swap-aws.yml"
TABLE = Path(os.environ.get("CLUSTERSWAP_FAULT_MATRIX", REPO / "reports" / "fault-matrix.md"))


def client(url: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def no_host_vars(world: dict[str, Any]) -> dict[str, Any]:
    """-e for a run without hosts: every storage and Postgres pair's volumes move on the AWS side only (there
    is no host to unmount on), and the maintenance page is not proven through the EIPs (no edge)."""
    plan = world["plan"]
    return {
        "clusterswap_storage_servers": [{**p, "host_steps": False} for p in plan.get("storage_servers", [])],
        "clusterswap_postgres_servers": [
            {**p, "host_steps": False} for p in plan.get("postgres_servers", [])
        ],
        "maintenance_mode_verify_enabled": False,
    }


@dataclass
class Run:
    rc: int
    output: str
    seconds: float
    triggered: bool


def run_streaming(
    playbook: str,
    url: str,
    tmp_path: Path,
    extra: list[str],
    marker: str | None = None,
    on_marker: Callable[[], None] | None = None,
    kill_after: float | None = None,
) -> Run:
    """`ansible-playbook PLAYBOOK` on the lab inventory limited to the controller; when a line containing
    `marker` is printed, `on_marker()` runs (inject the fault there), and with `kill_after` the whole process
    group is SIGKILLed that many seconds later (the controller killed inside that task)."""
    args = [playbook, "--limit", "localhost", "-e", f"clusterswap_record={tmp_path / 'plan.json'}"]
    args += ["-e", "go_live_check_enabled=false", *extra]
    cmd, env = playbook_command(args, url, tmp_path)
    started = time.monotonic()
    lines: list[str] = []
    triggered = False
    killer: threading.Timer | None = None
    with subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if marker and not triggered and marker in line:
                triggered = True
                if on_marker:
                    on_marker()
                if kill_after is not None:
                    killer = threading.Timer(kill_after, os.killpg, (proc.pid, signal.SIGKILL))
                    killer.start()
        rc = proc.wait(timeout=900)
    if killer:
        killer.cancel()
    return Run(rc, "".join(lines), time.monotonic() - started, triggered)


class PageWatch:
    """Polls the simulator's routes while the runs go: for each EIP, the seconds it spent on no instance of
    the plan (no maintenance page, no site), and the most EIPs in that state at one moment."""

    def __init__(self, lab: LabClient, plan_instances: set[str], interval: float = 0.5) -> None:
        self.lab, self.plan_instances, self.interval = lab, plan_instances, interval
        self.off_since: dict[str, float] = {}
        self.off_total: dict[str, float] = {}
        self.most_off = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> PageWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        now = time.monotonic()
        for ip, since in self.off_since.items():
            self.off_total[ip] = self.off_total.get(ip, 0.0) + now - since
        self.off_since.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                routes = self.lab.routes()
            except Exception:  # the simulator busy: the next poll sees it
                routes = None
            if routes is not None:
                self._sample(routes)
            self._stop.wait(self.interval)

    def _sample(self, routes: dict[str, Any]) -> None:
        now = time.monotonic()
        off = {
            ip for ip, where in routes.items() if not where or where["instance_id"] not in self.plan_instances
        }
        self.most_off = max(self.most_off, len(off))
        for ip in off:
            self.off_since.setdefault(ip, now)
        for ip in list(self.off_since):
            if ip not in off:
                self.off_total[ip] = self.off_total.get(ip, 0.0) + now - self.off_since.pop(ip)

    @property
    def longest(self) -> float:
        return max(self.off_total.values(), default=0.0)


def account(url: str) -> dict[str, Any]:
    """What the safety checks compare: every EIP (domain, allocation, where), every instance's state, every
    volume (size, zone, attachments), every DB (subnet group, status, engine, storage)."""
    ec2, rds = client(url, "ec2"), client(url, "rds")
    eips = {
        a["PublicIp"]: {
            "domain": a["Domain"],
            "allocation": a.get("AllocationId"),
            "instance": a.get("InstanceId"),
            "eni": a.get("NetworkInterfaceId"),
            "private_ip": a.get("PrivateIpAddress"),
        }
        for a in ec2.describe_addresses()["Addresses"]
    }
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    volumes = {
        v["VolumeId"]: {
            "size": v["Size"],
            "zone": v["AvailabilityZone"],
            "state": v["State"],
            "attachments": sorted(
                (a["InstanceId"], a["Device"], a["State"]) for a in v.get("Attachments", [])
            ),
        }
        for v in ec2.describe_volumes()["Volumes"]
    }
    dbs = {
        d["DBInstanceIdentifier"]: {
            "group": (d.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
            "status": d["DBInstanceStatus"],
            "engine": d["Engine"],
            "storage": d["AllocatedStorage"],
        }
        for d in rds.describe_db_instances()["DBInstances"]
    }
    return {"eips": eips, "instances": states, "volumes": volumes, "dbs": dbs}


def moving(url: str) -> list[str]:
    return [m["PublicIp"] for m in client(url, "ec2").describe_moving_addresses()["MovingAddressStatuses"]]


def data_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed that no swap may change: an EIP allocated or released, a volume created, deleted, resized
    or moved to another zone, an instance terminated, a DB gone or of another engine or size."""
    out = []
    if set(after["eips"]) != set(before["eips"]):
        out.append(f"EIPs {sorted(set(before['eips']) ^ set(after['eips']))} allocated or released")
    if set(after["volumes"]) != set(before["volumes"]):
        out.append(f"volumes {sorted(set(before['volumes']) ^ set(after['volumes']))} created or deleted")
    for vid, vol in before["volumes"].items():
        now = after["volumes"].get(vid)
        if now and (now["size"], now["zone"]) != (vol["size"], vol["zone"]):
            out.append(f"volume {vid} resized or in another zone")
    for iid, state in after["instances"].items():
        if state in ("shutting-down", "terminated") and before["instances"].get(iid) != state:
            out.append(f"instance {iid} {state}")
    for db, info in before["dbs"].items():
        now = after["dbs"].get(db)
        if now is None or (now["engine"], now["storage"]) != (info["engine"], info["storage"]):
            out.append(f"DB {db} gone or changed")
    return out


def stranded_volumes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Volumes attached somewhere before the swap and on no server now (detached or stuck detaching count as
    attached to their old server only while AWS still shows the attachment)."""
    return [
        vid
        for vid, vol in before["volumes"].items()
        if vol["attachments"] and not (now["volumes"].get(vid) or {}).get("attachments")
    ]


def off_page(world: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """EIPs on no instance of the plan, or on one that is not running: no page and no site behind them."""
    plan = plan_instance_ids(world)
    return sorted(
        ip
        for ip, eip in now["eips"].items()
        if eip["instance"] not in plan or now["instances"].get(eip["instance"]) != "running"
    )


def plan_instance_ids(world: dict[str, Any]) -> set[str]:
    plan, ids = world["plan"], world["instances"]
    names = (
        set(plan["instance_map"]) | set(plan["instance_map"].values()) | set(plan["maintenance_instances"])
    )
    return {ids[n] for n in names if n in ids}


@dataclass
class Row:
    id: str
    case: str
    scenario: str
    outcome: str
    off_at_failure: int
    eips: int
    most_off: int
    longest_off_s: float
    data_changed: str
    seconds: float
    notes: list[str] = field(default_factory=list)


def write_row(row: Row) -> None:
    """Keep the case's row beside the table and rewrite the table from every row kept (each xdist worker
    writes its own rows; the last writer's table holds all)."""
    rows_dir = TABLE.parent / "fault-matrix"
    rows_dir.mkdir(parents=True, exist_ok=True)
    (rows_dir / f"{row.id}.json").write_text(json.dumps(row.__dict__, indent=1))
    rows = [json.loads(p.read_text()) for p in sorted(rows_dir.glob("*.json"))]
    lines = [
        "# Fault matrix (tests/integration/faults, `make faults`)",
        "",
        "EIPs without a page: on no instance of the plan or on one not running, counted from the simulated "
        "AWS when the faulted run ended (the controller killed, the phase failed, or it finished); the most "
        "at one moment and the longest one EIP spent so, from polling the simulator every 0.5 s through the "
        "faulted run and the rerun or rollback. Data changed: EIPs allocated or released, volumes created, "
        "deleted, resized, moved zone or left on no server, instances terminated, DBs gone or changed.",
        "",
        "| id | case | scenario | outcome | EIPs without a page at the failure | most at once | longest (s) "
        "| data changed | case time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['id']} | {r['case']} | {r['scenario']} | {r['outcome']} "
            f"| {r['off_at_failure']}/{r['eips']} | {r['most_off']} | {r['longest_off_s']:.1f} "
            f"| {r['data_changed']} | {r['seconds']:.0f} |"
        )
    tmp = TABLE.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(TABLE)
