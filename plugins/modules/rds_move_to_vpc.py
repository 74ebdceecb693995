#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move RDS DB instances into a VPC's DB subnet group: from outside any VPC (EC2-Classic), or from another
VPC's subnet group (the form of the migration day an account can still have)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import (
    AwsError,
    Progress,
    call,
    changes,
    duplicates,
    fail_aws,
    run_module,
    wait_until,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import describe_security_groups, ec2_client
from ansible_collections.clusterswap.swap.plugins.module_utils.rds import (
    Db,
    SubnetGroup,
    describe_db_instances,
    describe_db_subnet_group,
    rds_client,
)

DOCUMENTATION = r"""
---
module: rds_move_to_vpc
short_description: Move RDS DB instances into a VPC's DB subnet group (from outside any VPC or another VPC)
version_added: 0.1.0
description:
  - Moves each listed RDS DB instance into O(db_subnet_group_name) with
    C(ModifyDBInstance(DBSubnetGroupName=..., ApplyImmediately=true)), waits until it is C(available) in that
    subnet group, and returns its endpoint, subnet group, VPC, security groups, status and how long it took.
    A DB outside any VPC (EC2-Classic, retired on 15 August 2022) moves into the group's VPC; a DB in a subnet
    group of another VPC moves to the group's VPC ("You can use this parameter to move your DB instance to a
    different VPC", API reference, ModifyDBInstance).
  - M(amazon.aws.rds_instance) cannot do this, it fails with C(KeyError 'DBSubnetGroup') on a DB that is in
    no subnet group.
  - B(The move is an outage of the DB of several minutes) (5-10 minutes measured on test servers). The
    endpoint address stays the same.
  - C(ApplyImmediately) is always sent. Without it AWS accepts the change and silently waits for the DB's
    next maintenance window (the change shows only in C(PendingModifiedValues)); a subnet group change left
    pending that way is applied now by this module.
  - Everything is checked before anything changes, for every listed DB; if any check fails B(nothing) is
    modified and the module fails naming each DB, AWS's error code and what to do. The checks mirror AWS's
    own refusals and the RDS User Guide's conditions (RDS has no C(DryRun)) - unknown DB or subnet group
    (C(DBInstanceNotFound), C(DBSubnetGroupNotFoundFault)); a subnet group with subnets in fewer than two
    Availability Zones, or none in the DB's zone ("The subnet group in the target VPC doesn't have subnets in
    the DB instance's Availability Zone"), or not in O(vpc_id); a Multi-AZ DB (make it Single-AZ first); a DB
    with read replicas, or one that is a read replica (delete or promote them first); a DB that is not
    C(available) (C(InvalidDBInstanceState)), or is in a failure status; a DB already in another subnet group
    of the same VPC (C(InvalidVPCNetworkStateFault)); a security group of another VPC
    (C(InvalidParameterCombination)); and, for a DB outside any VPC, a previous-generation DB instance class
    ("choose a db.m3 or db.r3 DB instance class") and a custom option group ("Option groups are
    platform-specific") (RDS User Guide, "Moving a DB instance not in a VPC into a VPC" and "Updating the VPC
    for a DB instance").
  - A DB already in the subnet group and C(available) is left alone (with O(vpc_security_group_ids) given,
    its VPC security groups are set to them if they differ, which causes no outage).
  - A DB that is C(modifying), C(moving-to-vpc) or C(converting-to-vpc) (for example a move started by a run
    that died) is waited for, not modified again; if it is then still outside the subnet group it is moved.
  - B(A move that ends in a failure status fails the run at the next poll), naming the status and the way
    forward from the RDS User Guide's DB instance status table (C(failed), C(incompatible-network),
    C(incompatible-option-group), C(incompatible-parameters), C(incompatible-restore),
    C(inaccessible-encryption-credentials), C(insufficient-capacity), C(restore-error), C(storage-full)),
    instead of waiting out O(wait_timeout).
  - Several DBs are moved together - every C(ModifyDBInstance) is issued first, then all are waited for with
    one C(DescribeDBInstances) per poll - so their outages overlap instead of adding up.
  - Waits are bounded (O(wait_timeout)) and log progress; throttling is retried with jittered backoff.
  - Check mode tells what would be moved or waited for and changes nothing. With C(--diff) each DB's
    subnet group, VPC, VPC security groups and status before and after are shown.
  - O(preflight=true) runs only the checks (nothing changes) and returns the problems in RV(problems) instead
    of failing, so that a pre-flight can list them with its own, before the maintenance window.
author:
  - clusterswap
options:
  db_instance_identifier:
    description:
      - The DB instance to move. Use this or O(db_instance_identifiers).
    type: str
  db_instance_identifiers:
    description:
      - Several DB instances to move together (their outages overlap). Use this or O(db_instance_identifier).
    type: list
    elements: str
  db_subnet_group_name:
    description:
      - The DB subnet group (in the target VPC) to move the DBs into. It must have subnets in at least two
        Availability Zones.
    type: str
    required: true
  vpc_security_group_ids:
    description:
      - VPC security groups (C(sg-...)) of the target VPC for the moved DBs.
      - When omitted AWS gives a DB moved into a VPC the VPC's default security group; set them so that the
        new cluster can reach the DB.
    type: list
    elements: str
  wait:
    description:
      - Wait until every DB is C(available) in the subnet group.
      - With V(false) the module returns once the moves are issued; a later run waits for them without
        modifying them again.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait in all (for a DB already busy to finish, then for the moves). A move takes minutes.
      - When the time is up the module fails naming the DBs still moving; the moves go on at AWS and
        rerunning the module resumes the wait.
    type: int
    default: 1200
  poll_interval:
    description:
      - Seconds between two polls while waiting.
    type: float
    default: 15
  vpc_id:
    description:
      - The VPC the subnet group must be in (for example the new cluster's); a subnet group of another VPC
        stops the run before any change.
    type: str
  preflight:
    description:
      - Only check (nothing is changed); problems are returned in RV(problems) and do not fail the module.
    type: bool
    default: false
notes:
  - Take a snapshot of the DB before the move (AWS recommends it).
  - Option groups are platform specific; a DB outside any VPC with a custom option group needs the default
    VPC option group first (RDS User Guide, "Moving a DB instance not in a VPC into a VPC").
  - A DB in C(moving-to-vpc), C(converting-to-vpc) or C(modifying) is never sent another C(ModifyDBInstance)
    (AWS would answer C(InvalidDBInstanceState)).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: "V.3 | RDS | Move mysql-1 into the VPC"
  clusterswap.swap.rds_move_to_vpc:
    db_instance_identifier: mysql-1
    db_subnet_group_name: clusterswap-vpc
    vpc_security_group_ids: [sg-0123456789abcdef0]
  register: mysql_moved

- name: "V.3 | RDS | Move mysql-1 from the old VPC's subnet group into the new VPC's"
  clusterswap.swap.rds_move_to_vpc:
    db_instance_identifier: mysql-1
    db_subnet_group_name: clusterswap-new-vpc
    vpc_id: vpc-0fedcba9876543210

- name: "0.8 | Pre-flight | Could RDS move mysql-1? (class, option group, replicas, Multi-AZ, zones)"
  clusterswap.swap.rds_move_to_vpc:
    db_instance_identifier: mysql-1
    db_subnet_group_name: clusterswap-new-vpc
    preflight: true
  register: rds_checks
  failed_when: rds_checks.problems | length > 0

- name: "V.3 | RDS | Move every MySQL DB together (outages overlap)"
  clusterswap.swap.rds_move_to_vpc:
    db_instance_identifiers: [mysql-1, mysql-2]
    db_subnet_group_name: clusterswap-vpc
    wait_timeout: 1800

- name: "V.4 | RDS | Endpoint after the move"
  ansible.builtin.debug:
    msg: "{{ mysql_moved.endpoint.address }}:{{ mysql_moved.endpoint.port }} in {{ mysql_moved.vpc_id }}"
"""

