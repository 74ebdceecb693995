#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move EBS volumes from old servers to new ones at the same device names: detach, wait until available,
attach, wait until attached. Bounded waits with progress, refusals instead of surprises, resumable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import (
    AwsError,
    Progress,
    call,
    changes,
    run_module,
    wait_until,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.ebs import (
    TAG_DEVICE,
    TAG_FROM,
    TAG_TO,
    Incoming,
    InstanceType,
    Target,
    Volume,
    describe_volumes,
    ebs_limits,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.ebs import (
    check as attachment_problems,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.ec2 import (
    Instance,
    describe_live_instances,
    dry_run,
    ec2_client,
)

DOCUMENTATION = r"""
---
module: ebs_volume_move
short_description: Move EBS volumes from old instances to new ones at the same device names
version_added: 0.1.0
description:
  - For each listed move (old instance to new instance, by C(Name) tag or instance ID), detaches the
    selected volumes from the old instance, waits until they are C(available), attaches each to the new
    instance at the device name it had on the old one, and waits until it is C(attached).
  - Volumes are selected by device name (O(moves[].devices)), by C(Name) tag (O(moves[].names)), or, with
    neither, every volume attached to the old instance except its root volume. The whole list costs one
    C(DescribeInstances) and one C(DescribeVolumes) (paginated), plus one C(DescribeVolumes) per poll.
  - All moves run together (detach everything, wait, attach everything, wait), so volumes move in parallel
    across servers.
  - B(It never detaches a volume that is still mounted on purpose); this module cannot see mounts, so the
    caller unmounts first (the C(ebs_move) role does, and stops if anything holds a device). A volume still
    C(detaching) when O(detach_timeout) runs out is reported as probably still mounted, and it is not
    attached anywhere. O(force_detach) (C(Force=True)) exists only for an old server that is gone;
    it risks the filesystem.
  - It never attaches a volume that is attached elsewhere; a selected volume attached to an instance that
    is neither the old nor the new one stops the run before any change.
  - B(Before anything is detached) it checks what AWS would refuse at the attach, after the detach, with the
    volume stranded outside any server - a volume in another Availability Zone than its new instance
    (C(InvalidVolume.ZoneMismatch)); a device name that is not valid for the new instance's virtualization
    type, or already used on it (its root volume and every other mapping included; on Xen C(/dev/sdf) and
    C(/dev/xvdf) are one device to the kernel); two volumes aimed at one device of one new instance; more
    attachments than the new instance's type takes (Nitro - 28 volumes and network interfaces together;
    dedicated limits - C(EbsInfo.MaximumEbsAttachments) volumes). Each problem says what to do; any of them
    stops the run with nothing changed. This costs one C(DescribeInstanceTypes) for the new instances' types.
  - O(preflight=true) runs only these checks (nothing changes, whatever check mode says) and returns the
    problems in RV(problems) instead of failing, so that a pre-flight can list them with its own, before the
    maintenance window.
  - Resumable. Before detaching, each volume is tagged C(clusterswap:move-from), C(clusterswap:move-to) and
    C(clusterswap:move-device); a rerun after a failure halfway finds volumes already on the new instance
    (left alone), still C(detaching) (waited for), or C(available) with those tags (attached). The
    C(move-to) and C(move-device) tags are removed once the volume is attached; C(move-from) stays.
  - B(No volume is left on no server.) When AWS refuses an attach after the detaches, that volume and every
    one not yet attached are attached back to their old instance at their device (and their tags removed),
    then the run fails saying which went back and which, if AWS refused that too, are left detached; a rerun
    moves them again.
  - Check mode tells what would change and changes nothing; C(--diff) shows each volume's instance, device
    and state before and after.
author:
  - clusterswap
options:
  moves:
    description: The moves, one per old instance.
    type: list
    elements: dict
    required: true
    suboptions:
      old:
        description: The old instance (C(Name) tag or instance ID).
        type: str
        required: true
      new:
        description: The new instance (C(Name) tag or instance ID).
        type: str
        required: true
      devices:
        description: Device names on the old instance of the volumes to move (the same on the new one).
        type: list
        elements: str
        default: []
      names:
        description: C(Name) tags of the volumes to move.
        type: list
        elements: str
        default: []
  force_detach:
    description:
      - Detach with C(Force=True), without waiting for the old instance to release the volume. Only for an
        old instance that is gone or hung; a forced detach of a mounted filesystem can lose data.
    type: bool
    default: false
  detach_timeout:
    description: Seconds to wait until every detached volume is C(available).
    type: int
    default: 300
  attach_timeout:
    description: Seconds to wait until every attached volume is C(attached).
    type: int
    default: 300
  poll_interval:
    description: Seconds between two polls.
    type: float
    default: 2
  preflight:
    description:
      - Only plan and check (nothing is changed); problems are returned in RV(problems) and do not fail the
        module.
    type: bool
    default: false
notes:
  - Needs C(ec2:DescribeInstances), C(ec2:DescribeVolumes), C(ec2:DescribeInstanceTypes), C(ec2:CreateTags),
    C(ec2:DeleteTags), C(ec2:DetachVolume), C(ec2:AttachVolume).
  - The name given to C(AttachVolume) is not the name the instance's OS shows on Nitro (C(/dev/nvme*n1), in no
    promised order); the host-side steps find volumes by volume ID (M(ebs_block_devices)).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: "S.3 | EBS | Move the volumes of the old storage servers to the new ones"
  clusterswap.swap.ebs_volume_move:
    moves:
      - old: old-storage-1
        new: new-storage-1
        devices: [/dev/xvdf, /dev/xvdg]
      - old: old-logstorage-1
        new: new-logstorage-1
    detach_timeout: 600

- name: "0.7 | Pre-flight | Would every volume attach on its new server? (zones, device names, capacity)"
  clusterswap.swap.ebs_volume_move:
    moves:
      - {old: old-storage-1, new: new-storage-1}
    preflight: true
  register: storage_checks
  failed_when: storage_checks.problems | length > 0

- name: "P.3 | EBS | Which volumes would move (plan only)"
  clusterswap.swap.ebs_volume_move:
    moves:
      - {old: old-postgres-1, new: new-postgres-1, names: [pgdata-1]}
  check_mode: true
  register: pg_plan
"""

RETURN = r"""
volumes:
  description: One entry per selected volume, in the order of the moves.
  returned: always
  type: list
  elements: dict
  contains:
    volume_id:
      description: The volume.
      type: str
      sample: vol-0123456789abcdef0
    name:
      description: The volume's C(Name) tag.
      type: str
      sample: home-1
    device:
      description: The device name on the old and the new instance.
      type: str
      sample: /dev/xvdf
    old:
      description: The old instance as given.
      type: str
      sample: old-storage-1
    new:
      description: The new instance as given.
      type: str
      sample: new-storage-1
    old_instance_id:
      description: The old instance's ID.
      type: str
    new_instance_id:
      description: The new instance's ID.
      type: str
    instance_id:
      description: The instance the volume is attached to after this run (none when not attached).
      type: str
    state:
      description: The volume's state after this run (C(in-use), C(available)).
      type: str
    action:
      description: >-
        C(moved), C(attached) (it was already available), C(none) (already on the new instance),
        C(put_back) (its attach was refused or not reached: attached back to the old instance), or in
        check mode C(would_move), C(would_wait_detach) (still detaching from the old instance),
        C(would_attach), C(would_wait_attach).
      type: str
      sample: moved
progress:
  description: The progress lines of the waits.
  returned: always
  type: list
  elements: str
problems:
  description: What stops the move, each with what to do (empty when nothing does).
  returned: always
  type: list
  elements: str
  sample:
    - >-
      vol-0123456789abcdef0 (home-1) /dev/xvdf: is in us-east-1b, new-storage-1 (i-0123456789abcdef0) in
      us-east-1a; AWS attaches a volume only to an instance in its own Availability Zone ...
"""

MOVE_SPEC: dict[str, Any] = {
    "old": {"type": "str", "required": True},
    "new": {"type": "str", "required": True},
    "devices": {"type": "list", "elements": "str", "default": []},
    "names": {"type": "list", "elements": "str", "default": []},
}
ARGUMENT_SPEC: dict[str, Any] = {
    "moves": {"type": "list", "elements": "dict", "required": True, "options": MOVE_SPEC},
    "force_detach": {"type": "bool", "default": False},
    "detach_timeout": {"type": "int", "default": 300},
    "attach_timeout": {"type": "int", "default": 300},
    "poll_interval": {"type": "float", "default": 2},
    "preflight": {"type": "bool", "default": False},
}


@dataclass
class Step:
    """One selected volume of one move, and what to do with it."""

    move: dict[str, Any]
    old_id: str
    new_id: str
    volume: Volume
    device: str
    action: str = "none"  # move | wait_detach | attach | wait_attach | none

    @property
    def label(self) -> str:
        name = f" ({self.volume.name})" if self.volume.name else ""
        return f"{self.volume.volume_id}{name} {self.device}"


# --------------------------------------------------------------------------- planning


def resolve(ref: str, instances: list[Instance]) -> tuple[Instance | None, str | None]:
    """The instance a Name tag or an ID refers to, or a problem."""
    found = [i for i in instances if ref in (i.instance_id, i.name)]
    if not found:
        return None, f"{ref}: no instance with this Name tag or ID (not terminated) in this region"
    if len(found) > 1:
        ids = ", ".join(i.instance_id for i in found)
        return None, f"{ref}: {len(found)} instances carry this Name tag ({ids}); give the instance ID"
    return found[0], None


def selected(move: dict[str, Any], old: Instance, new: Instance, vol: Volume) -> bool:
    """Whether a volume belongs to this move (on the old, on the new, or detached halfway)."""
    halfway = vol.tags.get(TAG_TO) == new.instance_id and vol.tags.get(TAG_FROM) == old.instance_id
    if move["names"] and vol.name in move["names"]:
        return True
    if move["devices"]:
        on_pair = vol.instance_id in (old.instance_id, new.instance_id) and vol.device in move["devices"]
        moving = vol.instance_id in (None, old.instance_id, new.instance_id) and halfway
        return on_pair or (moving and vol.tags.get(TAG_DEVICE) in move["devices"])
    if move["names"]:
        return False
    on_old = vol.instance_id == old.instance_id and vol.device != old.root_device
    moved = vol.instance_id == new.instance_id and vol.tags.get(TAG_FROM) == old.instance_id
    return on_old or halfway or moved


def plan_volume(step: Step, old: Instance, new: Instance) -> str | None:
    """Decide what to do with one selected volume; return a problem or None."""
    vol = step.volume
    if vol.state not in ("available", "in-use"):
        return f"{step.label}: is {vol.state}; only an available or in-use volume can move"
    if vol.instance_id == new.instance_id:
        step.action = "none" if vol.attachment_state == "attached" else "wait_attach"
        if vol.attachment_state in ("detaching", "detached"):
            return f"{step.label}: is {vol.attachment_state} from the new instance {new.instance_id}"
        return None
    if vol.instance_id == old.instance_id:
        if vol.device == old.root_device:
            return f"{step.label}: is the root volume of {step.move['old']}; root volumes stay"
        step.action = "wait_detach" if vol.attachment_state == "detaching" else "move"
        return None
    if vol.instance_id:
        return (
            f"{step.label}: is attached to {vol.instance_id}, neither {step.move['old']} nor "
            f"{step.move['new']}: refusing to detach or attach it"
        )
    if not step.device:
        return f"{step.label}: is available but its device name is unknown; list it in devices"
    step.action = "attach"
    return None


def missing(move: dict[str, Any], steps: list[Step]) -> list[str]:
    """Problems for every listed device or name that matches no volume."""
    devices = {s.device for s in steps}
    names = {s.volume.name for s in steps}
    problems = [
        f"{move['old']} -> {move['new']}: no volume at {d} on either instance, and none moving"
        for d in move["devices"]
        if d not in devices
    ]
    problems += [
        f"{move['old']} -> {move['new']}: no volume with Name {n}" for n in move["names"] if n not in names
    ]
    return problems


INCOMING = ("move", "wait_detach", "attach")


def attach_checks(
    steps: list[Step], instances: list[Instance], volumes: dict[str, Volume], types: dict[str, InstanceType]
) -> list[str]:
    """What AWS would refuse when attaching the incoming volumes to their new instances (zones, device names,
    capacity: module_utils/ebs.py), checked before anything is detached."""
    incoming = [s for s in steps if s.action in INCOMING]
    by_id = {i.instance_id: i for i in instances}
    targets = {}
    for new_id in {s.new_id for s in incoming}:
        inst = by_id[new_id]
        mappings = dict(inst.mappings)
        mappings.update(
            {v.device: v.volume_id for v in volumes.values() if v.instance_id == new_id and v.device}
        )
        targets[new_id] = Target(
            instance_id=new_id,
            name=inst.name or new_id,
            zone=inst.zone,
            instance_type=inst.instance_type or "",
            virtualization=inst.virtualization,
            root_device=inst.root_device,
            mappings=mappings,
            interfaces=len(inst.interfaces),
        )
    return attachment_problems(
        [
            Incoming(
                volume_id=s.volume.volume_id,
                label=s.volume.volume_id + (f" ({s.volume.name})" if s.volume.name else ""),
                device=s.device,
                zone=s.volume.zone,
                target_id=s.new_id,
                move=f"{s.move['old']} -> {s.move['new']}",
            )
            for s in incoming
        ],
        targets,
        types,
    )


def target_types(moves: list[dict[str, Any]], instances: list[Instance]) -> list[str]:
    """The instance types of the new instances (their hypervisor decides device names and limits)."""
    found = (resolve(m["new"], instances)[0] for m in moves)
    return sorted({i.instance_type for i in found if i is not None and i.instance_type})


def plan(
    moves: list[dict[str, Any]],
    instances: list[Instance],
    volumes: dict[str, Volume],
    types: dict[str, InstanceType] | None = None,
) -> tuple[list[Step], list[str]]:
    steps: list[Step] = []
    problems: list[str] = []
    for move in moves:
        old, p_old = resolve(move["old"], instances)
        new, p_new = resolve(move["new"], instances)
        problems += [p for p in (p_old, p_new) if p]
        if old is None or new is None:
            continue
        mine = [
            Step(move, old.instance_id, new.instance_id, v, v.tags.get(TAG_DEVICE) or v.device or "")
            for v in volumes.values()
            if selected(move, old, new, v)
        ]
        mine.sort(key=lambda s: (s.device, s.volume.volume_id))
        for step in mine:
            if step.volume.instance_id in (old.instance_id, new.instance_id):
                step.device = step.volume.device or step.device
            problem = plan_volume(step, old, new)
            if problem:
                problems.append(problem)
        problems += missing(move, mine)
        steps += mine
    problems += attach_checks(steps, instances, volumes, types or {})
    ids = [s.volume.volume_id for s in steps]
    problems += [f"{v}: selected by more than one move" for v in sorted({v for v in ids if ids.count(v) > 1})]
    return steps, problems


# --------------------------------------------------------------------------- changing


def tag_moving(client: Any, steps: list[Step]) -> None:
    """Mark the volumes about to leave their old instance, so a rerun can find them when available."""
    for step in steps:
        call(
            client,
            "create_tags",
            step.label,
            "CreateTags on",
            Resources=[step.volume.volume_id],
            Tags=[
                {"Key": TAG_FROM, "Value": step.old_id},
                {"Key": TAG_TO, "Value": step.new_id},
                {"Key": TAG_DEVICE, "Value": step.device},
            ],
        )


def untag(client: Any, steps: list[Step], keys: tuple[str, ...]) -> None:
    """Remove these move tags from the volumes: once attached to the new instance (TAG_TO and TAG_DEVICE:
    TAG_FROM stays, so a rerun still finds them), or back on the old one (all three: as before the move)."""
    ids = [s.volume.volume_id for s in steps]
    if ids:
        call(
            client,
            "delete_tags",
            ", ".join(ids),
            "DeleteTags on",
            Resources=ids,
            Tags=[{"Key": key} for key in keys],
        )


def detach(client: Any, steps: list[Step], force: bool) -> None:
    for step in steps:
        kwargs: dict[str, Any] = {"VolumeId": step.volume.volume_id, "InstanceId": step.old_id}
        if force:
            kwargs["Force"] = True
        call(client, "detach_volume", step.label, "DetachVolume of", **kwargs)


def attach(client: Any, steps: list[Step], home: bool = False) -> tuple[list[Step], AwsError | None]:
    """Attach each volume to its new instance (`home`: back to its old one), in order, until AWS refuses one.
    Returns that step and the ones after it (not attached), and AWS's refusal."""
    for index, step in enumerate(steps):
        try:
            call(
                client,
                "attach_volume",
                step.label,
                "AttachVolume of",
                VolumeId=step.volume.volume_id,
                InstanceId=step.old_id if home else step.new_id,
                Device=(step.volume.device or step.device) if home else step.device,
            )
        except AwsError as exc:
            return steps[index:], exc
    return [], None


def put_back(client: Any, steps: list[Step]) -> tuple[list[Step], list[Step], AwsError | None]:
    """The volumes an attach refusal left outside any server, attached back to their old instances.
    Returns the ones sent back, the ones left detached (AWS refused that too) and that refusal."""
    left: list[Step] = []
    error = None
    todo = list(steps)
    while todo:
        refused, exc = attach(client, todo, home=True)
        if exc is None:
            break
        left.append(refused[0])
        error = exc
        todo = refused[1:]
    back = [s for s in steps if s not in left]
    for step in back:
        step.action = "put_back"
    return back, left, error


def wait_for(
    module: AnsibleAWSModule,
    client: Any,
    steps: list[Step],
    done: Any,
    timeout: int,
    what: str,
    progress: Progress,
) -> tuple[list[Step], dict[str, Volume]]:
    """Poll DescribeVolumes (one call per poll) until `done(volume)` for every step. Returns the steps still
    pending and the last description."""
    last: dict[str, dict[str, Volume]] = {"volumes": {}}
    if not steps:
        return [], {}
    by_label = {s.label: s for s in steps}

    def pending() -> list[str]:
        last["volumes"] = describe_volumes(client, [s.volume.volume_id for s in steps])
        return [s.label for s in steps if not done(last["volumes"].get(s.volume.volume_id), s)]

    remaining = wait_until(pending, timeout, module.params["poll_interval"], progress, what, len(steps))
    return [by_label[label] for label in remaining], last["volumes"]


def is_available(vol: Volume | None, _step: Step) -> bool:
    return vol is not None and vol.state == "available" and not vol.instance_id


def is_attached(vol: Volume | None, step: Step) -> bool:
    return vol is not None and vol.instance_id == step.new_id and vol.attachment_state == "attached"


def is_home(vol: Volume | None, step: Step) -> bool:
    return vol is not None and vol.instance_id == step.old_id and vol.attachment_state == "attached"


def refused_message(error: AwsError, back: list[Step], left: list[Step], again: AwsError | None) -> str:
    """What an attach refusal did: where the volumes went back, which are left detached, what to do."""
    said = [f"{error}: the move stopped there"]
    if back:
        said.append(
            "put back on their old servers at their devices, so none is on no server: "
            + ", ".join(f"{s.label} on {s.move['old']}" for s in back)
        )
    if left:
        said.append(
            f"LEFT DETACHED (the attach back was refused too: {again}): "
            + ", ".join(f"{s.label} of {s.move['old']}" for s in left)
        )
    said.append("fix the cause and rerun: the move starts again from the old servers")
    return "; ".join(said)


def stuck_message(stuck: list[Step], timeout: int) -> str:
    labels = ", ".join(f"{s.label} on {s.move['old']}" for s in stuck)
    return (
        f"still detaching after {timeout}s: {labels}. A detach that does not finish means the volume is "
        "probably still mounted or held on the old server: it was NOT attached anywhere. Unmount it (the "
        "ebs_move role does) and rerun; only if the old server is gone, rerun with force_detach (a forced "
        "detach of a mounted filesystem can lose data)"
    )


# --------------------------------------------------------------------------- results


def entries(steps: list[Step], final: dict[str, Volume] | None, check_mode: bool) -> list[dict[str, Any]]:
    out = []
    names = {"move": "moved", "wait_detach": "moved", "attach": "attached", "wait_attach": "attached"}
    names["put_back"] = "put_back"
    for step in steps:
        if check_mode:
            action = "none" if step.action == "none" else f"would_{step.action}"
            vol = step.volume
        else:
            action = names.get(step.action, "none")
            vol = (final or {}).get(step.volume.volume_id, step.volume)
        out.append(
            {
                "volume_id": step.volume.volume_id,
                "name": step.volume.name,
                "device": step.device,
                "old": step.move["old"],
                "new": step.move["new"],
                "old_instance_id": step.old_id,
                "new_instance_id": step.new_id,
                "instance_id": step.new_id if check_mode and step.action != "none" else vol.instance_id,
                "state": "in-use" if check_mode and step.action != "none" else vol.state,
                "action": action,
            }
        )
    return out


def diff(steps: list[Step], after: list[dict[str, Any]]) -> dict[str, Any]:
    changed = {s.volume.volume_id for s in steps if s.action != "none"}
    before = {s.volume.volume_id: s.volume.snapshot() for s in steps if s.volume.volume_id in changed}
    after_states = {
        e["volume_id"]: {"instance_id": e["instance_id"], "device": e["device"], "state": e["state"]}
        for e in after
        if e["volume_id"] in changed
    }
    return {"before": before, "after": after_states}


def fail(module: AnsibleAWSModule, problems: list[str], steps: list[Step]) -> None:
    module.fail_json(
        msg="Nothing was changed. " + " | ".join(problems),
        problems=problems,
        changed=False,
        volumes=entries(steps, None, check_mode=True),
        progress=[],
    )


def permission_problem(client: Any, steps: list[Step]) -> str | None:
    to_detach = [s for s in steps if s.action == "move"]
    if to_detach:
        s = to_detach[0]
        return dry_run(client, "detach_volume", s.label, VolumeId=s.volume.volume_id, InstanceId=s.old_id)
    return None


def run(module: AnsibleAWSModule) -> None:
    p = module.params
    client = ec2_client(module)
    instances = describe_live_instances(client)
    volumes = describe_volumes(client)
    types = ebs_limits(client, target_types(p["moves"], instances))
    steps, problems = plan(p["moves"], instances, volumes, types)
    problem = None if problems else permission_problem(client, steps)
    problems = [*problems, *([problem] if problem else [])]
    todo = [s for s in steps if s.action != "none"]
    if p["preflight"]:
        after = entries(steps, None, check_mode=True)
        module.exit_json(changed=False, volumes=after, progress=[], problems=problems)
    if problems:
        fail(module, problems, steps)
    if module.check_mode:
        after = entries(steps, None, check_mode=True)
        module.exit_json(changed=bool(todo), volumes=after, progress=[], problems=[], diff=diff(steps, after))
    with changes(" (rerun to finish the move: it resumes)", when=lambda: bool(todo)):
        move_all(module, client, steps, todo)


def move_all(module: AnsibleAWSModule, client: Any, steps: list[Step], todo: list[Step]) -> None:
    """Detach, wait, attach, wait: every volume together at each stage."""
    p = module.params
    progress = Progress(module.log)
    to_detach = [s for s in steps if s.action == "move"]
    detaching = [s for s in steps if s.action in ("move", "wait_detach")]
    tag_moving(client, detaching)
    detach(client, to_detach, p["force_detach"])
    stuck, _ = wait_for(module, client, detaching, is_available, p["detach_timeout"], "detached", progress)
    to_attach = [s for s in steps if s.action == "attach" or (s in detaching and s not in stuck)]
    refused, error = attach(client, to_attach)
    back, left, again = put_back(client, refused) if error else ([], [], None)
    attaching = [
        *(s for s in to_attach if s not in refused),
        *(s for s in steps if s.action == "wait_attach"),
    ]
    late, _ = wait_for(module, client, attaching, is_attached, p["attach_timeout"], "attached", progress)
    not_home, _ = wait_for(
        module, client, back, is_home, p["attach_timeout"], "back on the old server", progress
    )
    untag(client, [s for s in attaching if s not in late], (TAG_TO, TAG_DEVICE))
    untag(client, [s for s in back if s not in not_home], (TAG_FROM, TAG_TO, TAG_DEVICE))
    final = {**{s.volume.volume_id: s.volume for s in steps}, **describe_volumes(client)}
    after = entries(steps, final, check_mode=False)
    result = {
        "changed": bool(todo),
        "volumes": after,
        "progress": progress.lines,
        "problems": [],
        "diff": diff(steps, after),
    }
    errors = []
    if error:
        errors.append(refused_message(error, back, left, again))
    if not_home:
        errors.append(
            f"not back on the old server after {p['attach_timeout']}s: "
            + ", ".join(f"{s.label} to {s.move['old']}" for s in not_home)
        )
    if stuck:
        errors.append(stuck_message(stuck, p["detach_timeout"]))
    if late:
        errors.append(
            f"not attached after {p['attach_timeout']}s: "
            + ", ".join(f"{s.label} to {s.move['new']}" for s in late)
            + ". Rerun to finish the move"
        )
    if errors:
        module.fail_json(msg=" | ".join(errors), **result)
    module.exit_json(**result)


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
