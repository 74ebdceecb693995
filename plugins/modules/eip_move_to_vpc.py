#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move EC2-Classic Elastic IPs to the VPC (or restore them to EC2-Classic): every address checked first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import (
    AwsError,
    Heartbeat,
    Pacer,
    Progress,
    call,
    changes,
    duplicates,
    fail_aws,
    pace,
    run_module,
    wait_until,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import dry_run, ec2_client
from ansible_collections.clusterswap.swap.plugins.module_utils.eip import (
    CLASSIC,
    MOVING_TO_VPC,
    RESTORING_TO_CLASSIC,
    VPC,
    Eip,
    describe_addresses,
    describe_moving_addresses,
    eip_diff,
    eip_quotas,
    malformed_ips,
    not_found_message,
    quota_problem,
    young_addresses,
)

DOCUMENTATION = r"""
---
module: eip_move_to_vpc
short_description: Move EC2-Classic Elastic IPs to the VPC (or back), checking the VPC limit first
version_added: 0.1.0
description:
  - Moves every listed EC2-Classic Elastic IP (EIP) to the VPC with C(MoveAddressToVpc), and returns,
    for every listed address, its public IP, its (new) allocation ID, its domain and what was done.
  - Before moving anything it checks that every address exists in the region, that none is still
    associated with an instance, that the VPC EIP limit has room for all of them (see O(check_quota)),
    that none was allocated less than 24 hours ago (see O(check_age)), and that AWS allows the move (a
    C(DryRun) call). If any check fails it moves B(nothing) and fails
    with a message that names each EIP and what to do (for the limit, how many are needed, how many are
    free, and what to ask AWS for).
  - Addresses already in the VPC are left alone. Addresses still moving (C(DescribeMovingAddresses)) are
    waited for, not moved again, so a run that died halfway is finished by the next one.
  - Moves are issued together, then waited for together with one C(DescribeMovingAddresses) per poll,
    with a bounded wait; throttling (C(RequestLimitExceeded)) is retried with jittered backoff.
  - AWS throttles C(MoveAddressToVpc) and C(DescribeMovingAddresses) at one request per second each
    (a bucket of 1 token refilled at 1 per second, per account and Region; see Request throttling for
    the Amazon EC2 API, U(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html)).
    The module keeps inside those buckets itself. The C(DryRun) check and the moves are sent at most one
    per second (so 24 moves take about 24 seconds), and it never polls C(DescribeMovingAddresses) more
    than once a second.
  - The whole list costs one C(DescribeAddresses) and one C(DescribeMovingAddresses), whatever its length.
  - Check mode tells what would be moved or waited for and changes nothing. With C(--diff) each EIP's
    domain and instance before and after are shown.
  - With O(domain=standard) it goes the other way, for a rollback; every listed EIP in the VPC is restored to
    EC2-Classic (C(RestoreAddressToClassic), the same checks, pace and wait; no VPC limit to check).
author:
  - clusterswap
options:
  public_ips:
    description:
      - The public IPv4 addresses of the EIPs to move.
    type: list
    elements: str
    required: true
  domain:
    description:
      - Where the addresses go. V(vpc) moves them to the VPC (C(MoveAddressToVpc)); V(standard) restores
        them to EC2-Classic (C(RestoreAddressToClassic)).
    type: str
    choices: [vpc, standard]
    default: vpc
  wait:
    description:
      - Wait until every listed address is in the VPC (with O(domain=standard), in EC2-Classic).
      - With V(false) the module returns once the moves are issued; a later run (with O(wait=true))
        waits for them without moving them again.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for the moves. Moves usually take tens of seconds to minutes.
      - When the time is up and addresses are still moving the module fails, naming them; the moves go on
        at AWS and rerunning the module resumes the wait.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between two polls while waiting.
      - At least 1 (AWS allows one C(DescribeMovingAddresses) per second); a smaller value is raised to 1,
        with a warning.
    type: float
    default: 5
  check_age:
    description:
      - Before moving anything, check that no address was allocated less than 24 hours ago, which
        C(MoveAddressToVpc) refuses (and the C(DryRun) does not catch), from CloudTrail's event history
        (C(LookupEvents), the C(AllocateAddress) events of the last 24 hours). An address that is too young
        is named with the time from which it can move; nothing is moved.
      - If the history cannot be read (no C(cloudtrail:LookupEvents) permission, CloudTrail not answering),
        the module warns that the rule was not checked and goes on.
      - CloudTrail lists an event minutes after the call, so an address allocated in the last minutes may
        pass the check; AWS then refuses its move, and the addresses issued before it still move (the
        module fails naming both).
    type: bool
    default: true
  check_quota:
    description:
      - Before moving anything, check that the VPC EIP limit (C(DescribeAccountAttributes)
        C(vpc-max-elastic-ips) and, where it answers, Service Quotas C(L-0263D0A3))
        has room for every address to move.
    type: bool
    default: true
notes:
  - C(MoveAddressToVpc) needs the EIP allocated for more than 24 hours and not associated; disassociate
    first (for example with M(eip_associate) and O(eip_associate#module:state=absent)).
  - After the move an EIP is associated by allocation ID only; use M(eip_associate).
  - C(RestoreAddressToClassic) (O(domain=standard)) is the way back; AWS allows it only for an address that
    was moved from EC2-Classic, unassociated.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: "6.2 | EIP | Move to VPC"
  clusterswap.swap.eip_move_to_vpc:
    public_ips:
      - 127.100.0.1
      - 127.100.0.2
    wait_timeout: 900
  register: moved

- name: "6.2 | EIP | Issue the moves now, wait for them in a later task"
  clusterswap.swap.eip_move_to_vpc:
    public_ips: "{{ eips }}"
    wait: false

- name: "R.3 | EIP | Rollback: back to EC2-Classic, off their instances first"
  clusterswap.swap.eip_move_to_vpc:
    public_ips: "{{ moved_back }}"
    domain: standard

- name: "6.3 | EIP | Allocation IDs of the moved EIPs"
  ansible.builtin.debug:
    msg: "{{ moved.addresses | items2dict(key_name='public_ip', value_name='allocation_id') }}"
"""

