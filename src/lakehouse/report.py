#!/usr/bin/env python3
"""Build the stakeholder site: the static dbt docs page and a run report with charts.

Usage: lakehouse report [--lake-root DIR] [--static-docs FILE] [--site DIR]

Reads the DuckDB warehouse (``DIR/warehouse.duckdb``; DIR: ``$LAKE_ROOT``, else ``./lake``):
the published marts (``main_published``, as of the last build that passed its tests;
``lakehouse publish`` writes them; the quarantine's lifecycle included: open records by age band
and the oldest few, account ids masked), the latest build's ``fct_run_metrics`` (to tell whether it
was published), the landed runs, and the lake's alert acknowledgements
(``DIR/acknowledgements/``, ``lakehouse acknowledge``). Writes ``SITE/report.html``, which
answers "can I trust these numbers?" first: a status (green, amber or red: STATUS_RULES, the
one statement of the rule, shown on the page) with its reasons, the last landing and the
data's freshness; then closing balances per currency (never summed across currencies), runs by
file name and landing date, the files with the most quarantined rows and a few masked sample
rows, the validation codes in plain language (lakehouse.glossary) and the acknowledgements.
Charts are inline SVG with a data table under each, no script and no network. It copies dbt's
``dbt docs generate --static`` page (default ``target/static_index.html``) to
``SITE/index.html``. The two pages link to each other. Exit 1 with a message naming the file
when the warehouse, its published marts or the docs page is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path

import duckdb

from lakehouse.acknowledge import read_acknowledgements
from lakehouse.charts import Chart, Series, bar_chart, compact, line_chart
from lakehouse.glossary import VALIDATION_GLOSSARY
from lakehouse.lake_root import refuse_missing_lake
from lakehouse.published_copy import open_published

# What consumers read: the marts as of the last published build
# (docs/operating.md, "Write, audit, publish").
PUBLISHED = "main_published"
BUILT = "main_marts"  # the latest build's marts, published or not
LANDED = "main_raw.transaction_manifests"  # every landed run
CODE_PREFIX = "quarantined_"
NOT_CODES = {"quarantined_rows"}
ALERT_RATE = 0.01  # the quarantine_rate alert's threshold (dbt test quarantine_rate_at_most)
STALE_AFTER_DAYS = 7  # files are expected at least weekly: older data is flagged
MAX_CURRENCIES = 6
TOP_FILES = 5
SAMPLE_ROWS = 6
KEEP_CHARACTERS = 4  # a masked value shows only its last characters
MASK = "\u2022"
DOCS_PAGE = "index.html"
REPORT_PAGE = "report.html"
# The docs site's lineage, selected from the exposures (dbt's static page has no default
# selection; its URL state g_v/g_i is the way to open it so).
LINEAGE = (
    f"{DOCS_PAGE}#!/overview?g_v=1"
    "&g_i=%2Bexposure%3Amonth_end_balance_report%20%2Bexposure%3Aquarantine_review"
)
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


def mask(value: str | None, keep: int = KEEP_CHARACTERS) -> str:
    """Personal data for display: every character but the last ``keep`` replaced (at most
    eight mask characters, so the length is not told either): 'ACC000196' -> '•••••0196'."""
    if value is None:
        return ""
    if len(value) <= keep:
        return MASK * len(value)
    return MASK * min(len(value) - keep, 8) + value[-keep:]


def html_table(
    caption: str,
    table: Table,
    formats: dict[str, str] | None = None,
    folded: bool = True,
    table_id: str | None = None,
) -> str:
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
    identity = f' id="{table_id}"' if table_id else ""
    html = (
        f"<table{identity}><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    if not folded:
        return html
    return f"<details><summary>Data table: {escape(caption)}</summary>{html}</details>"


# -- status: can I trust these numbers? ------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the status is judged on, read from the warehouse and the lake."""

    now: datetime
    runs: int
    published_built_at: datetime | None
    latest_built_at: datetime | None  # the latest build's fct_run_metrics, published or not
    unacknowledged_alerts: list[str]  # "file (landed date): what fired"
    quarantine_rate: float  # over every published run
    last_landed_at: datetime | None
    waiting_files: list[str] = field(default_factory=list)  # landed, not yet in a build


@dataclass(frozen=True)
class Rule:
    level: str  # red or amber
    text: str  # the rule in words, shown on the page
    check: Callable[[Facts], str | None]  # the reason in words when the rule applies


