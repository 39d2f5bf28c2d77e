#!/usr/bin/env python3
"""Generate a realistic, deterministic bank-transactions CSV (and its expected outcome).

The file follows the project's transactions file contract: header
`TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp`, UTF-8, `\\n` line
endings, RFC 4180 quoting only where a field needs it.

Every record is one of:

* a valid first occurrence (it becomes a processed transaction),
* an exact re-delivery of an earlier valid first occurrence, byte for byte (a duplicate),
* an invalid record with exactly one problem, so its validation code is known in advance.

Amounts look like a bank's current accounts: the first valid record of an account in a
currency is its opening deposit (dated in the window's first days), later ones are mostly small
withdrawals and fewer, larger salary-like credits, so most month-end balances are in credit.

Same arguments give byte-identical output: the only source of randomness is
``random.Random(seed)`` and nothing depends on the clock. Which kind each record is (valid,
duplicate, which validation code) takes the same draws whatever its amount, so the truth counts
for a seed do not depend on the amount rules. Memory does not grow with the number of rows: the
state kept is a bounded ring of recent valid records that re-deliveries and conflicting versions
are drawn from, and one byte per account and currency (whether it has had its opening deposit).

Example::

    lakehouse generate --rows 100000 --seed 7 --start 2024-01-01 --months 3 \\
        --output lake/incoming/transactions.csv --truth lake/incoming/transactions.truth.json
"""

from __future__ import annotations

import argparse
import calendar
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

from lakehouse.progress import Progress, size_text

HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp"

# Validation codes in the spec's order.
SCHEMA_ERROR = "SCHEMA_ERROR"
NULL_VALUE_ERROR = "NULL_VALUE_ERROR"
TYPE_ERROR = "TYPE_ERROR"
CURRENCY_ERROR = "CURRENCY_ERROR"
TIMESTAMP_ERROR = "TIMESTAMP_ERROR"
DUPLICATE_CONFLICT = "DUPLICATE_CONFLICT"
VALIDATION_CODES: tuple[str, ...] = (
    SCHEMA_ERROR,
    NULL_VALUE_ERROR,
    TYPE_ERROR,
    CURRENCY_ERROR,
    TIMESTAMP_ERROR,
    DUPLICATE_CONFLICT,
)

# Record kinds yielded by iter_records(): VALID, DUPLICATE, or one of the validation codes.
VALID = "VALID"
DUPLICATE = "DUPLICATE"

DEFAULT_ERROR_RATE = 0.02
DEFAULT_DUPLICATE_RATE = 0.005
RING_SIZE = 4096  # recent valid first occurrences kept for re-deliveries and conflicts
BATCH_LINES = 8192  # lines joined per write
PROGRESS_MIN_ROWS = 100_000  # fewer rows take well under a second: no progress line
SECONDS_PER_DAY = 86_400
IDS_PER_SEED = 1_000_000_000
TWO_DIGITS: tuple[str, ...] = tuple(f"{n:02d}" for n in range(100))

# Currency mix: (code, weight). Home currencies of accounts and the occasional foreign one.
CURRENCY_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("EUR", 70),
    ("USD", 12),
    ("GBP", 8),
    ("CHF", 3),
    ("SEK", 3),
    ("PLN", 2),
    ("JPY", 2),
)
FOREIGN_CURRENCY_SHARE = 0.05  # share of an account's transactions not in its home currency

# Timestamp styles, as cumulative shares of one uniform draw: Z, offset, space, T, fraction.
STYLE_Z_SHARE = 0.40  # 2024-01-05T09:00:00Z
STYLE_OFFSET_SHARE = 0.60  # 2024-01-05T11:00:00+02:00
STYLE_SPACE_SHARE = 0.80  # 2024-01-05 09:00:00 (read as UTC)
STYLE_T_SHARE = 0.90  # 2024-01-05T09:00:00 (read as UTC); the rest: 2024-01-05T09:00:00.123Z
UTC_OFFSETS_MINUTES: tuple[int, ...] = (60, 120, -300, 330, -480, 540, -180, 0)

