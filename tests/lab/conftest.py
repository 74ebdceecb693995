"""The lab's host tests bring the whole lab up once per session (building the image if it is missing)
and take it down at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.lab.helpers import lab_api, labctl


@pytest.fixture(scope="session")
def lab() -> Iterator[dict[str, Any]]:
    """The lab, up with scenario `default`; yields the simulated AWS's world (names → ids)."""
    if os.geteuid() != 0:
        pytest.fail("the lab tests need root (podman, loop devices, port 80)")
    labctl("up", "--scenario", "default")
    yield lab_api("/_lab/world")
    labctl("down")
