"""The latency profile: lab/latency.yml (operation -> typical seconds)."""

from __future__ import annotations

from pathlib import Path

import yaml

LATENCY_FILE = Path(__file__).resolve().parent.parent / "latency.yml"


def load_latency_profile(path: Path = LATENCY_FILE) -> dict[str, float]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of operation -> seconds")
    return {str(k): float(v) for k, v in data.items()}
