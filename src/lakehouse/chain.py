"""The tamper-evident chain of runs: what a `_SUCCESS` marker adds to its run's metrics, and the
mart checksums both `lakehouse publish` (which writes them) and `lakehouse verify` (which
recomputes them) get from the engine.

A chained marker is the JSON of the run's fct_run_metrics row plus:

* ``raw_sha256``: the sha256 of the raw file as landed (the loader's ``_manifest.json``);
* ``previous_run_id`` and ``previous_marker_sha256``: the run of the marker written before it
  and the sha256 of that marker's exact bytes (both null for the first chained marker);
* ``mart_checksums``: ``{mart: {"rows": n, "checksum": hex}}`` of the run's rows in each mart
  that has per-run rows (the list is the dbt macro ``chain_checksum_marts()``,
  macros/publish/chain_checksums.sql; the engine computes each sum, no row leaves it).

Chain order is the order the markers are written, which is run_id order: publish writes every
run without a marker in run_id order, each after the one before, and refuses to write a marker
for a run older than one that has a marker already (a run is built only after every older run:
the incremental models' run_id watermark). Markers written before the chain existed have none
of these fields ("pre-chain"); they all come before the first chained marker.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from lakehouse.dbt_runner import DbtFailed, run_dbt
from lakehouse.landing import parse_run_time

CHAIN_FIELDS = ("raw_sha256", "previous_run_id", "previous_marker_sha256", "mart_checksums")
CHECKSUM_MACRO = "chain_checksums"
# Run ids per checksum query: the query text stays far below Athena's limit (256 kB).
RUN_BATCH = 500
SHA256_RE = re.compile(r"[0-9a-f]{64}")

# run_id -> mart -> {"rows": n, "checksum": hex}
Checksums = dict[str, dict[str, dict[str, Any]]]


class ChainError(Exception):
    """The checksums could not be computed; the message is one line."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def marker_body(
    run: dict[str, Any],
    raw_sha256: str,
    previous: tuple[str, bytes] | None,
    mart_checksums: dict[str, dict[str, Any]],
) -> bytes:
    """A chained marker: the run's metrics and the chain fields (``previous``: the run_id and
    the exact bytes of the marker written before it, None for the first chained marker)."""
    record = {
        **run,
        "raw_sha256": raw_sha256,
        "previous_run_id": previous[0] if previous else None,
        "previous_marker_sha256": sha256_hex(previous[1]) if previous else None,
        "mart_checksums": mart_checksums,
    }
    return (json.dumps(record, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class Marker:
    """A `_SUCCESS` marker as stored: where it is and its exact bytes."""

    ingest_date: str
    run_id: str
    body: bytes

    @cached_property
    def record(self) -> dict[str, Any] | None:
        """The marker's JSON object, None when it is not one."""
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def state(self) -> str:
        """``chained`` (every chain field), ``pre-chain`` (none: written before the chain),
        ``broken`` (not a JSON object, or some chain fields only)."""
        if self.record is None:
            return "broken"
        present = [name for name in CHAIN_FIELDS if name in self.record]
        if len(present) == len(CHAIN_FIELDS):
            return "chained"
        return "broken" if present else "pre-chain"

    @property
    def sha256(self) -> str:
        return sha256_hex(self.body)


def chain_head(markers: Sequence[Marker]) -> Marker | None:
    """The marker the next one chains after: the latest (run_id order) that is not pre-chain."""
    chained = [m for m in markers if m.state != "pre-chain"]
    return max(chained, key=lambda m: m.run_id, default=None)


class MartChecksums:
    """The per-run checksums of the published marts, computed by the engine: ``dbt show --inline
    "{{ chain_checksums(...) }}"`` through the project's profile (DuckDB locally, Athena in
    production), dbt's files under ``target_path``."""

    def __init__(
        self, dbt: str, target: str | None, target_path: Path, cwd: Path, env: dict[str, str]
    ) -> None:
        self.dbt = dbt
        self.target = target
        self.target_path = target_path
        self.cwd = cwd
        self.env = env

    def _show(self, inline: str) -> list[dict[str, Any]]:
        args = ["show", "--inline", inline, "--output", "json", "--limit", "-1", "--quiet"]
        try:
            stdout = run_dbt(
                args,
                what="the mart checksums (dbt show)",
                dbt=self.dbt,
                target=self.target,
                target_path=self.target_path,
                cwd=self.cwd,
                env=self.env,
            )
        except DbtFailed as error:
            raise ChainError(str(error)) from error
        start = stdout.find("{")  # dbt's JSON, whatever else it prints around it
        try:
            rows = json.JSONDecoder().raw_decode(stdout, start)[0]["show"] if start >= 0 else None
        except (ValueError, KeyError, TypeError):
            rows = None
        if not isinstance(rows, list):
            raise ChainError(f"the mart checksums: unexpected dbt show output: {stdout[:200]!r}")
        return rows

    def compute(self, run_ids: Sequence[str] | None = None) -> Checksums:
        """The checksums of ``run_ids`` (every one, in every mart, 0 rows included), or of every
        run that has rows in a mart (None)."""
        if run_ids is None:
            batches: list[list[str] | None] = [None]
        else:
            for run_id in run_ids:
                if parse_run_time(run_id) is None:
                    raise ChainError(f"not a run_id: {run_id!r}")
            ids = sorted(run_ids)
            batches = [ids[i : i + RUN_BATCH] for i in range(0, len(ids), RUN_BATCH)]
        found: Checksums = {}
        for batch in batches:
            argument = "" if batch is None else json.dumps(batch)
            for row in self._show(f"{{{{ {CHECKSUM_MACRO}({argument}) }}}}"):
                try:
                    run_id, mart = str(row["run_id"]), str(row["mart"])
                    entry = {"rows": int(row["row_count"]), "checksum": str(row["rows_checksum"])}
                except (KeyError, TypeError, ValueError) as error:
                    raise ChainError(f"the mart checksums: unexpected row {row!r}") from error
                found.setdefault(run_id, {})[mart] = entry
        return found
