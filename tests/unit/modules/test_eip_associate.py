"""Unit tests of plugins/modules/eip_associate.py, in-process against the lab's simulated AWS.

Targets are exact places (interface + private IP, or an EC2-Classic instance). The instances get their places
from `EipLab.give_slots` (what prepare does: AssignPrivateIpAddresses).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3
import pytest

MODULE = "eip_associate"


def to_slots(lab, ips: list[str], instance: str) -> list[dict[str, str]]:
    """Each EIP to its own place on `instance`, in slot order."""
    slots = lab.give_slots(instance, len(ips))
    return [
        {"public_ip": ip, "network_interface_id": eni, "private_ip_address": private}
        for ip, (eni, private) in zip(ips, slots, strict=False)
    ]


def plan(lab) -> list[dict[str, str]]:
    """Each EIP to a place of the new load balancer that replaces the old one it was on."""
    old_to_new = lab.instance_map
    by_id = {v: k for k, v in lab.world["instances"].items()}
    holders = lab.holders()
    groups: dict[str, list[str]] = {}
    for ip in lab.all_ips():
        groups.setdefault(old_to_new[by_id[holders[ip]]], []).append(ip)
    return [a for new, ips in sorted(groups.items()) for a in to_slots(lab, ips, new)]


def placed(lab, associations: list[dict[str, str]]) -> bool:
    addresses = lab.addresses()
    return all(
        (
            addresses[a["public_ip"]].get("NetworkInterfaceId"),
            addresses[a["public_ip"]].get("PrivateIpAddress"),
        )
        == (a["network_interface_id"], a["private_ip_address"])
        for a in associations
    )


@pytest.fixture
def moved(make_lab):
    """vpc-day with every EIP moved to the VPC, and the plan made while they were still on old-lb-*."""
    lab = make_lab("vpc-day")
    associations = plan(lab)
    lab.disassociate()
    lab.move()
    return lab, associations


@pytest.fixture
def default(make_lab):
    """The normal update's world: one EIP per private IP on old-lb-1/2; maint-1 with one private IP."""
    return make_lab("default")


# --------------------------------------------------------------------------- four runs


def test_four_runs_associate_by_interface_and_private_ip(moved, run_module, api_calls) -> None:
    lab, associations = moved
    check = run_module(MODULE, {"associations": associations}, check_mode=True, diff=True)
    assert check.changed and not check.failed, check.msg
    assert {a["action"] for a in check["associations"]} == {"would_associate"}
    first = associations[0]
    assert check["diff"]["before"][first["public_ip"]] == {
        "domain": "vpc",
        "instance_id": None,
        "network_interface_id": None,
        "private_ip_address": None,
    }
    assert check["diff"]["after"][first["public_ip"]]["network_interface_id"] == first["network_interface_id"]
    assert check["diff"]["after"][first["public_ip"]]["private_ip_address"] == first["private_ip_address"]
    assert set(lab.holders().values()) == {None}, "check mode changed nothing"

    api_calls.reset()
    real = run_module(MODULE, {"associations": associations, "poll_interval": 0}, diff=True)
    assert real.changed and not real.failed, real.msg
    assert placed(lab, associations)
    assert all(a["association_id"].startswith("eipassoc-") for a in real["associations"])
    assert all(a["allocation_id"].startswith("eipalloc-") for a in real["associations"])
    assert {a["instance_id"] for a in real["associations"]} == {
        lab.instance("new-lb-1"),
        lab.instance("new-lb-2"),
    }
    assert api_calls.calls["AssociateAddress"] == 1 + 24  # one DryRun (one kind of call), then one per EIP
    assert real["calls"] == 24 and len(real["diff"]["after"]) == 24

    again_check = run_module(MODULE, {"associations": associations}, check_mode=True)
    assert not again_check.changed and {a["action"] for a in again_check["associations"]} == {"none"}
    again = run_module(MODULE, {"associations": associations}, diff=True)
    assert not again.changed and not again.failed and again["calls"] == 0
    assert again["diff"] == {"before": {}, "after": {}}


