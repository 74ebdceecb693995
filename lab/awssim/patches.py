"""The patches that turn moto 5.2.5 into the lab's AWS: EC2-Classic, EIP moves, limits, latency, faults.

`install()` checks the moto version and every internal it touches, then patches (idempotently).

Where AWS's exact error text could not be confirmed (searched the API reference, botocore's model and
public issues), the code says so next to the error; the codes and messages that ARE confirmed:
- AddressLimitExceeded "The maximum limit on Elastic IP addresses has been reached." (the write-up);
- InvalidParameterCombination "You must specify an allocation id when mapping an address to a VPC
  instance" (the write-up; ansible/ansible#4436, boto 2 traces);
- InvalidParameterCombination "The allowReassociation parameter is only supported when mapping to a VPC
  instance or interface." (aws/aws-cli#62);
- MoveAddressToVpc answers only `{"Status": "MoveInProgress"}` while the move runs (the write-up's CLI
  output) and needs the EIP allocated > 24 h and not associated (API reference).

How the platform is decided (EC2-Classic vs VPC):
- the account's `supported-platforms` (DescribeAccountAttributes) is `STATE.platforms`: `EC2, VPC` for a
  Classic-enabled account (the `vpc-day`/`incident` scenarios and a bare `mock_lab()`), `VPC` for a
  VPC-only one (the `default` scenario);
- in a Classic-enabled account RunInstances without a SubnetId (and without network interfaces) launches
  an EC2-Classic instance: described with no VpcId, no SubnetId, no NetworkInterfaces;
- AllocateAddress without Domain gives a Classic EIP (Domain `standard`) in a Classic-enabled account,
  a VPC one otherwise. A Classic EIP has no AllocationId; moto needs an id to hang tags on, so its tags
  live under the internal id `eipalloc-classic-<a-b-c-d>` (real Classic EIPs could not be tagged).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import moto
from moto.cloudtrail import responses as cloudtrail_responses
from moto.core import responses as core_responses
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.ec2 import exceptions as ec2_exceptions
from moto.ec2 import utils as ec2_utils
from moto.ec2.models import elastic_block_store as ebs_models
from moto.ec2.models import elastic_ip_addresses as eip_models
from moto.ec2.models import instances as instance_models
from moto.ec2.responses import EC2Response
from moto.rds import exceptions as rds_exceptions
from moto.rds import models as rds_models
from moto.rds import responses as rds_responses
from moto.servicequotas import models as sq_models

from lab.awssim import network, storage
from lab.awssim.network import detach_eip, is_classic_instance
from lab.awssim.state import STATE

log = logging.getLogger("lab.awssim")

MOTO_VERSION = "5.2.5"
DAY = 24 * 3600.0
LIMIT_MESSAGE = "The maximum limit on Elastic IP addresses has been reached."
VPC_EIP_QUOTA_CODE = "L-0263D0A3"

#: (object, attribute) pairs this module relies on. A moto upgrade that renames any of them fails loudly.
REQUIRED_INTERNALS: list[tuple[Any, str]] = [
    (BaseResponse, "call_action"),
    (BaseResponse, "serialized"),
    (BaseResponse, "_transform_response"),
    (BaseResponse, "_enrich_response"),
    (BaseResponse, "_get_action"),
    (BaseResponse, "_get_param"),
    (core_responses, "ActionResult"),
    (EC2Response, "allocate_address"),
    (EC2Response, "associate_address"),
    (EC2Response, "disassociate_address"),
    (EC2Response, "describe_account_attributes"),
    (EC2Response, "stop_instances"),
    (EC2Response, "start_instances"),
    (EC2Response, "attach_volume"),
    (EC2Response, "detach_volume"),
    (EC2Response, "error_on_dryrun"),
    (EC2Response, "ec2_backend"),
    (eip_models.ElasticAddress, "__init__"),
    (eip_models.ElasticAddress, "network_interface_id"),
    (eip_models.ElasticAddressBackend, "address_by_ip"),
    (eip_models.ElasticAddressBackend, "address_by_allocation"),
    (eip_models.ElasticAddressBackend, "associate_address"),
    (eip_models.ElasticAddressBackend, "disassociate_address"),
    (instance_models.Instance, "__init__"),
    (instance_models.Instance, "vpc_id"),
    (instance_models.Instance, "subnet_id"),
    (instance_models.Instance, "network_interfaces"),
    (instance_models.InstanceState, "__init__"),
    (ebs_models.Volume, "__init__"),
    (ebs_models.EBSBackend, "attach_volume"),
    (ebs_models.EBSBackend, "detach_volume"),
    (ebs_models.EBSBackend, "get_volume"),
    (ec2_utils, "random_eip_allocation_id"),
    (ec2_utils, "random_eip_association_id"),
    (ec2_exceptions, "EC2ClientError"),
    (ec2_exceptions, "InvalidParameterCombination"),
    (ec2_exceptions, "ResourceAlreadyAssociatedError"),
    (rds_responses.RDSResponse, "modify_db_instance"),
    (rds_models.RDSBackend, "describe_db_instances"),
    (rds_models.RDSBackend, "describe_db_subnet_groups"),
    (rds_models.DBInstance, "db_subnet_group_name"),
    (rds_exceptions, "RDSClientError"),
    (sq_models.ServiceQuotasBackend, "get_service_quota"),
]

_installed = False
_install_lock = threading.Lock()


def check_moto(version: str | None = None) -> None:
    """Raise RuntimeError naming what changed if moto is not the version/internals this was written on."""
    found = moto.__version__ if version is None else version
    if found != MOTO_VERSION:
        raise RuntimeError(
            f"lab.awssim is written against moto {MOTO_VERSION} internals but moto {found} is installed; "
            f"pin moto[server]=={MOTO_VERSION} or port lab/awssim/patches.py"
        )
    missing = [
        f"{getattr(obj, '__name__', obj)}.{attr}"
        for obj, attr in [*REQUIRED_INTERNALS, *network.REQUIRED_INTERNALS]
        if not hasattr(obj, attr)
    ]
    if missing:
        raise RuntimeError(f"moto internals that lab.awssim patches are gone: {', '.join(missing)}")


def install() -> None:
    """Patch moto (once per process). Fails loudly on an unexpected moto."""
    global _installed
    check_moto()
    with _install_lock:
        if _installed:
            return
        _patch_dispatch()
        _patch_models()
        _patch_ec2_responses()
        network.patch()
        _patch_rds()
        _patch_servicequotas()
        _patch_cloudtrail()
        _installed = True


# ------------------------------------------------------------------------------------------------
# helpers


def ec2_error(code: str, message: str) -> ServiceException:
    return ec2_exceptions.EC2ClientError(code, message)


def _now() -> float:
    return time.time()


def _run_after(fn: Callable[[], None] | None) -> None:
    if fn is None:
        return
    try:
        fn()
    except Exception:
        log.exception("lab host hook failed")


def _instance_tags(instance: Any) -> dict[str, str]:
    return {t["key"]: t["value"] for t in instance.get_tags()}


def _eip_count(backend: Any) -> tuple[int, int]:
    """(classic, vpc) addresses in use; an address moving to the VPC counts against the VPC limit."""
    classic = vpc = 0
    for a in backend.addresses:
        moving = getattr(a, "_lab_moving", None)
        if a.domain == "vpc" or moving == "movingToVpc":
            vpc += 1
        else:
            classic += 1
    return classic, vpc


def _classic_tag_id(ip: str) -> str:
    return "eipalloc-classic-" + ip.replace(".", "-")


def _retag(backend: Any, old_id: str | None, new_id: str) -> None:
    if old_id and old_id in backend.tags:
        backend.tags[new_id] = backend.tags.pop(old_id)


def _schedule_or_run(
    kind: str,
    resource_id: str,
    delay: float,
    apply: Callable[[], Callable[[], None] | None],
    ready: Callable[[], bool] | None = None,
) -> None:
    """Register a transition; with no delay and no readiness check it happens now (hooks run after the
    request releases the API lock)."""
    STATE.schedule(kind, resource_id, delay, apply, ready)


# ------------------------------------------------------------------------------------------------
# dispatch: lazy ticking, fault injection, one API lock


class CloudTrailError(ServiceException):
    """A CloudTrail error (moto finds an error's service by the module its class is defined in)."""

    __module__ = "moto.cloudtrail.exceptions"


def _service_exception_for(response: BaseResponse, code: str, message: str) -> Any:
    if response.service_name == "ec2":
        return ec2_exceptions.EC2ClientError(code, message)
    if response.service_name == "rds":
        return rds_exceptions.RDSClientError(code, message)
    if response.service_name == "cloudtrail":
        return CloudTrailError(code, message)
    return ServiceException(code, message)


def _patch_dispatch() -> None:
    """Every AWS call: lazy ticking, EC2 throttling (lab.awssim.throttle), fault injection, call counting,
    one API lock.

    The throttle is checked before the fault rules, as AWS's front door refuses a request before the
    service looks at it: a throttled request reaches neither the fault rules (so "the nth call fails"
    counts the requests AWS admitted, whatever a retrying client's throttled attempts were) nor moto (so
    it changes nothing), and it does not wait for the API lock.
    """
    from lab.awssim.throttle import THROTTLE_CODE, THROTTLE_MESSAGE, THROTTLE_STATUS

    original = BaseResponse.call_action

    def error_response(self: BaseResponse, code: str, message: str, status_code: int | None) -> Any:
        err = _service_exception_for(self, code, message)
        status, headers, body = self.serialized(ActionResult(err))
        headers["status"] = status_code or status
        status, headers, body = self._transform_response(dict(self.response_headers), (body, headers))
        headers, body = self._enrich_response(headers, body)
        return status, headers, body

    def call_action(self: BaseResponse) -> Any:
        STATE.tick()
        try:
            operation = self._get_action()
        except Exception:
            operation = ""
        service = str(self.service_name or "")
        if operation:
            account = str(getattr(self, "current_account", "") or "")
            region = str(getattr(self, "region", "") or "")
            params = getattr(self, "querystring", None) or {}
            if not STATE.admit(service, account, region, operation, params):
                STATE.count_call(service, operation, "throttled")
                return error_response(self, THROTTLE_CODE, THROTTLE_MESSAGE, THROTTLE_STATUS)
        rule = STATE.check_fault(operation) if operation else None
        if operation:
            STATE.count_call(service, operation, "faults" if rule is not None else None)
        if rule is not None:
            return error_response(self, rule.code, rule.message, rule.status)
        with STATE.lock:
            result = original(self)
        # transitions that are already due (latency scale 0) complete before the caller sees the answer
        STATE.tick()
        return result

    call_action._lab_patched = True  # type: ignore[attr-defined]
    BaseResponse.call_action = call_action  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------------
# models: Classic EIPs and instances


def _patch_models() -> None:
    EA = eip_models.ElasticAddress
    ea_init = EA.__init__

    def eip_init(
        self: Any, ec2_backend: Any, domain: str, address: str | None = None, tags: Any = None
    ) -> None:
        ea_init(self, ec2_backend, domain=domain, address=address, tags=None)
        self._lab_allocated_at = _now()
        self._lab_moving = None
        self._lab_from_classic = False
        self._lab_private_ip = None
        if self.domain == "standard":
            self.id = _classic_tag_id(self.public_ip)
        self.add_tags(tags or {})

    EA.__init__ = eip_init  # type: ignore[method-assign]

    nic_prop = EA.network_interface_id

    def network_interface_id(self: Any) -> str | None:
        if self.domain == "standard":
            return None
        return nic_prop.fget(self) or None  # type: ignore[no-any-return]

    EA.network_interface_id = property(network_interface_id)  # type: ignore[assignment,method-assign]
    EA.private_ip_address = property(  # type: ignore[assignment,method-assign]
        lambda self: None if self.domain == "standard" or not self.eni else self.eni.private_ip_address
    )
    EA.instance_id = property(lambda self: self.instance.id if self.instance else None)  # type: ignore[assignment,method-assign]
    EA.network_interface_owner_id = property(  # type: ignore[assignment,method-assign]
        lambda self: None if self.domain == "standard" or not self.eni else self.eni.owner_id
    )

    Inst = instance_models.Instance
    inst_init = Inst.__init__

    def instance_init(self: Any, *args: Any, **kwargs: Any) -> None:
        inst_init(self, *args, **kwargs)
        self._lab_classic = STATE.classic_enabled and not self._subnet_id

    Inst.__init__ = instance_init  # type: ignore[method-assign]

    for name in ("vpc_id", "subnet_id"):
        prop = getattr(Inst, name)

        def make(prop: property) -> property:
            def getter(self: Any) -> Any:
                if getattr(self, "_lab_classic", False):
                    return None
                return prop.fget(self)  # type: ignore[misc]

            return property(getter)

        setattr(Inst, name, make(prop))

    ni_prop = Inst.network_interfaces

    def network_interfaces(self: Any) -> Any:
        if getattr(self, "_lab_classic", False):
            return []
        return ni_prop.fget(self)

    Inst.network_interfaces = property(network_interfaces)  # type: ignore[assignment,method-assign]

    # AWS always describes a volume's SnapshotId ("" when it was not made from a snapshot); moto leaves it
    # out, and amazon.aws.ec2_vol_info then fails with KeyError: 'snapshot_id'.
    Vol = ebs_models.Volume
    vol_init = Vol.__init__

    def volume_init(self: Any, *args: Any, **kwargs: Any) -> None:
        vol_init(self, *args, **kwargs)
        if self.snapshot_id is None:
            self.snapshot_id = ""

    Vol.__init__ = volume_init  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------------
# EC2 responses


def _account_attributes(self: Any) -> ActionResult:
    self.error_on_dryrun()
    attrs: dict[str, list[str]] = {
        "vpc-max-security-groups-per-interface": ["5"],
        "max-instances": ["20"],
        "supported-platforms": list(STATE.platforms),
        "default-vpc": ["none"],
        "max-elastic-ips": [str(STATE.classic_limit)],
        "vpc-max-elastic-ips": [str(STATE.vpc_limit)],
    }
    wanted = self._get_param("AttributeNames", [])
    return ActionResult(
        {
            "AccountAttributes": [
                {"AttributeName": k, "AttributeValues": [{"AttributeValue": v} for v in vs]}
                for k, vs in attrs.items()
                if not wanted or k in wanted
            ]
        }
    )


def _patch_ec2_responses() -> None:
    orig_allocate = EC2Response.allocate_address
    orig_stop = EC2Response.stop_instances
    orig_start = EC2Response.start_instances
    orig_attach = EC2Response.attach_volume

    def allocate_address(self: Any) -> ActionResult:
        domain = self._get_param("Domain")
        if domain not in ("standard", "vpc"):
            domain = "standard" if STATE.classic_enabled else "vpc"
        if domain == "standard" and not STATE.classic_enabled:
            # not confirmed against AWS (no Classic accounts remain to try it on)
            raise ec2_error("InvalidParameterValue", "EC2-Classic is not supported by this account.")
        self.error_on_dryrun()
        classic, vpc = _eip_count(self.ec2_backend)
        if (domain == "vpc" and vpc >= STATE.vpc_limit) or (
            domain == "standard" and classic >= STATE.classic_limit
        ):
            raise ec2_error("AddressLimitExceeded", LIMIT_MESSAGE)
        self.params["Domain"] = domain
        return orig_allocate(self)  # type: ignore[no-any-return]

    def move_address_to_vpc(self: Any) -> ActionResult:
        backend = self.ec2_backend
        public_ip = self._get_param("PublicIp")
        if not public_ip:
            raise ec2_error("MissingParameter", "The request must contain the parameter PublicIp")
        eip = backend.address_by_ip([public_ip])[0]
        self.error_on_dryrun()
        moving = getattr(eip, "_lab_moving", None)
        if moving == "movingToVpc":
            return ActionResult({"Status": "MoveInProgress"})
        if moving == "restoringToClassic":
            raise ec2_error(
                "InvalidAddress.Moving", f"The address {public_ip} is being restored to EC2-Classic"
            )
        if eip.domain == "vpc":
            return ActionResult({"Status": "InVpc", "AllocationId": eip.allocation_id})
        if eip.instance is not None or eip.eni is not None:
            # code not confirmed against AWS; the rule ("must not be associated") is from the API reference
            raise ec2_error(
                "InvalidParameterValue",
                f"The address {public_ip} is associated with an instance and cannot be moved",
            )
        if _now() - getattr(eip, "_lab_allocated_at", 0.0) < DAY:
            # code not confirmed against AWS; the rule (allocated > 24 hours) is from the API reference
            raise ec2_error(
                "InvalidParameterValue",
                f"The address {public_ip} must be allocated to your account for more than 24 hours "
                "before it can be moved",
            )
        _classic, vpc = _eip_count(backend)
        if vpc >= STATE.vpc_limit:
            raise ec2_error("AddressLimitExceeded", LIMIT_MESSAGE)
        eip._lab_moving = "movingToVpc"
        new_id = ec2_utils.random_eip_allocation_id()

        def apply() -> None:
            old_id = eip.id
            eip.domain = "vpc"
            eip.allocation_id = new_id
            eip.id = new_id
            eip._lab_moving = None
            eip._lab_from_classic = True
            _retag(backend, old_id, new_id)

        _schedule_or_run("address_move", public_ip, STATE.delay("address_move"), apply)
        return ActionResult({"Status": "MoveInProgress"})

    def restore_address_to_classic(self: Any) -> ActionResult:
        backend = self.ec2_backend
        public_ip = self._get_param("PublicIp")
        if not public_ip:
            raise ec2_error("MissingParameter", "The request must contain the parameter PublicIp")
        eip = backend.address_by_ip([public_ip])[0]
        self.error_on_dryrun()
        moving = getattr(eip, "_lab_moving", None)
        if moving == "restoringToClassic":
            return ActionResult({"PublicIp": public_ip, "Status": "MoveInProgress"})
        if moving == "movingToVpc":
            raise ec2_error("InvalidAddress.Moving", f"The address {public_ip} is being moved to the VPC")
        if eip.domain == "standard":
            return ActionResult({"PublicIp": public_ip, "Status": "InClassic"})
        if not getattr(eip, "_lab_from_classic", False):
            # rule from the API reference; code/message not confirmed
            raise ec2_error(
                "InvalidParameterValue",
                f"The address {public_ip} was allocated for use in EC2-VPC "
                "and cannot be restored to EC2-Classic",
            )
        if eip.instance is not None or eip.eni is not None:
            raise ec2_error(
                "InvalidParameterValue",
                f"The address {public_ip} is associated with an instance and cannot be moved",
            )
        classic, _vpc = _eip_count(backend)
        if classic >= STATE.classic_limit:
            raise ec2_error("AddressLimitExceeded", LIMIT_MESSAGE)
        eip._lab_moving = "restoringToClassic"

        def apply() -> None:
            old_id = eip.id
            eip.domain = "standard"
            eip.allocation_id = None
            eip.id = _classic_tag_id(public_ip)
            eip.association_id = None
            eip._lab_moving = None
            _retag(backend, old_id, eip.id)

        _schedule_or_run("address_restore", public_ip, STATE.delay("address_restore"), apply)
        return ActionResult({"PublicIp": public_ip, "Status": "MoveInProgress"})

    def describe_moving_addresses(self: Any) -> ActionResult:
        self.error_on_dryrun()
        ips = set(self._get_param("PublicIps", []) or [])
        filters = self._filters_from_querystring()
        wanted_status = set(filters.get("moving-status", []))
        out = []
        for a in self.ec2_backend.addresses:
            status = getattr(a, "_lab_moving", None)
            if not status or (ips and a.public_ip not in ips):
                continue
            if wanted_status and status not in wanted_status:
                continue
            out.append({"MoveStatus": status, "PublicIp": a.public_ip})
        return ActionResult({"MovingAddressStatuses": out})

    def stop_instances(self: Any) -> ActionResult:
        backend = self.ec2_backend
        ids = self._get_param("InstanceIds", [])
        instances = backend.get_multi_instances_by_id(ids) if ids else []
        before = {i.id: i._state.name for i in instances}
        result = orig_stop(self)
        for inst in instances:
            if before.get(inst.id) in ("stopped", "stopping"):
                continue
            inst._state.name, inst._state.code = "stopping", 64
            tags = _instance_tags(inst)

            def apply(inst: Any = inst, tags: dict[str, str] = tags) -> Callable[[], None]:
                inst._state.name, inst._state.code = "stopped", 80
                if is_classic_instance(inst):
                    for a in list(backend.addresses):
                        if a.instance is not None and a.instance.id == inst.id:
                            detach_eip(a)
                return lambda: STATE.hooks.instance_stopped(inst.id, tags)

            _schedule_or_run("instance_state", inst.id, STATE.delay("instance_stop"), apply)
        return result  # type: ignore[no-any-return]

    def start_instances(self: Any) -> ActionResult:
        backend = self.ec2_backend
        ids = self._get_param("InstanceIds", [])
        instances = backend.get_multi_instances_by_id(ids) if ids else []
        before = {i.id: i._state.name for i in instances}
        for inst in instances:
            if inst._state.name == "stopping":
                raise ec2_error(
                    "IncorrectInstanceState",
                    f"The instance '{inst.id}' is not in a state from which it can be started.",
                )
        result = orig_start(self)
        for inst in instances:
            if before.get(inst.id) in ("running", "pending"):
                continue
            inst._state.name, inst._state.code = "pending", 0
            tags = _instance_tags(inst)

            def apply(inst: Any = inst, tags: dict[str, str] = tags) -> Callable[[], None]:
                inst._state.name, inst._state.code = "running", 16
                return lambda: STATE.hooks.instance_started(inst.id, tags)

            _schedule_or_run("instance_state", inst.id, STATE.delay("instance_start"), apply)
        return result  # type: ignore[no-any-return]

    def attach_volume(self: Any) -> ActionResult:
        volume = self.ec2_backend.get_volume(self._get_param("VolumeId"))
        if volume.attachment is not None:
            raise ec2_error(
                "VolumeInUse", f"vol '{volume.id}' is already attached to an instance"
            )  # AWS: "VolumeInUse" (message wording not confirmed)
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        refusal = storage.attach_refusal(self.ec2_backend, volume, instance, self._get_param("Device"))
        if refusal is not None:
            raise refusal
        result = orig_attach(self)
        att = volume.attachment
        if att is None:
            return result  # type: ignore[no-any-return]
        att.status = "attaching"
        tags = _instance_tags(att.instance)
        kind = network.hypervisor(att.instance.instance_type)  # the guest's device naming follows it

        def apply() -> Callable[[], None]:
            att.status = "attached"
            return lambda: STATE.hooks.volume_attached(
                volume.id, att.instance.id, tags, att.device, hypervisor=kind
            )

        _schedule_or_run("volume", volume.id, STATE.delay("volume_attach"), apply)
        return result  # type: ignore[no-any-return]

    def detach_volume(self: Any) -> ActionResult:
        backend = self.ec2_backend
        volume = backend.get_volume(self._get_param("VolumeId"))
        instance_id = self._get_param("InstanceId")
        force = bool(self._get_param("Force", False))
        att = volume.attachment
        if att is None or (instance_id and att.instance.id != instance_id):
            raise ec2_exceptions.InvalidVolumeAttachmentError(volume.id, instance_id)
        refusal = storage.detach_refusal(volume, att.instance, att.device, force)
        if refusal is not None:
            raise refusal
        self.error_on_dryrun()
        tags = _instance_tags(att.instance)
        result = ActionResult(
            {
                "VolumeId": volume.id,
                "InstanceId": att.instance.id,
                "Device": att.device,
                "State": "detaching",
                "AttachTime": att.attach_time,
            }
        )
        if att.status == "detaching" and not force:
            return result
        att.status = "detaching"
        instance = att.instance
        device = att.device
        kind = network.hypervisor(instance.instance_type)

        def ready() -> bool:
            return force or not STATE.hooks.volume_in_use(
                volume.id, instance.id, tags, device, hypervisor=kind
            )

        def apply() -> Callable[[], None] | None:
            if volume.attachment is not att:
                return None
            backend.detach_volume(volume.id, instance.id, device)
            return lambda: STATE.hooks.volume_detached(volume.id, instance.id, tags, device, hypervisor=kind)

        _schedule_or_run("volume", volume.id, STATE.delay("volume_detach"), apply, ready)
        return result

    EC2Response.allocate_address = allocate_address  # type: ignore[method-assign]
    EC2Response.describe_account_attributes = _account_attributes  # type: ignore[method-assign]
    EC2Response.move_address_to_vpc = move_address_to_vpc  # type: ignore[attr-defined]
    EC2Response.restore_address_to_classic = restore_address_to_classic  # type: ignore[attr-defined]
    EC2Response.describe_moving_addresses = describe_moving_addresses  # type: ignore[attr-defined]
    EC2Response.stop_instances = stop_instances  # type: ignore[method-assign]
    EC2Response.start_instances = start_instances  # type: ignore[method-assign]
    EC2Response.attach_volume = attach_volume  # type: ignore[method-assign]
    EC2Response.detach_volume = detach_volume  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------------
# RDS: moving a DB instance into a VPC takes minutes; without ApplyImmediately it waits


def _rds_error(code: str, message: str) -> ServiceException:
    return rds_exceptions.RDSClientError(code, message)


#: DB instance classes of the previous generations (RDS User Guide, "Previous generation DB instance
#: classes"): "Previous generation DB instance classes might not be supported on the VPC platform … choose a
#: db.m3 or db.r3 DB instance class" [RDS-UG-NonVPC2VPC]. The lab refuses them for a move into a VPC.
PREVIOUS_GENERATION_CLASSES = ("db.m1.", "db.m2.", "db.t1.", "db.cr1.")


def _rds_subnet_group_refusal(response: Any, db: Any, target: Any) -> ServiceException | None:
    """What AWS answers to ModifyDBInstance(DBSubnetGroupName=...) that it refuses, or None.

    ModifyDBInstance DBSubnetGroupName: "You can use this parameter to move your DB instance to a different
    VPC. If your DB instance isn't in a VPC, you can also use this parameter to move your DB instance into a
    VPC" [API-ModifyDBInstance]. The limits, and the texts AWS answered in public reports:
    - InvalidDBInstanceState "Database instance is not in available state." (hashicorp/terraform-provider-aws
      #31594, CloudTrail);
    - Multi-AZ: into a VPC "is not currently supported" [RDS-UG-NonVPC2VPC], InvalidParameterCombination "You
      cannot move a DB instance with Single-Az enabled to a VPC" (fog/fog-aws#255, AWS's wording kept as is);
      to another VPC "You can't change the VPC for a DB instance if … The DB instance is in multiple
      Availability Zones" [RDS-UG-VPC2VPC], "You cannot move a DB instance with Multi-Az enabled to a VPC"
      (a Terraform apply of 2026-08-14 quoted in a public repository);
    - read replicas, and a DB that is one: not supported either way [RDS-UG-NonVPC2VPC, RDS-UG-VPC2VPC] (code
      and text not confirmed: the lab answers InvalidParameterCombination);
    - the target group has no subnet in the DB's Availability Zone [RDS-UG-VPC2VPC] (code and text not
      confirmed: the lab answers InvalidVPCNetworkStateFault);
    - into a VPC from outside any VPC: previous-generation classes and custom option groups ("option groups
      are platform specific") [RDS-UG-NonVPC2VPC] (codes and texts not confirmed);
    - InvalidVPCNetworkStateFault "The specified DB instance is already in the target DB subnet group."
      (aws-controllers-k8s/community#1147) and "You cannot move DB instance X to subnet group Y. The specified
      DB subnet group and DB instance are in the same VPC. ..." (hashicorp/terraform#11715);
    - InvalidParameterCombination "The DB instance and EC2 security group are in different VPCs. The DB
      instance is in vpc-a and the EC2 security group is in vpc-b" (terraform-aws-modules/terraform-aws-rds
      #451).
    """
    name = db.db_instance_identifier
    if db.status != "available":
        return _rds_error("InvalidDBInstanceState", "Database instance is not in available state.")
    current = getattr(db, "db_subnet_group", None)
    if db.multi_az:
        text = "Single-Az" if current is None else "Multi-Az"
        return _rds_error(
            "InvalidParameterCombination", f"You cannot move a DB instance with {text} enabled to a VPC"
        )
    if db.replicas or getattr(db, "source_db_instance_identifier", None):
        what = "has read replicas" if db.replicas else "is a read replica"
        return _rds_error(
            "InvalidParameterCombination",
            f"You cannot move DB instance {name} to another VPC: it {what}. Delete or promote them first.",
        )
    if current is None:
        if str(db.db_instance_class).startswith(PREVIOUS_GENERATION_CLASSES):
            return _rds_error(
                "InvalidParameterCombination",
                f"DB instance class {db.db_instance_class} is not supported on the VPC platform: modify the "
                "DB instance to a current-generation class first",
            )
        if not str(db.option_group_name or "default:").startswith("default:"):
            return _rds_error(
                "InvalidParameterCombination",
                f"Option group {db.option_group_name} is specific to the EC2-Classic platform: set a default "
                "or VPC option group first",
            )
    if current is not None and current.name == target.name:
        return _rds_error(
            "InvalidVPCNetworkStateFault",
            "The specified DB instance is already in the target DB subnet group.",
        )
    if current is not None and current.vpc_id == target.vpc_id:
        return _rds_error(
            "InvalidVPCNetworkStateFault",
            f"You cannot move DB instance {name} to subnet group {target.name}. The specified DB subnet "
            "group and DB instance are in the same VPC. Choose a DB subnet group in different VPC than the "
            "specified DB instance and try again.",
        )
    from moto.ec2.models import ec2_backends

    ec2_backend = ec2_backends[response.current_account][response.region]
    if current is not None:
        zones = {sub.availability_zone for sub in target._subnets}
        if db.availability_zone not in zones:
            return _rds_error(
                "InvalidVPCNetworkStateFault",
                f"The DB subnet group {target.name} has no subnet in {db.availability_zone}, the "
                f"Availability Zone of DB instance {name}",
            )
    for sg_id in response._get_param("VpcSecurityGroupIds") or []:
        group = ec2_backend.get_security_group_from_id(sg_id)
        if group is not None and group.vpc_id != target.vpc_id:
            return _rds_error(
                "InvalidParameterCombination",
                "The DB instance and EC2 security group are in different VPCs. "
                f"The DB instance is in {target.vpc_id} and the EC2 security group is in {group.vpc_id}",
            )
    return None


def _patch_rds() -> None:
    RR = rds_responses.RDSResponse
    orig_modify = RR.modify_db_instance

    def modify_db_instance(self: Any) -> ActionResult:
        subnet_group = self._get_param("DBSubnetGroupName")
        if not subnet_group:
            return orig_modify(self)  # type: ignore[no-any-return]
        ident = self._get_param("DBInstanceIdentifier")
        db = self.backend.describe_db_instances(ident)[0]
        target = self.backend.describe_db_subnet_groups(subnet_group)[0]  # DBSubnetGroupNotFoundFault
        refusal = _rds_subnet_group_refusal(self, db, target)
        if refusal is not None:
            raise refusal
        apply_now = bool(self._get_param("ApplyImmediately", False))
        params = self.params
        for key in ("DBSubnetGroupName", "db_subnet_group_name"):
            if key in params:
                del params[key]
        result = orig_modify(self)
        if not apply_now:
            pending = dict(getattr(db, "pending_modified_values", None) or {})
            pending["DBSubnetGroupName"] = subnet_group
            db.pending_modified_values = pending
            return result  # type: ignore[no-any-return]
        # "moving-to-vpc: The DB instance is being moved to a new Amazon Virtual Private Cloud"
        # [RDS-UG-status]
        db.status = "moving-to-vpc"
        outcome = STATE.rds_outcomes.pop(db.db_instance_identifier, None)

        def apply() -> None:
            if outcome:  # a failure status the lab was told to end this move in (POST /_lab/rds-outcome)
                db.status = outcome
                return
            db.db_subnet_group_name = subnet_group
            db.status = "available"
            pending = dict(getattr(db, "pending_modified_values", None) or {})
            pending.pop("DBSubnetGroupName", None)
            db.pending_modified_values = pending or None

        _schedule_or_run("rds_modify", db.db_instance_identifier, STATE.delay("rds_modify_vpc"), apply)
        return result  # type: ignore[no-any-return]

    RR.modify_db_instance = modify_db_instance  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------------
# Service Quotas: ec2 / L-0263D0A3 ("EC2-VPC Elastic IPs") answers the VPC EIP limit


def _patch_servicequotas() -> None:
    B = sq_models.ServiceQuotasBackend
    orig = B.get_service_quota

    def get_service_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code == "ec2" and quota_code == VPC_EIP_QUOTA_CODE:
            return {
                "Adjustable": True,
                "GlobalQuota": False,
                "QuotaArn": (
                    f"arn:aws:servicequotas:{self.region_name}:{self.account_id}:ec2/{VPC_EIP_QUOTA_CODE}"
                ),
                "QuotaCode": VPC_EIP_QUOTA_CODE,
                "QuotaName": "EC2-VPC Elastic IPs",
                "ServiceCode": "ec2",
                "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
                "Unit": "None",
                "Value": float(STATE.vpc_limit),
            }
        return orig(self, service_code, quota_code)  # type: ignore[no-any-return]

    B.get_service_quota = get_service_quota  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------------
# CloudTrail: the event history answers each EIP's AllocateAddress (moto has no LookupEvents)
#
# AWS (API_LookupEvents): "Looks up management events ... You can look up events that occurred in a Region
# within the last 90 days"; "All attributes are optional. The default number of results returned is 50, with
# a maximum of 50 possible. The response includes a token that you can use to get the next page of
# results"; LookupAttributes "can contain only one item"; StartTime/EndTime bound EventTime. Events come
# newest first. AllocateAddress is a management event whose record (CloudTrailEvent, a JSON string) has
# the request's domain and, in responseElements, publicIp, allocationId and domain. The lab keeps when
# each EIP of the account was allocated (the 24-hour rule of MoveAddressToVpc uses it) and answers from it;
# released addresses and other events are not kept. Not modelled: the delay before an event is listed
# (AWS: minutes) and LookupEvents' rate ("limited to two per second, per account, per Region").

HISTORY_DAYS = 90


def _allocate_event(eip: Any, account: str, region: str) -> dict[str, Any]:
    at = float(getattr(eip, "_lab_allocated_at", 0.0))
    response = {"publicIp": eip.public_ip, "domain": eip.domain}
    if eip.domain == "vpc":
        response["allocationId"] = eip.allocation_id
    event_id = f"lab-allocate-{eip.public_ip}-{int(at)}"
    record = {
        "eventVersion": "1.08",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "AllocateAddress",
        "awsRegion": region,
        "requestParameters": {"domain": eip.domain},
        "responseElements": response,
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
    }
    return {
        "EventId": event_id,
        "EventName": "AllocateAddress",
        "ReadOnly": "false",
        "EventTime": at,
        "EventSource": "ec2.amazonaws.com",
        "Resources": [{"ResourceType": "AWS::EC2::EIP", "ResourceName": eip.public_ip}],
        "CloudTrailEvent": json.dumps(record),
    }


def _patch_cloudtrail() -> None:
    from moto.ec2.models import ec2_backends as moto_ec2_backends

    def lookup_events(self: Any) -> str:
        body = json.loads(self.body or "{}")
        attributes = body.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise ServiceException(
                "InvalidLookupAttributesException", "You cannot use more than one attribute."
            )
        now = time.time()
        start = float(body.get("StartTime") or now - HISTORY_DAYS * DAY)
        end = float(body.get("EndTime") or now)
        size = int(body.get("MaxResults") or 50)
        if not 1 <= size <= 50:
            raise CloudTrailError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
        backend = moto_ec2_backends[self.current_account][self.region]
        with STATE.lock:
            events = [_allocate_event(eip, self.current_account, self.region) for eip in backend.addresses]
        wanted = {(a.get("AttributeKey"), a.get("AttributeValue")) for a in attributes}

        def matches(event: dict[str, Any]) -> bool:
            if not wanted:
                return True
            ((key, value),) = wanted
            if key == "EventName":
                return bool(event["EventName"] == value)
            if key == "EventSource":
                return bool(event["EventSource"] == value)
            if key == "ResourceName":
                return any(r["ResourceName"] == value for r in event["Resources"])
            return key == "ReadOnly" and value == "false"

        events = sorted(
            (e for e in events if start <= e["EventTime"] <= end and matches(e)),
            key=lambda e: (-e["EventTime"], e["EventId"]),
        )
        offset = int(body.get("NextToken") or 0)
        page = events[offset : offset + size]
        out: dict[str, Any] = {"Events": page}
        if offset + size < len(events):
            out["NextToken"] = str(offset + size)
        return json.dumps(out)

    cloudtrail_responses.CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
