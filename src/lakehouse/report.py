#!/usr/bin/env python3
"""Build the stakeholder site: the static dbt docs page and a run report with charts.

Usage: lakehouse report [--lake-root DIR] [--static-docs FILE] [--site DIR]

Reads the DuckDB warehouse (``DIR/warehouse.duckdb``; DIR: ``$LAKE_ROOT``, else ``./lake``):
the published ``fct_run_metrics`` and ``fct_month_end_balances`` (``main_published``, as of the
last build that passed its tests; ``lakehouse publish`` writes them), and the lake's alert
acknowledgements (``DIR/acknowledgements/``, ``lakehouse acknowledge``); while a build has the
warehouse open, the published copy ``DIR/published.duckdb`` (``lakehouse publish``). Writes
``SITE/report.html`` (rows per run, quarantine rate by reason over runs, month-end balance totals
per month: inline SVG, a data table under each chart, no script and no network; the
acknowledgements as a table) and copies dbt's
``dbt docs generate --static`` page (default ``target/static_index.html``) to
``SITE/index.html``. The two pages link to each other. Exit 1 with a message naming the file
when the warehouse, its published marts or the docs page is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path

import duckdb

from lakehouse.acknowledge import read_acknowledgements
from lakehouse.charts import Chart, Series, bar_chart, compact, line_chart
from lakehouse.lake_root import refuse_missing_lake
from lakehouse.published_copy import open_published

# What consumers read: the marts as of the last published build (README, "Write, audit, publish").
PUBLISHED = "main_published"
CODE_PREFIX = "quarantined_"
NOT_CODES = {"quarantined_rows"}
ALERT_RATE = 0.01
MAX_CURRENCIES = 6
DOCS_PAGE = "index.html"
REPORT_PAGE = "report.html"
ACKNOWLEDGEMENT_COLUMNS = ("alert", "run_id", "acknowledged_by", "acknowledged_at", "reason")


class ReportError(Exception):
    """A missing input, with the file it concerns."""


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[tuple]


def query(con: duckdb.DuckDBPyConnection, sql: str) -> Table:
    relation = con.sql(sql)
    return Table([column for column in relation.columns], relation.fetchall())


def reason_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """fct_run_metrics' per-code columns, in table order (the codes come from the model)."""
    rows = con.sql(
        "select column_name from information_schema.columns"
        f" where table_schema = '{PUBLISHED}' and table_name = 'fct_run_metrics'"
        " order by ordinal_position"
    ).fetchall()
    return [r[0] for r in rows if r[0].startswith(CODE_PREFIX) and r[0] not in NOT_CODES]


def code_name(column: str) -> str:
    return column.removeprefix(CODE_PREFIX).upper()


def percent(value: float) -> str:
    return f"{value * 100:.2f} %"


def percent_tick(value: float) -> str:
    return f"{round(value * 100, 6):g} %"


def amount(value: float) -> str:
    return f"{value:,.2f}"


def html_table(caption: str, table: Table, formats: dict[str, str] | None = None) -> str:
    formats = formats or {}
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for column, value in zip(table.columns, row, strict=True):
            text = "" if value is None else format(value, formats.get(column, ""))
            numeric = isinstance(value, int | float | Decimal)
            cells.append(f"<td{' class=num' if numeric else ''}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<details><summary>Data table: {escape(caption)}</summary>"
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></details>"
    )


def runs_section(con: duckdb.DuckDBPyConnection, codes: list[str]) -> tuple[str, str, Table]:
    rate_by_code = ", ".join(
        f"round({c} / nullif(input_rows, 0), 6) as {c.removeprefix(CODE_PREFIX)}_rate"
        for c in codes
    )
    runs = query(
        con,
        "select row_number() over (order by run_id) as run, run_id, source_file, input_rows,"
        " valid_rows, quarantined_rows, duplicate_rows, quarantine_rate,"
        f" {', '.join(codes)}{', ' if codes else ''}{rate_by_code}"
        f" from {PUBLISHED}.fct_run_metrics order by run_id",
    )
    index = {name: i for i, name in enumerate(runs.columns)}
    labels = [str(row[index["run"]]) for row in runs.rows]

    def column(name: str) -> list[float | None]:
        return [None if row[index[name]] is None else float(row[index[name]]) for row in runs.rows]

    rows_chart = bar_chart(
        Chart(
            chart_id="chart-rows-per-run",
            title="Rows per run",
            summary=(
                f"Stacked bars, one per landed run ({len(labels)} runs): valid, quarantined and"
                " duplicate records. The table below lists every run with its id and file."
            ),
            x_label="Run (in landing order; numbers as in the table)",
            y_label="Records",
            categories=labels,
            series=[
                Series("valid", column("valid_rows")),
                Series("quarantined", column("quarantined_rows")),
                Series("duplicate", column("duplicate_rows")),
            ],
        ),
        stacked=True,
    )
    rate_series = [
        Series(code_name(c), column(c.removeprefix(CODE_PREFIX) + "_rate")) for c in codes
    ]
    rate_chart = line_chart(
        Chart(
            chart_id="chart-quarantine-rate",
            title="Quarantine rate by reason over runs",
            summary=(
                "One line per validation code: the share of the run's records that failed it"
                " (a record can fail several codes), and the overall quarantine rate, against"
                f" the {percent_tick(ALERT_RATE)} alert threshold."
            ),
            x_label="Run (in landing order)",
            y_label="Share of the run's records",
            categories=labels,
            series=[Series("all reasons", column("quarantine_rate")), *rate_series],
            value_format=percent,
            tick_format=percent_tick,
        ),
        threshold=(ALERT_RATE, f"alert: {percent_tick(ALERT_RATE)}"),
    )
    return rows_chart, rate_chart, runs


