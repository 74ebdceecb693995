# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the report writes times and durations: 12.3s, 4m05s, 20 min, ISO 8601 UTC."""

from __future__ import annotations

import datetime as dt


def fmt_duration(seconds: float | None) -> str:
    """12.3s, 4m05s, 1h02m03s."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s"


def fmt_minutes(minutes: float) -> str:
    if minutes >= 1 and float(minutes).is_integer():
        return f"{int(minutes)} min"
    if minutes >= 1:
        return f"{minutes:g} min"
    return f"{minutes:g} min ({fmt_duration(minutes * 60)})"


def iso_utc(epoch: float) -> str:
    return (
        dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
