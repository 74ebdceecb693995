"""A lab host's OS answers on a private IP only once it is configured: the product module host_private_ips on
a real container (through the lab inventory), the traffic edge routing an EIP to that exact private IP, the
boot unit keeping the address through a restart; and the seeding bringing a host's OS up to the private IPs
its instance has."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from lab import labctl as lab_ctl
from tests.lab.helpers import (
    ansible_module,
    ec2,
    http_get,
    in_container,
    lab_api,
    labctl,
    page_fields,
    podman,
    proxied_whoami,
    spare_private_ip,
    topology,
    wait_for,
)

HOST = "new-lb-1"
TEST_EIP = "127.100.200.1"
FILES = "/etc/clusterswap/private-ips.json /usr/local/sbin/clusterswap-private-ips"
UNIT = "clusterswap-private-ips.service"


def _os_has(container: str, ip: str) -> bool:
    return f" inet {ip}/" in in_container(container, "ip -o -4 addr show")


@pytest.fixture
def extra_ip(lab: dict[str, Any]) -> Iterator[tuple[Any, Any, str]]:
    """A secondary private IP assigned to new-lb-1's first interface in the simulated AWS (not in its OS);
    afterwards unassigned, and the host's OS and persisted files back as they were."""
    host = topology().host(HOST)
    assert host is not None
    eni = host.interfaces[0]
    ip = spare_private_ip(eni.network.cidr)
    ec2().assign_private_ip_addresses(NetworkInterfaceId=eni.network_interface_id, PrivateIpAddresses=[ip])
    yield host, eni, ip
    with contextlib.suppress(Exception):
        in_container(host.container, f"ip addr del {ip}/{eni.network.prefix_length} dev eth0", check=False)
    in_container(host.container, f"systemctl disable -q {UNIT}; rm -f {FILES} /etc/systemd/system/{UNIT}")
    ec2().unassign_private_ip_addresses(NetworkInterfaceId=eni.network_interface_id, PrivateIpAddresses=[ip])


@pytest.fixture
def test_eip() -> Iterator[str]:
    """An extra VPC EIP (released afterwards); the edge listens on it once it syncs."""
    alloc = ec2().allocate_address(Domain="vpc", Address=TEST_EIP)["AllocationId"]
    yield alloc
    addr = ec2().describe_addresses(AllocationIds=[alloc])["Addresses"][0]
    if addr.get("AssociationId"):
        ec2().disassociate_address(AssociationId=addr["AssociationId"])

    def associated() -> bool:
        return bool(ec2().describe_addresses(AllocationIds=[alloc])["Addresses"][0].get("AssociationId"))

    wait_for("test EIP disassociated", lambda: not associated())
    ec2().release_address(AllocationId=alloc)


def test_module_adds_the_address_and_the_host_answers_on_it(
    extra_ip: tuple[Any, Any, str], test_eip: str
) -> None:
    host, eni, ip = extra_ip
    wanted = {"mac_address": eni.mac_address, "private_ips": [*eni.private_ips, ip]}
    args = {"interfaces": [{**wanted, "prefix_length": eni.network.prefix_length}]}
    assert not _os_has(host.container, ip)
    assert proxied_whoami(ip, timeout=4) == {}  # AWS has it, the OS does not: nothing answers there

    # an EIP on that private IP: the edge routes it there, and the connection is closed (nothing answers)
    ec2().associate_address(
        AllocationId=test_eip, NetworkInterfaceId=eni.network_interface_id, PrivateIpAddress=ip
    )
    shown = wait_for("association visible", lambda: ec2().describe_addresses(AllocationIds=[test_eip])
                     ["Addresses"][0].get("PrivateIpAddress"))  # fmt: skip
    exact = shown == ip  # the simulator maps VPC EIPs to the exact private IP (else to the ENI's primary)
    if not exact:
        warnings.warn(
            f"the simulator put the EIP on {shown}, not {ip}: EIP-to-private-IP checks skipped", stacklevel=1
        )
    if exact:
        wait_for("edge listening on the test EIP", lambda: lab_api("/_lab/routes").get(TEST_EIP))
        assert http_get(TEST_EIP, "/_lab/whoami", timeout=8) is None

    check = ansible_module(HOST, "clusterswap.swap.host_private_ips", args, "--check", "--diff")
    assert check["changed"] and [a["address"] for a in check["added"]] == [
        f"{ip}/{eni.network.prefix_length}"
    ]
    assert not _os_has(host.container, ip)
    assert "No such file" in in_container(
        host.container, "ls /etc/clusterswap/private-ips.json 2>&1", check=False
    )

    first = ansible_module(HOST, "clusterswap.swap.host_private_ips", args)
    assert first["changed"] and not first.get("failed"), first
    assert first["interfaces"][0]["name"] == "eth0"
    assert _os_has(host.container, ip)
    who = proxied_whoami(ip)
    assert (who["host"], who["addr"], who["client"]) == (HOST, ip, "127.10.0.77")
    if exact:
        through_edge = page_fields(http_get(TEST_EIP, "/_lab/whoami", source="127.10.0.9"))
        assert (through_edge["host"], through_edge["addr"], through_edge["client"]) == (
            HOST,
            ip,
            "127.10.0.9",
        )

    again = ansible_module(HOST, "clusterswap.swap.host_private_ips", args)
    assert not again["changed"] and again["added"] == [] and again["changed_files"] == []
    assert not ansible_module(HOST, "clusterswap.swap.host_private_ips", args, "--check")["changed"]

    podman("restart", "-t", "5", host.container)
    podman_booted = "systemctl is-system-running"
    wait_for("systemd booted", lambda: in_container(host.container, podman_booted, check=False).strip()
             in ("running", "degraded"))  # fmt: skip
    assert _os_has(host.container, ip), "the boot unit re-applies the address"
    assert in_container(host.container, f"systemctl is-active {UNIT}").strip() == "active"
    wait_for("nginx answers on the address after the restart", lambda: proxied_whoami(ip).get("addr") == ip)


