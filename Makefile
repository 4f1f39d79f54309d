# Escalada — `make run` starts it, `make test` checks everything. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/escalada_check_$(shell echo $$PPID)

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck imports test-sqlite test-postgres bench format clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Escalada needs Python 3.11 or newer ($(PYTHON) is older)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

# Browser assets (tinykeys) from the npm registry, pinned by package-lock.json; served as static files.
# npm ci also installs the devDependencies (axe-core, for the accessibility tests only; settings.py
# serves tinykeys/dist alone, so it is never shipped to a browser): keep it without --omit=dev.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: Escalada's browser assets are installed with npm; install Node.js (which brings npm) first." >&2; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

run: $(VENV)/.installed node_modules/.installed ## start Escalada: web + worker on SQLite, demo data on first start
	$(BIN)/escalada run

lint: $(VENV)/.dev-installed ## ruff lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.dev-installed ## mypy strict
	$(BIN)/mypy src tests

imports: $(VENV)/.dev-installed ## import-linter layering contracts
	$(BIN)/lint-imports

test-sqlite: $(VENV)/.dev-installed node_modules/.installed ## the test suite on SQLite
	scripts/ensure-chromium
	env -u DATABASE_URL $(BIN)/pytest -p no:cacheprovider

test-postgres: $(VENV)/.dev-installed node_modules/.installed ## the test suite on PostgreSQL (throwaway database)
	scripts/ensure-postgres
	scripts/ensure-chromium
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -p no:cacheprovider

test: lint typecheck imports test-sqlite test-postgres ## every check: lint, types, layering, tests on SQLite and PostgreSQL

$(VENV)/.bench-installed: $(VENV)/.dev-installed
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,bench]'
	@touch $@

bench: $(VENV)/.bench-installed node_modules/.installed ## benchmarks (print figures): calendar, clock recompute, outbox, API ingest, timers vs procrastinate, queue page, dashboard and reports
	$(BIN)/python bench/calendar.py
	$(BIN)/python bench/recompute.py
	$(BIN)/python bench/outbox.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/timers.py --tickets 20000 --db sqlite --workers 1
	$(BIN)/python bench/timers.py --tickets 20000 --db postgres --workers 3
	$(BIN)/python bench/ui.py --tickets 1000
	$(BIN)/python bench/dashboard.py --tickets 100000 --db sqlite
	$(BIN)/python bench/dashboard.py --tickets 100000 --db postgres

format: $(VENV)/.dev-installed ## format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean: ## remove the virtualenv and caches (keeps ./data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