def test_vpc_eips_always_go_by_interface_and_private_ip(default, run_module, api_calls, monkeypatch) -> None:
    """instance_id alone (one interface) and instance_id + private_ip_address both become the exact form."""
    lab = default
    import botocore.session

    sent: list[dict[str, Any]] = []
    original = botocore.session.Session.create_client

    ip1, ip2 = lab.all_ips()[:2]
    slots = lab.give_slots("maint-1", 2)
    requests = [
        {"public_ip": ip1, "instance_id": lab.instance("maint-1")},
        {"public_ip": ip2, "instance_id": lab.instance("maint-1"), "private_ip_address": slots[1][1]},
    ]

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register(
            "provide-client-params.ec2.AssociateAddress", lambda params, **_: sent.append(dict(params))
        )
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    result = run_module(MODULE, {"associations": requests, "poll_interval": 0})
    assert result.changed and not result.failed, result.msg
    real = [p for p in sent if not p.get("DryRun")]
    assert real and all({"AllocationId", "NetworkInterfaceId", "PrivateIpAddress"} <= set(p) for p in real), (
        sent
    )
    assert all("InstanceId" not in p for p in real)
    assert lab.where(ip1) == slots[0] and lab.where(ip2) == slots[1]


def test_classic_eips_onto_classic_instances_by_public_ip(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    ips = lab.all_ips()[:3]
    associations = [
        {"public_ip": ip, "instance_id": lab.instance(f"maint-{n}")} for n, ip in enumerate(ips, 1)
    ]
    check = run_module(MODULE, {"associations": associations}, check_mode=True)
    assert check.changed
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert result.changed and not result.failed, result.msg
    assert lab.holders(ips) == {a["public_ip"]: a["instance_id"] for a in associations}
    assert {a["domain"] for a in result["associations"]} == {"standard"}
    assert not run_module(MODULE, {"associations": associations}).changed


def test_four_runs_disassociate(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")  # web-9 ... on old-lb-1 ... old-lb-24, one each
    holders = lab.holders()
    old_lb_1 = lab.instance("old-lb-1")
    requests = [
        {"public_ip": ip, "instance_id": holders[ip] if n < 12 else old_lb_1}  # the last 12 are not on it
        for n, ip in enumerate(lab.all_ips())
    ]
    args = {"state": "absent", "associations": requests}
    check = run_module(MODULE, args, check_mode=True, diff=True)
    assert check.changed and len(check["diff"]["after"]) == 12, "only the 12 on the instance given"
    assert None not in set(lab.holders().values())
    real = run_module(MODULE, {**args, "poll_interval": 0})
    assert real.changed and not real.failed, real.msg
    assert list(lab.holders().values()).count(None) == 12
    assert not run_module(MODULE, args, check_mode=True).changed
    assert not run_module(MODULE, args).changed


# --------------------------------------------------------------------------- refusals, before any change


def refusals(lab) -> dict[str, tuple[list[dict[str, str]], str]]:
    ips = lab.all_ips()
    maint = lab.instance("maint-1")
    slots = lab.give_slots("maint-1", 2)
    eni_a, ip_a = slots[0]
    taken_ip = ips[7]  # on old-lb-2: its place is not leaving in the batch
    taken_eni, taken_private = lab.where(taken_ip)
    taken_name = lab.name_of(taken_ip)
    return {
        "two EIPs on one private IP": (
            [
                {"public_ip": ips[0], "network_interface_id": eni_a, "private_ip_address": ip_a},
                {"public_ip": ips[1], "network_interface_id": eni_a, "private_ip_address": ip_a},
            ],
            f"all go to maint-1 {eni_a} {ip_a}: one private IPv4 address holds one EIP",
        ),
        "an address holding an EIP not in the batch": (
            [{"public_ip": ips[0], "network_interface_id": taken_eni, "private_ip_address": taken_private}],
            f"holds EIP {taken_name} ({taken_ip}), which this batch does not move away: AWS would silently "
            "disassociate it",
        ),
        "an address the interface does not have": (
            [{"public_ip": ips[0], "network_interface_id": eni_a, "private_ip_address": "10.0.1.254"}],
            f"10.0.1.254 is not a private IP of {eni_a} (it has {ip_a}, ",
        ),
        "an address the instance does not have": (
            [{"public_ip": ips[0], "instance_id": maint, "private_ip_address": "10.0.1.254"}],
            "10.0.1.254 is not a private IP of maint-1",
        ),
        "instance alone with several interfaces": (
            [{"public_ip": ips[0], "instance_id": maint}],
            "has 2 network interfaces",
        ),
        "an interface of another instance": (
            [{"public_ip": ips[0], "instance_id": lab.instance("new-lb-1"), "network_interface_id": eni_a}],
            f"network interface {eni_a} is not attached to new-lb-1",
        ),
        "an unknown interface": (
            [{"public_ip": ips[0], "network_interface_id": "eni-00000000000000000"}],
            "target network interface eni-00000000000000000 not found",
        ),
    }


CASES = [
    "two EIPs on one private IP",
    "an address holding an EIP not in the batch",
    "an address the interface does not have",
    "an address the instance does not have",
    "instance alone with several interfaces",
    "an interface of another instance",
    "an unknown interface",
]


@pytest.mark.parametrize("case", CASES)
def test_refused_before_any_change(default, run_module, api_calls, case) -> None:
    lab = default
    if case == "instance alone with several interfaces":
        lab.add_interfaces("maint-1", 1)
    requests, expected = refusals(lab)[case]
    before = lab.addresses()
    api_calls.reset()
    result = run_module(MODULE, {"associations": requests})
    assert result.failed and result.msg.startswith("Nothing was changed."), result.msg
    assert expected in result.msg, result.msg
    assert not result.changed
    assert api_calls.calls["AssociateAddress"] == 0 and api_calls.calls["DisassociateAddress"] == 0
    assert lab.addresses() == before


def test_every_refusal_is_named_in_one_message(default, run_module) -> None:
    lab = default
    cases = refusals(lab)
    requests = [
        cases["an address the interface does not have"][0][0],
        {**cases["an unknown interface"][0][0], "public_ip": lab.all_ips()[2]},
    ]
    result = run_module(MODULE, {"associations": requests})
    assert result.failed and len(result["problems"]) == 2, result["problems"]


def listed_twice_cases(lab) -> dict[str, tuple[list[dict[str, str]], str]]:
    """Entries naming one EIP more than once, and the problem each must give (the whole list of problems)."""
    ip, other = lab.all_ips()[:2]
    alloc = lab.addresses()[ip]["AllocationId"]
    who = f"{lab.name_of(ip)} ({ip})"
    lb1, lb2 = lab.instance("new-lb-1"), lab.instance("new-lb-2")
    return {
        "by public IP and by allocation ID, to two instances": (
            [{"public_ip": ip, "instance_id": lb1}, {"allocation_id": alloc, "instance_id": lb2}],
            f"{who}: listed more than once (as {ip} and as {alloc}; entries 1 and 2): list each EIP once",
        ),
        "by allocation ID and by public IP, to one instance": (
            [
                {"allocation_id": alloc, "instance_id": lb1},
                {"public_ip": other, "instance_id": lb2},
                {"public_ip": ip, "instance_id": lb1},
            ],
            f"{who}: listed more than once (as {alloc} and as {ip}; entries 1 and 3): list each EIP once",
        ),
        "the same allocation ID twice": (
            [{"allocation_id": alloc, "instance_id": lb1}, {"allocation_id": alloc, "instance_id": lb2}],
            f"{who}: listed more than once (as {alloc} twice; entries 1 and 2): list each EIP once",
        ),
        "the same public IP twice and its allocation ID": (
            [
                {"public_ip": ip, "instance_id": lb1},
                {"allocation_id": alloc, "instance_id": lb2},
                {"public_ip": ip, "instance_id": lb2},
            ],
            f"{who}: listed more than once (as {ip} twice and as {alloc}; entries 1, 2 and 3): list each EIP "
            "once",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "by public IP and by allocation ID, to two instances",
        "by allocation ID and by public IP, to one instance",
        "the same allocation ID twice",
        "the same public IP twice and its allocation ID",
    ],
)
def test_one_eip_listed_twice_by_any_name_is_refused_before_any_change(
    default, run_module, api_calls, case
) -> None:
    """Probe A05: by public IP and by allocation ID the module associated both, then waited out its timeout.
    Every entry is resolved to its EIP first; one EIP listed twice is the only problem named."""
    lab = default
    requests, expected = listed_twice_cases(lab)[case]
    before = lab.addresses()
    api_calls.reset()
    result = run_module(MODULE, {"associations": requests, "wait_timeout": 2, "poll_interval": 0})
    assert result.failed and not result.changed, result.msg
    assert result.msg == f"Nothing was changed. {expected}"
    assert result["problems"] == [expected]
    assert api_calls.calls["AssociateAddress"] == 0 and api_calls.calls["DisassociateAddress"] == 0
    assert lab.addresses() == before


def test_one_eip_listed_twice_to_disassociate_is_refused(default, run_module, api_calls) -> None:
    lab = default
    ip = lab.all_ips()[0]
    alloc = lab.addresses()[ip]["AllocationId"]
    before = lab.addresses()
    api_calls.reset()
    result = run_module(
        MODULE, {"state": "absent", "associations": [{"public_ip": ip}, {"allocation_id": alloc}]}
    )
    assert result.failed and not result.changed
    assert result["problems"] == [
        f"{lab.name_of(ip)} ({ip}): listed more than once (as {ip} and as {alloc}; entries 1 and 2): list "
        "each EIP once"
    ]
    assert api_calls.calls["DisassociateAddress"] == 0
    assert lab.addresses() == before


def test_an_unknown_address_listed_twice_is_named_once_of_each(default, run_module) -> None:
    lab = default
    new_lb = lab.instance("new-lb-1")
    result = run_module(
        MODULE,
        {
            "associations": [
                {"public_ip": "203.0.113.9", "instance_id": new_lb},
                {"public_ip": "203.0.113.9", "instance_id": new_lb},
            ]
        },
    )
    assert result.failed and not result.changed
    assert result["problems"] == [
        "203.0.113.9: listed more than once (as 203.0.113.9 twice; entries 1 and 2): list each EIP once",
        "203.0.113.9: no Elastic IP with this address in region us-east-1 for this account "
        "(InvalidAddress.NotFound): is it in another region, or released?",
    ]


def test_a_terminated_target_is_refused(default, run_module) -> None:
    lab = default
    lab.ec2.terminate_instances(InstanceIds=[lab.instance("old-web-1")])
    lab.lab.tick()
    result = run_module(
        MODULE, {"associations": [{"public_ip": lab.all_ips()[0], "instance_id": lab.instance("old-web-1")}]}
    )
    assert result.failed and "old-web-1" in result.msg and "terminated" in result.msg, result.msg


def test_with_require_running_a_stopped_target_is_refused(moved, run_module, api_calls) -> None:
    """The probe's P10: go-live associated every EIP with stopped new load balancers, rc 0. AWS allows it (a
    stopped VPC instance keeps its EIPs), so go-live asks for running targets."""
    lab, associations = moved
    lab.ec2.stop_instances(InstanceIds=[lab.instance("new-lb-2")])
    lab.lab.tick()
    before = lab.addresses()
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations, "require_running": True})
    assert result.failed and not result.changed
    assert (
        f"target new-lb-2 ({lab.instance('new-lb-2')}) is stopped, so its EIPs would answer nobody"
        in result.msg
    )
    assert result.msg.startswith("Nothing was changed.") and "AssociateAddress" not in api_calls.calls
    assert lab.addresses() == before
    allowed = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert allowed.changed and not allowed.failed, "without require_running: AWS's rule"


