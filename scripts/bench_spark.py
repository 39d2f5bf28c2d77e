#!/usr/bin/env python3
"""The benchmark job in PySpark, local mode (scripts/bench.py).

One transactions CSV in; processed transactions, the quarantine (validation codes per the spec)
and month-end balances out, as Parquet directories in the output directory. DataFrame API only:
the CSV reader with a corrupt-record column for lines with a wrong field count, column
expressions for the checks, min_by for the first valid version of each id, a window for the
running balances.

Usage: python scripts/bench_spark.py --input FILE --currencies SEED_CSV --output-dir DIR

What it skips compared with the dbt project is listed in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

COLUMNS = (
    "transaction_id",
    "customer_id",
    "transaction_amount",
    "currency",
    "transaction_timestamp",
)
CORRUPT = "_corrupt_record"
AMOUNT_PATTERN = r"^[+-]?0*[0-9]{1,16}(\.[0-9]{1,2}0*)?$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
CONTENT = ("account_id", "amount", "currency_code", "transaction_ts")
DRIVER_MEMORY = os.environ.get("BENCH_SPARK_DRIVER_MEMORY", "8g")
METRICS_FILE = "_metrics.json"
SHUFFLE_PARTITIONS = os.environ.get("BENCH_SPARK_SHUFFLE_PARTITIONS", "8")


def session() -> SparkSession:
    spark = (
        SparkSession.builder.master("local[*]")
        .appName("transaction-lakehouse-bench")
        .config("spark.driver.memory", DRIVER_MEMORY)
        .config("spark.sql.shuffle.partitions", SHUFFLE_PARTITIONS)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_records(spark: SparkSession, path: Path) -> DataFrame:
    """Every record in file order; _corrupt_record holds the text of lines with a wrong field
    count (the header is assumed to be in contract order)."""
    schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in COLUMNS]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    frame = spark.read.csv(
        str(path),
        schema=schema,
        header=True,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=CORRUPT,
        ignoreLeadingWhiteSpace=False,
        ignoreTrailingWhiteSpace=False,
    )
    return frame.withColumn("record_index", F.monotonically_increasing_id())


def blank_to_null(column: str) -> Column:
    trimmed = F.regexp_replace(F.col(column), r"^[ \t]+|[ \t]+$", "")
    return F.when(trimmed != "", trimmed)


def flag(condition: Column, code: str) -> Column:
    return F.when(condition, F.lit(code))


def checked(records: DataFrame, currencies: DataFrame) -> DataFrame:
    """Typed values and the row-level validation codes (spec order)."""
    typed = records.select(
        "*",
        blank_to_null("transaction_id").alias("tid"),
        blank_to_null("customer_id").alias("account_id"),
        blank_to_null("transaction_amount").alias("amount_text"),
        F.upper(blank_to_null("currency")).alias("currency_code"),
        blank_to_null("transaction_timestamp").alias("timestamp_text"),
    )
    typed = typed.withColumn(
        "amount",
        F.when(
            F.col("amount_text").rlike(AMOUNT_PATTERN),
            F.expr("try_cast(amount_text as decimal(18, 2))"),
        ),
    ).withColumn(
        "transaction_ts",
        F.when(
            F.col("timestamp_text").rlike(TIMESTAMP_PATTERN),
            F.expr("try_cast(timestamp_text as timestamp)"),
        ),
    )
    allowed = currencies.select(F.col("currency_code").alias("allowed_code"))
    joined = typed.join(
        F.broadcast(allowed), typed["currency_code"] == allowed["allowed_code"], "left"
    )
    schema_error = F.col(CORRUPT).isNotNull()
    parsed = ~schema_error
    null_value = parsed & (
        F.col("tid").isNull()
        | F.col("account_id").isNull()
        | F.col("amount_text").isNull()
        | F.col("currency_code").isNull()
        | F.col("timestamp_text").isNull()
    )
    type_error = parsed & F.col("amount_text").isNotNull() & F.col("amount").isNull()
    currency_error = parsed & F.col("currency_code").isNotNull() & F.col("allowed_code").isNull()
    timestamp_error = (
        parsed
        & F.col("timestamp_text").isNotNull()
        & (F.col("transaction_ts").isNull() | (F.col("transaction_ts") > F.current_timestamp()))
    )
    row_error = F.concat_ws(
        ",",
        flag(schema_error, "SCHEMA_ERROR"),
        flag(null_value, "NULL_VALUE_ERROR"),
        flag(type_error, "TYPE_ERROR"),
        flag(currency_error, "CURRENCY_ERROR"),
        flag(timestamp_error, "TIMESTAMP_ERROR"),
    )
    return joined.withColumn("row_error", F.when(row_error != "", row_error)).withColumn(
        "tid", F.when(parsed, F.col("tid"))
    )


def classified(records: DataFrame) -> DataFrame:
    """record_status and validation_error: the first valid version of an id wins, a later
    identical one is a duplicate, any other later record with that id fails DUPLICATE_CONFLICT."""
    content = F.struct(*[F.col(column) for column in CONTENT])
    winners = (
        records.where(F.col("row_error").isNull())
        .groupBy("tid")
        .agg(
            F.min("record_index").alias("winner_index"),
            F.min_by(content, F.col("record_index")).alias("winner_content"),
        )
    )
    joined = records.join(winners, "tid", "left")
    valid = F.col("row_error").isNull()
    same = F.coalesce(content == F.col("winner_content"), F.lit(False))
    is_winner = F.coalesce(F.col("record_index") == F.col("winner_index"), F.lit(False))
    follows = F.coalesce(F.col("record_index") > F.col("winner_index"), F.lit(False))
    conflict = follows & ~(valid & same)
    error = F.concat_ws(",", F.col("row_error"), flag(conflict, "DUPLICATE_CONFLICT"))
    return joined.select(
        "*",
        F.when(valid & is_winner, "accepted")
        .when(valid & same, "duplicate")
        .otherwise("quarantined")
        .alias("record_status"),
        F.when(error != "", error).alias("validation_error"),
    )


def processed_transactions(frame: DataFrame) -> DataFrame:
    return frame.where(F.col("record_status") == "accepted").select(
        F.col("tid").alias("transaction_id"),
        "account_id",
        "amount",
        F.col("currency_code").alias("currency"),
        "transaction_ts",
        "record_index",
    )


def quarantine(frame: DataFrame) -> DataFrame:
    return frame.where(F.col("record_status") == "quarantined").select(
        *COLUMNS, F.col(CORRUPT).alias("record_text"), "validation_error"
    )


def month_end_balances(processed: DataFrame) -> DataFrame:
    """Account x currency x month spine from the first to the last month in the data."""
    sums = processed.groupBy(
        "account_id", "currency", F.trunc("transaction_ts", "month").alias("month_start")
    ).agg(F.sum("amount").alias("net_amount"), F.count(F.lit(1)).alias("tx_count"))
    months = sums.agg(
        F.explode(
            F.sequence(F.min("month_start"), F.max("month_start"), F.expr("interval 1 month"))
        ).alias("month_start")
    )
    spine = sums.select("account_id", "currency").distinct().crossJoin(months)
    filled = spine.join(sums, ["account_id", "currency", "month_start"], "left").fillna(
        0, subset=["net_amount", "tx_count"]
    )
    history = (
        Window.partitionBy("account_id", "currency")
        .orderBy("month_start")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    running = F.sum("net_amount").over(history)
    return filled.select(
        "account_id",
        "currency",
        F.date_format("month_start", "yyyy-MM").alias("month"),
        F.last_day("month_start").alias("month_end"),
        F.when(F.col("tx_count") > 0, running).alias("balance"),
        F.when(F.sum("tx_count").over(history) > 0, running).alias("closing_balance"),
        "tx_count",
    )


def run(input_path: Path, currencies_path: Path, output_dir: Path) -> None:
    spark = session()
    try:
        currencies = spark.read.csv(str(currencies_path), header=True).select(
            F.upper(F.trim("currency_code")).alias("currency_code")
        )
        records = read_records(spark, input_path).cache()
        frame = classified(checked(records, currencies)).cache()
        processed = processed_transactions(frame)
        processed.write.parquet(str(output_dir / "processed_transactions.parquet"))
        quarantine(frame).write.parquet(str(output_dir / "quarantine_transactions.parquet"))
        balances = month_end_balances(
            spark.read.parquet(str(output_dir / "processed_transactions.parquet"))
        )
        balances.write.parquet(str(output_dir / "month_end_balances.parquet"))
        write_jvm_peak(spark, output_dir / METRICS_FILE)
    finally:
        spark.stop()


def write_jvm_peak(spark: SparkSession, path: Path) -> None:
    """The JVM's peak RSS (VmHWM), for bench.py: the JVM is not a child that Python waits for,
    so the kernel's accounting of this process does not include it."""
    pid = spark.sparkContext._gateway.proc.pid  # type: ignore[union-attr]
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak_mb = int(line.split()[1]) / 1024
            path.write_text(json.dumps({"jvm_peak_rss_mb": round(peak_mb, 1)}) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="transactions CSV")
    parser.add_argument("--currencies", type=Path, required=True, help="ISO-4217 allowlist CSV")
    parser.add_argument("--output-dir", type=Path, required=True, help="directory for Parquet")
    args = parser.parse_args(argv)
    run(args.input.resolve(), args.currencies.resolve(), args.output_dir.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
