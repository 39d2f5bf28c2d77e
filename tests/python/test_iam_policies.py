"""infra/iam/*.json: valid policy documents, least privilege, and a loader that cannot delete raw.

Resources are matched the way IAM does for ARNs here (``*`` and ``?`` wildcards), on a sample
object of each area with the placeholders left in place.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

IAM = Path(__file__).resolve().parents[2] / "infra" / "iam"
POLICIES = sorted(IAM.glob("*.json"))
PLACEHOLDERS = {
    "AccountId", "Region", "Bucket", "LakePrefix", "KmsKeyArn", "RawDatabase", "AthenaSchema",
    "WorkGroup", "ResultsBucket", "ResultsPrefix", "DataPrefix", "InboxBucket", "InboxPrefix",
    "BreakGlassRoleArn", "GitHubOwner", "GitHubRepo",
}  # fmt: skip
OBJECT = "arn:aws:s3:::${Bucket}/${LakePrefix}"
RAW_FILE = OBJECT + "raw/transactions/ingest_date=2024-01-05/run_id=R/f.csv"
RAW_MANIFEST = OBJECT + "raw/transactions/ingest_date=2024-01-05/run_id=R/_manifest.json"
RAW_INDEX = OBJECT + "raw/_index/sha256=ab.json"
MARKER = OBJECT + "processed/transactions/ingest_date=2024-01-05/run_id=R/_SUCCESS"
DELETES = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjects")


def load(name: str) -> dict[str, Any]:
    return json.loads((IAM / name).read_text(encoding="utf-8"))


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    """Whether an Allow statement grants ``action`` on ``resource`` (conditions ignored)."""
    return any(
        statement["Effect"] == "Allow"
        and any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"]))
        and any(fnmatchcase(resource, r) for r in as_list(statement["Resource"]))
        for statement in policy["Statement"]
    )


def denies(policy: dict[str, Any], action: str, resource: str) -> list[dict[str, Any]]:
    return [
        statement
        for statement in policy["Statement"]
        if statement["Effect"] == "Deny"
        and any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"]))
        and any(fnmatchcase(resource, r) for r in as_list(statement["Resource"]))
    ]


def test_the_expected_documents_exist() -> None:
    assert {p.name for p in POLICIES} == {
        "bucket-policy.json",
        "dbt-athena-policy.json",
        "github-oidc-trust.json",
        "loader-policy.json",
    }


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_policy_shape(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    policy = json.loads(text)
    assert set(policy) == {"Version", "Statement"}
    assert policy["Version"] == "2012-10-17"
    sids = [statement["Sid"] for statement in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids)
    resource_based = path.name in {"bucket-policy.json", "github-oidc-trust.json"}
    for statement in policy["Statement"]:
        assert statement["Effect"] in {"Allow", "Deny"}
        allowed = {"Sid", "Effect", "Action", "Resource", "Condition"}
        if resource_based:
            allowed.add("Principal")
            assert "Principal" in statement
        assert set(statement) <= allowed, statement["Sid"]
        actions = as_list(statement["Action"])
        assert actions and all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z*]+", a) for a in actions)
        # No "Action": "*" anywhere; a service-wide wildcard (s3:*) only to deny.
        assert "*" not in actions
        assert statement["Effect"] == "Deny" or not any(a.endswith(":*") for a in actions)
        # No "Resource": "*": every action used here supports resource-level scoping. The trust
        # policy has no Resource at all (AWS requires none: the role itself is the resource).
        if path.name == "github-oidc-trust.json":
            assert "Resource" not in statement
        else:
            assert "*" not in as_list(statement["Resource"])
        if statement.get("Principal") == "*":
            assert statement["Effect"] == "Deny", "a public principal only in a Deny"
    assert set(re.findall(r"\$\{([^}]+)\}", text)) <= PLACEHOLDERS
    assert not re.search(r"\b\d{12}\b", text), "no real account id in the repository"


def test_the_loader_writes_raw_but_can_never_delete_it() -> None:
    loader = load("loader-policy.json")
    for raw_object in (RAW_FILE, RAW_MANIFEST, RAW_INDEX):
        assert allows(loader, "s3:PutObject", raw_object)
        assert allows(loader, "s3:GetObject", raw_object)
        for action in DELETES:
            assert not allows(loader, action, raw_object), (action, raw_object)
    assert not allows(loader, "s3:PutObject", MARKER)
    assert not allows(loader, "s3:PutObject", OBJECT + "warehouse/x.parquet")
    assert allows(loader, "s3:DeleteObject", OBJECT + "raw/.incoming/0a1b/f.csv")  # staging
    bucket = load("bucket-policy.json")
    for raw_object in (RAW_FILE, RAW_INDEX):
        assert denies(bucket, "s3:DeleteObject", raw_object)
        conditions = [s["Condition"] for s in denies(bucket, "s3:PutObject", raw_object)]
        assert {"Null": {"s3:if-none-match": "true"},
                "Bool": {"s3:ObjectCreationOperation": "true"}} in conditions  # fmt: skip


def test_the_loader_registers_partitions_in_the_raw_database_only() -> None:
    loader = load("loader-policy.json")
    glue = [s for s in loader["Statement"] if any(a.startswith("glue:") for a in s["Action"])]
    [statement] = glue
    assert set(statement["Action"]) == {"glue:GetTables", "glue:BatchCreatePartition"}
    for resource in statement["Resource"]:
        assert resource.endswith((":catalog", "database/${RawDatabase}", "table/${RawDatabase}/*"))


def test_dbt_reads_raw_and_queries_only_its_workgroup() -> None:
    dbt = load("dbt-athena-policy.json")
    assert allows(dbt, "s3:GetObject", RAW_FILE)
    assert not allows(dbt, "s3:PutObject", RAW_FILE)
    for action in DELETES:
        assert not allows(dbt, action, RAW_FILE)
        assert not allows(dbt, action, MARKER)
    assert allows(dbt, "s3:PutObject", MARKER)
    assert allows(dbt, "s3:DeleteObject", "arn:aws:s3:::${Bucket}/${DataPrefix}t/data/x.parquet")
    athena = [s for s in dbt["Statement"] if any(a.startswith("athena:") for a in s["Action"])]
    for statement in athena:
        for resource in as_list(statement["Resource"]):
            assert resource.startswith("arn:aws:athena:${Region}:${AccountId}:")
            assert resource.endswith(("workgroup/${WorkGroup}", "datacatalog/AwsDataCatalog"))


def test_bucket_policy_denies_plain_http_everywhere() -> None:
    bucket = load("bucket-policy.json")
    [tls] = [s for s in bucket["Statement"] if s["Sid"] == "DenyRequestsWithoutTls"]
    assert tls["Action"] == "s3:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
