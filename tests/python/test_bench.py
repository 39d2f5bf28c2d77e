"""Smoke test of the benchmark's implementations: on a small generated file the hand-written
DuckDB baseline and the pandas job give the dbt project's figures (processed and quarantined
counts, quarantine reasons, balance totals per month). Speed is not asserted here: that is what
scripts/bench.py measures."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import file_module
import pytest
from dbt_harness import Lake

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# scripts/bench.py, loaded by path: scripts/ is not on the import path (and a plain `import bench`
# would sort differently for ruff wherever the git-ignored bench/ work directory exists).
bench = file_module.load(SCRIPTS / "bench.py")
ROWS = 3000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's data set at ROWS rows, with the generator's truth beside it."""
    directory = tmp_path_factory.mktemp("bench_data")
    csv = directory / "transactions.csv"
    command = [sys.executable, str(bench.GENERATOR), "--rows", str(ROWS), *bench.BASE_ARGS]
    command += ["--output", str(csv), "--truth", str(directory / "truth.json")]
    subprocess.run(command, check=True, capture_output=True)
    return csv


@pytest.fixture(scope="module")
def expected(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> bench.Summary:
    """The dbt project's figures for the sample: land it, dbt build, summarise the marts."""
    lake = Lake(tmp_path_factory.mktemp("bench_lake") / "lake")
    lake.land(sample)
    lake.build()
    return bench.summarize_warehouse(lake.root / "warehouse.duckdb")


def test_dbt_figures_match_the_generator_truth(sample: Path, expected: bench.Summary) -> None:
    truth = json.loads((sample.parent / "truth.json").read_text())
    assert expected.processed == truth["valid_rows"]
    assert expected.quarantined == truth["quarantined_rows"]
    assert expected.quarantine_by_reason == truth["quarantine_by_reason"]
    assert len(expected.balance_totals) == 12


def test_duckdb_baseline_agrees_with_dbt(
    sample: Path, expected: bench.Summary, tmp_path: Path
) -> None:
    database = tmp_path / "baseline.duckdb"
    bench.run_baseline(sample, database)
    assert bench.summarize_baseline(database) == expected


@pytest.mark.skipif(
    importlib.util.find_spec("pandas") is None or importlib.util.find_spec("pyarrow") is None,
    reason="pandas/pyarrow not installed (requirements-bench.txt)",
)
def test_pandas_job_agrees_with_dbt(sample: Path, expected: bench.Summary, tmp_path: Path) -> None:
    bench_pandas = file_module.load(SCRIPTS / "bench_pandas.py")
    bench_pandas.run(sample, bench.CURRENCIES, tmp_path / "pandas")
    assert bench.summarize_parquet(tmp_path / "pandas") == expected


def test_measure_reports_time_and_memory_of_the_child(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "block = bytearray(64 * 1024 * 1024); print(len(block))"]
    measurement = bench.measure(command, tmp_path / "measure.log")
    assert measurement.wall_s > 0
    assert measurement.peak_rss_mb >= 64
    assert "67108864" in (tmp_path / "measure.log").read_text()


def test_measure_raises_on_failure(tmp_path: Path) -> None:
    with pytest.raises(bench.BenchError, match="failed"):
        bench.measure([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "fail.log")


def test_disagreement_is_reported() -> None:
    summary = bench.Summary(1, 1, {"TYPE_ERROR": 1}, {"2024-01": "1.00"})
    other = bench.Summary(1, 2, {"TYPE_ERROR": 2}, {"2024-01": "1.00"})
    results = [bench.Result("ours_full", summary=summary), bench.Result("pandas", summary=other)]
    problems = bench.check_agreement(results)
    assert len(problems) == 2
    assert all(problem.startswith("pandas: ") for problem in problems)