RETURN = r"""
addresses:
  description: One entry for every listed address, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    public_ip:
      description: The public IP.
      type: str
      sample: 127.100.0.1
    allocation_id:
      description: The VPC allocation ID, once the address is in the VPC (or as returned by the move).
      type: str
      sample: eipalloc-0123456789abcdef0
    domain:
      description: C(standard) (EC2-Classic) or C(vpc) after this run (in check mode, what it would be).
      type: str
      sample: vpc
    action:
      description:
        - What this run did to the address.
        - C(moved) (the move was issued), C(resumed) (it was already moving; waited for it),
          C(none) (already in the VPC), C(would_move) or C(would_wait) (check mode), C(failed).
      type: str
      sample: moved
    status:
      description: C(InVpc), C(MoveInProgress) or C(InClassic).
      type: str
      sample: InVpc
    instance_id:
      description: The instance the address is associated with, if any.
      type: str
      sample: null
moved:
  description: How many moves this run issued.
  returned: always
  type: int
  sample: 24
quotas:
  description: The Classic and VPC limits checked before moving (see M(eip_quota_info)).
  returned: when the quota was checked
  type: dict
progress:
  description: The progress lines of the wait.
  returned: always
  type: list
  elements: str
  sample: ["moves to VPC: 0/24 done after 0.0s", "moves to VPC: 24/24 done after 31.2s"]
"""

ARGUMENT_SPEC: dict[str, Any] = {
    "public_ips": {"type": "list", "elements": "str", "required": True},
    "domain": {"type": "str", "choices": [VPC, CLASSIC], "default": VPC},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 600},
    "poll_interval": {"type": "float", "default": 5},
    "check_age": {"type": "bool", "default": True},
    "check_quota": {"type": "bool", "default": True},
}


