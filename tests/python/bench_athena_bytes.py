"""Bytes the Athena target reads per model, on the production engine (Trino 476, local stack).

Athena bills the bytes a query scans. This lands N generated rows into S3 with the real loader
(partitions registered in Glue), runs ``dbt build --target athena`` (production flags) on the
local Athena (tests/python/athena_stand_in.py: every query executed by real Trino), then lands a
batch of 1 % of N and builds again, and sums Trino's physical input bytes of each query by the dbt
node that sent it (dbt's query comment names it). Run it with ``make bench-athena ROWS=N``.

Prints a table (node, full build, incremental build, ratio) and writes JSON (``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from athena_stand_in import AthenaStandIn
from s3_stand_in import ensure_buckets

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GENERATOR = ROOT / "scripts" / "generate_transactions.py"
LOADER = ROOT / "scripts" / "land_csv.py"
BUCKET = "lakehouse"
SCHEMA = "lake"
BASE = ("--seed", "1", "--start", "2024-01-01", "--months", "12", "--error-rate", "0.005")
INCREMENT = ("--seed", "2", "--id-start", "900000000001", *BASE[2:])
NODE = re.compile(r'"node_id":\s*"([^"]+)"')


def environment(stand_in: AthenaStandIn, home: Path) -> dict[str, str]:
    return stand_in.process_env(
        home,
        ATHENA_S3_STAGING_DIR="s3://athena-results/",
        ATHENA_S3_DATA_DIR=f"s3://{BUCKET}/warehouse/",
        ATHENA_SCHEMA=SCHEMA,
        RAW_S3_URI=f"s3://{BUCKET}/raw/transactions/",
    )


def run(command: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench-athena: {' '.join(command[:3])} failed:\n{result.stdout[-3000:]}")
    return time.monotonic() - start


def dbt(env: dict[str, str], target: Path, *args: str) -> float:
    command = [str(BIN / "dbt"), *args, "--target", "athena", "--profiles-dir", "profiles"]
    command += ["--target-path", str(target), "--log-path", str(target / "logs")]
    return run(command, env)


def bytes_by_node(stand_in: AthenaStandIn, since: int) -> dict[str, int]:
    """Physical input bytes of the queries since history index ``since``, by dbt node."""
    totals: dict[str, int] = defaultdict(int)
    for query in stand_in.history[since:]:
        node = NODE.search(query.sql)
        totals[node.group(1) if node else "(on-run-start and other)"] += query.scanned_bytes
    return dict(totals)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-athena-") as temp:
        work = Path(temp)
        files = {"full": work / "base.csv", "incremental": work / "increment.csv"}
        rows = {"full": args.rows, "incremental": max(1, args.rows // 100)}
        for name, extra in (("full", BASE), ("incremental", INCREMENT)):
            generate = [sys.executable, str(GENERATOR), "--rows", str(rows[name]), *extra]
            run([*generate, "--output", str(files[name])], dict(os.environ))
        stand_in = AthenaStandIn(work / "athena").start()
        try:
            ensure_buckets(stand_in.s3, BUCKET, "athena-results")
            env = environment(stand_in, work / "home")
            target = work / "target"
            dbt(env, target, "run-operation", "create_raw_relations")
            figures: dict[str, dict[str, float]] = {}
            seconds: dict[str, dict[str, float]] = {}
            for name, path in files.items():
                land = [sys.executable, str(LOADER), "--s3-uri", f"s3://{BUCKET}/"]
                land += ["--glue-database", f"{SCHEMA}_raw", str(path)]
                seconds[name] = {"land": run(land, env)}
                since = len(stand_in.history)
                build = ("build", "--exclude-resource-type", "unit_test")
                seconds[name]["build"] = dbt(env, target, *build)
                figures[name] = bytes_by_node(stand_in, since)
        finally:
            stand_in.stop()
    nodes = sorted(set(figures["full"]) | set(figures["incremental"]))
    total = {name: sum(values.values()) for name, values in figures.items()}
    print(f"{'node':<78} {'full MB':>10} {'incr MB':>10} {'incr/full':>9}")
    for node in nodes:
        full, incremental = figures["full"].get(node, 0), figures["incremental"].get(node, 0)
        ratio = f"{incremental / full:9.1%}" if full else " " * 9
        print(f"{node:<78} {full / 1e6:10.2f} {incremental / 1e6:10.2f} {ratio}")
    ratio = total["incremental"] / total["full"] if total["full"] else 0.0
    full_mb, incremental_mb = total["full"] / 1e6, total["incremental"] / 1e6
    print(f"{'total':<78} {full_mb:10.2f} {incremental_mb:10.2f} {ratio:9.1%}")
    print(f"seconds: {json.dumps(seconds)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"rows": args.rows, "bytes": figures, "total": total, "seconds": seconds}
        args.json.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
