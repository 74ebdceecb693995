"""Tests of plugin_utils/timeline/downtime.py: a downtime probe's record joined to the timeline report, and
how the Markdown and the SVG show it (what users got through each EIP)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.downtime import (
    add_to_report,
    attach_downtime,
)
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.files import write_report
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.markdown import render_markdown
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import build_report
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.svg import (
    DOWNTIME_COLOURS,
    render_svg,
)

from tests.unit.callback.test_timeline_svg import bar_rows, rendered

RUN_STARTED = 1_700_000_000.0  # the recorded run's wall clock at its start (conftest.record_run)


def track(*segments: tuple[float, float, str]) -> dict[str, Any]:
    return {"segments": [list(s) for s in segments], "requests": len(segments) * 4}


def record(**eips: list[tuple[float, float, str]]) -> dict[str, Any]:
    """A probe that started 1.5 s before the run (labctl starts it first); the IPs in name order."""
    return {
        "started_at": RUN_STARTED - 1.5,
        "eips": {
            f"198.51.100.{n}": {"name": name, "client": track(*segments)}
            for n, (name, segments) in enumerate(sorted(eips.items()), start=10)
        },
    }


def three() -> dict[str, Any]:
    return record(
        www_1=[(0, 40, "old"), (40, 100, "maintenance"), (100, 100.6, "refused"), (100.6, 127, "new")],
        api_1=[(0, 45, "old"), (45, 99, "maintenance"), (99, 127, "new")],
        bad_1=[(0, 40, "old"), (40, 60, "maintenance"), (60, 70, "old"), (70, 127, "new")],
    )


def test_each_eip_is_summed_up_and_put_on_the_runs_clock(recorded_run: Callable[..., Any]) -> None:
    report = attach_downtime(build_report(recorded_run()), three())
    downtime = report["downtime"]
    assert [e["name"] for e in downtime["eips"]] == ["api_1", "bad_1", "www_1"]
    www = downtime["eips"][2]
    assert www["segments"][0] == [-1.5, 38.5, "old"] and www["segments"][-1] == [99.1, 125.5, "new"]
    assert (www["maintenance_s"], www["no_page_s"], www["longest_no_page_s"]) == (60.0, 0.6, 0.6)
    assert [e["flip_back_to_old"] for e in downtime["eips"]] == [False, True, False]
    assert downtime["summary"] == (
        "3 EIPs probed: maintenance page for up to 1m00s; no page at all for up to 0.60s (www_1); "
        "1 answered from the OLD cluster after the page: bad_1"
    )
    assert json.loads(json.dumps(report))["downtime"] == downtime, "the JSON keeps it as it is"


def test_the_markdown_opens_with_the_window_then_each_eips_downtime_then_the_phases(
    recorded_run: Callable[..., Any],
) -> None:
    md = render_markdown(attach_downtime(build_report(recorded_run()), three())).splitlines()
    assert md[2].startswith("**Maintenance: window 1m30s")
    assert md[4].startswith("**Downtime (client): 3 EIPs probed: maintenance page for up to 1m00s;")
    rows = [line for line in md if line.startswith("| ") and "198.51.100." in line]
    assert rows == [
        "| api_1 | 198.51.100.10 | 54.0s | 0.00s | 0.00s | old → maintenance → new |",
        "| bad_1 | 198.51.100.11 | 20.0s | 0.00s | 0.00s | old → maintenance → **old** → new |",
        "| www_1 | 198.51.100.12 | 1m00s | 0.60s | 0.60s | old → maintenance → no page (refused) → new |",
    ]
    assert md.index(rows[-1]) < md.index("## Phases")


def test_a_stretch_without_a_page_runs_across_error_kinds(recorded_run: Callable[..., Any]) -> None:
    """During a move to the VPC an EIP answers with resets and closed connections by turns for two minutes:
    one stretch of 2 minutes without a page, not many short ones."""
    flapping = [(0, 40, "old"), (40, 100, "maintenance")]
    flapping += [(100 + n, 101 + n, "reset" if n % 2 else "closed") for n in range(120)]
    flapping += [(220, 221, "timeout"), (221, 230, "new"), (230, 231, "timeout"), (231, 240, "new")]
    eip = attach_downtime(build_report(recorded_run()), record(web_1=flapping))["downtime"]["eips"][0]
    assert eip["longest_no_page_s"] == pytest.approx(121) and eip["no_page_s"] == pytest.approx(122)
    assert eip["answers"] == [
        "old", "maintenance", "no page (closed, reset, timeout)", "new", "no page (timeout)", "new",
    ]  # fmt: skip


def test_without_a_probe_the_report_has_no_downtime(recorded_run: Callable[..., Any]) -> None:
    report = build_report(recorded_run())
    assert "downtime" not in report and "Downtime" not in render_markdown(report)
    assert "What users got" not in render_svg(report)
    empty = render_markdown(
        attach_downtime(build_report(recorded_run()), {"started_at": RUN_STARTED, "eips": {}})
    )
    assert "**Downtime (client): no EIP was probed**" in empty and "| EIP |" not in empty


def test_of_many_eips_the_worst_fifty_are_tabled_and_drawn(
    recorded_run: Callable[..., Any], svg_texts: Callable[[str], str]
) -> None:
    """1,000 EIPs would be a table nobody reads: the flips back and the longest without a page, in name
    order, with the count; the JSON keeps them all."""
    many = {
        f"web_{n:02d}": [(0, 50, "old"), (50, 50 + n / 10, "refused"), (50 + n / 10, 127, "new")]
        for n in range(60)
    }
    many["web_00"] = [(0, 50, "maintenance"), (50, 51, "old"), (51, 127, "new")]  # a flip, never dark
    report = attach_downtime(build_report(recorded_run()), record(**many))
    md = render_markdown(report)
    rows = [line for line in md.splitlines() if line.startswith("| web_")]
    assert "The 50 worst of 60 EIPs (all in the JSON):" in md and len(rows) == 50
    assert (
        rows[0].startswith("| web_00 |")
        and rows[1].startswith("| web_11 |")
        and rows[-1].startswith("| web_59 |")
    )
    texts = svg_texts(render_svg(report))
    assert "What users got, per EIP" in texts and "client, 50 of 60 EIPs" in texts
    assert "web_00" in texts and "web_11" in texts and "web_10" not in texts
    assert len(report["downtime"]["eips"]) == 60


def test_the_svg_draws_one_band_per_eip_under_the_phases_in_a_browser(
    recorded_run: Callable[..., Any], svg_texts: Callable[[str], str], tmp_path: Path
) -> None:
    report = attach_downtime(build_report(recorded_run()), three())
    svg = render_svg(report)
    texts = svg_texts(svg)
    assert "What users got, per EIP" in texts and "client, 3 of 3 EIPs" in texts
    assert all(
        f"{name} 198.51.100.{n}" in texts for n, name in enumerate(["api_1", "bad_1", "www_1"], start=10)
    )
    assert "www_1 198.51.100.12: refused from +1m38s for 0.60s" in texts
    assert "www_1 198.51.100.12: old from -1.50s for 40.0s" in texts
    image = rendered(svg, tmp_path)
    phases = bar_rows(image, "#3c8d2f")
    pages = bar_rows(image, DOWNTIME_COLOURS["maintenance"])
    new = bar_rows(image, DOWNTIME_COLOURS["new"])
    assert len(phases) == 2 and len(pages) == 3 and len(new) == 3, (phases, pages, new)  # phase 3: skipped
    assert max(y for y, _ in phases) < min(y for y, _ in pages), "the EIPs' bands are under the phases"
    assert [y for y, _ in pages] == [y for y, _ in new], "each EIP's page and new cluster on one row"
    lefts = [x for _, x in pages]
    assert lefts[2] < lefts[0] and lefts[1] == lefts[2], f"api_1's page began 5 s after the others': {pages}"


def test_a_written_report_is_rewritten_with_the_probes_record(
    recorded_run: Callable[..., Any], tmp_path: Path, svg_texts: Callable[[str], str]
) -> None:
    paths = write_report(build_report(recorded_run()), str(tmp_path / "20260101T000000Z-full-swap"))
    assert "Downtime" not in Path(paths["md"]).read_text()
    assert add_to_report(paths["json"], three()) == paths
    assert "**Downtime (client): 3 EIPs probed" in Path(paths["md"]).read_text()
    assert "What users got, per EIP" in svg_texts(Path(paths["svg"]).read_text())
    assert json.loads(Path(paths["json"]).read_text())["downtime"]["eips"][0]["name"] == "api_1"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in paths.values())
