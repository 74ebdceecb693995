"""The lab's container hosts are the simulated instances: one per instance tagged `lab:host`, on the networks
of the instances' subnets, answering on exactly the private IPs (and with the MACs) the instances have, and
reaching each other by private IP; they follow their instances' state."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from typing import Any

from tests.lab.helpers import (
    REPO,
    ec2,
    in_container,
    instance_state,
    podman,
    proxied_whoami,
    topology,
    wait_for,
)

NGINX_ROLES = {"lb", "web", "maintenance"}


def _tagged() -> dict[str, dict[str, str]]:
    tagged = {}
    for res in ec2().describe_instances()["Reservations"]:
        for inst in res["Instances"]:
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            if "lab:host" in tags:
                tagged[tags["lab:host"]] = tags
    return tagged


def _os_addresses(container: str) -> dict[str, set[str]]:
    """{MAC: {IPv4 addresses of global scope}} inside the container."""
    links = json.loads(in_container(container, "ip -j addr show"))
    out: dict[str, set[str]] = {}
    for link in links:
        ips = {
            a["local"] for a in link.get("addr_info", []) if a["family"] == "inet" and a["scope"] == "global"
        }
        if ips:
            out[link["address"]] = ips
    return out


def test_each_container_answers_as_its_instance(lab: dict[str, Any]) -> None:
    topo = topology()
    tagged = _tagged()
    assert {h.container for h in topo.hosts} == set(tagged) and tagged
    for host in topo.hosts:
        assert podman("container", "inspect", "-f", "{{.State.Status}}", host.container).strip() == "running"
        assert in_container(host.container, "hostname").strip() == host.name
        assert tagged[host.container]["Name"] == host.name
        assert tagged[host.container]["clusterswap:cluster"] == host.cluster
        if host.role in NGINX_ROLES:
            for ip in host.private_ips:
                who = proxied_whoami(ip, "127.10.0.77")
                assert who == {
                    "cluster": host.cluster,
                    "host": host.name,
                    "role": host.role,
                    "client": "127.10.0.77",
                    "addr": ip,
                }, (host.name, ip)


def test_each_container_has_exactly_its_instances_private_ips_and_macs(lab: dict[str, Any]) -> None:
    topo = topology()
    for host in topo.hosts:
        got = _os_addresses(host.container)
        if host.platform == "vpc":
            want = {eni.mac_address: set(eni.private_ips) for eni in host.interfaces}
        else:  # EC2-Classic: one address, no MAC in the API (podman picks one)
            want = {mac: {host.ip} for mac in got}
            assert len(got) == 1
        assert got == want, host.name
        assert {ip for ips in got.values() for ip in ips} == set(host.private_ips)


def test_networks_are_the_subnets_of_the_hosts(lab: dict[str, Any]) -> None:
    topo = topology()
    subnets = {s["CidrBlock"] for s in ec2().describe_subnets()["Subnets"]}
    nets = json.loads(podman("network", "inspect", *[n.name for n in topo.networks]))
    got = {(n["name"], n["subnets"][0]["subnet"], n["subnets"][0]["gateway"]) for n in nets}
    assert got == {(n.name, n.cidr, n.gateway) for n in topo.networks}
    for net in topo.networks:
        assert net.cidr in subnets
        assert net.gateway == str(ipaddress.IPv4Network(net.cidr).network_address + 1)  # the VPC router's
        assert all(net.gateway not in h.private_ips for h in topo.hosts)


def test_hosts_reach_each_other_by_private_ip(lab: dict[str, Any]) -> None:
    """The lab's own cross-host traffic: the maintenance server's office bypass to a new load balancer's
    private IP (PROXY protocol, trusted from the lab's networks), web servers to Postgres and storage."""
    topo = topology()
    maint, new_lb = topo.host("maint-1"), topo.host("new-lb-1")
    web, pg, storage = topo.host("new-web-1"), topo.host("old-postgres-1"), topo.host("old-storage-1")
    assert maint and new_lb and web and pg and storage
    request = r"PROXY TCP4 127.10.0.5 127.100.0.1 40000 80\r\nGET /_lab/whoami HTTP/1.0\r\n\r\n"
    out = podman(
        "exec",
        maint.container,
        "bash",
        "-c",
        f"exec 3<>/dev/tcp/{new_lb.ip}/80; printf '{request}' >&3; cat <&3",
    )
    assert f"host=new-lb-1 role=lb client=127.10.0.5 addr={new_lb.ip}" in out
    rows = in_container(
        web.container,
        f"psql -h {pg.ip} -U pythonanywhere -d pythonanywhere -Atc 'select count(*) from users'",
    )
    assert rows.strip() == "200"
    bashrc = in_container(web.container, f"curl -fsS http://{storage.ip}:2049/home/alice/.bashrc")
    assert bashrc.startswith("# alice on home-1")


def test_containers_are_reachable_with_the_podman_connection(lab: dict[str, Any]) -> None:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    ansible = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", ".venv", "bin", "ansible")
    proc = subprocess.run(
        [ansible if os.path.exists(ansible) else "ansible", "-i", "inventories/lab", "lab_hosts",
         "-m", "command", "-a", "hostname"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for host in topology().hosts:
        assert f"{host.name} | CHANGED | rc=0 >>\n{host.name}\n" in proc.stdout, proc.stdout


def test_stopping_an_instance_stops_its_container(lab: dict[str, Any]) -> None:
    host = "new-housekeeping-1"
    instance_id = lab["instances"][host]
    container = next(h.container for h in topology().hosts if h.name == host)
    ec2().stop_instances(InstanceIds=[instance_id])
    wait_for("instance stopped", lambda: instance_state(instance_id) == "stopped")
    wait_for("container stopped", lambda: podman("container", "inspect", "-f", "{{.State.Status}}", container)
             .strip() in ("exited", "stopped"))  # fmt: skip
    ec2().start_instances(InstanceIds=[instance_id])
    wait_for("instance running", lambda: instance_state(instance_id) == "running")
    wait_for("container running", lambda: podman("container", "inspect", "-f", "{{.State.Status}}", container)
             .strip() == "running")  # fmt: skip
    assert in_container(container, "hostname").strip() == host
