#!/usr/bin/env python3
"""The benchmark job in pandas, the way a typical Python write-up does it (scripts/bench.py).

One transactions CSV in; processed transactions, the quarantine (validation codes per the spec)
and month-end balances out, as Parquet files in the output directory. Whole file in memory:
read_csv, vectorised checks, drop_duplicates for the first valid version of each id, a merge to
classify the others, groupby + cumsum for the balances. Amounts are handled as integer cents
(columns *_cents) so that sums are exact.

Usage: python scripts/bench_pandas.py --input FILE --currencies SEED_CSV --output-dir DIR

What it skips compared with the dbt project is listed in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HEADER = ("TransactionID", "CustomerID", "TransactionAmount", "Currency", "TransactionTimestamp")
COLUMNS = (
    "transaction_id",
    "customer_id",
    "transaction_amount",
    "currency",
    "transaction_timestamp",
)
ROW_CODES = ("SCHEMA_ERROR", "NULL_VALUE_ERROR", "TYPE_ERROR", "CURRENCY_ERROR", "TIMESTAMP_ERROR")
DUPLICATE_CONFLICT = "DUPLICATE_CONFLICT"
AMOUNT_PATTERN = r"[+-]?0*[0-9]{1,16}(?:\.[0-9]{1,2}0*)?"
TIMESTAMP_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]{1,9})?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
BLANKS = " \t"
CONTENT = ("account_id", "amount_cents", "currency_code", "transaction_ts")


def read_records(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Well-formed records (raw text columns, file order) and the lines with a wrong field count."""
    bad_lines: list[str] = []

    def keep_bad_line(row: object) -> str:
        bad_lines.append(str(getattr(row, "text", "")))
        return "skip"

    frame = pd.read_csv(
        path,
        engine="pyarrow",
        dtype=str,
        keep_default_na=False,
        na_values=[],
        on_bad_lines=keep_bad_line,
    )
    if sorted(frame.columns.str.strip()) != sorted(HEADER):
        raise ValueError(f"{path}: header does not match the contract: {list(frame.columns)}")
    frame.columns = frame.columns.str.strip()
    frame = frame[list(HEADER)]
    frame.columns = list(COLUMNS)
    return frame, bad_lines


def blank_to_na(values: pd.Series) -> pd.Series:
    stripped = values.str.strip(BLANKS)
    return stripped.where(stripped != "")


def parse_values(raw: pd.DataFrame, currencies: set[str]) -> pd.DataFrame:
    """Trimmed and typed values plus one boolean column per row-level validation code."""
    out = pd.DataFrame(index=raw.index)
    out["transaction_id"] = blank_to_na(raw["transaction_id"])
    out["account_id"] = blank_to_na(raw["customer_id"])
    amount_text = blank_to_na(raw["transaction_amount"])
    out["currency_code"] = blank_to_na(raw["currency"]).str.upper()
    timestamp_text = blank_to_na(raw["transaction_timestamp"])

    is_plain = amount_text.str.fullmatch(AMOUNT_PATTERN).fillna(False).astype(bool)
    amount = pd.to_numeric(amount_text.where(is_plain), errors="coerce")
    out["amount_cents"] = (amount * 100).round().astype("Int64")
    is_shaped = timestamp_text.str.fullmatch(TIMESTAMP_PATTERN).fillna(False).astype(bool)
    parsed = pd.to_datetime(
        timestamp_text.where(is_shaped), format="ISO8601", utc=True, errors="coerce"
    )
    out["transaction_ts"] = parsed.dt.tz_convert(None)

    out["SCHEMA_ERROR"] = False
    out["NULL_VALUE_ERROR"] = (
        out["transaction_id"].isna()
        | out["account_id"].isna()
        | amount_text.isna()
        | out["currency_code"].isna()
        | timestamp_text.isna()
    )
    out["TYPE_ERROR"] = amount_text.notna() & ~is_plain
    out["CURRENCY_ERROR"] = out["currency_code"].notna() & ~out["currency_code"].isin(currencies)
    now = pd.Timestamp.now(tz="UTC").tz_convert(None)
    out["TIMESTAMP_ERROR"] = timestamp_text.notna() & (
        out["transaction_ts"].isna() | (out["transaction_ts"] > now)
    )
    return out


def join_codes(flags: pd.DataFrame, codes: tuple[str, ...]) -> pd.Series:
    """'CODE_A,CODE_B' per row from boolean columns, None where no code is set."""
    joined = pd.Series("", index=flags.index, dtype=object)
    for code in codes:
        joined = joined + np.where(flags[code], code + ",", "")
    joined = joined.str.rstrip(",")
    return joined.where(joined != "", None)


