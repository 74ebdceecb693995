"""lab/bench.py's tables (`make bench`), from rows as a swap and tests/bench/eip_bench.py give them."""

from __future__ import annotations

import pytest

from lab.bench import eip_table, silences, swap_table


def test_the_swap_table_gives_window_path_ratio_downtime_and_calls_with_the_chain_in_words() -> None:
    row = {
        "scenario": "vpc-day", "rc": 0, "status": "ok", "window_s": 872.0, "critical_path_s": 617.0,
        "ratio": 1.413, "chain": ["maintenance on 40.0s", "RDS into the VPC 7m31s", "go live 1.00s"],
        "outside_steps_s": 24.0, "serial_s": 872.0, "eips": 24, "longest_no_page_s": 118.2,
        "longest_no_page_eip": "web-3",
        "flips": [], "calls": 1200, "throttled": 3, "base": "vpc-day", "baseline": False,
        "long_tasks": [
            {"task": "nginx", "duration_s": 30.0, "longest_s": 20.0, "wait": False},
            {"task": "rds : 4.3 | RDS | Wait", "duration_s": 454.0, "longest_s": 10.4, "wait": True},
            {"task": "ebs : detach", "duration_s": 16.0, "longest_s": 9.0, "wait": True},
        ],
    }  # fmt: skip
    lines = swap_table([row], 1.0)
    assert lines[0] == "### The swap on the lab (latency scale 1; `make bench`)"
    assert lines[4] == (
        "| vpc-day | ok (rc 0) | 14m32s | 10m17s | 1.41 | 24.0s | 14m32s | 24 | 1m58s (web-3) | none"
        " | 1200 | 3 | 10.4s (rds : 4.3 | RDS | Wait) |"
    )
    assert lines[-3:-1] == [
        "- vpc-day: waits of 15 s or more: rds : 4.3 | RDS | Wait 7m34s, silent 10.4s at most; ebs : detach"
        " 16.0s, silent 9.00s at most",
        "- vpc-day: other tasks (no progress line: work, not a wait) of 15 s or more: nginx 30.0s, silent"
        " 20.0s at most",
    ]
    assert (
        lines[-1] == "- vpc-day: critical path maintenance on 40.0s → RDS into the VPC 7m31s → go live 1.00s"
    )


def test_the_vpc_day_against_its_baseline_in_checklist_order_says_how_many_times_shorter() -> None:
    common = {"rc": 0, "status": "ok", "ratio": 1.0, "chain": [], "outside_steps_s": 1.0, "serial_s": 1.0,
              "eips": 24, "longest_no_page_s": 100.0, "longest_no_page_eip": "web-3", "flips": [], "calls": 1,
              "throttled": 0, "critical_path_s": 500.0, "base": "vpc-day"}  # fmt: skip
    run = {**common, "scenario": "vpc-day", "window_s": 520.0, "baseline": False}
    baseline = {**common, "scenario": "vpc-day (checklist order)", "window_s": 881.0, "baseline": True}
    lines = swap_table([run, baseline], 1.0)
    assert lines[-1] == "- vpc-day: window 8m40s, 1.69x shorter than in checklist order (14m41s)"
    assert swap_table([run], 1.0)[-1].startswith("- vpc-day: critical path"), "no baseline, no line"


def test_the_eip_table_gives_each_phase_against_its_rate_limit_floor_and_its_describe_calls() -> None:
    result = {
        "form": "vpc", "count": 200, "scale": 1.0,
        "phases": [
            {"phase": "pre-flight", "seconds": 0.5, "calls": 7, "throttled": 0, "floor": 0.0,
             "by_operation": {"DescribeAddresses": 1, "DescribeInstances": 2, "AssociateAddress": 4}},
            {"phase": "go-live", "seconds": 39.4, "calls": 234, "throttled": 26, "floor": 35.4,
             "by_operation": {"AssociateAddress": 227, "DescribeAddresses": 7}},
        ],
    }  # fmt: skip
    lines = eip_table([result])
    assert lines[4:] == [
        "| vpc | 200 | pre-flight | 0.5 | 0.0 | - | 7 | 3 | 0 |",
        "| vpc | 200 | go-live | 39.4 | 35.4 | 1.11 | 234 | 7 | 26 |",
    ]


def test_silences_give_each_long_task_its_longest_stretch_without_output_the_longest_first() -> None:
    """Issue 14's measure on ansible-playbook's output: a header starts a task, a wait's progress lines break
    its silence, and the silence before the next header (the result printed late) counts too."""
    lines = [
        (0.0, "PLAY [Step 4] ****"),
        (1.0, "TASK [rds_move_to_vpc : 4.3 | RDS | Wait for the moves] ****"),
        (13.0, "  [localhost] RDS moves: 0/2 done after 12.0s of at most 900s"),
        (25.0, "  [localhost] RDS moves: 1/2 done after 24.0s of at most 900s"),
        (26.0, ""),  # an empty line is no progress
        (44.0, "changed: [localhost]"),
        (44.5, "TASK [quick] ****"),
        (45.0, "ok: [localhost]"),
        (45.2, "TASK [ebs_move : detach] ****"),
        (62.2, "ok: [localhost]"),
        (62.3, "PLAY RECAP ****"),
    ]
    found = silences(lines)
    assert [(t["task"], t["duration_s"], t["longest_s"], t["wait"]) for t in found] == [
        ("rds_move_to_vpc : 4.3 | RDS | Wait for the moves", 43.5, 19.0, True),
        ("ebs_move : detach", pytest.approx(17.1), pytest.approx(17.0), False),
    ]
    assert silences(lines, longer_than=100.0) == []
