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
            f"select month, count(*) from read_parquet('{parquet}', hive_partitioning=true)"
            " group by all order by all"
        ).fetchall()
    assert rows == [("2023-12", 1), ("2024-01", 3), ("2024-02", 3), ("2024-03", 2)]

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


PUBLISHED_MARTS = (
    "fct_transactions",
    "fct_quarantined_records",
    "fct_month_end_balances",
    "fct_run_metrics",
    "fct_quarantine_lifecycle",
)


def published_state(lake: Lake) -> dict[str, list[tuple]]:
    """Every published relation, all rows in a stable order."""
    return {mart: lake.table(f"main_published.{mart}") for mart in PUBLISHED_MARTS}


def test_a_failed_build_leaves_the_published_marts_as_the_last_successful_build(
    lake: Lake, tmp_path: Path
) -> None:
    """Write, audit, publish: a build whose error-severity test fails has already written its
    rows to the marts (the audit area), but what consumers read (main_published, the Parquet
    copy, the markers, the report) stays the last published build's until a build passes."""
    lake.land(BATCHES[0])
    lake.build()
    assert run_publish(lake).returncode == 0
    before = published_state(lake)
    assert before == {mart: lake.table(f"main_marts.{mart}") for mart in PUBLISHED_MARTS}
    assert len(before["fct_run_metrics"]) == 1

    # batch_2 quarantines 4 of its 7 records: the quarantine-rate alert, as an error, fails it
    lake.land(BATCHES[1])
    failed = lake.build("--vars", "{alert_severity: error}", check=False)
    assert failed.returncode != 0
    assert len(lake.table("main_marts.fct_run_metrics")) == 2  # written and audited, not published
    assert len(lake.table("main_marts.fct_transactions")) > len(before["fct_transactions"])
    refused = run_publish(lake)
    assert refused.returncode == 1 and "the build failed" in refused.stderr
    assert published_state(lake) == before
    processed = lake.root / "processed" / "transactions"
    assert len(list(processed.glob("ingest_date=*/run_id=*/_SUCCESS"))) == 1
    parquet = str(processed / "data" / "**" / "*.parquet")
    with duckdb.connect() as con:
        [(exported,)] = con.sql(f"select count(*) from read_parquet('{parquet}')").fetchall()
    assert exported == len(before["fct_transactions"])
    report = subprocess.run(
        [sys.executable, "-m", "lakehouse", "report", "--lake-root",
         str(lake.root), "--no-docs", "--site", str(tmp_path / "site")],
        capture_output=True, text=True, env=lake.env(), check=False,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "site" / "report.html").read_text(encoding="utf-8")
    # the status says red (the build failed) and names the file the numbers do not include yet
    status = html[html.index('<section id="status"') : html.index("</section>")]
    assert 'data-status="red"' in status and "was not published" in status
    assert "batch_2.csv" in status and "not in these numbers yet" in status
    assert "batch_1.csv" in html and "batch_2.csv" not in html.replace(status, "")

    # the alert acknowledged (back to warn): the next build passes and publishes both runs
    lake.build()
    assert run_publish(lake).returncode == 0
    after = published_state(lake)
    assert after == {mart: lake.table(f"main_marts.{mart}") for mart in PUBLISHED_MARTS}
    assert len(after["fct_run_metrics"]) == 2 and after != before
    assert len(list(processed.glob("ingest_date=*/run_id=*/_SUCCESS"))) == 2
