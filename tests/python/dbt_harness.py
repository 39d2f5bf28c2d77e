"""Runs the real loader and the real dbt project against a throw-away lake, for end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DBT = BIN / "dbt"
LOADER = ROOT / "scripts" / "land_csv.py"
FIXTURES = ROOT / "tests" / "fixtures"
# Columns that record when a build ran (README, "Audit columns"): the only columns that differ
# between two builds of the same raw layer.
AUDIT_COLUMNS = ("quarantined_at", "classified_at", "built_at")
# Columns that name the run or the time a file was landed as: they differ between two lakes that
# landed the same files.
LANDING_COLUMNS = ("run_id", "last_run_id", "ingest_date", "landed_at", "ingested_at")


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
        command = self.dbt_command(*args)
        result = subprocess.run(
            command, capture_output=True, text=True, env=self.env(), cwd=self.project, check=False
        )
        if check:
            assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        return result

    def build(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`dbt build` as production runs it: without the dbt unit tests, which check the logic,
        not the data (test_end_to_end.py runs them once)."""
        skip = () if "--exclude-resource-type" in args else ("--exclude-resource-type", "unit_test")
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
