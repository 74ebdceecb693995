"""Shared fixtures of the unit tests: run a custom module's main() in-process, count AWS API calls.

- The code is imported as the collection it is (`ansible_collections.clusterswap.swap.plugins...`, found
  through `collections/`, which pyproject puts on the path): a test runs a module's `main()` with
  `run_module`.
- `api_calls` counts every AWS API call made by any botocore client created while it is active, through
  botocore's `before-call` (one per operation call) and `before-send` (one per HTTP attempt) events.
- `virtual_time` / `no_sleep`: `time.sleep` returns at once and `time.monotonic` runs ahead by every
  second slept, for the module, its client-side pacing and the simulated AWS alike (throttle buckets,
  slow operations): a module that paces its calls as AWS requires is not throttled, one that does not
  still is, and a wait for a slow operation ends when enough (virtual) time has passed.
"""

from __future__ import annotations

import importlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from ansible.module_utils.testing import patch_module_args

MODULES = "ansible_collections.clusterswap.swap.plugins.modules"


@dataclass
class ModuleResult:
    """What a module printed when it exited: its JSON result, and whether it failed."""

    data: dict[str, Any]

    @property
    def failed(self) -> bool:
        return bool(self.data.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.data.get("changed"))

    @property
    def msg(self) -> str:
        return str(self.data.get("msg", ""))

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


RunModule = Callable[..., ModuleResult]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and region; no endpoint, so in-process moto answers."""
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def run_module(capsys: pytest.CaptureFixture[str], aws_env: None) -> RunModule:
    """Run `plugins/modules/<name>.py`'s main() with args; check_mode/diff as Ansible passes them."""

    def run(name: str, args: dict[str, Any], check_mode: bool = False, diff: bool = False) -> ModuleResult:
        module = importlib.import_module(f"{MODULES}.{name}")
        full = {"region": "us-east-1", **args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        capsys.readouterr()
        with patch_module_args(full), pytest.raises(SystemExit):
            module.main()
        out = capsys.readouterr().out
        return ModuleResult(json.loads(out.strip().splitlines()[-1]))

    return run


@dataclass
class ApiCalls:
    """AWS API calls by operation name (`calls`), in the order made (`order`), and HTTP attempts including
    retries (`attempts`)."""

    calls: Counter[str] = field(default_factory=Counter)
    order: list[str] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.calls.clear()
        self.order.clear()
        self.attempts.clear()

    def describes(self) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith("Describe"))

    def on_call(self, model: Any = None, **_: Any) -> None:
        self.calls[model.name] += 1
        self.order.append(model.name)

    def on_send(self, event_name: str = "", **_: Any) -> None:
        self.attempts[event_name.rsplit(".", 1)[-1]] += 1


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiCalls]:
    """Count the API calls of every botocore client created from now on (modules create their own)."""
    counter = ApiCalls()
    original = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.*.*", counter.on_call)
        client.meta.events.register("before-send.*.*", counter.on_send)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    yield counter


# --------------------------------------------------------------------------- the lab's simulated AWS


