"""A local Athena stand-in for tests: moto (STS, Glue, S3) plus an Athena query API that executes.

One threaded HTTP server on 127.0.0.1 answers every AWS service a dbt process uses. Athena's
query API (StartQueryExecution, GetQueryExecution, GetQueryResults, StopQueryExecution,
GetWorkGroup) is answered here: each statement is parsed as Athena SQL with sqlglot, transpiled to
DuckDB and run in one in-process DuckDB database; every other request goes to moto. Tables and
views created by SQL are written to moto's Glue catalog with what dbt-athena inspects (TableType,
``table_type=ICEBERG``, columns, location); Glue deletions and ``alter table ... rename`` change
the DuckDB relations too. External tables (text with a field delimiter, JSON SerDe incl. ``.gz``,
OpenCSVSerDe) are loaded from the S3 objects under their location whenever those change, with
partition columns from the ``key=value`` prefixes and the hidden column ``"$path"``.

Limits (test infrastructure, not Athena): DuckDB's typing is looser than Trino's, Iceberg is a plain
table (no snapshots, no timestamp precision of its own), partitions are read from the keys
(registered or not), no permissions. Statements it cannot express raise ``Unsupported`` (the
query FAILS naming the statement); housekeeping statements are accepted and listed in ``noops``.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import duckdb
import sqlglot
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from werkzeug.serving import make_server

REGION = "eu-west-1"
SITE_DIR = Path(__file__).parent / "aws_stand_in_site"
PAGE_SIZE = 1000
# Iceberg housekeeping: accepted (nothing to compact) when Athena's syntax is kept exactly.
NOOP = re.compile(r"^(optimize \w+\.\w+ rewrite data using bin_pack|vacuum \w+\.\w+)$", re.I)
IDENT = r"[`\"]?(\w+)[`\"]?"
QUALIFIED = rf"(?:[`\"]?awsdatacatalog[`\"]?\.)?{IDENT}\s*\.\s*{IDENT}"
EXTERNAL = re.compile(rf"^create external table (?:if not exists )?{QUALIFIED}", re.I)
RENAME = re.compile(rf"^alter table {QUALIFIED} rename to {QUALIFIED}$", re.I)
SCHEMA = re.compile(rf"^create (?:schema|database) (?:if not exists )?{IDENT}$", re.I)
DROP = re.compile(rf"^drop (table|view) (?:if exists )?{QUALIFIED}$", re.I)
# DuckDB type -> the Athena type name Glue and GetQueryResults use.
TYPES = {"VARCHAR": "varchar", "BIGINT": "bigint", "INTEGER": "integer", "BOOLEAN": "boolean",
         "DOUBLE": "double", "DATE": "date", "TIMESTAMP": "timestamp", "HUGEINT": "bigint",
         "FLOAT": "float", "SMALLINT": "smallint", "TINYINT": "tinyint"}  # fmt: skip


class Unsupported(Exception):
    """A statement the stand-in cannot express (the query fails with this message)."""


class AthenaRefuses(Exception):
    """A statement Athena itself would refuse (the query fails, as it would there)."""


@dataclass
class External:
    """An external table: columns, partition columns and how its objects are read."""

    columns: list[tuple[str, str]]
    partitions: list[str]
    location: str
    serde: str  # "text", "json" or "csv"
    delimiter: str = "\x01"
    skip_header: int = 0
    signature: tuple[Any, ...] = ()


@dataclass
class Query:
    sql: str
    state: str = "SUCCEEDED"
    error: str | None = None
    statement_type: str = "DML"
    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    update_count: int = 0


def athena_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.lower()
    if duckdb_type.startswith("TIMESTAMP"):
        return "timestamp"
    return TYPES.get(duckdb_type, "varchar" if "[]" not in duckdb_type else "array")


def glue_type(duckdb_type: str) -> str:
    name = athena_type(duckdb_type)
    return {"varchar": "string", "integer": "int"}.get(name, name)


def _mark_own_request(request: Any, **_: Any) -> None:
    request.headers["X-Stand-In"] = "own"


def hive_character(literal: str) -> str:
    """A Hive DDL character: ``\\001`` (octal) or the character itself."""
    octal = re.fullmatch(r"\\([0-7]{1,3})", literal)
    return chr(int(octal.group(1), 8)) if octal else literal


def text_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class AthenaStandIn:
    """The server; ``env`` points a dbt (boto3) process at it."""

    def __init__(self) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.db = duckdb.connect()
        self.db.execute("set TimeZone = 'UTC'")
        self.db.execute("set integer_division = true")  # Trino: integer / integer truncates
        self.db.execute("attach ':memory:' as awsdatacatalog")  # Athena's default catalog
        self.db.execute("use awsdatacatalog")
        self.lock = threading.RLock()
        self.queries: dict[str, Query] = {}
        self.externals: dict[tuple[str, str], External] = {}
        self.noops: list[str] = []
        self.failures: list[str] = []
        self.history: list[Query] = []  # every statement, for diagnosis
        self.s3_writes = 0
        self.s3_writes_seen = -1
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        session = boto3.session.Session(
            aws_access_key_id="stand-in", aws_secret_access_key="stand-in", region_name=REGION
        )
        self.s3 = session.client("s3", endpoint_url=self.endpoint)
        self.glue = session.client("glue", endpoint_url=self.endpoint)
        # The stand-in's own Glue calls are marked: they must not re-enter the SQL engine.
        self.glue.meta.events.register("before-sign.glue.*", _mark_own_request)

    def start(self) -> AthenaStandIn:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
        logging.getLogger("sqlglot").setLevel(logging.ERROR)  # DuckDB ignores Iceberg properties
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.db.close()

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "stand-in",
            "AWS_SECRET_ACCESS_KEY": "stand-in",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            # botocore's model cache shared by every session of a process (dbt-athena opens one
            # per node): see the module's docstring
            "PYTHONPATH": os.pathsep.join(
                filter(None, (str(SITE_DIR), os.environ.get("PYTHONPATH")))
            ),
        }

    # -------------------------------------------------------------------------------- HTTP
    def app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonAthena."):
            body = json.loads(self._body(environ) or b"{}")
            status, answer = self._athena(target.split(".", 1)[1], body)
            payload = json.dumps(answer).encode()
            start_response(status, [("Content-Type", "application/x-amz-json-1.1")])
            return [payload]
        if not target and environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE"):
            self.s3_writes += 1  # an S3 write: external tables reload on their next use
        own = environ.get("HTTP_X_STAND_IN") == "own"
        if target in ("AWSGlue.DeleteTable", "AWSGlue.BatchDeleteTable") and not own:
            body = json.loads(self._body(environ))
            names = body.get("TablesToDelete") or [body.get("Name")]
            with self.lock:
                for name in names:
                    self._drop_duckdb(body["DatabaseName"], name)
        return self.moto(environ, start_response)

    @staticmethod
    def _body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        return body

    def _athena(self, action: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if action == "StartQueryExecution":
            query_id = str(uuid.uuid4())
            schema = body.get("QueryExecutionContext", {}).get("Database", "default")
            self.queries[query_id] = self.run(body["QueryString"], schema)
            return "200 OK", {"QueryExecutionId": query_id}
        if action == "GetWorkGroup":
            name = body.get("WorkGroup", "primary")
            return "200 OK", {"WorkGroup": {"Name": name, "State": "ENABLED", "Configuration": {}}}
        query = self.queries.get(body.get("QueryExecutionId", ""))
        if query is None:
            return "400 Bad Request", {"__type": "InvalidRequestException", "Message": "no query"}
        if action == "GetQueryExecution":
            status: dict[str, Any] = {"State": query.state}
            if query.error:
                status["StateChangeReason"] = query.error
                status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1006}
            execution = {
                "QueryExecutionId": body["QueryExecutionId"],
                "Query": query.sql,
                "StatementType": query.statement_type,
                "Status": status,
                "Statistics": {"DataScannedInBytes": 0},
            }
            return "200 OK", {"QueryExecution": execution}
        if action == "GetQueryResults":
            return "200 OK", self._results(query, body)
        if action == "StopQueryExecution":
            return "200 OK", {}
        return "400 Bad Request", {"__type": "InvalidRequestException", "Message": action}

    @staticmethod
    def _results(query: Query, body: dict[str, Any]) -> dict[str, Any]:
        rows = query.rows
        if query.statement_type == "DML":
            rows = [tuple(name for name, _ in query.columns), *rows]  # Athena's header row
        start = int(body.get("NextToken") or 0)
        page = rows[start : start + PAGE_SIZE]
        data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page]
        info = [{"Name": n, "Label": n, "Type": t} for n, t in query.columns]
        answer: dict[str, Any] = {
            "ResultSet": {"Rows": data, "ResultSetMetadata": {"ColumnInfo": info}},
            "UpdateCount": query.update_count,
        }
        if start + PAGE_SIZE < len(rows):
            answer["NextToken"] = str(start + PAGE_SIZE)
        return answer

    # -------------------------------------------------------------------------- statements
    def run(self, sql: str, schema: str) -> Query:
        text = re.sub(r"/\*.*?\*/|^\s*--[^\n]*$", "", sql, flags=re.S | re.M)
        text = text.strip().rstrip(";").strip()
        query = Query(sql=sql)
        try:
            with self.lock:
                self._execute(text, schema, query)
        except Exception as exc:
            query.state, query.error = "FAILED", f"{type(exc).__name__}: {exc}"
            self.failures.append(f"{query.error}\n--- statement:\n{text}")
        self.history.append(query)
        return query

    def _execute(self, text: str, schema: str, query: Query) -> None:
        flat = " ".join(text.split())
        if any(token.text == ";" for token in sqlglot.tokenize(text, read="athena")):
            raise AthenaRefuses("more than one statement in a query: Athena runs one per query")
        if re.match(r"(optimize|vacuum)\b", flat, re.I):
            if not NOOP.match(flat):
                raise AthenaRefuses("Athena's syntax: OPTIMIZE/VACUUM [db_name.]table_name ...")
            query.statement_type = "UTILITY"
            self.noops.append(flat)
            return
        if match := EXTERNAL.match(flat):
            query.statement_type = "DDL"
            self._create_external(match.group(1), match.group(2), text)
            return
        if match := RENAME.match(flat):
            query.statement_type = "DDL"
            self._rename(*match.groups())
            return
        if match := DROP.match(flat):
            query.statement_type = "DDL"
            self._drop_duckdb(match.group(2), match.group(3))
            self._glue_delete(match.group(2), match.group(3))
            return
        if match := SCHEMA.match(flat):
            query.statement_type = "DDL"
            self._create_schema(match.group(1))
            return
        statement = sqlglot.parse_one(text, read="athena")
        if not isinstance(statement, (exp.Query, exp.Create, exp.Insert, exp.Merge, exp.Delete)):
            raise Unsupported(f"statement kind {type(statement).__name__} is not emulated")
        if self._has_schema(schema):
            self.db.execute(f'use awsdatacatalog."{schema}"')
        self._refresh_externals()
        duck = self._transpile(statement, schema)
        result = self.db.execute(duck)
        if isinstance(statement, exp.Query):
            described = result.description or []
            query.columns = [(d[0], athena_type(str(d[1]))) for d in described]
            query.rows = [tuple(map(text_value, row)) for row in result.fetchall()]
            return
        if isinstance(statement, exp.Create):
            query.statement_type = "DDL"  # as Athena reports a CTAS, too
            self._reflect(statement)
            return
        fetched = result.fetchone()
        query.update_count = int(fetched[0]) if fetched and fetched[0] is not None else 0

    def _transpile(self, statement: exp.Expression, schema: str) -> str:
        """Athena SQL -> DuckDB SQL, undoing the drifts that would change results. Integer
        division is DuckDB's setting integer_division (Trino: int / int truncates)."""
        for node in list(statement.find_all(exp.RegexpExtract)):
            # Trino: NULL when the pattern does not match; DuckDB: ''
            matches = exp.RegexpLike(this=node.this.copy(), expression=node.expression.copy())
            node.replace(exp.Case(ifs=[exp.If(this=matches, true=node.copy())]))
        self._keep_truncated_dates(statement, schema)
        return statement.sql(dialect="duckdb")

    def _keep_truncated_dates(self, statement: exp.Expression, schema: str) -> None:
        """Trino's date_trunc of a DATE is a DATE; DuckDB's is a TIMESTAMP: cast those back (the
        argument types come from sqlglot's type annotation over the DuckDB catalogue)."""
        truncs = list(statement.find_all(exp.DateTrunc, exp.TimestampTrunc))
        if not truncs:
            return
        for number, node in enumerate(truncs):
            node.meta["trunc"] = number
        catalogue: dict[str, Any] = {}
        for db, table, column, kind in self.db.execute(
            "select table_schema, table_name, column_name, data_type from"
            " information_schema.columns where table_catalog = 'awsdatacatalog'"
        ).fetchall():
            catalogue.setdefault(db, {}).setdefault(table, {})[column] = kind
        tables = {"awsdatacatalog": catalogue}
        try:
            typed = qualify(
                statement.copy(),
                schema=tables,
                dialect="athena",
                catalog="awsdatacatalog",
                db=schema,
                validate_qualify_columns=False,
            )
            typed = annotate_types(typed, schema=tables)
        except sqlglot.errors.SqlglotError as exc:
            raise Unsupported(f"cannot type the arguments of date_trunc: {exc}") from exc
        dates = {
            node.meta.get("trunc")
            for node in typed.find_all(exp.DateTrunc, exp.TimestampTrunc)
            if node.this.type is not None and node.this.type.is_type("date")
        }
        for number, node in enumerate(truncs):
            if number in dates:
                node.replace(exp.cast(node.copy(), "date"))

    # ------------------------------------------------------------------------- catalogue
    def _has_schema(self, schema: str) -> bool:
        found = self.db.execute(
            "select count(*) from information_schema.schemata"
            " where catalog_name = 'awsdatacatalog' and schema_name = ?",
            [schema],
        ).fetchone()
        return bool(found and found[0])

    def _create_schema(self, schema: str) -> None:
        self.db.execute(f'create schema if not exists "{schema}"')
        with contextlib.suppress(self.glue.exceptions.AlreadyExistsException):
            self.glue.create_database(DatabaseInput={"Name": schema})

    def _glue_delete(self, schema: str, name: str) -> None:
        with contextlib.suppress(self.glue.exceptions.EntityNotFoundException):
            self.glue.delete_table(DatabaseName=schema, Name=name)

    def _glue_put(self, schema: str, table: dict[str, Any]) -> None:
        self._create_schema(schema)
        self._glue_delete(schema, table["Name"])
        self.glue.create_table(DatabaseName=schema, TableInput=table)

    def _duck_columns(self, schema: str, name: str) -> list[dict[str, str]]:
        rows = self.db.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
        return [{"Name": column, "Type": glue_type(str(kind))} for column, kind in rows]

    def _reflect(self, create: exp.Create) -> None:
        """Write a table or view just created by SQL into the Glue catalog, as Athena would."""
        table = create.this.this if isinstance(create.this, exp.Schema) else create.this
        schema, name = table.db, table.name
        properties = {
            prop.name.lower(): prop.text("value")
            for prop in create.find_all(exp.Property)
            if isinstance(prop.this, (exp.Identifier, exp.Var, exp.Literal))
        }
        location_node = create.find(exp.LocationProperty)
        location = (
            location_node.text("this")
            if location_node
            else properties.get("location") or properties.get("external_location")
        )
        columns = self._duck_columns(schema, name)
        table_input: dict[str, Any] = {"Name": name, "StorageDescriptor": {"Columns": columns}}
        if create.kind == "VIEW":
            table_input |= {"TableType": "VIRTUAL_VIEW", "Parameters": {"presto_view": "true"}}
        else:
            kind = properties.get("table_type", "hive").upper()
            parameters = {"table_type": "ICEBERG"} if kind == "ICEBERG" else {"EXTERNAL": "TRUE"}
            table_input |= {"TableType": "EXTERNAL_TABLE", "Parameters": parameters}
            table_input["StorageDescriptor"]["Location"] = location or f"s3://stand-in/{name}/"
        self._glue_put(schema, table_input)

    def _drop_duckdb(self, schema: str, name: str) -> None:
        self.externals.pop((schema, name), None)
        found = self.db.execute(
            "select table_type from information_schema.tables"
            " where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()
        if found:
            kind = "view" if found[0] == "VIEW" else "table"
            self.db.execute(f'drop {kind} "{schema}"."{name}"')

    def _rename(self, schema: str, name: str, new_schema: str, new_name: str) -> None:
        if schema != new_schema:
            raise Unsupported("a rename across schemas is not emulated")
        self.db.execute(f'alter table "{schema}"."{name}" rename to "{new_name}"')
        table = self.glue.get_table(DatabaseName=schema, Name=name)["Table"]
        keep = ("TableType", "Parameters", "StorageDescriptor", "PartitionKeys")
        self._glue_put(schema, {"Name": new_name, **{k: table[k] for k in keep if k in table}})
        self._glue_delete(schema, name)

    # --------------------------------------------------------------------- external tables
    def _create_external(self, schema: str, name: str, text: str) -> None:
        create = sqlglot.parse_one(text, read="athena")
        assert isinstance(create, exp.Create) and isinstance(create.this, exp.Schema)
        columns = [(c.name, c.args["kind"].sql("duckdb")) for c in create.this.expressions]
        partitioned = create.find(exp.PartitionedByProperty)
        partitions = [c.name for c in partitioned.this.expressions] if partitioned else []
        lowered = " ".join(text.split()).lower()
        location = re.search(r"location '([^']+)'", text, re.I)
        if location is None:
            raise Unsupported(f"external table {schema}.{name} has no location")
        serde = "json" if "jsonserde" in lowered else "csv" if "opencsvserde" in lowered else "text"
        delimiter = re.search(r"fields terminated by '([^']*)'", text, re.I)
        skip = re.search(r"'skip\.header\.line\.count'\s*=\s*'(\d+)'", lowered)
        external = External(
            columns=columns,
            partitions=partitions,
            location=location.group(1),
            serde=serde,
            delimiter=hive_character(delimiter.group(1)) if delimiter else "\x01",
            skip_header=int(skip.group(1)) if skip else 0,
        )
        if (schema, name) in self.externals or self._exists(schema, name):
            return  # if not exists
        self._create_schema(schema)
        self.externals[(schema, name)] = external
        self._load(schema, name, external, [])
        self.s3_writes_seen = -1  # loaded from S3 on its first use
        glue_columns = [{"Name": c, "Type": t.lower()} for c, t in columns]
        self._glue_put(schema, {
            "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": {"EXTERNAL": "TRUE"},
            "StorageDescriptor": {"Columns": glue_columns, "Location": external.location},
            "PartitionKeys": [{"Name": p, "Type": "string"} for p in partitions],
        })  # fmt: skip

    def _exists(self, schema: str, name: str) -> bool:
        found = self.db.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()
        return bool(found and found[0])

    def _objects(self, location: str) -> list[dict[str, Any]]:
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [{"Bucket": bucket, **obj} for page in pages for obj in page.get("Contents", [])]

    def _refresh_externals(self) -> None:
        if self.s3_writes == self.s3_writes_seen:
            return
        self.s3_writes_seen = self.s3_writes
        for (schema, name), external in self.externals.items():
            objects = self._objects(external.location)
            signature = tuple((o["Key"], o["ETag"]) for o in objects)
            if signature != external.signature:
                self._load(schema, name, external, objects)
                external.signature = signature

    def _load(self, schema: str, name: str, external: External, objects: list[dict]) -> None:
        """(Re)create the DuckDB table of an external table from its objects."""
        names = [c for c, _ in external.columns] + external.partitions + ["$path"]
        types = [t for _, t in external.columns] + ["VARCHAR"] * (len(external.partitions) + 1)
        spec = ", ".join(f'"{n}" {t}' for n, t in zip(names, types, strict=True))
        self.db.execute(f'create or replace table "{schema}"."{name}" ({spec})')
        rows: list[tuple[Any, ...]] = []
        for obj in objects:
            key = obj["Key"]
            if key.rsplit("/", 1)[-1].startswith(("_", ".")) and external.serde != "json":
                continue  # Hive skips hidden files (the JSON tables filter by "$path")
            body = self.s3.get_object(Bucket=obj["Bucket"], Key=key)["Body"].read()
            if key.endswith(".gz"):
                body = gzip.decompress(body)
            keys = dict(re.findall(r"(\w+)=([^/]+)/", key))
            extra = [keys.get(p) for p in external.partitions] + [f"s3://{obj['Bucket']}/{key}"]
            for record in self._records(external, body):
                rows.append((*record, *extra))
        if rows:
            marks = ", ".join("?" * len(names))
            self.db.executemany(f'insert into "{schema}"."{name}" values ({marks})', rows)

    @staticmethod
    def _records(external: External, body: bytes) -> Iterable[list[Any]]:
        width = len(external.columns)
        text = body.decode("utf-8", errors="replace")
        if external.serde == "csv":
            lines = list(csv.reader(io.StringIO(text, newline="")))[external.skip_header :]
            return [(line + [None] * width)[:width] for line in lines]
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = lines[external.skip_header :]
        if external.serde == "text":
            return [(line.split(external.delimiter) + [None] * width)[:width] for line in lines]
        out = []
        for line in lines:
            try:
                record = {k.lower(): v for k, v in json.loads(line).items()}
            except (ValueError, AttributeError):
                record = {}  # ignore.malformed.json: a row of NULLs
            out.append([record.get(column.lower()) for column, _ in external.columns])
        return out
