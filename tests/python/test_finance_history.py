"""Issue #18's scenario, on DuckDB and on the Athena target (Trino stand-in): a file with bad
rows, a correcting file after January closed, a late file after February closed. Checks the
balances as known at each run, the restatement report with the lines that changed each balance,
and that both engines give the same answers.

Landing moments are set (lakehouse.landing._landing_moment patched in this process) so that the
files land before and after the month closes (var month_close_days: 5).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import PRODUCTION_BUILD_FLAGS, Lake
from parity import normalized
from test_athena_build import CLEARED_ENV, athena_env, athena_table, dbt_athena, land_s3_args

from lakehouse import land as land_csv
from lakehouse import landing as lake_landing
from lakehouse import landing_s3 as lake_landing_s3

HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp"
FILES = {
    # January, landed before January closes (2024-02-06): two bad rows, one without an id
    "jan.csv": (
        datetime(2024, 2, 2, 12, tzinfo=UTC),
        [
            "T-1,ACC1,100.00,EUR,2024-01-10T09:00:00Z",
            "T-2,ACC2,50.00,EUR,2024-01-11T09:00:00Z",
            "T-3,ACC2,10.00,XXX,2024-01-12T09:00:00Z",
            "T-4,ACC1,1.234,EUR,2024-01-13T09:00:00Z",
            ",ACC1,5.00,EUR,2024-01-14T09:00:00Z",
        ],
    ),
    # February, landed after January closed: T-3 corrected (restates ACC2's January)
    "feb.csv": (
        datetime(2024, 3, 1, 12, tzinfo=UTC),
        ["T-5,ACC1,20.00,EUR,2024-02-10T09:00:00Z", "T-3,ACC2,10.00,EUR,2024-01-12T09:00:00Z"],
    ),
    # a late January transaction, after February closed (2024-03-06): restates two months
    "late.csv": (datetime(2024, 3, 20, 12, tzinfo=UTC), ["T-6,ACC1,5.00,EUR,2024-01-20T09:00:00Z"]),
}
BALANCES = (
    "select account_id, currency, month, month_end, balance, closing_balance, tx_count"
    " from main_marts.fct_month_end_balances order by all"
)
# (account, month): (closing balance at the close, now), and the lines (file, line) behind it
RESTATED = {
    ("ACC1", "2024-01"): ((D("100.00"), D("105.00")), [("late.csv", 2)]),
    ("ACC1", "2024-02"): ((D("120.00"), D("125.00")), [("late.csv", 2)]),
    ("ACC2", "2024-01"): ((D("50.00"), D("60.00")), [("feb.csv", 3)]),
}
COMPARED = (
    "fct_month_end_balance_history",
    "fct_balance_restatements",
    "fct_balance_restatement_lines",
)


def write_files(directory: Path) -> dict[str, Path]:
    paths = {}
    for name, (_, rows) in FILES.items():
        paths[name] = directory / name
        paths[name].write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return paths


@pytest.fixture
def at_moment(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets the landing clock of both loaders (local and S3) to a moment, until the test ends."""

    def set_moment(moment: datetime) -> None:
        for module in (lake_landing, lake_landing_s3):
            monkeypatch.setattr(module, "_landing_moment", lambda _latest: moment)

    return set_moment


def test_restatements_and_balances_as_known_at_each_run(tmp_path: Path, at_moment: Any) -> None:
    lake = Lake(tmp_path / "lake")
    said = {}
    for name, path in write_files(tmp_path).items():
        at_moment(FILES[name][0])
        assert land_csv.main(["--lake-root", str(lake.root), str(path)]) == 0
        lake.build()
        [[run_id]] = lake.query("select max(run_id) from main_marts.fct_run_metrics")
        said[run_id] = lake.query(BALANCES)

    for run_id, balances in said.items():
        assert lake.balances_as_known_at(run_id) == balances, run_id
    restated = lake.query(
        "select account_id, month, closing_balance_at_close, closing_balance"
        " from main_marts.fct_balance_restatements order by all"
    )
    assert {(a, m): (then, now) for a, m, then, now in restated} == {
        key: figures for key, (figures, _) in RESTATED.items()
    }
    lines = lake.query(
        "select account_id, month, source_file, line_number"
        " from main_marts.fct_balance_restatement_lines order by all"
    )
    assert lines == sorted(
        (a, m, file, line) for (a, m), (_, found) in RESTATED.items() for file, line in found
    )


@pytest.mark.xdist_group("trino")
def test_same_answers_on_the_athena_target(
    athena: Any, tmp_path: Path, at_moment: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = athena_env(athena, tmp_path / "aws-home", schema="history")
    target = tmp_path / "athena-target"
    dbt_athena(athena, env, target, "run-operation", "create_raw_relations")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", *CLEARED_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if name.startswith(("AWS_", "RAW_")):
            monkeypatch.setenv(name, value)
    local = Lake(tmp_path / "lake")
    for name, path in write_files(tmp_path).items():
        at_moment(FILES[name][0])
        assert land_csv.main([*land_s3_args(env), str(path)]) == 0
        assert land_csv.main(["--lake-root", str(local.root), str(path)]) == 0
        local.build()
        dbt_athena(athena, env, target, "build", *PRODUCTION_BUILD_FLAGS)

    runs = "select run_id, file_name from {}.transaction_manifests"
    s3_runs = dict(athena.query(runs.format("history_raw"))[1])
    local_runs = dict(local.query(runs.format("main_raw")))
    for mart in COMPARED:
        names, rows = athena_table(athena, "history_marts", mart)
        expected = local.query(f"select * from main_marts.{mart}")
        assert rows, f"{mart} is empty on the stand-in"
        assert by_file(rows, names, s3_runs) == by_file(expected, names, local_runs), mart


def by_file(rows: list[tuple], names: list[str], runs: dict[str, str]) -> list[Any]:
    """Rows with every run_id (in any *_run_id column) replaced by its file's name, then as
    parity.normalized compares them."""
    mapped = [tuple(runs.get(value, value) for value in row) for row in rows]
    return normalized(mapped, names, {})
