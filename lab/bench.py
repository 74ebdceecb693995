"""`make bench`: the swap on the lab at AWS's real durations, and the EIP phases on the simulator at scale.

    python -m lab.bench [--scenarios default vpc-day] [--latency-scale 1] [--no-baseline]
                        [--eips vpc:24,200,1000 classic:24,200]

For each scenario: a fresh world (`labctl seed`), then `labctl swap` at the latency scale (1: the durations
of lab/latency.yml, AWS's), and from its timeline report: the window, its critical path and chain, the
window's ratio to it, what users got through the EIPs (the downtime probe: the longest time any EIP gave no
page at all, any EIP that answered from the old cluster after the page), the AWS calls of the run and how
many AWS throttled, and the run's longest silence: of every task that ran 15 s or more, the longest time
its output printed nothing (issue 14: a wait prints a progress line at least every 15 s, at the default
verbosity, as ansible-playbook shows it). The VPC day runs twice: as full-swap.yml runs it, and in the
checklist's order, one step after the other (`clusterswap_rds_early=false`, the page on the Classic
fleet so that the EIPs move after the office check), the baseline its window is measured against.
Then tests/bench/eip_bench.py: the EIP phases alone on the simulator (no container hosts) at each count, with
AWS's throttling on, their wall time against the rate-limit floor. Prints both tables in Markdown and writes
them to reports/<UTC time>-bench.md. Needs the lab's setup (`make swap` once) and root, as the lab does.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.timefmt import fmt_duration

from lab.labctl import REPO, lab_api

EIP_BENCH = REPO / "tests" / "bench" / "eip_bench.py"


def labctl(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "lab.labctl", *args], cwd=REPO, check=False).returncode


def labctl_timed(*args: str) -> tuple[int, list[tuple[float, str]]]:
    """labctl with its output shown as it comes, each line stamped with when it arrived (monotonic)."""
    cmd = [sys.executable, "-u", "-m", "lab.labctl", *args]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append((time.monotonic(), line.rstrip("\n")))
        sys.stdout.write(line)
    return proc.wait(), lines


#: Issue 14's bar: a task that waits prints something at least this often (seconds).
SILENCE_BAR = 15.0
#: The lines of ansible-playbook's default output that begin a task, a handler or a play.
HEADERS = ("TASK [", "RUNNING HANDLER [", "PLAY [", "PLAY RECAP")
#: A progress line of a waiting module (plugin_utils/progress.py shows wait_until's lines so).
PROGRESS = re.compile(r"^  \[[^\]]+\] .+: \d+/\d+ done after ")


def silences(lines: list[tuple[float, str]], longer_than: float = SILENCE_BAR) -> list[dict[str, Any]]:
    """Each task of an ansible-playbook output that ran `longer_than` seconds or more (header to the next
    header): its name, duration, longest stretch without a printed line, and whether it is a wait (it printed
    a progress line), the longest silence first."""
    tasks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for at, text in lines:
        if text.startswith(HEADERS):
            if current is not None:
                current["longest_s"] = max(current["longest_s"], at - current.pop("last"))
                current["duration_s"] = at - current.pop("start")
                tasks.append(current)
            current = None
            if text.startswith(HEADERS[:2]):
                name = text[text.index("[") + 1 : text.rindex("]")]
                current = {"task": name, "start": at, "last": at, "longest_s": 0.0, "wait": False}
        elif current is not None and text.strip():
            current["longest_s"] = max(current["longest_s"], at - current["last"])
            current["last"] = at
            current["wait"] = current["wait"] or bool(PROGRESS.match(text))
    long = [t for t in tasks if t["duration_s"] >= longer_than]
    return sorted(long, key=lambda t: -t["longest_s"])


def timeline_since(since: float) -> dict[str, Any]:
    """The full-swap timeline report written after `since` (with the probe's record, labctl adds it)."""
    runs = [p for p in (REPO / "reports").glob("*-full-swap*.json") if p.stat().st_mtime >= since]
    if not runs:
        raise SystemExit(f"bench: no timeline report in {REPO / 'reports'} since the swap started")
    return json.loads(max(runs, key=lambda p: p.stat().st_mtime).read_text())  # type: ignore[no-any-return]


#: A scenario's baseline: the same swap in the checklist's order, one step after the other (the VPC day: the
#: RDS moves after Postgres, the page on the Classic fleet alone, so the EIPs move after the office check).
CLASSIC_FLEET = {"clusterswap_maintenance_instances": [f"maint-{n}" for n in range(1, 25)]}
SERIAL = {"vpc-day": ["clusterswap_rds_early=false", json.dumps(CLASSIC_FLEET)]}


def swap_row(scenario: str, scale: float, extra_vars: list[str] | None = None) -> dict[str, Any]:
    if labctl("seed", "--scenario", scenario, "--latency-scale", str(scale)):
        raise SystemExit(f"bench: seeding {scenario} failed")
    since = time.time()
    extra = [arg for value in extra_vars or [] for arg in ("-e", value)]
    rc, lines = labctl_timed("swap", "--scenario", scenario, "--latency-scale", str(scale), *extra)
    report = timeline_since(since)
    quiet = silences(lines)
    totals = lab_api("/_lab/api-stats").get("totals", {})
    path = report.get("critical_path") or {}
    eips = (report.get("downtime") or {}).get("eips", [])
    worst = max(eips, key=lambda e: e["longest_no_page_s"], default=None)
    return {
        "scenario": scenario + (" (checklist order)" if extra_vars else ""),
        "base": scenario,
        "baseline": bool(extra_vars),
        "rc": rc,
        "status": report["status"],
        "window_s": report["window"]["duration_s"],
        "critical_path_s": path.get("duration_s"),
        "ratio": path.get("window_ratio"),
        "chain": [f"{link['label']} {fmt_duration(link['duration_s'])}" for link in path.get("chain", [])],
        "outside_steps_s": path.get("outside_steps_s"),
        "serial_s": path.get("serial_s"),
        "eips": len(eips),
        "longest_no_page_s": worst["longest_no_page_s"] if worst else None,
        "longest_no_page_eip": worst["name"] if worst else None,
        "flips": [e["name"] for e in eips if e["flip_back_to_old"]],
        "calls": totals.get("calls"),
        "throttled": totals.get("throttled"),
        "report": report.get("report", {}).get("md"),
        "long_tasks": quiet,
    }


def swap_table(rows: list[dict[str, Any]], scale: float) -> list[str]:
    lines = [
        f"### The swap on the lab (latency scale {scale:g}; `make bench`)",
        "",
        "| scenario | status | window | critical path | window / path | outside any step | steps in series"
        " | EIPs | longest without any page | back to old after the page | AWS calls | throttled"
        f" | longest silence in a wait (bar {SILENCE_BAR:g} s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "-"
        dark = (
            "-"
            if not r["eips"]
            else "never"
            if not r["longest_no_page_s"]
            else (f"{fmt_duration(r['longest_no_page_s'])} ({r['longest_no_page_eip']})")
        )
        lines.append(
            f"| {r['scenario']} | {r['status']} (rc {r['rc']}) | {fmt_duration(r['window_s'])}"
            f" | {fmt_duration(r['critical_path_s'])} | {ratio} | {fmt_duration(r['outside_steps_s'])}"
            f" | {fmt_duration(r['serial_s'])} | {r['eips']} | {dark} | {', '.join(r['flips']) or 'none'}"
            f" | {r['calls']} | {r['throttled']} | {silence_text(r.get('long_tasks', []))} |"
        )
    lines.append("")
    for r in rows:
        for waits, kind in ((True, "waits"), (False, "other tasks (no progress line: work, not a wait)")):
            tasks = "; ".join(
                f"{t['task']} {fmt_duration(t['duration_s'])}, silent {fmt_duration(t['longest_s'])} at most"
                for t in r.get("long_tasks", [])
                if t["wait"] == waits
            )
            lines.append(f"- {r['scenario']}: {kind} of {SILENCE_BAR:g} s or more: {tasks or 'none'}")
    lines += [f"- {r['scenario']}: critical path {' → '.join(r['chain']) or '-'}" for r in rows]
    lines += speedups(rows)
    return lines


def silence_text(tasks: list[dict[str, Any]]) -> str:
    """The longest silence of the waits that ran long, and its task, or '-' when none ran that long."""
    waits = [t for t in tasks if t["wait"]]
    if not waits:
        return "-"
    worst = waits[0]
    return f"{fmt_duration(worst['longest_s'])} ({worst['task']})"


def speedups(rows: list[dict[str, Any]]) -> list[str]:
    """How many times shorter each scenario's window is than its baseline's (checklist order), same run."""
    runs = {r["base"]: r for r in rows if not r["baseline"]}
    out = []
    for base in (r for r in rows if r["baseline"]):
        run = runs.get(base["base"])
        if run and run["window_s"] and base["window_s"]:
            times = base["window_s"] / run["window_s"]
            out.append(
                f"- {base['base']}: window {fmt_duration(run['window_s'])}, {times:.2f}x shorter than in"
                f" checklist order ({fmt_duration(base['window_s'])})"
            )
    return out


def eip_table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "### The EIP phases alone on the simulator (AWS's latencies and throttling)",
        "",
        "| form | EIPs | phase | wall s | rate-limit floor s | wall / floor | calls | describe calls"
        " | throttled |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for p in result["phases"]:
            ratio = f"{p['seconds'] / p['floor']:.2f}" if p["floor"] else "-"
            describes = sum(n for op, n in p["by_operation"].items() if op.startswith("Describe"))
            lines.append(
                f"| {result['form']} | {result['count']} | {p['phase']} | {p['seconds']:.1f}"
                f" | {p['floor']:.1f} | {ratio} | {p['calls']} | {describes} | {p['throttled']} |"
            )
    return lines


def eip_results(specs: list[str], scale: float) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for spec in specs:
        form, _, counts = spec.partition(":")
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            argv = [sys.executable, str(EIP_BENCH), "--forms", form, "--scale", str(scale)]
            argv += ["--json", out.name, "--counts", *counts.split(",")]
            if subprocess.run(argv, cwd=REPO, check=False).returncode:
                raise SystemExit(f"bench: {' '.join(argv)} failed")
            results += json.loads(Path(out.name).read_text())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="*", default=["default", "vpc-day"])
    parser.add_argument("--latency-scale", type=float, default=1.0)
    parser.add_argument("--eips", nargs="*", default=["vpc:24,200,1000", "classic:24,200"])
    parser.add_argument("--out", type=Path, help="default: reports/<UTC time>-bench.md")
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the VPC day's baseline in checklist order (RDS after Postgres, EIPs after office check)",
    )
    args = parser.parse_args(argv)
    started = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    rows = []
    for scenario in args.scenarios:
        rows.append(swap_row(scenario, args.latency_scale))
        if args.baseline and scenario in SERIAL:
            rows.append(swap_row(scenario, args.latency_scale, SERIAL[scenario]))
    lines = [f"## make bench ({started})", ""]
    if rows:
        lines += [*swap_table(rows, args.latency_scale), ""]
    if args.eips:
        lines += eip_table(eip_results(args.eips, args.latency_scale))
    text = "\n".join(lines) + "\n"
    out = args.out or REPO / "reports" / f"{started}-bench.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text + f"\nbench: {out}")
    return 1 if any(r["rc"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
