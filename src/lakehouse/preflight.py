#!/usr/bin/env python3
"""Preflight of `make prod`: every setting production needs is present, or nothing is done.

Usage: lakehouse preflight, or python src/lakehouse/preflight.py before the virtualenv exists
(reads the environment; `make prod` passes FILES/INBOX)

Checks the required environment variables (REQUIRED below; docs/athena.md lists them) and that
there is something to land: FILES (existing .csv files) or INBOX (a directory), and that the
writes' encryption is what the bucket policy accepts (SSE-KMS under a key given by its ARN
unless LAKE_SSE=AES256 is chosen for a sandbox bucket). Prints one
message listing everything missing or wrong and exits 2; exits 0 when all is in place.
Standard library only, and imports nothing of the package: `make prod` runs this file with the
system Python before the virtualenv is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REQUIRED = {
    "AWS_REGION": "AWS region of the bucket, Glue and Athena",
    "LAKE_S3_URI": "s3://BUCKET/PREFIX of the lake (raw/ and processed/ below it)",
    "ATHENA_S3_STAGING_DIR": "s3:// prefix for Athena query results",
    "ATHENA_S3_DATA_DIR": "s3:// prefix for the Iceberg tables",
    "ATHENA_SCHEMA": "base schema of the dbt models",
    "ATHENA_WORK_GROUP": "Athena workgroup",
}
S3_SETTINGS = ("LAKE_S3_URI", "ATHENA_S3_STAGING_DIR", "ATHENA_S3_DATA_DIR")
SSE_CHOICES = ("AES256", "aws:kms")
# What production writes carry when LAKE_SSE is unset: what infra/iam/bucket-policy.json demands.
PRODUCTION_SSE = "aws:kms"
_KEY_ARN_RE = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")
_S3_RE = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._=/-]*)?")


def problems(env: Mapping[str, str]) -> list[str]:
    """Everything that stops a production run, one entry per problem."""
    found = [f"{name} ({why})" for name, why in REQUIRED.items() if not env.get(name, "").strip()]
    for name in S3_SETTINGS:
        value = env.get(name, "").strip()
        if value and not _S3_RE.fullmatch(value):
            found.append(f"{name} is not an s3://bucket/prefix URI: {value!r}")
    sse = env.get("LAKE_SSE", "").strip() or PRODUCTION_SSE
    key = env.get("LAKE_KMS_KEY_ID", "").strip()
    if sse not in SSE_CHOICES:
        found.append(f"LAKE_SSE must be one of {', '.join(SSE_CHOICES)}: {sse!r}")
    elif sse == "aws:kms" and not key:
        found.append(
            "LAKE_KMS_KEY_ID (the lake key's ARN: with LAKE_SSE=aws:kms, the default, the "
            "bucket policy refuses writes naming no key; a sandbox bucket without that policy "
            "may set LAKE_SSE=AES256)"
        )
    elif sse == "aws:kms" and not _KEY_ARN_RE.fullmatch(key):
        found.append(
            f"LAKE_KMS_KEY_ID must be the key's ARN (arn:aws:kms:REGION:ACCOUNT:key/ID; the "
            f"bucket policy compares the ARN as text, so an id or alias is refused): {key!r}"
        )
    elif key and sse != "aws:kms":
        found.append("LAKE_KMS_KEY_ID needs LAKE_SSE=aws:kms")
    files, inbox = env.get("FILES", "").split(), env.get("INBOX", "").strip()
    if not files and not inbox:
        found.append("FILES or INBOX (what to land: .csv files, or a directory of them)")
    for name in files:
        if not Path(name).is_file():
            found.append(f"FILES: no such file: {name}")
    if inbox and not files and not Path(inbox).is_dir():
        found.append(f"INBOX: no such directory: {inbox}")
    return found


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    argparse.ArgumentParser(
        prog=prog, description="Refuse, doing nothing, when a setting `make prod` needs is missing."
    ).parse_args(argv)
    found = problems(os.environ)
    if found:
        lines = "\n".join(f"  - {item}" for item in found)
        print(f"make prod: refused, nothing was done. Missing or wrong:\n{lines}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
