# The two promises of the README: `make run` and `make test`, on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export ETANCHE_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test lint lock clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installed from the hash-locked files; the project itself without dependencies.
$(VENV)/.main: requirements/main.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/main.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.test: requirements/test.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/test.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.main

run: $(VENV)/.main
	$(BIN)/etanche init
	$(BIN)/etanche demo --if-absent --patients 2000
	$(BIN)/etanche serve --host 127.0.0.1 --port 8000

test: $(VENV)/.test
	bash scripts/test-system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# Ruff, then the layer contracts (.importlinter, docs/architecture.md).
lint: $(VENV)/.test
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports --no-cache

# Regenerate both lock files after changing pyproject.toml.
lock: $(VENV)/.test
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes \
		--quiet -o requirements/main.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 \
		--generate-hashes --quiet -o requirements/test.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --extra bench --python-version 3.11 \
		--generate-hashes --quiet -o requirements/bench.lock

clean-venv:
	rm -rf $(VENV)
