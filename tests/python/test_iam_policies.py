"""infra/iam/*.json: valid policy documents, least privilege, and a loader that cannot delete raw.

Resources are matched the way IAM does for ARNs here (``*`` and ``?`` wildcards), on a sample
object of each area with the placeholders left in place.
"""

from __future__ import annotations

import contextvars
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from s3_stand_in import S3StandIn, s3_fixture, s3_server_fixture  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
IAM = ROOT / "infra" / "iam"
MIB = 1024 * 1024
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
    # the tables, the runs they hold (to register what an earlier landing could not), a new run
    assert set(statement["Action"]) == {
        "glue:GetTables",
        "glue:GetPartitions",
        "glue:BatchCreatePartition",
    }
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
    # the chain (publish, verify): the markers, the raw manifests and files they vouch for
    for resource in (MARKER, RAW_MANIFEST, RAW_FILE):
        assert allows(dbt, "s3:GetObject", resource)
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


# ------------------------------------------------------------------------ policy evaluation
# A small model of how IAM decides, written from AWS's documentation of the policy language
# (IAM User Guide: condition operators; conditions with several keys or values; single- and
# multivalued context keys; policy evaluation logic), not from the documents under test:
#
# * A key missing from the request: a matching operator is false, a negated one (...Not...) is
#   true, any ...IfExists operator is true; Null tests only presence ("true" = missing).
# * Several values for one key: OR; under a negated operator: NOR (none may match).
# * Several keys under one operator, several operators in one block: AND.
# * A key with several values in the request needs a set operator: ForAllValues (every request
#   value satisfies the operator; also true when the key is missing or empty) or ForAnyValue (at
#   least one does; false when missing). A plain operator over several request values is
#   refused here rather than guessed.
# * Decision: an explicit Deny wins, else any Allow (identity or bucket policy, same account),
#   else the implicit deny.
Context = dict[str, list[str]]  # condition key, lower case -> the request's values

NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
MATCHING = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"}
SET_QUALIFIERS = {"", "ForAllValues", "ForAnyValue"}


def wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character, the rest literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, value, flags) is not None


def arn_matches(pattern: str, value: str) -> bool:
    """Arn* operators: each of the six colon-separated parts matched on its own, wildcards
    allowed in each."""
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(actual) == 6 and all(map(wildcard, wanted, actual))


def value_matches(operator: str, policy_value: str, request_value: str) -> bool:
    if operator == "StringEquals":
        return request_value == policy_value
    if operator == "StringEqualsIgnoreCase":
        return request_value.lower() == policy_value.lower()
    if operator == "StringLike":
        return wildcard(policy_value, request_value)
    if operator in ("ArnEquals", "ArnLike"):
        return arn_matches(policy_value, request_value)
    if operator == "Bool":
        return request_value.lower() == policy_value.lower()
    raise ValueError(f"operator not modelled: {operator}")


def operator_holds(operator: str, key: str, policy_values: list[str], context: Context) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in SET_QUALIFIERS:
        raise ValueError(f"set operator not modelled: {operator}")
    if_exists = name.endswith("IfExists")
    base = name.removesuffix("IfExists")
    values = context.get(key.lower(), [])
    present = bool(values)
    if base == "Null":
        if qualifier or if_exists:
            raise ValueError(f"not a valid operator: {operator}")
        [wanted] = policy_values
        return present != (wanted.lower() == "true")
    negated = base in NEGATED
    matching = NEGATED.get(base, base)
    if matching not in MATCHING:
        raise ValueError(f"operator not modelled: {operator}")

    def satisfied(request_value: str) -> bool:
        hit = any(value_matches(matching, p, request_value) for p in policy_values)
        return not hit if negated else hit

    if not present:
        if if_exists or qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return negated
    if qualifier == "ForAllValues":
        return all(map(satisfied, values))
    if qualifier == "ForAnyValue":
        return any(map(satisfied, values))
    if len(values) > 1:
        raise ValueError(f"{key} has several values: {operator} needs ForAllValues/ForAnyValue")
    return satisfied(values[0])


