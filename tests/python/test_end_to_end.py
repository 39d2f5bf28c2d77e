"""End to end: land fixture files with the real loader, run `dbt build`, check the tables."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import duckdb
import pytest
from dbt_harness import AUDIT_COLUMNS, FIXTURES, LANDING_COLUMNS, ROOT, Lake

GENERATOR = ROOT / "scripts" / "generate_transactions.py"

BATCHES = sorted((FIXTURES / "batches").glob("batch_*.csv"))
CORE_TABLES = (
    "main_marts.fct_transactions",
    "main_marts.fct_quarantined_records",
    "main_marts.fct_month_end_balances",
    "main_intermediate.int_transactions__classified",
)


def test_every_dbt_unit_test_passes(lake: Lake) -> None:
    """The dbt unit tests, once: the other builds skip them, as production builds do. They need
    the tested models' parents to exist, which an empty build creates."""
    lake.build("--empty")
    lake.dbt("test", "--select", "test_type:unit")
    results = json.loads((lake.root / "target" / "run_results.json").read_text())["results"]
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) >= 13  # besides them, only the on-run-start hook ran
    assert {r["unique_id"].split(".")[0] for r in results} == {"unit_test", "operation"}
    assert {r["status"] for r in unit_tests} == {"pass"}


def run_ids(lake: Lake) -> dict[str, str]:
    rows = lake.query("select file_name, run_id from main_raw.transaction_manifests")
    return {file_name: run_id for file_name, run_id in rows}


def test_case_example_month_end_balances(lake: Lake) -> None:
    lake.land(FIXTURES / "case_q1_2024.csv")
    lake.build("--vars", "{balance_start_month: '2024-01', balance_end_month: '2024-03'}")

    balances = lake.query(
        "select account_id, month, balance, closing_balance, tx_count"
        " from main_marts.fct_month_end_balances order by all"
    )
    assert balances == [
        ("ACC001", "2024-01", D("326.00"), D("326.00"), 2),
        ("ACC001", "2024-02", None, D("326.00"), 0),
        ("ACC001", "2024-03", None, D("326.00"), 0),
        ("ACC002", "2024-01", None, None, 0),
        ("ACC002", "2024-02", D("-25.50"), D("-25.50"), 1),
        ("ACC002", "2024-03", D("-125.50"), D("-125.50"), 1),
    ]

    # The Task 3 analysis gives the case's output shape and numbers.
    lake.dbt("compile", "--select", "task3_month_end_balances")
    compiled = next((lake.root / "target").rglob("task3_month_end_balances.sql")).read_text()
    assert lake.query(compiled) == [
        ("ACC001", "2024-01", D("326.00")),
        ("ACC001", "2024-02", D("326.00")),
        ("ACC001", "2024-03", D("326.00")),
        ("ACC002", "2024-01", None),
        ("ACC002", "2024-02", D("-25.50")),
        ("ACC002", "2024-03", D("-125.50")),
    ]


EXPECTED_TRANSACTIONS = [
    ("T-1001", "ACC001", D("100.00"), "EUR", "2024-01-03 10:00:00", "batch_1.csv", 2),
    ("T-1002", "ACC001", D("-30.00"), "EUR", "2024-01-15 08:00:00", "batch_1.csv", 3),
    ("T-1003", "ACC002", D("250.00"), "USD", "2024-01-20 11:00:00", "batch_1.csv", 4),
    ("T-1005", "ACC003", D("12.50"), "GBP", "2024-02-01 00:00:00", "batch_1.csv", 6),
    ("T-2001", "ACC001", D("40.00"), "EUR", "2024-03-05 09:00:00", "batch_2.csv", 2),
    ("T-2002", "ACC001", D("5.00"), "EUR", "2024-02-01 00:30:00", "batch_2.csv", 3),
    ("T-2005", "ACC004", D("75.00"), "EUR", "2023-12-31 23:00:00", "batch_2.csv", 8),
    ("T-3001", "ACC002", D("-50.00"), "USD", "2024-03-31 23:59:59", "batch_3.csv", 2),
    ("T-3002", "ACC001", D("-15.00"), "EUR", "2024-02-10 04:30:00", "batch_3.csv", 3),
]

EXPECTED_QUARANTINE = [
    ("batch_1.csv", 5, "T-1004", "NULL_VALUE_ERROR"),
    ("batch_1.csv", 7, "T-1006", "TYPE_ERROR"),
    ("batch_1.csv", 9, "T-1002", "DUPLICATE_CONFLICT"),
    ("batch_2.csv", 4, "T-2003", "CURRENCY_ERROR"),
    ("batch_2.csv", 6, "T-1005", "DUPLICATE_CONFLICT"),
    ("batch_2.csv", 7, "T-2004", "TIMESTAMP_ERROR"),
]

