"""Tests of lakehouse.contract (`lakehouse contract`): the transactions file contract and what
is derived from it."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from lakehouse import contract as ct

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = [sys.executable, "-m", "lakehouse", "contract"]
HEADERS = ["TransactionID", "CustomerID", "TransactionAmount", "Currency", "TransactionTimestamp"]
COLUMNS = [
    "transaction_id",
    "customer_id",
    "transaction_amount",
    "currency",
    "transaction_timestamp",
]
VALID_RECORD = {
    "TransactionID": "T-0001",
    "CustomerID": "ACC001",
    "TransactionAmount": "-25.50",
    "Currency": "EUR",
    "TransactionTimestamp": "2024-01-05T09:00:00Z",
}
EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Order placed event",
    "type": "object",
    "required": ["event_id", "order"],
    "additionalProperties": False,
    "properties": {
        "event_id": {"type": "string", "description": "Unique id of the event"},
        "timestamp": {"type": "string", "format": "date-time"},
        "date": {"type": "string", "format": "date"},
        "version": {"type": "integer", "minimum": 1},
        "isTest": {"type": "boolean", "x-column": "is_test"},
        "order": {
            "type": "object",
            "required": ["id", "lines"],
            "properties": {
                "id": {"type": "string"},
                "total": {"type": "string", "x-athena-type": "decimal(18,2)"},
                "lines": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["sku", "qty"],
                        "additionalProperties": False,
                        "properties": {
                            "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
                            "qty": {"type": "integer", "minimum": 1},
                            "price": {"type": "number"},
                        },
                    },
                },
            },
        },
        "tags": {"type": "array", "items": {"type": "string"}},
        "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
        "note": {"type": ["string", "null"], "maxLength": 10},
    },
}
VALID_EVENT: dict[str, Any] = {
    "event_id": "e-1",
    "timestamp": "2024-01-05T09:00:00Z",
    "version": 2,
    "order": {"id": "o-1", "lines": [{"sku": "ABC-1", "qty": 2, "price": 9.5}]},
    "tags": ["a", "b"],
    "note": None,
}


@pytest.fixture(scope="module")
def contract() -> ct.Contract:
    return ct.load_contract()


@pytest.fixture(scope="module")
def schema(contract: ct.Contract) -> dict[str, Any]:
    return dict(contract.schema)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONTRACT, *args], capture_output=True, text=True, check=False)


def parse_athena(ddl: str) -> exp.Create:
    parsed = sqlglot.parse_one(ddl, read="athena")
    assert isinstance(parsed, exp.Create)
    return parsed


def column_defs(parsed: exp.Create) -> dict[str, str]:
    """Top-level column name -> type (as sqlglot writes it) of a parsed CREATE TABLE."""
    schema = parsed.this
    assert isinstance(schema, exp.Schema)
    return {
        col.name: col.args["kind"].sql("hive")
        for col in schema.expressions
        if isinstance(col, exp.ColumnDef)
    }


# --------------------------------------------------------------------------------------------
# The contract file


def test_contract_file_is_a_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == HEADERS
    for spec in schema["properties"].values():
        assert spec["type"] == "string"
        assert spec["description"]
    assert schema["properties"]["Currency"]["x-allowlist"]["seed"] == (
        "seeds/iso_4217_currencies.csv"
    )


def test_load_contract_gives_columns_in_file_order(contract: ct.Contract) -> None:
    assert contract.version == "1.0.0"
    assert list(contract.names) == HEADERS
    assert list(contract.column_names) == COLUMNS
    assert contract.required == frozenset(HEADERS)
    assert all(column.required and column.description for column in contract.columns)


def test_load_contract_names_the_file_when_unusable(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "object", "properties": {"A": {"type": "string"}}}')
    with pytest.raises(ct.ContractError, match=r"broken\.json.*x-contract-version"):
        ct.load_contract(broken)
    with pytest.raises(ct.ContractError, match=r"missing\.json"):
        ct.load_contract(tmp_path / "missing.json")


# --------------------------------------------------------------------------------------------
# Validator


def test_valid_record_is_returned_unchanged(schema: dict[str, Any]) -> None:
    record = dict(VALID_RECORD)
    before = copy.deepcopy(record)
    assert ct.validate(record, schema) == []
    assert ct.check(record, schema) is record
    assert record == before


def test_valid_nested_event_is_returned_unchanged() -> None:
    event = copy.deepcopy(VALID_EVENT)
    assert ct.check(event, EVENT_SCHEMA) is event
    assert event == VALID_EVENT


def test_missing_required_field_is_reported(schema: dict[str, Any]) -> None:
    record = {k: v for k, v in VALID_RECORD.items() if k != "Currency"}
    assert ct.validate(record, schema) == ["$.Currency: required property is missing"]


def test_undeclared_field_is_rejected(schema: dict[str, Any]) -> None:
    errors = ct.validate({**VALID_RECORD, "Memo": "x"}, schema)
    assert errors == ["$.Memo: property is not declared in the contract"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("TransactionAmount", "1,000.00"),
        ("TransactionAmount", "1e5"),
        ("TransactionAmount", "1.234"),
        ("TransactionAmount", ".5"),
        ("Currency", "EURO"),
        ("Currency", "eur"),
        ("TransactionTimestamp", "2024-01-05"),
        ("TransactionTimestamp", "05/01/2024 09:00"),
        ("TransactionID", "   "),
        ("TransactionAmount", "1.00\n"),  # $ is the end of the input, as in JSON Schema
        ("TransactionTimestamp", "2024-01-05T09:00:00Z\n"),
    ],
)
def test_values_not_matching_the_pattern_are_rejected(
    schema: dict[str, Any], field: str, value: str
) -> None:
    errors = ct.validate({**VALID_RECORD, field: value}, schema)
    assert len(errors) == 1
    assert errors[0].startswith(f"$.{field}: ") and "pattern" in errors[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("TransactionAmount", "1000000.00"),
        ("TransactionAmount", "+1.2300"),
        ("TransactionTimestamp", "2024-02-29 12:00:00"),
        ("TransactionTimestamp", "2024-01-05T09:00:00.123456789+0200"),
        ("TransactionID", "123"),
    ],
)
def test_values_in_the_spec_forms_are_accepted(
    schema: dict[str, Any], field: str, value: str
) -> None:
    assert ct.validate({**VALID_RECORD, field: value}, schema) == []


def test_empty_id_fails_min_length(schema: dict[str, Any]) -> None:
    errors = ct.validate({**VALID_RECORD, "TransactionID": ""}, schema)
    assert any("shorter than 1" in e for e in errors)


def test_non_string_value_is_a_type_error(schema: dict[str, Any]) -> None:
    errors = ct.validate({**VALID_RECORD, "TransactionAmount": 25.5}, schema)
    assert errors == ["$.TransactionAmount: expected string, got number 25.5"]


@pytest.mark.parametrize(
    ("type_", "good", "bad"),
    [
        ("string", ["", "x"], [1, None, True, [], {}]),
        ("integer", [0, -3, 2.0], [1.5, True, "1", None]),
        ("number", [0, 1.5, -2], [True, "1.5", None, float("nan")]),
        ("boolean", [True, False], [0, 1, "true", None]),
        ("object", [{}, {"a": 1}], [[], "x", None]),
        ("array", [[], [1, "a"]], [{}, "x", None]),
        ("null", [None], [0, "", False]),
        (["string", "null"], ["x", None], [1, False]),
    ],
)
def test_types(type_: str | list[str], good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert ct.validate(value, {"type": type_}) == [], value
    for value in bad:
        errors = ct.validate(value, {"type": type_})
        assert len(errors) == 1 and "expected" in errors[0], value


def test_scalar_keywords() -> None:
    assert ct.validate("b", {"enum": ["a", "b"]}) == []
    assert ct.validate("c", {"enum": ["a", "b"]}) == ['$: "c" is not one of ["a", "b"]']
    assert ct.validate(True, {"enum": [1]}) != []  # true is not 1 in JSON
    assert ct.validate("abcd", {"minLength": 2, "maxLength": 3}) != []
    assert ct.validate("a", {"minLength": 2}) != []
    assert ct.validate(5, {"minimum": 1, "maximum": 5}) == []
    assert ct.validate(0, {"minimum": 1}) == ["$: 0 is less than 1"]
    assert ct.validate(6, {"maximum": 5}) == ["$: 6 is greater than 5"]
    assert ct.validate("12", {"minimum": 100}) == []  # number keywords ignore strings


def test_nested_errors_are_all_reported_with_their_path() -> None:
    event = copy.deepcopy(VALID_EVENT)
    event["order"]["lines"].append({"sku": "bad", "qty": 0, "extra": 1})
    del event["order"]["id"]
    event["tags"] = ["a", 2]
    event["version"] = "2"
    errors = ct.validate(event, EVENT_SCHEMA)
    assert sorted(errors) == sorted(
        [
            "$.order.id: required property is missing",
            "$.order.lines[1].sku: \"bad\" does not match pattern '^[A-Z]{3}-[0-9]+$'",
            "$.order.lines[1].qty: 0 is less than 1",
            "$.order.lines[1].extra: property is not declared in the contract",
            "$.tags[1]: expected string, got integer 2",
            '$.version: expected integer, got string "2"',
        ]
    )
    with pytest.raises(ct.ContractViolation) as raised:
        ct.check(event, EVENT_SCHEMA)
    assert raised.value.errors == errors
    assert "6 contract violation(s)" in str(raised.value)


def test_additional_properties_schema_and_arrays() -> None:
    schema = EVENT_SCHEMA["properties"]["attributes"]
    assert ct.validate({"a": "x"}, schema) == []
    assert ct.validate({"a": 1}, schema) == ["$.a: expected string, got integer 1"]
    lines = EVENT_SCHEMA["properties"]["order"]["properties"]["lines"]
    assert ct.validate([], lines) == ["$: fewer than 1 item(s)"]
    assert ct.validate({"a b": 1}, {"additionalProperties": False}) == [
        '$["a b"]: property is not declared in the contract'
    ]


# --------------------------------------------------------------------------------------------
# Athena DDL


def assert_well_formed(ddl: str) -> exp.Create:
    assert not re.search(r",\s*\)", ddl), "trailing comma before )"
    assert not re.search(r",\s*>", ddl), "trailing comma before >"
    return parse_athena(ddl)


def test_transactions_ddl(schema: dict[str, Any]) -> None:
    ddl = ct.render_athena_ddl(
        schema,
        "raw.transactions",
        "s3://bucket/raw/transactions/",
        partitioned_by=[("ingest_date", "string"), ("run_id", "string")],
        serde="csv",
        properties={"classification": "csv"},
    )
    parsed = assert_well_formed(ddl)
    assert list(column_defs(parsed)) == COLUMNS
    assert set(column_defs(parsed).values()) == {"STRING"}
    assert ddl.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS raw.transactions (")
    assert "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'" in ddl
    assert "'skip.header.line.count' = '1'" in ddl
    assert "'contract_version' = '1.0.0'" in ddl
    assert "'classification' = 'csv'" in ddl
    assert "PARTITIONED BY (\n  ingest_date string,\n  run_id string\n)" in ddl
    assert "LOCATION 's3://bucket/raw/transactions/'" in ddl


def test_nested_json_event_ddl() -> None:
    ddl = ct.render_athena_ddl(
        EVENT_SCHEMA, "events.order_placed", "s3://bucket/events/", partitioned_by=[("dt", "date")]
    )
    parsed = assert_well_formed(ddl)
    types = column_defs(parsed)
    assert list(types) == [
        "event_id",
        "timestamp",
        "date",
        "version",
        "is_test",
        "order",
        "tags",
        "attributes",
        "note",
    ]
    assert types["timestamp"] == "TIMESTAMP"
    assert types["date"] == "DATE"
    assert types["version"] == "BIGINT"
    assert types["is_test"] == "BOOLEAN"
    assert types["tags"] == "ARRAY<STRING>"
    assert types["attributes"] == "MAP<STRING, STRING>"
    assert types["note"] == "STRING"
    assert "order" in ddl and "`order` struct<id:string,total:decimal(18,2),lines:array<" in ddl
    assert "lines:array<struct<sku:string,qty:bigint,price:double>>" in ddl
    for reserved in ("timestamp", "date", "order"):
        assert f"\n  `{reserved}` " in ddl
    assert "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'" in ddl
    assert "'mapping.is_test' = 'istest'" in ddl  # the SerDe lower-cases keys by default
    case_sensitive = ct.render_athena_ddl(
        EVENT_SCHEMA, "t", "s3://b/p/", serde_properties={"case.insensitive": "false"}
    )
    assert "'mapping.is_test' = 'isTest'" in case_sensitive
    assert "COMMENT 'Order placed event'" in ddl


def test_reserved_and_unusual_names_are_quoted_everywhere() -> None:
    schema = {
        "type": "object",
        "properties": {
            "user": {"type": "object", "properties": {"select": {"type": "string"}}},
            "_hidden": {"type": "string"},
            "My Field": {"type": "string", "x-column": "my field"},
        },
    }
    ddl = ct.render_athena_ddl(schema, "db.table", "s3://b/p/", partitioned_by=[("date", "string")])
    assert_well_formed(ddl)
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS db.`table` (" in ddl
    assert "`user` struct<`select`:string>" in ddl
    assert "`_hidden` string" in ddl
    assert "`my field` string" in ddl
    assert "PARTITIONED BY (\n  `date` string\n)" in ddl
    assert ct.quote_identifier("amount") == "amount"
    assert ct.quote_identifier("Amount") == "`Amount`"


def test_comments_are_escaped() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "description": "it's a \\ path\nnext line"}},
    }
    ddl = ct.render_athena_ddl(schema, "t", "s3://b/p/")
    assert "a string COMMENT 'it\\'s a \\\\ path next line'" in ddl
    assert_well_formed(ddl)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"serde": "parquet"}, "serde must be one of"),
        ({"location": "/local/path"}, "s3://"),
        ({"partitioned_by": [("event_id", "string")]}, "appears twice"),
        ({"partitioned_by": [("dt", "string; DROP TABLE x")]}, "invalid x-athena-type"),
        ({"serde": "csv"}, "the CSV SerDe reads no"),
    ],
)
def test_renderer_refuses_invalid_input(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"table": "t", "location": "s3://b/p/", **kwargs}
    with pytest.raises(ValueError, match=message):
        ct.render_athena_ddl(EVENT_SCHEMA, **arguments)


def test_ddl_cli_prints_the_transactions_table() -> None:
    result = run_cli(
        "ddl",
        "--table",
        "raw.transactions",
        "--location",
        "s3://bucket/raw/transactions/",
        "--partition",
        "ingest_date:string",
        "--partition",
        "run_id:string",
    )
    assert result.returncode == 0, result.stderr
    parsed = assert_well_formed(result.stdout)
    assert list(column_defs(parsed)) == COLUMNS
    assert "OpenCSVSerde" in result.stdout  # the contract's x-file-format


def test_ddl_cli_reports_bad_input() -> None:
    result = run_cli(
        "ddl", "--table", "t", "--location", "s3://b/p/", "--serde", "json", "--partition", "bad"
    )
    assert result.returncode == 2
    assert "NAME:TYPE" in result.stderr


# --------------------------------------------------------------------------------------------
# Headers


@pytest.mark.parametrize(
    "header",
    [
        ",".join(HEADERS),
        ",".join(reversed(HEADERS)),
        " TransactionID , CustomerID,TransactionAmount ,Currency,\tTransactionTimestamp ",
        "\ufeff" + ",".join(HEADERS),
        ",".join(HEADERS) + "\r\n",
        '"TransactionID","CustomerID","TransactionAmount","Currency","TransactionTimestamp"',
        # blanks around quotes and inside them are dropped, as dbt's split_csv_fields + trim
        ' "TransactionID" , " CustomerID ",TransactionAmount,Currency,TransactionTimestamp',
    ],
)
def test_header_matches(contract: ct.Contract, header: str) -> None:
    assert ct.header_matches(header, contract)
    assert ct.header_fingerprint(header) == contract.fingerprint


@pytest.mark.parametrize(
    "header",
    [
        ",".join(HEADERS[:-1]),
        ",".join([*HEADERS, "Memo"]),
        ",".join([*HEADERS[:-1], "TransactionID"]),
        ",".join([*HEADERS[:-1], "transactiontimestamp"]),
        ";".join(HEADERS),
        "",
        None,
        # only spaces and tabs are blanks (dbt trims nothing else); a stray quote matches nothing
        ",".join([*HEADERS[:-1], "TransactionTimestamp\u00a0"]),
        ",".join([*HEADERS[:-1], 'Transaction"Timestamp']),
    ],
)
def test_header_does_not_match(contract: ct.Contract, header: str | None) -> None:
    assert not ct.header_matches(header, contract)
    if header is not None:
        assert ct.header_fingerprint(header) != contract.fingerprint


def test_optional_column_may_be_absent_but_not_undeclared(contract: ct.Contract) -> None:
    """A minor version adds an optional column: old files still match, undeclared ones do not."""
    schema = json.loads(json.dumps(contract.schema))
    schema["properties"]["Channel"] = {"type": "string", "x-column": "channel"}
    evolved = ct.contract_from_schema(schema)
    assert ct.header_matches(",".join(HEADERS), evolved)
    assert ct.header_matches(",".join(["Channel", *HEADERS]), evolved)
    assert not ct.header_matches(",".join([*HEADERS, "Channel", "Channel"]), evolved)
    assert not ct.header_matches(",".join([*HEADERS, "Memo"]), evolved)
    assert not ct.header_matches(",".join(["Channel", *HEADERS[1:]]), evolved)


def test_header_fingerprint_is_stable_sha256() -> None:
    fingerprint = ct.header_fingerprint("b,a")
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint)
    assert fingerprint == ct.header_fingerprint(" a , b ")
    assert fingerprint != ct.header_fingerprint("a,b,b")


# --------------------------------------------------------------------------------------------
# Drift between the contract and the files that restate it


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the project files check-drift reads."""
    root = tmp_path / "repo"
    for folder in ("contracts", "macros", "models", "seeds", "src"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_drift_check_passes_on_the_repo() -> None:
    assert ct.check_drift(ROOT) == []
    result = run_cli("check-drift")
    assert result.returncode == 0, result.stderr


def test_drift_check_passes_on_an_unchanged_copy(repo_copy: Path) -> None:
    result = run_cli("check-drift", "--root", str(repo_copy))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("file", "old", "new", "named"),
    [
        (
            ct.MACRO_FILE,
            "'column': 'customer_id'",
            "'column': 'client_id'",
            [ct.MACRO_FILE],
        ),
        (
            ct.MACRO_FILE,
            "'header': 'Currency'",
            "'header': 'CurrencyCode'",
            [ct.MACRO_FILE],
        ),
        (
            ct.MODEL_DOCS_FILE,
            "- name: currency_raw",
            "- name: currency_code_raw",
            [ct.MODEL_DOCS_FILE],
        ),
        (
            ct.CONTRACT_FILE,
            '"x-column": "transaction_amount"',
            '"x-column": "amount"',
            [ct.MACRO_FILE, ct.MODEL_DOCS_FILE],
        ),
        (
            ct.CONTRACT_FILE,
            '"TransactionTimestamp": {',
            '"TransactionTime": {',
            [ct.MACRO_FILE],
        ),
        (
            ct.MACRO_FILE,
            "^[+-]?0*[0-9]{1,16}",
            "^[+-]?0*[0-9]{1,18}",
            [ct.MACRO_FILE],
        ),
        (
            "seeds/iso_4217_currencies.csv",
            "currency_code,",
            "code,",
            ["seeds/iso_4217_currencies.csv"],
        ),
    ],
)
def test_drift_check_fails_when_one_place_changes(
    repo_copy: Path, file: str, old: str, new: str, named: list[str]
) -> None:
    edit(repo_copy / file, old, new)
    result = run_cli("check-drift", "--root", str(repo_copy))
    assert result.returncode != 0
    for place in named:
        assert f"contract drift: {place}: " in result.stderr


