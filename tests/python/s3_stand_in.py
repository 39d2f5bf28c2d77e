"""A local S3 stand-in for tests: moto's server on 127.0.0.1, reached over real HTTP.

Import the fixtures into the test module that needs them (this is not a conftest)::

    from s3_stand_in import s3_fixture, s3_server_fixture  # noqa: F401

and ask for ``s3`` (an ``S3StandIn``) in a test's arguments.

``s3_server`` (once per session) runs moto's ``ThreadedMotoServer`` on a free port of
127.0.0.1. ``s3`` (per test) points the standard AWS chain of this process at it
(``AWS_ENDPOINT_URL``, dummy keys, ``AWS_DEFAULT_REGION=eu-west-1``, no profile or proxy),
creates a fresh bucket, yields an ``S3StandIn`` (its ``env`` is what a subprocess needs) and
wipes the server's state afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
# Anything that could send the requests elsewhere than the stand-in, or pick other credentials.
_CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@dataclass(frozen=True)
class S3StandIn:
    """One test's bucket on the stand-in."""

    endpoint: str
    bucket: str
    client: Any
    env: dict[str, str]

    def list_keys(self, prefix: str = "") -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        with body:
            return bytes(body.read())

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def head(self, key: str) -> dict[str, Any]:
        return dict(self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED"))


@pytest.fixture(scope="session", name="s3_server")
def s3_server_fixture() -> Iterator[str]:
    """The endpoint URL of a moto server on 127.0.0.1 (a free port), for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(name="s3")
def s3_fixture(
    s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[S3StandIn]:
    """A fresh bucket on the stand-in; this process's AWS environment points at it."""
    for name in _CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    aws_home = tmp_path / "aws-home"
    aws_home.mkdir()
    settings = {
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_ACCESS_KEY_ID": "stand-in-access-key",
        "AWS_SECRET_ACCESS_KEY": "stand-in-secret-key",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(aws_home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws_home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    client = boto3.session.Session().client("s3")
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    try:
        yield S3StandIn(endpoint=s3_server, bucket=bucket, client=client, env=dict(os.environ))
    finally:
        reset = urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST")
        with urllib.request.urlopen(reset, timeout=30):
            pass


def ensure_buckets(client: Any, *buckets: str, region: str = "eu-west-1") -> None:
    """Create the buckets unless they exist: moto keeps one state per process, so another test
    module's stand-in may have made them already."""
    for bucket in buckets:
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
