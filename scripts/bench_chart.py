#!/usr/bin/env python3
"""Draw the benchmark's wall times as an SVG bar chart (one panel per JSON file of bench.py).

Usage: python scripts/bench_chart.py RESULT.json [RESULT.json ...] --output docs/benchmarks.svg

Plain SVG text, no plotting library: each panel has one bar per implementation, scaled to the
slowest one in that panel, labelled with the seconds and the ratio to the DuckDB script.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

BARS: tuple[tuple[str, str, str], ...] = (
    # (JSON key, label, colour)
    ("ours_full_s", "ours: land + dbt build (full)", "#1f6feb"),
    ("ours_incremental_s", "ours: +1 % batch (incremental)", "#79b8ff"),
    ("duckdb_sql_s", "hand-written DuckDB SQL", "#2da44e"),
    ("pandas_s", "pandas", "#bf8700"),
    ("spark_s", "PySpark (local)", "#cf222e"),
)
WIDTH = 760
LABEL_WIDTH = 230
VALUE_WIDTH = 130
BAR_HEIGHT = 20
BAR_GAP = 6
PANEL_TITLE = 28
PANEL_GAP = 18
FONT = "font-family='Helvetica, Arial, sans-serif' font-size='12'"


@dataclass(frozen=True)
class Bar:
    label: str
    colour: str
    seconds: float | None
    note: str


def bars(result: dict[str, Any]) -> list[Bar]:
    baseline = result.get("duckdb_sql_s")
    out = []
    for key, label, colour in BARS:
        seconds = result.get(key)
        if seconds is None:
            reason = result.get(key.removesuffix("_s") + "_skipped_reason")
            if reason is None:
                continue
            out.append(Bar(label, colour, None, "skipped"))
            continue
        ratio = f" ({seconds / baseline:.1f}x)" if baseline else ""
        out.append(Bar(label, colour, float(seconds), f"{seconds:,.1f} s{ratio}"))
    return out


def panel_title(result: dict[str, Any]) -> str:
    load = result.get("load_avg", {})
    machine = result.get("machine", {})
    parts = [f"{result['rows']:,} rows"]
    if machine:
        parts.append(f"{machine.get('nproc')} cores, {machine.get('mem_total_gb')} GB")
    if load.get("start") and load.get("end"):
        parts.append(f"load avg {load['start'][0]:.1f} at start, {load['end'][0]:.1f} at end")
    if result.get("duckdb_memory_limit"):
        parts.append(f"DuckDB memory limit {result['duckdb_memory_limit']}")
    return " - ".join(parts)


def panel(result: dict[str, Any], top: int) -> tuple[list[str], int]:
    """SVG elements of one panel and its height."""
    items = bars(result)
    longest = max((bar.seconds or 0.0 for bar in items), default=1.0) or 1.0
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    elements = [
        f"<text x='0' y='{top + 18}' {FONT} font-weight='bold'>{escape(panel_title(result))}</text>"
    ]
    y = top + PANEL_TITLE
    for bar in items:
        middle = y + BAR_HEIGHT / 2 + 4
        elements.append(f"<text x='0' y='{middle:.0f}' {FONT}>{escape(bar.label)}</text>")
        length = 0.0 if bar.seconds is None else max(1.0, room * bar.seconds / longest)
        elements.append(
            f"<rect x='{LABEL_WIDTH}' y='{y}' width='{length:.1f}' height='{BAR_HEIGHT}'"
            f" fill='{bar.colour}'/>"
        )
        elements.append(
            f"<text x='{LABEL_WIDTH + length + 6:.1f}' y='{middle:.0f}' {FONT}>"
            f"{escape(bar.note)}</text>"
        )
        y += BAR_HEIGHT + BAR_GAP
    return elements, y - top


def render(results: list[dict[str, Any]]) -> str:
    elements: list[str] = []
    top = 0
    for result in sorted(results, key=lambda item: item["rows"]):
        panel_elements, height = panel(result, top)
        elements.extend(panel_elements)
        top += height + PANEL_GAP
    footer = "wall time, median of the runs; ratio to the hand-written DuckDB script in brackets"
    elements.append(f"<text x='0' y='{top + 4}' {FONT} fill='#57606a'>{escape(footer)}</text>")
    height = top + 12
    return "\n".join(
        [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}'"
            f" viewBox='0 0 {WIDTH} {height}'>",
            f"<rect width='{WIDTH}' height='{height}' fill='white'/>",
            *elements,
            "</svg>",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("results", nargs="+", type=Path, help="JSON files written by bench.py")
    parser.add_argument("--output", type=Path, required=True, help="SVG file to write")
    args = parser.parse_args(argv)
    results = [json.loads(path.read_text()) for path in args.results]
    args.output.write_text(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
