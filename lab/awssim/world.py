"""Seed the simulated account with a scenario from lab/scenarios/<name>.yml (see lab/WORLD.md).

Everything AWS has an API for is created with ordinary boto3 calls, so the same code seeds moto
in-process (under `mock_aws`) and the lab server over HTTP. What AWS has no API for (account limits,
the platforms the account supports, backdating EIP allocation, faults) goes through a `Control`:
`LocalControl` (this process's STATE) or `lab.awssim.client.LabClient` (the server's /_lab/ API).
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any, Protocol

import boto3
import yaml

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
EIP_NETWORK = ipaddress.ip_network("127.100.0.0/16")
AMI_ID = "ami-12c6146b"
INSTANCE_TYPE = "m1.small"

#: role of each instance name (without old-/new-), from lab/WORLD.md
ROLES: dict[str, str] = {
    "lb-1": "lb",
    "lb-2": "lb",
    "web-1": "web",
    "web-2": "web",
    "web-3": "web",
    "consoles-1": "consoles",
    "consoles-2": "consoles",
    "notebooks-1": "notebooks",
    "housekeeping-1": "housekeeping",
    "storage-1": "storage",
    "storage-2": "storage",
    "logstorage-1": "logstorage",
    "postgres-1": "postgres",
}
#: instances that have a container host (tag lab:host = cs-<Name>), from lab/WORLD.md
LAB_HOSTS = {
    "maint-1",
    "old-lb-1",
    "old-lb-2",
    "new-lb-1",
    "new-lb-2",
    "old-web-1",
    "new-web-1",
    "old-storage-1",
    "new-storage-1",
    "old-postgres-1",
    "new-postgres-1",
    "new-housekeeping-1",
}
#: EBS volumes: Name -> (instance, device, what it holds), from lab/WORLD.md
VOLUMES: dict[str, tuple[str, str, str]] = {
    "home-1": ("old-storage-1", "/dev/xvdf", "home directories"),
    "home-2": ("old-storage-1", "/dev/xvdg", "more home directories"),
    "home-3": ("old-storage-2", "/dev/xvdf", "home directories"),
    "logs-1": ("old-logstorage-1", "/dev/xvdf", "system logs"),
    "pgdata-1": ("old-postgres-1", "/dev/xvdp", "Postgres data"),
}


class Control(Protocol):
    """What seeding needs that AWS has no API for."""

    def set_platforms(self, platforms: list[str]) -> Any: ...

    def set_limits(self, classic: int | None = None, vpc: int | None = None) -> Any: ...

    def backdate_addresses(self, hours: float) -> Any: ...

    def add_fault(self, **rule: Any) -> Any: ...

    def set_world(self, world: dict[str, Any]) -> Any: ...


class LocalControl:
    """Control over this process's lab state (in-process mode, and the server seeding itself)."""

    def set_platforms(self, platforms: list[str]) -> None:
        from lab.awssim.state import STATE

        STATE.platforms = tuple(platforms)

    def set_limits(self, classic: int | None = None, vpc: int | None = None) -> None:
        from lab.awssim.state import STATE

        with STATE.lock:
            if classic is not None:
                STATE.classic_limit = int(classic)
            if vpc is not None:
                STATE.vpc_limit = int(vpc)

    def backdate_addresses(self, hours: float) -> int:
        from lab.awssim.control import backdate_addresses

        return backdate_addresses(hours)

    def add_fault(self, **rule: Any) -> None:
        from lab.awssim.state import STATE

        STATE.add_fault(**rule)

    def set_world(self, world: dict[str, Any]) -> None:
        from lab.awssim.state import STATE

        STATE.world = world


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yml"))


def load_scenario(name: str) -> dict[str, Any]:
    """The scenario file, with `extends:` resolved (shallow merge, the child's keys win)."""
    path = SCENARIO_DIR / f"{name}.yml"
    if not path.is_file():
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(scenario_names())}")
    data = yaml.safe_load(path.read_text()) or {}
    parent = data.pop("extends", None)
    if parent:
        base = copy.deepcopy(load_scenario(parent))
        base.update(data)
        data = base
    data["name"] = name
    return data


def instance_names() -> list[tuple[str, str, str]]:
    """(Name, cluster, role) of every instance in the world."""
    out = [(f"{c}-{n}", c, r) for c in ("old", "new") for n, r in ROLES.items()]
    out.append(("maint-1", "maintenance", "maintenance"))
    return out


def _clients(session_or_clients: Any, region: str | None) -> dict[str, Any]:
    if isinstance(session_or_clients, dict):
        return session_or_clients
    session = session_or_clients or boto3.Session(region_name=region or "us-east-1")
    kw = {"region_name": region} if region else {}
    return {svc: session.client(svc, **kw) for svc in ("ec2", "rds")}


def _default_control(ec2: Any) -> Control:
    endpoint = ec2.meta.endpoint_url or ""
    if "amazonaws.com" in endpoint:
        return LocalControl()
    from lab.awssim.client import LabClient

    return LabClient(endpoint)


