# zns-relay: targets a newcomer can guess. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= $(shell scripts/find-python.sh)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
AUDIT_VENV := .venv-audit
BIN := $(VENV)/bin
export AWS_DEFAULT_REGION ?= ap-southeast-1

.PHONY: runtime-python dev demo soak test unit integration infra-tests e2e lint docs audit lock format schema build deploy bench pr clean

dev: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed $(AUDIT_VENV)/.installed

# uv installs the pinned requirements in seconds where pip takes a minute.
UV_VERSION := 0.13.9

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt
	touch $@

# aws-sam-cli pins boto3 exactly, so it lives in an environment of its own.
$(SAM_VENV)/.installed: requirements-sam.txt $(VENV)/.installed
	$(PYTHON) -m venv $(SAM_VENV)
	$(BIN)/uv pip install --quiet --python $(SAM_VENV)/bin/python -r requirements-sam.txt
	touch $@

# checkov pins its own boto3 and packaging, which neither environment above can take.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt $(VENV)/.installed
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(BIN)/uv pip install --quiet --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.txt
	touch $@

# pip-audit, which audits the layer's lock, brings dependencies of its own: kept apart from the others.
$(AUDIT_VENV)/.installed: requirements-audit.txt $(VENV)/.installed
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(BIN)/uv pip install --quiet --python $(AUDIT_VENV)/bin/python -r requirements-audit.txt
	touch $@

# The tests find sam and checkov on PATH, and sam build the template's Python.
SCANNERS_PATH := $(CURDIR)/$(SAM_VENV)/bin:$(CURDIR)/$(CHECKOV_VENV)/bin:$(dir $(PYTHON))

demo: $(VENV)/.installed
	$(BIN)/python -m local demo

soak: $(VENV)/.installed
	$(BIN)/python -m local soak

test: dev lint audit
	PATH="$(SCANNERS_PATH):$$PATH" $(BIN)/pytest -n 2 --dist loadfile

unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit

integration: $(VENV)/.installed
	$(BIN)/pytest tests/integration

infra-tests: dev
	PATH="$(SCANNERS_PATH):$$PATH" $(BIN)/pytest tests/infra

e2e: $(VENV)/.installed
	$(BIN)/pytest tests/e2e

# ruff (its rules include the complexity gate, C901), the format, mypy, no module over 400 lines, and the
# docs site built strictly (mkdocs.yml: a broken link or anchor fails) into an ignored folder.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/module_sizes.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir .site

docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# The layer's locked dependencies against PyPI's vulnerability reports: a known vulnerability fails,
# a registry that cannot be reached warns (scripts/audit_layer.py).
audit: $(AUDIT_VENV)/.installed
	$(AUDIT_VENV)/bin/python scripts/audit_layer.py

# Every dependency of the layer, pinned with its hashes for the layer's target (Python 3.13 on Lambda's
# arm64): run after a change to layers/common/requirements.txt; the layer is built from the lock.
lock: $(VENV)/.installed
	cd layers/common && $(CURDIR)/$(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.13 \
		--python-platform aarch64-manylinux2014 --custom-compile-command "make lock" \
		requirements.txt --output-file requirements.lock

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

schema: $(VENV)/.installed
	$(BIN)/python -m zns_relay_client.schema schema

# SAM alone: checkov and pip-audit are the tests' and lint's (make dev installs every tool).
# The functions' runtime, Python 3.13, on PATH: another version gets one line saying so, before anything
# is installed, not SAM's error after.
build: runtime-python $(VENV)/.installed $(SAM_VENV)/.installed
	@runtime=$$(scripts/find-python.sh 3.13) && PATH="$$(dirname "$$runtime"):$$PATH" $(SAM_VENV)/bin/sam build

runtime-python:
	@scripts/find-python.sh 3.13 >/dev/null

deploy: build
	$(SAM_VENV)/bin/sam deploy

bench: $(VENV)/.installed
	$(BIN)/python -m bench

pr: format lint test

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(AUDIT_VENV) .aws-sam .mypy_cache .ruff_cache .pytest_cache .site
