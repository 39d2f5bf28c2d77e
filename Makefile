# Two entry points for a fresh machine with python3 and make (`make help` lists every target):
#   make demo   - install, generate sample data, land it, dbt build, publish
#   make land FILES="a.csv b.csv", make build, make report - the same steps on your own files
#   make docs   - the static docs site and the run report in site/ (runs demo if needed)
#   make test   - install, lint (ruff, sqlfluff, secrets, workflows, dbt conventions), pytest,
#                 dbt build on fixtures
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
# Production-style builds (demo, prod, bench) skip dbt unit tests: they check the logic, not the
# data, and `make test` runs them on every change.
DBT_BUILD_EXTRA := --exclude-resource-type unit_test
DBT_BUILD_FLAGS := $(DBT_FLAGS) $(DBT_BUILD_EXTRA)
# One build at a time per warehouse: a second one waits WAREHOUSE_WAIT seconds, then refuses
# with one line naming the warehouse and the running build (exit 75). See src/lakehouse/lock.py.
# The project's command is $(LAKEHOUSE) (src/lakehouse, installed by make install): `lakehouse
# build` is dbt build under that lock; LOCKED runs any command under it.
WAREHOUSE_WAIT ?= 0
LAKEHOUSE := $(BIN)/lakehouse
LOCK_FLAGS := --lake-root $(LAKE_ROOT) --wait $(WAREHOUSE_WAIT)
LOCKED := $(LAKEHOUSE) lock $(LOCK_FLAGS) --
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help install lock demo land build verify report docs browser trino test test-slow test-athena \
  bench bench-athena lint pre-commit pytest lint-secrets lint-workflows lint-dbt \
  clean clean-warehouse prod local-prod-up local-prod-down parity

# `make help` lists the targets with their `## ` comments, in this file's order; every target of
# .PHONY has one (tests/python/test_make_help.py).
help: ## this list
	@echo "Usage: make TARGET [VAR=value ...]   (the lake: LAKE_ROOT=$(LAKE_ROOT))"
	@awk -F ':[^#]*## ' '/^[a-zA-Z_-]+:[^=]*## / { printf "  %-16s %s\n", $$1, $$2 }' \
	  $(firstword $(MAKEFILE_LIST))

# Quick when nothing changed: the stamp is newer than the lock. The lock is installed with uv
# (its pinned version, from the lock): about 14 s on a fresh venv where pip takes about 48 s.
# uv reads PyPI and not pip's configuration: when it cannot install the lock, pip does.
UV_PIN := $(shell grep -m1 '^uv==' requirements.txt)
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# Then the project's package (src/lakehouse, the `lakehouse` command) in editable mode: no
# dependencies of its own beyond the lock, and edits to src/ take effect without a reinstall.
install: $(STAMP) ## create .venv with the pinned tools and the lakehouse command (quick when done)
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	{ $(PIP_INSTALL) "$(UV_PIN)" && \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements.txt && \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .; } \
	|| { echo "install: uv could not install the lock, using pip"; \
	  $(PIP_INSTALL) -r requirements.txt && $(PIP_INSTALL) --no-deps -e .; }
	touch $@

