"""Publishes a successful build: Parquet copy of the processed layer and `_SUCCESS` markers.

    python scripts/publish.py --lake-root DIR [--target-path P]

Reads dbt's `P/run_results.json` (default `target`) and refuses, changing nothing, when any model
or error-severity test of the build failed. Otherwise it
  1. exports fct_transactions as Parquet under DIR/processed/transactions/data/year=YYYY/month=M/
     (written beside the old copy, then swapped in by renames), then
  2. writes, for every landed run that has no marker yet, its `_SUCCESS` marker
     DIR/processed/transactions/ingest_date=D/run_id=R/_SUCCESS: JSON with the run's metrics
     (the run_metrics model). Consumers wait for that file.
Logs one JSON line per marker on stdout. Exit 0 published, 1 refused or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

FAILED_STATUSES = {"error", "fail", "runtime error"}
METRICS_SQL = "select * from main_marts.run_metrics order by run_id"
EXPORT_SQL = (
    "copy (select * from main_marts.fct_transactions) to '{path}'"
    " (format parquet, partition_by (year, month))"
)


class PublishRefused(Exception):
    """The build is not publishable; the message says why."""


def build_failures(run_results: Path) -> list[str]:
    """Models and error-severity tests that did not succeed in the build."""
    if not run_results.is_file():
        raise PublishRefused(f"{run_results}: no dbt run results (run dbt build first)")
    results = json.loads(run_results.read_text(encoding="utf-8"))
    failures = []
    for result in results.get("results", []):
        status = str(result.get("status", "")).lower()
        if status in FAILED_STATUSES:
            failures.append(f"{result.get('unique_id')}: {status}")
    if results.get("args", {}).get("which") not in {"build", "run"}:
        failures.append(f"{run_results}: not the results of a dbt build")
    return failures


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_parquet(con: duckdb.DuckDBPyConnection, processed: Path) -> None:
    """Replaces the Parquet copy: write a new tree, then swap it in."""
    processed.mkdir(parents=True, exist_ok=True)
    fresh, current, old = processed / ".data.new", processed / "data", processed / ".data.old"
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    con.execute(EXPORT_SQL.format(path=str(fresh).replace("'", "''")))
    if current.exists():
        current.rename(old)
    fresh.rename(current)
    shutil.rmtree(old, ignore_errors=True)


def write_markers(con: duckdb.DuckDBPyConnection, processed: Path) -> list[dict[str, Any]]:
    """A `_SUCCESS` marker for every run that has none yet (written atomically)."""
    cursor = con.execute(METRICS_SQL)
    columns = [description[0] for description in cursor.description]
    written = []
    for row in cursor.fetchall():
        metrics = {name: jsonable(value) for name, value in zip(columns, row, strict=True)}
        run_dir = (
            processed / f"ingest_date={metrics['ingest_date']}" / f"run_id={metrics['run_id']}"
        )
        marker = run_dir / "_SUCCESS"
        if marker.exists():
            continue
        run_dir.mkdir(parents=True, exist_ok=True)
        partial = run_dir / "._SUCCESS.tmp"
        partial.write_text(json.dumps(metrics, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(partial, marker)
        written.append({"event": "run_published", "marker": str(marker), **metrics})
    return written


def publish(lake_root: Path, target_path: Path) -> list[dict[str, Any]]:
    failures = build_failures(target_path / "run_results.json")
    if failures:
        raise PublishRefused("the build failed: " + "; ".join(failures))
    warehouse = lake_root / "warehouse.duckdb"
    if not warehouse.is_file():
        raise PublishRefused(f"{warehouse}: no warehouse")
    processed = lake_root / "processed" / "transactions"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        export_parquet(con, processed)
        return write_markers(con, processed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="publish.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lake-root", type=Path, default=Path(os.environ.get("LAKE_ROOT") or "lake")
    )
    parser.add_argument("--target-path", type=Path, default=Path("target"))
    args = parser.parse_args(argv)
    try:
        for event in publish(args.lake_root, args.target_path):
            print(json.dumps(event, sort_keys=True), flush=True)
    except (PublishRefused, duckdb.Error, OSError) as error:
        print(f"publish: refused: {error}", file=sys.stderr)
        print(json.dumps({"event": "publish_refused", "reason": str(error)}), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
