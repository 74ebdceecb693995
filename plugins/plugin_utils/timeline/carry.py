# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A window that spans runs: the open window is kept beside the swap's plan record until it closes.

A run killed (or failed) with the window open leaves ``<record>.window.json``: when the window opened (wall
clock), its label and budget. The rerun that closes the window measures it from that moment, so the report
tells the window the users had, not the rerun's share of it. A window marker names the record it belongs to
(its ``record`` key); a marker without one keeps its window inside its run.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

SUFFIX = ".window.json"


def carry_path(record: str) -> str:
    return f"{record}{SUFFIX}"


def remember_open(record: str, wall: float, label: str, budget_minutes: float | None) -> bool:
    """Keep the window's opening beside the record, unless an earlier opening is kept (it wins). Written
    atomically. Returns whether this opening was kept."""
    path = carry_path(record)
    if read_open(record) is not None:
        return False
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = {"opened_at": wall, "label": label, "budget_minutes": budget_minutes}
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
    return True


def read_open(record: str) -> dict[str, Any] | None:
    """The kept opening, or None (none kept, or unreadable: a window is never measured from a guess)."""
    try:
        with open(carry_path(record), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("opened_at"), int | float):
        return None
    return data


def take_open(record: str) -> dict[str, Any] | None:
    """The kept opening, removed: the window closes."""
    data = read_open(record)
    with contextlib.suppress(OSError):
        os.unlink(carry_path(record))
    return data
