"""The lab's podman networks (one per subnet that holds lab hosts) and its container hosts: create,
provision, remove. Addresses and MACs are the simulated instances' (lab.hosts.world.discover)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lab.hosts import podman, private_ips, roles
from lab.hosts.world import IMAGE, LABEL, Host, Network, Topology, load_topology

#: roles with seeding work after boot (volumes, Postgres): started first
BUSY = ("postgres", "storage")


def ensure_network(net: Network) -> bool:
    """Create the network of one subnet if missing (gateway: the subnet's .1). True when it was created."""
    if net.name in podman.podman("network", "ls", "--format", "{{.Name}}", check=False).split():
        return False
    podman.podman(
        "network", "create", "--subnet", net.cidr, "--gateway", net.gateway,
        "--label", f"{LABEL}=1", "--label", f"{LABEL}.cidr={net.cidr}", net.name,
    )  # fmt: skip
    return True


def ensure_networks(topo: Topology) -> list[str]:
    return [net.name for net in topo.networks if ensure_network(net)]


def create_args(host: Host) -> list[str]:
    """`podman create` arguments for one host: its first interface (primary private IP, the ENI's MAC),
    systemd as PID 1, may mount loop devices added later, may add its own secondary addresses."""
    first = host.interfaces[0]
    mac = ["--mac-address", first.mac_address] if first.mac_address else []
    return [
        "create", "--name", host.container, "--hostname", host.name,
        "--network", first.network.name, "--ip", first.primary_ip, *mac, "--network-alias", host.name,
        "--systemd=always", "--cap-add", "SYS_ADMIN", "--cap-add", "MKNOD", "--cap-add", "NET_ADMIN",
        "--device-cgroup-rule", "b 7:* rwm",
        "--label", f"{LABEL}=1", "--label", f"{LABEL}.role={host.role}",
        "--label", f"{LABEL}.cluster={host.cluster}", "--label", f"{LABEL}.instance={host.instance_id}",
        IMAGE,
    ]  # fmt: skip


def connect_args(host: Host) -> list[list[str]]:
    """`podman network connect` arguments for each further interface in a network the host is not on yet
    (further interfaces in the same subnet are macvlan links: lab.hosts.private_ips)."""
    out = []
    for eni in private_ips.podman_interfaces(host)[1:]:
        mac = ["--mac-address", eni.mac_address] if eni.mac_address else []
        net = ["--alias", host.name, eni.network.name, host.container]
        out.append(["network", "connect", "--ip", eni.primary_ip, *mac, *net])
    return out


def create(host: Host, topo: Topology) -> None:
    """Create the container, connect its further interfaces, put its role's files in, start it (systemd
    boots into the role and adds the instance's secondary private IPs)."""
    podman.podman(*create_args(host))
    for args in connect_args(host):
        podman.podman(*args)
    podman.podman("cp", "-", f"{host.container}:/", stdin_bytes=roles.tar_for(host, topo))
    podman.podman("start", host.container)


def create_all(topo: Topology, then: Callable[[Host], None] | None = None) -> list[str]:
    """Create and start every missing host container, wait until it has booted, then run `then(host)`
    (several hosts at a time; hosts with most to do first). Returns the containers created."""
    ensure_networks(topo)
    missing = sorted(
        (h for h in topo.hosts if not podman.exists(h.container)), key=lambda h: h.role not in BUSY
    )

    def one(host: Host) -> None:
        create(host, topo)
        podman.wait_booted(host.container)
        if then:
            then(host)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, missing))
    return [h.container for h in missing]


def remove_all() -> list[str]:
    """Remove every container the lab made, then its networks. Returns the containers removed."""
    names = podman.labelled("container")
    if names:
        podman.podman("rm", "-f", "-t", "5", *names, timeout=180)
    for net in podman.labelled("network"):
        podman.podman("network", "rm", "-f", net)
    return names


def status() -> list[dict[str, str]]:
    """One row per lab container: name, state, private IPs, role."""
    out = podman.podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "json", check=False)
    topo = load_topology()
    rows = []
    for c in json.loads(out or "[]"):
        labels = c.get("Labels") or {}
        name = (c.get("Names") or ["?"])[0]
        host = topo.by_container(name)
        rows.append(
            {
                "container": name,
                "state": c.get("State", "?"),
                "ip": " ".join(host.private_ips) if host else "?",
                "role": labels.get(f"{LABEL}.role", "?"),
            }
        )
    return sorted(rows, key=lambda r: r["container"])
