#!/usr/bin/env python3
"""Land transaction CSV files into the lake's raw zone (one run per file, atomic, append-only).

Usage: lakehouse land [--lake-root DIR | --s3-uri s3://BUCKET/PREFIX] FILE [FILE ...]
       (or python scripts/land_csv.py, the same arguments)

DIR defaults to $LAKE_ROOT, else ./lake. With --s3-uri the same layout is written under
s3://BUCKET/PREFIX/ (lakehouse.landing_s3; credentials from the standard AWS chain);
with --glue-database (or $RAW_GLUE_DATABASE) each landed or skipped run's partition is then
registered in the raw Glue tables (lakehouse.glue_catalog).
Prints one JSON line per file on stdout (status landed | skipped | error). When stderr is a
terminal: each large file's progress, and a one-line summary at the end. Exit status: 0 every
file landed or skipped, 1 a file was refused or failed (the others are still landed), 2 usage
error.

A landed file whose header does not match the contract, or that has no records (empty, or
nothing after the header line), still lands, and each of those problems is one warning line on
stderr naming the file (``land_csv: warning: FILE: ...``; a JSON event with LOG_FORMAT=json);
the exit status stays 0. With ``--strict`` such a file is refused instead (nothing of it is
written, status error on stdout), the other files still land, and the exit status is 1.

Header matching (the same policy as dbt's base_landing__file_headers; docs/file-format.md): the
first line, a UTF-8 BOM dropped, split as a CSV record; spaces and tabs around a name and
inside a quoted name's quotes are dropped, quotes removed; names compared case-sensitively and
exactly, in any order; every required column once, nothing undeclared.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lakehouse.jsonlog import configure_logging, emit, json_logs
from lakehouse.landing import (
    LandingError,
    LocalLake,
    describe_exception,
    display_path,
    land_file,
    land_file_into,
    unforeseen_failure,
)
from lakehouse.progress import Progress, is_tty, size_text

__all__ = ["LandingError", "build_parser", "land_file", "main"]

PROG = "land_csv"
PROGRESS_MIN_BYTES = 16 * 1024 * 1024  # smaller files land in well under a second
S3_ONLY_OPTIONS = (
    "sse",
    "kms_key_id",
    "multipart_threshold_mb",
    "multipart_part_size_mb",
    "glue_database",
)

Lander = Callable[[Path, list[str]], dict[str, Any]]


def _mebibytes(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number of MiB: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} MiB")
        return value

    return parse


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Land CSV files byte for byte into <lake-root>/raw/transactions/.",
        epilog="A file whose header does not match the contract (names compared exactly, case "
        "included, after dropping a BOM, CSV quotes and surrounding spaces/tabs; any order; every "
        "required column once, nothing undeclared) or that has no records lands with a warning "
        "on stderr naming the file (exit status 0); with --strict it is refused, nothing of it is "
        "written, the other files still land, and the exit status is 1.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--lake-root",
        metavar="DIR",
        default=None,
        help="lake root directory (default: $LAKE_ROOT, else ./lake)",
    )
    where.add_argument(
        "--s3-uri",
        metavar="s3://BUCKET/PREFIX",
        default=None,
        help="land into this S3 location instead (credentials: the standard AWS chain)",
    )
    s3 = parser.add_argument_group("S3 mode (with --s3-uri)")
    s3.add_argument(
        "--sse",
        choices=("AES256", "aws:kms"),
        default=None,
        help="server-side encryption: SSE-S3 (AES256, the default) or SSE-KMS (aws:kms)",
    )
    s3.add_argument(
        "--kms-key-id",
        metavar="KEY",
        default=None,
        help="KMS key id, ARN or alias for --sse aws:kms (default: the account's S3 key)",
    )
    s3.add_argument(
        "--multipart-threshold-mb",
        metavar="MIB",
        type=_mebibytes(1),
        default=None,
        help="files of this size or more are uploaded in parts (default: 64)",
    )
    s3.add_argument(
        "--multipart-part-size-mb",
        metavar="MIB",
        type=_mebibytes(5),
        default=None,
        help="part size of multipart uploads, at least 5 (default: 64)",
    )
    s3.add_argument(
        "--glue-database",
        metavar="NAME",
        default=None,
        help="register each run's partition in the raw tables of this Glue database "
        "(default: $RAW_GLUE_DATABASE; unset: no registration)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse (do not land) a file whose header does not match the contract or that has "
        "no records; the other files still land; exit status 1 (default: land it, warn on stderr)",
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


def _local_lander(args: argparse.Namespace) -> Lander:
    lake = LocalLake(resolve_lake_root(args.lake_root))

    def land(source: Path, warnings: list[str]) -> dict[str, Any]:
        try:
            size = source.stat().st_size
        except OSError:
            size = 0  # land_file_into says what is wrong with it
        progress = Progress(f"landing {source.name}", size, minimum=PROGRESS_MIN_BYTES)
        try:
            return land_file_into(
                source, lake, progress.advance, strict=args.strict, warnings=warnings
            )
        finally:
            progress.finish()

    return land


def _s3_lander(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Lander:
    from lakehouse.landing_s3 import MIB, S3Lake, S3Options, land_file_s3, parse_s3_uri

    for name in ("boto3", "botocore", "urllib3"):  # their INFO lines are noise on stderr
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.kms_key_id and args.sse != "aws:kms":
        parser.error("--kms-key-id needs --sse aws:kms")
    sizes: dict[str, int] = {}
    if args.multipart_threshold_mb is not None:
        sizes["multipart_threshold"] = args.multipart_threshold_mb * MIB
    if args.multipart_part_size_mb is not None:
        sizes["part_size"] = args.multipart_part_size_mb * MIB
    try:
        options = S3Options(sse=args.sse or "AES256", kms_key_id=args.kms_key_id, **sizes)
        bucket, prefix = parse_s3_uri(args.s3_uri)
    except ValueError as exc:
        parser.error(str(exc))
    database = args.glue_database or os.environ.get("RAW_GLUE_DATABASE") or None
    try:
        lake = S3Lake(bucket, prefix, options)
        catalog = _glue_catalog(database, lake.objects.uri(lake.transactions_prefix))
    except Exception as exc:  # broken AWS configuration: every file fails the same way
        message = f"cannot set up the AWS clients: {describe_exception(exc)}"

        def refuse(source: Path, warnings: list[str]) -> dict[str, Any]:
            raise LandingError(message)

        return refuse
    return lambda source, warnings: land_file_s3(
        source, lake, catalog, strict=args.strict, warnings=warnings
    )


def _glue_catalog(database: str | None, raw_location: str) -> Any:
    if database is None:
        return None  # local/dev: nothing registered
    from lakehouse.glue_catalog import GluePartitions

    return GluePartitions(database, raw_location)


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    configure_logging(PROG)
    if args.s3_uri is None:
        given = [name for name in S3_ONLY_OPTIONS if getattr(args, name) is not None]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            parser.error(f"{options}: only with --s3-uri")
        land = _local_lander(args)
    else:
        land = _s3_lander(parser, args)
    exit_code = 0
    started = time.monotonic()
    records: list[dict[str, Any]] = []
    for arg in args.files:
        shown = display_path(arg)
        warnings: list[str] = []
        try:
            record = land(Path(arg), warnings)
        except LandingError as exc:
            record = _error_record(shown, str(exc))
        except Exception as exc:  # one bad file must not stop the others; one line, no traceback
            record = _error_record(shown, unforeseen_failure("landing it", exc))
        record["source"] = shown
        if record["status"] == "error":
            exit_code = 1
        _report(record)
        for warning in warnings:
            _warn(shown, warning, record)
        print(json.dumps(record), flush=True)
        records.append(record)
    if is_tty(sys.stderr) and not json_logs():
        print(_summary(records, time.monotonic() - started), file=sys.stderr)
    return exit_code


def _summary(records: Sequence[dict[str, Any]], seconds: float) -> str:
    """One line for a person at a terminal (pipelines read the JSON records on stdout)."""
    counts = {status: 0 for status in ("landed", "skipped", "error")}
    for record in records:
        counts[record["status"]] += 1
    landed = [r for r in records if r["status"] == "landed"]
    sizes = ", ".join(f"{Path(r['source']).name} {size_text(r['bytes'] or 0)}" for r in landed)
    total = size_text(sum(r["bytes"] or 0 for r in landed))
    return (
        f"{PROG}: {counts['landed']} landed ({total}{': ' + sizes if sizes else ''}),"
        f" {counts['skipped']} skipped, {counts['error']} failed in {seconds:.1f} s"
    )


def _report(record: dict[str, Any]) -> None:
    """The file's diagnostic on stderr: a JSON line for every file with LOG_FORMAT=json, else a
    text line for an error or a skip (stdout keeps the result records either way)."""
    status = record["status"]
    if json_logs():
        level = {"landed": "info", "skipped": "warning"}.get(status, "error")
        emit(f"file_{status}", level, sys.stderr, **record)
    elif status in {"error", "skipped"}:
        print(f"{PROG}: {status}: {record['source']}: {record['message']}", file=sys.stderr)


def _warn(source: str, message: str, record: dict[str, Any]) -> None:
    """One stderr line for one content problem of a file that landed anyway."""
    if json_logs():
        emit("file_content_warning", "warning", sys.stderr, **{**record, "message": message})
    else:
        print(f"{PROG}: warning: {source}: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
