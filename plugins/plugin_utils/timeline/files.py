# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's files: JSON, Markdown and SVG side by side, each written whole or not at all."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.markdown import render_markdown
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.svg import render_svg


def write_atomic(path: str, content: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.replace(tmp, path)


def write_report(report: dict[str, Any], base: str) -> dict[str, str]:
    """``<base>.json``, ``<base>.md`` and ``<base>.svg``; returns their paths (also kept in the report)."""
    os.makedirs(os.path.dirname(base), exist_ok=True)
    paths = {ext: f"{base}.{ext}" for ext in ("json", "md", "svg")}
    report["report"] = paths
    write_atomic(paths["svg"], render_svg(report))
    write_atomic(paths["md"], render_markdown(report, os.path.basename(paths["svg"])))
    write_atomic(paths["json"], json.dumps(report, indent=2, default=str) + "\n")
    return paths
