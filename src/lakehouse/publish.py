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

A marker is JSON with the run's metrics (the fct_run_metrics model) and the chain fields
(lakehouse.chain): the raw file's sha256 (from the run's `_manifest.json`), the previous marker's
run and the sha256 of its bytes, and the run's rows/checksum in each mart with per-run rows
(`dbt show` of the macro chain_checksums() over the published relations, files in `P/publish/`).
Markers are written in run_id order, each chained after the one before; a run older than one that
has a marker already is refused (nothing written). `lakehouse verify` checks the chain. Consumers
wait for the marker. Logs one JSON line per published run on stdout (lakehouse.jsonlog): event
run_published with run_id, marker, marker_sha256 and metrics. Exit 0 published, 1 refused or
failed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from lakehouse import project_dir
from lakehouse.chain import (
    SHA256_RE,
    ChainError,
    Marker,
    MartChecksums,
    chain_head,
    marker_body,
)
from lakehouse.dbt_runner import DbtFailed, default_dbt, run_dbt
from lakehouse.jsonlog import emit, jsonable
from lakehouse.lake_root import EXIT_NO_LAKE, missing_lake_message
from lakehouse.landing import MANIFEST_NAME, parse_run_time
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
RAW_PREFIX = "raw/transactions/"
HASH_CHUNK = 1024 * 1024
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
    """Where a lake's `_SUCCESS` markers are, and the raw layer they vouch for."""

    def existing(self) -> set[tuple[str, str]]:
        """(ingest_date, run_id) of the runs that have a marker."""
        ...

    def write(self, ingest_date: str, run_id: str, body: bytes) -> str | None:
        """Create the run's marker (never overwrite); its location, or None if it existed."""
        ...

    def read(self, ingest_date: str, run_id: str) -> bytes | None:
        """The exact bytes of the run's marker, None if it has none."""
        ...

    def manifest(self, ingest_date: str, run_id: str) -> dict[str, Any] | None:
        """The run's raw `_manifest.json` (the loader's), None if missing or not JSON."""
        ...

    def raw_sha256(self, ingest_date: str, run_id: str, file_name: str) -> str | None:
        """The sha256 of the run's raw file as stored now (read in full), None if missing."""
        ...

    def landed_runs(self) -> set[tuple[str, str]]:
        """(ingest_date, run_id) of every landed run (its manifest exists)."""
        ...


def _run_key(ingest_date: str, run_id: str) -> str:
    if not _DATE_RE.fullmatch(ingest_date) or parse_run_time(run_id) is None:
        raise PublishRefused(f"fct_run_metrics has an invalid run: {ingest_date!r}, {run_id!r}")
    return f"ingest_date={ingest_date}/run_id={run_id}/_SUCCESS"


def _run_folder(ingest_date: str, run_id: str) -> str:
    return _run_key(ingest_date, run_id).removesuffix("_SUCCESS")


def _parse_marker_key(key: str) -> tuple[str, str] | None:
    match = re.search(r"ingest_date=([^/]+)/run_id=([^/]+)/_SUCCESS$", key)
    return (match.group(1), match.group(2)) if match else None


def _json_object(body: bytes | None) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _valid_run(ingest_date: str, run_id: str) -> bool:
    return bool(_DATE_RE.fullmatch(ingest_date)) and parse_run_time(run_id) is not None


def read_markers(store: MarkerStore) -> list[Marker]:
    """Every marker of the store with its exact bytes, in run_id order (a `_SUCCESS` under a
    folder that names no valid run is no run's marker: left out)."""
    markers = []
    runs = (run for run in store.existing() if _valid_run(*run))
    for ingest_date, run_id in sorted(runs, key=lambda run: run[1]):
        body = store.read(ingest_date, run_id)
        if body is not None:
            markers.append(Marker(ingest_date, run_id, body))
    return markers


class LocalMarkers:
    """Markers under DIR/processed/transactions/, raw runs under DIR/raw/transactions/."""

    def __init__(self, processed: Path, raw: Path | None = None) -> None:
        self.processed = processed
        self.raw = raw if raw is not None else processed.parents[1] / "raw" / "transactions"

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

    def read(self, ingest_date: str, run_id: str) -> bytes | None:
        try:
            return (self.processed / _run_key(ingest_date, run_id)).read_bytes()
        except FileNotFoundError:
            return None

    def manifest(self, ingest_date: str, run_id: str) -> dict[str, Any] | None:
        path = self.raw / _run_folder(ingest_date, run_id) / MANIFEST_NAME
        try:
            return _json_object(path.read_bytes())
        except FileNotFoundError:
            return None

    def raw_sha256(self, ingest_date: str, run_id: str, file_name: str) -> str | None:
        digest = hashlib.sha256()
        try:
            with open(self.raw / _run_folder(ingest_date, run_id) / file_name, "rb") as data:
                while chunk := data.read(HASH_CHUNK):
                    digest.update(chunk)
        except (FileNotFoundError, IsADirectoryError):
            return None
        return digest.hexdigest()

    def landed_runs(self) -> set[tuple[str, str]]:
        found = set()
        for path in self.raw.glob(f"ingest_date=*/run_id=*/{MANIFEST_NAME}"):
            match = re.search(r"ingest_date=([^/]+)/run_id=([^/]+)/[^/]+$", str(path))
            if match is not None:
                found.add((match.group(1), match.group(2)))
        return found