lock: ## regenerate requirements.txt (the pinned lock) from requirements.in
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.in
	{ echo "# Lock file: every package pinned. Regenerate with 'make lock' after editing requirements.in."; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements.txt

# ---------------------------------------------------------------------------------------------
# The main job on the embedded DuckDB default, with generated sample data.
SAMPLE_DIR := $(LAKE_ROOT)/samples
SAMPLE_ROWS ?= 20000

demo: install ## sample data -> lake -> dbt build on DuckDB -> publish -> show the results
	mkdir -p $(SAMPLE_DIR)
	$(LAKEHOUSE) generate --rows $(SAMPLE_ROWS) --seed 42 \
	  --start 2024-01-01 --months 3 --error-rate 0.005 \
	  --output $(SAMPLE_DIR)/transactions_2024q1.csv
	$(LAKEHOUSE) generate --rows 2000 --seed 7 \
	  --start 2024-01-01 --months 3 --error-rate 0.005 \
	  --output $(SAMPLE_DIR)/transactions_2024q1_late.csv
	$(LAKEHOUSE) land --lake-root $(LAKE_ROOT) \
	  $(SAMPLE_DIR)/transactions_2024q1.csv $(SAMPLE_DIR)/transactions_2024q1_late.csv
	$(BUILD_AND_PUBLISH)
	$(LAKEHOUSE) show --lake-root $(LAKE_ROOT)

# Build and publish under one hold of the lock (the build inside sees it held): production flags
# (no dbt unit tests); publish refuses unless every model and error-severity test passed.
BUILD_AND_PUBLISH = $(LOCKED) $(SHELL) -euc '$(LAKEHOUSE) build $(DBT_BUILD_EXTRA) && \
	  $(LAKEHOUSE) publish --target-path target'

# Your own files, step by step: land them, build (and publish), then the report.
land: install ## land FILES="a.csv b.csv" into the lake (LAKE_ROOT), one run per file
	@test -n "$(strip $(FILES))" || { echo 'land: no files: make land FILES="a.csv b.csv"'; exit 2; }
	$(LAKEHOUSE) land --lake-root $(LAKE_ROOT) $(FILES)

build: install ## dbt build on DuckDB under the warehouse lock, then publish if every test passed
	$(BUILD_AND_PUBLISH)

# The chain of runs (src/lakehouse/verify.py): every chained _SUCCESS marker, the raw file it
# vouches for and the run's rows in the published marts, recomputed; exit 1 names the first run
# that no longer matches. Production: lakehouse verify --s3-uri "$$LAKE_S3_URI".
verify: install ## check the chain of runs: markers, raw files, published marts (exit 1: tampered)
	$(LAKEHOUSE) verify --lake-root $(LAKE_ROOT) --wait $(WAREHOUSE_WAIT)

report: install ## the run report site/report.html from the published marts (docs page: make docs)
	$(LAKEHOUSE) report --lake-root $(LAKE_ROOT) --no-docs --site $(SITE_DIR)

# ---------------------------------------------------------------------------------------------
# The stakeholder site, from the warehouse (built by `make demo` when it does not exist yet):
# dbt's static docs page (site/index.html) and the run report with charts (site/report.html).
WAREHOUSE := $(LAKE_ROOT)/warehouse.duckdb
TARGET_PATH ?= target
SITE_DIR ?= site

docs: install $(WAREHOUSE) ## static docs site + run report in site/ (runs make demo if needed)
	$(LOCKED) $(DBT) docs generate --static $(DBT_FLAGS) --target-path $(TARGET_PATH) --quiet
	$(LAKEHOUSE) report --lake-root $(LAKE_ROOT) \
	  --static-docs $(TARGET_PATH)/static_index.html --site $(SITE_DIR)

$(WAREHOUSE):
	$(MAKE) --no-print-directory demo LAKE_ROOT=$(LAKE_ROOT)

# ---------------------------------------------------------------------------------------------
# Every test: lint (Python and SQL), then pytest (loader, generator, dbt end to end on fixtures,
# which runs the dbt unit tests once and every data test through `dbt build`).
test: install browser trino lint pytest ## lint, then every pytest test (loader, dbt end to end, Athena on Trino)

# Trino (Athena engine v3's engine) for the Athena target's tests: trino-server-core and the Hive
# and Iceberg plugins from Maven Central, unpacked once into a cache outside the work tree (a
# second `make trino` does nothing). It runs on Java 24+ (TRINO_JAVA_HOME; the first JDK 25 under
# /usr/lib/jvm by default). The test harness starts it (tests/python/trino_server.py).
TRINO_VERSION := 476
TRINO_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/transaction-lakehouse
TRINO_HOME := $(TRINO_CACHE)/trino-server-$(TRINO_VERSION)
MVN_COPY := mvn --batch-mode --quiet dependency:copy -Dartifact=io.trino
export TRINO_HOME
trino: $(TRINO_HOME)/.installed ## install Trino (the Athena tests' engine) from Maven Central, cached
	@echo "trino: Trino $(TRINO_VERSION) in $(TRINO_HOME)"
$(TRINO_HOME)/.installed:
	@command -v mvn >/dev/null || { echo "trino: Maven (mvn) is needed to install Trino"; exit 1; }
	@echo "trino: installing Trino $(TRINO_VERSION) from Maven Central into $(TRINO_HOME)"
	rm -rf $(TRINO_HOME).partial && mkdir -p $(TRINO_HOME).partial/plugin
	for artifact in trino-server-core:$(TRINO_VERSION):tar.gz trino-hive:$(TRINO_VERSION):zip \
	    trino-iceberg:$(TRINO_VERSION):zip; do \
	  $(MVN_COPY):$$artifact -DoutputDirectory=$(TRINO_HOME).partial/downloads || exit 1; done
	cd $(TRINO_HOME).partial && \
	  tar -xzf downloads/trino-server-core-$(TRINO_VERSION).tar.gz --strip-components=1 && \
	  for plugin in hive iceberg; do \
	    unzip -q downloads/trino-$$plugin-$(TRINO_VERSION).zip -d plugin || exit 1; done && \
	  rm -rf downloads
	touch $(TRINO_HOME).partial/.installed
	rm -rf $(TRINO_HOME) && mv $(TRINO_HOME).partial $(TRINO_HOME)

# Headless Chromium for the docs-site test (Debian's package, about 17 s the first time).
# Idempotent: installs only when $(CHROMIUM) is missing, only with apt-get as root (or
# passwordless sudo). Otherwise, or when the install fails, it says why and goes on: the test
# then skips naming the reason (CI sets REQUIRE_BROWSER=1 to make that a failure).
CHROMIUM ?= /usr/bin/chromium
browser: ## install headless Chromium for the docs-site test (when root; else it skips)
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif ! command -v apt-get >/dev/null; then echo "browser: no apt-get: docs-site test will skip"; \
	elif [ "$$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then \
	  echo "browser: not root, no passwordless sudo: docs-site test will skip"; \
	else SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	  { $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	      chromium; } || echo "browser: installing chromium failed: docs-site test will skip"; \
	fi

PY_SOURCES := src scripts lint tests/python
lint: install ## ruff, sqlfluff, secrets, workflows, dbt conventions, contract drift
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/python lint/check_no_sys_path.py
	$(LAKEHOUSE) contract check-drift
	$(MAKE) --no-print-directory lint-secrets lint-workflows lint-dbt
	LAKE_ROOT=$$(mktemp -d) $(BIN)/sqlfluff lint models analyses tests/dbt

# The parts of `make lint` below need `make install` first (lint runs it).
# Secrets: detect-secrets on every file git tracks, offline (--no-verify: no key is tried against
# its service). .secrets.baseline lists the accepted findings (fake stand-in credentials of the
# tests; audited, is_secret false). The hook runs on a copy of it: when only line numbers moved it
# rewrites its baseline and exits 3, which is a pass here, and the checked-in file stays as is.
# A false positive on a new line: add `# pragma: allowlist secret` to it.
# The git hooks of .pre-commit-config.yaml on every tracked file (CI runs this too).
pre-commit: install ## the git hooks (whitespace, EOF, YAML, ruff, sqlfluff) on every file
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

lint-secrets: ## detect-secrets on every tracked file, offline
	@baseline=$$(mktemp) && cp .secrets.baseline $$baseline && mapfile -d '' files < <(git ls-files -z) && \
	rc=0 && $(BIN)/detect-secrets-hook --no-verify --baseline $$baseline \
	  --exclude-files '^\.secrets\.baseline$$' "$${files[@]}" || rc=$$?; \
	rm -f $$baseline; case $$rc in 0|3) echo "lint-secrets: no new secrets";; \
	  1) echo "lint-secrets: secrets found (above)"; exit 1;; \
	  *) exit $$rc;; esac

