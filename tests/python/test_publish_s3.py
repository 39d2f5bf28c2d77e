"""publish.py --s3-uri: `_SUCCESS` markers on S3 with the metrics read through Athena's API.

S3 and Athena are moto's server on 127.0.0.1 over HTTP. Moto's Athena does not execute SQL: the
test queues the result rows Athena would return (header row first, every value as text) and
checks what publish.py makes of them; the fct_run_metrics query itself never ran on Athena. dbt
(`run-operation publish_audited`, which the Trino test runs for real) is a stand-in script here
that records how it was called: publish.py must run it before any marker is written.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from s3_stand_in import S3StandIn, s3_fixture, s3_server_fixture  # noqa: F401

from lakehouse import publish

ROOT = Path(__file__).resolve().parents[2]
PUBLISH = ROOT / "scripts" / "publish.py"
MARKERS = "lake/processed/transactions/"
RUNS = [
    ("20240105T090000000000Z_0000000a", "2024-01-05", "batch_1.csv", "8", "4", "0.5"),
    ("20240106T090000000000Z_0000000b", "2024-01-06", "batch_2.csv", "7", "3", "0.0"),
]
COLUMNS = [
    ("run_id", "varchar"),
    ("ingest_date", "date"),
    ("source_file", "varchar"),
    ("input_rows", "bigint"),
    ("valid_rows", "bigint"),
    ("quarantine_rate", "double"),
    ("first_transaction_ts", "timestamp"),
]


def cells(values: list[str | None]) -> dict[str, Any]:
    return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}


def queue_athena_result(s3: S3StandIn) -> None:
    """The next Athena query answers the fct_run_metrics rows (moto's result queue)."""
    rows = [cells([name for name, _ in COLUMNS])]
    rows += [cells([*run, "2024-01-05 09:00:00.000000"]) for run in RUNS[:1]]
    rows += [cells([*run, None]) for run in RUNS[1:]]
    body = {
        "region": "eu-west-1",
        "results": [
            {
                "rows": rows,
                "column_info": [
                    {"Name": name, "Label": name, "Type": kind, "Nullable": "UNKNOWN"}
                    for name, kind in COLUMNS
                ],
            }
        ],
    }
    request = urllib.request.Request(
        f"{s3.endpoint}/moto-api/static/athena/query-results",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201


def target(tmp_path: Path, status: str = "success", dbt_exit: int = 0) -> Path:
    """A build's target directory, and beside it a dbt stand-in that records its arguments in
    dbt_calls.jsonl and exits with ``dbt_exit``."""
    path = tmp_path / "target"
    path.mkdir(parents=True)
    results = {"args": {"which": "build"}, "results": [{"unique_id": "m", "status": status}]}
    (path / "run_results.json").write_text(json.dumps(results))
    node = {
        "schema": "transactions_published",
        "identifier": "fct_run_metrics",
        "name": "fct_run_metrics",
    }
    (path / "manifest.json").write_text(json.dumps({"sources": {publish.METRICS_SOURCE: node}}))
    calls = tmp_path / "dbt_calls.jsonl"
    stub = tmp_path / "dbt"
    stub.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"print('publish_audited: stand-in failure' if {dbt_exit} else 'ok')\n"
        f"sys.exit({dbt_exit})\n"
    )
    stub.chmod(0o755)
    return path


def dbt_calls(target_path: Path) -> list[list[str]]:
    calls = target_path.parent / "dbt_calls.jsonl"
    if not calls.exists():
        return []
    return [json.loads(line) for line in calls.read_text().splitlines()]


def run_publish(s3: S3StandIn, target_path: Path, *extra: str) -> Any:
    env = {**s3.env, "ATHENA_WORK_GROUP": "primary"}
    env["ATHENA_S3_STAGING_DIR"] = f"s3://{s3.bucket}/athena-results/"
    command = [sys.executable, str(PUBLISH), "--s3-uri", f"s3://{s3.bucket}/lake"]
    command += ["--target-path", str(target_path), "--dbt", str(target_path.parent / "dbt")]
    command += [*extra]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def marker_keys(s3: S3StandIn) -> list[str]:
    return [k for k in s3.list_keys(MARKERS) if k.endswith("/_SUCCESS")]


def test_markers_on_s3_with_the_athena_metrics_never_overwritten(
    s3: S3StandIn, tmp_path: Path
) -> None:
    taken = f"{MARKERS}ingest_date=2024-01-06/run_id={RUNS[1][0]}/_SUCCESS"
    s3.put(taken, b'{"published": "before"}\n')
    queue_athena_result(s3)

    result = run_publish(s3, target(tmp_path))

    assert result.returncode == 0, result.stderr
    [call] = dbt_calls(tmp_path / "target")
    assert call[:4] == ["run-operation", "publish_audited", "--target", "athena"]
    assert call[call.index("--target-path") + 1] == str(tmp_path / "target" / "publish")
    first = f"{MARKERS}ingest_date=2024-01-05/run_id={RUNS[0][0]}/_SUCCESS"
    assert marker_keys(s3) == sorted([first, taken])
    assert s3.read(taken) == b'{"published": "before"}\n'  # never overwritten
    marker = json.loads(s3.read(first))
    assert marker == {
        "run_id": RUNS[0][0],
        "ingest_date": "2024-01-05",
        "source_file": "batch_1.csv",
        "input_rows": 8,
        "valid_rows": 4,
        "quarantine_rate": 0.5,
        "first_transaction_ts": "2024-01-05T09:00:00",
    }
    assert s3.head(first)["ServerSideEncryption"] == "AES256"
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert line["event"] == "run_published" and line["level"] == "info"
    assert line["run_id"] == RUNS[0][0]
    assert line["marker"] == f"s3://{s3.bucket}/{first}"
    assert line["metrics"] == marker

    queue_athena_result(s3)
    again = run_publish(s3, target(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert marker_keys(s3) == sorted([first, taken])


def test_sse_kms_markers(s3: S3StandIn, tmp_path: Path) -> None:
    queue_athena_result(s3)
    result = run_publish(s3, target(tmp_path), "--sse", "aws:kms", "--kms-key-id", "alias/lake")
    assert result.returncode == 0, result.stderr
    head = s3.head(marker_keys(s3)[0])
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/lake")


def test_a_failed_build_publishes_nothing_on_s3(s3: S3StandIn, tmp_path: Path) -> None:
    result = run_publish(s3, target(tmp_path, status="error"))
    assert result.returncode == 1
    assert "refused" in result.stderr
    line = json.loads(result.stdout)
    assert line["event"] == "publish_refused" and line["level"] == "error"
    assert marker_keys(s3) == []
    assert dbt_calls(tmp_path / "target") == []  # the published views are not touched


def test_no_marker_when_the_marts_could_not_be_published(s3: S3StandIn, tmp_path: Path) -> None:
    queue_athena_result(s3)
    result = run_publish(s3, target(tmp_path, dbt_exit=1))
    assert result.returncode == 1
    [message] = result.stderr.splitlines()
    assert message.startswith("publish: refused: publish_audited failed (dbt exit 1)")
    assert "stand-in failure" in message
    assert marker_keys(s3) == []


def test_the_metrics_relation_comes_from_dbt_manifest(tmp_path: Path) -> None:
    assert publish.metrics_relation(target(tmp_path) / "manifest.json") == (
        "transactions_published",
        "fct_run_metrics",
    )
    (tmp_path / "bad").mkdir()
    node = {"schema": 'x"; drop table y; --', "identifier": "fct_run_metrics"}
    bad = tmp_path / "bad" / "manifest.json"
    bad.write_text(json.dumps({"sources": {publish.METRICS_SOURCE: node}}))
    with pytest.raises(publish.PublishRefused, match="unexpected relation name"):
        publish.metrics_relation(bad)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("12", "bigint", 12),
        ("0.25", "double", 0.25),
        ("true", "boolean", True),
        ("2024-01-31", "date", "2024-01-31"),
        ("2024-01-31 23:59:59.123456", "timestamp(6)", "2024-01-31T23:59:59.123456"),
        ("1.10", "decimal(18,2)", "1.10"),
        (None, "bigint", None),
    ],
)
def test_athena_text_values_become_the_local_json(text: str | None, kind: str, value: Any) -> None:
    assert publish.athena_value(text, kind) == value


class FakeAthena:
    """Just enough of the Athena client: states in turn, then result pages."""

    def __init__(self, states: list[str], pages: list[list[list[str | None]]]) -> None:
        self.states = states
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    def start_query_execution(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"QueryExecutionId": "q1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        state = self.states.pop(0)
        return {"QueryExecution": {"Status": {"State": state, "StateChangeReason": "boom"}}}

    def get_paginator(self, name: str) -> Any:
        assert name == "get_query_results"
        info = [{"Type": "varchar"}, {"Type": "bigint"}]
        pages = [
            {
                "ResultSet": {
                    "ResultSetMetadata": {"ColumnInfo": info},
                    "Rows": [cells(r) for r in p],
                }
            }
            for p in self.pages
        ]
        return type("Paginator", (), {"paginate": lambda _self, **_: iter(pages)})()


def test_athena_metrics_wait_page_and_take_the_header_from_the_first_page() -> None:
    pages = [[["run_id", "input_rows"], ["r1", "3"]], [["r2", None]]]
    client = FakeAthena(["QUEUED", "RUNNING", "SUCCEEDED"], pages)
    relation = ("s_marts", "fct_run_metrics")
    metrics = publish.AthenaMetrics(client, relation, "wg", "s3://r/", sleep=id)
    assert metrics.run_metrics() == [
        {"run_id": "r1", "input_rows": 3},
        {"run_id": "r2", "input_rows": None},
    ]
    [request] = client.requests
    assert request["QueryString"] == 'select * from "s_marts"."fct_run_metrics" order by run_id'
    assert request["WorkGroup"] == "wg"
    assert request["ResultConfiguration"] == {"OutputLocation": "s3://r/"}


def test_a_failed_athena_query_refuses_naming_the_query() -> None:
    client = FakeAthena(["RUNNING", "FAILED"], [])
    metrics = publish.AthenaMetrics(client, ("s_marts", "fct_run_metrics"), "wg", sleep=id)
    with pytest.raises(publish.PublishRefused, match=r"Athena query q1 .* FAILED: boom"):
        metrics.run_metrics()
