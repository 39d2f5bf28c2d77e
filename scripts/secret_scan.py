#!/usr/bin/env python3
"""Scan the files tracked by git for credentials that must never be committed.

Usage: python scripts/secret_scan.py [--repo DIR]

Looks at every file ``git ls-files`` lists (DIR defaults to the current directory) for:

* AWS access key ids: ``AKIA`` / ``ASIA`` followed by 16 upper-case letters or digits;
* AWS secret keys in an assignment: ``aws_secret_access_key`` (any case, ``=`` or ``:``) with a
  40-character key-looking value;
* private key blocks: ``-----BEGIN ... PRIVATE KEY-----``.

Prints one ``file:line: kind`` line per finding (the secret itself is never printed) and exits 1
when anything was found, 0 when the files are clean, 2 when git cannot list the files. AWS's own
documentation examples (``...EXAMPLE`` keys) and lines carrying ``secret-scan: allow`` are not
findings. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ALLOW_MARKER = "secret-scan: allow"
DOCUMENTATION_EXAMPLES = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    (
        "AWS secret access key assignment",
        re.compile(
            r"aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?"
            r"(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
            re.IGNORECASE,
        ),
    ),
    ("private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")),
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


def tracked_files(repo: Path) -> list[str]:
    result = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"git ls-files failed in {repo}: {message}")
    return [name for name in result.stdout.decode("utf-8", "surrogateescape").split("\0") if name]


def scan_text(path: str, text: str) -> Iterator[Finding]:
    for number, line in enumerate(text.splitlines(), start=1):
        if ALLOW_MARKER in line:
            continue
        for kind, pattern in PATTERNS:
            for match in pattern.finditer(line):
                if any(example in match.group(0) for example in DOCUMENTATION_EXAMPLES):
                    continue
                yield Finding(path, number, kind)


def scan_repo(repo: Path) -> list[Finding]:
    findings: list[Finding] = []
    for name in tracked_files(repo):
        path = repo / name
        if not path.is_file() or path.is_symlink():
            continue  # deleted in the work tree, a submodule, or a link to elsewhere
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        findings.extend(scan_text(name, data.decode("utf-8", errors="replace")))
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="secret_scan", description="Find credentials in the files tracked by git."
    )
    parser.add_argument("--repo", default=".", help="git work tree to scan (default: .)")
    args = parser.parse_args(argv)
    try:
        findings = scan_repo(Path(args.repo))
    except (OSError, RuntimeError) as exc:
        print(f"secret_scan: error: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    if findings:
        print(f"secret_scan: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
