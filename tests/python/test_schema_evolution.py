"""Schema evolution, the tested path: a minor contract version adds an optional column.

On a copy of the project: build with contract 1.0, then declare an optional `Channel` column
(contract 1.1.0) in the places `lakehouse contract check-drift` watches, land a file that carries it
and an old-format file, and build again *without* a full refresh. The new column reaches
fct_transactions (on_schema_change: append_new_columns); rows of older runs and of files without
the column keep NULL; old-format files stay valid.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_harness import FIXTURES, ROOT, Lake

PROJECT_PARTS = (
    "dbt_project.yml",
    "profiles",
    "models",
    "macros",
    "seeds",
    "tests/dbt",
    "analyses",
    "docs/dbt",
    "contracts",
    "scripts",
    "src",
)


def copy_project(target: Path) -> Path:
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / part)
    return target


def check_drift(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse", "contract", "check-drift", "--root", str(project)],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
    )


def declare_in_contract(project: Path) -> None:
    path = project / "contracts" / "transactions.schema.json"
    schema = json.loads(path.read_text())
    schema["x-contract-version"] = "1.1.0"
    schema["properties"]["Channel"] = {
        "type": "string",
        "x-column": "channel",
        "description": "Where the customer initiated the transaction (card, web, branch).",
    }
    path.write_text(json.dumps(schema, indent=2) + "\n")


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: expected one {old!r}"
    path.write_text(text.replace(old, new))


def declare_downstream(project: Path) -> None:
    """The places the drift check names: dbt's view of the contract, staging and mart docs."""
    replace_once(
        project / "macros" / "parsing" / "contract.sql",
        "'column': 'transaction_timestamp', 'required': true},",
        "'column': 'transaction_timestamp', 'required': true},\n"
        "        {'header': 'Channel', 'column': 'channel', 'required': false},",
    )
    # the split record (base_landing__transaction_fields) and staging both carry it as received
    staging_docs = project / "models" / "staging" / "landing" / "_landing__models.yml"
    raw_timestamp = "      - name: transaction_timestamp_raw\n"
    text = staging_docs.read_text()
    assert text.count(raw_timestamp) == 2, f"{staging_docs}: expected two {raw_timestamp!r}"
    staging_docs.write_text(
        text.replace(
            raw_timestamp,
            "      - name: channel_raw\n        description: Channel as received.\n"
            + raw_timestamp,
        )
    )
    replace_once(
        project / "models" / "marts" / "_marts__models.yml",
        # fct_transactions' landed_at
        "      - name: landed_at\n"
        "        description: \"{{ doc('landed_at') }} (the file that carried the accepted",
        "      - name: channel\n        description: Channel (contract 1.1).\n"
        "        data_type: varchar\n      - name: landed_at\n"
        "        description: \"{{ doc('landed_at') }} (the file that carried the accepted",
    )


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def evolved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, Path]:
    base = tmp_path_factory.mktemp("evolution")
    project = copy_project(base / "project")
    lake = Lake(base / "lake", project=project)
    lake.land(FIXTURES / "batches" / "batch_1.csv")
    lake.build()

    declare_in_contract(project)
    drift = check_drift(project)
    assert drift.returncode != 0, "declaring the column in the contract alone must be drift"
    assert "transaction_file_columns" in drift.stdout + drift.stderr

    declare_downstream(project)
    drift = check_drift(project)
    assert drift.returncode == 0, drift.stdout + drift.stderr

    files = base / "files"
    files.mkdir()
    lake.land(
        write_csv(
            files / "with_channel.csv",
            [
                "Channel,TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp",
                " web ,E-1,ACC001,10.00,EUR,2024-02-01T10:00:00Z",
                ",E-2,ACC001,5.00,EUR,2024-02-02T10:00:00Z",
            ],
        ),
        write_csv(
            files / "old_format.csv",
            [
                "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp",
                "E-3,ACC002,7.00,USD,2024-02-03T10:00:00Z",
            ],
        ),
    )
    lake.build()  # no --full-refresh
    return lake, project


def test_new_column_flows_into_processed_without_full_refresh(evolved: tuple[Lake, Path]) -> None:
    lake, _ = evolved
    rows = dict(
        lake.query(
            "select transaction_id, channel from main_marts.fct_transactions "
            "where transaction_id like 'E-%'"
        )
    )
    assert rows == {"E-1": "web", "E-2": None, "E-3": None}


def test_older_runs_keep_null(evolved: tuple[Lake, Path]) -> None:
    lake, _ = evolved
    older = lake.query(
        "select count(*), count(channel) from main_marts.fct_transactions "
        "where transaction_id not like 'E-%'"
    )
    assert older[0][0] > 0 and older[0][1] == 0


def test_files_with_and_without_the_column_are_not_quarantined(evolved: tuple[Lake, Path]) -> None:
    lake, _ = evolved
    rejected = lake.query(
        "select source_file from main_marts.fct_quarantined_records "
        "where source_file in ('with_channel.csv', 'old_format.csv')"
    )
    assert rejected == []
    manifests = lake.query(
        "select file_name, header_matches_contract, contract_version "
        "from main_raw.transaction_manifests "
        "where file_name in ('with_channel.csv', 'old_format.csv') order by file_name"
    )
    assert manifests == [("old_format.csv", True, "1.1.0"), ("with_channel.csv", True, "1.1.0")]


def test_undeclared_column_is_still_a_schema_error(evolved: tuple[Lake, Path], tmp_path) -> None:
    lake, _ = evolved
    lake.land(
        write_csv(
            tmp_path / "undeclared.csv",
            [
                "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp,Note",
                "E-4,ACC002,7.00,USD,2024-02-03T10:00:00Z,hello",
            ],
        )
    )
    lake.build()
    codes = lake.query(
        "select validation_error from main_marts.fct_quarantined_records "
        "where source_file = 'undeclared.csv'"
    )
    assert codes == [("SCHEMA_ERROR",)]


def test_athena_target_adds_columns_the_same_way() -> None:
    """The incremental models declare the on_schema_change that makes this path work on both
    engines (on Athena, dbt-athena issues ALTER TABLE ... ADD COLUMNS on the Iceberg tables)."""
    for model in ("int_transactions__classified", "fct_transactions", "fct_quarantined_records"):
        sql = next(ROOT.glob(f"models/**/{model}.sql")).read_text()
        assert "on_schema_change='append_new_columns'" in sql, model
