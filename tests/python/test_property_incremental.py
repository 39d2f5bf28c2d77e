"""Property: landing random batches in random order with an incremental build after (some of)
them gives exactly what one `--full-refresh` build of the same landed lake gives (the
classification, the marts, the balance history's versions and the quarantine's lifecycle), and
both equal the spec's duplicate rules applied naively in landing order.

The comparison is on the SAME lake (run_ids, landing times and thus "first landed wins" are the
same); only the audit columns (the build's start time) may differ.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_harness import AUDIT_COLUMNS, Lake
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

CORE_TABLES = (
    "main_intermediate.int_transactions__classified",
    "main_marts.fct_transactions",
    "main_marts.fct_quarantined_records",
    "main_marts.fct_month_end_balances",
    "main_marts.fct_month_end_balance_history",
    "main_marts.fct_quarantine_lifecycle",
)
HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp"

# Field values and what the spec makes of them (None: invalid, with the code it fails).
IDS = ["P-1", "P-2", "P-3", "P-4", "P-5", "P-6"]
ACCOUNTS = ["ACC1", "ACC2"]
AMOUNTS = {
    "1.00": Decimal("1"),
    "1": Decimal("1"),
    "-2.50": Decimal("-2.5"),
    "0.01": Decimal("0.01"),
}
CURRENCIES = {"EUR": "EUR", "eur": "EUR", "USD": "USD"}
TIMESTAMPS = {
    "2024-01-31T23:30:00Z": datetime(2024, 1, 31, 23, 30),
    "2024-02-01T00:30:00+01:00": datetime(2024, 1, 31, 23, 30),  # the same instant
    "2024-02-15 12:00:00": datetime(2024, 2, 15, 12, 0),
    "2024-03-01T00:00:00-05:00": datetime(2024, 3, 1, 5, 0),
    "2023-12-31T23:59:59Z": datetime(2023, 12, 31, 23, 59, 59),
}
INVALID = {  # field index -> (bad value, code)
    0: [("", "NULL_VALUE_ERROR")],
    1: [("", "NULL_VALUE_ERROR")],
    2: [("1e3", "TYPE_ERROR"), ("1.005", "TYPE_ERROR"), ("", "NULL_VALUE_ERROR")],
    3: [("XXX", "CURRENCY_ERROR"), ("", "NULL_VALUE_ERROR")],
    4: [
        ("2024-02-30T00:00:00Z", "TIMESTAMP_ERROR"),
        ("2999-01-01T00:00:00Z", "TIMESTAMP_ERROR"),
        ("", "NULL_VALUE_ERROR"),
    ],
}
CODE_ORDER = ["NULL_VALUE_ERROR", "TYPE_ERROR", "CURRENCY_ERROR", "TIMESTAMP_ERROR"]


@dataclass(frozen=True)
class Row:
    fields: tuple[str, ...]  # TransactionID, CustomerID, amount, currency, timestamp
    codes: tuple[str, ...]  # row-level codes, spec order

    def text(self) -> str:
        return ",".join(self.fields)

    def content(self) -> tuple[str, Decimal, str, datetime]:
        _, account, amount, currency, ts = self.fields
        return account, AMOUNTS[amount], CURRENCIES[currency], TIMESTAMPS[ts]


@st.composite
def rows(draw: st.DrawFn) -> Row:
    fields = [
        draw(st.sampled_from(IDS)),
        draw(st.sampled_from(ACCOUNTS)),
        draw(st.sampled_from(sorted(AMOUNTS))),
        draw(st.sampled_from(sorted(CURRENCIES))),
        draw(st.sampled_from(sorted(TIMESTAMPS))),
    ]
    codes: set[str] = set()
    if draw(st.integers(0, 4)) == 4:  # about one row in five is invalid (shrinks to valid)
        for index in draw(st.sets(st.sampled_from(sorted(INVALID)), min_size=1, max_size=2)):
            value, code = draw(st.sampled_from(INVALID[index]))
            fields[index] = value
            codes.add(code)
    return Row(tuple(fields), tuple(code for code in CODE_ORDER if code in codes))


@dataclass(frozen=True)
class Scenario:
    batches: list[list[Row]]  # in landing order
    build_after: list[bool]  # build after landing this batch (always after the last)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    pool = draw(st.lists(rows(), min_size=8, max_size=30))
    # exact re-deliveries of rows already drawn, then everything shuffled
    repeats = draw(st.lists(st.sampled_from(pool), max_size=8))
    records = draw(st.permutations(pool + repeats))
    count = draw(st.integers(2, 4))
    assignment = draw(
        st.lists(st.integers(0, count - 1), min_size=len(records), max_size=len(records))
    )
    batches = [
        [r for r, b in zip(records, assignment, strict=True) if b == k] for k in range(count)
    ]
    order = draw(st.permutations(range(count)))
    build_after = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    build_after[-1] = True
    return Scenario([batches[k] for k in order], build_after)


def oracle(batches: list[list[Row]]) -> list[tuple[str, int, str, str | None]]:
    """(file, line, record_status, validation_error) by the spec, walking records in landing
    order: first valid version wins; same content later = duplicate; different content or an
    invalid row with an accepted id = DUPLICATE_CONFLICT."""
    accepted: dict[str, tuple[str, Decimal, str, datetime]] = {}
    outcome = []
    for number, batch in enumerate(batches):
        for line, row in enumerate(batch, start=2):
            tid = row.fields[0]
            codes = list(row.codes)
            status = "quarantined"
            if not codes and tid not in accepted:
                accepted[tid] = row.content()
                status = "accepted"
            elif not codes and accepted[tid] == row.content():
                status = "duplicate"
            elif tid in accepted:
                codes.append("DUPLICATE_CONFLICT")
            outcome.append((file_name(number), line, status, ",".join(codes) or None))
    return sorted(outcome)


def file_name(number: int) -> str:
    return f"batch_{number:02d}.csv"


# The balances' last_run_id is bookkeeping: the latest run of the build that last recomputed the
# row. A full refresh recomputes every row in one build, incremental builds only the accounts
# they changed, so it differs between the two by definition (the greatest value, where the next
# build starts, is the same).
BOOKKEEPING_COLUMNS = ("last_run_id",)


def snapshot(lake: Lake) -> dict[str, list[tuple]]:
    return {table: lake.table(table, AUDIT_COLUMNS + BOOKKEEPING_COLUMNS) for table in CORE_TABLES}


# Always tried: late data for an old month, a conflict and an invalid row with an accepted id
# arriving in later batches, exact re-deliveries in other text, two runs in one build.
P1 = Row(("P-1", "ACC1", "1.00", "EUR", "2024-02-15 12:00:00"), ())
P2_BAD = Row(("P-2", "ACC2", "1e3", "USD", "2024-01-31T23:30:00Z"), ("TYPE_ERROR",))
P2 = Row(("P-2", "ACC2", "-2.50", "USD", "2024-01-31T23:30:00Z"), ())
P3_LATE = Row(("P-3", "ACC1", "0.01", "EUR", "2023-12-31T23:59:59Z"), ())
HAND_MADE = Scenario(
    batches=[
        [P1, P2_BAD],
        [Row(("P-1", "ACC1", "-2.50", "EUR", "2024-02-15 12:00:00"), ()), P2, P3_LATE],
        [
            Row(("P-1", "ACC1", "1", "eur", "2024-02-15 12:00:00"), ()),
            Row(("P-2", "ACC2", "-2.50", "XXX", "2024-02-01T00:30:00+01:00"), ("CURRENCY_ERROR",)),
            Row(("P-3", "ACC1", "0.01", "EUR", "2023-12-31T23:59:59Z"), ()),
        ],
    ],
    build_after=[True, False, True],
)


@pytest.mark.slow
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
@example(HAND_MADE)
def test_incremental_builds_equal_one_full_refresh_of_the_same_lake(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as work:
        lake = Lake(Path(work) / "lake")
        for number, (batch, build_now) in enumerate(
            zip(scenario.batches, scenario.build_after, strict=True)
        ):
            # trailing blank lines (not records) make every file's content unique: none is skipped
            path = Path(work) / file_name(number)
            lines = [HEADER, *(row.text() for row in batch)]
            path.write_text("\n".join(lines) + "\n" + "\n" * number)
            lake.land(path)
            if build_now:
                lake.build()
        incremental = snapshot(lake)

        classified = lake.query(
            "select source_file, line_number, record_status, validation_error"
            " from main_intermediate.int_transactions__classified order by all"
        )
        assert classified == oracle(scenario.batches)

        where_next_build_starts = "select max(last_run_id) from main_marts.fct_month_end_balances"
        incremental_start = lake.query(where_next_build_starts)
        lake.build("--full-refresh")
        full = snapshot(lake)
        assert lake.query(where_next_build_starts) == incremental_start
        for table in CORE_TABLES:
            assert full[table] == incremental[table], table