# Cosmetic noise on valid rows (valid after trimming and upper-casing).
LOWERCASE_CURRENCY_SHARE = 0.005
PADDED_FIELD_SHARE = 0.01
DECORATED_SHARE = LOWERCASE_CURRENCY_SHARE + PADDED_FIELD_SHARE
PADDINGS: tuple[tuple[str, str], ...] = ((" ", ""), ("", " "), ("  ", "  "), (" ", " "))

# Amounts in cents, magnitude 10 ** U(low, high) (log-uniform: many small, few large):
# * the first valid record of an (account, currency) is its opening deposit, dated in the
#   window's first OPENING_DAYS days (UTC);
# * after that a record is a withdrawal with WITHDRAWAL_SHARE (card payments, cash: small on
#   average), else a credit (salary-like transfers: larger on average), so balances drift up.
# Invalid records never open an account (they are quarantined, not booked).
OPENING_EXP = (5.0, 6.3)  # 1,000.00 to about 20,000.00
WITHDRAWAL_EXP = (2.0, 5.2)  # 1.00 to about 1,585.00
CREDIT_EXP = (4.3, 5.5)  # about 200.00 to 3,162.00
WITHDRAWAL_SHARE = 0.62
OPENING_DAYS = 3

# Invalid values, one problem each.
TYPE_ERROR_AMOUNTS: tuple[str, ...] = (
    "1,000.00",  # quoted in the file: see _type_error()
    "1e5",
    "12.345",
    "abc",
    "99999999999999999.00",
    "-1.5E3",
    "12,50",
)
CURRENCY_ERROR_CODES: tuple[str, ...] = ("XXX", "EURO", "ABC", "XAU", "E U", "XTS", "EU")
FAR_FUTURE_TIMESTAMP = "2999-01-01T00:00:00Z"


