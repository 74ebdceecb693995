"""Unit tests of plugins/module_utils/preflight.py: pre-flight's problems beyond the plan, each text and when
it appears (and when it must not)."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.clusterswap.swap.plugins.module_utils.preflight import (
    Checks,
    confirmation_problems,
    empty_group_problems,
    hosted_servers,
    is_cidr,
    missing_new_instance_problems,
    office_network_problems,
    plan_summary,
    preflight_problems,
    problems_message,
    quiet_hours_problems,
    rds_problems,
    secret_environment_problems,
    stopped_maintenance_problems,
    storage_host_problems,
)


def checks(**raw: Any) -> Checks:
    return Checks.from_params(raw)


def test_production_needs_its_confirmation() -> None:
    assert confirmation_problems("production", "", ["production"]) == [
        "environment production needs an explicit confirmation: rerun with -e clusterswap_confirm=production"
    ]
    assert confirmation_problems("production", "staging", ["production"]) != []
    assert confirmation_problems("production", "production", ["production"]) == []
    assert confirmation_problems("staging", "", ["production"]) == []


@pytest.mark.parametrize(
    ("raw", "moves", "hour", "problem"),
    [
        ({"parts": {"storage": True}}, 0, 12, True),
        ({"parts": {"vpc": "true"}}, 0, 12, True),
        ({}, 3, 12, True),
        ({}, 0, 12, False),  # a normal update may run at any hour
        ({"parts": {"storage": True}}, 0, 5, False),  # the start hour is inside
        ({"parts": {"storage": True}}, 0, 8, True),  # the end hour is outside
        ({"parts": {"storage": True}, "allow_any_hour": True}, 0, 12, False),
        ({"parts": {"storage": True}, "quiet_hours_utc": {"start": 0, "end": 0}}, 0, 0, True),
        ({"parts": {"storage": "false"}}, 0, 12, False),
    ],
)
def test_a_big_swap_only_in_the_quiet_hours(
    raw: dict[str, Any], moves: int, hour: int, problem: bool
) -> None:
    assert bool(quiet_hours_problems(checks(**raw), moves, hour)) == problem


def test_the_quiet_hours_problem_says_what_to_do() -> None:
    [text] = quiet_hours_problems(checks(parts={"vpc": True}), 24, 13)
    assert text == (
        "this swap is big (storage or VPC parts, or 24 EIPs to move to the VPC) and it is 13:00 UTC, outside "
        "the quiet hours 5:00-8:00 UTC: start it then, or allow it with -e clusterswap_allow_any_hour=true"
    )


@pytest.mark.parametrize(
    ("network", "ok"),
    [
        ("203.0.113.0/24", True),
        ("127.10.0.0/16", True),
        ("10.0.0.5/32", True),
        ("not-a-cidr", False),
        ("203.0.113.0", False),
        ("999.0.113.0/24", False),
        ("10.0.0.0/33", False),
        ("10.0.0.0/24\n", False),
    ],
)
def test_an_office_network_is_an_ipv4_cidr(network: str, ok: bool) -> None:
    assert is_cidr(network) is ok


def test_office_networks() -> None:
    assert office_network_problems(None) == [], "not checked when not given"
    assert office_network_problems([]) == [
        "no office network is set (clusterswap_office_networks): the office could not see the new cluster "
        "through the maintenance server; set at least one CIDR"
    ]
    assert office_network_problems(["203.0.113.0/24", "not-a-cidr"]) == [
        "office network not-a-cidr is not a CIDR like 203.0.113.0/24: fix clusterswap_office_networks"
    ]


def test_new_instances_that_do_not_exist() -> None:
    assert missing_new_instance_problems(["new-lb-1", "new-lb-9"], {"new-lb-1"}) == [
        "new-cluster instance new-lb-9 does not exist: start the new cluster (playbooks/prepare-cluster.yml) "
        "or fix the inventory"
    ]
    assert missing_new_instance_problems(["new-lb-1"], {"new-lb-1"}) == []


def test_maintenance_servers_not_running() -> None:
    states = {"maint-1": "running", "maint-2": "stopped", "new-lb-1": "stopped"}
    assert stopped_maintenance_problems(["maint-1", "maint-2", "maint-3"], states) == [
        "the maintenance server maint-2 is not running: start it (playbooks/prepare-cluster.yml starts it) "
        "before the window"
    ], "only maintenance servers; a missing one (maint-3) is the plan's problem"


def test_empty_inventory_groups() -> None:
    groups = {"all": ["a"], "maintenance": ["a"], "new_lb": []}
    [one] = empty_group_problems(["maintenance", "new_lb"], groups)
    assert one.startswith(
        "inventory group 'new_lb' is empty: the plays on it would be skipped ('no hosts matched')"
    )
    assert "Did an inventory source fail to parse?" in one
    [two] = empty_group_problems(["no_such", "new_lb"], groups)
    assert two.startswith(
        "inventory groups 'no_such', 'new_lb' are empty: the plays on them would be skipped"
    )
    assert empty_group_problems(["maintenance"], groups) == []


def test_hosted_servers_skip_host_steps_false() -> None:
    moves = [
        {"old": "s1", "new": "n1"},
        {"old": "s2", "new": "n2", "host_steps": False},
        {"old": "s3", "new": "n3", "host_steps": True},
        {"old": "s4", "new": "n4", "host_steps": "false"},
    ]
    assert hosted_servers(moves) == ["s1", "s3"]


def test_storage_hosts_missing_unreachable_and_their_device_problems() -> None:
    results = [
        {"item": {"old": "s1"}, "problems": ["vol-1 /dev/xvdf: no block device on s1"]},
        {"item": {"old": "s3"}, "unreachable": True, "msg": "ssh: connection refused"},
        {"item": {"old": "s5"}, "skipped": True},
    ]
    found = storage_host_problems(
        checks(
            parts={"storage": True},
            inventory_groups={"all": ["s1", "s3"]},
            storage_moves=[{"old": "s1"}, {"old": "s2"}, {"old": "s3"}, {"old": "s4", "host_steps": False}],
            storage_device_results=results,
        )
    )
    assert found == [
        "old storage server s2 is not in the inventory: its filesystems could not be checked unmounted, so "
        "its volumes would not move; add it, or set host_steps: false on its entry if nothing on it is "
        "mounted",
        "vol-1 /dev/xvdf: no block device on s1",
        "old storage server s3 is unreachable: its volumes could not be checked, and the storage move would "
        "stop at it in the window; make it reachable",
    ]


def test_storage_hosts_are_not_checked_without_the_storage_part() -> None:
    assert storage_host_problems(checks(storage_moves=[{"old": "s2"}], inventory_groups={"all": []})) == []


def test_rds_needs_a_subnet_group_and_keeps_the_moves_problems() -> None:
    missing = checks(
        parts={"vpc": True}, rds_instances=["mysql-1", "mysql-2"], rds_problems=["mysql-1: replicas"]
    )
    assert rds_problems(missing) == [
        "RDS DB instances to move (mysql-1, mysql-2) but no DB subnet group to move them into: set "
        "clusterswap_db_subnet_group to a subnet group of the new VPC",
        "mysql-1: replicas",
    ]
    given = checks(parts={"vpc": True}, rds_instances=["mysql-1"], db_subnet_group="new-db")
    assert rds_problems(given) == []
    assert rds_problems(checks(rds_instances=["mysql-1"])) == [], "only with the VPC part"


def test_a_sound_plan_has_no_problem() -> None:
    sound = checks(
        environment="production",
        confirm="production",
        confirm_environments=["production"],
        office_networks=["203.0.113.0/24"],
        new_instances=["new-lb-1"],
        required_groups=["maintenance"],
        storage_groups=["old_storage"],
        inventory_groups={"all": ["maint-1"], "maintenance": ["maint-1"]},
    )
    found = preflight_problems(
        sound, vpc_moves_needed=0, hour=12, new_found={"new-lb-1"}, maintenance=["maint-1"],
        states={"maint-1": "running"},
    )  # fmt: skip
    assert found == []


def test_every_problem_at_once_in_order() -> None:
    bad = checks(
        environment="production",
        confirm_environments=["production"],
        office_networks=["nope"],
        new_instances=["new-lb-9"],
        parts={"storage": True},
        required_groups=["maintenance"],
        storage_groups=["old_storage"],
        inventory_groups={"all": ["maint-1"], "maintenance": ["maint-1"]},
        storage_problems=["vol-1: in another zone"],
    )
    found = preflight_problems(
        bad,
        vpc_moves_needed=0,
        hour=12,
        new_found=set(),
        maintenance=["maint-1"],
        states={"maint-1": "stopped"},
    )
    assert [p.split(" ")[0:2] for p in found] == [
        ["environment", "production"],
        ["this", "swap"],
        ["office", "network"],
        ["new-cluster", "instance"],
        ["the", "maintenance"],
        ["inventory", "group"],
        ["vol-1:", "in"],
    ]
    assert "'old_storage' is empty" in found[5], "the storage groups count with the storage part"


def test_problems_message_numbers_them() -> None:
    assert (
        problems_message(["a", "b"])
        == "Pre-flight found 2 problem(s); nothing has been changed:\n  1. a\n  2. b"
    )


def test_plan_summary() -> None:
    result = {
        "stage": "in_progress",
        "eips": [{"location": "old"}, {"location": "old"}, {"location": "maintenance"}],
        "unplaced": {"to_maintenance": ["web-1"], "to_new": ["web-1", "web-2"]},
        "vpc_moves_needed": 0,
        "quotas": {"vpc": {"available": 3, "limit": 5}},
    }
    assert plan_summary(result) == (
        "Swap stage: in_progress; 3 EIPs in the plan (old: 2, maintenance: 1); 2 without a pinned "
        "maintenance or new target (playbooks/prepare-cluster.yml assigns their private IPs); 0 to move to "
        "the VPC; VPC EIPs free 3 of 5."
    )
    live = plan_summary({**result, "stage": "live", "unplaced": {}})
    assert "0 without a pinned maintenance or new target;" in live
    assert live.endswith("Nothing to swap: every EIP already answers from the new cluster.")


# --------------------------------------------------------------------------- through swap_plan_info


def plan_args(record: str, **checks: object) -> dict[str, object]:
    return {
        "instance_map": {"old-lb-1": "new-lb-1", "old-lb-2": "new-lb-2"},
        "maintenance_instances": ["maint-1"],
        "record": record,
        "checks": checks,
    }


def test_swap_plan_info_folds_the_checks_into_its_problems(make_lab, run_module, api_calls, tmp_path) -> None:
    lab = make_lab("default")
    lab.ec2.stop_instances(InstanceIds=[lab.instance("maint-1")])
    record = tmp_path / "plan.json"
    api_calls.reset()
    result = run_module(
        "swap_plan_info",
        plan_args(str(record), new_instances=["new-lb-1", "new-lb-9"], office_networks=["nope"]),
    )
    assert not result.failed, result.msg
    problems = result["problems"]
    assert "new-cluster instance new-lb-9 does not exist" in "\n".join(problems)
    assert not any("instance 'new-lb-9'" in p for p in problems), "named once, as a new-cluster instance"
    assert any(p.startswith("the maintenance server maint-1 is not running") for p in problems)
    assert "office network nope is not a CIDR" in "\n".join(problems)
    assert result["problems_message"].startswith(f"Pre-flight found {len(problems)} problem(s)")
    assert dict(api_calls.calls)["DescribeInstances"] == 1, "the new cluster is read in the same describe"
    assert not record.exists(), "no record while a problem stands"


def test_swap_plan_info_without_checks_checks_only_the_plan(make_lab, run_module, tmp_path) -> None:
    make_lab("default")
    args = plan_args(str(tmp_path / "plan.json"))
    del args["checks"]
    result = run_module("swap_plan_info", args)
    assert not any("office network" in p or "new-cluster" in p for p in result["problems"])
    assert result["summary"].startswith("Swap stage: unswapped; 8 EIPs in the plan (old: 8)")


def test_a_secret_in_the_plays_environment_is_a_problem_naming_it_not_its_value() -> None:
    names = ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws_session_token", "AWS_PROFILE"]
    found = secret_environment_problems(names)
    assert [p.split(":")[0] for p in found] == [
        "clusterswap_aws_environment sets AWS_SECRET_ACCESS_KEY",
        "clusterswap_aws_environment sets aws_session_token",
    ]
    assert all("at -vvv" in p and "AWS_PROFILE" in p for p in found), "why, and what to do instead"
    assert (
        secret_environment_problems(["AWS_REGION", "AWS_ENDPOINT_URL", "AWS_SHARED_CREDENTIALS_FILE"]) == []
    )
    assert secret_environment_problems([]) == []


def test_preflight_lists_the_secret_among_its_problems() -> None:
    found = preflight_problems(
        checks(aws_environment_names=["AWS_DEFAULT_REGION", "AWS_SECRET_ACCESS_KEY"]),
        vpc_moves_needed=0, hour=12, new_found=set(), maintenance=[], states={},
    )  # fmt: skip
    assert any(p.startswith("clusterswap_aws_environment sets AWS_SECRET_ACCESS_KEY") for p in found), found
