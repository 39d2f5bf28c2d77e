"""`dbt build --target athena` on real Trino: the fixture files landed in S3 with the real loader
(partitions registered in Glue), built twice on the local Athena (tests/python/athena_stand_in.py:
moto for STS, Glue and S3; each query run by Trino 476 on Iceberg and Hive tables in that Glue and
S3) with a batch landed in between (Iceberg merge and the incremental paths), give the same marts,
row for row, as the DuckDB target built from the same files. It is not Athena itself (see the
stand-in's limits in its docstring and docs/athena.md)."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from athena_stand_in import AthenaStandIn
from dbt_harness import DBT, FIXTURES, LOADER, PRODUCTION_BUILD_FLAGS, ROOT, Lake
from parity import normalized
from s3_stand_in import _CLEARED_ENV as CLEARED_ENV

from lakehouse import land as land_csv
from lakehouse import landing as lake_landing
from lakehouse import landing_s3 as lake_landing_s3
from lakehouse.contract import load_contract

BATCHES = sorted((FIXTURES / "batches").glob("batch_*.csv"))
HOSTILE = sorted((FIXTURES / "hostile").glob("*.csv"))
FIRST, SECOND = [*BATCHES[:2], *HOSTILE], BATCHES[2:]
MARTS = ("fct_transactions", "fct_quarantined_records", "fct_month_end_balances")
PUBLISHED = (
    *MARTS,
    "fct_run_metrics",
    "fct_month_end_balance_history",
    "fct_quarantine_lifecycle",
)
BUCKET = "lakehouse"
ALL_RUNS = "{check_all_runs: true}"
PUBLISH = ROOT / "scripts" / "publish.py"


pytestmark = pytest.mark.xdist_group("trino")


def lake_prefix(schema: str) -> str:
    """The lake's prefix in the bucket: the first test's at the root, others beside it."""
    return "" if schema == "lake" else f"{schema}/"


def athena_env(stand_in: AthenaStandIn, home: Path, schema: str = "lake") -> dict[str, str]:
    return stand_in.process_env(
        home,
        ATHENA_S3_STAGING_DIR="s3://athena-results/",
        ATHENA_S3_DATA_DIR=f"s3://{BUCKET}/{schema}-warehouse/",
        ATHENA_SCHEMA=schema,
        RAW_S3_URI=f"s3://{BUCKET}/{lake_prefix(schema)}raw/transactions/",
    )


def land_s3(env: dict[str, str], files: list[Path], *, glue: bool = True) -> None:
    """Lands as `make prod` does: into S3, registering the runs' partitions in Glue (unless
    ``glue`` is false)."""
    args = land_s3_args(env)
    command = [sys.executable, str(LOADER), *(args if glue else args[:2]), *map(str, files)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def land_s3_args(env: dict[str, str]) -> list[str]:
    schema = env["ATHENA_SCHEMA"]
    return ["--s3-uri", f"s3://{BUCKET}/{lake_prefix(schema)}", "--glue-database", f"{schema}_raw"]


def loader_in_process(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Points this process at the stand-in's S3 and Glue (env's AWS_ and RAW_ settings, no other
    AWS profile), until the test ends: for tests that run the loader in-process, with its
    landing clock patched."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", *CLEARED_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if name.startswith(("AWS_", "RAW_")):
            monkeypatch.setenv(name, value)


def dbt_athena(
    stand_in: AthenaStandIn, env: dict[str, str], target: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    stand_in.failures.clear()
    command = [str(DBT), *args, "--target", "athena", "--profiles-dir", str(ROOT / "profiles")]
    command += ["--project-dir", str(ROOT), "--target-path", str(target)]
    command += ["--log-path", str(target / "logs")]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, result.stdout[-6000:] + "\n".join(stand_in.failures)[-4000:]
    return result


def publish_s3(stand_in: AthenaStandIn, env: dict[str, str], target: Path) -> Any:
    """`make prod`'s last step: publish.py --s3-uri (publish_audited, then the markers), for
    the lake of env's schema (the markers chain its raw files)."""
    stand_in.failures.clear()
    uri = f"s3://{BUCKET}/{lake_prefix(env['ATHENA_SCHEMA'])}"
    command = [sys.executable, str(PUBLISH), "--s3-uri", uri]
    command += ["--target-path", str(target)]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)