class S3Markers:
    """Markers under s3://BUCKET/PREFIX/processed/transactions/ (conditional PUTs, SSE), raw runs
    under s3://BUCKET/PREFIX/raw/transactions/."""

    def __init__(self, uri: str, sse: str = "AES256", kms_key_id: str | None = None) -> None:
        from lakehouse.landing_s3 import S3Objects, S3Options, new_s3_client, parse_s3_uri

        bucket, prefix = parse_s3_uri(uri)
        options = S3Options(sse=sse, kms_key_id=kms_key_id)
        self.objects = S3Objects(new_s3_client(), bucket, options)
        self.prefix = f"{prefix}{MARKERS_PREFIX}"
        self.raw_prefix = f"{prefix}{RAW_PREFIX}"

    def _keys(self, prefix: str) -> Iterator[str]:
        paginator = self.objects.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.objects.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield str(obj["Key"])

    def existing(self) -> set[tuple[str, str]]:
        found = (_parse_marker_key(key) for key in self._keys(self.prefix))
        return {run for run in found if run is not None}

    def write(self, ingest_date: str, run_id: str, body: bytes) -> str | None:
        from lakehouse.landing_s3 import JSON_TYPE, ObjectExists

        key = self.prefix + _run_key(ingest_date, run_id)
        try:
            self.objects.put_new(key, body, JSON_TYPE)
        except ObjectExists:
            return None  # published by an earlier (or concurrent) run: never overwritten
        return self.objects.uri(key)

    def read(self, ingest_date: str, run_id: str) -> bytes | None:
        found = self.objects.get(self.prefix + _run_key(ingest_date, run_id))
        return None if found is None else found[0]

    def manifest(self, ingest_date: str, run_id: str) -> dict[str, Any] | None:
        key = self.raw_prefix + _run_folder(ingest_date, run_id) + MANIFEST_NAME
        found = self.objects.get(key)
        return None if found is None else _json_object(found[0])

    def raw_sha256(self, ingest_date: str, run_id: str, file_name: str) -> str | None:
        from botocore.exceptions import ClientError

        key = self.raw_prefix + _run_folder(ingest_date, run_id) + file_name
        try:
            response = self.objects.client.get_object(Bucket=self.objects.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise
        digest = hashlib.sha256()
        with contextlib.closing(response["Body"]) as body:
            while chunk := body.read(HASH_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def landed_runs(self) -> set[tuple[str, str]]:
        pattern = re.compile(rf"ingest_date=([^/]+)/run_id=([^/]+)/{re.escape(MANIFEST_NAME)}$")
        found = (pattern.search(key) for key in self._keys(self.raw_prefix))
        return {(match.group(1), match.group(2)) for match in found if match is not None}


def latest_chained(store: MarkerStore, runs: set[tuple[str, str]]) -> Marker | None:
    """The marker the next one chains after (lakehouse.chain.chain_head), reading the markers
    from the newest down: pre-chain markers, and only they, are passed over."""
    for ingest_date, run_id in sorted(runs, key=lambda run: run[1], reverse=True):
        body = store.read(ingest_date, run_id) if _valid_run(ingest_date, run_id) else None
        if body is not None:
            head = chain_head([Marker(ingest_date, run_id, body)])
            if head is not None:
                return head
    return None


def landed_sha256(store: MarkerStore, ingest_date: str, run_id: str) -> str:
    """The sha256 the loader recorded for the run's raw file (its `_manifest.json`)."""
    manifest = store.manifest(ingest_date, run_id) or {}
    sha256 = manifest.get("sha256")
    if not isinstance(sha256, str) or not SHA256_RE.fullmatch(sha256):
        raise PublishRefused(
            f"run {run_id}: its raw _manifest.json is missing or has no sha256: its marker"
            " cannot record the raw file's (nothing written)"
        )
    return sha256


# ---------------------------------------------------------------------------------- publish
def write_markers(
    runs: Sequence[dict[str, Any]], store: MarkerStore, checksums: MartChecksums
) -> list[dict[str, Any]]:
    """A chained `_SUCCESS` marker for every run of ``runs`` (fct_run_metrics rows) that has
    none yet, in run_id order; the published runs' log fields. Everything a marker records is
    read before the first one is written: a refusal writes nothing."""
    done = store.existing()
    todo = sorted(
        (run for run in runs if (str(run["ingest_date"]), str(run["run_id"])) not in done),
        key=lambda run: str(run["run_id"]),
    )
    if not todo:
        return []
    for run in todo:
        _run_key(str(run["ingest_date"]), str(run["run_id"]))  # refuses an invalid run
    newest = max((run for date, run in done if _valid_run(date, run)), default=None)
    first = str(todo[0]["run_id"])
    if newest is not None and first < newest:
        raise PublishRefused(
            f"run {first} has no marker but the later run {newest} has one: markers are written,"
            " and chained, in run_id order (nothing written; lakehouse verify --help)"
        )
    raw = {str(run["run_id"]): landed_sha256(store, str(run["ingest_date"]), str(run["run_id"]))
           for run in todo}  # fmt: skip
    sums = checksums.compute([str(run["run_id"]) for run in todo])
    head = latest_chained(store, done)
    previous = None if head is None else (head.run_id, head.body)
    published = []
    for run in todo:
        ingest_date, run_id = str(run["ingest_date"]), str(run["run_id"])
        body = marker_body(run, raw[run_id], previous, sums.get(run_id, {}))
        location = store.write(ingest_date, run_id, body)
        if location is None:  # a concurrent publish wrote it: chain after what is stored
            stored = store.read(ingest_date, run_id)
            previous = (run_id, stored) if stored is not None else previous
            continue
        previous = (run_id, body)
        published.append(
            {
                "run_id": run_id,
                "marker": location,
                "marker_sha256": hashlib.sha256(body).hexdigest(),
                "metrics": run,
            }
        )
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


def publish_audited(
    dbt: str, target: str | None, target_path: Path, cwd: Path, env: dict[str, str]
) -> None:
    """`dbt run-operation publish_audited`: the published marts show what the build audited.
    Its target path is P/publish (the build's run_results.json stays), starting from the build's
    saved parse (dbt reparses when it does not match, e.g. when only one names --target).
    ``target``: the profile's target, None for its default."""
    try:
        run_dbt(
            ["run-operation", PUBLISH_OPERATION],
            what=PUBLISH_OPERATION,
            dbt=dbt,
            target=target,
            target_path=target_path / "publish",
            cwd=cwd,
            env=env,
        )
    except DbtFailed as error:
        raise PublishRefused(str(error)) from error


def local_dbt_env(lake_root: Path) -> tuple[dict[str, str], str | None]:
    """The environment and profile target under which dbt opens the warehouse of ``lake_root``:
    LAKE_ROOT as given, and DBT_DUCKDB_PATH only when it names the same file (else the profile
    would render differently and dbt parse the project anew); target None (the profile's
    default) unless $DBT_TARGET names another than duckdb."""
    warehouse = lake_root / "warehouse.duckdb"
    env = {**os.environ, "LAKE_ROOT": str(lake_root)}
    other_path = env.get("DBT_DUCKDB_PATH")
    if other_path and Path(other_path).resolve() != warehouse.resolve():
        env["DBT_DUCKDB_PATH"] = str(warehouse.resolve())
    target = None if env.get("DBT_TARGET", "duckdb") == "duckdb" else "duckdb"
    return env, target


def publish(lake_root: Path, target_path: Path, dbt: str | None = None) -> list[dict[str, Any]]:
    """Local publication (DuckDB warehouse under ``lake_root``)."""
    import duckdb

    if not lake_root.is_dir():
        raise LakeRootMissing(missing_lake_message(lake_root))
    check_build(target_path)
    warehouse = lake_root / "warehouse.duckdb"
    if not warehouse.is_file():
        raise PublishRefused(f"{warehouse}: no warehouse")
    env, target = local_dbt_env(lake_root)
    dbt = dbt or default_dbt()
    publish_audited(dbt, target, target_path, Path.cwd(), env)
    processed = lake_root / "processed" / "transactions"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        export_parquet(con, processed)
        runs = DuckDBMetrics(con).run_metrics()
    # dbt opens the warehouse itself: only once this process has closed it
    checksums = MartChecksums(dbt, target, target_path / "publish", Path.cwd(), env)
    published = write_markers(runs, LocalMarkers(processed), checksums)
    write_published_copy(lake_root)  # what show and report read while a build runs
    return published


def publish_s3(
    uri: str, target_path: Path, sse: str, kms_key_id: str | None, dbt: str | None = None
) -> list[dict[str, Any]]:
    """Production publication: the published views, then metrics from Athena, markers on S3."""
    import boto3

    check_build(target_path)
    relation = metrics_relation(target_path / "manifest.json")
    dbt = dbt or default_dbt()
    env = dict(os.environ)
    publish_audited(dbt, "athena", target_path, PROJECT, env)
    work_group = os.environ.get("ATHENA_WORK_GROUP") or "primary"
    metrics = AthenaMetrics(
        boto3.session.Session().client("athena"),
        relation,
        work_group,
        os.environ.get("ATHENA_S3_STAGING_DIR") or None,
    )
    checksums = MartChecksums(dbt, "athena", target_path / "publish", PROJECT, env)
    return write_markers(metrics.run_metrics(), S3Markers(uri, sse, kms_key_id), checksums)


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
    failure_types: tuple[type[Exception], ...] = (PublishRefused, ChainError, OSError, ValueError)
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
