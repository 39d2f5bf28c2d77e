#!/usr/bin/env python3
"""Work the quarantine: list the open records, record decisions on them (append-only).

Usage:
  lakehouse quarantine list [--lake-root DIR] [--status open|resolved|condemned|waived|all]
                            [--owner NAME] [--limit N]
  lakehouse quarantine decide [--lake-root DIR | --s3-uri s3://BUCKET/PREFIX]
                              --run-id RUN_ID --line N --action ACTION --reason TEXT
                              [--by WHO] [--owner NAME] [--sse ... --kms-key-id K]

Every quarantined record (fct_quarantined_records, key run_id + line_number) has a status in
fct_quarantine_lifecycle: ``resolved`` when a later delivery brought an accepted version of its
TransactionID (computed by the build; it wins over any decision), else the latest decision
(``condemn`` -> condemned, ``waive`` -> waived, ``reopen`` -> open), else open. ``assign``
sets the record's owner (``--owner``) without changing its status.

``decide`` writes one new CSV file per decision (decision_id, run_id, line_number, action,
owner, decided_by, decided_at in UTC, reason), never overwriting or deleting one:

    DIR/decisions/quarantine/<YYYYMMDDTHHMMSSffffffZ>_<uuid>.csv
    s3://BUCKET/PREFIX/decisions/quarantine/<same name>   (conditional PUT, encrypted)

The build reads them as the dbt source ``operations.quarantine_decisions`` (one flat folder:
Athena's table over it reads no subfolder and skips names that start with _ or .); the status
changes at the next build. ``--by`` defaults to the operating-system user. Refused, writing
nothing, with one line on stderr and exit status 2: an unknown action, an empty or multi-line
reason or name, a run_id the loader would not write, ``assign`` without ``--owner`` (or
``--owner`` with another action), and, where the lake's warehouse or its published copy is
readable, a (run_id, line) that is not in the quarantine (S3: not checked; the build warns
about such a decision). Prints the decision as one JSON line on stdout (event
quarantine_decision_recorded). Exit 1 when writing failed.

``list`` prints the records of a status (default open), oldest first, from the published
lifecycle (the last build that passed its tests; the published copy while a build runs):
age in days, owner, where the record came from and its codes. Decisions recorded since that
build are not in it yet.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import os
import re
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, Protocol

from lakehouse.append_only import LocalFolder, S3Folder
from lakehouse.append_only import checked_text as one_line_text
from lakehouse.jsonlog import emit
from lakehouse.lake_root import missing_lake_message
from lakehouse.landing import LANDED_AT_FORMAT, parse_run_time

PROG = "lakehouse quarantine"
EXIT_REFUSED = 2
EXIT_FAILED = 1
# macros/raw/create_raw_relations.sql: quarantine_decisions_folder(), quarantine_decision_columns()
DECISIONS_FOLDER = "decisions/quarantine"
DECISION_COLUMNS = (
    "decision_id",
    "run_id",
    "line_number",
    "action",
    "owner",
    "decided_by",
    "decided_at",
    "reason",
)
# What each action does to the status (fct_quarantine_lifecycle); assign sets the owner.
ACTIONS = {"condemn": "condemned", "waive": "waived", "reopen": "open", "assign": None}
STATUSES = ("open", "resolved", "condemned", "waived")
FILE_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
MAX_NAME = 200
MAX_REASON = 2000
_RUN_ID_RE = re.compile(r"\d{8}T\d{12}Z_[0-9a-f]{8}")
PUBLISHED_LIFECYCLE = "main_published.fct_quarantine_lifecycle"
# where a local lake's quarantine is read to check a decision's record (and its status): the
# latest build's marts first (a failed build's new quarantine included), else the published
# tables (the published copy, while a build runs)
QUARANTINE_TABLES = ("main_marts.fct_quarantined_records", "main_published.fct_quarantined_records")
LIFECYCLE_TABLES = ("main_marts.fct_quarantine_lifecycle", PUBLISHED_LIFECYCLE)


class Refused(Exception):
    """A user mistake: nothing was written; the message says why (exit 2)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), as every refusal of this command."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_REFUSED, f"{self.prog}: error: {message}\n")


class Store(Protocol):
    def write_new(self, name: str, body: bytes) -> str: ...


class LocalStore(LocalFolder):
    """A lake on the local file system."""

    def __init__(self, lake_root: Path) -> None:
        super().__init__(lake_root / DECISIONS_FOLDER, "decisions")


class S3Store(S3Folder):
    """A lake under s3://BUCKET/PREFIX/ (the loader's layout, lakehouse.landing_s3)."""

    def __init__(self, uri: str, sse: str, kms_key_id: str | None) -> None:
        from lakehouse.landing_s3 import CSV_TYPE

        super().__init__(uri, DECISIONS_FOLDER, "decisions", CSV_TYPE, sse, kms_key_id)


