"""Host hooks: how the simulated AWS tells the lab's container hosts what happened to "their" instance.

The simulator calls these when a slow transition completes (never while holding the API lock). `tags` is
the instance's tags dict; hosts look at `lab:host` (the container name) and ignore instances without it.
The podman implementation is `lab.hosts.podman_hooks:PodmanHooks`; load another with
`python -m lab.awssim serve --hooks module:Class`.
"""

from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable


@runtime_checkable
class HostHooks(Protocol):
    """`hypervisor` is the instance type's (DescribeInstanceTypes `Hypervisor`: `nitro` or `xen`): it decides
    the name the instance's OS gives an attached volume (NVMe on Nitro [UG-NVMe], the requested name with sd
    renamed xvd on Xen [UG-DeviceNaming]; lab/hosts/volumes.py)."""

    def instance_started(self, instance_id: str, tags: dict[str, str]) -> None: ...

    def instance_stopped(self, instance_id: str, tags: dict[str, str]) -> None: ...

    def volume_attached(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> None: ...

    def volume_in_use(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> bool:
        """Polled while a detach is pending: True = still mounted, so the volume stays `detaching`."""
        ...

    def volume_detached(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> None: ...


class NullHooks:
    """No hosts. A volume counts as mounted while its id is in `STATE.mounted` (for in-process tests)."""

    def instance_started(self, instance_id: str, tags: dict[str, str]) -> None:
        return None

    def instance_stopped(self, instance_id: str, tags: dict[str, str]) -> None:
        return None

    def volume_attached(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> None:
        return None

    def volume_in_use(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> bool:
        from lab.awssim.state import STATE

        return volume_id in STATE.mounted

    def volume_detached(
        self, volume_id: str, instance_id: str, tags: dict[str, str], device: str, hypervisor: str = "xen"
    ) -> None:
        return None


def load_hooks(spec: str | None) -> HostHooks:
    """`module:Class` → an instance of it; None/"" → NullHooks."""
    if not spec:
        return NullHooks()
    module_name, _, class_name = spec.partition(":")
    if not class_name:
        raise ValueError(f"hooks must be given as module:Class, got {spec!r}")
    cls = getattr(importlib.import_module(module_name), class_name)
    hooks = cls()
    if not isinstance(hooks, HostHooks):
        raise TypeError(f"{spec} does not implement lab.awssim.hooks.HostHooks")
    return hooks
