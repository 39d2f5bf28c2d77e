#!/usr/bin/env python3
"""Acknowledge an alert for a landed run: the alert stops firing for that run (append-only).

Usage: lakehouse acknowledge [--lake-root DIR | --s3-uri s3://BUCKET/PREFIX]
           --alert NAME --run-id RUN_ID --by WHO --reason TEXT [--sse ... --kms-key-id K]

The alerts on fct_run_metrics (dbt tests quarantine_rate_at_most, header_matches_contract and
volume_within_trailing_median; names ``quarantine_rate``, ``schema_drift``, ``volume``), and
the one on fct_quarantine_open_items (quarantine_open_at_most_days, ``quarantine_open``), skip
every (alert, run) pair acknowledged here, even with var ``check_all_runs: true``. Each
acknowledgement is one new JSON object (alert, run_id, acknowledged_by, acknowledged_at in UTC,
reason) in its own file, directly under the lake's ``acknowledgements/`` folder beside ``raw/``:

    DIR/acknowledgements/<run_id>.<alert>.<YYYYMMDDTHHMMSSffffffZ>.<who>.json
    s3://BUCKET/PREFIX/acknowledgements/<same name>      (conditional PUT, server-side encrypted)

dbt reads them as ``landing.alert_acknowledgements`` (macros/raw/create_raw_relations.sql). The
command never overwrites or deletes a file: acknowledging again adds a file, and the history of
who acknowledged what, when and why is the folder itself. DIR defaults to $LAKE_ROOT, else
./lake. It refuses, writing nothing, an unknown alert name, a run_id that is not a landed run of
the lake, and an empty or multi-line --by / --reason. Prints the acknowledgement as one JSON line
on stdout (event alert_acknowledged). Exit 0 written, 1 refused or failed (one line on stderr),
2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lakehouse.append_only import AlreadyWritten, LocalFolder, S3Folder
from lakehouse.append_only import checked_text as one_line_text
from lakehouse.jsonlog import emit
from lakehouse.landing import LANDED_AT_FORMAT, MANIFEST_NAME, parse_run_time

PROG = "acknowledge_alert"
# The alerts' names: the `alert` argument of each alert test (fct_run_metrics, and
# quarantine_open on fct_quarantine_open_items; models/marts/_marts__models.yml; test_alerts.py
# checks the two agree).
ALERTS = ("quarantine_rate", "schema_drift", "volume", "quarantine_open")
# macros/raw/create_raw_relations.sql, acknowledgements_folder()
ACKNOWLEDGEMENTS_FOLDER = "acknowledgements"
FILE_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
MAX_BY = 200
MAX_REASON = 2000
_SLUG_RE = re.compile(r"[^A-Za-z0-9_-]+")
# the loader's run_id (lake_landing.new_run_id); fullmatch: no final line break either
_RUN_ID_RE = re.compile(r"\d{8}T\d{12}Z_[0-9a-f]{8}")


class Refused(Exception):
    """The acknowledgement was not written; the message says why."""


class Store(Protocol):
    def run_landed(self, run_id: str) -> bool: ...

    def write_new(self, name: str, body: bytes) -> str: ...


class LocalStore(LocalFolder):
    """A lake on the local file system."""

    def __init__(self, lake_root: Path) -> None:
        super().__init__(lake_root / ACKNOWLEDGEMENTS_FOLDER, "acknowledgements")
        self.lake_root = lake_root

    def run_landed(self, run_id: str) -> bool:
        runs = self.lake_root / "raw" / "transactions"
        return any(runs.glob(f"ingest_date=*/run_id={run_id}/{MANIFEST_NAME}"))


class S3Store(S3Folder):
    """A lake under s3://BUCKET/PREFIX/ (the loader's layout, lakehouse.landing_s3)."""

    def __init__(self, uri: str, sse: str, kms_key_id: str | None) -> None:
        from lakehouse.landing_s3 import JSON_TYPE

        super().__init__(
            uri, ACKNOWLEDGEMENTS_FOLDER, "acknowledgements", JSON_TYPE, sse, kms_key_id
        )

    def run_landed(self, run_id: str) -> bool:
        landed_at = parse_run_time(run_id)
        if landed_at is None:
            return False
        # the loader's ingest_date is the landing moment's UTC date, the run_id's first part
        key = (
            f"{self.prefix}raw/transactions/ingest_date={landed_at.date().isoformat()}"
            f"/run_id={run_id}/{MANIFEST_NAME}"
        )
        return self.objects.head(key) is not None


