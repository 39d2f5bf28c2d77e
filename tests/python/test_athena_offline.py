"""The Athena target, proven offline: parse, compile against a local AWS stand-in (moto in
server mode on 127.0.0.1, real HTTP), and every compiled statement is checked with Trino's own
grammar (no Trino running, no Athena query executed):

* what Trino runs (the compiled models' SELECTs, the tests, the analysis, the raw views' DDL)
  must parse with Trino's ANTLR grammar (trino-query-parser), plus the checks Trino's parser
  makes after the grammar (no backquoted identifiers, no identifiers starting with a digit);
* the Hive DDL that only Athena's DDL engine runs (`create database`, `create external table`)
  must have the one shape the raw layer uses, clause by clause (HIVE_DDL);
* and no DuckDB-only function is called (the grammar accepts any function name).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import boto3
import pytest
from antlr4 import CommonTokenStream, InputStream, ParserRuleContext, ParseTreeWalker
from dbt_harness import DBT, ROOT
from moto.server import ThreadedMotoServer
from s3_stand_in import ensure_buckets
from trino_query_parser import TrinoSyntaxError
from trino_query_parser.error import TrinoErrorListener
from trino_query_parser.SqlBaseLexer import SqlBaseLexer
from trino_query_parser.SqlBaseListener import SqlBaseListener
from trino_query_parser.SqlBaseParser import SqlBaseParser

from lakehouse.contract import load_contract

AWS_NAMES = ("AWS_", "ATHENA_", "RAW_S3_URI")
# DuckDB functions: Trino's grammar accepts any function call, so a name is checked here. DuckDB-
# only syntax (`::`, `ilike`, `lambda x: ...`, `interval 3 day`, backquotes) fails the grammar
# (test_duckdb_syntax_and_broken_statements_are_reported).
DUCKDB_ONLY = re.compile(
    r"\blist_(transform|extract|position)\b|\bregexp_matches\b|\bgenerate_series\b"
    r"|\bstrftime\b|\bstring_split\b|\blen\(|\btry\(|\bread_csv\b|\bstring_agg\b",
    re.IGNORECASE,
)

# --------------------------------------------------------------------------------------------
# Trino's grammar: trino-query-parser 0.422.7 is SqlBase.g4 of Trino 422 (the package's version
# follows the Trino release its grammar comes from), generated for ANTLR's Python runtime. The
# stand-in runs Trino 476. Every statement of the project parses with the 422 grammar: none needs
# later syntax (one that did would need its own, narrow exception here). The package's own
# parse_statement raises on the parser's errors only (its lexer prints them) and upper-cases the
# whole text first; parse_trino raises on both, and its messages show the text as written.


class _CaseInsensitiveInput(InputStream):
    """The lexer sees the text upper-cased, as Trino's CaseInsensitiveStream gives it (keywords
    are upper case in the grammar); tokens, and so the messages, keep the text as written."""

    def LA(self, offset: int) -> int:
        char = super().LA(offset)
        upper = chr(char).upper() if char > 0 else ""
        return ord(upper) if len(upper) == 1 else char


def _reject(context: ParserRuleContext, message: str) -> NoReturn:
    token = context.start
    raise TrinoSyntaxError(
        message,
        recognizer=None,
        offending_symbol=token,
        line=token.line,
        column=token.column,
        e=None,
    )


class _TrinoPostProcessor(SqlBaseListener):
    """What Trino's SqlParser rejects after the grammar accepted it (its PostProcessor)."""

    def exitBackQuotedIdentifier(self, context: ParserRuleContext) -> None:
        _reject(
            context,
            "backquoted identifiers are not supported; use double quotes to quote identifiers",
        )

    def exitDigitIdentifier(self, context: ParserRuleContext) -> None:
        _reject(
            context,
            "identifiers must not start with a digit; surround the identifier with double quotes",
        )


def parse_trino(sql: str) -> None:
    """One statement, parsed with Trino's grammar: TrinoSyntaxError (line:column message) at the
    first error of the lexer or the parser, never a printed warning and a recovered parse."""
    lexer = SqlBaseLexer(_CaseInsensitiveInput(sql))
    parser = SqlBaseParser(CommonTokenStream(lexer))
    for recognizer in (lexer, parser):
        recognizer.removeErrorListeners()
        recognizer.addErrorListener(TrinoErrorListener())
    ParseTreeWalker.DEFAULT.walk(_TrinoPostProcessor(), parser.singleStatement())


