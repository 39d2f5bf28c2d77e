"""Tests of scripts/land_csv.py, lakehouse.land and lakehouse.landing (the raw-zone loader)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lakehouse import land as land_csv
from lakehouse import landing as ll

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "land_csv.py"
RUN_ID_RE = re.compile(r"^\d{8}T\d{12}Z_[0-9a-f]{8}$")
LANDED_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
MANIFEST_KEYS = {
    "run_id",
    "ingest_date",
    "landed_at",
    "source_path",
    "file_name",
    "bytes",
    "sha256",
    "line_count",
    "header",
    "header_matches_contract",
    "header_fingerprint",
    "utf8_valid",
    "contains_soh",
    "odd_quote_lines",
    "line_endings",
    "physical_lines",
    "line_size_bound",
    "line_text_limit",
    "contract_version",
}
HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp"
GOOD = (HEADER + "\nT-0001,ACC001,300.00,EUR,2024-01-05T09:00:00Z\n").encode()


# --------------------------------------------------------------------------------- helpers
def run_cli(
    *args: str | Path,
    lake_root: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT)]
    if lake_root is not None:
        command += ["--lake-root", str(lake_root)]
    command += [str(a) for a in args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=cwd, check=False, timeout=60
    )


def records(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def data_files(root: Path) -> list[Path]:
    return sorted(root.glob("raw/transactions/ingest_date=*/run_id=*/*.csv"))


def run_dirs(root: Path) -> list[Path]:
    return sorted(root.glob("raw/transactions/ingest_date=*/run_id=*"))


def all_files(root: Path) -> list[Path]:
    base = root / "raw" / "transactions"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def manifest_of(data_file: Path) -> dict[str, Any]:
    return json.loads((data_file.parent / "_manifest.json").read_text(encoding="utf-8"))


def incoming_leftovers(root: Path) -> list[Path]:
    incoming = root / "raw" / ".incoming"
    return list(incoming.iterdir()) if incoming.exists() else []


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def profile(content: bytes, chunk_size: int = 3) -> ll.ContentProfile:
    profiler = ll.ContentProfiler()
    for i in range(0, len(content), chunk_size):
        profiler.update(content[i : i + chunk_size])
    return profiler.result()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "lake"


# ------------------------------------------------------------------------ unit: profiling
@pytest.mark.parametrize(
    ("content", "lines"),
    [
        (b"", 0),
        (b"a", 1),
        (b"a\n", 1),
        (b"a\nb", 2),
        (b"a\r\nb\r\n", 2),
        (b"\n\n", 2),
        (b"a\n\nb\n", 3),
        (b"a\rb\r", 2),  # bare CR (classic Mac): one break each, as the raw layer splits
        (b"a\rb", 2),
        (b"\r\r", 2),
        (b"a\r\r\nb\n\r", 4),
    ],
)
def test_line_count_counts_physical_lines(content: bytes, lines: int) -> None:
    assert profile(content).line_count == lines


@pytest.mark.parametrize(
    ("content", "header"),
    [
        (b"", None),
        (b"\xef\xbb\xbfA,B\r\n1,2\r\n", "A,B"),
        (b"A,B", "A,B"),
        (b"A,B\r", "A,B"),
        (b"\nA,B\n", ""),
        (b"\xff,B\n1,2\n", None),
        ("Ümlaut,B\n".encode(), "Ümlaut,B"),
        (b"A,B\n\xff\n", "A,B"),
        (b"A,B\r1,2\r", "A,B"),  # the first line ends at a bare CR too
        (b"A,B\rC\n1,2\n", "A,B"),
    ],
)
def test_header_strips_bom_and_cr_and_is_null_when_empty_or_invalid(
    content: bytes, header: str | None
) -> None:
    assert profile(content).header == header


def test_header_longer_than_cap_is_null(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ll, "HEADER_MAX_BYTES", 8)
    assert profile(b"0123456789\n1\n").header is None
    assert profile(b"01234567\n1\n").header == "01234567"


def test_utf8_validity_is_incremental_across_chunk_boundaries() -> None:
    text = ("€uro,Ünïcödé,𝄞\n" * 20).encode()
    for size in (1, 2, 3, 5, 7):
        assert profile(text, chunk_size=size).utf8_valid is True
    assert profile(b"ok\n\xc3(\n").utf8_valid is False  # bad continuation byte
    assert profile(b"ok\n\xe2\x82").utf8_valid is False  # sequence truncated at EOF
    assert profile(b"\xed\xa0\x80\n").utf8_valid is False  # encoded surrogate
    assert profile(b"").utf8_valid is True


def test_profile_sha256_and_size() -> None:
    content = b"x" * 1000 + b"\n"
    result = profile(content, chunk_size=64)
    assert result.size == len(content)
    assert result.sha256 == hashlib.sha256(content).hexdigest()


# ------------------------------------------------------------------- unit: file names, ids
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("transactions.csv", "transactions.csv"),
        ("DATA.CSV", "DATA.csv"),
        ("x.Csv", "x.csv"),
        ("../evil.csv", "evil.csv"),
        ("..\\..\\evil.csv", "evil.csv"),
        ("my file\t\x01\n.csv", "my_file___.csv"),
        ("Überweisungen März.csv", "_berweisungen_M_rz.csv"),
        ("..hidden.csv", "hidden.csv"),
        (".csv", "file.csv"),
        ("...csv", "file.csv"),
        ("a:b*c?.csv", "a_b_c_.csv"),
        ("bad\udcff.csv", "bad_.csv"),
        ("keep-this_v1.2.csv", "keep-this_v1.2.csv"),
    ],
)
def test_sanitize_file_name(name: str, expected: str) -> None:
    assert ll.sanitize_file_name(name) == expected


def test_sanitized_names_cannot_escape_the_run_directory() -> None:
    hostile = ["/", "..", ".", "", "a/../../b.csv", "\x00.csv", "....", "\u202e.csv", " .csv"]
    for name in hostile:
        result = ll.sanitize_file_name(name)
        assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.csv", result), (name, result)


def test_run_id_format_and_parse_round_trip() -> None:
    moment = datetime(2026, 11, 21, 17, 17, 0, 123456, tzinfo=UTC)
    run_id = ll.new_run_id(moment)
    assert run_id.startswith("20261121T171700123456Z_")
    assert RUN_ID_RE.match(run_id)
    assert ll.parse_run_time(run_id) == moment
    assert ll.parse_run_time("not-a-run-id") is None


# ----------------------------------------------------------------------- landing: content
def test_lands_byte_for_byte_with_crlf_bom_and_invalid_utf8(tmp_path: Path, root: Path) -> None:
    content = b"\xef\xbb\xbf" + HEADER.encode() + b"\r\nT-1,ACC\xff,1.00,EUR,2024-01-05\r\nT-2"
    source = write(tmp_path / "in.csv", content)
    result = ll.land_file(source, root)

    assert result["status"] == "landed"
    [landed] = data_files(root)
    assert str(landed) == result["path"]
    assert landed.read_bytes() == content
    manifest = manifest_of(landed)
    assert manifest["bytes"] == len(content) == result["bytes"]
    assert manifest["sha256"] == hashlib.sha256(content).hexdigest() == result["sha256"]
    assert manifest["line_count"] == 3
    assert manifest["header"] == HEADER
    assert manifest["utf8_valid"] is False


def test_manifest_has_exact_keys_and_consistent_values(tmp_path: Path, root: Path) -> None:
    source = write(tmp_path / "Jan 2024.CSV", GOOD)
    before = datetime.now(UTC)
    result = ll.land_file(source, root)
    after = datetime.now(UTC)

    [landed] = data_files(root)
    raw = (landed.parent / "_manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(raw)
    assert raw.endswith("\n")
    assert list(manifest) == sorted(manifest)
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["run_id"] == result["run_id"]
    assert RUN_ID_RE.match(manifest["run_id"])
    assert LANDED_AT_RE.match(manifest["landed_at"])
    landed_at = datetime.strptime(manifest["landed_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=UTC
    )
    assert before <= landed_at <= after
    assert ll.parse_run_time(manifest["run_id"]) == landed_at
    assert manifest["ingest_date"] == landed_at.date().isoformat()
    assert landed.parent.name == f"run_id={manifest['run_id']}"
    assert landed.parent.parent.name == f"ingest_date={manifest['ingest_date']}"
    assert manifest["source_path"] == str(source.resolve())
    assert Path(manifest["source_path"]).is_absolute()
    assert manifest["file_name"] == "Jan_2024.csv" == landed.name
    assert manifest["bytes"] == len(GOOD)
    assert manifest["sha256"] == hashlib.sha256(GOOD).hexdigest()
    assert manifest["line_count"] == 2
    assert manifest["physical_lines"] == 2
    assert manifest["line_size_bound"] >= len(HEADER)
    assert manifest["line_text_limit"] == ll.LINE_TEXT_LIMIT
    assert manifest["header"] == HEADER
    assert manifest["utf8_valid"] is True
    assert manifest["contract_version"] == "1.0.0"


def test_source_path_is_absolute_for_relative_input(tmp_path: Path) -> None:
    write(tmp_path / "rel.csv", GOOD)
    result = run_cli("rel.csv", lake_root=Path("lk"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [landed] = data_files(tmp_path / "lk")
    assert manifest_of(landed)["source_path"] == str(tmp_path / "rel.csv")


@pytest.mark.parametrize(
    ("content", "lines", "header"),
    [(b"", 0, None), (HEADER.encode(), 1, HEADER), ((HEADER + "\r\n").encode(), 1, HEADER)],
    ids=["empty", "header-only-no-newline", "header-only-crlf"],
)
def test_empty_and_header_only_files_land(
    tmp_path: Path, root: Path, content: bytes, lines: int, header: str | None
) -> None:
    source = write(tmp_path / "f.csv", content)
    result = run_cli(source, lake_root=root)
    assert result.returncode == 0, result.stderr
    assert records(result)[0]["status"] == "landed"
    [landed] = data_files(root)
    assert landed.read_bytes() == content
    manifest = manifest_of(landed)
    assert (manifest["bytes"], manifest["line_count"], manifest["header"]) == (
        len(content),
        lines,
        header,
    )
    assert manifest["utf8_valid"] is True


def test_large_file_is_streamed_in_chunks(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ll, "CHUNK_SIZE", 7)
    monkeypatch.setattr(ll, "SNIFF_BYTES", 16)
    content = b"".join(f"T-{i},ACC{i % 3},{i}.00,EUR,2024-01-05\n".encode() for i in range(500))
    calls: list[int] = []
    original = ll.ContentProfiler.update

    def counting(self: ll.ContentProfiler, chunk: bytes) -> None:
        calls.append(len(chunk))
        original(self, chunk)

    monkeypatch.setattr(ll.ContentProfiler, "update", counting)
    ll.land_file(write(tmp_path / "big.csv", content), root)
    [landed] = data_files(root)
    assert landed.read_bytes() == content
    assert manifest_of(landed)["line_count"] == 500
    # one pass over the content, in bounded chunks (head first, then CHUNK_SIZE reads)
    assert sum(calls) == len(content)
    assert calls[0] == 16 and max(calls[1:]) == 7


def test_nul_after_the_first_64_kib_does_not_refuse(tmp_path: Path, root: Path) -> None:
    content = HEADER.encode() + b"\n" + b"a" * (64 * 1024) + b"\x00\n"
    result = ll.land_file(write(tmp_path / "late_nul.csv", content), root)
    assert result["status"] == "landed"
    assert data_files(root)[0].read_bytes() == content


# ------------------------------------------------------------------ landing: layout, CLI
def test_layout_glob_and_cli_output(tmp_path: Path, root: Path) -> None:
    source = write(tmp_path / "t.csv", GOOD)
    result = run_cli(source, lake_root=root)
    assert result.returncode == 0, result.stderr
    [record] = records(result)
    assert set(record) == {"status", "source", "run_id", "path", "bytes", "sha256", "message"}
    assert record["status"] == "landed"
    assert record["source"] == str(source)
    assert record["message"] is None
    [landed] = data_files(root)
    assert record["path"] == str(landed.resolve())
    assert sorted(p.name for p in landed.parent.iterdir()) == ["_manifest.json", "t.csv"]
    assert incoming_leftovers(root) == []


def test_lake_root_defaults_to_env_then_dot_lake(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", GOOD)
    write(tmp_path / "b.csv", GOOD + b"T-0002,ACC001,1.00,EUR,2024-01-06T09:00:00Z\n")
    env = {k: v for k, v in os.environ.items() if k != "LAKE_ROOT"}

    from_env = run_cli("a.csv", env={**env, "LAKE_ROOT": str(tmp_path / "envlake")}, cwd=tmp_path)
    assert from_env.returncode == 0, from_env.stderr
    assert len(data_files(tmp_path / "envlake")) == 1

    default = run_cli("b.csv", env=env, cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert len(data_files(tmp_path / "lake")) == 1

    # --lake-root wins over $LAKE_ROOT
    flag = run_cli(
        "b.csv", lake_root=tmp_path / "flaglake", env={**env, "LAKE_ROOT": "x"}, cwd=tmp_path
    )
    assert flag.returncode == 0, flag.stderr
    assert len(data_files(tmp_path / "flaglake")) == 1
    assert not (tmp_path / "x").exists()


def test_usage_error_exits_2(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2
    assert "usage" in result.stderr.lower()


def test_main_is_callable_in_process(tmp_path: Path, root: Path) -> None:
    source = write(tmp_path / "m.csv", GOOD)
    assert land_csv.main(["--lake-root", str(root), str(source)]) == 0
    assert land_csv.main(["--lake-root", str(root), str(source)]) == 0  # skipped
    assert land_csv.main(["--lake-root", str(root), str(tmp_path / "missing.csv")]) == 1
    assert len(data_files(root)) == 1


# --------------------------------------------------------------------- idempotency, order
def test_relanding_same_content_is_skipped(tmp_path: Path, root: Path) -> None:
    source = write(tmp_path / "t.csv", GOOD)
    first = run_cli(source, lake_root=root)
    assert first.returncode == 0, first.stderr
    landed_record = records(first)[0]

    copy = write(tmp_path / "renamed copy.csv", GOOD)
    second = run_cli(source, copy, lake_root=root)
    assert second.returncode == 0, second.stderr
    skipped = records(second)
    assert [r["status"] for r in skipped] == ["skipped", "skipped"]
    assert all(r["run_id"] == landed_record["run_id"] for r in skipped)
    assert all(landed_record["run_id"] in r["message"] for r in skipped)
    assert len(run_dirs(root)) == 1
    assert incoming_leftovers(root) == []


def test_identical_files_in_one_invocation_land_once(tmp_path: Path, root: Path) -> None:
    a = write(tmp_path / "a.csv", GOOD)
    b = write(tmp_path / "b.csv", GOOD)
    result = run_cli(a, b, lake_root=root)
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in records(result)] == ["landed", "skipped"]
    [landed] = data_files(root)
    assert landed.name == "a.csv"


def test_append_only_nothing_is_overwritten(tmp_path: Path, root: Path) -> None:
    source = write(tmp_path / "same_name.csv", GOOD)
    ll.land_file(source, root)
    snapshot = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in all_files(root)}

    for i in range(3):  # same file name, new content each time
        write(source, GOOD + f"T-{i},ACC9,{i}.00,EUR,2024-01-07T00:00:00Z\n".encode())
        assert ll.land_file(source, root)["status"] == "landed"

    for path, (content, mtime) in snapshot.items():
        assert path.read_bytes() == content
        assert path.stat().st_mtime_ns == mtime
    assert len(run_dirs(root)) == 4
    assert len({p.name for p in data_files(root)}) == 1  # same name, four separate runs


def test_run_ids_unique_and_increasing_in_landing_order(tmp_path: Path, root: Path) -> None:
    sources = [write(tmp_path / f"f{i}.csv", GOOD + f"T-{i}\n".encode()) for i in range(5)]
    result = run_cli(*sources, lake_root=root)
    assert result.returncode == 0, result.stderr
    ids = [r["run_id"] for r in records(result)]
    for i in range(5, 8):
        ids.append(
            ll.land_file(write(tmp_path / f"g{i}.csv", GOOD + f"X-{i}\n".encode()), root)["run_id"]
        )
    assert all(RUN_ID_RE.match(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert sorted(p.name.removeprefix("run_id=") for p in run_dirs(root)) == ids


def test_run_id_stays_after_the_latest_run_even_if_the_clock_is_behind(
    tmp_path: Path, root: Path
) -> None:
    future = "20990101T000000000000Z_0123abcd"
    future_dir = root / "raw" / "transactions" / "ingest_date=2099-01-01" / f"run_id={future}"
    future_dir.mkdir(parents=True)
    result = ll.land_file(write(tmp_path / "now.csv", GOOD), root)
    assert result["run_id"] > future
    assert result["run_id"].startswith("20990101T000000000001Z_")
    manifest = manifest_of(Path(result["path"]))
    assert manifest["landed_at"] == "2099-01-01T00:00:00.000001Z"
    assert manifest["ingest_date"] == "2099-01-01"


def test_run_id_collision_generates_a_new_id(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ll.land_file(write(tmp_path / "a.csv", GOOD), root)
    taken = first["run_id"]
    suffixes = iter([taken.split("_")[1], taken.split("_")[1], "deadbeef"])
    real_token_hex = ll.secrets.token_hex

    def token_hex(nbytes: int) -> str:  # run_id suffixes only (4 bytes); staging names untouched
        return next(suffixes) if nbytes == 4 else real_token_hex(nbytes)

    monkeypatch.setattr(ll.secrets, "token_hex", token_hex)
    fixed = ll.parse_run_time(taken)
    assert fixed is not None
    monkeypatch.setattr(ll, "_landing_moment", lambda latest: fixed)
    second = ll.land_file(write(tmp_path / "b.csv", GOOD + b"T-2\n"), root)
    assert second["run_id"] == taken.split("_")[0] + "_deadbeef"
    assert len(run_dirs(root)) == 2
    assert manifest_of(Path(first["path"]))["file_name"] == "a.csv"


# ------------------------------------------------------------------------------ atomicity
def test_failure_mid_copy_leaves_nothing(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ll, "CHUNK_SIZE", 4)
    monkeypatch.setattr(ll, "SNIFF_BYTES", 4)
    original = ll.ContentProfiler.update
    calls = {"n": 0}

    def failing(self: ll.ContentProfiler, chunk: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        original(self, chunk)

    monkeypatch.setattr(ll.ContentProfiler, "update", failing)
    with pytest.raises(ll.LandingError, match="No space left"):
        ll.land_file(write(tmp_path / "t.csv", GOOD), root)
    assert all_files(root) == []
    assert incoming_leftovers(root) == []


def test_failure_at_commit_leaves_nothing(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: Any, dst: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ll.os, "rename", refuse)
    with pytest.raises(ll.LandingError, match="Input/output error"):
        ll.land_file(write(tmp_path / "t.csv", GOOD), root)
    assert run_dirs(root) == []
    assert all_files(root) == []
    assert incoming_leftovers(root) == []


def test_interrupt_cleans_staging(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(path: Path, manifest: dict[str, Any]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ll, "_write_manifest", interrupt)
    with pytest.raises(KeyboardInterrupt):
        ll.land_file(write(tmp_path / "t.csv", GOOD), root)
    assert all_files(root) == []
    assert incoming_leftovers(root) == []


def test_second_loader_waits_for_the_lock(tmp_path: Path, root: Path) -> None:
    source = write(tmp_path / "t.csv", GOOD)
    (root / "raw").mkdir(parents=True)
    with open(root / "raw" / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--lake-root", str(root), str(source)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(1.0)
            assert proc.poll() is None  # blocked on the lock
            assert run_dirs(root) == []  # nothing published while the lock is held
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "waiting for the lake lock" in err
    assert json.loads(out)["status"] == "landed"
    assert len(data_files(root)) == 1


# ------------------------------------------------------------- crash leftovers in staging
def test_stale_staging_is_removed_live_staging_and_runs_are_kept(
    tmp_path: Path, root: Path
) -> None:
    committed = ll.land_file(write(tmp_path / "first.csv", GOOD), root)
    committed_files = {p: p.read_bytes() for p in all_files(root)}
    stale = root / "raw" / ".incoming" / "0123456789abcdef"
    stale.mkdir()
    (stale / "partial.csv").write_bytes(GOOD[:20])  # a loader died mid-copy
    other_loader = ll.LocalLake(root)  # alive: holds the flock on its staging directory
    live = other_loader.new_staging_dir()
    (live / "copying.csv").write_bytes(GOOD[:10])

    second = ll.land_file(write(tmp_path / "second.csv", GOOD + b"T-2\n"), root)

    assert second["status"] == "landed"
    assert not stale.exists()
    assert (live / "copying.csv").read_bytes() == GOOD[:10]  # untouched
    assert {p: p.read_bytes() for p in all_files(root) if p in committed_files} == committed_files
    assert Path(committed["path"]).exists()
    other_loader.discard_staging(live)
    assert incoming_leftovers(root) == []


def test_loader_killed_before_commit_is_cleaned_by_the_next_run(tmp_path: Path, root: Path) -> None:
    big = tmp_path / "big.csv"
    with open(big, "wb") as out:  # valid start, then a sparse hole: quick to make, slow to copy
        out.write(HEADER.encode() + b"\n")
        out.writelines(b"T-%07d,ACC001,1.00,EUR,2024-01-05T09:00:00Z\n" % i for i in range(2500))
        out.truncate(64 * 1024 * 1024)
    lake = ll.LocalLake(root)
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--lake-root", str(root), str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not incoming_leftovers(root):
            assert proc.poll() is None, "the loader ended before it was seen staging"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        with lake.lock():  # the loader can copy but not commit
            [staged] = incoming_leftovers(root)
            assert lake.remove_stale_staging() == []  # its loader is alive: kept
            proc.kill()
            proc.wait(timeout=60)
            assert run_dirs(root) == []  # nothing visible
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)
    assert staged.exists()  # the killed loader's leftover ...

    result = run_cli(write(tmp_path / "next.csv", GOOD), lake_root=root)
    assert result.returncode == 0, result.stderr
    assert f"removed stale staging directory {staged}" in result.stderr
    assert incoming_leftovers(root) == []  # ... is removed by the next run
    assert [p.name for p in data_files(root)] == ["next.csv"]


# ------------------------------------------------------------------------------ bad input
def test_bad_inputs_are_refused_while_good_files_land(tmp_path: Path, root: Path) -> None:
    good = write(tmp_path / "good.csv", GOOD)
    missing = tmp_path / "missing.csv"
    directory = tmp_path / "dir.csv"
    directory.mkdir()
    not_csv = write(tmp_path / "data.txt", GOOD)
    binary = write(tmp_path / "binary.csv", b"PK\x03\x04\x00\x00junk")
    utf16 = write(tmp_path / "utf16.csv", (HEADER + "\n").encode("utf-16"))
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    bad = [missing, directory, not_csv, binary, utf16, fifo]

    result = run_cli(missing, directory, good, not_csv, binary, utf16, fifo, lake_root=root)

    assert result.returncode == 1
    by_source = {r["source"]: r for r in records(result)}
    assert len(by_source) == 7
    assert by_source[str(good)]["status"] == "landed"
    for path in bad:
        record = by_source[str(path)]
        assert record["status"] == "error", record
        assert record["message"]
        assert record["run_id"] is None and record["path"] is None
        assert f"land_csv: error: {path}: " in result.stderr
    assert "no such file" in by_source[str(missing)]["message"]
    assert "directory" in by_source[str(directory)]["message"]
    assert ".csv" in by_source[str(not_csv)]["message"]
    assert "NUL" in by_source[str(binary)]["message"]
    assert "NUL" in by_source[str(utf16)]["message"]
    assert "regular file" in by_source[str(fifo)]["message"]
    [landed] = data_files(root)
    assert landed.read_bytes() == GOOD
    assert len(all_files(root)) == 2
    assert incoming_leftovers(root) == []


def test_classic_mac_file_lands_with_its_lines(tmp_path: Path, root: Path) -> None:
    # Every line break a bare CR, the header's too: the loader used to fail on its header.
    content = (HEADER + "\rT-0001,ACC001,1.00,EUR,2024-01-05T09:00:00Z\r\rT-0002,X\r").encode()
    result = run_cli(write(tmp_path / "mac.csv", content), lake_root=root)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    [landed] = data_files(root)
    assert landed.read_bytes() == content
    manifest = manifest_of(landed)
    assert manifest["header"] == HEADER
    assert manifest["header_matches_contract"] is True
    assert manifest["line_count"] == 4
    assert manifest["line_endings"] == "mixed"  # so dbt splits it from its bytes, on CR too


def test_header_with_a_field_longer_than_the_csv_limit_lands(tmp_path: Path, root: Path) -> None:
    header = "A" * 200_000 + ",B"  # Python's csv module refuses fields over 128 KiB by default
    result = run_cli(write(tmp_path / "wide.csv", f"{header}\n1,2\n".encode()), lake_root=root)
    assert result.returncode == 0, result.stderr
    manifest = manifest_of(data_files(root)[0])
    assert manifest["header"] == header
    assert manifest["header_matches_contract"] is False


def test_unforeseen_failure_is_one_line_and_leaves_nothing(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: Any) -> dict[str, Any]:
        raise KeyError("header_fingerprint")

    monkeypatch.setattr(ll, "build_manifest", broken)
    source = write(tmp_path / "t.csv", GOOD)

    assert land_csv.main(["--lake-root", str(root), str(source)]) == 1

    out, err = capsys.readouterr()
    [record] = [json.loads(line) for line in out.splitlines()]
    assert record["status"] == "error" and record["run_id"] is None
    assert err.count("\n") == 1
    assert err.startswith(f"land_csv: error: {source}: not landed, nothing written: ")
    assert "while writing the run's manifest" in err
    assert "a value it needs is missing (header_fingerprint)" in err
    for jargon in ("unexpected", "KeyError", "Traceback"):
        assert jargon not in err
    assert all_files(root) == []
    assert incoming_leftovers(root) == []


def test_refused_file_writes_nothing_at_all(tmp_path: Path, root: Path) -> None:
    result = run_cli(write(tmp_path / "x.bin", b"\x00\x01"), lake_root=root)
    assert result.returncode == 1
    assert not root.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_is_refused(tmp_path: Path, root: Path) -> None:
    source = write(tmp_path / "secret.csv", GOOD)
    source.chmod(0)
    result = run_cli(source, lake_root=root)
    assert result.returncode == 1
    assert "permission denied" in records(result)[0]["message"]
    assert data_files(root) == []


def test_unreadable_file_is_refused_in_process(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "secret.csv", GOOD)
    real_open = os.open

    def deny(path: Any, flags: int, *args: Any) -> int:
        if Path(path) == source:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(ll.os, "open", deny)
    with pytest.raises(ll.LandingError, match="permission denied"):
        ll.land_file(source, root)
    assert not root.exists()


def test_hostile_file_names_land_inside_their_run_directory(tmp_path: Path, root: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    write(tmp_path / "evil.csv", GOOD)
    names = ["my file\t\x01.csv", "Überweisung März.CSV", "..dotted.csv"]
    for i, name in enumerate(names):
        write(work / name, GOOD + f"T-{i}\n".encode())
    result = run_cli("../evil.csv", *names, lake_root=root, cwd=work)
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in records(result)] == ["landed"] * 4
    landed = data_files(root)
    assert sorted(p.name for p in landed) == sorted(
        ["evil.csv", "my_file__.csv", "_berweisung_M_rz.csv", "dotted.csv"]
    )
    for path in landed:
        assert path.parent.parent.parent == root / "raw" / "transactions"
        assert path.parent.name.startswith("run_id=")
    assert not (root / "raw" / "evil.csv").exists()
    assert not (tmp_path / "evil.csv.1").exists()


def test_manifest_flags_the_soh_control_byte(tmp_path: Path) -> None:
    plain, with_soh = tmp_path / "plain.csv", tmp_path / "soh.csv"
    plain.write_bytes(GOOD)
    with_soh.write_bytes(GOOD + b"T-0002,ACC\x01002,1.00,EUR,2024-01-05T09:00:00Z\n")
    lake = tmp_path / "lake"
    for source, expected in ((plain, False), (with_soh, True)):
        result = ll.land_file(source, lake)
        manifest = json.loads((Path(result["path"]).parent / "_manifest.json").read_text())
        assert manifest["contains_soh"] is expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"h\na\nb\n", "lf"),
        (b"h\r\na\r\nb", "crlf"),
        (b"h\na\r\nb\n", "mixed"),
        (b"h\r\na\rb\r\n", "mixed"),
        (b"h", "none"),
    ],
)
def test_manifest_records_line_endings(tmp_path: Path, content: bytes, expected: str) -> None:
    source = tmp_path / "endings.csv"
    source.write_bytes(content)
    result = ll.land_file(source, tmp_path / "lake")
    manifest = json.loads((Path(result["path"]).parent / "_manifest.json").read_text())
    assert manifest["line_endings"] == expected


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    profiler = ll.ContentProfiler()
    for chunk in (b"h\r", b"\na\r", b"\n"):
        profiler.update(chunk)
    assert profiler.result().line_endings == "crlf"


def _odd_quote_lines(data: bytes, chunk_size: int) -> int:
    counter = ll.OddQuoteLineCounter()
    for start in range(0, len(data), chunk_size):
        counter.update(data[start : start + chunk_size])
    return counter.result()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'id,name\n1,"a, b"\n', 0),
        (b'id,note\n1,"two\nlines"\n', 2),
        (b'1,x"y\r\n2,z\r\n', 1),
        (b'"\r"\r\n"', 3),
        (b'1,"say ""hi"""\n', 0),
        (b"", 0),
    ],
)
def test_odd_quote_lines_counts_lines_split_on_cr_or_lf(data: bytes, expected: int) -> None:
    """The manifest's odd_quote_lines routes a file past staging's quoted-span search when 0, so
    it must never miss an odd line, whatever the chunking."""
    for chunk_size in (1, 2, 3, 7, 1 << 16):
        assert _odd_quote_lines(data, chunk_size) == expected