def condition_holds(block: dict[str, dict[str, Any]], context: Context) -> bool:
    def texts(values: Any) -> list[str]:  # "true", true and ["true"] say the same
        listed = values if isinstance(values, list) else [values]
        return [v if isinstance(v, str) else json.dumps(v) for v in listed]

    return all(
        operator_holds(operator, key, texts(values), context)
        for operator, keys in block.items()
        for key, values in keys.items()
    )


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Context


def statement_applies(statement: dict[str, Any], request: Request) -> bool:
    if {"NotAction", "NotResource", "NotPrincipal"} & set(statement):
        raise ValueError(f"not modelled: {statement['Sid']}")
    principal = statement.get("Principal", "*")  # identity policies: the role they are on
    if principal != "*":
        raise ValueError(f"only Principal '*' is modelled: {statement['Sid']}")
    return (
        any(wildcard(a, request.action, ignore_case=True) for a in as_list(statement["Action"]))
        and any(wildcard(r, request.resource) for r in as_list(statement["Resource"]))
        and condition_holds(statement.get("Condition", {}), request.context)
    )


def decide(request: Request, *policies: dict[str, Any]) -> str:
    """The decision: "deny" (an explicit Deny), "allow", or "implicit deny" (no Allow)."""
    effects = {
        s["Effect"] for p in policies for s in p["Statement"] if statement_applies(s, request)
    }
    return "deny" if "Deny" in effects else "allow" if "Allow" in effects else "implicit deny"


# ------------------------------------------------------------- the evaluator's own semantics
def ctx(**values: str | list[str]) -> Context:
    return {k.replace("__", ":").lower(): as_list(v) for k, v in values.items()}


@pytest.mark.parametrize(
    ("operator", "policy_values", "context", "expected"),
    [
        # A missing key: matching operators false, negated ones true, IfExists true.
        ("StringEquals", ["a"], {}, False),
        ("StringNotEquals", ["a"], {}, True),
        ("StringEqualsIfExists", ["a"], {}, True),
        ("StringNotEqualsIfExists", ["a"], {}, True),
        ("ArnNotEquals", ["arn:aws:iam::1:role/r"], {}, True),
        ("Bool", ["false"], {}, False),
        ("BoolIfExists", ["false"], {}, True),
        ("Null", ["true"], {}, True),
        ("Null", ["false"], {}, False),
        # A present key.
        ("StringEquals", ["a"], {"k": ["a"]}, True),
        ("StringEquals", ["A"], {"k": ["a"]}, False),  # case-sensitive
        ("StringEqualsIgnoreCase", ["A"], {"k": ["a"]}, True),
        ("StringNotEquals", ["a"], {"k": ["a"]}, False),
        ("StringNotEqualsIfExists", ["a"], {"k": ["b"]}, True),
        ("StringEqualsIfExists", ["a"], {"k": ["b"]}, False),
        ("StringLike", ["raw/*"], {"k": ["raw/x/y"]}, True),
        ("StringLike", ["raw/?"], {"k": ["raw/xy"]}, False),
        ("Null", ["true"], {"k": [""]}, False),  # present, even if empty text
        ("Null", ["false"], {"k": ["a"]}, True),
        ("Bool", ["false"], {"k": ["false"]}, True),
        ("Bool", ["false"], {"k": ["true"]}, False),
        # Several policy values: OR; negated: NOR.
        ("StringEquals", ["a", "b"], {"k": ["b"]}, True),
        ("StringNotEquals", ["a", "b"], {"k": ["b"]}, False),
        ("StringNotEquals", ["a", "b"], {"k": ["c"]}, True),
        # ARNs part by part.
        ("ArnEquals", ["arn:aws:iam::*:role/r"], {"k": ["arn:aws:iam::1:role/r"]}, True),
        ("ArnNotEquals", ["arn:aws:iam::1:role/r"], {"k": ["arn:aws:iam::1:role/s"]}, True),
        ("ArnLike", ["arn:aws:iam::1:role/*"], {"k": ["arn:aws:s3:::b"]}, False),
        # Multivalued keys need a set operator.
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "b"]}, True),
        ("ForAllValues:StringEquals", ["a"], {"k": ["a", "b"]}, False),
        ("ForAllValues:StringEquals", ["a"], {}, True),  # missing: true
        ("ForAnyValue:StringEquals", ["a"], {"k": ["a", "b"]}, True),
        ("ForAnyValue:StringEquals", ["a"], {}, False),  # missing: false
        ("ForAnyValue:StringNotEquals", ["a"], {"k": ["a", "b"]}, True),
        ("ForAllValues:StringNotEquals", ["a"], {"k": ["a", "b"]}, False),
        ("ForAllValues:StringNotEquals", ["a"], {}, True),
    ],
)
def test_evaluator_follows_the_documented_operator_semantics(
    operator: str, policy_values: list[str], context: Context, expected: bool
) -> None:
    assert operator_holds(operator, "k", policy_values, context) is expected
    assert operator_holds(operator, "K", policy_values, context) is expected  # keys: any case


