"""The transaction lakehouse's Python code: the loader (local and S3), the file contract, the
publisher, the warehouse lock, reports and the sample-data generator, behind one command,
``lakehouse`` (``lakehouse.cli``)."""

from __future__ import annotations

import os
from pathlib import Path

# The dbt project whose files the package reads (the contract, the project dbt runs for the
# publisher): $LAKEHOUSE_PROJECT_DIR when set (a copy of the project, a deployment), else the
# checkout the package is installed from (`make install`: editable, src/lakehouse/ -> ../..).
PROJECT_DIR_ENV = "LAKEHOUSE_PROJECT_DIR"


def project_dir() -> Path:
    """The project directory (see PROJECT_DIR_ENV)."""
    given = os.environ.get(PROJECT_DIR_ENV, "").strip()
    return Path(given) if given else Path(__file__).resolve().parents[2]
