"""Progress of long work on stderr, only where a person watches it.

``Progress`` redraws one line in place (carriage return) at most ``REDRAWS_PER_SECOND`` times a
second, and only when the stream is a terminal and the work is large (``total`` at least
``minimum``): pipelines, logs and tests see nothing of it. The commands print their one-line
summary themselves (``summary`` formats the sizes and seconds).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

REDRAWS_PER_SECOND = 4
MIB = 1024 * 1024


def is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def size_text(size: int) -> str:
    """Bytes for people: '512 B', '12.3 KiB', '1.5 MiB', '2.0 GiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


class Progress:
    """``label: done of total unit (percent%)`` redrawn in place on ``stream``."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        unit: str = "bytes",
        minimum: int = 0,
        stream: TextIO | None = None,
    ) -> None:
        out = stream if stream is not None else sys.stderr
        self._stream: TextIO | None = out if total >= minimum and is_tty(out) else None
        self._label = label
        self._total = max(total, 1)
        self._unit = unit
        self._done = 0
        self._drawn_at: float | None = None
        self._width = 0

    @property
    def shown(self) -> bool:
        return self._stream is not None

    def _amount(self, count: int) -> str:
        return size_text(count) if self._unit == "bytes" else f"{count:,} {self._unit}"

    def _draw(self) -> None:
        assert self._stream is not None
        percent = min(100, self._done * 100 // self._total)
        text = f"{self._label}: {self._amount(self._done)} of {self._amount(self._total)}"
        text += f" ({percent}%)"
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()
        self._width = len(text)
        self._drawn_at = time.monotonic()

    def advance(self, count: int) -> None:
        self._done += count
        if self._stream is None:
            return
        if self._drawn_at is None or time.monotonic() - self._drawn_at >= 1 / REDRAWS_PER_SECOND:
            self._draw()

    def finish(self) -> None:
        """The last state, then the end of the line (the summary goes on a line of its own)."""
        if self._stream is not None and self._drawn_at is not None:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
            self._drawn_at = None
