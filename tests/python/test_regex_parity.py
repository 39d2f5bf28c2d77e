"""Every regular expression the models use means the same on DuckDB (RE2) and on Trino (Joni, Java
syntax: Athena engine v3's engine), and Trino answers each in bounded time.

The expressions are rendered by dbt for each target, as the models render them (the dispatched
macros: regexp_matches / regexp_extract / regexp_extract_all on DuckDB, regexp_like /
regexp_extract / regexp_extract_all on Trino), then evaluated on both engines over every line,
record and field of the hostile corpus (tests/fixtures/hostile/) and edge strings: values ending
in a line break (`$` matches before a final line break in Java, not in RE2), long runs of blanks
around fields with a stray quote (a backtracking engine explores every way an ambiguous pattern
can share the blanks out), empty strings, unterminated quotes. One Trino query per expression,
with Trino's `query_max_execution_time` as the time bound (before the CSV patterns were made
unambiguous, three of them ran into it).

The CSV patterns were rewritten so that no line matches them in two ways; on DuckDB they are
compared with the previous patterns on every short string over the characters that matter, for
the same accepted lines and the same extracted fields.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pytest
import trino
from athena_stand_in import AthenaStandIn
from dbt_harness import DBT, FIXTURES, ROOT, Lake

pytestmark = pytest.mark.xdist_group("trino")

HOSTILE = FIXTURES / "hostile"
# Trino's bound for one batched query (every value, one expression): the patterns answer in under
# a second on the 2-core machine; the previous CSV patterns took 38 s for ONE line with five
# blanks around each of five fields and a stray quote, and far longer with ten or thirty.
TIME_LIMIT_S = 20
TS = "2024-01-05T09:00:00Z"

# Each regular expression the models use, as the models call it on a value `v` (the macro text
# is rendered by dbt for each target: nothing is copied here).
EXPRESSIONS: dict[str, str] = {
    "amount": "{{ regex_matches('v', amount_pattern()) }}",
    "timestamp": "{{ regex_matches('v', timestamp_pattern()) }}",
    "timestamp_fraction": "{{ regex_group('v', timestamp_fraction_pattern(), 1) }}",
    "validation_error": "{{ regex_matches('v', validation_error_pattern()) }}",
    "record_is_well_formed": "{{ csv_record_is_well_formed('v') }}",
    "opens_multiline_field": "{{ csv_opens_multiline_field('v') }}",
    "closes_multiline_field": "{{ csv_closes_multiline_field('v') }}",
    "split_csv_fields": "{{ split_csv_fields('v') }}",
    # split_csv_fields only uses the field pattern on records with a quote: on every value here
    "csv_fields": "regexp_extract_all(',' || v, '{{ csv_field_pattern() }}', 1)",
}
# Where raw regex functions may appear: the dispatched implementations, and the raw relations
# (DuckDB-only and Trino-only SQL, one branch per engine).
REGEX_FUNCTION = re.compile(r"\b(regexp_\w+|string_split_regex)\s*\(", re.IGNORECASE)
ENGINE_SPECIFIC = {
    "macros/parsing/regex.sql",
    "macros/parsing/csv_fields.sql",
    "macros/raw/duckdb_raw_relations.sql",
    "macros/raw/athena_raw_relations.sql",
}


# ------------------------------------------------------------------------------- rendering
def athena_compile_env(stand_in: AthenaStandIn, home: Path) -> dict[str, str]:
    return stand_in.process_env(
        home,
        ATHENA_S3_STAGING_DIR="s3://athena-results/",
        ATHENA_S3_DATA_DIR="s3://lakehouse/warehouse/",
    )


def inline_sql() -> str:
    return "\n".join(f"/*<{name}>*/ {jinja}" for name, jinja in EXPRESSIONS.items())


def split_rendered(stdout: str) -> dict[str, str]:
    compiled = json.loads(stdout[stdout.index("{") :])["compiled"]
    parts = re.split(r"/\*<(\w+)>\*/", compiled)
    rendered = {name: text.strip() for name, text in zip(parts[1::2], parts[2::2], strict=True)}
    assert list(rendered) == list(EXPRESSIONS)
    return rendered


def render_duckdb(work: Path) -> dict[str, str]:
    lake = Lake(work / "lake")
    result = lake.dbt("compile", "--target", "duckdb", "--inline", inline_sql(), "--output", "json")
    return split_rendered(result.stdout)


def render_athena(stand_in: AthenaStandIn, work: Path) -> dict[str, str]:
    home = work / "aws-home"
    home.mkdir(parents=True)
    command = [str(DBT), "compile", "--target", "athena", "--inline", inline_sql()]
    command += ["--output", "json", "--profiles-dir", str(ROOT / "profiles")]
    command += ["--project-dir", str(ROOT), "--target-path", str(work / "athena-target")]
    command += ["--log-path", str(work / "athena-logs")]
    env = athena_compile_env(stand_in, home)
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    return split_rendered(result.stdout)


@pytest.fixture(scope="module")
def rendered(
    athena: AthenaStandIn, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, str]]:
    work = tmp_path_factory.mktemp("regex_render")
    with ThreadPoolExecutor(max_workers=2) as pool:
        duck = pool.submit(render_duckdb, work / "duckdb")
        athena_sql = pool.submit(render_athena, athena, work / "athena")
        return {"duckdb": duck.result(), "athena": athena_sql.result()}


# --------------------------------------------------------------------------------- values
def corpus_values() -> Iterator[str]:
    """Lines, records (line breaks inside quotes as staging keeps them: \\n) and fields of every
    hostile file; bytes that are not UTF-8 as the raw layer shows them (\\xNN)."""
    for path in sorted(HOSTILE.glob("*.csv")):
        text = path.read_bytes().decode("utf-8", "backslashreplace").removeprefix("\ufeff")
        lines = re.split(r"\r\n|\n|\r", text)
        for line in lines:
            yield line
            for field in line.split(","):
                yield field
                yield field.strip(" \t")
        records = csv.reader(io.StringIO("\n".join(lines), newline=""))
        for record in records:
            yield ",".join(record)
            for field in record:
                yield field
                yield field.strip(" \t")
        # multi-line records as staging joins them: every line of a span, \n between
        for start in range(len(lines)):
            for end in range(start + 2, min(start + 4, len(lines)) + 1):
                yield "\n".join(lines[start:end])


def edge_values() -> Iterator[str]:
    yield from ("", " ", "\t", "\n", "\r", "\r\n", ",", ",,", " , ", '"', '""', '"""', '""""')
    yield from ('","', '" "', '"a', 'a"', '"a""', '"a"""', '"a"b', 'a,"b', 'a,"b""', '"a,b')
    values = ("1.00", "-25.50", "42", TS, "2024-01-05 09:00:00", "2024-01-05T09:00:00.5+02:00")
    values += (".123", ".5+02:00", ".123456789Z", ".Z", "Z", "+0200", "SCHEMA_ERROR")
    values += ("TYPE_ERROR,TIMESTAMP_ERROR", '"quoted"', "EUR")
    for value in values:
        for before, after in (("", ""), ("", "\n"), ("", "\r\n"), ("", "\r"), ("\n", "")):
            yield before + value + after
        yield from (value + "\n\n", value + " \n", value + "\n ", f'"{value}\n"', value + ",")
    for blanks in (" " * 5, " " * 10, " " * 30, " \t" * 15):
        fields = [f"{blanks}{f}{blanks}" for f in ("T-1", "ACC1", "1.00", "EUR", TS)]
        record = ",".join(fields)
        yield record
        yield record + '"'  # a stray quote after the last field
        yield record + '"x'
        yield ",".join(fields[:4]) + f',{blanks}2024-01-05T09:00:00"Z{blanks}'
        yield ",".join(fields[:4]) + f',{blanks}"unterminated{blanks}'
        yield f'{blanks}"a"{blanks},' * 5 + "x"
        yield f'{blanks}"a"{blanks},' * 5 + 'x"'
        yield f'{blanks}"a"{blanks},' * 5 + f'{blanks}"open'
        yield f'rest of a field"{blanks}' + f",{blanks}b{blanks}" * 5 + '"'
        yield '"' + '""' * len(blanks)  # unterminated, only doubled quotes
        yield '"' + '""' * len(blanks) + '"x'
        yield f"{blanks},{blanks}" * 5 + '"'
    # long: 50 fields of 100 blanks each side, a stray quote at the end
    yield ",".join(" " * 100 + "x" + " " * 100 for _ in range(50)) + '"'