def _build_not_published(facts: Facts) -> str | None:
    latest, published = facts.latest_built_at, facts.published_built_at
    if latest is not None and published is not None and latest > published:
        return (
            f"The latest build ({latest:%Y-%m-%d %H:%M} UTC) failed its checks and was not"
            f" published: these numbers are from the build of {published:%Y-%m-%d %H:%M} UTC."
        )
    return None


def _alerts(facts: Facts) -> str | None:
    if facts.unacknowledged_alerts:
        return "Alert not acknowledged: " + "; ".join(facts.unacknowledged_alerts) + "."
    return None


def _quarantine_rate(facts: Facts) -> str | None:
    if facts.quarantine_rate > ALERT_RATE:
        return (
            f"{percent(facts.quarantine_rate)} of all records received were quarantined, above"
            f" the {percent_tick(ALERT_RATE)} limit."
        )
    return None


def _stale(facts: Facts) -> str | None:
    if facts.last_landed_at is None:
        return "No file has been landed yet."
    age = facts.now.replace(tzinfo=None) - facts.last_landed_at
    if age > timedelta(days=STALE_AFTER_DAYS):
        return (
            f"The last file arrived {age.days} days ago ({facts.last_landed_at:%Y-%m-%d}),"
            f" more than {STALE_AFTER_DAYS} days: newer transactions may be missing."
        )
    return None


def _waiting(facts: Facts) -> str | None:
    if facts.waiting_files:
        return (
            f"{len(facts.waiting_files)} landed file(s) are not in these numbers yet (waiting for"
            f" the next build): {', '.join(facts.waiting_files)}."
        )
    return None


# The status rule, the one place it is written: red if any red rule applies, else amber if any
# amber rule applies, else green. The page shows these texts under the status.
STATUS_RULES: tuple[Rule, ...] = (
    Rule(
        "red",
        "the latest build failed its checks, so it was not published (the page shows the last"
        " published numbers)",
        _build_not_published,
    ),
    Rule(
        "red",
        f"a run has an alert nobody acknowledged: more than {percent_tick(ALERT_RATE)} of its"
        " records quarantined, or a header that does not match the file contract",
        _alerts,
    ),
    Rule(
        "amber",
        f"more than {percent_tick(ALERT_RATE)} of all records received were quarantined (also"
        " when every file's alert was acknowledged)",
        _quarantine_rate,
    ),
    Rule("amber", f"the last file arrived more than {STALE_AFTER_DAYS} days ago", _stale),
    Rule("amber", "a landed file is not in the published numbers yet", _waiting),
)
STATUS_WORDS = {
    "green": "Green: the numbers can be used",
    "amber": "Amber: usable, with the caveat below",
    "red": "Red: do not use these numbers before the data-quality team has looked",
}


@dataclass(frozen=True)
class Status:
    level: str
    reasons: list[str]


def judge(facts: Facts) -> Status:
    """Apply STATUS_RULES: the worst level that applies, with every reason that applies."""
    found = [(rule.level, reason) for rule in STATUS_RULES if (reason := rule.check(facts))]
    for level in ("red", "amber"):
        if any(found_level == level for found_level, _ in found):
            return Status(level, [reason for _, reason in found])
    return Status(
        "green",
        [
            "The latest build passed its checks and is published, no alert is open, "
            f"{percent(facts.quarantine_rate)} of records were quarantined and the last file"
            f" arrived within {STALE_AFTER_DAYS} days."
        ],
    )


def _built_at(con: duckdb.DuckDBPyConnection, schema: str) -> datetime | None:
    """The build time of a schema's fct_run_metrics; None when it does not exist."""
    try:
        return con.sql(f"select max(built_at) from {schema}.fct_run_metrics").fetchall()[0][0]
    except duckdb.Error:  # a relation the lake does not have (yet): unknown, not an error
        return None


def run_label(source_file: str, landed_at: datetime | None) -> str:
    return f"{source_file} ({landed_at:%Y-%m-%d})" if landed_at else source_file


