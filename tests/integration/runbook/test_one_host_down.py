"""One host of a play failed or not answering stops the whole swap, before the next play changes anything.

Ansible's own behaviour (ansible-core 2.19, measured here by running it): without `any_errors_fatal` the other
hosts go on (a `run_once` task such as the EIPs' move to the maintenance servers runs) and so does the next
play; with it, a host that *fails* stops the whole run, but a host that does *not answer* only ends the play:
the next play (`hosts: localhost`: V.1, the stop of the old cluster) still runs. `max_fail_percentage: 0`
beside it stops the run in both cases, but also ends the play after the first task of a rescue. So every play
on hosts has both keywords, except the maintenance servers' play, whose configuration has a rescue (the
backups put back): it tells the controller which servers began and which finished, and the next play's first
task stops the swap when they differ. These tests run the real plays' keywords, and the real guard, against an
inventory of one host that answers and one that does not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
PYTHON = REPO / ".venv" / "bin" / "python"
# The plays on hosts whose tasks have a rescue, and the guard that stands for max_fail_percentage there.
GUARDED = {("playbooks/maintenance-page.yml", "Phase 2 | Maintenance on")}


def plays() -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for path in sorted((REPO / "playbooks").glob("*.yml")):
        for index, play in enumerate(yaml.safe_load(path.read_text()) or []):
            if "hosts" in play:
                found.append((str(path.relative_to(REPO)), index, play))
    return found


def host_plays() -> list[tuple[str, int, dict[str, Any]]]:
    return [p for p in plays() if p[2]["hosts"] != "localhost"]


def test_every_play_on_hosts_stops_the_run_when_one_host_fails() -> None:
    assert len(host_plays()) > 15, "the measurement sees the storage, rollback and maintenance plays"
    for path, _, play in host_plays():
        where = f"{path}: {play['name']!r}"
        assert play.get("any_errors_fatal") is True, f"{where} lacks any_errors_fatal: true"
        if (path, play["name"]) in GUARDED:
            assert "max_fail_percentage" not in play, f"{where}: it would cut its rescue short"
        else:
            assert play.get("max_fail_percentage") == 0, f"{where} lacks max_fail_percentage: 0"


INVENTORY = """\
[servers]
answers ansible_connection=local ansible_python_interpreter={python}
silent ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh
"""


def run(tmp_path: Path, playbook: list[dict[str, Any]], hosts: str = "answers,silent") -> str:
    (tmp_path / "inventory.ini").write_text(INVENTORY.format(python=PYTHON))
    (tmp_path / "playbook.yml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "False"}
    env.pop("ANSIBLE_CONFIG", None)
    cmd = [str(ANSIBLE_PLAYBOOK), "-i", "inventory.ini", "-l", hosts + ",localhost", "playbook.yml"]
    done = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return done.stdout + done.stderr


def marker(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ansible.builtin.debug": {"msg": name}, **extra}


def host_play(keywords: dict[str, Any], tasks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    play = {"name": "on the servers", "hosts": "servers", "gather_facts": False}
    play.update({k: keywords[k] for k in ("any_errors_fatal", "max_fail_percentage") if k in keywords})
    return {**play, **extra, "tasks": tasks}


NEXT = {"name": "next", "hosts": "localhost", "gather_facts": False, "tasks": [marker("NEXT_PLAY_RAN")]}


@pytest.mark.parametrize("fault", ["fails", "does not answer"])
def test_a_storage_play_stops_the_run(tmp_path: Path, fault: str) -> None:
    path, _, play = next(p for p in host_plays() if p[0] == "playbooks/storage-move.yml")
    first: dict[str, Any] = {"name": "first", "ansible.builtin.ping": {}}
    if fault == "fails":  # the silent host is reached locally here, and fails
        first = {
            "name": "first",
            "ansible.builtin.fail": {"msg": "boom"},
            "when": "inventory_hostname == 'silent'",
        }
        first["vars"] = {"ansible_connection": "local", "ansible_python_interpreter": str(PYTHON)}
    out = run(tmp_path, [host_play(play, [first, marker("RUN_ONCE_RAN", run_once=True)]), NEXT])
    assert "RUN_ONCE_RAN" not in out and "NEXT_PLAY_RAN" not in out, f"{path} {play['name']!r}:\n{out}"


def test_without_the_keywords_the_run_goes_on(tmp_path: Path) -> None:
    """The measurement can fail: Ansible's default, and any_errors_fatal alone, let the next play run."""
    tasks = [{"name": "first", "ansible.builtin.ping": {}}, marker("RUN_ONCE_RAN", run_once=True)]
    out = run(tmp_path, [host_play({}, tasks), NEXT])
    assert "RUN_ONCE_RAN" in out and "NEXT_PLAY_RAN" in out, out
    out = run(tmp_path, [host_play({"any_errors_fatal": True}, tasks), NEXT])
    assert "RUN_ONCE_RAN" not in out and "NEXT_PLAY_RAN" in out, out


def maintenance_playbook() -> list[dict[str, Any]]:
    """maintenance-page.yml's host play (its pre- and post-tasks as written, the role replaced by a first task
    that connects and a run_once task standing for the EIPs' move) and its next play's guard, as written."""
    source = yaml.safe_load((REPO / "playbooks" / "maintenance-page.yml").read_text())
    hosts = next(p for p in source if p.get("hosts") == "maintenance")
    guard = next(p for p in source if p.get("hosts") == "localhost")["tasks"][0]
    assert "assert" in next(iter(k for k in guard if k.endswith("assert"))), guard
    tasks = [{"name": "connects", "ansible.builtin.ping": {}}, marker("EIPS_MOVED", run_once=True)]
    play = host_play(hosts, tasks, pre_tasks=hosts["pre_tasks"], post_tasks=hosts["post_tasks"])
    after = {
        "name": "next",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [guard, marker("NEXT_PLAY_RAN")],
    }
    return [play, after]


def test_a_maintenance_server_that_does_not_answer_stops_the_swap_at_the_guard(tmp_path: Path) -> None:
    out = run(tmp_path, maintenance_playbook())
    assert "EIPS_MOVED" not in out, out
    assert "NEXT_PLAY_RAN" not in out, out
    said = out.split("The play on the maintenance servers ended before ", 1)[-1].split(" finished", 1)[0]
    assert sorted(said.split(", ")) == ["answers", "silent"], out


def test_every_maintenance_server_answering_passes_the_guard(tmp_path: Path) -> None:
    out = run(tmp_path, maintenance_playbook(), "answers")
    assert "EIPS_MOVED" in out and "NEXT_PLAY_RAN" in out, out
