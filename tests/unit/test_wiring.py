"""Every required input of every role the playbooks run resolves for inventories/staging and /production.

The wiring (playbooks/group_vars/all) binds role inputs from the inventory's clusterswap_* variables; the
playbooks pass pre-flight's plan slices. This test loads each inventory's group_vars over a static stand-in
for its amazon.aws.aws_ec2 source (one host per group the playbooks target, with the private IP the plugin
would give), and pre-flight's plan on localhost; then, for every role entry point a playbook runs, on every
host of its play, it templates each option of the entry point's meta/argument_specs.yml that the wiring, the
inventory, the playbook or the role's defaults define, and validates the results against the spec as Ansible
does before the role runs (required, type, elements). A missing clusterswap_* variable fails, naming the role
input and the variable.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
from ansible.utils.vars import combine_vars
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
ROLES = REPO / "roles"
INCLUDE_ROLE = {"ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role"}


def _collection_modules() -> dict[str, Any]:
    return {
        k: m
        for k, m in sys.modules.items()
        if k == "ansible_collections" or k.startswith("ansible_collections.")
    }


@pytest.fixture(scope="module", autouse=True)
def collection_filters() -> Iterator[None]:
    """The collection's own filters (the wiring uses some) for this file's Templar, found as ansible-playbook
    finds them (Ansible's collection finder on collections/); removed after, with what it imported, so that
    the other unit tests in this process go on importing the collection plainly (the finder, left installed,
    sees collections/ twice beside pyproject's path and refuses their imports)."""
    saved = _collection_modules()
    for name in saved:  # the finder imports the collection afresh, as ansible-playbook does
        del sys.modules[name]
    init_plugin_loader([str(REPO / "collections")])
    yield
    _AnsibleCollectionFinder._remove()
    for name in set(_collection_modules()) - set(saved):
        del sys.modules[name]
    sys.modules.update(saved)


# Stand-in for the aws_ec2 source: the groups the playbooks target, each with hosts named as in the
# inventories' plans, and the private IP the aws_ec2 plugin sets on every instance.
STAND_IN_GROUPS = {
    "maintenance": ["maint-1"],
    "new_lb": ["new-lb-1", "new-lb-2"],
    "new_web": ["new-web-1"],
    "new_housekeeping": ["new-housekeeping-1"],
    "old_storage": ["old-storage-1", "old-storage-2", "old-logstorage-1"],
    "new_storage": ["new-storage-1", "new-storage-2", "new-logstorage-1"],
    "old_postgres": ["old-postgres-1"],
    "new_postgres": ["new-postgres-1"],
}

# Pre-flight's plan (swap_plan_info's result, the keys the playbooks and roles read), shared on localhost.
EIP = {"public_ip": "198.51.100.7", "name": "web-1", "location": "old", "domain": "vpc"}
EIP["needs_move_to_vpc"] = EIP["page_in_vpc"] = False
PLACE = {"public_ip": "198.51.100.7", "instance_id": "i-1", "network_interface_id": "eni-1"}
PLACE["private_ip_address"] = "10.0.1.5"
PLAN: dict[str, Any] = {
    "stage": "unswapped",
    "eips": [EIP],
    "moves": {"to_maintenance": [PLACE], "to_vpc_page": [], "to_new": [PLACE], "to_old": []},
    "unplaced": {"to_maintenance": [], "to_vpc_page": [], "to_new": [], "to_old": []},
    "unpinned": [],
    "instances": {},
    "capacity": [],
    "problems": [],
    "vpc_moves_needed": 0,
    "vpc_moves_after_office_check": 0,
}
# ... and what the earlier plays of a phase leave on localhost for the later ones (the subnets' prefixes of
# prepare's 1.4, the storage move's plan, the sample files the clients read).
VOLUME = {"volume_id": "vol-1", "old": "old-storage-1", "new": "new-storage-1", "device": "/dev/xvdf"}
SAMPLE = {"volume": "vol-1", "server": "new-storage-1", "path": "/srv/home/a", "sha256": "0" * 64}
CONTROLLER_FACTS = {
    "clusterswap_preflight": PLAN,
    "cluster_prepare_subnet_prefixes": {"subnet-1": 24},
    "ebs_move_plan": {"volumes": [VOLUME]},
    "storage_check_samples": [SAMPLE],
}


@dataclass(frozen=True)
class EntryPoint:
    """A role entry point as a playbook runs it: on which hosts, with which vars."""

    playbook: str
    hosts: str
    role: str
    entry: str
    role_vars: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def _role_call(playbook: str, hosts: str, name: str, tasks_from: str | None, role_vars: Any) -> EntryPoint:
    entry = Path(tasks_from).stem if tasks_from else "main"
    return EntryPoint(playbook, hosts, name, entry, dict(role_vars or {}))


def _tasks_calls(
    playbook: str, hosts: str, tasks: list[dict[str, Any]], play_vars: dict[str, Any]
) -> list[EntryPoint]:
    """The include_role tasks, each with the play's vars and its own (the task's win)."""
    calls = []
    for task in tasks:
        for key in INCLUDE_ROLE & task.keys():
            args = task[key]
            role_vars = {**play_vars, **dict(task.get("vars") or {})}
            calls.append(_role_call(playbook, hosts, args["name"], args.get("tasks_from"), role_vars))
        calls += _tasks_calls(playbook, hosts, task.get("block", []), play_vars)
    return calls


def entry_points(loader: DataLoader) -> list[EntryPoint]:
    """Every role entry point that a play of playbooks/*.yml runs."""
    calls = []
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        for play in loader.load_from_file(str(path), trusted_as_template=True) or []:
            if "hosts" not in play:
                continue
            for role in play.get("roles", []):
                role = {"role": role} if isinstance(role, str) else role
                calls.append(_role_call(path.name, play["hosts"], role["role"], None, role.get("vars")))
            for section in ("pre_tasks", "tasks", "post_tasks"):
                calls += _tasks_calls(
                    path.name, play["hosts"], play.get(section, []), dict(play.get("vars") or {})
                )
    return calls


def stand_in_inventory(directory: Path) -> Path:
    """A static inventory standing in for the aws_ec2 source (it needs AWS)."""
    children = {}
    for n, (group, hosts) in enumerate(STAND_IN_GROUPS.items(), start=1):
        ips = {host: {"private_ip_address": f"10.0.{n}.{i}"} for i, host in enumerate(hosts, start=10)}
        children[group] = {"hosts": ips}
    path = directory / "stand_in_aws_ec2.yml"
    path.write_text(yaml.safe_dump({"all": {"children": children}}))
    return path


def argument_spec(role: str, entry: str) -> dict[str, Any]:
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert entry in specs, f"roles/{role}/meta/argument_specs.yml has no entry point {entry!r}"
    return specs[entry].get("options", {})


def role_defaults(loader: DataLoader, role: str) -> dict[str, Any]:
    path = ROLES / role / "defaults" / "main.yml"
    return (loader.load_from_file(str(path), trusted_as_template=True) or {}) if path.exists() else {}


def _resolve(templar: Templar, value: Any, name: str) -> tuple[Any, str | None]:
    try:
        return templar.template(value), None
    except AnsibleError as exc:
        return None, f"{name}: {exc.message}"


def check_entry_point(
    loader: DataLoader, vm: VariableManager, inv: InventoryManager, call: EntryPoint
) -> list[str]:
    """What does not resolve, or not to the declared type, for this entry point on each host of its play."""
    spec = argument_spec(call.role, call.entry)
    hosts = inv.get_hosts(call.hosts)
    assert hosts, f"{call.playbook}: no stand-in host for {call.hosts!r}: add its group to STAND_IN_GROUPS"
    problems = []
    for host in hosts:
        host_vars = vm.get_vars(host=host, include_hostvars=True)
        variables = combine_vars(combine_vars(role_defaults(loader, call.role), host_vars), call.role_vars)
        templar = Templar(loader=loader, variables=variables)
        params, errors = {}, []
        for name in spec:
            if name in variables:
                params[name], error = _resolve(templar, variables[name], name)
                errors += [error] if error else []
        errors += ArgumentSpecValidator(spec).validate(params).error_messages if not errors else []
        where = f"{call.playbook}: {call.role} ({call.entry}) on {host.name}"
        problems += [f"{where}: {error}" for error in errors]
    return problems


def load(inventory: Path, tmp_path: Path) -> tuple[DataLoader, VariableManager, InventoryManager]:
    """`inventory`'s controller and group_vars over the stand-in hosts, the wiring, and pre-flight's plan."""
    loader = DataLoader()
    loader.set_basedir(str(PLAYBOOKS))  # the playbooks' group_vars: the wiring
    sources = [str(stand_in_inventory(tmp_path)), str(inventory / "controller.yml")]
    inv = InventoryManager(loader=loader, sources=sources)
    vm = VariableManager(loader=loader, inventory=inv)
    HostVars(inventory=inv, variable_manager=vm, loader=loader)  # hostvars, as a play has them
    vm.set_host_facts("localhost", CONTROLLER_FACTS)
    return loader, vm, inv


def unresolved(inventory: Path, tmp_path: Path) -> list[str]:
    """Every problem of every role entry point the playbooks run, with `inventory`'s group_vars."""
    loader, vm, inv = load(inventory, tmp_path)
    problems = []
    for call in entry_points(loader):
        problems += check_entry_point(loader, vm, inv, call)
    return problems


@pytest.mark.parametrize("name", ["staging", "production"])
def test_every_required_role_input_resolves(name: str, tmp_path: Path) -> None:
    problems = unresolved(REPO / "inventories" / name, tmp_path)
    assert not problems, "\n".join(problems)


def test_the_playbooks_run_the_roles_this_test_checks() -> None:
    """The walk finds the plays' roles and include_role tasks, with their entry points and vars."""
    calls = {(c.playbook, c.role, c.entry) for c in entry_points(DataLoader())}
    assert ("prepare-cluster.yml", "cluster_prepare", "hosts") in calls
    for role in ["preflight", "cluster_prepare", "maintenance_mode", "ephemeral_stop", "django_migrate"]:
        assert any(c[1] == role for c in calls), role
    for role in ["sanity_check", "go_live", "eip_vpc_migration", "rds_move_to_vpc", "rollback"]:
        assert any(c[1] == role for c in calls), role


def _inventory_without(variable: str, tmp_path: Path) -> Path:
    """A copy of inventories/production with one clusterswap_* variable removed from its group_vars."""
    copy = tmp_path / "production"
    shutil.copytree(REPO / "inventories" / "production", copy)
    for path in (copy / "group_vars" / "all").glob("*.yml"):
        data = yaml.safe_load(path.read_text())
        if variable in data:
            del data[variable]
            path.write_text(yaml.safe_dump(data))
            return copy
    raise AssertionError(f"{variable} is in no group_vars file of inventories/production")


@pytest.mark.parametrize(
    ("variable", "role_input"),
    [
        ("clusterswap_bypass_upstream", "maintenance_mode_bypass_upstream"),
        ("clusterswap_office_checks", "sanity_check_checks"),
        ("clusterswap_old_ephemerals", "ephemeral_stop_instances"),
    ],
)
def test_a_missing_inventory_variable_fails_naming_the_role_input(
    variable: str, role_input: str, tmp_path: Path
) -> None:
    problems = unresolved(_inventory_without(variable, tmp_path), tmp_path)
    named = [p for p in problems if role_input in p and variable in p]
    assert named, "\n".join(problems) or "no problem found"


def test_a_value_of_the_wrong_type_fails(tmp_path: Path) -> None:
    copy = _inventory_without("clusterswap_office_networks", tmp_path)
    path = copy / "group_vars" / "all" / "swap.yml"
    path.write_text(path.read_text() + "clusterswap_office_networks: {office: 203.0.113.0/24}\n")
    problems = unresolved(copy, tmp_path)
    assert any("maintenance_mode_office_networks" in p and "list" in p for p in problems), "\n".join(problems)


def test_a_role_input_missing_from_the_wiring_fails(tmp_path: Path) -> None:
    """A role run without its plan slice (here: go-live.yml's vars dropped) fails on the required input."""
    loader, vm, inv = load(REPO / "inventories" / "production", tmp_path)
    call = EntryPoint("go-live.yml", "localhost", "go_live", "main", {})
    problems = check_entry_point(loader, vm, inv, call)
    assert any("go_live_moves" in p and "missing required" in p for p in problems), "\n".join(problems)
