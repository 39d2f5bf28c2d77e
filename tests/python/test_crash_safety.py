"""Crash safety: a loader or a build killed with SIGKILL, and two builds at once, leave nothing
half-done that a rerun does not repair."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dbt_harness import AUDIT_COLUMNS, FIXTURES, LOADER, ROOT, Lake
from test_end_to_end import assert_fixture_outputs

BATCHES = sorted((FIXTURES / "batches").glob("batch_*.csv"))
CORE_TABLES = (
    "main_intermediate.int_transactions__classified",
    "main_marts.fct_transactions",
    "main_marts.fct_quarantined_records",
    "main_marts.fct_month_end_balances",
)
HEADER = b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
LARGE_FILE_BYTES = 200 * 1024 * 1024
POLL_SECONDS = 0.002
TIMEOUT_SECONDS = 300


def snapshot(lake: Lake) -> dict[str, list[tuple]]:
    return {table: lake.table(table, AUDIT_COLUMNS) for table in CORE_TABLES}


@contextmanager
def started(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A child in its own process group; killed (the whole group) if the test leaves early."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=TIMEOUT_SECONDS)
        if process.stdout is not None:
            process.stdout.close()


def write_large_csv(path: Path, size: int) -> None:
    """Valid rows for the first ~100 KiB, then a sparse hole of NUL bytes up to ``size``: fast to
    create and to read, and accepted by the loader (it only refuses NUL in the first 64 KiB)."""
    row = b"T-%07d,ACC001,1.00,EUR,2024-01-05T09:00:00Z\n"
    with open(path, "wb") as out:
        out.write(HEADER)
        out.writelines(row % i for i in range(2500))
        out.truncate(size)


def staged_bytes(lake_root: Path) -> int:
    incoming = lake_root / "raw" / ".incoming"
    sizes = [p.stat().st_size for p in incoming.glob("*/*") if p.is_file()]
    return max(sizes, default=0)


def visible_runs(lake_root: Path) -> list[Path]:
    return sorted((lake_root / "raw" / "transactions").glob("ingest_date=*/run_id=*"))


@pytest.mark.slow
def test_loader_killed_mid_copy_leaves_nothing_visible_and_rerun_lands(tmp_path: Path) -> None:
    source = tmp_path / "large.csv"
    write_large_csv(source, LARGE_FILE_BYTES)
    lake = Lake(tmp_path / "lake")
    command = [sys.executable, str(LOADER), "--lake-root", str(lake.root), str(source)]

    with started(command, lake.env()) as loader:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while staged_bytes(lake.root) == 0 and loader.poll() is None:
            assert time.monotonic() < deadline, "the loader never started copying"
            time.sleep(POLL_SECONDS)
        os.killpg(loader.pid, signal.SIGKILL)
        assert loader.wait(timeout=TIMEOUT_SECONDS) == -signal.SIGKILL, "finished before the kill"

    partial = staged_bytes(lake.root)
    assert 0 < partial < LARGE_FILE_BYTES  # killed mid-copy: a partial file is staged ...
    assert visible_runs(lake.root) == []  # ... and nothing of it is visible to readers
    assert not list((lake.root / "raw" / "transactions").rglob("*.csv"))

    [again] = lake.land(source)
    assert again["status"] == "landed"
    assert staged_bytes(lake.root) == 0  # the dead loader's staging copy was removed
    assert list((lake.root / "raw" / ".incoming").iterdir()) == []
    [run] = visible_runs(lake.root)
    landed = run / "large.csv"
    assert landed.stat().st_size == LARGE_FILE_BYTES
    assert Path(again["path"]) == landed


def read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    """Lines of the child's output up to and including the first containing ``marker``."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never appeared:\n{''.join(lines)[-4000:]}")


@pytest.mark.slow
def test_build_killed_between_models_is_repaired_by_the_next_build(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.land(BATCHES[0])
    lake.build()
    landed_later = {entry["run_id"] for entry in lake.land(*BATCHES[1:])}

    with started(lake.dbt_command("build"), lake.env()) as build:
        read_until(build, "OK created sql incremental model main_intermediate.int_transactions__")
        os.killpg(build.pid, signal.SIGKILL)
        assert build.wait(timeout=TIMEOUT_SECONDS) == -signal.SIGKILL

    # The kill came after the classification of the new runs was committed, before the build
    # ended: the marts may or may not hold them yet.
    classified_runs = lake.query(
        "select distinct run_id from main_intermediate.int_transactions__classified"
    )
    assert landed_later <= {row[0] for row in classified_runs}

    lake.build()
    assert_fixture_outputs(lake)
    repaired = snapshot(lake)

    lake.build("--full-refresh")  # an uninterrupted build of the same lake
    assert snapshot(lake) == repaired


@pytest.mark.slow
def test_two_builds_at_once_one_waits_or_fails_clearly(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.land(*BATCHES)
    lake.root.mkdir(parents=True, exist_ok=True)

    with (
        started(lake.dbt_command("build"), lake.env()) as first,
        started(lake.dbt_command("build"), lake.env()) as second,
    ):
        outputs = []
        for build in (first, second):
            output, _ = build.communicate(timeout=TIMEOUT_SECONDS)
            outputs.append((build.returncode, output))

    assert any(code == 0 for code, _ in outputs), outputs
    for code, output in outputs:
        if code != 0:  # the loser is told why in one line (lakehouse.warehouse_guard)
            refused = "warehouse.duckdb is in use: the DuckDB file is open in pid "
            assert refused in output, output[-4000:]
            assert "Traceback" not in output

    lake.build()  # the warehouse still opens and builds
    assert_fixture_outputs(lake)
    after = snapshot(lake)
    lake.build("--full-refresh")
    assert snapshot(lake) == after
