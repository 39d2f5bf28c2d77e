"""The lake root every local command reads (``--lake-root``, else $LAKE_ROOT, else ./lake), and
the one-line refusal when it does not exist: a mistyped LAKE_ROOT, or nothing landed yet.

``lakehouse land`` creates the lake root; the commands that read it (build, show, report,
publish) refuse on a missing one with exit status 2 instead of creating an empty lake or
failing later with a message about a file inside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_NO_LAKE = 2


def missing_lake_message(lake_root: Path) -> str:
    return (
        f"LAKE_ROOT={lake_root} does not exist: land a file first"
        f" (lakehouse land --lake-root {lake_root} FILE.csv) or set LAKE_ROOT"
    )


def refuse_missing_lake(lake_root: Path, prog: str | None) -> int | None:
    """EXIT_NO_LAKE after one line on stderr when ``lake_root`` is not a directory, else None."""
    if lake_root.is_dir():
        return None
    prefix = f"{prog}: error: " if prog else ""
    print(f"{prefix}{missing_lake_message(lake_root)}", file=sys.stderr, flush=True)
    return EXIT_NO_LAKE
