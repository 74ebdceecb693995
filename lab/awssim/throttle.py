"""EC2 API request throttling, as AWS does it: token buckets per account, per Region, per API.

Source of every rule here: /work/shared/research/aws-rules.md §1f, which quotes "Request throttling for
the Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
(also https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html). Called [EC2-Throttling]
below. What the page says, and so what this module does:

- "Amazon EC2 throttles EC2 API requests for each AWS account on a per-Region basis" and "uses the token
  bucket algorithm": buckets are keyed by (account, region, ...).
- Request rate limiting: "each API is evaluated individually, and you are throttled on the number of
  requests you make on a per-API basis. Each request that you make removes one token from the API's
  bucket ... requests for other API are not affected": one bucket per API, sized by the API's category
  (the tables below). An older version of the page described one bucket per category ("up to 100
  Describe* requests in one second"); the current one is per API, and this follows it.
- "If the bucket is below its maximum capacity, a set number of tokens is added back to it every second
  until it reaches its maximum capacity ... The bucket can't hold more than its maximum number of tokens":
  refill is continuous here (rate * elapsed seconds, capped at the size), in real time (`time.monotonic`
  or an injected clock), never scaled by the lab's latency scale.
- Resource rate limiting: some APIs (RunInstances, StartInstances, StopInstances, TerminateInstances) also
  have "a separate resource token bucket" that is drawn by the number of instances the request affects.
- "If you exceed an API throttling limit, you get the RequestLimitExceeded error code." The message
  "Request limit exceeded." and the HTTP status 503 are what AWS answers in public reports:
  cloudfoundry/bosh-aws-cpi-release#61 ("Request limit exceeded. (Service: AmazonEC2; Status Code: 503;
  Error Code: RequestLimitExceeded ...)"), otiai10/hotsub#10 ("RequestLimitExceeded: Request limit
  exceeded. status code: 503"), zalando-zmon/zmon-aws-agent#85 (botocore: "An error occurred
  (RequestLimitExceeded) when calling the DescribeInstances operation (reached max retries: 4): Request
  limit exceeded."). botocore treats it as throttling and retries it: `botocore/data/_retry.json`,
  `"ec2": {"__default__": {"policies":
  {"request_limit_exceeded": {"applies_when": {"response": {"service_error_code":
  "RequestLimitExceeded", "http_status_code": 503}}}}}}` (legacy retry mode), and
  `botocore/retries/standard.py` `ThrottledRetryableChecker._THROTTLED_ERROR_CODES` (standard mode).

Not confirmed against AWS (the page does not say), and what the lab does:
- whether a DryRun request takes a token: the lab counts it like the call (AWS evaluates the request,
  permissions included, before answering DryRunOperation, so it is a request like any other);
- whether an unfiltered-and-unpaginated DescribeInstances (etc.) also draws from the API's ordinary
  bucket: the lab gives it a bucket of its own (per API) and does not draw from the ordinary one;
- whether a request refused by its resource bucket still takes a request token: the lab takes tokens
  from neither (a throttled request takes nothing);
- whether a failed request (e.g. InvalidParameterValue) takes a token: it does here (it is a request).

Only EC2 is throttled this way: RDS and Service Quotas have their own, differently documented limits that
are not in [EC2-Throttling]; the lab leaves them unthrottled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

THROTTLE_CODE = "RequestLimitExceeded"
THROTTLE_MESSAGE = "Request limit exceeded."
THROTTLE_STATUS = 503
EPSILON = 1e-9


@dataclass(frozen=True)
class BucketSpec:
    """A bucket's size (tokens) and refill rate (tokens per second)."""

    category: str
    size: float
    refill: float


# --- request token buckets [EC2-Throttling], "Request token bucket sizes and refill rates" ---------------
#: Non-mutating actions: "Describe*, List*, Get*, Search*": 100, refill 20/s.
NON_MUTATING = BucketSpec("non-mutating", 100, 20)
#: "Unfiltered and unpaginated non-mutating actions" (the APIs in UNFILTERED_APIS): 50, refill 10/s.
UNFILTERED = BucketSpec("unfiltered-unpaginated", 50, 10)
#: Mutating actions: "All APIs that are not a Describe*, List*, Search*, or Get*" and not listed below
#: (AssociateAddress, DisassociateAddress, AttachVolume, DetachVolume, StopInstances, AllocateAddress,
#: ...): 50, refill 5/s. The page's "resource-intensive actions" (AuthorizeSecurityGroupIngress, ...) have
#: the same 50 and 5/s, so they need no row of their own.
MUTATING = BucketSpec("mutating", 50, 5)

#: APIs with a bucket size and refill rate of their own [EC2-Throttling], aws-rules §1f table.
API_SPECS: dict[str, BucketSpec] = {
    "MoveAddressToVpc": BucketSpec("MoveAddressToVpc", 1, 1),
    "DescribeMovingAddresses": BucketSpec("DescribeMovingAddresses", 1, 1),
    "RestoreAddressToClassic": BucketSpec("RestoreAddressToClassic", 1, 1),
    "StartInstances": BucketSpec("StartInstances", 5, 2),
    "RunInstances": BucketSpec("RunInstances", 5, 2),
    "CreateTags": BucketSpec("CreateTags", 100, 10),
    "DeleteTags": BucketSpec("DeleteTags", 100, 10),
    "AssignPrivateIpAddresses": BucketSpec("AssignPrivateIpAddresses", 100, 5),
    "UnassignPrivateIpAddresses": BucketSpec("UnassignPrivateIpAddresses", 100, 5),
    "ModifyNetworkInterfaceAttribute": BucketSpec("ModifyNetworkInterfaceAttribute", 100, 5),
    "TerminateInstances": BucketSpec("TerminateInstances", 100, 5),
}

