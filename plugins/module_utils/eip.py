# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Code shared by the clusterswap EIP modules (eip_quota_info, eip_move_to_vpc, eip_associate).

One piece of code for one job:
- ``describe_addresses``: the one DescribeAddresses call a module makes for its whole list;
- ``describe_moving_addresses``: the one DescribeMovingAddresses call per poll;
- ``eip_quotas``: Classic and VPC limits, used and free (DescribeAccountAttributes + Service Quotas);
- ``quota_problem``: the message that stops a move the VPC limit has no room for;
- ``young_addresses``: the EIPs allocated less than 24 hours ago (CloudTrail), which MoveAddressToVpc refuses
  (a warning when CloudTrail cannot tell);
- ``eip_diff``: the --diff of the EIPs that change.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import (
    aws_client,
    aws_error,
    call,
    paginate,
)

VPC_EIP_QUOTA_CODE = "L-0263D0A3"
VPC_EIP_QUOTA_NAME = "EC2-VPC Elastic IPs"
CLASSIC = "standard"
VPC = "vpc"
MOVING_TO_VPC = "movingToVpc"
RESTORING_TO_CLASSIC = "restoringToClassic"


@dataclass(frozen=True)
class Eip:
    """An Elastic IP as DescribeAddresses shows it."""

    public_ip: str
    domain: str
    allocation_id: str | None = None
    association_id: str | None = None
    instance_id: str | None = None
    network_interface_id: str | None = None
    private_ip_address: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def associated(self) -> bool:
        return bool(self.instance_id or self.network_interface_id)

    @property
    def name(self) -> str | None:
        return self.tags.get("Name")

    def state(self) -> dict[str, Any]:
        """What --diff shows for this EIP."""
        return {"domain": self.domain, "instance_id": self.instance_id or None}

    def to_result(self) -> dict[str, Any]:
        return {
            "public_ip": self.public_ip,
            "allocation_id": self.allocation_id,
            "domain": self.domain,
            "association_id": self.association_id,
            "instance_id": self.instance_id or None,
            "network_interface_id": self.network_interface_id,
            "name": self.name,
        }


# --------------------------------------------------------------------------- input


def malformed_ips(public_ips: Iterable[str]) -> list[str]:
    """Problems for every address that is not an IPv4 address."""
    problems = []
    for ip in public_ips:
        try:
            ipaddress.IPv4Address(str(ip))
        except ValueError:
            problems.append(f"{ip!r} is not a valid IPv4 address")
    return problems


def not_found_message(ip: str, region: str | None) -> str:
    return (
        f"{ip}: no Elastic IP with this address in region {region} for this account "
        "(InvalidAddress.NotFound): is it in another region, or released?"
    )


# --------------------------------------------------------------------------- describing


def _eip_from_aws(raw: dict[str, Any]) -> Eip:
    return Eip(
        public_ip=raw["PublicIp"],
        domain=raw.get("Domain", CLASSIC),
        allocation_id=raw.get("AllocationId"),
        association_id=raw.get("AssociationId"),
        instance_id=raw.get("InstanceId") or None,
        network_interface_id=raw.get("NetworkInterfaceId"),
        private_ip_address=raw.get("PrivateIpAddress"),
        tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
    )


def describe_addresses(client: Any) -> dict[str, Eip]:
    """Every EIP of the region, by public IP: one DescribeAddresses call whatever the list's length.

    Describing the whole region (DescribeAddresses is not paginated) instead of filtering by the list
    means an unknown address is reported by name instead of failing the whole call, and the same answer
    gives the Classic and VPC usage counts the quota check needs.
    """
    answer = call(client, "describe_addresses", "the region's Elastic IPs", "DescribeAddresses for")
    return {raw["PublicIp"]: _eip_from_aws(raw) for raw in answer.get("Addresses", [])}


def by_allocation_id(addresses: dict[str, Eip]) -> dict[str, Eip]:
    return {eip.allocation_id: eip for eip in addresses.values() if eip.allocation_id}


