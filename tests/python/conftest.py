"""Shared pytest set-up. This folder is on the import path (pyproject: pythonpath); the project's
code is the installed package `lakehouse` (make install)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from dbt_harness import Lake

if TYPE_CHECKING:
    from athena_stand_in import AthenaStandIn

ATHENA_BUCKETS = ("lakehouse", "athena-results")


def pytest_report_header(config: pytest.Config) -> str:
    """Which Trino the Athena target's tests run on (make trino installs it)."""
    from trino_server import TRINO_VERSION, TrinoUnavailable, trino_home

    try:
        return f"trino: {TRINO_VERSION} in {trino_home()}"
    except TrinoUnavailable as exc:
        return f"trino: {exc}"


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """A fresh, empty lake root for one test."""
    return Lake(tmp_path / "lake")


@pytest.fixture(scope="session")
def athena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AthenaStandIn]:
    """The local Athena (moto + real Trino), one per test process: the tests that use it share
    an xdist group (`pytest.mark.xdist_group("trino")`), so one worker starts it."""
    from athena_stand_in import AthenaStandIn
    from s3_stand_in import ensure_buckets

    stand_in = AthenaStandIn(tmp_path_factory.mktemp("athena")).start()
    print(f"local Athena: Trino {stand_in.trino.version()} at {stand_in.trino.url}")
    ensure_buckets(stand_in.s3, *ATHENA_BUCKETS)
    yield stand_in
    stand_in.stop()
