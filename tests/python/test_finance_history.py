"""Issue #18's acceptance scenario, one scenario run on DuckDB and on the Athena target (Trino
stand-in), whose answers must agree:

1. January's file lands before January closes, with three bad rows (an unknown currency, an
   amount with three decimals, a row without a TransactionID); built and published.
2. February's file lands after January closed: it corrects the unknown currency (that record is
   `resolved`, linked to the run, file and line of its accepted version) and restates ACC2's
   January; built and published. An operator then waives the three-decimal amount
   (`lakehouse quarantine decide`); the record without an id stays `open`.
3. A late January transaction lands after February closed: it restates ACC1's January and
   February; built and published.

Then: the lifecycle (resolved with its links, waived, open), the balances as known at each run
(equal to what fct_month_end_balances said right after it), the restatement report with the lines
that changed each balance, and `lakehouse verify`: 0, then 1 naming the run after a raw file, a
marker and finally a published mart row is altered.

Landing moments are set (lakehouse.landing._landing_moment patched in this process) so that the
files land before and after the month closes (var month_close_days: 5).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any, Protocol

import pytest
from athena_stand_in import AthenaStandIn
from dbt_harness import PRODUCTION_BUILD_FLAGS, Lake
from parity import normalized
from test_athena_build import (
    BUCKET,
    athena_env,
    athena_table,
    dbt_athena,
    lake_prefix,
    land_s3_args,
    loader_in_process,
    publish_s3,
)

from lakehouse import land as land_csv
from lakehouse import landing as lake_landing
from lakehouse import landing_s3 as lake_landing_s3

HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp"
FILES = {
    # January, landed before January closes (2024-02-06): three bad rows (lines 4, 5 and 6)
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
WAIVED_LINE, WAIVER = 5, ("ana", 'sender: "1.234 is right", booked as is')
# (account, month): (closing balance at the close, now), and the lines (file, line) behind it
RESTATED = {
    ("ACC1", "2024-01"): ((D("100.00"), D("105.00")), [("late.csv", 2)]),
    ("ACC1", "2024-02"): ((D("120.00"), D("125.00")), [("late.csv", 2)]),
    ("ACC2", "2024-01"): ((D("50.00"), D("60.00")), [("feb.csv", 3)]),
}
# Each jan.csv quarantined line: status, resolving (file, line), decision, by, reason
LIFECYCLE_EXPECTED = [
    (4, "resolved", ("feb.csv", 3), None, None, None),
    (WAIVED_LINE, "waived", (None, None), "waive", *WAIVER),
    (6, "open", (None, None), None, None, None),
]
LIFECYCLE = (
    "select line_number, status, resolved_by_run_id, resolved_by_source_file,"
    " resolved_by_line_number, decision, decided_by, decision_reason"
    " from {schema}.fct_quarantine_lifecycle order by line_number"
)
BALANCES = (
    "select account_id, currency, month, month_end, balance, closing_balance, tx_count"
    " from main_marts.fct_month_end_balances order by all"
)
COMPARED = (
    "fct_month_end_balance_history",
    "fct_balance_restatements",
    "fct_balance_restatement_lines",
    "fct_quarantine_lifecycle",
)
# what two lakes that landed the same files at the same moments cannot share: when the build
# ran and when the operator decided
NOT_SHARED = {"decided_at", "status_since"}
TAMPERED_TRANSACTION = "T-5"  # feb.csv's: its published row is edited last
BROKEN_RE = re.compile(r"chain broken at run (\S+) \(\d+ of \d+ in chain order\): (.*)")


class Engine(Protocol):
    """One target's side of the scenario: the same steps, on its own lake and warehouse."""

    def land(self, path: Path) -> None: ...
    def build(self) -> None: ...
    def publish(self) -> None: ...
    def decide(self, run_id: str, line: int, action: str, by: str, reason: str) -> None: ...
    def verify(self) -> subprocess.CompletedProcess[str]: ...
    def rows(self, mart: str) -> tuple[list[str], list[tuple]]: ...
    def query(self, sql: str) -> list[tuple]: ...
    def runs(self) -> dict[str, str]: ...
    def raw(self, run_id: str) -> Callable[[bytes | None], bytes]: ...
    def marker(self, run_id: str) -> Callable[[bytes | None], bytes]: ...
    def edit_transaction(self, transaction_id: str) -> None: ...

    schema: str


