#!/usr/bin/env python
"""Benchmark of the EIP phases on the lab's simulated AWS, with AWS's request throttling on.

Runs the runbook's modules in-process, in the order the phases run them, against a generated world of N EIPs
(`lab.awssim.mock_lab(scenario_dict, latency_scale=S)`; latencies from lab/latency.yml x S; the token buckets
in real time whatever S):

  vpc form (a normal update in a VPC-only account): old load balancers with 10 EIPs each, one per private IP;
     a maintenance server (m5.24xlarge, 50 addresses per interface, as many interfaces as the EIPs need; a
     second one past 750); new load balancers that prepare gives their private IPs.
  classic form (the write-up's day): one EC2-Classic old load balancer and one Classic maintenance server per
     EIP (a Classic instance holds one EIP), new load balancers in the VPC; the EIPs move to the VPC.

  pre-flight   swap_plan_info                        the plan, capacity, the DryRun checks
  prepare      eni_private_ips + swap_plan_info      each target's private IPs, then every target pinned
  maintenance  eip_associate moves.to_maintenance    every EIP onto its place on the maintenance side
  leave        eip_associate state=absent            (classic) the EIPs off the maintenance fleet
  move         eip_move_to_vpc                       (classic) every EIP to the VPC, paced to 1/s
  go-live      eip_associate moves.to_new            every EIP onto its place on the new cluster

Prints, per form and count, each phase's wall time, its API calls, how many AWS throttled
(RequestLimitExceeded), and the rate-limit floor of its mutating calls (after the bucket's burst of 50,
AssociateAddress and DisassociateAddress refill at 5/s; MoveAddressToVpc 1/s).

    .venv/bin/python tests/bench/eip_bench.py --counts 24 200 --scale 1     # the closing note's table
    .venv/bin/python tests/bench/eip_bench.py --counts 24 --forms vpc --scale 0.05 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "collections")]

from ansible.module_utils.testing import patch_module_args  # noqa: E402

PER_LB = 10  # EIPs per load balancer (m4.large / m5.large: 10 IPv4 addresses per interface)
MAINT_TYPE, MAINT_PER_ENI, MAINT_ENIS = "m5.24xlarge", 50, 15


def scenario(form: str, count: int) -> dict[str, Any]:
    """A world of `count` EIPs that AWS can hold (the simulator refuses one it can't)."""
    lbs = math.ceil(count / PER_LB)
    names = [f"eip-{n:04d}" for n in range(1, count + 1)]
    net = {"cidr": "10.0.0.0/16", "subnet": "10.0.0.0/17", "az": "us-east-1a"}
    net.update(db_subnet="10.0.128.0/24", db_az="us-east-1b")
    if form == "classic":
        return {
            "name": f"bench-classic-{count}",
            "platforms": ["EC2", "VPC"],
            "limits": {"classic": count + 10, "vpc": count + 10},
            "vpc": net,
            "clusters": {"old": "classic", "new": "vpc", "maintenance": "classic"},
            "types": {"old": "m1.small", "new": "m5.large", "maintenance": "m1.small"},
            "lbs": {"old": count, "new": lbs},
            "maintenance": count,
            "eips": {
                "domain": "standard",
                "hosts": [f"old-lb-{n}" for n in range(1, count + 1)],
                "names": names,
            },
        }
    fleet = math.ceil(count / (MAINT_PER_ENI * MAINT_ENIS))
    enis = min(MAINT_ENIS, math.ceil(count / fleet / MAINT_PER_ENI))
    return {
        "name": f"bench-vpc-{count}",
        "platforms": ["VPC"],
        "limits": {"classic": 5, "vpc": count + 10},
        # the maintenance servers' extra interfaces: room for 1,000 addresses and more (a /24 holds 251)
        "vpc": {**net, "extra_subnet": "10.0.144.0/20"},
        "clusters": {"old": "vpc", "new": "vpc", "maintenance": "vpc"},
        "types": {"old": "m4.large", "new": "m5.large", "maintenance": MAINT_TYPE},
        "instances": {f"maint-{n}": {"interfaces": enis} for n in range(1, fleet + 1)},
        "lbs": {"old": lbs, "new": lbs},
        "maintenance": fleet,
        "eips": {"domain": "vpc", "hosts": [f"old-lb-{n}" for n in range(1, lbs + 1)], "names": names},
    }


def run_module(name: str, args: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(f"ansible_collections.clusterswap.swap.plugins.modules.{name}")
    out = io.StringIO()
    with (
        patch_module_args({"region": "us-east-1", **args}),
        contextlib.redirect_stdout(out),
        contextlib.suppress(SystemExit),
    ):
        module.main()
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    if result.get("failed"):
        raise RuntimeError(f"{name} failed: {result.get('msg')}")
    return result  # type: ignore[no-any-return]


def stats(state: Any) -> dict[str, tuple[int, int]]:
    return {op: (s["calls"], s["throttled"]) for (_svc, op), s in state.api_stats.items()}


def floor(calls: dict[str, int]) -> float:
    """Seconds AWS's buckets need at least for these mutating calls (burst, then the refill rate)."""
    mutating = sum(calls.get(op, 0) for op in ("AssociateAddress", "DisassociateAddress"))
    return max(0.0, (mutating - 50) / 5.0) + max(0.0, calls.get("MoveAddressToVpc", 0) - 1.0)


def bench(form: str, count: int, scale: float) -> dict[str, Any]:
    import os

    from lab.awssim import mock_lab

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(key, value)
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    sc = scenario(form, count)
    with mock_lab(sc, latency_scale=scale) as lab, tempfile.TemporaryDirectory() as tmp:
        plan_args = {
            "instance_map": lab.world["plan"]["instance_map"],
            "maintenance_instances": lab.world["plan"]["maintenance_instances"],
            "stop_instances": [],
            "record": f"{tmp}/plan.json",
        }
        phases: list[dict[str, Any]] = []

        def phase(label: str, steps: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
            before = stats(lab.state)
            start = time.monotonic()
            results = [run_module(module, args) for module, args in steps]
            after = stats(lab.state)
            calls = {op: after[op][0] - before.get(op, (0, 0))[0] for op in after}
            throttled = {op: after[op][1] - before.get(op, (0, 0))[1] for op in after}
            calls = {op: n for op, n in calls.items() if n}
            phases.append(
                {
                    "phase": label,
                    "seconds": round(time.monotonic() - start, 1),
                    "calls": sum(calls.values()),
                    "throttled": sum(throttled.values()),
                    "floor": round(floor(calls), 1),
                    "by_operation": dict(sorted(calls.items())),
                }
            )
            return results

        (plan,) = phase("pre-flight", [("swap_plan_info", plan_args)])
        assign = [a for c in plan["capacity"] for a in c["to_assign"] if a["count"] > 0]
        interfaces = [
            {
                "network_interface_id": a["network_interface_id"],
                "secondary_private_ips": a["secondary_private_ips"] + a["count"],
            }
            for a in assign
        ]
        steps = [("eni_private_ips", {"interfaces": interfaces})] if interfaces else []
        plan = phase("prepare", [*steps, ("swap_plan_info", plan_args)])[-1]
        phase(
            "maintenance",
            [("eip_associate", {"associations": plan["moves"]["to_maintenance"], "wait_timeout": 3600})],
        )
        if form == "classic":
            ips = [{"public_ip": e["public_ip"]} for e in plan["eips"]]
            phase(
                "leave", [("eip_associate", {"state": "absent", "associations": ips, "wait_timeout": 3600})]
            )
            moved = {"public_ips": [e["public_ip"] for e in plan["eips"]], "wait_timeout": 7200}
            phase("move", [("eip_move_to_vpc", moved)])
        plan = run_module("swap_plan_info", plan_args)
        phase("go-live", [("eip_associate", {"associations": plan["moves"]["to_new"], "wait_timeout": 3600})])
        final = run_module("swap_plan_info", plan_args)
        assert final["stage"] == "live", final["stage"]
        places = [(e["instance_id"], e.get("private_ip_address")) for e in final["eips"]]
        assert len(set(places)) == count, "every EIP on its own place"
        return {"form": form, "count": count, "scale": scale, "phases": phases}


def report(result: dict[str, Any]) -> None:
    print(f"\n{result['form']} form, {result['count']} EIPs (latency scale {result['scale']}, throttling on)")
    print(f"  {'phase':<12} {'wall s':>8} {'calls':>6} {'throttled':>9} {'floor s':>8}  by operation")
    total = 0.0
    for p in result["phases"]:
        total += p["seconds"]
        ops = ", ".join(f"{op} {n}" for op, n in p["by_operation"].items())
        row = (
            f"  {p['phase']:<12} {p['seconds']:>8.1f} {p['calls']:>6} {p['throttled']:>9} {p['floor']:>8.1f}"
        )
        print(f"{row}  {ops}")
    print(f"  {'EIP steps':<12} {total:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[24, 200])
    parser.add_argument("--forms", nargs="+", default=["vpc", "classic"], choices=["vpc", "classic"])
    parser.add_argument("--scale", type=float, default=1.0, help="latency scale (1 = AWS's real durations)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = []
    for form in args.forms:
        for count in args.counts:
            results.append(bench(form, count, args.scale))
            report(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