RETURN = r"""
db_instances:
  description: One entry for every listed DB instance, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    db_instance_identifier:
      description: The DB instance.
      type: str
      sample: mysql-1
    action:
      description:
        - What this run did. C(moved) (the move was issued), C(resumed) (it was already moving; waited for
          it), C(security_groups) (already in the subnet group; VPC security groups set),
          C(none) (already there), C(would_move), C(would_wait), C(would_set_security_groups) (check mode
          and O(preflight=true)), C(in_progress) (O(wait=false), still moving), C(failed) (refused, or ended
          in a failure status; with O(preflight=true), a DB with one of RV(problems)).
      type: str
      sample: moved
    status:
      description: C(DBInstanceStatus) at the end of the run (C(available), C(modifying), ...).
      type: str
      sample: available
    db_subnet_group_name:
      description: The DB's subnet group (in check mode, what it would be); null outside any VPC.
      type: str
      sample: clusterswap-vpc
    vpc_id:
      description: The DB's VPC; null outside any VPC.
      type: str
      sample: vpc-0123456789abcdef0
    vpc_security_group_ids:
      description: The DB's VPC security groups.
      type: list
      elements: str
    endpoint:
      description: The DB's endpoint; the address does not change with the move.
      type: dict
      contains:
        address:
          description: DNS name.
          type: str
          sample: mysql-1.abcdefghij.us-east-1.rds.amazonaws.com
        port:
          description: Port.
          type: int
          sample: 3306
    multi_az:
      description: Whether the DB is Multi-AZ.
      type: bool
    availability_zone:
      description: The DB's Availability Zone.
      type: str
    seconds:
      description: Seconds from issuing the move (or from starting to wait for it) until it was seen done.
      type: float
      sample: 412.3
endpoint:
  description: The endpoint of the DB, when one DB was given (O(db_instance_identifier) or a list of one).
  returned: when one DB was given
  type: dict
  sample: {"address": "mysql-1.abcdefghij.us-east-1.rds.amazonaws.com", "port": 3306}
db_subnet_group_name:
  description: The DB's subnet group, when one DB was given.
  returned: when one DB was given
  type: str
vpc_id:
  description: The DB's VPC, when one DB was given.
  returned: when one DB was given
  type: str
status:
  description: The DB's status, when one DB was given.
  returned: when one DB was given
  type: str
seconds:
  description: The move's seconds, when one DB was given.
  returned: when one DB was given
  type: float
elapsed_seconds:
  description: Seconds the whole run took.
  returned: always
  type: float
  sample: 415.8
target:
  description: The target subnet group, its VPC and its Availability Zones.
  returned: when the subnet group was found
  type: dict
progress:
  description: The progress lines of the waits.
  returned: always
  type: list
  elements: str
  sample: ["RDS moves into the VPC: 0/1 done after 0.0s", "RDS moves into the VPC: 1/1 done after 431.2s"]
problems:
  description: What stops the move, each with what to do (empty when nothing does).
  returned: always
  type: list
  elements: str
failure_status:
  description: The failure status a DB ended in, by DB (when one did).
  returned: when a DB ended in a failure status
  type: dict
  sample: {"mysql-1": "incompatible-network"}
"""

