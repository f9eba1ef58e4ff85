# gridmaker: one entry point for people and CI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help run test quick check fmt lint typecheck unit integration e2e clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)  ## set up and run the default session (simulated BTC/USDT, SQLite, no keys)
	$(BIN)/gridmaker run $(ARGS)

test: $(STAMP_DEV)  ## set up and run everything CI runs: format check, lint, types, tests
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

# The integration files that run in seconds; the others (boot and recovery, streams, the
# engine differential, backtest agreement) stay in `make integration` and `make test`.
QUICK_INTEGRATION := test_lookup_grace test_live_session test_clock_sync \
	test_http_sim_bad_requests test_risk_live test_http_sim test_proven_zombies

quick: $(STAMP_DEV)  ## the inner loop, under 2 min: format, lint, types, unit + fast integration
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q -x tests/unit $(QUICK_INTEGRATION:%=tests/integration/%.py)

check: $(STAMP_DEV)  ## format check, lint and types only
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

unit: $(STAMP_DEV)  ## unit tests only
	$(BIN)/pytest tests/unit

integration: $(STAMP_DEV)  ## orchestrator + SimExchange + SQLite
	$(BIN)/pytest tests/integration

e2e: $(STAMP_DEV)  ## the CLI as a subprocess
	$(BIN)/pytest tests/e2e

fmt: $(STAMP_DEV)  ## format and fix what ruff can
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:  ## remove the virtualenv and caches (not your data dirs)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