EXPECTED_BALANCES = [
    ("ACC001", "EUR", "2023-12", None, None, 0),
    ("ACC001", "EUR", "2024-01", D("70.00"), D("70.00"), 2),
    ("ACC001", "EUR", "2024-02", D("60.00"), D("60.00"), 2),
    ("ACC001", "EUR", "2024-03", D("100.00"), D("100.00"), 1),
    ("ACC002", "USD", "2023-12", None, None, 0),
    ("ACC002", "USD", "2024-01", D("250.00"), D("250.00"), 1),
    ("ACC002", "USD", "2024-02", None, D("250.00"), 0),
    ("ACC002", "USD", "2024-03", D("200.00"), D("200.00"), 1),
    ("ACC003", "GBP", "2023-12", None, None, 0),
    ("ACC003", "GBP", "2024-01", None, None, 0),
    ("ACC003", "GBP", "2024-02", D("12.50"), D("12.50"), 1),
    ("ACC003", "GBP", "2024-03", None, D("12.50"), 0),
    ("ACC004", "EUR", "2023-12", D("75.00"), D("75.00"), 1),
    ("ACC004", "EUR", "2024-01", None, D("75.00"), 0),
    ("ACC004", "EUR", "2024-02", None, D("75.00"), 0),
    ("ACC004", "EUR", "2024-03", None, D("75.00"), 0),
]


def assert_fixture_outputs(lake: Lake) -> None:
    runs = run_ids(lake)
    transactions = lake.query(
        "select transaction_id, account_id, amount, currency,"
        " strftime(transaction_ts, '%Y-%m-%d %H:%M:%S'), source_file, line_number"
        " from main_marts.fct_transactions order by transaction_id"
    )
    assert transactions == EXPECTED_TRANSACTIONS
    assert lake.query(
        "select count(*) from main_marts.fct_transactions t"
        " join main_raw.transaction_manifests m using (run_id)"
        " where t.source_file <> m.file_name or t.landed_at <> m.landed_at"
    ) == [(0,)]

    quarantine = lake.query(
        "select source_file, line_number, transaction_id_raw, validation_error, run_id"
        " from main_marts.fct_quarantined_records order by source_file, line_number"
    )
    assert [row[:4] for row in quarantine] == EXPECTED_QUARANTINE
    assert all(row[4] == runs[row[0]] for row in quarantine)

    duplicates = lake.query(
        "select source_file, line_number from main_intermediate.int_transactions__classified"
        " where record_status = 'duplicate' order by all"
    )
    assert duplicates == [("batch_1.csv", 8), ("batch_2.csv", 5), ("batch_3.csv", 4)]

    balances = lake.query(
        "select account_id, currency, month, balance, closing_balance, tx_count"
        " from main_marts.fct_month_end_balances order by all"
    )
    assert balances == EXPECTED_BALANCES


def test_fixture_batches_row_by_row(lake: Lake) -> None:
    lake.land(*BATCHES)
    lake.build()
    assert_fixture_outputs(lake)


# A run_id inside a text (validation_detail names the run of the version a conflict follows):
# two lakes landing the same files give their runs other ids.
RUN_ID = re.compile(r"\d{8}T\d{12}Z_[0-9a-f]{8}")


def without_run_ids(rows: list[tuple]) -> list[tuple]:
    return [
        tuple(RUN_ID.sub("<run_id>", value) if isinstance(value, str) else value for value in row)
        for row in rows
    ]


def test_batches_one_by_one_equal_one_full_refresh(tmp_path: Path) -> None:
    incremental = Lake(tmp_path / "incremental")
    for batch in BATCHES:
        incremental.land(batch)
        incremental.build()
    assert_fixture_outputs(incremental)

    full = Lake(tmp_path / "full")
    full.land(*BATCHES)
    full.build("--full-refresh")
    ignore = (*AUDIT_COLUMNS, *LANDING_COLUMNS)
    for table in CORE_TABLES:
        assert without_run_ids(incremental.table(table, ignore)) == without_run_ids(
            full.table(table, ignore)
        ), table

    # The balances are incremental too: a narrower window (vars) deletes the months that left
    # it, and going back to the default window gives what the full build gave.
    months = "select distinct month from main_marts.fct_month_end_balances order by month"
    default_months = incremental.query(months)
    assert len(default_months) > 2
    incremental.build("--vars", "{balance_start_month: '2024-02', balance_end_month: '2024-02'}")
    assert incremental.query(months) == [("2024-02",)]
    incremental.build()
    balances = "main_marts.fct_month_end_balances"
    assert incremental.table(balances, ignore) == full.table(balances, ignore)