#: AWS's request buckets for these APIs: 1 token, refilled at 1 per second ("Request throttling for the
#: Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
MOVES_PER_SECOND = 1.0
MOVING_POLLS_PER_SECOND = 1.0
MIN_POLL_INTERVAL = 1.0 / MOVING_POLLS_PER_SECOND


def paced_client(client: Any) -> Any:
    """The EC2 client with MoveAddressToVpc and DescribeMovingAddresses held to one request per second
    each, the first at once (every request: the DryRun, each retry and each page included)."""
    return pace(
        client,
        {
            "MoveAddressToVpc": Pacer(MOVES_PER_SECOND, burst=1),
            "RestoreAddressToClassic": Pacer(MOVES_PER_SECOND, burst=1),
            "DescribeMovingAddresses": Pacer(MOVING_POLLS_PER_SECOND, burst=1),
        },
    )


@dataclass(frozen=True)
class Direction:
    """One way of the move: the domain the addresses reach, the API, the moving status on the way."""

    domain: str
    api: str
    method: str
    status: str
    opposite: str
    label: str

    @property
    def opposite_domain(self) -> str:
        return CLASSIC if self.domain == VPC else VPC


DIRECTIONS = {
    VPC: Direction(
        VPC, "MoveAddressToVpc", "move_address_to_vpc", MOVING_TO_VPC, RESTORING_TO_CLASSIC, "moves to VPC"
    ),
    CLASSIC: Direction(
        CLASSIC,
        "RestoreAddressToClassic",
        "restore_address_to_classic",
        RESTORING_TO_CLASSIC,
        MOVING_TO_VPC,
        "restores to EC2-Classic",
    ),
}


class Plan:
    """What each listed address needs: to be moved, waited for, nothing; and what stops the run."""

    def __init__(self) -> None:
        self.to_move: list[str] = []
        self.to_wait: list[str] = []
        self.in_vpc: list[str] = []
        self.problems: list[str] = []


def classify(
    public_ips: list[str],
    addresses: dict[str, Eip],
    moving: dict[str, str],
    region: str | None,
    way: Direction = DIRECTIONS[VPC],
) -> Plan:
    plan = Plan()
    for ip in public_ips:
        eip = addresses.get(ip)
        if eip is None:
            plan.problems.append(not_found_message(ip, region))
        elif moving.get(ip) == way.opposite:
            where = "restored to EC2-Classic" if way.opposite == RESTORING_TO_CLASSIC else "moved to the VPC"
            plan.problems.append(f"{ip}: is being {where} ({way.opposite}); wait and rerun")
        elif moving.get(ip) == way.status:
            plan.to_wait.append(ip)
        elif eip.domain == way.domain:
            plan.in_vpc.append(ip)
        elif eip.associated:
            target = eip.instance_id or eip.network_interface_id
            plan.problems.append(
                f"{ip}: still associated with {target}; {way.api} needs it disassociated first "
                "(eip_associate state=absent)"
            )
        else:
            plan.to_move.append(ip)
    return plan


def input_problems(public_ips: list[str]) -> list[str]:
    problems = malformed_ips(public_ips)
    problems += [f"{ip}: listed more than once" for ip in duplicates(public_ips)]
    return problems


def fail(module: AnsibleAWSModule, problems: list[str], **result: Any) -> None:
    module.fail_json(
        msg="Nothing was moved. " + " | ".join(problems), problems=problems, changed=False, **result
    )


