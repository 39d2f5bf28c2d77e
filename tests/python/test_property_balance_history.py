"""Property: after every run of a random sequence of late and corrected deliveries (built after
each run), the bitemporal balance history equals a from-scratch recomputation (a full refresh of
the same lake), the balances as known at each earlier run equal what fct_month_end_balances said
right after that run, and the restatement report lists exactly the month-end balances that
differ from what was said at their month's close.

The expectations come from snapshots of fct_month_end_balances taken after each build, not from
the history model: the check does not read what it checks.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dbt_harness import Lake
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp"
ACCOUNTS = ("ACC1", "ACC2", "ACC3")
MONTHS = ("2024-01", "2024-02", "2024-03", "2024-04")
AMOUNTS = ("10.00", "-4.50", "0.01", "250.00")
FIRST_LANDING = datetime(2024, 2, 2, 12, tzinfo=UTC)
CLOSE_DAYS = 5  # dbt_project.yml var month_close_days
BALANCE_COLUMNS = "account_id, currency, month, month_end, balance, closing_balance, tx_count"


@dataclass(frozen=True)
class Delivery:
    """One file: rows as (TransactionID, account, amount, month), an invalid amount marked by
    a trailing '!' (TYPE_ERROR), landed `gap_days` after the previous file."""

    rows: tuple[tuple[str, str, str, str], ...]
    gap_days: int


def month_close(month: str) -> datetime:
    year, number = map(int, month.split("-"))
    next_month = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return next_month + timedelta(days=CLOSE_DAYS)


def landing_moments(deliveries: list[Delivery]) -> list[datetime]:
    moments, moment = [], FIRST_LANDING
    for delivery in deliveries:
        moment += timedelta(days=delivery.gap_days)
        moments.append(moment)
    return moments


@st.composite
def deliveries(draw: st.DrawFn) -> list[Delivery]:
    count = draw(st.integers(2, 4))
    result, moment, serial, pending_bad = [], FIRST_LANDING, 0, []
    for _ in range(count):
        gap = draw(st.integers(1, 40))
        moment += timedelta(days=gap)
        # a file carries transactions of months that have begun by its landing: late ones too
        months = [m for m in MONTHS if datetime.fromisoformat(f"{m}-01T00:00:00+00:00") < moment]
        rows = []
        for bad_id, account, amount, month in pending_bad:  # corrections of earlier bad rows
            if draw(st.booleans()):
                rows.append((bad_id, account, amount.rstrip("!"), month))
        pending_bad = []
        for _ in range(draw(st.integers(1, 5))):
            serial += 1
            row = (
                f"H-{serial}",
                draw(st.sampled_from(ACCOUNTS)),
                draw(st.sampled_from(AMOUNTS)),
                draw(st.sampled_from(months)),
            )
            if draw(st.integers(0, 4)) == 0:
                row = (*row[:2], row[2] + "!", row[3])
                pending_bad.append(row)
            rows.append(row)
        result.append(Delivery(tuple(rows), gap))
    return result


def write_file(path: Path, delivery: Delivery) -> Path:
    lines = [HEADER]
    for transaction_id, account, amount, month in delivery.rows:
        text = amount.replace("!", "9.999") if amount.endswith("!") else amount
        lines.append(f"{transaction_id},{account},{text},EUR,{month}-15T12:00:00Z")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# Always tried: a late transaction restating two closed months, a bad row corrected after its
# month closed, a new account arriving late in a reported month.
HAND_MADE = [
    Delivery((("H-1", "ACC1", "10.00", "2024-01"), ("H-2", "ACC2", "250.00!", "2024-01")), 0),
    Delivery((("H-3", "ACC1", "-4.50", "2024-02"), ("H-2", "ACC2", "250.00", "2024-01")), 28),
    Delivery((("H-4", "ACC1", "0.01", "2024-01"), ("H-5", "ACC3", "10.00", "2024-02")), 20),
]


def check_history(deliveries: list[Delivery]) -> None:
    with tempfile.TemporaryDirectory() as work:
        lake = Lake(Path(work) / "lake")
        said: dict[str, list[tuple]] = {}  # run_id -> the balances right after its build
        runs: list[tuple[str, datetime]] = []
        for number, (delivery, moment) in enumerate(
            zip(deliveries, landing_moments(deliveries), strict=True)
        ):
            lake.land_at(moment, write_file(Path(work) / f"file_{number}.csv", delivery))
            lake.build()
            [[run_id]] = lake.query("select max(run_id) from main_marts.fct_run_metrics")
            runs.append((run_id, moment))
            said[run_id] = lake.query(
                f"select {BALANCE_COLUMNS} from main_marts.fct_month_end_balances order by all"
            )

        history = lake.table("main_marts.fct_month_end_balance_history")
        restatements = lake.table("main_marts.fct_balance_restatements")
        for run_id, _ in runs:
            assert lake.balances_as_known_at(run_id) == said[run_id], run_id

        # what was said at each month's close: the balances after the last run landed by then
        now = {row[:3]: row for row in said[runs[-1][0]]}
        expected = set()
        for key, row in now.items():
            close = month_close(key[2])
            reported = [run_id for run_id, moment in runs if moment <= close]
            if not reported:
                continue
            at_close = {r[:3]: r for r in said[reported[-1]]}
            if not any(r[2] == key[2] for r in at_close.values()):
                continue  # the month was not in the balances said at its close
            before = at_close.get(key)
            said_then = (before[4], before[5]) if before else (None, None)
            if said_then != (row[4], row[5]):
                expected.add(key)
        assert {row[:3] for row in restatements} == expected

        lake.build("--full-refresh")
        assert lake.table("main_marts.fct_month_end_balance_history") == history
        assert lake.table("main_marts.fct_balance_restatements") == restatements


@pytest.mark.slow
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(deliveries())
@example(HAND_MADE)
def test_balance_history_equals_what_each_run_said(deliveries: list[Delivery]) -> None:
    check_history(deliveries)
