"""The lab's container hosts answer as their instances, and follow their instances' state."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from lab.hosts.world import HOSTS
from tests.lab.helpers import REPO, ec2, in_container, instance_state, podman, wait_for

NGINX_ROLES = {"lb", "web", "maintenance"}


def _proxied_whoami(ip: str, client: str) -> dict[str, str]:
    """Ask a container's nginx directly, as the edge does (PROXY protocol header first)."""
    import socket

    with socket.create_connection((ip, 80), timeout=5) as sock:
        sock.sendall(
            f"PROXY TCP4 {client} 127.100.9.9 40000 80\r\nGET /_lab/whoami HTTP/1.0\r\n\r\n".encode()
        )
        raw = b""
        while data := sock.recv(4096):
            raw += data
    body = raw.decode().split("\r\n\r\n", 1)[1]
    return dict(part.split("=", 1) for part in body.split() if "=" in part)


def test_each_container_answers_as_its_instance(lab: dict[str, Any]) -> None:
    tagged = {}
    for res in ec2().describe_instances()["Reservations"]:
        for inst in res["Instances"]:
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            if "lab:host" in tags:
                tagged[tags["lab:host"]] = tags
    assert set(tagged) == {h.container for h in HOSTS}
    for host in HOSTS:
        assert podman("container", "inspect", "-f", "{{.State.Status}}", host.container).strip() == "running"
        assert in_container(host.container, "hostname").strip() == host.name
        assert tagged[host.container]["Name"] == host.name
        assert tagged[host.container]["clusterswap:cluster"] == host.cluster
        if host.role in NGINX_ROLES:
            who = _proxied_whoami(host.ip, "127.10.0.77")
            assert who == {
                "cluster": host.cluster,
                "host": host.name,
                "role": host.role,
                "client": "127.10.0.77",
            }


def test_containers_are_reachable_with_the_podman_connection(lab: dict[str, Any]) -> None:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    ansible = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", ".venv", "bin", "ansible")
    proc = subprocess.run(
        [ansible if os.path.exists(ansible) else "ansible", "-i", "inventories/lab", "lab_hosts",
         "-m", "command", "-a", "hostname"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for host in HOSTS:
        assert f"{host.name} | CHANGED | rc=0 >>\n{host.name}\n" in proc.stdout, proc.stdout


def test_stopping_an_instance_stops_its_container(lab: dict[str, Any]) -> None:
    host = "new-housekeeping-1"
    instance_id = lab["instances"][host]
    container = f"cs-{host}"
    ec2().stop_instances(InstanceIds=[instance_id])
    wait_for("instance stopped", lambda: instance_state(instance_id) == "stopped")
    wait_for("container stopped", lambda: podman("container", "inspect", "-f", "{{.State.Status}}", container)
             .strip() in ("exited", "stopped"))  # fmt: skip
    ec2().start_instances(InstanceIds=[instance_id])
    wait_for("instance running", lambda: instance_state(instance_id) == "running")
    wait_for("container running", lambda: podman("container", "inspect", "-f", "{{.State.Status}}", container)
             .strip() == "running")  # fmt: skip
    assert in_container(container, "hostname").strip() == host
