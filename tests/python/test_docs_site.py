"""`make docs` on a small lake, both pages opened in headless Chromium, asserted on the DOM.

The dbt docs page is an Angular app: its models, descriptions and lineage only exist after its
scripts ran, so every docs assertion is made on the DOM Chromium dumps with the scripts' source
removed (the embedded manifest JSON cannot satisfy them; a guard test proves it). The site and the
screenshots are kept in $TEST_ARTIFACTS_DIR (default test-reports/: site/, screenshots/), which CI
uploads.

Needs Debian's `chromium` (`make browser` installs it; $CHROMIUM names another binary). Without
it the browser tests skip and say why, unless REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pytest
from dbt_harness import FIXTURES, ROOT, Lake

from lakehouse.glossary import VALIDATION_GLOSSARY
from lakehouse.report import ALERT_RATE, STATUS_RULES, STATUS_WORDS

PACKAGE = "transaction_lakehouse"
MODEL_URL = f"#!/model/model.{PACKAGE}.fct_transactions?g_v=1"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-reports"))
SCREENSHOTS = ARTIFACTS / "screenshots"
BUDGET_MS = 5000  # virtual time: the page's timers run ahead of the clock; not wall time


@dataclass(frozen=True)
class Site:
    lake: Lake
    directory: Path


def chromium() -> str | None:
    """$CHROMIUM if set (a path or a name), else chromium on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named)
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    lake = Lake(tmp_path_factory.mktemp("site") / "lake")
    lake.land(*sorted((FIXTURES / "batches").glob("*.csv")))
    lake.build()
    published = subprocess.run(  # as make demo: the report reads the published marts
        [sys.executable, str(ROOT / "scripts" / "publish.py"), "--lake-root", str(lake.root),
         "--target-path", str(lake.root / "target")],
        env=lake.env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    directory = lake.root / "site"
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",  # the environment is the one running this test
            "docs",
            f"LAKE_ROOT={lake.root}",
            f"TARGET_PATH={lake.root / 'target'}",
            f"SITE_DIR={directory}",
        ],
        cwd=ROOT,
        env={**lake.env(), "DBT_LOG_PATH": str(lake.root / "logs")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    shutil.copytree(directory, ARTIFACTS / "site", dirs_exist_ok=True)  # kept for CI
    return Site(lake, directory)


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        reason = (
            "no chromium (or $CHROMIUM): run `make browser` (installs it with apt-get, as root)"
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return found


def render(
    browser: str, url: str, profile: Path, screenshot: str | None = None, height: int = 900
) -> str:
    """The page's DOM after its scripts ran (and a screenshot of it, when named: the first
    ``height`` pixels at 1280 wide, what a reader sees first)."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",  # root in containers; the pages are local files we built
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size=1280,{height}",
        f"--virtual-time-budget={BUDGET_MS}",
        "--dump-dom",
    ]
    if screenshot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        command.append(f"--screenshot={SCREENSHOTS / screenshot}")
    result = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=90, check=False
    )
    assert result.returncode == 0 and result.stdout, f"chromium {url}: {result.stderr[-2000:]}"
    return result.stdout


def rendered(dom: str) -> str:
    """The DOM without script and style source and comments: only what the page rendered."""
    for pattern in (r"<script\b.*?</script>", r"<style\b.*?</style>", r"<!--.*?-->"):
        dom = re.sub(pattern, "", dom, flags=re.S | re.I)
    return dom


def section(html: str, heading: str) -> str:
    """The rendered docs section under an <h6> heading, up to the next section."""
    match = re.search(rf"<h6>\s*{re.escape(heading)}\s*</h6>(.*?)</section>", html, flags=re.S)
    assert match, f"no rendered section {heading!r}"
    return match.group(1)


def test_static_page_renders_nothing_without_scripts(site: Site) -> None:
    """Guard: the model names are only in script data before rendering."""
    page = (site.directory / "index.html").read_text(encoding="utf-8")
    assert "fct_transactions" in page
    assert "fct_transactions" not in rendered(page)


def test_docs_page_renders_models_and_lineage(browser: str, site: Site, tmp_path: Path) -> None:
    url = (site.directory / "index.html").as_uri() + MODEL_URL
    html = rendered(render(browser, url, tmp_path / "profile", "docs_fct_transactions.png"))
    for model in ("fct_transactions", "fct_month_end_balances", "fct_quarantined_records"):
        assert f'data-nav-unique-id="model.{PACKAGE}.{model}"' in html, f"{model} not in the tree"
    assert "Processed transactions: one row per accepted TransactionID" in html
    # column types come from the catalog, i.e. from the built warehouse
    assert re.search(r">\s*transaction_id\s*<.*?>\s*VARCHAR\s*<", html, flags=re.S)
    parents = section(html, "Depends On")
    assert re.search(rf'href="#!/model/model\.{PACKAGE}\.int_transactions__classified[?"]', parents)
    # what reads the mart: the restatement lines (intermediate models read intermediate ones)
    children = section(html, "Referenced By")
    assert "fct_balance_restatement_lines" in children
    assert "int_transactions__summed_to_account_months" not in children
    # the lineage graph (cytoscape) drew its nodes on a canvas of real size
    canvas = re.search(r'<canvas[^>]*data-id="layer2-node"[^>]*width="(\d+)"', html)
    assert canvas and int(canvas.group(1)) > 0, "lineage graph not drawn"


def test_docs_overview_links_the_report(browser: str, site: Site, tmp_path: Path) -> None:
    url = (site.directory / "index.html").as_uri() + "#!/overview"
    html = rendered(render(browser, url, tmp_path / "profile"))
    assert re.search(r'<a[^>]+href="report\.html"', html), "overview has no link to the report"
    assert "Month-end balance report" in html or "month-end balance report" in html


def test_docs_overview_speaks_to_stakeholders(browser: str, site: Site, tmp_path: Path) -> None:
    url = (site.directory / "index.html").as_uri() + "#!/overview"
    html = rendered(render(browser, url, tmp_path / "profile", "docs_overview.png", 1400))
    seen = text(html)
    assert "Can I trust this month's numbers?" in seen
    for mart in ("fct_transactions", "fct_quarantined_records", "fct_month_end_balances",
                 "fct_run_metrics"):  # fmt: skip
        assert re.search(rf'href="#!/model/model\.{PACKAGE}\.{mart}"', html), mart
    assert "How to read a month-end balance" in seen and "NULL" in seen
    assert "finance_reporting" in seen and "data_quality" in seen
    for exposure in ("month_end_balance_report", "quarantine_review"):
        assert f'href="#!/exposure/exposure.{PACKAGE}.{exposure}"' in html, exposure


def test_lineage_link_opens_the_graph_from_the_exposures(
    browser: str, site: Site, tmp_path: Path
) -> None:
    page = (site.directory / "report.html").read_text(encoding="utf-8")
    link = re.search(r'<a href="(index\.html#!/overview\?g_v=1[^"]*)">Lineage</a>', page)
    assert link, "the report links no lineage view"
    url = (site.directory / "index.html").as_uri() + link.group(1).replace("&amp;", "&")[10:]
    html = rendered(render(browser, url, tmp_path / "profile", "docs_lineage_exposures.png"))
    # the app took the selection as its graph state (its own links carry it); the nodes are
    # drawn on a canvas, so what they show is checked on the screenshot, not here
    state = 'href="#!/overview?g_v=1&amp;g_i=%2Bexposure%3Amonth_end_balance_report'
    assert state in html, "the lineage selection was not applied"
    canvas = re.search(r'<canvas[^>]*data-id="layer2-node"[^>]*width="(\d+)"', html)
    assert canvas and int(canvas.group(1)) > 0, "lineage graph not drawn"


def _points(html: str, chart_id: str) -> list[dict[str, str]]:
    match = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, flags=re.S)
    assert match, f"chart {chart_id} missing"
    svg = match.group(0)
    assert re.search(r'role="img"', svg) and "<title" in svg and "<desc" in svg
    assert 'class="axis-label"' in svg
    return [
        dict(re.findall(r'data-(series|category|value)="([^"]*)"', point))
        for point in re.findall(r'<(?:rect|circle)[^>]*class="point"[^>]*>', svg)
    ]


def test_report_page_has_charts_with_the_warehouse_data(
    browser: str, site: Site, tmp_path: Path
) -> None:
    url = (site.directory / "report.html").as_uri()
    html = rendered(render(browser, url, tmp_path / "profile", "report.png"))
    assert 'href="index.html"' in html
    lake = site.lake
    runs = lake.query(
        "select valid_rows, quarantined_rows, duplicate_rows from main_marts.fct_run_metrics"
    )
    rows = _points(html, "chart-rows-per-run")
    for series, column in (("valid", 0), ("quarantined", 1), ("duplicate", 2)):
        drawn = sum(float(p["value"]) for p in rows if p["series"] == series)
        assert drawn == sum(run[column] for run in runs), series
    # runs are named by file and landing date, never by run id
    files = lake.query(
        "select source_file, strftime(landed_at, '%Y-%m-%d') from main_marts.fct_run_metrics"
    )
    labels = {p["category"] for p in rows}
    assert {label.split(" #")[0] for label in labels} == {f"{f} ({d})" for f, d in files}
    assert not any(re.search(r"\d{8}T\d{12}Z", label) for label in labels)
    rates = _points(html, "chart-quarantine-rate")
    assert {p["series"] for p in rates} >= {"all reasons", "SCHEMA_ERROR", "DUPLICATE_CONFLICT"}
    balances = _points(html, "chart-balance-EUR")
    months = {
        m for (m,) in lake.query("select distinct month from main_marts.fct_month_end_balances")
    }
    assert {p["category"] for p in balances} <= months and balances
    assert {p["series"] for p in balances} == {"EUR"}  # one currency per chart
    last_month = max(months)
    eur_total = lake.query(
        "select sum(closing_balance) from main_marts.fct_month_end_balances"
        f" where currency = 'EUR' and month = '{last_month}'"
    )[0][0]
    drawn = [p for p in balances if p["series"] == "EUR" and p["category"] == last_month]
    assert drawn and float(drawn[0]["value"]) == float(eur_total)
    assert '<th scope="col">run_id</th>' in html  # in the runs' data table, after the file


def expected_status(lake: Lake) -> str:
    """The status the fixture lake should get (no acknowledgement, fresh, published build)."""
    runs = lake.query(
        "select quarantine_rate, header_matches_contract from main_marts.fct_run_metrics"
    )
    if any((rate or 0) > ALERT_RATE or header is False for rate, header in runs):
        return "red"
    (rate,) = lake.query(
        "select sum(quarantined_rows) / sum(input_rows) from main_marts.fct_run_metrics"
    )[0]
    return "amber" if rate > ALERT_RATE else "green"


def text(html: str) -> str:
    """The rendered text, tags removed and blanks collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_report_answers_can_i_trust_the_numbers_first(
    browser: str, site: Site, tmp_path: Path
) -> None:
    url = (site.directory / "report.html").as_uri()
    html = rendered(render(browser, url, tmp_path / "profile", "report_status.png"))
    main = html[html.index("<main>") :]
    assert main.index('id="status"') < main.index("<section", main.index('id="status"') + 1)
    level = re.search(r'<section id="status"[^>]*data-status="(\w+)"', main).group(1)
    assert level == expected_status(site.lake)
    status = main[main.index('id="status"') : main.index("</section>")]
    seen = text(status)
    assert STATUS_WORDS[level] in seen
    assert "Last file landed" in seen and "Freshness" in seen and "transactions up to" in seen
    for rule in STATUS_RULES:  # the rule, in words, under the status
        assert escape(rule.text, quote=False) in status, rule.text
    if level == "red":  # the reason names the file and its landing date
        assert re.search(r"Alert not acknowledged: \S+ \(\d{4}-\d{2}-\d{2}\)", seen)


def test_report_shows_balances_per_currency_never_summed(
    browser: str, site: Site, tmp_path: Path
) -> None:
    url = (site.directory / "report.html").as_uri() + "#balances"
    html = rendered(render(browser, url, tmp_path / "profile", "report_balances.png", 1400))
    table = re.search(r'<table id="balances-per-currency">.*?</table>', html, flags=re.S)
    assert table, "no balances-per-currency table"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(0), flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    currencies = [c[0] for c in cells if c]
    lake = site.lake
    expected = lake.query(
        "select currency, sum(closing_balance) from main_marts.fct_month_end_balances"
        " where month = (select max(month) from main_marts.fct_month_end_balances)"
        " group by currency order by currency"
    )
    assert currencies == [c for c, _ in expected]  # one row per currency, no total row
    for row, (currency, total) in zip((c for c in cells if c), expected, strict=True):
        assert row[0] == currency and row[4] == ("" if total is None else str(total)), currency
    assert "never added together" in text(html)


def test_report_explains_the_codes_and_masks_personal_data(
    browser: str, site: Site, tmp_path: Path
) -> None:
    url = (site.directory / "report.html").as_uri() + "#glossary"
    html = rendered(render(browser, url, tmp_path / "profile", "report_glossary.png", 1400))
    for code in VALIDATION_GLOSSARY:
        row = re.search(rf'<tr id="code-{code.code}">(.*?)</tr>', html, flags=re.S)
        assert row, f"{code.code} not in the glossary"
        assert escape(code.meaning, quote=False) in row.group(1)
        assert escape(code.action, quote=False) in row.group(1)
    lake = site.lake
    samples = re.search(r'<table id="samples">.*?</table>', html, flags=re.S)
    top = re.search(r'<table id="top-files">.*?</table>', html, flags=re.S)
    quarantined = lake.query(
        "select account_id_raw, record_text from main_marts.fct_quarantined_records"
    )
    if quarantined:
        assert samples and top
        (worst,) = lake.query(
            "select source_file from main_marts.fct_run_metrics group by 1"
            " order by sum(quarantined_rows) desc, 1 limit 1"
        )[0]
        assert f"<td>{escape(worst, quote=False)}</td>" in top.group(0)
        assert "\u2022" in samples.group(0)
    for account, record in quarantined:  # nothing personal shown in full
        for value in (account, record):
            if value and len(value.strip()) > 6:
                assert escape(value, quote=False) not in html, value


def test_every_warehouse_column_is_described(site: Site) -> None:
    """Columns as built (catalog), not only as declared: none lacks a description."""
    target = site.lake.root / "target"
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    declared = {**manifest["nodes"], **manifest["sources"]}
    # A published relation is its mart, `select *` (docs/operating.md, "Write, audit, publish"):
    # its columns are described once, on the mart of the same name.
    published = f"source.{PACKAGE}.published."
    for unique_id, source in manifest["sources"].items():
        if unique_id.startswith(published):
            declared[unique_id] = declared[f"model.{PACKAGE}.{source['name']}"]
    missing = []
    for unique_id, entry in {**catalog["nodes"], **catalog["sources"]}.items():
        node = declared.get(unique_id)
        if node is None or node["package_name"] != PACKAGE:
            continue
        columns = {name.lower(): c for name, c in (node.get("columns") or {}).items()}
        missing += [
            f"{unique_id} column {name}"
            for name in entry["columns"]
            if not (columns.get(name.lower(), {}).get("description") or "").strip()
        ]
    assert not missing, "built columns without a description:\n" + "\n".join(sorted(missing))
