#!/usr/bin/env python
"""Benchmark of the EIP step on the lab's simulated AWS: wall time and AWS API calls.

Runs the three custom modules in-process (as Ansible would run them, one after the other) against
`lab.awssim.mock_lab("vpc-day", latency_scale=S)`, whose latency profile is lab/latency.yml
(MoveAddressToVpc 90 s, associate/disassociate 3 s, all multiplied by S):

  6.1 eip_associate state=absent   take the EIPs off the old load balancers
  6.2 eip_move_to_vpc              move them all to the VPC (issued together, waited for together)
  6.3 eip_associate                associate each by allocation ID with its new load balancer

Prints, for each EIP count: wall time per step (and divided by S: what it would be at real latencies),
and the API calls by operation, counted with botocore's `before-call` event.

    .venv/bin/python tests/bench/eip_bench.py                   # 24 and 200 EIPs, latency scale 0.1
    .venv/bin/python tests/bench/eip_bench.py --scale 1 --counts 24
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "plugins" / "modules")]

import ansible.module_utils  # noqa: E402
import botocore.session  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

ansible.module_utils.__path__.append(str(REPO / "plugins" / "module_utils"))

CALLS: Counter[str] = Counter()


@contextlib.contextmanager
def counting() -> Iterator[None]:
    """Count the API calls of every botocore client created inside (the modules create their own)."""
    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.*.*", lambda model, **_: CALLS.update([model.name]))
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]


def run_module(name: str, args: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(name)
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
    return result


def grow_to(ec2: Any, lab: Any, count: int) -> None:
    """Add Classic EIPs on the old load balancers until there are `count` (limits raised to fit)."""
    from lab.awssim.world import LocalControl

    control = LocalControl()
    control.set_limits(classic=count + 10, vpc=count + 10)
    old = [lab.world["instances"]["old-lb-1"], lab.world["instances"]["old-lb-2"]]
    for n in range(count - len(lab.world["eips"])):
        ip = ec2.allocate_address(Domain="standard")["PublicIp"]
        ec2.associate_address(PublicIp=ip, InstanceId=old[n % 2])
        lab.world["eips"][f"extra-{n}"] = ip
    control.backdate_addresses(48)
    lab.tick()


def bench(count: int, scale: float, poll: float) -> dict[str, Any]:
    import boto3

    from lab.awssim import mock_lab

    with mock_lab("vpc-day", latency_scale=0.0) as lab:
        ec2 = boto3.client("ec2", region_name="us-east-1")
        grow_to(ec2, lab, count)
        holders = {a["PublicIp"]: a["InstanceId"] for a in ec2.describe_addresses()["Addresses"]}
        new = {lab.world["instances"][f"old-lb-{n}"]: lab.world["instances"][f"new-lb-{n}"] for n in (1, 2)}
        lab.state.latency_scale = scale
        ips = list(holders)
        steps = [
            (
                "6.1 disassociate",
                "eip_associate",
                {"state": "absent", "associations": [{"public_ip": ip} for ip in ips]},
            ),
            ("6.2 move to VPC", "eip_move_to_vpc", {"public_ips": ips, "wait_timeout": 3600}),
            (
                "6.3 associate",
                "eip_associate",
                {"associations": [{"public_ip": ip, "instance_id": new[holders[ip]]} for ip in ips]},
            ),
        ]
        timings: dict[str, float] = {}
        CALLS.clear()
        with counting():
            for label, module, args in steps:
                start = time.monotonic()
                run_module(module, {**args, "poll_interval": poll})
                timings[label] = time.monotonic() - start
        final = ec2.describe_addresses()["Addresses"]
        assert all(a["Domain"] == "vpc" and a["InstanceId"] == new[holders[a["PublicIp"]]] for a in final)
        return {"count": count, "timings": timings, "calls": dict(sorted(CALLS.items()))}


def report(result: dict[str, Any], scale: float) -> None:
    total = sum(result["timings"].values())
    print(f"\n== {result['count']} EIPs, latency scale {scale} (lab/latency.yml x {scale})")
    for label, seconds in [*result["timings"].items(), ("total", total)]:
        real = f"   ~{seconds / scale:7.1f} s at real latencies" if scale else ""
        print(f"  {label:<18} {seconds:7.2f} s{real}")
    calls = result["calls"]
    describes = sum(n for op, n in calls.items() if op.startswith("Describe"))
    print(f"  API calls: {sum(calls.values())} in all, {describes} describe calls")
    for op, n in calls.items():
        print(f"    {op:<28} {n}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=0.1, help="latency scale (default 0.1)")
    parser.add_argument(
        "--counts", type=int, nargs="+", default=[24, 200], help="EIP counts (default 24 200)"
    )
    parser.add_argument("--poll-interval", type=float, default=0.5, help="modules' poll_interval (s)")
    args = parser.parse_args()
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    for count in args.counts:
        report(bench(count, args.scale, args.poll_interval), args.scale)


if __name__ == "__main__":
    main()
