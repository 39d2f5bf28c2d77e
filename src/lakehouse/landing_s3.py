"""S3 mode of the loader: the local lake's layout and manifests under ``s3://BUCKET/PREFIX/``.

Objects (keys relative to the prefix)::

    raw/transactions/ingest_date=YYYY-MM-DD/run_id=<run_id>/<file>.csv      the file, byte for byte
    raw/transactions/ingest_date=YYYY-MM-DD/run_id=<run_id>/_manifest.json  commit marker (last)
    raw/transaction_line_index/ingest_date=…/run_id=…/<file>.csv.lines.jsonl.gz   for Athena
    raw/transaction_manifests/ingest_date=…/run_id=…/<file>.csv.manifest.json    for Athena
    raw/_index/sha256=<hex>.json       content hash -> run: the idempotency check is one GET
    raw/.lock                          lease lock: run_id order = commit order
    raw/.incoming/<token>/<file>.csv   staging copy of a large file, deleted once landed

Athena reads every object under a table's location, and Trino's Hive reader (Athena's engine)
skips objects whose name starts with ``_`` or ``.``. So what each raw table reads lives under a
folder of its own beside ``raw/transactions/``, partitioned like it: the line index (Athena cannot
number a text file's lines) and a visible copy of the manifest. The DDL macro
(macros/raw/athena_raw_relations.sql) puts the tables there; the loader registers each run's
partition in every one of them after the commit, so Athena never reads a run that is not landed.

Landing one file (``land_file_s3``):

1. Read the source once, profiling it as local mode does. A file below the multipart threshold is
   kept in memory; a larger one is uploaded in parts (SHA-256 checksum per part) to a staging key,
   so memory stays at about max(threshold, part size) whatever the file size.
2. Under the lease lock: look the content hash up in the index (landed before: skipped), assign
   the run_id after the latest run, write the data object (one PUT, or a server-side multipart copy
   of the staging object), check its stored SHA-256 checksum, write the line index, the index
   entry, the manifest's copy for Athena and, last, the manifest. Readers consider a run landed
   only when ``_manifest.json`` exists.

Every object is written with ``If-None-Match: *`` (put_object / complete_multipart_upload), so
nothing is ever overwritten, and carries the chosen server-side encryption. Credentials come from
the standard AWS chain only; ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` are honoured by boto3.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import random
import re
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lakehouse.landing import (
    LANDED_AT_FORMAT,
    MANIFEST_NAME,
    SNIFF_BYTES,
    ContentProfile,
    ContentProfiler,
    LandedRun,
    LandingError,
    _landing_moment,
    build_manifest,
    display_path,
    new_run_id,
    open_source,
    parse_run_time,
    refuse_if_strict,
    sanitize_file_name,
    skipped_result,
    unforeseen_failure,
)
from lakehouse.line_index import index_name, is_line_readable, write_stream_index

LOG = logging.getLogger("land_csv")

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PART_SIZE = 5 * 1024 * MIB  # S3's maximum part (and single PUT) size
MAX_PARTS = 10_000
SSE_ALGORITHMS = ("AES256", "aws:kms")
CSV_TYPE = "text/csv"
JSON_TYPE = "application/json"
GZIP_TYPE = "application/gzip"
CONFLICT_RETRIES = 5  # 409 ConditionalRequestConflict: a concurrent conditional write, retry
_COMMITTED_RE = re.compile(rf"ingest_date=([0-9-]+)/run_id=([^/]+)/{re.escape(MANIFEST_NAME)}$")
MANIFEST_COPY_SUFFIX = ".manifest.json"  # Athena's copy of _manifest.json (module docstring)
# The folders beside raw/transactions/ of what Athena reads instead of the run's own objects.
LINE_INDEX_FOLDER = "transaction_line_index"
MANIFEST_COPY_FOLDER = "transaction_manifests"

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ObjectExists(LandingError):
    """A conditional write found the key taken: the loader never overwrites."""


class ChecksumMismatch(LandingError):
    """The stored object is not the bytes read from the source."""


class AlreadyLanded(Exception):
    """Another loader committed the same content first (it won the index write)."""

    def __init__(self, run: LandedRun) -> None:
        super().__init__(run.run_id)
        self.run = run


@dataclass(frozen=True)
class S3Options:
    """Encryption, multipart sizes and lock timing of an S3 lake."""

    sse: str = "AES256"
    kms_key_id: str | None = None
    multipart_threshold: int = 64 * MIB  # files of this size or more are uploaded in parts
    part_size: int = 64 * MIB
    lock_stale_after: float = 300.0  # seconds a lock may go unrenewed before it is taken over
    lock_wait_timeout: float = 1800.0  # seconds to wait for the lock before giving up

    def __post_init__(self) -> None:
        if self.sse not in SSE_ALGORITHMS:
            raise ValueError(f"server-side encryption must be one of {', '.join(SSE_ALGORITHMS)}")
        if self.kms_key_id and self.sse != "aws:kms":
            raise ValueError("a KMS key id needs server-side encryption aws:kms")
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError("the multipart part size must be between 5 MiB and 5 GiB")
        if not 1 <= self.multipart_threshold <= MAX_PART_SIZE:
            raise ValueError("the multipart threshold must be between 1 byte and 5 GiB")
        if self.lock_stale_after < 0 or self.lock_wait_timeout < 0:
            raise ValueError("lock timings must not be negative")

    def sse_args(self) -> dict[str, str]:
        args = {"ServerSideEncryption": self.sse}
        if self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args


@dataclass(frozen=True)
class StagedFile:
    """A source read once: its profile and either its bytes or a complete staging object."""

    file_name: str
    profile: ContentProfile
    body: bytes | None = None  # a file below the multipart threshold
    staging_key: str | None = None  # a larger file, uploaded in parts of part_size
    staging_etag: str | None = None
    part_size: int = 0
    part_digests: tuple[bytes, ...] = ()

    @property
    def expected_checksum(self) -> str:
        """The SHA-256 checksum S3 must report for the landed object."""
        if self.staging_key is None:
            return b64(bytes.fromhex(self.profile.sha256))
        return composite_checksum(self.part_digests)


# ------------------------------------------------------------------------------------ helpers
def manifest_copy_name(file_name: str) -> str:
    """Name of the manifest's visible copy, which Athena's manifest table reads."""
    return file_name + MANIFEST_COPY_SUFFIX


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://BUCKET[/PREFIX]`` -> (bucket, prefix): the prefix is empty or ends with ``/``."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not _BUCKET_RE.fullmatch(bucket):
        raise ValueError(f"not a valid bucket name in {uri!r}: {bucket!r}")
    parts = [part for part in prefix.split("/") if part]
    if any(part in {".", ".."} for part in parts):
        raise ValueError(f"'.' and '..' are not allowed in the prefix of {uri!r}")
    return bucket, "".join(f"{part}/" for part in parts)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def composite_checksum(part_digests: Sequence[bytes]) -> str:
    """S3's checksum of a multipart object: SHA-256 of the part digests, ``-<part count>``."""
    return f"{b64(hashlib.sha256(b''.join(part_digests)).digest())}-{len(part_digests)}"