def test_odd_quote_lines_agrees_with_a_line_split_oracle() -> None:
    rnd = random.Random(7)
    for _ in range(500):
        data = bytes(rnd.choice(b'ab",\r\n') for _ in range(rnd.randint(0, 60)))
        oracle = sum(1 for line in re.split(rb"\r|\n", data) if line.count(b'"') % 2)
        for chunk_size in (1, 4, 64):
            assert _odd_quote_lines(data, chunk_size) == oracle, data


GOOD_ROW = "T-0001,ACC001,1.00,EUR,2024-01-05T09:00:00Z\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"",
            [
                "header does not match the contract: no readable header",
                "no records: the file is empty",
            ],
        ),
        ((HEADER + "\r\n").encode(), ["no records: nothing after the header line"]),
        ((HEADER + "\n\n\r\n").encode(), ["no records: nothing after the header line"]),
        (
            (
                "TransactionID,CustomerID,TransactionAmount,currency,TransactionTimestamp\n"
                + GOOD_ROW
            ).encode(),
            ["header does not match the contract: lacks Currency; currency is not in the contract"],
        ),
    ],
    ids=["empty", "header-only", "header-and-blank-lines", "lower-case-name"],
)
def test_content_problems_are_warned_on_stderr_and_the_file_lands(
    tmp_path: Path, root: Path, content: bytes, expected: list[str]
) -> None:
    good = write(tmp_path / "good.csv", (HEADER + "\n" + GOOD_ROW).encode())
    odd = write(tmp_path / "odd.csv", content)
    result = run_cli(good, odd, lake_root=root)

    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in records(result)] == ["landed", "landed"]
    assert set(records(result)[0]) == set(records(result)[1])  # stdout records keep their keys
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(f"land_csv: warning: {odd}: {start}"), line
    assert len(data_files(root)) == 2


