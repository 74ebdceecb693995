"""The lab behind a wall: product code never names the lab.

Product code is what runs against an account: roles/, plugins/, playbooks/, and the staging and production
inventories. Everything lab-only (its roles, playbooks, inventory, simulator, hosts) lives under lab/ and
inventories/lab. A product file that names the lab (`lab`, `lab_...`, `lab/...`, a `lab:host` tag, "the lab")
is a leak: the lab's values belong in inventories/lab as clusterswap_* values, its code under lab/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ["roles", "plugins", "playbooks", "inventories/staging", "inventories/production"]
# `lab` as a word or an identifier's part: lab, Lab, lab_x, x_lab, lab/, lab:, lab's, clusterswap-lab;
# not label, available, collaborate.
LAB = re.compile(r"(?<![A-Za-z0-9])lab(?![A-Za-z0-9])", re.IGNORECASE)
# Not product code: the roles' molecule scenarios are tests that run the roles on the lab's container image.
NOT_PRODUCT = re.compile(r"^roles/[^/]+/molecule/")


def product_files() -> list[str]:
    files = []
    for top in PRODUCT:
        for path in sorted((REPO / top).rglob("*")):
            relative = path.relative_to(REPO).as_posix()
            if path.is_file() and "__pycache__" not in relative and not NOT_PRODUCT.match(relative):
                files.append(relative)
    return files


def lab_mentions(text: str) -> list[str]:
    """The lines of `text` that name the lab, numbered."""
    return [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), start=1) if LAB.search(line)]


@pytest.mark.parametrize(
    ("text", "leaks"),
    [
        ("cluster_prepare_site_src: lab/site", True),
        ('filters: {"tag-key": lab:host}', True),
        ("lab_network_cidrs: []", True),
        ("# as the lab's load balancers do", True),
        ("image: localhost/clusterswap-lab:latest", True),
        ("maintenance_mode_proxy_protocol_trusted: []  # The Lab", True),
        ("labels: {tier: web}  # available, collaborate", False),
        ("storage_check_export_port: 2049", False),
    ],
)
def test_the_wall_finds_the_lab_in_any_form(text: str, leaks: bool) -> None:
    assert bool(lab_mentions(text)) is leaks


def test_the_product_is_checked() -> None:
    files = product_files()
    assert "playbooks/full-swap.yml" in files and "roles/go_live/defaults/main.yml" in files
    assert "inventories/production/group_vars/all/swap.yml" in files
    assert not any(f.startswith("roles/maintenance_mode/molecule/") for f in files)


def test_product_code_never_names_the_lab() -> None:
    leaks = {}
    for relative in product_files():
        found = lab_mentions((REPO / relative).read_text(errors="replace"))
        if found:
            leaks[relative] = found
    report = "\n".join(f"{path}:{line}" for path, lines in leaks.items() for line in lines)
    assert not leaks, f"product code names the lab (move it under lab/ or inventories/lab):\n{report}"