def lakehouse(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lakehouse", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def local_file(path: Path) -> Callable[[bytes | None], bytes]:
    """Reads a file (None) or replaces its bytes; returns what it held before."""

    def access(body: bytes | None) -> bytes:
        before = path.read_bytes()
        if body is not None:
            path.write_bytes(body)
        return before

    return access


@dataclass
class DuckDBEngine:
    lake: Lake
    schema: str = "main_marts"

    def land(self, path: Path) -> None:
        assert land_csv.main(["--lake-root", str(self.lake.root), str(path)]) == 0

    def build(self) -> None:
        self.lake.build()

    def publish(self) -> None:
        result = lakehouse("publish", *self._where(), env=self.lake.env())
        assert result.returncode == 0, result.stderr

    def _where(self) -> list[str]:
        return ["--lake-root", str(self.lake.root), "--target-path", str(self.lake.root / "target")]

    def decide(self, run_id: str, line: int, action: str, by: str, reason: str) -> None:
        decided = lakehouse(
            "quarantine", "decide", "--lake-root", str(self.lake.root), "--run-id", run_id,
            "--line", str(line), "--action", action, "--by", by, "--reason", reason,
            env=self.lake.env(),
        )  # fmt: skip
        assert decided.returncode == 0, decided.stderr

    def verify(self) -> subprocess.CompletedProcess[str]:
        return lakehouse("verify", *self._where(), env=self.lake.env())

    def rows(self, mart: str) -> tuple[list[str], list[tuple]]:
        names = [
            r[0] for r in self.query(f"select column_name from (describe {self.schema}.{mart})")
        ]
        return names, self.query(f"select * from {self.schema}.{mart}")

    def query(self, sql: str) -> list[tuple]:
        return self.lake.query(sql)

    def runs(self) -> dict[str, str]:
        return dict(self.query("select run_id, file_name from main_raw.transaction_manifests"))

    def _run_folder(self, layer: str, run_id: str) -> Path:
        [folder] = (self.lake.root / layer / "transactions").glob(f"ingest_date=*/run_id={run_id}")
        return folder

    def raw(self, run_id: str) -> Callable[[bytes | None], bytes]:
        return local_file(self._run_folder("raw", run_id) / self.runs()[run_id])

    def marker(self, run_id: str) -> Callable[[bytes | None], bytes]:
        return local_file(self._run_folder("processed", run_id) / "_SUCCESS")

    def edit_transaction(self, transaction_id: str) -> None:
        """Edits the published row (locally the published relation is a table, a copy)."""
        with duckdb_connection(self.lake) as con:
            con.execute(
                "update main_published.fct_transactions set amount = amount + 1"
                f" where transaction_id = '{transaction_id}'"
            )


def duckdb_connection(lake: Lake) -> Any:
    import duckdb

    return duckdb.connect(str(lake.root / "warehouse.duckdb"))


@dataclass
class AthenaEngine:
    athena: AthenaStandIn
    env: dict[str, str]
    target: Path

    @property
    def schema(self) -> str:
        return f"{self.env['ATHENA_SCHEMA']}_marts"

    @property
    def uri(self) -> str:
        return f"s3://{BUCKET}/{lake_prefix(self.env['ATHENA_SCHEMA'])}"

    def land(self, path: Path) -> None:
        assert land_csv.main([*land_s3_args(self.env), str(path)]) == 0

    def build(self) -> None:
        dbt_athena(self.athena, self.env, self.target, "build", *PRODUCTION_BUILD_FLAGS)

    def publish(self) -> None:
        result = publish_s3(self.athena, self.env, self.target)
        assert result.returncode == 0, result.stderr[-3000:]

    def decide(self, run_id: str, line: int, action: str, by: str, reason: str) -> None:
        decided = lakehouse(
            "quarantine", "decide", "--s3-uri", self.uri, "--run-id", run_id,
            "--line", str(line), "--action", action, "--by", by, "--reason", reason,
            env=self.env,
        )  # fmt: skip
        assert decided.returncode == 0, decided.stderr

    def verify(self) -> subprocess.CompletedProcess[str]:
        return lakehouse(
            "verify", "--s3-uri", self.uri, "--target-path", str(self.target), env=self.env
        )

    def rows(self, mart: str) -> tuple[list[str], list[tuple]]:
        return athena_table(self.athena, self.schema, mart)

    def query(self, sql: str) -> list[tuple]:
        return self.athena.query(sql)[1]

    def runs(self) -> dict[str, str]:
        raw = f"{self.env['ATHENA_SCHEMA']}_raw"
        return dict(self.query(f"select run_id, file_name from {raw}.transaction_manifests"))

    def _object(self, layer: str, run_id: str, name: str) -> Callable[[bytes | None], bytes]:
        prefix = f"{lake_prefix(self.env['ATHENA_SCHEMA'])}{layer}/transactions/"
        pages = self.athena.s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=prefix
        )
        [key] = [
            obj["Key"]
            for page in pages
            for obj in page.get("Contents", [])
            if obj["Key"].endswith(f"/run_id={run_id}/{name}")
        ]

        def access(body: bytes | None) -> bytes:
            before = self.athena.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            if body is not None:
                self.athena.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            return bytes(before)

        return access

    def raw(self, run_id: str) -> Callable[[bytes | None], bytes]:
        return self._object("raw", run_id, self.runs()[run_id])

    def marker(self, run_id: str) -> Callable[[bytes | None], bytes]:
        return self._object("processed", run_id, "_SUCCESS")

    def edit_transaction(self, transaction_id: str) -> None:
        """Edits the built row in the Iceberg table (a new snapshot), then publishes again: the
        published relation is a view pinned to a snapshot, and moves to the edited one."""
        self.query(
            f"update {self.schema}.fct_transactions set amount = amount + 1"
            f" where transaction_id = '{transaction_id}'"
        )
        self.publish()