def classify(raw: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """record_status (accepted / duplicate / quarantined) and validation_error for every record:
    the first valid version of an id wins, a later identical one is a duplicate, any other later
    record with that id fails DUPLICATE_CONFLICT."""
    frame = pd.concat([raw.add_suffix("_raw"), values], axis=1)
    frame["record_index"] = np.arange(len(frame), dtype=np.int64)
    any_error = frame[list(ROW_CODES)].any(axis=1)
    frame["row_error"] = None
    frame.loc[any_error, "row_error"] = join_codes(frame.loc[any_error], ROW_CODES)

    winners = frame.loc[~any_error, ["transaction_id", *CONTENT, "record_index"]]
    winners = winners.drop_duplicates(subset="transaction_id", keep="first")
    merged = frame.merge(winners, on="transaction_id", how="left", suffixes=("", "_winner"))
    same_content = np.logical_and.reduce(
        [(merged[column] == merged[f"{column}_winner"]).fillna(False) for column in CONTENT]
    )
    is_winner = (merged["record_index"] == merged["record_index_winner"]).fillna(False)
    follows = (merged["record_index"] > merged["record_index_winner"]).fillna(False)
    valid = merged["row_error"].isna()

    merged["record_status"] = np.select(
        [valid & is_winner, valid & same_content], ["accepted", "duplicate"], "quarantined"
    )
    conflict = follows & ~(valid & same_content)
    merged["validation_error"] = merged["row_error"]
    with_row_error = conflict & ~valid
    merged.loc[with_row_error, "validation_error"] = (
        merged.loc[with_row_error, "row_error"] + "," + DUPLICATE_CONFLICT
    )
    merged.loc[conflict & valid, "validation_error"] = DUPLICATE_CONFLICT
    return merged


def processed_transactions(classified: pd.DataFrame) -> pd.DataFrame:
    accepted = classified.loc[classified["record_status"] == "accepted"]
    return pd.DataFrame(
        {
            "transaction_id": accepted["transaction_id"],
            "account_id": accepted["account_id"],
            "amount_cents": accepted["amount_cents"].astype(np.int64),
            "currency": accepted["currency_code"],
            "transaction_ts": accepted["transaction_ts"],
            "record_index": accepted["record_index"],
        }
    ).reset_index(drop=True)


def quarantine(classified: pd.DataFrame, bad_lines: list[str]) -> pd.DataFrame:
    rejected = classified.loc[classified["record_status"] == "quarantined"]
    parsed = pd.DataFrame(
        {
            **{column: rejected[f"{column}_raw"] for column in COLUMNS},
            "record_text": None,
            "validation_error": rejected["validation_error"],
        }
    )
    unparsed = pd.DataFrame(
        {
            **{column: [None] * len(bad_lines) for column in COLUMNS},
            "record_text": bad_lines,
            "validation_error": "SCHEMA_ERROR",
        }
    )
    return pd.concat([parsed, unparsed], ignore_index=True)


def month_end_balances(processed: pd.DataFrame) -> pd.DataFrame:
    """Account x currency x month spine from the first to the last month in the data; balance is
    NULL in a month without transactions, closing_balance NULL before the first one."""
    months = processed["transaction_ts"].dt.to_period("M")
    sums = processed.groupby(["account_id", "currency", months])["amount_cents"].agg(
        net_cents="sum", tx_count="size"
    )
    sums.index = sums.index.set_names(["account_id", "currency", "month"])
    window = pd.period_range(months.min(), months.max(), freq="M")
    pairs = sums.index.droplevel("month").unique().sort_values()
    spine = pd.MultiIndex.from_arrays(
        [
            np.repeat(pairs.get_level_values(0), len(window)),
            np.repeat(pairs.get_level_values(1), len(window)),
            np.tile(window, len(pairs)),
        ],
        names=["account_id", "currency", "month"],
    )
    full = sums.reindex(spine, fill_value=0)
    by_account = full.groupby(level=["account_id", "currency"], sort=False)
    running = by_account["net_cents"].cumsum()
    running_count = by_account["tx_count"].cumsum()
    result = full.reset_index()
    result["balance_cents"] = running.where(full["tx_count"] > 0).astype("Int64").to_numpy()
    result["closing_balance_cents"] = running.where(running_count > 0).astype("Int64").to_numpy()
    result["month_end"] = result["month"].dt.end_time.dt.normalize()
    result["month"] = result["month"].dt.strftime("%Y-%m")
    return result[
        [
            "account_id",
            "currency",
            "month",
            "month_end",
            "balance_cents",
            "closing_balance_cents",
            "tx_count",
        ]
    ]


def load_currencies(path: Path) -> set[str]:
    codes = pd.read_csv(path, dtype=str, keep_default_na=False)["currency_code"]
    return set(codes.str.strip().str.upper())


def run(input_path: Path, currencies_path: Path, output_dir: Path) -> dict[str, int]:
    raw, bad_lines = read_records(input_path)
    values = parse_values(raw, load_currencies(currencies_path))
    classified = classify(raw, values)
    del raw, values
    processed = processed_transactions(classified)
    rejected = quarantine(classified, bad_lines)
    del classified
    balances = month_end_balances(processed)
    output_dir.mkdir(parents=True, exist_ok=True)
    processed.to_parquet(output_dir / "processed_transactions.parquet", index=False)
    rejected.to_parquet(output_dir / "quarantine_transactions.parquet", index=False)
    balances.to_parquet(output_dir / "month_end_balances.parquet", index=False)
    return {"processed": len(processed), "quarantined": len(rejected), "balances": len(balances)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="transactions CSV")
    parser.add_argument("--currencies", type=Path, required=True, help="ISO-4217 allowlist CSV")
    parser.add_argument("--output-dir", type=Path, required=True, help="directory for Parquet")
    args = parser.parse_args(argv)
    counts = run(args.input, args.currencies, args.output_dir)
    print(" ".join(f"{name}={count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
