"""No secret in any output: the lab gives its dummy credentials as a shared credentials file (as a real
account gives a profile), so a run at -vvv, which prints every AWS task's environment on its command line,
shows the file's path and never the secret; a secret put in clusterswap_aws_environment stops pre-flight."""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from typing import Any

from lab.hosts.world import REPO
from tests.integration.runbook.phases import run_playbook


def lab_secret() -> str:
    credentials = configparser.ConfigParser()
    credentials.read(REPO / "lab" / "aws-credentials")
    return credentials["default"]["aws_secret_access_key"]


def test_a_run_at_vvv_prints_no_secret(lab: Any, lab_url: str, tmp_path: Path) -> None:
    lab.seed("default")
    proc = run_playbook("preflight.yml", lab_url, tmp_path, "-vvv")
    assert proc.returncode == 0, proc.stdout[-3000:]
    output = proc.stdout + proc.stderr
    assert "AWS_SHARED_CREDENTIALS_FILE=" in output, "-vvv shows each AWS task's environment"
    written = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    secret = lab_secret()
    assert len(secret) > 12
    assert secret not in output
    assert not [text for text in written if secret in text], "no report or record holds it"


def test_a_secret_in_the_plays_environment_stops_preflight(lab: Any, lab_url: str, tmp_path: Path) -> None:
    lab.seed("default")
    secret_in_env = {
        "AWS_ENDPOINT_URL": lab_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    environment = json.dumps({"clusterswap_aws_environment": secret_in_env})
    proc = run_playbook("preflight.yml", lab_url, tmp_path, "-e", environment)
    assert proc.returncode != 0
    assert "clusterswap_aws_environment sets AWS_SECRET_ACCESS_KEY: Ansible prints" in proc.stdout, (
        proc.stdout[-3000:]
    )
    assert not (tmp_path / "plan.json").exists(), "nothing written: the swap cannot go ahead"