@dataclass
class EipLab:
    """The in-process lab (lab.awssim.mock_lab) with the helpers the EIP tests need."""

    lab: Any
    ec2: Any

    @property
    def world(self) -> dict[str, Any]:
        return self.lab.world

    def ip(self, name: str) -> str:
        return self.world["eips"][name]

    def instance(self, name: str) -> str:
        return self.world["instances"][name]

    def all_ips(self) -> list[str]:
        return list(self.world["eips"].values())

    def addresses(self) -> dict[str, dict[str, Any]]:
        return {a["PublicIp"]: a for a in self.ec2.describe_addresses()["Addresses"]}

    def domains(self, ips: list[str] | None = None) -> Counter[str]:
        addresses = self.addresses()
        return Counter(addresses[ip]["Domain"] for ip in (ips or self.all_ips()))

    def holders(self, ips: list[str] | None = None) -> dict[str, str | None]:
        addresses = self.addresses()
        return {ip: addresses[ip].get("InstanceId") or None for ip in (ips or self.all_ips())}

    # The helpers below set the world up before the test, as seeding does: "long ago", so unthrottled
    # (a setup burst is not what the module under test does; its own calls are throttled as on AWS).

    def disassociate(self, ips: list[str] | None = None) -> None:
        """Take the EIPs off their instances directly (Classic by public IP, VPC by association ID), and wait
        until DescribeAddresses shows it (disassociation is eventually consistent, as on AWS)."""
        wanted = ips or self.all_ips()
        with self.lab.state.unthrottled():
            addresses = self.addresses()
            for ip in wanted:
                a = addresses[ip]
                if a.get("AssociationId"):
                    self.ec2.disassociate_address(AssociationId=a["AssociationId"])
                elif a.get("InstanceId"):
                    self.ec2.disassociate_address(PublicIp=ip)
        for transition in [t for ip in wanted for t in self.lab.state.pending_for(ip, "eip_association")]:
            transition.due = 0.0  # the test's own set-up: no need to wait out the latency
        self.lab.tick()

    def move(self, ips: list[str] | None = None) -> None:
        """Move EIPs to the VPC directly (for tests that start from VPC EIPs)."""
        with self.lab.state.unthrottled():
            for ip in ips or self.all_ips():
                self.ec2.move_address_to_vpc(PublicIp=ip)
        self.lab.tick()

    def add_classic_eips(self, total: int) -> list[str]:
        """Grow the Classic EIPs to `total` (unassociated, allocated "long ago"); raise both limits."""
        from lab.awssim.world import LocalControl

        control = LocalControl()
        control.set_limits(classic=total + 10, vpc=total + 10)
        with self.lab.state.unthrottled():
            for n in range(total - len(self.all_ips())):
                ip = self.ec2.allocate_address(Domain="standard")["PublicIp"]
                self.world["eips"][f"extra-{n}"] = ip
        control.backdate_addresses(48)
        return self.all_ips()

    def fault(self, operation: str, nth: int, code: str, times: int = 1, message: str = "Injected") -> Any:
        return self.lab.state.add_fault(operation=operation, nth=nth, code=code, times=times, message=message)

    # ----------------------------------------------------------------- private IPs and interfaces
    # One EIP per private IP (research/aws-rules.md §1a): the simulator holds each EIP on its own private
    # IP (or EC2-Classic instance); these helpers give instances the private IPs prepare would give them.

    def describe_instance(self, name: str) -> dict[str, Any]:
        reservation = self.ec2.describe_instances(InstanceIds=[self.instance(name)])["Reservations"][0]
        return reservation["Instances"][0]

    def interfaces(self, name: str) -> list[dict[str, Any]]:
        enis = self.describe_instance(name).get("NetworkInterfaces", [])
        return sorted(enis, key=lambda e: e["Attachment"]["DeviceIndex"])

    def slots(self, name: str) -> list[tuple[str, str]]:
        """(ENI, private IP) of every private IP of the instance, in the runbook's slot order."""
        import ipaddress

        out = []
        for eni in self.interfaces(name):
            ips = sorted(
                eni["PrivateIpAddresses"],
                key=lambda p: (not p["Primary"], int(ipaddress.IPv4Address(p["PrivateIpAddress"]))),
            )
            out += [(eni["NetworkInterfaceId"], p["PrivateIpAddress"]) for p in ips]
        return out

    def add_interfaces(self, name: str, count: int) -> list[str]:
        inst = self.describe_instance(name)
        first = len(inst.get("NetworkInterfaces", []))
        ids = []
        for index in range(first, first + count):
            eni = self.ec2.create_network_interface(SubnetId=inst["SubnetId"])["NetworkInterface"]
            self.ec2.attach_network_interface(
                NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=inst["InstanceId"], DeviceIndex=index
            )
            ids.append(eni["NetworkInterfaceId"])
        return ids

    def give_slots(self, name: str, total: int) -> list[tuple[str, str]]:
        """Make the instance have `total` private IPs (what prepare does): secondary IPs on its interfaces,
        filling each up to its type's limit before the next."""
        inst = self.describe_instance(name)
        types = self.ec2.describe_instance_types(InstanceTypes=[inst["InstanceType"]])["InstanceTypes"]
        per_interface = types[0]["NetworkInfo"]["Ipv4AddressesPerInterface"]
        missing = total - len(self.slots(name))
        room = sum(per_interface - len(e["PrivateIpAddresses"]) for e in self.interfaces(name))
        if missing > room:  # attach interfaces, as an operator would (up to the type's limit)
            self.add_interfaces(name, -(-(missing - room) // per_interface))
        for eni in self.interfaces(name):
            count = min(missing, per_interface - len(eni["PrivateIpAddresses"]))
            if count > 0:
                self.ec2.assign_private_ip_addresses(
                    NetworkInterfaceId=eni["NetworkInterfaceId"], SecondaryPrivateIpAddressCount=count
                )
                missing -= count
        return self.slots(name)

    def put(self, public_ip: str, eni: str, private_ip: str) -> None:
        address = self.addresses()[public_ip]
        self.ec2.associate_address(
            AllocationId=address["AllocationId"],
            NetworkInterfaceId=eni,
            PrivateIpAddress=private_ip,
            AllowReassociation=True,
        )
        self.lab.tick()

    def name_of(self, public_ip: str) -> str | None:
        tags = self.addresses()[public_ip].get("Tags", [])
        return {t["Key"]: t["Value"] for t in tags}.get("Name")

    def where(self, public_ip: str) -> tuple[str | None, str | None]:
        a = self.addresses()[public_ip]
        return a.get("NetworkInterfaceId"), a.get("PrivateIpAddress")

    @property
    def instance_map(self) -> dict[str, str]:
        return dict(self.world["plan"]["instance_map"])

    @property
    def maintenance_instances(self) -> list[str]:
        return list(self.world["plan"]["maintenance_instances"])


@pytest.fixture
def make_lab(aws_env: None) -> Iterator[Callable[..., EipLab]]:
    """Factory: `make_lab("vpc-day", latency_scale=0.0)` seeds the in-process lab (one per test).
    EC2 throttling is on as on AWS; `throttle=False` for a test whose bursts are not what it is about."""
    import boto3

    from lab.awssim import mock_lab

    stack: list[Any] = []

    def make(scenario: str = "vpc-day", latency_scale: float = 0.0, throttle: bool = True) -> EipLab:
        cm = mock_lab(scenario, latency_scale=latency_scale, throttle=throttle)
        lab = cm.__enter__()
        stack.append(cm)
        return EipLab(lab, boto3.client("ec2", region_name="us-east-1"))

    yield make
    while stack:
        stack.pop().__exit__(None, None, None)


_REAL_SLEEP = time.sleep
_REAL_MONOTONIC = time.monotonic


@dataclass
class VirtualTime:
    """`time.sleep` returns at once and records the delay; `time.monotonic` (and the simulated AWS's
    throttle clock) run ahead by every second slept. Inside `real()` sleeps are real again."""

    slept: list[float] = field(default_factory=list)
    ahead: float = 0.0
    virtual: bool = True

    def sleep(self, seconds: float) -> None:
        if not self.virtual:
            _REAL_SLEEP(seconds)
            return
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass for the throttle (e.g. the second or so Ansible takes between two tasks)."""
        self.ahead += max(0.0, float(seconds))

    def clock(self) -> float:
        return _REAL_MONOTONIC() + self.ahead

    @contextmanager
    def real(self) -> Iterator[None]:
        self.virtual = False
        try:
            yield
        finally:
            self.virtual = True


@pytest.fixture
def virtual_time(monkeypatch: pytest.MonkeyPatch) -> VirtualTime:
    """Instant sleeps that the simulated AWS's throttle sees as time passing (see VirtualTime)."""
    from lab.awssim import STATE

    vt = VirtualTime()
    monkeypatch.setattr(time, "sleep", vt.sleep)
    monkeypatch.setattr(time, "monotonic", vt.clock)
    monkeypatch.setattr(STATE.throttle, "clock", vt.clock)
    return vt


@pytest.fixture
def no_sleep(virtual_time: VirtualTime) -> list[float]:
    """Make time.sleep instant (backoff, polls, client-side pacing) and record what was asked for; the
    simulated AWS's throttle sees the time pass."""
    return virtual_time.slept