def _attach_interface(instance: str, subnet_id: str, ips: list[str], device_index: int) -> str:
    """A new network interface with `ips` (the first primary) attached to `instance`; its MAC."""
    spec = [{"PrivateIpAddress": ip, "Primary": n == 0} for n, ip in enumerate(ips)]
    eni = ec2().create_network_interface(SubnetId=subnet_id, PrivateIpAddresses=spec)["NetworkInterface"]
    ec2().attach_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=instance,
                                   DeviceIndex=device_index)  # fmt: skip
    return eni["MacAddress"].lower()  # type: ignore[no-any-return]


def test_seeding_brings_the_os_up_to_the_instances_private_ips(lab: dict[str, Any]) -> None:
    """What an instance has at seed time is what its container has: a secondary private IP (configured by
    the product's persisted file and boot unit, as an operator would have had it), a second interface in
    another subnet (a second podman network), a second interface in the same subnet (a macvlan link), each
    with its MAC, and all of them answering."""
    topo = topology()
    web, lb1, lb2 = topo.host("old-web-1"), topo.host("new-lb-1"), topo.host("new-lb-2")
    assert web and lb1 and lb2
    eni = web.interfaces[0]
    ip = spare_private_ip(eni.network.cidr)
    ec2().assign_private_ip_addresses(NetworkInterfaceId=eni.network_interface_id, PrivateIpAddresses=[ip])
    subnet = next(s for s in ec2().describe_subnets()["Subnets"] if s["CidrBlock"] == eni.network.cidr)
    other = ec2().create_subnet(VpcId=subnet["VpcId"], CidrBlock="10.0.77.0/24",
                                AvailabilityZone=subnet["AvailabilityZone"])["Subnet"]  # fmt: skip
    same_ips = [spare_private_ip(eni.network.cidr)]
    same_ips.append(str(ipaddress.IPv4Address(same_ips[0]) - 1))
    other_ips = ["10.0.77.10", "10.0.77.11"]
    same_mac = _attach_interface(lb2.instance_id, subnet["SubnetId"], same_ips, 1)
    other_mac = _attach_interface(lb1.instance_id, other["SubnetId"], other_ips, 1)
    try:
        lab_ctl.seed_hosts()
        assert _os_has(web.container, ip)
        assert in_container(web.container, f"systemctl is-enabled {UNIT}").strip() == "enabled"
        config = in_container(web.container, "cat /etc/clusterswap/private-ips.json")
        assert f'"{ip}"' in config and eni.mac_address in config
        assert proxied_whoami(ip) == {
            "cluster": "old",
            "host": "old-web-1",
            "role": "web",
            "client": "127.10.0.77",
            "addr": ip,
        }
        for host, mac, ips in ((lb2, same_mac, same_ips), (lb1, other_mac, other_ips)):
            links = {
                link["address"]: link for link in json.loads(in_container(host.container, "ip -j addr show"))
            }
            assert {a["local"] for a in links[mac]["addr_info"] if a["family"] == "inet"} == set(ips), (
                host.name
            )
            for address in ips:
                assert proxied_whoami(address).get("addr") == address, (host.name, address)
        assert "10.0.77.0/24" in {
            n["subnets"][0]["subnet"] for n in json.loads(podman("network", "inspect", "cs-10-0-77-0"))
        }
    finally:
        labctl("seed", "--scenario", "default")  # a fresh world, as the other tests expect it