def facts_from(
    con: duckdb.DuckDBPyConnection,
    runs: Table,
    labels: list[str],
    acknowledgements: list[dict[str, object]],
    now: datetime,
) -> Facts:
    index = {name: i for i, name in enumerate(runs.columns)}
    acknowledged = {(str(a.get("alert")), str(a.get("run_id"))) for a in acknowledgements}
    alerts = []
    for label, row in zip(labels, runs.rows, strict=True):
        run_id, rate = row[index["run_id"]], row[index["quarantine_rate"]] or 0.0
        if rate > ALERT_RATE and ("quarantine_rate", run_id) not in acknowledged:
            alerts.append(f"{label}: {percent(rate)} of its records quarantined")
        header_ok = row[index["header_matches_contract"]]
        if header_ok is False and ("schema_drift", run_id) not in acknowledged:
            alerts.append(f"{label}: its header does not match the file contract")
    records = sum(int(row[index["input_rows"]] or 0) for row in runs.rows)
    quarantined = sum(int(row[index["quarantined_rows"]] or 0) for row in runs.rows)
    published_runs = {row[index["run_id"]] for row in runs.rows}
    try:
        landed = con.sql(f"select run_id, file_name, landed_at from {LANDED} order by run_id")
        waiting = [
            run_label(name, landed_at)
            for run_id, name, landed_at in landed.fetchall()
            if run_id not in published_runs
        ]
    except duckdb.Error:
        waiting = []
    return Facts(
        now=now,
        runs=len(runs.rows),
        published_built_at=_built_at(con, PUBLISHED),
        latest_built_at=_built_at(con, BUILT),
        unacknowledged_alerts=alerts,
        quarantine_rate=quarantined / records if records else 0.0,
        last_landed_at=max(
            (row[index["landed_at"]] for row in runs.rows if row[index["landed_at"]]),
            default=None,
        ),
        waiting_files=waiting,
    )


def status_section(status: Status, facts: Facts, runs: Table) -> str:
    index = {name: i for i, name in enumerate(runs.columns)}
    last_tx = max(
        (
            row[index["last_transaction_ts"]]
            for row in runs.rows
            if row[index["last_transaction_ts"]]
        ),
        default=None,
    )
    age = (
        f"{(facts.now.replace(tzinfo=None) - facts.last_landed_at).days} days ago"
        if facts.last_landed_at
        else "never"
    )
    items = [
        (
            "Last file landed",
            f"{facts.last_landed_at:%Y-%m-%d %H:%M} UTC" if facts.last_landed_at else "none",
        ),
        (
            "Freshness",
            f"last landing {age}; transactions up to {last_tx:%Y-%m-%d}" if last_tx else age,
        ),
        (
            "Published build",
            f"{facts.published_built_at:%Y-%m-%d %H:%M} UTC"
            if facts.published_built_at
            else "none",
        ),
        ("Files (runs) landed", f"{facts.runs:,}"),
        ("Quarantine rate", percent(facts.quarantine_rate)),
    ]
    facts_html = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in items)
    reasons = "".join(f"<li>{escape(r)}</li>" for r in status.reasons)
    rules = "".join(
        f"<li><strong>{rule.level.capitalize()}</strong> if {escape(rule.text)};</li>"
        for rule in STATUS_RULES
    )
    return f"""<section id="status" class="status status-{status.level}"
 aria-labelledby="status-heading" data-status="{status.level}">
<h2 id="status-heading">Can I trust these numbers?</h2>
<p class="status-word" role="status"><span class="light" aria-hidden="true"></span>
{escape(STATUS_WORDS[status.level])}</p>
<ul class="status-reasons">{reasons}</ul>
<dl class="summary">{facts_html}</dl>
<details><summary>How the status is decided</summary>
<ul>{rules}<li><strong>Green</strong> otherwise.</li></ul>
<p>Red outranks amber. An operator stops an alert for a run with <code>lakehouse acknowledge</code>
(listed at the end of this page).</p></details>
</section>"""


# -- runs, quarantine ---------------------------------------------------------------------------


