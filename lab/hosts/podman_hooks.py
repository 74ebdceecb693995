"""The simulated AWS's host hooks for podman container hosts (protocol: lab.awssim.hooks.HostHooks).

The simulator calls these from its own process when a slow transition completes. An instance has a
container when its tags carry `lab:host`; without it every hook is a no-op. Failures are logged to
lab/.state/hooks.log and re-raised only where the simulator must know (none: it keeps its own state)."""

from __future__ import annotations

import logging
import time

from lab.hosts import podman, volumes
from lab.hosts.world import STATE_DIR

HOST_TAG = "lab:host"
log = logging.getLogger("lab.hosts.hooks")


def _setup_log() -> None:
    if log.handlers:
        return
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(STATE_DIR / "hooks.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def _container(tags: dict[str, str]) -> str | None:
    """The container of an instance, if it has one and it exists."""
    name = (tags or {}).get(HOST_TAG)
    return name if name and podman.exists(name) else None


class PodmanHooks:
    """Stop/start containers with their instances; loop devices appear and vanish with attachments."""

    def __init__(self) -> None:
        _setup_log()

    def instance_started(self, instance_id: str, tags: dict[str, str]) -> None:
        container = _container(tags)
        if not container:
            return
        t0 = time.monotonic()
        try:
            podman.podman("start", container)
            volumes.restore_devices(container)
            log.info("started %s (%s) in %.1fs", container, instance_id, time.monotonic() - t0)
        except Exception:
            log.exception("instance_started %s %s", instance_id, container)

    def instance_stopped(self, instance_id: str, tags: dict[str, str]) -> None:
        container = _container(tags)
        if not container:
            return
        t0 = time.monotonic()
        try:
            podman.podman("stop", "-t", "20", container)
            log.info("stopped %s (%s) in %.1fs", container, instance_id, time.monotonic() - t0)
        except Exception:
            log.exception("instance_stopped %s %s", instance_id, container)

    def volume_attached(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> None:
        """The volume appears in the container as the instance's OS would show it: /dev/nvme<N>n1 with its
        by-id link on Nitro, the (sd -> xvd renamed) requested name on Xen (lab/hosts/volumes.py)."""
        container = _container(tags)
        if not container:
            return
        try:
            att = volumes.attach(volume_id, instance_id, container, device, hypervisor=hypervisor)
            log.info(
                "attached %s to %s at %s: %s %s", volume_id, container, device, att.node, " ".join(att.links)
            )
        except Exception:
            log.exception("volume_attached %s %s %s", volume_id, container, device)

    def volume_in_use(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> bool:
        container = _container(tags)
        if not container:
            return False
        try:
            return volumes.in_use(volume_id, container)
        except Exception:
            log.exception("volume_in_use %s %s", volume_id, container)
            return True

    def volume_detached(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> None:
        container = _container(tags)
        if not container:
            return
        try:
            volumes.detach(volume_id, container, device)
            log.info("detached %s from %s at %s", volume_id, container, device)
        except Exception:
            log.exception("volume_detached %s %s %s", volume_id, container, device)