def same_checksum(stored: str, expected: str) -> bool:
    """Compare checksums; a stored value without the ``-<parts>`` suffix is accepted (moto)."""
    stored_value, _, stored_parts = stored.partition("-")
    expected_value, _, expected_parts = expected.partition("-")
    return stored_value == expected_value and stored_parts in {"", expected_parts}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _precondition_failed(exc: ClientError) -> bool:
    return _error_code(exc) == "PreconditionFailed" or _http_status(exc) == 412


def _conditional_conflict(exc: ClientError) -> bool:
    return _error_code(exc) == "ConditionalRequestConflict" or _http_status(exc) == 409


def _not_found(exc: ClientError) -> bool:
    code = _error_code(exc)
    return code != "NoSuchBucket" and (
        code in {"404", "NoSuchKey", "NotFound"} or _http_status(exc) == 404
    )


def _backoff(attempt: int) -> None:
    """Sleep before retry ``attempt`` (0-based): exponential, capped at 2 s, with jitter."""
    time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))


def new_s3_client() -> Any:
    """An S3 client from the standard AWS chain (environment, profile, SSO, instance role)."""
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return boto3.session.Session().client("s3", config=config)


class Progress:
    """A one-line byte counter on ``stream``, shown only when the stream is a terminal."""

    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self._label = label
        self._total = max(total, 1)
        self._done = 0
        self._stream: TextIO | None = stream if _is_tty(stream) else None

    def advance(self, count: int) -> None:
        self._done += count
        if self._stream is not None:
            percent = min(100, self._done * 100 // self._total)
            self._stream.write(
                f"\r{self._label}: {self._done / MIB:.1f} of {self._total / MIB:.1f} MiB "
                f"({percent}%)"
            )
            self._stream.flush()

    def finish(self) -> None:
        if self._stream is not None and self._done:
            self._stream.write("\n")
            self._stream.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _read_parts(
    first: bytes, src: BinaryIO, part_size: int, profiler: ContentProfiler
) -> Iterator[bytes]:
    """``first`` then the rest of ``src`` in parts of ``part_size`` bytes (the last shorter)."""
    pending = first
    while True:
        if len(pending) < part_size:
            pending += src.read(part_size - len(pending))
            if len(pending) < part_size:  # a regular file reads short only at its end
                break
        part, pending = pending[:part_size], pending[part_size:]
        profiler.update(part)
        yield part
    if pending:
        profiler.update(pending)
        yield pending


# ------------------------------------------------------------------------------- object store
class S3Objects:
    """Object operations on one bucket; every write carries the SSE options and a SHA-256."""

    def __init__(self, client: Any, bucket: str, options: S3Options) -> None:
        self.client = client
        self.bucket = bucket
        self.options = options

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put_new(
        self, key: str, body: bytes, content_type: str, *, accept_identical: bool = False
    ) -> str:
        """Create ``key`` (If-None-Match: *) and return its ETag; never overwrite.

        With ``accept_identical``, an existing object with exactly these bytes counts as this
        write (a retried request whose first attempt succeeded).
        """
        checksum = b64(hashlib.sha256(body).digest())
        for attempt in range(CONFLICT_RETRIES):
            try:
                response = self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=content_type,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,
                    IfNoneMatch="*",
                    **self.options.sse_args(),
                )
                return str(response["ETag"])
            except ClientError as exc:
                if _conditional_conflict(exc):
                    _backoff(attempt)
                    continue
                if not _precondition_failed(exc):
                    raise
            existing = self.get(key) if accept_identical else None
            if existing is not None and existing[0] == body:
                return existing[1]
            raise ObjectExists(f"refusing to overwrite existing object {self.uri(key)}")
        raise LandingError(f"conditional write of {self.uri(key)} kept conflicting; try again")

    def replace(self, key: str, body: bytes, content_type: str, if_match: str) -> str | None:
        """Overwrite ``key`` only if its ETag is still ``if_match``; the new ETag, else None."""
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ChecksumAlgorithm="SHA256",
                IfMatch=if_match,
                **self.options.sse_args(),
            )
        except ClientError as exc:
            if _precondition_failed(exc) or _conditional_conflict(exc) or _not_found(exc):
                return None
            raise
        return str(response["ETag"])

    def get(self, key: str) -> tuple[bytes, str, dict[str, Any]] | None:
        """(body, ETag, response) of a small object, or None if it does not exist."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise
        with contextlib.closing(response["Body"]) as body:
            return body.read(), str(response["ETag"]), response

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(
                self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            )
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise

    def delete(self, key: str, if_match: str | None = None) -> None:
        """Delete ``key`` (only if its ETag is still ``if_match``, when given); best effort."""
        condition = {"IfMatch": if_match} if if_match else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key, **condition)
        except (ClientError, BotoCoreError) as exc:
            LOG.warning("could not delete %s: %s", self.uri(key), exc)

    def has_objects_under(self, prefix: str) -> bool:
        response = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        return bool(response.get("KeyCount") or response.get("Contents"))

    def child_prefixes(self, prefix: str) -> list[str]:
        """The ``<prefix><name>/`` "folders" directly under ``prefix``."""
        paginator = self.client.get_paginator("list_objects_v2")
        found: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            found.extend(str(p["Prefix"]) for p in page.get("CommonPrefixes", []))
        return found

    def verify(self, key: str, expected_checksum: str, size: int) -> None:
        """The stored object has this SHA-256 checksum, size and server-side encryption."""
        head = self.head(key)
        if head is None:
            raise LandingError(f"{self.uri(key)} is missing right after it was written")
        stored = head.get("ChecksumSHA256")
        if stored is None or not same_checksum(str(stored), expected_checksum):
            raise ChecksumMismatch(
                f"checksum mismatch for {self.uri(key)}: S3 stored SHA-256 {stored}, the source "
                f"as read gives {expected_checksum}"
            )
        if head.get("ContentLength") != size:
            raise ChecksumMismatch(
                f"size mismatch for {self.uri(key)}: {head.get('ContentLength')} bytes stored, "
                f"{size} read"
            )
        if head.get("ServerSideEncryption") != self.options.sse:
            raise LandingError(
                f"{self.uri(key)} is stored with server-side encryption "
                f"{head.get('ServerSideEncryption')}, not {self.options.sse}"
            )

    # ------------------------------------------------------------------------- multipart
    def _create_multipart(self, key: str, content_type: str = CSV_TYPE) -> str:
        response = self.client.create_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            **self.options.sse_args(),
        )
        return str(response["UploadId"])

    def _complete_multipart(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> str:
        for attempt in range(CONFLICT_RETRIES):
            try:
                response = self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
                return str(response["ETag"])
            except ClientError as exc:
                if _conditional_conflict(exc):
                    _backoff(attempt)
                    continue
                if _precondition_failed(exc):
                    raise ObjectExists(
                        f"refusing to overwrite existing object {self.uri(key)}"
                    ) from None
                raise
        raise LandingError(f"conditional write of {self.uri(key)} kept conflicting; try again")

    def _abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as exc:
            LOG.warning("could not abort the multipart upload of %s: %s", self.uri(key), exc)

    def upload_parts(
        self,
        key: str,
        parts: Iterator[bytes],
        on_part: Callable[[int], None],
        content_type: str = CSV_TYPE,
    ) -> tuple[str, tuple[bytes, ...]]:
        """Upload ``parts`` as the new object ``key``; its ETag and the parts' SHA-256 digests."""
        upload_id = self._create_multipart(key, content_type)
        try:
            completed: list[dict[str, Any]] = []
            digests: list[bytes] = []
            for number, part in enumerate(parts, start=1):
                digest = hashlib.sha256(part).digest()
                response = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=part,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=b64(digest),
                )
                completed.append(
                    {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": b64(digest)}
                )
                digests.append(digest)
                on_part(len(part))
            etag = self._complete_multipart(key, upload_id, completed)
        except BaseException:
            self._abort_multipart(key, upload_id)
            raise
        return etag, tuple(digests)

    def copy_parts(self, staged: StagedFile, key: str, on_part: Callable[[int], None]) -> str:
        """Server-side copy of ``staged``'s staging object to the new object ``key``, part by
        part on the same boundaries as the upload; return the new ETag."""
        if staged.staging_key is None or staged.staging_etag is None:
            raise ValueError("copy_parts needs a staged file with a staging object")
        size = staged.profile.size
        upload_id = self._create_multipart(key)
        try:
            completed: list[dict[str, Any]] = []
            for number, digest in enumerate(staged.part_digests, start=1):
                first = (number - 1) * staged.part_size
                last = min(first + staged.part_size, size) - 1
                response = self.client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": staged.staging_key},
                    CopySourceRange=f"bytes={first}-{last}",
                    CopySourceIfMatch=staged.staging_etag,
                )
                result = response["CopyPartResult"]
                stored = result.get("ChecksumSHA256")
                if stored is not None and stored != b64(digest):
                    raise ChecksumMismatch(
                        f"checksum mismatch copying part {number} to {self.uri(key)}"
                    )
                completed.append(
                    {"PartNumber": number, "ETag": result["ETag"], "ChecksumSHA256": b64(digest)}
                )
                on_part(last - first + 1)
            return self._complete_multipart(key, upload_id, completed)
        except BaseException:
            self._abort_multipart(key, upload_id)
            raise


