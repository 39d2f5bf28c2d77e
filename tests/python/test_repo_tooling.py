"""Contributor tooling: the pre-commit hooks work offline, the CI workflows are well-formed, the
dbt conventions of `make lint` (lint/) catch a misplaced, undocumented model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dbt_harness import ROOT

BIN = Path(sys.executable).parent
CONFIG = ROOT / ".pre-commit-config.yaml"
WORKFLOWS = ROOT / ".github" / "workflows"


def pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pre-commit"), *args],
        cwd=cwd,
        env={**os.environ, "PRE_COMMIT_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_pre_commit_config_is_valid_and_offline(tmp_path: Path) -> None:
    result = pre_commit("validate-config", str(CONFIG), cwd=ROOT, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {repo["repo"] for repo in config["repos"]} == {"local"}, "hooks must not need GitHub"
    assert {hook["language"] for hook in hooks} == {"system"}
    for hook in hooks:
        tool = next(word for word in hook["entry"].split() if word.startswith(".venv/bin/"))
        assert (ROOT / tool).exists(), f"{hook['id']}: {tool} is not installed (make install)"
    assert {"ruff-check", "ruff-format", "sqlfluff-lint", "check-yaml"} <= {h["id"] for h in hooks}


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """A git repository with this project's hook config and its .venv."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copy(CONFIG, repo / CONFIG.name)
    (repo / ".venv").symlink_to(BIN.parent)
    return repo


def test_hooks_fix_whitespace_and_reject_bad_yaml_and_python(
    scratch_repo: Path, tmp_path: Path
) -> None:
    (scratch_repo / "notes.txt").write_text("trailing   \nno newline at the end", encoding="utf-8")
    (scratch_repo / "bad.yml").write_text("key: [unclosed\n", encoding="utf-8")
    (scratch_repo / "bad.py").write_text("import os\nx=1\n", encoding="utf-8")
    (scratch_repo / "good.yml").write_text("key: value\n", encoding="utf-8")
    files = ["notes.txt", "bad.yml", "bad.py", "good.yml"]
    subprocess.run(["git", "add", *files], cwd=scratch_repo, check=True)

    result = pre_commit("run", "--files", *files, cwd=scratch_repo, home=tmp_path / "home")

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    text = (scratch_repo / "notes.txt").read_text(encoding="utf-8")
    assert text == "trailing\nno newline at the end\n"
    assert "bad.yml" in output and "good.yml" not in output
    assert "F401" in output  # the unused import, reported by ruff check
    assert (scratch_repo / "bad.py").read_text(encoding="utf-8") == "import os\n\nx = 1\n"


def _workflow(name: str) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); normalise it for the checks below.
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def test_ci_runs_make_test_and_always_uploads_reports() -> None:
    ci = _workflow("ci.yml")
    assert {"pull_request", "push"} <= set(ci["on"])
    assert ci["permissions"] == {"contents": "read"}
    steps = ci["jobs"]["test"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "make test" in runs and "--junitxml" in runs
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and all(s.get("if") == "${{ always() }}" for s in uploads)
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"


def test_docs_workflow_deploys_pages_with_least_privilege() -> None:
    docs = _workflow("docs.yml")
    assert docs["on"]["push"]["branches"] == ["main"]
    assert docs["permissions"] == {"contents": "read"}
    assert docs["concurrency"]["group"]
    build, deploy = docs["jobs"]["build"], docs["jobs"]["deploy"]
    assert "permissions" not in build
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build"
    assert any("make demo docs" in s.get("run", "") for s in build["steps"])
    assert any(
        s.get("uses", "").startswith("actions/upload-pages-artifact") for s in build["steps"]
    )
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])


def test_dbt_conventions_catch_a_misplaced_undocumented_model(tmp_path: Path) -> None:
    """`make lint-dbt` (dbt-bouncer and dbt-score, configured in lint/) on a copy of the project
    with a badly named, undocumented mart and a model outside the three layers."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    project = tmp_path / "project"
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, project / name)

    def lint_dbt() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", "-C", str(project), "lint-dbt", f"VENV={BIN.parent}"],
            capture_output=True,
            text=True,
            check=False,
        )

    clean = lint_dbt()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (project / "models" / "marts" / "orders_mart.sql").write_text("select 1 as id\n")
    (project / "models" / "reporting").mkdir()
    (project / "models" / "reporting" / "fct_report.sql").write_text("select 1 as id\n")
    result = lint_dbt()
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for check in (
        "check_model_names:",
        "check_model_directories:",
        "check_model_description_populated:",
        "check_model_has_unique_test:",
    ):
        assert check in output, output
