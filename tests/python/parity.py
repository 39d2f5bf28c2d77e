"""Parity of the two targets: the same files built on DuckDB and on the local Athena give the same
marts, row for row.

    make parity FILES="a.csv b.csv"
    PYTHONPATH=tests/python python tests/python/parity.py [--keep] FILE...

In fresh temporary directories, lands FILE... into a local lake (``land_csv.py --lake-root``) and,
as ``make prod`` does, into a fresh local Athena (athena_stand_in.py: moto for S3 and Glue, Trino
476 for the queries): ``dbt run-operation create_raw_relations``, ``land_csv.py --s3-uri ...
--glue-database ...``, ``dbt build`` with the production flags. Both builds run at once. Then
compares every mart (TABLES) and the raw lines (``transaction_lines``), leaving out only the
columns two landings of the same files cannot share (IGNORED: build and landing times); run ids
are compared by the file each run landed.

Prints one line per table on stdout: ``agree`` with its row count, or the row counts of both sides
and the first differing keys. Exit 0 every table agrees, 1 some differ, 2 usage (no FILE, a FILE
that is not a file), 3 no comparison (the local Athena did not start, or a landing or build
failed: the step and its last output lines). ``--keep`` keeps the directories and says where.

The comparison (``normalized``, ``compare``) is shared with test_athena_build.py.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from dbt_harness import AUDIT_COLUMNS, DBT, LOADER, PRODUCTION_BUILD_FLAGS, ROOT, Lake

# ------------------------------------------------------------------------------ comparison
# What two builds of the same files may not share: the build-time audit columns and the moment
# of landing (each side lands at its own time). Run ids are mapped to the file each run landed.
IGNORED = frozenset({*AUDIT_COLUMNS, "landed_at", "ingest_date"})
RUN_COLUMNS = ("run_id", "last_run_id")
# Each compared table and the columns that identify its rows (for the summary).
TABLES: dict[str, tuple[str, ...]] = {
    "fct_transactions": ("transaction_id",),
    "fct_quarantined_records": ("run_id", "line_number"),
    "fct_month_end_balances": ("account_id", "currency", "month"),
    "fct_run_metrics": ("run_id",),
}
RAW_LINES = "transaction_lines"
LINE_COLUMNS = ["run_id", "source_file", "line_number", "line_text", "is_readable"]
LINE_KEY = ("run_id", "line_number")
SHOWN_KEYS = 5


def normalized(rows: Iterable[Sequence[Any]], names: list[str], runs: dict[str, str]) -> list[Any]:
    """Rows without the IGNORED columns, run ids replaced by their file names, decimals without
    trailing zeros, in a stable order."""
    keep = [i for i, name in enumerate(names) if name not in IGNORED]
    out = []
    for row in rows:
        values = []
        for i in keep:
            value = row[i]
            if names[i] in RUN_COLUMNS and value is not None:
                value = runs.get(value, value)
            elif isinstance(value, str) and "run " in value:  # validation_detail names runs
                for run_id, file_name in runs.items():
                    value = value.replace(f"run {run_id} ", f"run {file_name} ")
            if isinstance(value, Decimal):
                value = value.normalize()
            values.append(value)
        out.append(tuple(values))
    return sorted(out, key=repr)


@dataclass
class Side:
    """One target's copy of a table: column names, rows, and run id -> file name."""

    target: str
    names: list[str]
    rows: list[tuple[Any, ...]]
    runs: dict[str, str] = field(default_factory=dict)


