"""Tests of the loader's S3 mode (lakehouse.landing_s3, land_csv.py --s3-uri).

Every request goes over HTTP to moto's server on 127.0.0.1 (tests/python/s3_stand_in.py); the
CLI runs as a subprocess with the stand-in's environment.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from s3_stand_in import S3StandIn, s3_fixture, s3_server_fixture  # noqa: F401

from lakehouse import land as land_csv
from lakehouse import landing as ll
from lakehouse import landing_s3 as s3l
from lakehouse.line_index import Line, iter_lines

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "land_csv.py"
PREFIX = "lake/"
RAW = f"{PREFIX}raw/transactions/"
MIB = 1024 * 1024
RUN_ID_RE = re.compile(r"^\d{8}T\d{12}Z_[0-9a-f]{8}$")
HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
GOOD = (HEADER + "T-0001,ACC001,300.00,EUR,2024-01-05T09:00:00Z\n").encode()
OTHER = (HEADER + "T-0002,ACC002,-25.50,EUR,2024-02-29 12:00:00\n").encode()


# --------------------------------------------------------------------------------- helpers
def lake_uri(stand_in: S3StandIn) -> str:
    return f"s3://{stand_in.bucket}/{PREFIX.rstrip('/')}"


def run_cli(stand_in: S3StandIn, *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "--s3-uri", lake_uri(stand_in)]
    command += [str(a) for a in args]
    return subprocess.run(
        command, capture_output=True, text=True, env=stand_in.env, check=False, timeout=120
    )


def records(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def big_csv(min_bytes: int) -> bytes:
    """A CSV of at least ``min_bytes`` with distinct lines (so misplaced parts would show)."""
    lines = [HEADER.encode()]
    size = len(lines[0])
    i = 0
    while size < min_bytes:
        line = f"T-{i:08d},ACC{i % 977:03d},{i % 100000}.{i % 100:02d},EUR,2024-01-05T09:00:00Z\n"
        lines.append(line.encode())
        size += len(lines[-1])
        i += 1
    return b"".join(lines)


def key_of(stand_in: S3StandIn, s3_path: str) -> str:
    prefix = f"s3://{stand_in.bucket}/"
    assert s3_path.startswith(prefix)
    return s3_path.removeprefix(prefix)


def manifest_keys(stand_in: S3StandIn) -> list[str]:
    return [k for k in stand_in.list_keys(RAW) if k.endswith("/_manifest.json")]


def sidecar_key(data_key: str, folder: str, suffix: str) -> str:
    """The key of what the loader writes for Athena about a landed file: the same run path in a
    folder beside raw/transactions/."""
    return data_key.replace("/raw/transactions/", f"/raw/{folder}/", 1) + suffix


def manifest_for(stand_in: S3StandIn, data_key: str) -> dict[str, Any]:
    return json.loads(stand_in.read(data_key.rsplit("/", 1)[0] + "/_manifest.json"))


def index_key(content: bytes) -> str:
    return f"{PREFIX}raw/_index/sha256={hashlib.sha256(content).hexdigest()}.json"


def b64_sha256(content: bytes) -> str:
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


def composite(content: bytes, part_size: int) -> str:
    parts = [content[i : i + part_size] for i in range(0, len(content), part_size)]
    return s3l.composite_checksum([hashlib.sha256(p).digest() for p in parts])


def new_lake(stand_in: S3StandIn, **options: Any) -> s3l.S3Lake:
    return s3l.S3Lake(stand_in.bucket, PREFIX, s3l.S3Options(**options))


def read_line_index(stand_in: S3StandIn, key: str) -> list[Line]:
    rows = gzip.decompress(stand_in.read(key)).decode("utf-8").splitlines()
    return [Line(**json.loads(row)) for row in rows]


def pending_uploads(stand_in: S3StandIn) -> list[Any]:
    return stand_in.client.list_multipart_uploads(Bucket=stand_in.bucket).get("Uploads", [])


# ------------------------------------------------------------------------------ landing
def test_landed_object_is_byte_identical_with_the_local_manifest(
    s3: S3StandIn, tmp_path: Path
) -> None:
    source = write(tmp_path / "in" / "Jan 2024.csv", GOOD)

    result = run_cli(s3, source)

    assert result.returncode == 0, result.stderr
    [record] = records(result)
    assert record["status"] == "landed"
    assert RUN_ID_RE.match(record["run_id"])
    assert record["bytes"] == len(GOOD)
    assert record["sha256"] == hashlib.sha256(GOOD).hexdigest()
    data_key = key_of(s3, record["path"])
    manifest = manifest_for(s3, data_key)
    assert data_key == (
        f"{RAW}ingest_date={manifest['ingest_date']}/run_id={record['run_id']}/Jan_2024.csv"
    )
    assert s3.read(data_key) == GOOD
    head = s3.head(data_key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ChecksumSHA256"] == b64_sha256(GOOD)

    # Same keys and values as local mode, but for the run's own identity and time.
    local = ll.land_file(source, tmp_path / "local-lake")
    local_manifest = json.loads(
        (Path(local["path"]).parent / "_manifest.json").read_text(encoding="utf-8")
    )
    # The S3 run also holds the line index (Athena cannot number a text file's lines).
    line_index_key = sidecar_key(data_key, "transaction_line_index", ".lines.jsonl.gz")
    assert manifest.pop("line_index") == line_index_key.split("/raw/", 1)[1]
    assert read_line_index(s3, line_index_key) == list(iter_lines(source))
    assert s3.head(line_index_key)["ServerSideEncryption"] == "AES256"
    # ... and a visible copy of the manifest (Athena's Hive reader skips names starting with _).
    manifest_copy_key = sidecar_key(data_key, "transaction_manifests", ".manifest.json")
    assert s3.read(manifest_copy_key) == s3.read(data_key.rsplit("/", 1)[0] + "/_manifest.json")
    assert s3.head(manifest_copy_key)["ServerSideEncryption"] == "AES256"
    assert set(manifest) == set(local_manifest)
    own = {"run_id", "ingest_date", "landed_at"}
    assert {k: v for k, v in manifest.items() if k not in own} == {
        k: v for k, v in local_manifest.items() if k not in own
    }
    assert manifest["run_id"] == record["run_id"]
    assert manifest["ingest_date"] == manifest["landed_at"][:10]
    assert set(record) == set(local)

    index = json.loads(s3.read(index_key(GOOD)))
    assert index["run_id"] == record["run_id"]
    # Nothing else is left behind: no lock, no staging object.
    manifest_key = data_key.rsplit("/", 1)[0] + "/_manifest.json"
    assert s3.list_keys() == sorted(
        [data_key, line_index_key, manifest_copy_key, manifest_key, index_key(GOOD)]
    )


def test_same_content_twice_is_skipped(s3: S3StandIn, tmp_path: Path) -> None:
    first = run_cli(s3, write(tmp_path / "a.csv", GOOD))
    second = run_cli(s3, write(tmp_path / "again" / "b.csv", GOOD))

    assert first.returncode == 0 and second.returncode == 0, second.stderr
    [landed], [skipped] = records(first), records(second)
    assert skipped["status"] == "skipped"
    assert skipped["run_id"] == landed["run_id"]
    assert skipped["path"] == landed["path"]
    assert "already landed" in skipped["message"]
    assert "skipped" in second.stderr
    assert len(manifest_keys(s3)) == 1


def test_run_ids_increase_in_commit_order(s3: S3StandIn, tmp_path: Path) -> None:
    files = [
        write(tmp_path / f"f{i}.csv", GOOD + f"T-9{i},ACC9,1.00,EUR,2024-01-01\n".encode())
        for i in range(3)
    ]

    result = run_cli(s3, *files)

    assert result.returncode == 0, result.stderr
    run_ids = [r["run_id"] for r in records(result)]
    assert run_ids == sorted(run_ids) and len(set(run_ids)) == 3


def test_run_id_follows_the_latest_committed_run(s3: S3StandIn, tmp_path: Path) -> None:
    future = "20991231T235959000000Z_00000000"
    s3.put(f"{RAW}ingest_date=2099-12-31/run_id={future}/_manifest.json", b"{}")

    result = run_cli(s3, write(tmp_path / "a.csv", GOOD))

    assert result.returncode == 0, result.stderr
    [record] = records(result)
    assert record["run_id"] > future
    assert f"/ingest_date=2099-12-31/run_id={record['run_id']}/" in record["path"]


def test_multipart_file_lands_intact_encrypted_and_checksummed(
    s3: S3StandIn, tmp_path: Path
) -> None:
    content = big_csv(11 * MIB + 12345)
    source = write(tmp_path / "big.csv", content)

    result = run_cli(s3, "--multipart-threshold-mb", "5", "--multipart-part-size-mb", "5", source)

    assert result.returncode == 0, result.stderr
    [record] = records(result)
    assert record["status"] == "landed"
    data_key = key_of(s3, record["path"])
    assert s3.read(data_key) == content
    head = s3.head(data_key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ETag"].endswith('-3"')  # three parts of 5 MiB at most
    assert s3l.same_checksum(head["ChecksumSHA256"], composite(content, 5 * MIB))
    manifest = manifest_for(s3, data_key)
    assert manifest["bytes"] == len(content)
    assert manifest["sha256"] == hashlib.sha256(content).hexdigest()
    assert manifest["line_count"] == content.count(b"\n")
    lines = read_line_index(s3, sidecar_key(data_key, "transaction_line_index", ".lines.jsonl.gz"))
    assert lines == list(iter_lines(source))
    assert len(lines) == manifest["line_count"]
    assert s3.list_keys(f"{PREFIX}raw/.incoming/") == []
    assert pending_uploads(s3) == []
    assert "\r" not in result.stderr  # stderr is not a terminal: no progress display


@pytest.mark.parametrize("size", [len(GOOD), 6 * MIB], ids=["single-put", "multipart"])
def test_sse_kms_sets_the_encryption_headers(s3: S3StandIn, tmp_path: Path, size: int) -> None:
    content = GOOD if size == len(GOOD) else big_csv(size)
    source = write(tmp_path / "kms.csv", content)

    result = run_cli(
        s3,
        "--sse",
        "aws:kms",
        "--kms-key-id",
        "alias/lake-raw",
        "--multipart-threshold-mb",
        "5",
        "--multipart-part-size-mb",
        "5",
        source,
    )

    assert result.returncode == 0, result.stderr
    data_key = key_of(s3, records(result)[0]["path"])
    assert s3.read(data_key) == content
    for key in (data_key, data_key.rsplit("/", 1)[0] + "/_manifest.json", index_key(content)):
        head = s3.head(key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"].endswith("alias/lake-raw")


def test_classic_mac_file_lands_with_its_line_index(s3: S3StandIn, tmp_path: Path) -> None:
    # Every line break a bare CR (the loader used to fail on its header): Athena reads the same
    # lines as DuckDB, one per CR.
    content = GOOD.replace(b"\n", b"\r") + b'T-0003,"A\rB",1.00,EUR,2024-01-05T09:00:00Z'
    source = write(tmp_path / "mac.csv", content)

    result = run_cli(s3, source)

    assert result.returncode == 0, result.stderr
    data_key = key_of(s3, records(result)[0]["path"])
    assert s3.read(data_key) == content
    manifest = manifest_for(s3, data_key)
    assert manifest["header"] == HEADER.rstrip("\n")
    assert manifest["header_matches_contract"] is True
    assert manifest["line_endings"] == "mixed"
    lines = read_line_index(s3, sidecar_key(data_key, "transaction_line_index", ".lines.jsonl.gz"))
    assert [line.line_text for line in lines] == [
        HEADER.rstrip("\n"),
        "T-0001,ACC001,300.00,EUR,2024-01-05T09:00:00Z",
        'T-0003,"A',
        'B",1.00,EUR,2024-01-05T09:00:00Z',
    ]
    assert len(lines) == manifest["line_count"]


def test_unforeseen_failure_is_one_line_and_leaves_nothing(
    s3: S3StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> tuple[str, str]:
        raise ValueError("index writer broke")

    monkeypatch.setattr(s3l.S3Lake, "_write_line_index", broken)

    with pytest.raises(s3l.LandingError) as refused:
        s3l.land_file_s3(write(tmp_path / "a.csv", GOOD), new_lake(s3))

    message = str(refused.value)
    assert message.startswith("not landed, nothing written: the loader failed while writing the")
    assert "index writer broke" in message and "\n" not in message
    assert "unexpected" not in message and "ValueError" not in message
    assert s3.list_keys(RAW) == []
    assert [k for k in s3.list_keys() if not k.endswith("raw/.lock")] == []


# ------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize("kind", ["missing", "directory", "not-csv", "binary"])
def test_bad_input_exits_1_and_writes_nothing(s3: S3StandIn, tmp_path: Path, kind: str) -> None:
    bad = {
        "missing": tmp_path / "nope.csv",
        "directory": tmp_path / "dir.csv",
        "not-csv": write(tmp_path / "data.txt", GOOD),
        "binary": write(tmp_path / "utf16.csv", GOOD.decode().encode("utf-16")),
    }[kind]
    if kind == "directory":
        bad.mkdir()

    result = run_cli(s3, bad)

    assert result.returncode == 1
    [record] = records(result)
    assert record["status"] == "error"
    assert record["run_id"] is None and record["path"] is None
    assert str(bad) in result.stderr
    assert s3.list_keys() == []


def test_a_bad_file_does_not_stop_the_others(s3: S3StandIn, tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", GOOD)

    result = run_cli(s3, tmp_path / "missing.csv", good)

    assert result.returncode == 1
    assert [r["status"] for r in records(result)] == ["error", "landed"]
    assert "no such file" in records(result)[0]["message"]
    assert len(manifest_keys(s3)) == 1


@pytest.mark.parametrize(
    "planted",
    [
        b'{"note": "not written by the loader"}',
        b'{"sha256": "%s", "run_id": "20240105T090000000000Z_0badc0de", "ingest_date": '
        b'"2024-01-05", "file_name": "x.csv"}' % hashlib.sha256(GOOD).hexdigest().encode(),
    ],
    ids=["unreadable", "run-without-manifest"],
)
def test_existing_index_entry_is_never_overwritten(
    s3: S3StandIn, tmp_path: Path, planted: bytes
) -> None:
    s3.put(index_key(GOOD), planted)

    result = run_cli(s3, write(tmp_path / "a.csv", GOOD))

    assert result.returncode == 1
    [record] = records(result)
    assert record["status"] == "error"
    assert "index object" in record["message"] and "never overwritten" in record["message"]
    assert s3.read(index_key(GOOD)) == planted
    assert s3.list_keys(RAW) == []


def test_existing_run_objects_are_never_overwritten(
    s3: S3StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = "20240105T090000000000Z_0badc0de"
    moment = datetime(2024, 1, 5, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(s3l, "new_run_id", lambda landed_at: run_id)
    monkeypatch.setattr(s3l, "_landing_moment", lambda latest: moment)
    taken = f"{RAW}ingest_date=2024-01-05/run_id={run_id}/a.csv"
    s3.put(taken, b"someone else's bytes")

    with pytest.raises(s3l.ObjectExists, match="refusing to overwrite"):
        s3l.land_file_s3(write(tmp_path / "a.csv", GOOD), new_lake(s3))

    assert s3.read(taken) == b"someone else's bytes"
    assert s3.list_keys() == [taken]  # no manifest, no index entry, lock released


def test_conditional_writes_refuse_an_existing_key(s3: S3StandIn) -> None:
    """moto honours If-None-Match on put_object and complete_multipart_upload."""
    objects = s3l.S3Objects(s3.client, s3.bucket, s3l.S3Options())
    s3.put("taken.csv", b"old")
    with pytest.raises(s3l.ObjectExists, match=r"taken\.csv"):
        objects.put_new("taken.csv", b"new", "text/csv")
    assert s3.read("taken.csv") == b"old"

    etag, digests = objects.upload_parts("staging.csv", iter([GOOD]), lambda n: None)
    profile = ll.ContentProfiler()
    profile.update(GOOD)
    staged = s3l.StagedFile(
        file_name="taken.csv",
        profile=profile.result(),
        staging_key="staging.csv",
        staging_etag=etag,
        part_size=5 * MIB,
        part_digests=digests,
    )
    with pytest.raises(s3l.ObjectExists, match=r"taken\.csv"):
        objects.copy_parts(staged, "taken.csv", lambda n: None)
    assert s3.read("taken.csv") == b"old"
    assert pending_uploads(s3) == []


# -------------------------------------------------------------------------- checksums
class CorruptingClient:
    """Passes every call through, but flips a bit of each uploaded part (bad network)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def upload_part(self, **kwargs: Any) -> Any:
        body = bytearray(kwargs["Body"])
        body[-1] ^= 0x01
        return self._client.upload_part(**{**kwargs, "Body": bytes(body)})