ARGUMENT_SPEC: dict[str, Any] = {
    "db_instance_identifier": {"type": "str"},
    "db_instance_identifiers": {"type": "list", "elements": "str"},
    "db_subnet_group_name": {"type": "str", "required": True},
    "vpc_security_group_ids": {"type": "list", "elements": "str"},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 1200},
    "poll_interval": {"type": "float", "default": 15},
    "vpc_id": {"type": "str"},
    "preflight": {"type": "bool", "default": False},
}

#: Statuses of a DB with a change in flight: waited for, never modified again ("moving-to-vpc: The DB instance
#: is being moved to a new Amazon Virtual Private Cloud"; "converting-to-vpc: … being converted from a DB
#: instance that is not in an Amazon VPC to a DB instance that is in an Amazon VPC" [RDS-UG-status]).
BUSY = ("modifying", "moving-to-vpc", "converting-to-vpc")
#: The failure statuses of the RDS User Guide's DB instance status table [RDS-UG-status], with its way
#: forward. A DB in one of them does not become available by waiting.
FAILURE_STATUSES: dict[str, str] = {
    "failed": (
        "RDS can't recover it: restore it to its latest restorable time (point-in-time restore) and point "
        "the cluster at the restored DB"
    ),
    "incompatible-network": (
        "RDS can't finish because of the state of the VPC (for example no free IP address in a subnet of the "
        "group): free addresses or add subnets to the DB subnet group, then start or reboot the DB (RDS User "
        "Guide, Troubleshooting incompatible-network state)"
    ),
    "incompatible-option-group": (
        "an option group change could not be applied nor rolled back: see the DB's Recent Events, fix the "
        "option group"
    ),
    "incompatible-parameters": (
        "the DB parameter group's parameters are not compatible with the DB: revert them or make them "
        "compatible (the DB's Recent Events name them), then reboot"
    ),
    "incompatible-restore": (
        "RDS can't do a point-in-time restore (temp tables, MyISAM or Aria tables): restore from a snapshot"
    ),
    "inaccessible-encryption-credentials": (
        "the KMS key that encrypts the DB can't be accessed: re-enable the key or restore its grants"
    ),
    "inaccessible-encryption-credentials-recoverable": (
        "the KMS key that encrypts the DB can't be accessed: re-enable the key or restore its grants, then "
        "start the DB"
    ),
    "insufficient-capacity": (
        "there is not enough capacity for the DB class in its zone: wait and retry, or use another DB "
        "instance class or Availability Zone"
    ),
    "restore-error": "the DB failed to restore to a point in time or from a snapshot: restore again",
    "storage-full": "the DB has used all its storage: scale it up (modify-db-instance --allocated-storage)",
}
#: "Previous generation DB instance classes might not be supported on the VPC platform … choose a db.m3 or
#: db.r3 DB instance class" [RDS-UG-NonVPC2VPC].
PREVIOUS_GENERATION = ("db.m1.", "db.m2.", "db.t1.", "db.cr1.")


