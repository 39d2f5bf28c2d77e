"""Every documented thing of this project has a description (checked on dbt's parsed manifest).

Runs `dbt parse` (DuckDB target, a throw-away LAKE_ROOT) and reads target/manifest.json: every
model, analysis, seed, snapshot, source table, exposure and macro of the package
transaction_lakehouse, and every column they declare (contracted models declare all of theirs),
has a non-empty description. Generated test nodes are not checked (dbt writes no description for
them); the generic tests' macros are.
"""

from __future__ import annotations

import json
import re

import pytest
from dbt_harness import ROOT, Lake

PACKAGE = "transaction_lakehouse"
DESCRIBED_NODES = {"model", "analysis", "seed", "snapshot"}
EXPOSURES = {"month_end_balance_report", "quarantine_review"}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    lake = Lake(tmp_path_factory.mktemp("docs") / "lake")
    lake.dbt("parse", "--target", "duckdb")
    return json.loads((lake.root / "target" / "manifest.json").read_text(encoding="utf-8"))


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _undescribed(manifest: dict) -> list[str]:
    missing: list[str] = []
    resources = [
        *(n for n in manifest["nodes"].values() if n["resource_type"] in DESCRIBED_NODES),
        *manifest["sources"].values(),
        *manifest["exposures"].values(),
        *manifest["macros"].values(),
    ]
    for node in resources:
        if node["package_name"] != PACKAGE:
            continue
        where = f"{node['unique_id']} ({node['original_file_path']})"
        if _blank(node.get("description")):
            missing.append(where)
        missing += [
            f"{where} column {name}"
            for name, column in (node.get("columns") or {}).items()
            if _blank(column.get("description"))
        ]
    return sorted(missing)


def test_every_resource_and_column_is_described(manifest: dict) -> None:
    missing = _undescribed(manifest)
    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_the_check_sees_the_project(manifest: dict) -> None:
    """Guards the check itself: it must look at this project's resources, not an empty set."""
    ours = [m for m in manifest["macros"].values() if m["package_name"] == PACKAGE]
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(ours) > 20 and len(models) >= 5
    assert any(m["name"] == "test_unique_combination" for m in ours), "generic tests' macros"


def test_exposures_name_their_consumers(manifest: dict) -> None:
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) >= EXPOSURES, f"missing exposures: {EXPOSURES - set(exposures)}"
    for name in EXPOSURES:
        exposure = exposures[name]
        assert exposure["owner"].get("name") and exposure["owner"].get("email"), name
        assert exposure["maturity"] in {"low", "medium", "high"}, name
        assert exposure["depends_on"]["nodes"], f"{name} depends on nothing"
    # consumers read the published marts (write, audit, publish), not the audit area
    assert exposures["month_end_balance_report"]["depends_on"]["nodes"] == [
        "source.transaction_lakehouse.published.fct_month_end_balances"
    ]
    for name in EXPOSURES:
        nodes = exposures[name]["depends_on"]["nodes"]
        assert all(node.startswith("source.transaction_lakehouse.published.") for node in nodes)


def test_shared_descriptions_come_from_doc_blocks(manifest: dict) -> None:
    """A shared column reads the same everywhere: the doc block's text, not a copy."""
    run_id = manifest["docs"][f"doc.{PACKAGE}.run_id"]["block_contents"].strip()
    for node in manifest["nodes"].values():
        if node["package_name"] == PACKAGE and "run_id" in (node.get("columns") or {}):
            assert node["columns"]["run_id"]["description"].startswith(run_id), node["unique_id"]


def test_overview_links_the_run_report(manifest: dict) -> None:
    overview = manifest["docs"][f"doc.{PACKAGE}.__overview__"]["block_contents"]
    assert "report.html" in overview


def test_docs_state_the_macros_business_time_floor(manifest: dict) -> None:
    """The floor of business time is written in one macro; the README and the descriptions that
    state it say the same date, so changing the macro without the docs fails here."""
    macro = manifest["macros"][f"macro.{PACKAGE}.business_time_floor"]["macro_sql"]
    floor = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", macro)
    assert floor is not None, macro
    day = floor.group()[:10]
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["package_name"] == PACKAGE}
    described = [
        nodes["fct_month_end_balances"]["description"],
        nodes["fct_transactions"]["columns"]["transaction_ts"]["description"],
        nodes["int_transactions__validated"]["columns"]["has_timestamp_error"]["description"],
        (ROOT / "README.md").read_text(encoding="utf-8"),
        (ROOT / "contracts" / "transactions.schema.json").read_text(encoding="utf-8"),
    ]
    assert all(day in text for text in described)


