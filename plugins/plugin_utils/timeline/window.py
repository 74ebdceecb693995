# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance window: first window_open marker to the last window_close after it, against the budget."""

from __future__ import annotations

from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.model import (
    WINDOW_CLOSE,
    WINDOW_OPEN,
    Marker,
)
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.timefmt import (
    fmt_duration,
    fmt_minutes,
)


def budget_share(duration: float, budget_minutes: float) -> str:
    if budget_minutes <= 0:
        return "no time allowed"
    share = duration / (budget_minutes * 60)
    return "under 1% of it" if share < 0.01 else f"{share:.0%} of it"


def measure_window(
    markers: list[Marker],
    run_end: float,
    default_budget: float,
    check_mode: bool,
    carried: Marker | None = None,
) -> dict[str, Any]:
    """The maintenance window: first window_open to the last window_close after it, against the budget.

    ``carried``: the window's opening kept by an earlier run (at a negative offset, carry.py); the window is
    then measured from it, and drawn from this run's start.
    """
    opens = [m for m in markers if m.event == WINDOW_OPEN]
    if carried is not None:
        opens = [carried, *opens]
    closes = [m for m in markers if m.event == WINDOW_CLOSE]
    budget, source = default_budget, "default"
    for marker in [*opens, *closes]:
        if marker.budget_minutes is not None:
            budget, source = marker.budget_minutes, "marker"
            break
    window: dict[str, Any] = {
        "state": "not_opened",
        "opened_at_offset_s": None,
        "opened_before_run_s": None,
        "closed_at_offset_s": None,
        "duration_s": None,
        "budget_minutes": budget,
        "budget_s": round(budget * 60, 3),
        "budget_source": source,
        "verdict": "not_measured",
        "open_label": None,
        "close_label": None,
    }
    if not opens:
        window["summary"] = "window not opened"
        if closes:
            window["state"] = "closed_without_open"
            window["summary"] = (
                "window not opened in this run (a window_close marker came without a window_open)"
            )
        return window
    first_open = min(opens, key=lambda m: m.at)
    later_closes = [m for m in closes if m.at >= first_open.at]
    last_close = max(later_closes, key=lambda m: m.at) if later_closes else None
    reopened = last_close is not None and any(m.at > last_close.at for m in opens)
    window["opened_at_offset_s"] = round(max(first_open.at, 0.0), 3)
    window["open_label"] = first_open.label
    earlier = ""
    if first_open.at < 0:
        window["opened_before_run_s"] = round(-first_open.at, 3)
        earlier = f"opened by an earlier run {fmt_duration(-first_open.at)} before this one began; "
    if last_close is None or reopened:
        duration = run_end - first_open.at
        window.update(state="open_at_end", duration_s=round(duration, 3))
        over = duration > budget * 60
        window["verdict"] = "over_budget" if over else "open_at_end"
        window["summary"] = earlier + (
            f"window still open at end of run: open for {fmt_duration(duration)} so far"
            f" (budget {fmt_minutes(budget)}{', already OVER budget' if over else ''})"
        )
    else:
        duration = last_close.at - first_open.at
        window.update(
            state="closed",
            closed_at_offset_s=round(last_close.at, 3),
            close_label=last_close.label,
            duration_s=round(duration, 3),
        )
        within = duration <= budget * 60
        window["verdict"] = "within_budget" if within else "over_budget"
        verdict = "within the" if within else "OVER the"
        window["summary"] = earlier + (
            f"window {fmt_duration(duration)}, {verdict} {fmt_minutes(budget)} budget"
            f" ({budget_share(duration, budget)})"
        )
    if check_mode:
        window["verdict"] = "not_measured"
        state = "still open at end of run" if window["state"] == "open_at_end" else "between the markers"
        window["summary"] = (
            f"CHECK MODE: {fmt_duration(window['duration_s'])} {state} in a dry run; not a measurement,"
            f" no verdict against the {fmt_minutes(budget)} budget"
        )
    return window