@dataclass
class Plan:
    """What each DB needs, and what stops the run before any change."""

    to_move: list[str] = field(default_factory=list)
    to_wait: list[str] = field(default_factory=list)
    to_set_groups: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- describing


def security_group_problems(module: AnsibleAWSModule, groups: list[str], target: SubnetGroup) -> list[str]:
    """Every listed security group must exist and be in the target VPC (else AWS refuses the move)."""
    if not groups:
        return []
    try:
        vpcs = describe_security_groups(ec2_client(module), groups)
    except AwsError as exc:
        return [f"{exc} (every vpc_security_group_ids entry must be a security group of {target.vpc_id})"]
    problems = []
    for sg in groups:
        if sg not in vpcs:
            problems.append(f"security group {sg}: not found (InvalidGroup.NotFound)")
        elif vpcs[sg] != target.vpc_id:
            problems.append(
                f"security group {sg}: is in {vpcs[sg]}, the subnet group {target.name} in {target.vpc_id}; "
                "AWS would refuse the move (InvalidParameterCombination: The DB instance and EC2 security "
                f"group are in different VPCs): use security groups of {target.vpc_id}"
            )
    return problems


# --------------------------------------------------------------------------- deciding


def failure_problem(db: Db) -> str:
    """A DB in a failure status: what the status means and what to do [RDS-UG-status]."""
    return (
        f"{db.identifier}: is {db.status}, a failure status; waiting will not make it available: "
        f"{FAILURE_STATUSES[db.status]}"
    )