# ------------------------------------------------------------------------------------- lock
class S3LeaseLock:
    """Lake-wide lease: an object created with If-None-Match: *, renewed with If-Match.

    A waiter takes the lock over (If-Match on the ETag it saw) once the lock object is older
    than ``stale_after`` seconds by S3's own clock (response Date minus Last-Modified), so
    loaders need no synchronised clocks. The holder renews the lease during long copies and
    right before committing, and fails instead of committing if the lease was taken over.
    """

    def __init__(self, objects: S3Objects, key: str, stale_after: float, wait_timeout: float):
        self.objects = objects
        self.key = key
        self.stale_after = stale_after
        self.wait_timeout = wait_timeout
        self.owner = secrets.token_hex(8)
        self._etag: str | None = None
        self._renewed_at = 0.0

    def _body(self) -> bytes:
        record = {
            "owner": self.owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "at": datetime.now(UTC).strftime(LANDED_AT_FORMAT),
        }
        return (json.dumps(record, sort_keys=True) + "\n").encode()

    def _held(self, etag: str) -> None:
        self._etag = etag
        self._renewed_at = time.monotonic()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait_timeout
        attempt = 0
        while True:
            try:
                self._held(self.objects.put_new(self.key, self._body(), JSON_TYPE))
                return
            except ObjectExists:
                pass
            holder = self.objects.get(self.key)
            if holder is not None and self._try_take(*holder):
                return
            if time.monotonic() >= deadline:
                raise LandingError(
                    f"gave up after {self.wait_timeout:g} s waiting for the lake lock "
                    f"{self.objects.uri(self.key)} (held by {_describe(holder)})"
                )
            if attempt == 0:
                LOG.info("waiting for the lake lock %s (another loader is landing)", self.key)
            _backoff(attempt)
            attempt += 1

    def _try_take(self, body: bytes, etag: str, response: dict[str, Any]) -> bool:
        if _json_object(body).get("owner") == self.owner:  # our own write, seen by a retry
            self._held(etag)
            return True
        age = _age_seconds(response)
        if age < self.stale_after:
            return False
        new_etag = self.objects.replace(self.key, self._body(), JSON_TYPE, if_match=etag)
        if new_etag is None:
            return False
        LOG.warning(
            "took over the stale lake lock %s (not renewed for %.0f s; was held by %s)",
            self.objects.uri(self.key),
            age,
            _describe((body, etag, response)),
        )
        self._held(new_etag)
        return True

    def renew(self) -> None:
        """Extend the lease now; fail if another loader took it over."""
        new_etag = None
        if self._etag is not None:
            new_etag = self.objects.replace(self.key, self._body(), JSON_TYPE, if_match=self._etag)
        if new_etag is None:
            self._etag = None
            raise LandingError(
                f"lost the lake lock {self.objects.uri(self.key)}: another loader took it over "
                "as stale; nothing was committed"
            )
        self._held(new_etag)

    def renew_if_due(self) -> None:
        if time.monotonic() - self._renewed_at >= self.stale_after / 4:
            self.renew()

    def release(self) -> None:
        if self._etag is not None:
            self.objects.delete(self.key, if_match=self._etag)
            self._etag = None

    def __enter__(self) -> S3LeaseLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        record = json.loads(body)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _describe(holder: tuple[bytes, str, dict[str, Any]] | None) -> str:
    if holder is None:
        return "nobody any more"
    record = _json_object(holder[0])
    return f"pid {record.get('pid')} on {record.get('host')} since {record.get('at')}"