# The long lines of a40_long_lines.csv (65,536 characters and more) would take the query text
# past Trino's limit (1,000,000 characters); the edge values' longest (about 10,000) covers
# long inputs.
MAX_VALUE_LENGTH = 20_000


@pytest.fixture(scope="module")
def values() -> list[str]:
    found = set(corpus_values()) | set(edge_values())
    return sorted(value for value in found if len(value) <= MAX_VALUE_LENGTH)


# ----------------------------------------------------------------------------- evaluating
def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def on_duckdb(expression: str, values: list[str]) -> dict[int, Any]:
    rows = ",\n".join(f"({i}, {sql_literal(v)})" for i, v in enumerate(values))
    with duckdb.connect() as con:
        sql = f"select i, {expression} as answer from (values {rows}) as t (i, v)"
        return dict(con.sql(sql).fetchall())


def on_trino(stand_in: AthenaStandIn, expression: str, values: list[str]) -> dict[int, Any]:
    connection = trino.dbapi.connect(
        host="127.0.0.1",
        port=stand_in.trino.port,
        user="regex-parity",
        session_properties={"query_max_execution_time": f"{TIME_LIMIT_S}s"},
    )
    cursor = connection.cursor()
    started = time.monotonic()
    try:
        cursor.execute(
            # the values as one JSON literal: Trino plans thousands of VALUES rows slowly
            f"select i - 1, {expression} as answer from unnest(cast(json_parse("
            f"{sql_literal(json.dumps(values, ensure_ascii=False))}) as array(varchar)))"
            " with ordinality as t (v, i)"
        )
        rows = cursor.fetchall()
    except trino.exceptions.TrinoQueryError as error:
        pytest.fail(f"Trino: {error.error_name} after {time.monotonic() - started:.1f} s")
    elapsed = time.monotonic() - started
    assert elapsed < TIME_LIMIT_S, f"Trino took {elapsed:.1f} s"
    return {i: list(answer) if isinstance(answer, list) else answer for i, answer in rows}