def test_checksum_mismatch_is_an_error_and_commits_nothing(s3: S3StandIn, tmp_path: Path) -> None:
    committed = s3l.land_file_s3(write(tmp_path / "first.csv", GOOD), new_lake(s3))
    before = {key: s3.read(key) for key in s3.list_keys()}
    options = s3l.S3Options(multipart_threshold=5 * MIB, part_size=5 * MIB)
    lake = s3l.S3Lake(s3.bucket, PREFIX, options, client=CorruptingClient(s3.client))

    with pytest.raises(s3l.LandingError, match="checksum mismatch"):
        s3l.land_file_s3(write(tmp_path / "big.csv", big_csv(6 * MIB)), lake)

    assert {key: s3.read(key) for key in s3.list_keys()} == before  # first run intact, no leftovers
    assert committed["status"] == "landed"
    assert pending_uploads(s3) == []


def test_verify_detects_a_stored_object_that_differs(s3: S3StandIn) -> None:
    objects = s3l.S3Objects(s3.client, s3.bucket, s3l.S3Options())
    objects.put_new("x.csv", GOOD, "text/csv")

    objects.verify("x.csv", b64_sha256(GOOD), len(GOOD))
    with pytest.raises(s3l.ChecksumMismatch, match="checksum mismatch"):
        objects.verify("x.csv", b64_sha256(OTHER), len(GOOD))
    with pytest.raises(s3l.ChecksumMismatch, match="size mismatch"):
        objects.verify("x.csv", b64_sha256(GOOD), len(GOOD) + 1)