def test_strict_refuses_files_with_content_problems_and_lands_the_others(
    tmp_path: Path, root: Path
) -> None:
    good = write(tmp_path / "good.csv", (HEADER + "\n" + GOOD_ROW).encode())
    header_only = write(tmp_path / "header_only.csv", (HEADER + "\n").encode())
    drifted = write(tmp_path / "drifted.csv", ("TransactionID,CustomerID\n" + "T,A\n").encode())
    result = run_cli("--strict", good, header_only, drifted, lake_root=root)

    assert result.returncode == 1
    statuses = {r["source"]: r for r in records(result)}
    assert statuses[str(good)]["status"] == "landed"
    assert statuses[str(header_only)]["status"] == "error"
    assert "no records" in statuses[str(header_only)]["message"]
    assert statuses[str(drifted)]["status"] == "error"
    assert "lacks TransactionAmount" in statuses[str(drifted)]["message"]
    assert f"land_csv: error: {drifted}: refused (--strict)" in result.stderr
    [landed] = data_files(root)
    assert landed.read_bytes() == good.read_bytes()
    assert incoming_leftovers(root) == []


def test_padded_and_quoted_header_lands_without_warning(tmp_path: Path, root: Path) -> None:
    header = ' "TransactionID" ,CustomerID, " TransactionAmount",Currency\t,TransactionTimestamp'
    result = run_cli(write(tmp_path / "p.csv", (header + "\n" + GOOD_ROW).encode()), lake_root=root)
    assert result.returncode == 0
    assert result.stderr == ""
    [landed] = data_files(root)
    assert manifest_of(landed)["header_matches_contract"] is True


def test_help_documents_strict_and_the_header_policy() -> None:
    text = land_csv.build_parser().format_help()
    assert "--strict" in text
    assert "case" in text and "included" in text
