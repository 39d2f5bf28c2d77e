"""Structured log lines: one JSON object per line, for a log system to parse and alert on.

Every line has ``ts`` (UTC, ISO 8601 with microseconds and ``Z``), ``level``, ``event``, then the
caller's fields (``run_id``, ``metrics``, ...). Values JSON cannot hold (Decimal, dates) are
written as strings. ``LOG_FORMAT=json`` in the environment also turns a script's diagnostics on
stderr (``configure_logging``, ``json_logs``) into such lines; `make prod` sets it.
Standard library only.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
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


def json_logs(env: Mapping[str, str] | None = None) -> bool:
    """Whether diagnostics are to be JSON lines (``LOG_FORMAT=json``)."""
    return (env if env is not None else os.environ).get("LOG_FORMAT", "").lower() == "json"


class JsonFormatter(logging.Formatter):
    """Python logging records as JSON lines (event: the record's ``event`` extra, else "log")."""

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname.lower()
        return log_line(
            str(getattr(record, "event", "log")),
            level if level in LEVELS else "error",
            logger=record.name,
            message=record.getMessage(),
        )


def configure_logging(prog: str) -> None:
    """Diagnostics on stderr: JSON lines with LOG_FORMAT=json, else ``prog: LEVEL: message``."""
    handler = logging.StreamHandler(sys.stderr)
    if json_logs():
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"{prog}: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
