"""Unit tests of plugins/filter/associations.py: the lists the EIP and interface modules take."""

from __future__ import annotations

import pytest
from ansible_collections.clusterswap.swap.plugins.filter.associations import (
    FilterModule,
    eip_disassociations,
    eni_ip_counts,
    host_interfaces,
    subnet_prefixes,
    target_subnets,
    vpc_page_batches,
)

ENIS = [
    {
        "network_interface_id": "eni-1",
        "mac_address": "0a:00:00:00:00:01",
        "subnet_id": "subnet-a",
        "private_ip_addresses": [{"private_ip_address": "10.0.1.10"}, {"private_ip_address": "10.0.1.11"}],
    },
    {
        "network_interface_id": "eni-2",
        "mac_address": "0a:00:00:00:00:02",
        "subnet_id": "subnet-b",
        "private_ip_addresses": [{"private_ip_address": "10.0.2.10"}],
    },
]


def test_eni_ip_counts_what_each_interface_must_have_in_all() -> None:
    capacity = [
        {
            "instance": "maint-1",
            "to_assign": [{"network_interface_id": "eni-1", "secondary_private_ips": 1, "count": 6}],
        },
        {
            "instance": "new-lb-1",
            "to_assign": [{"network_interface_id": "eni-2", "secondary_private_ips": 3, "count": 0}],
        },
        {"instance": "new-lb-2", "to_assign": []},
    ]
    assert eni_ip_counts(capacity) == [{"network_interface_id": "eni-1", "secondary_private_ips": 7}], (
        "an interface with nothing to add is left alone"
    )
    assert eni_ip_counts([]) == []


def test_target_subnets_each_once() -> None:
    instances = {"a": {"interfaces": ENIS}, "b": {"interfaces": ENIS[:1]}, "classic": {"interfaces": []}}
    assert target_subnets(instances, ["b", "a", "classic"]) == ["subnet-a", "subnet-b"]
    assert target_subnets(instances, []) == []


def test_subnet_prefixes() -> None:
    subnets = [
        {"id": "subnet-a", "cidr_block": "10.0.1.0/24"},
        {"id": "subnet-b", "cidr_block": "10.0.0.0/16"},
    ]
    assert subnet_prefixes(subnets) == {"subnet-a": 24, "subnet-b": 16}


def test_host_interfaces() -> None:
    assert host_interfaces(ENIS, {"subnet-a": 24, "subnet-b": 20}) == [
        {"mac_address": "0a:00:00:00:00:01", "private_ips": ["10.0.1.10", "10.0.1.11"], "prefix_length": 24},
        {"mac_address": "0a:00:00:00:00:02", "private_ips": ["10.0.2.10"], "prefix_length": 20},
    ]


def test_host_interfaces_without_the_subnets_prefix_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="no prefix length for subnet subnet-b of 0a:00:00:00:00:02"):
        host_interfaces(ENIS, {"subnet-a": 24})


def test_eip_disassociations_only_the_eips_that_move_to_the_vpc() -> None:
    eips = [
        {"public_ip": "127.100.0.1", "needs_move_to_vpc": True, "name": "web-1"},
        {"public_ip": "127.100.0.2", "needs_move_to_vpc": False},
        {"public_ip": "127.100.0.3"},
    ]
    assert eip_disassociations(eips) == [{"public_ip": "127.100.0.1"}]


def test_the_filters_are_registered() -> None:
    names = {
        "eni_ip_counts",
        "target_subnets",
        "subnet_prefixes",
        "host_interfaces",
        "eip_disassociations",
        "vpc_page_batches",
    }
    assert set(FilterModule().filters()) == names


def page_plan(count: int) -> dict:
    eips = [
        {"public_ip": f"198.51.100.{n}", "page_in_vpc": True, "needs_move_to_vpc": True} for n in range(count)
    ]
    eips.append({"public_ip": "203.0.113.9", "page_in_vpc": False, "needs_move_to_vpc": True})
    moves = [
        {"public_ip": e["public_ip"], "instance_id": "i-page", "private_ip_address": f"10.0.0.{n}"}
        for n, e in enumerate(eips[:count])
    ]
    return {"eips": eips, "moves": {"to_vpc_page": moves}}


def test_vpc_page_batches_bound_each_batch_and_keep_the_plans_order() -> None:
    batches = vpc_page_batches(page_plan(24), 10)
    assert [len(b["public_ips"]) for b in batches] == [10, 10, 4]
    assert [ip for b in batches for ip in b["public_ips"]] == [f"198.51.100.{n}" for n in range(24)]
    for batch in batches:
        assert [e["public_ip"] for e in batch["eips"]] == batch["public_ips"]
        assert [a["public_ip"] for a in batch["associations"]] == batch["public_ips"]
    assert "203.0.113.9" not in [ip for b in batches for ip in b["public_ips"]], "its page is not in the VPC"


def test_vpc_page_batches_zero_is_one_batch_and_none_without_a_page_in_the_vpc() -> None:
    assert [len(b["public_ips"]) for b in vpc_page_batches(page_plan(24), 0)] == [24]
    assert [len(b["public_ips"]) for b in vpc_page_batches(page_plan(24), 100)] == [24]
    assert vpc_page_batches(page_plan(0), 8) == []


def test_vpc_page_batches_refuse_a_negative_size_and_an_eip_the_plan_lacks() -> None:
    with pytest.raises(ValueError, match=r"must be 0 \(all at once\) or more, not -1"):
        vpc_page_batches(page_plan(3), -1)
    plan = page_plan(2)
    plan["moves"]["to_vpc_page"].append({"public_ip": "192.0.2.1"})
    with pytest.raises(ValueError, match=r"does not have: \['192.0.2.1'\]"):
        vpc_page_batches(plan, 1)
