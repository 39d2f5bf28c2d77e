#!/usr/bin/env python3
"""What the workflow linters of `make lint` cannot check in .github/workflows/*.yml.

Usage: python lint/check_workflows.py [FILE ...]   (default: every workflow of the repo)

`make lint` validates the workflows against GitHub's schema (check-jsonschema, its bundled
vendor.github-workflows schema: keys, events, step shape, permission values) and audits them
with zizmor --offline (unpinned actions, template injection, broad permissions, persisted
credentials). Neither checks the four things below, so this script does:

* every job a `needs` names exists (a schema cannot cross-reference);
* a schedule's cron has five fields (the schema accepts any string);
* every `${{` expression is closed (both tools accept `${{ x }`);
* a job that asks for an OIDC token (`id-token: write`) names an environment: this project's
  policy, as the production role trusts only the protected `production` environment.

Prints `file: problem` lines, exit 1 if any, 0 clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _check_job(job_id: str, job: dict[Any, Any], job_ids: set[str]) -> Iterator[str]:
    needs = job.get("needs", [])
    for need in [needs] if isinstance(needs, str) else needs:
        if need not in job_ids:
            yield f"job {job_id}: needs unknown job {need!r}"
    permissions = job.get("permissions")
    oidc = isinstance(permissions, dict) and permissions.get("id-token") == "write"
    if oidc and "environment" not in job:
        yield f"job {job_id}: asks for an OIDC token (id-token: write) without an environment"


def problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    try:
        workflow = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {' '.join(str(exc).split())}"]
    if not isinstance(workflow, dict):
        return ["a workflow must be a mapping"]
    found: list[str] = []
    on = workflow.get("on", workflow.get(True))  # PyYAML reads the bare key `on` as True
    for entry in (on.get("schedule") or []) if isinstance(on, dict) else []:
        cron = entry.get("cron", "") if isinstance(entry, dict) else ""
        if len(str(cron).split()) != 5:
            found.append(f"schedule cron must have five fields: {cron!r}")
    jobs = workflow.get("jobs")
    if isinstance(jobs, dict):
        for job_id, job in jobs.items():
            if isinstance(job, dict):
                found += list(_check_job(str(job_id), job, set(map(str, jobs))))
    if text.count("${{") != text.count("}}"):
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
