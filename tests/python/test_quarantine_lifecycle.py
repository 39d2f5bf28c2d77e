"""The quarantine's lifecycle end to end (fct_quarantine_lifecycle, issue #18 part 1): a file
with bad rows is quarantined (open); a correcting file resolves the records whose TransactionID
it delivers accepted (linked to the resolving run, file and line), the others stay open;
`lakehouse quarantine decide` waives, condemns, assigns and reopens (append-only files in the
lake, read by the next build); the reconciliation holds in every build and a full refresh
gives the same lifecycle; the open-items alert names the record; the report shows the open
quarantine; and the command's refusals write nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_harness import Lake

from lakehouse import report as build_report
from lakehouse.quarantine import DECISION_COLUMNS, DECISIONS_FOLDER

HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
BAD = [  # line 2 is good; lines 3 to 6 are quarantined
    "T-1,ACC001,10.00,EUR,2024-01-05T09:00:00Z",
    "T-2,ACC001,1e3,EUR,2024-01-05T09:00:00Z",  # TYPE_ERROR
    "T-3,ACC002,5.00,XXX,2024-01-05T09:00:00Z",  # CURRENCY_ERROR
    "T-4,ACC002,,EUR,2024-01-05T09:00:00Z",  # NULL_VALUE_ERROR
    "T-5,ACC003,7.00,EUR,2024-02-30T09:00:00Z",  # TIMESTAMP_ERROR
]
FIX = [  # corrected T-3 and T-2 (lines 2 and 3), and T-1 again (an exact duplicate)
    "T-3,ACC002,5.00,EUR,2024-01-05T09:00:00Z",
    "T-2,ACC001,1000.00,EUR,2024-01-05T09:00:00Z",
    "T-1,ACC001,10.00,EUR,2024-01-05T09:00:00Z",
]
RECONCILIATION = "assert_every_record_accounted_for"
OPEN_ALERT = "quarantine_open_at_most_days_fct_quarantine_open_items_quarantine_open"
QUARANTINE = [sys.executable, "-m", "lakehouse", "quarantine"]
LIFECYCLE = (
    "select line_number, status, resolved_by_run_id, resolved_by_source_file,"
    " resolved_by_line_number, decision, decided_by, decision_reason, owner, decision_count"
    " from main_marts.fct_quarantine_lifecycle order by line_number"
)


def write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def statuses(lake: Lake) -> dict[str, str]:
    """Status of each test of the last dbt command, by its name."""
    results = json.loads((lake.root / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r["status"] for r in results}


def build(lake: Lake, *args: str) -> subprocess.CompletedProcess[str]:
    result = lake.build(*args)
    found = statuses(lake)
    assert found[RECONCILIATION] == "pass"  # nothing lost, every quarantined record has a row
    assert "fail" not in found.values() and "error" not in found.values(), found
    return result


def quarantine(lake: Lake, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*QUARANTINE, args[0], "--lake-root", str(lake.root), *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, env=lake.env(), check=False)


def decide(lake: Lake, run_id: str, line: int, action: str, *args: str) -> dict[str, str]:
    result = quarantine(
        lake, "decide", "--run-id", run_id, "--line", str(line), "--action", action, *args
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def decision_files(lake: Lake) -> dict[str, bytes]:
    folder = lake.root / DECISIONS_FOLDER
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def test_quarantine_lifecycle(lake: Lake, tmp_path: Path) -> None:
    [bad] = lake.land(write(tmp_path / "orders.csv", BAD))
    build(lake)
    bad_run = bad["run_id"]
    assert [row[:2] for row in lake.query(LIFECYCLE)] == [
        (3, "open"), (4, "open"), (5, "open"), (6, "open"),
    ]  # fmt: skip

    # The correcting file resolves T-2 and T-3, linked to where their accepted versions are.
    [fix] = lake.land(write(tmp_path / "orders_fixed.csv", FIX))
    build(lake)
    fixed = ("orders_fixed.csv", fix["run_id"])
    assert lake.query(LIFECYCLE) == [
        (3, "resolved", fixed[1], fixed[0], 3, None, None, None, "data-quality", 0),
        (4, "resolved", fixed[1], fixed[0], 2, None, None, None, "data-quality", 0),
        (5, "open", None, None, None, None, None, None, "data-quality", 0),
        (6, "open", None, None, None, None, None, None, "data-quality", 0),
    ]
    assert lake.query(
        "select transaction_id, run_id, source_file, line_number from main_marts.fct_transactions"
        " where transaction_id in ('T-2', 'T-3') order by 1"
    ) == [("T-2", fixed[1], fixed[0], 3), ("T-3", fixed[1], fixed[0], 2)]
    # the quarantine itself is never edited: the resolved records are still in it
    assert lake.query("select count(*) from main_marts.fct_quarantined_records") == [(4,)]

    # Refusals: one line, exit 2, nothing written.
    refusals = [
        (("--line", "5", "--action", "waiver", "--reason", "x"), "unknown action 'waiver'"),
        (("--line", "5", "--action", "waive", "--reason", " "), "--reason must not be empty"),
        (("--line", "2", "--action", "waive", "--reason", "x"), "line 2 is not in the quarantine"),
        (("--line", "5", "--action", "assign", "--reason", "x"), "--owner must not be empty"),
        (("--line", "5", "--action", "waive", "--reason", "x", "--owner", "a"), "assign only"),
        (("--line", "x", "--action", "waive", "--reason", "x"), "invalid int value: 'x'"),
        (("--action", "waive", "--reason", "x", "--line", "5"), None),  # the run_id below
    ]
    for args, message in refusals:
        run_id = "20240105T090000000000Z_0000000a" if message is None else bad_run
        result = quarantine(lake, "decide", "--run-id", run_id, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr, args
        assert message is None or message in result.stderr, result.stderr
        assert result.stdout == ""
    assert decision_files(lake) == {}

    # Decisions: waive T-4 (line 5), condemn T-5 (line 6) with an owner; waive T-2, which a
    # delivery resolved (the resolution wins; the command says so).
    waived = decide(lake, bad_run, 5, "waive", "--by", "ana", "--reason", 'sender: "as is"')
    decide(lake, bad_run, 6, "condemn", "--by", "bob", "--reason", "test record")
    decide(lake, bad_run, 6, "assign", "--by", "bob", "--owner", "Carla", "--reason", "hers")
    late = quarantine(lake, "decide", "--run-id", bad_run, "--line", "4", "--action", "waive",
                      "--reason", "too late")  # fmt: skip
    assert late.returncode == 0 and "resolved by a later delivery" in late.stderr
    files = decision_files(lake)
    assert len(files) == 4
    assert all(not name.startswith(("_", ".")) and name.endswith(".csv") for name in files)
    waived_file = Path(waived["location"]).name
    assert files[waived_file].decode().splitlines()[0] == ",".join(
        f'"{column}"' for column in DECISION_COLUMNS
    )
    build(lake)
    assert lake.query(LIFECYCLE) == [
        (3, "resolved", fixed[1], fixed[0], 3, None, None, None, "data-quality", 0),
        (4, "resolved", fixed[1], fixed[0], 2, "waive", lake_user(late), "too late",
         "data-quality", 1),
        (5, "waived", None, None, None, "waive", "ana", 'sender: "as is"', "data-quality", 1),
        (6, "condemned", None, None, None, "condemn", "bob", "test record", "Carla", 2),
    ]  # fmt: skip
    [(since,)] = lake.query(
        "select status_since = decided_at from main_marts.fct_quarantine_lifecycle"
        " where line_number = 5"
    )
    assert since
    assert lake.query("select count(*) from main_marts.fct_quarantine_open_items") == [(0,)]

    # Reopen T-4: open again after the next build, which the alert (here: open longer than
    # 0 days) names; nothing else changes, and the decision files are all still there.
    decide(lake, bad_run, 5, "reopen", "--by", "dan", "--reason", "sender disputes it")
    alerted = build(lake, "--vars", "{quarantine_max_open_days: 0}")
    assert statuses(lake)[OPEN_ALERT] == "warn"
    assert f"alert quarantine_open (warn): run {bad_run} (file orders.csv): line_number=5" in (
        alerted.stdout
    )
    assert [row[:2] for row in lake.query(LIFECYCLE)] == [
        (3, "resolved"), (4, "resolved"), (5, "open"), (6, "condemned"),
    ]  # fmt: skip
    assert lake.query(
        "select line_number, age_days, owner, is_reopened, reopened_by, reopen_reason"
        " from main_marts.fct_quarantine_open_items"
    ) == [(5, 0, "data-quality", True, "dan", "sender disputes it")]
    assert set(decision_files(lake)) > set(files)

    # A replay from raw (full refresh) gives the same lifecycle; the reconciliation holds.
    incremental = lake.table("main_marts.fct_quarantine_lifecycle", ("built_at",))
    build(lake, "--full-refresh")
    assert lake.table("main_marts.fct_quarantine_lifecycle", ("built_at",)) == incremental

    # Published, listed and reported (account ids masked).
    published = subprocess.run(
        [sys.executable, "-m", "lakehouse", "publish", "--lake-root", str(lake.root),
         "--target-path", str(lake.root / "target")],
        capture_output=True, text=True, env=lake.env(), check=False,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    listed = quarantine(lake, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["age_days", "status", "owner"]
    assert lines[1].split()[:6] == ["0", "open", "data-quality", bad_run, "5", "orders.csv"]
    assert lines[-1] == "1 open records; as of the last published build"
    page = build_report.build(lake.root, None, tmp_path / "site").read_text(encoding="utf-8")
    assert "1 open, 2 resolved by a later delivery, 0 waived and 1 condemned." in page
    assert "<td>under 7 days</td><td class=num>1</td>" in page
    assert "ACC002" not in page and "\u2022\u2022C002" in page


def lake_user(result: subprocess.CompletedProcess[str]) -> str:
    """--by's default: the operating-system user (as the command recorded it)."""
    return str(json.loads(result.stdout)["decided_by"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--s3-uri", "s3://b/p/", "--sse", "AES256", "--lake-root", "x"], "not allowed with"),
        (["--lake-root", "x", "--sse", "AES256"], "only with --s3-uri"),
    ],
)
def test_decide_usage_errors_are_one_line(args: list[str], message: str) -> None:
    command = [*QUARANTINE, "decide", "--run-id", "r", "--line", "1", "--action", "waive"]
    result = subprocess.run(
        [*command, "--reason", "x", *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr, result.stderr
