"""Unit tests of plugins/modules/eni_private_ips.py, in-process against the lab's simulated AWS."""

from __future__ import annotations

MODULE = "eni_private_ips"


def primary_eni(lab, name: str) -> str:
    return lab.interfaces(name)[0]["NetworkInterfaceId"]


def secondaries(lab, eni: str) -> list[str]:
    answer = lab.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
    return [p["PrivateIpAddress"] for p in answer["PrivateIpAddresses"] if not p["Primary"]]


def test_four_runs_give_at_least_the_count(make_lab, run_module, api_calls) -> None:
    lab = make_lab("default")
    maint, new = primary_eni(lab, "maint-1"), primary_eni(lab, "new-lb-1")
    args = {
        "interfaces": [
            {"network_interface_id": maint, "secondary_private_ips": 7},
            {"network_interface_id": new, "secondary_private_ips": 3},
        ],
        "poll_interval": 0,
    }
    check = run_module(MODULE, args, check_mode=True, diff=True)
    assert check.changed and not check.failed, check.msg
    assert [i["assigned"] for i in check["interfaces"]] == [7, 3]
    assert check["diff"] == {"before": {maint: 0, new: 0}, "after": {maint: 7, new: 3}}
    assert secondaries(lab, maint) == [], "check mode assigned nothing"
    api_calls.reset()
    real = run_module(MODULE, args)
    calls = dict(api_calls.calls)
    assert real.changed and not real.failed, real.msg
    assert len(secondaries(lab, maint)) == 7 and len(secondaries(lab, new)) == 3
    assert real["interfaces"][0]["secondary_private_ips"] == secondaries(lab, maint)
    assert calls["AssignPrivateIpAddresses"] == 2
    assert calls["DescribeNetworkInterfaces"] == 2, "before, then one verification"
    assert not run_module(MODULE, args, check_mode=True).changed
    again = run_module(MODULE, args)
    assert not again.changed and [i["assigned"] for i in again["interfaces"]] == [0, 0]


def test_never_unassigns(make_lab, run_module) -> None:
    lab = make_lab("default")
    eni = primary_eni(lab, "maint-1")
    lab.give_slots("maint-1", 5)
    had = secondaries(lab, eni)
    result = run_module(MODULE, {"interfaces": [{"network_interface_id": eni, "secondary_private_ips": 1}]})
    assert not result.changed and not result.failed
    assert secondaries(lab, eni) == had


def test_an_unknown_interface_changes_nothing(make_lab, run_module, api_calls) -> None:
    lab = make_lab("default")
    eni = primary_eni(lab, "maint-1")
    args = {
        "interfaces": [
            {"network_interface_id": eni, "secondary_private_ips": 2},
            {"network_interface_id": "eni-00000000000000000", "secondary_private_ips": 2},
        ]
    }
    api_calls.reset()
    result = run_module(MODULE, args)
    assert result.failed and result.msg.startswith("Nothing was changed.")
    assert "eni-00000000000000000: no network interface with this id" in result.msg
    assert api_calls.calls["AssignPrivateIpAddresses"] == 0 and secondaries(lab, eni) == []


def test_past_the_type_limit_aws_says_so(make_lab, run_module) -> None:
    lab = make_lab("small-maintenance")  # t3.micro: 2 addresses per interface
    eni = primary_eni(lab, "maint-1")
    result = run_module(MODULE, {"interfaces": [{"network_interface_id": eni, "secondary_private_ips": 7}]})
    assert result.failed and "PrivateIpAddressLimitExceeded" in result.msg, result.msg
    assert not result.changed
