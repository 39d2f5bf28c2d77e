"""scripts/check_workflows.py: the repository's workflows pass, broken ones are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from check_workflows import ROOT, problems

GOOD = """
name: x
on:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""


def test_the_repository_workflows_pass() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {p.name for p in workflows} >= {"ci.yml", "prod.yml"}
    for path in workflows:
        assert problems(path) == [], path


def test_prod_workflow_is_oidc_protected_and_never_overlaps() -> None:
    import yaml

    prod = yaml.safe_load((ROOT / ".github" / "workflows" / "prod.yml").read_text())
    triggers = prod[True]
    assert set(triggers) == {"workflow_dispatch", "schedule"}
    assert prod["concurrency"]["cancel-in-progress"] is False
    [job] = prod["jobs"].values()
    assert job["environment"] == "production"
    assert job["permissions"]["id-token"] == "write"
    text = (ROOT / ".github" / "workflows" / "prod.yml").read_text()
    assert "aws-access-key-id" not in text and "secrets." not in text  # no stored keys
    assert "role-to-assume: ${{ vars.AWS_ROLE_ARN }}" in text
    assert any(step.get("run", "").startswith("make prod") for step in job["steps"])


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("workflow_dispatch:", "workflow_dispach:", "unknown trigger event"),
        ("- run: make test", "- run: make test\n        uses: a/b@v1", "exactly one of"),
        ("actions/checkout@v4", "actions/checkout", "not pinned"),
        ("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", "unknown key 'runs_on'"),
        ("contents: read", "contents: admin", "must be read, write or none"),
        ("make test", "echo ${{ github.sha }", "not closed"),
        (
            "    runs-on: ubuntu-latest",
            "    runs-on: ubuntu-latest\n    permissions:\n      id-token: write",
            "without an environment",
        ),
    ],
)
def test_broken_workflows_are_caught(tmp_path: Path, old: str, new: str, problem: str) -> None:
    path = tmp_path / "w.yml"
    path.write_text(GOOD)
    assert problems(path) == []
    path.write_text(GOOD.replace(old, new))
    assert any(problem in found for found in problems(path)), problems(path)
