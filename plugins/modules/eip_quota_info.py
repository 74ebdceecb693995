#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The account's EC2-Classic and VPC Elastic IP limits, and how much of each is used and free."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import run_module
from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import ec2_client
from ansible_collections.clusterswap.swap.plugins.module_utils.eip import (
    describe_addresses,
    describe_moving_addresses,
    eip_quotas,
    quota_problem,
)

DOCUMENTATION = r"""
---
module: eip_quota_info
short_description: Classic and VPC Elastic IP limits, used and free, before the window
version_added: 0.1.0
description:
  - For the account and region, the EC2-Classic and the VPC Elastic IP (EIP) limits, how many of each
    are allocated and how many are free. EC2-Classic and VPC have B(separate) limits (historically 5 each);
    going over raises C(AddressLimitExceeded).
  - Limits come from C(DescribeAccountAttributes) (C(max-elastic-ips), C(vpc-max-elastic-ips)) and, for
    the VPC, from Service Quotas (C(ec2) C(L-0263D0A3)) where it answers; an error from Service Quotas means
    "not available". When both answer and disagree the smaller is used. Each pool says which source its
    limit came from.
  - Usage comes from one C(DescribeAddresses) and one C(DescribeMovingAddresses); an address moving to the
    VPC counts against the VPC limit.
  - With O(needed_vpc), also says whether that many more VPC EIPs fit, and what to ask AWS for if not.
author:
  - clusterswap
options:
  needed_vpc:
    description:
      - How many more VPC EIPs the coming change needs (for example, how many Classic EIPs will be moved).
        The result's RV(vpc_room) says whether they fit.
    type: int
  service_quotas:
    description:
      - Also ask Service Quotas for C(L-0263D0A3).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: "0.3 | EIP | Limits and usage"
  clusterswap.swap.eip_quota_info:
    needed_vpc: "{{ eips | length }}"
  register: eip_quota

- name: "0.3 | EIP | The VPC limit has room for every EIP to move"
  ansible.builtin.assert:
    that: eip_quota.vpc_room.fits
    fail_msg: "{{ eip_quota.vpc_room.message }}"
"""

RETURN = r"""
classic:
  description: The EC2-Classic pool.
  returned: always
  type: dict
  contains:
    limit:
      description: The limit (C(None) if no source answered).
      type: int
      sample: 30
    used:
      description: EIPs allocated in EC2-Classic.
      type: int
      sample: 24
    available:
      description: How many more fit.
      type: int
      sample: 6
    limit_source:
      description: Where the limit came from.
      type: str
      sample: describe_account_attributes
vpc:
  description: The VPC pool, with the same keys as RV(classic).
  returned: always
  type: dict
  sample: {"limit": 5, "used": 0, "available": 5, "limit_source": "describe_account_attributes"}
sources:
  description: What each source answered; C(service_quotas.error) says why Service Quotas was not used.
  returned: always
  type: dict
  sample:
    describe_account_attributes: {"max-elastic-ips": 30, "vpc-max-elastic-ips": 5}
    service_quotas: {"quota_code": "L-0263D0A3", "value": null, "error": "NoSuchResourceException: ..."}
vpc_room:
  description: Whether O(needed_vpc) more VPC EIPs fit, and if not, what to ask AWS for.
  returned: when O(needed_vpc) is given
  type: dict
  sample: {"needed": 24, "available": 5, "fits": false, "message": "VPC Elastic IP limit too low ..."}
"""

ARGUMENT_SPEC: dict[str, Any] = {
    "needed_vpc": {"type": "int"},
    "service_quotas": {"type": "bool", "default": True},
}


def room(needed: int, vpc: dict[str, Any], region: str | None) -> dict[str, Any]:
    problem = quota_problem(needed, vpc, region)
    return {
        "needed": needed,
        "available": vpc["available"],
        "fits": problem is None,
        "message": problem or "",
    }


def run(module: AnsibleAWSModule) -> None:
    client = ec2_client(module)
    addresses = describe_addresses(client)
    moving = describe_moving_addresses(client)
    quotas = eip_quotas(module, client, addresses, moving, module.params["service_quotas"])
    if quotas["vpc"]["limit_source"].startswith("smaller"):
        module.warn(f"VPC EIP limit sources disagree: {quotas['sources']}; using the smaller")
    result: dict[str, Any] = {"changed": False, **quotas}
    if module.params["needed_vpc"] is not None:
        result["vpc_room"] = room(module.params["needed_vpc"], quotas["vpc"], module.region)
    module.exit_json(**result)


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
