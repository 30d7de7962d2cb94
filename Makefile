# Two set-up commands: `make run` and `make test`. Everything they need is installed from this repo's files.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: install run test lint typecheck unit integration package-check bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/python -m local run

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy app.py functions local bench tests/unit tests/integration tests/package

unit: install
	$(BIN)/python -m pytest -q tests/unit

integration: install
	$(BIN)/python -m pytest -q tests/integration

package-check: install
	$(BIN)/python -m pytest -q tests/package

test: lint typecheck
	$(BIN)/python -m pytest -q tests/unit tests/integration tests/package

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .local build cdk.out .mypy_cache .ruff_cache .pytest_cache