# --------------------------------------------------------------------------------------------
# Hive DDL that Athena sends to its DDL engine, not to Trino (Trino's grammar has neither
# statement): the shape the raw layer uses (macros/raw/athena_raw_relations.sql), clause by
# clause in Athena's order; (clause, pattern, required).
_STRING = r"'(?:[^'\\]|\\.)*'"
_NAME = r"(?:[a-z_]\w*|`[^`]+`)"
_TYPE = (
    r"(?:string|bigint|int|smallint|tinyint|boolean|double|float|date|timestamp|binary"
    r"|(?:decimal|varchar|char)\(\d+(?:,\s*\d+)?\))"
)
_COLUMNS = rf"\(\s*{_NAME}\s+{_TYPE}(?:\s*,\s*{_NAME}\s+{_TYPE})*\s*\)"
_PROPERTIES = rf"\(\s*{_STRING}\s*=\s*{_STRING}(?:\s*,\s*{_STRING}\s*=\s*{_STRING})*\s*\)"
HIVE_DDL: dict[str, list[tuple[str, str, bool]]] = {
    "create database": [
        ("create database", rf"create\s+database\s+(?:if\s+not\s+exists\s+)?{_NAME}", True),
    ],
    "create external table": [
        (
            "create external table",
            rf"create\s+external\s+table\s+(?:if\s+not\s+exists\s+)?{_NAME}\.{_NAME}\s*{_COLUMNS}",
            True,
        ),
        ("partitioned by", rf"partitioned\s+by\s*{_COLUMNS}", False),
        (
            "row format",
            rf"row\s+format\s+(?:delimited(?:\s+fields\s+terminated\s+by\s+{_STRING})?"
            rf"(?:\s+lines\s+terminated\s+by\s+{_STRING})?"
            rf"|serde\s+{_STRING}(?:\s+with\s+serdeproperties\s*{_PROPERTIES})?)",
            False,
        ),
        ("stored as", r"stored\s+as\s+(?:textfile|parquet|orc|avro)", False),
        ("location", r"location\s+'s3://[^'\s]+'", True),
        ("tblproperties", rf"tblproperties\s*{_PROPERTIES}", False),
    ],
}
TRINO = "trino"


def statement_kind(sql: str) -> str:
    """A HIVE_DDL kind when the statement starts with one, otherwise TRINO."""
    for kind in HIVE_DDL:
        if re.match(r"\s*" + kind.replace(" ", r"\s+") + r"\b", sql, re.IGNORECASE):
            return kind
    return TRINO


def hive_ddl_error(kind: str, sql: str) -> str | None:
    """None when the statement is the HIVE_DDL shape of its kind, otherwise what is wrong."""
    position = 0
    for clause, pattern, required in HIVE_DDL[kind]:
        match = re.compile(r"\s*" + pattern, re.IGNORECASE).match(sql, position)
        if match:
            position = match.end()
        elif required:
            return f"expected {clause} at character {position}: {sql[position:][:60]!r}"
    if rest := sql[position:].strip():
        return f"unexpected at character {position}: {rest[:60]!r}"
    return None


def syntax_problems(statements: dict[str, str]) -> list[str]:
    """Statement name -> SQL in, one line per problem out (name, checker, its message)."""
    problems = []
    for name, sql in statements.items():
        kind = statement_kind(sql)
        if kind == TRINO:
            try:
                parse_trino(sql)
            except TrinoSyntaxError as error:
                problems.append(f"{name}: Trino grammar: {error}")
        elif error := hive_ddl_error(kind, sql):
            problems.append(f"{name}: Athena Hive DDL ({kind}): {error}")
        if found := DUCKDB_ONLY.search(sql):
            problems.append(f"{name}: DuckDB-only function: {found.group()!r}")
    return problems


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
    """The target directory of `dbt compile --target athena`."""
    target = tmp_path_factory.mktemp("athena_target")
    run_dbt(aws_stand_in, target, "compile")
    return target


def test_parse_needs_no_aws_settings(tmp_path: Path) -> None:
    run_dbt(clean_env(), tmp_path, "parse")


def compiled_statements(target: Path) -> dict[str, tuple[str, str]]:
    """Every compiled file of the project: path below compiled/ -> (resource type, SQL)."""
    manifest = json.loads((target / "manifest.json").read_text())
    kinds = {
        Path(node["compiled_path"]).resolve(): node["resource_type"]
        for node in manifest["nodes"].values()
        if node.get("compiled_path")
    }
    root = target / "compiled" / "transaction_lakehouse"
    statements = {}
    for path in sorted(root.rglob("*.sql")):
        assert path.resolve() in kinds, f"{path}: not a node of the manifest"
        statements[str(path.relative_to(root))] = (kinds[path.resolve()], path.read_text())
    return statements


