"""The hostile corpus (tests/fixtures/hostile/): every file lands, one `dbt build` succeeds, and
every record ends exactly as tests/fixtures/hostile/expected.json (derived by hand from the spec
and docs/decisions.md) says.

One lake and one build for the whole module: the corpus is landed in file-name order (the order
expected.json's duplicate rules assume), with a directory among the inputs that the loader must
refuse while it lands the rest.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dbt_harness import FIXTURES, LOADER, Lake

CORPUS = FIXTURES / "hostile"
EXPECTED: dict[str, list[dict[str, Any]]] = json.loads(
    (CORPUS / "expected.json").read_text(encoding="utf-8")
)
FILES = sorted(EXPECTED)
STATUS = {"accepted": "processed", "quarantined": "quarantined", "duplicate": "duplicate"}

# Where the pipeline disagrees with the spec / README today: (test, file) -> the bug.
KNOWN_BUGS: dict[str, dict[str, str]] = {
    "reconciliation": {},
    "outcomes": {},
    "good_rows": {},
    "record_text": {},
}


def corpus_params(check: str) -> list[Any]:
    """One param per corpus file, marked xfail(strict) where KNOWN_BUGS lists a bug."""
    bugs = KNOWN_BUGS[check]
    return [
        pytest.param(
            name,
            marks=pytest.mark.xfail(strict=True, reason=bugs[name]) if name in bugs else (),
            id=name,
        )
        for name in FILES
    ]


@dataclass(frozen=True)
class LandedCorpus:
    lake: Lake
    loader: subprocess.CompletedProcess[str]
    not_a_file: Path
    run_ids: dict[str, str]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> LandedCorpus:
    lake = Lake(tmp_path_factory.mktemp("hostile") / "lake")
    not_a_file = tmp_path_factory.mktemp("inputs") / "not_a_file.csv"
    not_a_file.mkdir()
    inputs = [CORPUS / name for name in FILES]
    inputs.insert(len(inputs) // 2, not_a_file)
    loader = subprocess.run(
        [sys.executable, str(LOADER), "--lake-root", str(lake.root), *map(str, inputs)],
        capture_output=True,
        text=True,
        env=lake.env(),
        check=False,
    )
    lake.build()  # asserts that the build succeeds
    run_ids = dict(lake.query("select file_name, run_id from main_raw.transaction_manifests"))
    return LandedCorpus(lake, loader, not_a_file, run_ids)


def load_make_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_committed_corpus_is_what_the_script_writes() -> None:
    make_corpus = load_make_corpus()
    on_disk = {path.name: path.read_bytes() for path in CORPUS.glob("*.csv")}
    files = make_corpus.FILES.items()
    assert on_disk == {name: b"".join(chunk.data for chunk in chunks) for name, chunks in files}
    derived = {name: make_corpus.expected_records(chunks) for name, chunks in files}
    assert derived == EXPECTED
    assert (CORPUS / ".gitattributes").read_text().split() == ["*", "-text"]


def test_loader_lands_every_file_and_refuses_only_the_directory(corpus: LandedCorpus) -> None:
    assert corpus.loader.returncode == 1
    results = [json.loads(line) for line in corpus.loader.stdout.splitlines()]
    refused = [r for r in results if r["status"] == "error"]
    assert len(refused) == 1
    assert refused[0]["source"] == str(corpus.not_a_file)
    assert "directory" in refused[0]["message"]
    assert f"{corpus.not_a_file}: is a directory" in corpus.loader.stderr
    landed = [r for r in results if r["status"] == "landed"]
    assert [Path(r["path"]).name for r in landed] == FILES
    assert not list((corpus.lake.root / "raw" / "transactions").rglob("not_a_file*"))
    # landing order is file-name order: the order expected.json's duplicate rules assume
    assert sorted(corpus.run_ids) == FILES
    assert sorted(FILES, key=corpus.run_ids.__getitem__) == FILES


def counts(lake: Lake, relation: str, run_id: str, where: str = "true") -> int:
    sql = f"select count(*) from {relation} where run_id = '{run_id}' and {where}"
    return lake.query(sql)[0][0]


@pytest.mark.parametrize("name", corpus_params("reconciliation"))
def test_reconciliation(corpus: LandedCorpus, name: str) -> None:
    lake, run_id = corpus.lake, corpus.run_ids[name]
    records_in = counts(lake, "main_intermediate.int_transactions__classified", run_id)
    processed = counts(lake, "main_marts.fct_transactions", run_id)
    quarantined = counts(lake, "main_marts.fct_quarantined_records", run_id)
    duplicates = counts(
        lake,
        "main_intermediate.int_transactions__classified",
        run_id,
        "record_status = 'duplicate'",
    )
    assert records_in == processed + quarantined + duplicates
    assert records_in == counts(lake, "main_staging.stg_landing__transactions", run_id)
    assert records_in == len(EXPECTED[name])


@pytest.mark.parametrize("name", corpus_params("outcomes"))
def test_every_record_has_its_expected_outcome(corpus: LandedCorpus, name: str) -> None:
    lake, run_id = corpus.lake, corpus.run_ids[name]
    classified = lake.query(
        "select line_number, record_status, validation_error"
        " from main_intermediate.int_transactions__classified"
        f" where run_id = '{run_id}' order by line_number"
    )
    actual = [(line, STATUS[status], error) for line, status, error in classified]
    expected = [(r["line_number"], r["status"], r["validation_error"]) for r in EXPECTED[name]]
    assert actual == expected

    quarantine = lake.query(
        "select line_number, validation_error from main_marts.fct_quarantined_records"
        f" where run_id = '{run_id}' order by line_number"
    )
    assert quarantine == [
        (line, error) for line, status, error in expected if status == "quarantined"
    ]


@pytest.mark.parametrize("name", corpus_params("good_rows"))
def test_every_good_row_is_processed_with_its_values(corpus: LandedCorpus, name: str) -> None:
    lake, run_id = corpus.lake, corpus.run_ids[name]
    rows = lake.query(
        "select line_number, transaction_id, account_id, amount, currency, transaction_ts,"
        f" source_file from main_marts.fct_transactions where run_id = '{run_id}'"
    )
    processed = {
        row[0]: {
            "transaction_id": row[1],
            "account_id": row[2],
            "amount": str(row[3]),
            "currency": row[4],
            "transaction_ts": str(row[5]),
            "source_file": row[6],
        }
        for row in rows
    }
    good = [r for r in EXPECTED[name] if r["status"] == "processed"]
    assert sorted(processed) == [r["line_number"] for r in good]
    for record in good:
        actual = processed[record["line_number"]]
        assert actual["source_file"] == name
        for column, value in record.get("values", {}).items():
            assert actual[column] == value, (record["line_number"], column)
        if "amount" in record.get("values", {}):
            assert Decimal(actual["amount"]) == Decimal(record["values"]["amount"])


@pytest.mark.parametrize("name", corpus_params("record_text"))
def test_quarantined_text_is_kept(corpus: LandedCorpus, name: str) -> None:
    pinned = {r["line_number"]: r["record_text"] for r in EXPECTED[name] if "record_text" in r}
    if not pinned:
        return
    rows = corpus.lake.query(
        "select line_number, record_text from main_marts.fct_quarantined_records"
        f" where run_id = '{corpus.run_ids[name]}'"
    )
    texts = dict(rows)
    assert {line: texts.get(line) for line in pinned} == pinned


def test_month_of_offset_timestamps_is_the_utc_month(corpus: LandedCorpus) -> None:
    """TS-1 (+01:00, 00:30 on Feb 1) books in January; TS-2 (-01:00, 23:30 Jan 31) in February."""
    months = corpus.lake.query(
        "select transaction_id, strftime(transaction_ts, '%Y-%m') from main_marts.fct_transactions"
        " where transaction_id in ('TS-1', 'TS-2', 'TS-3', 'TS-4', 'TS-5', 'TS-6') order by 1"
    )
    assert months == [
        ("TS-1", "2024-01"),
        ("TS-2", "2024-02"),
        ("TS-3", "2024-03"),
        ("TS-4", "2024-02"),
        ("TS-5", "2023-12"),
        ("TS-6", "2024-01"),
    ]
    per_month = corpus.lake.query(
        "select month, tx_count from main_marts.fct_month_end_balances"
        " where account_id = 'ACC-T' and currency = 'EUR' and tx_count > 0 order by month"
    )
    # TS-1..TS-10 are processed: 2023-12 TS-5; 2024-01 TS-1, 6, 7, 8, 10; 2024-02 TS-2, 4, 9;
    # 2024-03 TS-3
    assert per_month == [("2023-12", 1), ("2024-01", 5), ("2024-02", 3), ("2024-03", 1)]


def test_balance_window_is_the_accepted_business_time(corpus: LandedCorpus) -> None:
    """a33's rows at the floor (1970-01-01 00:00:00 UTC) are the corpus's earliest accepted ones:
    the default window starts at their month, every account has one row per month of it, and
    nothing before the floor (year 0 or 1) reaches the balances."""
    first, last, months, rows, accounts = corpus.lake.query(
        "select min(month), max(month), count(distinct month), count(*),"
        " count(distinct account_id || '|' || currency) from main_marts.fct_month_end_balances"
    )[0]
    latest = "select strftime(max(transaction_ts), '%Y-%m') from main_marts.fct_transactions"
    assert first == "1970-01"
    assert last == corpus.lake.query(latest)[0][0]
    assert months == (int(last[:4]) - 1970) * 12 + int(last[5:])
    assert rows == months * accounts
    at_floor = corpus.lake.query(
        "select month, balance, tx_count from main_marts.fct_month_end_balances"
        " where account_id = 'ACC-BT' and tx_count > 0"
    )
    assert at_floor == [("1970-01", Decimal("6.00"), 6)]


DETAILS = {
    ("a06_missing_column.csv", 2): "header lacks Currency",
    ("a13_unterminated_quote.csv", 3): "line is not well-formed CSV (a stray or unclosed quote)",
    ("a15_field_counts.csv", 2): "6 fields, expected 5",
    ("a15_field_counts.csv", 5): "1 field, expected 5",
    ("a22_whitespace.csv", 11): "CustomerID is empty, Currency is empty",
    ("a23_currencies.csv", 7): "Currency XAU is not in the allowlist",
    ("a24_amounts.csv", 7): "TransactionAmount has 3 decimals, at most 2 allowed",
    ("a24_amounts.csv", 2): "TransactionAmount is not a number (plain decimal expected)",
    ("a25_timestamps.csv", 36): "TransactionTimestamp later than landing",
    ("a34_business_time_range.csv", 8): "TransactionTimestamp before 1970-01-01",
    ("a24_amounts.csv", 38): (
        "TransactionAmount is empty, TransactionTimestamp is empty;"
        " Currency ZZZ is not in the allowlist"
    ),
}


def test_quarantine_detail_explains_every_code(corpus: LandedCorpus) -> None:
    """validation_detail: one '; '-separated part per code, in its order; plain words."""
    names = {run_id: name for name, run_id in corpus.run_ids.items()}
    rows = corpus.lake.query(
        "select run_id, line_number, validation_error, validation_detail"
        " from main_marts.fct_quarantined_records"
    )
    assert rows
    details = {}
    for run_id, line, error, detail in rows:
        assert len(detail.split("; ")) == len(error.split(",")), (error, detail)
        details[(names[run_id], line)] = detail
    for key, expected in DETAILS.items():
        assert details[key] == expected, key
    conflict = details[("b03_duplicates_across_again.csv", 2)]
    assert conflict.startswith("duplicate of run ") and conflict.endswith(" with other content")
