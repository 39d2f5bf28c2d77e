"""`make parity` (tests/python/parity.py): the comparison on crafted rows (what is ignored, what a
disagreement reports, the exit codes), the usage errors, and one parity run on a fixture batch."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_harness import FIXTURES, ROOT
from parity import Side, TableDiff, compare, report

PARITY = ROOT / "tests" / "python" / "parity.py"
NAMES = ["transaction_id", "amount", "run_id", "landed_at"]
DUCKDB_RUNS = {"r-local-1": "batch_1.csv", "r-local-2": "batch_2.csv"}
ATHENA_RUNS = {"r-s3-1": "batch_1.csv", "r-s3-2": "batch_2.csv"}


def rows(run_prefix: str, amounts: dict[str, str]) -> list[tuple[object, ...]]:
    """One row per transaction (odd ids in run 2); run ids and landing times differ with the
    side, as they do."""
    landed = datetime(2024, 1, 1) if run_prefix == "r-local" else datetime(2025, 6, 30)
    return [
        (tid, Decimal(amount), f"{run_prefix}-{1 + int(tid[1:]) % 2}", landed)
        for tid, amount in amounts.items()
    ]


def sides(local: dict[str, str], athena: dict[str, str]) -> tuple[Side, Side]:
    return (
        Side("duckdb", NAMES, rows("r-local", local), DUCKDB_RUNS),
        Side("athena", NAMES, rows("r-s3", athena), ATHENA_RUNS),
    )


def test_same_rows_agree_whatever_the_run_ids_landing_times_and_decimal_scales() -> None:
    amounts = {f"T{i}": f"{i}.50" for i in range(1, 8)}
    left, right = sides(amounts, {tid: amount.rstrip("0") for tid, amount in amounts.items()})
    diff = compare("fct_transactions", ("transaction_id",), left, right)
    assert diff.agrees
    assert diff.summary() == "fct_transactions: agree (7 rows)"
    assert report([diff]) == ("fct_transactions: agree (7 rows)\n", 0)


def test_a_disagreement_names_the_counts_and_the_first_differing_keys() -> None:
    local = {f"T{i}": f"{i}.00" for i in range(1, 10)}
    athena = {tid: amount for tid, amount in local.items() if tid not in ("T2", "T3")}
    athena |= {"T5": "5.01", "T6": "6.01", "T7": "7.01", "T99": "1.00"}
    left, right = sides(local, athena)
    diff = compare("fct_transactions", ("transaction_id",), left, right)
    assert not diff.agrees and diff.differing == 6 and diff.counts == (9, 8)
    assert diff.summary() == (
        "fct_transactions: duckdb 9 rows, athena 8 rows; 6 keys differ (first 5):"
        " transaction_id=T2 (only on duckdb); transaction_id=T3 (only on duckdb);"
        " transaction_id=T5 (amount differ); transaction_id=T6 (amount differ);"
        " transaction_id=T7 (amount differ)"
    )
    same = compare("fct_run_metrics", ("run_id",), *sides({"T1": "1"}, {"T1": "1"}))
    text, code = report([diff, same])
    assert code == 1
    assert text.splitlines()[1:] == [
        "fct_run_metrics: agree (1 row)",
        "parity: 1 of 2 tables differ",
    ]


def test_a_column_on_one_side_only_is_a_disagreement() -> None:
    left, right = sides({"T1": "1"}, {"T1": "1"})
    right = Side("athena", [*NAMES, "extra"], [(*right.rows[0], "x")], ATHENA_RUNS)
    diff = compare("fct_transactions", ("transaction_id",), left, right)
    assert not diff.agrees and diff.differing == 0
    assert "columns only on athena: extra" in diff.summary()
    assert report([diff])[1] == 1


def test_duplicate_keys_are_compared_as_row_counts() -> None:
    names = ["run_id", "line_number", "line_text"]
    left = Side("duckdb", names, [("a", 2, "x"), ("a", 2, "x")], {"a": "f.csv"})
    right = Side("athena", names, [("b", 2, "x")], {"b": "f.csv"})
    diff = compare("transaction_lines", ("run_id", "line_number"), left, right)
    assert diff.keys == ["run_id=f.csv, line_number=2 (2 vs 1 rows)"]
    assert isinstance(diff, TableDiff)


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "no files"), (["no-such-file.csv"], "no such file: no-such-file.csv")],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, str(PARITY), *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr


@pytest.mark.xdist_group("trino")
def test_parity_of_one_batch(tmp_path: Path) -> None:
    """One batch file landed and built on both targets: every table agrees (exit 0)."""
    result = subprocess.run(
        [sys.executable, str(PARITY), str(FIXTURES / "batches" / "batch_1.csv")],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    tables = ["fct_transactions", "fct_quarantined_records", "fct_month_end_balances"]
    tables += ["fct_run_metrics", "transaction_lines"]
    assert [line.split(":")[0] for line in lines] == tables
    assert all(": agree (" in line for line in lines)
