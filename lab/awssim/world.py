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
#: moto's default subnet in us-east-1a (172.31.0.0/20): EC2-Classic instances get their private IPs here.
CLASSIC_CIDR = "172.31.0.0/20"
#: first host address given to instances (below it the allocator hands out secondary IPs: .4, .5, ...)
FIRST_FIXED_HOST = 10

#: the world's fixed part, written once in lab/world.yml (roles, hosts, volumes)
WORLD_FILE = Path(__file__).resolve().parent.parent / "world.yml"
WORLD: dict[str, Any] = yaml.safe_load(WORLD_FILE.read_text())
#: role of each instance name (without old-/new-) besides the load balancers
ROLES: dict[str, str] = WORLD["roles"]
#: instances besides the load balancers and the maintenance servers that have a container host
#: (tag lab:host = cs-<Name>)
LAB_HOSTS: set[str] = set(WORLD["hosts"])
#: EBS volumes: Name -> (instance, device, what it holds)
VOLUMES: dict[str, tuple[str, str, str]] = {
    name: (v["instance"], v["device"], v["holds"]) for name, v in WORLD["volumes"].items()
}


class SeedError(ValueError):
    """The scenario asks for a world AWS could not hold (the simulator's answer says which rule)."""


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


def lb_count(sc: dict[str, Any], cluster: str) -> int:
    return int(sc.get("lbs", {}).get(cluster, 2))


def maintenance_names(sc: dict[str, Any]) -> list[str]:
    """The maintenance servers: maint-N on the maintenance cluster's platform, then maint-vpc-N in the VPC
    (scenario key vpc_maintenance: the page for Classic EIPs that move to the VPC as the window opens)."""
    return [f"maint-{n}" for n in range(1, int(sc.get("maintenance", 1)) + 1)] + [
        f"maint-vpc-{n}" for n in range(1, int(sc.get("vpc_maintenance", 0)) + 1)
    ]


def platform_of(sc: dict[str, Any], name: str, cluster: str) -> str:
    """Where an instance runs: classic | vpc | new_vpc (its cluster's, or the VPC for maint-vpc-N)."""
    return "vpc" if name.startswith("maint-vpc-") else str(sc["clusters"][cluster])