def describe_moving_addresses(client: Any) -> dict[str, str]:
    """Public IP -> MoveStatus (movingToVpc | restoringToClassic) of every address still moving."""
    answer = paginate(client, "describe_moving_addresses", "moving Elastic IPs")
    return {
        status["PublicIp"]: status.get("MoveStatus", MOVING_TO_VPC)
        for status in answer.get("MovingAddressStatuses", [])
    }


def _account_attributes(client: Any) -> dict[str, int]:
    answer = call(
        client,
        "describe_account_attributes",
        "max-elastic-ips, vpc-max-elastic-ips",
        "DescribeAccountAttributes for",
        AttributeNames=["max-elastic-ips", "vpc-max-elastic-ips"],
    )
    limits = {}
    for attr in answer.get("AccountAttributes", []):
        values = attr.get("AttributeValues", [])
        if values:
            limits[attr["AttributeName"]] = int(float(values[0]["AttributeValue"]))
    return limits


def _service_quota(module: AnsibleAWSModule) -> tuple[int | None, str | None]:
    """The Service Quotas value of L-0263D0A3, or (None, why it is not available)."""
    try:
        client = aws_client(module, "service-quotas")
        answer = client.get_service_quota(aws_retry=True, ServiceCode="ec2", QuotaCode=VPC_EIP_QUOTA_CODE)
        return int(answer["Quota"]["Value"]), None
    except Exception as exc:  # any failure means "not available": the EC2 attribute still answers
        code, message = aws_error(exc)
        return None, f"{code}: {message}"


def _usage(addresses: dict[str, Eip], moving: dict[str, str]) -> tuple[int, int]:
    """(classic used, vpc used); an address moving to the VPC counts against the VPC limit."""
    vpc = sum(1 for ip, e in addresses.items() if e.domain == VPC or moving.get(ip) == MOVING_TO_VPC)
    return len(addresses) - vpc, vpc


def _pool(limit: int | None, used: int, source: str) -> dict[str, Any]:
    available = None if limit is None else max(0, limit - used)
    return {"limit": limit, "used": used, "available": available, "limit_source": source}


def _vpc_limit(attr: int | None, quota: int | None) -> tuple[int | None, str]:
    if attr is not None and quota is not None:
        if attr == quota:
            return attr, "describe_account_attributes+service_quotas"
        return min(attr, quota), "smaller of describe_account_attributes and service_quotas"
    if quota is not None:
        return quota, "service_quotas"
    return attr, "describe_account_attributes" if attr is not None else "none"


def eip_quotas(
    module: AnsibleAWSModule,
    client: Any,
    addresses: dict[str, Eip],
    moving: dict[str, str],
    use_service_quotas: bool = True,
) -> dict[str, Any]:
    """Classic and VPC limits, used and available, and where each limit came from."""
    attrs = _account_attributes(client)
    quota, quota_error = _service_quota(module) if use_service_quotas else (None, "not asked")
    classic_used, vpc_used = _usage(addresses, moving)
    vpc_limit, vpc_source = _vpc_limit(attrs.get("vpc-max-elastic-ips"), quota)
    classic_limit = attrs.get("max-elastic-ips")
    return {
        "classic": _pool(
            classic_limit, classic_used, "describe_account_attributes" if classic_limit else "none"
        ),
        "vpc": _pool(vpc_limit, vpc_used, vpc_source),
        "sources": {
            "describe_account_attributes": attrs,
            "service_quotas": {"quota_code": VPC_EIP_QUOTA_CODE, "value": quota, "error": quota_error},
        },
    }


def quota_problem(needed: int, vpc: dict[str, Any], region: str | None) -> str | None:
    """The message that stops a move the VPC limit has no room for, saying what to ask AWS for."""
    if vpc["available"] is None or needed <= vpc["available"]:
        return None
    target = vpc["used"] + needed
    return (
        f"VPC Elastic IP limit too low in {region}: {needed} addresses to move need {needed} free VPC EIPs, "
        f"only {vpc['available']} free (limit {vpc['limit']}, {vpc['used']} in use). Nothing was moved. "
        f"Ask AWS to raise the VPC Elastic IP limit (Service Quotas: ec2 {VPC_EIP_QUOTA_CODE} "
        f"'{VPC_EIP_QUOTA_NAME}') to at least {target}, "
        "wait until DescribeAccountAttributes shows it, and rerun."
    )