def _age_seconds(response: dict[str, Any]) -> float:
    """Age of an object by S3's clock: the response's Date minus the object's Last-Modified."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        now = parsedate_to_datetime(headers["date"])
    except (KeyError, TypeError, ValueError):
        now = datetime.now(UTC)
    return (now - response["LastModified"]).total_seconds()


# ------------------------------------------------------------------------------------- lake
class S3Lake:
    """The raw zone of a lake under ``s3://bucket/prefix``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        options: S3Options | None = None,
        client: Any = None,
        progress_stream: TextIO | None = None,
    ) -> None:
        self.options = options or S3Options()
        self.objects = S3Objects(client or new_s3_client(), bucket, self.options)
        self.prefix = prefix
        self.raw_prefix = f"{prefix}raw/"
        self.transactions_prefix = f"{self.raw_prefix}transactions/"
        self.progress_stream = progress_stream  # None: sys.stderr at the time of use

    @classmethod
    def from_uri(cls, uri: str, options: S3Options | None = None, client: Any = None) -> S3Lake:
        bucket, prefix = parse_s3_uri(uri)
        return cls(bucket, prefix, options, client)

    def _progress(self, label: str, total: int) -> Progress:
        return Progress(label, total, self.progress_stream or sys.stderr)

    def run_prefix(self, ingest_date: str, run_id: str, folder: str = "transactions") -> str:
        """The run's prefix in raw/transactions/ or in one of Athena's folders beside it."""
        return f"{self.raw_prefix}{folder}/ingest_date={ingest_date}/run_id={run_id}/"

    def line_index_key(self, ingest_date: str, run_id: str, file_name: str) -> str:
        return self.run_prefix(ingest_date, run_id, LINE_INDEX_FOLDER) + index_name(file_name)

    def index_key(self, sha256: str) -> str:
        return f"{self.prefix}raw/_index/sha256={sha256}.json"

    def lock(self) -> S3LeaseLock:
        return S3LeaseLock(
            self.objects,
            f"{self.prefix}raw/.lock",
            self.options.lock_stale_after,
            self.options.lock_wait_timeout,
        )

    def find_landed(self, sha256: str) -> LandedRun | None:
        """The committed run with this content, from the index; an index entry whose run has
        no matching manifest is refused (it is never overwritten)."""
        key = self.index_key(sha256)
        found = self.objects.get(key)
        if found is None:
            return None
        entry = _json_object(found[0])
        run_id, ingest_date = str(entry.get("run_id")), str(entry.get("ingest_date"))
        if (
            entry.get("sha256") != sha256
            or parse_run_time(run_id) is None
            or not _DATE_RE.fullmatch(ingest_date)
        ):
            raise LandingError(
                f"index object {self.objects.uri(key)} is not a valid index entry; it is never "
                "overwritten: inspect it (delete it to land this content again)"
            )
        run_prefix = self.run_prefix(ingest_date, run_id)
        manifest = self.objects.get(run_prefix + MANIFEST_NAME)
        record = _json_object(manifest[0]) if manifest is not None else {}
        if record.get("sha256") != sha256 or not record.get("file_name"):
            raise LandingError(
                f"index object {self.objects.uri(key)} names run_id={run_id}, which has no "
                "manifest for this content (an interrupted landing?); it is never overwritten: "
                "inspect it (delete it to land this content again)"
            )
        return LandedRun(
            run_id=run_id,
            sha256=sha256,
            data_path=self.objects.uri(run_prefix + str(record["file_name"])),
        )

    def committed_runs(self) -> list[tuple[str, str]]:
        """(ingest_date, run_id) of every run whose commit marker exists."""
        paginator = self.objects.client.get_paginator("list_objects_v2")
        runs = []
        for page in paginator.paginate(Bucket=self.objects.bucket, Prefix=self.transactions_prefix):
            for obj in page.get("Contents", []):
                match = _COMMITTED_RE.search(str(obj["Key"]))
                if match is not None:
                    runs.append((match.group(1), match.group(2)))
        return runs

    def latest_run_time(self) -> datetime | None:
        """Time of the greatest run_id, from the latest ingest_date "folder" that has one."""
        dates = sorted(self.objects.child_prefixes(self.transactions_prefix), reverse=True)
        for date_prefix in dates:
            if not date_prefix.removeprefix(self.transactions_prefix).startswith("ingest_date="):
                continue
            names = (
                p.removeprefix(date_prefix).rstrip("/").removeprefix("run_id=")
                for p in self.objects.child_prefixes(date_prefix)
            )
            times = [t for t in map(parse_run_time, names) if t is not None]
            if times:
                return max(times)
        return None

    def _part_size(self, size_hint: int) -> int:
        """The configured part size, grown in whole MiB if the file needs more than 10,000."""
        needed = -(-size_hint // MAX_PARTS)
        needed = -(-needed // MIB) * MIB
        return min(max(self.options.part_size, needed), MAX_PART_SIZE)

    def stage(self, head: bytes, src: BinaryIO, file_name: str, size_hint: int) -> StagedFile:
        """Read the source once: keep a small file in memory, upload a large one to staging."""
        threshold = self.options.multipart_threshold
        first = head if len(head) >= threshold else head + src.read(threshold - len(head))
        profiler = ContentProfiler()
        if len(first) < threshold:  # the whole file: one PUT, under the lock
            profiler.update(first)
            return StagedFile(file_name=file_name, profile=profiler.result(), body=first)
        part_size = self._part_size(size_hint)
        key = f"{self.prefix}raw/.incoming/{secrets.token_hex(8)}/{file_name}"
        progress = self._progress(f"uploading {file_name}", size_hint)
        etag, digests = self.objects.upload_parts(
            key, _read_parts(first, src, part_size, profiler), progress.advance
        )
        progress.finish()
        staged = StagedFile(
            file_name=file_name,
            profile=profiler.result(),
            staging_key=key,
            staging_etag=etag,
            part_size=part_size,
            part_digests=digests,
        )
        try:
            self.objects.verify(key, staged.expected_checksum, staged.profile.size)
        except BaseException:
            self.discard(staged)
            raise
        return staged

    def discard(self, staged: StagedFile) -> None:
        """Delete the staging object of ``staged``, if it has one."""
        if staged.staging_key is not None:
            self.objects.delete(staged.staging_key, if_match=staged.staging_etag)

    def commit(
        self,
        staged: StagedFile,
        ingest_date: str,
        run_id: str,
        manifest: dict[str, Any],
        lease: S3LeaseLock,
    ) -> str:
        """Write data, index entry and manifest (last) of the run; return the data object URI.

        Raises ``AlreadyLanded`` if another loader's index entry for this content wins.
        On failure, only this call's own objects are deleted, and none once the manifest exists.
        """
        run_prefix = self.run_prefix(ingest_date, run_id)
        if self.objects.has_objects_under(run_prefix):
            raise ObjectExists(f"refusing to overwrite: {self.objects.uri(run_prefix)} exists")
        data_key = run_prefix + staged.file_name
        manifest_key = run_prefix + MANIFEST_NAME
        written: list[tuple[str, str]] = []  # (key, ETag) of this call's uncommitted objects
        committed = False
        try:
            if staged.body is not None:
                written.append((data_key, self.objects.put_new(data_key, staged.body, CSV_TYPE)))
            else:
                progress = self._progress(f"copying {staged.file_name}", staged.profile.size)

                def on_part(count: int) -> None:
                    lease.renew_if_due()
                    progress.advance(count)

                written.append((data_key, self.objects.copy_parts(staged, data_key, on_part)))
                progress.finish()
            self.objects.verify(data_key, staged.expected_checksum, staged.profile.size)
            index_key = self.line_index_key(ingest_date, run_id, staged.file_name)
            written.append(self._write_line_index(staged, index_key, lease.renew_if_due))
            lease.renew()  # still the holder: commit order stays run_id order
            written.append(self._write_index(staged, ingest_date, run_id))
            # One line: Athena's JSON SerDe reads one object per line (raw DDL macro).
            body = (json.dumps(manifest, sort_keys=True, ensure_ascii=False) + "\n").encode()
            copy_prefix = self.run_prefix(ingest_date, run_id, MANIFEST_COPY_FOLDER)
            copy_key = copy_prefix + manifest_copy_name(staged.file_name)
            written.append((copy_key, self.objects.put_new(copy_key, body, JSON_TYPE)))
            self.objects.put_new(manifest_key, body, JSON_TYPE, accept_identical=True)
            committed = True
        finally:
            if not committed and written:
                self._delete_uncommitted(manifest_key, written)
        return self.objects.uri(data_key)

    def _write_line_index(
        self, staged: StagedFile, key: str, renew: Callable[[], None]
    ) -> tuple[str, str]:
        """Write ``<file>.lines.jsonl.gz`` (see ``line_index``) at ``key``, derived from the
        bytes just landed; spooled to a temporary file, so memory stays constant. ``renew`` is
        called per chunk read (the lock's lease outlives a large file's index)."""
        if staged.body is not None:
            source: Any = io.BytesIO(staged.body)
        else:
            source = self.objects.client.get_object(
                Bucket=self.objects.bucket, Key=staged.staging_key
            )["Body"]
        with contextlib.closing(source), tempfile.TemporaryFile() as spool:
            reader = _RenewingReader(source, renew)
            write_stream_index(reader, spool, is_line_readable(staged.profile))
            size = spool.tell()
            spool.seek(0)
            if size < self.options.multipart_threshold:
                return key, self.objects.put_new(key, spool.read(), GZIP_TYPE)
            part_size = self._part_size(size)
            parts = iter(lambda: spool.read(part_size), b"")
            etag, _ = self.objects.upload_parts(key, parts, lambda _count: None, GZIP_TYPE)
            return key, etag

    def _write_index(self, staged: StagedFile, ingest_date: str, run_id: str) -> tuple[str, str]:
        sha256 = staged.profile.sha256
        key = self.index_key(sha256)
        entry = {
            "sha256": sha256,
            "run_id": run_id,
            "ingest_date": ingest_date,
            "file_name": staged.file_name,
        }
        body = (json.dumps(entry, sort_keys=True) + "\n").encode()
        try:
            return key, self.objects.put_new(key, body, JSON_TYPE, accept_identical=True)
        except ObjectExists:
            winner = self.find_landed(sha256)  # another loader won the conditional write
            if winner is None:
                raise LandingError(f"index object {self.objects.uri(key)} changed") from None
            raise AlreadyLanded(winner) from None

    def _delete_uncommitted(self, manifest_key: str, written: list[tuple[str, str]]) -> None:
        try:
            if self.objects.head(manifest_key) is not None:
                return  # the run is committed after all: delete nothing
        except (ClientError, BotoCoreError):
            return  # cannot tell: keep everything
        for key, etag in reversed(written):
            self.objects.delete(key, if_match=etag)


class _RenewingReader:
    """``src.read`` that calls ``renew`` first (a long read keeps the lock's lease)."""

    def __init__(self, src: Any, renew: Callable[[], None]) -> None:
        self._src = src
        self._renew = renew

    def read(self, size: int = -1, /) -> bytes:
        self._renew()
        return bytes(self._src.read(size))


# ---------------------------------------------------------------------------------- landing
def read_csv_head(source: Path, src: BinaryIO) -> bytes:
    """The first bytes of the source; refuse what local mode refuses, with the same words."""
    if not source.name.lower().endswith(".csv"):
        raise LandingError("not a CSV: the file name does not end in .csv")
    head = src.read(SNIFF_BYTES)
    if b"\x00" in head:
        raise LandingError("not a CSV: NUL byte in the first 64 KiB (binary or UTF-16 content)")
    return head


def land_file_s3(
    source: Path | str,
    lake: S3Lake,
    catalog: Any = None,
    *,
    strict: bool = False,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Land one file into ``lake``; the same result record as local mode (landed or skipped).

    With ``catalog`` (glue_catalog.GluePartitions), under the lake's lock: first register every
    committed run the raw tables lack (if that fails, refuse: nothing is written), then, after
    the commit, the new run. A registration that fails after the commit gives status ``error``
    with the run_id, path and the reason (the data stays committed; landing the file again
    repairs it).

    Raises ``LandingError`` when the file is refused or landing fails; then no manifest of it
    exists (the run is not visible) and its staging object is gone.
    """
    source = Path(source)
    staged: StagedFile | None = None
    location: str | None = None
    registration_error: str | None = None
    doing = "reading the file"  # for the words of a failure nobody foresaw
    try:
        with open_source(source) as src:
            head = read_csv_head(source, src)
            size_hint = os.fstat(src.fileno()).st_size
            doing = "reading the file and uploading it to staging"
            staged = lake.stage(head, src, sanitize_file_name(source.name), size_hint)
        doing = "taking the lake's lock"
        with lake.lock() as lease:
            if catalog is not None:
                doing = "registering earlier runs in Glue"
                _register_missing(catalog, lake)
            doing = "checking whether its content was landed before"
            existing = lake.find_landed(staged.profile.sha256)
            if existing is None:
                refuse_if_strict(staged.profile, strict, warnings)
                doing = "writing the run's manifest (header check, line count)"
                # Taken after the upload and under the lock: commit order = run_id order.
                landed_at = _landing_moment(lake.latest_run_time())
                ingest_date = landed_at.date().isoformat()
                run_id = new_run_id(landed_at)
                manifest = build_manifest(
                    source, staged.file_name, staged.profile, ingest_date, run_id, landed_at
                )
                # the line index, relative to the lake's raw/ folder
                manifest["line_index"] = lake.line_index_key(
                    ingest_date, run_id, staged.file_name
                ).removeprefix(lake.raw_prefix)
                doing = "writing the run (data, line index, manifest)"
                try:
                    location = lake.commit(staged, ingest_date, run_id, manifest, lease)
                except AlreadyLanded as lost:
                    existing = lost.run
                else:
                    doing = "registering the run in Glue"
                    registration_error = _register(catalog, ingest_date, run_id)
    except LandingError:
        raise
    except (ClientError, BotoCoreError) as exc:
        raise LandingError(f"S3 request failed: {exc}") from exc
    except OSError as exc:
        raise LandingError(f"landing failed: {exc}") from exc
    except Exception as exc:  # a loader bug: still one line; commit() removed what it wrote
        raise LandingError(unforeseen_failure(doing, exc)) from exc
    finally:
        if staged is not None:
            lake.discard(staged)
    profile = staged.profile
    if existing is not None:
        return skipped_result(source, existing, profile)
    return {
        "status": "error" if registration_error else "landed",
        "source": display_path(source),
        "run_id": manifest["run_id"],
        "path": location,
        "bytes": profile.size,
        "sha256": profile.sha256,
        "message": registration_error,
    }


def _register_missing(catalog: Any, lake: S3Lake) -> None:
    """Register the committed runs the raw tables lack; refuse to land when that fails."""
    from lakehouse.glue_catalog import CatalogError

    try:
        catalog.register_missing(lake.committed_runs())
    except CatalogError as exc:
        raise LandingError(f"refusing to land before earlier runs are registered: {exc}") from exc


def _register(catalog: Any, ingest_date: str, run_id: str) -> str | None:
    """Register the run just committed; the reason when that fails."""
    if catalog is None:
        return None
    from lakehouse.glue_catalog import CatalogError

    try:
        catalog.register_run(ingest_date, run_id)
    except CatalogError as exc:
        return str(exc)
    return None
