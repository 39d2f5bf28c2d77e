"""Progress of long work (lakehouse generate, lakehouse land): redrawn in place on stderr when it
is a terminal and the work is large, then a one-line summary; nothing but generate's summary when
stderr is not a terminal (pipelines and the loader's JSON records stay as they were)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from dbt_harness import ROOT

LAKEHOUSE = [sys.executable, "-m", "lakehouse"]
HEADER = b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
GENERATE = ["generate", "--rows", "120000", "--seed", "5", "--start", "2024-01-01", "--months", "1"]


def run_on_a_terminal(command: list[str]) -> tuple[int, str, str]:
    """Runs ``command`` with stderr on a pseudo-terminal; returns (status, stdout, stderr)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=slave, cwd=ROOT, env=dict(os.environ)
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    process.stdout.close()
    status = process.wait(timeout=120)
    # the terminal turns each \n into \r\n
    return status, stdout, b"".join(chunks).decode().replace("\r\n", "\n")


def run_piped(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )


def test_generate_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    output = tmp_path / "big.csv"
    status, _, stderr = run_on_a_terminal([*LAKEHOUSE, *GENERATE, "--output", str(output)])
    assert status == 0, stderr
    assert "\rgenerating: " in stderr
    assert "120,000 rows of 120,000 rows (100%)" in stderr
    summary = stderr.splitlines()[-1]
    assert re.fullmatch(
        rf"generate_transactions\.py: wrote 120,000 rows to {re.escape(str(output))}"
        r" \(\d+\.\d MiB\) in \d+\.\d s",
        summary,
    ), summary


def test_generate_prints_only_its_summary_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    output = tmp_path / "big.csv"
    result = run_piped([*LAKEHOUSE, *GENERATE, "--output", str(output)])
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr
    [summary] = result.stderr.splitlines()
    assert summary.startswith(f"generate_transactions.py: wrote 120,000 rows to {output} (")


def big_csv(path: Path, size: int) -> Path:
    line = b"T-0001,ACC001,1.00,EUR,2024-01-05T09:00:00Z\n"
    path.write_bytes(HEADER + line * (size // len(line) + 1))
    return path


def test_land_shows_progress_and_a_summary_on_a_terminal(tmp_path: Path) -> None:
    big = big_csv(tmp_path / "big.csv", 17 * 1024 * 1024)
    small = tmp_path / "small.csv"
    small.write_bytes(HEADER + b"T-0002,ACC001,2.00,EUR,2024-01-05T09:00:00Z\n")
    command = [*LAKEHOUSE, "land", "--lake-root", str(tmp_path / "lake"), str(big), str(small)]
    status, stdout, stderr = run_on_a_terminal(command)
    assert status == 0, stderr
    assert [line.count('"status": "landed"') for line in stdout.splitlines()] == [1, 1]
    assert "\rlanding big.csv: " in stderr and "(100%)" in stderr
    assert "landing small.csv" not in stderr  # small: no progress line
    summary = stderr.splitlines()[-1]
    assert re.fullmatch(
        r"land_csv: 2 landed \(17\.0 MiB: big\.csv 17\.0 MiB, small\.csv \d+ B\),"
        r" 0 skipped, 0 failed in \d+\.\d s",
        summary,
    ), summary


def test_land_prints_nothing_on_stderr_when_it_is_not_a_terminal(tmp_path: Path) -> None:
    big = big_csv(tmp_path / "big.csv", 17 * 1024 * 1024)
    result = run_piped([*LAKEHOUSE, "land", "--lake-root", str(tmp_path / "lake"), str(big)])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert '"status": "landed"' in result.stdout