def test_a_describe_failing_after_the_associations_says_changed(moved, run_module) -> None:
    """The probe: a describe failing after the changes reported changed=false."""
    lab, associations = moved
    lab.fault("DescribeAddresses", nth=2, code="UnauthorizedOperation", message="denied", times=100)
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert result.failed and result.changed, result.msg
    assert "(24 changes made before it: rerun to finish)" in result.msg
    lab.lab.state.clear_faults()
    rerun = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert not rerun.failed and placed(lab, associations), rerun.msg


def test_two_eips_on_one_classic_instance_are_refused(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    ips = lab.all_ips()[:2]
    maint = lab.instance("maint-1")
    result = run_module(MODULE, {"associations": [{"public_ip": ip, "instance_id": maint} for ip in ips]})
    assert result.failed and "an EC2-Classic instance holds one EIP" in result.msg, result.msg


def test_a_classic_instance_holding_another_eip_is_refused(make_lab, run_module) -> None:
    lab = make_lab("vpc-day")
    ip = lab.all_ips()[0]
    on_old_lb_2 = lab.all_ips()[1]
    result = run_module(
        MODULE, {"associations": [{"public_ip": ip, "instance_id": lab.instance("old-lb-2")}]}
    )
    assert result.failed and f"holds EIP web-3 ({on_old_lb_2})" in result.msg, result.msg
    assert "AWS would replace it" in result.msg


def bad_cases(lab) -> dict[str, tuple[dict[str, str], str]]:
    new_lb = lab.instance("new-lb-1")
    dead = "i-0000000000000dead"
    other = boto3.client("ec2", region_name="eu-west-1").allocate_address(Domain="vpc")["PublicIp"]
    return {
        "unknown": ({"public_ip": "203.0.113.9", "instance_id": new_lb}, "203.0.113.9: no Elastic IP"),
        "malformed": ({"public_ip": "127.100.0.300", "instance_id": new_lb}, "not a valid IPv4 address"),
        "other region": (
            {"public_ip": other, "instance_id": new_lb},
            f"{other}: no Elastic IP with this address",
        ),
        "unknown instance": (
            {"public_ip": lab.ip("web-5"), "instance_id": dead},
            f"target {dead} not found",
        ),
    }


@pytest.mark.parametrize("case", ["unknown", "malformed", "other region", "unknown instance"])
def test_bad_input_fails_and_changes_nothing(moved, run_module, api_calls, case) -> None:
    lab, associations = moved
    bad, expected = bad_cases(lab)[case]
    api_calls.reset()
    result = run_module(MODULE, {"associations": [*associations[:3], bad]})
    assert result.failed and expected in result.msg and result.msg.startswith("Nothing was changed.")
    assert api_calls.calls["AssociateAddress"] == 0
    assert set(lab.holders().values()) == {None}


def test_classic_eip_to_vpc_instance_says_move_it_first(make_lab, run_module, api_calls) -> None:
    """The incident's association step: Classic EIPs onto the new (VPC) cluster."""
    lab = make_lab("incident")
    associations = plan(lab)
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations})
    assert result.failed
    web3 = lab.ip("web-3")
    assert f"{web3}: is an EC2-Classic EIP and new-lb-1 is in a VPC" in result.msg
    assert "move it to the VPC first" in result.msg
    assert api_calls.calls["AssociateAddress"] == 0
    assert lab.domains() == {"standard": 24}
    assert set(lab.holders().values()) == {lab.instance(f"old-lb-{n}") for n in range(1, 25)}


