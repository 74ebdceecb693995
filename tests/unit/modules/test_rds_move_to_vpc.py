"""Unit tests of plugins/modules/rds_move_to_vpc.py, in-process against the lab's simulated AWS (vpc-day)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

MODULE = "rds_move_to_vpc"
GROUP = "clusterswap-vpc"


def rds() -> Any:
    return boto3.client("rds", region_name="us-east-1")


def db(ident: str = "mysql-1") -> dict[str, Any]:
    return rds().describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]  # type: ignore[no-any-return]


def add_db(ident: str, **kwargs: Any) -> None:
    rds().create_db_instance(
        DBInstanceIdentifier=ident,
        Engine="mysql",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="lab-password-not-secret",
        **{"DBInstanceClass": "db.m3.medium", **kwargs},
    )


def default_vpc_group(lab: Any, zones: tuple[str, ...] = ()) -> tuple[str, str]:
    """A DB subnet group in the default VPC (another VPC than the lab's), in `zones` or its first two
    subnets: (name, vpc id)."""
    vpc = next(v for v in lab.ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))["VpcId"]
    subnets = lab.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    chosen = [s for s in subnets if s["AvailabilityZone"] in zones] if zones else subnets[:2]
    rds().create_db_subnet_group(
        DBSubnetGroupName="other-vpc",
        DBSubnetGroupDescription="x",
        SubnetIds=[s["SubnetId"] for s in chosen],
    )
    return "other-vpc", vpc


def vpc_sg(lab: Any, vpc_id: str, name: str = "mysql-clients") -> str:
    return lab.ec2.create_security_group(GroupName=name, Description="x", VpcId=vpc_id)["GroupId"]  # type: ignore[no-any-return]


def test_four_runs_move_mysql_into_the_vpc(make_lab, run_module, api_calls) -> None:
    lab = make_lab("vpc-day", latency_scale=0.001)  # 450 s -> 0.45 s
    sg = vpc_sg(lab, lab.world["vpc_id"])
    args = {
        "db_instance_identifier": "mysql-1",
        "db_subnet_group_name": GROUP,
        "vpc_security_group_ids": [sg],
        "poll_interval": 0.05,
    }
    assert "DBSubnetGroup" not in db()

    api_calls.reset()
    check = run_module(MODULE, args, check_mode=True, diff=True)
    assert check.changed and not check.failed, check.msg
    assert check["db_instances"][0]["action"] == "would_move"
    assert check["diff"]["before"]["mysql-1"]["db_subnet_group_name"] is None
    assert check["diff"]["before"]["mysql-1"]["vpc_id"] is None
    assert check["diff"]["after"]["mysql-1"] == {
        "db_subnet_group_name": GROUP,
        "vpc_id": lab.world["vpc_id"],
        "vpc_security_group_ids": [sg],
        "status": "available",
    }
    assert api_calls.calls["ModifyDBInstance"] == 0 and "DBSubnetGroup" not in db(), (
        "check mode changed nothing"
    )

    api_calls.reset()
    real = run_module(MODULE, args, diff=True)
    assert real.changed and not real.failed, real.msg
    entry = real["db_instances"][0]
    assert entry["action"] == "moved" and entry["status"] == "available"
    assert (real["db_subnet_group_name"], real["vpc_id"]) == (GROUP, lab.world["vpc_id"])
    assert real["endpoint"] == {"address": db()["Endpoint"]["Address"], "port": 3306}
    assert 0.3 < real["seconds"] < 10, "waited for the simulated 0.45 s outage"
    assert real["progress"][-1].startswith("RDS moves into the VPC: 1/1 done after")
    assert api_calls.calls["ModifyDBInstance"] == 1
    assert db()["DBSubnetGroup"]["VpcId"] == lab.world["vpc_id"]
    assert [g["VpcSecurityGroupId"] for g in db()["VpcSecurityGroups"]] == [sg]

    api_calls.reset()
    again_check = run_module(MODULE, args, check_mode=True, diff=True)
    assert not again_check.changed and again_check["db_instances"][0]["action"] == "none"
    again = run_module(MODULE, args, diff=True)
    assert not again.changed and not again.failed, again.msg
    assert again["diff"] == {"before": {}, "after": {}}
    assert again["db_instances"][0]["seconds"] is None
    assert api_calls.calls["ModifyDBInstance"] == 0


def test_modify_sends_apply_immediately(make_lab, run_module, monkeypatch) -> None:
    make_lab("vpc-day")
    sent: list[dict[str, Any]] = []
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "ModifyDBInstance":
            sent.append(params)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    result = run_module(MODULE, {"db_instance_identifiers": ["mysql-1"], "db_subnet_group_name": GROUP})
    assert not result.failed, result.msg
    assert sent == [{"DBInstanceIdentifier": "mysql-1", "ApplyImmediately": True, "DBSubnetGroupName": GROUP}]


def test_pending_change_without_apply_immediately_is_applied_now(make_lab, run_module) -> None:
    make_lab("vpc-day")
    rds().modify_db_instance(DBInstanceIdentifier="mysql-1", DBSubnetGroupName=GROUP)  # waits for the window
    assert db()["PendingModifiedValues"]["DBSubnetGroupName"] == GROUP and "DBSubnetGroup" not in db()
    result = run_module(MODULE, {"db_instance_identifier": "mysql-1", "db_subnet_group_name": GROUP})
    assert result.changed and result["db_instances"][0]["action"] == "moved", result.msg
    assert db()["DBSubnetGroup"]["DBSubnetGroupName"] == GROUP


def test_move_started_by_a_run_that_died_is_waited_for_not_modified_again(
    make_lab, run_module, api_calls, monkeypatch
) -> None:
    lab = make_lab("vpc-day", latency_scale=1.0)  # 450 s: still moving whatever the test's speed
    args = {"db_instance_identifier": "mysql-1", "db_subnet_group_name": GROUP, "poll_interval": 0.05}
    issued = run_module(MODULE, {**args, "wait": False})
    assert issued.changed and issued["db_instances"][0]["action"] == "in_progress"
    assert issued["status"] == "moving-to-vpc"
    api_calls.reset()
    again = run_module(MODULE, {**args, "wait": False})  # full-swap.yml rerun after a kill: issued already
    assert not again.changed and again["db_instances"][0]["action"] == "in_progress", again.msg
    assert api_calls.calls["ModifyDBInstance"] == 0

    check = run_module(MODULE, args, check_mode=True, diff=True)
    assert check.changed and check["db_instances"][0]["action"] == "would_wait"
    assert check["diff"]["before"]["mysql-1"]["status"] == "moving-to-vpc"

    from ansible_collections.clusterswap.swap.plugins.modules import rds_move_to_vpc

    real_wait = rds_move_to_vpc.wait_until

    def wait_until(*a: Any, **kw: Any) -> list[str]:  # the move ends half a second into the run's wait
        for transition in lab.lab.state.pending_for("mysql-1"):
            transition.due = time.monotonic() + 0.5
        return real_wait(*a, **kw)

    monkeypatch.setattr(rds_move_to_vpc, "wait_until", wait_until)
    api_calls.reset()
    resumed = run_module(MODULE, args)
    assert resumed.changed and not resumed.failed, resumed.msg
    assert resumed["db_instances"][0]["action"] == "resumed"
    assert resumed["status"] == "available" and resumed["db_subnet_group_name"] == GROUP
    assert resumed["seconds"] >= 0.3
    assert api_calls.calls["ModifyDBInstance"] == 0
    assert not run_module(MODULE, args).changed


def test_wait_is_bounded_and_says_how_to_resume(make_lab, run_module) -> None:
    make_lab("vpc-day", latency_scale=1.0)  # a 450 s move
    args = {"db_instance_identifier": "mysql-1", "db_subnet_group_name": GROUP}
    start = time.monotonic()
    result = run_module(MODULE, {**args, "wait_timeout": 1, "poll_interval": 0.2})
    assert time.monotonic() - start < 10
    assert result.failed and result.changed
    assert "Still moving after 1s: mysql-1 (moving-to-vpc)" in result.msg
    assert "rerun to resume waiting" in result.msg and "wait_timeout" in result.msg
    assert result["db_instances"][0]["action"] == "moved" and result["status"] == "moving-to-vpc"
    again = run_module(MODULE, {**args, "wait_timeout": 1, "poll_interval": 0.2})
    assert again.failed and "Still moving after 1s" in again.msg
    assert again["db_instances"][0]["action"] == "in_progress", "waited for, not modified again"


def test_several_dbs_move_together_and_outages_overlap(make_lab, run_module, api_calls) -> None:
    lab = make_lab("vpc-day", latency_scale=0.006)  # 2.7 s each: one after the other 5.4 s
    lab.lab.state.latency_scale = 0.0
    add_db("mysql-2")
    lab.lab.state.latency_scale = 0.006
    api_calls.reset()
    result = run_module(
        MODULE,
        {
            "db_instance_identifiers": ["mysql-1", "mysql-2"],
            "db_subnet_group_name": GROUP,
            "poll_interval": 0.05,
        },
    )
    assert result.changed and not result.failed, result.msg
    assert [e["action"] for e in result["db_instances"]] == ["moved", "moved"]
    assert "endpoint" not in result.data, "top-level keys only for one DB"
    # overlap, not one after the other: both moves are issued before the first poll of the wait, and each
    # poll is one DescribeDBInstances for both (measured by the order of the calls, not by a clock)
    modifies = [i for i, op in enumerate(api_calls.order) if op == "ModifyDBInstance"]
    assert len(modifies) == 2, api_calls.order
    polls_between = api_calls.order[modifies[0] : modifies[1]].count("DescribeDBInstances")
    assert polls_between == 0, f"the wait began before the second move was issued: {api_calls.order}"
    assert api_calls.calls["ModifyDBInstance"] == 2


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("multi_az", "mysql-maz: is Multi-AZ; AWS does not move a Multi-AZ DB"),
        (
            "other_vpc_zone",
            "mysql-other: is in us-east-1c, and subnet group clusterswap-vpc has no subnet there",
        ),
        ("previous_generation", "mysql-old: is a db.m1.small, a previous-generation class"),
        ("custom_option_group", "mysql-opts: uses the custom option group classic-opts; option groups are"),
        ("read_replicas", "mysql-1: has read replicas (mysql-1-replica); AWS does not move a DB with read"),
        ("failure_status", "mysql-1: is storage-full, a failure status; waiting will not make it available"),
        ("wrong_vpc", "the DBs would move to the wrong VPC"),
        ("sg_other_vpc", "AWS would refuse the move (InvalidParameterCombination"),
        ("unknown_db", "no-such-db: no DB instance with this identifier in region us-east-1"),
        ("unknown_group", "DBSubnetGroupNotFoundFault"),
        ("same_vpc_group", "AWS refuses (InvalidVPCNetworkStateFault"),
        ("stopped", "is stopped; AWS moves only an available DB (InvalidDBInstanceState"),
    ],
)
def test_refusals_fail_before_any_change(make_lab, run_module, api_calls, setup: str, expected: str) -> None:
    lab = make_lab("vpc-day")
    names = ["mysql-1"]
    group = GROUP
    args: dict[str, Any] = {}
    if setup == "multi_az":
        add_db("mysql-maz", MultiAZ=True)
        names.append("mysql-maz")
    elif setup == "other_vpc_zone":
        other, _ = default_vpc_group(lab, zones=("us-east-1c", "us-east-1d"))
        add_db("mysql-other", DBSubnetGroupName=other, AvailabilityZone="us-east-1c")
        names.append("mysql-other")
    elif setup == "previous_generation":
        add_db("mysql-old", DBInstanceClass="db.m1.small")
        names.append("mysql-old")
    elif setup == "custom_option_group":
        rds().create_option_group(
            OptionGroupName="classic-opts",
            EngineName="mysql",
            MajorEngineVersion="8.0",
            OptionGroupDescription="x",
        )
        add_db("mysql-opts", OptionGroupName="classic-opts")
        names.append("mysql-opts")
    elif setup == "read_replicas":
        rds().create_db_instance_read_replica(
            DBInstanceIdentifier="mysql-1-replica", SourceDBInstanceIdentifier="mysql-1"
        )
    elif setup == "failure_status":
        lab.lab.state.rds_outcomes["mysql-1"] = "storage-full"  # a move that ended badly before this run
        rds().modify_db_instance(
            DBInstanceIdentifier="mysql-1", DBSubnetGroupName=GROUP, ApplyImmediately=True
        )
        lab.lab.tick()
    elif setup == "wrong_vpc":
        _, default_vpc = default_vpc_group(lab)
        args["vpc_id"] = default_vpc
    elif setup == "sg_other_vpc":
        _, default_vpc = default_vpc_group(lab)
        args["vpc_security_group_ids"] = [vpc_sg(lab, default_vpc)]
    elif setup == "unknown_db":
        names.append("no-such-db")
    elif setup == "unknown_group":
        group = "no-such-group"
    elif setup == "same_vpc_group":
        subnets = lab.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [lab.world["vpc_id"]]}])
        rds().create_db_subnet_group(
            DBSubnetGroupName="same-vpc",
            DBSubnetGroupDescription="x",
            SubnetIds=[s["SubnetId"] for s in subnets["Subnets"]],
        )
        add_db("mysql-same", DBSubnetGroupName="same-vpc")
        names.append("mysql-same")
    elif setup == "stopped":
        rds().stop_db_instance(DBInstanceIdentifier="mysql-1")
    api_calls.reset()
    result = run_module(MODULE, {"db_instance_identifiers": names, "db_subnet_group_name": group, **args})
    assert result.failed and not result.changed
    assert result.msg.startswith("Nothing was changed."), result.msg
    assert expected in result.msg, result.msg
    assert api_calls.calls["ModifyDBInstance"] == 0
    assert "DBSubnetGroup" not in db(), "mysql-1 was not moved either"
    pre = run_module(
        MODULE, {"db_instance_identifiers": names, "db_subnet_group_name": group, "preflight": True, **args}
    )
    assert not pre.failed and not pre.changed, pre.msg
    assert any(expected in q for q in pre["problems"]), pre["problems"]
    assert api_calls.calls["ModifyDBInstance"] == 0, "pre-flight changes nothing"
    actions = {d["db_instance_identifier"]: d["action"] for d in pre["db_instances"]}
    if setup in ("failure_status", "stopped"):
        assert actions["mysql-1"] == "failed", actions  # rollback's R.6 names it from this


def test_preflight_gives_each_dbs_planned_action(make_lab, run_module, api_calls) -> None:
    make_lab("vpc-day")
    pre = run_module(
        MODULE, {"db_instance_identifier": "mysql-1", "db_subnet_group_name": GROUP, "preflight": True}
    )
    assert not pre.failed and not pre.changed and pre["problems"] == [], pre
    [entry] = pre["db_instances"]
    assert entry["action"] == "would_move" and entry["db_subnet_group_name"] == GROUP, entry
    assert api_calls.calls["ModifyDBInstance"] == 0 and "DBSubnetGroup" not in db(), (
        "pre-flight changes nothing"
    )


def test_aws_refusal_at_modify_names_db_code_and_what_to_do(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    lab.fault(
        "ModifyDBInstance",
        nth=1,
        code="InvalidParameterCombination",
        message="You cannot move a DB instance with Single-Az enabled to a VPC",
    )
    result = run_module(MODULE, {"db_instance_identifier": "mysql-1", "db_subnet_group_name": GROUP})
    assert result.failed and result["error_code"] == "InvalidParameterCombination"
    assert "ModifyDBInstance mysql-1: InvalidParameterCombination" in result.msg
    assert "Single-AZ first" in result.msg
    assert result["db_instances"][0]["action"] == "failed"


def test_changed_says_whether_a_modify_was_issued_even_when_the_module_fails(make_lab, run_module) -> None:
    """The probe: a refused first modify reported changed=true; a describe failing after the modify, false."""
    lab = make_lab("vpc-day")
    lab.fault("ModifyDBInstance", nth=1, code="InvalidParameterCombination", message="refused")
    args = {"db_instance_identifier": "mysql-1", "db_subnet_group_name": GROUP, "poll_interval": 1}
    refused = run_module(MODULE, args)
    assert refused.failed and not refused.changed, "nothing was issued"
    assert (
        "DBSubnetGroup" not in db("mysql-1") or db("mysql-1")["DBSubnetGroup"]["DBSubnetGroupName"] != GROUP
    )
    lab.lab.state.clear_faults()
    # the modify goes through, then every describe while waiting fails
    lab.fault("DescribeDBInstances", nth=2, code="AccessDenied", message="denied", times=500)
    after = run_module(MODULE, args)
    assert after.failed and after.changed, after.msg
    assert "changes were issued: rerun to resume waiting, nothing is modified twice" in after.msg
    lab.lab.state.clear_faults()
    rerun = run_module(MODULE, args)
    assert not rerun.failed, rerun.msg
    assert db("mysql-1")["DBSubnetGroup"]["DBSubnetGroupName"] == GROUP


def test_throttling_is_retried(make_lab, run_module, api_calls, no_sleep, monkeypatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no botocore retries: the module's own backoff must do it
    lab = make_lab("vpc-day")
    lab.fault("DescribeDBInstances", nth=1, code="Throttling", times=2, message="Rate exceeded")
    lab.fault("ModifyDBInstance", nth=1, code="Throttling", times=1, message="Rate exceeded")
    api_calls.reset()
    result = run_module(MODULE, {"db_instance_identifier": "mysql-1", "db_subnet_group_name": GROUP})
    assert result.changed and not result.failed, result.msg
    assert api_calls.attempts["ModifyDBInstance"] == 2
    assert api_calls.attempts["DescribeDBInstances"] >= 3
    assert len(no_sleep) >= 3, "backed off"
    assert db()["DBSubnetGroup"]["DBSubnetGroupName"] == GROUP


def test_bad_input(make_lab, run_module) -> None:
    make_lab("vpc-day")
    dup = run_module(
        MODULE, {"db_instance_identifiers": ["mysql-1", "MySQL-1"], "db_subnet_group_name": GROUP}
    )
    assert dup.failed and "mysql-1: listed more than once" in dup.msg
    both = run_module(
        MODULE,
        {
            "db_instance_identifier": "mysql-1",
            "db_instance_identifiers": ["x"],
            "db_subnet_group_name": GROUP,
        },
    )
    assert both.failed and "mutually exclusive" in both.msg


# --------------------------------------------------------------------------- from one VPC to another


NEW_GROUP = "clusterswap-new-vpc"


def test_four_runs_move_mysql_from_one_vpc_into_another(make_lab, run_module, api_calls) -> None:
    """ModifyDBInstance DBSubnetGroupName: "You can use this parameter to move your DB instance to a different
    VPC" [API-ModifyDBInstance] (the vpc-to-vpc day: the old VPC's subnet group into the new VPC's)."""
    lab = make_lab("vpc-to-vpc", latency_scale=0.001)
    args = {
        "db_instance_identifier": "mysql-1",
        "db_subnet_group_name": NEW_GROUP,
        "vpc_id": lab.world["new_vpc_id"],
        "poll_interval": 0.05,
    }
    assert db()["DBSubnetGroup"]["VpcId"] == lab.world["vpc_id"]
    api_calls.reset()
    check = run_module(MODULE, args, check_mode=True, diff=True)
    assert check.changed and not check.failed, check.msg
    assert check["db_instances"][0]["action"] == "would_move"
    assert check["diff"]["before"]["mysql-1"]["vpc_id"] == lab.world["vpc_id"]
    assert check["diff"]["after"]["mysql-1"]["vpc_id"] == lab.world["new_vpc_id"]
    assert api_calls.calls["ModifyDBInstance"] == 0

    real = run_module(MODULE, args, diff=True)
    assert real.changed and not real.failed, real.msg
    assert real["db_instances"][0]["action"] == "moved"
    assert (real["db_subnet_group_name"], real["vpc_id"]) == (NEW_GROUP, lab.world["new_vpc_id"])
    assert db()["DBSubnetGroup"]["DBSubnetGroupName"] == NEW_GROUP

    again_check = run_module(MODULE, args, check_mode=True)
    assert not again_check.changed and again_check["db_instances"][0]["action"] == "none"
    again = run_module(MODULE, args)
    assert not again.changed and not again.failed


def test_a_move_that_ends_in_a_failure_status_fails_within_a_minute_naming_it(make_lab, run_module) -> None:
    """RDS-UG-status: incompatible-network, "Amazon RDS is attempting to perform a recovery action on a DB
    instance but can't do so because the VPC is in a state that prevents the action from being completed".
    The lab ends the move in it (POST /_lab/rds-outcome); the module must not wait out its 1200 s."""
    lab = make_lab("vpc-to-vpc", latency_scale=0.005)  # the move ends after 2.25 s
    lab.lab.state.rds_outcomes["mysql-1"] = "incompatible-network"
    start = time.monotonic()
    result = run_module(
        MODULE,
        {"db_instance_identifier": "mysql-1", "db_subnet_group_name": NEW_GROUP, "poll_interval": 0.2},
    )
    took = time.monotonic() - start
    assert result.failed and result.changed
    assert took < 60, f"failed after {took:.0f}s, not within a minute"
    assert result["failure_status"] == {"mysql-1": "incompatible-network"}
    assert "mysql-1 is incompatible-network: RDS can't finish because of the state of the VPC" in result.msg
    assert "free addresses or add subnets to the DB subnet group" in result.msg
    assert result["db_instances"][0]["action"] == "failed"
    assert db()["DBSubnetGroup"]["DBSubnetGroupName"] != NEW_GROUP

    rerun = run_module(MODULE, {"db_instance_identifier": "mysql-1", "db_subnet_group_name": NEW_GROUP})
    assert rerun.failed and not rerun.changed
    assert (
        "mysql-1: is incompatible-network, a failure status; waiting will not make it available" in rerun.msg
    )


def test_moving_to_vpc_is_waited_for(make_lab, run_module) -> None:
    """ "moving-to-vpc: The DB instance is being moved to a new Amazon Virtual Private Cloud" [RDS-UG-status]:
    a run that finds it waits, and sends no second ModifyDBInstance."""
    lab = make_lab("vpc-to-vpc", latency_scale=0.01)  # a 4.5 s move: still moving when the module looks (CI)
    rds().modify_db_instance(
        DBInstanceIdentifier="mysql-1", DBSubnetGroupName=NEW_GROUP, ApplyImmediately=True
    )
    assert db()["DBInstanceStatus"] == "moving-to-vpc"
    result = run_module(
        MODULE,
        {"db_instance_identifier": "mysql-1", "db_subnet_group_name": NEW_GROUP, "poll_interval": 0.05},
    )
    assert result.changed and not result.failed, result.msg
    assert result["db_instances"][0]["action"] == "resumed" and result["status"] == "available"
    assert lab.world["new_vpc_id"] == result["vpc_id"]