# --------------------------------------------------------------------------- diff


#: MoveAddressToVpc: "The Elastic IP address must be allocated to your account for more than 24 hours".
MOVE_MIN_AGE = timedelta(hours=24)


@dataclass
class Ages:
    """When the EIPs allocated in the last 24 hours were allocated, from CloudTrail's event history.

    ``allocated``: public IP -> allocation time, for the asked addresses allocated within the last 24 hours.
    ``unknown``: why the history could not be read (the check is then not made), else None.
    """

    allocated: dict[str, datetime] = field(default_factory=dict)
    unknown: str | None = None

    def problems(self, public_ips: Iterable[str], now: datetime | None = None) -> list[str]:
        """One per asked address MoveAddressToVpc would refuse, with when it will accept it."""
        now = now or datetime.now(UTC)
        problems = []
        for ip in public_ips:
            at = self.allocated.get(ip)
            if at is not None:
                ready = at + MOVE_MIN_AGE
                minutes = int(max(ready - now, timedelta(0)).total_seconds() // 60)
                problems.append(
                    f"{ip}: allocated at {at:%Y-%m-%d %H:%M} UTC (CloudTrail); MoveAddressToVpc refuses an "
                    f"address allocated less than 24 hours ago, so it can move from {ready:%Y-%m-%d %H:%M} "
                    f"UTC (in {minutes // 60}h{minutes % 60:02d}m): "
                    "hold the swap until then, or take it out of the plan"
                )
        return problems

    def warning(self) -> str | None:
        if self.unknown is None:
            return None
        return (
            f"Could not read CloudTrail's event history ({self.unknown}), so the 24-hour rule of "
            "MoveAddressToVpc was not checked: an EIP allocated in the last 24 hours would be refused "
            "mid-move. "
            "Grant cloudtrail:LookupEvents (iam/vpc.json) to have it checked."
        )


def young_addresses(module: AnsibleAWSModule, public_ips: Iterable[str]) -> Ages:
    """The addresses of ``public_ips`` allocated in the last 24 hours: CloudTrail's AllocateAddress events.

    LookupEvents (event name AllocateAddress, from 24 hours ago) pages 50 events at a time, newest first;
    each event's record names the address in ``responseElements.publicIp``. An address allocated in the last
    minutes may not be listed yet (CloudTrail delivers events within minutes); an address released and
    allocated again is young by its latest allocation. Any failure (no permission, CloudTrail not answering)
    makes the ages unknown instead of failing the module, which warns that the check was not made.
    """
    wanted = set(public_ips)
    if not wanted:
        return Ages()
    since = datetime.now(UTC) - MOVE_MIN_AGE
    try:
        client = aws_client(module, "cloudtrail")
        pages = client.get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AllocateAddress"}],
            StartTime=since,
        )
        allocated: dict[str, datetime] = {}
        for page in pages:
            for event in page.get("Events", []):
                record = json.loads(event.get("CloudTrailEvent") or "{}")
                ip = (record.get("responseElements") or {}).get("publicIp")
                at = event.get("EventTime")
                if ip in wanted and isinstance(at, datetime) and at >= since:
                    allocated[ip] = max(allocated.get(ip, at), at)
    except Exception as exc:  # no permission or no answer: the check is not made, and the module says so
        code, message = aws_error(exc)
        ages = Ages(unknown=f"{code}: {message}")
        warning = ages.warning()
        if warning:
            module.warn(warning)
        return ages
    return Ages(allocated=allocated)


def eip_diff(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """--diff of the EIPs that change: each EIP's domain and instance before and after."""
    changed = sorted(ip for ip in after if before.get(ip) != after[ip])
    return {
        "before": {ip: before.get(ip) for ip in changed},
        "after": {ip: after[ip] for ip in changed},
    }
