"""Unit tests of plugins/modules/host_private_ips.py with the host faked: `ip` and `systemctl` answer from an
in-memory host (AnsibleModule.run_command monkeypatched), the persisted files go under tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.clusterswap.swap.plugins.modules import host_private_ips as mod

MAC0 = "02:00:00:0a:00:01"
MAC1 = "02:00:00:0a:00:02"


class FakeHost:
    """The host's interfaces and IPv4 addresses as `ip -j` shows them; records every command run."""

    def __init__(self) -> None:
        self.links: list[dict[str, Any]] = [
            {"ifname": "lo", "address": "00:00:00:00:00:00", "link_type": "loopback"},
            {"ifname": "eth0", "address": MAC0, "link_type": "ether"},
            {"ifname": "eth1", "address": MAC1.upper(), "link_type": "ether"},
        ]
        self.addrs: dict[str, list[dict[str, Any]]] = {
            "lo": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"}],
            "eth0": [
                {"family": "inet", "local": "10.0.1.10", "prefixlen": 24, "scope": "global", "dynamic": True}
            ],
            "eth1": [{"family": "inet", "local": "10.0.2.10", "prefixlen": 24, "scope": "global"}],
        }
        self.enabled = False
        self.calls: list[list[str]] = []
        self.fail_on: str | None = None

    def changes(self) -> list[list[str]]:
        """The commands that change something (not the reads)."""
        reads = (["ip", "-j"], ["systemctl", "is-enabled"])
        return [c for c in self.calls if not any(c[: len(r)] == r for r in reads)]

    def addresses(self, ifname: str) -> list[str]:
        return [f"{a['local']}/{a['prefixlen']}" for a in self.addrs[ifname]]

    def run(self, args: list[str]) -> tuple[int, str, str]:
        cmd = [os.path.basename(args[0]), *args[1:]]
        self.calls.append(cmd)
        if self.fail_on and " ".join(cmd).startswith(self.fail_on):
            return 2, "", "RTNETLINK answers: Operation not permitted"
        if cmd[:5] == ["ip", "-j", "-d", "link", "show"]:
            return 0, json.dumps(self.links), ""
        if cmd[:5] == ["ip", "-j", "-4", "addr", "show"]:
            data = [
                {"ifname": link["ifname"], "addr_info": self.addrs.get(link["ifname"], [])}
                for link in self.links
            ]
            return 0, json.dumps(data), ""
        if cmd[:3] == ["ip", "addr", "add"]:
            ip, plen = cmd[3].split("/")
            rows = self.addrs[cmd[5]]
            if any(r["local"] == ip for r in rows):
                return 2, "", "RTNETLINK answers: File exists"
            same_net = any(r["prefixlen"] == int(plen) and not r.get("secondary") for r in rows)
            rows.append(
                {
                    "family": "inet",
                    "local": ip,
                    "prefixlen": int(plen),
                    "scope": "global",
                    "secondary": same_net,
                }
            )
            return 0, "", ""
        if cmd[:3] == ["ip", "addr", "del"]:
            ip = cmd[3].split("/")[0]
            self.addrs[cmd[5]] = [r for r in self.addrs[cmd[5]] if r["local"] != ip]
            return 0, "", ""
        if cmd[:2] == ["systemctl", "is-enabled"]:
            return (0, "enabled\n", "") if self.enabled else (1, "disabled\n", "")
        if cmd[:2] == ["systemctl", "enable"]:
            self.enabled = True
            return 0, "", ""
        if cmd[:2] == ["systemctl", "daemon-reload"]:
            return 0, "", ""
        raise AssertionError(f"unexpected command {cmd}")


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeHost:
    fake = FakeHost()
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, args, **kw: fake.run(list(args)))
    monkeypatch.setattr(
        basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: name
    )
    for name in ("CONFIG_PATH", "SCRIPT_PATH", "UNIT_PATH", "UNIT_WANTS_LINK"):
        monkeypatch.setattr(mod, name, str(tmp_path / getattr(mod, name).lstrip("/")))
    monkeypatch.setattr(mod, "SYSTEMD_RUNTIME_DIR", str(tmp_path / "run" / "systemd" / "system"))
    return fake