def check_preconditions(
    module: AnsibleAWSModule,
    client: Any,
    plan: Plan,
    addresses: dict[str, Eip],
    moving: dict[str, str],
    way: Direction = DIRECTIONS[VPC],
) -> dict[str, Any] | None:
    """Quota and permission checks; fail (moving nothing) if any precondition is not met."""
    quotas = None
    if module.params["check_quota"] and plan.to_move and way.domain == VPC:
        quotas = eip_quotas(module, client, addresses, moving)
        problem = quota_problem(len(plan.to_move), quotas["vpc"], module.region)
        if problem:
            plan.problems.append(problem)
    if module.params["check_age"] and plan.to_move and way.domain == VPC:
        ages = young_addresses(module, plan.to_move)
        plan.problems.extend(ages.problems(plan.to_move))
    if plan.to_move and not plan.problems:
        problem = dry_run(client, way.method, plan.to_move[0], PublicIp=plan.to_move[0])
        if problem:
            plan.problems.append(problem)
    if plan.problems:
        fail(module, plan.problems, quotas=quotas, moved=0)
    return quotas


def issue_moves(
    client: Any, to_move: list[str], progress: Progress, way: Direction = DIRECTIONS[VPC]
) -> tuple[dict[str, dict[str, Any]], AwsError | None]:
    """Issue every move without waiting in between (AWS's pace: one a second); stop at the first error (the
    rest stay where they are)."""
    issued: dict[str, dict[str, Any]] = {}
    beat = Heartbeat(progress, way.api, len(to_move))
    for ip in to_move:
        try:
            issued[ip] = call(client, way.method, ip, way.api, PublicIp=ip)
        except AwsError as exc:
            return issued, exc
        beat.tick(len(issued))
    return issued, None


def wait_for_moves(
    module: AnsibleAWSModule,
    client: Any,
    ips: list[str],
    progress: Progress,
    way: Direction = DIRECTIONS[VPC],
) -> tuple[list[str], dict[str, Eip] | None]:
    """Wait until none of ``ips`` is moving and DescribeAddresses shows each in the domain it goes to.

    Returns what is still pending and the last DescribeAddresses answer (None if none was needed).
    """
    last: dict[str, dict[str, Eip]] = {}

    def pending() -> list[str]:
        moving = describe_moving_addresses(client)
        still = [ip for ip in ips if ip in moving]
        if still:
            return still
        last["addresses"] = describe_addresses(client)
        return [ip for ip in ips if ip in last["addresses"] and last["addresses"][ip].domain != way.domain]

    p = module.params
    remaining = wait_until(pending, p["wait_timeout"], p["poll_interval"], progress, way.label, len(ips))
    return remaining, last.get("addresses")


def entry(eip: Eip | None, ip: str, action: str, status: str | None) -> dict[str, Any]:
    base = eip.to_result() if eip else {"public_ip": ip, "allocation_id": None, "domain": None}
    return {**base, "action": action, "status": status}


STATUS = {VPC: "InVpc", CLASSIC: "InClassic"}
MOVING_STATUS = {VPC: "MoveInProgress", CLASSIC: "RestoreInProgress"}


def final_entries(
    public_ips: list[str],
    plan: Plan,
    issued: dict[str, Any],
    final: dict[str, Eip],
    pending: list[str],
    moving_status: str = "MoveInProgress",
) -> list[dict[str, Any]]:
    entries = []
    for ip in public_ips:
        eip = final.get(ip)
        action = "moved" if ip in issued else "resumed" if ip in plan.to_wait else "none"
        if ip in plan.to_move and ip not in issued:
            action = "failed"
        status = moving_status if ip in pending else STATUS.get(eip.domain if eip else "")
        result = entry(eip, ip, action, status)
        if ip in pending and not result.get("allocation_id"):
            result["allocation_id"] = issued.get(ip, {}).get("AllocationId")
        entries.append(result)
    return entries


def check_mode_entries(
    public_ips: list[str], plan: Plan, addresses: dict[str, Eip], way: Direction = DIRECTIONS[VPC]
) -> list[dict[str, Any]]:
    entries = []
    now, there = STATUS[way.opposite_domain], STATUS[way.domain]
    moving = MOVING_STATUS[way.domain]
    for ip in public_ips:
        eip = addresses.get(ip)
        if ip in plan.to_move:
            entries.append({**entry(eip, ip, "would_move", now), "domain": way.domain})
        elif ip in plan.to_wait:
            entries.append({**entry(eip, ip, "would_wait", moving), "domain": way.domain})
        else:
            entries.append(entry(eip, ip, "none", there))
    return entries


