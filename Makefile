# Everything runs from a local virtualenv so a fresh clone needs only python3 (>= 3.11) and the package index.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8765
CONFIG ?= servers.json

.PHONY: install run stdio test lint typecheck unit e2e bench bench-peers peers-env clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/mcp-gateway serve --config $(CONFIG) --host $(HOST) --port $(PORT)

stdio: install
	$(BIN)/mcp-gateway stdio --config $(CONFIG)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

e2e: install
	$(BIN)/pytest tests/e2e

test: lint typecheck
	$(BIN)/pytest

bench: install
	$(BIN)/python benchmarks/load_specs.py
	$(BIN)/python benchmarks/bridge_convert.py
	$(BIN)/python benchmarks/gateway_calls.py --calls 500 --concurrency 1,8
	$(BIN)/python benchmarks/chat_rounds.py --requests 200

# FastMCP only for the side-by-side benchmark, in an env of its own: never a dependency of the gateway.
PEERS_ENV := benchmarks/peers-env
$(PEERS_ENV)/bin/python:
	$(PYTHON) -m venv $(PEERS_ENV)
	$(PEERS_ENV)/bin/python -m pip install --quiet fastmcp

peers-env: $(PEERS_ENV)/bin/python

bench-peers: install peers-env
	$(BIN)/python benchmarks/peers.py --workers 2

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
