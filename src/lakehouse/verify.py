"""Verifies the chain of runs: the `_SUCCESS` markers, the raw files and the published marts.

    lakehouse verify [--lake-root DIR] [--wait SECONDS]          (DuckDB, local)
    lakehouse verify --s3-uri s3://BUCKET/PREFIX                (Athena, production)
    [--target-path P]  dbt's target path: verify's dbt files go to P/verify (default target)
    [--dbt PATH]       the dbt to run (default: the one beside this Python, else dbt on PATH)

Recomputes, independently of what it checks, everything a chained marker records
(lakehouse.chain) and compares, run by run in chain order (run_id order, the order publish writes
them):

* the marker chain: each marker names the marker before it (``previous_run_id``: no gap, no
  fork) and the sha256 of that marker's exact bytes (``previous_marker_sha256``: no marker
  changed since the next one was chained); a marker's own run_id and ingest_date are those of
  its location; a landed run between two chained runs has a marker;
* the raw file: its sha256 now, read in full, is the marker's ``raw_sha256``;
* each mart's rows of the run (``mart_checksums``): the rows consumers read, in the PUBLISHED
  relations (source `published`, models/marts/_marts__published.yml), counted and checksummed
  anew by the engine from the rows themselves (never read back from a model).

How the checksums are computed: ``dbt show --inline "{{ chain_checksums() }}"`` through the
project's profile, on both engines (its files under P/verify/). The SQL is then the macro's
(macros/publish/chain_checksums.sql), the very SQL publish ran to record them, compiled for the
engine by dbt's dispatch: no second copy of it in Python, no Athena client of our own (dbt-athena
runs it, with the profile's workgroup and results location), and the source `published` resolves
to the relations consumers read on either engine. The cost is dbt's start-up (a few seconds) and
one query: a sum per run over each mart, in the engine. Locally the warehouse lock is taken first
(``--wait``), as a build takes it: DuckDB lets no other process open the file while dbt writes.

Exit status (the verdict on stdout, errors on stderr): 0 and one line (the chain's length, its
last marker's sha256: keep that line elsewhere, as an anchor); 1 and one line naming the FIRST
run in chain order whose marker, raw file or mart rows no longer match, and what did not match;
2 and one line when the lake cannot be verified (no such lake root, no warehouse, an invalid S3
URI, dbt or S3 failing: the line says which); 75 when a build holds the local warehouse (try
again, or ``--wait``). Runs landed but not published yet (no marker) are counted, not failures;
so are markers written before the chain existed (pre-chain: no chain fields), which must all
come before the first chained marker.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lakehouse.chain import CHAIN_FIELDS, SHA256_RE, ChainError, Checksums, Marker, MartChecksums
from lakehouse.dbt_runner import PROJECT, default_dbt
from lakehouse.lake_root import missing_lake_message
from lakehouse.lock import EXIT_BUSY, HELD_ENV, LOCK_NAME, Busy, acquire, held
from lakehouse.publish import LocalMarkers, MarkerStore, S3Markers, local_dbt_env, read_markers

EXIT_OK, EXIT_BROKEN, EXIT_UNVERIFIABLE = 0, 1, 2
_FILE_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
NO_ROWS = {"rows": 0, "checksum": "0"}


class Unverifiable(Exception):
    """The lake cannot be verified (exit 2); the message is one line."""


def short(digest: object) -> str:
    text = str(digest)
    return text[:16] + "…" if len(text) > 16 else text


def marker_problems(
    chain: Sequence[Marker], index: int, store: MarkerStore, sums: Checksums
) -> list[str]:
    """What no longer matches for the marker ``chain[index]`` (empty: it all matches)."""
    marker = chain[index]
    record = marker.record
    problems = []
    if marker.state == "pre-chain":
        problems.append(
            f"its marker has no chain fields but comes after the chained marker of"
            f" {chain[index - 1].run_id}: they were removed"
        )
    elif record is None:
        problems.append("its marker is not a JSON object")
    elif marker.state == "broken":
        missing = [name for name in CHAIN_FIELDS if name not in record]
        problems.append(f"its marker lacks {', '.join(missing)}")
    if index + 1 < len(chain):  # the next marker vouches for this one's bytes
        following = chain[index + 1].record or {}
        recorded = following.get("previous_marker_sha256")
        if following.get("previous_run_id") == marker.run_id and recorded != marker.sha256:
            problems.append(
                f"its marker's sha256 is {short(marker.sha256)} but the next marker (run"
                f" {chain[index + 1].run_id}) recorded {short(recorded)}: a marker was changed"
            )
    if marker.state != "chained" or record is None:
        return problems
    if (str(record.get("run_id")), str(record.get("ingest_date"))) != (
        marker.run_id,
        marker.ingest_date,
    ):
        problems.append(
            f"its marker names run {record.get('run_id')} of {record.get('ingest_date')},"
            f" not the run of its location"
        )
    problems += link_problems(chain, index)
    problems += raw_problems(marker, store)
    problems += mart_problems(marker, sums)
    return problems


def link_problems(chain: Sequence[Marker], index: int) -> list[str]:
    """The marker names the marker before it in chain order (no gap, no fork)."""
    record = chain[index].record or {}
    named = record.get("previous_run_id")
    expected = chain[index - 1].run_id if index else None
    if named == expected:
        if index == 0 and record.get("previous_marker_sha256") is not None:
            return ["the first chained marker records a previous_marker_sha256"]
        if index and not SHA256_RE.fullmatch(str(record.get("previous_marker_sha256"))):
            return ["its marker's previous_marker_sha256 is not a sha256"]
        return []
    if expected is None:
        return [
            f"its marker names the previous run {named}, which has no chained marker before it"
            " (a marker was removed)"
        ]
    if named is None:
        return [f"its marker starts a new chain after the chained marker of {expected} (a fork)"]
    return [
        f"its marker names the previous run {named}, but the chained marker before it is"
        f" {expected} (a gap or a fork)"
    ]


def raw_problems(marker: Marker, store: MarkerStore) -> list[str]:
    """The run's raw file, read in full now, has the sha256 the marker records."""
    record = marker.record or {}
    manifest = store.manifest(marker.ingest_date, marker.run_id)
    if manifest is None:
        return ["its raw run has no readable _manifest.json (raw layer changed)"]
    file_name = str(manifest.get("file_name"))
    if not _FILE_NAME_RE.fullmatch(file_name):
        return [f"its raw _manifest.json names no valid file ({file_name!r})"]
    actual = store.raw_sha256(marker.ingest_date, marker.run_id, file_name)
    if actual is None:
        return [f"its raw file {file_name} is missing"]
    if actual != record.get("raw_sha256"):
        return [
            f"raw file {file_name}: sha256 {short(actual)}, the marker records"
            f" {short(record.get('raw_sha256'))}"
        ]
    return []