def runs_section(
    con: duckdb.DuckDBPyConnection, codes: list[str]
) -> tuple[str, str, Table, list[str]]:
    rate_by_code = ", ".join(
        f"round({c} / nullif(input_rows, 0), 6) as {c.removeprefix(CODE_PREFIX)}_rate"
        for c in codes
    )
    runs = query(
        con,
        "select source_file, landed_at, input_rows, valid_rows, quarantined_rows,"
        " duplicate_rows, quarantine_rate, header_matches_contract, first_transaction_ts,"
        " last_transaction_ts,"
        f" {', '.join(codes)}{', ' if codes else ''}{rate_by_code}{', ' if codes else ''}run_id"
        f" from {PUBLISHED}.fct_run_metrics order by run_id",
    )
    index = {name: i for i, name in enumerate(runs.columns)}
    labels: list[str] = []
    for row in runs.rows:
        label = run_label(row[index["source_file"]], row[index["landed_at"]])
        repeat = sum(1 for seen in labels if seen == label or seen.startswith(label + " #"))
        labels.append(f"{label} #{repeat + 1}" if repeat else label)

    def column(name: str) -> list[float | None]:
        return [None if row[index[name]] is None else float(row[index[name]]) for row in runs.rows]

    rows_chart = bar_chart(
        Chart(
            chart_id="chart-rows-per-run",
            title="Rows per file received",
            summary=(
                f"Stacked bars, one per landed file ({len(labels)} files, in landing order,"
                " named with their landing date): valid, quarantined and duplicate records."
            ),
            x_label="File (landing date), in landing order",
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
            title="Quarantine rate by reason, per file",
            summary=(
                "One line per validation code: the share of the file's records that failed it"
                " (a record can fail several codes), and the overall quarantine rate, against"
                f" the {percent_tick(ALERT_RATE)} alert threshold. A file without records"
                " leaves a gap."
            ),
            x_label="File (landing date), in landing order",
            y_label="Share of the file's records",
            categories=labels,
            series=[Series("all reasons", column("quarantine_rate")), *rate_series],
            value_format=percent,
            tick_format=percent_tick,
        ),
        threshold=(ALERT_RATE, f"alert: {percent_tick(ALERT_RATE)}"),
    )
    return rows_chart, rate_chart, runs, labels


def runs_table(runs: Table, labels: list[str]) -> Table:
    """The runs for the reader: the file and its landing date first, the run id last."""
    shown = [c for c in runs.columns if c not in ("source_file", "landed_at", "run_id")]
    index = {name: i for i, name in enumerate(runs.columns)}
    return Table(
        ["file (landing date)", "landed_at", *shown, "run_id"],
        [
            (label, row[index["landed_at"]], *(row[index[c]] for c in shown), row[index["run_id"]])
            for label, row in zip(labels, runs.rows, strict=True)
        ],
    )


def top_files(con: duckdb.DuckDBPyConnection) -> Table:
    return query(
        con,
        "select source_file as file, count(*) as landings, min(landed_at)::date as first_landed,"
        " sum(input_rows) as records, sum(quarantined_rows) as quarantined,"
        " round(sum(quarantined_rows) / nullif(sum(input_rows), 0) * 100, 2) as quarantined_pct"
        f" from {PUBLISHED}.fct_run_metrics group by source_file"
        f" having sum(quarantined_rows) > 0 order by quarantined desc, file limit {TOP_FILES}",
    )


def quarantine_samples(con: duckdb.DuckDBPyConnection) -> Table:
    """A few quarantined records, one per code first, personal data masked."""
    rows = con.sql(
        "select validation_error, source_file, ingest_date, line_number, account_id_raw,"
        " amount_raw, currency_raw, transaction_ts_raw, record_text"
        f" from {PUBLISHED}.fct_quarantined_records"
        " qualify row_number() over (partition by validation_error"
        " order by run_id, line_number) = 1"
        f" order by validation_error limit {SAMPLE_ROWS}"
    ).fetchall()
    return Table(
        [
            "code",
            "file (landing date)",
            "line",
            "account (masked)",
            "amount",
            "currency",
            "timestamp",
            "record as received (masked)",
        ],
        [
            (code, f"{file} ({day})", line, mask(account), amt, cur, ts, mask(text))
            for code, file, day, line, account, amt, cur, ts, text in rows
        ],
    )


# The open quarantine (fct_quarantine_lifecycle): open records by age band, the oldest few.
AGE_BANDS = ((0, 6, "under 7 days"), (7, 29, "7 to 29 days"), (30, 89, "30 to 89 days"))
OLDEST_OPEN = 5
LIFECYCLE = f"{PUBLISHED}.fct_quarantine_lifecycle"


def age_band(days: int) -> str:
    for low, high, label in AGE_BANDS:
        if low <= days <= high:
            return label
    return f"{AGE_BANDS[-1][1] + 1} days or more"


