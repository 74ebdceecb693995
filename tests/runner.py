"""ansible-runner as AWX and Automation Controller use it: a private data dir (env/envvars, env/extravars),
the checkout as the project, no terminal; and the events it records."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / ".venv" / "bin" / "ansible-runner"


def run(
    tmp_path: Path, playbook: str, envvars: dict[str, str], extravars: dict[str, Any] | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`ansible-runner run` of `playbook`, a fresh private data dir under `tmp_path`: (process, artifacts)."""
    pdd = tmp_path / "runner"
    (pdd / "env").mkdir(parents=True)
    envvars = {"CLUSTERSWAP_REPORT_DIR": str(tmp_path / "reports"), "ANSIBLE_NOCOLOR": "1", **envvars}
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars or {}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "AWS_"))}
    env["PATH"] = f"{RUNNER.parent}{os.pathsep}{env.get('PATH', '')}"  # the EE's ansible-playbook
    proc = subprocess.run(
        [str(RUNNER), "run", str(pdd), "--project-dir", str(REPO), "-p", playbook],
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: a prompt would fail the run, not wait for an answer
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    artifacts = next((pdd / "artifacts").iterdir(), pdd / "artifacts")
    return proc, artifacts


def events(artifacts: Path) -> list[dict[str, Any]]:
    """The run's events in order."""
    found = [json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")]
    return sorted(found, key=lambda e: e["counter"])


def progress_lines(found: list[dict[str, Any]], text: str) -> list[str]:
    """The progress lines (verbose events, plugin_utils/progress.py) that contain `text`."""
    return [e["stdout"] for e in found if e["event"] == "verbose" and text in e["stdout"]]
