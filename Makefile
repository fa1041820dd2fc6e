# Everything runs from a local virtualenv so a fresh clone needs only python3 (>= 3.11) and the package index.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8765
CONFIG ?= servers.json

.PHONY: install run stdio test lint typecheck unit e2e bench bench-peers peers-env clean services

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# An editable install writes no bytecode of its own; with PYTHONDONTWRITEBYTECODE set, every start would compile
	# the gateway's modules again (~90 ms of CPU). pip compiles an installed package (the container image) itself.
	$(BIN)/python -m compileall -q mcp_gateway >/dev/null
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

# Real redis-server and haproxy for the replica tests, and wrk for the c=32 table of benchmarks/peers.py: Debian
# packages, installed when missing and possible (root with apt-get, as in CI). Where they cannot be had, those
# tests skip (and the benchmark leaves its wrk table out) and say why.
services:
	@if command -v redis-server >/dev/null && command -v wrk >/dev/null \
	    && { command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ]; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing redis-server, haproxy and wrk (Debian packages) for the replica tests and benchmarks"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    redis-server haproxy wrk >/dev/null; } || echo "could not install them: the tests that need them will skip"; \
	else echo "redis-server/haproxy/wrk missing (not root, or no apt-get): the tests that need them will skip"; fi

test: lint typecheck services
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

bench-peers: install peers-env services
	$(BIN)/python benchmarks/peers.py --workers 2

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