@dataclass(frozen=True)
class Config:
    """Generation parameters; see build_parser() for their meaning."""

    rows: int
    seed: int = 42
    start: date = date(2024, 1, 1)
    months: int = 3
    accounts: int | None = None
    error_rate: float = DEFAULT_ERROR_RATE
    duplicate_rate: float = DEFAULT_DUPLICATE_RATE
    id_start: int | None = None  # default: derived from the seed, see first_id

    @property
    def account_count(self) -> int:
        return self.accounts if self.accounts is not None else max(10, self.rows // 50)

    @property
    def first_id(self) -> int:
        """Number of the first TransactionID. By default each seed has its own block of a
        billion ids (seed 42 starts at T-042000000001), so files generated with different seeds
        can be landed together without their ids colliding."""
        if self.id_start is not None:
            return self.id_start
        return abs(self.seed) * IDS_PER_SEED + 1

    @property
    def end(self) -> date:
        """First day after the window (exclusive end, 00:00 UTC)."""
        return add_months(self.start, self.months)


@dataclass
class Truth:
    """Expected outcome of loading the generated file on its own."""

    rows: int = 0
    valid_rows: int = 0
    duplicate_rows: int = 0
    quarantined_rows: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        by_reason = {
            code: self.quarantine_by_reason[code]
            for code in VALIDATION_CODES
            if self.quarantine_by_reason.get(code)
        }
        return {
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "duplicate_rows": self.duplicate_rows,
            "quarantined_rows": self.quarantined_rows,
            "quarantine_by_reason": by_reason,
        }


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month (Jan 31 -> Feb 29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def validate_config(config: Config) -> None:
    """Raise ValueError with a readable message when the parameters cannot be honoured."""
    if config.rows < 0:
        raise ValueError("--rows must be >= 0")
    if config.months < 1:
        raise ValueError("--months must be >= 1")
    if config.accounts is not None and config.accounts < 1:
        raise ValueError("--accounts must be >= 1")
    if config.id_start is not None and config.id_start < 0:
        raise ValueError("--id-start must be >= 0")
    for name, rate in (
        ("--error-rate", config.error_rate),
        ("--duplicate-rate", config.duplicate_rate),
    ):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1")
    if config.error_rate + config.duplicate_rate > 1.0:
        raise ValueError("--error-rate + --duplicate-rate must not exceed 1")
    if config.end.year >= 2999 or config.start.year < 1900:
        raise ValueError("the window must lie between 1900 and 2998")


def _weighted_table(weights: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """A lookup table in which each value appears `weight` times (uniform index = weighted)."""
    return tuple(value for value, weight in weights for _ in range(weight))


def _format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def _needs_quotes(value: str) -> bool:
    return any(char in value for char in ',"\n\r')


def _csv_field(value: str) -> str:
    """RFC 4180: quote only a field that contains a comma, a quote or a line break."""
    if _needs_quotes(value):
        return '"' + value.replace('"', '""') + '"'
    return value


class _Generator:
    """Produces records one at a time. Text pieces are precomputed in lookup tables because the
    valid-record path runs for every row (100 million of them in the volume test)."""

    def __init__(self, config: Config) -> None:
        self.rng = random.Random(config.seed)
        self.next_id = config.first_id
        self.accounts = config.account_count
        self.currency_table = _weighted_table(CURRENCY_WEIGHTS)
        self.currency_index = {code: n for n, (code, _w) in enumerate(CURRENCY_WEIGHTS)}
        # One byte per (account, currency): 1 once its opening deposit has been written.
        self.opened = bytearray(self.accounts * len(CURRENCY_WEIGHTS))
        days = (config.end - config.start).days
        self.seconds = days * SECONDS_PER_DAY
        self.opening_seconds = min(OPENING_DAYS * SECONDS_PER_DAY, self.seconds)
        # Dates from the day before the window to the day after: a local time with an offset
        # may fall on either side of the window while its UTC instant stays inside it.
        dates = [(config.start + timedelta(days=n)).isoformat() for n in range(-1, days + 1)]
        self.dates_t = tuple(d + "T" for d in dates)
        self.dates_space = tuple(d + " " for d in dates)
        self.clock_minutes = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60))
        self.offsets = tuple(
            (
                minutes * 60,
                f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}",
            )
            for minutes in UTC_OFFSETS_MINUTES
        )
        self.ring = [""] * RING_SIZE  # recent valid first occurrences, oldest overwritten
        self.ring_conflicts = [0] * RING_SIZE  # conflicting versions emitted per ring slot
        self.ring_len = 0
        self.ring_pos = 0
        self.year = config.start.year
        self.invalid_makers: dict[str, Callable[[], str]] = {
            SCHEMA_ERROR: self._schema_error,
            NULL_VALUE_ERROR: self._null_value_error,
            TYPE_ERROR: self._type_error,
            CURRENCY_ERROR: self._currency_error,
            TIMESTAMP_ERROR: self._timestamp_error,
            DUPLICATE_CONFLICT: self._duplicate_conflict,
        }

    # -- valid field values -------------------------------------------------------------

    def _line(self, booked: bool = False) -> str:
        """A fresh valid record, unpadded and upper-case: id, account, amount, currency, time.
        Valid values never need quoting, so the line splits back into fields on commas.
        ``booked``: the record will be a valid first occurrence, so it may be the opening
        deposit of its (account, currency). The draws taken are the same either way."""
        rnd = self.rng.random
        account = int(rnd() * self.accounts)
        table = self.currency_table
        if rnd() < FOREIGN_CURRENCY_SHARE:
            currency = table[int(rnd() * len(table))]
        else:  # home currency: a fixed function of the account, no per-account state
            currency = table[(account * 37 + 11) % len(table)]
        size, kind = rnd(), rnd()
        opening = False
        if booked:
            slot = account * len(CURRENCY_WEIGHTS) + self.currency_index[currency]
            opening = not self.opened[slot]
            self.opened[slot] = 1
        if opening:
            low, high, sign = *OPENING_EXP, ""
        elif kind < WITHDRAWAL_SHARE:
            low, high, sign = *WITHDRAWAL_EXP, "-"
        else:
            low, high, sign = *CREDIT_EXP, ""
        cents = int(10 ** (low + (high - low) * size))
        if currency == "JPY":
            cents *= 100  # no minor unit: whole yen, still written with 2 decimals
        whole, part = divmod(cents, 100)
        ident = self.next_id
        self.next_id = ident + 1
        return (
            f"T-{str(ident).zfill(12)},ACC{str(account).zfill(6)},"
            f"{sign}{whole}.{TWO_DIGITS[part]},{currency},{self._timestamp(opening)}"
        )

    def _fields(self) -> list[str]:
        """A fresh valid record as a list of its five fields (to be spoiled by the caller)."""
        return self._line().split(",")

    def _timestamp(self, opening: bool = False) -> str:
        """A UTC instant inside the window (an opening deposit: in its first OPENING_DAYS days),
        written in one of the accepted styles."""
        rnd = self.rng.random
        span = self.opening_seconds if opening else self.seconds
        instant = int(rnd() * span)  # seconds since the window start, UTC
        dates = self.dates_t
        draw = rnd()
        if draw < STYLE_Z_SHARE:
            suffix = "Z"
        elif draw < STYLE_OFFSET_SHARE:
            shift, suffix = self.offsets[int(rnd() * len(self.offsets))]
            instant += shift  # local wall-clock time of the same UTC instant
        elif draw < STYLE_SPACE_SHARE:
            dates, suffix = self.dates_space, ""
        elif draw < STYLE_T_SHARE:
            suffix = ""
        else:
            suffix = f".{int(rnd() * 1000):03d}Z"
        day, second = divmod(instant, SECONDS_PER_DAY)
        minute, second = divmod(second, 60)
        return f"{dates[day + 1]}{self.clock_minutes[minute]}{TWO_DIGITS[second]}{suffix}"

    def _decorate(self, line: str, draw: float) -> str:
        """Pad a field with blanks or lower-case the currency (valid after trimming)."""
        fields = line.split(",")
        if draw < LOWERCASE_CURRENCY_SHARE:
            fields[3] = fields[3].lower()
        else:
            index = int(self.rng.random() * len(fields))
            before, after = PADDINGS[int(self.rng.random() * len(PADDINGS))]
            fields[index] = before + fields[index] + after
        return ",".join(fields)

    # -- record kinds ---------------------------------------------------------------------

    def valid(self) -> str:
        """A valid first occurrence; remembered in the ring for later re-deliveries/conflicts."""
        line = self._line(booked=True)
        draw = self.rng.random()
        if draw < DECORATED_SHARE:
            line = self._decorate(line, draw)
        pos = self.ring_pos
        self.ring[pos] = line
        self.ring_conflicts[pos] = 0
        self.ring_pos = pos + 1 if pos + 1 < RING_SIZE else 0
        if self.ring_len < RING_SIZE:
            self.ring_len += 1
        return line

    def redelivery(self) -> str | None:
        """An earlier valid first occurrence, byte for byte; None before the first one."""
        if not self.ring_len:
            return None
        return self.ring[int(self.rng.random() * self.ring_len)]

    def invalid(self, code: str) -> str:
        return self.invalid_makers[code]()

    def _schema_error(self) -> str:
        fields = self._fields()
        if self.rng.random() < 0.5:
            fields.append("EXTRA")  # one field too many
        else:
            del fields[1 + int(self.rng.random() * 4)]  # one field missing (the id stays)
        return ",".join(fields)

    def _null_value_error(self) -> str:
        fields = self._fields()
        index = int(self.rng.random() * len(fields))
        fields[index] = "   " if self.rng.random() < 0.2 else ""  # blank = empty after trim
        return ",".join(fields)

    def _type_error(self) -> str:
        fields = self._fields()
        value = TYPE_ERROR_AMOUNTS[int(self.rng.random() * len(TYPE_ERROR_AMOUNTS))]
        fields[2] = _csv_field(value)
        return ",".join(fields)

    def _currency_error(self) -> str:
        fields = self._fields()
        fields[3] = CURRENCY_ERROR_CODES[int(self.rng.random() * len(CURRENCY_ERROR_CODES))]
        return ",".join(fields)

    def _timestamp_error(self) -> str:
        fields = self._fields()
        choices = (
            f"{self.year}-02-30 10:00:00",
            "not a date",
            f"{self.year}-13-01T00:00:00Z",
            f"31/01/{self.year}",
            FAR_FUTURE_TIMESTAMP,
            f"{self.year}-04-31T08:15:00+02:00",
            f"{self.year}-01-05T25:00:00Z",
        )
        fields[4] = choices[int(self.rng.random() * len(choices))]
        return ",".join(fields)

    def _duplicate_conflict(self) -> str:
        """An earlier valid first occurrence's id and content with a different amount."""
        slot = int(self.rng.random() * self.ring_len)
        fields = self.ring[slot].split(",")  # valid lines hold no quoted fields
        version = self.ring_conflicts[slot]
        self.ring_conflicts[slot] = version + 1
        # Each later version of the same id differs from the first and from each other.
        delta = version * 5000 + 1 + int(self.rng.random() * 5000)
        if fields[3].strip().upper() == "JPY":
            delta *= 100
        fields[2] = _format_cents(int(fields[2].replace(".", "")) + delta)
        return ",".join(fields)


