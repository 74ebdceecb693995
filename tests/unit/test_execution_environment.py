"""execution-environment.yml (ansible-builder schema 3): `ansible-builder create` accepts it and writes a
build context that installs what requirements.txt and requirements.yml pin, so the EE that AWX runs and the
venv the tests run cannot drift apart (issue 14)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO / ".venv" / "bin" / "ansible-builder"
EE = REPO / "execution-environment.yml"


def create(definition: Path, context: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BUILDER),
            "create",
            "-f",
            str(definition),
            "-c",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pins() -> dict[str, str]:
    """requirements.txt's `name==version` lines."""
    found = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", (REPO / "requirements.txt").read_text(), flags=re.M)
    return {name.split("[")[0].lower(): version for name, version in found}


def test_ansible_builder_creates_the_context_with_the_pinned_versions(tmp_path: Path) -> None:
    proc = create(EE, tmp_path / "context")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    want = pins()
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, flags=re.M)
    assert refs, containerfile
    assert refs.group(1).split() == [
        f"ansible-core=={want['ansible-core']}",
        f"ansible-runner=={want['ansible-runner']}",
    ]
    python = (tmp_path / "context" / "_build" / "requirements.txt").read_text().split()
    assert python == [f"boto3=={want['boto3']}", f"botocore=={want['botocore']}"]
    galaxy = yaml.safe_load((tmp_path / "context" / "_build" / "requirements.yml").read_text())
    assert galaxy == yaml.safe_load((REPO / "requirements.yml").read_text()), (
        "the collections of requirements.yml"
    )
    assert "openssh-clients" in (tmp_path / "context" / "_build" / "bindep.txt").read_text()


def test_a_definition_ansible_builder_refuses_is_refused(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key is refused with the schema's message."""
    broken = yaml.safe_load(EE.read_text())
    broken["dependencies"]["ansible_cores"] = broken["dependencies"].pop("ansible_core")
    definition = tmp_path / "execution-environment.yml"
    definition.write_text(yaml.safe_dump(broken))
    proc = create(definition, tmp_path / "context")
    assert proc.returncode != 0 and "ansible_cores" in proc.stdout + proc.stderr
