"""Helpers for the lab's host tests: waiting, raw HTTP through the edge, the simulated AWS."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3

REPO = Path(__file__).resolve().parents[2]
SIM_URL = "http://127.0.0.1:5055"
T = TypeVar("T")


def labctl(*args: str, timeout: float = 600) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "lab.labctl", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"labctl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def wait_for(what: str, probe: Callable[[], T], timeout: float = 30, every: float = 0.2) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(every)
        last = probe()
    return last


def http_get(ip: str, path: str = "/", source: str | None = None, timeout: float = 5) -> str | None:
    """GET over a raw socket (optionally from `source`); the body, or None when the connection is
    refused or closed without a response."""
    try:
        sock = socket.create_connection(
            (ip, 80), timeout=timeout, source_address=(source, 0) if source else None
        )
    except OSError:
        return None
    with sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
        chunks = []
        try:
            while data := sock.recv(65536):
                chunks.append(data)
        except OSError:
            return None
    raw = b"".join(chunks).decode(errors="replace")
    return raw.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in raw else None


def page_fields(body: str | None) -> dict[str, str]:
    """'clusterswap-lab cluster=old host=old-web-1 ...' → {'cluster': 'old', 'host': 'old-web-1', ...}"""
    if not body:
        return {}
    return dict(part.split("=", 1) for part in body.split() if "=" in part)


def lab_api(path: str) -> Any:
    with urllib.request.urlopen(SIM_URL + path, timeout=10) as resp:
        return json.load(resp)


def ec2() -> Any:
    return client("ec2")


def client(service: str) -> Any:
    """A boto3 client of the lab's simulated AWS (ec2, rds, ...)."""
    return boto3.client(
        service,
        endpoint_url=SIM_URL,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def podman(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, f"podman {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def in_container(container: str, cmd: str, check: bool = True) -> str:
    return podman("exec", container, "sh", "-c", cmd, check=check)


def volume_state(volume_id: str) -> tuple[str, str | None]:
    """(volume State, attachment State or None)."""
    vol = ec2().describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    att = next(iter(vol.get("Attachments", [])), None)
    return vol["State"], att["State"] if att else None


def instance_state(instance_id: str) -> str:
    res = ec2().describe_instances(InstanceIds=[instance_id])["Reservations"]
    return res[0]["Instances"][0]["State"]["Name"]


def topology() -> Any:
    """The lab's hosts and networks as the simulated AWS describes them now (lab.hosts.world.discover)."""
    from lab.hosts.world import discover

    return discover(ec2(), warn=lambda _msg: None)


def proxied_whoami(ip: str, client: str = "127.10.0.77", timeout: float = 5) -> dict[str, str]:
    """Ask the nginx at a private IP directly, as the edge does (PROXY protocol header first); {} when
    nothing answers there."""
    try:
        sock = socket.create_connection((ip, 80), timeout=timeout)
    except OSError:
        return {}
    with sock:
        sock.sendall(
            f"PROXY TCP4 {client} 127.100.9.9 40000 80\r\nGET /_lab/whoami HTTP/1.0\r\n\r\n".encode()
        )
        raw = b""
        try:
            while data := sock.recv(4096):
                raw += data
        except OSError:
            return {}
    return page_fields(raw.decode(errors="replace").split("\r\n\r\n", 1)[-1])


def used_private_ips() -> set[str]:
    """Every private IP the simulated account has handed out (interfaces and EC2-Classic instances)."""
    used = {
        a["PrivateIpAddress"]
        for eni in ec2().describe_network_interfaces()["NetworkInterfaces"]
        for a in eni.get("PrivateIpAddresses", [])
    }
    for res in ec2().describe_instances()["Reservations"]:
        used.update(i["PrivateIpAddress"] for i in res["Instances"] if i.get("PrivateIpAddress"))
    return used


def spare_private_ip(cidr: str) -> str:
    """A free address of the subnet AWS could assign, from the top (the simulator hands out the lowest)."""
    import ipaddress

    net = ipaddress.IPv4Network(cidr)
    used = used_private_ips()
    for value in range(int(net.broadcast_address) - 2, int(net.network_address) + 3, -1):
        ip = str(ipaddress.IPv4Address(value))
        if ip not in used:
            return ip
    raise AssertionError(f"no free address in {cidr}")


def ansible_module(host: str, module: str, args: dict[str, Any], *extra: str) -> dict[str, Any]:
    """Run one module on a lab host through the lab inventory (ad hoc, json callback); its result."""
    import os

    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.json",  # not profile_tasks, nor the swap timeline
    }
    ansible = Path(sys.executable).with_name("ansible")
    proc = subprocess.run(
        [str(ansible), host, "-m", module, "-a", json.dumps(args), *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "{" in proc.stdout, f"ansible {host} -m {module} printed no result:\n{proc.stdout}\n{proc.stderr}"
    out, _ = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{") :])
    return out["plays"][0]["tasks"][0]["hosts"][host]  # type: ignore[no-any-return]