def iter_records(config: Config) -> Iterator[tuple[str, str]]:
    """Yield (line without line break, kind) for each data record, kind being VALID, DUPLICATE
    or the validation code the record must be quarantined with."""
    validate_config(config)
    gen = _Generator(config)
    rnd = gen.rng.random
    error_rate = config.error_rate
    redelivery_limit = error_rate + config.duplicate_rate
    codes = VALIDATION_CODES
    for _ in range(config.rows):
        draw = rnd()
        if draw >= redelivery_limit:
            yield gen.valid(), VALID
        elif draw >= error_rate:
            line = gen.redelivery()
            yield (line, DUPLICATE) if line is not None else (gen.valid(), VALID)
        else:
            code = codes[int(draw / error_rate * len(codes))]
            if code == DUPLICATE_CONFLICT and not gen.ring_len:
                code = SCHEMA_ERROR  # nothing to conflict with yet
            yield gen.invalid(code), code


def write_transactions(
    config: Config, out: BinaryIO, progress: Callable[[int], None] | None = None
) -> Truth:
    """Write the header and config.rows records to `out` (binary); return the expected counts.
    ``progress`` is called with the number of records of each batch written."""
    valid_count = duplicate_count = 0
    by_reason: dict[str, int] = dict.fromkeys(VALIDATION_CODES, 0)
    out.write((HEADER + "\n").encode("utf-8"))
    batch: list[str] = []
    append = batch.append
    for line, kind in iter_records(config):
        append(line)
        if kind == VALID:
            valid_count += 1
        elif kind == DUPLICATE:
            duplicate_count += 1
        else:
            by_reason[kind] += 1
        if len(batch) >= BATCH_LINES:
            written = len(batch)
            _flush(batch, out)
            if progress is not None:
                progress(written)
    written = len(batch)
    _flush(batch, out)
    if progress is not None and written:
        progress(written)
    return Truth(
        rows=config.rows,
        valid_rows=valid_count,
        duplicate_rows=duplicate_count,
        quarantined_rows=sum(by_reason.values()),
        quarantine_by_reason={code: n for code, n in by_reason.items() if n},
    )


