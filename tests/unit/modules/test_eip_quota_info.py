"""Unit tests of plugins/modules/eip_quota_info.py, in-process against the lab's simulated AWS."""

from __future__ import annotations

MODULE = "eip_quota_info"


def test_incident_limits_say_24_needed_5_free(make_lab, run_module, api_calls) -> None:
    make_lab("incident")
    api_calls.reset()
    result = run_module(MODULE, {"needed_vpc": 24})
    assert not result.failed and not result.changed
    assert result["classic"] == {
        "limit": 30,
        "used": 24,
        "available": 6,
        "limit_source": "describe_account_attributes",
    }
    assert result["vpc"]["limit"] == 5 and result["vpc"]["used"] == 0 and result["vpc"]["available"] == 5
    assert result["vpc"]["limit_source"] == "describe_account_attributes+service_quotas"
    assert result["sources"]["service_quotas"]["value"] == 5
    room = result["vpc_room"]
    assert room["fits"] is False and room["needed"] == 24 and room["available"] == 5
    assert "need 24 free VPC EIPs, only 5 free" in room["message"] and "L-0263D0A3" in room["message"]
    assert api_calls.calls == {
        "DescribeAddresses": 1,
        "DescribeMovingAddresses": 1,
        "DescribeAccountAttributes": 1,
        "GetServiceQuota": 1,
    }


def test_vpc_day_has_room(make_lab, run_module) -> None:
    make_lab("vpc-day")
    result = run_module(MODULE, {"needed_vpc": 24}, check_mode=True)
    assert result["vpc"]["available"] == 30 and result["vpc_room"]["fits"] is True


def test_service_quotas_error_means_not_available(make_lab, run_module) -> None:
    lab = make_lab("incident")
    lab.fault("GetServiceQuota", nth=1, code="AccessDeniedException", message="not allowed")
    result = run_module(MODULE, {})
    assert not result.failed
    assert result["vpc"]["limit"] == 5 and result["vpc"]["limit_source"] == "describe_account_attributes"
    assert result["sources"]["service_quotas"]["value"] is None
    assert result["sources"]["service_quotas"]["error"]


def test_sources_that_disagree_use_the_smaller_and_warn(make_lab, run_module, monkeypatch) -> None:
    from ansible_collections.clusterswap.swap.plugins.module_utils import eip

    make_lab("vpc-day")
    monkeypatch.setattr(eip, "_service_quota", lambda module: (3, None))
    result = run_module(MODULE, {})
    assert result["vpc"]["limit"] == 3 and result["vpc"]["limit_source"].startswith("smaller")
    assert "VPC EIP limit sources disagree" in str(result.data.get("warnings"))


def test_addresses_moving_to_the_vpc_count_against_the_vpc_limit(make_lab, run_module) -> None:
    lab = make_lab("incident", latency_scale=1.0)  # moves take 90 s
    lab.disassociate(lab.all_ips()[:2])
    lab.move(lab.all_ips()[:2])  # setup, as seeding: unthrottled (two moves in a millisecond)
    result = run_module(MODULE, {})
    assert result["vpc"]["used"] == 2 and result["vpc"]["available"] == 3
    assert result["classic"]["used"] == 22
