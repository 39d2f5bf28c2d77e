"""Security: the loader writes only inside the lake root whatever the input's name, dbt vars that
reach SQL are refused when malicious, and no credentials are committed
(`make lint-secrets`: detect-secrets)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_harness import FIXTURES, LOADER, ROOT, Lake

HEADER = b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.csv")
RUN_DIR = re.compile(r"run_id=\d{8}T\d{12}Z_[0-9a-f]{8}")
INGEST_DIR = re.compile(r"ingest_date=\d{4}-\d{2}-\d{2}")

# Hostile source names (as bytes: one is not valid UTF-8). Each becomes a file in `names/`.
HOSTILE_NAMES: list[bytes] = [
    b"ctl\x01\x1b[31m\x7f.csv",
    b"tab\there.csv",
    b"new\nline.csv",
    b"carriage\rreturn.csv",
    "\u202egnp.exe.csv".encode(),  # right-to-left override
    "ｆｕｌｌｗｉｄｔｈ.csv".encode(),  # noqa: RUF001 - the point of the test
    "e\u0301.csv".encode(),  # combining accent
    "zero\u200bwidth.csv".encode(),
    b"..hidden.csv",
    b".csv",
    b"...csv",
    b".bashrc.csv",
    b"a\\..\\..\\escape.csv",  # backslashes are ordinary characters on POSIX
    b"bad\xff\xfe.csv",
    b"UPPER.CSV",
    b"_manifest.json.csv",
    b"x" * 251 + b".csv",
    b" leading space.csv",
]


def all_paths(top: Path) -> set[str]:
    found = set()
    for directory, subdirs, files in os.walk(top):
        for name in subdirs + files:
            found.add(os.path.join(directory, name))
    return found


def test_loader_never_writes_outside_the_lake_root(tmp_path: Path) -> None:
    work, names_dir = tmp_path / "work" / "cwd", tmp_path / "work" / "names"
    work.mkdir(parents=True)
    names_dir.mkdir()
    sources: list[bytes] = []
    row = b"T-%d,ACC1,1.00,EUR,2024-01-05T09:00:00Z\n"
    for number, name in enumerate(HOSTILE_NAMES):
        path = os.path.join(os.fsencode(names_dir), name)
        with open(path, "wb") as out:
            out.write(HEADER + row % number)
        sources.append(path)
    parent = tmp_path / "work" / "up.csv"  # given as ../up.csv
    parent.write_bytes(HEADER + row % 1000)
    absolute = tmp_path / "abs.csv"
    absolute.write_bytes(HEADER + row % 1001)
    lake_root = tmp_path / "lakes" / "lake"
    lake_root.parent.mkdir()

    before = all_paths(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            str(LOADER),
            "--lake-root",
            "../../lakes/lake",
            *sources,
            b"../up.csv",
            os.fsencode(absolute),
        ],
        capture_output=True,
        cwd=work,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["status"] for r in records] == ["landed"] * (len(HOSTILE_NAMES) + 2)

    created = all_paths(tmp_path) - before
    assert created, "nothing landed"
    assert all(Path(p).is_relative_to(lake_root) for p in created), sorted(created)
    assert not any(Path(p).is_symlink() for p in created)

    transactions = (lake_root / "raw" / "transactions").resolve()
    landed = [Path(r["path"]) for r in records]
    for path in landed:
        assert path == path.resolve()  # no '..', no link
        assert path.parent.parent.parent == transactions
        assert RUN_DIR.fullmatch(path.parent.name)
        assert INGEST_DIR.fullmatch(path.parent.parent.name)
        assert SAFE_NAME.fullmatch(path.name), path.name
        assert path.is_file()
    assert sorted(path.name for path in landed) == sorted(
        p.name for p in transactions.glob("*/*/*.csv")
    )
    # every run holds exactly its data file and its manifest
    for path in landed:
        assert sorted(p.name for p in path.parent.iterdir()) == sorted(
            [path.name, "_manifest.json"]
        )


def test_a_directory_is_refused_while_the_other_files_land(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(HEADER + b"T-1,ACC1,1.00,EUR,2024-01-05T09:00:00Z\n")
    directory = tmp_path / "folder.csv"
    directory.mkdir()
    lake_root = tmp_path / "lake"
    result = subprocess.run(
        [sys.executable, str(LOADER), "--lake-root", str(lake_root), str(directory), str(good)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"{directory}: is a directory" in result.stderr
    statuses = [json.loads(line)["status"] for line in result.stdout.splitlines()]
    assert statuses == ["error", "landed"]
    assert [p.name for p in lake_root.glob("raw/transactions/*/*/*.csv")] == ["good.csv"]


# --------------------------------------------------------------------------------- dbt vars
def dbt_with(lake: Lake, *args: str) -> subprocess.CompletedProcess[str]:
    lake.root.mkdir(parents=True, exist_ok=True)
    return lake.build(*args, check=False)


@pytest.mark.parametrize(
    "value", ["2024-03'; drop table main_marts.fct_transactions; --", "2024-3", "2024-03-31"]
)
def test_malicious_balance_end_month_is_refused(lake: Lake, value: str) -> None:
    lake.land(FIXTURES / "case_q1_2024.csv")
    result = dbt_with(lake, "--vars", json.dumps({"balance_end_month": value}))
    assert result.returncode != 0
    assert "var 'balance_end_month' must be a month as 'YYYY-MM'" in result.stdout


def test_lake_root_var_with_a_quote_is_refused(lake: Lake) -> None:
    lake.land(FIXTURES / "case_q1_2024.csv")
    hostile = f"{lake.root}'; copy (select 1) to '/tmp/pwned.csv'; --"
    result = dbt_with(lake, "--vars", json.dumps({"lake_root": hostile}))
    assert result.returncode != 0
    assert "lake_root must not contain a quote" in result.stdout


def test_lake_root_env_with_a_quote_is_refused(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "o'lake")
    lake.land(FIXTURES / "case_q1_2024.csv")  # the loader itself has no SQL: it lands
    result = dbt_with(lake)
    assert result.returncode != 0
    assert "lake_root must not contain a quote" in result.stdout


def test_lake_root_with_glob_characters_reads_no_other_lake(tmp_path: Path) -> None:
    Lake(tmp_path / "lakes" / "a").land(FIXTURES / "batches" / "batch_1.csv")
    Lake(tmp_path / "lakes" / "b").land(FIXTURES / "batches" / "batch_2.csv")
    warehouse = Lake(tmp_path / "warehouse")
    result = dbt_with(warehouse, "--vars", json.dumps({"lake_root": f"{tmp_path}/lakes/?"}))
    assert result.returncode != 0
    assert "lake_root must not contain a quote or a glob character" in result.stdout


# ------------------------------------------------------------------------------ secret scan
# `make lint-secrets` (part of `make lint`): detect-secrets on the files git tracks, from the
# virtualenv running the tests.
VENV = Path(sys.executable).parent.parent


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def lint_secrets(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(repo), "lint-secrets", f"VENV={VENV}"],
        capture_output=True,
        text=True,
        check=False,
    )


def scratch_repo(tmp_path: Path, files: dict[str, str]) -> Path:
    """A git repository with this project's Makefile and secrets baseline, and `files`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    project_files = ["Makefile", ".secrets.baseline", "requirements.txt"]
    for name in project_files:
        shutil.copy(ROOT / name, repo / name)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", *project_files, *files)
    return repo