def move_problems(db: Db, target: SubnetGroup) -> list[str]:
    """What stops RDS from moving an available DB into the target subnet group, each with what to do:
    RDS-UG-VPC2VPC ("You can't change the VPC for a DB instance if …") and, from outside any VPC,
    RDS-UG-NonVPC2VPC."""
    name = db.identifier
    problems = []
    if db.multi_az:
        problems.append(
            f"{name}: is Multi-AZ; AWS does not move a Multi-AZ DB to another VPC or into one "
            "(InvalidParameterCombination): make it Single-AZ first (aws rds modify-db-instance "
            f"--db-instance-identifier {name} --no-multi-az --apply-immediately), move it, then make it "
            "Multi-AZ again"
        )
    if db.replicas:
        problems.append(
            f"{name}: has read replicas ({', '.join(db.replicas)}); AWS does not move a DB with read "
            "replicas to another VPC or into one: delete them first and recreate them after the move"
        )
    if db.replica_of:
        problems.append(
            f"{name}: is a read replica of {db.replica_of}; AWS does not move a read replica: promote it to "
            "a standalone DB first (aws rds promote-read-replica), or move its source and recreate it"
        )
    if db.availability_zone and target.zones and db.availability_zone not in target.zones:
        problems.append(
            f"{name}: is in {db.availability_zone}, and subnet group {target.name} has no subnet there (only "
            f"{', '.join(target.zones)}); AWS does not move a DB into a subnet group without a subnet in its "
            f"Availability Zone: add a subnet in {db.availability_zone} to {target.name} first"
        )
    if db.vpc_id is None:  # outside any VPC: the platform changes
        if db.db_class.startswith(PREVIOUS_GENERATION):
            problems.append(
                f"{name}: is a {db.db_class}, a previous-generation class that may not be supported in a "
                "VPC: modify it to a current class first (the RDS User Guide says db.m3 or db.r3, then scale "
                "up after the move)"
            )
        custom = [g for g in db.option_groups if not g.startswith("default:")]
        if custom:
            problems.append(
                f"{name}: uses the custom option group {', '.join(custom)}; option groups are "
                "platform-specific: assign the default VPC option group (or one used in the target VPC) first"
            )
    return problems


def classify_one(db: Db, target: SubnetGroup, groups: list[str] | None, plan: Plan) -> None:
    name = db.identifier
    if db.status in FAILURE_STATUSES:
        plan.problems.append(failure_problem(db))
    elif db.subnet_group == target.name:
        if db.status in BUSY:
            plan.to_wait.append(name)
        elif groups is not None and set(groups) != set(db.security_groups):
            if db.status != "available":
                plan.problems.append(
                    f"{name}: is {db.status}; its security groups can be set only when it is available "
                    "(InvalidDBInstanceState): wait and rerun"
                )
            else:
                plan.to_set_groups.append(name)
        else:
            plan.done.append(name)
    elif db.vpc_id and db.vpc_id == target.vpc_id:
        plan.problems.append(
            f"{name}: already in subnet group {db.subnet_group} of the same VPC {target.vpc_id}; "
            "AWS refuses (InvalidVPCNetworkStateFault: The specified DB subnet group and DB instance are in "
            "the same VPC): nothing to move, or use that subnet group"
        )
    elif db.status in BUSY:
        plan.to_wait.append(name)  # a move that a run which died started, or another change: wait, then see
    elif db.status != "available":
        plan.problems.append(
            f"{name}: is {db.status}; AWS moves only an available DB (InvalidDBInstanceState: Database "
            "instance is not in available state): start it or wait until it is available, then rerun"
        )
    else:
        problems = move_problems(db, target)
        plan.problems += problems
        if not problems:
            plan.to_move.append(name)


def classify(
    identifiers: list[str],
    dbs: dict[str, Db],
    target: SubnetGroup,
    groups: list[str] | None,
    region: str | None,
) -> Plan:
    plan = Plan()
    for name in identifiers:
        db = dbs.get(name)
        if db is None:
            plan.problems.append(
                f"{name}: no DB instance with this identifier in region {region} for this account "
                "(DBInstanceNotFound): is it in another region, or renamed?"
            )
        else:
            classify_one(db, target, groups, plan)
    return plan


def fail(module: AnsibleAWSModule, problems: list[str], **result: Any) -> None:
    module.fail_json(
        msg="Nothing was changed. " + " | ".join(problems), problems=problems, changed=False, **result
    )


# --------------------------------------------------------------------------- changing and waiting


def modify(rds: Any, name: str, subnet_group: str | None, groups: list[str] | None) -> None:
    kwargs: dict[str, Any] = {"DBInstanceIdentifier": name, "ApplyImmediately": True}
    if subnet_group:
        kwargs["DBSubnetGroupName"] = subnet_group
    if groups is not None:
        kwargs["VpcSecurityGroupIds"] = groups
    call(rds, "modify_db_instance", name, "ModifyDBInstance", **kwargs)


