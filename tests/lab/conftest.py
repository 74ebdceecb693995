"""The lab's host tests bring the whole lab up once per session (building the image if it is missing)
and take it down at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.lab.helpers import lab_api, labctl


@pytest.fixture(scope="session")
def lab_session() -> Iterator[None]:
    """The lab, up for the whole session (scenario `default` at first), down at the end."""
    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (podman, loop devices, port 80)")
    labctl("up", "--scenario", "default")
    yield
    labctl("down")


@pytest.fixture
def lab(lab_session: None) -> dict[str, Any]:
    """The simulated AWS's world (names → ids) as seeded now: tests that swap or reseed change the ids."""
    return lab_api("/_lab/world")
