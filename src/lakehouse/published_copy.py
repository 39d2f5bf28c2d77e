"""A read-only copy of what was last published, for readers while a build runs.

DuckDB lets one process write a database file, and a running build (dbt) keeps the warehouse
open for writing: nothing else can open it, not even to read. ``lakehouse publish`` therefore
also writes ``<lake>/published.duckdb``: every published mart (schema ``main_published``) and
the small tables ``lakehouse show`` and ``lakehouse report`` read besides them (the landed runs,
the records by outcome, the latest build's run metrics). It is written beside
(``published.duckdb.tmp``) and renamed over the old copy, so a reader sees the previous copy or
the new one, never half of one. ``lakehouse show`` and ``lakehouse report`` read the warehouse
when they can, and this copy when a build has the warehouse open.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

COPY_NAME = "published.duckdb"
WAREHOUSE_NAME = "warehouse.duckdb"
PUBLISHED_SCHEMA = "main_published"
# Besides the published marts: (schema, table, select over the warehouse) of what show and report
# read.
EXTRA_TABLES = (
    ("main_raw", "transaction_manifests", "select * from wh.main_raw.transaction_manifests"),
    (
        "main_intermediate",
        "records_by_outcome",
        "select record_status, count(*) as records"
        " from wh.main_intermediate.int_transactions__classified group by all",
    ),
    # lakehouse report: whether the latest build was published (its status rule)
    ("main_marts", "fct_run_metrics", "select * from wh.main_marts.fct_run_metrics"),
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_published_copy(lake_root: Path) -> Path:
    """Copy the warehouse's published marts (and show's extra tables) into
    ``lake_root/published.duckdb``, replaced atomically. The warehouse must not be open for
    writing elsewhere (publish runs under the build's lock)."""
    import duckdb

    target = lake_root / COPY_NAME
    partial = lake_root / (COPY_NAME + ".tmp")
    for leftover in (partial, Path(f"{partial}.wal")):
        leftover.unlink(missing_ok=True)
    warehouse = (lake_root / WAREHOUSE_NAME).resolve()
    with duckdb.connect(str(partial)) as con:
        con.execute(f"attach {_sql_string(str(warehouse))} as wh (read_only)")
        tables = con.sql(
            "select table_name from duckdb_tables()"
            " where database_name = 'wh' and schema_name = ? order by table_name",
            params=[PUBLISHED_SCHEMA],
        ).fetchall()
        copies = [
            (PUBLISHED_SCHEMA, name, f"select * from wh.{PUBLISHED_SCHEMA}.{_quote(name)}")
            for (name,) in tables
        ]
        con.execute("begin")
        for schema, table, select in [*copies, *EXTRA_TABLES]:
            con.execute(f"create schema if not exists {_quote(schema)}")
            con.execute(f"create table {_quote(schema)}.{_quote(table)} as {select}")
        con.execute("commit")
        con.execute("detach wh")
        con.execute("checkpoint")
    os.replace(partial, target)
    return target


def _is_lock_conflict(error: Exception) -> bool:
    return "lock" in str(error).lower()


@contextmanager
def open_published(lake_root: Path, prog: str) -> Iterator[tuple[Any, Path, bool]]:
    """A read-only connection to the warehouse, or, when a build has it open, to the published
    copy (saying so on stderr). Yields (connection, file, is_copy). Raises FileNotFoundError
    when there is no warehouse, duckdb.Error when neither can be read."""
    import duckdb

    warehouse = lake_root / WAREHOUSE_NAME
    copy = lake_root / COPY_NAME
    if not warehouse.is_file():  # no build yet, or the warehouse was removed: no stale copy
        raise FileNotFoundError(warehouse)
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        if not (_is_lock_conflict(error) and copy.is_file()):
            raise
        print(
            f"{prog}: the warehouse {warehouse} is in use by a running build: reading the"
            f" last published copy {copy}",
            file=sys.stderr,
            flush=True,
        )
    else:
        with con:
            yield con, warehouse, False
        return
    with duckdb.connect(str(copy), read_only=True) as con:
        yield con, copy, True
