"""Unit tests of plugins/filter/parity.py: the profile of an account's swap, the gaps, the report."""

from __future__ import annotations

from ansible_collections.clusterswap.swap.plugins.filter.parity import (
    FilterModule,
    parity_gaps,
    parity_profile,
    parity_report,
)

PLAIN = {"eips": 8, "vpc_moves": 0, "vpc_free": 5, "classic_instances": 0, "rds": 1, "rds_outside_vpc": 0,
         "storage": 0, "vpc": 0}  # fmt: skip
DAY = {"eips": 24, "vpc_moves": 24, "vpc_free": 30, "classic_instances": 48, "rds": 1, "rds_outside_vpc": 1,
       "storage": 1, "vpc": 1}  # fmt: skip


def test_profile_counts_what_the_swap_exercises() -> None:
    plan = {
        "eips": [{}, {}, {}],
        "vpc_moves_needed": 2,
        "quotas": {"vpc": {"available": 4, "limit": 5}},
        "instances": {"a": {"platform": "classic"}, "b": {"platform": "vpc"}, "c": {"platform": "classic"}},
    }
    rds = [{"db_instance_identifier": "m1"}, {"db_instance_identifier": "m2", "db_subnet_group": {}}]
    assert parity_profile(plan, rds, {"storage": "true", "vpc": False}) == {
        "eips": 3, "vpc_moves": 2, "vpc_free": 4, "classic_instances": 2, "rds": 2, "rds_outside_vpc": 1,
        "storage": 1, "vpc": 0,
    }  # fmt: skip


def test_profile_of_an_empty_account() -> None:
    plan = {"eips": [], "vpc_moves_needed": 0, "quotas": {"vpc": {"available": None}}, "instances": {}}
    assert parity_profile(plan, [], {}) == dict.fromkeys(PLAIN, 0)


def test_a_faithful_rehearsal_has_no_gap() -> None:
    assert parity_gaps({"rehearsal": DAY, "production": DAY}) == []
    assert parity_gaps({"rehearsal": DAY, "production": PLAIN}) == [], "a bigger rehearsal is no gap"


def test_a_plain_rehearsal_of_the_vpc_day_misses_six_things() -> None:
    gaps = parity_gaps({"rehearsal": PLAIN, "production": DAY})
    assert gaps == [
        "production has 24 EIPs moved by the swap, the rehearsal only 8: limits and waits are exercised at a "
        "smaller scale",
        "production has EC2-Classic EIPs that must move to the VPC (MoveAddressToVpc, the VPC EIP limit) "
        "(24), the rehearsal has none",
        "production has EC2-Classic instances (their EIPs drop when stopped) (48), the rehearsal has none",
        "production has RDS instances outside any VPC (the RDS move into the VPC) (1), the rehearsal has "
        "none",
        "production has the storage update (EBS volumes detached and attached) (1), the rehearsal has none",
        "production has the VPC migration (1), the rehearsal has none",
    ]


def test_a_smaller_count_is_a_gap_only_where_scale_matters() -> None:
    rehearsal = {**DAY, "classic_instances": 2, "rds": 0}
    production = {**DAY, "rds": 3}
    assert parity_gaps({"rehearsal": rehearsal, "production": production}) == [
        "production has RDS instances (3), the rehearsal has none"
    ]


def test_production_short_of_vpc_eips_is_a_gap() -> None:
    production = {**DAY, "vpc_free": 5}
    assert parity_gaps({"rehearsal": DAY, "production": production}) == [
        "production needs 24 VPC EIPs and has 5 free: raise its VPC EIP limit before the day"
    ]


def test_report() -> None:
    profiles = {"rehearsal": PLAIN, "production": DAY}
    report = parity_report(profiles, ["a gap"]).split("\n")
    assert report[0] == f"{'':<62} {'rehearsal':>10} {'production':>10}"
    assert report[1] == f"{'eips':<62} {8:>10} {24:>10}"
    assert len(report) == 1 + len(DAY) + 2
    assert report[-2:] == ["What the rehearsal would not exercise:", "  - a gap"]
    assert parity_report(profiles, []).endswith("No gap: the rehearsal exercises everything production has.")


def test_the_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"parity_profile", "parity_gaps", "parity_report"}
