"""Shared fixtures of the unit tests: run a custom module's main() in-process, count AWS API calls.

- `ansible.module_utils.<name>` resolves to `plugins/module_utils/<name>.py` (as ansible.cfg's
  `module_utils` does for playbooks), and `plugins/modules` is importable, so a test imports a module
  and runs its `main()` with `run_module`.
- `api_calls` counts every AWS API call made by any botocore client created while it is active, through
  botocore's `before-call` (one per operation call) and `before-send` (one per HTTP attempt) events.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible.module_utils
import botocore.session
import pytest
from ansible.module_utils.testing import patch_module_args

REPO = Path(__file__).resolve().parents[2]
MODULE_UTILS = str(REPO / "plugins" / "module_utils")
MODULES = str(REPO / "plugins" / "modules")

if MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(MODULE_UTILS)
if MODULES not in sys.path:
    sys.path.insert(0, MODULES)


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
        module = importlib.import_module(name)
        full = {"region": "us-east-1", **args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        capsys.readouterr()
        with patch_module_args(full), pytest.raises(SystemExit):
            module.main()
        out = capsys.readouterr().out
        return ModuleResult(json.loads(out.strip().splitlines()[-1]))

    return run


@dataclass
class ApiCalls:
    """AWS API calls by operation name (`calls`) and HTTP attempts including retries (`attempts`)."""

    calls: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.calls.clear()
        self.attempts.clear()

    def describes(self) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith("Describe"))

    def on_call(self, model: Any = None, **_: Any) -> None:
        self.calls[model.name] += 1

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

    def disassociate(self, ips: list[str] | None = None) -> None:
        """Take the EIPs off their instances directly (Classic by public IP, VPC by association ID)."""
        addresses = self.addresses()
        for ip in ips or self.all_ips():
            a = addresses[ip]
            if a.get("AssociationId"):
                self.ec2.disassociate_address(AssociationId=a["AssociationId"])
            elif a.get("InstanceId"):
                self.ec2.disassociate_address(PublicIp=ip)
        self.lab.tick()

    def move(self, ips: list[str] | None = None) -> None:
        """Move EIPs to the VPC directly (for tests that start from VPC EIPs)."""
        for ip in ips or self.all_ips():
            self.ec2.move_address_to_vpc(PublicIp=ip)
        self.lab.tick()

    def add_classic_eips(self, total: int) -> list[str]:
        """Grow the Classic EIPs to `total` (unassociated, allocated "long ago"); raise both limits."""
        from lab.awssim.world import LocalControl

        control = LocalControl()
        control.set_limits(classic=total + 10, vpc=total + 10)
        for n in range(total - len(self.all_ips())):
            ip = self.ec2.allocate_address(Domain="standard")["PublicIp"]
            self.world["eips"][f"extra-{n}"] = ip
        control.backdate_addresses(48)
        return self.all_ips()

    def fault(self, operation: str, nth: int, code: str, times: int = 1, message: str = "Injected") -> Any:
        return self.lab.state.add_fault(operation=operation, nth=nth, code=code, times=times, message=message)

    # ----------------------------------------------------------------- private IPs and interfaces
    #
    # One EIP per private IP (research/aws-rules.md §1a). TODO(issue 9, strict simulator): until the lead's
    # simulator lands on main, moto reports every EIP of an interface on its *primary* IP and ignores
    # AssociateAddress's PrivateIpAddress, so these helpers give an instance more places for EIPs by
    # attaching more interfaces (one EIP on each one's primary IP, which moto reports exactly), not by
    # assigning secondary IPs. `strict` says which simulator this is.

    @property
    def strict(self) -> bool:
        return "hosts" in self.world  # the world format of the strict simulator (design-issue9.md §2)

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
        """Make the instance have `total` places for EIPs (what prepare does with secondary IPs)."""
        have = len(self.slots(name))
        if have < total:
            if self.strict:
                eni = self.interfaces(name)[0]["NetworkInterfaceId"]
                self.ec2.assign_private_ip_addresses(
                    NetworkInterfaceId=eni, SecondaryPrivateIpAddressCount=total - have
                )
            else:
                self.add_interfaces(name, total - have)
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

    def legalize(self) -> None:
        """Each VPC EIP on its own private IP, as AWS allows (the lax simulator seeds several on one)."""
        if self.strict:
            return
        by_instance: dict[str, list[str]] = {}
        for ip, a in sorted(self.addresses().items()):
            if a.get("Domain") == "vpc" and a.get("InstanceId"):
                by_instance.setdefault(a["InstanceId"], []).append(ip)
        names = {v: k for k, v in self.world["instances"].items()}
        for instance_id, ips in by_instance.items():
            slots = self.give_slots(names[instance_id], len(ips))
            for ip, (eni, private_ip) in zip(ips, slots, strict=False):
                self.put(ip, eni, private_ip)

    def classic_fleet(self) -> dict[str, str]:
        """vpc-day as AWS allows it: one Classic EIP per Classic old load balancer (old-lb-1..24) and a
        Classic maintenance fleet maint-1..24. Returns the instance map (old-lb-1..12 -> new-lb-1,
        old-lb-13..24 -> new-lb-2). TODO(issue 9): the strict simulator's vpc-day world is this already."""
        if self.strict:
            return dict(self.world["plan"]["instance_map"])
        base = self.describe_instance("old-lb-1")
        for cluster, prefix in (("old", "old-lb"), ("maintenance", "maint")):
            for n in range(1 if prefix == "maint" else 3, 25):
                name = f"{prefix}-{n}"
                if name in self.world["instances"]:
                    continue
                role = "lb" if cluster == "old" else "maintenance"
                tags = {"Name": name, "clusterswap:cluster": cluster, "clusterswap:role": role}
                inst = self.ec2.run_instances(
                    ImageId=base["ImageId"],
                    InstanceType=base["InstanceType"],
                    MinCount=1,
                    MaxCount=1,
                    TagSpecifications=[
                        {
                            "ResourceType": "instance",
                            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                        }
                    ],
                )["Instances"][0]
                self.world["instances"][name] = inst["InstanceId"]
        ips = sorted(self.all_ips(), key=lambda ip: tuple(int(x) for x in ip.split(".")))
        for n, ip in enumerate(ips, start=1):
            self.ec2.associate_address(PublicIp=ip, InstanceId=self.instance(f"old-lb-{n}"))
        self.lab.tick()
        return {f"old-lb-{n}": "new-lb-1" if n <= 12 else "new-lb-2" for n in range(1, 25)}


@pytest.fixture
def make_lab(aws_env: None) -> Iterator[Callable[..., EipLab]]:
    """Factory: `make_lab("vpc-day", latency_scale=0.0)` seeds the in-process lab (one per test)."""
    import boto3

    from lab.awssim import mock_lab

    stack: list[Any] = []

    def make(scenario: str = "vpc-day", latency_scale: float = 0.0) -> EipLab:
        cm = mock_lab(scenario, latency_scale=latency_scale)
        lab = cm.__enter__()
        stack.append(cm)
        return EipLab(lab, boto3.client("ec2", region_name="us-east-1"))

    yield make
    while stack:
        stack.pop().__exit__(None, None, None)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make time.sleep instant (backoff and polls) and record what was asked for."""
    import time

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", lambda seconds: slept.append(seconds))
    return slept