def test_associated_elsewhere_without_reassociation_fails(moved, run_module) -> None:
    lab, associations = moved
    run_module(MODULE, {"associations": associations[:1], "poll_interval": 0})
    other = lab.give_slots("new-web-1", 1)[0]
    elsewhere = {**associations[0], "network_interface_id": other[0], "private_ip_address": other[1]}
    result = run_module(MODULE, {"associations": [elsewhere, associations[1]], "allow_reassociation": False})
    assert result.failed
    assert (
        f"{associations[0]['public_ip']}: associated with" in result.msg
        and "allow_reassociation is false" in result.msg
    )
    assert lab.holders([associations[1]["public_ip"]]) == {associations[1]["public_ip"]: None}


# --------------------------------------------------------------------------- permissions


def test_dry_run_checks_every_kind_of_call(make_lab, run_module, api_calls) -> None:
    """A VPC EIP by interface and a Classic EIP by instance: two kinds of call, two DryRuns."""
    lab = make_lab("vpc-day")
    vpc_ip, classic_ip = lab.all_ips()[:2]
    lab.disassociate([vpc_ip])
    lab.move([vpc_ip])
    eni, private = lab.give_slots("new-lb-1", 1)[0]
    requests = [
        {"public_ip": vpc_ip, "network_interface_id": eni, "private_ip_address": private},
        {"public_ip": classic_ip, "instance_id": lab.instance("maint-2")},
    ]
    lab.fault("AssociateAddress", nth=2, code="UnauthorizedOperation", message="not allowed for Classic")
    api_calls.reset()
    refused = run_module(MODULE, {"associations": requests})
    assert refused.failed and refused.msg.startswith("Nothing was changed.")
    assert f"permission check (DryRun) associate_address {classic_ip}: UnauthorizedOperation" in refused.msg
    assert api_calls.calls["AssociateAddress"] == 2, "both DryRuns, nothing else"
    api_calls.reset()
    result = run_module(MODULE, {"associations": requests, "poll_interval": 0})
    assert result.changed and not result.failed, result.msg
    assert api_calls.calls["AssociateAddress"] == 2 + 2


