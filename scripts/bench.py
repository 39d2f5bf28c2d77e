#!/usr/bin/env python3
"""Benchmark: the dbt project against a hand-written DuckDB script, pandas and (optionally) Spark.

Usage::

    python scripts/bench.py --rows N [--json PATH] [--workdir DIR] [--skip pandas,spark]
                            [--repeat K]

Generates (once, cached in the workdir) N rows with the sample generator, then measures, in this
run and each as a process of its own (wall time, and peak RSS from the kernel's accounting of
that process and its descendants, via wait4):

1. ours, full         land the file into an empty lake + ``dbt build`` (models and tests)
2. ours, incremental  land one more batch of 1 % of N + ``dbt build``
3. duckdb_sql         scripts/bench_baseline.sql through the duckdb Python API
4. pandas             scripts/bench_pandas.py
5. spark              scripts/bench_spark.py (PySpark local mode), when pyspark is installed

It checks that 1, 3, 4 and 5 agree on the processed and quarantined counts and on the balance
totals (sum of closing_balance per month), prints a table and writes the figures as JSON.
The method and the results are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
PYTHON = sys.executable
DBT = str(Path(sys.executable).parent / "dbt")
GENERATOR = SCRIPTS / "generate_transactions.py"
LOADER = SCRIPTS / "land_csv.py"
BASELINE_SQL = SCRIPTS / "bench_baseline.sql"
PANDAS_JOB = SCRIPTS / "bench_pandas.py"
SPARK_JOB = SCRIPTS / "bench_spark.py"
CURRENCIES = ROOT / "seeds" / "iso_4217_currencies.csv"

# The data set: one year of transactions, realistic error rate.
BASE_ARGS = ("--seed", "1", "--start", "2024-01-01", "--months", "12", "--error-rate", "0.005")
# The incremental batch: another seed, ids far from the base file's (seed 1: 1e9 + 1 onwards).
INCREMENT_ARGS = (
    "--seed",
    "2",
    "--id-start",
    "900000000001",
    "--start",
    "2024-01-01",
    "--months",
    "12",
    "--error-rate",
    "0.005",
)
INCREMENT_SHARE = 100  # the batch is 1 / INCREMENT_SHARE of N

# Same engine settings as the dbt profile (profiles/profiles.yml), so the baseline runs on equal
# terms; both take the memory limit from DUCKDB_MEMORY_LIMIT (default 6GB, --memory-limit).
MEMORY_LIMIT_ENV = "DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "6GB"
DUCKDB_CONFIG = {"preserve_insertion_order": "false"}

# pandas needs the whole file in memory several times over: its peak RSS was 14 bytes per CSV
# byte at 1M rows and 10 at 10M (docs/benchmarks.md); skip it when that would not fit.
PANDAS_BYTES_PER_CSV_BYTE = 12
OPTIONAL = ("pandas", "spark")
SPARK_HEAP_GB = 8


class BenchError(RuntimeError):
    """A measured step failed or the implementations disagree."""


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    peak_rss_mb: float


@dataclass(frozen=True)
class Summary:
    """What the implementations must agree on."""

    processed: int
    quarantined: int
    quarantine_by_reason: dict[str, int]  # validation_error -> records
    balance_totals: dict[str, str]  # month -> sum of closing_balance, 2 decimals

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "quarantined": self.quarantined,
            "quarantine_by_reason": self.quarantine_by_reason,
            "balance_totals": self.balance_totals,
        }


@dataclass
class Result:
    name: str
    samples: list[Measurement] = field(default_factory=list)
    summary: Summary | None = None
    skipped_reason: str | None = None
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def wall_s(self) -> float:
        return statistics.median(sample.wall_s for sample in self.samples)

    @property
    def peak_rss_mb(self) -> float:
        return max(sample.peak_rss_mb for sample in self.samples)


# -- measuring --------------------------------------------------------------------------------


def measure(command: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Measurement:
    """Run one process; its wall time and the peak RSS of it and its waited-for descendants."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(("$ " + " ".join(command) + "\n").encode())
        out.flush()
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise BenchError(f"{command[0]} ... failed ({process.returncode}), see {log}:\n{tail}")
    return Measurement(wall_s=wall, peak_rss_mb=usage.ru_maxrss / 1024)


