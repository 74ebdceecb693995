"""Every test under tests/lab needs the one running lab (fixed ports, container names, loop devices): they are
marked `lab` and kept in one xdist group, so `make test -n 2` runs them in order on one worker while the other
worker runs the tests that bring their own simulated AWS on a free port (integration, unit, molecule)."""

from __future__ import annotations

from pathlib import Path

import pytest

LAB_TESTS = Path(__file__).resolve().parent / "lab"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if LAB_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.lab)
            item.add_marker(pytest.mark.xdist_group("lab"))
