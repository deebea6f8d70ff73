# flaskops.deploy: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
COLLECTIONS := $(CURDIR)/.cache/collections
S ?= default
# `make test` runs the scenarios in three lanes at once (scripts/molecule-lanes.sh),
# balanced by how long each takes.
# The controller matrix (scripts/ansible-versions.sh): the oldest supported
# ansible-core, the tool chain's, the newest, each from a virtualenv of its own.
ANSIBLE_CORE_VERSIONS := 2.16.19 2.19.14 2.21.5
# The tool chain's own ansible-core (requirements-dev.txt) runs every scenario;
# its entry in the matrix is `default` with the versions scenario's tests and no
# warning allowed (quiet:default), so the lanes run the matrix for the others.
TOOLCHAIN_ANSIBLE_CORE := $(shell sed -n 's/^ansible-core==//p' requirements-dev.txt)
LANE_MATRIX := $(filter-out $(TOOLCHAIN_ANSIBLE_CORE),$(ANSIBLE_CORE_VERSIONS))
# Three lanes, balanced by a clean-clone run's times (minutes, 99bac60): cluster
# 15, apps 6.5, default 11.5; releases 23, ssh 5, tls 6; lint 1.5, unit tests
# 1 and sanity 7.5 (needing no container, while the others wait on theirs),
# the matrix 8.5, then platforms 8.5 and processes 6.5 (36 in all, under the 45
# the README promises); faults (5 in the clean-clone run of b76e061, 7 now with the dpkg and disk tests) joins the first lane. (sanity makes the newest ansible-core's virtualenv the
# matrix uses: the same lane, before it.)
LANE_A := cluster apps quiet:default faults
LANE_B := releases ssh tls
LANE_C := make:lint make:unit make:sanity $(addprefix ansible-core:,$(LANE_MATRIX)) platforms processes
SCENARIOS := cluster apps default releases platforms tls ssh versions processes faults

# The collection is found by FQCN as ansible_collections/flaskops/deploy under
# COLLECTIONS (a link to this checkout); the pinned `ansible` package supplies
# community.docker and friends.
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR := 0
export PATH := $(BIN):$(PATH)
export PY_COLORS := 0

.PHONY: help venv collection engine images lint unit sanity docs molecule test versions bench bench-apps demo demo-down clean

help:
	@echo "make demo        deploy the sample app into the container flaskops-demo, on http://localhost:8080/"
	@echo "make demo-down   remove the demo container"
	@echo "make test        everything: lint, unit tests, every Molecule scenario"
	@echo "make molecule S=<scenario>   one Molecule scenario ($(SCENARIOS))"
	@echo "make versions    the default host converged with each tested ansible-core ($(ANSIBLE_CORE_VERSIONS))"
	@echo "make bench       benchmarks (about 10 min): writes benchmarks/results/"
	@echo "make bench-apps  converge time for 1, 5 and 10 apps on one host (about 7 min)"
	@echo "make docs        regenerate docs/roles/ from the roles' argument specs"
	@echo "make lint | unit | sanity   (sanity: ansible-test sanity on the built collection)"

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

collection:
	@mkdir -p $(COLLECTIONS)/ansible_collections/flaskops
	@ln -sfn ../../../.. $(COLLECTIONS)/ansible_collections/flaskops/deploy

engine:
	scripts/docker-engine.sh

images: engine
	scripts/images.sh

lint: venv collection
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production

unit: venv collection
	$(BIN)/pytest -q tests/unit

# ansible-test sanity on the built tarball, installed into a layout of its own:
# with the tool chain's ansible-core, and with the newest tested one (its rules
# change between versions).
sanity: venv
	scripts/sanity.sh
	scripts/sanity.sh "$$(scripts/ansible-versions.sh --venv $(lastword $(ANSIBLE_CORE_VERSIONS)))"

# docs/roles/ from the argument specs (a unit test fails when they are stale).
docs: venv
	$(BIN)/python scripts/role-docs.py

molecule: venv collection images
	$(BIN)/molecule test -s $(S)

test: venv collection images
	scripts/molecule-lanes.sh "$(LANE_A)" "$(LANE_B)" "$(LANE_C)"

# The controller matrix alone.
versions: venv collection images
	scripts/ansible-versions.sh $(ANSIBLE_CORE_VERSIONS)

$(VENV)/.bench: $(VENV)/.installed benchmarks/requirements.txt
	$(BIN)/pip install --quiet -r benchmarks/requirements.txt
	touch $@

bench: $(VENV)/.bench collection engine
	scripts/images.sh bookworm
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

bench-apps: venv collection engine
	scripts/images.sh bookworm
	$(BIN)/python benchmarks/converge_apps.py $(BENCH_ARGS)

demo: venv collection engine
	scripts/images.sh bookworm
	scripts/demo.sh up

demo-down:
	scripts/demo.sh down

clean: demo-down
	rm -rf .cache $(VENV)