def checked_text(name: str, value: str, limit: int) -> str:
    return one_line_text(name, value, limit, Refused)


def acknowledgement(alert: str, run_id: str, by: str, reason: str, now: datetime) -> dict[str, str]:
    """The acknowledgement's fields, checked (the run's existence is the store's check)."""
    if alert not in ALERTS:
        raise Refused(f"unknown alert {alert!r} (known: {', '.join(ALERTS)})")
    if not _RUN_ID_RE.fullmatch(run_id) or parse_run_time(run_id) is None:
        raise Refused(f"not a run_id: {run_id!r}")
    return {
        "alert": alert,
        "run_id": run_id,
        "acknowledged_by": checked_text("--by", by, MAX_BY),
        "acknowledged_at": now.astimezone(UTC).strftime(LANDED_AT_FORMAT),
        "reason": checked_text("--reason", reason, MAX_REASON),
    }


def file_name(record: dict[str, str], now: datetime) -> str:
    who = _SLUG_RE.sub("-", record["acknowledged_by"]).strip("-")[:40] or "operator"
    stamp = now.astimezone(UTC).strftime(FILE_TIME_FORMAT)
    return f"{record['run_id']}.{record['alert']}.{stamp}.{who}.json"


def acknowledge(
    store: Store, alert: str, run_id: str, by: str, reason: str, now: datetime | None = None
) -> dict[str, str]:
    """Write a new acknowledgement file; the record and its location."""
    now = now or datetime.now(UTC)
    record = acknowledgement(alert, run_id, by, reason, now)
    if not store.run_landed(run_id):
        raise Refused(f"run {run_id} is not a landed run of this lake")
    body = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        location = store.write_new(file_name(record, now), body)
    except AlreadyWritten as error:
        raise Refused(str(error)) from None
    return {**record, "location": location}


def read_acknowledgements(lake_root: Path) -> list[dict[str, Any]]:
    """Every acknowledgement of a local lake, oldest first (the run report lists them)."""
    found = []
    for path in sorted((lake_root / ACKNOWLEDGEMENTS_FOLDER).glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            found.append({**record, "file_name": path.name})
    return sorted(found, key=lambda r: (str(r.get("acknowledged_at")), r["file_name"]))


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=(__doc__ or "").splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--lake-root", type=Path, default=None)
    where.add_argument("--s3-uri", metavar="s3://BUCKET/PREFIX", default=None)
    parser.add_argument("--alert", required=True, help=f"one of {', '.join(ALERTS)}")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--by", required=True, help="who acknowledges")
    parser.add_argument("--reason", required=True, help="why the alert needs no more firing")
    parser.add_argument("--sse", choices=("AES256", "aws:kms"), default=None)
    parser.add_argument("--kms-key-id", metavar="KEY", default=None)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.s3_uri is None and (args.sse or args.kms_key_id):
        parser.error("--sse / --kms-key-id: only with --s3-uri")
    if args.kms_key_id and args.sse != "aws:kms":
        parser.error("--kms-key-id needs --sse aws:kms")
    failure_types: tuple[type[Exception], ...] = (Refused, OSError, ValueError)
    try:
        store: Store
        if args.s3_uri is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            from lakehouse.landing import LandingError

            failure_types += (BotoCoreError, ClientError, LandingError)
            store = S3Store(args.s3_uri, args.sse or "AES256", args.kms_key_id)
        else:
            store = LocalStore(args.lake_root or Path(os.environ.get("LAKE_ROOT") or "lake"))
        record = acknowledge(store, args.alert, args.run_id, args.by, args.reason)
    except Exception as error:
        if not isinstance(error, failure_types):
            raise
        print(f"{PROG}: refused: {error}", file=sys.stderr)
        return 1
    emit("alert_acknowledged", **record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