def table_checksums(lake: Lake) -> dict[str, tuple[int, str]]:
    """Row count and sha256 of every table the build materialises (marts and intermediate),
    rows in a total order, build-time audit columns left out."""
    tables = lake.query(
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_type = 'BASE TABLE'"
        " and table_schema in ('main_marts', 'main_intermediate') order by 1"
    )
    checksums = {}
    for (table,) in tables:
        rows = lake.table(table, AUDIT_COLUMNS)
        checksums[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return checksums


def test_two_full_refresh_builds_give_identical_tables(lake: Lake, tmp_path: Path) -> None:
    # batch_1's T-1006 re-sent corrected: a resolution, so that every table has rows
    corrected = tmp_path / "batch_1_corrected.csv"
    header = BATCHES[0].read_text(encoding="utf-8").splitlines()[0]
    corrected.write_text(f"{header}\nT-1006,ACC003,1000.00,GBP,2024-02-02T00:00:00Z\n")
    lake.land(*BATCHES, corrected)
    lake.build("--full-refresh")
    first = table_checksums(lake)
    built_at = lake.query("select distinct built_at from main_marts.fct_run_metrics")
    quarantined_at = lake.query(
        "select distinct quarantined_at from main_marts.fct_quarantined_records"
    )

    lake.build("--full-refresh")
    assert table_checksums(lake) == first
    assert set(first) >= {*CORE_TABLES, "main_marts.fct_run_metrics"}
    # the fixtures were landed after every month they hold had closed: nothing was reported, so
    # nothing is restated
    restatements = {
        "main_marts.fct_balance_restatements",
        "main_marts.fct_balance_restatement_lines",
    }
    assert all(count > 0 for table, (count, _) in first.items() if table not in restatements)
    # the excluded columns exist and are what differs: the time of the build
    assert lake.query("select distinct built_at from main_marts.fct_run_metrics") != built_at
    assert (
        lake.query("select distinct quarantined_at from main_marts.fct_quarantined_records")
        != quarantined_at
    )


def test_landing_the_same_file_twice_changes_nothing(lake: Lake) -> None:
    lake.land(*BATCHES)
    lake.build()
    before = {table: lake.table(table, AUDIT_COLUMNS) for table in CORE_TABLES}

    again = lake.land(*BATCHES)
    assert [entry["status"] for entry in again] == ["skipped"] * len(BATCHES)
    lake.build()
    after = {table: lake.table(table, AUDIT_COLUMNS) for table in CORE_TABLES}
    assert after == before


def test_late_batch_corrects_old_months(lake: Lake) -> None:
    lake.land(BATCHES[0])
    lake.build()
    january = "select closing_balance from main_marts.fct_month_end_balances"
    january += " where account_id = 'ACC001' and month = '2024-01'"
    assert lake.query(january) == [(D("70.00"),)]
    with duckdb.connect(str(lake.root / "warehouse.duckdb")) as con:  # damage the old run
        con.execute(
            "insert into main_intermediate.int_transactions__classified"
            " select * from main_intermediate.int_transactions__classified"
            " where record_status = 'quarantined' limit 1"  # not part of the accepted history
        )

    lake.land(BATCHES[1], BATCHES[2])
    lake.build()  # the history tests check the new runs: the old damage is out of scope
    assert_fixture_outputs(lake)
    everything = lake.dbt("test", "--vars", "{check_all_runs: true}", check=False)
    assert everything.returncode == 1
    assert "FAIL 1 unique_combination_int_transactions__classified" in everything.stdout
    assert "FAIL 1 assert_every_record_accounted_for" in everything.stdout


def test_hostile_file_nothing_lost(lake: Lake, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.csv"
    hostile.write_bytes(
        b"\xef\xbb\xbfTransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\r\n"
        b'T-1,ACC1,"1,000.00",EUR,2024-03-10T10:00:00Z\r\n'
        b'T-2,"ACC1",20.00,eur,2024-03-11T10:00:00Z\r\n'
        b"T-3,ACC1,1.00,EUR\r\n"
        b"\r\n"
        b'"T-4","ACC""2",3.00,EUR,"2024-03-12T10:00:00Z"\r\n'
        b"T-5,ACC1,2.00,EUR,2999-01-01T00:00:00Z\r\n"
        b'T-6,"open quote,1.00,EUR,2024-03-12T10:00:00Z\r\n'
        b"T-7,ACC1,7.00,EUR,2024-03-13T10:00:00Z"
    )
    invalid_utf8 = tmp_path / "invalid_utf8.csv"
    invalid_utf8.write_bytes(
        b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
        b"U-1,ACC-\xe2\x82\xac,1.00,EUR,2024-03-10T10:00:00Z\n"
        b"U-2,ACC\xff\xfe,2.00,EUR,2024-03-10T10:00:00Z\n"
        b"U-3,ACC3,3.00,EUR,2024-03-10T10:00:00Z\n"
    )
    bad_header = tmp_path / "bad_header.csv"
    bad_header.write_bytes(
        b"TransactionID,CustomerID,Amount,Currency,TransactionTimestamp\n"
        b"H-1,ACC1,1.00,EUR,2024-03-10T10:00:00Z\n"
    )
    soh = tmp_path / "soh.csv"
    soh.write_bytes(
        b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
        b"S-1,ACC\x011,1.00,EUR,2024-03-10T10:00:00Z\n"
        b"\n"
        b"S-2,ACC2,2.00,EUR,2024-03-10T10:00:00Z\n"
    )
    lake.land(hostile, invalid_utf8, bad_header, soh)
    lake.build()

    processed = lake.query(
        "select source_file, line_number, transaction_id, account_id, amount"
        " from main_marts.fct_transactions order by all"
    )
    assert processed == [
        ("hostile.csv", 3, "T-2", "ACC1", D("20.00")),
        ("hostile.csv", 6, "T-4", 'ACC"2', D("3.00")),
        ("hostile.csv", 9, "T-7", "ACC1", D("7.00")),
        ("invalid_utf8.csv", 2, "U-1", "ACC-\u20ac", D("1.00")),
        ("invalid_utf8.csv", 4, "U-3", "ACC3", D("3.00")),
        ("soh.csv", 2, "S-1", "ACC\x011", D("1.00")),
        ("soh.csv", 4, "S-2", "ACC2", D("2.00")),
    ]
    quarantined = lake.query(
        "select source_file, line_number, validation_error, record_text"
        " from main_marts.fct_quarantined_records order by all"
    )
    assert quarantined == [
        ("bad_header.csv", 2, "SCHEMA_ERROR", "H-1,ACC1,1.00,EUR,2024-03-10T10:00:00Z"),
        ("hostile.csv", 2, "TYPE_ERROR", 'T-1,ACC1,"1,000.00",EUR,2024-03-10T10:00:00Z'),
        ("hostile.csv", 4, "SCHEMA_ERROR", "T-3,ACC1,1.00,EUR"),
        ("hostile.csv", 7, "TIMESTAMP_ERROR", "T-5,ACC1,2.00,EUR,2999-01-01T00:00:00Z"),
        ("hostile.csv", 8, "SCHEMA_ERROR", 'T-6,"open quote,1.00,EUR,2024-03-12T10:00:00Z'),
        ("invalid_utf8.csv", 3, "SCHEMA_ERROR", r"U-2,ACC\xFF\xFE,2.00,EUR,2024-03-10T10:00:00Z"),
    ]


@pytest.mark.parametrize("value", ["2024-13", "2024-01'; drop table x; --", "Jan 2024"])
def test_malicious_month_var_is_refused(lake: Lake, value: str) -> None:
    lake.land(FIXTURES / "case_q1_2024.csv")
    result = lake.dbt("build", "--vars", f'{{balance_start_month: "{value}"}}', check=False)
    assert result.returncode != 0
    assert "must be a month as 'YYYY-MM'" in result.stdout


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (
            "{balance_start_month: '2024-03', balance_end_month: '2024-01'}",
            "reversed reporting window: var 'balance_start_month' (2024-03) is after"
            " var 'balance_end_month' (2024-01)",
        ),
        (
            "{balance_start_month: '2024-02', balance_end_month: '2024-1'}",
            "var 'balance_end_month' must be a month as 'YYYY-MM' (for example 2024-01),"
            " got: 2024-1",
        ),
        (
            "{balance_start_month: '0000-01'}",
            "var 'balance_start_month' must not be before 1970-01 (the floor of business time),"
            " got: 0000-01",
        ),
        (
            "{balance_start_month: '1969-12', balance_end_month: '2024-03'}",
            "var 'balance_start_month' must not be before 1970-01 (the floor of business time),"
            " got: 1969-12",
        ),
        (
            "{balance_start_month: '2030-01'}",
            "reversed reporting window: var 'balance_start_month' (2030-01) is after the last"
            " month in the data (2024-03)",
        ),
        (
            "{balance_end_month: '2023-12'}",
            "reversed reporting window: var 'balance_end_month' (2023-12) is before the first"
            " month in the data (2024-01)",
        ),
    ],
    ids=[
        "reversed",
        "malformed_end",
        "year_0",
        "before_floor",
        "start_after_data",
        "end_before_data",
    ],
)
def test_bad_reporting_window_is_refused(lake: Lake, window: str, message: str) -> None:
    """A reversed window (by the vars, or by one var and the data), a malformed month or one
    before the floor of business time: one line naming the var(s) and value(s), a non-zero exit,
    and the balances are left as they were."""
    lake.land(FIXTURES / "case_q1_2024.csv")
    lake.build()
    balances = lake.table("main_marts.fct_month_end_balances")
    assert balances
    result = lake.build("--vars", window, check=False)
    assert result.returncode != 0
    assert [line for line in result.stdout.splitlines() if line.strip().endswith(message)]
    assert lake.table("main_marts.fct_month_end_balances") == balances


