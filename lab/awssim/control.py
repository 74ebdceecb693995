"""Operations on the simulated account that AWS has no API for (used by LocalControl and the server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from lab.awssim.state import STATE


def ec2_backends() -> Iterator[Any]:
    from moto.ec2.models import ec2_backends as backends

    for regions in list(backends.values()):
        yield from list(regions.values())


def backdate_addresses(hours: float) -> int:
    """Make every existing EIP look allocated `hours` ago. Returns how many."""
    when = time.time() - hours * 3600.0
    n = 0
    with STATE.lock:
        for backend in ec2_backends():
            for address in backend.addresses:
                address._lab_allocated_at = when
                n += 1
    return n


def reset_moto() -> None:
    """Forget every simulated resource (moto's own reset), keep the patches."""
    from moto.moto_api._internal.models import moto_api_backend

    with STATE.lock:
        moto_api_backend.reset()


def routes(region: str | None = None) -> dict[str, Any]:
    """EIP public ip -> where it is associated now, or None:
    {"instance_id", "network_interface_id", "private_ip", "lab_host"}. A VPC EIP's private IP is the one
    DescribeAddresses shows as its PrivateIpAddress (the exact address of its network interface); an
    EC2-Classic EIP has no network interface, and its private IP is its instance's."""
    STATE.tick()
    out: dict[str, Any] = {}
    with STATE.lock:
        for backend in ec2_backends():
            if region and backend.region_name != region:
                continue
            for a in backend.addresses:
                inst = a.instance
                if inst is None:
                    out[a.public_ip] = None
                    continue
                tags = {t["key"]: t["value"] for t in inst.get_tags()}
                if a.domain == "vpc" and a.eni is not None:
                    eni_id, private_ip = a.eni.id, a.private_ip_address
                else:
                    eni_id, private_ip = None, inst.private_ip
                out[a.public_ip] = {
                    "instance_id": inst.id,
                    "network_interface_id": eni_id,
                    "private_ip": private_ip,
                    "lab_host": tags.get("lab:host"),
                }
    return out