MARTS = {
    "fct_transactions",
    "fct_month_end_balances",
    "fct_quarantined_records",
    "fct_run_metrics",
    "fct_month_end_balance_history",
    "fct_balance_restatements",
    "fct_balance_restatement_lines",
    "fct_quarantine_lifecycle",
}
# columns that carry personal data, wherever a model or source declares them: account ids, and
# records or lines as received (they hold the account id)
# (customer_id_raw, customer_id_text: the models before the marts, named after the file's
# CustomerID; account_id_raw: the quarantine mart's)
PII_COLUMNS = {
    "account_id",
    "account_id_raw",
    "customer_id_raw",
    "customer_id_text",
    "record_text",
    "line_text",
}


def _models(manifest: dict) -> dict[str, dict]:
    return {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["package_name"] == PACKAGE
    }


def test_every_model_has_a_group_an_access_level_and_a_grain(manifest: dict) -> None:
    groups = {g["name"]: g for g in manifest["groups"].values()}
    models = _models(manifest)
    assert set(models) >= MARTS
    for name, model in models.items():
        group = groups.get(model["group"] or "")
        assert group is not None, f"{name} is in no group"
        assert group["owner"].get("name") and group["owner"].get("email"), model["group"]
        assert model["access"] in {"private", "protected", "public"}, name
        assert model["config"]["meta"].get("grain"), f"{name} does not state its grain"
        assert "grain" in model["description"].lower(), name
    # consumers read the marts; every other model is not part of the interface
    assert {n for n, m in models.items() if m["access"] == "public"} == MARTS
    # the exposures' owners own the groups of the marts they read
    owners = {(g["owner"]["name"], g["owner"]["email"]) for g in groups.values()}
    for exposure in manifest["exposures"].values():
        owner = exposure["owner"]
        assert (owner["name"], owner["email"]) in owners, exposure["name"]


def test_each_model_declares_its_key(manifest: dict) -> None:
    """dbt reads a model's key from a primary_key constraint (manifest `primary_key`); the two
    marts whose key DuckDB would enforce with an index over every row state it in meta, and the
    project's scoped uniqueness test checks it."""
    models = _models(manifest)
    keys = {
        name: model["primary_key"] or model["config"]["meta"].get("primary_key")
        for name, model in models.items()
    }
    assert keys["base_landing__transaction_lines"] == ["line_number", "run_id"]
    assert keys["fct_run_metrics"] == ["run_id"]
    assert set(keys["fct_quarantined_records"]) == {"run_id", "line_number"}
    assert keys["fct_transactions"] == ["transaction_id"]
    assert keys["fct_month_end_balances"] == ["account_id", "currency", "month"]
    assert set(keys["fct_quarantine_lifecycle"]) == {"run_id", "line_number"}
    assert keys["fct_quarantine_open_items"] == ["run_id", "line_number"]
    assert all(keys.values()), [n for n, key in keys.items() if not key]
    uniqueness = {
        (n["attached_node"], tuple(n["test_metadata"]["kwargs"].get("columns") or ()))
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and (n.get("test_metadata") or {}).get("name") == "unique_combination"
    }
    for name in (
        "fct_transactions",
        "fct_month_end_balances",
        "base_landing__transaction_lines",
        "fct_quarantine_lifecycle",
        "fct_quarantine_open_items",
    ):
        assert any(
            node.endswith(f".{name}") and set(columns) == set(keys[name])
            for node, columns in uniqueness
        ), f"{name}: no uniqueness test on its key"
    # fct_run_metrics is contracted: every column typed
    fct_run_metrics = models["fct_run_metrics"]
    assert fct_run_metrics["config"]["contract"]["enforced"]
    assert all(c.get("data_type") for c in fct_run_metrics["columns"].values())


def test_personal_data_is_flagged(manifest: dict) -> None:
    resources = [*_models(manifest).values(), *manifest["sources"].values()]
    flagged: set[str] = set()
    for node in resources:
        if node["package_name"] != PACKAGE:
            continue
        for name, column in (node.get("columns") or {}).items():
            is_flagged = bool((column.get("meta") or {}).get("contains_pii"))
            assert is_flagged == (name in PII_COLUMNS), f"{node['unique_id']} column {name}"
            if is_flagged:
                flagged.add(f"{node['name']}.{name}")
    # the quarantine and the marts consumers read carry account ids
    assert {
        "fct_quarantined_records.account_id_raw",
        "fct_quarantined_records.record_text",
        "fct_transactions.account_id",
        "fct_month_end_balances.account_id",
    } <= flagged
