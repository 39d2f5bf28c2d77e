"""`make prod` refuses, doing nothing, when a production setting is missing (no AWS needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lakehouse.preflight import REQUIRED, problems

ROOT = Path(__file__).resolve().parents[2]
LAKE_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
COMPLETE = {
    "AWS_REGION": "eu-west-1",
    "LAKE_S3_URI": "s3://lake-bucket/prod",
    "ATHENA_S3_STAGING_DIR": "s3://athena-results/lakehouse/",
    "ATHENA_S3_DATA_DIR": "s3://lake-bucket/prod/warehouse/",
    "ATHENA_SCHEMA": "transactions",
    "ATHENA_WORK_GROUP": "lakehouse",
    "LAKE_KMS_KEY_ID": LAKE_KEY,
}


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_prod_without_settings_refuses_and_does_nothing(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = subprocess.run(
        ["make", "--no-print-directory", "prod"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "refused, nothing was done" in result.stderr
    for name in [*REQUIRED, "FILES or INBOX", "LAKE_KMS_KEY_ID (the lake key's ARN"]:
        assert name in result.stderr
    # The preflight is the only command that ran: no install, no dbt, no loader.
    assert "pip" not in result.stdout + result.stderr
    assert "dbt" not in result.stdout and "land_csv" not in result.stdout


def test_complete_settings_pass(tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text("x\n")
    assert problems({**COMPLETE, "FILES": str(source)}) == []
    assert problems({**COMPLETE, "INBOX": str(tmp_path)}) == []
    kms = {"LAKE_SSE": "aws:kms", "LAKE_KMS_KEY_ID": LAKE_KEY}
    assert problems({**COMPLETE, **kms, "INBOX": str(tmp_path)}) == []
    sandbox = {**COMPLETE, "LAKE_SSE": "AES256", "LAKE_KMS_KEY_ID": ""}
    assert problems({**sandbox, "INBOX": str(tmp_path)}) == []


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"LAKE_KMS_KEY_ID": ""}, "LAKE_KMS_KEY_ID (the lake key's ARN"),
        ({"LAKE_SSE": "aws:kms", "LAKE_KMS_KEY_ID": " "}, "LAKE_KMS_KEY_ID (the lake key's ARN"),
        ({"LAKE_KMS_KEY_ID": "alias/lake"}, "LAKE_KMS_KEY_ID must be the key's ARN"),
        ({"LAKE_KMS_KEY_ID": "1234abcd-12ab-34cd-56ef-1234567890ab"}, "LAKE_KMS_KEY_ID must be"),
        ({"LAKE_SSE": "AES256"}, "LAKE_KMS_KEY_ID needs LAKE_SSE=aws:kms"),
        ({"LAKE_SSE": "aws:kms:dsse"}, "LAKE_SSE must be one of AES256, aws:kms"),
    ],
    ids=["no-key", "blank-key", "alias", "key-id", "key-with-sse-s3", "unknown-sse"],
)
def test_production_encryption_is_what_the_bucket_policy_accepts(
    tmp_path: Path, settings: dict[str, str], problem: str
) -> None:
    """Unset, LAKE_SSE is SSE-KMS (infra/iam/bucket-policy.json refuses any other encryption
    and a KMS write naming no key or not the lake key's ARN), so the key's ARN is required."""
    found = problems({**COMPLETE, **settings, "INBOX": str(tmp_path)})
    assert len(found) == 1 and found[0].startswith(problem), found


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    env = {
        **COMPLETE,
        "AWS_REGION": " ",
        "LAKE_S3_URI": "https://lake-bucket/prod",
        "LAKE_SSE": "AES256",
        "FILES": f"{tmp_path / 'missing.csv'}",
    }
    found = problems(env)
    assert len(found) == 4
    assert found[0].startswith("AWS_REGION")
    assert any("LAKE_S3_URI is not an s3://" in item for item in found)
    assert any("LAKE_KMS_KEY_ID needs LAKE_SSE=aws:kms" in item for item in found)
    assert any("no such file" in item and "missing.csv" in item for item in found)


def test_an_inbox_must_be_a_directory(tmp_path: Path) -> None:
    found = problems({**COMPLETE, "INBOX": str(tmp_path / "nope")})
    assert found == [f"INBOX: no such directory: {tmp_path / 'nope'}"]
