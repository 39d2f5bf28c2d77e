"""``dbt build`` of the project under the warehouse lock: one build at a time per warehouse.

Usage: lakehouse build [--lake-root DIR] [--wait SECONDS] [--dbt PATH] [DBT_ARG ...]

Runs ``dbt build --profiles-dir profiles --project-dir .`` (run it in the project directory)
followed by every other argument as given (``--select``, ``--exclude-resource-type unit_test``,
``--target athena`` …; a ``--`` first ends this command's own options). On the DuckDB target
(``--target``/``-t``, else $DBT_TARGET, else duckdb, as profiles/profiles.yml) dbt runs holding
the lake's warehouse lock (``lakehouse lock``): a second build waits SECONDS (default 0), then
refuses in one line, exit status 75. A lake root that does not exist is refused in one line, exit
status 2 (``lakehouse land`` creates it). Under a lock this process tree already holds (a command
run by ``lakehouse lock``) it does not take it again. Exit status: dbt's own.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from lakehouse.lake_root import refuse_missing_lake
from lakehouse.lock import add_lock_arguments, exec_command, exec_locked, held
from lakehouse.publish import default_dbt

DBT_FLAGS = ("--profiles-dir", "profiles", "--project-dir", ".")
LOCKED_TARGET = "duckdb"


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run dbt build on the project under the warehouse lock; other arguments go"
        " to dbt as given.",
        allow_abbrev=False,
        usage="%(prog)s [-h] [--lake-root DIR] [--wait SECONDS] [--dbt PATH] [DBT_ARG ...]",
    )
    add_lock_arguments(parser)
    parser.add_argument("--dbt", metavar="PATH", default=None, help="the dbt executable")
    return parser


def dbt_target(dbt_args: Sequence[str]) -> str:
    """The profile target dbt will use: the last --target/-t given, else $DBT_TARGET."""
    target = os.environ.get("DBT_TARGET") or LOCKED_TARGET
    for index, arg in enumerate(dbt_args):
        if arg in {"--target", "-t"} and index + 1 < len(dbt_args):
            target = dbt_args[index + 1]
        elif arg.startswith("--target="):
            target = arg.partition("=")[2]
    return target


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args, dbt_args = parser.parse_known_args(argv)
    if "--" in dbt_args:  # the end of this command's options: argparse leaves it in place
        dbt_args.remove("--")
    if args.wait < 0:
        parser.error("--wait must be 0 or more seconds")
    command = [args.dbt or default_dbt(), "build", *DBT_FLAGS, *dbt_args]
    lake_root = Path(args.lake_root or os.environ.get("LAKE_ROOT") or "lake")
    if dbt_target(dbt_args) == LOCKED_TARGET:
        refused = refuse_missing_lake(lake_root, prog)
        if refused is not None:
            return refused
    if dbt_target(dbt_args) != LOCKED_TARGET or held(lake_root):
        if args.lake_root:
            os.environ["LAKE_ROOT"] = str(lake_root)
        return exec_command(command)
    return exec_locked(lake_root, args.wait, command)
