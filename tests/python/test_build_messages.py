"""What a bare `dbt build` says when it cannot do anything useful: on a lake where nothing has
been landed (a warning naming the raw path and how to land, exit 0), and on a warehouse that
another build is using (one line naming the warehouse and that build, non-zero exit, no
traceback: lakehouse.warehouse_guard, the DuckDB profile's plugin)."""

from __future__ import annotations

import os
import subprocess

import duckdb
from dbt_harness import FIXTURES, Lake
from test_concurrency import holding_the_lock

NOTHING_LANDED = "nothing has been landed in "


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_build_on_an_empty_lake_says_nothing_was_landed(lake: Lake) -> None:
    lake.root.mkdir(parents=True)

    result = lake.build()

    assert result.returncode == 0  # not a failure: a fresh lake before its first delivery
    [line] = lines_with(result.stdout, NOTHING_LANDED)
    assert f"{NOTHING_LANDED}{lake.root}/raw/transactions: " in line
    assert f"lakehouse land --lake-root {lake.root} FILE.csv" in line

    lake.land(FIXTURES / "batches" / "batch_1.csv")
    assert lines_with(lake.build().stdout, NOTHING_LANDED) == []


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], lake: Lake) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Traceback" not in output and "Could not set lock" not in output, output[-3000:]
    [line] = lines_with(output, " is in use: ")
    assert line.startswith(f"warehouse {lake.root / 'warehouse.duckdb'} is in use: ")
    assert line.endswith(
        "not started: try again when it has finished, or run builds through"
        " lakehouse build --wait SECONDS"
    )
    return line


def test_bare_build_on_a_warehouse_open_elsewhere_is_one_line(lake: Lake) -> None:
    lake.land(FIXTURES / "batches" / "batch_1.csv")
    with duckdb.connect(str(lake.root / "warehouse.duckdb")):  # a notebook, another dbt
        result = lake.build(check=False)
    line = assert_refused_in_one_line(result, lake)
    assert f"the DuckDB file is open in pid {os.getpid()} (" in line

    lake.build()  # the warehouse is intact and builds once it is free


def test_bare_build_while_a_wrapped_build_runs_is_one_line(lake: Lake) -> None:
    lake.land(FIXTURES / "batches" / "batch_1.csv")
    with holding_the_lock(lake) as holder:
        result = lake.build(check=False)
    line = assert_refused_in_one_line(result, lake)
    assert f"another build is running (pid {holder.pid} since " in line


def test_duckdb_build_prints_no_ducklake_partition_notes(lake: Lake) -> None:
    """The models' partitioned_by is Athena's: a local build does not note that DuckDB ignores it
    (macros/engine/partitioned_by.sql)."""
    lake.land(FIXTURES / "batches" / "batch_1.csv")
    result = lake.build()
    output = result.stdout + result.stderr
    assert "partitioned_by" in (lake.root / "target" / "manifest.json").read_text()
    assert lines_with(output, "only supported for DuckLake") == [], output[-3000:]