def test_changed_only_when_a_call_was_made(moved, run_module) -> None:
    lab, associations = moved
    lab.fault(
        "AssociateAddress", nth=2, code="AuthFailure", message="credentials expired"
    )  # the first real one
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert result.failed and not result.changed and "(0 changes made before it" in result.msg


# --------------------------------------------------------------------------- order, verification, detection


def test_an_eip_leaving_an_address_leaves_before_another_takes_it(default, run_module, api_calls) -> None:
    """web-1 moves onto web-2's place while web-2 moves to a free one: web-2 first, verified, then web-1."""
    lab = default
    ip1, ip2 = lab.all_ips()[:2]
    slots = lab.give_slots("maint-1", 2)
    lab.put(ip2, *slots[0])
    requests = [
        {"public_ip": ip1, "network_interface_id": slots[0][0], "private_ip_address": slots[0][1]},
        {"public_ip": ip2, "network_interface_id": slots[1][0], "private_ip_address": slots[1][1]},
    ]
    api_calls.reset()
    result = run_module(MODULE, {"associations": requests, "poll_interval": 0})
    assert result.changed and not result.failed, result.msg
    assert lab.where(ip1) == slots[0] and lab.where(ip2) == slots[1]
    assert api_calls.calls["DescribeAddresses"] == 1 + 2, "the plan, then one verification per wave"


