"""Alerts (dbt tests and source freshness, severity var `alert_severity`): each fires on crafted
input and stays quiet on normal input; `alert_severity: error` turns a warning into a failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contract import header_fingerprint
from dbt_harness import Lake

HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
DRIFTED_HEADER = "TransactionID,CustomerID,Amount,Currency,TransactionTimestamp\n"
VOLUME_TEST = "volume_within_trailing_median_run_metrics_input_rows__source_file__run_id"
DRIFT_TEST = "header_matches_contract_run_metrics_source_file"
ALERTS = (VOLUME_TEST, DRIFT_TEST)
ERROR = "{alert_severity: error}"


def write_csv(path: Path, prefix: str, rows: int, header: str = HEADER) -> Path:
    lines = [f"{prefix}-{i},ACC{i % 4},{i}.00,EUR,2024-01-05T09:00:00Z\n" for i in range(rows)]
    path.write_text(header + "".join(lines), encoding="utf-8")
    return path


def statuses(lake: Lake) -> dict[str, str]:
    """Status of each alert test in the last dbt command (pass, warn, fail)."""
    results = json.loads((lake.root / "target" / "run_results.json").read_text())["results"]
    found = {r["unique_id"].split(".")[2]: r["status"] for r in results}
    return {name: found[name] for name in ALERTS}


def failures(lake: Lake, test: str, columns: str = "source_file") -> list[tuple]:
    """The failure rows of an alert test of the last `dbt build --store-failures`."""
    results = json.loads((lake.root / "target" / "run_results.json").read_text())["results"]
    [relation] = [r["relation_name"] for r in results if r["unique_id"].split(".")[2] == test]
    return lake.query(f"select {columns} from {relation} order by all")


def test_volume_and_drift_alerts(lake: Lake, tmp_path: Path) -> None:
    normal = [write_csv(tmp_path / f"normal_{n}.csv", f"N{n}", 20) for n in range(4)]
    lake.land(*normal)
    quiet = lake.build("--vars", ERROR, check=False)  # strictest setting: still quiet
    assert quiet.returncode == 0, quiet.stdout[-4000:]
    assert statuses(lake) == {VOLUME_TEST: "pass", DRIFT_TEST: "pass"}

    lake.land(
        write_csv(tmp_path / "burst.csv", "B", 200),  # 10 x the median of the 4 runs before
        write_csv(tmp_path / "trickle.csv", "T", 1),  # 1/20 of the median
        write_csv(tmp_path / "drifted.csv", "D", 20, DRIFTED_HEADER),  # normal volume
    )
    warned = lake.build("--store-failures", check=False)  # default severity: warn
    assert warned.returncode == 0, warned.stdout[-4000:]
    assert statuses(lake) == {VOLUME_TEST: "warn", DRIFT_TEST: "warn"}
    assert failures(lake, VOLUME_TEST, "source_file, volume, median_volume") == [
        ("burst.csv", 200, 20.0),
        ("trickle.csv", 1, 20.0),
    ]
    assert failures(lake, DRIFT_TEST, "source_file, drift, header_fingerprint") == [
        ("drifted.csv", "header differs from the contract", header_fingerprint(DRIFTED_HEADER))
    ]

    failed = lake.build("--vars", ERROR, check=False)
    assert failed.returncode == 1
    assert statuses(lake) == {VOLUME_TEST: "fail", DRIFT_TEST: "fail"}


def test_volume_alert_vars_are_validated(lake: Lake, tmp_path: Path) -> None:
    lake.land(write_csv(tmp_path / "one.csv", "O", 3))
    result = lake.build(
        "--vars", "{volume_alert_factor: '5 or 1=1'}", "--select", "run_metrics",
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "volume alert: factor must be a number above 1, got: 5 or 1=1" in result.stdout


def set_landed_at(lake: Lake, moment: datetime) -> None:
    [manifest] = lake.root.glob("raw/transactions/ingest_date=*/run_id=*/_manifest.json")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["landed_at"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    manifest.write_text(json.dumps(data), encoding="utf-8")


def freshness(lake: Lake, *args: str) -> tuple[int, str]:
    result = lake.dbt("source", "freshness", *args, check=False)
    sources = json.loads((lake.root / "target" / "sources.json").read_text())["results"]
    [entry] = [s for s in sources if s["unique_id"].endswith("landing.transaction_manifests")]
    return result.returncode, entry["status"]


def test_source_freshness_on_landing_time(lake: Lake, tmp_path: Path) -> None:
    lake.land(write_csv(tmp_path / "today.csv", "F", 5))
    assert freshness(lake) == (0, "pass")
    assert freshness(lake, "--vars", ERROR) == (0, "pass")

    now = datetime.now(UTC)
    set_landed_at(lake, now - timedelta(hours=30))  # past warn (26 h), before error (50 h)
    assert freshness(lake) == (0, "warn")
    assert freshness(lake, "--vars", ERROR) == (0, "warn")

    set_landed_at(lake, now - timedelta(hours=60))
    assert freshness(lake) == (0, "warn")  # severity warn: never an error
    assert freshness(lake, "--vars", ERROR) == (1, "error")
