"""A local Athena for tests: moto (STS, Glue, S3) and Athena's query API executed by real Trino.

One threaded HTTP server on 127.0.0.1 answers every AWS service a dbt process uses. Athena's
query API (StartQueryExecution, GetQueryExecution, GetQueryResults, StopQueryExecution,
GetWorkGroup) is answered here; every other request goes to moto. Each query runs on Trino
(``trino_server.py``: Athena engine v3's engine, whose Hive and Iceberg catalogs read the same
Glue and S3 through moto), unchanged except for the statements that exist on Athena and not on
Trino. Those are translated here, each by one rule of ``translate()`` (docs/athena.md lists them):

* Hive DDL, which Athena runs in its own DDL engine and Trino does not have:
  ``CREATE EXTERNAL TABLE`` (SerDe, delimiters, partitions, table properties) becomes the Glue
  table Athena would create; ``CREATE DATABASE`` a Glue database; ``ALTER TABLE ... ADD
  COLUMNS`` Trino's ``ADD COLUMN``s; ``ALTER TABLE ... SET TBLPROPERTIES`` a Glue update; Hive DDL
  identifiers in backticks become quoted identifiers. Like Athena, Hive DDL fails when the query's
  database does not exist.
* Athena's CTAS properties: ``table_type='iceberg'`` creates the table in the Iceberg catalog
  (``awsdatacatalog`` redirects to it afterwards, as Athena's one catalog does), with Athena's
  property names mapped to Trino's and Athena-only ones (``is_external``, ``vacuum_*`` ...) left
  out.
* ``OPTIMIZE t REWRITE DATA USING BIN_PACK`` becomes ``ALTER TABLE t EXECUTE optimize``;
  ``VACUUM t`` becomes ``expire_snapshots`` and ``remove_orphan_files`` (Athena's default
  retention, 5 days). As Athena does on a table with much to do, the first OPTIMIZE and the first
  VACUUM of each table answer ``ICEBERG_..._MORE_RUNS_NEEDED`` (after doing the work): the
  caller must run them again.
* Result type names are Athena's (``varchar``, ``decimal``, ``timestamp`` ... without
  parameters).

Limits (test infrastructure, not Athena): Athena's own Trino fork and DDL engine, IAM and Lake
Formation permissions, service quotas, and S3 consistency and cost are not modelled.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import trino
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from trino_server import TrinoServer
from werkzeug.serving import make_server

REGION = "eu-west-1"
SITE_DIR = Path(__file__).parent / "aws_stand_in_site"
PAGE_SIZE = 1000
# StartQueryExecution answers once the query ended or after this long (then it is RUNNING and
# GetQueryExecution tells when it ends): quick queries need no polling round.
SYNC_WAIT_S = 20.0
# Athena's VACUUM removes snapshots older than vacuum_max_snapshot_age_seconds (default 5 days)
# and files no snapshot references.
VACUUM_RETENTION = "5d"
# Athena CTAS properties -> Trino's (Iceberg catalog, Hive catalog); absent = Athena only.
ICEBERG_PROPERTIES = {"location": "location", "partitioning": "partitioning", "format": "format"}
HIVE_PROPERTIES = {
    "external_location": "external_location",
    "partitioned_by": "partitioned_by",
    "bucketed_by": "bucketed_by",
    "bucket_count": "bucket_count",
    "format": "format",
}
TEXT_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"  # ROW FORMAT DELIMITED
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

# Glue calls Trino's metastore client makes that moto does not implement: Glue column statistics
# (Athena keeps none unless asked to), answered as a catalog without statistics.
COLUMN_STATISTICS: dict[str, dict[str, Any]] = {
    "AWSGlue.GetColumnStatisticsForTable": {"ColumnStatisticsList": [], "Errors": []},
    "AWSGlue.GetColumnStatisticsForPartition": {"ColumnStatisticsList": [], "Errors": []},
    "AWSGlue.UpdateColumnStatisticsForTable": {"Errors": []},
    "AWSGlue.UpdateColumnStatisticsForPartition": {"Errors": []},
    "AWSGlue.DeleteColumnStatisticsForTable": {},
    "AWSGlue.DeleteColumnStatisticsForPartition": {},
}

NAME = r"(?:`[^`]+`|\"[^\"]+\"|\w+)"
QUALIFIED = rf"(?:{NAME}\s*\.\s*)?(?:{NAME}\s*\.\s*)?{NAME}"
CREATE_DATABASE = re.compile(rf"^create (?:database|schema) (if not exists )?({NAME})$", re.I)
CREATE_EXTERNAL = re.compile(rf"^create external table (if not exists )?({QUALIFIED})\s*\(", re.I)
ADD_COLUMNS = re.compile(rf"^alter table ({QUALIFIED}) add columns\s*\((.*)\)$", re.I | re.S)
SET_TBLPROPERTIES = re.compile(rf"^alter table ({QUALIFIED}) set tblproperties\s*\((.*)\)$", re.I)
OPTIMIZE = re.compile(
    rf"^optimize ({QUALIFIED}) rewrite data using bin_pack(?:\s+(where .*))?$", re.I | re.S
)
VACUUM = re.compile(rf"^vacuum ({QUALIFIED})$", re.I)
CTAS = re.compile(r"^create table (\S+)\s+with\s*\(", re.I)
HIVE_DDL = re.compile(r"^(drop (table|database|schema)|alter table|show |msck |describe )", re.I)


class AthenaRefuses(Exception):
    """A statement Athena itself would refuse (the query fails, as it would there)."""


@dataclass
class Query:
    sql: str
    state: str = "RUNNING"
    error: str | None = None
    statement_type: str = "DML"
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    update_count: int = 0
    scanned_bytes: int = 0
    trino_sql: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------- helpers
def _mark_own_request(request: Any, **_: Any) -> None:
    request.headers["X-Stand-In"] = "own"


def unquote(name: str) -> str:
    return name.strip().strip('`"').lower()


def split_name(qualified: str, schema: str) -> tuple[str, str]:
    """``[catalog.][db.]table`` (backticks or double quotes) -> (db, table)."""
    parts = [unquote(p) for p in re.findall(NAME, qualified)]
    return (parts[-2] if len(parts) > 1 else schema.lower()), parts[-1]


def trino_name(qualified: str, schema: str) -> str:
    db, table = split_name(qualified, schema)
    return f'awsdatacatalog."{db}"."{table}"'


HIVE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"'}


def hive_unescape(literal: str) -> str:
    """A Hive DDL string literal's text as Hive reads it: ``\\ooo`` (octal), ``\\uXXXX``,
    ``\\n``, ``\\t``, ``\\\\`` ... are one character each."""

    def one(match: re.Match[str]) -> str:
        escaped = match.group(1)
        if escaped.startswith("u"):
            return chr(int(escaped[1:], 16))
        if escaped[0] in "01234567" and len(escaped) > 1:
            return chr(int(escaped, 8))
        return HIVE_ESCAPES.get(escaped, escaped)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|[0-7]{3}|.)", one, literal)


def key_values(text: str) -> dict[str, str]:
    """``'k' = 'v', ...`` (Hive serde/table properties) -> dict, values as Hive reads them."""
    return {k: hive_unescape(v) for k, v in re.findall(r"'([^']*)'\s*=\s*'([^']*)'", text)}


def split_top_level(text: str) -> list[str]:
    """Splits on commas outside parentheses and quotes."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def columns_of(text: str) -> list[dict[str, str]]:
    """``name type, ...`` of Hive DDL -> Glue columns."""
    columns = []
    for part in split_top_level(text):
        name, kind = part.split(None, 1)
        columns.append({"Name": unquote(name), "Type": kind.strip().lower()})
    return columns


