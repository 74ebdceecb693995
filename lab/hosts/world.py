"""The host side of the lab's world (lab/WORLD.md): which instances have a container, their networks and
private IPs (read from the simulated AWS, never fixed here), and where the seeded volumes are mounted."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.awssim.world import WORLD

REPO = Path(__file__).resolve().parents[2]
STATE_DIR = REPO / "lab" / ".state"
VOLUME_DIR = STATE_DIR / "volumes"
#: The container hosts and networks derived from the simulated AWS at the last seeding (labctl writes it).
TOPOLOGY_FILE = STATE_DIR / "hosts.json"
IMAGE_REPO = "localhost/clusterswap-lab"
IMAGE = f"{IMAGE_REPO}:latest"
#: Label on everything podman makes for the lab, so `down` removes only what the lab made.
LABEL = "clusterswap.lab"
#: The instance tag that gives an instance a container host (its value is the container's name).
HOST_TAG = "lab:host"
OFFICE_CIDR = "127.10.0.0/24"
EIP_CIDR = "127.100.0.0/16"


@dataclass(frozen=True)
class Network:
    """A podman network for one subnet that holds lab hosts. The gateway is the subnet's .1: the address AWS
    reserves for the VPC router, here the host's end of the bridge (the traffic edge connects from it)."""

    name: str
    cidr: str
    gateway: str

    @classmethod
    def for_cidr(cls, cidr: str) -> Network:
        net = ipaddress.IPv4Network(cidr)
        return cls(f"cs-{str(net.network_address).replace('.', '-')}", str(net), str(net.network_address + 1))

    @property
    def prefix_length(self) -> int:
        return ipaddress.IPv4Network(self.cidr).prefixlen


@dataclass(frozen=True)
class Interface:
    """One network interface of an instance, as DescribeInstances shows it (EC2-Classic: the instance's one
    address, no ENI id, no MAC)."""

    network: Network
    private_ips: tuple[str, ...]  # the primary first, then the secondary ones by numeric value
    network_interface_id: str | None = None
    device_index: int = 0
    mac_address: str | None = None

    @property
    def primary_ip(self) -> str:
        return self.private_ips[0]

    @property
    def secondary_ips(self) -> tuple[str, ...]:
        return self.private_ips[1:]


@dataclass(frozen=True)
class Host:
    """One instance tagged `lab:host` (= `container`)."""

    name: str
    cluster: str
    role: str
    container: str
    instance_id: str
    platform: str  # vpc | classic
    interfaces: tuple[Interface, ...] = field(default=())

    @property
    def ip(self) -> str:
        """The primary private IP (of the first interface)."""
        return self.interfaces[0].primary_ip

    @property
    def private_ips(self) -> tuple[str, ...]:
        return tuple(ip for eni in self.interfaces for ip in eni.private_ips)


