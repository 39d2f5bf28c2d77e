"""`make help` lists every target (from the `## ` comments of the Makefile), and the step-by-step
targets a newcomer uses (land, build, report, pre-commit) exist and say what they need."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from dbt_harness import ROOT

MAKEFILE = ROOT / "Makefile"


def phony_targets() -> set[str]:
    text = MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith(".PHONY:")]
    return set(line.removeprefix(".PHONY:").split())


def make(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


def test_make_help_lists_every_phony_target_with_one_line() -> None:
    result = make("help")
    assert result.returncode == 0, result.stderr
    listed = {}
    for line in result.stdout.splitlines()[1:]:
        match = re.fullmatch(r"  ([a-z-]+) +(\S.*)", line)
        assert match, f"not a 'target  description' line: {line!r}"
        listed[match.group(1)] = match.group(2)
    assert phony_targets() <= set(listed), phony_targets() - set(listed)
    assert {"land", "build", "report", "pre-commit", "demo", "docs", "test"} <= set(listed)


def test_make_is_help_by_default() -> None:
    assert make().stdout == make("help").stdout


def test_make_land_without_files_says_how_in_one_line(tmp_path: Path) -> None:
    result = make("land", f"LAKE_ROOT={tmp_path / 'lake'}", "FILES=")
    assert result.returncode != 0
    assert result.stdout.strip().splitlines()[-1] == 'land: no files: make land FILES="a.csv b.csv"'
    assert not (tmp_path / "lake").exists()


def test_make_land_build_report_dry_run_use_the_lakehouse_command(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    commands = {
        "land": make("-n", "land", f"LAKE_ROOT={lake}", "FILES=a.csv b.csv").stdout,
        "build": make("-n", "build", f"LAKE_ROOT={lake}").stdout,
        "report": make("-n", "report", f"LAKE_ROOT={lake}").stdout,
    }
    assert f"lakehouse land --lake-root {lake} a.csv b.csv" in commands["land"]
    assert f"lakehouse lock --lake-root {lake} --wait 0 --" in commands["build"]
    assert "lakehouse build --exclude-resource-type unit_test" in commands["build"]
    assert "lakehouse publish --target-path target" in commands["build"]
    assert f"lakehouse report --lake-root {lake} --no-docs --site site" in commands["report"]


def test_ci_runs_the_pre_commit_hooks() -> None:
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert "run: make pre-commit" in ci
    assert "pre-commit run --all-files" in MAKEFILE.read_text(encoding="utf-8")
