"""A seeded host's OS answers on every private IP its instance has, as the runbook's host_private_ips module
would have set it up: the same persisted file, script and boot unit (taken from the product module itself,
`plugins/modules/host_private_ips.py`), so systemd adds the secondary addresses when the container boots.

The further network interfaces of an instance are podman network connections, one per subnet. AWS also lets
two interfaces of one instance sit in the same subnet, which podman cannot connect twice: such an interface
is a macvlan link with the ENI's MAC on the first one's interface, made at boot by the lab's own unit
(`lab-enis.service`, the lab's stand-in for the hypervisor attaching the ENI, and for DHCP giving it its
primary IP), before the product's unit runs."""

from __future__ import annotations

import functools
import importlib.util
from types import ModuleType

from lab.hosts.world import REPO, Host, Interface

PRODUCT_MODULE = REPO / "plugins" / "modules" / "host_private_ips.py"
WANTS = "/etc/systemd/system/multi-user.target.wants"
ENIS_SCRIPT_PATH = "/usr/local/lib/clusterswap-lab/enis"
ENIS_UNIT = "lab-enis.service"

ENIS_SCRIPT = """\
#!/bin/sh
# clusterswap lab: this instance's further network interfaces in a subnet where it already has one (podman
# connects a container to a network once): a macvlan link with the ENI's MAC on the interface of the first,
# with the ENI's primary private IP. Lines: PARENT_MAC MAC IP/PREFIX NAME.
rc=0
while read -r parent mac addr name; do
  [ -n "$parent" ] || continue
  dev=
  for d in /sys/class/net/*; do [ "$(cat "$d/address")" != "$parent" ] || { dev=${d##*/}; break; }; done
  [ -n "$dev" ] || { echo "lab-enis: no interface has MAC $parent" >&2; rc=1; continue; }
  ip link show dev "$name" >/dev/null 2>&1 ||
    ip link add link "$dev" name "$name" address "$mac" type macvlan mode bridge
  ip link set dev "$name" up
  ip -o -4 addr show dev "$name" | grep -q " inet ${addr%/*}/" || ip addr add "$addr" dev "$name" || rc=1
done < /etc/clusterswap-lab-enis
exit $rc
"""

ENIS_UNIT_TEXT = f"""\
[Unit]
Description=clusterswap lab: network interfaces in a subnet the instance already has one in (macvlan)
Before=network-online.target clusterswap-private-ips.service
ConditionPathExists=/etc/clusterswap-lab-enis

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={ENIS_SCRIPT_PATH}

[Install]
WantedBy=multi-user.target
"""


@functools.cache
def product() -> ModuleType:
    """plugins/modules/host_private_ips.py, loaded by path (the product knows nothing of the lab)."""
    spec = importlib.util.spec_from_file_location("clusterswap_host_private_ips", PRODUCT_MODULE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def macvlan_interfaces(host: Host) -> list[tuple[Interface, Interface]]:
    """(interface, the earlier interface of the same network) for each interface podman cannot connect."""
    out, first_on = [], {}
    for eni in host.interfaces:
        if eni.network.cidr in first_on:
            out.append((eni, first_on[eni.network.cidr]))
        else:
            first_on[eni.network.cidr] = eni
    return out


def podman_interfaces(host: Host) -> list[Interface]:
    """The interfaces that are podman network connections (the first of each network)."""
    later = {id(eni) for eni, _ in macvlan_interfaces(host)}
    return [eni for eni in host.interfaces if id(eni) not in later]


def interfaces_option(host: Host) -> list[dict[str, object]]:
    """host_private_ips' `interfaces` for what the instance has: every interface with secondary IPs."""
    return [
        {
            "mac_address": eni.mac_address,
            "private_ips": list(eni.private_ips),
            "prefix_length": eni.network.prefix_length,
        }
        for eni in host.interfaces
        if eni.mac_address and eni.secondary_ips
    ]


def seed_files(host: Host) -> dict[str, str | tuple[str, int]]:
    """Files to put in the container before it boots ({path: content or (content, mode)}; '->' = symlink)."""
    files: dict[str, str | tuple[str, int]] = {}
    option = interfaces_option(host)
    if option:
        mod = product()
        config = mod.merged_config(None, mod.normalize_interfaces(option), exact=False)
        files.update(mod.persisted_files(config))
        files[mod.UNIT_WANTS_LINK] = "->" + mod.UNIT_PATH
    extra = macvlan_interfaces(host)
    if extra:
        lines = [
            f"{parent.mac_address} {eni.mac_address} {eni.primary_ip}/{eni.network.prefix_length} "
            f"eni{eni.device_index}\n"
            for eni, parent in extra
        ]
        files["/etc/clusterswap-lab-enis"] = "".join(lines)
        files[ENIS_SCRIPT_PATH] = (ENIS_SCRIPT, 0o755)
        files[f"/etc/systemd/system/{ENIS_UNIT}"] = ENIS_UNIT_TEXT
        files[f"{WANTS}/{ENIS_UNIT}"] = f"->/etc/systemd/system/{ENIS_UNIT}"
    return files
