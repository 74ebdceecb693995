"""The lab's simulated AWS: moto 5.2.5 plus what it lacks (EC2-Classic, EIP moves, separate EIP limits,
latency, fault injection). See lab/awssim/README.md.

In-process (unit tests)::

    with mock_lab("incident", latency_scale=0.01) as lab:
        ec2 = boto3.client("ec2", region_name="us-east-1")
        ec2.move_address_to_vpc(PublicIp=lab.world["eips"]["web-3"])

Server: ``python -m lab.awssim serve --port 5055 --scenario default``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lab.awssim.hooks import HostHooks, NullHooks
from lab.awssim.patches import MOTO_VERSION, check_moto, install
from lab.awssim.state import STATE, FaultRule, LabState, Transition

__all__ = [
    "MOTO_VERSION",
    "STATE",
    "FaultRule",
    "HostHooks",
    "Lab",
    "LabState",
    "NullHooks",
    "Transition",
    "check_moto",
    "install",
    "mock_lab",
]

check_moto()  # fail loudly at import on a moto this was not written for


@dataclass
class Lab:
    """What `mock_lab()` yields: the lab state and the seeded world (names -> ids)."""

    state: LabState
    world: dict[str, Any] = field(default_factory=dict)
    region: str = "us-east-1"

    def tick(self) -> int:
        """Apply due transitions now (they are also applied at the start of every API call)."""
        return self.state.tick()


_botocore_session: Any = None


@contextmanager
def mock_lab(
    scenario: str | dict[str, Any] | None = None,
    latency_scale: float = 0.0,
    region: str = "us-east-1",
    platforms: tuple[str, ...] | None = None,
    hooks: HostHooks | None = None,
    throttle: bool = True,
) -> Iterator[Lab]:
    """moto's `mock_aws()` + the lab patches + a fresh lab state, optionally seeded with `scenario` (a
    scenario's name, or its content as a dict).

    A bare lab is a Classic-enabled account (platforms EC2+VPC, both EIP limits 5) unless `platforms`
    says otherwise. Seeding runs at latency 0 and unthrottled; `latency_scale` applies afterwards, and so
    does EC2 API throttling (`throttle`, on by default as on AWS; lab.awssim.throttle), with every bucket
    full and the api-stats counters at zero.
    """
    import boto3
    from moto import mock_aws

    from lab.awssim.world import LocalControl, seed, seed_world

    install()
    global _botocore_session
    if _botocore_session is None:  # reused: loading botocore's service models is a third of a seed
        import botocore.session

        _botocore_session = botocore.session.get_session()
    with mock_aws():
        STATE.reset()
        STATE.latency_scale = 0.0
        STATE.hooks = hooks or NullHooks()
        if platforms is not None:
            STATE.platforms = tuple(platforms)
        lab = Lab(state=STATE, region=region)
        try:
            if scenario:
                session = boto3.Session(botocore_session=_botocore_session, region_name=region)
                with STATE.seeding():  # a world is built "long ago": never throttled
                    if isinstance(scenario, dict):  # a scenario given as its content (benchmarks)
                        lab.world = seed_world(scenario, session, LocalControl(), region=region)
                    else:
                        lab.world = seed(scenario, session, LocalControl(), region=region)
                STATE.scenario = scenario if isinstance(scenario, str) else str(scenario.get("name"))
            STATE.latency_scale = latency_scale
            STATE.throttle_enabled = throttle
            yield lab
        finally:
            STATE.reset()
            STATE.hooks = NullHooks()
            STATE.latency_scale = 0.0
