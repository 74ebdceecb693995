# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the timeline reads from Ansible's results and tasks: markers, budgets, messages, rescues."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MARKER_FACT = "clusterswap_marker"


def parse_budget(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        budget = float(value)
    except (TypeError, ValueError):
        return None
    return budget if math.isfinite(budget) and budget >= 0 else None


def find_markers(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Markers carried by a task result, including each item of a loop."""
    found: list[Mapping[str, Any]] = []
    candidates = [result, *[r for r in result.get("results", []) or [] if isinstance(r, Mapping)]]
    for candidate in candidates:
        facts = candidate.get("ansible_facts")
        if isinstance(facts, Mapping):
            marker = facts.get(MARKER_FACT)
            if isinstance(marker, Mapping) and marker.get("event"):
                found.append(marker)
    return found


def short_message(result: Mapping[str, Any], limit: int = 300) -> str:
    msg = result.get("msg") or result.get("stderr") or result.get("reason") or ""
    if result.get("censored"):
        msg = "output hidden (no_log)"
    text = " ".join(str(msg).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def in_rescued_block(task: Any) -> bool:
    """True when the task sits in the `block:` part of a block that has a `rescue:`."""
    child, parent = task, getattr(task, "_parent", None)
    while parent is not None:
        if getattr(parent, "rescue", None) and any(
            getattr(t, "_uuid", None) == getattr(child, "_uuid", "")
            for t in getattr(parent, "block", None) or []
        ):
            return True
        child, parent = parent, getattr(parent, "_parent", None)
    return False
