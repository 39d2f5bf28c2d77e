"""`make lint-workflows`: the repository's workflows pass, broken ones are caught by the tool that
owns the check (check-jsonschema, zizmor, or lint/check_workflows.py for the rest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import file_module
import pytest
import yaml

LINT = Path(__file__).resolve().parents[2] / "lint"
check_workflows = file_module.load(LINT / "check_workflows.py")
ROOT, problems = check_workflows.ROOT, check_workflows.problems
VENV = Path(sys.executable).parent.parent
CHECKOUT = "actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0"
GOOD = f"""
name: x
on:
  workflow_dispatch:
  schedule:
    - cron: "17 5 * * *"
permissions:
  contents: read
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - run: make test
  b:
    needs: a
    runs-on: ubuntu-latest
    steps:
      - run: echo ok
"""


def lint_workflows(*paths: Path) -> subprocess.CompletedProcess[str]:
    args = [f"WORKFLOWS={' '.join(map(str, paths))}"] if paths else []
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "lint-workflows", f"VENV={VENV}", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_repository_workflows_pass() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {p.name for p in workflows} >= {"ci.yml", "prod.yml"}
    result = lint_workflows()
    assert result.returncode == 0, result.stdout + result.stderr
    for path in workflows:
        assert path.name in result.stdout  # each was validated


def test_prod_workflow_is_oidc_protected_and_never_overlaps() -> None:
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


BROKEN = [
    # check-jsonschema (GitHub's workflow schema)
    ("workflow_dispatch:", "workflow_dispach:", "schema validation"),
    ("- run: make test", "- run: make test\n        uses: a/b@v1", "schema validation"),
    ("runs-on: ubuntu-latest\n    steps:\n      - uses", "runs_on: x\n    steps:\n      - uses",
     "schema validation"),
    ("contents: read", "contents: admin", "schema validation"),
    # zizmor --offline
    (CHECKOUT, "actions/checkout@v4", "unpinned-uses"),
    ("make test", 'echo "${{ github.event.pull_request.title }}"', "template-injection"),
    ("permissions:\n  contents: read\n", "", "excessive-permissions"),
    ("          persist-credentials: false\n", "          fetch-depth: 1\n", "artipacked"),
    # lint/check_workflows.py
    ("make test", "echo ${{ github.sha }", "not closed"),
    ("needs: a", "needs: c", "needs unknown job 'c'"),
    ('"17 5 * * *"', '"17 5 * *"', "cron must have five fields"),
    (
        "  a:\n    runs-on: ubuntu-latest",
        "  a:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write",
        "without an environment",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "problem"), BROKEN)
def test_broken_workflows_are_caught(tmp_path: Path, old: str, new: str, problem: str) -> None:
    path = tmp_path / "w.yml"
    path.write_text(GOOD)
    good = lint_workflows(path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1))
    result = lint_workflows(path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert problem.lower() in output.lower(), output


def test_our_script_reports_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "w.yml"
    path.write_text(GOOD.replace("needs: a", "needs: [a, c]").replace('"17 5 * * *"', '"5 * *"'))
    assert problems(path) == [
        "schedule cron must have five fields: '5 * *'",
        "job b: needs unknown job 'c'",
    ]
