"""`make local-prod-up` / `-down` (tests/python/local_prod.py): the local production stack runs in
the background, outlives the command that started it, and its settings are all `make prod`
needs: they pass the preflight, the real loader lands into its S3, and its Athena API answers
boto3. `down` stops it, Trino included."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from dbt_harness import FIXTURES, LOADER, ROOT
from s3_stand_in import _CLEARED_ENV as CLEARED_ENV

from lakehouse.preflight import problems

pytestmark = pytest.mark.xdist_group("trino")

BATCH = FIXTURES / "batches" / "batch_1.csv"


def local_prod(state: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_prod", command, "--state-dir", str(state)],
        env={**os.environ, "PYTHONPATH": "tests/python", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=400,
    )


def exports(text: str) -> dict[str, str]:
    """The `export NAME=value` lines, as a shell would read them."""
    settings = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if words[:1] == ["export"]:
            name, _, value = words[1].partition("=")
            settings[name] = value
    return settings


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_up_gives_make_prod_its_settings_and_down_stops_it(tmp_path: Path) -> None:
    state_dir = tmp_path / "local-prod"
    try:
        up = local_prod(state_dir, "up")
        assert up.returncode == 0, up.stderr
        state = json.loads((state_dir / "state.json").read_text())
        settings = exports(up.stdout)
        assert (state_dir / "env").read_text() == up.stdout  # `source .local-prod/env`
        assert problems({**settings, "FILES": str(BATCH)}) == []  # make prod's preflight
        assert settings["AWS_ENDPOINT_URL"] == state["endpoint"]
        again = local_prod(state_dir, "up")
        assert again.returncode == 0 and "already up" in again.stderr
        assert again.stdout == up.stdout

        aws_home = tmp_path / "aws-home"
        aws_home.mkdir()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "ATHENA_")) and k not in CLEARED_ENV
        }
        env |= settings | {
            "AWS_CONFIG_FILE": str(aws_home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws_home / "credentials"),
        }
        landed = subprocess.run(
            [sys.executable, str(LOADER), "--s3-uri", settings["LAKE_S3_URI"], str(BATCH)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert landed.returncode == 0, landed.stderr
        assert json.loads(landed.stdout.splitlines()[-1])["status"] == "landed"

        session = boto3.session.Session(
            aws_access_key_id=settings["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=settings["AWS_SECRET_ACCESS_KEY"],
            region_name=settings["AWS_REGION"],
        )
        bucket = settings["LAKE_S3_URI"].removeprefix("s3://").split("/")[0]
        s3 = session.client("s3", endpoint_url=settings["AWS_ENDPOINT_URL"])
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert any(k.startswith("raw/transactions/") and k.endswith("/batch_1.csv") for k in keys)

        athena = session.client("athena", endpoint_url=settings["AWS_ENDPOINT_URL"])
        query_id = athena.start_query_execution(
            QueryString="select 1 + 1 as two",
            WorkGroup=settings["ATHENA_WORK_GROUP"],
            ResultConfiguration={"OutputLocation": settings["ATHENA_S3_STAGING_DIR"]},
        )["QueryExecutionId"]
        for _ in range(120):
            status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            if status["Status"]["State"] not in ("QUEUED", "RUNNING"):
                break
            time.sleep(0.5)
        assert status["Status"]["State"] == "SUCCEEDED", status["Status"]
        rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
        assert [[cell["VarCharValue"] for cell in row["Data"]] for row in rows] == [["two"], ["2"]]
    finally:
        down = local_prod(state_dir, "down")
    assert down.returncode == 0 and "stopped" in down.stderr, down.stderr
    assert not alive(state["pid"]) and not alive(state["trino_pid"])
    assert not (state_dir / "state.json").exists()
    again = local_prod(state_dir, "down")
    assert again.returncode == 0 and "nothing to stop" in again.stderr


def test_one_line_errors(tmp_path: Path) -> None:
    state_dir = tmp_path / "local-prod"
    missing = local_prod(state_dir, "up", TRINO_HOME=str(tmp_path / "no-trino"))
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "run make trino" in missing.stderr
    not_up = local_prod(state_dir, "env")
    assert not_up.returncode == 1 and "make local-prod-up" in not_up.stderr