def test_a_ring_of_eips_trading_places_is_broken_by_one_disassociation(
    default, run_module, api_calls
) -> None:
    lab = default
    ip1, ip2 = lab.all_ips()[:2]
    slots = lab.give_slots("maint-1", 2)
    lab.put(ip1, *slots[0])
    lab.put(ip2, *slots[1])
    swapped = [
        {"public_ip": ip1, "network_interface_id": slots[1][0], "private_ip_address": slots[1][1]},
        {"public_ip": ip2, "network_interface_id": slots[0][0], "private_ip_address": slots[0][1]},
    ]
    api_calls.reset()
    result = run_module(MODULE, {"associations": swapped, "poll_interval": 0})
    assert result.changed and not result.failed, result.msg
    assert lab.where(ip1) == slots[1] and lab.where(ip2) == slots[0]
    assert api_calls.calls["DisassociateAddress"] == 1 + 1, "its DryRun, then one"
    assert result["calls"] == 3


def test_an_eip_dropped_after_it_was_in_place_fails_at_once(default, run_module, monkeypatch) -> None:
    """Something takes web-1's address while the run verifies: the run says so, naming the EIP there now."""
    from ansible_collections.clusterswap.swap.plugins.modules import eip_associate

    lab = default
    ips = lab.all_ips()[:3]
    associations = to_slots(lab, ips, "maint-1")
    intruder = lab.ec2.allocate_address(Domain="vpc")
    dropped: list[bool] = []
    real_describe = eip_associate.describe_addresses
    first = associations[0]

    def describe(client: Any) -> Any:
        now = real_describe(client)
        seen = now[first["public_ip"]]
        if not dropped and (seen.network_interface_id, seen.private_ip_address) == (
            first["network_interface_id"],
            first["private_ip_address"],
        ):  # the run sees web-1 in place (and the last one not yet); by the next answer web-1 is replaced
            dropped.append(True)  # AWS (a VPC-only account) silently disassociates web-1
            lab.put(intruder["PublicIp"], first["network_interface_id"], first["private_ip_address"])
            last = associations[-1]["public_ip"]
            unseen = dataclasses.replace(now[last], network_interface_id=None, private_ip_address=None)
            return {**now, last: unseen}
        return now

    monkeypatch.setattr(eip_associate, "describe_addresses", describe)
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0.01, "wait_timeout": 30})
    assert result.failed and result.changed, result.msg
    place = f"maint-1 {first['network_interface_id']} {first['private_ip_address']}"
    assert f"AWS replaced it: {place} now holds {intruder['PublicIp']}" in result.msg, result.msg
    assert "is now unassociated" in result.msg
    assert dropped


