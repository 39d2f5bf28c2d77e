"""Tests of lakehouse.generate (scripts/generate_transactions.py): format, determinism, known
outcome, streaming.

The expected class of every record is re-derived here from the spec's rules, independently of
the generator, and compared with what the generator claims (per record and in the truth JSON).
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import tracemalloc
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse import generate as gen

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_transactions.py"
SEED_CSV = ROOT / "seeds" / "iso_4217_currencies.csv"
HEADER = ["TransactionID", "CustomerID", "TransactionAmount", "Currency", "TransactionTimestamp"]
CODES = [
    "SCHEMA_ERROR",
    "NULL_VALUE_ERROR",
    "TYPE_ERROR",
    "CURRENCY_ERROR",
    "TIMESTAMP_ERROR",
    "DUPLICATE_CONFLICT",
]

AMOUNT = re.compile(r"[+-]?[0-9]+(\.[0-9]{1,2})?")
TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
STYLES = {
    "Z": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
    "offset": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"),
    "space": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"),
    "T": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"),
    "fraction": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
}
LANDED_AT = datetime.now(UTC)
MAX_AMOUNT = Decimal("10000000000000000")  # DECIMAL(18,2): at most 16 integer digits


# -- an independent reading of the spec -------------------------------------------------------


def load_allowlist() -> set[str]:
    with SEED_CSV.open(newline="", encoding="utf-8") as handle:
        return {row["currency_code"] for row in csv.DictReader(handle)}


ALLOWLIST = load_allowlist()


def parse_timestamp(text: str) -> datetime | None:
    match = TIMESTAMP.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    fraction, zone = match.group(7), match.group(8)
    if fraction:
        local += timedelta(microseconds=int((fraction[1:] + "000000")[:6]))
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        local -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return local


def row_errors(fields: list[str]) -> list[str]:
    """Every row-level code a parsed record fails (duplicate rules need history: see below)."""
    if len(fields) != 5:
        return ["SCHEMA_ERROR"]
    tid, account, amount, currency, timestamp = (f.strip(" \t") for f in fields)
    errors = []
    if "" in (tid, account, amount, currency, timestamp):
        errors.append("NULL_VALUE_ERROR")
    if amount and (not AMOUNT.fullmatch(amount) or abs(Decimal(amount)) >= MAX_AMOUNT):
        errors.append("TYPE_ERROR")
    if currency and currency.upper() not in ALLOWLIST:
        errors.append("CURRENCY_ERROR")
    if timestamp:
        instant = parse_timestamp(timestamp)
        if instant is None or instant > LANDED_AT:
            errors.append("TIMESTAMP_ERROR")
    return errors


def content(fields: list[str]) -> tuple[object, ...]:
    account, amount, currency, timestamp = (f.strip(" \t") for f in fields[1:])
    return account, Decimal(amount), currency.upper(), parse_timestamp(timestamp)


def classify(records: Iterable[list[str]]) -> list[str]:
    """Class of every record: VALID, DUPLICATE or its one validation code."""
    accepted: dict[str, tuple[list[str], tuple[object, ...]]] = {}
    classes = []
    for fields in records:
        errors = row_errors(fields)
        assert len(errors) <= 1, f"record with more than one problem: {fields} {errors}"
        if errors:
            classes.append(errors[0])
            continue
        tid = fields[0].strip(" \t")
        if tid not in accepted:
            accepted[tid] = (fields, content(fields))
            classes.append("VALID")
        elif accepted[tid][1] == content(fields):
            assert fields == accepted[tid][0], "re-deliveries must be byte for byte"
            classes.append("DUPLICATE")
        else:
            classes.append("DUPLICATE_CONFLICT")
    return classes


# -- helpers ------------------------------------------------------------------------------


def generate(rows: int, seed: int = 7, **options: object) -> tuple[bytes, gen.Truth]:
    buffer = io.BytesIO()
    truth = gen.write_transactions(gen.Config(rows=rows, seed=seed, **options), buffer)
    return buffer.getvalue(), truth


def parse(data: bytes) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader)
    return header, list(reader)


def run_cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, check=False, timeout=120
    )


@pytest.fixture(scope="module")
def sample() -> tuple[bytes, gen.Truth]:
    return generate(60_000, seed=11)


@pytest.fixture(scope="module")
def classified(sample: tuple[bytes, gen.Truth]) -> list[tuple[list[str], str]]:
    """(fields, class) of every record of the sample."""
    _, records = parse(sample[0])
    return list(zip(records, classify(records), strict=True))


@pytest.fixture(scope="module")
def valid(classified: list[tuple[list[str], str]]) -> list[list[str]]:
    return [fields for fields, cls in classified if cls == "VALID"]


# -- format -----------------------------------------------------------------------------


def test_header_row_count_and_line_endings(sample: tuple[bytes, gen.Truth]) -> None:
    data, truth = sample
    header, records = parse(data)
    assert header == HEADER
    assert len(records) == truth.rows == 60_000
    assert data.endswith(b"\n")
    assert b"\r" not in data
    assert data.count(b"\n") == 60_001  # no field spans lines: one record per line


def test_quotes_only_where_needed(sample: tuple[bytes, gen.Truth]) -> None:
    data, _ = sample
    for line in data.decode("utf-8").splitlines():
        for field in re.findall(r'"((?:[^"]|"")*)"', line):
            assert "," in field or '"' in field, line


def test_valid_records_look_like_a_bank_file(valid: list[list[str]]) -> None:
    ids = [r[0].strip() for r in valid]
    assert all(re.fullmatch(r"T-\d{12}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"ACC\d{6}", r[1].strip()) for r in valid)
    amounts = [Decimal(r[2]) for r in valid]
    assert all(re.fullmatch(r"-?\d+\.\d\d", r[2].strip()) for r in valid)
    assert 0.3 < sum(a < 0 for a in amounts) / len(amounts) < 0.8
    assert min(abs(a) for a in amounts) < 10 and max(abs(a) for a in amounts) > 5000
    currencies = Counter(r[3].strip().upper() for r in valid)
    ranked = [code for code, _ in currencies.most_common()]
    assert ranked[:3] == ["EUR", "USD", "GBP"]
    assert {"CHF", "JPY", "SEK", "PLN"} <= set(currencies)
    assert all(r[2].strip().endswith(".00") for r in valid if r[3].strip().upper() == "JPY")


def test_accounts_have_several_transactions_per_month(valid: list[list[str]]) -> None:
    accounts = {r[1].strip() for r in valid}
    assert len(accounts) == 60_000 // 50
    per_account_month = Counter(
        (r[1].strip(), parse_timestamp(r[4].strip()).strftime("%Y-%m")) for r in valid
    )
    assert len(per_account_month) / (len(accounts) * 3) > 0.95  # nearly every account-month
    assert sum(per_account_month.values()) / len(per_account_month) > 5


def test_home_currency_dominates_per_account(valid: list[list[str]]) -> None:
    by_account: dict[str, Counter[str]] = {}
    for r in valid:
        by_account.setdefault(r[1].strip(), Counter())[r[3].strip().upper()] += 1
    home_share = [c.most_common(1)[0][1] / c.total() for c in by_account.values()]
    assert sum(home_share) / len(home_share) > 0.9
    assert any(len(c) > 1 for c in by_account.values())


def test_timestamps_mixed_and_inside_the_window(valid: list[list[str]]) -> None:
    styles = Counter(
        next(name for name, p in STYLES.items() if p.fullmatch(r[4].strip())) for r in valid
    )
    for name in STYLES:
        assert styles[name] / len(valid) > 0.05, styles
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)
    instants = [parse_timestamp(r[4].strip()) for r in valid]
    assert all(start <= t < end for t in instants)
    # Offsets put local dates outside the window while the UTC instant stays inside it.
    assert min(instants) < start + timedelta(days=1) and max(instants) > end - timedelta(days=1)


def test_window_edges_with_offsets() -> None:
    data, _ = generate(20_000, seed=5, start=date(2024, 2, 1), months=1, error_rate=0)
    _, records = parse(data)
    start, end = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    instants = [parse_timestamp(r[4].strip()) for r in records]
    assert all(start <= t < end for t in instants)
    local_dates = {r[4].strip()[:10] for r in records}
    assert "2024-01-31" in local_dates or "2024-03-01" in local_dates


def test_whitespace_and_lower_case_on_some_valid_rows(valid: list[list[str]]) -> None:
    padded = sum(any(f != f.strip() for f in r) for r in valid)
    lower = sum(r[3].strip().islower() for r in valid)
    assert 0.002 < padded / len(valid) < 0.05
    assert 0.001 < lower / len(valid) < 0.02


# -- expected outcome -------------------------------------------------------------------


def test_every_record_has_the_class_the_generator_claims() -> None:
    config = gen.Config(rows=30_000, seed=3, error_rate=0.3, duplicate_rate=0.05)
    lines, kinds = zip(*gen.iter_records(config), strict=True)
    records = list(csv.reader(io.StringIO("\n".join(lines) + "\n", newline="")))
    assert len(records) == len(kinds)
    assert classify(records) == list(kinds)


def test_truth_matches_an_independent_recount(
    sample: tuple[bytes, gen.Truth], classified: list[tuple[list[str], str]]
) -> None:
    _, truth = sample
    counts = Counter(cls for _, cls in classified)
    assert truth.valid_rows == counts["VALID"]
    assert truth.duplicate_rows == counts["DUPLICATE"]
    assert truth.quarantine_by_reason == {c: counts[c] for c in CODES if counts[c]}
    assert truth.quarantined_rows == sum(counts[c] for c in CODES)
    assert truth.rows == truth.valid_rows + truth.duplicate_rows + truth.quarantined_rows


def test_redeliveries_repeat_an_earlier_valid_line(
    sample: tuple[bytes, gen.Truth], classified: list[tuple[list[str], str]]
) -> None:
    data, truth = sample
    lines = data.decode("utf-8").splitlines()[1:]
    seen_valid: set[str] = set()
    repeats = 0
    for line, (_, cls) in zip(lines, classified, strict=True):
        if cls == "VALID":
            seen_valid.add(line)
        elif line in seen_valid:
            repeats += 1
    assert repeats == truth.duplicate_rows
    assert 0.003 < truth.duplicate_rows / truth.rows < 0.007  # default 0.5 %


def test_every_code_at_a_reasonable_rate(sample: tuple[bytes, gen.Truth]) -> None:
    _, truth = sample
    assert 0.015 < truth.quarantined_rows / truth.rows < 0.025  # default 2 %
    expected = truth.rows * 0.02 / len(CODES)
    for code in CODES:
        assert 0.6 * expected < truth.quarantine_by_reason[code] < 1.4 * expected, code


def test_invalid_variants_are_all_used() -> None:
    data, _ = generate(40_000, seed=9, error_rate=0.5)
    _, records = parse(data)
    classes = classify(records)
    by_code: dict[str, set[str]] = {}
    for fields, cls in zip(records, classes, strict=True):
        if cls == "SCHEMA_ERROR":
            by_code.setdefault(cls, set()).add(f"{len(fields)} fields")
        elif cls == "NULL_VALUE_ERROR":
            empty = next(i for i, f in enumerate(fields) if not f.strip())
            by_code.setdefault(cls, set()).add(HEADER[empty])
        elif cls == "TYPE_ERROR":
            by_code.setdefault(cls, set()).add(fields[2])
        elif cls == "CURRENCY_ERROR":
            by_code.setdefault(cls, set()).add(fields[3])
        elif cls == "TIMESTAMP_ERROR":
            by_code.setdefault(cls, set()).add(fields[4])
    assert by_code["SCHEMA_ERROR"] == {"4 fields", "6 fields"}
    assert by_code["NULL_VALUE_ERROR"] == set(HEADER)
    assert {"1,000.00", "1e5", "12.345", "abc", "99999999999999999.00"} <= by_code["TYPE_ERROR"]
    assert {"XXX", "EURO", "ABC", "XAU", "E U"} <= by_code["CURRENCY_ERROR"]
    assert {
        "2024-02-30 10:00:00",
        "not a date",
        "2024-13-01T00:00:00Z",
        "31/01/2024",
        "2999-01-01T00:00:00Z",
    } <= by_code["TIMESTAMP_ERROR"]


def test_invalid_records_have_fresh_ids() -> None:
    data, _ = generate(20_000, seed=4, error_rate=0.4)
    _, records = parse(data)
    classes = classify(records)
    fresh = [
        r[0].strip()
        for r, cls in zip(records, classes, strict=True)
        if cls not in ("DUPLICATE", "DUPLICATE_CONFLICT") and r[0].strip()
    ]
    assert len(fresh) == len(set(fresh))


def test_rates_can_be_switched_off() -> None:
    _, truth = generate(20_000, error_rate=0, duplicate_rate=0)
    assert truth.valid_rows == truth.rows == 20_000
    assert truth.quarantine_by_reason == {}


def test_everything_invalid() -> None:
    _, truth = generate(3_000, error_rate=1.0, duplicate_rate=0)
    assert truth.valid_rows == truth.duplicate_rows == 0
    assert truth.quarantined_rows == 3_000
    # nothing to conflict with: such draws become schema errors
    assert "DUPLICATE_CONFLICT" not in truth.quarantine_by_reason


def test_zero_rows_is_a_header_only_file() -> None:
    data, truth = generate(0)
    assert data == (",".join(HEADER) + "\n").encode()
    assert truth.to_dict()["rows"] == 0


def test_seed_allowlist_is_sorted_and_holds_generated_currencies() -> None:
    with SEED_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    codes = [row["currency_code"] for row in rows]
    assert codes == sorted(set(codes))
    assert {"EUR", "USD", "GBP", "CHF", "JPY", "SEK", "PLN"} <= ALLOWLIST
    assert {"XCG", "ZWG", "SLE", "VES", "VED", "XAF", "XOF", "XPF", "XCD"} <= ALLOWLIST
    assert not {"XXX", "XTS", "XAU", "XAG", "XDR", "ANG", "HRK", "ZWL", "CHE"} & ALLOWLIST
    minor = {row["currency_code"]: row["minor_units"] for row in rows}
    assert (minor["JPY"], minor["KWD"], minor["EUR"]) == ("0", "3", "2")


# -- determinism and ids ----------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    first, _ = generate(5_000, seed=1)
    again, _ = generate(5_000, seed=1)
    other, _ = generate(5_000, seed=2)
    assert first == again
    assert first != other


def test_cli_is_deterministic(tmp_path: Path) -> None:
    outputs = []
    for name in ("a.csv", "b.csv"):
        result = run_cli("--rows", "3000", "--seed", "5", "--output", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    stdout = run_cli("--rows", "3000", "--seed", "5", "--output", "-")
    assert stdout.returncode == 0
    assert stdout.stdout == outputs[0]


def test_ids_of_different_seeds_do_not_collide() -> None:
    ids = []
    for seed in (42, 7):
        data, _ = generate(2_000, seed=seed)
        ids.append({r[0].strip() for r in parse(data)[1] if r and r[0].strip()})
    assert not ids[0] & ids[1]
    data, _ = generate(10, seed=42, id_start=100, error_rate=0, duplicate_rate=0)
    assert parse(data)[1][0][0] == "T-000000000100"


# -- command line -----------------------------------------------------------------------


def test_main_writes_csv_and_truth(tmp_path: Path) -> None:
    out, truth_path = tmp_path / "tx.csv", tmp_path / "truth.json"
    window = ["--start", "2024-01-01", "--months", "3", "--accounts", "25"]
    code = gen.main(
        ["--rows", "4000", "--seed", "3", *window, "--output", str(out), "--truth", str(truth_path)]
    )
    assert code == 0
    truth = json.loads(truth_path.read_text())
    assert set(truth) == {
        "rows",
        "valid_rows",
        "duplicate_rows",
        "quarantined_rows",
        "quarantine_by_reason",
    }
    assert truth["rows"] == 4000
    assert (
        truth["rows"] == truth["valid_rows"] + truth["duplicate_rows"] + truth["quarantined_rows"]
    )
    assert sum(truth["quarantine_by_reason"].values()) == truth["quarantined_rows"]
    _, records = parse(out.read_bytes())
    assert len({r[1].strip() for r in records if len(r) > 1 and r[1].strip()}) == 25
    assert sorted(p.name for p in tmp_path.iterdir()) == ["truth.json", "tx.csv"]  # no temps


@pytest.mark.parametrize(
    "args",
    [
        ["--rows", "-1"],
        ["--rows", "ten"],
        ["--rows", "10", "--months", "0"],
        ["--rows", "10", "--start", "2024-02-30"],
        ["--rows", "10", "--error-rate", "1.5"],
        ["--rows", "10", "--error-rate", "0.8", "--duplicate-rate", "0.5"],
        ["--rows", "10", "--accounts", "0"],
        ["--rows", "10", "--start", "2998-12-01"],
        ["--rows", "10", "--unknown"],
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str], capsys) -> None:
    out = tmp_path / "out.csv"
    assert gen.main([*args, "--output", str(out)]) == 2
    assert "error" in capsys.readouterr().err
    assert not out.exists()


def test_missing_output_exits_2() -> None:
    result = run_cli("--rows", "10")
    assert result.returncode == 2
    assert b"--output" in result.stderr


def test_unwritable_paths_exit_2_without_partial_files(tmp_path: Path, capsys) -> None:
    assert gen.main(["--rows", "10", "--output", str(tmp_path / "missing" / "x.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err
    out = tmp_path / "x.csv"
    bad_truth = tmp_path / "missing" / "truth.json"
    assert gen.main(["--rows", "10", "--output", str(out), "--truth", str(bad_truth)]) == 2
    assert list(tmp_path.iterdir()) == []


# -- streaming --------------------------------------------------------------------------


class _NullSink(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        return len(data)


def test_memory_does_not_grow_with_rows() -> None:
    peaks = []
    for rows in (10_000, 60_000):
        tracemalloc.start()
        gen.write_transactions(gen.Config(rows=rows, seed=1), _NullSink())
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 4 * 1024 * 1024  # 60k lines kept in memory would take more
    assert peaks[1] < peaks[0] * 1.5 + 1024 * 1024
