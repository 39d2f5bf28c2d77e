"""Shared pytest set-up. `scripts/` and this folder are on sys.path (pyproject: pythonpath)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_harness import Lake


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """A fresh, empty lake root for one test."""
    return Lake(tmp_path / "lake")