def write_files(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
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


def land_and_build(engines: list[Engine], directory: Path, at_moment: Any) -> dict[str, list]:
    """Steps 1 to 3 on every engine; DuckDB's balances right after each run, by run_id."""
    said = {}
    for name, path in write_files(directory).items():
        at_moment(FILES[name][0])
        for engine in engines:
            engine.land(path)
            engine.build()
            engine.publish()
            if name == "feb.csv":  # the operator's waiver, read by the next build
                jan = {f: r for r, f in engine.runs().items()}["jan.csv"]
                engine.decide(jan, WAIVED_LINE, "waive", *WAIVER)
            if isinstance(engine, DuckDBEngine):
                [[run_id]] = engine.query("select max(run_id) from main_marts.fct_run_metrics")
                said[run_id] = engine.query(BALANCES)
    return said


def lifecycle(engine: Engine) -> list[tuple]:
    """jan.csv's quarantined lines as LIFECYCLE_EXPECTED has them; a resolving link names the
    run that landed its file."""
    runs = engine.runs()
    found = []
    for line, status, run_id, file, resolving_line, *rest in engine.query(
        LIFECYCLE.format(schema=engine.schema)
    ):
        assert run_id is None or runs[run_id] == file, (line, run_id, file)
        found.append((line, status, (file, resolving_line), *rest))
    return found


def tampering(engine: Engine) -> list[tuple[int, str | None, str]]:
    """`lakehouse verify` on the untouched chain, then after each alteration (raw file and
    marker restored after their check; the mart row edit is the last): (exit status, the file of
    the run it names, the problem), run ids replaced by file names."""
    by_run = engine.runs()
    jan, feb = ({f: r for r, f in by_run.items()}[name] for name in ("jan.csv", "feb.csv"))
    verdicts = [verdict(engine.verify(), by_run)]
    raw = engine.raw(feb)
    landed = raw(None)
    raw(landed.replace(b"20.00", b"21.00"))
    verdicts.append(verdict(engine.verify(), by_run))
    raw(landed)
    marker = engine.marker(jan)
    body = marker(None)
    edited = json.loads(body)
    edited["valid_rows"] += 1
    marker(json.dumps(edited, sort_keys=True).encode() + b"\n")
    verdicts.append(verdict(engine.verify(), by_run))
    marker(body)
    verdicts.append(verdict(engine.verify(), by_run))
    engine.edit_transaction(TAMPERED_TRANSACTION)
    verdicts.append(verdict(engine.verify(), by_run))
    return verdicts


def verdict(result: subprocess.CompletedProcess[str], runs: dict[str, str]) -> tuple:
    """(exit status, the file of the run a broken chain names, the line) with run ids replaced
    by file names and hashes by '#' (they differ between two lakes of the same files)."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), result.stdout + result.stderr
    [line] = result.stdout.splitlines()
    found = BROKEN_RE.search(line)
    assert (result.returncode == 1) == bool(found), line
    for run, file in runs.items():
        line = line.replace(run, file)
    return (
        result.returncode,
        found and runs[found.group(1)],
        re.sub(r"\b[0-9a-f]{8,}…?", "#", line),
    )


def assert_verdicts(verdicts: list[tuple]) -> None:
    """The verdicts are EXPECTED_VERDICTS: status, the run named, a phrase of the line."""
    assert len(verdicts) == len(EXPECTED_VERDICTS), verdicts
    for (status, run, line), (expected_status, expected_run, phrase) in zip(
        verdicts, EXPECTED_VERDICTS, strict=True
    ):
        assert (status, run) == (expected_status, expected_run), line
        assert phrase in line, line


def test_acceptance_scenario_on_duckdb(tmp_path: Path, at_moment: Any) -> None:
    engine = DuckDBEngine(Lake(tmp_path / "lake"))
    said = land_and_build([engine], tmp_path / "in", at_moment)
    by_run = engine.runs()

    # The quarantine closed its loop: resolved (linked), waived, open.
    assert lifecycle(engine) == LIFECYCLE_EXPECTED
    [(resolving_run,)] = engine.query(
        "select resolved_by_run_id from main_marts.fct_quarantine_lifecycle"
        " where status = 'resolved'"
    )
    assert by_run[resolving_run] == "feb.csv"
    # Balances as known at each run are what fct_month_end_balances said right after it.
    for run_id, balances in said.items():
        assert engine.lake.balances_as_known_at(run_id) == balances, by_run[run_id]
    # The restatement report: the balances that changed after their month closed, and the lines.
    restated = engine.query(
        "select account_id, month, closing_balance_at_close, closing_balance"
        " from main_marts.fct_balance_restatements order by all"
    )
    assert {(a, m): (then, now) for a, m, then, now in restated} == {
        key: figures for key, (figures, _) in RESTATED.items()
    }
    lines = engine.query(
        "select account_id, month, source_file, line_number"
        " from main_marts.fct_balance_restatement_lines order by all"
    )
    assert lines == sorted(
        (a, m, file, line) for (a, m), (_, found) in RESTATED.items() for file, line in found
    )
    # The chain verifies, and each alteration is found at its run.
    assert_verdicts(tampering(engine))


EXPECTED_VERDICTS = [
    (0, None, "ok: 3 chained markers"),
    (1, "feb.csv", "raw file feb.csv: sha256 #, the marker records #"),
    (1, "jan.csv", "but the next marker (run feb.csv) recorded #: a marker was changed"),
    (0, None, "ok: 3 chained markers"),
    (1, "feb.csv", "fct_transactions: the marker records 2 rows, checksum #; the published rows"),
]


@pytest.mark.xdist_group("trino")
def test_same_answers_on_the_athena_target(
    athena: AthenaStandIn, tmp_path: Path, at_moment: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole scenario, landed into S3 and built on Trino, with DuckDB beside it: the same
    lifecycle, history, restatements and verify verdicts."""
    env = athena_env(athena, tmp_path / "aws-home", schema="history")
    target = tmp_path / "athena-target"
    dbt_athena(athena, env, target, "run-operation", "create_raw_relations")
    loader_in_process(monkeypatch, env)
    trino = AthenaEngine(athena, env, target)
    local = DuckDBEngine(Lake(tmp_path / "lake"))
    land_and_build([local, trino], tmp_path / "in", at_moment)

    assert lifecycle(trino) == LIFECYCLE_EXPECTED
    for mart in COMPARED:
        names, rows = trino.rows(mart)
        local_names, expected = local.rows(mart)
        assert names == local_names, mart
        assert rows, f"{mart} is empty on the stand-in"
        assert by_file(rows, names, trino.runs()) == by_file(expected, names, local.runs()), mart
    verdicts = tampering(trino)
    assert_verdicts(verdicts)
    assert verdicts == tampering(local)


def by_file(rows: list[tuple], names: list[str], runs: dict[str, str]) -> list[Any]:
    """Rows without NOT_SHARED columns, every run_id (in any *_run_id column) replaced by its
    file's name, then as parity.normalized compares them."""
    kept = [i for i, name in enumerate(names) if name not in NOT_SHARED]
    mapped = [tuple(runs.get(row[i], row[i]) for i in kept) for row in rows]
    return normalized(mapped, [names[i] for i in kept], {})
