"""Structured log lines (lakehouse.jsonlog) and the commands that write them."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse import jsonlog

ROOT = Path(__file__).resolve().parents[2]
LAND = ROOT / "scripts" / "land_csv.py"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
GOOD = (HEADER + "T-0001,ACC001,300.00,EUR,2024-01-05T09:00:00Z\n").encode()


def test_one_json_object_per_line_with_ts_level_event() -> None:
    out = io.StringIO()
    metrics = {"input_rows": 8, "quarantine_rate": Decimal("0.5"), "day": date(2024, 1, 5)}
    jsonlog.emit("run_published", stream=out, run_id="R1", metrics=metrics)
    jsonlog.emit("publish_refused", "error", out, reason="build failed")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert list(first)[:3] == ["ts", "level", "event"]
    assert TS_RE.match(first["ts"])
    assert first["level"] == "info" and first["event"] == "run_published"
    assert first["run_id"] == "R1"
    assert first["metrics"] == {"input_rows": 8, "quarantine_rate": "0.5", "day": "2024-01-05"}
    assert second["level"] == "error" and second["reason"] == "build failed"


def test_values_and_levels() -> None:
    assert jsonlog.jsonable(datetime(2024, 1, 5, 9, 30)) == "2024-01-05T09:30:00"
    with pytest.raises(ValueError, match="log level"):
        jsonlog.log_line("x", "fatal")
    assert jsonlog.json_logs({"LOG_FORMAT": "JSON"}) and not jsonlog.json_logs({})


def test_logging_records_become_json_lines() -> None:
    record = logging.LogRecord("land_csv", logging.WARNING, "f", 1, "took over %s", ("lock",), None)
    record.event = "lock_taken_over"
    line = json.loads(jsonlog.JsonFormatter().format(record))
    assert line["level"] == "warning" and line["event"] == "lock_taken_over"
    assert line["message"] == "took over lock" and line["logger"] == "land_csv"


def land(tmp_path: Path, *files: Path, log_format: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOG_FORMAT": log_format}
    command = [sys.executable, str(LAND), "--lake-root", str(tmp_path / "lake"), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def test_loader_logs_json_lines_on_stderr_and_keeps_its_stdout(tmp_path: Path) -> None:
    good = tmp_path / "a.csv"
    good.write_bytes(GOOD)
    again = tmp_path / "b.csv"
    again.write_bytes(GOOD)
    missing = tmp_path / "missing.csv"

    result = land(tmp_path, good, again, missing, log_format="json")

    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    keys = {"status", "source", "run_id", "path", "bytes", "sha256", "message"}
    assert all(set(record) == keys for record in records)  # the stdout contract is unchanged
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("file_landed", "info"),
        ("file_skipped", "warning"),
        ("file_error", "error"),
    ]
    assert all(TS_RE.match(line["ts"]) for line in lines)
    assert lines[0]["run_id"] == records[0]["run_id"] == lines[1]["run_id"]
    assert lines[0]["bytes"] == len(GOOD)
    assert lines[2]["source"] == str(missing) and "no such file" in lines[2]["message"]


def test_loader_text_diagnostics_by_default(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    result = land(tmp_path, missing, log_format="")
    assert result.returncode == 1
    assert result.stderr.startswith(f"land_csv: error: {missing}: no such file")