def mart_problems(marker: Marker, sums: Checksums) -> list[str]:
    """Each mart the marker records: the run's published rows give the same rows/checksum."""
    recorded = (marker.record or {}).get("mart_checksums")
    if not isinstance(recorded, dict):
        return ["its marker's mart_checksums is not an object"]
    problems = []
    now = sums.get(marker.run_id, {})
    for mart in sorted(recorded):
        entry, computed = recorded[mart], now.get(mart, NO_ROWS)
        if not isinstance(entry, dict) or (entry.get("rows"), entry.get("checksum")) != (
            computed["rows"],
            computed["checksum"],
        ):
            was = entry if not isinstance(entry, dict) else entry.get("rows")
            checksum = entry.get("checksum") if isinstance(entry, dict) else None
            problems.append(
                f"{mart}: the marker records {was} rows, checksum {checksum}; the published"
                f" rows give {computed['rows']} rows, checksum {computed['checksum']}"
            )
    return problems


def verify(store: MarkerStore, compute: Callable[[], Checksums]) -> tuple[int, str]:
    """(exit status, one line) for the lake behind ``store``; ``compute`` gives the published
    marts' checksums of every run (called only when there is a chained marker)."""
    markers = read_markers(store)
    start = next((i for i, m in enumerate(markers) if m.state != "pre-chain"), len(markers))
    pre_chain, chain = markers[:start], markers[start:]
    marked = {marker.run_id for marker in markers}
    unmarked = sorted(run_id for _, run_id in store.landed_runs() if run_id not in marked)
    waiting = f"{len(unmarked)} landed run{'s' if len(unmarked) != 1 else ''} not published yet"
    old = f"{len(pre_chain)} pre-chain marker{'s' if len(pre_chain) != 1 else ''} not checked"
    if not chain:
        return EXIT_OK, f"no chained marker yet; {old}; {waiting}"
    sums = compute()
    # Chain order: the chained markers, and the landed runs between them that have none.
    gaps = [run_id for run_id in unmarked if chain[0].run_id < run_id < chain[-1].run_id]
    steps: list[tuple[str, int | None]] = [(m.run_id, i) for i, m in enumerate(chain)]
    steps = sorted(steps + [(run_id, None) for run_id in gaps])
    for position, (run_id, index) in enumerate(steps, start=1):
        if index is None:
            later = next(m.run_id for m in chain if m.run_id > run_id)
            problems = [f"landed but has no marker, while the later run {later} has one"]
        else:
            problems = marker_problems(chain, index, store, sums)
        if problems:
            return EXIT_BROKEN, (
                f"chain broken at run {run_id} ({position} of {len(steps)} in chain order): "
                + "; ".join(problems)
            )
    last = chain[-1]
    return EXIT_OK, (
        f"ok: {len(chain)} chained marker{'s' if len(chain) != 1 else ''}"
        f" ({chain[0].run_id} … {last.run_id}), last marker sha256 {last.sha256}; raw files and"
        f" published mart rows match; {old}; {waiting}"
    )