@pytest.mark.parametrize(
    ("operator", "context"),
    [
        ("StringEquals", {"k": ["a", "b"]}),  # multivalued without a set operator
        ("NumericLessThan", {"k": ["1"]}),  # not modelled
        ("ForEveryValue:StringEquals", {"k": ["a"]}),
        ("NullIfExists", {}),
    ],
)
def test_evaluator_refuses_what_it_does_not_model(operator: str, context: Context) -> None:
    with pytest.raises(ValueError):
        operator_holds(operator, "k", ["a"], context)


def test_evaluator_combines_statements_as_iam_does() -> None:
    allow = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}
    deny = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::b/secret/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}, "Null": {"x": "true"}},
    }
    policy = {"Statement": [{"Sid": "A", **allow}, {"Sid": "D", **deny}]}  # fmt: skip
    get = "s3:GetObject"
    assert decide(Request(get, "arn:aws:s3:::b/k", ctx(aws__SecureTransport="false")), policy) == (
        "allow"
    )
    plain = ctx(aws__SecureTransport="false")
    assert decide(Request(get, "arn:aws:s3:::b/secret/k", plain), policy) == "deny"
    with_x = {**plain, "x": ["1"]}  # both conditions must hold (AND)
    assert decide(Request(get, "arn:aws:s3:::b/secret/k", with_x), policy) == "allow"
    assert decide(Request("s3:PutObject", "arn:aws:s3:::b/k", plain), policy) == "implicit deny"


# -------------------------------------------------------------- the policies, filled in
REGION = "eu-west-1"
ACCOUNT = "111122223333"
LAKE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321"
LOADER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/lake-loader"
DBT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/lake-dbt"
BREAK_GLASS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/lake-break-glass"
BUCKET, LAKE_PREFIX, DATA_PREFIX = "lake-bucket", "lake/", "lake/warehouse/"
SAMPLE_VALUES = {
    "AccountId": ACCOUNT, "Region": REGION, "Bucket": BUCKET, "LakePrefix": LAKE_PREFIX,
    "KmsKeyArn": LAKE_KEY, "RawDatabase": "transactions_raw", "AthenaSchema": "transactions",
    "WorkGroup": "lakehouse", "ResultsBucket": "athena-results", "ResultsPrefix": "results/",
    "DataPrefix": DATA_PREFIX, "InboxBucket": "inbox-bucket", "InboxPrefix": "incoming/",
    "BreakGlassRoleArn": BREAK_GLASS_ROLE, "GitHubOwner": "owner", "GitHubRepo": "repo",
}  # fmt: skip


def filled(name: str) -> dict[str, Any]:
    """A policy with its placeholders replaced, as envsubst would before it is attached."""
    text = (IAM / name).read_text(encoding="utf-8")
    return json.loads(re.sub(r"\$\{(\w+)\}", lambda m: SAMPLE_VALUES[m.group(1)], text))


@pytest.fixture(scope="module")
def bucket_policy() -> dict[str, Any]:
    return filled("bucket-policy.json")


@pytest.fixture(scope="module")
def loader_policy() -> dict[str, Any]:
    return filled("loader-policy.json")


@pytest.fixture(scope="module")
def dbt_policy() -> dict[str, Any]:
    return filled("dbt-athena-policy.json")