def show(value: str) -> str:
    return json.dumps(value)[:120]


# ---------------------------------------------------------------------------------- tests
def test_every_regex_of_the_models_is_covered() -> None:
    """Every pattern macro, and every CSV macro that applies a pattern to a value, is rendered
    here (the CSV pieces through them); models and tests reach regular expressions only through
    these macros; raw regex functions appear only in engine-specific macros; Jinja's checks use
    fullmatch (Python's `$` with match also accepts a final line break)."""
    files = {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for folder in ("models", "macros", "tests/dbt", "analyses")
        for path in sorted((ROOT / folder).rglob("*.sql"))
    }
    macro = re.compile(r"\{%-?\s*macro\s+(\w+_pattern(?=\s*\()|csv_\w+(?=\s*\(\s*\w))")
    defined = {name for text in files.values() for name in macro.findall(text)}
    jinja_only = {"run_id_pattern"}  # checked in Jinja (Python), never in SQL
    used = set(re.findall(r"\b(\w+)\(", " ".join(EXPRESSIONS.values())))
    assert defined - jinja_only <= used, "a pattern macro this test does not render"
    for path, text in files.items():
        if path not in ENGINE_SPECIFIC:
            assert not REGEX_FUNCTION.search(text), f"{path}: a regex function outside a macro"
        if not path.startswith("macros/"):
            for call in re.finditer(r"\bregex_(?:matches|group)\(\s*[^,()]+,\s*", text):
                pattern = text[call.end() :]
                assert re.match(r"\w+\(", pattern), f"{path}: a pattern literal: {pattern[:60]}"
        assert "modules.re.match(" not in text, f"{path}: modules.re.match (use fullmatch)"


