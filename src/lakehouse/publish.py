"""Publishes a successful build: the published marts, then `_SUCCESS` markers with each run's
metrics (and, locally, Parquet).

    lakehouse publish --lake-root DIR [--target-path P]          (DuckDB, local)
    lakehouse publish --s3-uri s3://BUCKET/PREFIX [--target-path P]
                      [--sse AES256|aws:kms] [--kms-key-id K]   (Athena, production)
    [--dbt PATH]  the dbt to run (default: the one beside this Python, else dbt on PATH)

Reads dbt's `P/run_results.json` (default `target`) and refuses, changing nothing, when any model
or error-severity test of the build failed. Otherwise it first publishes the audited marts
(write, audit, publish): `dbt run-operation publish_audited` (macros/publish/publish_audited.sql)
points the relations consumers read (source `published`: `<schema>_published.fct_transactions`,
`fct_quarantined_records`, `fct_month_end_balances`, `fct_run_metrics`) at what the build wrote and
tested (DuckDB: copies, replaced in one transaction; Athena: views over the Iceberg snapshots).
Its dbt files go to `P/publish/`, so `P/run_results.json` stays the build's. Then:

* Local: exports the published fct_transactions as Parquet under
  DIR/processed/transactions/data/month=YYYY-MM/ (written beside the old copy, then swapped
  in by renames), then writes, for every landed run that has no marker yet,
  DIR/processed/transactions/ingest_date=D/run_id=R/_SUCCESS, and a read-only copy of the
  published marts, DIR/published.duckdb, that `lakehouse show` and `lakehouse report` read while
  a build has the warehouse open (lakehouse.published_copy).
* S3: the processed tables are Iceberg tables already (readable by any Iceberg engine), so only
  the markers are written, to s3://BUCKET/PREFIX/processed/transactions/ingest_date=D/run_id=R/
  _SUCCESS, with a conditional PUT (never overwritten) and server-side encryption. The metrics
  are read from Athena: `select * from` the published fct_run_metrics (its schema and name from
  `P/manifest.json`, source `published`), in workgroup $ATHENA_WORK_GROUP, results under
  $ATHENA_S3_STAGING_DIR. NOT RUN AGAINST ATHENA: the tests replay Athena's result format from
  moto (which does not execute SQL); the query itself is only as tested as the dbt model.

A marker is JSON with the run's metrics (the fct_run_metrics model). Consumers wait for it.
Logs one JSON line per published run on stdout (lakehouse.jsonlog): event run_published with
run_id, marker and metrics. Exit 0 published, 1 refused or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from lakehouse import project_dir
from lakehouse.jsonlog import emit, jsonable
from lakehouse.lake_root import EXIT_NO_LAKE, missing_lake_message
from lakehouse.landing import parse_run_time
from lakehouse.published_copy import write_published_copy

FAILED_STATUSES = {"error", "fail", "runtime error"}
METRICS_SOURCE = "source.transaction_lakehouse.published.fct_run_metrics"
PROJECT = project_dir()
PUBLISH_OPERATION = "publish_audited"
DUCKDB_METRICS_SQL = "select * from main_published.fct_run_metrics order by run_id"
EXPORT_SQL = (
    "copy (select * from main_published.fct_transactions) to '{path}'"
    " (format parquet, partition_by (month))"
)
MARKERS_PREFIX = "processed/transactions/"
_IDENTIFIER_RE = re.compile(r"[a-z_][a-z0-9_]*")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ATHENA_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


class LakeRootMissing(Exception):
    """The local lake root does not exist (exit status 2, one line)."""


class PublishRefused(Exception):
    """The build is not publishable; the message says why."""


# ------------------------------------------------------------------------------------ build
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


# ---------------------------------------------------------------------------------- metrics
class MetricsSource(Protocol):
    def run_metrics(self) -> list[dict[str, Any]]:
        """One dict per landed run (the fct_run_metrics model's columns), JSON-safe values."""
        ...


class DuckDBMetrics:
    """fct_run_metrics from the local warehouse."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def run_metrics(self) -> list[dict[str, Any]]:
        cursor = self.con.execute(DUCKDB_METRICS_SQL)
        columns = [description[0] for description in cursor.description]
        return [
            {name: jsonable(value) for name, value in zip(columns, row, strict=True)}
            for row in cursor.fetchall()
        ]


def metrics_relation(manifest_path: Path) -> tuple[str, str]:
    """(schema, name) of the published fct_run_metrics (source `published`, from dbt's manifest)."""
    if not manifest_path.is_file():
        raise PublishRefused(f"{manifest_path}: no dbt manifest (run dbt build first)")
    sources = json.loads(manifest_path.read_text(encoding="utf-8")).get("sources", {})
    node = sources.get(METRICS_SOURCE)
    if node is None:
        raise PublishRefused(f"{manifest_path}: has no {METRICS_SOURCE}")
    schema, alias = str(node.get("schema")), str(node.get("identifier") or node.get("name"))
    for value in (schema, alias):
        if not _IDENTIFIER_RE.fullmatch(value):
            raise PublishRefused(f"{manifest_path}: unexpected relation name part {value!r}")
    return schema, alias


def athena_value(text: str | None, athena_type: str) -> Any:
    """A value of Athena's text result as the JSON the DuckDB path writes."""
    if text is None:
        return None
    kind = athena_type.lower()
    if kind in {"tinyint", "smallint", "integer", "bigint"}:
        return int(text)
    if kind in {"double", "float", "real"}:
        return float(text)
    if kind == "boolean":
        return text.lower() == "true"
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(text.removesuffix(" UTC")).isoformat()
    return text  # varchar, date (YYYY-MM-DD), decimal (exact text)


class AthenaMetrics:
    """fct_run_metrics read through the Athena query API (boto3); see the module docstring."""

    def __init__(
        self,
        client: Any,
        relation: tuple[str, str],
        work_group: str,
        output_location: str | None = None,
        timeout: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.relation = relation
        self.work_group = work_group
        self.output_location = output_location
        self.timeout = timeout
        self.sleep = sleep

    @property
    def sql(self) -> str:
        schema, alias = self.relation
        return f'select * from "{schema}"."{alias}" order by run_id'

    def _wait(self, execution_id: str) -> None:
        deadline = time.monotonic() + self.timeout
        delay = 0.2
        while True:
            response = self.client.get_query_execution(QueryExecutionId=execution_id)
            status = response["QueryExecution"]["Status"]
            if status["State"] == "SUCCEEDED":
                return
            if status["State"] in _ATHENA_DONE:
                raise PublishRefused(
                    f"Athena query {execution_id} ({self.sql}) {status['State']}: "
                    f"{status.get('StateChangeReason', 'no reason given')}"
                )
            if time.monotonic() > deadline:
                raise PublishRefused(f"Athena query {execution_id} still running after timeout")
            self.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _rows(self, execution_id: str) -> Iterator[tuple[list[str | None], list[str]]]:
        paginator = self.client.get_paginator("get_query_results")
        for page in paginator.paginate(QueryExecutionId=execution_id):
            result = page["ResultSet"]
            types = [c["Type"] for c in result["ResultSetMetadata"]["ColumnInfo"]]
            for row in result.get("Rows", []):
                yield [cell.get("VarCharValue") for cell in row["Data"]], types

    def run_metrics(self) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "QueryString": self.sql,
            "QueryExecutionContext": {"Catalog": "awsdatacatalog", "Database": self.relation[0]},
            "WorkGroup": self.work_group,
        }
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}
        execution_id = self.client.start_query_execution(**request)["QueryExecutionId"]
        self._wait(execution_id)
        rows = self._rows(execution_id)
        header = next(rows, None)  # a SELECT's first row holds the column names
        if header is None:
            return []
        names = [str(name) for name in header[0]]
        return [
            {
                name: athena_value(value, kind)
                for name, value, kind in zip(names, values, types, strict=True)
            }
            for values, types in rows
        ]


# ---------------------------------------------------------------------------------- markers
class MarkerStore(Protocol):
    def existing(self) -> set[tuple[str, str]]:
        """(ingest_date, run_id) of the runs that have a marker."""
        ...

    def write(self, ingest_date: str, run_id: str, body: bytes) -> str | None:
        """Create the run's marker (never overwrite); its location, or None if it existed."""
        ...


def _run_key(ingest_date: str, run_id: str) -> str:
    if not _DATE_RE.fullmatch(ingest_date) or parse_run_time(run_id) is None:
        raise PublishRefused(f"fct_run_metrics has an invalid run: {ingest_date!r}, {run_id!r}")
    return f"ingest_date={ingest_date}/run_id={run_id}/_SUCCESS"


def _parse_marker_key(key: str) -> tuple[str, str] | None:
    match = re.search(r"ingest_date=([^/]+)/run_id=([^/]+)/_SUCCESS$", key)
    return (match.group(1), match.group(2)) if match else None


class LocalMarkers:
    def __init__(self, processed: Path) -> None:
        self.processed = processed

    def existing(self) -> set[tuple[str, str]]:
        found = (_parse_marker_key(str(p)) for p in self.processed.glob("*/*/_SUCCESS"))
        return {run for run in found if run is not None}

    def write(self, ingest_date: str, run_id: str, body: bytes) -> str | None:
        marker = self.processed / _run_key(ingest_date, run_id)
        if marker.exists():
            return None
        marker.parent.mkdir(parents=True, exist_ok=True)
        partial = marker.parent / "._SUCCESS.tmp"
        partial.write_bytes(body)
        os.replace(partial, marker)  # atomic: a reader sees the whole marker or none
        return str(marker)


class S3Markers:
    """Markers under s3://BUCKET/PREFIX/processed/transactions/ (conditional PUTs, SSE)."""

    def __init__(self, uri: str, sse: str = "AES256", kms_key_id: str | None = None) -> None:
        from lakehouse.landing_s3 import S3Objects, S3Options, new_s3_client, parse_s3_uri

        bucket, prefix = parse_s3_uri(uri)
        options = S3Options(sse=sse, kms_key_id=kms_key_id)
        self.objects = S3Objects(new_s3_client(), bucket, options)
        self.prefix = f"{prefix}{MARKERS_PREFIX}"

    def existing(self) -> set[tuple[str, str]]:
        paginator = self.objects.client.get_paginator("list_objects_v2")
        found: set[tuple[str, str]] = set()
        for page in paginator.paginate(Bucket=self.objects.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                run = _parse_marker_key(str(obj["Key"]))
                if run is not None:
                    found.add(run)
        return found

    def write(self, ingest_date: str, run_id: str, body: bytes) -> str | None:
        from lakehouse.landing_s3 import JSON_TYPE, ObjectExists

        key = self.prefix + _run_key(ingest_date, run_id)
        try:
            self.objects.put_new(key, body, JSON_TYPE)
        except ObjectExists:
            return None  # published by an earlier (or concurrent) run: never overwritten
        return self.objects.uri(key)


# ---------------------------------------------------------------------------------- publish
def write_markers(metrics: MetricsSource, store: MarkerStore) -> list[dict[str, Any]]:
    """A `_SUCCESS` marker for every run that has none yet; the published runs' log fields."""
    done = store.existing()
    published = []
    for run in metrics.run_metrics():
        ingest_date, run_id = str(run["ingest_date"]), str(run["run_id"])
        if (ingest_date, run_id) in done:
            continue
        body = (json.dumps(run, sort_keys=True) + "\n").encode()
        location = store.write(ingest_date, run_id, body)
        if location is not None:
            published.append({"run_id": run_id, "marker": location, "metrics": run})
    return published


def export_parquet(con: Any, processed: Path) -> None:
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


def check_build(target_path: Path) -> None:
    failures = build_failures(target_path / "run_results.json")
    if failures:
        raise PublishRefused("the build failed: " + "; ".join(failures))


def default_dbt() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def publish_audited(
    dbt: str, target: str | None, target_path: Path, cwd: Path, env: dict[str, str]
) -> None:
    """`dbt run-operation publish_audited`: the published marts show what the build audited.
    Its target path is P/publish (the build's run_results.json stays), starting from the build's
    saved parse (dbt reparses when it does not match, e.g. when only one names --target).
    ``target``: the profile's target, None for its default."""
    operation_path = target_path / "publish"
    operation_path.mkdir(parents=True, exist_ok=True)
    parse = target_path / "partial_parse.msgpack"
    if parse.is_file():
        shutil.copyfile(parse, operation_path / parse.name)
    command = [dbt, "run-operation", PUBLISH_OPERATION, *(["--target", target] if target else [])]
    command += ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT / "profiles")]
    command += ["--target-path", str(operation_path.resolve())]
    command += ["--log-path", str((operation_path / "logs").resolve())]
    try:
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise PublishRefused(f"{PUBLISH_OPERATION}: cannot run {dbt}: {error}") from error
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
        detail = [line for line in lines if line and "Encountered an error" not in line]
        reason = detail[-1] if detail else "no output"
        raise PublishRefused(
            f"{PUBLISH_OPERATION} failed (dbt exit {result.returncode}): {reason}"
            f" (log: {operation_path / 'logs' / 'dbt.log'})"
        )