# ---------------------------------------------------------------- S3's request context
# What S3 evaluates for a request, per its documentation: every object-creating call (PutObject,
# CopyObject, CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload) is
# authorised as s3:PutObject; s3:ObjectCreationOperation is false for CreateMultipartUpload,
# UploadPart and UploadPartCopy (the calls that cannot carry If-None-Match); request headers
# become the s3:<header> keys; aws:SecureTransport says whether the request came over TLS.
# S3's API gives UploadPart, UploadPartCopy and CompleteMultipartUpload no
# x-amz-server-side-encryption header (test below; an UploadPart sending one is answered 400),
# so whether those requests have the encryption keys depends on S3 filling them in from the
# upload, which AWS does not document: the tests take both cases.
OBJECT_CREATION = {
    "PutObject": "true",
    "CopyObject": "true",
    "CompleteMultipartUpload": "true",
    "CreateMultipartUpload": "false",
    "UploadPart": "false",
    "UploadPartCopy": "false",
}
ACTIONS = {
    **dict.fromkeys(OBJECT_CREATION, "s3:PutObject"),
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket",
    "DeleteObject": "s3:DeleteObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
}
HEADER_KEYS = (
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
    "if-none-match",
    "if-match",
)
SSE = "x-amz-server-side-encryption"
SSE_KEY = "x-amz-server-side-encryption-aws-kms-key-id"
PARTS = ("UploadPart", "UploadPartCopy", "CompleteMultipartUpload")


def s3_request(
    operation: str,
    principal: str,
    bucket: str,
    key: str,
    headers: dict[str, str] | None = None,
    *,
    tls: bool = True,
    query: dict[str, str] | None = None,
) -> Request:
    headers = {name.lower(): value for name, value in (headers or {}).items()}
    context: Context = {
        "aws:securetransport": ["true" if tls else "false"],
        "aws:principalarn": [principal],
    }
    if operation in OBJECT_CREATION:
        context["s3:objectcreationoperation"] = [OBJECT_CREATION[operation]]
    for name in HEADER_KEYS:
        if name in headers:
            context[f"s3:{name}"] = [headers[name]]
    if operation == "ListObjectsV2":
        context["s3:prefix"] = [(query or {}).get("prefix", "")]
        return Request(ACTIONS[operation], f"arn:aws:s3:::{bucket}", context)
    return Request(ACTIONS[operation], f"arn:aws:s3:::{bucket}/{key}", context)


def put(key: str, principal: str = LOADER_ROLE, **headers: str) -> Request:
    """A PutObject of ``key`` in the lake bucket (headers: ``_`` for ``-``)."""
    return s3_request(
        "PutObject", principal, BUCKET, LAKE_PREFIX + key,
        {name.replace("_", "-"): value for name, value in headers.items()},
    )  # fmt: skip


class Recorder:
    """Keeps every request a boto3 client sends (operation, URL, headers) and lets it go on."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        client = boto3.session.Session().client(
            "s3", config=Config(s3={"addressing_style": "path"})
        )
        client.meta.events.register("before-send.s3", self._keep)
        return client

    def _keep(self, request: Any, event_name: str, **_: Any) -> None:
        headers = {
            name.lower(): value.decode() if isinstance(value, bytes) else str(value)
            for name, value in request.headers.items()
        }
        self.sent.append((event_name.rsplit(".", 1)[-1], request.url, headers))

    def requests(self, principal: str) -> list[tuple[str, Request]]:
        """The kept requests as production would see them: to the lake bucket over TLS (the
        stand-in's bucket has another name and is reached over plain HTTP; boto3's AWS endpoints
        are HTTPS)."""
        found = []
        for operation, url, headers in self.sent:
            parts = urlsplit(url)
            key = unquote(parts.path).lstrip("/").partition("/")[2]
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            request = s3_request(operation, principal, BUCKET, key, headers, query=query)
            found.append((operation, request))
        return found


def test_part_requests_cannot_state_the_encryption() -> None:
    """In S3's API (botocore's service model), only the calls that start an object take the
    encryption headers; the part uploads and the completion do not."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")

    def headers(operation: str) -> set[str]:
        members = model.operation_model(operation).input_shape.members.values()
        return {m.serialization.get("name", "").lower() for m in members}

    for operation in ("PutObject", "CopyObject", "CreateMultipartUpload"):
        assert {SSE, SSE_KEY} <= headers(operation)
    for operation in PARTS:
        assert not {SSE, SSE_KEY} & headers(operation)