def test_no_pattern_ends_with_dollar(rendered: dict[str, dict[str, str]]) -> None:
    """`$` matches before a final line break in Java (Trino), not in RE2: patterns end with \\z,
    which both engines read as the end of the text."""
    for target, expressions in rendered.items():
        for name, sql in expressions.items():
            assert "$" not in sql, f"{target} {name}: {sql}"


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_duckdb_and_trino_give_the_same_answers(
    athena: AthenaStandIn, rendered: dict[str, dict[str, str]], values: list[str], name: str
) -> None:
    duck = on_duckdb(rendered["duckdb"][name], values)
    trino_answers = on_trino(athena, rendered["athena"][name], values)
    differ = [
        f"{show(values[i])}: DuckDB {duck[i]!r}, Trino {trino_answers[i]!r}"
        for i in sorted(duck)
        if duck[i] != trino_answers[i]
    ]
    assert not differ, f"{len(differ)} of {len(values)} values differ:\n" + "\n".join(differ[:20])


def test_the_values_reach_every_answer(
    rendered: dict[str, dict[str, str]], values: list[str]
) -> None:
    """Guards the corpus itself: each boolean expression is both true and false on it."""
    for name, sql in rendered["duckdb"].items():
        answers = {json.dumps(answer) for answer in on_duckdb(sql, values).values()}
        if name == "timestamp_fraction":
            assert "null" in answers and len(answers) > 3, name
        elif name in ("split_csv_fields", "csv_fields"):
            assert len(answers) > 100, name
        else:
            assert {"true", "false"} <= answers, name


# The CSV patterns before they were rewritten to be unambiguous (with \z for $): the reference
# for the rewrite, which must accept the same lines and extract the same fields.
PREVIOUS_FIELD = r',[ \t]*("(?:[^"]|"")*"|[^,"]*)[ \t]*'
PREVIOUS = {
    "record_is_well_formed": (
        f"""(strpos(v, '"') = 0 or regexp_matches(',' || v, '^({PREVIOUS_FIELD})+\\z'))"""
    ),
    "opens_multiline_field": (
        r"""regexp_matches(v, '^([ \t]*("([^"]|"")*"|[^,"]*)[ \t]*,)*[ \t]*"([^"]|"")*\z')"""
    ),
    "closes_multiline_field": (
        r"""regexp_matches(v, '^([^"]|"")*"[ \t]*(,[ \t]*("([^"]|"")*"|[^,"]*)[ \t]*)*\z')"""
    ),
    "csv_fields": f"regexp_extract_all(',' || v, '{PREVIOUS_FIELD}', 1)",
}
SYMBOLS = (",", '"', " ", "\t", "a", "\n")
MAX_LENGTH = 7


def test_csv_patterns_keep_their_language_and_fields(rendered: dict[str, dict[str, str]]) -> None:
    """On every string of up to 7 characters over comma, quote, space, tab, a letter and a line
    break (335,923 strings), the CSV patterns answer as the previous, ambiguous ones did, and the
    field pattern extracts the same capture groups (RE2: linear whatever the pattern)."""
    symbols = ", ".join(f"({sql_literal(c)})" for c in SYMBOLS)
    with duckdb.connect() as con:
        con.execute(
            f"create table t as with recursive symbols (c) as (values {symbols}),"
            " strings (v, n) as (select '', 0 union all"
            f" select v || c, n + 1 from strings, symbols where n < {MAX_LENGTH})"
            " select v from strings"
        )
        assert con.execute("select count(*) from t").fetchone() == (
            sum(len(SYMBOLS) ** n for n in range(MAX_LENGTH + 1)),
        )
        for name, previous in PREVIOUS.items():
            current = rendered["duckdb"][name]
            differ = con.execute(
                f"select v, {previous}, {current} from t"
                f" where ({previous}) is distinct from ({current}) limit 5"
            ).fetchall()
            assert not differ, f"{name}: {differ}"
