#!/usr/bin/env python3
"""No tracked Python file edits the import path: the project's code is the installed package
``lakehouse`` (src/, ``make install``), and a file outside it imports it by name.

Usage: python lint/check_no_sys_path.py   (run from anywhere; reads `git ls-files` of the repo)

Prints each file and line that mentions the import path's list and exits 1; exits 0 when none
does. Test helpers are found through pytest's ``pythonpath`` setting (pyproject.toml) instead.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEEDLE = "sys." + "path"  # spelt in two parts so that this file passes its own check


def tracked_python_files(root: Path = ROOT) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.py"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [root / name for name in listed.split("\0") if name and (root / name).is_file()]


def offenders(files: list[Path]) -> Iterator[str]:
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if NEEDLE in line:
                yield f"{path.relative_to(ROOT)}:{number}: {line.strip()}"


def main() -> int:
    found = list(offenders(tracked_python_files()))
    for item in found:
        print(item, file=sys.stderr)
    if found:
        print(f"check_no_sys_path: {len(found)} line(s) edit the import path", file=sys.stderr)
        return 1
    print("check_no_sys_path: no tracked Python file edits the import path")
    return 0


if __name__ == "__main__":
    sys.exit(main())