#: The "unfiltered and unpaginated" APIs [EC2-Throttling], with the query parameters that name a resource
#: id list (EC2 query protocol names, as botocore serialises them: `InstanceId.1`, ...). A call is
#: unfiltered and unpaginated when it has no `Filter.N`, none of these and no `MaxResults`/`NextToken`.
#: DescribeSnapshots' `Owner.N`/`RestorableBy.N` are not counted as narrowing the call (not confirmed).
UNFILTERED_APIS: dict[str, tuple[str, ...]] = {
    "DescribeInstances": ("InstanceId",),
    "DescribeInstanceStatus": ("InstanceId",),
    "DescribeNetworkInterfaces": ("NetworkInterfaceId",),
    "DescribeSecurityGroups": ("GroupId", "GroupName"),
    "DescribeSnapshots": ("SnapshotId",),
    "DescribeSpotInstanceRequests": ("SpotInstanceRequestId",),
    "DescribeVolumes": ("VolumeId",),
}

# --- resource token buckets [EC2-Throttling], "Resource token bucket sizes and refill rates" -------------
#: Drawn by the number of instances the request affects (RunInstances: MaxCount; the others: InstanceId.N).
RESOURCE_SPECS: dict[str, BucketSpec] = {
    "RunInstances": BucketSpec("RunInstances instances", 1000, 2),
    "StartInstances": BucketSpec("StartInstances instances", 1000, 2),
    "StopInstances": BucketSpec("StopInstances instances", 1000, 20),
    "TerminateInstances": BucketSpec("TerminateInstances instances", 1000, 20),
}

NON_MUTATING_PREFIXES = ("Describe", "List", "Get", "Search")

Params = Mapping[str, Any]  # the request's query parameters: "Filter.1.Name" -> value (or [value])


def _has(params: Params, prefix: str) -> bool:
    """A parameter `prefix` or a list member `prefix.N...` is present (case-insensitive)."""
    p = prefix.lower()
    return any(k.lower() == p or k.lower().startswith(p + ".") for k in params)


def unfiltered_and_unpaginated(action: str, params: Params) -> bool:
    """No filters, no resource-id list, no MaxResults/NextToken (only for the UNFILTERED_APIS)."""
    ids = UNFILTERED_APIS.get(action)
    if ids is None:
        return False
    narrowing = ("Filter", "MaxResults", "NextToken", *ids)
    return not any(_has(params, name) for name in narrowing)


def request_spec(action: str, params: Params) -> tuple[str, BucketSpec]:
    """(bucket name, spec) of the request bucket this call draws one token from."""
    if action in API_SPECS:
        return action, API_SPECS[action]
    if unfiltered_and_unpaginated(action, params):
        return f"{action} (unfiltered and unpaginated)", UNFILTERED
    if action.startswith(NON_MUTATING_PREFIXES):
        return action, NON_MUTATING
    return action, MUTATING


def _count_list(params: Params, name: str) -> int:
    p = name.lower() + "."
    return len({k.lower().split(".")[1] for k in params if k.lower().startswith(p)})


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) and value else value


def resource_cost(action: str, params: Params) -> tuple[str, BucketSpec, int] | None:
    """(bucket name, spec, tokens) of the resource bucket this call draws from, or None."""
    spec = RESOURCE_SPECS.get(action)
    if spec is None:
        return None
    if action == "RunInstances":
        raw = _first(params.get("MaxCount") or params.get("MinCount") or 1)
        try:
            n = int(raw)
        except (TypeError, ValueError):
            n = 1
    else:
        n = _count_list(params, "InstanceId")
    return spec.category, spec, max(n, 1)


class Bucket:
    """One token bucket: `size` tokens at most, `refill` tokens per second, full when made."""

    def __init__(self, spec: BucketSpec, now: float) -> None:
        self.spec = spec
        self.tokens = float(spec.size)
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(float(self.spec.size), self.tokens + (now - self.stamp) * self.spec.refill)
        self.stamp = max(self.stamp, now)

    def has(self, n: float) -> bool:
        return self.tokens + EPSILON >= n  # 1/20 s of refill is one token, whatever the float rounding

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.spec.size,
            "refill_per_s": self.spec.refill,
            "tokens": round(self.tokens, 3),
            "category": self.spec.category,
        }


class Throttle:
    """All the buckets of the simulated AWS. `clock` is injectable (tests); default `time.monotonic`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.buckets: dict[tuple[str, str, str], Bucket] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Every bucket full again (they are made full when first used)."""
        with self._lock:
            self.buckets.clear()

    def _bucket(self, account: str, region: str, name: str, spec: BucketSpec, now: float) -> Bucket:
        key = (account, region, name)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(spec, now)
        bucket.refill(now)
        return bucket

    def admit(self, account: str, region: str, action: str, params: Params) -> bool:
        """Take this EC2 request's tokens; False (and nothing taken) when it must be throttled."""
        now = self.clock()
        with self._lock:
            name, spec = request_spec(action, params)
            draws = [(self._bucket(account, region, name, spec, now), 1)]
            cost = resource_cost(action, params)
            if cost is not None:
                rname, rspec, n = cost
                draws.append((self._bucket(account, region, rname, rspec, now), n))
            if not all(bucket.has(n) for bucket, n in draws):
                return False
            for bucket, n in draws:
                bucket.tokens -= n
            return True

    def as_dict(self) -> dict[str, Any]:
        """Bucket state by "account/region/name" (only buckets used since the last reset)."""
        now = self.clock()
        with self._lock:
            out = {}
            for (account, region, name), bucket in sorted(self.buckets.items()):
                bucket.refill(now)
                out[f"{account}/{region}/{name}"] = bucket.as_dict()
            return out
