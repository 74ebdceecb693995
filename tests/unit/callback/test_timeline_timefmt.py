"""Tests of plugin_utils/timeline/timefmt.py: how the report writes durations and times."""

from __future__ import annotations

import pytest
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline import timefmt


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(None, "-"), (0.0123, "0.01s"), (9.994, "9.99s"), (12.34, "12.3s"), (65, "1m05s"), (3723, "1h02m03s")],
)
def test_fmt_duration(seconds: float | None, expected: str) -> None:
    assert timefmt.fmt_duration(seconds) == expected


@pytest.mark.parametrize(
    ("minutes", "expected"), [(20, "20 min"), (1.5, "1.5 min"), (0.5, "0.5 min (30.0s)")]
)
def test_fmt_minutes(minutes: float, expected: str) -> None:
    assert timefmt.fmt_minutes(minutes) == expected


def test_iso_utc_has_milliseconds_and_z() -> None:
    assert timefmt.iso_utc(1_700_000_000.25) == "2023-11-14T22:13:20.250Z"
