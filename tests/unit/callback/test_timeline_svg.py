"""Tests of plugin_utils/timeline/canvas.py and svg.py: the report as a standalone SVG."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.canvas import (
    LABEL_WIDTH,
    tick_label,
    tick_step,
)
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import build_report
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.svg import render_svg
from PIL import Image

Recorded = Callable[..., Timeline]
Texts = Callable[[str], str]


def test_tick_step_keeps_ten_ticks_or_fewer() -> None:
    for span in (0.5, 3, 59, 600, 2400, 7200, 90_000):
        step = tick_step(span)
        assert span / step <= 10
    assert tick_label(90) == "1m30s"
    assert tick_label(1200) == "20m"
    assert tick_label(3900) == "1h05m"


def test_svg_is_standalone_xml_with_awkward_names(recorded_run: Recorded, svg_texts: Texts) -> None:
    tl = recorded_run()
    tl.phases[0].name = 'Phase 1 | <Pre-flight> & "quotes"'
    svg = render_svg(build_report(tl))
    texts = svg_texts(svg)
    assert 'Phase 1 | <Pre-flight> & "quotes"' in texts
    assert "maintenance window 1m30s, within 2 min budget" in texts
    assert "href" not in svg and "<image" not in svg and "@import" not in svg


def test_svg_of_failed_check_mode_run(recorded_run: Recorded, svg_texts: Texts) -> None:
    texts = svg_texts(render_svg(build_report(recorded_run(fail_in_phase_two=True), check_mode=True)))
    assert "CHECK MODE" in texts
    assert "not run" in texts
    assert "stopped (failed)" in texts


def test_svg_leaves_out_phases_with_nothing_to_do(recorded_run: Recorded) -> None:
    svg = render_svg(build_report(recorded_run(), default_budget=20, slowest=1))
    assert "Post-live check" not in svg and "Go live" in svg


def test_the_svg_renders_in_a_browser_as_a_gantt_of_the_phases(
    recorded_run: Recorded, tmp_path: Path
) -> None:
    """Headless Chromium draws the SVG as a person sees it: one bar per phase in its status's colour, each
    starting where the one before started or later (the phases in time order), and the window's band."""
    report = build_report(recorded_run(fail_in_phase_two=True))
    image = rendered(render_svg(report), tmp_path)
    bars = {status: bar_rows(image, colour) for status, colour in (("ok", "#3c8d2f"), ("failed", "#c0392b"))}
    shown = [p for p in report["phases"] if p["status"] != "skipped"]
    assert [len(bars[s]) for s in ("ok", "failed")] == [
        sum(p["status"] == s for p in shown) for s in ("ok", "failed")
    ], bars
    rows = sorted(bars["ok"] + bars["failed"])  # (top y, left x) of each bar, top to bottom
    lefts = [x for _, x in rows]
    assert lefts == sorted(lefts) and lefts[0] < lefts[-1], f"the bars are not in time order: {rows}"
    band = bar_rows(image, "#2e86c1", alpha=0.14)
    assert band, "the maintenance window's band is drawn"


def rendered(svg_text: str, tmp_path: Path) -> Image.Image:
    """The SVG as headless Chromium draws it (1100 pixels wide, as tall as the SVG)."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: run `make host-deps` (make test does)"
    svg = tmp_path / "timeline.svg"
    svg.write_text(svg_text)
    png = tmp_path / "timeline.png"
    height = int(float(svg_text.split(' height="', 1)[1].split('"', 1)[0]))
    argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    proc = subprocess.run(
        [*argv, f"--window-size=1100,{height}", f"--screenshot={png}", svg.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and png.exists(), proc.stderr[-2000:]
    return Image.open(png).convert("RGB")


def bar_rows(image: Image.Image, colour: str, alpha: float = 1.0) -> list[tuple[int, int]]:
    """(top y, leftmost x) of each band of `colour` (over white at `alpha`) right of the labels, at least 6
    pixels tall and 20 wide without a break: the bars and the window, not the legend's swatches or text."""
    rgb = tuple(round(255 - alpha * (255 - int(colour[i : i + 2], 16))) for i in (1, 3, 5))
    width, height = image.size
    pixels = image.load()
    found, run, top, left = [], 0, 0, width
    for y in range(height):
        start, best, best_left = None, 0, width
        for x in range(LABEL_WIDTH - 5, width):
            if all(abs(pixels[x, y][c] - rgb[c]) <= 8 for c in range(3)):
                start = x if start is None else start
                if x - start + 1 > best:
                    best, best_left = x - start + 1, start
            else:
                start = None
        if best >= 20:
            top, left = (y, best_left) if run == 0 else (top, min(left, best_left))
            run += 1
        elif run:
            if run >= 6:
                found.append((top, left))
            run, left = 0, width
    return found