def test_every_compiled_statement_is_trino_sql(compiled: Path) -> None:
    statements = compiled_statements(compiled)
    names = {Path(name).name for name in statements}
    assert {"stg_landing__transactions.sql", "fct_transactions.sql"} <= names
    assert "task3_month_end_balances.sql" in names
    by_type = Counter(resource_type for resource_type, _ in statements.values())
    assert set(by_type) == {"model", "test", "analysis"}, by_type
    hive = [name for name, (_, sql) in statements.items() if statement_kind(sql) != TRINO]
    assert not hive, f"Hive DDL compiled as a model, test or analysis: {hive}"
    problems = syntax_problems({name: sql for name, (_, sql) in statements.items()})
    assert not problems, "\n".join(problems)


def test_raw_table_ddl_is_athena_sql(aws_stand_in: dict[str, str], tmp_path: Path) -> None:
    output = run_dbt(aws_stand_in, tmp_path, "run-operation", "print_raw_ddl", "--quiet")
    statements = [part.strip() for part in output.split("\n;") if part.strip()]
    kinds = Counter(statement_kind(statement) for statement in statements)
    # The raw layer's two databases and six external tables (Athena's DDL engine), and the five
    # views over them, which Trino runs.
    assert kinds == {"create database": 2, "create external table": 6, TRINO: 5}, kinds
    assert any("create external table" in s and "transaction_files" in s for s in statements)
    [csv_table] = [s for s in statements if "transactions_csv_files (" in s]
    columns = re.findall(r"^\s+(\w+) string,?$", csv_table.split("partitioned by")[0], re.M)
    assert columns == list(load_contract().column_names)
    assert "OpenCSVSerde" in csv_table and "'skip.header.line.count' = '1'" in csv_table
    [lines_view] = [s for s in statements if "view transactions_raw.transaction_lines " in s]
    assert "from transactions_raw.transaction_line_index" in lines_view
    assert "row_number()" not in lines_view
    for statement in statements:  # checked as Hive DDL only because Trino's grammar rejects it
        if statement_kind(statement) != TRINO:
            with pytest.raises(TrinoSyntaxError, match="no viable alternative"):
                parse_trino(statement)
    named = {f"print_raw_ddl #{i}: {s.splitlines()[0]}": s for i, s in enumerate(statements, 1)}
    problems = syntax_problems(named)
    assert not problems, "\n".join(problems)


def test_duckdb_syntax_and_broken_statements_are_reported() -> None:
    table = "create external table if not exists raw.t (a string)"
    statements = {
        "ok.sql": "select a, count(*) as n from raw.t where a like 'x%' group by a",
        "ok_view.sql": 'create or replace view raw.v as select "$path" as p from raw.t',
        "ok_database.sql": "create database if not exists raw",
        "ok_table.sql": f"{table} row format delimited stored as textfile location 's3://b/r/'",
        "broken.sql": "select a, from raw.t",
        "two_statements.sql": "select 1; select 2",
        "unterminated.sql": "select 'abc from raw.t",
        "cast.sql": "select a::integer from raw.t",
        "ilike.sql": "select a from raw.t where a ilike 'x%'",
        "lambda.sql": "select transform(xs, lambda x: x + 1) from raw.t",
        "interval.sql": "select current_date - interval 3 day",
        "backquotes.sql": "select `a` from raw.t",
        "digit.sql": "select 1a from raw.t",
        "function.sql": "select string_agg(a, ',') from raw.t",
        "table_order.sql": f"{table} location 's3://b/r/' stored as textfile",
        "table_type.sql": "create external table raw.t (a text) location 's3://b/r/'",
        "database.sql": "create database raw comment 'x'",
    }
    problems = dict(problem.split(": ", 1) for problem in syntax_problems(statements))
    assert set(problems) == {name for name in statements if not name.startswith("ok")}, problems
    # line:column (ANTLR's, from 0) and the parser's message
    assert problems["broken.sql"].startswith("Trino grammar: 1:10 extraneous input 'from' expect")
    assert problems["cast.sql"] == "Trino grammar: 1:8 mismatched input ':' expecting <EOF>"
    assert problems["backquotes.sql"] == (
        "Trino grammar: 1:7 backquoted identifiers are not supported; use double quotes to quote "
        "identifiers"
    )
    assert problems["function.sql"] == "DuckDB-only function: 'string_agg'"
    assert problems["table_order.sql"] == (
        "Athena Hive DDL (create external table): unexpected at character 73: 'stored as textfile'"
    )


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