def _flush(batch: list[str], out: BinaryIO) -> None:
    if batch:
        batch.append("")  # trailing line break
        out.write("\n".join(batch).encode("utf-8"))
        batch.clear()


# -- command line ---------------------------------------------------------------------------


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgumentError(message)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


PROG = "generate_transactions.py"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Generate a deterministic transactions CSV with known invalid records.",
    )
    parser.add_argument("--rows", type=int, required=True, help="data records to write")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--start",
        type=_date,
        default=date(2024, 1, 1),
        help="window start (00:00 UTC), YYYY-MM-DD (default 2024-01-01)",
    )
    parser.add_argument("--months", type=int, default=3, help="window length in months (default 3)")
    parser.add_argument(
        "--accounts",
        type=int,
        default=None,
        help="number of accounts (default max(10, rows // 50))",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=DEFAULT_ERROR_RATE,
        help=f"share of invalid records (default {DEFAULT_ERROR_RATE})",
    )
    parser.add_argument(
        "--duplicate-rate",
        type=float,
        default=DEFAULT_DUPLICATE_RATE,
        help=f"share of exact re-deliveries (default {DEFAULT_DUPLICATE_RATE})",
    )
    parser.add_argument(
        "--id-start",
        type=int,
        default=None,
        help="number of the first TransactionID (default: seed * 10**9 + 1, so files of "
        "different seeds never share an id)",
    )
    parser.add_argument("--output", required=True, help="CSV path, or - for stdout")
    parser.add_argument("--truth", default=None, help="optional JSON path for expected counts")
    return parser


