# Meshplane developer commands. Everything the project needs is installed from here:
# uv from PyPI when it is missing, Python packages by uv, Kafka's jars by Maven.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen

# Open Policy Agent, built by the project from the Go module proxy (as Maven brings Kafka) and kept
# in .cache/tools: the access policies in deploy/policies are tested with its own `opa test`.
OPA_VERSION := $(shell cat $(CURDIR)/deploy/opa/VERSION)
OPA := $(CURDIR)/.cache/tools/opa-$(OPA_VERSION)/opa

KAFKA_PORT ?= 9092
SNOWLOCAL_PORT ?= 8765
OPA_PORT ?= 8181
export KAFKA_PORT SNOWLOCAL_PORT OPA_PORT

.PHONY: help sync up down status demo test test-unit test-policies lint bench clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

.venv/.synced: uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml) | $(UV)
	$(UV) sync --frozen --all-packages
	@touch $@

sync: .venv/.synced ## install the workspace's Python packages

$(OPA):
	GOBIN=$(dir $(OPA)) go install github.com/open-policy-agent/opa@$(OPA_VERSION)

test-policies: $(OPA) ## the access policies' own tests (opa test) and their formatting (opa fmt)
	$(OPA) fmt --list --fail deploy/policies
	$(OPA) test deploy/policies

up: sync $(OPA) ## start Kafka (:$KAFKA_PORT), snowlocal (:$SNOWLOCAL_PORT) and OPA (:$OPA_PORT) in the background
	$(RUN) devstack up --kafka-port $(KAFKA_PORT) --snowlocal-port $(SNOWLOCAL_PORT) --opa-port $(OPA_PORT)

down: sync ## stop what make up started
	$(RUN) devstack down

status: sync ## say what of the local stack runs
	$(RUN) devstack status

demo: sync $(OPA) ## the mesh at work: example contracts in, Snowflake objects, audit timeline, masked and clear reads out
	$(RUN) python demo/mesh_demo.py

test: sync test-policies ## run every test: the policies', then pytest (its own broker and snowlocal on free ports)
	$(RUN) pytest

test-unit: sync ## unit tests only (milliseconds, nothing started)
	$(RUN) pytest tests/unit

lint: sync ## ruff, mypy --strict, import-linter
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports

bench: sync $(OPA) ## benchmarks, results in bench/results/
	$(RUN) python bench/snowlocal_bench.py
	$(RUN) python bench/provisioner_bench.py
	$(RUN) python bench/catalog_bench.py
	$(RUN) python bench/sharing_bench.py
	$(RUN) python bench/sharing_flow_bench.py

clean: down ## stop the local stack, then remove caches and its state (not the Maven cache)
	rm -rf .stack .pytest_cache .mypy_cache .ruff_cache
