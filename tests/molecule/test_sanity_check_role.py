"""The sanity_check role, run by ansible-playbook on the controller against a real local HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
OFFICE = "127.10.0.7"


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.clients: list[str] = []


class Handler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.clients.append(self.client_address[0])
        status, body = {"/": (200, b"PythonAnywhere new cluster"), "/login/": (302, b"")}.get(
            self.path, (404, b"not found")
        )
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[Site]:
    srv = Site()
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def run_role(tmp_path: Path, role_vars: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Office check\n  hosts: localhost\n  gather_facts: false\n  roles: [sanity_check]\n"
    )
    varsfile = tmp_path / "vars.json"
    varsfile.write_text(json.dumps(role_vars))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
        "ANSIBLE_NOCOLOR": "1",
    }
    return subprocess.run(
        [str(REPO / ".venv/bin/ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", f"@{varsfile}", "-e", "ansible_python_interpreter=" + str(REPO / ".venv/bin/python"), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def checks(site: Site, broken: bool = False) -> dict[str, Any]:
    base = f"http://127.0.0.1:{site.server_address[1]}"
    items: list[dict[str, Any]] = [
        {"name": "front page", "path": "/", "text": "PythonAnywhere"},
        {"name": "login redirects", "url": base + "/login/", "status": [302]},
    ]
    if broken:
        items += [
            {"name": "help pages", "path": "/help/"},
            {"name": "front page says new", "path": "/", "text": "old cluster"},
        ]
    return {
        "sanity_check_checks": items,
        "sanity_check_base_url": base,
        "sanity_check_source_address": OFFICE,
        "sanity_check_retries": 1,
        "sanity_check_delay": 0,
    }


def test_passing_checks_go_through_from_the_office_address(site: Site, tmp_path: Path) -> None:
    proc = run_role(tmp_path, checks(site))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 office check(s) passed" in proc.stdout
    assert set(site.clients) == {OFFICE}


def test_failures_stop_the_run_listing_every_failure_and_the_rollback(site: Site, tmp_path: Path) -> None:
    proc = run_role(tmp_path, checks(site, broken=True))
    out = proc.stdout.replace("\\n", "\n")
    assert proc.returncode == 2, out
    assert "Office check FAILED: 2 of 4 check(s) failed" in out
    assert "help pages" in out and "status 404, expected one of [200]" in out
    assert "front page says new" in out and "'old cluster' not in body" in out
    assert f"from {OFFICE}" in out
    assert "ansible-playbook playbooks/rollback.yml -i localhost," in out


def test_check_mode_reports_failures_without_stopping(site: Site, tmp_path: Path) -> None:
    proc = run_role(tmp_path, checks(site, broken=True), "--check")
    assert proc.returncode == 0, proc.stdout
    assert "Office check FAILED: 2 of 4" in proc.stdout.replace("\\n", "\n")


def test_no_checks_is_an_error_that_says_what_to_set(tmp_path: Path) -> None:
    proc = run_role(tmp_path, {"sanity_check_checks": []})
    assert proc.returncode == 2
    assert "set clusterswap_office_checks in the inventory" in proc.stdout