def balances_section(con: duckdb.DuckDBPyConnection) -> tuple[str, Table, int]:
    totals = query(
        con,
        "select month, currency, sum(closing_balance) as closing_balance_total,"
        " count(closing_balance) as accounts, sum(tx_count) as transactions"
        f" from {PUBLISHED}.fct_month_end_balances"
        " group by month, currency order by month, currency",
    )
    months = sorted({row[0] for row in totals.rows})
    by_currency: dict[str, dict[str, float]] = {}
    for month, currency, total, _accounts, _count in totals.rows:
        if total is not None:
            by_currency.setdefault(currency, {})[month] = float(total)
    ranked = sorted(by_currency, key=lambda c: -max(abs(v) for v in by_currency[c].values()))
    shown = sorted(ranked[:MAX_CURRENCIES])
    chart = bar_chart(
        Chart(
            chart_id="chart-balance-totals",
            title="Month-end balance totals per month",
            summary=(
                "Bars per month, one per currency (no FX conversion): the sum of every"
                " account's closing balance at the month's end"
                + (
                    f"; the {MAX_CURRENCIES} largest of {len(ranked)} currencies are drawn,"
                    " the table lists all."
                    if len(ranked) > MAX_CURRENCIES
                    else "."
                )
            ),
            x_label="Month (UTC)",
            y_label="Sum of closing balances",
            categories=months,
            series=[Series(c, [by_currency[c].get(m) for m in months]) for c in shown],
            value_format=amount,
            tick_format=compact,
        )
    )
    return chart, totals, len(ranked) - len(shown)


def acknowledgements_section(acknowledgements: list[dict[str, object]]) -> str:
    """The operators' alert acknowledgements, oldest first; a sentence when there is none."""
    if not acknowledgements:
        return "<p>No alert has been acknowledged.</p>"
    table = Table(
        [*ACKNOWLEDGEMENT_COLUMNS, "file_name"],
        [
            tuple(str(record.get(c, "")) for c in (*ACKNOWLEDGEMENT_COLUMNS, "file_name"))
            for record in acknowledgements
        ],
    )
    return html_table(f"Alert acknowledgements ({len(table.rows)})", table)


def summary(runs: Table) -> str:
    index = {name: i for i, name in enumerate(runs.columns)}

    def total(name: str) -> int:
        return sum(int(row[index[name]] or 0) for row in runs.rows)

    records = total("input_rows")
    rate = total("quarantined_rows") / records if records else 0.0
    alerts = sum(1 for row in runs.rows if (row[index["quarantine_rate"]] or 0) > ALERT_RATE)
    items = [
        ("Runs", f"{len(runs.rows):,}"),
        ("Records in", f"{records:,}"),
        ("Valid", f"{total('valid_rows'):,}"),
        ("Quarantined", f"{total('quarantined_rows'):,}"),
        ("Exact duplicates", f"{total('duplicate_rows'):,}"),
        ("Quarantine rate", percent(rate)),
        (f"Runs above {percent_tick(ALERT_RATE)}", f"{alerts:,}"),
    ]
    cells = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in items)
    return f'<dl class="summary">{cells}</dl>'


STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 60rem;
       color: #1f2328; padding: 0 1rem; }
