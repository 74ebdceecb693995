"""The checkout is the collection clusterswap.swap: FQCNs resolve from it, and
`ansible-galaxy collection build` makes an artifact that holds the product (modules, module_utils, callback,
roles, playbooks) and not the lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}


def test_the_checkout_is_found_as_the_collection() -> None:
    link = REPO / "collections" / "ansible_collections" / "clusterswap" / "swap"
    assert link.resolve() == REPO
    out = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "list", "clusterswap.swap", "--format", "json"],
        cwd=REPO, env=ENV, capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    found = {path: names for path, names in json.loads(out).items() if "clusterswap.swap" in names}
    assert found, f"not seen: clusterswap.swap, ansible.cfg's collections_path:\n{out}"


def test_the_build_holds_the_product_and_not_the_lab(tmp_path: Path) -> None:
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(REPO)],
        cwd=REPO, env=ENV, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    (artifact,) = tmp_path.glob("clusterswap-swap-*.tar.gz")
    with tarfile.open(artifact) as tar:
        names = set(tar.getnames())
    modules = {f"plugins/modules/{p.name}" for p in (REPO / "plugins" / "modules").glob("*.py")}
    assert modules <= names
    product = {"plugins/callback/swap_timeline.py", "playbooks/full-swap.yml", "roles/go_live/tasks/main.yml"}
    assert product <= names
    assert {"MANIFEST.json", "meta/runtime.yml"} <= names
    not_product = {"lab", "tests", "molecule", "collections", ".venv"}
    leaked = sorted(n for n in names if n.split("/")[0] in not_product)
    assert not leaked, f"the artifact carries what is not the product: {leaked[:10]}"
    assert not any(n.startswith("inventories/lab") for n in names)