def verify_local(
    lake_root: Path, target_path: Path, dbt: str | None, wait: float
) -> tuple[int, str]:
    if not lake_root.is_dir():
        raise Unverifiable(missing_lake_message(lake_root))
    processed = lake_root / "processed" / "transactions"
    store = LocalMarkers(processed, lake_root / "raw" / "transactions")

    def compute() -> Checksums:
        warehouse = lake_root / "warehouse.duckdb"
        if not warehouse.is_file():
            raise Unverifiable(
                f"{warehouse}: no warehouse, so no published marts to check the markers against"
                " (lakehouse build, then lakehouse publish)"
            )
        env, target = local_dbt_env(lake_root)
        fd = None
        if not held(lake_root):
            fd = acquire(lake_root, wait)  # Busy: exit 75
            env[HELD_ENV] = str((lake_root / LOCK_NAME).resolve())
        try:
            return MartChecksums(
                dbt or default_dbt(), target, target_path / "verify", Path.cwd(), env
            ).compute()
        finally:
            if fd is not None:
                os.close(fd)

    return verify(store, compute)


def verify_s3(uri: str, target_path: Path, dbt: str | None) -> tuple[int, str]:
    try:
        store = S3Markers(uri)
    except ValueError as error:
        raise Unverifiable(str(error)) from error
    env = dict(os.environ)
    checksums = MartChecksums(dbt or default_dbt(), "athena", target_path / "verify", PROJECT, env)
    return verify(store, checksums.compute)


def build_parser(prog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Verify the chain of runs: every chained _SUCCESS marker, the raw file it"
        " vouches for and the run's rows in the PUBLISHED marts (source `published`: the"
        " relations consumers read), recomputed and compared run by run in chain order.",
        epilog="Exit status: 0 all match (one line: the chain and its last marker's sha256);"
        " 1 the first run in chain order whose marker, raw file or mart rows no longer match,"
        " and what; 2 cannot verify (no such lake root, no warehouse, dbt or S3 failing);"
        " 75 a build holds the local warehouse. Runs not published yet and markers written"
        " before the chain (pre-chain) are counted, not failures.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--lake-root", type=Path, metavar="DIR", help="local lake (default: $LAKE_ROOT, else lake)"
    )
    where.add_argument(
        "--s3-uri",
        metavar="s3://BUCKET/PREFIX",
        help="the production lake on S3; its marts through the profile's athena target",
    )
    parser.add_argument(
        "--target-path",
        type=Path,
        default=Path("target"),
        metavar="P",
        help="dbt's target path; verify's dbt files go to P/verify (default: target)",
    )
    parser.add_argument("--dbt", metavar="PATH", default=None, help="the dbt executable")
    parser.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        default=0.0,
        help="local: how long to wait for a running build (default: 0)",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    name = parser.prog
    if args.wait < 0:
        parser.error("--wait must be 0 or more seconds")
    failure_types: tuple[type[Exception], ...] = (Unverifiable, ChainError, OSError)
    try:
        if args.s3_uri is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            failure_types += (BotoCoreError, ClientError)
            status, line = verify_s3(args.s3_uri, args.target_path, args.dbt)
        else:
            lake_root = args.lake_root or Path(os.environ.get("LAKE_ROOT") or "lake")
            status, line = verify_local(lake_root, args.target_path, args.dbt, args.wait)
    except Busy as busy:
        print(f"{name}: error: {busy}", file=sys.stderr, flush=True)
        return EXIT_BUSY
    except Exception as error:
        if not isinstance(error, failure_types):
            raise
        print(f"{name}: error: {one_line(error)}", file=sys.stderr, flush=True)
        return EXIT_UNVERIFIABLE
    print(f"{name}: {line}", flush=True)
    return status


def one_line(error: Any) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


if __name__ == "__main__":
    raise SystemExit(main())
