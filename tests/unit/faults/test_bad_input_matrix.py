"""The bad-input matrix (issue 13): every input the probe tried (research/reliability-probe.md) and the new
rules' cases, each with its expected outcome, against the lab's simulated AWS in-process.

Each case: the module, what is wrong, the text that must say it (what is wrong and what to do), and the
outcome - "stopped": the module fails (or, for pre-flight, returns the problem) and the account is exactly as
it was (the safety check: every EIP, instance state, volume attachment and DB's subnet group compared before
and after; no plan record written by a plan with problems).

`make faults` runs every case; `make test` runs the representative slice (the cases not marked `faults`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

Args = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    id: str
    scenario: str
    module: str
    args: Args
    expect: str
    setup: Callable[..., Any] | None = None  # (lab) or, for a record, (lab, record)
    fault: tuple[str, str, str] | None = None  # (operation, code, message): every call of it fails
    slice: bool = False  # in make test's representative slice
    marks: tuple[Any, ...] = field(default=())


def ids(lab: Any, *names: str) -> list[str]:
    return [lab.instance(n) for n in names]


def plan_args(**extra: Any) -> Args:
    def build(lab: Any) -> dict[str, Any]:
        return {
            "instance_map": {"old-lb-1": "new-lb-1", "old-lb-2": "new-lb-2"},
            "maintenance_instances": ["maint-1"],
            "stop_instances": ["old-lb-1", "old-lb-2", "old-web-1", "old-housekeeping-1"],
            "record": "",  # the test's own record path
            **extra,
        }

    return build


def record_from(text: str) -> Callable[[Any, Path], None]:
    def write(lab: Any, record: Path) -> None:
        record.write_text(text)

    return write


def v1_record(copies: int = 1, **entry: Any) -> Callable[[Any, Path], None]:
    """A version-1 record (``old_instance``/``new_instance``) of one EIP, 127.100.0.1 from old-lb-1 to
    new-lb-1, listed ``copies`` times; ``entry`` changes its keys (None: leaves the key out)."""
    raw = {"public_ip": "127.100.0.1", "old_instance": "old-lb-1", "new_instance": "new-lb-1", **entry}
    eip = {key: value for key, value in raw.items() if value is not None}
    return record_from(json.dumps({"version": 1, "eips": [eip] * copies}))


def young_eip(lab: Any) -> None:
    import time

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    for address in ec2_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].addresses:
        if address.public_ip == lab.all_ips()[3]:
            address._lab_allocated_at = time.time() - 3600


def stop(*names: str) -> Callable[[Any], None]:
    def run(lab: Any) -> None:
        lab.ec2.stop_instances(InstanceIds=ids(lab, *names))

    return run


A = "eip_associate"
M = "eip_move_to_vpc"
R = "rds_move_to_vpc"
E = "ebs_volume_move"
P = "swap_plan_info"
GROUP = "clusterswap-vpc"
ONE_DB = {"db_instance_identifier": "mysql-1", "db_subnet_group_name": GROUP, "wait_timeout": 30}

CASES = [
    # --------------------------------------------------------------------------- eip_associate
    Case(
        "A01 unknown allocation ID",
        "default",
        A,
        lambda lab: {
            "associations": [
                {"allocation_id": "eipalloc-0badbadbadbadbad0", "instance_id": lab.instance("new-lb-1")}
            ]
        },
        "no Elastic IP with this allocation ID",
        slice=True,
    ),
    Case(
        "A02 public IP not in the account",
        "default",
        A,
        lambda lab: {
            "associations": [{"public_ip": "203.0.113.77", "instance_id": lab.instance("new-lb-1")}]
        },
        "203.0.113.77: no Elastic IP with this address",
    ),
    Case(
        "A03 malformed IPs",
        "default",
        A,
        lambda lab: {
            "associations": [{"public_ip": "127.100.0.999", "instance_id": lab.instance("new-lb-1")}]
        },
        "'127.100.0.999' is not a valid IPv4 address",
    ),
    Case(
        "A06 the same public IP twice",
        "default",
        A,
        lambda lab: {
            "associations": [
                {"public_ip": lab.all_ips()[0], "instance_id": i} for i in ids(lab, "new-lb-1", "new-lb-2")
            ]
        },
        "listed more than once",
    ),
    Case(
        "A08 target terminated",
        "default",
        A,
        lambda lab: {
            "associations": [{"public_ip": lab.all_ips()[1], "instance_id": lab.instance("new-web-3")}]
        },
        "is terminated",
        setup=lambda lab: lab.ec2.terminate_instances(InstanceIds=ids(lab, "new-web-3")),
    ),
    Case(
        "A09 a Classic EIP to a VPC instance",
        "vpc-day",
        A,
        lambda lab: {
            "associations": [{"public_ip": lab.all_ips()[0], "instance_id": lab.instance("new-lb-1")}]
        },
        "a Classic EIP can't go on a VPC instance; move it to the VPC first",
        slice=True,
    ),
    Case(
        "A13 both public_ip and allocation_id, no target",
        "default",
        A,
        lambda lab: {
            "associations": [
                {
                    "public_ip": lab.all_ips()[0],
                    "allocation_id": lab.addresses()[lab.all_ips()[0]]["AllocationId"],
                }
            ]
        },
        "give exactly one of public_ip and allocation_id",
    ),
    Case(
        "A14 unknown instance",
        "default",
        A,
        lambda lab: {"associations": [{"public_ip": lab.all_ips()[0], "instance_id": "i-0123456789abcdef0"}]},
        "target i-0123456789abcdef0 not found in this region",
    ),
    Case(
        "A15 allow_reassociation false, EIP on another instance",
        "default",
        A,
        lambda lab: {
            "associations": [{"public_ip": lab.all_ips()[0], "instance_id": lab.instance("new-lb-1")}],
            "allow_reassociation": False,
        },
        "allow_reassociation is false",
    ),
    Case(
        "A16 a private IP the instance does not have",
        "default",
        A,
        lambda lab: {
            "associations": [
                {
                    "public_ip": lab.all_ips()[1],
                    "instance_id": lab.instance("new-lb-2"),
                    "private_ip_address": "10.0.9.99",
                }
            ]
        },
        "10.0.9.99 is not a private IP of new-lb-2",
    ),
    Case(
        "A17 wait_timeout not a number",
        "default",
        A,
        lambda lab: {
            "associations": [{"public_ip": lab.all_ips()[0], "instance_id": lab.instance("new-lb-1")}],
            "wait_timeout": "two minutes",
        },
        "argument 'wait_timeout' is of type str",
    ),
    Case(
        "A04 two EIPs to one private IP",
        "default",
        A,
        lambda lab: {
            "associations": [
                {"public_ip": ip, "instance_id": lab.instance("new-lb-1"), "private_ip_address": private}
                for ip, private in zip(lab.all_ips()[:2], [lab.slots("new-lb-1")[0][1]] * 2, strict=True)
            ]
        },
        "one private IPv4 address holds one EIP",
    ),
    Case(
        "A05 one EIP by its address and by its allocation ID",
        "default",
        A,
        lambda lab: {
            "associations": [
                {"public_ip": lab.all_ips()[0], "instance_id": lab.instance("new-lb-1")},
                {
                    "allocation_id": lab.addresses()[lab.all_ips()[0]]["AllocationId"],
                    "instance_id": lab.instance("new-lb-2"),
                },
            ]
        },
        "listed more than once (as",
        slice=True,
    ),
    # --------------------------------------------------------------------------- eip_move_to_vpc
    Case(
        "M01 EIPs still associated",
        "vpc-day",
        M,
        lambda lab: {"public_ips": lab.all_ips()[:2]},
        "still associated with",
        slice=True,
    ),
    Case(
        "M02 an EIP allocated an hour ago after two movable ones",
        "vpc-day",
        M,
        lambda lab: {"public_ips": lab.all_ips()[1:4], "poll_interval": 1},
        "MoveAddressToVpc refuses an address allocated less than 24 hours ago",
        setup=lambda lab: (lab.disassociate(lab.all_ips()[1:4]), young_eip(lab)),
        slice=True,
    ),
    Case(
        "M05 unknown, malformed and duplicate addresses",
        "vpc-day",
        M,
        lambda lab: {"public_ips": ["203.0.113.5", lab.all_ips()[0], lab.all_ips()[0], "300.1.1.1"]},
        "'300.1.1.1' is not a valid IPv4 address",
    ),
    Case(
        "M06 VPC limit too low",
        "incident",
        M,
        lambda lab: {"public_ips": lab.all_ips()[:6], "poll_interval": 1},
        "VPC Elastic IP limit too low",
        setup=lambda lab: lab.disassociate(lab.all_ips()[:6]),
    ),
    # --------------------------------------------------------------------------- rds_move_to_vpc
    Case(
        "R01 DB subnet group misspelt",
        "vpc-day",
        R,
        lambda lab: {**ONE_DB, "db_subnet_group_name": "clusterswap-vcp"},
        "DBSubnetGroupNotFoundFault",
        slice=True,
    ),
    Case(
        "R03 unknown DB identifier",
        "vpc-day",
        R,
        lambda lab: {"db_instance_identifiers": ["mysql-1", "mysql-9"], "db_subnet_group_name": GROUP},
        "mysql-9: no DB instance with this identifier",
    ),
    Case(
        "R04 both identifier options",
        "vpc-day",
        R,
        lambda lab: {**ONE_DB, "db_instance_identifiers": ["mysql-1"]},
        "mutually exclusive",
    ),
    Case(
        "R05 a security group that does not exist",
        "vpc-day",
        R,
        lambda lab: {**ONE_DB, "vpc_security_group_ids": ["sg-0000000000000dead"]},
        "sg-0000000000000dead",
    ),
    Case(
        "R06 DB stopped",
        "vpc-day",
        R,
        lambda lab: ONE_DB,
        "is stopped",
        setup=lambda lab: boto3.client("rds", region_name="us-east-1").stop_db_instance(
            DBInstanceIdentifier="mysql-1"
        ),
    ),
    Case(
        "R07 no DB given",
        "vpc-day",
        R,
        lambda lab: {"db_instance_identifiers": [], "db_subnet_group_name": GROUP},
        "no DB instance given",
    ),
    Case(
        "R08 the same DB twice",
        "vpc-day",
        R,
        lambda lab: {"db_instance_identifiers": ["mysql-1", "MySQL-1"], "db_subnet_group_name": GROUP},
        "mysql-1: listed more than once",
    ),
    # --------------------------------------------------------------------------- ebs_volume_move
    Case(
        "E01 a volume attached to another instance",
        "default",
        E,
        lambda lab: {"moves": [{"old": "old-storage-2", "new": "new-storage-2", "names": ["home-1"]}]},
        "home-1",
        slice=True,
    ),
    Case(
        "E03 unknown volume name",
        "default",
        E,
        lambda lab: {"moves": [{"old": "old-storage-1", "new": "new-storage-1", "names": ["home-99"]}]},
        "no volume with Name home-99",
    ),
    Case(
        "E04 unknown instance and device",
        "default",
        E,
        lambda lab: {"moves": [{"old": "old-storage-9", "new": "new-storage-1", "devices": ["/dev/xvdf"]}]},
        "old-storage-9",
    ),
    Case(
        "E06 the root device",
        "default",
        E,
        lambda lab: {"moves": [{"old": "old-storage-1", "new": "new-storage-1", "devices": ["/dev/sda1"]}]},
        "is the root volume of old-storage-1",
    ),
    Case(
        "E08 moves as a string",
        "default",
        E,
        lambda lab: {"moves": "old-storage-1:new-storage-1"},
        "dictionary requested",
    ),
    Case(
        "E05 two volumes to one device of one server",
        "default",
        E,
        lambda lab: {
            "moves": [
                {"old": "old-storage-1", "new": "new-storage-1", "devices": ["/dev/xvdf"]},
                {"old": "old-storage-2", "new": "new-storage-1", "devices": ["/dev/xvdf"]},
            ]
        },
        "one volume per device name",
        slice=True,
    ),
    # --------------------------------------------------------------------------- pre-flight (swap_plan_info)
    Case(
        "P02 a misspelt instance in the map",
        "default",
        P,
        plan_args(instance_map={"old-lb-1": "new-lb-1", "old-lb-2": "new-lbb-2"}),
        "instance 'new-lbb-2': no instance with this Name tag exists",
        slice=True,
    ),
    Case(
        "P03 a misspelt inventory group (maintenence)",
        "default",
        P,
        plan_args(
            checks={
                "required_groups": ["maintenance", "new_lb"],
                "inventory_groups": {"all": ["maint-1"], "maintenence": ["maint-1"], "new_lb": ["new-lb-1"]},
            }
        ),
        "inventory group 'maintenance' is empty: the plays on it would be skipped ('no hosts matched')",
        slice=True,
    ),
    Case(
        "P05 the maintenance server and a new LB among those to stop",
        "default",
        P,
        plan_args(stop_instances=["old-lb-1", "maint-1", "new-lb-1"]),
        "step 3 would stop it in the window",
    ),
    Case(
        "P06 new traffic to the maintenance server and to an old LB",
        "default",
        P,
        plan_args(instance_map={"old-lb-1": "maint-1", "old-lb-2": "old-lb-1"}),
        "is both a maintenance server (clusterswap_maintenance_instances) and a new-cluster instance",
        slice=True,
    ),
    Case(
        "P08 a truncated plan record",
        "default",
        P,
        plan_args(),
        "it is not valid JSON",
        setup=record_from('{"version": 2, "eips": [{"public_ip": "127.1'),
    ),
    Case(
        "P09 a record without its list of EIPs",
        "default",
        P,
        plan_args(),
        "it is not an object with a list 'eips'",
        setup=record_from('{"plan": []}'),
    ),
    Case(
        "P04 an EIP twice in the record",
        "default",
        P,
        plan_args(),
        "is listed 2 times",
        setup=v1_record(copies=2),
    ),
    Case(
        "P21 a record entry without its new instance",
        "default",
        P,
        plan_args(),
        "has no 'new_instance'",
        setup=v1_record(new_instance=None),
    ),
    Case(
        "P12 the record disagrees with the map",
        "default",
        P,
        plan_args(instance_map={"old-lb-1": "new-lb-2", "old-lb-2": "new-lb-1"}),
        "The record wins, so nothing was planned from the map",
        setup=v1_record(),
    ),
    Case(
        "P19 an empty instance map",
        "default",
        P,
        plan_args(instance_map={}),
        "no EIP is associated with any old instance of the instance map",
    ),
    Case(
        "P22 an EIP to move allocated an hour ago",
        "vpc-day",
        P,
        lambda lab: {
            "instance_map": lab.instance_map,
            "maintenance_instances": [f"maint-{n}" for n in range(1, 25)],
            "record": "",
        },
        "MoveAddressToVpc refuses an address allocated less than 24 hours ago",
        setup=young_eip,
    ),
    Case(
        "P14 credentials refused",
        "default",
        P,
        plan_args(),
        "AuthFailure",
        fault=("DescribeInstances", "AuthFailure", "AWS was not able to validate the credentials"),
    ),
]


def account(lab: Any) -> dict[str, Any]:
    """What the safety check compares: every EIP's place, every instance's state, every volume's attachment,
    every DB's subnet group and status."""
    ec2 = lab.ec2
    eips = {
        a["PublicIp"]: (
            a["Domain"],
            a.get("AllocationId"),
            a.get("InstanceId"),
            a.get("NetworkInterfaceId"),
            a.get("PrivateIpAddress"),
        )
        for a in ec2.describe_addresses()["Addresses"]
    }
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    volumes = {
        v["VolumeId"]: sorted((a["InstanceId"], a["Device"], a["State"]) for a in v.get("Attachments", []))
        for v in ec2.describe_volumes()["Volumes"]
    }
    dbs = {
        d["DBInstanceIdentifier"]: (
            (d.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
            d["DBInstanceStatus"],
        )
        for d in boto3.client("rds", region_name="us-east-1").describe_db_instances()["DBInstances"]
    }
    return {"eips": eips, "instances": states, "volumes": volumes, "dbs": dbs}


def params() -> list[Any]:
    return [
        pytest.param(case, id=case.id.split(" ")[0], marks=() if case.slice else (pytest.mark.faults,))
        for case in CASES
    ]


@pytest.mark.parametrize("case", params())
def test_bad_input_stops_before_anything_changes(
    case: Case, make_lab, run_module, tmp_path, no_sleep
) -> None:
    lab = make_lab(case.scenario)
    record = tmp_path / "plan.json"
    if case.setup:
        wants_record = len(inspect.signature(case.setup).parameters) == 2
        case.setup(*((lab, record) if wants_record else (lab,)))
    args = {k: (str(record) if k == "record" else v) for k, v in case.args(lab).items()}
    before = account(lab)
    written = record.read_text() if record.exists() else None
    if case.fault:
        operation, code, message = case.fault
        lab.fault(operation, nth=1, code=code, times=1000, message=message)
    result = run_module(case.module, args)
    lab.lab.state.clear_faults()
    said = result.msg if case.module != P else " | ".join(result.data.get("problems", [])) or result.msg
    if case.module == P:
        assert result.data.get("problems") or result.failed, f"{case.id}: pre-flight passed it"
        assert (record.read_text() if record.exists() else None) == written, "the record was not touched"
    else:
        assert result.failed and not result.changed, f"{case.id}: {result.msg}"
    assert case.expect in said, f"{case.id}: {said}"
    assert account(lab) == before, f"{case.id}: the account changed"
