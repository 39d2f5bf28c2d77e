"""publish.py --s3-uri: chained `_SUCCESS` markers on S3 with the metrics read through Athena's
API, and `lakehouse verify --s3-uri` on them.

S3 and Athena are moto's server on 127.0.0.1 over HTTP; the files are landed by the real loader.
Moto's Athena does not execute SQL: the test queues the result rows Athena would return (header
row first, every value as text) and checks what publish.py makes of them; the fct_run_metrics
query itself never ran on Athena. dbt (`run-operation publish_audited` and `show` of the mart
checksums, which the Trino test runs for real) is a stand-in script here that records how it was
called and answers `show` with the rows in show.json beside it: publish.py must run
publish_audited before any marker is written.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import FIXTURES, LOADER
from s3_stand_in import S3StandIn, s3_fixture, s3_server_fixture  # noqa: F401

from lakehouse import publish

ROOT = Path(__file__).resolve().parents[2]
PUBLISH = ROOT / "scripts" / "publish.py"
MARKERS = "lake/processed/transactions/"
BATCHES = sorted((FIXTURES / "batches").glob("batch_*.csv"))[:2]
METRICS = [("8", "4", "0.5"), ("7", "3", "0.0")]  # what Athena answers per landed run
COLUMNS = [
    ("run_id", "varchar"),
    ("ingest_date", "date"),
    ("source_file", "varchar"),
    ("input_rows", "bigint"),
    ("valid_rows", "bigint"),
    ("quarantine_rate", "double"),
    ("first_transaction_ts", "timestamp"),
]
CHAIN_FIELDS = ("raw_sha256", "previous_run_id", "previous_marker_sha256", "mart_checksums")


def cells(values: list[str | None]) -> dict[str, Any]:
    return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}


def land(s3: S3StandIn) -> list[tuple[str, str, str]]:
    """The batches landed in the lake by the real loader: (run_id, ingest_date, file) each."""
    command = [sys.executable, str(LOADER), "--s3-uri", f"s3://{s3.bucket}/lake"]
    result = subprocess.run(
        [*command, *map(str, BATCHES)], env=s3.env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    runs = []
    for record in map(json.loads, result.stdout.splitlines()):
        ingest_date = record["path"].split("ingest_date=")[1].split("/")[0]
        runs.append((record["run_id"], ingest_date, Path(record["path"]).name))
    return sorted(runs)


def queue_athena_result(s3: S3StandIn, runs: list[tuple[str, str, str]]) -> None:
    """The next Athena query answers the fct_run_metrics rows (moto's result queue)."""
    rows = [cells([name for name, _ in COLUMNS])]
    values = [[*run, *numbers] for run, numbers in zip(runs, METRICS, strict=True)]
    rows += [cells([*values[0], "2024-01-05 09:00:00.000000"])]
    rows += [cells([*run, None]) for run in values[1:]]
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


def checksum_rows(runs: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """What `dbt show` of the mart checksums answers (the stand-in's show.json)."""
    return [
        {
            "run_id": run_id,
            "mart": mart,
            "row_count": str(rows),
            "rows_checksum": f"{n + 1:x}{rows}",
        }
        for n, (run_id, _, _) in enumerate(runs)
        for mart, rows in (("fct_transactions", 4 - n), ("fct_quarantined_records", 2))
    ]


def target(
    tmp_path: Path, status: str = "success", dbt_exit: int = 0, show: list[Any] | None = None
) -> Path:
    """A build's target directory, and beside it a dbt stand-in that records its arguments in
    dbt_calls.jsonl, answers `show` with show.json (``show``) and exits with ``dbt_exit``."""
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
    answer = tmp_path / "show.json"
    answer.write_text(json.dumps({"show": show or []}, indent=2))
    stub = tmp_path / "dbt"
    stub.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"if sys.argv[1] == 'show' and not {dbt_exit}: print(open({str(answer)!r}).read())\n"
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


def run_verify(s3: S3StandIn, target_path: Path) -> Any:
    command = [sys.executable, "-m", "lakehouse", "verify", "--s3-uri", f"s3://{s3.bucket}/lake"]
    command += ["--target-path", str(target_path), "--dbt", str(target_path.parent / "dbt")]
    return subprocess.run(command, capture_output=True, text=True, env=s3.env, check=False)


def marker_keys(s3: S3StandIn) -> list[str]:
    return [k for k in s3.list_keys(MARKERS) if k.endswith("/_SUCCESS")]


def marker_key(run: tuple[str, str, str]) -> str:
    return f"{MARKERS}ingest_date={run[1]}/run_id={run[0]}/_SUCCESS"


def test_markers_on_s3_with_the_athena_metrics_never_overwritten(
    s3: S3StandIn, tmp_path: Path
) -> None:
    runs = land(s3)
    # a marker written before the chain existed: kept as is, counted as pre-chain
    taken, first = marker_key(runs[0]), marker_key(runs[1])
    s3.put(taken, b'{"published": "before"}\n')
    queue_athena_result(s3, runs)

    result = run_publish(s3, target(tmp_path, show=checksum_rows(runs)))

    assert result.returncode == 0, result.stderr
    operation, show = dbt_calls(tmp_path / "target")
    assert operation[:4] == ["run-operation", "publish_audited", "--target", "athena"]
    assert operation[operation.index("--target-path") + 1] == str(tmp_path / "target" / "publish")
    assert show[:2] == ["show", "--inline"] and runs[1][0] in show[2]
    assert show[show.index("--target") + 1] == "athena"
    assert marker_keys(s3) == sorted([first, taken])
    assert s3.read(taken) == b'{"published": "before"}\n'  # never overwritten
    marker = json.loads(s3.read(first))
    metrics = {
        "run_id": runs[1][0],
        "ingest_date": runs[1][1],
        "source_file": "batch_2.csv",
        "input_rows": 7,
        "valid_rows": 3,
        "quarantine_rate": 0.0,
        "first_transaction_ts": None,
    }
    assert marker == {
        **metrics,
        "raw_sha256": hashlib.sha256(BATCHES[1].read_bytes()).hexdigest(),
        "previous_run_id": None,  # the first chained marker: the pre-chain one is not chained
        "previous_marker_sha256": None,
        "mart_checksums": {
            "fct_transactions": {"rows": 3, "checksum": "23"},
            "fct_quarantined_records": {"rows": 2, "checksum": "22"},
        },
    }
    assert s3.head(first)["ServerSideEncryption"] == "AES256"
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert line["event"] == "run_published" and line["level"] == "info"
    assert line["run_id"] == runs[1][0]
    assert line["marker"] == f"s3://{s3.bucket}/{first}"
    assert line["marker_sha256"] == hashlib.sha256(s3.read(first)).hexdigest()
    assert line["metrics"] == metrics

    queue_athena_result(s3, runs)
    again = run_publish(s3, target(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert marker_keys(s3) == sorted([first, taken])

    verified = run_verify(s3, target(tmp_path / "verify", show=checksum_rows(runs)))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ok: 1 chained marker" in verified.stdout and "1 pre-chain marker" in verified.stdout


def test_a_run_older_than_a_marker_is_refused(s3: S3StandIn, tmp_path: Path) -> None:
    """Markers are chained in run_id order: a run without one, older than a run with one, is
    refused and nothing is written."""
    runs = land(s3)
    s3.put(marker_key(runs[1]), b'{"published": "before"}\n')
    queue_athena_result(s3, runs)
    result = run_publish(s3, target(tmp_path, show=checksum_rows(runs)))
    assert result.returncode == 1
    [message] = result.stderr.splitlines()
    assert f"run {runs[0][0]} has no marker but the later run {runs[1][0]} has one" in message
    assert marker_keys(s3) == [marker_key(runs[1])]


def test_chain_on_s3_and_verify_finds_raw_and_marker_changes(s3: S3StandIn, tmp_path: Path) -> None:
    runs = land(s3)
    queue_athena_result(s3, runs)
    assert run_publish(s3, target(tmp_path, show=checksum_rows(runs))).returncode == 0
    first, second = (json.loads(s3.read(marker_key(run))) for run in runs)
    assert first["previous_run_id"] is None and first["previous_marker_sha256"] is None
    assert second["previous_run_id"] == runs[0][0]
    first_bytes = s3.read(marker_key(runs[0]))
    assert second["previous_marker_sha256"] == hashlib.sha256(first_bytes).hexdigest()
    for marker, batch in zip((first, second), BATCHES, strict=True):
        assert marker["raw_sha256"] == hashlib.sha256(batch.read_bytes()).hexdigest()

    check = target(tmp_path / "verify", show=checksum_rows(runs))
    verified = run_verify(s3, check)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ok: 2 chained markers" in verified.stdout
    [call] = dbt_calls(check)
    assert call[:3] == ["show", "--inline", "{{ chain_checksums() }}"]

    def broken_at(run_id: str, *words: str) -> None:
        result = run_verify(s3, check)
        assert result.returncode == 1, result.stdout + result.stderr
        [line] = result.stdout.splitlines()
        assert f"chain broken at run {run_id} " in line
        assert all(word in line for word in words), line

    raw = f"lake/raw/transactions/ingest_date={runs[1][1]}/run_id={runs[1][0]}/{runs[1][2]}"
    landed = s3.read(raw)
    s3.put(raw, landed.replace(b"1", b"2", 1))  # a byte of the raw file changed
    broken_at(runs[1][0], "raw file", runs[1][2])
    s3.put(raw, landed)

    edited = {**first, "input_rows": 9}
    s3.put(marker_key(runs[0]), (json.dumps(edited, sort_keys=True) + "\n").encode())
    broken_at(runs[0][0], "a marker was changed")
    s3.put(marker_key(runs[0]), first_bytes)

    rows = checksum_rows(runs)
    rows[2]["rows_checksum"] = "ff"  # the published rows of the second run differ
    (check.parent / "show.json").write_text(json.dumps({"show": rows}))
    broken_at(runs[1][0], "fct_transactions: the marker records 3 rows, checksum 23")

    (check.parent / "show.json").write_text(json.dumps({"show": checksum_rows(runs)}))
    assert run_verify(s3, check).returncode == 0


def test_sse_kms_markers(s3: S3StandIn, tmp_path: Path) -> None:
    runs = land(s3)
    queue_athena_result(s3, runs)
    show = checksum_rows(runs)
    result = run_publish(
        s3, target(tmp_path, show=show), "--sse", "aws:kms", "--kms-key-id", "alias/lake"
    )
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
    queue_athena_result(s3, land(s3))
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
