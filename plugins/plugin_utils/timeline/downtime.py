# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What users saw through each EIP during the run: a downtime probe's record, joined to the timeline.

A probe is anything that requests every public address a few times a second while the swap runs and
writes this record (any HTTP checker can):

    {"started_at": <epoch seconds>,
     "eips": {"<public ip>": {"name": "<its Name tag>",
                              "<source>": {"segments": [[start_s, end_s, state], ...]}}}}

``state`` is the page a user got (``old``, ``maintenance``, ``new``) or anything else for no page at all
(``refused``, ``reset``, ``timeout``, ``closed``, ``http-502`` ...); segment times are seconds since
``started_at``; ``<source>`` is where the requests came from (``client``: an ordinary user; ``office``).

``attach_downtime`` puts it into a report (its clock, per EIP: seconds of maintenance page, of no page at
all, the longest stretch without one, a flip back to the old cluster after the page or the new one) and
``add_to_report`` rewrites a written report's three files with it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.files import write_report
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.timefmt import fmt_duration

OLD, MAINTENANCE, NEW = "old", "maintenance", "new"
PAGES = (OLD, MAINTENANCE, NEW)


def _seconds(segments: list[list[Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for start, end, state in segments:
        out[state] = round(out.get(state, 0.0) + (end - start), 3)
    return out


def dark_stretches(segments: list[list[Any]]) -> list[tuple[float, float, list[str]]]:
    """The stretches with no page at all: consecutive segments of any error kinds merged (a connection
    reset, then closed, then reset again is one stretch without a page), each with its kinds in order."""
    stretches: list[tuple[float, float, list[str]]] = []
    for start, end, state in segments:
        if state in PAGES:
            continue
        if stretches and stretches[-1][1] == start:
            first, _, kinds = stretches[-1]
            stretches[-1] = (first, end, kinds + ([state] if state not in kinds else []))
        else:
            stretches.append((start, end, [state]))
    return stretches


def answers(segments: list[list[Any]]) -> list[str]:
    """What users got, in order: the pages, and each stretch without one as ``no page (<kinds>)``."""
    out: list[str] = []
    for _, _, state in segments:
        if state in PAGES:
            out.append(state)
        elif not out or not out[-1].startswith("no page"):
            out.append(f"no page ({state})")
        elif state not in out[-1][len("no page (") : -1].split(", "):
            out[-1] = out[-1][:-1] + f", {state})"
    return out


def summarize(record: Mapping[str, Any], source: str = "client") -> dict[str, dict[str, Any]]:
    """Per EIP (by public IP): seconds per state, of maintenance page and of no page at all, the longest
    stretch with no page, and whether it answered from the old cluster after showing the maintenance page or
    the new cluster (a flip back: users saw the old site again). A stretch without a page runs across
    error kinds (reset, then closed, then reset: one stretch)."""
    out = {}
    for ip, data in record["eips"].items():
        segments = data[source]["segments"]
        states = [s[2] for s in segments]
        seen = [i for i, s in enumerate(states) if s in (MAINTENANCE, NEW)]
        seconds = _seconds(segments)
        out[ip] = {
            "name": data["name"],
            "seconds": seconds,
            "maintenance_seconds": seconds.get(MAINTENANCE, 0.0),
            "no_page_seconds": round(sum(v for k, v in seconds.items() if k not in PAGES), 3),
            "longest_no_page": round(
                max((end - start for start, end, _ in dark_stretches(segments)), default=0.0), 3
            ),
            "flip_back_to_old": bool(seen) and OLD in states[seen[0] :],
            "states": states,
        }
    return out


def epoch(iso: str) -> float:
    """The report's ISO 8601 UTC time (``2026-12-02T05:00:00.123Z``) as epoch seconds."""
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def downtime_section(record: Mapping[str, Any], run_started: float, source: str = "client") -> dict[str, Any]:
    """The report's ``downtime``: per EIP (by name) its summary and its segments on the report's clock."""
    shift = float(record["started_at"]) - run_started
    eips = []
    for ip, s in summarize(record, source).items():
        segments = record["eips"][ip][source]["segments"]
        eips.append(
            {
                "name": s["name"],
                "ip": ip,
                "maintenance_s": s["maintenance_seconds"],
                "no_page_s": s["no_page_seconds"],
                "longest_no_page_s": s["longest_no_page"],
                "flip_back_to_old": s["flip_back_to_old"],
                "answers": answers(segments),
                "segments": [[round(a + shift, 3), round(b + shift, 3), state] for a, b, state in segments],
            }
        )
    eips.sort(key=lambda e: (e["name"], e["ip"]))
    return {"source": source, "eips": eips, "summary": downtime_summary(eips)}


def downtime_summary(eips: list[dict[str, Any]]) -> str:
    if not eips:
        return "no EIP was probed"
    worst = max(eips, key=lambda e: e["longest_no_page_s"])
    page = max(e["maintenance_s"] for e in eips)
    flips = [e["name"] for e in eips if e["flip_back_to_old"]]
    back = (
        f"{len(flips)} answered from the OLD cluster after the page: {', '.join(flips)}"
        if flips
        else "none answered from the old cluster after the page"
    )
    dark = (
        f"no page at all for up to {fmt_duration(worst['longest_no_page_s'])} ({worst['name']})"
        if worst["longest_no_page_s"]
        else "never without a page"
    )
    return f"{len(eips)} EIPs probed: maintenance page for up to {fmt_duration(page)}; {dark}; {back}"


def attach_downtime(
    report: dict[str, Any], record: Mapping[str, Any], source: str = "client"
) -> dict[str, Any]:
    """``report["downtime"]`` from a probe's record, on the report's clock; returns the report."""
    report["downtime"] = downtime_section(record, epoch(report["started_at"]), source)
    return report


def add_to_report(report_json: str, record: Mapping[str, Any], source: str = "client") -> dict[str, str]:
    """Rewrites a written report (its JSON, Markdown and SVG) with the probe's record in it."""
    with open(report_json, encoding="utf-8") as handle:
        report = json.load(handle)
    attach_downtime(report, record, source)
    return write_report(report, os.path.splitext(report_json)[0])
