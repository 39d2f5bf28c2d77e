#!/usr/bin/env python3
"""Run a command (``dbt build`` …) holding the local warehouse's lock: one build at a time.

Usage: lakehouse lock [--lake-root DIR] [--wait SECONDS] -- COMMAND [ARG ...]
(``lakehouse build`` runs ``dbt build`` this way.)

DIR defaults to $LAKE_ROOT, else ./lake (as the DuckDB profile: DIR/warehouse.duckdb); the
command runs with LAKE_ROOT=DIR. The lock is an flock on DIR/.warehouse.lock, taken before the
command starts and held until it ends (the command replaces this process and inherits the lock,
so its exit status is the command's own). When another build holds the lock, or another process
has the DuckDB file open, it waits up to SECONDS (default 0) and then refuses with one line on
stderr naming the warehouse and the holder, exit status 75 (EX_TEMPFAIL: try again later);
nothing was run. The command runs with WAREHOUSE_LOCK_HELD set to the lock file.

A bare `dbt build` (not through this wrapper) is refused too, by the profile's dbt-duckdb plugin
(lakehouse.warehouse_guard, ``check_warehouse`` below): dbt opens the warehouse (to list
schemas) before any on-run-start hook runs, but dbt-duckdb lets a plugin see the connection's
settings just before it opens the DuckDB file. There it fails with one line naming the warehouse
and the running build (dbt's exit status 2) instead of DuckDB's lock error and a traceback. It
does not wait: waiting is this command's job.
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
from typing import Any

PROG = "warehouse_lock"
LOCK_NAME = ".warehouse.lock"
WAREHOUSE_NAME = "warehouse.duckdb"
EXIT_BUSY = 75  # EX_TEMPFAIL (sysexits.h)
HELD_ENV = "WAREHOUSE_LOCK_HELD"  # set for the command: the lock file its process tree holds
POLL_SECONDS = 0.5

_DUCKDB_HOLDER_RE = re.compile(r"\(PID (\d+)\)")


class Busy(Exception):
    """The warehouse is in use; the message says by whom."""


def add_lock_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every command that takes the warehouse lock: --lake-root, --wait."""
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


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Run COMMAND holding the lock of the lake's DuckDB warehouse."
    )
    add_lock_arguments(parser)
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


def _process_command(pid: str) -> str | None:
    """The command line of a running process, where the system shows it (Linux /proc)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = (word.decode("utf-8", "replace") for word in raw.split(b"\0"))
    return " ".join(" ".join(words).split())[:200] or None  # one line


def _open_duckdb_file(warehouse: Path | str, config: dict[str, Any] | None = None) -> Any:
    """A read-write connection to the DuckDB file, or None when it cannot be opened for another
    reason than the lock (the command itself will report that). Refuse when a process outside
    this process (a notebook, a bare `dbt build`) has the file open: DuckDB allows one writing
    process per file."""
    import duckdb

    try:
        return duckdb.connect(str(warehouse), read_only=False, config=dict(config or {}))
    except duckdb.Error as exc:
        if "could not set lock" not in str(exc).lower():
            return None
        match = _DUCKDB_HOLDER_RE.search(str(exc))
        if match is None:
            raise Busy("the DuckDB file is open in another process") from None
        command = _process_command(match.group(1))
        shown = f" ({command})" if command else ""
        raise Busy(f"the DuckDB file is open in pid {match.group(1)}{shown}") from None


def _check_duckdb_file(warehouse: Path) -> None:
    if not warehouse.exists():
        return
    connection = _open_duckdb_file(warehouse)
    if connection is not None:
        connection.close()


def check_warehouse(warehouse: Path | str, config: dict[str, Any] | None = None) -> Any:
    """For a process about to open ``warehouse`` itself (a bare `dbt build`, through the
    profile's plugin): raise ``Busy`` when another build holds the lake's lock (unless this
    process runs under it: ``HELD_ENV``) or another process has the DuckDB file open. Returns
    an open connection (with ``config``, so that the caller's own connection shares its
    database and no other process can take the file in between; close it once the caller's
    connection is open), or None when the file cannot be opened for another reason."""
    warehouse = Path(warehouse)
    lock_path = (warehouse.parent / LOCK_NAME).resolve()
    if lock_path.exists() and os.environ.get(HELD_ENV) != str(lock_path):
        fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _take_flock(fd, lock_path)  # released at once: this process does not hold it
        finally:
            os.close(fd)
    return _open_duckdb_file(warehouse, config)


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


def held(lake_root: Path) -> bool:
    """Whether this process runs under the lake's lock already (a command run by ``main``)."""
    return os.environ.get(HELD_ENV) == str((lake_root / LOCK_NAME).resolve())


def exec_locked(lake_root: Path, wait: float, command: Sequence[str]) -> int:
    """Take the lake's lock (waiting up to ``wait`` seconds), then replace this process with
    ``command``, which inherits the lock. Returns only when it could not: EXIT_BUSY (one line
    on stderr naming the warehouse and the holder) or 127 (the command cannot run)."""
    try:
        fd = acquire(lake_root, wait)
    except Busy as busy:
        print(f"{PROG}: error: {busy}", file=sys.stderr, flush=True)
        return EXIT_BUSY
    _record_holder(fd, command)
    os.set_inheritable(fd, True)  # the command holds the lock until it exits
    os.environ["LAKE_ROOT"] = str(lake_root)
    os.environ[HELD_ENV] = str((lake_root / LOCK_NAME).resolve())
    return exec_command(command)


def exec_command(command: Sequence[str]) -> int:
    """Replace this process with ``command``; 127 and one line on stderr when it cannot run."""
    try:
        os.execvp(command[0], list(command))
    except OSError as exc:
        print(f"{PROG}: error: cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    return 0  # not reached


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    parser = _parser(prog)
    args = parser.parse_args(argv)
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        parser.error(f"no command given (usage: {parser.prog} [options] -- COMMAND ...)")
    if args.wait < 0:
        parser.error("--wait must be 0 or more seconds")
    lake_root = Path(args.lake_root or os.environ.get("LAKE_ROOT") or "lake")
    return exec_locked(lake_root, args.wait, command)


if __name__ == "__main__":
    sys.exit(main())
