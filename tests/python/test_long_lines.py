"""Lines of any length are records like any other, and the build checks its line reader against a
count it did not make.

* The loader counts a file's lines from its bytes (manifest ``physical_lines``) and measures its
  longest line (``line_size_bound``): the warehouse's CSV reader is told how long a line may be
  (its default maximum, 2 MB, failed the build on a 3 MB field and silently dropped a long last
  line without a final line break).
* The raw layer keeps a line's first ``LINE_TEXT_LIMIT`` characters and its full length; a longer
  line is quarantined as SCHEMA_ERROR with both (``record_text``, ``record_length``).
* ``assert_every_record_accounted_for`` compares the reader's lines with the loader's count, so a
  reader that loses a line fails the build.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pytest
from dbt_harness import Lake

from lakehouse import line_index
from lakehouse.landing import CHUNK_SIZE, LINE_TEXT_LIMIT, ContentProfiler

HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
TS = "2024-01-05T09:00:00Z"
MIB = 1024 * 1024


def profile(content: bytes, chunk: int = CHUNK_SIZE) -> ContentProfiler:
    profiler = ContentProfiler()
    for start in range(0, len(content), chunk):
        profiler.update(content[start : start + chunk])
    return profiler


@pytest.mark.parametrize(
    ("content", "lines"),
    [
        (b"", 0),
        (b"\xef\xbb\xbf", 0),  # a BOM alone is no line
        (b"\xef\xbb\xbfa", 1),
        (b"a", 1),
        (b"a\n", 1),
        (b"a\nb", 2),
        (b"a\r\nb\r\n", 2),
        (b"a\rb\rc", 3),  # bare CR (classic Mac)
        (b"a\r\n\r\nb\n\rc", 5),  # CRLF, CRLF, LF, CR: one break each
        (b"\n\n", 2),
        (b"a\r", 1),
    ],
)
def test_the_loader_counts_lines_as_the_raw_layer_splits_them(content: bytes, lines: int) -> None:
    for chunk in (1, 2, 3, CHUNK_SIZE):  # a CRLF split between two reads is one break
        assert profile(content, chunk).result().physical_lines == lines
    split = list(line_index.physical_lines(io.BytesIO(content), chunk_size=2))
    if content != b"\xef\xbb\xbf":  # the line index drops a lone BOM before splitting
        assert len(split) == lines


def test_line_size_bound_is_at_least_the_longest_line() -> None:
    rng = random.Random(7)
    for _ in range(50):
        lengths = [rng.choice([0, 5, 300, 2 * MIB // 3, 3 * MIB]) for _ in range(rng.randint(1, 4))]
        content = b"\n".join(b"x" * n for n in lengths)
        chunk = rng.choice([MIB // 4, MIB])
        bound = profile(content, chunk).result().line_size_bound
        assert bound >= max(lengths)
        if max(lengths) > chunk:  # a line longer than a read is measured exactly
            assert bound == max(lengths)


def test_the_line_index_keeps_a_bounded_prefix_and_the_full_length() -> None:
    long_text = "L," + "a" * (LINE_TEXT_LIMIT + 10)
    invalid = b"\xff" * (LINE_TEXT_LIMIT + 1)
    content = (HEADER + "T,A,1.00,EUR," + TS + "\n" + long_text + "\n").encode() + invalid
    out = io.BytesIO()
    line_index.write_stream_index(io.BytesIO(content), out, readable_file=False)
    rows = [json.loads(line) for line in gzip.decompress(out.getvalue()).splitlines()]
    assert [row["line_number"] for row in rows] == [1, 2, 3, 4]
    assert rows[1]["is_readable"] and rows[1]["line_length"] == len(rows[1]["line_text"])
    assert rows[2] == {
        "line_number": 3,
        "line_text": long_text[:LINE_TEXT_LIMIT],
        "is_readable": False,
        "line_length": len(long_text),
    }
    assert rows[3]["line_text"] == "\\xFF" * (LINE_TEXT_LIMIT // 4)
    assert rows[3]["line_length"] == 4 * len(invalid) and not rows[3]["is_readable"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_long_lines_are_records_and_do_not_stop_other_files(tmp_path: Path) -> None:
    """A 64 MB last line without a final newline, a 3 MB field and an ordinary file, one build."""
    long_tail = "X" * (64 * MIB)
    last = f"T-3,ACC-1,3.00,EUR,{TS}{long_tail}"
    long_last = write(
        tmp_path / "long_last.csv",
        HEADER + f"T-1,ACC-1,1.00,EUR,{TS}\nT-2,ACC-1,2.00,EUR,{TS}\n" + last,
    )
    big_field = write(
        tmp_path / "big_field.csv",
        HEADER + f"F-1,ACC-2,1.00,EUR,{TS}\nF-2,{'y' * 3 * MIB},2.00,EUR,{TS}\n"
        f"F-3,ACC-2,3.00,EUR,{TS}\n",
    )
    ordinary = write(tmp_path / "ordinary.csv", HEADER + f"O-1,ACC-3,1.00,EUR,{TS}\n")
    lake = Lake(tmp_path / "lake")
    lake.land(long_last, big_field, ordinary)
    lake.build()

    metrics = lake.query(
        "select file_name, input_rows, valid_rows, quarantined_rows"
        " from main_marts.fct_run_metrics join main_raw.transaction_manifests using (run_id)"
        " order by file_name"
    )
    assert metrics == [
        ("big_field.csv", 3, 2, 1),
        ("long_last.csv", 3, 2, 1),
        ("ordinary.csv", 1, 1, 0),
    ]
    quarantined = lake.query(
        "select source_file, line_number, validation_error, record_text, record_length"
        " from main_marts.fct_quarantined_records order by source_file"
    )
    assert [row[:3] for row in quarantined] == [
        ("big_field.csv", 3, "SCHEMA_ERROR"),
        ("long_last.csv", 4, "SCHEMA_ERROR"),
    ]
    field_line = f"F-2,{'y' * 3 * MIB},2.00,EUR,{TS}"
    assert quarantined[0][3:] == (field_line[:LINE_TEXT_LIMIT], len(field_line))
    assert quarantined[1][3:] == (last[:LINE_TEXT_LIMIT], len(last))


def test_a_reader_that_disagrees_with_the_loaders_count_fails_the_build(tmp_path: Path) -> None:
    """The reconciliation compares the raw layer's lines with the count the loader made from the
    bytes: here the manifest claims one line more than the file holds (as when the reader loses
    one), and the build fails naming the check."""
    lake = Lake(tmp_path / "lake")
    [landed] = lake.land(write(tmp_path / "a.csv", HEADER + f"T-1,ACC-1,1.00,EUR,{TS}\n"))
    manifest_path = Path(landed["path"]).parent / "_manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["physical_lines"] == 2
    manifest_path.chmod(0o644)
    manifest_path.write_text(json.dumps({**manifest, "physical_lines": 3}), encoding="utf-8")

    result = lake.build(check=False)
    assert result.returncode != 0
    assert "FAIL 1 assert_every_record_accounted_for" in result.stdout
