"""The README is a checked example: its file runs through its commands and comes out as it says,
its codes table is the project's list of codes, and what it names (make targets, subcommands,
linked files) exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_harness import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
LAKEHOUSE = BIN / "lakehouse"


def section(title: str) -> str:
    """The README's text under a `##`/`###` heading, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", README, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


@pytest.mark.xdist_group("readme")
def test_the_readme_example_file_comes_out_as_the_readme_says(tmp_path: Path) -> None:
    """Bring your own file: the example lands, builds and publishes with the README's commands
    (each build's files under a private target path); T-0003 is quarantined as TYPE_ERROR, the
    others processed; the README's query then answers from the published balances."""
    (example,) = fenced(section("Bring your own file"), "csv")
    lake = tmp_path / "lake"
    target = tmp_path / "target"
    my_file = tmp_path / "my_file.csv"
    my_file.write_text(example, encoding="utf-8")
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "LAKEHOUSE_PROJECT_DIR": str(ROOT),
    }
    (commands,) = fenced(section("Bring your own file"), "bash")
    steps = [line.split("#")[0].split() for line in commands.splitlines() if line.strip()]
    assert [step[:2] for step in steps] == [
        [".venv/bin/lakehouse", "land"],
        [".venv/bin/lakehouse", "build"],
        [".venv/bin/lakehouse", "publish"],
    ]
    for step in steps:
        args = [str(LAKEHOUSE), *step[1:]]
        args = [str(lake) if arg == "lake" else str(my_file) if arg == "my_file.csv" else arg
                for arg in args]  # fmt: skip
        if step[1] in ("build", "publish"):
            args += ["--target-path", str(target)]
        run(args, env)

    import duckdb

    with duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True) as con:
        quarantined = con.sql(
            "select transaction_id_raw, validation_error"
            " from main_published.fct_quarantined_records"
        ).fetchall()
        processed = con.sql(
            "select transaction_id, currency from main_published.fct_transactions order by 1"
        ).fetchall()
    assert quarantined == [("T-0003", "TYPE_ERROR")]
    assert processed == [("T-0001", "EUR"), ("T-0002", "EUR")]

    (query,) = fenced(section("Where the results are"), "bash")
    snippet = re.search(r'-c "(.*)"', query, re.S)
    assert snippet, query
    code = snippet.group(1).replace("lake/warehouse.duckdb", str(lake / "warehouse.duckdb"))
    answer = run([sys.executable, "-c", code], env).stdout
    assert "EUR" in answer and "2024-01" in answer and "274.50" in answer, answer


def test_the_codes_table_is_the_projects_list_of_codes() -> None:
    """Same codes, same order as validation_codes() (the one place they are written)."""
    macro = (ROOT / "macros" / "validation" / "validation_codes.sql").read_text(encoding="utf-8")
    body = re.search(r"macro validation_codes\(\).*?endmacro", macro, re.S)
    assert body
    codes = re.findall(r"'([A-Z_]+)'", body.group(0))
    table = re.findall(r"^\| `([A-Z_]+)` \|", section("Validation codes"), re.M)
    assert table == codes


def test_what_the_readme_names_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    named_targets = set(re.findall(r"`make ([a-z][a-z-]*)", README))
    assert named_targets <= targets, named_targets - targets
    help_text = run([str(LAKEHOUSE), "--help"], dict(os.environ)).stdout
    named_commands = set(re.findall(r"lakehouse ([a-z]+)", README))
    missing = {name for name in named_commands if not re.search(rf"^\s+{name}\b", help_text, re.M)}
    assert not missing, missing
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link
