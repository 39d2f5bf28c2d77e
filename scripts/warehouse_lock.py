#!/usr/bin/env python3
"""Run a command (``dbt build`` …) holding the local warehouse's lock: one build at a time.

Usage: python scripts/warehouse_lock.py [--lake-root DIR] [--wait SECONDS] -- COMMAND [ARG ...]

DIR defaults to $LAKE_ROOT, else ./lake (as the DuckDB profile: DIR/warehouse.duckdb); the
command runs with LAKE_ROOT=DIR. The lock is an flock on DIR/.warehouse.lock, taken before the
command starts and held until it ends (the command replaces this process and inherits the lock,
so its exit status is the command's own). When another build holds the lock, or another process
has the DuckDB file open, it waits up to SECONDS (default 0) and then refuses with one line on
stderr naming the warehouse and the holder, exit status 75 (EX_TEMPFAIL: try again later);
nothing was run. Without this wrapper a second `dbt build` still cannot corrupt the warehouse
(DuckDB's own file lock refuses it), but dbt reports that as a long traceback.

Why a wrapper and not something inside dbt: dbt opens the warehouse (to list schemas) before
any on-run-start hook runs, and dbt-duckdb plugins are configured only after the DuckDB file is
open, so nothing in the project can wait for, or explain, the lock before DuckDB refuses.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

PROG = "warehouse_lock"
LOCK_NAME = ".warehouse.lock"
WAREHOUSE_NAME = "warehouse.duckdb"
EXIT_BUSY = 75  # EX_TEMPFAIL (sysexits.h)
POLL_SECONDS = 0.5

_DUCKDB_HOLDER_RE = re.compile(r"\(PID (\d+)\)")


class Busy(Exception):
    """The warehouse is in use; the message says by whom."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run COMMAND holding the lock of the lake's DuckDB warehouse."
    )
    parser.add_argument(
        "--lake-root", metavar="DIR", help="lake root (default: $LAKE_ROOT, else ./lake)"
    )
    parser.add_argument(
        "--wait",
        metavar="SECONDS",
        type=float,
        default=0.0,
        help="how long to wait for a running build before refusing (default: 0)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG ...]")
    return parser


def _holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or "another process"


def _take_flock(fd: int, lock_path: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise Busy(f"another build is running ({_holder(lock_path)})") from None


def _check_duckdb_file(warehouse: Path) -> None:
    """Refuse when a process outside this wrapper (a notebook, a bare `dbt build`) has the
    DuckDB file open: DuckDB allows one writing process per file."""
    if not warehouse.exists():
        return
    import duckdb

    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.Error as exc:
        if "could not set lock" not in str(exc).lower():
            return  # not about the lock: the command itself will report it
        match = _DUCKDB_HOLDER_RE.search(str(exc))
        who = f"pid {match.group(1)}" if match else "another process"
        raise Busy(f"the DuckDB file is open in {who}") from None


def acquire(lake_root: Path, wait: float) -> int:
    """Take the warehouse lock (waiting up to ``wait`` seconds); return its open descriptor."""
    lake_root.mkdir(parents=True, exist_ok=True)
    lock_path = lake_root / LOCK_NAME
    warehouse = lake_root / WAREHOUSE_NAME
    deadline = time.monotonic() + wait
    announced = False
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            _take_flock(fd, lock_path)
            _check_duckdb_file(warehouse)
            return fd
        except Busy as busy:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise Busy(
                    f"warehouse {warehouse} is in use: {busy}; not started (try again later"
                    " or pass --wait SECONDS)"
                ) from None
            if not announced:
                print(
                    f"{PROG}: waiting up to {wait:g}s for warehouse {warehouse}: {busy}",
                    file=sys.stderr,
                    flush=True,
                )
                announced = True
            time.sleep(POLL_SECONDS)
        except BaseException:
            os.close(fd)
            raise


def _record_holder(fd: int, command: Sequence[str]) -> None:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = " ".join(command)[:200]
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} since {started}: {shown}\n".encode(), 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        parser.error("no command given (usage: warehouse_lock.py [options] -- COMMAND ...)")
    if args.wait < 0:
        parser.error("--wait must be 0 or more seconds")
    lake_root = Path(args.lake_root or os.environ.get("LAKE_ROOT") or "lake")
    try:
        fd = acquire(lake_root, args.wait)
    except Busy as busy:
        print(f"{PROG}: error: {busy}", file=sys.stderr, flush=True)
        return EXIT_BUSY
    _record_holder(fd, command)
    os.set_inheritable(fd, True)  # the command holds the lock until it exits
    os.environ["LAKE_ROOT"] = str(lake_root)
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"{PROG}: error: cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