def combine(steps: Sequence[Measurement]) -> Measurement:
    """Steps run one after the other: times add up, the peak is the largest one."""
    return Measurement(
        wall_s=sum(step.wall_s for step in steps),
        peak_rss_mb=max(step.peak_rss_mb for step in steps),
    )


def load_avg() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo")
    total_kb = 0
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                total_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "mem_total_gb": round(total_kb / 1024 / 1024, 1),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def code_version() -> dict[str, Any]:
    """The commit measured and whether the dbt project differs from it (a shared work tree)."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT, check=False
        )
        return result.stdout.strip()

    changed = git("status", "--porcelain", "--", "models", "macros", "tests/dbt", "seeds")
    return {"git_commit": git("rev-parse", "--short", "HEAD") or None, "dbt_dirty": bool(changed)}


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def mem_available_bytes() -> int | None:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


# -- data -------------------------------------------------------------------------------------


def generated(workdir: Path, name: str, rows: int, args: Sequence[str]) -> Path:
    """The generator's file for these arguments, made once and kept in workdir/data."""
    path = workdir / "data" / f"{name}_{rows}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        command = [PYTHON, str(GENERATOR), "--rows", str(rows), *args, "--output", str(path)]
        subprocess.run(
            [*command, "--truth", str(path.with_suffix(".truth.json"))], check=True, cwd=ROOT
        )
    return path


