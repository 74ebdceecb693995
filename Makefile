# clusterswap: the two commands are `make swap` (rehearse the swap on the lab) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
SCENARIO ?= default
# The lab's latency profile scale: 0.05 makes a 60 s EC2 stop take 3 s, keeping real proportions.
LATENCY ?= 0.05
# pytest workers for `make test`: the lab's tests run in order on one (tests/conftest.py), the rest share the others.
TEST_WORKERS ?= 2
PLAYBOOK ?= playbooks/full-swap.yml
# Another inventory to run the swap with on the lab (e.g. inventories/staging; empty: the lab's own).
INVENTORY ?=
export PATH := $(abspath $(VENV))/bin:$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)

.PHONY: help setup host-deps venv image lab-up lab-down lab-status lab-reset lab-seed swap test faults long bench parity lint unit integration molecule clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: host-deps venv image ## install everything the lab and the tests need (idempotent)

host-deps: ## apt packages the lab needs (podman, runc, mmdebstrap, ...), as root
	@bash lab/setup-host.sh

$(VENV)/.stamp: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.stamp ## the Python virtualenv with pinned requirements

image: host-deps ## build the lab's Debian host image from the machine's apt sources
	@bash lab/image/build.sh

lab-up: setup ## bring the lab up (simulated AWS + container hosts), seeded with SCENARIO
	$(PY) -m lab.labctl up --scenario $(SCENARIO) --latency-scale $(LATENCY)

lab-seed: setup ## reseed the lab with SCENARIO (a fresh rehearsal of that scenario)
	$(PY) -m lab.labctl seed --scenario $(SCENARIO) --latency-scale $(LATENCY)

lab-status: venv ## what the lab runs and what the simulated AWS holds
	$(PY) -m lab.labctl status

lab-down: venv ## stop the lab and remove everything it made
	$(PY) -m lab.labctl down

lab-reset: venv ## down, then up with SCENARIO: a fresh rehearsal
	$(PY) -m lab.labctl down
	$(PY) -m lab.labctl up --scenario $(SCENARIO) --latency-scale $(LATENCY)

swap: lab-up ## rehearse the swap on the lab: full-swap.yml on SCENARIO (INVENTORY=inventories/staging: with staging's), then the timeline
	$(PY) -m lab.labctl swap --scenario $(SCENARIO) --playbook $(PLAYBOOK) --latency-scale $(LATENCY) \
		$(if $(INVENTORY),--inventory $(INVENTORY))

lint: venv ## ruff, yamllint, ansible-lint, ansible-doc on every module
	ruff check .
	ruff format --check .
	yamllint -s .
	ANSIBLE_INVENTORY=inventories/lab/controller.yml ansible-lint  # syntax checks need no lab running
	$(PY) tests/render_docs.py  # every module, filter and callback renders with ansible-doc

unit: venv ## unit tests (moto in-process, no lab needed; the matrix's slice: make faults for all of it)
	$(PY) -m pytest -m "not faults" tests/unit

test: setup ## every linter and every test but the long rehearsals, bringing up what they need
	$(MAKE) lint
	$(PY) -m pytest -m "not long and not faults" -n $(TEST_WORKERS) --durations=40 tests

faults: setup ## the whole bad-input and fault matrix and rollback from every phase (tests/unit/faults, tests/integration/faults: the table in reports/fault-matrix.md; the lab's own faults in tests/lab/test_lab_faults.py and rollback after the storage moves on its hosts; make test runs a representative slice)
	$(PY) -m pytest -n $(TEST_WORKERS) -v tests/unit/faults tests/integration/faults tests/integration/runbook/test_rollback_phases.py \
		tests/lab/test_lab_faults.py tests/lab/test_storage_swap.py::test_rollback_after_the_moves_puts_every_volume_and_postgres_back

long: setup ## the long rehearsals (marked long): the vpc-day swap, staging on the lab, the incident on 58 hosts, molecule storage
	$(PY) -m pytest -m long tests

parity: venv ## rehearsal-parity.yml on two simulated accounts: REHEARSAL=default against PRODUCTION=vpc-day
	$(PY) -m lab.parity --rehearsal $(or $(REHEARSAL),default) --production $(or $(PRODUCTION),vpc-day)

bench: setup ## the normal update and the VPC day on the lab at AWS's durations (window, critical path, downtime, calls), then the EIP phases at 24/200/1,000 EIPs against the rate-limit floor (~45 min; BENCH_ARGS="--scenarios default --eips vpc:24" for a part)
	$(PY) -m lab.bench $(BENCH_ARGS)

clean: lab-down ## remove the lab and the venv
	rm -rf $(VENV) .cache
