"""The IAM policies the swap needs (iam/*.json, per part) grant exactly what the product can call.

- Every action names a real operation of its service (botocore's models), with no wildcard.
- Nothing more is granted: every action is an operation the product's code calls (plugins/), or that an
  amazon.aws module the roles use calls (the table below, each row checked against the roles), and every
  operation the code calls is granted.
- What a lab run really calls is allowed: the lab's end-to-end swaps compare the simulated AWS's
  per-operation counters with these files (`tests/lab/test_swap_e2e.py`, `iam.assert_allowed`).
"""

from __future__ import annotations

import re
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from tests import iam

REPO = Path(__file__).resolve().parents[2]

# amazon.aws content the runbook uses, and the operations it makes for us (amazon.aws 10.x sources).
AMAZON_AWS = {
    "amazon.aws.ec2_instance": {"ec2:DescribeInstances", "ec2:StopInstances", "ec2:StartInstances"},
    "amazon.aws.ec2_instance_info": {"ec2:DescribeInstances"},
    "amazon.aws.ec2_vpc_subnet_info": {"ec2:DescribeSubnets"},
    "amazon.aws.rds_instance_info": {"rds:DescribeDBInstances"},
    "amazon.aws.aws_ec2": {"ec2:DescribeInstances"},  # the inventory plugin of staging and production
}
# Named in the code but not called: the RDS client shares EC2's name for one operation.
NOT_CALLED = {"rds:DescribeAccountAttributes"}


def product_text() -> str:
    return "\n".join(p.read_text() for p in sorted((REPO / "plugins").rglob("*.py")))


def called_by_the_code() -> set[str]:
    """Operations whose boto3 name (describe_addresses, ...) the product's Python names."""
    session = botocore.session.get_session()
    words = set(re.findall(r"\w+", product_text()))  # one pass over the text, not one search per operation
    found = set()
    for service in iam.SERVICES:
        model = session.get_service_model(service)
        prefix = iam.SERVICES[service]
        found |= {f"{prefix}:{op}" for op in model.operation_names if xform_name(op) in words}
    return found - NOT_CALLED


def used_content() -> set[str]:
    yaml_text = "\n".join(
        p.read_text()
        for d in ("roles", "playbooks", "inventories/production")
        for p in (REPO / d).rglob("*.yml")
    )
    return {name for name in AMAZON_AWS if re.search(rf"\b{re.escape(name)}\b", yaml_text)}


def test_every_action_is_a_real_operation_without_wildcards() -> None:
    session = botocore.session.get_session()
    operations = {
        f"{prefix}:{op}"
        for service, prefix in iam.SERVICES.items()
        for op in session.get_service_model(service).operation_names
    }
    for part, actions in iam.policies().items():
        assert not [a for a in actions if "*" in a], part
        assert actions <= operations, (part, sorted(actions - operations))


def test_no_action_is_granted_twice() -> None:
    seen: dict[str, str] = {}
    for part, actions in iam.policies().items():
        for action in actions:
            assert action not in seen, f"{action} in {part} and in {seen[action]}"
            seen[action] = part


def test_the_table_of_amazon_aws_content_is_what_the_roles_use() -> None:
    assert used_content() == set(AMAZON_AWS), "update AMAZON_AWS to the amazon.aws content the roles use"


def test_exactly_what_the_product_calls_is_granted() -> None:
    granted = set().union(*iam.policies().values())
    needed = called_by_the_code().union(*AMAZON_AWS.values())
    assert sorted(needed - granted) == [], "called by the product, granted by no policy in iam/"
    assert sorted(granted - needed) == [], "granted, but nothing in the product calls it"


def test_a_call_outside_the_policies_is_named() -> None:
    stats = {"services": {"ec2": {"DescribeAddresses": {"calls": 3}, "DeleteVpc": {"calls": 1}}}}
    with pytest.raises(AssertionError, match="ec2:DeleteVpc"):
        iam.assert_allowed(stats, storage=False, vpc=False)
    iam.assert_allowed({"services": {"ec2": {"DescribeAddresses": {"calls": 3}}}}, storage=False, vpc=False)
    with pytest.raises(AssertionError, match="ec2:AttachVolume"):
        iam.assert_allowed({"services": {"ec2": {"AttachVolume": {"calls": 1}}}}, storage=False, vpc=False)
    iam.assert_allowed({"services": {"ec2": {"AttachVolume": {"calls": 1}}}}, storage=True, vpc=False)
