"""`molecule test -s eip_vpc_migration` from the repo root, so that `make test` runs the scenario."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


@pytest.mark.long  # ~1 min: `make long`; test_eip_vpc_migration.py runs this playbook four ways
def test_molecule_eip_vpc_migration() -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("AWS_ENDPOINT_URL", None)  # the scenario starts its own simulator
    result = subprocess.run(
        [str(BIN / "molecule"), "test", "-s", "eip_vpc_migration"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0, output[-5000:]
    for step in ("converge", "idempotence", "verify"):
        assert re.search(rf"{step}\W+Executed: Successful", output), step