def instance_names(sc: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """(Name, cluster, role) of every instance in the world, the maintenance server(s) first."""
    sc = sc or {}
    out = [(name, "maintenance", "maintenance") for name in maintenance_names(sc)]
    for cluster in ("old", "new"):
        out += [(f"{cluster}-lb-{n}", cluster, "lb") for n in range(1, lb_count(sc, cluster) + 1)]
        out += [(f"{cluster}-{n}", cluster, r) for n, r in ROLES.items()]
    return out


def has_host(name: str, role: str) -> bool:
    return role in ("lb", "maintenance") or name in LAB_HOSTS


def instance_map(sc: dict[str, Any]) -> dict[str, str]:
    """Old load balancer -> the new one that takes its EIPs: the old ones in contiguous blocks."""
    old, new = lb_count(sc, "old"), lb_count(sc, "new")
    return {f"old-lb-{k}": f"new-lb-{(k - 1) * new // old + 1}" for k in range(1, old + 1)}


def instance_type(sc: dict[str, Any], name: str, cluster: str) -> str:
    override = sc.get("instances", {}).get(name, {})
    return str(override.get("type") or sc.get("types", {}).get(cluster) or "m5.large")


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


def _tag_spec(kind: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def _fixed_ips(cidr: str) -> Any:
    net = ipaddress.ip_network(cidr)
    return (str(net.network_address + n) for n in range(FIRST_FIXED_HOST, net.num_addresses - 1))


def _primary_eni(ec2: Any, instance_id: str) -> dict[str, Any]:
    inst = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return next(n for n in inst["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)


def _slots(ec2: Any, instance_id: str, needed: int) -> list[tuple[str, str]]:
    """(ENI, private IP) for `needed` EIPs on the instance's primary interface: its primary address, then
    secondary addresses assigned as an operator would have (AssignPrivateIpAddresses)."""
    eni = _primary_eni(ec2, instance_id)
    have = [a["PrivateIpAddress"] for a in eni["PrivateIpAddresses"]]
    if needed > len(have):
        ec2.assign_private_ip_addresses(
            NetworkInterfaceId=eni["NetworkInterfaceId"], SecondaryPrivateIpAddressCount=needed - len(have)
        )
        eni = _primary_eni(ec2, instance_id)
        have = [a["PrivateIpAddress"] for a in eni["PrivateIpAddresses"]]
    return [(eni["NetworkInterfaceId"], ip) for ip in have[:needed]]


#: the VPCs a scenario may have: `vpc` (the old cluster's, or the only one) and `new_vpc` (the new cluster's
#: on a move from one VPC to another); a cluster's placement in the scenario is classic | vpc | new_vpc.
VPC_KEYS = {"vpc": "clusterswap", "new_vpc": "clusterswap-new"}


def _networks(ec2: Any, sc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every VPC of the scenario with its subnets: {"vpc": {"vpc_id", "subnets": {app, db, extra}}, ...}."""
    out: dict[str, dict[str, Any]] = {}
    for key, vpc_name in VPC_KEYS.items():
        net = sc.get(key)
        if not net:
            continue
        vpc = ec2.create_vpc(CidrBlock=net["cidr"], TagSpecifications=_tag_spec("vpc", {"Name": vpc_name}))
        vpc_id = vpc["Vpc"]["VpcId"]
        subnets = {}
        for part, cidr_key, az_key, suffix in (
            ("app", "subnet", "az", "a"),
            ("db", "db_subnet", "db_az", "b"),
            ("extra", "extra_subnet", "az", "c"),
        ):
            if net.get(cidr_key):
                subnets[part] = ec2.create_subnet(
                    VpcId=vpc_id,
                    CidrBlock=net[cidr_key],
                    AvailabilityZone=net[az_key],
                    TagSpecifications=_tag_spec("subnet", {"Name": f"{vpc_name}-{suffix}"}),
                )["Subnet"]["SubnetId"]
        out[key] = {"vpc_id": vpc_id, "subnets": subnets, "net": net}
    return out


def _launch(ec2: Any, sc: dict[str, Any], nets: dict[str, dict[str, Any]], world: dict[str, Any]) -> None:
    """Every instance, each with a fixed primary private IP (its VPC's subnet, or Classic's range)."""
    fixed = {key: _fixed_ips(n["net"]["subnet"]) for key, n in nets.items()}
    fixed["classic"] = _fixed_ips(CLASSIC_CIDR)
    for name, cluster, role in instance_names(sc):
        platform = platform_of(sc, name, cluster)
        tags = {"Name": name, "clusterswap:cluster": cluster, "clusterswap:role": role}
        if has_host(name, role):
            tags["lab:host"] = f"cs-{name}"
        kw: dict[str, Any] = {
            "ImageId": AMI_ID,
            "InstanceType": instance_type(sc, name, cluster),
            "MinCount": 1,
            "MaxCount": 1,
            "Placement": {"AvailabilityZone": sc["vpc"]["az"]},
            "PrivateIpAddress": next(fixed[platform]),
            "TagSpecifications": _tag_spec("instance", tags),
        }
        if platform != "classic":
            kw["SubnetId"] = nets[platform]["subnets"]["app"]
        inst = ec2.run_instances(**kw)["Instances"][0]
        world["instances"][name] = inst["InstanceId"]
        world["private_ips"][name] = inst["PrivateIpAddress"]
        interfaces = int(sc.get("instances", {}).get(name, {}).get("interfaces", 1))
        for index in range(
            1, interfaces
        ):  # further interfaces "attached the day before", in the extra subnet
            subnets = nets[platform]["subnets"]
            eni = ec2.create_network_interface(
                SubnetId=subnets.get("extra", subnets["app"]),
                TagSpecifications=_tag_spec("network-interface", {"Name": f"{name}-eth{index}"}),
            )["NetworkInterface"]["NetworkInterfaceId"]
            ec2.attach_network_interface(
                NetworkInterfaceId=eni, InstanceId=inst["InstanceId"], DeviceIndex=index
            )


def _cluster_of(name: str) -> str:
    return "maintenance" if name.startswith("maint-") else name.split("-", 1)[0]


def _eips(ec2: Any, sc: dict[str, Any], world: dict[str, Any]) -> None:
    """Allocate the EIPs and put each on its own place: one EC2-Classic instance, or one private IP."""
    eips = sc["eips"]
    hosts = eips["hosts"]
    bound: dict[str, list[str]] = {h: [] for h in hosts}
    for i, eip_name in enumerate(eips["names"]):
        bound[hosts[i % len(hosts)]].append(eip_name)
    for host, names in bound.items():
        instance_id = world["instances"][host]
        classic = sc["clusters"][_cluster_of(host)] == "classic"
        slots = (
            [(None, world["private_ips"][host])] * len(names)
            if classic
            else _slots(ec2, instance_id, len(names))
        )
        for eip_name, (eni, private_ip) in zip(names, slots, strict=True):
            address = str(EIP_NETWORK.network_address + len(world["eips"]) + 1)
            res = ec2.allocate_address(
                Domain=eips["domain"],
                Address=address,
                TagSpecifications=_tag_spec("elastic-ip", {"Name": eip_name}),
            )
            world["eips"][eip_name] = res["PublicIp"]
            world["slots"][eip_name] = {
                "instance": host,
                "network_interface_id": eni,
                "private_ip": private_ip,
            }
            if res.get("AllocationId"):
                world["allocations"][eip_name] = res["AllocationId"]
                ec2.associate_address(
                    AllocationId=res["AllocationId"], NetworkInterfaceId=eni, PrivateIpAddress=private_ip
                )
            else:
                ec2.associate_address(PublicIp=res["PublicIp"], InstanceId=instance_id)


def check_eips(ec2: Any, world: dict[str, Any], scenario: str) -> None:
    """Every EIP where the scenario put it, or SeedError naming the rule AWS applied."""
    seen = {a["PublicIp"]: a for a in ec2.describe_addresses()["Addresses"]}
    wrong = []
    for eip_name, slot in world["slots"].items():
        got = seen.get(world["eips"][eip_name], {})
        want_id = world["instances"][slot["instance"]]
        if got.get("InstanceId") != want_id or (
            slot["private_ip"] and got.get("PrivateIpAddress", slot["private_ip"]) != slot["private_ip"]
        ):
            wrong.append(
                f"{eip_name} -> {slot['instance']} {slot['private_ip']}: "
                f"AWS has it on {got.get('InstanceId') or 'nothing'}"
            )
    if wrong:
        raise SeedError(
            f"scenario {scenario} asks for a world AWS cannot hold (one EIP per private IP, one per "
            "EC2-Classic instance): " + "; ".join(wrong)
        )


def plan_of(sc: dict[str, Any]) -> dict[str, Any]:
    """The swap plan of this world, as the lab inventory gives it to the runbook (inventories/lab)."""
    names = instance_names(sc)
    return {
        "instance_map": instance_map(sc),
        "maintenance_instances": maintenance_names(sc),
        "old_ephemerals": [
            n for n, c, r in names if c == "old" and r not in ("storage", "logstorage", "postgres")
        ],
        "new_instances": [n for n, c, _r in names if c == "new"],
        "storage": bool(sc.get("parts", {}).get("storage", False)),
        "vpc": bool(sc.get("parts", {}).get("vpc", False)),
        # the DB subnet group RDS moves into: the new VPC's when there is one
        "db_subnet_group": "clusterswap-new-vpc" if sc.get("new_vpc") else "clusterswap-vpc",
        **volume_plan(),
    }


def volume_plan() -> dict[str, Any]:
    """The storage update's plan from lab/world.yml's volumes: each old server's volumes move to the new
    server of the same name at the same devices, mounted where the old server mounted them.

    - storage_servers / postgres_servers: [{old, new, devices}], plus `host_steps: false` for a pair without
      container hosts (its volumes move on the AWS side only: nothing can have mounted them)
    - storage_mounts / postgres_mounts: {new server: {device: mount point}}
    """
    out: dict[str, Any] = {
        f"{kind}_{what}": [] if what == "servers" else {}
        for kind in ("storage", "postgres")
        for what in ("servers", "mounts")
    }
    for volume in WORLD["volumes"].values():
        old = volume["instance"]
        new = "new-" + old.removeprefix("old-")
        kind = "postgres" if ROLES[old.removeprefix("old-")] == "postgres" else "storage"
        servers = out[f"{kind}_servers"]
        pair = next((p for p in servers if p["old"] == old), None)
        if pair is None:
            pair = {"old": old, "new": new, "devices": []}
            if not (old in LAB_HOSTS and new in LAB_HOSTS):
                pair["host_steps"] = False
            servers.append(pair)
        pair["devices"].append(volume["device"])
        out[f"{kind}_mounts"].setdefault(new, {})[volume["device"]] = volume["mountpoint"]
    return out


def seed(
    name: str,
    session_or_clients: Any = None,
    control: Control | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Create scenario `name` in the (empty) account; return the world: names -> ids/addresses.

    `session_or_clients`: a boto3 Session, or a dict {"ec2": client, "rds": client}. `control`: defaults
    to LocalControl when the clients talk to (mocked) amazonaws.com, else the lab server's /_lab/ API at
    the clients' endpoint. Every resource is made by an ordinary API call, so the simulator refuses a world
    that breaks an AWS rule; an EIP that AWS silently moved (one per private IP) raises SeedError.
    """
    return seed_world(load_scenario(name), session_or_clients, control, region)


def seed_world(
    sc: dict[str, Any],
    session_or_clients: Any = None,
    control: Control | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """`seed` for a scenario given as a dict (a scenario file's content, e.g. a benchmark's generated one)."""
    name = str(sc.get("name", "custom"))
    clients = _clients(session_or_clients, region)
    ec2, rds = clients["ec2"], clients["rds"]
    ctl = control or _default_control(ec2)

    ctl.set_platforms(list(sc.get("platforms", ["EC2", "VPC"])))
    ctl.set_limits(classic=1000, vpc=1000)  # seeding allocates freely; the scenario's limits come last

    world: dict[str, Any] = {
        "scenario": name,
        "instances": {},
        "private_ips": {},
        "eips": {},
        "allocations": {},
        "slots": {},
        "volumes": {},
        "plan": plan_of(sc),
    }
    nets = _networks(ec2, sc)
    subnet, db_subnet = nets["vpc"]["subnets"]["app"], nets["vpc"]["subnets"]["db"]
    world.update(vpc_id=nets["vpc"]["vpc_id"], subnet_id=subnet, db_subnet_ids=[subnet, db_subnet])
    if "new_vpc" in nets:
        new = nets["new_vpc"]
        world.update(
            new_vpc_id=new["vpc_id"],
            new_subnet_id=new["subnets"]["app"],
            new_db_subnet_ids=[new["subnets"]["app"], new["subnets"]["db"]],
        )
    _launch(ec2, sc, nets, world)
    _eips(ec2, sc, world)
    check_eips(ec2, world, name)

    net = sc["vpc"]
    for vol_name, (inst_name, device, holds) in VOLUMES.items():
        vol = ec2.create_volume(
            AvailabilityZone=net["az"],
            Size=10,
            VolumeType="gp2",
            TagSpecifications=_tag_spec(
                "volume", {"Name": vol_name, "clusterswap:holds": holds, "clusterswap:device": device}
            ),
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
        if "new_vpc" in nets:  # the new VPC's DB subnet group, which RDS moves into on the day
            rds.create_db_subnet_group(
                DBSubnetGroupName="clusterswap-new-vpc",
                DBSubnetGroupDescription="clusterswap new VPC subnets for RDS",
                SubnetIds=world["new_db_subnet_ids"],
            )
            world["new_db_subnet_group"] = "clusterswap-new-vpc"
        world["rds"] = {}
        for db in sc["rds"]:
            kw = {
                "DBInstanceIdentifier": db["identifier"],
                "Engine": db.get("engine", "mysql"),
                "DBInstanceClass": db.get("class", "db.m3.medium"),
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