@dataclass(frozen=True)
class OpenQuarantine:
    by_status: Table  # status, records
    by_age: Table  # age band, open records
    oldest: Table  # the oldest open records, personal data masked


def open_quarantine(con: duckdb.DuckDBPyConnection, now: datetime) -> OpenQuarantine | None:
    """The published lifecycle's statuses, the open records by age band (whole days since they
    became open, as of ``now``) and the oldest few; None when it is not published yet."""
    try:
        statuses = con.sql(f"select status, count(*) from {LIFECYCLE} group by status").fetchall()
    except duckdb.CatalogException:
        return None
    counted = dict(statuses)
    order = ("open", "resolved", "waived", "condemned")
    by_status = Table(["status", "records"], [(s, int(counted.get(s, 0))) for s in order])
    stamp = now.astimezone(UTC).replace(tzinfo=None)
    rows = con.sql(
        "select floor(date_diff('microsecond', lifecycle.status_since, ?::timestamp)"
        " / 86400000000.0)::bigint as age_days, lifecycle.source_file, lifecycle.ingest_date,"
        " lifecycle.line_number, lifecycle.transaction_id_raw, lifecycle.validation_error,"
        " lifecycle.owner, quarantined.account_id_raw"
        f" from {LIFECYCLE} as lifecycle"
        f" left join {PUBLISHED}.fct_quarantined_records as quarantined"
        " on lifecycle.run_id = quarantined.run_id"
        " and lifecycle.line_number = quarantined.line_number"
        " where lifecycle.status = 'open'"
        " order by lifecycle.status_since, lifecycle.run_id, lifecycle.line_number",
        params=[stamp],
    ).fetchall()
    bands: dict[str, int] = {label: 0 for *_, label in AGE_BANDS}
    bands[age_band(AGE_BANDS[-1][1] + 1)] = 0
    for row in rows:
        bands[age_band(max(int(row[0]), 0))] += 1
    oldest = Table(
        [
            "open for (days)",
            "file (landing date)",
            "line",
            "TransactionID",
            "codes",
            "owner",
            "account (masked)",
        ],
        [
            (age, f"{file} ({day})", line, tx or "", codes, owner, mask(account))
            for age, file, day, line, tx, codes, owner, account in rows[:OLDEST_OPEN]
        ],
    )
    return OpenQuarantine(by_status, Table(["open for", "records"], list(bands.items())), oldest)


def open_quarantine_section(found: OpenQuarantine | None) -> str:
    if found is None:
        return "<p>The quarantine's lifecycle is not published yet (the next build adds it).</p>"
    counts = dict(found.by_status.rows)
    summary = (
        f"<p>{counts['open']:,} open, {counts['resolved']:,} resolved by a later delivery,"
        f" {counts['waived']:,} waived and {counts['condemned']:,} condemned.</p>"
    )
    if not counts["open"]:
        return summary + "<p>No quarantined record is open.</p>"
    return (
        summary
        + html_table(
            "Open quarantined records by age", found.by_age, folded=False, table_id="open-by-age"
        )
        + html_table(
            f"The {len(found.oldest.rows)} oldest open records (masked)",
            found.oldest,
            folded=False,
            table_id="oldest-open",
        )
    )


