"""Every filter the collection exports has its documentation (plugins/filter/<name>.yml), and every
documentation file documents an exported filter: `ansible-doc -t filter clusterswap.swap.<name>` (make lint
renders each)."""

from __future__ import annotations

import importlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FILTERS = REPO / "plugins" / "filter"


def exported() -> set[str]:
    names: set[str] = set()
    for path in sorted(FILTERS.glob("*.py")):
        module = importlib.import_module(f"ansible_collections.clusterswap.swap.plugins.filter.{path.stem}")
        names |= set(module.FilterModule().filters())
    return names


def test_every_exported_filter_is_documented_and_nothing_else() -> None:
    documented = {p.stem for p in FILTERS.glob("*.yml")}
    assert exported() == documented