def test_drift_check_fails_when_the_macro_order_differs(repo_copy: Path) -> None:
    macro = repo_copy / ct.MACRO_FILE
    text = macro.read_text(encoding="utf-8")
    a = "{'header': 'TransactionID', 'column': 'transaction_id', 'required': true},"
    b = "{'header': 'CustomerID', 'column': 'customer_id', 'required': true},"
    macro.write_text(text.replace(f"{a}\n        {b}", f"{b}\n        {a}"), encoding="utf-8")
    drifts = ct.check_drift(repo_copy)
    assert [d.place for d in drifts] == [ct.MACRO_FILE]
    assert "same order" in drifts[0].message


def test_drift_check_fails_when_a_raw_column_is_undocumented(repo_copy: Path) -> None:
    docs = repo_copy / ct.MODEL_DOCS_FILE
    edit(docs, "        description: \"{{ doc('currency_raw') }}\"\n", "")
    drifts = ct.check_drift(repo_copy)
    model = "base_landing__transaction_fields"
    assert [str(d) for d in drifts] == [
        f"{ct.MODEL_DOCS_FILE}: {model}: column currency_raw is not documented"
    ]


def test_drift_check_names_a_missing_contract(repo_copy: Path) -> None:
    (repo_copy / ct.CONTRACT_FILE).unlink()
    result = run_cli("check-drift", "--root", str(repo_copy))
    assert result.returncode != 0
    assert ct.CONTRACT_FILE in result.stderr


def test_documented_columns_parses_the_model_block() -> None:
    yml = """version: 2
models:
  - name: other
    columns:
      - name: x_raw
        description: not this model
  - name: stg_landing__transactions
    description: >
      folded
    columns:
      - name: a_raw
        description: >
          folded description
      - name: b_raw
        data_tests:
          - not_null
      - description: c first
        name: c_raw
"""
    assert ct.documented_columns(yml, "stg_landing__transactions") == {
        "a_raw": "folded description",
        "b_raw": "",
        "c_raw": "c first",
    }
    assert ct.documented_columns(yml, "missing") is None


def test_header_problems_name_each_column(contract: ct.Contract) -> None:
    header = ",".join(["transactionid", *HEADERS[1:-1], "Memo", "Memo"])
    assert ct.header_problems(header, contract) == [
        "lacks TransactionID",
        "lacks TransactionTimestamp",
        "transactionid is not in the contract",
        "Memo appears 2 times",
        "Memo is not in the contract",
    ]