def checked_text(name: str, value: str | None, limit: int) -> str:
    return one_line_text(name, value, limit, Refused)


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return ""


def decision(
    run_id: str,
    line: int,
    action: str,
    reason: str,
    by: str,
    owner: str | None,
    now: datetime,
    decision_id: str | None = None,
) -> dict[str, str]:
    """The decision's fields, checked (whether the record is quarantined is checked apart)."""
    if action not in ACTIONS:
        raise Refused(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    if not _RUN_ID_RE.fullmatch(run_id) or parse_run_time(run_id) is None:
        raise Refused(f"not a run_id: {run_id!r}")
    if line < 1:
        raise Refused(f"--line must be a line number from 1, got {line}")
    reason_text = checked_text("--reason", reason, MAX_REASON)
    by_text = checked_text("--by", by, MAX_NAME)
    if action == "assign":
        owner_text = checked_text("--owner", owner, MAX_NAME)
    elif owner is not None:
        raise Refused("--owner is for --action assign only")
    else:
        owner_text = ""
    return {
        "decision_id": decision_id or str(uuid.uuid4()),
        "run_id": run_id,
        "line_number": str(line),
        "action": action,
        "owner": owner_text,
        "decided_by": by_text,
        "decided_at": now.astimezone(UTC).strftime(LANDED_AT_FORMAT),
        "reason": reason_text,
    }


def file_name(record: dict[str, str], now: datetime) -> str:
    stamp = now.astimezone(UTC).strftime(FILE_TIME_FORMAT)
    return f"{stamp}_{record['decision_id'].replace('-', '')}.csv"


def csv_body(record: dict[str, str]) -> bytes:
    """A header and one row, every value quoted (a quote in a value doubled): what DuckDB's
    read_csv and Athena's OpenCSVSerDe read alike."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(DECISION_COLUMNS)
    writer.writerow([record[column] for column in DECISION_COLUMNS])
    return out.getvalue().encode("utf-8")


def quarantined_status(lake_root: Path, run_id: str, line: int) -> str | None:
    """Refuses a record that is not in the lake's quarantine; its current status (the
    lifecycle as last built) or None when unknown. Returns None without checking when there is no
    warehouse to read."""
    import duckdb

    from lakehouse.published_copy import WAREHOUSE_NAME, open_published

    if not (lake_root / WAREHOUSE_NAME).is_file():
        return None
    with open_published(lake_root, PROG) as (con, path, _):
        tables = {
            f"{schema}.{name}"
            for schema, name in con.sql(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        readable = [table for table in QUARANTINE_TABLES if table in tables]
        if not readable:
            raise Refused(
                f"run {run_id} line {line} is not in the quarantine: {path} has no quarantine"
                " yet (build first)"
            )
        found = con.sql(
            f"select count(*) from {readable[0]} where run_id = ? and line_number = ?",
            params=[run_id, line],
        ).fetchall()[0][0]
        if not found:
            raise Refused(
                f"run {run_id} line {line} is not in the quarantine ({readable[0]} in {path})"
            )
        lifecycles = [table for table in LIFECYCLE_TABLES if table in tables]
        if not lifecycles:
            return None
        try:
            rows = con.sql(
                f"select status from {lifecycles[0]} where run_id = ? and line_number = ?",
                params=[run_id, line],
            ).fetchall()
        except duckdb.Error:
            return None
        return str(rows[0][0]) if rows else None


def decide(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    failures: tuple[type[Exception], ...] = (OSError,)
    try:
        record = decision(
            args.run_id, args.line, args.action, args.reason, args.by, args.owner, now
        )
        store: Store
        status = None
        if args.s3_uri is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            from lakehouse.landing import LandingError

            failures += (BotoCoreError, ClientError, LandingError, ValueError)
            store = S3Store(args.s3_uri, args.sse or "AES256", args.kms_key_id)
        else:
            import duckdb

            failures += (duckdb.Error,)
            lake_root = args.lake_root or Path(os.environ.get("LAKE_ROOT") or "lake")
            if not lake_root.is_dir():
                raise Refused(missing_lake_message(lake_root))
            status = quarantined_status(lake_root, args.run_id, args.line)
            store = LocalStore(lake_root)
        location = store.write_new(file_name(record, now), csv_body(record))
    except Refused as error:
        print(f"{PROG} decide: refused: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as error:
        if not isinstance(error, failures):
            raise
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(f"{PROG} decide: failed, nothing recorded: {first}", file=sys.stderr)
        return EXIT_FAILED
    if status == "resolved" and args.action != "assign":
        print(
            f"{PROG} decide: note: run {args.run_id} line {args.line} is resolved by a later"
            " delivery; a resolution outranks any decision (recorded all the same)",
            file=sys.stderr,
        )
    emit("quarantine_decision_recorded", **record, location=location)
    return 0


def list_records(args: argparse.Namespace) -> int:
    import duckdb

    from lakehouse.published_copy import WAREHOUSE_NAME, open_published

    lake_root = args.lake_root or Path(os.environ.get("LAKE_ROOT") or "lake")
    if not lake_root.is_dir():
        print(f"{PROG} list: error: {missing_lake_message(lake_root)}", file=sys.stderr)
        return EXIT_REFUSED
    if not (lake_root / WAREHOUSE_NAME).is_file():
        print(f"{PROG} list: error: {lake_root / WAREHOUSE_NAME}: no build yet", file=sys.stderr)
        return EXIT_FAILED
    where, params = [], []
    if args.status != "all":
        where.append("status = ?")
        params.append(args.status)
    if args.owner:
        where.append("owner = ?")
        params.append(args.owner)
    sql = (
        "select floor(date_diff('microsecond', status_since,"
        " cast(now() at time zone 'UTC' as timestamp)) / 86400000000.0)::bigint as age_days,"
        " status, owner, run_id, line_number, source_file, transaction_id_raw, validation_error,"
        " decision, decided_by, decision_reason"
        f" from {PUBLISHED_LIFECYCLE}"
        f"{' where ' + ' and '.join(where) if where else ''}"
        " order by status_since, run_id, line_number"
    )
    try:
        with open_published(lake_root, f"{PROG} list") as (con, path, _):
            try:
                rows = con.sql(sql, params=params).fetchall()
            except duckdb.CatalogException:
                print(
                    f"{PROG} list: error: {path}: no published quarantine lifecycle yet"
                    " (build and publish first)",
                    file=sys.stderr,
                )
                return EXIT_FAILED
    except duckdb.Error as error:
        print(f"{PROG} list: error: {error}".splitlines()[0], file=sys.stderr)
        return EXIT_FAILED
    header = ("age_days", "status", "owner", "run_id", "line", "file", "transaction_id")
    shown = [(*header, "validation_error", "decision")]
    for age, status, owner, run_id, line, file, tx, codes, action, by, why in rows[: args.limit]:
        said = f"{action} by {by}: {why}" if action else ""
        shown.append((str(age), status, owner, run_id, str(line), file, tx or "", codes, said))
    widths = [max(len(row[i]) for row in shown) for i in range(len(header))]
    for row in shown:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, *row[len(header) :]]).rstrip())
    more = f", {len(rows) - args.limit} more not shown (--limit)" if len(rows) > args.limit else ""
    what = "records" if args.status == "all" else f"{args.status} records"
    print(f"{len(rows)} {what}{more}; as of the last published build")
    return 0


def build_parser(prog: str = PROG) -> Parser:
    parser = Parser(prog=prog, description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    listing = commands.add_parser(
        "list", help="the records of a status (default open), oldest first"
    )
    listing.add_argument("--lake-root", type=Path, default=None)
    listing.add_argument("--status", choices=(*STATUSES, "all"), default="open")
    listing.add_argument("--owner", default=None, help="only this owner's records")
    listing.add_argument("--limit", type=int, default=50, help="at most this many lines")
    deciding = commands.add_parser(
        "decide", help="record a decision on a quarantined record (append-only)"
    )
    where = deciding.add_mutually_exclusive_group()
    where.add_argument("--lake-root", type=Path, default=None)
    where.add_argument("--s3-uri", metavar="s3://BUCKET/PREFIX", default=None)
    deciding.add_argument("--run-id", required=True, help="the quarantined record's run")
    deciding.add_argument("--line", required=True, type=int, help="its line_number")
    deciding.add_argument("--action", required=True, help=", ".join(ACTIONS))
    deciding.add_argument("--reason", required=True, help="why (one line)")
    deciding.add_argument("--by", default=default_user(), help="who (default: the OS user)")
    deciding.add_argument("--owner", default=None, help="the new owner (--action assign)")
    deciding.add_argument("--sse", choices=("AES256", "aws:kms"), default=None)
    deciding.add_argument("--kms-key-id", metavar="KEY", default=None)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.command == "list":
        if args.limit < 1:
            parser.error("--limit must be at least 1")
        return list_records(args)
    if args.s3_uri is None and (args.sse or args.kms_key_id):
        parser.error("--sse / --kms-key-id: only with --s3-uri")
    if args.kms_key_id and args.sse != "aws:kms":
        parser.error("--kms-key-id needs --sse aws:kms")
    return decide(args)


if __name__ == "__main__":
    raise SystemExit(main())
