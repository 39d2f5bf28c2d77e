# Two entry points for a fresh machine with python3 and make:
#   make demo   - install, generate sample data, land it, dbt build, dbt docs generate
#   make test   - install, lint (ruff, sqlfluff), pytest, dbt build on fixtures
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAKE_ROOT ?= lake
DBT := $(BIN)/dbt
DBT_FLAGS := --profiles-dir profiles --project-dir .
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help install lock demo test test-slow test-athena bench lint pytest clean

help:
	@echo "make demo   - sample data -> lake -> dbt build + docs on DuckDB ($(LAKE_ROOT)/warehouse.duckdb)"
	@echo "make test   - ruff, sqlfluff, pytest (loader, generator, end-to-end dbt)"
	@echo "make install | lint | pytest | clean | lock"

# Quick when nothing changed: the stamp is newer than the lock.
install: $(STAMP)
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.in
	{ echo "# Lock file: every package pinned. Regenerate with 'make lock' after editing requirements.in."; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements.txt

# ---------------------------------------------------------------------------------------------
# The main job on the embedded DuckDB default, with generated sample data.
SAMPLE_DIR := $(LAKE_ROOT)/samples
SAMPLE_ROWS ?= 20000

demo: install
	mkdir -p $(SAMPLE_DIR)
	$(BIN)/python scripts/generate_transactions.py --rows $(SAMPLE_ROWS) --seed 42 \
	  --start 2024-01-01 --months 3 --error-rate 0.005 \
	  --output $(SAMPLE_DIR)/transactions_2024q1.csv
	$(BIN)/python scripts/generate_transactions.py --rows 2000 --seed 7 \
	  --start 2024-01-01 --months 3 --error-rate 0.005 \
	  --output $(SAMPLE_DIR)/transactions_2024q1_late.csv
	LAKE_ROOT=$(LAKE_ROOT) $(BIN)/python scripts/land_csv.py \
	  $(SAMPLE_DIR)/transactions_2024q1.csv $(SAMPLE_DIR)/transactions_2024q1_late.csv
	LAKE_ROOT=$(LAKE_ROOT) $(DBT) build $(DBT_FLAGS)
	LAKE_ROOT=$(LAKE_ROOT) $(BIN)/python scripts/publish.py --target-path target
	LAKE_ROOT=$(LAKE_ROOT) $(DBT) docs generate $(DBT_FLAGS) --quiet
	LAKE_ROOT=$(LAKE_ROOT) $(BIN)/python scripts/show_results.py

# ---------------------------------------------------------------------------------------------
# Every test: lint (Python and SQL), then pytest (loader, generator, dbt end to end on fixtures,
# which runs every dbt unit test and data test through `dbt build`).
test: install lint pytest

lint: install
	$(BIN)/ruff check scripts tests/python
	$(BIN)/ruff format --check scripts tests/python
	$(BIN)/python scripts/contract.py check-drift
	$(BIN)/python scripts/secret_scan.py
	LAKE_ROOT=$$(mktemp -d) $(BIN)/sqlfluff lint models analyses tests/dbt

pytest: install
	$(BIN)/pytest

# Minutes-long reliability tests (kill tests, property-based batch splits).
test-slow: install
	$(BIN)/pytest -m slow

# Benchmark (issue: scale and speed): ours vs a hand-written DuckDB script, pandas and Spark.
ROWS ?= 1000000
bench: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(BIN)/python scripts/bench.py --rows $(ROWS) --json bench/results_$(ROWS).json

# The Athena target proven offline (also part of `make test` through pytest).
test-athena: install
	$(BIN)/pytest tests/python/test_athena_offline.py tests/python/test_athena_build.py

clean:
	rm -rf target logs $(LAKE_ROOT)
