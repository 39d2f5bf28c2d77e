"""Structured log lines: one JSON object per line, for a log system to parse and alert on.

Every line has ``ts`` (UTC, ISO 8601 with microseconds and ``Z``), ``level``, ``event``, then the
caller's fields (``run_id``, ``metrics``, ...). Values JSON cannot hold (Decimal, dates) are
written as strings. Standard library only.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TextIO

LEVELS = ("debug", "info", "warning", "error")


def jsonable(value: Any) -> Any:
    """A JSON-safe form of a value read from a database (Decimal and dates as text)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def log_line(event: str, level: str = "info", **fields: Any) -> str:
    """The JSON text of one log line (no newline)."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    record = {"ts": now, "level": level, "event": event, **fields}
    return json.dumps(record, default=jsonable, ensure_ascii=False)


def emit(event: str, level: str = "info", stream: TextIO | None = None, **fields: Any) -> None:
    """Write one log line to ``stream`` (default: stdout) and flush it."""
    out = stream or sys.stdout
    out.write(log_line(event, level, **fields) + "\n")
    out.flush()
