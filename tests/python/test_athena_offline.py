"""The Athena target, proven offline: parse, compile against a local AWS stand-in (moto in
server mode on 127.0.0.1, real HTTP), and every compiled statement parses as Athena SQL with no
DuckDB-only syntax left in it. No Athena query is executed here."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import sqlglot
from contract import load_contract
from dbt_harness import DBT, ROOT
from moto.server import ThreadedMotoServer
from s3_stand_in import ensure_buckets

AWS_NAMES = ("AWS_", "ATHENA_", "RAW_S3_URI")
DUCKDB_ONLY = re.compile(
    r"::|\bilike\b|\blist_(transform|extract|position)\b|\blambda\b|\bregexp_matches\b"
    r"|\bgenerate_series\b|\bstrftime\b|\bstring_split\b|\blen\(|\btry\(|\bread_csv\b"
    r"|\bstring_agg\b|\binterval\s+\d",
    re.IGNORECASE,
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(AWS_NAMES)}
    return {**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra}


def run_dbt(env: dict[str, str], target_path: Path, *args: str) -> str:
    command = [str(DBT), *args, "--profiles-dir", str(ROOT / "profiles"), "--target", "athena"]
    command += ["--project-dir", str(ROOT), "--target-path", str(target_path)]
    command += ["--log-path", str(target_path / "logs")]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def aws_stand_in() -> Iterator[dict[str, str]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    env = clean_env(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="stand-in",
        AWS_SECRET_ACCESS_KEY="stand-in",
        AWS_REGION="eu-west-1",
        AWS_DEFAULT_REGION="eu-west-1",
        ATHENA_S3_STAGING_DIR="s3://athena-results/",
        ATHENA_S3_DATA_DIR="s3://lakehouse/warehouse/",
        RAW_S3_URI="s3://lakehouse/raw/transactions/",
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="eu-west-1",
        aws_access_key_id="stand-in",
        aws_secret_access_key="stand-in",
    )
    ensure_buckets(s3, "athena-results", "lakehouse")
    yield env
    server.stop()


@pytest.fixture(scope="module")
def compiled(aws_stand_in: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("athena_target")
    run_dbt(aws_stand_in, target, "compile")
    return target / "compiled" / "transaction_lakehouse"


def test_parse_needs_no_aws_settings(tmp_path: Path) -> None:
    run_dbt(clean_env(), tmp_path, "parse")


def test_every_compiled_statement_is_athena_sql(compiled: Path) -> None:
    files = [path for path in compiled.rglob("*.sql") if path.stat().st_size]
    names = {path.name for path in files}
    assert {"stg_landing__transactions.sql", "fct_transactions.sql"} <= names
    assert "task3_month_end_balances.sql" in names
    for path in files:
        sql = path.read_text()
        assert not DUCKDB_ONLY.search(sql), f"{path.name}: DuckDB-only syntax: {sql[:200]}"
        sqlglot.parse(sql, read="athena")


def test_raw_table_ddl_is_athena_sql(aws_stand_in: dict[str, str], tmp_path: Path) -> None:
    output = run_dbt(aws_stand_in, tmp_path, "run-operation", "print_raw_ddl", "--quiet")
    statements = [part.strip() for part in output.split("\n;") if part.strip()]
    assert len(statements) == 8
    assert any("create external table" in s and "transaction_files" in s for s in statements)
    [csv_table] = [s for s in statements if "transactions_csv_files (" in s]
    columns = re.findall(r"^\s+(\w+) string,?$", csv_table.split("partitioned by")[0], re.M)
    assert columns == list(load_contract().column_names)
    assert "OpenCSVSerde" in csv_table and "'skip.header.line.count' = '1'" in csv_table
    [lines_view] = [s for s in statements if "view transactions_raw.transaction_lines " in s]
    assert "from transactions_raw.transaction_line_index" in lines_view
    assert "row_number()" not in lines_view
    for statement in statements:
        assert not DUCKDB_ONLY.search(statement), statement
        sqlglot.parse_one(statement, read="athena")


def test_fct_transactions_is_an_iceberg_merge(tmp_path: Path) -> None:
    output = run_dbt(
        clean_env(),
        tmp_path,
        "ls",
        "--select",
        "fct_transactions",
        "--resource-type",
        "model",
        "--output",
        "json",
        "--output-keys",
        "config",
        "--quiet",
    )
    config = json.loads(output.strip().splitlines()[-1])["config"]
    assert config["materialized"] == "incremental"
    assert config["incremental_strategy"] == "merge"
    assert config["table_type"] == "iceberg"
    assert config["partitioned_by"] == ["month(transaction_ts)"]
