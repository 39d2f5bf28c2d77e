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
from pathlib import Path

import pytest
from dbt_harness import FIXTURES, ROOT, Lake

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


def render(browser: str, url: str, profile: Path, screenshot: str | None = None) -> str:
    """The page's DOM after its scripts ran (and a screenshot of it, when named)."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",  # root in containers; the pages are local files we built
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
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
    # what reads the mart: the case's Task 3 analysis (intermediate models read intermediate ones)
    children = section(html, "Referenced By")
    assert "task3_month_end_balances" in children
    assert "int_transactions__summed_to_account_months" not in children
    # the lineage graph (cytoscape) drew its nodes on a canvas of real size
    canvas = re.search(r'<canvas[^>]*data-id="layer2-node"[^>]*width="(\d+)"', html)
    assert canvas and int(canvas.group(1)) > 0, "lineage graph not drawn"


def test_docs_overview_links_the_report(browser: str, site: Site, tmp_path: Path) -> None:
    url = (site.directory / "index.html").as_uri() + "#!/overview"
    html = rendered(render(browser, url, tmp_path / "profile"))
    assert re.search(r'<a[^>]+href="report\.html"', html), "overview has no link to the report"
    assert "Month-end balance report" in html or "month-end balance report" in html


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
    assert {p["category"] for p in rows} == {str(i) for i in range(1, len(runs) + 1)}
    rates = _points(html, "chart-quarantine-rate")
    assert {p["series"] for p in rates} >= {"all reasons", "SCHEMA_ERROR", "DUPLICATE_CONFLICT"}
    balances = _points(html, "chart-balance-totals")
    months = {
        m for (m,) in lake.query("select distinct month from main_marts.fct_month_end_balances")
    }
    assert {p["category"] for p in balances} <= months and balances
    last_month = max(months)
    eur_total = lake.query(
        "select sum(closing_balance) from main_marts.fct_month_end_balances"
        f" where currency = 'EUR' and month = '{last_month}'"
    )[0][0]
    drawn = [p for p in balances if p["series"] == "EUR" and p["category"] == last_month]
    assert drawn and float(drawn[0]["value"]) == float(eur_total)
    assert html.count("<table>") == 2 and '<th scope="col">run_id</th>' in html


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