def athena_type(trino_type: str) -> dict[str, Any]:
    """Trino's type -> Athena's ColumnInfo (type name without parameters, precision, scale)."""
    text = trino_type.lower()
    info: dict[str, Any] = {"Precision": 0, "Scale": 0}
    if decimal := re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", text):
        return {**info, "Type": "decimal", "Precision": int(decimal[1]), "Scale": int(decimal[2])}
    if text.startswith("timestamp"):
        name = "timestamp with time zone" if "with time zone" in text else "timestamp"
        return {**info, "Type": name}
    base = re.match(r"[a-z ]+", text)
    return {**info, "Type": (base.group(0) if base else text).strip()}


def text_value(value: Any) -> str | None:
    """A value as Athena's GetQueryResults gives it (VarCharValue)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join("null" if v is None else str(text_value(v)) for v in value) + "]"
    return str(value)


# --------------------------------------------------------------------------- the server
class AthenaStandIn:
    """The server; ``env`` points a dbt (boto3) process at it. ``start()`` starts Trino too."""

    def __init__(self, work_dir: Path) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.work_dir = work_dir
        self.queries: dict[str, Query] = {}
        self.failures: list[str] = []
        self.history: list[Query] = []  # every statement, for diagnosis
        self.lock = threading.Lock()
        self.housekept: set[tuple[str, tuple[str, str]]] = set()
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="athena-query")
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        session = boto3.session.Session(
            aws_access_key_id="stand-in", aws_secret_access_key="stand-in", region_name=REGION
        )
        self.s3 = session.client("s3", endpoint_url=self.endpoint)
        self.glue = session.client("glue", endpoint_url=self.endpoint)
        self.glue.meta.events.register("before-sign.glue.*", _mark_own_request)
        self.trino = TrinoServer(work_dir, self.endpoint, REGION)

    def start(self) -> AthenaStandIn:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
        self.thread.start()
        self.trino.start()
        return self

    def stop(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.trino.stop()
        self.server.shutdown()

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
            # per node): aws_stand_in_site/sitecustomize.py
            "PYTHONPATH": os.pathsep.join(
                filter(None, (str(SITE_DIR), os.environ.get("PYTHONPATH")))
            ),
        }

    def process_env(self, aws_home: Path, **settings: str) -> dict[str, str]:
        """The environment of a loader or dbt process pointed at this stand-in: this process's,
        less every AWS, Athena and lake setting and anything that could send requests elsewhere,
        plus the stand-in's endpoint and keys, AWS files of its own and ``settings``."""
        from s3_stand_in import _CLEARED_ENV

        kept = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "ATHENA_", "LAKE_", "RAW_"))
            and name not in _CLEARED_ENV
        }
        aws_home.mkdir(parents=True, exist_ok=True)
        return {
            **kept,
            **self.env,
            "AWS_CONFIG_FILE": str(aws_home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws_home / "credentials"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            **settings,
        }

    def connect(self, schema: str = "default", legacy: bool = False) -> Any:
        return trino.dbapi.connect(
            host="127.0.0.1",
            port=self.trino.port,
            user="athena-stand-in",
            catalog="awsdatacatalog",
            schema=schema,
            legacy_primitive_types=legacy,
        )

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Runs SQL on Trino directly (for tests): column names and rows as Python values."""
        cursor = self.connect().cursor()
        cursor.execute(sql)
        rows = [tuple(row) for row in cursor.fetchall()]
        return [d[0] for d in cursor.description or []], rows

    # -------------------------------------------------------------------------------- HTTP
    def app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonAthena."):
            body = json.loads(self._body(environ) or b"{}")
            status, answer = self._athena(target.split(".", 1)[1], body)
            payload = json.dumps(answer).encode()
            start_response(status, [("Content-Type", "application/x-amz-json-1.1")])
            return [payload]
        if target in COLUMN_STATISTICS:
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
            return [json.dumps(COLUMN_STATISTICS[target]).encode()]
        return self.moto(environ, start_response)

    @staticmethod
    def _body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _athena(self, action: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if action == "StartQueryExecution":
            query_id = str(uuid.uuid4())
            schema = body.get("QueryExecutionContext", {}).get("Database", "default")
            query = Query(sql=body["QueryString"])
            self.queries[query_id] = query
            future = self.pool.submit(self.execute, query, schema)
            with contextlib.suppress(FutureTimeout):
                future.result(timeout=SYNC_WAIT_S)
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
                "Statistics": {"DataScannedInBytes": query.scanned_bytes},
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
            rows = [tuple(c["Name"] for c in query.columns), *rows]  # Athena's header row
        start = int(body.get("NextToken") or 0)
        page = rows[start : start + PAGE_SIZE]
        data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page]
        answer: dict[str, Any] = {
            "ResultSet": {"Rows": data, "ResultSetMetadata": {"ColumnInfo": query.columns}},
            "UpdateCount": query.update_count,
        }
        if start + PAGE_SIZE < len(rows):
            answer["NextToken"] = str(start + PAGE_SIZE)
        return answer

    # -------------------------------------------------------------------------- statements
    def run(self, sql: str, schema: str) -> Query:
        """Runs one Athena query to its end (tests call this directly)."""
        query = Query(sql=sql)
        self.execute(query, schema)
        return query

    def execute(self, query: Query, schema: str) -> None:
        text = re.sub(r"/\*.*?\*/|^\s*--[^\n]*$", "", query.sql, flags=re.S | re.M)
        text = text.strip().rstrip(";").strip()
        try:
            for step in self.translate(text, schema, query):
                if isinstance(step, str):
                    query.trino_sql.append(step)
                    self._trino(step, schema, query)
                else:
                    step()
            query.state = "SUCCEEDED"
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            query.state, query.error = "FAILED", f"{type(exc).__name__}: {message}"
            with self.lock:
                self.failures.append(f"{query.error}\n--- statement:\n{text}")
        with self.lock:
            self.history.append(query)

    def _trino(self, sql: str, schema: str, query: Query) -> None:
        cursor = self.connect(schema, legacy=True).cursor()
        cursor.execute(sql)
        rows = cursor.fetchall()
        query.scanned_bytes += int((cursor.stats or {}).get("physicalInputBytes") or 0)
        if cursor.update_type is not None:
            query.update_count = int(rows[0][0]) if rows and rows[0] and rows[0][0] else 0
            if query.statement_type == "DML" and not cursor.update_type.startswith(
                ("INSERT", "MERGE", "DELETE", "UPDATE")
            ):
                query.statement_type = "DDL"
            return
        query.columns = [
            {"Name": d[0], "Label": d[0], **athena_type(str(d[1]))}
            for d in cursor.description or []
        ]
        query.rows = [tuple(map(text_value, row)) for row in rows]

    # ------------------------------------------------------------------------ translation
    def translate(self, text: str, schema: str, query: Query) -> list[str | Callable[[], None]]:
        """The Trino statements (str) or catalog calls that do what Athena does with ``text``.
        One rule per Athena-only statement; anything else goes to Trino unchanged."""
        flat = " ".join(text.split())
        if match := CREATE_DATABASE.match(flat):
            query.statement_type = "DDL"
            return [lambda: self._create_database(unquote(match[2]), bool(match[1]))]
        if HIVE_DDL.match(flat) or CREATE_EXTERNAL.match(flat):
            query.statement_type = "DDL"
            self._require_database(schema)
        if match := CREATE_EXTERNAL.match(flat):
            return [lambda: self._create_external(text, schema, bool(match[1]))]
        if match := ADD_COLUMNS.match(flat):
            table = trino_name(match[1], schema)
            return [
                f"alter table {table} add column if not exists"
                f' "{c["Name"]}" {c["Type"].replace("string", "varchar")}'
                for c in columns_of(match[2])
            ]
        if match := SET_TBLPROPERTIES.match(flat):
            db, table = split_name(match[1], schema)
            return [lambda: self._set_parameters(db, table, key_values(match[2]))]
        if match := OPTIMIZE.match(flat):
            query.statement_type = "UTILITY"
            table = self._athena_table(match[1])
            where = f" {match[2]}" if match[2] else ""
            return [
                f"alter table {table} execute optimize{where}",
                lambda: self._more_runs_needed("optimize", split_name(table, schema)),
            ]
        if match := VACUUM.match(flat):
            query.statement_type = "UTILITY"
            table = self._athena_table(match[1])
            retention = f"retention_threshold => '{VACUUM_RETENTION}'"
            return [
                f"alter table {table} execute expire_snapshots({retention})",
                f"alter table {table} execute remove_orphan_files({retention})",
                lambda: self._more_runs_needed("vacuum", split_name(table, schema)),
            ]
        if HIVE_DDL.match(flat):
            return [re.sub(r"`([^`]+)`", r'"\1"', text)]
        if CTAS.match(flat):
            return [self._ctas(text)]
        return [text]

    def _more_runs_needed(self, operation: str, table: tuple[str, str]) -> None:
        """Athena's OPTIMIZE and VACUUM do a bounded amount of work per query and answer
        ICEBERG_<OP>_MORE_RUNS_NEEDED when there is more; the caller runs them again. Here the
        first one of each table in a stand-in's life answers so (after doing all the work)."""
        with self.lock:
            first = (operation, table) not in self.housekept
            self.housekept.add((operation, table))
        if first:
            raise AthenaRefuses(
                f"ICEBERG_{operation.upper()}_MORE_RUNS_NEEDED: {operation} needs more runs"
            )

    @staticmethod
    def _athena_table(qualified: str) -> str:
        """OPTIMIZE and VACUUM take ``[db.]table`` on Athena: a catalog name is refused."""
        if len(re.findall(NAME, qualified)) > 2:
            raise AthenaRefuses("Athena's syntax: OPTIMIZE/VACUUM [db_name.]table_name ...")
        return qualified

    def _ctas(self, text: str) -> str:
        """Athena's CTAS properties -> Trino's; Iceberg tables are created in its catalog."""
        match = CTAS.match(text)
        assert match is not None
        start = match.end()
        depth, end = 1, start
        while depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        properties = {}
        for part in split_top_level(text[start : end - 1]):
            key, _, value = part.partition("=")
            properties[key.strip().lower()] = value.strip()
        iceberg = properties.get("table_type", "'hive'").strip("'").lower() == "iceberg"
        mapping = ICEBERG_PROPERTIES if iceberg else HIVE_PROPERTIES
        kept = []
        for key, value in properties.items():
            if key in mapping:
                if key == "format":
                    value = value.upper()
                kept.append(f"{mapping[key]} = {value}")
        name = match[1]
        if iceberg:
            parts = [unquote(p) for p in re.findall(NAME, name)]
            name = ".".join(f'"{p}"' for p in ["iceberg", *parts[-2:]])
        options = f" with ({', '.join(kept)})" if kept else ""
        return f"create table {name}{options}{text[end:]}"

    # ------------------------------------------------------------------------ Glue (Hive DDL)
    def _require_database(self, schema: str) -> None:
        """Athena runs Hive DDL in the query's database, which must exist."""
        try:
            self.glue.get_database(Name=schema.lower())
        except self.glue.exceptions.EntityNotFoundException as exc:
            raise AthenaRefuses(f"Database does not exist: {schema}") from exc

    def _create_database(self, name: str, if_not_exists: bool) -> None:
        try:
            self.glue.create_database(DatabaseInput={"Name": name})
        except self.glue.exceptions.AlreadyExistsException:
            if not if_not_exists:
                raise AthenaRefuses(f"Database {name} already exists") from None

    def _set_parameters(self, db: str, table: str, parameters: dict[str, str]) -> None:
        current = self.glue.get_table(DatabaseName=db, Name=table)["Table"]
        keep = ("Name", "TableType", "StorageDescriptor", "PartitionKeys", "Parameters")
        table_input = {k: current[k] for k in keep if k in current}
        table_input["Parameters"] = {**current.get("Parameters", {}), **parameters}
        self.glue.update_table(DatabaseName=db, TableInput=table_input)

    def _create_external(self, text: str, schema: str, if_not_exists: bool) -> None:
        """CREATE EXTERNAL TABLE -> the Glue table Athena's DDL engine writes."""
        flat = " ".join(text.split())
        match = CREATE_EXTERNAL.match(flat)
        assert match is not None
        db, name = split_name(match[2], schema)
        body_start = match.end()
        depth, end = 1, body_start
        while depth:
            depth += {"(": 1, ")": -1}.get(flat[end], 0)
            end += 1
        columns = columns_of(flat[body_start : end - 1])
        rest = flat[end:]
        partitions = re.search(r"partitioned by \((.*?)\)(?= row | stored | location )", rest, re.I)
        location = re.search(r"location '([^']+)'", rest, re.I)
        if location is None:
            raise AthenaRefuses(f"external table {db}.{name} has no location")
        lowered = rest.lower()
        serde = re.search(r"row format serde '([^']+)'", rest, re.I)
        serde_parameters = {}
        if serde_properties := re.search(r"with serdeproperties \((.*?)\)", rest, re.I):
            serde_parameters = key_values(serde_properties[1])
        if serde is None:
            delimiter = re.search(r"fields terminated by '([^']*)'", rest, re.I)
            field = hive_unescape(delimiter[1]) if delimiter else "\x01"
            serde_parameters |= {"field.delim": field, "serialization.format": field}
            if "lines terminated by" in lowered:
                serde_parameters["line.delim"] = "\n"
        parameters = {"EXTERNAL": "TRUE"}
        if table_properties := re.search(r"tblproperties \((.*?)\)", rest, re.I):
            parameters |= key_values(table_properties[1])
        table_input = {
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": columns_of(partitions[1]) if partitions else [],
            "StorageDescriptor": {
                "Columns": columns,
                "Location": location[1],
                "InputFormat": TEXT_INPUT,
                "OutputFormat": TEXT_OUTPUT,
                "SerdeInfo": {
                    "SerializationLibrary": serde[1] if serde else TEXT_SERDE,
                    "Parameters": serde_parameters,
                },
            },
        }
        try:
            self.glue.create_table(DatabaseName=db, TableInput=table_input)
        except self.glue.exceptions.AlreadyExistsException:
            if not if_not_exists:
                raise AthenaRefuses(f"Table {db}.{name} already exists") from None
