"""Runs one dbt command of the project for the publisher and the verifier (`dbt run-operation`,
`dbt show`), with its files under a folder of its own, and turns a failure into one line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from lakehouse import project_dir

PROJECT = project_dir()
_ERROR_LINE_RE = re.compile(r"[A-Za-z_ ]*Error: \S")


class DbtFailed(Exception):
    """A dbt command failed or could not run; the message is one line."""


def default_dbt() -> str:
    """The dbt beside this Python, else dbt on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(
    args: Sequence[str],
    *,
    what: str,
    dbt: str,
    target: str | None,
    target_path: Path,
    cwd: Path,
    env: dict[str, str],
) -> str:
    """``dbt ARGS`` on the project, its target path ``target_path`` (created), starting from the
    saved parse of the build (``target_path.parent``) when there is one: dbt reparses when it
    does not match. ``target``: the profile's target, None for its default. Returns stdout;
    raises ``DbtFailed`` naming ``what``, dbt's last line and its log."""
    target_path.mkdir(parents=True, exist_ok=True)
    parse = target_path.parent / "partial_parse.msgpack"
    if parse.is_file():
        shutil.copyfile(parse, target_path / parse.name)
    command = [dbt, *args, *(["--target", target] if target else [])]
    command += ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT / "profiles")]
    command += ["--target-path", str(target_path.resolve())]
    command += ["--log-path", str((target_path / "logs").resolve())]
    try:
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise DbtFailed(f"{what}: cannot run {dbt}: {error}") from error
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
        detail = [line for line in lines if line and "Encountered an error" not in line]
        errors = [line for line in detail if _ERROR_LINE_RE.match(line)]  # DuckDB's, Trino's
        reason = errors[0] if errors else (detail[-1] if detail else "no output")
        raise DbtFailed(
            f"{what} failed (dbt exit {result.returncode}): {reason}"
            f" (log: {target_path / 'logs' / 'dbt.log'})"
        )
    return result.stdout
