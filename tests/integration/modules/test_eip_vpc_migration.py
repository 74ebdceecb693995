"""playbooks/eip-vpc-migration.yml with ansible-playbook against the lab's simulated AWS server, after
playbooks/prepare-cluster.yml gave the new load balancers a private IP per EIP and pinned the targets."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.conftest import recap


def failure(output: str) -> str:
    """The lines that say what went wrong, then the tail of the output."""
    lines = [line for line in output.splitlines() if "fatal:" in line or "[ERROR]" in line]
    return "\n".join(lines) + "\n...\n" + output[-2000:]


def expected_holders(world: dict[str, Any], before: dict[str, str]) -> dict[str, str]:
    """Each EIP on the new load balancer that replaces the old one it was on."""
    by_id = {v: k for k, v in world["instances"].items()}
    old_to_new = world["plan"]["instance_map"]
    return {ip: world["instances"][old_to_new[by_id[holder]]] for ip, holder in before.items()}


def describe(ec2: Any) -> dict[str, dict[str, Any]]:
    return {a["PublicIp"]: a for a in ec2.describe_addresses()["Addresses"]}


def test_four_runs_move_and_associate_every_eip(sim_server) -> None:
    server = sim_server("vpc-day")
    server.prepare()
    ec2 = server.ec2()
    world = server.control.world()
    before = {ip: a["InstanceId"] for ip, a in describe(ec2).items()}
    assert len(before) == 24

    check = server.playbook("--check", "--diff")
    assert check.returncode == 0, failure(check.stdout)
    assert recap(check.stdout)["changed"] >= 1
    assert {a["Domain"] for a in describe(ec2).values()} == {"standard"}, "check mode changed nothing"

    real = server.playbook("--diff")
    assert real.returncode == 0, failure(real.stdout)
    assert recap(real.stdout)["changed"] == 3
    after = describe(ec2)
    assert {a["Domain"] for a in after.values()} == {"vpc"}
    assert {ip: a.get("InstanceId") for ip, a in after.items()} == expected_holders(world, before)
    assert all(a["AssociationId"].startswith("eipassoc-") for a in after.values())

    for args in (("--check",), ()):
        again = server.playbook(*args)
        assert again.returncode == 0, failure(again.stdout)
        assert recap(again.stdout)["changed"] == 0, failure(again.stdout)


def test_incident_stops_in_preflight_before_any_change(sim_server) -> None:
    server = sim_server("incident")
    ec2 = server.ec2()
    before = describe(ec2)
    result = server.playbook()
    assert result.returncode != 0
    assert "24 addresses to move need 24 free VPC EIPs, only 5 free" in result.stdout
    assert "V.1 | EIP" not in result.stdout, "failed in pre-flight, before step V.1"
    assert describe(ec2) == before


def test_run_interrupted_during_the_moves_is_finished_by_a_rerun(sim_server) -> None:
    server = sim_server("vpc-day")
    server.prepare()
    ec2 = server.ec2()
    # pre-flight's DryRun is call 1, the module's call 2; the 10th move (call 12) fails: 9 moved, 15 still
    # in Classic, all disassociated
    server.control.add_fault(
        operation="MoveAddressToVpc", nth=12, code="AuthFailure", message="session expired"
    )
    first = server.playbook()
    assert first.returncode != 0
    assert re.search(r"MoveAddressToVpc 127\.100\.0\.\d+: AuthFailure", first.stdout), failure(first.stdout)
    domains = [a["Domain"] for a in describe(ec2).values()]
    assert domains.count("vpc") == 9 and domains.count("standard") == 15
    second = server.playbook()
    assert second.returncode == 0, failure(second.stdout)
    assert {a["Domain"] for a in describe(ec2).values()} == {"vpc"}
    assert all(a.get("InstanceId") for a in describe(ec2).values())
    assert recap(server.playbook().stdout)["changed"] == 0


@pytest.mark.long  # ~1 min: `make long`; make test keeps the modules' throttling tests (tests/unit/modules)
def test_throttled_calls_are_retried(sim_server) -> None:
    server = sim_server("vpc-day")
    server.prepare()
    server.control.add_fault(operation="MoveAddressToVpc", nth=3, code="RequestLimitExceeded", times=6)
    server.control.add_fault(operation="AssociateAddress", nth=2, code="RequestLimitExceeded", times=6)
    result = server.playbook()
    assert result.returncode == 0, failure(result.stdout)
    assert {a["Domain"] for a in describe(server.ec2()).values()} == {"vpc"}
    fired = {f["operation"]: f["fired"] for f in server.control.state()["faults"]}
    assert fired == {"MoveAddressToVpc": 6, "AssociateAddress": 6}
