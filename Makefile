# Two set-up commands: `make run` and `make test`. Everything they need is installed from this repo's files.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: install run test test-checks test-suites lint typecheck unit integration package-check bench clean

# The first install shows pip's progress (a silent minute looks like a hang); an update after a requirements
# change stays quiet, so `make test` output keeps to the tests.
$(STAMP): requirements.txt requirements-dev.txt
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@if ls $(VENV)/.installed-* >/dev/null 2>&1; then \
	  echo "requirements changed: updating $(VENV)"; quiet=--quiet; \
	else \
	  echo "first run: installing the pinned requirements into $(VENV) (about a minute, once)"; quiet=; \
	fi; \
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || exit 1; \
	$(BIN)/python -m pip install $$quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/python -m local run

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy app.py chalicelib functions local bench tests/unit tests/integration tests/contract tests/package

unit: install
	$(BIN)/python -m pytest -q tests/unit

integration: install
	$(BIN)/python -m pytest -q tests/integration

package-check: install
	$(BIN)/python -m pytest -q tests/package

# `make test`: the checks (lint, types, then the infrastructure's synth tests in their own virtualenv and process,
# since synth imports the app) run beside the test suites. pytest and its in-process moto server hold one core
# (one interpreter), so the checks take the other instead of waiting: the run is the longer of the two. Their
# output interleaves (no -O: pytest's progress shows as it goes, not in one block at the end).
test: install
	$(MAKE) --no-print-directory -j2 test-checks test-suites

test-checks:
	$(MAKE) --no-print-directory -j1 lint typecheck infra-test

test-suites: install
	$(BIN)/python -m pytest -q tests/unit tests/integration tests/contract tests/package

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-iac .local build layers/build cdk.out .mypy_cache .ruff_cache .pytest_cache

# ---- Infrastructure as code (infra/, see infra/README.md) ---------------------------------------------------
# Own virtualenv: aws-sam-translator pins pydantic and chalice pins pip, which must not leak into .venv.
# `make synth STAGE=dev|prod`, `make deploy STAGE=...`, `make infra-test`. Extra CDK context: CDK_CONTEXT="-c k=v".
IAC_VENV := .venv-iac
IAC_BIN := $(IAC_VENV)/bin
IAC_STAMP := $(IAC_VENV)/.installed-$(shell cat requirements-iac.txt | sha256sum | cut -c1-12)
# The CLI must read aws-cdk-lib 2.275's cloud assembly schema 55 (npm "latest" 3.0.0 does not).
CDK_CLI_VERSION := 2.1148.1
CDK_CLI := $(IAC_VENV)/cdk-cli/node_modules/.bin/cdk
CDK_OUT ?= cdk.out

.PHONY: iac-install synth deploy infra-test

$(IAC_STAMP): requirements-iac.txt
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (the Lambda runtime)"'
	test -x $(IAC_BIN)/python || $(PY) -m venv $(IAC_VENV)
	$(IAC_BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-iac.txt
	rm -f $(IAC_VENV)/.installed-* && touch $@

iac-install: $(IAC_STAMP)

synth: $(IAC_STAMP)
	@test -n "$(STAGE)" || { echo "synth stopped: missing parameter 'stage': pass STAGE=<dev|prod>" >&2; exit 2; }
	$(IAC_BIN)/python infra/cdk_app.py -c stage=$(STAGE) $(if $(REGION),-c region=$(REGION)) $(CDK_CONTEXT) --out $(CDK_OUT)

$(CDK_CLI):
	npm install --prefix $(IAC_VENV)/cdk-cli --no-audit --no-fund --silent aws-cdk@$(CDK_CLI_VERSION)

# Needs AWS credentials for the target account (eu-west-3 is fixed by the stack). Not run in CI.
deploy: synth $(CDK_CLI)
	$(CDK_CLI) deploy --app $(CDK_OUT) --require-approval broadening $(DEPLOY_ARGS) MonEspaceSante-$(STAGE)

infra-test: $(IAC_STAMP)
	$(IAC_BIN)/python -m pytest -q -p no:cacheprovider tests/infra
