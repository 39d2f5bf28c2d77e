"""`lakehouse verify` on DuckDB: the chain of `_SUCCESS` markers that `lakehouse publish` writes,
the raw files they vouch for and the published marts, each tampered with in turn."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
from dbt_harness import Lake
from test_publish import BATCHES, run_publish

from lakehouse import lock


def verify(lake: Lake, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lakehouse", "verify", "--lake-root", str(lake.root)]
    command += ["--target-path", str(lake.root / "target"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=lake.env(), check=False)


def markers(lake: Lake) -> list[Path]:
    """The `_SUCCESS` markers in run_id order."""
    found = (lake.root / "processed" / "transactions").glob("ingest_date=*/run_id=*/_SUCCESS")
    return sorted(found, key=lambda path: path.parent.name)


def raw_file(lake: Lake, run_id: str) -> Path:
    [path] = (lake.root / "raw" / "transactions").glob(f"ingest_date=*/run_id={run_id}/*.csv")
    return path


def assert_broken_at(result: subprocess.CompletedProcess[str], run_id: str, *words: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = result.stdout.splitlines()
    assert f"chain broken at run {run_id} " in line, line
    for word in words:
        assert word in line, line
    assert "Traceback" not in result.stderr


def assert_ok(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = result.stdout.splitlines()
    for word in words:
        assert word in line, line
    return line


def published_update(lake: Lake, sql: str) -> None:
    with duckdb.connect(str(lake.root / "warehouse.duckdb")) as con:
        con.execute(sql)


def test_verify_finds_each_tampering_and_survives_a_full_refresh(lake: Lake) -> None:
    lake.land(*BATCHES[:2])
    lake.build()
    assert run_publish(lake).returncode == 0
    first, second = markers(lake)
    records = [json.loads(path.read_bytes()) for path in (first, second)]
    run_1, run_2 = (record["run_id"] for record in records)

    # What the markers record: the chain, the raw files as landed, the marts' rows per run.
    assert records[0]["previous_run_id"] is None
    assert records[0]["previous_marker_sha256"] is None
    assert records[1]["previous_run_id"] == run_1
    assert records[1]["previous_marker_sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    for record in records:
        landed = raw_file(lake, record["run_id"]).read_bytes()
        assert record["raw_sha256"] == hashlib.sha256(landed).hexdigest()
        checksums = record["mart_checksums"]
        assert set(checksums) == {
            "fct_transactions",
            "fct_quarantined_records",
            "fct_month_end_balance_history",
        }
        assert checksums["fct_transactions"]["rows"] == record["valid_rows"]
        assert checksums["fct_quarantined_records"]["rows"] == record["quarantined_rows"]
        assert all(len(entry["checksum"]) > 8 for entry in checksums.values())
    # the same rows give different checksums in different runs
    assert len({r["mart_checksums"]["fct_transactions"]["checksum"] for r in records}) == 2

    last_sha = hashlib.sha256(second.read_bytes()).hexdigest()
    assert_ok(verify(lake), "ok: 2 chained markers", last_sha, "0 landed runs not published")

    # A byte of a raw file changed.
    data = raw_file(lake, run_2)
    landed = data.read_bytes()
    data.write_bytes(landed.replace(b"1", b"2", 1))
    assert_broken_at(verify(lake), run_2, "raw file", data.name)
    data.write_bytes(landed)

    # A marker's JSON edited: the next marker recorded its bytes.
    body = first.read_bytes()
    edited = json.loads(body)
    edited["input_rows"] += 1
    first.write_text(json.dumps(edited, sort_keys=True) + "\n")
    assert_broken_at(verify(lake), run_1, "a marker was changed")
    first.write_bytes(body)

    # A marker removed: the chain has a gap.
    first.unlink()
    assert_broken_at(verify(lake), run_2, f"names the previous run {run_1}", "removed")
    first.parent.mkdir(exist_ok=True)
    first.write_bytes(body)

    # One row of a published mart updated, then one of the other mart.
    transactions = "main_published.fct_transactions"
    published_update(lake, f"update {transactions} set amount = amount + 1 where run_id = '{run_2}'"
                     " and line_number = (select min(line_number) from"
                     f" {transactions} where run_id = '{run_2}')")  # fmt: skip
    assert_broken_at(verify(lake), run_2, "fct_transactions:")
    published_update(lake, f"update {transactions} set amount = amount - 1 where run_id = '{run_2}'"
                     " and line_number = (select min(line_number) from"
                     f" {transactions} where run_id = '{run_2}')")  # fmt: skip
    quarantine = "main_published.fct_quarantined_records"
    published_update(
        lake,
        f"delete from {quarantine} where run_id = '{run_1}' and line_number ="
        f" (select max(line_number) from {quarantine} where run_id = '{run_1}')",
    )
    assert_broken_at(verify(lake), run_1, "fct_quarantined_records:", "published rows give")
    assert run_publish(lake).returncode == 0  # the audited marts published again
    assert_ok(verify(lake), "ok: 2 chained markers", last_sha)

    # A full refresh rebuilds every row (new build timestamps): the chain still verifies, and
    # the next run chains after it. A run landed but not built has no marker: counted only.
    lake.build("--full-refresh")
    assert run_publish(lake).returncode == 0
    lake.land(BATCHES[2])
    assert_ok(verify(lake), "ok: 2 chained markers", "1 landed run not published yet")
    lake.build()
    assert run_publish(lake).returncode == 0
    third = json.loads(markers(lake)[-1].read_bytes())
    assert third["previous_run_id"] == run_2
    assert third["previous_marker_sha256"] == last_sha
    assert_ok(verify(lake), "ok: 3 chained markers", "0 landed runs not published")


def test_pre_chain_markers_are_counted_not_checked(lake: Lake) -> None:
    """A marker written before the chain existed (the run's metrics only) is counted; the first
    chained marker after it starts the chain."""
    lake.land(BATCHES[0])
    lake.build()
    assert run_publish(lake).returncode == 0
    [old] = markers(lake)
    record = json.loads(old.read_bytes())
    for field in ("raw_sha256", "previous_run_id", "previous_marker_sha256", "mart_checksums"):
        del record[field]
    old.write_text(json.dumps(record, sort_keys=True) + "\n")
    assert_ok(verify(lake), "no chained marker yet", "1 pre-chain marker not checked")

    lake.land(BATCHES[1])
    lake.build()
    assert run_publish(lake).returncode == 0
    new = json.loads(markers(lake)[-1].read_bytes())
    assert new["previous_run_id"] is None and new["previous_marker_sha256"] is None
    assert_ok(verify(lake), "ok: 1 chained marker", "1 pre-chain marker not checked")

    # While a build holds the warehouse, verify refuses in one line (it waits with --wait).
    held = lock.acquire(lake.root, 0)
    try:
        busy = verify(lake)
    finally:
        os.close(held)
    assert busy.returncode == lock.EXIT_BUSY, busy.stdout + busy.stderr
    [line] = busy.stderr.splitlines()
    assert "another build is running" in line and busy.stdout == ""


def test_verify_refuses_what_it_cannot_check_in_one_line(lake: Lake, tmp_path: Path) -> None:
    missing = verify(Lake(tmp_path / "no-such-lake"))
    assert missing.returncode == 2
    [line] = missing.stderr.splitlines()
    assert "does not exist" in line and missing.stdout == ""

    helped = subprocess.run(
        [sys.executable, "-m", "lakehouse", "verify", "--help"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert helped.returncode == 0
    assert "PUBLISHED" in helped.stdout and "source `published`" in helped.stdout