def carry_upload_encryption(requests: list[tuple[str, Request]]) -> list[tuple[str, Request]]:
    """The same requests, had S3 given each part and completion its upload's encryption keys."""
    uploads: dict[str, Context] = {}
    carried = []
    for operation, request in requests:
        sse = {k: v for k, v in request.context.items() if k.startswith(f"s3:{SSE}")}
        if operation == "CreateMultipartUpload":
            uploads[request.resource] = sse
        elif operation in PARTS:
            request = Request(request.action, request.resource,
                              {**request.context, **uploads[request.resource]})  # fmt: skip
        carried.append((operation, request))
    return carried


# ------------------------------------------------------------------------------- writers
def big_csv(min_bytes: int) -> bytes:
    header = b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
    row = "T-{:08d},ACC{:03d},{}.00,EUR,2024-01-05T09:00:00Z\n"
    lines, size, i = [header], len(header), 0
    while size < min_bytes:
        lines.append(row.format(i, i % 977, i % 1000).encode())
        size, i = size + len(lines[-1]), i + 1
    return b"".join(lines)


def land_with_the_loader(
    s3: S3StandIn, tmp_path: Path, sizes: tuple[int, ...], **options: Any
) -> Recorder:
    """Land files of these sizes with the real S3 loader (5 MiB parts) and keep its requests."""
    from lakehouse import landing_s3 as s3l

    recorder = Recorder()
    settings = s3l.S3Options(multipart_threshold=5 * MIB, part_size=5 * MIB, **options)
    lake = s3l.S3Lake(s3.bucket, LAKE_PREFIX, settings, client=recorder.client())
    for number, size in enumerate(sizes):
        source = tmp_path / f"file_{number}.csv"
        source.write_bytes(big_csv(size))
        assert s3l.land_file_s3(source, lake)["status"] == "landed"
    return recorder


def test_every_request_of_the_loader_in_production_is_allowed(
    s3: S3StandIn, tmp_path: Path, loader_policy: dict[str, Any], bucket_policy: dict[str, Any]
) -> None:
    """The loader as make prod runs it (LAKE_SSE=aws:kms, LAKE_KMS_KEY_ID=the lake key's ARN),
    a small file (one PUT) and a large one (staged in parts, copied part by part)."""
    recorder = land_with_the_loader(s3, tmp_path, (1000, 6 * MIB), sse="aws:kms",
                                    kms_key_id=LAKE_KEY)  # fmt: skip
    requests = recorder.requests(LOADER_ROLE)
    operations = {operation for operation, _ in requests}
    assert {"PutObject", "CreateMultipartUpload", "CompleteMultipartUpload"} <= operations
    assert {"UploadPart", "UploadPartCopy"} <= operations
    for fill_in in (False, True):  # whether or not S3 gives parts their upload's encryption
        seen = carry_upload_encryption(requests) if fill_in else requests
        refused = [(op, r) for op, r in seen if decide(r, loader_policy, bucket_policy) != "allow"]
        assert refused == []
    # Every object-creating request that can carry the encryption headers carries the lake key.
    for operation, request in requests:
        if operation in ("PutObject", "CreateMultipartUpload"):
            assert request.context[f"s3:{SSE}"] == ["aws:kms"]
            assert request.context[f"s3:{SSE_KEY}"] == [LAKE_KEY]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"sse": "AES256"}, "deny"),  # the loader's default: SSE-S3, a sandbox setting
        ({"sse": "aws:kms"}, "deny"),  # no key id: S3 would use the AWS managed key aws/s3
        ({"sse": "aws:kms", "kms_key_id": "alias/lake"}, "deny"),  # the policy names the ARN
        ({"sse": "aws:kms", "kms_key_id": OTHER_KEY}, "deny"),
        ({"sse": "aws:kms", "kms_key_id": LAKE_KEY}, "allow"),
    ],
    ids=["AES256", "kms-without-key", "kms-alias", "kms-other-key", "kms-lake-key"],
)
def test_loader_writes_pass_only_with_the_lake_key(
    s3: S3StandIn,
    tmp_path: Path,
    loader_policy: dict[str, Any],
    bucket_policy: dict[str, Any],
    options: dict[str, str],
    expected: str,
) -> None:
    requests = land_with_the_loader(s3, tmp_path, (1000,), **options).requests(LOADER_ROLE)
    puts = [request for operation, request in requests if operation == "PutObject"]
    assert len(puts) >= 5  # lock, data, line index, index entry, manifest copy, manifest
    assert {decide(r, loader_policy, bucket_policy) for r in puts} == {expected}


