"""dbt-duckdb plugin of the DuckDB profile: a bare `dbt build` on a warehouse that another build
is using fails with one line naming the warehouse and that build, not with DuckDB's lock error
and a 200-line traceback.

dbt opens the warehouse before any on-run-start hook runs; dbt-duckdb calls a plugin's
``update_connection_config`` just before it opens the DuckDB file, and ``configure_connection``
just after. The check (lakehouse.lock, ``check_warehouse``) refuses when another build
holds the lake's warehouse lock or another process has the file open, and otherwise keeps a
connection open until dbt's own is, so that no other process can take the file in between.
profiles/profiles.yml loads it (``plugins``: ``lakehouse.warehouse_guard``). It never waits: that
is ``lakehouse build``'s job (``--wait``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtBaseException

from lakehouse.lock import Busy, check_warehouse


class WarehouseBusy(DbtBaseException):
    """One line, shown by dbt as is. Not a RuntimeError: dbt-duckdb would wrap that in a
    "Database Error" of its own."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.msg = message

    def __str__(self) -> str:
        return self.msg


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._held: Any = None

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        path = str(creds.path)
        if path == ":memory:" or ":" in path.split("/", 1)[0]:
            return  # in memory, MotherDuck or a URL: no local file to share
        try:
            self._held = check_warehouse(Path(path), config)
        except Busy as busy:
            raise WarehouseBusy(
                f"warehouse {os.path.abspath(path)} is in use: {busy}; not started: try again"
                " when it has finished, or run builds through lakehouse build --wait SECONDS"
            ) from None

    def configure_connection(self, conn: Any) -> None:
        if self._held is not None:
            self._held.close()  # dbt's connection is open: it holds the file now
            self._held = None
