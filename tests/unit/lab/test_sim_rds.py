"""In-process: the RDS refusals of a move into a VPC subnet group, as AWS answers them (lab.awssim)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lab.awssim import mock_lab


def clients() -> tuple[Any, Any]:
    cfg = Config(retries={"max_attempts": 1})
    return boto3.client("rds", region_name="us-east-1", config=cfg), boto3.client(
        "ec2", region_name="us-east-1", config=cfg
    )


def other_vpc_subnet_group(rds: Any, ec2: Any) -> tuple[str, str]:
    """A subnet group in the default VPC (not the lab's VPC): (name, vpc id)."""
    default = next(v for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default]}])["Subnets"]
    rds.create_db_subnet_group(
        DBSubnetGroupName="other-vpc",
        DBSubnetGroupDescription="another VPC",
        SubnetIds=[s["SubnetId"] for s in subnets[:2]],
    )
    return "other-vpc", default


def refusal(rds: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        rds.modify_db_instance(ApplyImmediately=True, **kwargs)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def status(rds: Any, ident: str) -> str:
    return rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]["DBInstanceStatus"]  # type: ignore[no-any-return]


def test_multi_az_db_outside_a_vpc_is_refused() -> None:
    with mock_lab("vpc-day") as lab:
        rds, _ = clients()
        rds.create_db_instance(
            DBInstanceIdentifier="mysql-maz",
            Engine="mysql",
            DBInstanceClass="db.m1.small",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="lab-password-not-secret",
            MultiAZ=True,
        )
        code, message = refusal(
            rds, DBInstanceIdentifier="mysql-maz", DBSubnetGroupName=lab.world["db_subnet_group"]
        )
        assert code == "InvalidParameterCombination"
        assert "Single-Az" in message and "VPC" in message
        assert status(rds, "mysql-maz") == "available"


def test_security_group_of_another_vpc_is_refused() -> None:
    with mock_lab("vpc-day") as lab:
        rds, ec2 = clients()
        _, default_vpc = other_vpc_subnet_group(rds, ec2)
        sg = ec2.create_security_group(GroupName="db-in-default", Description="x", VpcId=default_vpc)[
            "GroupId"
        ]
        code, message = refusal(
            rds,
            DBInstanceIdentifier="mysql-1",
            DBSubnetGroupName=lab.world["db_subnet_group"],
            VpcSecurityGroupIds=[sg],
        )
        assert code == "InvalidParameterCombination"
        assert (
            f"The DB instance is in {lab.world['vpc_id']} and the EC2 security group is in {default_vpc}"
            in message
        )


def test_busy_db_then_same_group_then_same_vpc_are_refused() -> None:
    with mock_lab("vpc-day", latency_scale=1.0) as lab:  # the move takes 450 s: it stays modifying
        rds, ec2 = clients()
        group = lab.world["db_subnet_group"]
        rds.modify_db_instance(DBInstanceIdentifier="mysql-1", DBSubnetGroupName=group, ApplyImmediately=True)
        assert status(rds, "mysql-1") == "modifying"
        code, message = refusal(rds, DBInstanceIdentifier="mysql-1", DBSubnetGroupName=group)
        assert (code, message) == ("InvalidDBInstanceState", "Database instance is not in available state.")

        lab.state.latency_scale = 0.0
        for transition in lab.state.pending_for("mysql-1"):
            transition.due = 0.0
        lab.tick()
        assert status(rds, "mysql-1") == "available"
        code, message = refusal(rds, DBInstanceIdentifier="mysql-1", DBSubnetGroupName=group)
        assert code == "InvalidVPCNetworkStateFault" and "already in the target DB subnet group" in message

        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [lab.world["vpc_id"]]}])[
            "Subnets"
        ]
        rds.create_db_subnet_group(
            DBSubnetGroupName="same-vpc",
            DBSubnetGroupDescription="the same VPC",
            SubnetIds=[s["SubnetId"] for s in subnets],
        )
        code, message = refusal(rds, DBInstanceIdentifier="mysql-1", DBSubnetGroupName="same-vpc")
        assert code == "InvalidVPCNetworkStateFault"
        assert message.startswith("You cannot move DB instance mysql-1 to subnet group same-vpc.")


def test_move_into_a_vpc_still_works_and_unknown_group_is_not_found() -> None:
    with mock_lab("vpc-day") as lab:
        rds, _ = clients()
        code, _ = refusal(rds, DBInstanceIdentifier="mysql-1", DBSubnetGroupName="no-such-group")
        assert code == "DBSubnetGroupNotFoundFault"
        rds.modify_db_instance(
            DBInstanceIdentifier="mysql-1",
            DBSubnetGroupName=lab.world["db_subnet_group"],
            ApplyImmediately=True,
        )
        lab.tick()
        db = rds.describe_db_instances(DBInstanceIdentifier="mysql-1")["DBInstances"][0]
        assert db["DBSubnetGroup"]["VpcId"] == lab.world["vpc_id"]