def parse_args(argv: Sequence[str] | None, prog: str = PROG) -> tuple[Config, str, str | None]:
    args = build_parser(prog).parse_args(argv)
    config = Config(
        rows=args.rows,
        seed=args.seed,
        start=args.start,
        months=args.months,
        accounts=args.accounts,
        error_rate=args.error_rate,
        duplicate_rate=args.duplicate_rate,
        id_start=args.id_start,
    )
    try:
        validate_config(config)
    except ValueError as exc:
        raise _ArgumentError(str(exc)) from None
    return config, args.output, args.truth


def _temp_beside(path: str) -> tuple[BinaryIO, str]:
    """An open temp file in the target's directory (so the final rename is atomic)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    umask = os.umask(0o022)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # the permissions a plain open() would give, not mkstemp's 0600
    return os.fdopen(fd, "wb"), temp_path


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def run(
    config: Config,
    output: str,
    truth_path: str | None,
    progress: Callable[[int], None] | None = None,
) -> Truth:
    """Write the CSV (and the truth JSON) to temp files renamed into place only on success, so
    a failure never leaves a partial file behind."""
    temps: dict[str, str] = {}  # final path -> temp path
    try:
        if output == "-":
            truth = write_transactions(config, sys.stdout.buffer, progress)
            sys.stdout.buffer.flush()
        else:
            out, temps[output] = _temp_beside(output)
            with out:
                truth = write_transactions(config, out, progress)
        if truth_path is not None:
            out, temps[truth_path] = _temp_beside(truth_path)
            with out:
                out.write((json.dumps(truth.to_dict(), indent=2) + "\n").encode("utf-8"))
        for final, temp in temps.items():
            os.replace(temp, final)
        return truth
    except BaseException:
        for temp in temps.values():
            _remove_quietly(temp)
        raise


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    try:
        config, output, truth_path = parse_args(argv, prog)
    except _ArgumentError as exc:
        print(build_parser(prog).format_usage().rstrip(), file=sys.stderr)
        print(f"generate_transactions.py: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if config.end > date.today():  # only a warning: the output never depends on the clock
        print(
            "generate_transactions.py: warning: the window ends after today; records later than "
            "the landing time fail with TIMESTAMP_ERROR, so the truth would not hold",
            file=sys.stderr,
        )
    started = time.monotonic()
    progress = Progress("generating", config.rows, unit="rows", minimum=PROGRESS_MIN_ROWS)
    try:
        run(config, output, truth_path, progress.advance)
    except BrokenPipeError:  # e.g. piped into `head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        target = exc.filename or output
        print(
            f"generate_transactions.py: error: cannot write {target}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    finally:
        progress.finish()
    written = f"{output} ({size_text(os.path.getsize(output))})" if output != "-" else "stdout"
    print(
        f"generate_transactions.py: wrote {config.rows:,} rows to {written}"
        f" in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
