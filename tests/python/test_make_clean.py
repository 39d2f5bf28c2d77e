"""`make clean` and `make clean-warehouse` never delete the raw layer (the record), wherever
LAKE_ROOT points: clean removes build artefacts only, clean-warehouse the DuckDB warehouse only.

Each test runs the project's Makefile in a scratch copy of the project (the Makefile and this
.venv, whose `lakehouse lock` takes the warehouse lock), so the real work tree's target/ and
site/ are left alone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dbt_harness import FIXTURES, ROOT, Lake

ARTEFACTS = ("target", "logs", "site", "test-reports")
WAREHOUSE_FILES = ("warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.tmp")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project: the Makefile and a link to this .venv (`lakehouse lock`)."""
    project = tmp_path / "project"
    project.mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", project / "Makefile")
    (project / ".venv").symlink_to(Path(sys.executable).parent.parent)
    for name in ARTEFACTS:
        (project / name).mkdir()
        (project / name / "x").write_text("artefact")
    return project


def landed_lake(root: Path) -> list[Path]:
    """A lake with two landed runs, a warehouse (file, WAL, spill directory) and a processed
    copy; returns every file under raw/."""
    lake = Lake(root)
    lake.land(FIXTURES / "batches" / "batch_1.csv", FIXTURES / "batches" / "batch_2.csv")
    duckdb.connect(str(root / "warehouse.duckdb")).close()
    (root / "warehouse.duckdb.wal").write_bytes(b"wal")
    (root / "warehouse.duckdb.tmp").mkdir()
    (root / "warehouse.duckdb.tmp" / "spill").write_bytes(b"spill")
    (root / "processed").mkdir()
    (root / "processed" / "x.parquet").write_bytes(b"parquet")
    raw = sorted(p for p in (root / "raw").rglob("*") if p.is_file())
    assert len([p for p in raw if p.name == "_manifest.json"]) == 2
    return raw


def snapshot(files: list[Path]) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in files}


def make(project: Path, target: str, lake_root: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(project), target, f"LAKE_ROOT={lake_root}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("where", ["outside", "default"])
def test_make_clean_removes_artefacts_and_never_the_lake(
    project: Path, tmp_path: Path, where: str
) -> None:
    # LAKE_ROOT pointing at a lake elsewhere, and the default ./lake inside the project
    root = tmp_path / "data" / "lake" if where == "outside" else project / "lake"
    raw = snapshot(landed_lake(root))

    result = make(project, "clean", root if where == "outside" else "lake")

    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(list(raw)) == raw
    assert all((root / name).exists() for name in WAREHOUSE_FILES)
    assert (root / "processed" / "x.parquet").exists()
    assert [name for name in ARTEFACTS if (project / name).exists()] == []


def test_make_clean_warehouse_removes_the_warehouse_only(project: Path, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    raw = snapshot(landed_lake(root))

    result = make(project, "clean-warehouse", root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"removing {root}/warehouse.duckdb" in result.stdout
    assert "raw/ is kept" in result.stdout
    assert [name for name in WAREHOUSE_FILES if (root / name).exists()] == []
    assert snapshot(list(raw)) == raw
    assert (root / "processed" / "x.parquet").exists()
    assert all((project / name).exists() for name in ARTEFACTS)


def test_make_clean_warehouse_refuses_while_a_build_holds_it(project: Path, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    landed_lake(root)
    with duckdb.connect(str(root / "warehouse.duckdb")):  # a build writing to it
        result = make(project, "clean-warehouse", root)

    assert result.returncode != 0
    assert f"warehouse {root}/warehouse.duckdb is in use" in result.stderr
    assert (root / "warehouse.duckdb").exists()