# ------------------------------------------------------------------- idempotency and lock
def test_concurrent_loaders_land_each_content_once(s3: S3StandIn, tmp_path: Path) -> None:
    sources = [
        write(tmp_path / "a.csv", GOOD),
        write(tmp_path / "a-copy.csv", GOOD),
        write(tmp_path / "b.csv", OTHER),
    ]
    barrier = threading.Barrier(len(sources))
    results: dict[str, dict[str, Any]] = {}
    failures: list[BaseException] = []

    def land(source: Path) -> None:
        lake = new_lake(s3)
        barrier.wait()
        try:
            results[source.name] = s3l.land_file_s3(source, lake)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=land, args=(source,)) for source in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    statuses = sorted(results[s.name]["status"] for s in sources)
    assert statuses == ["landed", "landed", "skipped"]
    assert results["a.csv"]["run_id"] == results["a-copy.csv"]["run_id"]
    assert len(manifest_keys(s3)) == 2
    assert s3.list_keys(f"{PREFIX}raw/.lock") == []


def test_losing_the_index_write_reports_skipped(
    s3: S3StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loader that checked the index before another one committed loses the conditional
    index write: it reports skipped and removes its own uncommitted data object."""
    first = s3l.land_file_s3(write(tmp_path / "a.csv", GOOD), new_lake(s3))
    late = new_lake(s3)
    real_find = late.find_landed
    calls: list[str] = []

    def find_too_early(sha256: str) -> ll.LandedRun | None:
        calls.append(sha256)
        return None if len(calls) == 1 else real_find(sha256)

    monkeypatch.setattr(late, "find_landed", find_too_early)

    result = s3l.land_file_s3(write(tmp_path / "b.csv", GOOD), late)

    assert result["status"] == "skipped"
    assert result["run_id"] == first["run_id"]
    assert len(calls) == 2
    assert [k for k in s3.list_keys(RAW) if k.endswith(".csv")] == [key_of(s3, first["path"])]
    assert len(manifest_keys(s3)) == 1


def test_a_stale_lock_is_taken_over(
    s3: S3StandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s3.put(f"{PREFIX}raw/.lock", b'{"owner": "crashed", "pid": 1, "host": "elsewhere"}')

    result = s3l.land_file_s3(write(tmp_path / "a.csv", GOOD), new_lake(s3, lock_stale_after=0))

    assert result["status"] == "landed"
    assert "took over the stale lake lock" in caplog.text
    assert s3.list_keys(f"{PREFIX}raw/.lock") == []


def test_a_live_lock_is_waited_for_then_given_up(s3: S3StandIn, tmp_path: Path) -> None:
    lock = b'{"owner": "busy", "pid": 1, "host": "elsewhere"}'
    s3.put(f"{PREFIX}raw/.lock", lock)
    lake = new_lake(s3, lock_stale_after=3600, lock_wait_timeout=0.3)

    with pytest.raises(s3l.LandingError, match="waiting for the lake lock"):
        s3l.land_file_s3(write(tmp_path / "a.csv", GOOD), lake)

    assert s3.read(f"{PREFIX}raw/.lock") == lock
    assert s3.list_keys(RAW) == []


def test_a_lease_taken_over_cannot_be_renewed(s3: S3StandIn) -> None:
    lake = new_lake(s3)
    with lake.lock() as lease:
        lease.renew()  # still ours
        s3.put(f"{PREFIX}raw/.lock", b'{"owner": "usurper"}')
        with pytest.raises(s3l.LandingError, match="lost the lake lock"):
            lease.renew()
    assert s3.read(f"{PREFIX}raw/.lock") == b'{"owner": "usurper"}'  # not released by us


# ------------------------------------------------------------------------------ progress
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream_type", [Terminal, io.StringIO], ids=["tty", "not-a-tty"])
def test_progress_is_shown_only_on_a_terminal(
    s3: S3StandIn, tmp_path: Path, stream_type: type[io.StringIO]
) -> None:
    stream = stream_type()
    options = s3l.S3Options(multipart_threshold=5 * MIB, part_size=5 * MIB)
    lake = s3l.S3Lake(s3.bucket, PREFIX, options, progress_stream=stream)

    s3l.land_file_s3(write(tmp_path / "big.csv", big_csv(6 * MIB)), lake)

    shown = stream.getvalue()
    if stream_type is Terminal:
        assert "uploading big.csv" in shown and "(100%)" in shown
    else:
        assert shown == ""


# ------------------------------------------------------------------------- CLI and URIs
@pytest.mark.parametrize(
    "args",
    [
        ["--s3-uri", "s3://bucket/p", "--lake-root", "somewhere"],
        ["--s3-uri", "https://bucket/p"],
        ["--s3-uri", "s3://Bad_Bucket/p"],
        ["--s3-uri", "s3://bucket/p", "--kms-key-id", "k"],
        ["--s3-uri", "s3://bucket/p", "--multipart-part-size-mb", "4"],
        ["--s3-uri", "s3://bucket/p", "--multipart-threshold-mb", "0"],
        ["--sse", "aws:kms"],
        ["--multipart-threshold-mb", "8"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        land_csv.main([*args, "file.csv"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().out == ""


def test_missing_credentials_are_an_error_per_file(s3: S3StandIn, tmp_path: Path) -> None:
    env = {k: v for k, v in s3.env.items() if not k.startswith("AWS_") or "KEY" not in k}
    stand_in = S3StandIn(s3.endpoint, s3.bucket, s3.client, env)

    result = run_cli(stand_in, write(tmp_path / "a.csv", GOOD))

    assert result.returncode == 1
    [record] = records(result)
    assert record["status"] == "error" and "credentials" in record["message"]
    assert s3.list_keys() == []


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/a/b", ("bucket", "a/b/")),
        ("s3://my.bucket-1//a//b/", ("my.bucket-1", "a/b/")),
    ],
)
def test_parse_s3_uri(uri: str, expected: tuple[str, str]) -> None:
    assert s3l.parse_s3_uri(uri) == expected


@pytest.mark.parametrize("uri", ["bucket/a", "s3://", "s3://UPPER/a", "s3://b/a", "s3://bk/../x"])
def test_parse_s3_uri_refuses(uri: str) -> None:
    with pytest.raises(ValueError):
        s3l.parse_s3_uri(uri)


def test_checksum_comparison() -> None:
    digests = [hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()]
    value = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
    assert s3l.composite_checksum(digests) == f"{value}-2"
    assert s3l.same_checksum(f"{value}-2", f"{value}-2")
    assert s3l.same_checksum(value, f"{value}-2")  # moto omits the part count
    assert not s3l.same_checksum(f"{value}-3", f"{value}-2")
    assert not s3l.same_checksum(b64_sha256(b"a"), f"{value}-2")


def test_line_index_above_the_threshold_is_uploaded_in_parts(s3: S3StandIn, tmp_path: Path) -> None:
    source = write(tmp_path / "a.csv", GOOD + b"T-9,ACC9,1.00,EUR,2024-01-01T00:00:00Z\r\n")
    record = s3l.land_file_s3(source, new_lake(s3, multipart_threshold=1))
    key = sidecar_key(key_of(s3, record["path"]), "transaction_line_index", ".lines.jsonl.gz")
    assert read_line_index(s3, key) == list(iter_lines(source))
    head = s3.head(key)
    assert head["ETag"].endswith('-1"') and head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/gzip"
    assert pending_uploads(s3) == []
