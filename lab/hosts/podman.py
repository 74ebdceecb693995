"""Thin wrappers around the podman CLI (rootful; the lab runs as root)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence

from lab.hosts.world import LABEL


class PodmanError(RuntimeError):
    pass


def podman(
    *args: str,
    check: bool = True,
    stdin: str | None = None,
    stdin_bytes: bytes | None = None,
    timeout: float = 120,
) -> str:
    """Run `podman ARGS`; return stdout. Raises PodmanError with stderr when `check` and it fails."""
    data = stdin_bytes if stdin_bytes is not None else (stdin.encode() if stdin is not None else None)
    proc = subprocess.run(["podman", *args], input=data, capture_output=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        err = "\n".join(line for line in stderr.splitlines() if "connect to syslog" not in line)
        raise PodmanError(f"podman {' '.join(args[:3])} ... failed ({proc.returncode}): {err.strip()}")
    return proc.stdout.decode(errors="replace")


def exists(container: str) -> bool:
    return subprocess.run(["podman", "container", "exists", container], check=False).returncode == 0


def state(container: str) -> str | None:
    """'running', 'exited', 'created', ... or None when there is no such container."""
    if not exists(container):
        return None
    return podman("container", "inspect", "-f", "{{.State.Status}}", container, check=False).strip() or None


def is_running(container: str) -> bool:
    return state(container) == "running"


def main_pid(container: str) -> int | None:
    """The host pid of the container's PID 1 (systemd), or None when it is not running."""
    out = podman("container", "inspect", "-f", "{{.State.Pid}}", container, check=False).strip()
    return int(out) if out.isdigit() and int(out) > 0 else None


def exec_in(container: str, cmd: Sequence[str], stdin: str | None = None, check: bool = True) -> str:
    args = ["exec", "-i", container, *cmd] if stdin is not None else ["exec", container, *cmd]
    return podman(*args, stdin=stdin, check=check)


def run_script(container: str, script: str, *args: str) -> str:
    """Run a bash script (text) inside the container with positional arguments."""
    return exec_in(container, ["bash", "-s", "--", *args], stdin=script)


def wait_booted(container: str, timeout: float = 60) -> None:
    """Wait until systemd in the container has finished booting (running or degraded)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        last = exec_in(container, ["systemctl", "is-system-running"], check=False).strip()
        if last in ("running", "degraded"):
            return
        time.sleep(0.2)
    raise PodmanError(f"{container}: systemd did not finish booting in {timeout:.0f}s (state {last!r})")


def labelled(kind: str) -> list[str]:
    """Names of the lab's containers (kind 'container') or networks (kind 'network')."""
    if kind == "container":
        out = podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}", check=False)
    else:
        out = podman("network", "ls", "--filter", f"label={LABEL}", "--format", "{{.Name}}", check=False)
    return [line.strip() for line in out.splitlines() if line.strip()]
