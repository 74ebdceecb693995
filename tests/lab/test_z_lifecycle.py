"""`up`, `seed`, `down` twice in a row leave nothing behind. Runs last (it takes the lab down)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lab.hosts.world import LABEL, STATE_DIR, VOLUME_DIR
from tests.lab.helpers import http_get, labctl, podman


def _leftovers() -> dict[str, list[str]]:
    """Everything the lab makes that still exists: containers, network, loop devices, processes, files."""
    found = {
        "containers": podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}").split(),
        "networks": podman("network", "ls", "--filter", f"label={LABEL}", "--format", "{{.Name}}").split(),
        "loops": _our_loops(),
        "processes": _our_processes(),
        "files": [str(p) for p in VOLUME_DIR.glob("*")] if VOLUME_DIR.exists() else [],
        "pid files": [str(p) for p in STATE_DIR.glob("*.pid")],
    }
    return {k: v for k, v in found.items() if v}


def _our_loops() -> list[str]:
    out = subprocess.run(["losetup", "--json", "--list"], capture_output=True, text=True, check=True).stdout
    loops = json.loads(out or '{"loopdevices": []}')["loopdevices"]
    return [d["name"] for d in loops if str(VOLUME_DIR) in (d.get("back-file") or "")]


def _our_processes() -> list[str]:
    """The simulated AWS on the lab's port and the edge, as labctl starts them."""
    marks = ("lab.awssim serve --host 127.0.0.1 --port 5055", "lab.hosts.edge --sim")
    return [
        p.name for p in Path("/proc").iterdir() if p.name.isdigit() and any(m in _cmdline(p) for m in marks)
    ]


def _cmdline(p: Path) -> str:
    try:
        return (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# ~3.5 min: `make long`. CI runs on a fresh machine, where the session's own `labctl down` ends the lab;
# what a lab leaves behind matters on a workstation that brings it up and down all day.
@pytest.mark.long
def test_up_seed_down_twice_leaves_nothing_behind() -> None:
    # the largest world (vpc-day: 58 hosts) the first time; the second proves `up` after `down` starts clean
    for reseed_with in ("vpc-day", None):
        labctl("up", "--scenario", "default")
        assert _leftovers().keys() >= {"containers", "networks", "loops", "processes", "files"}
        out = labctl("up", "--scenario", "default")
        assert "already seeded" in out  # idempotent: nothing new
        if reseed_with:
            labctl("seed", "--scenario", reseed_with)
            assert f"scenario:      {reseed_with}" in labctl("status")
        assert http_get("127.100.0.1") is not None
        labctl("down")
        assert _leftovers() == {}
        assert http_get("127.100.0.1") is None
