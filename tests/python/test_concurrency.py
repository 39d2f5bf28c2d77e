"""Concurrency: a second build or loader started while one runs waits or refuses clearly, and
never corrupts the warehouse or the raw layer."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dbt_harness import FIXTURES, LANDING_COLUMNS, LOADER, ROOT, Lake
from test_end_to_end import assert_fixture_outputs

LOCK = [sys.executable, "-m", "lakehouse", "lock"]
BATCHES = sorted((FIXTURES / "batches").glob("batch_*.csv"))
EXIT_BUSY = 75
TIMEOUT = 300
HEADER = b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"


def locked(lake: Lake, *command: str, wait: float = 0) -> list[str]:
    return [
        *LOCK,
        "--lake-root",
        str(lake.root),
        "--wait",
        str(wait),
        "--",
        *command,
    ]


def run(command: list[str], lake: Lake) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, env=lake.env(), cwd=ROOT, timeout=TIMEOUT
    )


@contextmanager
def holding_the_lock(lake: Lake) -> Iterator[subprocess.Popen[str]]:
    """A wrapped command that holds the warehouse lock until the block ends."""
    hold = "import sys; print('held', flush=True); sys.stdin.read()"
    holder = subprocess.Popen(
        locked(lake, sys.executable, "-c", hold),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=lake.env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder
    finally:
        if holder.stdin is not None:
            holder.stdin.close()  # the holder exits: the lock is released
        holder.wait(timeout=TIMEOUT)
        if holder.stdout is not None:
            holder.stdout.close()


def test_second_build_is_refused_with_one_clear_line(lake: Lake, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with holding_the_lock(lake) as holder:
        result = run(locked(lake, "touch", str(marker)), lake)
    assert result.returncode == EXIT_BUSY
    assert not marker.exists()  # the command never started
    [line] = result.stderr.splitlines()
    assert line.startswith("warehouse_lock: error: warehouse ")
    assert str(lake.root / "warehouse.duckdb") in line
    assert f"another build is running (pid {holder.pid} since " in line
    assert "Traceback" not in result.stderr


def test_second_build_with_wait_runs_once_the_first_ends(lake: Lake, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with holding_the_lock(lake):
        waiting = subprocess.Popen(
            locked(lake, "touch", str(marker), wait=60),
            stderr=subprocess.PIPE,
            text=True,
            env=lake.env(),
        )
        time.sleep(1.0)
        assert waiting.poll() is None  # waiting, not refused
        assert not marker.exists()
    _, err = waiting.communicate(timeout=TIMEOUT)
    assert waiting.returncode == 0, err
    assert marker.exists()
    assert "waiting up to 60s for warehouse" in err


def test_wait_expires_then_refuses(lake: Lake) -> None:
    with holding_the_lock(lake):
        started = time.monotonic()
        result = run(locked(lake, "true", wait=1), lake)
        waited = time.monotonic() - started
    assert result.returncode == EXIT_BUSY
    assert waited >= 1
    assert "waiting up to 1s" in result.stderr
    assert "warehouse_lock: error: warehouse " in result.stderr.splitlines()[-1]


def test_warehouse_open_elsewhere_is_refused_clearly(lake: Lake) -> None:
    lake.root.mkdir(parents=True)
    with duckdb.connect(str(lake.root / "warehouse.duckdb")):  # e.g. a notebook, a bare dbt
        result = run(locked(lake, "true"), lake)
    assert result.returncode == EXIT_BUSY
    [line] = result.stderr.splitlines()
    assert "the DuckDB file is open in pid " in line
    assert str(lake.root / "warehouse.duckdb") in line


def test_command_exit_status_is_passed_through(lake: Lake) -> None:
    assert run(locked(lake, "false"), lake).returncode == 1
    assert run(locked(lake, "true"), lake).returncode == 0


def test_two_dbt_builds_at_once_one_runs_the_other_refuses(lake: Lake) -> None:
    lake.land(*BATCHES)
    build = lake.dbt_command("build")
    starts = [
        subprocess.Popen(
            locked(lake, *build),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=lake.env(),
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    results = []
    for started in starts:
        out, err = started.communicate(timeout=TIMEOUT)
        results.append((started.returncode, out, err))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, EXIT_BUSY], results
    [(_, _, refused)] = [r for r in results if r[0] == EXIT_BUSY]
    assert "another build is running" in refused and "warehouse.duckdb" in refused

    assert_fixture_outputs(lake)  # the winner's result is complete and exact
    single = Lake(lake.root.parent / "single")
    single.land(*BATCHES)
    single.build()
    for table in ("main_marts.fct_transactions", "main_marts.fct_month_end_balances"):
        ignore = LANDING_COLUMNS
        assert lake.table(table, ignore) == single.table(table, ignore)


def test_two_loaders_at_once_land_each_content_once(tmp_path: Path) -> None:
    """Several loaders started together on overlapping files: every content lands exactly once,
    run_ids are unique, nothing is left in the staging area (the lake lock serialises commits)."""
    root = tmp_path / "lake"
    own = []
    for number in range(3):
        path = tmp_path / f"own_{number}.csv"
        path.write_bytes(HEADER + b"O-%d,ACC1,1.00,EUR,2024-01-05T09:00:00Z\n" % number)
        own.append(path)
    loaders = [
        subprocess.Popen(
            [sys.executable, str(LOADER), "--lake-root", str(root), *map(str, BATCHES), str(mine)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mine in own
    ]
    records = []
    for loader in loaders:
        out, err = loader.communicate(timeout=TIMEOUT)
        assert loader.returncode == 0, err
        records += [json.loads(line) for line in out.splitlines()]
    landed = [r for r in records if r["status"] == "landed"]
    assert sorted(Path(r["source"]).name for r in landed) == sorted(
        p.name for p in [*BATCHES, *own]
    )
    assert sum(r["status"] == "skipped" for r in records) == 2 * len(BATCHES)
    run_dirs = sorted(root.glob("raw/transactions/ingest_date=*/run_id=*"))
    assert len(run_dirs) == len(BATCHES) + len(own)
    assert len({r["run_id"] for r in landed}) == len(landed)
    assert list((root / "raw" / ".incoming").iterdir()) == []


@pytest.mark.parametrize("argv", [[], ["--"], ["--wait", "-1", "--", "true"]])
def test_usage_errors_exit_2(lake: Lake, argv: list[str]) -> None:
    result = run([*LOCK, "--lake-root", str(lake.root), *argv], lake)
    assert result.returncode == 2
