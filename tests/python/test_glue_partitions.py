"""The S3 loader registers each run's partition in the raw Glue tables (lakehouse.glue_catalog).

Glue and S3 are moto's server on 127.0.0.1 over HTTP (tests/python/s3_stand_in.py); the tables
are created through the Glue API the way Athena's DDL (macros/raw/athena_raw_relations.sql) does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from s3_stand_in import S3StandIn, s3_fixture, s3_server_fixture  # noqa: F401

from lakehouse import glue_catalog

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "land_csv.py"
DATABASE = "transactions_raw"
HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
GOOD = (HEADER + "T-0001,ACC001,300.00,EUR,2024-01-05T09:00:00Z\n").encode()
OTHER = (HEADER + "T-0002,ACC002,-25.50,EUR,2024-02-29 12:00:00\n").encode()
TEXT_FORMAT = {
    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
}


def raw_uri(s3: S3StandIn) -> str:
    return f"s3://{s3.bucket}/lake/raw/transactions/"


def sidecar_uri(s3: S3StandIn, folder: str) -> str:
    """A folder beside raw/transactions/ (Athena's line index and manifest copies)."""
    return f"s3://{s3.bucket}/lake/raw/{folder}/"


def glue(s3: S3StandIn) -> Any:
    return boto3.session.Session().client("glue")


def create_tables(s3: S3StandIn) -> None:
    """The raw tables as the DDL creates them, plus a view and a table elsewhere (not raw)."""
    client = glue(s3)
    client.create_database(DatabaseInput={"Name": DATABASE})

    def table(name: str, second_key: str, serde: str, location: str) -> None:
        client.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "PartitionKeys": [
                    {"Name": "ingest_date", "Type": "string"},
                    {"Name": second_key, "Type": "string"},
                ],
                "StorageDescriptor": {
                    "Columns": [{"Name": "line_text", "Type": "string"}],
                    "Location": location,
                    "SerdeInfo": {"SerializationLibrary": serde},
                    **TEXT_FORMAT,
                },
            },
        )

    lazy = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    table("transaction_files", "run_id", lazy, raw_uri(s3))
    table("transaction_manifest_files", "run_key", "org.openx.data.jsonserde.JsonSerDe",
          sidecar_uri(s3, "transaction_manifests").rstrip("/"))  # fmt: skip
    table("elsewhere", "run_id", lazy, f"s3://{s3.bucket}/other/")
    table("nested", "run_id", lazy, f"{raw_uri(s3)}nested/")
    client.create_table(
        DatabaseName=DATABASE,
        TableInput={"Name": "transaction_lines", "TableType": "VIRTUAL_VIEW"},
    )


def land(s3: S3StandIn, *files: Path, env: dict[str, str] | None = None) -> Any:
    command = [sys.executable, str(SCRIPT), "--s3-uri", f"s3://{s3.bucket}/lake"]
    command += ["--glue-database", DATABASE, *map(str, files)]
    return subprocess.run(
        command, capture_output=True, text=True, env=env or s3.env, check=False, timeout=120
    )


def partitions(s3: S3StandIn, table: str) -> list[tuple[list[str], str]]:
    found = glue(s3).get_partitions(DatabaseName=DATABASE, TableName=table)["Partitions"]
    return sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in found)


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def expected(
    s3: S3StandIn, record: dict[str, Any], folder: str = "transactions"
) -> tuple[list[str], str]:
    """The run's partition: values and location under the table's own folder."""
    ingest_date, run_id = glue_catalog.run_of_data_path(record["path"])
    location = f"{sidecar_uri(s3, folder)}ingest_date={ingest_date}/run_id={run_id}/"
    return [ingest_date, run_id], location