def increment_rows(rows: int) -> int:
    return max(1, rows // INCREMENT_SHARE)


# -- the implementations ----------------------------------------------------------------------


def dbt_env(lake: Path) -> dict[str, str]:
    return {**os.environ, "LAKE_ROOT": str(lake), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def dbt_build_command(lake: Path) -> list[str]:
    return [
        DBT,
        "build",
        "--profiles-dir",
        str(ROOT / "profiles"),
        "--project-dir",
        str(ROOT),
        "--target-path",
        str(lake / "target"),
        "--log-path",
        str(lake / "logs"),
        # a production build, like `make demo`/`make prod`: unit tests check the logic, not the
        # data, and run in `make test`
        "--exclude-resource-type",
        "unit_test",
    ]


def land_and_build(lake: Path, csv: Path, logs: Path, label: str) -> tuple[Measurement, ...]:
    env = dbt_env(lake)
    land = measure([PYTHON, str(LOADER), "--lake-root", str(lake), str(csv)], logs, env)
    build = measure(dbt_build_command(lake), logs, env)
    shutil.copy(lake / "target" / "run_results.json", logs.parent / f"run_results_{label}.json")
    return land, build


def run_ours(base: Path, increment: Path, rundir: Path, repeat: int) -> tuple[Result, Result]:
    full, incremental = Result("ours_full"), Result("ours_incremental")
    for _ in range(repeat):
        lake = rundir / "lake"
        shutil.rmtree(lake, ignore_errors=True)
        land, build = land_and_build(lake, base, rundir / "ours.log", "full")
        full.samples.append(combine((land, build)))
        full.parts = {"land_s": land.wall_s, "dbt_build_s": build.wall_s}
        full.summary = summarize_warehouse(lake / "warehouse.duckdb")
        land, build = land_and_build(lake, increment, rundir / "ours.log", "incremental")
        incremental.samples.append(combine((land, build)))
        incremental.parts = {"land_s": land.wall_s, "dbt_build_s": build.wall_s}
    return full, incremental


def run_baseline(input_path: Path, database: Path) -> None:
    """Execute bench_baseline.sql on `input_path`, writing its tables into `database`."""
    database.unlink(missing_ok=True)
    memory_limit = os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
    config = {**DUCKDB_CONFIG, "memory_limit": memory_limit}
    with duckdb.connect(str(database), config=config) as con:
        con.execute("set variable input_path = ?", [str(input_path)])
        con.execute("set variable currencies_path = ?", [str(CURRENCIES)])
        for statement in duckdb.extract_statements(BASELINE_SQL.read_text()):
            con.execute(statement)


def run_duckdb_sql(base: Path, rundir: Path, repeat: int) -> Result:
    result = Result("duckdb_sql")
    database = rundir / "baseline.duckdb"
    command = [PYTHON, str(Path(__file__).resolve()), "--run-baseline", str(base), str(database)]
    for _ in range(repeat):
        result.samples.append(measure(command, rundir / "duckdb_sql.log", dict(os.environ)))
    result.summary = summarize_baseline(database)
    return result


def run_job(name: str, script: Path, base: Path, rundir: Path, repeat: int) -> Result:
    """pandas or Spark: the script reads the CSV and writes Parquet into rundir/<name>."""
    result = Result(name)
    output = rundir / name
    command = [PYTHON, str(script), "--input", str(base), "--currencies", str(CURRENCIES)]
    for _ in range(repeat):
        shutil.rmtree(output, ignore_errors=True)
        sample = measure([*command, "--output-dir", str(output)], rundir / f"{name}.log")
        result.samples.append(with_jvm(sample, output / "_metrics.json"))
    result.summary = summarize_parquet(output)
    return result


def with_jvm(sample: Measurement, metrics: Path) -> Measurement:
    """Adds the peak RSS of a JVM the job reported (Spark's, not a child Python waits for)."""
    if not metrics.exists():
        return sample
    jvm_mb = float(json.loads(metrics.read_text())["jvm_peak_rss_mb"])
    return Measurement(wall_s=sample.wall_s, peak_rss_mb=sample.peak_rss_mb + jvm_mb)


def pandas_skip_reason(base: Path) -> str | None:
    if importlib.util.find_spec("pandas") is None or importlib.util.find_spec("pyarrow") is None:
        return "pandas/pyarrow not installed (pip install -r requirements-bench.txt)"
    needed = base.stat().st_size * PANDAS_BYTES_PER_CSV_BYTE
    available = mem_available_bytes()
    if available is not None and needed > available:
        return (
            f"needs about {needed / 2**30:.0f} GiB in memory "
            f"({PANDAS_BYTES_PER_CSV_BYTE} x the CSV), {available / 2**30:.0f} GiB available"
        )
    return None


def spark_skip_reason() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark not installed (pip install -r requirements-bench.txt)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs Java 17+)"
    return None


def dbt_profile(run_results: Path, top: int = 10) -> dict[str, Any]:
    """Where a dbt build spent its time: execution_time per kind of node and the slowest nodes
    (threads overlap, so the sums exceed dbt's elapsed time)."""
    if not run_results.exists():
        return {}
    data = json.loads(run_results.read_text())
    nodes = [
        (float(node["execution_time"]), node["unique_id"].split(".")[0], node_name(node))
        for node in data["results"]
    ]
    by_kind: dict[str, float] = {}
    for seconds, kind, _ in nodes:
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    slowest = sorted(nodes, reverse=True)[:top]
    return {
        "elapsed_s": round(float(data["elapsed_time"]), 2),
        "by_kind_s": {kind: round(seconds, 2) for kind, seconds in sorted(by_kind.items())},
        "slowest": [
            {"node": name, "kind": kind, "s": round(seconds, 2)} for seconds, kind, name in slowest
        ],
    }


def node_name(node: dict[str, Any]) -> str:
    """Model, seed or unit test name; a data test's name without its hash suffix."""
    parts = node["unique_id"].split(".")
    return parts[2] if parts[0] == "test" else parts[-1]


# -- what the implementations must agree on ---------------------------------------------------


def cents_text(value: Any) -> str:
    return f"{Decimal(value):.2f}"


def summarize(
    con: duckdb.DuckDBPyConnection, processed: str, quarantined: str, balances: str, closing: str
) -> Summary:
    """The figures to compare, from the three outputs (relation names or table functions)."""
    count = con.sql(f"select count(*) from {processed}").fetchone()
    reasons = con.sql(
        f"select validation_error, count(*) from {quarantined} group by 1 order by 1"
    ).fetchall()
    totals = con.sql(
        f"select month, sum({closing}) from {balances} group by month order by month"
    ).fetchall()
    assert count is not None
    return Summary(
        processed=int(count[0]),
        quarantined=sum(int(records) for _, records in reasons),
        quarantine_by_reason={str(reason): int(records) for reason, records in reasons},
        balance_totals={str(month): cents_text(total or 0) for month, total in totals},
    )


def summarize_warehouse(database: Path) -> Summary:
    with duckdb.connect(str(database), read_only=True) as con:
        return summarize(
            con,
            "main_marts.fct_transactions",
            "main_marts.fct_quarantined_records",
            "main_marts.fct_month_end_balances",
            "closing_balance",
        )


def summarize_baseline(database: Path) -> Summary:
    with duckdb.connect(str(database), read_only=True) as con:
        return summarize(
            con,
            "processed_transactions",
            "quarantine_transactions",
            "month_end_balances",
            "closing_balance",
        )


def summarize_parquet(directory: Path) -> Summary:
    def table(name: str) -> str:
        return f"read_parquet('{directory / name}.parquet')"

    with duckdb.connect() as con:
        columns = {
            row[0]
            for row in con.sql(f"describe select * from {table('month_end_balances')}").fetchall()
        }
        closing = (
            "closing_balance_cents / 100"
            if "closing_balance_cents" in columns
            else "closing_balance"
        )
        return summarize(
            con,
            table("processed_transactions"),
            table("quarantine_transactions"),
            table("month_end_balances"),
            f"cast({closing} as decimal(38, 2))",
        )


def check_agreement(results: Sequence[Result]) -> list[str]:
    """Differences from the dbt project's figures, one message each (empty: all agree)."""
    measured = [result for result in results if result.summary is not None]
    reference = measured[0]
    problems = []
    for result in measured[1:]:
        assert reference.summary is not None and result.summary is not None
        for key, expected in reference.summary.as_dict().items():
            actual = result.summary.as_dict()[key]
            if actual != expected:
                problems.append(f"{result.name}: {key} {actual} != {reference.name}'s {expected}")
    return problems


# -- report -----------------------------------------------------------------------------------


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return round(value / reference, 2)


def figures(results: dict[str, Result]) -> dict[str, Any]:
    """The JSON keys of the brief, for the implementations that ran."""
    out: dict[str, Any] = {}
    names = {
        "ours_full": "ours",
        "ours_incremental": "ours_incremental",
        "duckdb_sql": "duckdb_sql",
        "pandas": "pandas",
        "spark": "spark",
    }
    for name, prefix in names.items():
        result = results.get(name)
        if result is None:
            continue
        if result.skipped_reason is not None:
            out[f"{name}_s"] = None
            out[f"{prefix}_peak_rss_mb"] = None
            out[f"{name}_skipped_reason"] = result.skipped_reason
            continue
        out[f"{name}_s"] = round(result.wall_s, 2)
        out[f"{prefix}_peak_rss_mb"] = round(result.peak_rss_mb, 1)
        out[f"{name}_samples_s"] = [round(sample.wall_s, 2) for sample in result.samples]
        for part, seconds in result.parts.items():
            out[f"{name}_{part}"] = round(seconds, 2)
    return out


def ratios(results: dict[str, Result]) -> dict[str, float | None]:
    def seconds(name: str) -> float | None:
        result = results.get(name)
        if result is None or result.skipped_reason is not None:
            return None
        return result.wall_s

    return {
        "ours_full_vs_duckdb_sql": ratio(seconds("ours_full"), seconds("duckdb_sql")),
        "pandas_vs_ours_full": ratio(seconds("pandas"), seconds("ours_full")),
        "pandas_vs_duckdb_sql": ratio(seconds("pandas"), seconds("duckdb_sql")),
        "spark_vs_duckdb_sql": ratio(seconds("spark"), seconds("duckdb_sql")),
        "ours_incremental_vs_full": ratio(seconds("ours_incremental"), seconds("ours_full")),
    }


def table_text(results: dict[str, Result]) -> str:
    baseline = results["duckdb_sql"].wall_s
    lines = [
        f"{'implementation':<18} {'wall s':>9} {'peak RSS MB':>12} {'x duckdb_sql':>13}"
        f" {'processed':>11} {'quarantined':>12}",
    ]
    for result in results.values():
        if result.skipped_reason is not None:
            lines.append(f"{result.name:<18} skipped: {result.skipped_reason}")
            continue
        summary = result.summary
        lines.append(
            f"{result.name:<18} {result.wall_s:>9.2f} {result.peak_rss_mb:>12.0f}"
            f" {result.wall_s / baseline:>13.2f}"
            f" {summary.processed if summary else '':>11}"
            f" {summary.quarantined if summary else '':>12}"
        )
    return "\n".join(lines)


# -- command line -----------------------------------------------------------------------------


def parse_skip(value: str) -> set[str]:
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = names - set(OPTIONAL)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"can skip only {', '.join(OPTIONAL)}, not {', '.join(sorted(unknown))}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench.py", description=__doc__.splitlines()[0] if __doc__ else None
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--rows", type=int, help="rows of the generated file")
    parser.add_argument(
        "--memory-limit",
        help=f"DuckDB memory limit for dbt and the baseline (${MEMORY_LIMIT_ENV}, "
        f"default {DEFAULT_MEMORY_LIMIT} as in the dbt profile)",
    )
    mode.add_argument(
        "--run-baseline",
        nargs=2,
        metavar=("CSV", "DATABASE"),
        type=Path,
        help=argparse.SUPPRESS,  # the measured process of the DuckDB baseline
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / "bench", help="data and runs (default bench/)"
    )
    parser.add_argument(
        "--skip", type=parse_skip, default=set(), help="comma-separated: pandas,spark"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each measurement; the median is reported"
    )
    return parser


def optional_result(
    name: str, skip: set[str], reason: str | None, run: Callable[[], Result]
) -> Result:
    if name in skip:
        return Result(name, skipped_reason="skipped with --skip")
    if reason is not None:
        return Result(name, skipped_reason=reason)
    try:
        return run()
    except BenchError as exc:  # an optional comparison failing does not void the others
        print(exc, file=sys.stderr)
        return Result(name, skipped_reason=f"failed: {str(exc).splitlines()[0]}")


def bench(rows: int, workdir: Path, skip: set[str], repeat: int) -> dict[str, Any]:
    workdir = workdir.resolve()
    base = generated(workdir, "base", rows, BASE_ARGS)
    increment = generated(workdir, "increment", increment_rows(rows), INCREMENT_ARGS)
    rundir = workdir / "runs" / str(rows)
    shutil.rmtree(rundir, ignore_errors=True)
    load_start = load_avg()
    full, incremental = run_ours(base, increment, rundir, repeat)
    results: dict[str, Result] = {"ours_full": full, "ours_incremental": incremental}
    results["duckdb_sql"] = run_duckdb_sql(base, rundir, repeat)
    results["pandas"] = optional_result(
        "pandas",
        skip,
        pandas_skip_reason(base),
        lambda: run_job("pandas", PANDAS_JOB, base, rundir, repeat),
    )
    results["spark"] = optional_result(
        "spark",
        skip,
        spark_skip_reason(),
        lambda: run_job("spark", SPARK_JOB, base, rundir, repeat),
    )
    compared = [results[name] for name in ("ours_full", "duckdb_sql", "pandas", "spark")]
    problems = check_agreement(compared)
    print(table_text(results))
    report = {
        "rows": rows,
        **figures(results),
        "ratios": ratios(results),
        "incremental_rows": increment_rows(rows),
        "csv_bytes": base.stat().st_size,
        "repeat": repeat,
        "duckdb_memory_limit": os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT),
        "agree": not problems,
        "summaries": {
            name: result.summary.as_dict() for name, result in results.items() if result.summary
        },
        "dbt_profile": {
            label: dbt_profile(rundir / f"run_results_{label}.json")
            for label in ("full", "incremental")
        },
        "machine": machine(),
        "code": code_version(),
        "load_avg": {"start": load_start, "end": load_avg()},
    }
    if problems:
        report["disagreements"] = problems
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run_baseline:
        run_baseline(*args.run_baseline)
        return 0
    if args.rows < 1 or args.repeat < 1:
        print("bench.py: error: --rows and --repeat must be >= 1", file=sys.stderr)
        return 2
    if args.memory_limit:
        os.environ[MEMORY_LIMIT_ENV] = args.memory_limit  # read by the dbt profile and the baseline
    report = bench(args.rows, args.workdir, args.skip, args.repeat)
    text = json.dumps(report, indent=2) + "\n"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    if not report["agree"]:
        print("\n".join(["implementations disagree:", *report["disagreements"]]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