# Built at run time so that this file itself holds no key-shaped string.
FAKE_KEY_ID = "AKIA" + "TESTFAKEKEY12345"
FAKE_SESSION_KEY_ID = "ASIA" + "TESTFAKEKEY67890"
FAKE_SECRET = "Zx9" + "fake" * 8 + "/+12A"  # 40 characters, like an AWS secret key
PRIVATE_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEfake\n-----END RSA PRIVATE KEY-----\n"
ALLOW = "pragma: " + "allowlist secret"


def test_secret_step_names_every_planted_secret(tmp_path: Path) -> None:
    repo = scratch_repo(
        tmp_path,
        {
            "clean.py": "AWS_SECRET_ACCESS_KEY = os.environ['AWS_SECRET_ACCESS_KEY']\n",
            "config/settings.py": f"# settings\nKEY_ID = '{FAKE_KEY_ID}'\n",
            "deploy/env.sh": f"export X=1\n\nexport TOKEN_ID={FAKE_SESSION_KEY_ID}\n",
            "credentials": f"[default]\naws_secret_access_key = {FAKE_SECRET}\n",
            "keys/id_rsa": PRIVATE_KEY,
            "allowed.py": f"KEY_ID = '{FAKE_KEY_ID}'  # {ALLOW}\n",
        },
    )
    (repo / "untracked.txt").write_text(FAKE_KEY_ID)  # not tracked: not scanned

    result = lint_secrets(repo)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    found = set(re.findall(r"Location:\s+(\S+)", output))
    assert found == {
        "config/settings.py:2",
        "deploy/env.sh:3",
        "credentials:2",
        "keys/id_rsa:1",
    }, output
    for secret in (FAKE_KEY_ID, FAKE_SESSION_KEY_ID, FAKE_SECRET):
        assert secret not in output
    assert (repo / ".secrets.baseline").read_bytes() == (ROOT / ".secrets.baseline").read_bytes()


def test_secret_step_passes_a_clean_repo(tmp_path: Path) -> None:
    repo = scratch_repo(tmp_path, {"ok.py": "print('nothing to see')\n"})
    result = lint_secrets(repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_step_passes_on_this_repository() -> None:
    result = lint_secrets(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
