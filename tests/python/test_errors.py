"""Errors say what to do, in one line, with a non-zero exit and no traceback: bare dbt in the
project finds its profile, a lake root that does not exist, and reading results while a build
has the warehouse open (the published copy, lakehouse.published_copy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_harness import DBT, FIXTURES, ROOT, Lake
from test_concurrency import locked
from test_publish import run_publish

LAKEHOUSE = [sys.executable, "-m", "lakehouse"]


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or dict(os.environ),
        timeout=300,
        check=False,
    )


def test_bare_dbt_in_the_project_finds_the_project_profile(tmp_path: Path) -> None:
    """No --profiles-dir, no DBT_PROFILES_DIR and no ~/.dbt: dbt reads ./profiles.yml (a link to
    profiles/profiles.yml)."""
    assert (ROOT / "profiles.yml").resolve() == (ROOT / "profiles" / "profiles.yml").resolve()
    env = {k: v for k, v in os.environ.items() if k != "DBT_PROFILES_DIR"}
    env |= {"HOME": str(tmp_path), "LAKE_ROOT": str(tmp_path / "lake")}
    result = run(
        [str(DBT), "parse", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


MISSING_LAKE_COMMANDS = {
    "build": ["build", "--dbt", "true"],
    "show": ["show"],
    "report": ["report", "--no-docs"],
    "publish": ["publish"],
    "verify": ["verify"],
}


@pytest.mark.parametrize("command", sorted(MISSING_LAKE_COMMANDS))
@pytest.mark.parametrize("given", ["option", "env"])
def test_a_lake_root_that_does_not_exist_is_one_line_exit_2(
    command: str, given: str, tmp_path: Path
) -> None:
    lake = tmp_path / "no-such-lake"
    args = [*LAKEHOUSE, *MISSING_LAKE_COMMANDS[command]]
    env = dict(os.environ)
    if given == "option":
        args += ["--lake-root", str(lake)]
    else:
        env["LAKE_ROOT"] = str(lake)
    result = run(args, env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.endswith(
        f"LAKE_ROOT={lake} does not exist: land a file first"
        f" (lakehouse land --lake-root {lake} FILE.csv) or set LAKE_ROOT"
    )
    assert not lake.exists()


def test_show_and_report_read_the_published_copy_while_a_build_runs(
    lake: Lake, tmp_path: Path
) -> None:
    lake.land(FIXTURES / "batches" / "batch_1.csv")
    lake.build()
    assert run_publish(lake).returncode == 0
    assert (lake.root / "published.duckdb").is_file()
    shown = run([*LAKEHOUSE, "show", "--lake-root", str(lake.root)], lake.env())
    assert shown.returncode == 0, shown.stderr

    # A running build: the warehouse lock held, and the DuckDB file open for writing.
    build = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True);"
        " sys.stdin.read()"
    )
    holder = subprocess.Popen(
        locked(lake, sys.executable, "-c", build, str(lake.root / "warehouse.duckdb")),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=lake.env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        during = run([*LAKEHOUSE, "show", "--lake-root", str(lake.root)], lake.env())
        site = tmp_path / "site"
        report = run(
            [*LAKEHOUSE, "report", "--lake-root", str(lake.root), "--no-docs", "--site", str(site)],
            lake.env(),
        )
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
        assert holder.stdout is not None
        holder.stdout.close()
    assert during.returncode == 0, during.stderr
    assert during.stdout.split("\nWarehouse:")[0] == shown.stdout.split("\nWarehouse:")[0]
    [note] = during.stderr.splitlines()
    assert note.endswith(f"reading the last published copy {lake.root / 'published.duckdb'}")
    assert report.returncode == 0, report.stderr
    assert (site / "report.html").is_file()