def test_generated_data_matches_generator_truth(lake: Lake, tmp_path: Path) -> None:
    """On data we did not hand-write, every count equals the generator's independent truth."""
    data, truth_file = tmp_path / "generated.csv", tmp_path / "truth.json"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--rows", "5000", "--seed", "11", "--start",
         "2024-01-01", "--months", "4", "--error-rate", "0.05", "--output", str(data),
         "--truth", str(truth_file)],
        check=True,
    )  # fmt: skip
    truth = json.loads(truth_file.read_text())
    lake.land(data)
    lake.build()

    outcomes = dict(
        lake.query(
            "select record_status, count(*) from main_intermediate.int_transactions__classified"
            " group by all"
        )
    )
    assert outcomes == {
        "accepted": truth["valid_rows"],
        "duplicate": truth["duplicate_rows"],
        "quarantined": truth["quarantined_rows"],
    }
    by_reason = dict(
        lake.query(
            "select validation_error, count(*) from main_marts.fct_quarantined_records group by all"
        )
    )
    assert by_reason == {code: n for code, n in truth["quarantine_by_reason"].items() if n}
    assert lake.query("select count(*) from main_marts.fct_transactions") == [
        (truth["valid_rows"],)
    ]
    metrics = lake.query(
        "select input_rows, valid_rows, quarantined_rows, duplicate_rows, quarantined_type_error,"
        " quarantined_duplicate_conflict from main_marts.fct_run_metrics"
    )
    reasons = truth["quarantine_by_reason"]
    assert metrics == [
        (
            truth["rows"],
            truth["valid_rows"],
            truth["quarantined_rows"],
            truth["duplicate_rows"],
            reasons.get("TYPE_ERROR", 0),
            reasons.get("DUPLICATE_CONFLICT", 0),
        )
    ]