@dataclass
class TableDiff:
    table: str
    counts: tuple[int, int]
    targets: tuple[str, str]
    only_columns: tuple[list[str], list[str]] = ([], [])
    keys: list[str] = field(default_factory=list)  # the first differing keys, described
    differing: int = 0  # how many keys differ

    @property
    def agrees(self) -> bool:
        return not self.differing and not any(self.only_columns)

    def summary(self) -> str:
        (left, right), (n_left, n_right) = self.targets, self.counts
        if self.agrees:
            return f"{self.table}: agree ({_rows(n_left)})"
        parts = [f"{self.table}: {left} {_rows(n_left)}, {right} {_rows(n_right)}"]
        for target, only in zip(self.targets, self.only_columns, strict=True):
            if only:
                parts.append(f"columns only on {target}: {', '.join(only)}")
        if self.differing:
            more = f" (first {len(self.keys)})" if self.differing > len(self.keys) else ""
            noun = "key differs" if self.differing == 1 else "keys differ"
            parts.append(f"{self.differing} {noun}{more}: {'; '.join(self.keys)}")
        return "; ".join(parts)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def compare(table: str, key: Sequence[str], left: Side, right: Side) -> TableDiff:
    """Rows of both sides compared on their shared columns (IGNORED aside), grouped by ``key``."""
    compared = [n for n in left.names if n in right.names and n not in IGNORED]
    only = (
        [n for n in left.names if n not in right.names and n not in IGNORED],
        [n for n in right.names if n not in left.names and n not in IGNORED],
    )
    diff = TableDiff(table, (len(left.rows), len(right.rows)), (left.target, right.target), only)
    key_at = [compared.index(k) for k in key if k in compared]
    grouped = []
    for side in (left, right):
        at = [side.names.index(n) for n in compared]
        rows = normalized(([row[i] for i in at] for row in side.rows), compared, side.runs)
        groups: dict[tuple[Any, ...], Counter[tuple[Any, ...]]] = {}
        for row in rows:
            groups.setdefault(tuple(row[i] for i in key_at), Counter())[row] += 1
        grouped.append(groups)
    a, b = grouped
    differing = sorted((k for k in a.keys() | b.keys() if a.get(k) != b.get(k)), key=repr)
    diff.differing = len(differing)
    for k in differing[:SHOWN_KEYS]:
        label = ", ".join(f"{name}={value}" for name, value in zip(key, k, strict=False))
        if k not in b:
            label += f" (only on {left.target})"
        elif k not in a:
            label += f" (only on {right.target})"
        else:
            label += f" ({_what_differs(compared, a[k], b[k])})"
        diff.keys.append(label)
    return diff


def _what_differs(
    names: list[str], a: Counter[tuple[Any, ...]], b: Counter[tuple[Any, ...]]
) -> str:
    if len(a) == len(b) == 1:
        (row_a,), (row_b,) = a, b
        columns = [n for n, x, y in zip(names, row_a, row_b, strict=True) if x != y]
        if columns:
            return f"{', '.join(columns)} differ"
    return f"{sum(a.values())} vs {sum(b.values())} rows"


def report(diffs: Sequence[TableDiff]) -> tuple[str, int]:
    """The lines to print, and the exit code: 0 all agree, 1 some differ."""
    lines = [d.summary() for d in diffs]
    disagreeing = [d.table for d in diffs if not d.agrees]
    if disagreeing:
        lines.append(f"parity: {len(disagreeing)} of {len(diffs)} tables differ")
    return "\n".join(lines) + "\n", 1 if disagreeing else 0


# ------------------------------------------------------------------------------- the run
ATHENA = "athena"
DUCKDB = "duckdb"


class StepFailed(Exception):
    """A landing or build failed: no comparison (exit 3)."""


def _run(target: str, step: str, command: list[str], **kwargs: Any) -> None:
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    _check(target, step, result, started)


def _check(
    target: str, step: str, result: subprocess.CompletedProcess[str], started: float
) -> None:
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-12:]
        raise StepFailed(f"{target}: {step} failed (exit {result.returncode}):\n" + "\n".join(tail))
    say(f"{target}: {step} ({time.monotonic() - started:.0f} s)")


def _duckdb_side(lake: Lake, files: list[Path]) -> dict[str, Side]:
    """Lands and builds the local lake; every compared table as a Side."""
    command = [sys.executable, str(LOADER), "--lake-root", str(lake.root), *map(str, files)]
    _run(DUCKDB, "landing", command, env=lake.env())
    started = time.monotonic()
    _check(DUCKDB, "dbt build", lake.build("--target", DUCKDB, check=False), started)
    import duckdb

    sides = {}
    with duckdb.connect(str(lake.root / "warehouse.duckdb"), read_only=True) as con:
        runs = dict(
            con.sql("select run_id, file_name from main_raw.transaction_manifests").fetchall()
        )

        def side(sql: str) -> Side:
            relation = con.sql(sql)
            return Side(DUCKDB, list(relation.columns), relation.fetchall(), runs)

        for table in TABLES:
            sides[table] = side(f"select * from main_marts.{table}")
        sides[RAW_LINES] = side(f"select {', '.join(LINE_COLUMNS)} from main_raw.{RAW_LINES}")
    return sides