Run = Callable[..., dict[str, Any]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def call(args: dict[str, Any], check_mode: bool = False, diff: bool = False) -> dict[str, Any]:
        full = {**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        capsys.readouterr()
        with patch_module_args(full), pytest.raises(SystemExit):
            mod.main()
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])  # type: ignore[no-any-return]

    return call


def eth0(*ips: str, mac: str = MAC0, plen: int = 24) -> dict[str, Any]:
    return {"mac_address": mac, "private_ips": list(ips), "prefix_length": plen}


def config() -> dict[str, Any]:
    return json.loads(Path(mod.CONFIG_PATH).read_text())  # type: ignore[no-any-return]


def test_adds_what_is_missing_then_changes_nothing(host: FakeHost, run: Run) -> None:
    first = run({"interfaces": [eth0("10.0.1.10", "10.0.1.20", "10.0.1.21")]})
    assert first["changed"] and not first.get("failed")
    assert [a["address"] for a in first["added"]] == ["10.0.1.20/24", "10.0.1.21/24"]
    assert first["removed"] == []
    assert first["interfaces"] == [
        {"name": "eth0", "mac_address": MAC0, "addresses": ["10.0.1.10/24", "10.0.1.20/24", "10.0.1.21/24"]}
    ]
    assert host.addresses("eth0") == ["10.0.1.10/24", "10.0.1.20/24", "10.0.1.21/24"]
    assert ["ip", "addr", "add", "10.0.1.20/24", "dev", "eth0"] in host.calls
    assert host.enabled
    assert sorted(first["changed_files"]) == sorted([mod.CONFIG_PATH, mod.SCRIPT_PATH, mod.UNIT_PATH])
    assert config()["interfaces"] == [eth0("10.0.1.10", "10.0.1.20", "10.0.1.21")]
    assert os.stat(mod.SCRIPT_PATH).st_mode & 0o777 == 0o755

    host.calls.clear()
    again = run({"interfaces": [eth0("10.0.1.10", "10.0.1.20", "10.0.1.21")]})
    assert not again["changed"] and again["added"] == [] and again["changed_files"] == []
    assert host.changes() == []


def test_check_mode_reports_and_changes_nothing(host: FakeHost, run: Run) -> None:
    result = run({"interfaces": [eth0("10.0.1.20")]}, check_mode=True, diff=True)
    assert result["changed"]
    assert [a["address"] for a in result["added"]] == ["10.0.1.20/24"]
    assert result["interfaces"][0]["addresses"] == ["10.0.1.10/24", "10.0.1.20/24"]
    assert host.changes() == [] and host.addresses("eth0") == ["10.0.1.10/24"]
    assert not Path(mod.CONFIG_PATH).exists() and not host.enabled
    addresses, persisted = result["diff"]
    assert addresses["before"] == f"eth0 ({MAC0}): 10.0.1.10/24\n"
    assert addresses["after"] == f"eth0 ({MAC0}): 10.0.1.10/24 10.0.1.20/24\n"
    assert persisted["before"] == "" and '"10.0.1.20"' in persisted["after"]


def test_finds_interfaces_by_mac_in_any_case(host: FakeHost, run: Run) -> None:
    result = run({"interfaces": [eth0("10.0.2.11", mac=MAC1.upper()), eth0("10.0.1.11", mac=MAC0.upper())]})
    assert [(a["interface"], a["address"]) for a in result["added"]] == [
        ("eth1", "10.0.2.11/24"),
        ("eth0", "10.0.1.11/24"),
    ]
    assert [e["mac_address"] for e in config()["interfaces"]] == [MAC0, MAC1]  # sorted, lower case