class FailureStatus(Exception):
    """A DB ended in a failure status while it was waited for."""

    def __init__(self, dbs: dict[str, Db]) -> None:
        super().__init__(", ".join(f"{n} ({db.status})" for n, db in dbs.items()))
        self.dbs = dbs


class Waiter:
    """Waits for DBs with one DescribeDBInstances per poll, within one deadline for the whole run; a DB found
    in a failure status ends the wait at that poll (FailureStatus)."""

    def __init__(self, module: AnsibleAWSModule, rds: Any, progress: Progress, start: float) -> None:
        self.module = module
        self.rds = rds
        self.progress = progress
        self.deadline = start + module.params["wait_timeout"]
        self.last: dict[str, Db] = {}
        self.done_at: dict[str, float] = {}

    def wait(self, names: list[str], what: str, done: Any) -> list[str]:
        """Wait until ``done(db)`` for each name; returns those still not done."""

        def pending() -> list[str]:
            self.last.update(describe_db_instances(self.rds, names))
            failed = {
                n: self.last[n] for n in names if n in self.last and self.last[n].status in FAILURE_STATUSES
            }
            if failed:
                raise FailureStatus(failed)
            still = [n for n in names if n not in self.last or not done(self.last[n])]
            now = time.monotonic()
            for n in names:
                if n not in still:
                    self.done_at.setdefault(n, now)
            return still

        timeout = max(0.0, self.deadline - time.monotonic())
        interval = self.module.params["poll_interval"]
        return wait_until(pending, timeout, interval, self.progress, what, len(names))


def settled(db: Db) -> bool:
    return db.status not in BUSY


def moved_into(target: SubnetGroup) -> Any:
    def done(db: Db) -> bool:
        return db.status == "available" and db.subnet_group == target.name

    return done


# --------------------------------------------------------------------------- results


def check_mode_entry(db: Db, plan: Plan, target: SubnetGroup, groups: list[str] | None) -> dict[str, Any]:
    name = db.identifier
    if name in plan.to_move or name in plan.to_wait:
        action = "would_move" if name in plan.to_move else "would_wait"
        after = Db(
            **{**db.__dict__, "subnet_group": target.name, "vpc_id": target.vpc_id, "status": "available"}
        )
        if groups is not None:
            after = Db(**{**after.__dict__, "security_groups": tuple(groups)})
        return after.to_result(action)
    if name in plan.to_set_groups:
        return Db(**{**db.__dict__, "security_groups": tuple(groups or ())}).to_result(
            "would_set_security_groups"
        )
    # in no list: a DB with a problem (only pre-flight reports it rather than failing)
    return db.to_result("none" if name in plan.done else "failed")


def diff(before: dict[str, Db], entries: list[dict[str, Any]]) -> dict[str, Any]:
    b = {name: db.state() for name, db in before.items()}
    a = {
        e["db_instance_identifier"]: {
            "db_subnet_group_name": e["db_subnet_group_name"],
            "vpc_id": e["vpc_id"],
            "vpc_security_group_ids": sorted(e["vpc_security_group_ids"]),
            "status": e["status"],
        }
        for e in entries
    }
    changed = [n for n in a if b.get(n) != a[n]]
    return {"before": {n: b.get(n) for n in changed}, "after": {n: a[n] for n in changed}}