def production_env(stand_in: Any, aws_home: Path) -> dict[str, str]:
    """The environment `make prod` runs in, pointed at ``stand_in`` (local_prod's settings),
    with what `make prod` derives from them."""
    from local_prod import stack_settings

    settings = stack_settings(stand_in.env)
    return stand_in.process_env(
        aws_home,
        **settings,
        PYTHONPATH=stand_in.env["PYTHONPATH"],  # the stand-in's shared botocore models
        RAW_S3_URI=settings["LAKE_S3_URI"].rstrip("/") + "/raw/transactions/",
        RAW_GLUE_DATABASE=f"{settings['ATHENA_SCHEMA']}_raw",
        DBT_TARGET=ATHENA,
    )


def _athena_side(stand_in: Any, work: Path, files: list[Path]) -> dict[str, Side]:
    """`make prod`'s steps on the local Athena (no publishing); every compared table as a Side."""
    env = production_env(stand_in, work / "aws-home")
    target = work / "athena-target"
    dbt = [str(DBT), "--no-use-colors"]
    flags = ["--target", ATHENA, "--profiles-dir", str(ROOT / "profiles")]
    flags += ["--project-dir", str(ROOT), "--target-path", str(target)]
    flags += ["--log-path", str(target / "logs")]
    create_raw = [*dbt, "run-operation", "create_raw_relations", *flags]
    _run(ATHENA, "create_raw_relations", create_raw, env=env, cwd=ROOT)
    land = [sys.executable, str(LOADER), "--s3-uri", env["LAKE_S3_URI"]]
    land += ["--glue-database", env["RAW_GLUE_DATABASE"], "--sse", env["LAKE_SSE"]]
    _run(ATHENA, "landing", [*land, *map(str, files)], env=env, cwd=ROOT)
    _run(ATHENA, "dbt build", [*dbt, "build", *PRODUCTION_BUILD_FLAGS, *flags], env=env, cwd=ROOT)
    schema = env["ATHENA_SCHEMA"]
    manifests = f'select run_id, file_name from "{schema}_raw".transaction_manifests'
    runs = dict(stand_in.query(manifests)[1])

    def side(sql: str) -> Side:
        names, rows = stand_in.query(sql)
        return Side(ATHENA, names, rows, runs)

    sides = {table: side(f'select * from "{schema}_marts"."{table}"') for table in TABLES}
    lines = f'select {", ".join(LINE_COLUMNS)} from "{schema}_raw".{RAW_LINES}'
    sides[RAW_LINES] = side(lines)
    return sides


def run_parity(files: list[Path], work: Path) -> list[TableDiff]:
    """Both targets built from ``files`` under ``work``; one TableDiff per compared table."""
    from athena_stand_in import AthenaStandIn
    from local_prod import ensure_buckets

    with ThreadPoolExecutor(max_workers=1) as pool:
        local = pool.submit(_duckdb_side, Lake(work / "lake"), files)  # alongside Athena
        say("starting the local Athena (Trino 476); DuckDB lands and builds alongside")
        (work / "athena").mkdir(parents=True)
        started = time.monotonic()
        stand_in = AthenaStandIn(work / "athena")
        try:
            stand_in.start()
            ensure_buckets(stand_in)
            say(f"{ATHENA}: up ({time.monotonic() - started:.0f} s)")
            remote = _athena_side(stand_in, work, files)
        finally:
            stand_in.stop()
        duckdb_sides = local.result()
    keys = {**TABLES, RAW_LINES: LINE_KEY}
    return [compare(t, keys[t], duckdb_sides[t], remote[t]) for t in keys]


def say(message: str) -> None:
    print(f"parity: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parity", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE")
    parser.add_argument("--keep", action="store_true", help="keep the lake and targets")
    args = parser.parse_args(argv)
    if not args.files:
        say('no files: make parity FILES="a.csv b.csv"')
        return 2
    for path in args.files:
        if not path.is_file():
            say(f"no such file: {path}")
            return 2
    files = [path.resolve() for path in args.files]
    work = Path(tempfile.mkdtemp(prefix="parity-"))
    try:
        diffs = run_parity(files, work)
    except StepFailed as exc:
        say(str(exc))
        return 3
    except Exception as exc:  # the stand-in did not start (Trino missing, ...)
        say(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return 3
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    text, code = report(diffs)
    sys.stdout.write(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