nav a { margin-right: 1rem; }
.summary { display: flex; flex-wrap: wrap; gap: 1rem; padding: 0; }
.summary div { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .8rem; }
.summary dt { font-size: .8rem; color: #57606a; } .summary dd { margin: 0; font-size: 1.2rem; }
figure { margin: 1.5rem 0; } svg.chart { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .85rem; margin-top: .5rem; }
th, td { border: 1px solid #d0d7de; padding: .2rem .5rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; padding: .3rem 0; }
"""


def render(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    built: datetime,
    acknowledgements: list[dict[str, object]] | None = None,
) -> str:
    codes = reason_columns(con)
    rows_chart, rate_chart, runs = runs_section(con, codes)
    balance_chart, totals, hidden = balances_section(con)
    rate_formats = {c: ".2%" for c in runs.columns if c.endswith("_rate")}
    hidden_note = (
        f" ({hidden} smaller {'currency' if hidden == 1 else 'currencies'} only in the table)"
        if hidden
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Run report - transaction lakehouse</title>
<style>{STYLE}</style>
</head>
<body>
<nav aria-label="Site"><a href="{DOCS_PAGE}">Docs site (models, lineage)</a>
<a href="#runs">Rows per run</a><a href="#quarantine">Quarantine</a>
<a href="#balances">Balances</a><a href="#acknowledgements">Acknowledged alerts</a></nav>
<main>
<h1>Run report</h1>
<p>Built {escape(built.strftime("%Y-%m-%d %H:%M UTC"))} from <code>{escape(warehouse.name)}</code>:
<code>fct_run_metrics</code> (one row per landed run) and <code>fct_month_end_balances</code>.
See the <a href="{DOCS_PAGE}">docs site</a> for what every model and column means.</p>
{summary(runs)}
<section id="runs" aria-labelledby="runs-heading">
<h2 id="runs-heading">Rows per run</h2>
<figure>{rows_chart}
<figcaption>Every record of a run is valid, quarantined or an exact duplicate.</figcaption>
</figure>
{html_table("Runs", runs, rate_formats)}
</section>
<section id="quarantine" aria-labelledby="quarantine-heading">
<h2 id="quarantine-heading">Quarantine rate by reason</h2>
<figure>{rate_chart}
<figcaption>Share of each run's records failing each validation code; the dashed line is the
alert threshold (dbt test <code>quarantine_rate_at_most</code>).</figcaption>
</figure>
</section>
<section id="balances" aria-labelledby="balances-heading">
<h2 id="balances-heading">Month-end balance totals</h2>
<figure>{balance_chart}
<figcaption>Sum of closing balances per month and currency{escape(hidden_note)}.</figcaption>
</figure>
{html_table("Month-end balance totals", totals)}
</section>
<section id="acknowledgements" aria-labelledby="acknowledgements-heading">
<h2 id="acknowledgements-heading">Acknowledged alerts</h2>
<p>Alerts an operator acknowledged for a run (<code>lakehouse acknowledge</code>): they no
longer fire for that run. Append-only: each acknowledgement is its own file.</p>
{acknowledgements_section(acknowledgements or [])}
</section>
</main>
</body>
</html>
"""


def build(lake_root: Path, static_docs: Path | None, site: Path) -> Path:
    warehouse = lake_root / "warehouse.duckdb"
    if not warehouse.is_file():
        raise ReportError(f"{warehouse}: no warehouse; run `make demo` (dbt build) first")
    if static_docs is not None and not static_docs.is_file():
        raise ReportError(f"{static_docs}: no static docs page; run `dbt docs generate --static`")
    with open_published(lake_root, "build_report") as (con, warehouse, _):
        published = con.sql(
            "select count(*) from information_schema.tables"
            f" where table_schema = '{PUBLISHED}' and table_name = 'fct_run_metrics'"
        ).fetchall()
        if published != [(1,)]:
            raise ReportError(
                f"{warehouse}: nothing published yet; run scripts/publish.py after a"
                " successful dbt build (make demo does)"
            )
        page = render(con, warehouse, datetime.now(UTC), read_acknowledgements(lake_root))
    site.mkdir(parents=True, exist_ok=True)
    report = site / REPORT_PAGE
    report.write_text(page, encoding="utf-8")
    if static_docs is not None:
        shutil.copyfile(static_docs, site / DOCS_PAGE)
    return report


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lake-root", type=Path, default=Path(os.environ.get("LAKE_ROOT", "lake")))
    parser.add_argument(
        "--static-docs",
        type=Path,
        default=Path("target/static_index.html"),
        help="dbt's static docs page, copied to SITE/index.html",
    )
    parser.add_argument("--no-docs", action="store_true", help="write the report page only")
    parser.add_argument("--site", type=Path, default=Path("site"), help="output directory")
    args = parser.parse_args(argv)
    refused = refuse_missing_lake(args.lake_root, prog)
    if refused is not None:
        return refused
    try:
        report = build(args.lake_root, None if args.no_docs else args.static_docs, args.site)
    except (ReportError, duckdb.Error) as error:
        print(f"build_report: error: {error}", file=sys.stderr)
        return 1
    docs = "" if args.no_docs else f" and {args.site / DOCS_PAGE}"
    print(f"build_report: wrote {report}{docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