@dataclass(frozen=True)
class Topology:
    """Every lab host and the networks they sit on."""

    hosts: tuple[Host, ...]
    networks: tuple[Network, ...]

    def host(self, name: str) -> Host | None:
        return next((h for h in self.hosts if h.name == name), None)

    def by_container(self, container: str | None) -> Host | None:
        return next((h for h in self.hosts if h.container == container), None)

    def web_of(self, cluster: str) -> Host | None:
        """The web server a cluster's load balancers proxy to (its first, by name)."""
        webs = sorted(
            (h for h in self.hosts if h.cluster == cluster and h.role == "web"), key=lambda h: h.name
        )
        return webs[0] if webs else None

    @property
    def cidrs(self) -> list[str]:
        return [n.cidr for n in self.networks]

    def to_json(self) -> dict[str, Any]:
        return {"hosts": [asdict(h) for h in self.hosts], "networks": [asdict(n) for n in self.networks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Topology:
        hosts = []
        for h in data.get("hosts", []):
            enis = tuple(
                Interface(
                    network=Network(**e["network"]),
                    private_ips=tuple(e["private_ips"]),
                    network_interface_id=e.get("network_interface_id"),
                    device_index=e.get("device_index", 0),
                    mac_address=e.get("mac_address"),
                )
                for e in h["interfaces"]
            )
            hosts.append(Host(**{**h, "interfaces": enis}))
        return cls(tuple(hosts), tuple(Network(**n) for n in data.get("networks", [])))


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def _ip_order(eni: dict[str, Any]) -> tuple[str, ...]:
    """An ENI's private IPs, the primary first, then the secondary ones by numeric value."""
    primary = eni["PrivateIpAddress"]
    others = {a["PrivateIpAddress"] for a in eni.get("PrivateIpAddresses", [])} - {primary}
    return (primary, *sorted(others, key=ipaddress.IPv4Address))


def _subnet_of(ip: str, subnets: list[dict[str, Any]]) -> str | None:
    """The CIDR of the (smallest) subnet that contains `ip`."""
    address = ipaddress.IPv4Address(ip)
    nets = [ipaddress.IPv4Network(s["CidrBlock"]) for s in subnets]
    holding = [net for net in nets if address in net]
    return str(max(holding, key=lambda n: n.prefixlen)) if holding else None


def discover(ec2: Any, warn: Any = print) -> Topology:
    """The lab's hosts and networks from what the simulated AWS says now: every instance tagged `lab:host`
    (DescribeInstances), with each interface's subnet (DescribeSubnets), MAC and private IPs; an EC2-Classic
    instance (no VpcId, no interfaces) on the network of the default subnet that holds its address."""
    instances = [
        i
        for page in ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "tag-key", "Values": [HOST_TAG]}]
        )
        for r in page["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")
    ]
    subnets = [s for page in ec2.get_paginator("describe_subnets").paginate() for s in page["Subnets"]]
    cidr_of = {s["SubnetId"]: s["CidrBlock"] for s in subnets}
    hosts: list[Host] = []
    for inst in instances:
        tags = _tags(inst)
        name = tags.get("Name", inst["InstanceId"])
        enis: list[Interface] = []
        if inst.get("VpcId") and inst.get("NetworkInterfaces"):
            platform = "vpc"
            for eni in sorted(inst["NetworkInterfaces"], key=lambda e: e["Attachment"]["DeviceIndex"]):
                enis.append(
                    Interface(
                        network=Network.for_cidr(cidr_of[eni["SubnetId"]]),
                        private_ips=_ip_order(eni),
                        network_interface_id=eni["NetworkInterfaceId"],
                        device_index=int(eni["Attachment"]["DeviceIndex"]),
                        mac_address=eni["MacAddress"].lower(),
                    )
                )
        else:
            platform = "classic"
            ip = inst.get("PrivateIpAddress")
            if not ip:
                warn(f"{name} (EC2-Classic) has no private IP now: no container for it")
                continue
            cidr = _subnet_of(ip, subnets)
            if cidr is None:  # not an address AWS would give a Classic instance: a /24 of its own
                cidr = str(ipaddress.IPv4Network(f"{ip}/24", strict=False))
                warn(f"no subnet holds {name}'s private IP {ip} (EC2-Classic): its network is {cidr}")
            enis.append(Interface(network=Network.for_cidr(cidr), private_ips=(ip,)))
        hosts.append(
            Host(
                name=name,
                cluster=tags.get("clusterswap:cluster", "?"),
                role=tags.get("clusterswap:role", "?"),
                container=tags[HOST_TAG],
                instance_id=inst["InstanceId"],
                platform=platform,
                interfaces=tuple(enis),
            )
        )
    hosts.sort(key=lambda h: h.name)
    networks = {eni.network.cidr: eni.network for h in hosts for eni in h.interfaces}
    ordered = sorted(networks.values(), key=lambda n: ipaddress.IPv4Network(n.cidr))
    return Topology(tuple(hosts), tuple(ordered))


def save_topology(topo: Topology) -> None:
    TOPOLOGY_FILE.parent.mkdir(parents=True, exist_ok=True)
    TOPOLOGY_FILE.write_text(json.dumps(topo.to_json(), indent=1))


def load_topology() -> Topology:
    """The hosts and networks of the last seeding (empty when the lab has not been seeded)."""
    if not TOPOLOGY_FILE.exists():
        return Topology((), ())
    return Topology.from_json(json.loads(TOPOLOGY_FILE.read_text()))


@dataclass(frozen=True)
class VolumeLayout:
    """What a seeded volume holds and where its server mounts it."""

    kind: str  # home | logs | pgdata | blank
    mountpoint: str
    size_mib: int = 64


#: (instance Name, device) of the seeded attachments (lab/world.yml "volumes") → contents and mount point.
SEEDED_VOLUMES: dict[tuple[str, str], VolumeLayout] = {
    (v["instance"], v["device"]): VolumeLayout(v["kind"], v["mountpoint"], int(v.get("size_mib", 64)))
    for v in WORLD["volumes"].values()
}
BLANK_VOLUME = VolumeLayout("blank", "", 64)