def month_end_oracle(transactions: list[tuple]) -> list[tuple]:
    """The spec's balance rules, computed naively: walk each account's transactions in
    (time, id) order, keep new_balance, read it off at every month's end of the window."""
    by_account: dict[tuple[str, str], list[tuple]] = {}
    for transaction_id, account_id, currency, amount, ts in transactions:
        by_account.setdefault((account_id, currency), []).append((ts, transaction_id, amount))
    months = sorted({ts.strftime("%Y-%m") for *_, ts in transactions})
    window = [f"{y}-{m:02d}" for y in range(2000, 2100) for m in range(1, 13)]
    window = [month for month in window if months[0] <= month <= months[-1]]
    rows = []
    for (account_id, currency), items in sorted(by_account.items()):
        new_balance, history = D("0"), []
        for ts, _, amount in sorted(items):
            new_balance += amount
            history.append((ts.strftime("%Y-%m"), new_balance))
        for month in window:
            in_month = [balance for m, balance in history if m == month]
            upto = [balance for m, balance in history if m <= month]
            rows.append(
                (
                    account_id,
                    currency,
                    month,
                    in_month[-1] if in_month else None,
                    upto[-1] if upto else None,
                    len(in_month),
                )
            )
    return rows


def test_month_end_balances_equal_naive_oracle_on_generated_data(
    lake: Lake, tmp_path: Path
) -> None:
    data = tmp_path / "generated.csv"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--rows", "3000", "--seed", "5", "--start",
         "2023-11-01", "--months", "5", "--accounts", "40", "--output", str(data)],
        check=True,
    )  # fmt: skip
    lake.land(data)
    lake.build()
    transactions = lake.query(
        "select transaction_id, account_id, currency, amount, transaction_ts"
        " from main_marts.fct_transactions"
    )
    balances = lake.query(
        "select account_id, currency, month, balance, closing_balance, tx_count"
        " from main_marts.fct_month_end_balances order by account_id, currency, month"
    )
    assert balances == month_end_oracle(transactions)
