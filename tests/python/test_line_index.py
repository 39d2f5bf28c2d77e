"""The line index (lakehouse.line_index) gives, for every fixture file, exactly the rows of the
local DuckDB relation main_raw.transaction_lines: one definition of a line on both engines."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from dbt_harness import FIXTURES, Lake

from lakehouse.line_index import Line, index_name, iter_lines, physical_lines, write_line_index

FIXTURE_FILES = sorted(FIXTURES.rglob("*.csv"))


def test_line_index_equals_duckdb_transaction_lines(lake: Lake) -> None:
    assert len(FIXTURE_FILES) > 30
    results = lake.land(*FIXTURE_FILES)
    landed = [r for r in results if r["status"] == "landed"]
    assert landed
    lake.dbt("run", "--select", "stg_landing__runs")
    for result in landed:
        rows = lake.query(
            "select line_number, line_text, is_readable, line_length"
            " from main_raw.transaction_lines"
            f" where run_id = '{result['run_id']}' order by line_number"
        )
        ours = [
            (line.line_number, line.line_text, line.is_readable, line.line_length)
            for line in iter_lines(result["path"])
        ]
        assert ours == rows, result["source"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", []),
        (b"a", [b"a"]),
        (b"a\n", [b"a"]),
        (b"a\r\n\r\nb", [b"a", b"", b"b"]),
        (b"a\rb\r", [b"a", b"b"]),
        (b"\r", [b""]),
        (b"\n\n", [b"", b""]),
        (b"a\r\r\nb\n\r", [b"a", b"", b"b", b""]),
    ],
)
def test_physical_lines_across_chunk_boundaries(content: bytes, expected: list[bytes]) -> None:
    for chunk_size in (1, 2, 3, 1024):
        assert list(physical_lines(io.BytesIO(content), chunk_size)) == expected


def test_write_line_index_is_gzip_json_lines(tmp_path: Path) -> None:
    src = tmp_path / "f.csv"
    src.write_bytes(b'\xef\xbb\xbfh\r\nok \xc3\xa9\r\nbad \xff\x01"\\\r\n')
    dst = tmp_path / index_name(src.name)
    assert dst.name == "f.csv.lines.jsonl.gz"
    assert write_line_index(src, dst) == 3
    with gzip.open(dst, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    assert records == [
        {"line_number": 1, "line_text": "h", "is_readable": True, "line_length": 1},
        {"line_number": 2, "line_text": "ok é", "is_readable": True, "line_length": 4},
        {
            "line_number": 3,
            "line_text": 'bad \\xFF\\x01"\\',
            "is_readable": False,
            "line_length": 14,
        },
    ]
    assert list(iter_lines(src))[2] == Line(3, 'bad \\xFF\\x01"\\', False, 14)
    with pytest.raises(FileExistsError):
        write_line_index(src, dst)
