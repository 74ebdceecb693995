"""awx/clusterswap.yml, the swap in AWX as code, checked against the playbooks it runs (issue 14):

- the phase job templates together run every play of full-swap.yml, each play in exactly one, in
  full-swap.yml's order; each template's playbook exists;
- the workflow runs them in that order, one after another on success, a person approves go-live and nothing
  reaches go-live any other way; denying it runs rollback;
- each survey variable is an inventory variable that the wiring passes to a role whose argument spec takes
  the survey's type;
- nothing prompts: no vars_prompt or pause prompt in the product, no job asks anything at launch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
AWX = yaml.safe_load((REPO / "awx" / "clusterswap.yml").read_text())[0]
VARS = AWX["vars"]
JOBS = {job["id"]: job for job in VARS["clusterswap_awx_jobs"]}
PHASES = [job for job in VARS["clusterswap_awx_jobs"] if job["playbook"] == "playbooks/full-swap.yml"]
# Tags that select no phase of their own: pre-flight runs in every job; postgres and vpc are sub-tags.
SHARED_TAGS = {"always", "postgres", "vpc"}
# The survey's types and the argument-spec types a value of that type satisfies.
SURVEY_TYPES = {
    "integer": {"int", "raw"},
    "text": {"str", "path", "raw"},
    "multiplechoice": {"str", "bool", "raw"},
}


def plays(playbook: Path) -> list[dict[str, Any]]:
    """The plays a playbook runs, imports followed, in order."""
    found: list[dict[str, Any]] = []
    for play in yaml.safe_load(playbook.read_text()):
        imported = play.get("ansible.builtin.import_playbook")
        if imported:
            found += plays(playbook.parent / imported)
        else:
            found.append({**play, "_file": playbook.name})
    return found


def job_name(job_id: str) -> str:
    """The job template's name as the workflow's nodes give it (the one the job template task makes)."""
    return "{{ clusterswap_awx_prefix }} | " + job_id


def test_the_phase_jobs_run_every_play_of_full_swap_once_in_order() -> None:
    (make,) = [t for t in AWX["tasks"] if "awx.awx.job_template" in t]
    assert make["loop"] == "{{ clusterswap_awx_jobs }}"
    args = make["awx.awx.job_template"]
    assert args["name"] == job_name("{{ item.id }}") and args["playbook"] == "{{ item.playbook }}"
    assert args["job_tags"] == "{{ item.tags | default(omit) }}"
    for job in JOBS.values():
        assert (REPO / job["playbook"]).is_file(), job
    selected: list[str] = []
    for play in plays(REPO / "playbooks" / "full-swap.yml"):
        tags = set(play.get("tags", []))
        if "always" in tags:
            continue  # pre-flight: every job runs it first
        jobs = [job["id"] for job in PHASES if job["tags"] in tags]
        assert len(jobs) == 1, f"{play['_file']}: {play['name']!r} (tags {sorted(tags)}) is run by {jobs}"
        if not selected or selected[-1] != jobs[0]:
            selected.append(jobs[0])
    assert selected == [job["id"] for job in PHASES], "the jobs follow full-swap.yml's order"
    assert all(set(job.get("tags", "").split(",")).isdisjoint(SHARED_TAGS) for job in PHASES)


def test_the_workflow_runs_the_phases_in_order_and_a_person_approves_go_live() -> None:
    nodes = {node["identifier"]: node for node in VARS["clusterswap_awx_workflow_nodes"]}

    def after(identifier: str, outcome: str = "success_nodes") -> list[str]:
        return [n["identifier"] for n in nodes[identifier].get("related", {}).get(outcome, [])]

    for node in nodes.values():
        template = node["unified_job_template"]
        if template["type"] == "job_template":
            assert template["name"] in {job_name(j) for j in JOBS}, template
            assert template["organization"] == "{{ clusterswap_awx_organization_ref }}"
    path, here = [], "prepare"
    while True:
        path.append(here)
        successors = after(here)
        assert len(successors) <= 1, f"{here} starts {successors} at once: the phases run one after another"
        if not successors:
            break
        here = successors[0]
    approval = "approve_go_live"
    assert [p for p in path if p != approval] == [job["id"] for job in PHASES]
    assert path[-2:] == [approval, "go_live"], path
    assert nodes[approval]["unified_job_template"]["type"] == "workflow_approval"
    assert nodes[approval]["unified_job_template"]["timeout"] > 0, (
        "an unanswered approval does not wait forever"
    )
    assert after(approval, "failure_nodes") == ["rollback"]
    leads_to_go_live = [
        i for i in nodes if "go_live" in after(i) + after(i, "failure_nodes") + after(i, "always_nodes")
    ]
    assert leads_to_go_live == [approval]


def test_each_survey_variable_reaches_a_role_input_of_its_type() -> None:
    wiring = "\n".join(
        p.read_text() for p in sorted((REPO / "playbooks" / "group_vars" / "all").glob("*.yml"))
    )
    specs: dict[str, str] = {}
    for spec_file in (REPO / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            for name, option in entry.get("options", {}).items():
                specs[name] = option.get("type", "str")
    inventories = {
        name: "\n".join(
            p.read_text() for p in (REPO / "inventories" / name / "group_vars" / "all").glob("*.yml")
        )
        for name in ("staging", "production")
    }
    for question in VARS["clusterswap_awx_survey"]["spec"]:
        var = question["variable"]
        for name, text in inventories.items():
            assert re.search(rf"^{var}:", text, flags=re.M), f"{var}: not an inventory variable of {name}"
        inputs = re.findall(rf"^(\w+): \"\{{\{{ {var} \}}\}}\"$", wiring, flags=re.M)
        assert inputs, f"{var}: the wiring passes it to no role"
        for role_input in inputs:
            assert specs[role_input] in SURVEY_TYPES[question["type"]], (var, role_input, specs[role_input])
        if question["type"] == "multiplechoice" and any(specs[i] == "bool" for i in inputs):
            assert set(question["choices"]) == {"false", "true"}, question
        assert "default" in question and question["required"], f"{var}: an unattended run needs its default"


def test_nothing_prompts() -> None:
    for path in [
        *(REPO / "playbooks").rglob("*.yml"),
        *(REPO / "roles").rglob("*.yml"),
        REPO / "awx" / "clusterswap.yml",
    ]:
        text = path.read_text()
        assert "vars_prompt" not in text, path
        assert not re.search(r"^\s+(ansible\.builtin\.)?pause:", text, flags=re.M), path
    for task in AWX["tasks"]:
        args = next(v for k, v in task.items() if k.startswith("awx.awx.") or k == "ansible.builtin.assert")
        assert not any(k.startswith("ask_") and v for k, v in args.items()), task["name"]