@pytest.mark.parametrize(
    ("interfaces", "message"),
    [
        (
            [eth0("10.0.1.20", mac="02:00:00:0a:00:99")],
            "no network interface has MAC address 02:00:00:0a:00:99",
        ),
        ([eth0("10.0.1.20", mac="02:00:00:0a:00")], "'02:00:00:0a:00' is not a MAC address"),
        ([eth0("10.0.1.300")], "'10.0.1.300' is not an IPv4 address"),
        ([eth0("10.0.1.20/24")], "'10.0.1.20/24' is not an IPv4 address (give it without /prefix)"),
        ([eth0("224.0.0.1")], "224.0.0.1 cannot be an interface's private address"),
        ([eth0("10.0.1.20", plen=33)], "prefix_length 33 is not between 1 and 32"),
        (
            [eth0("10.0.1.20"), eth0("10.0.1.21", mac=MAC0.upper())],
            "MAC address 02:00:00:0a:00:01 is listed twice",
        ),
        ([eth0("10.0.1.20", "10.0.1.20")], "10.0.1.20 is listed twice"),
        ([eth0("10.0.2.30")], "10.0.2.30 is listed twice (also for 02:00:00:0a:00:02)"),
    ],
)
def test_refuses_before_any_change(host: FakeHost, run: Run, interfaces: list[Any], message: str) -> None:
    # a good interface first: it must not be configured either
    result = run({"interfaces": [eth0("10.0.2.30", mac=MAC1), *interfaces]})
    assert result["failed"] and message in result["msg"], result["msg"]
    assert result["msg"].startswith("nothing changed: ")
    assert host.changes() == [] and not Path(mod.CONFIG_PATH).exists()
    assert host.addresses("eth1") == ["10.0.2.10/24"]


def test_a_mac_on_two_interfaces_is_refused(host: FakeHost, run: Run) -> None:
    host.links.append({"ifname": "eth0.100", "address": MAC0, "link_type": "ether"})
    result = run({"interfaces": [eth0("10.0.1.20")]})
    assert result["failed"] and "is on several interfaces (eth0, eth0.100)" in result["msg"]
    assert host.changes() == []


def test_an_enslaved_interface_is_not_a_candidate(host: FakeHost, run: Run) -> None:
    host.links.append({"ifname": "br0", "address": MAC0, "link_type": "ether"})
    host.links[1]["master"] = "br0"
    host.addrs["br0"] = [{"family": "inet", "local": "10.0.1.10", "prefixlen": 24, "scope": "global"}]
    result = run({"interfaces": [eth0("10.0.1.20")]})
    assert [a["interface"] for a in result["added"]] == ["br0"]


def test_present_never_removes_and_the_file_keeps_earlier_addresses(host: FakeHost, run: Run) -> None:
    run({"interfaces": [eth0("10.0.1.20", "10.0.1.21")]})
    result = run({"interfaces": [eth0("10.0.1.22")]})
    assert [a["address"] for a in result["added"]] == ["10.0.1.22/24"] and result["removed"] == []
    assert host.addresses("eth0") == ["10.0.1.10/24", "10.0.1.20/24", "10.0.1.21/24", "10.0.1.22/24"]
    assert config()["interfaces"][0]["private_ips"] == ["10.0.1.20", "10.0.1.21", "10.0.1.22"]


def test_exact_removes_unlisted_secondaries_never_the_primary(host: FakeHost, run: Run) -> None:
    run({"interfaces": [eth0("10.0.1.20", "10.0.1.21"), eth0("10.0.2.20", mac=MAC1)]})
    result = run({"state": "exact", "interfaces": [eth0("10.0.1.21", "10.0.1.22")]}, diff=True)
    assert [a["address"] for a in result["removed"]] == ["10.0.1.20/24"]  # not 10.0.1.10, the primary
    assert [a["address"] for a in result["added"]] == ["10.0.1.22/24"]
    assert host.addresses("eth0") == ["10.0.1.10/24", "10.0.1.21/24", "10.0.1.22/24"]
    assert host.addresses("eth1") == ["10.0.2.10/24", "10.0.2.20/24"]  # not listed: untouched
    by_mac = {e["mac_address"]: e["private_ips"] for e in config()["interfaces"]}
    assert by_mac == {MAC0: ["10.0.1.21", "10.0.1.22"], MAC1: ["10.0.2.20"]}
    assert result["diff"][0]["after"] == f"eth0 ({MAC0}): 10.0.1.10/24 10.0.1.21/24 10.0.1.22/24\n"
    empty = run({"state": "exact", "interfaces": [eth0()]})
    assert [a["address"] for a in empty["removed"]] == ["10.0.1.21/24", "10.0.1.22/24"]
    assert host.addresses("eth0") == ["10.0.1.10/24"]


