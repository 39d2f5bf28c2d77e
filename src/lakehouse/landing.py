"""Land transaction CSV files into the raw zone of the lake: byte for byte, atomic, append-only.

Layout of one landed run (one run per landed file)::

    <lake_root>/raw/transactions/ingest_date=YYYY-MM-DD/run_id=<run_id>/<file_name>.csv
    <lake_root>/raw/transactions/ingest_date=YYYY-MM-DD/run_id=<run_id>/_manifest.json

Storage access goes through the small ``LakeBackend`` protocol; ``LocalLake`` implements it on a
local (POSIX) filesystem. Another backend (e.g. S3) can implement the same methods and reuse
``land_file_into``. Standard library only.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from lakehouse.contract import (
    Contract,
    header_fingerprint,
    header_matches,
    header_problems,
    load_contract,
)

LOG = logging.getLogger("land_csv")

MANIFEST_NAME = "_manifest.json"
CHUNK_SIZE = 1024 * 1024  # copy buffer; memory use is constant whatever the file size
SNIFF_BYTES = 64 * 1024  # a NUL byte in this prefix means binary / UTF-16: not a CSV
# The raw layer keeps at most this many characters of a line (the first ones; its full length
# beside them). A longer line cannot be a valid record (a bank transaction's record is well under
# 1 KB) and is quarantined as SCHEMA_ERROR; the bound keeps every value under Athena's 32 MB row
# limit and the warehouse's memory per row small. The manifest records it for dbt.
LINE_TEXT_LIMIT = 65536
HEADER_MAX_BYTES = 1024 * 1024  # a longer first line is not a header: manifest header = null
RUN_ID_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
LANDED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
FALLBACK_FILE_NAME = "file.csv"

_RUN_ID_RE = re.compile(r"^(\d{8}T\d{12})Z_[0-9a-f]{8}$")
_UNSAFE_CHAR_RE = re.compile(r"[^A-Za-z0-9._-]")


class LandingError(Exception):
    """The file was refused or could not be landed; nothing of it is visible in the lake."""


@dataclass(frozen=True)
class ContentProfile:
    """What a single pass over the content learned about it."""

    size: int
    sha256: str
    line_count: int  # = physical_lines (below); the manifest's older name, kept for its readers
    header: str | None
    utf8_valid: bool
    contains_soh: bool  # the control byte 0x01 (SOH), which dbt's line reader reserves
    odd_quote_lines: int  # lines (split on CR or LF) with an odd number of double quotes
    line_endings: str  # "lf", "crlf", "mixed" (both, or a bare CR) or "none"
    # The lines as the raw layer splits them (CRLF, LF or a bare CR ends one; a last line without
    # a break counts; a BOM alone is no line): counted from the bytes, independently of any
    # reader, so the build can check that its reader saw every line. A key of its own in the
    # manifest: line_count of an older loader counted LF only, so older runs are not compared.
    physical_lines: int = 0
    # At least as many bytes as the longest LF-terminated line holds (exact for a line longer
    # than a read chunk, 1 MiB): the line size the warehouse's CSV reader must accept.
    line_size_bound: int = 0
    # Whether a line after the first (the header) holds anything but line breaks: a file without
    # one has no records (dbt reads no record from empty lines).
    has_data_lines: bool = False


@dataclass(frozen=True)
class LandedRun:
    """A run already committed to the lake."""

    run_id: str
    sha256: str
    data_path: str


class LakeBackend(Protocol):
    """Storage operations the landing procedure needs (local filesystem now, S3 later)."""

    def lock(self) -> AbstractContextManager[None]:
        """Exclusive lake-wide lock, held from the idempotency check through the commit."""
        ...

    def new_staging_dir(self) -> Path:
        """A fresh local directory, invisible to readers of raw/transactions/."""
        ...

    def discard_staging(self, staging: Path) -> None:
        """Remove a staging directory that will not be committed."""
        ...

    def find_landed(self, sha256: str) -> LandedRun | None:
        """The committed run whose content has this sha256, if any."""
        ...

    def latest_run_time(self) -> datetime | None:
        """Timestamp part of the greatest committed run_id, if any."""
        ...

    def run_exists(self, ingest_date: str, run_id: str) -> bool:
        """Whether a run directory with this id exists already."""
        ...

    def commit(self, staging: Path, ingest_date: str, run_id: str) -> str:
        """Publish the staging directory as the run, atomically; return the run location."""
        ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mkdir_durable(path: Path) -> None:
    """Create ``path`` (and missing parents), fsyncing each parent that got a new entry."""
    if path.is_dir():
        return
    _mkdir_durable(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        return
    _fsync_dir(path.parent)


def parse_run_time(run_id: str) -> datetime | None:
    """The UTC landing moment encoded in a run_id, or None if it is not a run_id."""
    match = _RUN_ID_RE.match(run_id)
    if match is None:
        return None
    s = match.group(1)  # YYYYMMDDTHHMMSSffffff
    try:
        return datetime(
            int(s[0:4]),
            int(s[4:6]),
            int(s[6:8]),
            int(s[9:11]),
            int(s[11:13]),
            int(s[13:15]),
            int(s[15:21]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


class LocalLake:
    """``LakeBackend`` on a local filesystem rooted at ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(os.path.abspath(root))
        self.raw_dir = self.root / "raw"
        self.transactions_dir = self.raw_dir / "transactions"
        self.incoming_dir = self.raw_dir / ".incoming"
        self.lock_path = self.raw_dir / ".lock"
        self._staging_locks: dict[Path, int] = {}  # staging dir -> fd holding its flock

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        _mkdir_durable(self.raw_dir)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                LOG.info("waiting for the lake lock %s (another loader is landing)", self.lock_path)
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def new_staging_dir(self) -> Path:
        """A new directory under ``raw/.incoming/``, owned by this process until it is committed
        or discarded: an flock on the directory, taken under the lake lock. Stale staging
        directories (their loader died) are removed first."""
        with self.lock():
            self.remove_stale_staging()
            while True:
                path = self.incoming_dir / secrets.token_hex(8)
                try:
                    path.mkdir()  # not mkdtemp: the run dir keeps umask permissions for readers
                except FileExistsError:
                    continue
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new: nobody else holds it
                self._staging_locks[path] = fd
                return path

    def _release_staging(self, staging: Path) -> None:
        fd = self._staging_locks.pop(staging, None)
        if fd is not None:
            os.close(fd)  # releases the flock

    def discard_staging(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)
        self._release_staging(staging)

    def remove_stale_staging(self) -> list[Path]:
        """Remove the staging directories of loaders that died before committing (killed
        mid-copy, power loss). Call with the lake lock held. A live loader holds an flock on its
        directory from its creation (under the lake lock) until commit or discard, so only
        unlocked directories are removed; committed runs are never under ``.incoming/``."""
        _mkdir_durable(self.incoming_dir)
        removed = []
        with os.scandir(self.incoming_dir) as entries:
            candidates = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        for path in candidates:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                continue  # gone already, or not a plain directory: leave it alone
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # a live loader is copying into it
            try:
                shutil.rmtree(path)
                removed.append(path)
                LOG.warning(
                    "removed stale staging directory %s (its loader ended without committing)",
                    display_path(path),
                )
            except OSError as exc:
                LOG.warning("cannot remove stale staging directory %s: %s", path, exc)
            finally:
                os.close(fd)
        if removed:
            _fsync_dir(self.incoming_dir)
        return removed

    def _manifests(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        for path in self.transactions_dir.glob(f"ingest_date=*/run_id=*/{MANIFEST_NAME}"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                LOG.warning("ignoring unreadable manifest %s: %s", path, exc)
                continue
            if isinstance(data, dict):
                yield path, data
            else:
                LOG.warning("ignoring manifest %s: not a JSON object", path)

    def find_landed(self, sha256: str) -> LandedRun | None:
        for path, data in self._manifests():
            if data.get("sha256") == sha256:
                return LandedRun(
                    run_id=str(data.get("run_id")),
                    sha256=sha256,
                    data_path=str(path.parent / str(data.get("file_name"))),
                )
        return None

    def latest_run_time(self) -> datetime | None:
        times = (
            parse_run_time(run_dir.name.removeprefix("run_id="))
            for run_dir in self.transactions_dir.glob("ingest_date=*/run_id=*")
        )
        return max((t for t in times if t is not None), default=None)

    def _run_dir(self, ingest_date: str, run_id: str) -> Path:
        return self.transactions_dir / f"ingest_date={ingest_date}" / f"run_id={run_id}"

    def run_exists(self, ingest_date: str, run_id: str) -> bool:
        if self._run_dir(ingest_date, run_id).exists():
            return True
        return any(self.transactions_dir.glob(f"ingest_date=*/run_id={run_id}"))

    def commit(self, staging: Path, ingest_date: str, run_id: str) -> str:
        target = self._run_dir(ingest_date, run_id)
        _fsync_dir(staging)  # the data file and manifest entries are durable before publishing
        _mkdir_durable(target.parent)
        if target.exists():  # rename() would silently replace an empty directory
            raise LandingError(f"run directory already exists: {target}")
        os.rename(staging, target)  # one atomic step: readers see all of the run or nothing
        self._release_staging(staging)
        _fsync_dir(target.parent)
        _fsync_dir(self.incoming_dir)
        return str(target)


def describe_exception(exc: BaseException) -> str:
    """An exception in words (never just its class name): for failures nobody foresaw."""
    if isinstance(exc, KeyError):
        return f"a value it needs is missing ({exc.args[0] if exc.args else 'unnamed'})"
    if isinstance(exc, MemoryError):
        return "it ran out of memory"
    if isinstance(exc, UnicodeError):
        return f"text it could not decode or encode ({exc})"
    if isinstance(exc, RecursionError):
        return "it nested too deeply"
    text = str(exc).strip().splitlines()
    return text[0] if text else "it stopped without saying why"


def unforeseen_failure(doing: str, exc: BaseException) -> str:
    """The one-line message of a failure the loader does not handle on purpose."""
    return (
        f"not landed, nothing written: the loader failed while {doing}: "
        f"{describe_exception(exc)} (a loader bug: please report it with this file)"
    )


def sanitize_file_name(name: str) -> str:
    """Landed file name: [A-Za-z0-9._-] only, no leading dot, lower-case ``.csv`` suffix.

    Every other character (path separators, spaces, control characters, non-ASCII) becomes
    ``_``; the result is never empty and can never leave the run directory.
    """
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name[:-4] if name.lower().endswith(".csv") else name
    stem = _UNSAFE_CHAR_RE.sub("_", stem).lstrip(".")
    return f"{stem}.csv" if stem else FALLBACK_FILE_NAME


def display_path(value: str | os.PathLike[str]) -> str:
    """A printable, UTF-8-encodable rendering of a path (undecodable bytes as ``\\xNN``)."""
    return os.fsencode(value).decode("utf-8", errors="backslashreplace")


def new_run_id(landed_at: datetime) -> str:
    """``%Y%m%dT%H%M%S%fZ`` of the UTC landing moment + ``_`` + 8 random lowercase hex chars."""
    return f"{landed_at.astimezone(UTC).strftime(RUN_ID_TIME_FORMAT)}_{secrets.token_hex(4)}"


class OddQuoteLineCounter:
    """Counts the physical lines (split on CR or LF, as dbt's line readers split) that hold an
    odd number of double quotes: only such a line can open or close a quoted field that spans
    lines, so a file with none is read by staging without the span search. Python work is per
    line that holds a quote; everything else is a C-level scan. Memory is constant (the line in
    progress at a chunk's end is kept as its quote parity, not its bytes)."""

    def __init__(self) -> None:
        self._parity = 0  # quotes so far, mod 2, in the line that continues into the next chunk
        self._odd = 0

    def update(self, chunk: bytes) -> None:
        first = _first_break(chunk, 0, len(chunk))
        if first < 0:
            self._parity ^= chunk.count(b'"') % 2
            return
        self._odd += self._parity ^ (chunk.count(b'"', 0, first) % 2)
        last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        self._count_lines(chunk, first + 1, last)
        self._parity = chunk.count(b'"', last + 1) % 2

    def result(self) -> int:
        return self._odd + self._parity

    def _count_lines(self, data: bytes, low: int, high: int) -> None:
        """Odd lines among the complete lines of data[low:high] (a break precedes low)."""
        quote = data.find(b'"', low, high)
        while quote >= 0:
            start = max(low, data.rfind(b"\n", low, quote) + 1, data.rfind(b"\r", low, quote) + 1)
            stop = _first_break(data, quote, high)
            stop = high if stop < 0 else stop
            self._odd += data.count(b'"', start, stop) % 2
            quote = data.find(b'"', stop, high)


def _first_break(data: bytes, start: int, end: int) -> int:
    """Position of the first CR or LF in data[start:end], -1 if none."""
    found = [i for i in (data.find(b"\n", start, end), data.find(b"\r", start, end)) if i >= 0]
    return min(found, default=-1)


class ContentProfiler:
    """Incremental sha256, size, physical line count, UTF-8 validity and header."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._size = 0
        self._last_byte = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._utf8_valid = True
        self._contains_soh = False
        self._odd_quotes = OddQuoteLineCounter()
        self._crlf = self._lf = self._cr = 0
        self._head = bytearray()
        self._head_done = False
        self._head_too_long = False
        self._since_lf = 0  # bytes after the last LF so far
        self._line_size_bound = 0
        self._past_header = False  # a line break was seen
        self._has_data_lines = False

    def update(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._track_line_size(chunk)
        if not self._has_data_lines:
            self._track_data_lines(chunk)
        self._sha.update(chunk)
        self._size += len(chunk)
        split_crlf = self._last_byte == b"\r" and chunk[:1] == b"\n"
        self._last_byte = chunk[-1:]
        self._contains_soh = self._contains_soh or b"\x01" in chunk
        self._odd_quotes.update(chunk)
        self._crlf += chunk.count(b"\r\n") + split_crlf
        self._lf += chunk.count(b"\n")
        self._cr += chunk.count(b"\r")
        if self._utf8_valid:
            try:
                self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self._utf8_valid = False
        if not self._head_done:  # the first line ends at its first CR or LF, as lines do
            newline = _first_break(chunk, 0, len(chunk))
            part = chunk if newline < 0 else chunk[:newline]
            if len(self._head) + len(part) > HEADER_MAX_BYTES:
                self._head_too_long = True
                self._head_done = True
                self._head.clear()
            else:
                self._head += part
                self._head_done = newline >= 0

    def _track_data_lines(self, chunk: bytes) -> None:
        if not self._past_header:
            first = _first_break(chunk, 0, len(chunk))
            if first < 0:
                return
            self._past_header = True
            chunk = chunk[first + 1 :]
        self._has_data_lines = bool(chunk.strip(b"\r\n"))

    def _track_line_size(self, chunk: bytes) -> None:
        """A line inside one chunk is shorter than the chunk; a line across chunks is measured
        exactly. C-level searches only: two per chunk."""
        first = chunk.find(b"\n")
        if first < 0:
            self._since_lf += len(chunk)
        else:
            self._line_size_bound = max(self._line_size_bound, self._since_lf + first, len(chunk))
            self._since_lf = len(chunk) - chunk.rfind(b"\n") - 1
        self._line_size_bound = max(self._line_size_bound, self._since_lf)

    def _physical_lines(self) -> int:
        breaks = self._lf + self._cr - self._crlf
        only_a_bom = breaks == 0 and bytes(self._head) == b"\xef\xbb\xbf"
        tail = self._size > 0 and self._last_byte not in (b"\n", b"\r") and not only_a_bom
        return breaks + int(tail)

    def result(self) -> ContentProfile:
        if self._utf8_valid:
            try:
                self._decoder.decode(b"", final=True)  # a truncated sequence at EOF is invalid
            except UnicodeDecodeError:
                self._utf8_valid = False
        header: str | None = None
        if self._size and not self._head_too_long:
            try:
                header = bytes(self._head).decode("utf-8")
            except UnicodeDecodeError:
                header = None
            else:
                header = header.removeprefix("\ufeff")
        # Lines end at CRLF, LF or a bare CR (one break each), as the raw layer splits them.
        lines = self._physical_lines()
        return ContentProfile(
            size=self._size,
            sha256=self._sha.hexdigest(),
            line_count=lines,
            header=header,
            utf8_valid=self._utf8_valid,
            contains_soh=self._contains_soh,
            odd_quote_lines=self._odd_quotes.result(),
            line_endings=self._line_endings(),
            physical_lines=lines,
            line_size_bound=self._line_size_bound,
            has_data_lines=self._has_data_lines,
        )

    def _line_endings(self) -> str:
        bare_lf, bare_cr = self._lf - self._crlf, self._cr - self._crlf
        if bare_cr or (bare_lf and self._crlf):
            return "mixed"
        if self._crlf:
            return "crlf"
        return "lf" if bare_lf else "none"


def copy_and_profile(
    head: bytes, src: BinaryIO, dst: Path, progress: Callable[[int], None] | None = None
) -> ContentProfile:
    """Write ``head`` + the rest of ``src`` to the new file ``dst`` in one pass, fsync it.
    ``progress`` is called with the size of each chunk written."""
    profiler = ContentProfiler()
    with open(dst, "xb") as out:
        chunk = head
        while chunk:
            profiler.update(chunk)
            out.write(chunk)
            if progress is not None:
                progress(len(chunk))
            chunk = src.read(CHUNK_SIZE)
        out.flush()
        os.fsync(out.fileno())
    return profiler.result()


@contextlib.contextmanager
def open_source(source: Path) -> Iterator[BinaryIO]:
    """Open a regular, readable file; refuse anything else with a ``LandingError``."""
    try:
        # O_NONBLOCK: opening a FIFO must not hang before fstat() can refuse it.
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise LandingError("no such file") from None
    except PermissionError:
        raise LandingError("permission denied (file is not readable)") from None
    except OSError as exc:
        raise LandingError(f"cannot open: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise LandingError("is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise LandingError("not a regular file")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb") as src:
        yield src


def _landing_moment(latest: datetime | None) -> datetime:
    """Now (UTC), forced strictly after the latest committed run so run_ids follow commit order."""
    now = datetime.now(UTC)
    if latest is not None and now <= latest:
        now = latest + timedelta(microseconds=1)
    return now


@functools.cache
def _contract() -> Contract:
    return load_contract()


def build_manifest(
    source: Path,
    file_name: str,
    profile: ContentProfile,
    ingest_date: str,
    run_id: str,
    landed_at: datetime,
) -> dict[str, Any]:
    """The run's ``_manifest.json`` (local and S3 alike); the header is checked against the
    contract (contracts/transactions.schema.json) so that schema drift is visible per file."""
    contract = _contract()
    return {
        "run_id": run_id,
        "ingest_date": ingest_date,
        "landed_at": landed_at.strftime(LANDED_AT_FORMAT),
        "source_path": display_path(os.path.abspath(source)),
        "file_name": file_name,
        "bytes": profile.size,
        "sha256": profile.sha256,
        "line_count": profile.line_count,
        "header": profile.header,
        "header_matches_contract": header_matches(profile.header, contract),
        "header_fingerprint": (
            header_fingerprint(profile.header) if profile.header is not None else None
        ),
        "utf8_valid": profile.utf8_valid,
        "contains_soh": profile.contains_soh,
        "odd_quote_lines": profile.odd_quote_lines,
        "line_endings": profile.line_endings,
        "physical_lines": profile.physical_lines,
        "line_size_bound": profile.line_size_bound,
        "line_text_limit": LINE_TEXT_LIMIT,
        "contract_version": contract.version,
    }


def content_problems(profile: ContentProfile) -> list[str]:
    """Why a file's content will give no usable records, in words, one item per problem (empty:
    none): its header does not match the contract (lakehouse.contract.header_problems, the same
    policy as dbt's base_landing__file_headers), or it has no records."""
    problems = []
    mismatch = header_problems(profile.header, _contract())
    if mismatch:
        problems.append("header does not match the contract: " + "; ".join(mismatch))
    if profile.size == 0:
        problems.append("no records: the file is empty")
    elif not profile.has_data_lines:
        problems.append("no records: nothing after the header line")
    return problems


def refuse_if_strict(profile: ContentProfile, strict: bool, warnings: list[str] | None) -> None:
    """With ``strict``, refuse a file with content problems (``LandingError``); otherwise add them
    to ``warnings`` (when given) and land it."""
    problems = content_problems(profile)
    if problems and strict:
        raise LandingError("refused (--strict), nothing written: " + "; ".join(problems))
    if warnings is not None:
        warnings.extend(problems)


def skipped_result(source: Path, existing: LandedRun, profile: ContentProfile) -> dict[str, Any]:
    """The result record of a file whose content was landed before (local and S3 alike)."""
    return {
        "status": "skipped",
        "source": display_path(source),
        "run_id": existing.run_id,
        "path": existing.data_path,
        "bytes": profile.size,
        "sha256": profile.sha256,
        "message": (
            f"already landed: same sha256 as run_id={existing.run_id} ({existing.data_path})"
        ),
    }


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    with open(path, "x", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def land_file_into(
    source: Path | str,
    lake: LakeBackend,
    progress: Callable[[int], None] | None = None,
    *,
    strict: bool = False,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Land one file through ``lake``; return the result record (status landed or skipped).
    ``progress`` is called with the bytes of each chunk copied.

    A landed file whose header does not match the contract, or that has no records, adds a line
    to ``warnings`` (``content_problems``); with ``strict`` it is refused instead. A file landed
    before is skipped either way (it was reported when it landed).

    Raises ``LandingError`` when the file is refused or landing fails; then nothing of it is
    visible in the lake and its staging directory is gone.
    """
    source = Path(source)
    staging: Path | None = None
    committed = False
    doing = "reading the file"  # for the words of a failure nobody foresaw
    try:
        with open_source(source) as src:
            if not source.name.lower().endswith(".csv"):
                raise LandingError("not a CSV: the file name does not end in .csv")
            head = src.read(SNIFF_BYTES)
            if b"\x00" in head:
                raise LandingError(
                    "not a CSV: NUL byte in the first 64 KiB (binary or UTF-16 content)"
                )
            file_name = sanitize_file_name(source.name)
            doing = "copying the file into the lake's staging area"
            staging = lake.new_staging_dir()
            profile = copy_and_profile(head, src, staging / file_name, progress)

        doing = "checking whether its content was landed before"
        with lake.lock():
            existing = lake.find_landed(profile.sha256)
            if existing is not None:
                return skipped_result(source, existing, profile)
            refuse_if_strict(profile, strict, warnings)
            # Taken after the copy completed and under the lock: commit order = run_id order.
            landed_at = _landing_moment(lake.latest_run_time())
            ingest_date = landed_at.date().isoformat()
            run_id = new_run_id(landed_at)
            while lake.run_exists(ingest_date, run_id):
                run_id = new_run_id(landed_at)
            doing = "writing the run's manifest (header check, line count)"
            manifest = build_manifest(source, file_name, profile, ingest_date, run_id, landed_at)
            _write_manifest(staging / MANIFEST_NAME, manifest)
            doing = "committing the run"
            run_location = lake.commit(staging, ingest_date, run_id)
            committed = True
    except LandingError:
        raise
    except OSError as exc:
        raise LandingError(f"landing failed: {exc}") from exc
    except Exception as exc:  # a loader bug: still one line, and nothing of the file is landed
        raise LandingError(unforeseen_failure(doing, exc)) from exc
    finally:
        if staging is not None and not committed:
            lake.discard_staging(staging)
    return {
        "status": "landed",
        "source": display_path(source),
        "run_id": run_id,
        "path": f"{run_location}/{file_name}",
        "bytes": profile.size,
        "sha256": profile.sha256,
        "message": None,
    }


def land_file(
    source: Path | str,
    lake_root: Path | str,
    *,
    strict: bool = False,
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Land one CSV file into the local lake at ``lake_root`` (see ``land_file_into``)."""
    return land_file_into(source, LocalLake(lake_root), strict=strict, warnings=warnings)