def publish(lake_root: Path, target_path: Path, dbt: str | None = None) -> list[dict[str, Any]]:
    """Local publication (DuckDB warehouse under ``lake_root``)."""
    import duckdb

    if not lake_root.is_dir():
        raise LakeRootMissing(missing_lake_message(lake_root))
    check_build(target_path)
    warehouse = lake_root / "warehouse.duckdb"
    if not warehouse.is_file():
        raise PublishRefused(f"{warehouse}: no warehouse")
    # dbt must open this warehouse: LAKE_ROOT as given, and DBT_DUCKDB_PATH only when it names
    # the same file (else the profile would render differently and dbt parse the project anew)
    env = {**os.environ, "LAKE_ROOT": str(lake_root)}
    other_path = env.get("DBT_DUCKDB_PATH")
    if other_path and Path(other_path).resolve() != warehouse.resolve():
        env["DBT_DUCKDB_PATH"] = str(warehouse.resolve())
    target = None if env.get("DBT_TARGET", "duckdb") == "duckdb" else "duckdb"
    publish_audited(dbt or default_dbt(), target, target_path, Path.cwd(), env)
    processed = lake_root / "processed" / "transactions"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        export_parquet(con, processed)
        published = write_markers(DuckDBMetrics(con), LocalMarkers(processed))
    write_published_copy(lake_root)  # what show and report read while a build runs
    return published


