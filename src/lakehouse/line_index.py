"""The line index of a landed file: its physical lines as rows, for engines that cannot number them.

A Hive text table on Athena exposes no line position, so the S3 loader writes, beside the
untouched raw file, ``<file>.lines.jsonl.gz``: gzip JSON Lines, one object per physical line::

    {"line_number": 1, "line_text": "transaction_id,...", "is_readable": true, "line_length": 18}

The rows are exactly those of the local DuckDB relation ``main_raw.transaction_lines`` for the
same file (``macros/raw/duckdb_raw_relations.sql``; a test compares them), so a line means the
same thing on both engines:

* Lines end at CRLF, LF or a bare CR (one break each); a terminator at the very end of the file
  does not start another line; an empty file has no lines.
* A file that is valid UTF-8, has no 0x01 byte and does not mix line endings is read as text by
  DuckDB's CSV reader: a BOM is dropped before lines are split (a file of just a BOM has no
  lines) and a blank line is NULL.
* Any other file is split from its bytes: a BOM is dropped from the first line, a blank line is
  ``""``, and a line that is not valid UTF-8 is ``is_readable = false`` with every byte outside
  printable ASCII shown as ``\\xNN``.
* A line keeps its first ``LINE_TEXT_LIMIT`` characters (lake_landing.py) and its full length in
  ``line_length``; a cut line is ``is_readable = false``, so staging quarantines it.

Memory is constant in the file size (one line at a time; the file is read twice when its profile
is not given). Standard library only (plus ``lake_landing`` for the file profile).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol

from lakehouse.landing import CHUNK_SIZE, LINE_TEXT_LIMIT, ContentProfile, ContentProfiler

SUFFIX = ".lines.jsonl.gz"
BOM = b"\xef\xbb\xbf"
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Line(NamedTuple):
    """One row of the line index: at most LINE_TEXT_LIMIT characters of the line's text, and
    the full text's length (a cut line is not readable)."""

    line_number: int
    line_text: str | None
    is_readable: bool
    line_length: int | None = None

    def as_json(self) -> str:
        text = json.dumps(self.line_text, ensure_ascii=False)
        readable = "true" if self.is_readable else "false"
        length = "null" if self.line_length is None else str(self.line_length)
        return (
            f'{{"line_number": {self.line_number}, "line_text": {text}, '
            f'"is_readable": {readable}, "line_length": {length}}}'
        )


def _bounded(number: int, text: str | None, readable: bool, length: int | None) -> Line:
    if text is None or length is None or length <= LINE_TEXT_LIMIT:
        return Line(number, text, readable, length)
    return Line(number, text[:LINE_TEXT_LIMIT], False, length)


def index_name(file_name: str) -> str:
    """Name of the line index object of a landed file (same run directory)."""
    return file_name + SUFFIX


def is_line_readable(profile: ContentProfile) -> bool:
    """Whether the file is read as text (DuckDB's CSV reader) rather than split from its bytes."""
    return profile.utf8_valid and not profile.contains_soh and profile.line_endings != "mixed"


def profile_file(path: Path) -> ContentProfile:
    profiler = ContentProfiler()
    with open(path, "rb") as src:
        while chunk := src.read(CHUNK_SIZE):
            profiler.update(chunk)
    return profiler.result()


def physical_lines(src: Readable, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The lines of ``src`` without terminators (CRLF, LF or bare CR); no line after a final
    terminator, none for an empty file."""
    pending = b""
    while chunk := src.read(chunk_size):
        pieces = (pending + chunk).splitlines(keepends=True)  # bytes: CRLF, LF, CR only
        pending = pieces.pop()
        if pending.endswith(b"\n"):  # complete; a trailing CR may still get its LF
            pieces.append(pending)
            pending = b""
        for piece in pieces:
            yield piece[:-2] if piece.endswith(b"\r\n") else piece[:-1]
    if pending:  # the last line has no terminator, or ends with a CR that was the last byte
        yield pending.removesuffix(b"\r")


def escape_bytes(raw: bytes) -> str:
    """Printable ASCII as itself, every other byte as ``\\xNN`` (as DuckDB shows a blob)."""
    return "".join(chr(b) if 0x20 <= b <= 0x7E else f"\\x{b:02X}" for b in raw)


def iter_lines(path: Path | str, profile: ContentProfile | None = None) -> Iterator[Line]:
    """The rows of the line index of ``path``; ``profile`` is the loader's, if at hand."""
    path = Path(path)
    readable_file = is_line_readable(profile or profile_file(path))
    with open(path, "rb") as src:
        yield from iter_stream_lines(src, readable_file)


def iter_stream_lines(src: Readable, readable_file: bool) -> Iterator[Line]:
    """The rows of the line index of the content of ``src`` (read to its end)."""
    head = src.read(len(BOM))
    if not (readable_file and head == BOM):  # the CSV reader drops a BOM before splitting lines
        src = _Prepend(head, src)
    for number, raw in enumerate(physical_lines(src), start=1):
        if number == 1:  # the byte split drops it from the first line
            raw = raw.removeprefix(BOM)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # a byte outside printable ASCII is shown as 4 characters (\xNN): escaping the
            # first LINE_TEXT_LIMIT bytes gives at least the characters that are kept
            length = len(raw) + 3 * (len(raw) - _printable_ascii_count(raw))
            yield _bounded(number, escape_bytes(raw[:LINE_TEXT_LIMIT]), False, length)
            continue
        if readable_file and not text:
            yield Line(number, None, True, None)
        else:
            yield _bounded(number, text, True, len(text))


def _printable_ascii_count(raw: bytes) -> int:
    return len(raw) - len(raw.translate(None, _PRINTABLE_ASCII))


class _Prepend:
    """``head`` then the rest of ``src``, through ``read(size)``."""

    def __init__(self, head: bytes, src: Readable) -> None:
        self._head = head
        self._src = src

    def read(self, size: int = -1, /) -> bytes:
        head, self._head = self._head, b""
        if size < 0:
            return head + self._src.read()
        return head + self._src.read(max(size - len(head), 0)) if head else self._src.read(size)


def write_stream_index(src: Readable, out: BinaryIO, readable_file: bool) -> int:
    """Write the gzip JSON Lines index of the content of ``src`` to ``out``; the line count."""
    count = 0
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as packed:
        for line in iter_stream_lines(src, readable_file):
            packed.write(line.as_json().encode("utf-8") + b"\n")
            count += 1
    return count


def write_line_index(
    src: Path | str, dst: Path | str, profile: ContentProfile | None = None
) -> int:
    """Write the line index of ``src`` to the new file ``dst`` (gzip JSON Lines, fsynced);
    return the number of lines."""
    readable_file = is_line_readable(profile or profile_file(Path(src)))
    with open(src, "rb") as source, open(dst, "xb") as out:
        count = write_stream_index(source, out, readable_file)
        out.flush()
        os.fsync(out.fileno())
    return count
