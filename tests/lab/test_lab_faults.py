"""Issue 13's faults that only the container lab can make (`make faults`; the rest of the matrix runs against
the simulated AWS in tests/integration/faults): a maintenance server that does not answer, and a new cluster
that fails the office check. Each is a real swap on real hosts, stopped where the runbook must stop it, with
what users saw through every EIP measured by the downtime probe; then the cause is repaired and a rerun
finishes the swap, every EIP live on the new cluster, the window measured across both runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lab.probe import summarize, violations
from tests.lab.helpers import REPO, http_get, in_container, labctl, page_fields, podman
from tests.lab.test_swap_e2e import (
    LATENCY,
    assert_live_on_new_cluster,
    eips_by_holder,
    failed_lines,
    instance_states,
    probe_report,
    swap,
    timeline,
    world,
)

pytestmark = [pytest.mark.faults, pytest.mark.timeout(1500)]  # two swaps each
OLD_CLUSTER = ["old-lb-1", "old-lb-2", "old-web-1", "old-housekeeping-1"]
# an EIP moves from one private IP to another in one AssociateAddress: no gap beyond the association latency,
# the edge's route cache and the probe's own interval (as tests/lab/test_swap_e2e.py)
MAX_NO_PAGE = 1.5


@pytest.fixture(scope="module", autouse=True)
def reseeded_after(lab_session: None) -> Iterator[None]:
    yield
    labctl("seed", "--scenario", "default")


def swap_broken(
    break_it: Callable[[], Any], repair: Callable[[], Any], at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A fresh default world, one swap with the fault made before it (or, with `at`, when a line with that
    text is printed: mid-window), then the fault repaired whatever the swap did."""
    labctl("seed", "--scenario", "default")
    if at is None:
        break_it()
    args = [sys.executable, "-m", "lab.labctl", "swap", "--scenario", "default", "--latency-scale", LATENCY]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_VERBOSITY": "0"}
    lines: list[str] = []
    try:
        with subprocess.Popen(
            args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if at is not None and at in line:
                    break_it()
                    at = None
            rc = proc.wait(timeout=60)
    finally:
        repair()
    assert at is None, "the line to break the cluster at never came:\n" + "".join(lines[-60:])
    return subprocess.CompletedProcess(args, rc, "".join(lines), "")


def assert_safe(expected: str) -> None:
    """playbooks/verify.yml, read-only, on the lab: every safety rule holds, every EIP on `expected`."""
    done = swap(
        "default", "--playbook", "playbooks/verify.yml", "-e", f"clusterswap_verify_expected={expected}"
    )
    assert done.returncode == 0 and "Every safety rule holds." in done.stdout, failed_lines(done.stdout)


def clusters_seen(report: dict[str, Any]) -> dict[str, list[str]]:
    """Per EIP, what an ordinary client got, in order (old, maintenance, new; gaps left out)."""
    seen = {}
    for ip, s in summarize(report).items():
        seen[ip] = [state for state in s["states"] if state in ("old", "maintenance", "new")]
    return seen


def test_a_maintenance_server_that_does_not_answer_stops_the_swap_with_the_site_up(
    lab: dict[str, Any],
) -> None:
    """The maintenance server paused (its container frozen: the connection to it fails, as an instance that
    stopped answering SSH): the swap stops at its first task on the server, before any EIP leaves the old
    cluster, and the site stays up on the old cluster. Unpaused, a rerun does the whole swap."""
    first = swap_broken(lambda: podman("pause", "cs-maint-1"), lambda: podman("unpause", "cs-maint-1"))
    ids = world()["instances"]
    old_holders = {ids["old-lb-1"], ids["old-lb-2"]}
    assert first.returncode != 0, first.stdout[-3000:]
    assert "UNREACHABLE" in first.stdout and "maint-1" in failed_lines(first.stdout), failed_lines(
        first.stdout
    )
    assert "Phase 3" not in first.stdout, "nothing after the maintenance phase ran"
    holders = eips_by_holder()
    assert set(holders.values()) <= old_holders, f"an EIP left the old cluster: {holders}"
    states = instance_states()
    assert all(states[name] == "running" for name in OLD_CLUSTER), states
    for ip in holders:
        assert page_fields(http_get(ip)).get("cluster") == "old", ip
    report = probe_report(first.stdout)
    assert violations(report, MAX_NO_PAGE) == []
    assert all(seen == ["old"] for seen in clusters_seen(report).values()), clusters_seen(report)
    assert_safe("old")

    second = swap("default")
    assert second.returncode == 0, failed_lines(second.stdout)
    assert_live_on_new_cluster(8)
    assert_safe("new")
    report = probe_report(second.stdout)
    assert violations(report, MAX_NO_PAGE) == []
    for ip, seen in clusters_seen(report).items():
        assert seen[0] == "old" and seen[-1] == "new" and "maintenance" in seen, (ip, seen)


def test_a_failed_office_check_stops_before_go_live_on_the_page_then_a_rerun_goes_live(
    lab: dict[str, Any],
) -> None:
    """The new cluster's web server goes down mid-window, once maintenance is on (nginx stopped on
    new-web-1 as the old servers stop: its load balancers answer 502; broken before the swap, maintenance's
    own proof of the office bypass, step 2.3, stops it even earlier, the old cluster still up): the office
    check fails, the swap stops before go-live with every EIP on the maintenance page (users see the page,
    never nothing), saying which check failed. Web server started again, the rerun goes live; the timeline's
    window runs from the first run's opening to the rerun's go-live."""
    first = swap_broken(
        lambda: in_container("cs-new-web-1", "systemctl stop nginx"),
        lambda: in_container("cs-new-web-1", "systemctl start nginx"),
        at="PLAY [Phase 3 | Stop the old ephemeral servers]",
    )
    ids = world()["instances"]
    assert first.returncode != 0, first.stdout[-3000:]
    assert "Stop before go-live: the new cluster failed the office checks" in first.stdout, failed_lines(
        first.stdout
    )
    assert "front page answers from the new cluster" in failed_lines(first.stdout), failed_lines(first.stdout)
    assert "Phase 6" not in first.stdout, "go-live did not run"
    holders = eips_by_holder()
    assert set(holders.values()) == {ids["maint-1"]}, f"every EIP stays on the maintenance page: {holders}"
    for ip in holders:
        assert page_fields(http_get(ip)).get("cluster") != "old", ip
    report = probe_report(first.stdout)
    assert violations(report, MAX_NO_PAGE) == []
    for ip, seen in clusters_seen(report).items():
        assert seen[0] == "old" and seen[-1] == "maintenance" and "new" not in seen, (ip, seen)
    states = instance_states()
    assert all(states[name] == "stopped" for name in OLD_CLUSTER), states
    assert_safe("maintenance")

    started = time.monotonic()
    second = swap("default")
    rerun_s = time.monotonic() - started
    assert second.returncode == 0, failed_lines(second.stdout)
    assert_live_on_new_cluster(8)
    assert_safe("new")
    report = probe_report(second.stdout)
    assert violations(report, MAX_NO_PAGE) == []
    for ip, seen in clusters_seen(report).items():
        assert seen[0] == "maintenance" and seen[-1] == "new" and "old" not in seen, (ip, seen)
    window = timeline(second.stdout)["window"]
    assert window["state"] == "closed", window
    assert (window["opened_before_run_s"] or 0) > 0 and window["duration_s"] > rerun_s, window