def publish_s3(
    uri: str, target_path: Path, sse: str, kms_key_id: str | None, dbt: str | None = None
) -> list[dict[str, Any]]:
    """Production publication: the published views, then metrics from Athena, markers on S3."""
    import boto3

    check_build(target_path)
    relation = metrics_relation(target_path / "manifest.json")
    publish_audited(dbt or default_dbt(), "athena", target_path, PROJECT, dict(os.environ))
    work_group = os.environ.get("ATHENA_WORK_GROUP") or "primary"
    metrics = AthenaMetrics(
        boto3.session.Session().client("athena"),
        relation,
        work_group,
        os.environ.get("ATHENA_S3_STAGING_DIR") or None,
    )
    return write_markers(metrics, S3Markers(uri, sse, kms_key_id))


def main(argv: Sequence[str] | None = None, prog: str = "publish.py") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--lake-root", type=Path, default=None)
    where.add_argument("--s3-uri", metavar="s3://BUCKET/PREFIX", default=None)
    parser.add_argument("--target-path", type=Path, default=Path("target"))
    parser.add_argument("--sse", choices=("AES256", "aws:kms"), default=None)
    parser.add_argument("--kms-key-id", metavar="KEY", default=None)
    parser.add_argument("--dbt", metavar="PATH", default=None, help="the dbt executable")
    args = parser.parse_args(argv)
    if args.s3_uri is None and (args.sse or args.kms_key_id):
        parser.error("--sse / --kms-key-id: only with --s3-uri")
    if args.kms_key_id and args.sse != "aws:kms":
        parser.error("--kms-key-id needs --sse aws:kms")
    failure_types: tuple[type[Exception], ...] = (PublishRefused, OSError, ValueError)
    try:
        if args.s3_uri is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            from lakehouse.landing import LandingError

            failure_types += (BotoCoreError, ClientError, LandingError)
            published = publish_s3(
                args.s3_uri, args.target_path, args.sse or "AES256", args.kms_key_id, args.dbt
            )
        else:
            import duckdb

            failure_types += (duckdb.Error,)
            lake_root = args.lake_root or Path(os.environ.get("LAKE_ROOT") or "lake")
            published = publish(lake_root, args.target_path, args.dbt)
    except LakeRootMissing as error:
        print(f"publish: error: {error}", file=sys.stderr)
        return EXIT_NO_LAKE
    except Exception as error:
        if not isinstance(error, failure_types):
            raise
        print(f"publish: refused: {error}", file=sys.stderr)
        emit("publish_refused", "error", reason=str(error))
        return 1
    for fields in published:
        emit("run_published", **fields)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