def test_landed_runs_are_registered_in_every_raw_table_idempotently(
    s3: S3StandIn, tmp_path: Path
) -> None:
    create_tables(s3)
    result = land(s3, write(tmp_path / "a.csv", GOOD), write(tmp_path / "b.csv", OTHER))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in records] == ["landed", "landed"]

    want = sorted(expected(s3, r) for r in records)
    assert partitions(s3, "transaction_files") == want
    # a table over a folder beside the raw files gets the run's prefix in that folder, where
    # the loader wrote what that table reads
    copies = sorted(expected(s3, r, "transaction_manifests") for r in records)
    assert partitions(s3, "transaction_manifest_files") == copies
    for _, location in copies:
        assert s3.list_keys(location.removeprefix(f"s3://{s3.bucket}/"))
    assert partitions(s3, "elsewhere") == []
    assert partitions(s3, "nested") == []
    stored = glue(s3).get_partitions(DatabaseName=DATABASE, TableName="transaction_manifest_files")
    serde = stored["Partitions"][0]["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert serde == "org.openx.data.jsonserde.JsonSerDe"  # the table's own descriptor

    again = land(s3, write(tmp_path / "c.csv", GOOD))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "skipped"
    assert partitions(s3, "transaction_files") == want


def test_a_glue_failure_is_reported_and_a_rerun_repairs_it(s3: S3StandIn, tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", GOOD)
    glue(s3).create_database(DatabaseInput={"Name": DATABASE})  # but no tables yet

    failed = land(s3, source)
    assert failed.returncode == 1
    record = json.loads(failed.stdout)
    assert record["status"] == "error" and record["run_id"]
    assert f"run {record['run_id']} is landed" in failed.stderr
    assert "no external table" in failed.stderr
    manifests = [k for k in s3.list_keys("lake/raw/transactions/") if k.endswith("_manifest.json")]
    assert len(manifests) == 1  # the data stays committed

    glue(s3).delete_database(Name=DATABASE)
    create_tables(s3)
    repaired = land(s3, source)
    assert repaired.returncode == 0, repaired.stderr
    assert json.loads(repaired.stdout)["status"] == "skipped"
    assert partitions(s3, "transaction_files") == [expected(s3, record)]
    assert partitions(s3, "transaction_manifest_files") == [
        expected(s3, record, "transaction_manifests")
    ]


def test_without_a_glue_database_nothing_is_registered(s3: S3StandIn, tmp_path: Path) -> None:
    create_tables(s3)
    command = [sys.executable, str(SCRIPT), "--s3-uri", f"s3://{s3.bucket}/lake"]
    result = subprocess.run(
        [*command, str(write(tmp_path / "a.csv", GOOD))],
        capture_output=True, text=True, env=s3.env, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert partitions(s3, "transaction_files") == []


def test_glue_database_needs_s3_mode(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--lake-root", str(tmp_path), "--glue-database", "x",
         str(write(tmp_path / "a.csv", GOOD))],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--glue-database: only with --s3-uri" in result.stderr


def test_a_table_over_raw_with_other_partition_keys_is_refused(s3: S3StandIn) -> None:
    client = glue(s3)
    client.create_database(DatabaseInput={"Name": DATABASE})
    client.create_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "odd",
            "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": "ingest_date", "Type": "string"}],
            "StorageDescriptor": {"Location": raw_uri(s3), **TEXT_FORMAT},
        },
    )
    catalog = glue_catalog.GluePartitions(DATABASE, raw_uri(s3), client)
    with pytest.raises(glue_catalog.CatalogError, match=r"run R1 .*odd.*partitioned by"):
        catalog.register_run("2024-01-01", "R1")


def test_a_later_landing_first_registers_the_runs_glue_lacks(s3: S3StandIn, tmp_path: Path) -> None:
    """Builds process the runs after the last one they hold: a run registered after a later one
    would be skipped forever. So the loader, under the lake's lock, registers every committed
    run the raw tables lack before it commits a new one."""
    glue(s3).create_database(DatabaseInput={"Name": DATABASE})  # no tables: registration fails
    first = land(s3, write(tmp_path / "a.csv", GOOD))
    assert first.returncode == 1
    unregistered = json.loads(first.stdout)
    assert unregistered["status"] == "error"

    glue(s3).delete_database(Name=DATABASE)
    create_tables(s3)
    later = land(s3, write(tmp_path / "b.csv", OTHER))
    assert later.returncode == 0, later.stderr
    landed = json.loads(later.stdout)
    assert landed["status"] == "landed" and landed["run_id"] > unregistered["run_id"]
    both = sorted([expected(s3, unregistered), expected(s3, landed)])
    assert partitions(s3, "transaction_files") == both
    assert [values for values, _ in partitions(s3, "transaction_manifest_files")] == [
        values for values, _ in both
    ]