def test_publisher_markers_pass_only_with_the_lake_key(
    s3: S3StandIn,
    monkeypatch: pytest.MonkeyPatch,
    dbt_policy: dict[str, Any],
    bucket_policy: dict[str, Any],
) -> None:
    from lakehouse import landing_s3 as s3l
    from lakehouse import publish

    decisions = {}
    for sse, key, run_id in (
        ("aws:kms", LAKE_KEY, "20240105T090000000000Z_0a1b2c3d"),
        ("AES256", None, "20240105T090000000000Z_0a1b2c3e"),
    ):
        recorder = Recorder()
        monkeypatch.setattr(s3l, "new_s3_client", recorder.client)
        markers = publish.S3Markers(f"s3://{s3.bucket}/{LAKE_PREFIX}", sse, key)
        assert ("2024-01-05", run_id) not in markers.existing()
        assert markers.write("2024-01-05", run_id, b"{}\n") is not None
        requests = recorder.requests(DBT_ROLE)
        assert [op for op, _ in requests] == ["ListObjectsV2", "PutObject"]
        assert decide(requests[0][1], dbt_policy, bucket_policy) == "allow"
        decisions[sse] = decide(requests[1][1], dbt_policy, bucket_policy)
    assert decisions == {"aws:kms": "allow", "AES256": "deny"}


# -------------------------------------------------------------------- dbt-athena's seeds
PRODUCTION_ENV = {"LAKE_SSE": "aws:kms", "LAKE_KMS_KEY_ID": LAKE_KEY}