def single(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The top-level keys of a run on one DB."""
    if len(entries) != 1:
        return {}
    e = entries[0]
    return {k: e[k] for k in ("endpoint", "db_subnet_group_name", "vpc_id", "status", "seconds")}


# --------------------------------------------------------------------------- the run


def identifiers_of(module: AnsibleAWSModule) -> list[str]:
    p = module.params
    names = (
        [p["db_instance_identifier"]] if p["db_instance_identifier"] else list(p["db_instance_identifiers"])
    )
    names = [str(n).strip().lower() for n in names]  # RDS stores identifiers in lower case
    problems = [f"{n}: listed more than once" for n in duplicates(names)]
    problems += ["an empty DB instance identifier was given" for n in names if not n][:1]
    if not names:
        problems.append("no DB instance given: set db_instance_identifier or db_instance_identifiers")
    if problems:
        fail(module, problems)
    return names


def check(
    module: AnsibleAWSModule, rds: Any, names: list[str]
) -> tuple[SubnetGroup | None, dict[str, Db], Plan]:
    """Every check, before anything changes: the target subnet group, each DB, the security groups."""
    p = module.params
    try:
        target = describe_db_subnet_group(rds, p["db_subnet_group_name"])
    except AwsError as exc:
        where = f" in {p['vpc_id']}" if p["vpc_id"] else " in the target VPC"
        plan = Plan(
            problems=[
                f"{exc}: create the DB subnet group{where} (subnets in at least two Availability Zones, one "
                "in each DB's zone) or fix db_subnet_group_name"
            ]
        )
        return None, {}, plan
    groups = p["vpc_security_group_ids"]
    dbs = describe_db_instances(rds, names)
    plan = classify(names, dbs, target, groups, module.region)
    plan.problems += security_group_problems(module, groups or [], target)
    if p["vpc_id"] and target.vpc_id != p["vpc_id"]:
        plan.problems.append(
            f"subnet group {target.name}: is in {target.vpc_id}, not in {p['vpc_id']} (vpc_id): the DBs "
            f"would move to the wrong VPC: use a subnet group of {p['vpc_id']} (db_subnet_group_name) or fix "
            "vpc_id"
        )
    if len(target.zones) < 2:
        plan.problems.append(
            f"subnet group {target.name}: has subnets in {len(target.zones)} Availability Zone(s); RDS needs "
            "at least two (DBSubnetGroupDoesNotCoverEnoughAZs): add a subnet in another zone"
        )
    return target, dbs, plan


def issue(
    rds: Any, plan: Plan, target: SubnetGroup, groups: list[str] | None
) -> tuple[dict[str, float], Any]:
    """Issue every move and security group change; stop at the first AWS refusal."""
    issued: dict[str, float] = {}
    for name in plan.to_move:
        try:
            modify(rds, name, target.name, groups)
        except AwsError as exc:
            return issued, exc
        issued[name] = time.monotonic()
    for name in plan.to_set_groups:
        try:
            modify(rds, name, None, groups)
        except AwsError as exc:
            return issued, exc
        issued[name] = time.monotonic()
    return issued, None


def action_of(name: str, plan: Plan, issued: dict[str, float], resumed: list[str], error: Any) -> str:
    if name in plan.to_set_groups:
        return "security_groups" if name in issued else "failed"
    if name in issued:
        return "moved"
    if name in resumed:
        return "resumed"
    if name in plan.to_move and error is not None:
        return "failed"
    return "none"


def refusal_hint(exc: AwsError) -> str:
    hints = {
        "InvalidDBInstanceState": "the DB is busy: wait until it is available and rerun",
        "InvalidParameterCombination": "see AWS's message: Multi-AZ DBs must be made Single-AZ first, "
        "security groups must be in the target VPC",
        "InvalidVPCNetworkStateFault": "check db_subnet_group_name: the DB is already in that VPC",
        "AccessDenied": "the credentials need rds:ModifyDBInstance",
        "AccessDeniedException": "the credentials need rds:ModifyDBInstance",
    }
    return hints.get(
        exc.code, "fix what AWS says and rerun (the DBs already moving are waited for, not moved again)"
    )


RESUME_HINT = " (changes were issued: rerun to resume waiting, nothing is modified twice)"


def run(module: AnsibleAWSModule) -> None:
    start = time.monotonic()
    p = module.params
    names = identifiers_of(module)
    rds = rds_client(module)
    progress = Progress(module.log)
    groups = p["vpc_security_group_ids"]
    found, before, plan = check(module, rds, names)
    if p["preflight"]:
        module.exit_json(
            changed=False,
            problems=plan.problems,
            db_instances=[
                check_mode_entry(before[n], plan, found, groups) if found else before[n].to_result("none")
                for n in names
                if n in before
            ],
            target=found.to_result() if found else None,
            progress=[],
            elapsed_seconds=round(time.monotonic() - start, 1),
        )
    if plan.problems or found is None:
        fail(module, plan.problems, **({"target": found.to_result()} if found else {}))
    target: SubnetGroup = found
    # waiting for a move in flight is this run's work; with wait=false that run leaves it as it is
    waits = bool(plan.to_wait and p["wait"])
    changed = bool(plan.to_move or plan.to_set_groups or waits)

    if module.check_mode:
        entries = [check_mode_entry(before[n], plan, target, groups) for n in names]
        module.exit_json(
            changed=changed,
            db_instances=entries,
            target=target.to_result(),
            progress=[],
            elapsed_seconds=round(time.monotonic() - start, 1),
            problems=[],
            diff=diff(before, entries),
            **single(entries),
        )

    waiter = Waiter(module, rds, progress, start)
    resumed: list[str] = []
    still: list[str] = []
    issued: dict[str, float] = {}
    error: Any = None
    failure: FailureStatus | None = None

    def changed_now() -> bool:
        """Changed exactly when this run issued a change or waited for one in flight, failure or not."""
        return bool(issued or waits)

    # an AWS error (a describe failing while waiting) fails with changed=true if this run changed anything
    with changes(RESUME_HINT, when=changed_now):
        try:
            if plan.to_wait and p["wait"]:
                # a change already in flight: wait for it, then move what is still outside the subnet group
                still = waiter.wait(plan.to_wait, "RDS changes already in flight", settled)
                if not still:
                    fresh = describe_db_instances(rds, plan.to_wait)
                    again = classify(plan.to_wait, fresh, target, groups, module.region)
                    if again.problems:
                        fail(module, again.problems, target=target.to_result())
                    resumed = again.done
                    plan.to_move += again.to_move
                    plan.to_set_groups += again.to_set_groups
            issued, error = ({}, None) if still else issue(rds, plan, target, groups)
            if p["wait"] and not still:
                pending_names = list(issued) + resumed
                if pending_names:
                    still = waiter.wait(pending_names, "RDS moves into the VPC", moved_into(target))
        except FailureStatus as exc:
            failure = exc
        final = describe_db_instances(rds, names)
    changed = changed_now()
    entries = []
    for name in names:
        db = final.get(name) or before[name]
        action = action_of(name, plan, issued, resumed, error)
        if failure is not None and name in failure.dbs:
            action = "failed"
        elif action in ("none", "moved", "resumed") and name in plan.to_wait and name not in resumed:
            action = "in_progress" if name not in issued else action
        if action == "moved" and not p["wait"]:
            action = "in_progress"
        began = issued.get(name, start)
        seconds = waiter.done_at[name] - began if name in waiter.done_at and action != "none" else None
        entries.append(db.to_result(action, seconds))
    result = {
        "changed": changed,
        "db_instances": entries,
        "target": target.to_result(),
        "progress": progress.lines,
        "elapsed_seconds": round(time.monotonic() - start, 1),
        "diff": diff(before, entries),
        "problems": [],
        **single(entries),
    }
    if failure is not None:
        statuses = {n: db.status for n, db in failure.dbs.items()}
        module.fail_json(
            msg=(
                "The move ended in a failure status, so waiting is over: "
                + " | ".join(
                    f"{n} is {db.status}: {FAILURE_STATUSES[db.status]}" for n, db in failure.dbs.items()
                )
                + f". The DB is not in {target.name}; rerun once it is available again."
            ),
            failure_status=statuses,
            **{**result, "changed": True},
        )
    if error is not None:
        fail_aws(
            module,
            error,
            f"{error} ({len(issued)} change(s) issued before it, the rest not changed): "
            f"{refusal_hint(error)}",
            **result,
        )
    if still:
        states = ", ".join(f"{n} ({final[n].status if n in final else 'unknown'})" for n in still)
        module.fail_json(
            msg=(
                f"Still moving after {p['wait_timeout']}s: {states}. The change goes on at AWS (the DB is "
                "out for minutes); rerun to resume waiting (nothing is modified twice) or raise wait_timeout."
            ),
            **result,
        )
    module.exit_json(**result)


def main() -> None:
    run_module(
        ARGUMENT_SPEC,
        run,
        mutually_exclusive=[["db_instance_identifier", "db_instance_identifiers"]],
        required_one_of=[["db_instance_identifier", "db_instance_identifiers"]],
    )


if __name__ == "__main__":
    main()
