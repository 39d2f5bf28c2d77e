"""Registers a landed run's partition in the Glue Data Catalog (S3 mode of the loader).

The raw layer's external tables are defined in one place, the DDL macro
``macros/raw/athena_raw_relations.sql``; this module does not know their names. It lists the
tables of the raw Glue database, keeps every external table whose location is the raw prefix
(``s3://BUCKET/PREFIX/raw/transactions/``) or a folder beside it (Athena's line index and
manifest copies, lakehouse.landing_s3) and adds to each the partition of the run:
values (ingest_date, run_id) by position (the manifest table names its second key ``run_key``),
the table's storage descriptor, Location = the run's prefix under the table's location (the
same ``ingest_date=/run_id=`` layout in every folder). A partition that exists already is
fine, so registering again (a rerun, a skipped re-delivery) repairs what a failure left out.
New runs are thus queryable on Athena without MSCK REPAIR or a crawler.

The loader registers under the lake's lock, right after the commit, and first registers every
committed run that some raw table lacks (``register_missing``; it refuses to land when that
fails). So a registered run never has an unregistered landed run before it: incremental builds
process runs after the last one they hold, and a run registered after a later one would be
skipped forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lakehouse.landing import parse_run_time

# The StorageDescriptor fields a PartitionInput accepts (get_tables returns a few more).
_DESCRIPTOR_FIELDS = (
    "Columns",
    "InputFormat",
    "OutputFormat",
    "Compressed",
    "NumberOfBuckets",
    "SerdeInfo",
    "BucketColumns",
    "SortColumns",
    "Parameters",
    "SkewedInfo",
    "StoredAsSubDirectories",
)
_RUN_PATH_RE = re.compile(r"/ingest_date=(\d{4}-\d{2}-\d{2})/run_id=([^/]+)/[^/]+$")
PARTITION_KEY_COUNT = 2  # (ingest_date, run_id | run_key)


class CatalogError(Exception):
    """The run's partition could not be registered; the message says where and why."""


@dataclass(frozen=True)
class RawTable:
    name: str
    descriptor: dict[str, Any]

    @property
    def location(self) -> str:
        return _folder(str(self.descriptor["Location"]))


def new_glue_client() -> Any:
    """A Glue client from the standard AWS chain (``AWS_ENDPOINT_URL`` honoured by boto3)."""
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return boto3.session.Session().client("glue", config=config)


def run_of_data_path(data_uri: str) -> tuple[str, str]:
    """(ingest_date, run_id) of a landed data object URI (the loader's record ``path``)."""
    match = _RUN_PATH_RE.search(data_uri)
    if match is None or parse_run_time(match.group(2)) is None:
        raise CatalogError(f"not the path of a landed run: {data_uri}")
    return match.group(1), match.group(2)


def _folder(location: str) -> str:
    return location.rstrip("/") + "/"


def _parent(location: str) -> str:
    return _folder(location).rstrip("/").rsplit("/", 1)[0] + "/"


class GluePartitions:
    """Partition registration for the raw tables of ``database`` over ``raw_location``."""

    def __init__(self, database: str, raw_location: str, client: Any = None) -> None:
        self.database = database
        self.raw_location = raw_location.rstrip("/") + "/"
        self.client = client or new_glue_client()

    def raw_tables(self) -> list[RawTable]:
        """Every external table of the database whose location is the raw prefix or a folder
        beside it."""
        found: list[RawTable] = []
        paginator = self.client.get_paginator("get_tables")
        for page in paginator.paginate(DatabaseName=self.database):
            for table in page.get("TableList", []):
                descriptor = table.get("StorageDescriptor") or {}
                location = str(descriptor.get("Location", ""))
                if (
                    table.get("TableType") == "VIRTUAL_VIEW"
                    or not location
                    or _parent(location) != _parent(self.raw_location)
                ):
                    continue
                keys = [key["Name"] for key in table.get("PartitionKeys", [])]
                if len(keys) != PARTITION_KEY_COUNT:
                    raise CatalogError(
                        f"table {self.database}.{table['Name']} over {self.raw_location} is "
                        f"partitioned by {keys}, expected (ingest_date, run_id)"
                    )
                found.append(RawTable(name=str(table["Name"]), descriptor=descriptor))
        return sorted(found, key=lambda t: t.name)

    def registered_runs(self, table: RawTable) -> set[tuple[str, str]]:
        """(ingest_date, run_id) of every partition of ``table``."""
        found: set[tuple[str, str]] = set()
        paginator = self.client.get_paginator("get_partitions")
        for page in paginator.paginate(DatabaseName=self.database, TableName=table.name):
            for partition in page.get("Partitions", []):
                values = partition.get("Values", [])
                if len(values) == PARTITION_KEY_COUNT:
                    found.add((str(values[0]), str(values[1])))
        return found

    def register_missing(self, runs: list[tuple[str, str]]) -> list[str]:
        """Register every run of ``runs`` (ingest_date, run_id) that some raw table lacks, in
        run_id order; return their run_ids. Raises ``CatalogError`` naming the first that
        fails."""
        if not runs:
            return []
        try:
            tables = self.raw_tables()
            registered = [self.registered_runs(table) for table in tables]
        except (ClientError, BotoCoreError) as exc:
            raise CatalogError(
                f"cannot read the Glue partitions of {self.database}: {exc}"
            ) from exc
        missing = sorted(
            (run for run in set(runs) if any(run not in found for found in registered)),
            key=lambda run: run[1],
        )
        for ingest_date, run_id in missing:
            self.register_run(ingest_date, run_id)
        return [run_id for _, run_id in missing]

    def register_run(self, ingest_date: str, run_id: str) -> list[str]:
        """Add the run's partition to every raw table; return the tables' names.

        Raises ``CatalogError`` naming the run when a table is missing or Glue refuses.
        """
        run = f"ingest_date={ingest_date}/run_id={run_id}"
        try:
            tables = self.raw_tables()
            if not tables:
                raise CatalogError(
                    f"no external table over {self.raw_location} in Glue database "
                    f"{self.database} (create them first: dbt run-operation "
                    "create_raw_relations --target athena)"
                )
            for table in tables:
                descriptor = {k: v for k, v in table.descriptor.items() if k in _DESCRIPTOR_FIELDS}
                descriptor["Location"] = f"{table.location}{run}/"
                response = self.client.batch_create_partition(
                    DatabaseName=self.database,
                    TableName=table.name,
                    PartitionInputList=[
                        {"Values": [ingest_date, run_id], "StorageDescriptor": descriptor}
                    ],
                )
                errors = [
                    error
                    for error in response.get("Errors", [])
                    if error.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"
                ]
                if errors:
                    detail = errors[0].get("ErrorDetail", {})
                    raise CatalogError(
                        f"{self.database}.{table.name}: {detail.get('ErrorCode')}: "
                        f"{detail.get('ErrorMessage')}"
                    )
        except (ClientError, BotoCoreError, CatalogError) as exc:
            raise CatalogError(
                f"run {run_id} is landed but its Glue partition {run} could not be "
                f"registered: {exc}; rerun the loader with the same file to repair it"
            ) from exc
        return [table.name for table in tables]