def glossary_section() -> str:
    rows = "".join(
        f'<tr id="code-{c.code}"><th scope="row"><code>{escape(c.code)}</code></th>'
        f"<td>{escape(c.meaning)}</td><td>{escape(c.action)}</td></tr>"
        for c in VALIDATION_GLOSSARY
    )
    return (
        '<table class="glossary"><caption>Validation codes</caption><thead><tr>'
        '<th scope="col">Code</th><th scope="col">What it means</th>'
        '<th scope="col">What to do</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


# -- balances -------------------------------------------------------------------------------------


def month_range(months: list[str]) -> list[str]:
    """Every month from the first to the last (a month without data is still a category)."""
    if not months:
        return []
    year, month = map(int, min(months).split("-"))
    out, last = [], max(months)
    while (label := f"{year:04d}-{month:02d}") <= last:
        out.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def balances_section(con: duckdb.DuckDBPyConnection) -> tuple[str, str, Table, int]:
    """Per currency, never summed across currencies: the latest month's table and one chart per
    currency of its month-end total (a bar per month; a month without data has no bar)."""
    totals = query(
        con,
        "select currency, month, sum(closing_balance) as closing_balance_total,"
        " count(closing_balance) as accounts,"
        " count(*) filter (where closing_balance > 0) as in_credit,"
        " count(*) filter (where closing_balance < 0) as overdrawn,"
        " sum(tx_count) as transactions"
        f" from {PUBLISHED}.fct_month_end_balances"
        " group by currency, month order by currency, month",
    )
    months = month_range(sorted({row[1] for row in totals.rows}))
    by_currency: dict[str, dict[str, tuple]] = {}
    for row in totals.rows:
        by_currency.setdefault(row[0], {})[row[1]] = row
    latest = months[-1] if months else ""
    previous = months[-2] if len(months) > 1 else None
    latest_rows = []
    for currency in sorted(by_currency):
        row = by_currency[currency].get(latest)
        before = by_currency[currency].get(previous) if previous else None
        total = row[2] if row else None
        change = (
            total - before[2]
            if total is not None and before is not None and before[2] is not None
            else None
        )
        latest_rows.append(
            (
                currency,
                row[3] if row else 0,
                row[4] if row else 0,
                row[5] if row else 0,
                total,
                change,
            )
        )
    latest_table = Table(
        [
            "currency",
            "accounts",
            "in credit",
            "overdrawn",
            f"total closing balance {latest}",
            f"change since {previous or '-'}",
        ],
        latest_rows,
    )
    ranked = sorted(by_currency, key=lambda c: -max(r[3] for r in by_currency[c].values()))
    shown = sorted(ranked[:MAX_CURRENCIES])
    charts = []
    for currency in shown:
        values = [
            None if (r := by_currency[currency].get(m)) is None or r[2] is None else float(r[2])
            for m in months
        ]
        charts.append(
            '<figure class="small">'
            + bar_chart(
                Chart(
                    chart_id=f"chart-balance-{currency}",
                    title=f"{currency}: total closing balance per month",
                    summary=(
                        f"One bar per month: the sum of the closing balances of the {currency}"
                        " accounts at the month's end, in {currency}. A month without data has"
                        " no bar."
                    ).replace("{currency}", currency),
                    x_label="Month (UTC)",
                    y_label=f"{currency}",
                    categories=months,
                    series=[Series(currency, values)],
                    value_format=amount,
                    tick_format=compact,
                )
            )
            + "</figure>"
        )
    return (
        html_table(
            f"Balances per currency, {latest}",
            latest_table,
            folded=False,
            table_id="balances-per-currency",
        ),
        "\n".join(charts),
        totals,
        len(ranked) - len(shown),
    )


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


STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 60rem;
       color: #1f2328; padding: 0 1rem; }
nav a { margin-right: 1rem; }
.summary { display: flex; flex-wrap: wrap; gap: 1rem; padding: 0; }
.summary div { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .8rem; }
.summary dt { font-size: .8rem; color: #57606a; } .summary dd { margin: 0; font-size: 1.1rem; }
.status { border: 2px solid; border-radius: 8px; padding: .2rem 1.2rem 1rem; }
.status-green { border-color: #1a7f37; background: #f0fff4; }
.status-amber { border-color: #9a6700; background: #fff8e5; }
.status-red { border-color: #cf222e; background: #fff0f0; }
.status-word { font-size: 1.4rem; font-weight: bold; margin: .4rem 0; }
.light { display: inline-block; width: 1rem; height: 1rem; border-radius: 50%;
         vertical-align: -.1rem; margin-right: .4rem; }
.status-green .light { background: #1a7f37; } .status-amber .light { background: #bf8700; }
.status-red .light { background: #cf222e; }
figure { margin: 1.5rem 0; } svg.chart { max-width: 100%; height: auto; }
figure.small { display: inline-block; width: 48%; margin: .5rem 0; vertical-align: top; }
table { border-collapse: collapse; font-size: .85rem; margin-top: .5rem; }
th, td { border: 1px solid #d0d7de; padding: .2rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; padding: .3rem 0; }
"""


def render(
    con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    built: datetime,
    acknowledgements: list[dict[str, object]] | None = None,
) -> str:
    acknowledgements = acknowledgements or []
    codes = reason_columns(con)
    rows_chart, rate_chart, runs, labels = runs_section(con, codes)
    facts = facts_from(con, runs, labels, acknowledgements, built)
    status = judge(facts)
    balance_table, balance_charts, totals, hidden = balances_section(con)
    table = runs_table(runs, labels)
    rate_formats = {c: ".2%" for c in table.columns if c.endswith("_rate")}
    hidden_note = (
        f" {hidden} smaller {'currency is' if hidden == 1 else 'currencies are'} only in the"
        " tables."
        if hidden
        else ""
    )
    files = top_files(con)
    samples = quarantine_samples(con)
    lifecycle = open_quarantine(con, built)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Run report - transaction lakehouse</title>
<style>{STYLE}</style>
</head>
<body>
<nav aria-label="Site"><a href="{DOCS_PAGE}">Docs site (what each table means)</a>
<a href="{escape(LINEAGE)}">Lineage</a>
<a href="#status">Status</a><a href="#balances">Balances</a><a href="#runs">Files received</a>
<a href="#quarantine">Quarantine</a><a href="#open-quarantine">Open quarantine</a>
<a href="#glossary">Codes</a>
<a href="#acknowledgements">Acknowledged alerts</a></nav>
<main>
<h1>Transactions: run report</h1>
<p>Built {escape(built.strftime("%Y-%m-%d %H:%M UTC"))} from <code>{escape(warehouse.name)}</code>,
the published numbers (as of the last build that passed every check). See the
<a href="{DOCS_PAGE}">docs site</a> for what every table and column means.</p>
{status_section(status, facts, runs)}
<section id="balances" aria-labelledby="balances-heading">
<h2 id="balances-heading">Month-end balances per currency</h2>
<p>Each currency on its own: amounts in different currencies are never added together (there is
no conversion). A balance is the account's closing balance at the month's end; an account that
has not had any transaction yet has none and is not counted.{escape(hidden_note)}</p>
{balance_table}
{balance_charts}
{html_table("Month-end balances per currency and month", totals)}
</section>
<section id="runs" aria-labelledby="runs-heading">
<h2 id="runs-heading">Files received</h2>
<figure>{rows_chart}
<figcaption>Every record of a file is valid (booked), quarantined (set aside, see below) or an
exact duplicate of a record already booked (kept once).</figcaption>
</figure>
{html_table("Files received (runs)", table, rate_formats)}
</section>
<section id="quarantine" aria-labelledby="quarantine-heading">
<h2 id="quarantine-heading">Quarantined records</h2>
<figure>{rate_chart}
<figcaption>Share of each file's records failing each validation code; the dashed line is the
alert threshold (dbt test <code>quarantine_rate_at_most</code>).</figcaption>
</figure>
<h3>Files with the most quarantined records</h3>
{
        html_table(
            "Files with the most quarantined records", files, folded=False, table_id="top-files"
        )
        if files.rows
        else "<p>No record has been quarantined.</p>"
    }
<h3>Sample quarantined records</h3>
<p>One record per code. Account ids and the record as received are personal data: all but their
last {KEEP_CHARACTERS} characters are masked. The full records are in
<code>fct_quarantined_records</code>, for the data-quality team only.</p>
{
        html_table("Sample quarantined records (masked)", samples, folded=False, table_id="samples")
        if samples.rows
        else "<p>No record has been quarantined.</p>"
    }
</section>
<section id="open-quarantine" aria-labelledby="open-quarantine-heading">
<h2 id="open-quarantine-heading">Open quarantine</h2>
<p>Every quarantined record is open until a later file delivers an accepted version of its
TransactionID (resolved), or the data-quality team waives it (the finding accepted as it is) or
condemns it (it will never be fixed) with <code>lakehouse quarantine decide</code>. Age: whole
days since the record became open. Account ids are masked as above.</p>
{open_quarantine_section(lifecycle)}
</section>
<section id="glossary" aria-labelledby="glossary-heading">
<h2 id="glossary-heading">What the quarantine codes mean</h2>
<p>A quarantined record is not booked: it is kept, untouched, until the sender corrects it in a
new file (or it is waived or condemned; see "Open quarantine"). Nothing is edited in the
lake.</p>
{glossary_section()}
</section>
<section id="acknowledgements" aria-labelledby="acknowledgements-heading">
<h2 id="acknowledgements-heading">Acknowledged alerts</h2>
<p>Alerts an operator acknowledged for a run (<code>lakehouse acknowledge</code>): they no
longer fire for that run. Append-only: each acknowledgement is its own file.</p>
{acknowledgements_section(acknowledgements)}
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
