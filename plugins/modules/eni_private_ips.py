#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Give network interfaces at least N secondary private IPs (never fewer), verified by describing again."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import (
    AwsError,
    Progress,
    call,
    duplicates,
    fail_aws,
    run_module,
    wait_until,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import (
    Interface,
    describe_network_interfaces,
    ec2_client,
)

DOCUMENTATION = r"""
---
module: eni_private_ips
short_description: Give network interfaces at least N secondary private IPs, never fewer, and verify it
version_added: 0.2.0
description:
  - AWS holds one Elastic IP per private IPv4 address, so a server that is to hold N EIPs needs N private IPs
    on its network interfaces. This module gives each listed interface at least
    O(interfaces[].secondary_private_ips) secondary private IPs with C(AssignPrivateIpAddresses) (AWS picks
    the addresses) and B(never unassigns) one, so an address that holds an EIP is never taken away.
  - It verifies by describing again (one C(DescribeNetworkInterfaces) per poll, bounded by O(wait_timeout)),
    because new secondary IPs can take a moment to show.
  - Before any change it checks that every interface exists; if one does not, it changes nothing and names
    it. C(AssignPrivateIpAddresses) has no C(DryRun) parameter, so there is no permission check. Past the
    instance type's limit AWS answers C(PrivateIpAddressLimitExceeded); the swap's pre-flight
    (M(swap_plan_info)) checks each type's capacity before the window.
  - Why not C(amazon.aws.ec2_eni) with C(secondary_private_ip_address_count)? It unassigns addresses when the
    count given is below what the interface has, and (amazon.aws 10.1) its wait compares the number of all
    the addresses, primary included, with the secondary count, so it always sleeps its 30 seconds and
    verifies nothing.
  - Check mode tells what would be assigned; C(--diff) shows each interface's secondary count before and
    after.
author:
  - clusterswap
options:
  interfaces:
    description: The interfaces and how many secondary private IPs each must have at least.
    type: list
    elements: dict
    required: true
    suboptions:
      network_interface_id:
        description: The network interface.
        type: str
        required: true
      secondary_private_ips:
        description: The number of secondary private IPv4 addresses it must have at least.
        type: int
        required: true
  wait_timeout:
    description: Seconds to wait until DescribeNetworkInterfaces shows every new address.
    type: int
    default: 120
  poll_interval:
    description: Seconds between two polls.
    type: float
    default: 2
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: "1.2 | Prepare | Give each target interface the private IPs its EIPs need"
  clusterswap.swap.eni_private_ips:
    interfaces:
      - network_interface_id: eni-0123456789abcdef0
        secondary_private_ips: 7
"""

RETURN = r"""
interfaces:
  description: One entry per listed interface.
  returned: always
  type: list
  elements: dict
  contains:
    network_interface_id:
      description: The interface.
      type: str
    assigned:
      description: How many secondary IPs this run assigned (would assign, in check mode).
      type: int
    secondary_private_ips:
      description: Its secondary private IPs after this run (before, in check mode).
      type: list
      elements: str
    private_ip_addresses:
      description: All its private IPs after this run, the primary first.
      type: list
      elements: str
progress:
  description: The progress lines of the verification.
  returned: always
  type: list
  elements: str
"""

ARGUMENT_SPEC: dict[str, Any] = {
    "interfaces": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "network_interface_id": {"type": "str", "required": True},
            "secondary_private_ips": {"type": "int", "required": True},
        },
    },
    "wait_timeout": {"type": "int", "default": 120},
    "poll_interval": {"type": "float", "default": 2},
}


def secondaries(eni: Interface) -> list[str]:
    return [p.address for p in eni.private_ips if not p.primary]


def missing(wanted: dict[str, int], enis: dict[str, Interface]) -> dict[str, int]:
    """ENI -> how many secondary IPs it still needs (only those that need some)."""
    return {e: n - len(secondaries(enis[e])) for e, n in wanted.items() if n > len(secondaries(enis[e]))}


def input_problems(requests: list[dict[str, Any]]) -> list[str]:
    problems = [
        f"{e}: listed more than once" for e in duplicates(r["network_interface_id"] for r in requests)
    ]
    problems += [
        f"{r['network_interface_id']}: secondary_private_ips must be 0 or more"
        for r in requests
        if r["secondary_private_ips"] < 0
    ]
    return problems


def entries(
    wanted: dict[str, int], enis: dict[str, Interface], assigned: dict[str, int]
) -> list[dict[str, Any]]:
    out = []
    for eni_id in wanted:
        eni = enis[eni_id]
        ordered = sorted(eni.private_ips, key=lambda p: not p.primary)
        out.append(
            {
                "network_interface_id": eni_id,
                "assigned": assigned.get(eni_id, 0),
                "secondary_private_ips": secondaries(eni),
                "private_ip_addresses": [p.address for p in ordered],
            }
        )
    return out


def run(module: AnsibleAWSModule) -> None:
    requests = module.params["interfaces"]
    problems = input_problems(requests)
    if problems:
        module.fail_json(msg="Nothing was changed. " + " | ".join(problems), problems=problems)
    wanted = {r["network_interface_id"]: r["secondary_private_ips"] for r in requests}
    client = ec2_client(module)
    enis = describe_network_interfaces(client, wanted)
    problems = [
        f"{e}: no network interface with this id in region {module.region}" for e in wanted if e not in enis
    ]
    if problems:
        module.fail_json(msg="Nothing was changed. " + " | ".join(problems), problems=problems)
    todo = missing(wanted, enis)
    before = {e: len(secondaries(enis[e])) for e in wanted}
    diff = {"before": before, "after": {e: max(n, before[e]) for e, n in wanted.items()}}
    if module.check_mode or not todo:
        module.exit_json(changed=bool(todo), interfaces=entries(wanted, enis, todo), progress=[], diff=diff)
    assigned: dict[str, int] = {}
    for eni_id, count in todo.items():
        try:
            call(
                client,
                "assign_private_ip_addresses",
                eni_id,
                "AssignPrivateIpAddresses",
                NetworkInterfaceId=eni_id,
                SecondaryPrivateIpAddressCount=count,
            )
        except AwsError as exc:
            fail_aws(
                module,
                exc,
                f"{exc} ({len(assigned)} interfaces given addresses before it; rerun to finish)",
                changed=bool(assigned),
            )
        assigned[eni_id] = count
    progress = Progress(module.log)
    last: dict[str, dict[str, Interface]] = {}

    def pending() -> list[str]:
        last["enis"] = describe_network_interfaces(client, wanted)
        return list(missing(wanted, last["enis"]))

    p = module.params
    remaining = wait_until(pending, p["wait_timeout"], p["poll_interval"], progress, "private IPs", len(todo))
    result = {"interfaces": entries(wanted, last["enis"], assigned), "progress": progress.lines, "diff": diff}
    if remaining:
        module.fail_json(
            msg="DescribeNetworkInterfaces still does not show every new private IP after "
            f"{p['wait_timeout']}s on: {', '.join(remaining)} (AWS is eventually consistent: rerun)",
            changed=True,
            **result,
        )
    module.exit_json(changed=True, **result)


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
