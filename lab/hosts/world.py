"""The host side of the lab's world (lab/WORLD.md): which instances have a container, their roles, their
fixed addresses on the lab's podman network, and where the seeded volumes are mounted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE_DIR = REPO / "lab" / ".state"
VOLUME_DIR = STATE_DIR / "volumes"
IMAGE_REPO = "localhost/clusterswap-lab"
IMAGE = f"{IMAGE_REPO}:latest"
NETWORK = "clusterswap"
SUBNET = "10.89.50.0/24"
GATEWAY = "10.89.50.1"
#: Label on everything podman makes for the lab, so `down` removes only what the lab made.
LABEL = "clusterswap.lab"
OFFICE_CIDR = "127.10.0.0/24"
EIP_CIDR = "127.100.0.0/16"


@dataclass(frozen=True)
class Host:
    """One instance that has a container host (tag `lab:host` = `container`)."""

    name: str
    cluster: str
    role: str
    ip: str

    @property
    def container(self) -> str:
        return f"cs-{self.name}"


HOSTS: tuple[Host, ...] = (
    Host("maint-1", "maintenance", "maintenance", "10.89.50.10"),
    Host("old-lb-1", "old", "lb", "10.89.50.11"),
    Host("old-lb-2", "old", "lb", "10.89.50.12"),
    Host("old-web-1", "old", "web", "10.89.50.13"),
    Host("old-storage-1", "old", "storage", "10.89.50.14"),
    Host("old-postgres-1", "old", "postgres", "10.89.50.15"),
    Host("new-lb-1", "new", "lb", "10.89.50.21"),
    Host("new-lb-2", "new", "lb", "10.89.50.22"),
    Host("new-web-1", "new", "web", "10.89.50.23"),
    Host("new-storage-1", "new", "storage", "10.89.50.24"),
    Host("new-postgres-1", "new", "postgres", "10.89.50.25"),
    Host("new-housekeeping-1", "new", "housekeeping", "10.89.50.26"),
)

#: The web server each cluster's load balancers proxy to.
WEB_OF_CLUSTER = {"old": "old-web-1", "new": "new-web-1"}


@dataclass(frozen=True)
class VolumeLayout:
    """What a seeded volume holds and where its server mounts it."""

    kind: str  # home | logs | pgdata | blank
    mountpoint: str
    size_mib: int = 64


#: (instance Name, device) of the seeded attachments (lab/WORLD.md "Volumes") → contents and mount point.
SEEDED_VOLUMES: dict[tuple[str, str], VolumeLayout] = {
    ("old-storage-1", "/dev/xvdf"): VolumeLayout("home", "/srv/home"),
    ("old-storage-1", "/dev/xvdg"): VolumeLayout("home", "/srv/home2"),
    ("old-storage-2", "/dev/xvdf"): VolumeLayout("home", "/srv/home"),
    ("old-logstorage-1", "/dev/xvdf"): VolumeLayout("logs", "/srv/logs"),
    ("old-postgres-1", "/dev/xvdp"): VolumeLayout("pgdata", "/srv/pgdata", 128),
}
BLANK_VOLUME = VolumeLayout("blank", "", 64)


def host_by_container(container: str | None) -> Host | None:
    return next((h for h in HOSTS if h.container == container), None)


def host_by_name(name: str) -> Host | None:
    return next((h for h in HOSTS if h.name == name), None)


def container_ip(container: str | None) -> str | None:
    host = host_by_container(container)
    return host.ip if host else None
