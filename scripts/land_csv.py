#!/usr/bin/env python3
"""Land transaction CSV files into the lake's raw zone (one run per file, atomic, append-only).

Usage: python scripts/land_csv.py [--lake-root DIR] FILE [FILE ...]

DIR defaults to $LAKE_ROOT, else ./lake. Prints one JSON line per file on stdout
(status landed | skipped | error). Exit status: 0 every file landed or skipped, 1 a file was
refused or failed (the others are still landed), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lake_landing import (
    LandingError,
    LocalLake,
    display_path,
    land_file,
    land_file_into,
)

__all__ = ["LandingError", "build_parser", "land_file", "main"]

PROG = "land_csv"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Land CSV files byte for byte into <lake-root>/raw/transactions/.",
    )
    parser.add_argument(
        "--lake-root",
        metavar="DIR",
        default=None,
        help="lake root directory (default: $LAKE_ROOT, else ./lake)",
    )
    parser.add_argument("files", metavar="FILE", nargs="+", help="CSV file(s) to land")
    return parser


def resolve_lake_root(cli_value: str | None) -> Path:
    return Path(cli_value or os.environ.get("LAKE_ROOT") or "lake")


def _error_record(source: str, message: str) -> dict[str, Any]:
    return {
        "status": "error",
        "source": source,
        "run_id": None,
        "path": None,
        "bytes": None,
        "sha256": None,
        "message": message,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(levelname)s: %(message)s")
    lake = LocalLake(resolve_lake_root(args.lake_root))
    exit_code = 0
    for arg in args.files:
        shown = display_path(arg)
        try:
            record = land_file_into(Path(arg), lake)
        except LandingError as exc:
            record = _error_record(shown, str(exc))
        except Exception as exc:  # one bad file must not stop the others
            record = _error_record(shown, f"unexpected {type(exc).__name__}: {exc}")
        record["source"] = shown
        if record["status"] == "error":
            exit_code = 1
            print(f"{PROG}: error: {shown}: {record['message']}", file=sys.stderr, flush=True)
        elif record["status"] == "skipped":
            print(f"{PROG}: skipped: {shown}: {record['message']}", file=sys.stderr, flush=True)
        print(json.dumps(record), flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
