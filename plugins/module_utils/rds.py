# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RDS as the clusterswap modules see it: a DB instance (``Db``) and a DB subnet group (``SubnetGroup``), one
helper per describe operation (paginated, retried, failing with ``AwsError``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import aws_client, paginate


def rds_client(module: AnsibleAWSModule) -> Any:
    return aws_client(module, "rds")


@dataclass(frozen=True)
class Db:
    """A DB instance as DescribeDBInstances shows it."""

    identifier: str
    status: str
    subnet_group: str | None
    vpc_id: str | None
    security_groups: tuple[str, ...]
    multi_az: bool
    replicas: tuple[str, ...]
    address: str | None
    port: int | None
    availability_zone: str | None
    pending_subnet_group: str | None
    db_class: str = ""
    option_groups: tuple[str, ...] = ()
    replica_of: str | None = None

    @classmethod
    def from_aws(cls, raw: dict[str, Any]) -> Db:
        group = raw.get("DBSubnetGroup") or {}  # absent on a DB outside any VPC
        endpoint = raw.get("Endpoint") or {}
        return cls(
            identifier=raw["DBInstanceIdentifier"],
            status=raw.get("DBInstanceStatus", "unknown"),
            subnet_group=group.get("DBSubnetGroupName"),
            vpc_id=group.get("VpcId"),
            security_groups=tuple(g["VpcSecurityGroupId"] for g in raw.get("VpcSecurityGroups", [])),
            multi_az=bool(raw.get("MultiAZ")),
            replicas=tuple(raw.get("ReadReplicaDBInstanceIdentifiers") or ()),
            address=endpoint.get("Address"),
            port=endpoint.get("Port"),
            availability_zone=raw.get("AvailabilityZone"),
            pending_subnet_group=(raw.get("PendingModifiedValues") or {}).get("DBSubnetGroupName"),
            db_class=raw.get("DBInstanceClass", ""),
            option_groups=tuple(g["OptionGroupName"] for g in raw.get("OptionGroupMemberships") or []),
            replica_of=raw.get("ReadReplicaSourceDBInstanceIdentifier"),
        )

    def state(self) -> dict[str, Any]:
        """What --diff shows for this DB."""
        return {
            "db_subnet_group_name": self.subnet_group,
            "vpc_id": self.vpc_id,
            "vpc_security_group_ids": sorted(self.security_groups),
            "status": self.status,
        }

    def to_result(self, action: str, seconds: float | None = None) -> dict[str, Any]:
        return {
            "db_instance_identifier": self.identifier,
            "action": action,
            "status": self.status,
            "db_subnet_group_name": self.subnet_group,
            "vpc_id": self.vpc_id,
            "vpc_security_group_ids": list(self.security_groups),
            "endpoint": {"address": self.address, "port": self.port},
            "multi_az": self.multi_az,
            "availability_zone": self.availability_zone,
            "seconds": None if seconds is None else round(seconds, 1),
        }


@dataclass
class SubnetGroup:
    """A DB subnet group as DescribeDBSubnetGroups shows it: its VPC and the zones of its subnets."""

    name: str
    vpc_id: str
    zones: list[str]

    def to_result(self) -> dict[str, Any]:
        return {"db_subnet_group_name": self.name, "vpc_id": self.vpc_id, "availability_zones": self.zones}


def describe_db_instances(rds: Any, identifiers: list[str]) -> dict[str, Db]:
    """The listed DBs by identifier: one DescribeDBInstances (paginated) for the whole list."""
    answer = paginate(
        rds,
        "describe_db_instances",
        ", ".join(identifiers),
        Filters=[{"Name": "db-instance-id", "Values": identifiers}],
    )
    dbs = (Db.from_aws(raw) for raw in answer.get("DBInstances", []))
    return {db.identifier: db for db in dbs}


def describe_db_subnet_group(rds: Any, name: str) -> SubnetGroup:
    """The DB subnet group ``name``: one DescribeDBSubnetGroups."""
    answer = paginate(rds, "describe_db_subnet_groups", name, DBSubnetGroupName=name)
    group = answer["DBSubnetGroups"][0]
    zones = sorted({s["SubnetAvailabilityZone"]["Name"] for s in group.get("Subnets", [])})
    return SubnetGroup(name=group["DBSubnetGroupName"], vpc_id=group["VpcId"], zones=zones)
