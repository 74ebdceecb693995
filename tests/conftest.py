"""Every test under tests/lab needs the one running lab (fixed ports, container names, loop devices): they
are marked `lab` and scheduled as one unit, so `make test` (pytest -n 2) runs them in order on one worker
while the other runs the tests that bring their own simulated AWS on a free port (integration, unit,
molecule)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

LAB_TESTS = Path(__file__).resolve().parent / "lab"
LAB_NODES = "tests/lab/"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if LAB_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.lab)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scope scheduling with the lab's tests as one scope, in collection order, sent first (the
    largest scope). xdist_group cannot do it under pytest 9.2: xdist 3.8 renames `item._nodeid`, which
    pytest no longer reads."""
    from xdist.scheduler import LoadScopeScheduling

    class LabTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "lab" if nodeid.startswith(LAB_NODES) else nodeid

    return LabTestsTogether(config, log)