def test_association_interrupted_halfway_is_finished_by_a_rerun(moved, run_module, api_calls) -> None:
    lab, associations = moved
    # call 1 is the DryRun; calls 2..13 associate 12 EIPs; call 14 fails
    lab.fault("AssociateAddress", nth=14, code="AuthFailure", message="credentials expired mid-run")
    first = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert first.failed and f"AssociateAddress {associations[12]['public_ip']}: AuthFailure" in first.msg
    assert first.changed and "(12 changes made before it" in first.msg
    assert sum(1 for a in lab.addresses().values() if a.get("NetworkInterfaceId")) == 12
    api_calls.reset()
    second = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert second.changed and not second.failed, second.msg
    assert [a["action"] for a in second["associations"]] == ["none"] * 12 + ["associated"] * 12
    assert api_calls.calls["AssociateAddress"] == 1 + 12
    assert placed(lab, associations)


def test_association_is_verified_by_describing_again(moved, run_module, api_calls) -> None:
    lab, associations = moved
    lab.lab.state.latency_scale = 0.1  # from now on DescribeAddresses shows an association after 0.3 s
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0.05})
    assert result.changed and not result.failed, result.msg
    assert api_calls.calls["DescribeAddresses"] >= 3, "polled until the associations showed"
    assert placed(lab, associations)
    assert "associations: 24/24 done" in result["progress"][-1]


def test_throttling_is_retried_with_backoff(moved, run_module, api_calls, no_sleep, monkeypatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    lab, associations = moved
    lab.fault("DescribeAddresses", nth=1, code="RequestLimitExceeded", times=2)
    lab.fault("AssociateAddress", nth=4, code="RequestLimitExceeded", times=3)
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert not result.failed, result.msg
    assert api_calls.calls["AssociateAddress"] == 1 + 24 + 3
    assert placed(lab, associations)
    assert len([s for s in no_sleep if s > 0]) >= 5


@pytest.mark.parametrize("count", [24, 60])
def test_describe_calls_do_not_grow_with_the_number_of_eips(make_lab, run_module, api_calls, count) -> None:
    lab = make_lab("vpc-day")
    lab.disassociate()
    ips = lab.add_classic_eips(count)
    lab.move()
    half = count // 2
    associations = to_slots(lab, ips[:half], "new-lb-1") + to_slots(lab, ips[half:], "new-lb-2")
    api_calls.reset()
    result = run_module(MODULE, {"associations": associations, "poll_interval": 0})
    assert not result.failed, result.msg
    assert api_calls.calls["DescribeAddresses"] == 2  # the plan, one verification (latency 0)
    assert api_calls.calls["DescribeInstances"] == 1, "the interfaces' instances, once"
    assert api_calls.calls["DescribeNetworkInterfaces"] == 1
    assert api_calls.calls["AssociateAddress"] == 1 + count
    assert api_calls.describes() == 4
