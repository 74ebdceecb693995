"""Shared by the timeline's tests: a fake clock, a run recorded on it, and the text of an SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline

SVG_NS = "{http://www.w3.org/2000/svg}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def marker(event: str, budget: Any = None, label: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {"event": event, "label": label}
    if budget is not None:
        data["budget_minutes"] = budget
    return data


def record_run(fail_in_phase_two: bool = False) -> Timeline:
    """Phase 1: 30 s; window opens; phase 2: 90 s with one failure if asked; phase 3 runs unless it failed."""
    clock = FakeClock()
    tl = Timeline(clock=clock, wall=lambda: 1_700_000_000.0)
    tl.start_playbook("playbooks/full-swap.yml", [("p1", "Phase 1 | Pre-flight"), ("p2", "Phase 2 | Go live"),
                                                  ("p3", "Phase 3 | Post-live check")])  # fmt: skip
    tl.start_phase("p1", "Phase 1 | Pre-flight")
    tl.start_task("t1", "1.1 | Check | Limits")
    clock.advance(30)
    tl.host_result("t1", "localhost", "ok")
    tl.start_task("t2", "1.2 | Window | Opens")
    tl.host_result("t2", "localhost", "ok")
    tl.add_marker(
        marker("window_open", budget=2, label="first EIP leaves"), "localhost", "1.2 | Window | Opens"
    )
    tl.start_phase("p2", "Phase 2 | Go live")
    tl.start_task("t3", "2.1 | EIP | Move web-3")
    clock.advance(90)
    tl.host_result("t3", "web-3", "changed")
    tl.host_result("t3", "web-4", "failed" if fail_in_phase_two else "ok", "AddressLimitExceeded")
    if not fail_in_phase_two:
        tl.start_task("t4", "2.2 | Window | Closes")
        tl.host_result("t4", "localhost", "ok")
        tl.add_marker(marker("window_close"), "localhost", "2.2 | Window | Closes")
        tl.start_phase("p3", "Phase 3 | Post-live check")
        tl.start_task("t5", "3.1 | Check | Sites")
        clock.advance(5)
        tl.host_result("t5", "localhost", "skipped")
    tl.finish()
    return tl


def svg_text_of(svg: str) -> str:
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG_NS}svg"
    return " ".join(t for t in root.itertext())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorded_run() -> Callable[..., Timeline]:
    """record_run(fail_in_phase_two=False): a full-swap recorded on a fake clock."""
    return record_run


@pytest.fixture
def make_marker() -> Callable[..., dict[str, Any]]:
    return marker


@pytest.fixture
def svg_texts() -> Callable[[str], str]:
    """The text content of a standalone SVG, after checking that it parses as one."""
    return svg_text_of
