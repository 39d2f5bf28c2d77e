"""Runs the real loader and the real dbt project against a throw-away lake, for end-to-end tests."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from unittest import mock

import duckdb

from lakehouse import land as land_csv
from lakehouse import landing

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DBT = BIN / "dbt"
LOADER = ROOT / "scripts" / "land_csv.py"
FIXTURES = ROOT / "tests" / "fixtures"
# Columns that record when a build ran (docs/decisions.md, "Audit columns"): the only columns
# that differ between two builds of the same raw layer.
AUDIT_COLUMNS = ("quarantined_at", "classified_at", "built_at")
# Columns that name the run or the time a file was landed as: they differ between two lakes that
# landed the same files.
LANDING_COLUMNS = ("run_id", "last_run_id", "ingest_date", "landed_at")
# What production builds add to `dbt build` (Makefile DBT_BUILD_FLAGS): the dbt unit tests check
# the logic, not the data, and test_end_to_end.py runs them once.
PRODUCTION_BUILD_FLAGS = ("--exclude-resource-type", "unit_test")
# dbt keeps its parse of the project in <target>/partial_parse.msgpack and reuses it when the
# project files, the profile as rendered, the env vars read by dbt_project.yml, --vars and
# --target are unchanged. Lake.dbt runs dbt inside the lake with DBT_DUCKDB_PATH=warehouse.duckdb,
# so every lake of this test process renders the same profile, and starts from the parse an
# earlier dbt command with the same project, --vars and --target saved (about 2.5 s less each).
# dbt checks that parse itself and parses anew when it does not match: a stale copy costs time,
# never correctness.
PARSE_FILE = "partial_parse.msgpack"
_saved_parses: dict[tuple[str, ...], Path] = {}


@functools.cache
def _parse_store() -> Path:
    """A directory for the saved parses, removed when the test process ends."""
    store = Path(tempfile.mkdtemp(prefix="dbt-parse-"))
    atexit.register(shutil.rmtree, store, True)
    return store


def _parse_key(project: Path, args: tuple[str, ...]) -> tuple[str, ...]:
    """What, besides the files and the profile, decides whether dbt can reuse a parse."""
    key = [str(project)]
    for flag in ("--vars", "--target"):
        key.append(args[args.index(flag) + 1] if flag in args[:-1] else "")
    return tuple(key)


@dataclass
class Lake:
    """A lake root with its own DuckDB warehouse, dbt target and log directories."""

    root: Path
    project: Path = ROOT  # the dbt project (and loader) to use; tests may copy and change it

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LAKE_ROOT": str(self.root),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            # the project's files (its contract) for the package's commands, also in a copy
            "LAKEHOUSE_PROJECT_DIR": str(self.project),
        }

    def land(self, *files: Path) -> list[dict]:
        result = subprocess.run(
            [
                sys.executable,
                str(self.project / LOADER.relative_to(ROOT)),
                "--lake-root",
                str(self.root),
                *map(str, files),
            ],
            capture_output=True,
            text=True,
            env=self.env(),
            check=False,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def dbt_command(self, *args: str) -> list[str]:
        """The dbt command line for this lake (its own target and log directories)."""
        return [
            str(DBT),
            *args,
            "--profiles-dir",
            str(self.project / "profiles"),
            "--project-dir",
            str(self.project),
            "--target-path",
            str(self.root / "target"),
            "--log-path",
            str(self.root / "logs"),
        ]

    def dbt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs dbt inside the lake (see PARSE_FILE): the warehouse is ./warehouse.duckdb there,
        the raw files are still found through the absolute LAKE_ROOT."""
        self.root.mkdir(parents=True, exist_ok=True)
        parse = self.root / "target" / PARSE_FILE
        key = _parse_key(self.project, args)
        if key in _saved_parses:
            parse.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_saved_parses[key], parse)
        result = subprocess.run(
            self.dbt_command(*args),
            capture_output=True,
            text=True,
            env={**self.env(), "DBT_DUCKDB_PATH": "warehouse.duckdb"},
            cwd=self.root,
            check=False,
        )
        if key not in _saved_parses and parse.exists():
            _saved_parses[key] = _parse_store() / f"{len(_saved_parses)}.msgpack"
            shutil.copyfile(parse, _saved_parses[key])
        if check:
            assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        return result

    def build(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`dbt build` as production runs it (PRODUCTION_BUILD_FLAGS), unless the caller chooses
        the resource types itself."""
        skip = () if PRODUCTION_BUILD_FLAGS[0] in args else PRODUCTION_BUILD_FLAGS
        return self.dbt("build", *args, *skip, check=check)

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True) as con:
            return con.sql(sql).fetchall()

    def table(self, name: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
        """All rows of a model, in a stable order, without the named (audit) columns."""
        columns = [
            row[0]
            for row in self.query(f"select column_name from (describe {name})")
            if row[0] not in exclude
        ]
        select = ", ".join(f'"{column}"' for column in columns)
        return self.query(f"select {select} from {name} order by all")

    def land_at(self, moment: datetime, *files: Path) -> None:
        """Lands the files in this process, as if the clock read `moment` (a run's landing
        moment, hence its run_id, decides which month closes it landed after)."""
        with mock.patch.object(landing, "_landing_moment", lambda _latest: moment):
            assert land_csv.main(["--lake-root", str(self.root), *map(str, files)]) == 0

    def balances_as_known_at(self, run_id: str) -> list[tuple]:
        """analyses/month_end_balances_as_known_at.sql for a run, as compiled by dbt and run on
        the warehouse: fct_month_end_balances' columns but last_run_id, sorted."""
        self.dbt(
            "compile",
            "-s",
            "month_end_balances_as_known_at",
            "--vars",
            json.dumps({"as_known_at_run_id": run_id}),
        )
        compiled = next(
            (self.root / "target" / "compiled").rglob("month_end_balances_as_known_at.sql")
        )
        return self.query(f"select * from ({compiled.read_text()}) order by all")