def diff(
    public_ips: list[str],
    plan: Plan,
    addresses: dict[str, Eip],
    after: list[dict[str, Any]],
    way: Direction = DIRECTIONS[VPC],
) -> dict:
    before = {ip: addresses[ip].state() for ip in public_ips if ip in addresses}
    if plan.to_wait:  # a moving address is on its way: show it leaving where it was
        before.update({ip: {**before[ip], "domain": way.opposite_domain} for ip in plan.to_wait})
    after_states = {
        e["public_ip"]: {"domain": e["domain"], "instance_id": e.get("instance_id")} for e in after
    }
    return eip_diff(before, after_states)


def finish(
    module: AnsibleAWSModule,
    client: Any,
    public_ips: list[str],
    plan: Plan,
    addresses: dict[str, Eip],
    issued: dict[str, dict[str, Any]],
    progress: Progress,
    way: Direction,
) -> tuple[dict[str, Any], list[str]]:
    """After the moves are issued: wait for them (and those in flight), then say where every address is;
    the result and the addresses still moving."""
    waited = list(issued) + plan.to_wait
    pending, final = waited, None
    if module.params["wait"] and waited:
        pending, final = wait_for_moves(module, client, waited, progress, way)
    if final is None:
        final = describe_addresses(client) if waited else addresses
    entries = final_entries(public_ips, plan, issued, final, pending, MOVING_STATUS[way.domain])
    return {
        "addresses": entries,
        "moved": len(issued),
        "progress": progress.lines,
        "diff": diff(public_ips, plan, addresses, entries, way),
    }, pending


def run(module: AnsibleAWSModule) -> None:
    public_ips = [str(ip).strip() for ip in module.params["public_ips"]]
    problems = input_problems(public_ips)
    if problems:
        fail(module, problems, moved=0)
    if module.params["poll_interval"] < MIN_POLL_INTERVAL:
        module.warn(
            f"poll_interval {module.params['poll_interval']} raised to {MIN_POLL_INTERVAL:g}: AWS allows one "
            "DescribeMovingAddresses per second"
        )
        module.params["poll_interval"] = MIN_POLL_INTERVAL
    way = DIRECTIONS[module.params["domain"]]
    client = paced_client(ec2_client(module))
    progress = Progress(module.log)
    # moving first: a move that ends between the two calls then shows as moving or arrived, never where it was
    moving = describe_moving_addresses(client)
    addresses = describe_addresses(client)
    plan = classify(public_ips, addresses, moving, module.region, way)
    quotas = check_preconditions(module, client, plan, addresses, moving, way)
    changed = bool(plan.to_move or plan.to_wait)

    if module.check_mode:
        entries = check_mode_entries(public_ips, plan, addresses, way)
        result = {"changed": changed, "addresses": entries, "moved": 0, "quotas": quotas, "progress": []}
        module.exit_json(diff=diff(public_ips, plan, addresses, entries, way), **result)

    issued, error = issue_moves(client, plan.to_move, progress, way)
    # changed exactly when this run issued a move or waited for one in flight, failure or not
    changed = bool(issued or plan.to_wait)
    with changes(" (moves were issued: rerun to finish, nothing moves twice)", when=lambda: changed):
        result, pending = finish(module, client, public_ips, plan, addresses, issued, progress, way)
    result = {**result, "changed": changed, "quotas": quotas}
    if error:
        fail_aws(
            module,
            error,
            f"{error} ({len(issued)} moves issued before it, the rest not moved; fix and rerun)",
            **result,
        )
    if pending and module.params["wait"]:
        module.fail_json(
            msg=(
                f"Still moving after {module.params['wait_timeout']}s: {', '.join(pending)}. "
                "The moves go on at AWS; rerun to resume waiting (nothing moves twice) or raise wait_timeout."
            ),
            **result,
        )
    module.exit_json(**result)


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