def test_persist_false_touches_no_file(host: FakeHost, run: Run) -> None:
    result = run({"persist": False, "interfaces": [eth0("10.0.1.20")]})
    assert result["changed"] and result["changed_files"] == []
    assert not Path(mod.CONFIG_PATH).exists() and not host.enabled
    assert host.addresses("eth0") == ["10.0.1.10/24", "10.0.1.20/24"]


def test_a_disabled_unit_is_enabled_again(host: FakeHost, run: Run) -> None:
    run({"interfaces": [eth0("10.0.1.20")]})
    host.enabled = False
    result = run({"interfaces": [eth0("10.0.1.20")]})
    assert result["changed"] and result["added"] == [] and result["changed_files"] == []
    assert host.enabled


def test_daemon_reload_only_when_systemd_runs_and_the_unit_changed(host: FakeHost, run: Run) -> None:
    Path(mod.SYSTEMD_RUNTIME_DIR).mkdir(parents=True)
    run({"interfaces": [eth0("10.0.1.20")]})
    assert ["systemctl", "daemon-reload"] in host.calls
    host.calls.clear()
    run({"interfaces": [eth0("10.0.1.21")]})  # only the address file changes
    assert ["systemctl", "daemon-reload"] not in host.calls


def test_a_failing_ip_command_says_what_was_done(host: FakeHost, run: Run) -> None:
    host.fail_on = "ip addr add 10.0.1.21/24"
    result = run({"interfaces": [eth0("10.0.1.20", "10.0.1.21")]})
    assert result["failed"] and "ip addr add 10.0.1.21/24 dev eth0 failed" in result["msg"]
    assert result["done"] == ["added 10.0.1.20/24 on eth0"]
    assert not Path(mod.CONFIG_PATH).exists()  # persisted only once the addresses are in place


def test_merged_config_is_a_pure_union_for_present() -> None:
    before = {"interfaces": [eth0("10.0.1.20"), eth0("10.0.2.20", mac=MAC1)]}
    merged = mod.merged_config(before, [eth0("10.0.1.21")], exact=False)
    assert merged == {
        "version": 1,
        "interfaces": [eth0("10.0.1.20", "10.0.1.21"), eth0("10.0.2.20", mac=MAC1)],
    }
    exact = mod.merged_config(before, [eth0("10.0.1.21")], exact=True)
    assert exact["interfaces"][0] == eth0("10.0.1.21")


def test_the_boot_script_is_valid_sh_and_reads_the_file(tmp_path: Path) -> None:
    """The script the unit runs parses, and turns the file into `MAC IP PREFIX` lines (its python3 part)."""
    script = tmp_path / "clusterswap-private-ips"
    script.write_text(mod.SCRIPT)
    assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0
    conf = tmp_path / "private-ips.json"
    conf.write_text(mod.config_text(mod.merged_config(None, [eth0("10.0.1.20", "10.0.1.21")], exact=False)))
    lister = mod.SCRIPT.split("list=$(", 1)[1].split(") || exit 1", 1)[0].replace('"$conf"', str(conf))
    out = subprocess.run(["sh", "-c", lister], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [f"{MAC0} 10.0.1.20 24", f"{MAC0} 10.0.1.21 24"]
    assert f"ExecStart={mod.SCRIPT_PATH} {mod.CONFIG_PATH}" in mod.UNIT
    assert "After=network-online.target" in mod.UNIT and "Type=oneshot" in mod.UNIT