@pytest.fixture(scope="module")
def seed_upload_args() -> Callable[[dict[str, str]], dict[str, Any] | None]:
    """profiles/profiles.yml's athena target rendered by dbt itself (its renderer, env_var from
    the given environment, the adapter's credentials class): ``seed_s3_upload_args``."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    raw = read_profile(str(ROOT / "profiles"))["transaction_lakehouse"]

    def in_context(env: dict[str, str]) -> dict[str, Any] | None:
        set_invocation_context(env)
        target, data = Profile.render_profile(
            raw, "transaction_lakehouse", "athena", ProfileRenderer({})
        )
        data.pop("threads", None)
        credentials = Profile._credentials_from_profile(data, "transaction_lakehouse", target)
        assert type(credentials).__name__ == "AthenaCredentials"
        return credentials.seed_s3_upload_args  # type: ignore[attr-defined, no-any-return]

    return lambda env: contextvars.copy_context().run(in_context, env)


def test_dbt_athena_uploads_seeds_with_the_profiles_args() -> None:
    """What the tests below assume of the installed dbt-athena: a seed is uploaded with boto3's
    upload_file, ExtraArgs = the seed's config or else the profile's seed_s3_upload_args; and
    nothing in the project sets it per seed."""
    from dbt.adapters.athena.impl import AthenaAdapter

    source = inspect.getsource(AthenaAdapter.upload_seed_to_s3)
    assert ".upload_file(" in source and "ExtraArgs=seed_s3_upload_args" in source
    import dbt.include.athena as include

    helpers = Path(include.__file__).parent / "macros/materializations/seeds/helpers.sql"
    assert "config.get('seed_s3_upload_args', default=target.seed_s3_upload_args)" in (
        helpers.read_text(encoding="utf-8")
    )
    project_files = [ROOT / "dbt_project.yml", *ROOT.glob("seeds/**/*.yml")]
    assert not any("seed_s3_upload_args" in p.read_text(encoding="utf-8") for p in project_files)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"LAKE_SSE": "", "LAKE_KMS_KEY_ID": ""},
        {"LAKE_SSE": "AES256"},
        {"LAKE_SSE": "aws:kms"},
        PRODUCTION_ENV,
    ],
    ids=["unset", "empty", "AES256", "kms-without-key", "production"],
)
def test_seed_uploads_are_encrypted_as_the_loader_and_publisher_encrypt(
    seed_upload_args: Callable[[dict[str, str]], dict[str, Any] | None], env: dict[str, str]
) -> None:
    """Same environment, same encryption: the profile and `make prod`'s --sse/--kms-key-id
    (run by hand LAKE_SSE defaults to AES256, an empty value counting as unset; `make prod`
    exports aws:kms unless set; --kms-key-id only when LAKE_KMS_KEY_ID is set)."""
    from lakehouse.landing_s3 import S3Options

    sse, key = env.get("LAKE_SSE") or "AES256", env.get("LAKE_KMS_KEY_ID") or None
    assert seed_upload_args(env) == S3Options(sse=sse, kms_key_id=key).sse_args()


@pytest.mark.parametrize(("env", "expected"), [(PRODUCTION_ENV, "allow"), ({}, "deny")],
                         ids=["production", "defaults"])  # fmt: skip
def test_seed_upload_as_the_profile_configures_it(
    s3: S3StandIn,
    tmp_path: Path,
    seed_upload_args: Callable[[dict[str, str]], dict[str, Any] | None],
    dbt_policy: dict[str, Any],
    bucket_policy: dict[str, Any],
    env: dict[str, str],
    expected: str,
) -> None:
    """The upload dbt-athena makes for the currency seed (boto3 upload_file with the rendered
    args) into the Iceberg data prefix; without the production settings it is SSE-S3, which
    this bucket refuses (a sandbox bucket without this policy takes it)."""
    seed = tmp_path / "seed.csv"
    seed.write_text('"code","name"\n"EUR","Euro"\n', encoding="utf-8")
    recorder = Recorder()
    key = f"{DATA_PREFIX}reference/iso_4217_currencies__dbt_tmp/0a1b/iso_4217_currencies.csv"
    recorder.client().upload_file(str(seed), s3.bucket, key, ExtraArgs=seed_upload_args(env))
    [(operation, request)] = recorder.requests(DBT_ROLE)
    assert operation == "PutObject"
    assert decide(request, dbt_policy, bucket_policy) == expected


# ------------------------------------------------------------ Athena's writes, and others
ICEBERG_FILE = "warehouse/transactions/fct_transactions/0a1b/data/month=2024-01/f.parquet"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # Workgroup encryption SSE_KMS with the lake key's ARN: Athena states it.
        ({SSE: "aws:kms", SSE_KEY: LAKE_KEY}, "allow"),
        # Nothing stated (a write Athena sends without headers): the bucket's default
        # encryption, SSE-KMS with the lake key, encrypts it.
        ({}, "allow"),
        ({SSE: "AES256"}, "deny"),  # workgroup SSE_S3
        ({SSE: "aws:kms", SSE_KEY: OTHER_KEY}, "deny"),  # workgroup with another key
    ],
    ids=["workgroup-kms-lake-key", "no-header", "workgroup-sse-s3", "workgroup-other-key"],
)
def test_athena_writes_in_the_data_prefix(
    dbt_policy: dict[str, Any],
    bucket_policy: dict[str, Any],
    headers: dict[str, str],
    expected: str,
) -> None:
    """Athena writes query results, CTAS and Iceberg files with the caller's permissions (the dbt
    role) and the workgroup's result encryption."""
    request = s3_request("PutObject", DBT_ROLE, BUCKET, LAKE_PREFIX + ICEBERG_FILE, headers)
    assert decide(request, dbt_policy, bucket_policy) == expected
    for operation in ("UploadPart", "CompleteMultipartUpload"):  # its large files, in parts
        part = s3_request(operation, DBT_ROLE, BUCKET, LAKE_PREFIX + ICEBERG_FILE)
        assert decide(part, dbt_policy, bucket_policy) == "allow"