def published(stand_in: AthenaStandIn, database: str) -> dict[str, list]:
    """The consumer-facing marts in a database (`<schema>_published`: what consumers read;
    `<schema>_marts`: what the build wrote and tested), rows sorted."""
    return {mart: sorted(athena_table(stand_in, database, mart)[1], key=repr) for mart in PUBLISHED}


def s3_keys(stand_in: AthenaStandIn, prefix: str) -> list[str]:
    pages = stand_in.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def manifest_of(stand_in: AthenaStandIn, run_id: str) -> dict[str, Any]:
    """The loader's _manifest.json of a run, read from S3."""
    pages = stand_in.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    [key] = [
        obj["Key"]
        for page in pages
        for obj in page.get("Contents", [])
        if obj["Key"].endswith(f"/run_id={run_id}/_manifest.json")
    ]
    return json.loads(stand_in.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def athena_table(stand_in: AthenaStandIn, schema: str, name: str) -> tuple[list[str], list]:
    return stand_in.query(f'select * from awsdatacatalog."{schema}"."{name}"')


def assert_marts_equal(athena: AthenaStandIn, schema: str, local: Lake) -> None:
    """Every mart of the Athena build equals the DuckDB build's, row for row (audit and landing
    columns aside, runs matched by file name)."""
    runs = "select run_id, file_name from {}.transaction_manifests"
    s3_runs = dict(athena.query(runs.format(f"{schema}_raw"))[1])
    local_runs = dict(local.query(runs.format("main_raw")))
    for mart in (*MARTS, "fct_run_metrics"):
        names, rows = athena_table(athena, f"{schema}_marts", mart)
        local_names = [
            r[0] for r in local.query(f"select column_name from (describe main_marts.{mart})")
        ]
        assert names == local_names, mart
        expected = local.query(f"select * from main_marts.{mart}")
        assert rows, f"{mart} is empty on the stand-in"
        assert normalized(rows, names, s3_runs) == normalized(expected, names, local_runs), mart


def test_athena_build_equals_duckdb(athena: AthenaStandIn, tmp_path: Path) -> None:
    env = athena_env(athena, tmp_path / "aws-home")
    local = Lake(tmp_path / "lake")
    target = tmp_path / "athena-target"
    # as `make prod` runs: the raw tables first, then the loader registers each run in them
    dbt_athena(athena, env, target, "run-operation", "create_raw_relations")
    # Defect 7: a run landed without its Glue partition (here: without --glue-database; in
    # production a Glue error after the commit) between runs that have theirs. The next landing
    # registers it before its own run, so no build moves the run_id watermark past it unread.
    unregistered = FIRST.index(HOSTILE[0])
    land_s3(env, FIRST[:unregistered])
    land_s3({**env, "RAW_GLUE_DATABASE": ""}, [FIRST[unregistered]], glue=False)
    # Write, audit, publish: the second batch comes with a file whose quarantine rate, with
    # alert_severity error, fails an error-severity test after the models wrote its rows.
    rejected = tmp_path / "in" / "mostly_rejected.csv"
    rejected.parent.mkdir()
    header = BATCHES[0].read_text(encoding="utf-8").splitlines()[0]
    rows = ["T-9001,ACC009,1.00,EUR,2024-03-01T10:00:00Z", "T-9002,ACC009,2.00,XYZ,2024-03-01"]
    rejected.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    second = [*SECOND, rejected]
    for still_to_land, files in ((FIRST[unregistered + 1 :], FIRST), (second, second)):
        land_s3(env, still_to_land)
        with ThreadPoolExecutor(max_workers=1) as pool:  # the DuckDB build alongside
            local_build = pool.submit(lambda files=files: (local.land(*files), local.build()))
            if files is FIRST:  # as `make prod` builds: the unit tests run on DuckDB
                dbt_athena(athena, env, target, "build", *PRODUCTION_BUILD_FLAGS)
                published_first = publish_s3(athena, env, target)
                assert published_first.returncode == 0, published_first.stderr[-3000:]
                before = published(athena, "lake_published")
                assert before == published(athena, "lake_marts")
            else:
                failed = dbt_athena(
                    athena, env, target, "build", *PRODUCTION_BUILD_FLAGS,
                    "--vars", "{alert_severity: error}", check=False,
                )  # fmt: skip
                assert failed.returncode == 1, failed.stdout[-3000:]
                assert "quarantine_rate_at_most" in failed.stdout
            local_build.result()

    # The failed build wrote the marts (the audit area); consumers still see the first build's
    # snapshots, and publishing refuses (no view moves, no marker for the new runs).
    _, [[landed]] = athena.query("select count(*) from lake_raw.transaction_manifests")
    _, [[built]] = athena.query("select count(*) from lake_marts.fct_run_metrics")
    assert built == landed > len(before["fct_run_metrics"])
    refused = publish_s3(athena, env, target)
    assert refused.returncode == 1 and "the build failed" in refused.stderr, refused.stderr
    assert published(athena, "lake_published") == before
    assert published(athena, "lake_marts") != before
    markers = [k for k in s3_keys(athena, "processed/transactions/") if k.endswith("/_SUCCESS")]
    assert len(markers) == len(before["fct_run_metrics"])
    # The alert acknowledged (back to warn): the next build passes; publishing moves every view
    # to the new snapshot (and only then vacuums the marts, whose snapshots the views pinned).
    dbt_athena(athena, env, target, "build", *PRODUCTION_BUILD_FLAGS)
    published_again = publish_s3(athena, env, target)
    assert published_again.returncode == 0, published_again.stderr[-3000:]
    after = published(athena, "lake_published")
    assert after == published(athena, "lake_marts")
    assert len(after["fct_run_metrics"]) == landed
    markers = [k for k in s3_keys(athena, "processed/transactions/") if k.endswith("/_SUCCESS")]
    assert len(markers) == landed
    # The chain: each marker's mart checksums were computed on Trino (dbt show of
    # chain_checksums over the published views); verify recomputes them there and rereads
    # every raw file and marker from S3.
    records = [
        json.loads(athena.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) for key in markers
    ]
    for record in records:
        checksums = record["mart_checksums"]
        assert checksums["fct_transactions"]["rows"] == record["valid_rows"]
        assert checksums["fct_quarantined_records"]["rows"] == record["quarantined_rows"]
        assert record["raw_sha256"] == manifest_of(athena, record["run_id"])["sha256"]
    assert [r["previous_run_id"] for r in records] == [None] + [r["run_id"] for r in records[:-1]]
    command = [sys.executable, "-m", "lakehouse", "verify", "--s3-uri", f"s3://{BUCKET}/"]
    command += ["--target-path", str(target)]
    verified = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr[-3000:]
    assert f"ok: {landed} chained markers" in verified.stdout
    _, [[views]] = athena.query(
        "select count(*) from awsdatacatalog.information_schema.views"
        " where table_schema = 'lake_published' and view_definition like '%FOR VERSION AS OF%'"
    )
    assert views == len(PUBLISHED)

    # Every incremental Iceberg table was compacted and vacuumed: dbt-athena ran each hook again
    # after Athena's ICEBERG_..._MORE_RUNS_NEEDED (each table's first one answers so).
    housekeeping = [q for q in athena.history if re.match(r"\s*(optimize|vacuum)", q.sql, re.I)]
    retried = {q.sql for q in housekeeping if "_MORE_RUNS_NEEDED" in str(q.error)}
    done = {q.sql for q in housekeeping if q.state == "SUCCEEDED"}
    assert len(retried) >= 2 * 6 and retried <= done
    merges = [q for q in athena.history if re.search(r"^\s*merge into", q.sql, re.M | re.I)]
    assert merges and all(q.state == "SUCCEEDED" for q in merges), "second build merged"
    s3_runs = dict(
        athena.query("select run_id, file_name from awsdatacatalog.lake_raw.transaction_manifests")[
            1
        ]
    )
    local_runs = dict(local.query("select run_id, file_name from main_raw.transaction_manifests"))
    assert sorted(s3_runs.values()) == sorted(local_runs.values())
    # Landing moments keep the manifest's microseconds on Athena too.
    _, landed = athena.query("select run_id, landed_at from lake_raw.transaction_manifests")
    for run_id, landed_at in landed:
        manifest = manifest_of(athena, run_id)
        assert landed_at == datetime.fromisoformat(manifest["landed_at"]).replace(tzinfo=None)
    # The raw layer: Athena's lines (from the loader's line index) are DuckDB's, file by file.
    names = ["run_id", "source_file", "line_number", "line_text", "is_readable", "may_span_lines",
             "line_length"]  # fmt: skip
    lines = f"select {', '.join(names)} from"
    _, athena_lines = athena.query(f"{lines} awsdatacatalog.lake_raw.transaction_lines")
    local_lines = local.query(f"{lines} main_raw.transaction_lines")
    assert len(local_lines) > 100
    assert normalized(athena_lines, names, s3_runs) == normalized(local_lines, names, local_runs)
    # The audit table over the CSV files has the contract's columns (OpenCSVSerDe stand-in).
    columns = ", ".join(load_contract().column_names)
    _, audit = athena.query(
        f"select {columns} from awsdatacatalog.lake_raw.transactions_csv"
        " where source_file = 'batch_1.csv'"
    )
    with open(BATCHES[0], newline="", encoding="utf-8") as batch:
        assert sorted(audit) == sorted(tuple(row) for row in list(csv.reader(batch))[1:])
    assert_marts_equal(athena, "lake", local)
    # An operator's acknowledgement, written to S3 by the command, is read by Athena's raw table,
    # and the alerts with it judge every run (check_all_runs) on Trino.
    run_id = min(s3_runs)
    command = [sys.executable, "-m", "lakehouse", "acknowledge"]
    command += ["--s3-uri", f"s3://{BUCKET}/", "--alert", "volume", "--run-id", run_id]
    command += ["--by", "ops", "--reason", "known burst"]
    acknowledged = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert acknowledged.returncode == 0, acknowledged.stderr
    location = json.loads(acknowledged.stdout)["location"]
    assert location.startswith(f"s3://{BUCKET}/acknowledgements/{run_id}.volume.")
    dbt_athena(athena, env, target, "test", "--select", "fct_run_metrics", "--vars", ALL_RUNS)
    _, acknowledgements = athena.query(
        "select alert, run_id, acknowledged_by, reason, file_name"
        " from awsdatacatalog.lake_raw.alert_acknowledgements"
    )
    assert acknowledgements == [("volume", run_id, "ops", "known burst", location.split("/")[-1])]


def test_stand_in_translates_only_athena_statements(athena: AthenaStandIn) -> None:
    """Athena-only statements are translated (Iceberg CTAS properties, Hive DDL, OPTIMIZE and
    VACUUM); everything else reaches Trino unchanged, with Trino's semantics and Athena's result
    type names; a query with two statements fails as on Athena."""
    setup = [
        "create database if not exists drift",
        "create table drift.t with (table_type='iceberg', is_external=false,"
        " location='s3://lakehouse/drift/', partitioning=ARRAY['month(ts)'])"
        " as select date '2024-02-10' as d, timestamp '2024-02-10 10:00:00.123456' as ts,"
        " 7 as a, cast(1.5 as decimal(18, 2)) as x",
        "alter table `drift`.`t` add columns (`b` string)",
    ]
    for sql in setup:
        query = athena.run(sql, "drift")
        assert query.state == "SUCCEEDED", query.error
    sql = (
        "select a / 2, -a / 2, regexp_extract('abc', '([0-9]+)', 1), date_trunc('month', d),"
        " ts, x, b from drift.t cross join unnest(sequence(1, 3)) as s (n)"
    )
    query = athena.run(sql, "drift")
    assert query.state == "SUCCEEDED", query.error
    assert query.trino_sql == [sql]
    assert [c["Type"] for c in query.columns] == [
        "integer", "integer", "varchar", "date", "timestamp", "decimal", "varchar",
    ]  # fmt: skip
    row = ("3", "-3", None, "2024-02-01", "2024-02-10 10:00:00.123456", "1.50", None)
    assert query.rows == [row] * 3
    glue = athena.glue.get_table(DatabaseName="drift", Name="t")["Table"]
    assert glue["Parameters"]["table_type"].upper() == "ICEBERG"
    for housekeeping in ("optimize drift.t rewrite data using bin_pack", "vacuum drift.t"):
        first, again = athena.run(housekeeping, "drift"), athena.run(housekeeping, "drift")
        assert first.state == "FAILED" and "_MORE_RUNS_NEEDED" in str(first.error)
        assert again.state == "SUCCEEDED", again.error
    two = athena.run("select 1; select 2", "drift")
    assert two.state == "FAILED"
    catalog = athena.run("vacuum awsdatacatalog.drift.t", "drift")
    assert catalog.state == "FAILED" and "AthenaRefuses" in str(catalog.error)
    missing = athena.run("alter table t add columns (c string)", "no_such_database")
    assert missing.state == "FAILED" and "Database does not exist" in str(missing.error)


def test_stand_in_processes_share_botocore_models(athena: AthenaStandIn) -> None:
    """The processes the stand-in's environment starts load botocore's models once, not once per
    boto3 session (dbt-athena opens one per node); a loader of other paths keeps its own."""
    code = (
        "import boto3, botocore.loaders as l\n"
        "a, b = boto3.session.Session()._loader, boto3.session.Session()._loader\n"
        "other = l.Loader(extra_search_paths=['/nonexistent'])\n"
        "print(a is not b, a._cache is b._cache, other._cache is not a._cache)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **athena.env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == ["True", "True", "True"], result.stderr


def test_writes_of_more_than_100_partitions(
    athena: AthenaStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first build over more than 100 landing days (partitions of the ingest_date tables) and
    more than 100 transaction months (fct_transactions): Trino, like Athena, opens at most 100
    partition writers per write, and dbt-athena's batching takes over; the marts equal DuckDB's.
    The loader's clock is the only thing changed: each file lands on a day of its own."""
    days, months = 102, 120
    files = []
    for day in range(days):
        rows = []
        for k in range(2):
            n = 2 * day + k
            month = datetime(2010 + (n % months) // 12, 1 + (n % months) % 12, 15, 9, 30)
            rows.append(f"T{n:05d},ACC{n % 7:03d},{n}.25,EUR,{month:%Y-%m-%dT%H:%M:%S}Z")
        if day == 0:
            rows.append("T99999,ACC001,1.00,XYZ,2010-01-15T09:30:00Z")  # quarantined
            rows.append("T99998,ACC\\7,2.00,EUR,2010-02-15T09:30:00Z")  # a backslash
        path = tmp_path / "in" / f"day_{day:03d}.csv"
        path.parent.mkdir(exist_ok=True)
        header = BATCHES[0].read_text(encoding="utf-8").splitlines()[0]  # the contract's header
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        files.append(path)
    env = athena_env(athena, tmp_path / "aws-home", schema="wide")
    target = tmp_path / "athena-target"
    dbt_athena(athena, env, target, "run-operation", "create_raw_relations")
    loader_in_process(monkeypatch, env)
    local = Lake(tmp_path / "lake")
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    for lake_args in (land_s3_args(env), ["--lake-root", str(local.root)]):
        moments = iter([start + timedelta(days=day) for day in range(days)])
        for module in (lake_landing, lake_landing_s3):
            monkeypatch.setattr(module, "_landing_moment", lambda _, m=moments: next(m))
        assert land_csv.main([*lake_args, *map(str, files)]) == 0
    local.build()
    dbt_athena(athena, env, target, "build", *PRODUCTION_BUILD_FLAGS)

    partitions = 'select count(*) from {}."{}$partitions"'
    _, [[landing_days]] = athena.query(
        partitions.format("wide_staging", "base_landing__transaction_lines")
    )
    assert landing_days == days
    _, [[fct_months]] = athena.query(partitions.format("wide_marts", "fct_transactions"))
    assert fct_months == months
    assert_marts_equal(athena, "wide", local)
    # The audit table over the files keeps every character (OpenCSVSerDe's escape is U+0001).
    _, [[account]] = athena.query(
        "select customer_id from wide_raw.transactions_csv where transaction_id = 'T99998'"
    )
    assert account == "ACC\\7"


def test_raw_tables_of_an_earlier_release_get_the_new_columns(
    athena: AthenaStandIn, tmp_path: Path
) -> None:
    """`create external table if not exists` keeps a raw table an earlier release created: the
    columns added since (the loader's line count, a line's full length) are added to it, and the
    views over it read them."""
    schema = "upgrade"
    env = athena_env(athena, tmp_path / "aws-home", schema=schema)
    raw = f"s3://{BUCKET}/{schema}/raw/"
    for sql in (
        f"create database if not exists {schema}_raw",
        f"create external table {schema}_raw.transaction_manifest_files ("
        "run_id string, landed_at string, source_path string, file_name string, bytes bigint,"
        " sha256 string, line_count bigint, header string, header_matches_contract boolean,"
        " header_fingerprint string, utf8_valid boolean, contains_soh boolean,"
        " odd_quote_lines bigint, contract_version string)"
        " partitioned by (ingest_date string, run_key string)"
        " row format serde 'org.openx.data.jsonserde.JsonSerDe'"
        f" location '{raw}transaction_manifests/'",
        f"create external table {schema}_raw.transaction_line_index ("
        "line_number bigint, line_text string, is_readable boolean)"
        " partitioned by (ingest_date string, run_id string)"
        " row format serde 'org.openx.data.jsonserde.JsonSerDe'"
        f" location '{raw}transaction_line_index/'",
    ):
        query = athena.run(sql, f"{schema}_raw")
        assert query.state == "SUCCEEDED", query.error
    dbt_athena(athena, env, tmp_path / "target", "run-operation", "create_raw_relations")
    _, columns = athena.query(
        "select table_name, column_name from awsdatacatalog.information_schema.columns"
        f" where table_schema = '{schema}_raw'"
        " and column_name in ('physical_lines', 'line_length')"
    )
    assert sorted(columns) == [
        ("transaction_line_index", "line_length"),
        ("transaction_lines", "line_length"),
        ("transaction_manifest_files", "physical_lines"),
        ("transaction_manifests", "physical_lines"),
    ]


def test_quarantine_lifecycle_on_athena(athena: AthenaStandIn, tmp_path: Path) -> None:
    """The quarantine's lifecycle on the Athena target (Trino): decisions written to S3 by
    `lakehouse quarantine decide --s3-uri` are read by the raw CSV table (a quoted reason with a
    comma and doubled quotes included), a correcting file resolves records (incremental merge
    of fct_quarantine_lifecycle), the open-items view counts whole days and its alert runs,
    and the lifecycle is published as a view over its Iceberg snapshot."""
    from test_quarantine_lifecycle import BAD, FIX, write

    schema = "quar"
    env = athena_env(athena, tmp_path / "aws-home", schema=schema)
    target = tmp_path / "athena-target"
    inbox = tmp_path / "in"
    inbox.mkdir()
    dbt_athena(athena, env, target, "run-operation", "create_raw_relations")
    land_s3(env, [write(inbox / "orders.csv", BAD)])
    dbt_athena(athena, env, target, "build", *PRODUCTION_BUILD_FLAGS)
    _, [[bad_run]] = athena.query(f"select run_id from {schema}_raw.transaction_manifests")
    reason = 'sender: "as is", fine'
    for line, action, why in ((5, "waive", reason), (6, "condemn", "test record")):
        command = [sys.executable, "-m", "lakehouse", "quarantine", "decide"]
        command += ["--s3-uri", f"s3://{BUCKET}/{schema}/", "--run-id", bad_run]
        command += ["--line", str(line), "--action", action, "--by", "ops", "--reason", why]
        decided = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert decided.returncode == 0, decided.stderr
        location = json.loads(decided.stdout)["location"]
        assert location.startswith(f"s3://{BUCKET}/{schema}/decisions/quarantine/")
    land_s3(env, [write(inbox / "orders_fixed.csv", FIX)])
    dbt_athena(athena, env, target, "build", *PRODUCTION_BUILD_FLAGS)

    _, decisions = athena.query(
        f"select line_number, action, decided_by, reason from {schema}_raw.quarantine_decisions"
        " order by line_number"
    )
    assert decisions == [("5", "waive", "ops", reason), ("6", "condemn", "ops", "test record")]
    _, [[fixed_run]] = athena.query(
        f"select run_id from {schema}_raw.transaction_manifests"
        " where file_name = 'orders_fixed.csv'"
    )
    _, lifecycle = athena.query(
        "select line_number, status, resolved_by_run_id, resolved_by_source_file,"
        " resolved_by_line_number, decision, decision_reason, owner, decision_count"
        f" from {schema}_marts.fct_quarantine_lifecycle order by line_number"
    )
    assert lifecycle == [
        (3, "resolved", fixed_run, "orders_fixed.csv", 3, None, None, "data-quality", 0),
        (4, "resolved", fixed_run, "orders_fixed.csv", 2, None, None, "data-quality", 0),
        (5, "waived", None, None, None, "waive", reason, "data-quality", 1),
        (6, "condemned", None, None, None, "condemn", "test record", "data-quality", 1),
    ]
    # reopen: open again, in the view (age 0 whole days) and named by the alert
    command = [sys.executable, "-m", "lakehouse", "quarantine", "decide"]
    command += ["--s3-uri", f"s3://{BUCKET}/{schema}/", "--run-id", bad_run, "--line", "5"]
    command += ["--action", "reopen", "--by", "ops", "--reason", "disputed"]
    reopened = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert reopened.returncode == 0, reopened.stderr
    built = dbt_athena(
        athena, env, target, "build", *PRODUCTION_BUILD_FLAGS,
        "--vars", "{quarantine_max_open_days: 0}",
    )  # fmt: skip
    assert f"alert quarantine_open (warn): run {bad_run} (file orders.csv): line_number=5" in (
        built.stdout
    )
    _, open_items = athena.query(
        f"select line_number, age_days, is_reopened from {schema}_marts.fct_quarantine_open_items"
    )
    assert open_items == [(5, 0, True)]
    published_run = publish_s3(athena, env, target)
    assert published_run.returncode == 0, published_run.stderr[-3000:]
    assert sorted(athena_table(athena, f"{schema}_published", "fct_quarantine_lifecycle")[1]) == (
        sorted(athena_table(athena, f"{schema}_marts", "fct_quarantine_lifecycle")[1])
    )


# Rows of every type the chain's checksums read, with the values where engines could differ:
# non-ASCII text, a separator inside a value, NULLs, negative and zero decimals, microseconds,
# the floor of business time; each row 40 times over (column k), so that the sum passes 2^60.
CHECKSUM_PARITY_SQL = """
{%- set entry = {'run_column': 'k', 'columns': ['label', 'amount', 'ts', 'day', 'n', 'k'],
                 'timestamp_columns': ['ts']} -%}
with

given as (
    select * from (
        values
        ('T-0001', cast(300.00 as decimal(18, 2)), timestamp '2024-01-05 09:00:00.000000',
         date '2024-01-05', cast(1 as bigint)),
        ('é|label=3:ü', cast(-0.05 as decimal(18, 2)), timestamp '1970-01-01 00:00:00.123456',
         null, cast(-7 as bigint)),
        (null, cast(0 as decimal(18, 2)), null, date '2099-12-31', null)
    ) as rows (label, amount, ts, day, n)
    cross join (
        values {% for k in range(40) %}({{ k }}){{ ', ' if not loop.last }}{% endfor %}
    ) as copies (k)
),

texts as (
    select {{ chain_value_texts(entry) }} from given
),

hashed as (
    select cast({{ md5_prefix_60(chain_row_text(entry)) }} as decimal(38, 0)) as h from texts
)

select
    cast(count(*) as varchar) as row_count,
    cast(sum(h) as varchar) as total,
    {{ decimal_as_hex('sum(h)') }} as checksum,
    {{ decimal_as_hex('min(h)') }} as smallest
from hashed
"""


def test_mart_checksums_are_the_same_on_duckdb_and_trino(
    athena: AthenaStandIn, lake: Lake, tmp_path: Path
) -> None:
    """The chain's row checksum (macros/publish/chain_checksums.sql, its engine pieces in
    macros/engine/row_checksums.sql) gives the same canonical text, md5 and hex for the same rows
    on DuckDB and on Trino (the Athena target)."""
    show = ("show", "--inline", CHECKSUM_PARITY_SQL, "--output", "json", "--limit", "-1", "--quiet")
    env = athena_env(athena, tmp_path / "aws-home", schema="parity")
    answers = [
        json.loads(dbt_athena(athena, env, tmp_path / "athena-target", *show).stdout)["show"],
        json.loads(lake.dbt(*show).stdout)["show"],
    ]
    trino, duckdb_ = answers
    assert trino == duckdb_
    [row] = trino
    assert row["row_count"] == "120"
    total = int(row["total"])
    assert total > 2**60 and row["checksum"] == f"{total:x}"
