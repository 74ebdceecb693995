#!/usr/bin/python
# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_private_ips: make a host's OS answer on the private IPv4 addresses its network interfaces have."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: host_private_ips
short_description: Configure the private IPv4 addresses of a host's network interfaces, found by MAC address
description:
  - On AWS each private IPv4 address holds one Elastic IP, so a server that is to hold N Elastic IPs needs N
    private IPs on its network interfaces (secondary private IPs given with C(AssignPrivateIpAddresses)).
    AWS routes them to the interface, but the operating system must be configured to recognise them (the
    EC2 user guide, "Multiple IP addresses"). This module does that.
  - Runs B(on the host), as root, with the standard library and the C(ip) command (iproute2) only.
  - Each interface is found by its MAC address (the C(MacAddress) that C(DescribeNetworkInterfaces) shows),
    among the host's interfaces that are not enslaved to another (a bridge port or bond member holds no
    addresses).
  - With O(state=present) (the default) it adds every listed address the interface does not have yet
    (C(ip addr add IP/PREFIX dev IFACE)) and removes nothing.
  - With O(state=exact) it also removes the interface's secondary IPv4 addresses (as the kernel flags them)
    that are not listed. It never removes an address the kernel holds as primary, which is the address the
    instance got from DHCP (the interface's primary private IP).
  - Everything is checked before any change. The module fails and changes nothing when a MAC address is on
    no interface or on two, when a MAC address or an IP address is malformed, or when an address is listed
    twice.
  - With O(persist=true) (the default) the addresses survive a reboot. The module writes them to
    C(/etc/clusterswap/private-ips.json) and installs a small script,
    C(/usr/local/sbin/clusterswap-private-ips), and a oneshot systemd unit,
    C(clusterswap-private-ips.service). The unit runs the script at boot after the network is up, and the
    script adds whatever address is missing. With O(state=present) the file keeps the addresses of earlier
    runs too, as the interfaces do. With O(state=exact) the listed interfaces' entries are replaced; the
    entries of other interfaces are kept.
  - Check mode tells what would change and changes nothing. C(--diff) shows each listed interface's addresses
    and the persisted file, before and after.
version_added: "1.1.0"
author:
  - clusterswap contributors
options:
  interfaces:
    description:
      - The network interfaces to configure, each with the private IPv4 addresses it must answer on.
      - List the interface's primary private IP too if you like; an address the interface already has is
        left as it is.
    type: list
    elements: dict
    required: true
    suboptions:
      mac_address:
        description:
          - The interface's MAC address, as C(DescribeNetworkInterfaces) shows it (C(MacAddress)), for example
            C(02:1a:2b:3c:4d:5e). Case does not matter.
        type: str
        required: true
      private_ips:
        description:
          - The private IPv4 addresses the interface must have, without prefix length.
          - May be empty; with O(state=exact) that removes every secondary address.
        type: list
        elements: str
        required: true
      prefix_length:
        description:
          - The prefix length of the interface's subnet (C(24) for a C(/24) subnet), given to every address
            added.
        type: int
        required: true
  state:
    description:
      - V(present) adds what is missing and never removes.
      - V(exact) also removes the secondary addresses of the listed interfaces that are not listed (never the
        primary).
    type: str
    choices: [present, exact]
    default: present
  persist:
    description:
      - Keep the addresses across reboots (the file, the script and the enabled unit described above).
      - With V(false) only the running configuration changes, and the persisted files are left as they are.
    type: bool
    default: true
notes:
  - Supports check mode and diff mode.
  - Replies leave by the host's routing table. For addresses on a second interface in the same subnet as the
    first, AWS's source/destination check drops replies that leave by the wrong interface, so such hosts also
    need source-based routing (Amazon Linux's C(amazon-ec2-net-utils) sets it up). This module does not.
  - A network manager that reconfigures an interface after boot may drop addresses it did not configure
    itself. On such systems configure the addresses in the network manager instead, or make sure it keeps
    foreign addresses.
seealso:
  - name: Multiple IP addresses (Amazon EC2 user guide)
    description: Secondary private IPv4 addresses, and configuring the OS to recognise them.
    link: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/MultipleIP.html
"""

EXAMPLES = r"""
- name: "P.2 | Prepare | The maintenance server answers on every private IP it was given"
  become: true
  clusterswap.swap.host_private_ips:
    interfaces:
      - mac_address: 02:1a:2b:3c:4d:5e
        private_ips: [10.0.1.10, 10.0.1.20, 10.0.1.21, 10.0.1.22]
        prefix_length: 24

- name: Every private IP AWS shows on the host's first interface (amazon.aws.aws_ec2 inventory hostvars)
  become: true
  clusterswap.swap.host_private_ips:
    interfaces:
      - mac_address: "{{ eni.mac_address }}"
        private_ips: "{{ eni.private_ip_addresses | map(attribute='private_ip_address') }}"
        prefix_length: 24
  vars:
    eni: "{{ network_interfaces | selectattr('attachment.device_index', '==', 0) | first }}"

- name: Exactly these addresses on this interface (other secondary addresses go; the primary never does)
  become: true
  clusterswap.swap.host_private_ips:
    state: exact
    persist: true
    interfaces:
      - mac_address: 02:1a:2b:3c:4d:5e
        private_ips: [10.0.1.10, 10.0.1.20]
        prefix_length: 24
  register: ips
# ips.interfaces[0].addresses == ["10.0.1.10/24", "10.0.1.20/24"]
"""

RETURN = r"""
changed:
  description: Whether an address was added or removed, or a persisted file or the unit changed.
  returned: always
  type: bool
  sample: true
added:
  description: The addresses added (in check mode, that would be added), in the order given.
  returned: always
  type: list
  elements: dict
  sample: [{"interface": "eth0", "mac_address": "02:1a:2b:3c:4d:5e", "address": "10.0.1.20/24"}]
removed:
  description:
    - The addresses removed (in check mode, that would be removed); always empty with O(state=present).
  returned: always
  type: list
  elements: dict
  sample: [{"interface": "eth0", "mac_address": "02:1a:2b:3c:4d:5e", "address": "10.0.1.30/24"}]
interfaces:
  description:
    - Each listed interface after the change (in check mode, as it would be), with all its IPv4 addresses,
      the primary first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The interface's name on the host.
      type: str
      sample: eth0
    mac_address:
      description: Its MAC address, lower case.
      type: str
      sample: 02:1a:2b:3c:4d:5e
    addresses:
      description: Its IPv4 addresses as C(IP/PREFIX).
      type: list
      elements: str
      sample: ["10.0.1.10/24", "10.0.1.20/24"]
changed_files:
  description: The persisted files written (in check mode, that would be written).
  returned: always
  type: list
  elements: str
  sample: ["/etc/clusterswap/private-ips.json"]
"""

CONFIG_PATH = "/etc/clusterswap/private-ips.json"
SCRIPT_PATH = "/usr/local/sbin/clusterswap-private-ips"
UNIT_NAME = "clusterswap-private-ips.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
#: What `systemctl enable` makes for the unit (WantedBy=multi-user.target).
UNIT_WANTS_LINK = "/etc/systemd/system/multi-user.target.wants/" + UNIT_NAME
#: Exists while systemd is the running init (then a changed unit file needs `systemctl daemon-reload`).
SYSTEMD_RUNTIME_DIR = "/run/systemd/system"
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

# The script the unit runs at boot: a few lines of shell over `ip`. python3 is there on any host Ansible
# manages; it only turns the JSON into lines.
SCRIPT = """\
#!/bin/sh
# clusterswap: give each network interface the private IPv4 addresses listed for its MAC address in
# /etc/clusterswap/private-ips.json (written by the host_private_ips Ansible module). Adds what is
# missing, removes nothing. Run at boot by clusterswap-private-ips.service.
conf=${1:-/etc/clusterswap/private-ips.json}
list=$(python3 -c 'import json, sys
for i in json.load(open(sys.argv[1]))["interfaces"]:
    for ip in i["private_ips"]:
        print(i["mac_address"], ip, i["prefix_length"])' "$conf") || exit 1
rc=0
while read -r mac ip plen; do
  [ -n "$mac" ] || continue
  dev=
  for d in /sys/class/net/*; do
    [ -e "$d/master" ] || [ "$(cat "$d/address")" != "$mac" ] || { dev=${d##*/}; break; }
  done
  if [ -z "$dev" ]; then
    echo "clusterswap-private-ips: no interface has MAC $mac; $ip not added" >&2; rc=1; continue
  fi
  ip -o -4 addr show dev "$dev" | grep -q " inet $ip/" || ip addr add "$ip/$plen" dev "$dev" || rc=1
done <<EOF
$list
EOF
exit $rc
"""

UNIT = f"""\
[Unit]
Description=clusterswap: the private IPv4 addresses of this instance's network interfaces
Documentation=file://{CONFIG_PATH}
Wants=network-online.target
After=network-online.target
ConditionPathExists={CONFIG_PATH}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={SCRIPT_PATH} {CONFIG_PATH}

[Install]
WantedBy=multi-user.target
"""


class Refused(Exception):
    """The request cannot be carried out; nothing has been changed."""


# --------------------------------------------------------------------------- pure functions


def normalize_mac(mac: str) -> str | None:
    """`02:1A:2B:3C:4D:5E` or `02-1a-...` -> `02:1a:2b:3c:4d:5e`; None when it is not a MAC address."""
    text = str(mac).strip().lower().replace("-", ":")
    return text if MAC_RE.match(text) else None


def normalize_interfaces(interfaces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checked and normalised `interfaces`: MACs in lower case, IPs as canonical strings, no duplicates.
    Raises Refused naming every problem."""
    problems: list[str] = []
    out: list[dict[str, Any]] = []
    seen_macs: set[str] = set()
    seen_ips: dict[str, str] = {}
    for n, item in enumerate(interfaces):
        mac = normalize_mac(item.get("mac_address") or "")
        if mac is None:
            problems.append(f"interfaces[{n}]: {item.get('mac_address')!r} is not a MAC address")
            continue
        if mac in seen_macs:
            problems.append(f"interfaces[{n}]: MAC address {mac} is listed twice")
            continue
        seen_macs.add(mac)
        plen = item.get("prefix_length")
        if not isinstance(plen, int) or isinstance(plen, bool) or not 1 <= plen <= 32:
            problems.append(f"interfaces[{n}] ({mac}): prefix_length {plen!r} is not between 1 and 32")
        ips: list[str] = []
        for raw in item.get("private_ips") or []:
            try:
                ip = ipaddress.IPv4Address(str(raw).strip())
            except ValueError:
                problems.append(
                    f"interfaces[{n}] ({mac}): {raw!r} is not an IPv4 address (give it without /prefix)"
                )
                continue
            if (
                ip.is_multicast
                or ip.is_unspecified
                or ip.is_loopback
                or ip == ipaddress.IPv4Address("255.255.255.255")
            ):
                problems.append(f"interfaces[{n}] ({mac}): {ip} cannot be an interface's private address")
                continue
            if str(ip) in seen_ips:
                problems.append(
                    f"interfaces[{n}] ({mac}): {ip} is listed twice (also for {seen_ips[str(ip)]})"
                )
                continue
            seen_ips[str(ip)] = mac
            ips.append(str(ip))
        out.append({"mac_address": mac, "private_ips": ips, "prefix_length": plen})
    if problems:
        raise Refused("; ".join(problems))
    return out


def merged_config(
    previous: dict[str, Any] | None, interfaces: list[dict[str, Any]], exact: bool
) -> dict[str, Any]:
    """What the persisted file must hold after this run. `present`: the union of what it held and what is
    listed (the interfaces keep earlier addresses, so must the file); `exact`: the listed interfaces' entries
    are replaced. Entries of interfaces not listed are kept either way."""
    by_mac: dict[str, dict[str, Any]] = {}
    for entry in (previous or {}).get("interfaces", []):
        mac = normalize_mac(entry.get("mac_address", ""))
        if mac:
            by_mac[mac] = {
                "mac_address": mac,
                "private_ips": list(entry.get("private_ips", [])),
                "prefix_length": entry.get("prefix_length"),
            }
    for item in interfaces:
        old = by_mac.get(item["mac_address"])
        ips = list(item["private_ips"])
        if old and not exact:
            ips = [*old["private_ips"], *(ip for ip in ips if ip not in old["private_ips"])]
        by_mac[item["mac_address"]] = {**item, "private_ips": ips}
    return {"version": 1, "interfaces": [by_mac[mac] for mac in sorted(by_mac)]}


def config_text(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def persisted_files(config: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """{path: (content, mode)} of what persists `config`: the address file, the script, the unit (enable it:
    `systemctl enable clusterswap-private-ips.service`, i.e. the UNIT_WANTS_LINK symlink to UNIT_PATH)."""
    return {CONFIG_PATH: (config_text(config), 0o644), SCRIPT_PATH: (SCRIPT, 0o755), UNIT_PATH: (UNIT, 0o644)}


def parse_links(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`ip -j -d link show` -> [{"name", "mac", "master"}] (interfaces with a MAC address)."""
    out = []
    for link in data:
        mac = normalize_mac(link.get("address") or "")
        if mac and link.get("link_type", "ether") == "ether":
            out.append({"name": link["ifname"], "mac": mac, "master": link.get("master")})
    return out


def parse_addresses(data: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """`ip -j -4 addr show` -> {ifname: [{"ip", "prefix_length", "secondary", "scope"}]}, in kernel order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for link in data:
        rows = out.setdefault(link["ifname"], [])
        for a in link.get("addr_info", []):
            if a.get("family") != "inet":
                continue
            rows.append(
                {
                    "ip": a["local"],
                    "prefix_length": int(a["prefixlen"]),
                    "secondary": bool(a.get("secondary")),
                    "scope": a.get("scope", "global"),
                }
            )
    return out


def find_interface(links: list[dict[str, Any]], mac: str) -> str:
    """The name of the one interface that has `mac` and is not enslaved to another; Refused otherwise."""
    holders = [link["name"] for link in links if link["mac"] == mac and not link.get("master")]
    if not holders:
        known = (
            ", ".join(f"{link['name']} {link['mac']}" for link in links if not link.get("master")) or "none"
        )
        raise Refused(f"no network interface has MAC address {mac} (this host has: {known})")
    if len(holders) > 1:
        raise Refused(
            f"MAC address {mac} is on several interfaces ({', '.join(holders)}): cannot tell which one"
        )
    return holders[0]


def plan(
    interfaces: list[dict[str, Any]],
    links: list[dict[str, Any]],
    addresses: dict[str, list[dict[str, Any]]],
    exact: bool,
) -> list[dict[str, Any]]:
    """Per listed interface: its name, the addresses it has, what to add, what to remove. Raises Refused
    (before any change) when a MAC has no interface."""
    problems, steps = [], []
    for item in interfaces:
        try:
            name = find_interface(links, item["mac_address"])
        except Refused as exc:
            problems.append(str(exc))
            continue
        have = addresses.get(name, [])
        have_ips = {a["ip"] for a in have}
        add = [ip for ip in item["private_ips"] if ip not in have_ips]
        remove = []
        if exact:
            wanted = set(item["private_ips"])
            remove = [a for a in have if a["secondary"] and a["scope"] == "global" and a["ip"] not in wanted]
        steps.append({"item": item, "name": name, "have": have, "add": add, "remove": remove})
    if problems:
        raise Refused("; ".join(problems))
    return steps


def after_addresses(step: dict[str, Any]) -> list[str]:
    gone = {a["ip"] for a in step["remove"]}
    kept = [f"{a['ip']}/{a['prefix_length']}" for a in step["have"] if a["ip"] not in gone]
    return kept + [f"{ip}/{step['item']['prefix_length']}" for ip in step["add"]]


def addresses_text(steps: list[dict[str, Any]], after: bool) -> str:
    lines = []
    for step in steps:
        addrs = after_addresses(step) if after else [f"{a['ip']}/{a['prefix_length']}" for a in step["have"]]
        lines.append(f"{step['name']} ({step['item']['mac_address']}): {' '.join(addrs) or '-'}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the host


def _ip_json(module: AnsibleModule, ip_bin: str, *args: str) -> list[dict[str, Any]]:
    rc, out, err = module.run_command([ip_bin, "-j", *args])
    if rc != 0:
        module.fail_json(msg=f"ip -j {' '.join(args)} failed (rc {rc}): {err.strip()}")
    try:
        return json.loads(out or "[]")  # type: ignore[no-any-return]
    except ValueError:
        module.fail_json(msg=f"ip -j {' '.join(args)} did not print JSON (iproute2 too old?): {out[:200]!r}")
        raise  # not reached


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write(module: AnsibleModule, path: str, content: str, mode: int) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".clusterswap-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(tmp, mode)
    module.atomic_move(tmp, path)
    os.chmod(path, mode)


def _mode(path: str) -> int | None:
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return None


def previous_config(module: AnsibleModule) -> dict[str, Any] | None:
    text = _read(CONFIG_PATH)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        module.warn(f"{CONFIG_PATH} is not valid JSON: it is rewritten from this run's interfaces only")
        return None
    return data if isinstance(data, dict) else None


def unit_enabled(module: AnsibleModule) -> bool:
    systemctl = module.get_bin_path("systemctl")
    if systemctl is None:
        return os.path.islink(UNIT_WANTS_LINK)
    rc, out, _ = module.run_command([systemctl, "is-enabled", UNIT_NAME])
    return rc == 0 and out.strip() == "enabled"


def enable_unit(module: AnsibleModule, reload: bool) -> None:
    systemctl = module.get_bin_path("systemctl")
    if systemctl is None:  # no systemctl (an image being built): what `systemctl enable` would link
        os.makedirs(os.path.dirname(UNIT_WANTS_LINK), exist_ok=True)
        if not os.path.islink(UNIT_WANTS_LINK):
            os.symlink(UNIT_PATH, UNIT_WANTS_LINK)
        return
    if reload and os.path.isdir(SYSTEMD_RUNTIME_DIR):
        rc, _, err = module.run_command([systemctl, "daemon-reload"])
        if rc != 0:
            module.fail_json(msg=f"systemctl daemon-reload failed: {err.strip()}")
    rc, _, err = module.run_command([systemctl, "enable", UNIT_NAME])
    if rc != 0:
        module.fail_json(msg=f"systemctl enable {UNIT_NAME} failed: {err.strip()}")


def run(module: AnsibleModule) -> dict[str, Any]:
    params = module.params
    exact = params["state"] == "exact"
    try:
        interfaces = normalize_interfaces(params["interfaces"])
    except Refused as exc:
        module.fail_json(msg=f"nothing changed: {exc}")
    ip_bin = module.get_bin_path("ip", required=True)
    links = parse_links(_ip_json(module, ip_bin, "-d", "link", "show"))
    addresses = parse_addresses(_ip_json(module, ip_bin, "-4", "addr", "show"))
    try:
        steps = plan(interfaces, links, addresses, exact)
    except Refused as exc:
        module.fail_json(msg=f"nothing changed: {exc}")

    files: dict[str, tuple[str, int]] = {}
    config_before = _read(CONFIG_PATH) or ""
    if params["persist"]:
        files = persisted_files(merged_config(previous_config(module), interfaces, exact))
    changed_files = [p for p, (text, mode) in files.items() if _read(p) != text or _mode(p) != mode]
    enable = bool(files) and not unit_enabled(module)

    added = [
        {
            "interface": s["name"],
            "mac_address": s["item"]["mac_address"],
            "address": f"{ip}/{s['item']['prefix_length']}",
        }
        for s in steps
        for ip in s["add"]
    ]
    removed = [
        {
            "interface": s["name"],
            "mac_address": s["item"]["mac_address"],
            "address": f"{a['ip']}/{a['prefix_length']}",
        }
        for s in steps
        for a in s["remove"]
    ]
    result: dict[str, Any] = {
        "changed": bool(added or removed or changed_files or enable),
        "added": added,
        "removed": removed,
        "interfaces": [
            {"name": s["name"], "mac_address": s["item"]["mac_address"], "addresses": after_addresses(s)}
            for s in steps
        ],
        "changed_files": changed_files,
    }
    if module._diff:
        diffs = [
            {
                "before_header": "addresses",
                "after_header": "addresses",
                "before": addresses_text(steps, after=False),
                "after": addresses_text(steps, after=True),
            }
        ]
        if params["persist"]:
            diffs.append(
                {
                    "before_header": CONFIG_PATH,
                    "after_header": CONFIG_PATH,
                    "before": config_before,
                    "after": files[CONFIG_PATH][0],
                }
            )
        result["diff"] = diffs
    if module.check_mode or not result["changed"]:
        return result

    done: list[str] = []
    for s in steps:
        for ip in s["add"]:
            address = f"{ip}/{s['item']['prefix_length']}"
            rc, _, err = module.run_command([ip_bin, "addr", "add", address, "dev", s["name"]])
            if rc != 0:
                module.fail_json(
                    msg=f"ip addr add {address} dev {s['name']} failed: {err.strip()}", done=done, **result
                )
            done.append(f"added {address} on {s['name']}")
        for a in s["remove"]:
            address = f"{a['ip']}/{a['prefix_length']}"
            rc, _, err = module.run_command([ip_bin, "addr", "del", address, "dev", s["name"]])
            if rc != 0:
                module.fail_json(
                    msg=f"ip addr del {address} dev {s['name']} failed: {err.strip()}", done=done, **result
                )
            done.append(f"removed {address} from {s['name']}")
    for path in changed_files:
        text, mode = files[path]
        _write(module, path, text, mode)
    if changed_files or enable:
        enable_unit(module, reload=UNIT_PATH in changed_files)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            interfaces=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    mac_address=dict(type="str", required=True),
                    private_ips=dict(type="list", elements="str", required=True),
                    prefix_length=dict(type="int", required=True),
                ),
            ),
            state=dict(type="str", choices=["present", "exact"], default="present"),
            persist=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
