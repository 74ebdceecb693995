"""Runs `molecule test` (destroy, create, prepare, converge, idempotence, verify, destroy) for every role
scenario on real container hosts. Needs podman and the lab image (`bash lab/image/build.sh`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/clusterswap-lab:latest"
# (directory molecule runs in, scenario): the role scenarios, and the repo's scenarios of several roles.
# storage and storage_move (~2 min each) run in `make long` (CI time): `make test` runs the same storage roles
# on the lab's hosts (tests/lab/test_storage_swap.py, and the vpc-to-vpc swap end to end, byte for byte).
SCENARIOS = [
    ("roles/maintenance_mode", "default"),
    ("roles/django_migrate", "default"),
    pytest.param("", "storage", marks=pytest.mark.long),
    pytest.param("", "storage_move", marks=pytest.mark.long),
]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def lab_image() -> str:
    """The lab's host image, built if missing (`make test` builds it first)."""
    assert shutil.which("podman"), "podman is missing: run `make host-deps` (make test does)"
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        subprocess.run(["bash", str(REPO / "lab" / "image" / "build.sh")], check=True, timeout=1200)
    return IMAGE


@pytest.mark.timeout(1500)
@pytest.mark.parametrize(
    ("where", "scenario"),
    SCENARIOS,
    ids=["roles/maintenance_mode:default", "roles/django_migrate:default", ".:storage", ".:storage_move"],
)
def test_molecule_scenario(lab_image: str, where: str, scenario: str) -> None:
    role = f"{where or 'repo'}:{scenario}"
    venv_bin = REPO / ".venv" / "bin"
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_NOCOLOR": "1",
    }
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own; the role scenarios set what they need
    started = time.monotonic()
    proc = subprocess.run(
        [str(venv_bin / "molecule"), "test", "--scenario-name", scenario],
        cwd=REPO / where,
        env=env,
        capture_output=True,
        text=True,
        timeout=1400,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"molecule test for {role} failed after {elapsed:.0f}s:\n{output[-8000:]}"
    for step in ("converge", "idempotence", "verify"):
        assert f"{step}: Executed: Successful" in output, f"{role}: {step} did not run:\n{output[-4000:]}"
    print(f"molecule test {role}: {elapsed:.0f}s")
