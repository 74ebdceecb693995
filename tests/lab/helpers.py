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
    return boto3.client(
        "ec2",
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
