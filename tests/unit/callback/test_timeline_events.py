"""Tests of plugin_utils/timeline/events.py: what the timeline reads from Ansible's results and tasks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline import events


@pytest.mark.parametrize(
    ("raw", "expected"), [(20, 20.0), ("0.5", 0.5), ("x", None), (True, None), (-1, None)]
)
def test_parse_budget(raw: Any, expected: float | None) -> None:
    assert events.parse_budget(raw) == expected


def test_find_markers_top_level_and_loop_items(make_marker: Callable[..., dict[str, Any]]) -> None:
    top = {"ansible_facts": {"clusterswap_marker": make_marker("window_open")}}
    loop = {
        "results": [{"ansible_facts": {"clusterswap_marker": make_marker("eip_moved")}}, {"changed": False}]
    }
    assert [m["event"] for m in events.find_markers(top)] == ["window_open"]
    assert [m["event"] for m in events.find_markers(loop)] == ["eip_moved"]
    assert events.find_markers({"ansible_facts": {"clusterswap_marker": {"label": "no event"}}}) == []


def test_short_message_is_one_line_and_hides_no_log_output() -> None:
    assert events.short_message({"msg": "AddressLimitExceeded:\n  raise the limit"}) == (
        "AddressLimitExceeded: raise the limit"
    )
    assert events.short_message({"stderr": "x" * 400}, limit=10) == "x" * 9 + "…"
    assert events.short_message({"msg": "secret", "censored": "..."}) == "output hidden (no_log)"


@dataclass
class FakeBlock:
    """The parts of Ansible's Task and Block that in_rescued_block reads."""

    _uuid: str
    block: list[Any] = field(default_factory=list)
    rescue: list[Any] = field(default_factory=list)
    _parent: Any = None


def test_in_rescued_block_only_in_the_block_part_of_a_block_with_rescue() -> None:
    in_block, in_rescue = FakeBlock("t1"), FakeBlock("t2")
    outer = FakeBlock("b1", block=[in_block], rescue=[in_rescue])
    in_block._parent = in_rescue._parent = outer
    plain = FakeBlock("t3")
    plain._parent = FakeBlock("b2", block=[plain])
    assert events.in_rescued_block(in_block) is True
    assert events.in_rescued_block(in_rescue) is False
    assert events.in_rescued_block(plain) is False
