# One command sets everything up and does the job:
#   make synth   installs what is missing, then synthesizes the default app offline into cdk.out/
#   make test    installs what is missing, then lints and runs the test suite (all but the e2e group)
#   make e2e     the end-to-end group (the real CDK CLI against a local emulator); `make test e2e` runs both
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= config/default.json

# Offline and quiet: no telemetry, no notices, no Node end-of-life banner.
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := true
# Without credentials the SDK would ask the EC2 instance metadata service (169.254.169.254): never here.
export AWS_EC2_METADATA_DISABLED := true

.PHONY: setup synth test e2e lint typecheck bench dashboard-preview local-demo local-demo-python schema clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup
	npx cdk synth --no-notices --quiet -c config=$(CONFIG)
	@ls -1 cdk.out/*.template.json

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy app.py constructs_lib stacks scripts benchmarks \
	    lambdas/endpoint_weights lambdas/weights_provider lambdas/set_weights lambdas/srm_check lambdas/evaluate \
	    lambdas/rollout lambdas/live_quality

# `make test e2e` runs everything; CI does (.ci/run). `make test` alone is the everyday loop.
test: lint
	$(VENV)/bin/pytest -n auto --dist loadscope -m "not e2e"

# The end-to-end group: the real CDK CLI (bootstrap, deploy, --parameters, destroy) against moto on
# 127.0.0.1, each command 10-20 s, so it runs on its own (one server per module, modules in parallel).
e2e: setup
	$(VENV)/bin/pytest -n auto --dist loadscope -m e2e

# The config's JSON Schema (config/schema.json) and docs/config-reference.md, generated from the loader's
# field tables; a test fails until they are regenerated after a change there (or a boto3 upgrade).
schema: setup
	$(PY) scripts/config_schema.py

dashboard-preview: synth
	$(PY) scripts/dashboard_preview.py --out docs/dashboard-preview

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf cdk.out cdk.*.out .pytest_cache .ruff_cache .mypy_cache

# The lifecycle with the real CDK CLI (npx cdk bootstrap/deploy/destroy) against moto on 127.0.0.1,
# with local-demo-python's invoke, evaluate and live-quality steps between the first deploy and the weights.
local-demo: setup
	$(PY) scripts/local_cli_demo.py

# What no cdk command does (InvokeEndpoint by weight, the evaluation Lambda, live quality, the
# set-weights Lambda invoked by hand), between npx cdk deploys on the same local server.
local-demo-python: setup
	$(PY) scripts/local_demo.py
