"""The `lakehouse` command (src/lakehouse/cli.py): its subcommands, the thin entry points kept in
scripts/ for existing pipelines, and the rule that nothing edits the import path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dbt_harness import FIXTURES, ROOT

from lakehouse.cli import COMMANDS

LAKEHOUSE = [sys.executable, "-m", "lakehouse"]
WRAPPERS = {  # the scripts pipelines call, and the subcommand each one is
    "land_csv.py": "land",
    "publish.py": "publish",
    "generate_transactions.py": "generate",
}
REQUIRED = {
    "land",
    "publish",
    "verify",
    "build",
    "report",
    "show",
    "contract",
    "acknowledge",
    "preflight",
    "quarantine",
}
BATCH = FIXTURES / "batches" / "batch_1.csv"


def run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )


def test_help_lists_every_subcommand() -> None:
    console = Path(sys.executable).parent / "lakehouse"
    assert console.exists(), "make install installs the lakehouse command"
    result = run([str(console), "--help"])
    assert result.returncode == 0, result.stderr
    # a command's name is indented 4; a long name's summary goes on the next line, indented more
    listed = {line.split()[0] for line in result.stdout.splitlines() if re.match(r" {4}\S", line)}
    assert REQUIRED | {"generate"} <= listed
    assert listed == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_subcommand_has_help(name: str) -> None:
    result = run([*LAKEHOUSE, name, "--help"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: lakehouse {name}")


@pytest.mark.parametrize("argv", [[], ["bogus"], ["--bogus"]], ids=["none", "unknown", "option"])
def test_a_wrong_command_is_a_usage_error_without_traceback(argv: list[str]) -> None:
    result = run([*LAKEHOUSE, *argv])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("lakehouse: error: ")


@pytest.mark.parametrize("script", sorted(WRAPPERS))
def test_wrappers_keep_their_names_and_options(script: str) -> None:
    old = run([sys.executable, str(ROOT / "scripts" / script), "--help"])
    new = run([*LAKEHOUSE, WRAPPERS[script], "--help"])
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    prog = old.stdout.split()[1]
    assert prog in {script, script.removesuffix(".py")}
    assert set(re.findall(r"--[a-z][a-z0-9-]*", old.stdout)) == set(
        re.findall(r"--[a-z][a-z0-9-]*", new.stdout)
    )


def landed(output: str) -> list[dict[str, object]]:
    records = [json.loads(line) for line in output.splitlines()]
    for record in records:  # what differs between two landings of the same file
        for key in ("run_id", "path"):
            record.pop(key)
    return records


def test_the_loader_wrapper_and_the_command_land_alike(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    results = []
    for name, command in {
        "wrapper": [sys.executable, str(ROOT / "scripts" / "land_csv.py")],
        "command": [*LAKEHOUSE, "land"],
    }.items():
        lake = tmp_path / name
        result = run([*command, "--lake-root", str(lake), str(BATCH), str(missing)])
        assert result.returncode == 1  # one file landed, one missing: as land_csv.py always did
        assert result.stderr == f"land_csv: error: {missing}: no such file\n"
        [landed_file] = (lake / "raw" / "transactions").rglob(BATCH.name)
        assert landed_file.read_bytes() == BATCH.read_bytes()
        results.append(landed(result.stdout))
    assert results[0] == results[1]


def test_the_generator_wrapper_and_the_command_write_the_same_file(tmp_path: Path) -> None:
    args = ["--rows", "50", "--seed", "3", "--start", "2024-01-01", "--months", "1"]
    old = run([sys.executable, str(ROOT / "scripts" / "generate_transactions.py"), *args,
               "--output", str(tmp_path / "old.csv")])  # fmt: skip
    new = run([*LAKEHOUSE, "generate", *args, "--output", str(tmp_path / "new.csv")])
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert (tmp_path / "old.csv").read_bytes() == (tmp_path / "new.csv").read_bytes()


def test_the_publish_wrapper_and_the_command_refuse_alike(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    args = ["--lake-root", str(tmp_path / "lake"), "--target-path", str(tmp_path / "none")]
    old = run([sys.executable, str(ROOT / "scripts" / "publish.py"), *args])
    new = run([*LAKEHOUSE, "publish", *args])
    assert old.returncode == new.returncode == 1
    assert old.stderr == new.stderr
    assert new.stderr.startswith(f"publish: refused: {tmp_path / 'none' / 'run_results.json'}: ")


def test_usage_errors_are_one_line_with_the_old_exit_code(tmp_path: Path) -> None:
    old = run([sys.executable, str(ROOT / "scripts" / "land_csv.py"), "--sse", "AES256", "x.csv"])
    new = run([*LAKEHOUSE, "land", "--sse", "AES256", "x.csv"])
    assert old.returncode == new.returncode == 2
    assert old.stderr.splitlines()[-1] == "land_csv: error: --sse: only with --s3-uri"
    assert new.stderr.splitlines()[-1] == "lakehouse land: error: --sse: only with --s3-uri"


def test_build_runs_dbt_build_of_the_project_with_the_extra_arguments(tmp_path: Path) -> None:
    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text('#!/bin/sh\necho "$@"\necho "LAKE_ROOT=$LAKE_ROOT"\n')
    fake_dbt.chmod(0o755)
    lake = tmp_path / "lake"
    lake.mkdir()
    result = run(
        [*LAKEHOUSE, "build", "--lake-root", str(lake), "--dbt", str(fake_dbt), "--select",
         "fct_transactions", "--", "--exclude-resource-type", "unit_test"],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    args, root = result.stdout.splitlines()
    assert args == (
        "build --profiles-dir profiles --project-dir . --select fct_transactions"
        " --exclude-resource-type unit_test"
    )
    assert root == f"LAKE_ROOT={lake}"


def test_build_refuses_in_one_line_while_another_build_runs(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    holder = subprocess.Popen(
        [*LAKEHOUSE, "lock", "--lake-root", str(lake), "--", "sleep", "30"], cwd=ROOT
    )
    try:
        lock_file = lake / ".warehouse.lock"
        deadline = time.monotonic() + 30
        while not (lock_file.exists() and lock_file.read_text()):
            assert time.monotonic() < deadline, "the lock was never taken"
            time.sleep(0.1)
        result = run([*LAKEHOUSE, "build", "--lake-root", str(lake), "--dbt", "true"])
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 75
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"warehouse_lock: error: warehouse {lake / 'warehouse.duckdb'} is in use"
    )


def test_the_preflight_runs_with_the_standard_library_alone(tmp_path: Path) -> None:
    """`make prod` runs it with the system Python before the virtualenv is installed."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(ROOT / "src" / "lakehouse" / "preflight.py")],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("make prod: refused, nothing was done.")


def test_no_tracked_python_file_edits_the_import_path() -> None:
    result = run([sys.executable, str(ROOT / "lint" / "check_no_sys_path.py")])
    assert result.returncode == 0, result.stderr
