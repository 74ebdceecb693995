"""The pure rules of plugins/module_utils/network.py, without AWS: slot order, target assignment,
maintenance binding, capacity and its messages."""

from __future__ import annotations

from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import (
    Instance,
    Interface,
    PrivateIp,
    instance_from_aws,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.eip import Eip
from ansible_collections.clusterswap.swap.plugins.module_utils.network import (
    Slot,
    TypeInfo,
    assign_targets,
    bind_maintenance,
    capacity,
    current_slot,
    holders,
    slot_order,
)

TYPES = {
    "t3.micro": TypeInfo("t3.micro", 2, 2),
    "m5.large": TypeInfo("m5.large", 3, 10),
    "m5.xlarge": TypeInfo("m5.xlarge", 4, 15),
    "m1.small": TypeInfo("m1.small", 2, 4),
}
SUGGESTED = {t: TYPES[t] for t in ("m5.large", "m5.xlarge")}


def eni(eni_id: str, index: int, primary: str, *secondary: str) -> Interface:
    ips = (PrivateIp(primary, True), *(PrivateIp(ip, False) for ip in secondary))
    return Interface(eni_id, index, f"02:00:00:00:00:0{index}", "subnet-1", ips, "i-1")


def vpc_instance(name: str, itype: str, *interfaces: Interface, instance_id: str = "i-1") -> Instance:
    return Instance(instance_id, name, "running", itype, "vpc-1", interfaces[0].primary_ip, interfaces)


def classic_instance(name: str, instance_id: str) -> Instance:
    return Instance(instance_id, name, "running", "m1.small", None, "172.31.0.10", ())


# --------------------------------------------------------------------------- slot order


def test_slot_order_interfaces_by_device_index_primary_first_then_secondaries_by_value() -> None:
    inst = vpc_instance(
        "new-lb-2",
        "m5.large",
        eni("eni-b", 1, "10.0.1.50", "10.0.1.9"),
        eni("eni-a", 0, "10.0.1.20", "10.0.1.100", "10.0.1.9", "10.0.1.10"),
    )
    order = [(s.network_interface_id, s.private_ip_address) for s in slot_order(inst)]
    assert order == [
        ("eni-a", "10.0.1.20"),
        ("eni-a", "10.0.1.9"),  # numerically before .10 and .100, not as a string
        ("eni-a", "10.0.1.10"),
        ("eni-a", "10.0.1.100"),
        ("eni-b", "10.0.1.50"),
        ("eni-b", "10.0.1.9"),
    ]
    assert [s.primary for s in slot_order(inst)] == [True, False, False, False, True, False]


def test_a_classic_instance_is_one_slot() -> None:
    slots = slot_order(classic_instance("maint-3", "i-3"))
    assert slots == [Slot("i-3", None, "172.31.0.10")]
    assert slots[0].classic and slots[0].key == "classic/i-3"


def test_holders_and_current_slot_from_describe_addresses() -> None:
    addresses = {
        "127.0.0.1": Eip("127.0.0.1", "vpc", "eipalloc-1", "a-1", None, "eni-a", "10.0.1.9"),
        "127.0.0.2": Eip("127.0.0.2", "standard", instance_id="i-3"),
        "127.0.0.3": Eip("127.0.0.3", "vpc", "eipalloc-3"),
    }
    assert holders(addresses) == {"eni-a/10.0.1.9": "127.0.0.1", "classic/i-3": "127.0.0.2"}
    assert current_slot(addresses["127.0.0.3"]) is None


def test_instance_from_describe_instances() -> None:
    raw = {
        "InstanceId": "i-9",
        "InstanceType": "m5.large",
        "State": {"Name": "running"},
        "VpcId": "vpc-1",
        "PrivateIpAddress": "10.0.1.30",
        "Tags": [{"Key": "Name", "Value": "maint-1"}],
        "NetworkInterfaces": [
            {
                "NetworkInterfaceId": "eni-1",
                "MacAddress": "02:aa",
                "SubnetId": "subnet-1",
                "Attachment": {"DeviceIndex": 0},
                "PrivateIpAddresses": [
                    {"PrivateIpAddress": "10.0.1.30", "Primary": True},
                    {
                        "PrivateIpAddress": "10.0.1.31",
                        "Primary": False,
                        "Association": {"PublicIp": "1.2.3.4"},
                    },
                ],
            }
        ],
    }
    inst = instance_from_aws(raw)
    assert inst.name == "maint-1" and inst.platform == "vpc" and inst.instance_type == "m5.large"
    assert inst.interfaces[0].instance_id == "i-9" and inst.interfaces[0].mac_address == "02:aa"
    assert inst.interface_with("10.0.1.31").network_interface_id == "eni-1"
    result = inst.to_result()
    assert result["interfaces"][0]["private_ip_addresses"][1] == {
        "private_ip_address": "10.0.1.31",
        "primary": False,
    }
    classic = instance_from_aws({"InstanceId": "i-c", "PrivateIpAddress": "172.31.0.5"})
    assert classic.platform == "classic" and classic.interfaces == ()


# --------------------------------------------------------------------------- assigning targets


SLOTS = slot_order(
    vpc_instance("maint-1", "m5.large", eni("eni-a", 0, "10.0.1.30", "10.0.1.31", "10.0.1.32", "10.0.1.33"))
)
KEYS = [s.key for s in SLOTS]


def test_eips_sorted_by_name_then_address_take_the_slots_in_order() -> None:
    eips = [("web-2", "127.0.0.2"), ("web-1", "127.0.0.9"), ("web-1", "127.0.0.1")]
    result = assign_targets(eips, SLOTS, {}, {ip for _, ip in eips})
    assert {ip: s.key for ip, s in result.targets.items()} == {
        "127.0.0.1": KEYS[0],
        "127.0.0.9": KEYS[1],
        "127.0.0.2": KEYS[2],
    }
    assert result.complete and result.foreign == []


def test_pinned_targets_never_move_and_the_others_fill_around_them() -> None:
    eips = [("a", "127.0.0.1"), ("b", "127.0.0.2"), ("c", "127.0.0.3")]
    result = assign_targets(
        eips, SLOTS, {}, {"127.0.0.1", "127.0.0.2", "127.0.0.3"}, pinned={"127.0.0.3": KEYS[0]}
    )
    assert result.targets["127.0.0.3"].key == KEYS[0]
    assert result.targets["127.0.0.1"].key == KEYS[1]
    assert result.targets["127.0.0.2"].key == KEYS[2]


def test_a_slot_holding_an_eip_outside_the_plan_is_skipped_and_reported() -> None:
    eips = [("a", "127.0.0.1"), ("b", "127.0.0.2")]
    result = assign_targets(eips, SLOTS, {KEYS[0]: "198.51.100.7"}, {"127.0.0.1", "127.0.0.2"})
    assert [s.key for s, _ in result.foreign] == [KEYS[0]] and result.foreign[0][1] == "198.51.100.7"
    assert result.targets["127.0.0.1"].key == KEYS[1] and result.targets["127.0.0.2"].key == KEYS[2]


def test_an_eip_already_on_a_free_slot_of_its_instance_keeps_it() -> None:
    eips = [("a", "127.0.0.1"), ("b", "127.0.0.2")]
    result = assign_targets(eips, SLOTS, {KEYS[2]: "127.0.0.2"}, {"127.0.0.1", "127.0.0.2"})
    assert result.targets["127.0.0.2"].key == KEYS[2] and result.targets["127.0.0.1"].key == KEYS[0]


def test_a_slot_held_by_another_eip_of_the_plan_is_free_for_this_one() -> None:
    """The EIP there leaves in the same batch (it has another target): eip_associate orders the calls."""
    result = assign_targets([("a", "127.0.0.1")], SLOTS, {KEYS[0]: "127.0.0.5"}, {"127.0.0.1", "127.0.0.5"})
    assert result.targets["127.0.0.1"].key == KEYS[0]


def test_not_enough_slots_leaves_the_rest_unplaced() -> None:
    eips = [(f"e{i}", f"127.0.0.{i}") for i in range(1, 7)]
    result = assign_targets(eips, SLOTS, {}, {ip for _, ip in eips}, taken=[KEYS[3]])
    assert [result.targets[ip] is None for _, ip in eips] == [False, False, False, True, True, True]
    assert not result.complete


def test_a_pin_to_an_address_the_instance_no_longer_has_is_lost() -> None:
    result = assign_targets(
        [("a", "127.0.0.1")], SLOTS, {}, {"127.0.0.1"}, pinned={"127.0.0.1": "eni-gone/10.0.1.99"}
    )
    assert result.lost_pins == ["127.0.0.1"] and result.targets["127.0.0.1"] is None


# --------------------------------------------------------------------------- maintenance fleet


def test_a_classic_maintenance_fleet_takes_one_eip_per_instance() -> None:
    eips = [(f"web-{i}", f"127.0.0.{i}") for i in range(1, 25)]
    fleet = [(f"maint-{i}", 1) for i in range(1, 25)]
    binding = bind_maintenance(eips, fleet)
    assert sorted(binding.values()) == sorted(f"maint-{i}" for i in range(1, 25))
    assert binding["127.0.0.1"] == "maint-1" and binding["127.0.0.10"] == "maint-2"  # by name: web-1, web-10


def test_a_fleet_fills_first_and_the_last_instance_takes_the_overflow() -> None:
    eips = [(f"e{i}", f"127.0.0.{i}") for i in range(1, 9)]
    assert set(bind_maintenance(eips, [("maint-1", 10), ("maint-2", 10)]).values()) == {"maint-1"}
    binding = bind_maintenance(eips, [("maint-1", 2), ("maint-2", 2)])
    assert list(binding.values()).count("maint-1") == 2 and list(binding.values()).count("maint-2") == 6
    assert bind_maintenance(eips[:1], []) == {"127.0.0.1": None}


# --------------------------------------------------------------------------- capacity


def test_m5_large_with_one_ip_must_be_given_seven_more_for_eight_eips() -> None:
    inst = vpc_instance("maint-1", "m5.large", eni("eni-a", 0, "10.0.1.30"))
    report = capacity(inst, "maintenance", 8, TYPES, suggestions=SUGGESTED)
    assert report.problem is None
    assert report.have == 1 and report.can_hold == 10
    assert [
        (a["network_interface_id"], a["secondary_private_ips"], a["count"]) for a in report.to_assign
    ] == [("eni-a", 0, 7)]
    assert report.to_result()["to_assign_total"] == 7


def test_two_interfaces_fill_the_first_then_the_second() -> None:
    """vpc-day's new-lb-2: m5.large with 2 interfaces, 12 EIPs = 10 on the first, 2 on the second."""
    inst = vpc_instance("new-lb-2", "m5.large", eni("eni-a", 0, "10.0.1.40"), eni("eni-b", 1, "10.0.1.41"))
    report = capacity(inst, "new", 12, TYPES, suggestions=SUGGESTED)
    assert report.problem is None
    assert [a["count"] for a in report.to_assign] == [9, 1]


def test_t3_micro_cannot_hold_eight_and_the_message_says_what_to_do() -> None:
    inst = vpc_instance("maint-1", "t3.micro", eni("eni-a", 0, "10.0.1.30"))
    report = capacity(
        inst, "maintenance", 8, TYPES, suggestions=SUGGESTED, fleet_hint="add maintenance instances"
    )
    assert report.problem == (
        "maint-1 (t3.micro, 1 of at most 2 interfaces attached, 2 IPv4 addresses per interface) must hold "
        "8 EIPs but can hold at most 2 on its attached interfaces: attach another interface (at most 4 "
        "addresses with 2, still not enough), use a larger instance type (m5.large holds 3 × 10), or add "
        "maintenance instances"
    )


def test_m5_large_needing_twelve_is_told_to_attach_another_interface() -> None:
    inst = vpc_instance("new-lb-1", "m5.large", eni("eni-a", 0, "10.0.1.40"))
    report = capacity(
        inst, "new", 12, TYPES, suggestions=SUGGESTED, fleet_hint="map fewer old instances to it"
    )
    assert report.problem is not None
    assert "must hold 12 EIPs but can hold at most 10" in report.problem
    assert "attach another interface (then 20 addresses)" in report.problem
    assert "use a larger instance type (m5.xlarge holds 4 × 15)" in report.problem
    assert report.problem.endswith("or map fewer old instances to it")


def test_addresses_holding_foreign_eips_do_not_count() -> None:
    inst = vpc_instance("maint-1", "m5.large", eni("eni-a", 0, "10.0.1.30", "10.0.1.31"))
    report = capacity(inst, "maintenance", 9, TYPES, foreign=2, suggestions=SUGGESTED)
    assert report.have == 0 and report.can_hold == 8
    assert "(2 addresses already hold EIPs outside the plan)" in (report.problem or "")
    assert report.to_assign[0]["count"] == 8


def test_a_classic_instance_holds_exactly_one() -> None:
    report = capacity(
        classic_instance("maint-1", "i-1"), "maintenance", 24, TYPES, fleet_hint="add maintenance instances"
    )
    assert report.problem == (
        "maint-1 (EC2-Classic) must hold 24 EIPs but an EC2-Classic instance holds exactly 1: a Classic "
        "maintenance fleet needs one instance per EIP (add maintenance instances: 23 more)"
    )
    assert capacity(classic_instance("maint-2", "i-2"), "maintenance", 1, TYPES).problem is None


def test_an_unknown_type_is_a_problem_not_a_guess() -> None:
    inst = vpc_instance("maint-1", "x9.huge", eni("eni-a", 0, "10.0.1.30"))
    report = capacity(inst, "maintenance", 2, TYPES)
    assert "DescribeInstanceTypes says nothing about its type 'x9.huge'" in (report.problem or "")
