"""``lakehouse``: the one command of the project, with a subcommand per job.

Each subcommand is a module of this package with ``main(argv, prog)``; ``lakehouse COMMAND
--help`` shows its options. Exit statuses and messages are the module's own.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# name: (module, one-line help), in the order a user meets them.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("lakehouse.generate", "generate a sample transactions CSV with known errors"),
    "land": ("lakehouse.land", "land CSV files into the lake (local, or S3 with --s3-uri)"),
    "build": ("lakehouse.build", "dbt build of the project under the warehouse lock"),
    "publish": ("lakehouse.publish", "publish the marts of a build whose tests all passed"),
    "verify": ("lakehouse.verify", "verify the chain of runs: markers, raw files, published marts"),
    "show": ("lakehouse.show", "print what the last demo build produced"),
    "report": ("lakehouse.report", "write the run report (and the docs page) into a site folder"),
    "acknowledge": ("lakehouse.acknowledge", "acknowledge an alert for a run (append-only)"),
    "quarantine": ("lakehouse.quarantine", "list open quarantined records; record decisions"),
    "contract": ("lakehouse.contract", "the file contract: Athena DDL, drift check"),
    "preflight": ("lakehouse.preflight", "check the settings `make prod` needs"),
    "lock": ("lakehouse.lock", "run any command holding the warehouse lock"),
}
PROG = "lakehouse"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: lists the subcommands; each one parses its own arguments."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Transaction lakehouse: land, build, publish and report.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, summary) in COMMANDS.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        build_parser().parse_args(args)  # --help, or a one-line usage error (exit 2)
        return 2  # not reached: parse_args exits for anything that is not a command
    name, rest = args[0], args[1:]
    module = importlib.import_module(COMMANDS[name][0])
    result: int = module.main(rest, prog=f"{PROG} {name}")
    return result