def seed(
    name: str,
    session_or_clients: Any = None,
    control: Control | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Create scenario `name` in the (empty) account; return the world: names -> ids/addresses.

    `session_or_clients`: a boto3 Session, or a dict {"ec2": client, "rds": client}. `control`: defaults
    to LocalControl when the clients talk to (mocked) amazonaws.com, else the lab server's /_lab/ API at
    the clients' endpoint.
    """
    sc = load_scenario(name)
    clients = _clients(session_or_clients, region)
    ec2, rds = clients["ec2"], clients["rds"]
    ctl = control or _default_control(ec2)

    ctl.set_platforms(list(sc.get("platforms", ["EC2", "VPC"])))
    ctl.set_limits(classic=1000, vpc=1000)  # seeding allocates freely; the scenario's limits come last

    world: dict[str, Any] = {"scenario": name, "instances": {}, "eips": {}, "allocations": {}, "volumes": {}}
    net = sc["vpc"]
    vpc = ec2.create_vpc(
        CidrBlock=net["cidr"],
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "clusterswap"}]}],
    )["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock=net["subnet"],
        AvailabilityZone=net["az"],
        TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "clusterswap-a"}]}],
    )["Subnet"]["SubnetId"]
    db_subnet = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock=net["db_subnet"],
        AvailabilityZone=net["db_az"],
        TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "clusterswap-b"}]}],
    )["Subnet"]["SubnetId"]
    world.update(vpc_id=vpc, subnet_id=subnet, db_subnet_ids=[subnet, db_subnet])

    placement = {"AvailabilityZone": net["az"]}
    for inst_name, cluster, role in instance_names():
        tags = {"Name": inst_name, "clusterswap:cluster": cluster, "clusterswap:role": role}
        if inst_name in LAB_HOSTS:
            tags["lab:host"] = f"cs-{inst_name}"
        kw: dict[str, Any] = {
            "ImageId": AMI_ID,
            "InstanceType": INSTANCE_TYPE,
            "MinCount": 1,
            "MaxCount": 1,
            "Placement": placement,
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ],
        }
        if sc["clusters"][cluster] == "vpc":
            kw["SubnetId"] = subnet
        world["instances"][inst_name] = ec2.run_instances(**kw)["Instances"][0]["InstanceId"]

    eips = sc["eips"]
    hosts = eips["hosts"]
    for i, eip_name in enumerate(eips["names"]):
        address = str(EIP_NETWORK.network_address + i + 1)
        res = ec2.allocate_address(
            Domain=eips["domain"],
            Address=address,
            TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": eip_name}]}],
        )
        world["eips"][eip_name] = res["PublicIp"]
        target = world["instances"][hosts[i % len(hosts)]]
        if res.get("AllocationId"):
            world["allocations"][eip_name] = res["AllocationId"]
            ec2.associate_address(AllocationId=res["AllocationId"], InstanceId=target)
        else:
            ec2.associate_address(PublicIp=res["PublicIp"], InstanceId=target)

    for vol_name, (inst_name, device, holds) in VOLUMES.items():
        vol = ec2.create_volume(
            AvailabilityZone=net["az"],
            Size=10,
            VolumeType="gp2",
            TagSpecifications=[
                {
                    "ResourceType": "volume",
                    "Tags": [
                        {"Key": "Name", "Value": vol_name},
                        {"Key": "clusterswap:holds", "Value": holds},
                        {"Key": "clusterswap:device", "Value": device},
                    ],
                }
            ],
        )["VolumeId"]
        ec2.attach_volume(VolumeId=vol, InstanceId=world["instances"][inst_name], Device=device)
        world["volumes"][vol_name] = vol

    if sc.get("rds"):
        rds.create_db_subnet_group(
            DBSubnetGroupName="clusterswap-vpc",
            DBSubnetGroupDescription="clusterswap VPC subnets for RDS",
            SubnetIds=[subnet, db_subnet],
        )
        world["db_subnet_group"] = "clusterswap-vpc"
        world["rds"] = {}
        for db in sc["rds"]:
            kw = {
                "DBInstanceIdentifier": db["identifier"],
                "Engine": db.get("engine", "mysql"),
                "DBInstanceClass": db.get("class", "db.m1.small"),
                "AllocatedStorage": 20,
                "MasterUsername": "admin",
                "MasterUserPassword": "lab-password-not-secret",
            }
            if db.get("in_vpc"):
                kw["DBSubnetGroupName"] = "clusterswap-vpc"
            rds.create_db_instance(**kw)
            world["rds"][db["identifier"]] = db["identifier"]

    ctl.backdate_addresses(hours=48)  # allocated "long ago": MoveAddressToVpc needs > 24 h
    limits = sc.get("limits", {})
    ctl.set_limits(classic=limits.get("classic", 5), vpc=limits.get("vpc", 5))
    for rule in sc.get("faults") or []:
        ctl.add_fault(**rule)
    ctl.set_world(world)
    return world
