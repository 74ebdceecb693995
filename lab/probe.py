"""The downtime probe: what users see through every EIP while a swap runs on the lab.

A bounded probe that requests every EIP a few times a second, from an ordinary client address and from an
office address (which bypasses the maintenance page), and records for each EIP and source what it answered
over time: the old cluster, the maintenance page, the new cluster, or nothing at all (refused, reset, timeout,
closed), as segments with their start and end. It stops by itself after `--duration` seconds, or at SIGTERM /
SIGINT, and always writes its report:

    python -m lab.probe --out reports/probe.json --duration 900 [--interval 0.25] [--sim http://127.0.0.1:5055]

Its report is the record the product's timeline reads (plugins/plugin_utils/timeline/downtime.py):
`summarize()` there gives each EIP's seconds of maintenance page and of nothing at all, and flags an EIP that
answered from the old cluster after it had shown the maintenance page or the new cluster (a flip back);
`labctl swap` adds the record to the run's timeline report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.downtime import (
    MAINTENANCE,
    NEW,
    OLD,
    summarize,
)

ERRORS = ("refused", "reset", "timeout", "closed")
CLIENT_SOURCE = "127.20.0.9"  # an ordinary client: outside the office networks (lab/WORLD.md)
OFFICE_SOURCE = "127.10.0.5"  # inside the lab's office network 127.10.0.0/24


def classify(status: int | None, body: str) -> str:
    """What an answer means to a user: old | new | maintenance | http-<status> | one of ERRORS."""
    if status is None:
        return body if body in ERRORS else "closed"
    fields = dict(part.split("=", 1) for part in body.split() if "=" in part)
    if fields.get("cluster") in (OLD, NEW):
        return fields["cluster"]
    if status == 503 and "maintenance" in body.lower() and "unconfigured" not in body:
        return MAINTENANCE
    return f"http-{status}"


async def fetch(ip: str, source: str | None, port: int = 80, timeout: float = 2.0) -> tuple[int | None, str]:
    """One GET /: (status, body), or (None, error kind)."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(ip, port, local_addr=(source, 0) if source else None), timeout
        )
    except ConnectionRefusedError:
        return None, "refused"
    except TimeoutError:
        return None, "timeout"
    except OSError:
        return None, "refused"
    try:
        writer.write(f"GET / HTTP/1.0\r\nHost: {ip}\r\nUser-Agent: clusterswap-probe\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    except TimeoutError:
        return None, "timeout"
    except ConnectionResetError:
        return None, "reset"
    except OSError:
        return None, "reset"
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    text = raw.decode(errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    parts = head.split(" ", 2)
    if not head or len(parts) < 2 or not parts[1].isdigit():
        return None, "closed"
    return int(parts[1]), body


@dataclass
class Track:
    """The answers of one EIP to one source: segments [start, end, state] and the number of requests."""

    segments: list[list[Any]] = field(default_factory=list)
    requests: int = 0

    def add(self, t: float, state: str) -> None:
        self.requests += 1
        if self.segments and self.segments[-1][2] == state:
            self.segments[-1][1] = t
        else:
            if self.segments:
                self.segments[-1][1] = t
            self.segments.append([t, t, state])


async def probe(
    eips: dict[str, str],
    duration: float,
    interval: float = 0.25,
    sources: dict[str, str | None] | None = None,
    port: int = 80,
    stop: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Probe `eips` ({public ip: name}) from every source ({label: address}) until `duration` or `stop`."""
    sources = sources or {"client": CLIENT_SOURCE, "office": OFFICE_SOURCE}
    stop = stop or asyncio.Event()
    started = time.time()
    tracks = {ip: {label: Track() for label in sources} for ip in eips}

    async def watch(ip: str, label: str, source: str | None) -> None:
        while not stop.is_set() and time.time() - started < duration:
            t0 = time.time()
            status, body = await fetch(ip, source, port, timeout=min(2.0, max(interval * 4, 0.5)))
            tracks[ip][label].add(round(time.time() - started, 3), classify(status, body))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, interval - (time.time() - t0)))

    await asyncio.gather(*(watch(ip, label, src) for ip in eips for label, src in sources.items()))
    return {
        "started_at": started,
        "ended_at": time.time(),
        "interval": interval,
        "sources": sources,
        "eips": {
            ip: {"name": eips[ip], **{label: vars(track) for label, track in by_source.items()}}
            for ip, by_source in tracks.items()
        },
    }


def violations(report: dict[str, Any], max_no_page: float) -> list[str]:
    """The probe's invariants, broken: a flip back to the old cluster; a stretch with no page at all longer
    than `max_no_page` seconds (the association latency in a normal update; a move on the VPC day)."""
    problems = []
    for ip, s in summarize(report).items():
        if s["flip_back_to_old"]:
            problems.append(f"{s['name']} ({ip}) answered from the old cluster after {s['states']}")
        if s["longest_no_page"] > max_no_page:
            problems.append(
                f"{s['name']} ({ip}) gave no page at all for {s['longest_no_page']:.1f}s "
                f"(limit {max_no_page:.1f}s): {s['states']}"
            )
    return problems


def eips_of(sim_url: str) -> dict[str, str]:
    """{public ip: Name tag} of every EIP of the simulated account."""
    import boto3

    ec2 = boto3.client(
        "ec2",
        endpoint_url=sim_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    out = {}
    for a in ec2.describe_addresses()["Addresses"]:
        tags = {t["Key"]: t["Value"] for t in a.get("Tags", [])}
        out[a["PublicIp"]] = tags.get("Name", a["PublicIp"])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--duration", type=float, default=900.0, help="stop after this many seconds")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between two requests per EIP")
    parser.add_argument("--sim", default="http://127.0.0.1:5055")
    args = parser.parse_args(argv)

    async def run() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await probe(eips_of(args.sim), args.duration, args.interval, stop=stop)

    report = asyncio.run(run())
    report["summary"] = summarize(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
