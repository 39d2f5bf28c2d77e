"""publish.py: Parquet copy and `_SUCCESS` markers only after a successful build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
from dbt_harness import FIXTURES, ROOT, Lake

PUBLISH = ROOT / "scripts" / "publish.py"
BATCHES = sorted((FIXTURES / "batches").glob("batch_*.csv"))


def run_publish(lake: Lake) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PUBLISH), "--lake-root", str(lake.root), "--target-path",
         str(lake.root / "target")],
        capture_output=True, text=True, env=lake.env(), check=False,
    )  # fmt: skip


def test_publish_after_a_successful_build(lake: Lake) -> None:
    lake.land(*BATCHES)
    lake.build()
    result = run_publish(lake)
    assert result.returncode == 0, result.stderr

    processed = lake.root / "processed" / "transactions"
    markers = sorted(processed.glob("ingest_date=*/run_id=*/_SUCCESS"))
    assert len(markers) == len(BATCHES)
    metrics = sorted((json.loads(m.read_text()) for m in markers), key=lambda m: m["run_id"])
    assert [(m["source_file"], m["input_rows"], m["valid_rows"]) for m in metrics] == [
        ("batch_1.csv", 8, 4),
        ("batch_2.csv", 7, 3),
        ("batch_3.csv", 3, 2),
    ]
    assert [m["quarantined_rows"] + m["duplicate_rows"] for m in metrics] == [4, 4, 1]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {event["event"] for event in events} == {"run_published"}

    parquet = str(processed / "data" / "**" / "*.parquet")
    with duckdb.connect() as con:
        rows = con.sql(
            f"select year, month, count(*) from read_parquet('{parquet}', hive_partitioning=true)"
            " group by all order by all"
        ).fetchall()
    assert rows == [(2023, 12, 1), (2024, 1, 3), (2024, 2, 3), (2024, 3, 2)]

    again = run_publish(lake)
    assert again.returncode == 0 and again.stdout == ""
    assert len(list(processed.glob("ingest_date=*/run_id=*/_SUCCESS"))) == len(BATCHES)


def test_a_failed_build_publishes_nothing(lake: Lake) -> None:
    lake.land(BATCHES[0])
    lake.build()
    run_results = lake.root / "target" / "run_results.json"
    results = json.loads(run_results.read_text())
    results["results"][0]["status"] = "error"
    run_results.write_text(json.dumps(results))

    result = run_publish(lake)
    assert result.returncode == 1
    assert "refused" in result.stderr and "error" in result.stderr
    assert not (lake.root / "processed").exists()


def test_no_build_results_publishes_nothing(lake: Lake, tmp_path: Path) -> None:
    lake.root.mkdir(parents=True)
    result = run_publish(lake)
    assert result.returncode == 1
    assert "no dbt run results" in result.stderr
    assert not (lake.root / "processed").exists()
