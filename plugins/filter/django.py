# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Django's migrations as ``manage.py showmigrations --plan`` lists them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

LINE = re.compile(r"^\[(?P<mark>[ X])\]\s+(?P<name>\S+)", re.MULTILINE)


def django_migrations(plan_output: str) -> dict[str, list[str]]:
    """``{pending, applied}``: the migrations marked ``[ ]`` and ``[X]``, in the plan's order."""
    out: dict[str, list[str]] = {"pending": [], "applied": []}
    for match in LINE.finditer(plan_output or ""):
        out["applied" if match["mark"] == "X" else "pending"].append(match["name"])
    return out


class FilterModule:
    """clusterswap.swap.django_migrations."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"django_migrations": django_migrations}