RAW_KEY = "raw/transactions/ingest_date=2024-01-05/run_id=R/f.csv"


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (put(RAW_KEY, If_None_Match="*", **{SSE: "aws:kms", SSE_KEY: LAKE_KEY}), "allow"),
        (put(RAW_KEY, If_None_Match="*"), "allow"),  # no header: default encryption (lake key)
        (put(RAW_KEY, If_None_Match="*", **{SSE: "AES256"}), "deny"),
        (put(RAW_KEY, If_None_Match="*", **{SSE: "aws:kms:dsse", SSE_KEY: LAKE_KEY}), "deny"),
        (put(RAW_KEY, If_None_Match="*", **{SSE: "AWS:KMS", SSE_KEY: LAKE_KEY}), "deny"),
        (put(RAW_KEY, If_None_Match="*", **{SSE_KEY: LAKE_KEY}), "allow"),  # S3 refuses it (400)
        (put(RAW_KEY, If_None_Match="*", **{SSE_KEY: OTHER_KEY}), "deny"),
        # Denied whether S3 takes an empty key id as present (not the lake key) or as absent
        # (aws:kms without a key id).
        (put(RAW_KEY, If_None_Match="*", **{SSE: "aws:kms", SSE_KEY: ""}), "deny"),
        (put(RAW_KEY, If_None_Match="*", **{SSE: "aws:kms"}), "deny"),
        (put(RAW_KEY, If_None_Match="*", x_amz_server_side_encryption_customer_algorithm="AES256"),
         "deny"),  # SSE-C: a key the lake does not hold
        (put(RAW_KEY, **{SSE: "aws:kms", SSE_KEY: LAKE_KEY}), "deny"),  # an overwrite
    ],
    ids=["kms-lake-key", "no-header", "AES256", "dsse", "algorithm-case", "key-id-alone",
         "other-key-alone", "empty-key-id", "kms-without-key-id", "sse-c", "no-if-none-match"],
)  # fmt: skip
def test_loader_puts_of_raw_objects(
    loader_policy: dict[str, Any],
    bucket_policy: dict[str, Any],
    request_: Request,
    expected: str,
) -> None:
    assert decide(request_, loader_policy, bucket_policy) == expected


def test_no_request_without_tls(
    loader_policy: dict[str, Any], bucket_policy: dict[str, Any]
) -> None:
    good = {SSE: "aws:kms", SSE_KEY: LAKE_KEY, "If-None-Match": "*"}
    key = LAKE_PREFIX + RAW_KEY
    for operation, headers in (("PutObject", good), ("GetObject", {}), ("HeadObject", {})):
        over_tls = s3_request(operation, LOADER_ROLE, BUCKET, key, headers)
        plain = s3_request(operation, LOADER_ROLE, BUCKET, key, headers, tls=False)
        assert decide(over_tls, loader_policy, bucket_policy) == "allow"
        assert decide(plain, loader_policy, bucket_policy) == "deny"


def test_only_break_glass_may_change_the_default_encryption(
    bucket_policy: dict[str, Any],
) -> None:
    """Header-less writes rely on the bucket's default encryption: nobody else may change it."""
    for principal, expected in ((LOADER_ROLE, "deny"), (DBT_ROLE, "deny"),
                                (BREAK_GLASS_ROLE, "implicit deny")):  # fmt: skip
        context = ctx(aws__SecureTransport="true", aws__PrincipalArn=principal)
        request = Request("s3:PutEncryptionConfiguration", f"arn:aws:s3:::{BUCKET}", context)
        assert decide(request, bucket_policy) == expected  # break glass: its own policy allows


def test_requiring_the_header_would_refuse_multipart_uploads(s3: S3StandIn, tmp_path: Path) -> None:
    """Why the bucket policy does not require the header: the deny that would (written here,
    not read from the policy) refuses the loader's own part uploads and completions unless S3
    fills in their upload's encryption, which AWS does not document."""
    require_header = {"Statement": [{
        "Sid": "RequireTheHeader", "Effect": "Deny", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"StringNotEquals": {f"s3:{SSE}": "aws:kms"}},
    }]}  # fmt: skip
    recorder = land_with_the_loader(s3, tmp_path, (6 * MIB,), sse="aws:kms", kms_key_id=LAKE_KEY)
    requests = [(op, r) for op, r in recorder.requests(LOADER_ROLE) if op in OBJECT_CREATION]
    refused = {op for op, r in requests if decide(r, require_header) == "deny"}
    assert refused == set(PARTS)
    carried = carry_upload_encryption(requests)
    assert {op for op, r in carried if decide(r, require_header) == "deny"} == set()
