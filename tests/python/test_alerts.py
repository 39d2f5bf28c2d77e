"""Alerts (dbt tests and source freshness, severity var `alert_severity`): each fires on crafted
input and stays quiet on normal input; `alert_severity: error` turns a warning into a failure.
The alerts on fct_run_metrics judge the runs of the latest build (every run with var
check_all_runs), less the runs an operator acknowledged (lakehouse acknowledge)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dbt_harness import ROOT, Lake

from lakehouse import acknowledge as acknowledge_alert
from lakehouse import report as build_report
from lakehouse.contract import header_fingerprint

HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
DRIFTED_HEADER = "TransactionID,CustomerID,Amount,Currency,TransactionTimestamp\n"
VOLUME_TEST = (
    "volume_within_trailing_median_fct_run_metrics_volume__input_rows__source_file__run_id"
)
DRIFT_TEST = "header_matches_contract_fct_run_metrics_schema_drift__source_file"
RATE_TEST = "quarantine_rate_at_most_fct_run_metrics_quarantine_rate"
OPEN_TEST = "quarantine_open_at_most_days_fct_quarantine_open_items_quarantine_open"
ALERTS = (VOLUME_TEST, DRIFT_TEST)
ERROR = "{alert_severity: error}"
ALL_RUNS_ERROR = "{alert_severity: error, check_all_runs: true}"
ACKNOWLEDGE = [sys.executable, "-m", "lakehouse", "acknowledge"]


def write_csv(path: Path, prefix: str, rows: int, header: str = HEADER) -> Path:
    lines = [f"{prefix}-{i},ACC{i % 4},{i}.00,EUR,2024-01-05T09:00:00Z\n" for i in range(rows)]
    path.write_text(header + "".join(lines), encoding="utf-8")
    return path


def statuses(lake: Lake, alerts: tuple[str, ...] = ALERTS) -> dict[str, str]:
    """Status of each alert test in the last dbt command (pass, warn, fail)."""
    results = json.loads((lake.root / "target" / "run_results.json").read_text())["results"]
    found = {r["unique_id"].split(".")[2]: r["status"] for r in results}
    return {name: found[name] for name in alerts}


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
    for name in ("burst.csv", "trickle.csv"):
        assert re.search(rf"alert volume \(warn\): run \S+ \(file {name}\): volume=", warned.stdout)
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
        "--vars", "{volume_alert_factor: '5 or 1=1'}", "--select", "fct_run_metrics",
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


def acknowledge(lake: Lake, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*ACKNOWLEDGE, "--lake-root", str(lake.root), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def acknowledgement_files(lake: Lake) -> dict[str, bytes]:
    folder = lake.root / "acknowledgements"
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


SCOPED_ALERTS = (RATE_TEST, DRIFT_TEST, VOLUME_TEST)


def test_alerts_judge_the_latest_build_and_acknowledged_runs_stop_firing(
    lake: Lake, tmp_path: Path
) -> None:
    normal = [write_csv(tmp_path / f"normal_{n}.csv", f"N{n}", 20) for n in range(3)]
    lake.land(*normal)
    # an old bad file: every record quarantined (SCHEMA_ERROR) and a drifted header
    [bad] = lake.land(write_csv(tmp_path / "drifted.csv", "D", 20, DRIFTED_HEADER))
    failed = lake.build("--vars", ERROR, "--store-failures", check=False)
    assert failed.returncode == 1
    assert statuses(lake, SCOPED_ALERTS) == {
        RATE_TEST: "fail",
        DRIFT_TEST: "fail",
        VOLUME_TEST: "pass",
    }
    # the failure rows name the run and its file
    assert failures(lake, RATE_TEST, "run_id, source_file, input_rows, quarantined_rows") == [
        (bad["run_id"], "drifted.csv", 20, 20)
    ]
    assert failures(lake, DRIFT_TEST, "run_id, source_file") == [(bad["run_id"], "drifted.csv")]
    # and so does the build's output, one line per run (not only "Got 1 result")
    shown = f"run {bad['run_id']} (file drifted.csv): "
    assert (
        f"alert quarantine_rate (fail): {shown}input_rows=20, quarantined_rows=20" in failed.stdout
    )
    assert f"alert schema_drift (fail): {shown}" in failed.stdout

    # a later good run: its build judges its own run, and passes (publishable again)
    lake.land(write_csv(tmp_path / "good.csv", "G", 20))
    passed = lake.build("--vars", ERROR, check=False)
    assert passed.returncode == 0, passed.stdout[-4000:]
    assert set(statuses(lake, SCOPED_ALERTS).values()) == {"pass"}
    published = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "publish.py"), "--lake-root", str(lake.root),
         "--target-path", str(lake.root / "target")],
        capture_output=True, text=True, env=lake.env(), check=False,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr  # what the report reads

    # check_all_runs: every run is judged again, the old one fails
    every = lake.dbt("test", "--select", "fct_run_metrics", "--vars", ALL_RUNS_ERROR, check=False)
    assert every.returncode == 1
    assert statuses(lake, SCOPED_ALERTS) == {
        RATE_TEST: "fail",
        DRIFT_TEST: "fail",
        VOLUME_TEST: "pass",
    }

    # acknowledged for one alert: that alert stops firing for the run, the other still fires
    why = ["--run-id", bad["run_id"], "--by", "Ana Ops", "--reason", "sender re-sent it fixed"]
    first = acknowledge(lake, "--alert", "quarantine_rate", *why)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["event"] == "alert_acknowledged"
    lake.dbt("test", "--select", "fct_run_metrics", "--vars", ALL_RUNS_ERROR, check=False)
    assert statuses(lake, SCOPED_ALERTS) == {
        RATE_TEST: "pass",
        DRIFT_TEST: "fail",
        VOLUME_TEST: "pass",
    }
    assert acknowledge(lake, "--alert", "schema_drift", *why).returncode == 0
    quiet = lake.dbt("test", "--select", "fct_run_metrics", "--vars", ALL_RUNS_ERROR, check=False)
    assert quiet.returncode == 0, quiet.stdout[-4000:]
    assert set(statuses(lake, SCOPED_ALERTS).values()) == {"pass"}

    # append-only: acknowledging again adds a file and leaves the others as they were
    before = acknowledgement_files(lake)
    again = acknowledge(lake, "--alert", "quarantine_rate", *why[:-1], "checked again")
    assert again.returncode == 0, again.stderr
    after = acknowledgement_files(lake)
    assert len(after) == 3 and all(after[name] == body for name, body in before.items())
    lake.dbt("test", "--select", "fct_run_metrics", "--vars", ALL_RUNS_ERROR)
    rows = lake.query(
        "select alert, run_id, acknowledged_by, reason from main_raw.alert_acknowledgements"
        " order by acknowledged_at"
    )
    assert rows == [
        ("quarantine_rate", bad["run_id"], "Ana Ops", "sender re-sent it fixed"),
        ("schema_drift", bad["run_id"], "Ana Ops", "sender re-sent it fixed"),
        ("quarantine_rate", bad["run_id"], "Ana Ops", "checked again"),
    ]

    # the run report lists them
    report = build_report.build(lake.root, None, tmp_path / "site").read_text(encoding="utf-8")
    assert report.count("sender re-sent it fixed") == 2 and "checked again" in report
    assert "Alert acknowledgements (3)" in report

    # the names acknowledgements use are the `alert` arguments of the alert tests
    nodes = json.loads((lake.root / "target" / "manifest.json").read_text())["nodes"].values()
    names = {
        node["test_metadata"]["kwargs"].get("alert")
        for node in nodes
        if node["resource_type"] == "test" and node["name"] in (*SCOPED_ALERTS, OPEN_TEST)
    }
    assert names == set(acknowledge_alert.ALERTS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alert", "volumes"], "unknown alert 'volumes' (known: quarantine_rate, schema_drift,"),
        (["--run-id", "20240105T090000000000Z_0000000a"], "is not a landed run of this lake"),
        (["--run-id", "../../etc"], "not a run_id: '../../etc'"),
        (["--by", " "], "--by must not be empty"),
        (["--reason", "two\nlines"], "--reason must be one line"),
    ],
)
def test_acknowledgements_refuse_what_they_cannot_name(
    lake: Lake, tmp_path: Path, args: list[str], message: str
) -> None:
    [run] = lake.land(write_csv(tmp_path / "one.csv", "O", 3))
    given = {"--alert": "volume", "--run-id": run["run_id"], "--by": "ops", "--reason": "known"}
    given |= dict(zip(args[::2], args[1::2], strict=True))
    result = acknowledge(lake, *[part for pair in given.items() for part in pair])
    assert result.returncode == 1
    assert result.stderr.startswith("acknowledge_alert: refused: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not result.stdout
    assert not (lake.root / "acknowledgements").exists() or not any(
        (lake.root / "acknowledgements").iterdir()
    )


def test_an_acknowledgement_is_never_overwritten(lake: Lake, tmp_path: Path) -> None:
    [run] = lake.land(write_csv(tmp_path / "one.csv", "O", 3))
    store = acknowledge_alert.LocalStore(lake.root)
    now = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    first = acknowledge_alert.acknowledge(store, "volume", run["run_id"], "ops", "known", now)
    written = Path(first["location"]).read_bytes()
    with pytest.raises(acknowledge_alert.Refused, match="never overwritten"):
        acknowledge_alert.acknowledge(store, "volume", run["run_id"], "ops", "other", now)
    assert Path(first["location"]).read_bytes() == written
    assert [p.name for p in (lake.root / "acknowledgements").iterdir()] == [
        Path(first["location"]).name
    ]