# Workflows: GitHub's schema (check-jsonschema's bundled copy, no download), zizmor's security
# audit offline (unpinned actions, template injection, broad permissions, persisted
# credentials), then lint/check_workflows.py for what neither checks (see its docstring).
WORKFLOWS ?= $(sort $(wildcard .github/workflows/*.yml))
lint-workflows: ## check .github/workflows (schema, zizmor, lint/check_workflows.py)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/zizmor --offline --quiet $(WORKFLOWS)
	$(BIN)/python lint/check_workflows.py $(WORKFLOWS)

# dbt conventions (lint/): dbt-bouncer (structure-guide layering and naming, properties files,
# documentation, primary keys, contracts) and dbt-score (every model, seed and macro scores 10),
# both on the manifest of a `dbt parse` against a throw-away lake root. Accepted exceptions are
# listed in lint/dbt-bouncer.yml and lint/pyproject.toml with their reasons.
lint-dbt: ## dbt-bouncer and dbt-score on the project's manifest
	LAKE_ROOT=$$(mktemp -d) $(DBT) parse $(DBT_FLAGS) --target-path target/lint --quiet
	COLUMNS=160 $(BIN)/dbt-bouncer run --config-file lint/dbt-bouncer.yml
	cd lint && $(abspath $(BIN))/dbt-score lint --manifest ../target/lint/manifest.json

PYTEST_ARGS ?=
# -n auto: one worker per core (pytest-xdist); every test uses its own temporary lake.
pytest: install ## pytest on every core (PYTEST_ARGS=... to narrow it)
	$(BIN)/pytest -n auto --dist loadgroup $(PYTEST_ARGS)

# Minutes-long reliability tests (kill tests, property-based batch splits).
test-slow: install ## the minutes-long reliability tests (kill tests, property-based)
	$(BIN)/pytest -n auto -m slow

# Benchmark (issue: scale and speed): ours vs a hand-written DuckDB script, pandas and Spark.
ROWS ?= 1000000
bench: install ## benchmark ROWS=N rows against a DuckDB script, pandas and Spark
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(BIN)/python scripts/bench.py --rows $(ROWS) --json bench/results_$(ROWS).json

# Bytes the Athena target reads per model (Athena bills bytes scanned), full and +1 % builds, on
# the local production engine (Trino); figures in docs/benchmarks.md.
bench-athena: install trino ## bytes the Athena target reads per model, ROWS=N, on Trino
	PYTHONPATH=tests/python $(BIN)/python tests/python/bench_athena_bytes.py --rows $(ROWS) \
	  --json bench/athena_bytes_$(ROWS).json

# The Athena target on Trino and offline (also part of `make test` through pytest).
test-athena: install trino ## the Athena target's tests only (on Trino)
	$(BIN)/pytest tests/python/test_athena_offline.py tests/python/test_athena_build.py \
		tests/python/test_regex_parity.py tests/python/test_trino_server.py \
		tests/python/test_parity.py tests/python/test_local_prod.py

# ---------------------------------------------------------------------------------------------
# Production on AWS (settings from the environment, listed in the README; credentials from the
# AWS chain). The preflight refuses, doing nothing, when a setting is missing. A file that fails
# to land does not stop the build of the others; make prod still exits non-zero for it.
INBOX ?=
FILES ?=
PROD_FILES = $(if $(strip $(FILES)),$(FILES),$(sort $(wildcard $(INBOX)/*.csv)))
SSE_ARGS = --sse $(LAKE_SSE) $(if $(LAKE_KMS_KEY_ID),--kms-key-id $(LAKE_KMS_KEY_ID))
# The raw tables' location and Glue database, derived so they cannot disagree with the loader:
# raw/transactions/ under the lake; the database is the landing source's schema
# (models/staging/landing/_landing__sources.yml: <target schema>_raw).
prod: export RAW_S3_URI = $(patsubst %/,%,$(LAKE_S3_URI))/raw/transactions/
prod: export RAW_GLUE_DATABASE = $(ATHENA_SCHEMA)_raw
prod: export DBT_TARGET = athena
prod: export LOG_FORMAT = json
# The writes' encryption: by default what infra/iam/bucket-policy.json demands (SSE-KMS under the
# lake key, LAKE_KMS_KEY_ID = its ARN; the preflight refuses without it). A sandbox bucket
# without that policy may set LAKE_SSE=AES256.
prod: export LAKE_SSE ?= aws:kms

prod: ## land FILES="..." or INBOX=DIR to S3, dbt build on Athena, publish (settings: README)
	FILES="$(FILES)" INBOX="$(INBOX)" $(PYTHON) src/lakehouse/preflight.py
	$(MAKE) --no-print-directory install
	$(DBT) run-operation create_raw_relations $(DBT_FLAGS) --target athena
	rc=0; \
	if [ -n "$(strip $(PROD_FILES))" ]; then \
	  $(LAKEHOUSE) land --s3-uri "$(LAKE_S3_URI)" \
	    --glue-database "$$RAW_GLUE_DATABASE" $(SSE_ARGS) $(PROD_FILES) || rc=$$?; \
	else echo "make prod: nothing to land"; fi; \
	if [ $$rc -ge 2 ]; then exit $$rc; fi; \
	$(LAKEHOUSE) build $(DBT_BUILD_EXTRA) --target athena; \
	$(LAKEHOUSE) publish --s3-uri "$(LAKE_S3_URI)" --target-path target $(SSE_ARGS); \
	exit $$rc

# Build artefacts only. The lake is never removed by a target: its raw/ files are the record (no
# target or script deletes them), and the warehouse has its own target below.
clean: ## delete build artefacts only: target logs site test-reports (never the lake)
	rm -rf target logs $(SITE_DIR) test-reports

# The DuckDB warehouse (and its write-ahead log and spill directory), nothing else: the next build
# rebuilds every table from raw/. Taken under the warehouse lock, so a running build is never
# pulled from under its feet (it refuses with one line instead, exit 75).
clean-warehouse: ## delete the DuckDB warehouse (raw/ is kept: the next build rebuilds from it)
	@test -n "$(strip $(LAKE_ROOT))" || { echo "clean-warehouse: LAKE_ROOT is empty"; exit 2; }
	@test -x $(BIN)/python || { echo "clean-warehouse: run make install first"; exit 2; }
	@echo "clean-warehouse: removing $(WAREHOUSE) $(WAREHOUSE).wal $(WAREHOUSE).tmp (raw/ is kept)"
	@$(LOCKED) rm -rf -- $(WAREHOUSE) $(WAREHOUSE).wal $(WAREHOUSE).tmp

# ---------------------------------------------------------------------------------------------
# Production, locally: the Athena stand-in (moto for S3, Glue and STS; Trino for the queries) in a
# background process (tests/python/local_prod.py, state in .local-prod/). local-prod-up prints
# the settings as export lines on stdout, so `eval "$$(make local-prod-up)"` (or `source
# .local-prod/env`) points the shell at it and `make prod FILES=...` runs unchanged against it.
# install and trino run first, their output on stderr so that stdout holds only the settings.
LOCAL_PROD := PYTHONPATH=tests/python $(BIN)/python -m local_prod
local-prod-up: ## start the local production stack (Trino + AWS stand-ins); prints the env to export
	@$(MAKE) --no-print-directory --silent install trino >&2
	@$(LOCAL_PROD) up

local-prod-down: ## stop it
	@test ! -x $(BIN)/python || $(LOCAL_PROD) down

# FILES landed into a fresh local lake (DuckDB) and a fresh local Athena, both built as
# production builds; exit 0 when every mart and the raw lines agree row for row, else a short
# summary per table (tests/python/parity.py exits 1; make reports any failure as 2).
parity: install trino ## build FILES="a.csv b.csv" on DuckDB and the local Athena, compare the marts
	@PYTHONPATH=tests/python $(BIN)/python tests/python/parity.py $(FILES)
