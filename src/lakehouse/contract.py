#!/usr/bin/env python3
"""The transactions file contract (``contracts/transactions.schema.json``) and its uses.

* ``load_contract``: the contract's columns (header name -> model column), version, required set.
* ``header_matches`` / ``header_fingerprint``: does a file's header match the contract (by name,
  any order), and a stable fingerprint of a header for schema-drift alerts.
* ``validate`` / ``check``: producer-side validation of one record against a JSON Schema (the
  subset of draft 2020-12 this project uses).
* ``render_athena_ddl``: Athena ``CREATE EXTERNAL TABLE`` DDL from any JSON Schema object (CSV
  contracts and nested JSON event sources alike).
* ``check_drift``: the places that restate the contract (dbt macro, model docs, loader) agree
  with it.

Usage::

    lakehouse contract ddl --table raw.transactions \
        --location s3://bucket/raw/transactions/ \
        --partition ingest_date:string --partition run_id:string
    lakehouse contract check-drift [--root DIR]

Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse import project_dir

REPO_ROOT = project_dir()
CONTRACT_FILE = "contracts/transactions.schema.json"
DEFAULT_CONTRACT_PATH = REPO_ROOT / CONTRACT_FILE
MACRO_FILE = "macros/parsing/contract.sql"
MACRO_NAME = "transaction_file_columns"
MODEL_DOCS_FILE = "models/staging/landing/_landing__models.yml"
# The models that carry each file column's value as received (<column>_raw): where the record is
# split by its header, and staging, which passes the values on.
RAW_VALUE_MODELS = ("base_landing__transaction_fields", "stg_landing__transactions")
MARTS_DOCS_FILE = "models/marts/_marts__models.yml"
PROCESSED_MODEL = "fct_transactions"
LOADER_FILE = "src/lakehouse/landing.py"
RAW_SUFFIX = "_raw"
BOM = "\ufeff"


# --------------------------------------------------------------------------------------------
# The contract


class ContractError(ValueError):
    """The contract file is missing or not a usable contract."""


@dataclass(frozen=True)
class ContractColumn:
    """One column of the file: its header name and the model column it becomes."""

    name: str
    column: str
    description: str
    required: bool


@dataclass(frozen=True)
class Contract:
    """The file contract: columns in canonical file order, version and required names."""

    version: str
    columns: tuple[ContractColumn, ...]
    required: frozenset[str]
    schema: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Header names in canonical order."""
        return tuple(column.name for column in self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Model column names in canonical order."""
        return tuple(column.column for column in self.columns)

    @property
    def fingerprint(self) -> str:
        """``header_fingerprint`` of a header that matches the contract exactly."""
        return _names_fingerprint(self.names)


def load_contract(path: Path | str = DEFAULT_CONTRACT_PATH) -> Contract:
    """Read and check the contract file; raise ``ContractError`` naming the file if unusable."""
    path = Path(path)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ContractError(f"{path}: cannot read the contract: {exc}") from exc
    try:
        return contract_from_schema(schema)
    except ContractError as exc:
        raise ContractError(f"{path}: {exc}") from None


def contract_from_schema(schema: Any) -> Contract:
    """The ``Contract`` described by a parsed contract schema."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ContractError("the contract must be a JSON Schema of type object")
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise ContractError("the contract declares no properties")
    version = schema.get("x-contract-version")
    if not isinstance(version, str) or not version:
        raise ContractError("x-contract-version is missing")
    required = frozenset(schema.get("required", ()))
    columns = tuple(
        _contract_column(name, spec, name in required) for name, spec in properties.items()
    )
    return Contract(version=version, columns=columns, required=required, schema=schema)


def _contract_column(name: str, spec: Any, required: bool) -> ContractColumn:
    if not isinstance(spec, dict) or not isinstance(spec.get("x-column"), str):
        raise ContractError(f"property {name!r} has no x-column")
    return ContractColumn(
        name=name,
        column=spec["x-column"],
        description=str(spec.get("description", "")),
        required=required,
    )


# --------------------------------------------------------------------------------------------
# Headers


# The header matching policy, one rule for the loader (manifest, warnings) and dbt
# (base_landing__file_headers, macros/parsing/csv_fields.sql): the header is the file's first line
# (a UTF-8 BOM dropped), split as a CSV record (RFC 4180, comma-delimited); blanks (spaces and
# tabs, nothing else) around a field are dropped, a quoted field is unquoted (doubled quotes
# undone) and its inside trimmed of blanks too; the names are then compared with the contract's
# exactly, case included (``transactionid`` is not ``TransactionID``). A header that is not
# well-formed CSV (a stray or unclosed quote) matches nothing. The same regular expressions as
# the dbt macros csv_field_pattern() and csv_record_is_well_formed().
BLANKS = " \t"
_CSV_BLANKS = r"[ \t]*"
_CSV_QUOTED = r'"(?:[^"]|"")*"'
_CSV_UNQUOTED = r'(?:[^,"\t ][^,"]*)?'
_CSV_FIELD_RE = re.compile(f",{_CSV_BLANKS}({_CSV_QUOTED}|{_CSV_UNQUOTED}){_CSV_BLANKS}")
_CSV_RECORD_RE = re.compile(f"(?:,{_CSV_BLANKS}(?:{_CSV_QUOTED}{_CSV_BLANKS}|{_CSV_UNQUOTED}))+")


def _header_line(header: str) -> str:
    return header.removeprefix(BOM).rstrip("\r\n")


def header_is_well_formed(header: str) -> bool:
    """Whether the header line splits cleanly into CSV fields (dbt: csv_record_is_well_formed)."""
    line = _header_line(header)
    return '"' not in line or _CSV_RECORD_RE.fullmatch("," + line) is not None


def header_names(header: str) -> list[str]:
    """The column names of a CSV header line under the matching policy above: BOM dropped, CSV
    quoting applied, names trimmed of blanks (spaces, tabs). A header that is not well-formed is
    split by Python's csv module instead (for its fingerprint only: it matches nothing)."""
    line = _header_line(header)
    if '"' not in line:
        fields = line.split(",")
    elif header_is_well_formed(line):
        fields = [
            field[1:-1].replace('""', '"') if field.startswith('"') else field
            for field in _CSV_FIELD_RE.findall("," + line)
        ]
    else:
        if len(line) >= csv.field_size_limit():  # the loader keeps headers up to 1 MiB
            csv.field_size_limit(len(line) + 1)
        fields = next(csv.reader([line]), [])
    return [name.strip(BLANKS) for name in fields]


def header_problems(header: str | None, contract: Contract) -> list[str]:
    """What is wrong with a header under the matching policy, in words (empty: it matches):
    e.g. ``lacks Currency``, ``Memo is not in the contract``, ``TransactionID appears twice``."""
    if header is None:
        return ["no readable header (empty file, or a first line that is not UTF-8 or too long)"]
    if not header_is_well_formed(header):
        return ["the header is not well-formed CSV (a stray or unclosed quote)"]
    names = header_names(header)
    problems = [
        f"lacks {name}"
        for name in contract.names
        if name in contract.required and name not in names
    ]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        if names.count(name) > 1:
            problems.append(f"{name or '(an empty name)'} appears {names.count(name)} times")
        if name not in contract.names:
            problems.append(f"{name or '(an empty name)'} is not in the contract")
    return problems


def header_matches(header: str | None, contract: Contract) -> bool:
    """Whether the header names every required column and only declared ones, once each, in
    any order (optional columns, added by minor contract versions, may be absent), under the
    header matching policy above."""
    return not header_problems(header, contract)


def header_fingerprint(header: str) -> str:
    """sha256 of the header's normalised names, sorted (order-insensitive; duplicates count)."""
    return _names_fingerprint(header_names(header))


def _names_fingerprint(names: Iterable[str]) -> str:
    canonical = json.dumps(sorted(names), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Producer-side validation (a subset of JSON Schema draft 2020-12)


class ContractViolation(ValueError):
    """A record does not satisfy the schema; ``errors`` lists every reason."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} contract violation(s): " + "; ".join(self.errors))


def validate(record: Any, schema: Mapping[str, Any] | bool) -> list[str]:
    """Every way ``record`` violates ``schema`` (empty list: valid). ``record`` is not changed.

    Supported keywords: type (one or a list), enum, const, required, properties,
    additionalProperties, pattern, minLength, maxLength, minimum, maximum, exclusiveMinimum,
    exclusiveMaximum, items, minItems, maxItems. Other keywords (format, x-*) are annotations.
    """
    errors: list[str] = []
    _validate_node(record, schema, "$", errors)
    return errors


def check(record: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` itself when valid; otherwise raise ``ContractViolation`` with all errors."""
    errors = validate(record, schema)
    if errors:
        raise ContractViolation(errors)
    return record


def _validate_node(value: Any, schema: Mapping[str, Any] | bool, path: str, out: list[str]) -> None:
    if schema is True:
        return
    if schema is False:
        out.append(f"{path}: not allowed here")
        return
    if not _check_type(value, schema, path, out):
        return  # the other keywords would only restate the type error
    _check_enum(value, schema, path, out)
    if isinstance(value, str):
        _check_string(value, schema, path, out)
    elif _is_number(value):
        _check_number(value, schema, path, out)
    elif isinstance(value, dict):
        _check_object(value, schema, path, out)
    elif isinstance(value, list):
        _check_array(value, schema, path, out)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: _is_number(v),
    "integer": lambda v: _is_number(v) and float(v).is_integer(),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not (isinstance(value, float) and not math.isfinite(value))


def _declared_types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    if declared is None:
        return []
    types = [declared] if isinstance(declared, str) else list(declared)
    unknown = [t for t in types if t not in _TYPE_CHECKS]
    if unknown:
        raise ValueError(f"unsupported JSON Schema type(s): {unknown}")
    return types


def _check_type(value: Any, schema: Mapping[str, Any], path: str, out: list[str]) -> bool:
    types = _declared_types(schema)
    if not types or any(_TYPE_CHECKS[t](value) for t in types):
        return True
    expected = " or ".join(types)
    out.append(f"{path}: expected {expected}, got {_json_type(value)} {_show(value)}")
    return False


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPE_CHECKS[name](value):
            return name
    return type(value).__name__


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _check_enum(value: Any, schema: Mapping[str, Any], path: str, out: list[str]) -> None:
    if "enum" in schema and not any(_json_equal(value, v) for v in schema["enum"]):
        out.append(f"{path}: {_show(value)} is not one of {_show(schema['enum'])}")
    if "const" in schema and not _json_equal(value, schema["const"]):
        out.append(f"{path}: {_show(value)} is not {_show(schema['const'])}")


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern for Python's re: a final ``$`` is the end of the input (ECMA-262),
    which Python writes ``\\Z`` (its ``$`` also matches before a final line break)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + "\\Z"
    return re.compile(pattern)


def _check_string(value: str, schema: Mapping[str, Any], path: str, out: list[str]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        out.append(f"{path}: shorter than {schema['minLength']} character(s)")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        out.append(f"{path}: longer than {schema['maxLength']} character(s)")
    if "pattern" in schema and _compiled(schema["pattern"]).search(value) is None:
        out.append(f"{path}: {_show(value)} does not match pattern {schema['pattern']!r}")


def _check_number(value: float, schema: Mapping[str, Any], path: str, out: list[str]) -> None:
    bounds = (
        ("minimum", lambda limit: value >= limit, "less than"),
        ("maximum", lambda limit: value <= limit, "greater than"),
        ("exclusiveMinimum", lambda limit: value > limit, "not greater than"),
        ("exclusiveMaximum", lambda limit: value < limit, "not less than"),
    )
    for keyword, holds, wording in bounds:
        if keyword in schema and not holds(schema[keyword]):
            out.append(f"{path}: {_show(value)} is {wording} {schema[keyword]}")


def _check_object(
    value: dict[str, Any], schema: Mapping[str, Any], path: str, out: list[str]
) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            out.append(f"{_child_path(path, name)}: required property is missing")
    extra_schema = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _validate_node(item, properties[name], _child_path(path, name), out)
        elif extra_schema is False:
            out.append(f"{_child_path(path, name)}: property is not declared in the contract")
        else:
            _validate_node(item, extra_schema, _child_path(path, name), out)


def _check_array(value: list[Any], schema: Mapping[str, Any], path: str, out: list[str]) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(f"{path}: fewer than {schema['minItems']} item(s)")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(f"{path}: more than {schema['maxItems']} item(s)")
    if "items" in schema:
        for index, item in enumerate(value):
            _validate_node(item, schema["items"], f"{path}[{index}]", out)


_PLAIN_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _child_path(path: str, name: str) -> str:
    return f"{path}.{name}" if _PLAIN_KEY_RE.match(name) else f"{path}[{json.dumps(name)}]"


def _show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Athena DDL


# Reserved keywords of Athena DDL (Hive): such identifiers must be quoted with backticks.
_ATHENA_DDL_RESERVED_TEXT = """
    all alter and array as authorization between bigint binary boolean both by case cache cast
    char column commit conf constraint create cross cube current current_date current_timestamp
    cursor database date dayofweek decimal delete describe distinct div double drop else end
    exchange exists extended external extract false fetch float floor following for foreign
    from full function grant group grouping having if import in inner insert int integer
    intersect interval into is join lateral left less like local macro map more none not null
    numeric of on only or order out outer over partialscan partition percent preceding precision
    preserve primary procedure range reads reduce references regexp revoke right rlike rollback
    rollup row rows select set smallint start struct table tablesample then time timestamp to
    transform trigger true truncate unbounded union uniquejoin update user using utc_timestamp
    values varchar views when where window with
"""
ATHENA_DDL_RESERVED = frozenset(_ATHENA_DDL_RESERVED_TEXT.split())
SERDES: dict[str, str] = {
    "json": "org.openx.data.jsonserde.JsonSerDe",
    "csv": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
}
CSV_SERDE_PROPERTIES: dict[str, str] = {"separatorChar": ",", "quoteChar": '"'}
CSV_TABLE_PROPERTIES: dict[str, str] = {"skip.header.line.count": "1"}
TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
COMMENT_LIMIT = 255  # the Glue catalog's limit for a column comment
SCALAR_TYPES = {"string": "string", "integer": "bigint", "number": "double", "boolean": "boolean"}
STRING_FORMAT_TYPES = {"date-time": "timestamp", "date": "date"}

_PLAIN_IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_ATHENA_TYPE_RE = re.compile(r"^[A-Za-z0-9_<>:,() `]+$")
_COMPLEX_TYPE_PREFIXES = ("struct<", "array<", "map<")


@dataclass(frozen=True)
class _Column:
    name: str  # unquoted column / field name
    key: str  # the JSON key (property name) it reads
    type: str
    comment: str


def quote_identifier(name: str) -> str:
    """``name`` as an Athena DDL identifier: backticks unless plain and not reserved."""
    if not name or "`" in name or "." in name:
        raise ValueError(f"invalid Athena identifier: {name!r} (give the property an x-column)")
    if _PLAIN_IDENTIFIER_RE.match(name) and name not in ATHENA_DDL_RESERVED:
        return name
    return f"`{name}`"


def _quote_table(table: str) -> str:
    return ".".join(quote_identifier(part) for part in table.split("."))


def _string_literal(text: str, limit: int | None = None) -> str:
    """A single-quoted Hive string literal (backslash escapes, line breaks as spaces)."""
    flat = " ".join(str(text).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return "'" + flat.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _column_name(key: str, schema: Mapping[str, Any]) -> str:
    column = schema.get("x-column") if isinstance(schema, Mapping) else None
    return column if isinstance(column, str) and column else key.lower()


def _schema_kind(schema: Mapping[str, Any], where: str) -> str:
    types = [t for t in _declared_types(schema) if t != "null"]
    if not types:
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        return "array" if "items" in schema else "string"
    if len(types) == 1:
        return types[0]
    if set(types) == {"integer", "number"}:
        return "number"
    if set(types) & {"object", "array"}:
        raise ValueError(f"{where}: mixed types {types} need an x-athena-type")
    return "string"  # mixed scalars: read as text


def athena_type(schema: Mapping[str, Any] | bool, where: str = "$") -> str:
    """The Athena DDL type of a JSON Schema (``x-athena-type`` wins when present)."""
    if isinstance(schema, bool):
        return "string"
    override = schema.get("x-athena-type")
    if override is not None:
        if not isinstance(override, str) or not _ATHENA_TYPE_RE.match(override):
            raise ValueError(f"{where}: invalid x-athena-type {override!r}")
        return override
    kind = _schema_kind(schema, where)
    if kind == "object":
        return _object_type(schema, where)
    if kind == "array":
        return f"array<{athena_type(schema.get('items', {}), f'{where}[]')}>"
    if kind == "string":
        return STRING_FORMAT_TYPES.get(schema.get("format", ""), "string")
    return SCALAR_TYPES[kind]


def _object_type(schema: Mapping[str, Any], where: str) -> str:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    if not properties:
        values = schema.get("additionalProperties", {})
        value_type = athena_type(values if isinstance(values, Mapping) else {}, f"{where}.*")
        return f"map<string,{value_type}>"
    fields = _columns(properties, where)
    return "struct<" + ",".join(f"{quote_identifier(f.name)}:{f.type}" for f in fields) + ">"


def _columns(properties: Mapping[str, Any], where: str) -> list[_Column]:
    columns = []
    for key, spec in properties.items():
        name = _column_name(key, spec)
        description = spec.get("description", "") if isinstance(spec, Mapping) else ""
        columns.append(_Column(name, key, athena_type(spec, f"{where}.{key}"), description))
    _refuse_duplicates([c.name for c in columns], where)
    return columns


def _refuse_duplicates(names: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise ValueError(f"{where}: column {name!r} appears twice (Athena ignores case)")
        seen.add(name.lower())


def _json_key_mappings(properties: Mapping[str, Any], where: str) -> dict[str, str]:
    """OpenX JSON SerDe ``mapping.<column>`` for every name that differs from its JSON key."""
    mappings: dict[str, str] = {}
    for key, spec in properties.items():
        name = _column_name(key, spec)
        if name != key.lower():
            _add_mapping(mappings, name, key, f"{where}.{key}")
        nested = _nested_properties(spec)
        for column, json_key in _json_key_mappings(nested, f"{where}.{key}").items():
            _add_mapping(mappings, column, json_key, f"{where}.{key}")
    return mappings


def _nested_properties(spec: Any) -> Mapping[str, Any]:
    """The properties of the struct a property renders to (through arrays), if any."""
    while isinstance(spec, Mapping) and "x-athena-type" not in spec:
        if spec.get("properties"):
            return spec["properties"]
        spec = spec.get("items")
    return {}


def _add_mapping(mappings: dict[str, str], column: str, key: str, where: str) -> None:
    if mappings.get(column, key) != key:
        raise ValueError(f"{where}: {column!r} maps to both {mappings[column]!r} and {key!r}")
    mappings[column] = key


def _properties_clause(keyword: str, properties: Mapping[str, str]) -> list[str]:
    if not properties:
        return []
    items = [f"  {_string_literal(k)} = {_string_literal(v)}" for k, v in properties.items()]
    return [f"{keyword} (", ",\n".join(items), ")"]


def _column_lines(columns: Sequence[_Column]) -> str:
    lines = []
    for column in columns:
        comment = (
            f" COMMENT {_string_literal(column.comment, COMMENT_LIMIT)}" if column.comment else ""
        )
        lines.append(f"  {quote_identifier(column.name)} {column.type}{comment}")
    return ",\n".join(lines)


def _partition_columns(partitioned_by: Sequence[tuple[str, str]]) -> list[_Column]:
    columns = []
    for name, type_ in partitioned_by:
        checked = athena_type({"x-athena-type": type_}, f"partition {name}")
        columns.append(_Column(name, name, checked, ""))
    return columns


def _serde_properties(
    schema: Mapping[str, Any], serde: str, extra: Mapping[str, str] | None
) -> dict[str, str]:
    if serde == "csv":
        base = dict(CSV_SERDE_PROPERTIES)
    else:
        mappings = _json_key_mappings(schema.get("properties") or {}, "$")
        case_insensitive = (extra or {}).get("case.insensitive", "true").lower() != "false"
        base = {
            f"mapping.{column}": key.lower() if case_insensitive else key
            for column, key in mappings.items()
        }
    return {**base, **(extra or {})}


def _table_properties(
    schema: Mapping[str, Any], serde: str, extra: Mapping[str, str] | None
) -> dict[str, str]:
    base = dict(CSV_TABLE_PROPERTIES) if serde == "csv" else {}
    if isinstance(schema.get("x-contract-version"), str):
        base["contract_version"] = schema["x-contract-version"]
    return {**base, **(extra or {})}


def _refuse_complex_csv(columns: Sequence[_Column]) -> None:
    for column in columns:
        if column.type.lower().startswith(_COMPLEX_TYPE_PREFIXES):
            raise ValueError(f"column {column.name!r}: the CSV SerDe reads no {column.type}")


def render_athena_ddl(
    schema: Mapping[str, Any],
    table: str,
    location: str,
    *,
    partitioned_by: Sequence[tuple[str, str]] = (),
    serde: str = "json",
    properties: Mapping[str, str] | None = None,
    serde_properties: Mapping[str, str] | None = None,
    if_not_exists: bool = True,
) -> str:
    """Athena ``CREATE EXTERNAL TABLE`` DDL for records described by the JSON Schema ``schema``.

    One column per top-level property, in property order (the CSV SerDe is positional: the
    order must be the file's). Column names: ``x-column``, else the property name lower-cased.
    Types: string/integer/number/boolean -> string/bigint/double/boolean, ``format`` date-time /
    date -> timestamp / date, objects -> struct (map when they declare no properties), arrays ->
    array; ``x-athena-type`` overrides. ``serde``: ``json`` (OpenX JSON SerDe; a column named
    otherwise than its key lower-cased gets a ``mapping.<column>`` SerDe property) or ``csv``
    (OpenCSVSerde, header line skipped; scalar columns only). ``properties`` are added to
    TBLPROPERTIES (the schema's ``x-contract-version`` is recorded as ``contract_version``).
    """
    if serde not in SERDES:
        raise ValueError(f"serde must be one of {sorted(SERDES)}, not {serde!r}")
    if not location.startswith("s3://") or "'" in location:
        raise ValueError(f"location must be an s3:// URI without quotes: {location!r}")
    if _schema_kind(schema, "$") != "object" or not schema.get("properties"):
        raise ValueError("the schema must describe an object with properties")
    columns = _columns(schema["properties"], "$")
    partitions = _partition_columns(partitioned_by)
    _refuse_duplicates([c.name for c in columns + partitions], "$")
    if serde == "csv":
        _refuse_complex_csv(columns)
    title = schema.get("title") or schema.get("description")
    lines = [
        f"CREATE EXTERNAL TABLE {'IF NOT EXISTS ' if if_not_exists else ''}{_quote_table(table)} (",
        _column_lines(columns),
        ")",
    ]
    if title:
        lines.append(f"COMMENT {_string_literal(title, COMMENT_LIMIT)}")
    if partitions:
        lines += ["PARTITIONED BY (", _column_lines(partitions), ")"]
    lines.append(f"ROW FORMAT SERDE {_string_literal(SERDES[serde])}")
    lines += _properties_clause(
        "WITH SERDEPROPERTIES", _serde_properties(schema, serde, serde_properties)
    )
    lines += [
        f"STORED AS INPUTFORMAT {_string_literal(TEXT_INPUT_FORMAT)}",
        f"OUTPUTFORMAT {_string_literal(TEXT_OUTPUT_FORMAT)}",
        f"LOCATION {_string_literal(location)}",
    ]
    lines += _properties_clause("TBLPROPERTIES", _table_properties(schema, serde, properties))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Drift between the contract and the places that restate it


@dataclass(frozen=True)
class Drift:
    """One disagreement with the contract, located in ``place`` (a repo-relative file)."""

    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


_JINJA_COMMENT_RE = re.compile(r"\{#.*?#\}", re.DOTALL)
_DICT_LITERAL_RE = re.compile(r"\{([^{}]*)\}")
_DICT_ITEM_RE = re.compile(r"""(['"])(\w+)\1\s*:\s*(?:(['"])(.*?)\3|(true|false)\b)""")
_LOADER_VERSION_RE = re.compile(
    r"""^CONTRACT_VERSION\s*(?::\s*\w+\s*)?=\s*(['"])(.*?)\1""", re.MULTILINE
)


def macro_body(text: str, name: str) -> str | None:
    """The body of the Jinja macro ``name()`` in ``text`` (comments removed), if defined."""
    match = re.search(
        r"\{%-?\s*macro\s+" + re.escape(name) + r"\s*\(\s*\)\s*-?%\}(.*?)\{%-?\s*endmacro\b",
        text,
        re.DOTALL,
    )
    return None if match is None else _JINJA_COMMENT_RE.sub("", match.group(1))


def macro_file_columns(text: str) -> list[tuple[str, str, bool]] | None:
    """(header, column, required) of ``transaction_file_columns()`` in order; None if absent."""
    body = macro_body(text, MACRO_NAME)
    if body is None:
        return None
    columns = []
    for literal in _DICT_LITERAL_RE.findall(body):
        items = {key: string or flag for _, key, _, string, flag in _DICT_ITEM_RE.findall(literal)}
        if "header" in items or "column" in items:
            required = items.get("required") == "true"
            columns.append((items.get("header", ""), items.get("column", ""), required))
    return columns


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_after(lines: Sequence[str], start: int) -> list[str]:
    """Lines after ``lines[start]`` indented deeper than it (blank and comment lines kept)."""
    block = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and _indent(line) <= _indent(lines[start]):
            break
        block.append(line)
    return block


def _find_line(lines: Sequence[str], pattern: str) -> int | None:
    regex = re.compile(pattern)
    return next((i for i, line in enumerate(lines) if regex.match(line)), None)


def _list_entries(block: Sequence[str]) -> list[list[str]]:
    """The items of a YAML block sequence (each item's lines, first one starting with '- ')."""
    starts = [i for i, line in enumerate(block) if line.lstrip().startswith("- ")]
    if not starts:
        return []
    item_indent = min(_indent(block[i]) for i in starts)
    starts = [i for i in starts if _indent(block[i]) == item_indent]
    ends = [*starts[1:], len(block)]
    return [list(block[s:e]) for s, e in zip(starts, ends, strict=True)]


def _entry_keys(entry: Sequence[str]) -> dict[str, str]:
    """Top-level ``key: value`` pairs of one sequence item (folded values joined)."""
    key_indent = _indent(entry[0]) + 2
    keys: dict[str, str] = {}
    current = None
    for number, line in enumerate(entry):
        text = line.lstrip()[2:] if number == 0 else line.strip()
        match = re.match(r"^(\w+):\s*(.*)$", text)
        if match and (number == 0 or _indent(line) == key_indent):
            current = match.group(1)
            keys[current] = match.group(2).strip()
        elif current and line.strip() and not line.strip().startswith("#"):
            keys[current] = (keys[current] + " " + line.strip()).strip()
    return keys


def documented_columns(text: str, model: str) -> dict[str, str] | None:
    """Column name -> description of ``model`` in a dbt properties file; None if no model."""
    lines = text.splitlines()
    model_line = _find_line(lines, r"^\s*- name:\s*['\"]?" + re.escape(model) + r"['\"]?\s*$")
    if model_line is None:
        return None
    block = _block_after(lines, model_line)
    columns_line = _find_line(block, r"^\s*columns:\s*$")
    if columns_line is None:
        return {}
    columns: dict[str, str] = {}
    for entry in _list_entries(_block_after(block, columns_line)):
        keys = _entry_keys(entry)
        if "name" in keys:
            name = keys["name"].strip("'\"")
            columns[name] = keys.get("description", "").strip("'\" >|-")
    return columns


def _read(root: Path, relative: str) -> str | None:
    try:
        return (root / relative).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _show_columns(columns: Sequence[tuple[str, str, bool]]) -> str:
    return ", ".join(
        f"{header}->{column}{'' if required else ' (optional)'}"
        for header, column, required in columns
    )


def _macro_drift(root: Path, contract: Contract) -> list[Drift]:
    text = _read(root, MACRO_FILE)
    if text is None:
        return [Drift(MACRO_FILE, "cannot read the file")]
    found = macro_file_columns(text)
    if found is None:
        return [Drift(MACRO_FILE, f"macro {MACRO_NAME}() not found")]
    expected = [(c.name, c.column, c.required) for c in contract.columns]
    if found == expected:
        return []
    return [
        Drift(
            MACRO_FILE,
            f"{MACRO_NAME}() lists [{_show_columns(found)}] but {CONTRACT_FILE} declares "
            f"[{_show_columns(expected)}] (header -> column, required, in the same order)",
        )
    ]


def _model_docs_drift(root: Path, contract: Contract) -> list[Drift]:
    text = _read(root, MODEL_DOCS_FILE)
    if text is None:
        return [Drift(MODEL_DOCS_FILE, "cannot read the file")]
    expected = [c.column + RAW_SUFFIX for c in contract.columns]
    drifts: list[Drift] = []
    for model in RAW_VALUE_MODELS:
        documented = documented_columns(text, model)
        if documented is None:
            drifts.append(Drift(MODEL_DOCS_FILE, f"model {model} not found"))
            continue
        drifts += [
            Drift(MODEL_DOCS_FILE, f"{model}: column {name} is not documented")
            for name in expected
            if not documented.get(name)
        ]
        drifts += [
            Drift(MODEL_DOCS_FILE, f"{model}: {name} is not a column of {CONTRACT_FILE}")
            for name in documented
            if name.endswith(RAW_SUFFIX) and name not in expected
        ]
    return drifts


def _marts_drift(root: Path, contract: Contract) -> list[Drift]:
    """Optional columns flow into the processed model: its enforced contract declares them."""
    optional = [c.column for c in contract.columns if not c.required]
    if not optional:
        return []
    documented = documented_columns(_read(root, MARTS_DOCS_FILE) or "", PROCESSED_MODEL) or {}
    return [
        Drift(
            MARTS_DOCS_FILE,
            f"{PROCESSED_MODEL}: optional contract column {name} is not declared (name, "
            "data_type varchar, description)",
        )
        for name in optional
        if not documented.get(name)
    ]


def sql_pattern(pattern: str) -> str:
    """A contract pattern (JSON Schema: ECMA-262) as the dbt pattern macros write it for both SQL
    engines: a final ``$`` (the end of the input in ECMA-262) becomes ``\\z``, which RE2 (DuckDB)
    and Java's syntax (Trino) both read as the end of the text; in Java's syntax ``$`` also
    matches before a final line break. Nothing else changes."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\z"
    return pattern


def _pattern_drift(root: Path, contract: Contract) -> list[Drift]:
    """Properties naming an ``x-dbt-pattern-macro`` carry exactly that macro's regex (written for
    SQL: ``sql_pattern``)."""
    text = _read(root, MACRO_FILE) or ""
    drifts = []
    for name, spec in contract.schema["properties"].items():
        macro = spec.get("x-dbt-pattern-macro")
        if macro is None:
            continue
        body = macro_body(text, macro)
        if body is None:
            drifts.append(Drift(MACRO_FILE, f"macro {macro}() (pattern of {name}) not found"))
        elif body.strip() != sql_pattern(spec.get("pattern", "")):
            drifts.append(
                Drift(MACRO_FILE, f"{macro}() differs from the pattern of {name} in the contract")
            )
    return drifts


def _allowlist_drift(root: Path, contract: Contract) -> list[Drift]:
    """Every ``x-allowlist`` seed exists and has the named column."""
    drifts = []
    for name, spec in contract.schema["properties"].items():
        allowlist = spec.get("x-allowlist")
        if not isinstance(allowlist, dict):
            continue
        seed, column = str(allowlist.get("seed")), str(allowlist.get("column"))
        text = _read(root, seed)
        if text is None:
            drifts.append(Drift(seed, f"allowlist of {name}: cannot read the file"))
        elif column not in header_names(text.partition("\n")[0]):
            drifts.append(Drift(seed, f"allowlist of {name}: no column {column!r}"))
    return drifts


def _loader_version_drift(root: Path, contract: Contract) -> list[Drift]:
    """A version literal pinned in the loader must equal the contract's (none pinned: fine)."""
    match = _LOADER_VERSION_RE.search(_read(root, LOADER_FILE) or "")
    if match is None or match.group(2) == contract.version:
        return []
    return [
        Drift(
            LOADER_FILE,
            f"CONTRACT_VERSION is {match.group(2)!r}, {CONTRACT_FILE} is {contract.version!r}",
        )
    ]


def check_drift(root: Path | str = REPO_ROOT) -> list[Drift]:
    """Every disagreement between the contract and the files that restate it (empty: none)."""
    root = Path(root)
    try:
        contract = load_contract(root / CONTRACT_FILE)
    except ContractError as exc:
        return [Drift(CONTRACT_FILE, str(exc))]
    checks = (_macro_drift, _model_docs_drift, _marts_drift, _pattern_drift, _allowlist_drift)
    return [
        drift for check_ in (*checks, _loader_version_drift) for drift in check_(root, contract)
    ]


# --------------------------------------------------------------------------------------------
# Command line


def _partition(text: str) -> tuple[str, str]:
    name, sep, type_ = text.partition(":")
    if not sep or not name or not type_:
        raise argparse.ArgumentTypeError(f"expected NAME:TYPE, got {text!r}")
    return name, type_


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ddl = commands.add_parser("ddl", help="print Athena CREATE EXTERNAL TABLE DDL")
    ddl.add_argument("--table", required=True, help="[database.]table")
    ddl.add_argument("--location", required=True, help="s3:// location of the files")
    ddl.add_argument(
        "--partition",
        type=_partition,
        action="append",
        default=[],
        metavar="NAME:TYPE",
        help="partition column (repeatable, in order)",
    )
    ddl.add_argument(
        "--serde", choices=sorted(SERDES), help="default: the schema's x-file-format, else json"
    )
    ddl.add_argument(
        "--property",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra TBLPROPERTIES entry (repeatable)",
    )
    ddl.add_argument(
        "--schema",
        type=Path,
        default=DEFAULT_CONTRACT_PATH,
        help=f"JSON Schema file (default: {CONTRACT_FILE})",
    )
    drift = commands.add_parser("check-drift", help="fail when files disagree with the contract")
    drift.add_argument("--root", type=Path, default=REPO_ROOT, help="project root to check")
    return parser


def _run_ddl(args: argparse.Namespace) -> int:
    try:
        schema = json.loads(args.schema.read_text(encoding="utf-8"))
        serde = args.serde or schema.get("x-file-format", "json")
        ddl = render_athena_ddl(
            schema,
            args.table,
            args.location,
            partitioned_by=args.partition,
            serde=serde,
            properties=dict(args.property),
        )
    except (OSError, ValueError) as exc:
        print(f"contract.py ddl: {args.schema}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(ddl)
    return 0


def _run_check_drift(args: argparse.Namespace) -> int:
    drifts = check_drift(args.root)
    for drift in drifts:
        print(f"contract drift: {drift}", file=sys.stderr)
    if drifts:
        print(f"{len(drifts)} disagreement(s) with {CONTRACT_FILE}", file=sys.stderr)
        return 1
    print(f"contract {CONTRACT_FILE}: macro, model docs and loader agree")
    return 0


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    args = _parser(prog).parse_args(argv)
    if args.command == "ddl":
        return _run_ddl(args)
    return _run_check_drift(args)


if __name__ == "__main__":
    sys.exit(main())
