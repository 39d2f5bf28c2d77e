"""Prints what `make demo` built and published, and how to query it.

Reads the published marts (`main_published`: as of the last build that passed its tests); the
record outcomes come from the audit area (`main_intermediate`), as an operator's view. While a
build has the warehouse open, reads the copy `lakehouse publish` left (<lake>/published.duckdb)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from lakehouse.lake_root import refuse_missing_lake
from lakehouse.published_copy import open_published

QUERIES = {
    "Landed runs": (
        "select run_id, file_name, bytes, line_count from main_raw.transaction_manifests"
        " order by run_id"
    ),
    "Records by outcome": (
        "select record_status, count(*) as records"
        " from main_intermediate.int_transactions__classified"
        " group by all order by all"
    ),
    "Quarantine by reason": (
        "select validation_error, count(*) as records from main_published.fct_quarantined_records"
        " group by all order by records desc limit 10"
    ),
    "Month-end balances (first rows)": (
        "select account_id, currency, month, balance, closing_balance, tx_count"
        " from main_published.fct_month_end_balances order by all limit 9"
    ),
}

# The published copy (lakehouse.published_copy) holds the records by outcome already counted.
COPY_QUERIES = {
    "Records by outcome": (
        "select record_status, records from main_intermediate.records_by_outcome order by all"
    ),
}


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--lake-root",
        type=Path,
        default=Path(os.environ.get("LAKE_ROOT", "lake")),
        help="lake root (default: $LAKE_ROOT, else ./lake)",
    )
    lake_root = parser.parse_args(argv).lake_root
    refused = refuse_missing_lake(lake_root, prog)
    if refused is not None:
        return refused
    warehouse = lake_root / "warehouse.duckdb"
    try:
        with open_published(lake_root, prog or "show") as (con, _, is_copy):
            for title, sql in QUERIES.items():
                print(f"\n== {title}")
                con.sql(COPY_QUERIES.get(title, sql) if is_copy else sql).show(max_width=120)
    except FileNotFoundError:
        print(
            f"show_results: error: {warehouse}: no warehouse; run dbt build first", file=sys.stderr
        )
        return 1
    except duckdb.Error as error:  # the warehouse in use, and nothing published yet
        print(f"show_results: error: {warehouse}: {error}".splitlines()[0], file=sys.stderr)
        return 1
    print(
        f"\nWarehouse: {warehouse}\nDocs site and run report: `make docs`, then open"
        " site/index.html and site/report.html\n"
        "Query it:  .venv/bin/dbt show --profiles-dir profiles --inline"
        " \"select * from {{ source('published', 'fct_month_end_balances') }}\"\n"
        f"      or:  .venv/bin/python -c \"import duckdb; duckdb.connect('{warehouse}',"
        " read_only=True).sql('select * from main_published.fct_transactions limit 5').show()\""
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
