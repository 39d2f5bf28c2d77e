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

.PHONY: help install lock demo test lint pytest dbt-test clean

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
