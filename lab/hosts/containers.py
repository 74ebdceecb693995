"""The lab's podman network and its container hosts: create, provision, remove."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lab.hosts import podman, roles
from lab.hosts.world import GATEWAY, HOSTS, IMAGE, LABEL, NETWORK, SUBNET, Host

#: roles with seeding work after boot (volumes, Postgres): started first
BUSY = ("postgres", "storage")


def ensure_network() -> bool:
    """Create the lab's bridge network if missing. True when it was created."""
    if _network_exists():
        return False
    podman.podman(
        "network", "create", "--subnet", SUBNET, "--gateway", GATEWAY, "--label", f"{LABEL}=1", NETWORK
    )
    return True


def _network_exists() -> bool:
    return NETWORK in podman.podman("network", "ls", "--format", "{{.Name}}", check=False).split()


def create_args(host: Host) -> list[str]:
    """`podman create` arguments for one host: systemd as PID 1, may mount loop devices added later."""
    return [
        "create", "--name", host.container, "--hostname", host.name,
        "--network", NETWORK, "--ip", host.ip, "--network-alias", host.name,
        "--systemd=always", "--cap-add", "SYS_ADMIN", "--cap-add", "MKNOD",
        "--device-cgroup-rule", "b 7:* rwm",
        "--label", f"{LABEL}=1", "--label", f"{LABEL}.role={host.role}",
        "--label", f"{LABEL}.cluster={host.cluster}",
        IMAGE,
    ]  # fmt: skip


def create(host: Host) -> None:
    """Create the container, put its role's files in, start it (systemd boots into the role)."""
    podman.podman(*create_args(host))
    podman.podman("cp", "-", f"{host.container}:/", stdin_bytes=roles.tar_for(host))
    podman.podman("start", host.container)


def create_all(hosts: tuple[Host, ...] = HOSTS, then: Callable[[Host], None] | None = None) -> list[str]:
    """Create and start every missing host container, wait until it has booted, then run `then(host)`
    (several hosts at a time; hosts with most to do first). Returns the containers created."""
    ensure_network()
    missing = sorted((h for h in hosts if not podman.exists(h.container)), key=lambda h: h.role not in BUSY)

    def one(host: Host) -> None:
        create(host)
        podman.wait_booted(host.container)
        if then:
            then(host)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, missing))
    return [h.container for h in missing]


def remove_all() -> list[str]:
    """Remove every container the lab made, then its network. Returns the containers removed."""
    names = podman.labelled("container")
    if names:
        podman.podman("rm", "-f", "-t", "5", *names, timeout=180)
    for net in podman.labelled("network"):
        podman.podman("network", "rm", "-f", net)
    return names


def status() -> list[dict[str, str]]:
    """One row per lab container: name, state, ip, role."""
    out = podman.podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "json", check=False)
    rows = []
    for c in json.loads(out or "[]"):
        labels = c.get("Labels") or {}
        name = (c.get("Names") or ["?"])[0]
        host = next((h for h in HOSTS if h.container == name), None)
        rows.append(
            {
                "container": name,
                "state": c.get("State", "?"),
                "ip": host.ip if host else "?",
                "role": labels.get(f"{LABEL}.role", "?"),
            }
        )
    return sorted(rows, key=lambda r: r["container"])
