"""The run report's status rule (STATUS_RULES), masking, month axis and glossary, without a lake."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lakehouse.generate import VALIDATION_CODES
from lakehouse.glossary import VALIDATION_GLOSSARY
from lakehouse.report import (
    ALERT_RATE,
    STALE_AFTER_DAYS,
    STATUS_RULES,
    Facts,
    judge,
    mask,
    month_range,
)

NOW = datetime(2024, 4, 2, 12, 0, tzinfo=UTC)
BUILT = datetime(2024, 4, 2, 6, 0)
GOOD = Facts(
    now=NOW,
    runs=3,
    published_built_at=BUILT,
    latest_built_at=BUILT,
    unacknowledged_alerts=[],
    quarantine_rate=0.004,
    last_landed_at=datetime(2024, 4, 1, 22, 0),
)


def test_green_when_nothing_applies() -> None:
    status = judge(GOOD)
    assert status.level == "green" and "0.40 %" in status.reasons[0]


def test_red_when_the_latest_build_was_not_published() -> None:
    status = judge(replace(GOOD, latest_built_at=BUILT + timedelta(hours=1)))
    assert status.level == "red" and "was not published" in status.reasons[0]


def test_red_for_an_unacknowledged_alert_even_with_amber_reasons() -> None:
    facts = replace(
        GOOD,
        unacknowledged_alerts=["tx.csv (2024-04-01): 3.00 % of its records quarantined"],
        quarantine_rate=0.02,
    )
    status = judge(facts)
    assert status.level == "red"
    assert any("tx.csv (2024-04-01)" in r for r in status.reasons)
    assert any("above the 1 % limit" in r for r in status.reasons)  # every reason is told


def test_amber_for_quarantine_rate_stale_data_or_waiting_files() -> None:
    assert judge(replace(GOOD, quarantine_rate=ALERT_RATE * 1.5)).level == "amber"
    stale = replace(GOOD, last_landed_at=datetime(2024, 3, 1))
    assert judge(stale).level == "amber" and "32 days ago" in judge(stale).reasons[0]
    fresh_enough = replace(GOOD, last_landed_at=NOW.replace(tzinfo=None) - timedelta(days=6))
    assert judge(fresh_enough).level == "green"
    waiting = judge(replace(GOOD, waiting_files=["late.csv (2024-04-02)"]))
    assert waiting.level == "amber" and "late.csv (2024-04-02)" in waiting.reasons[0]
    assert judge(replace(GOOD, last_landed_at=None)).level == "amber"


def test_rules_are_written_in_words() -> None:
    assert [r.level for r in STATUS_RULES] == ["red", "red", "amber", "amber", "amber"]
    assert f"{STALE_AFTER_DAYS} days" in STATUS_RULES[3].text


def test_mask_keeps_only_the_last_characters() -> None:
    assert mask("ACC000196") == "\u2022" * 5 + "0196"
    assert mask("T-1,ACC000196,12.00,EUR,2024-01-01T00:00:00Z") == "\u2022" * 8 + ":00Z"
    assert mask("AB") == "\u2022\u2022" and mask(None) == "" and mask("") == ""


def test_months_without_data_stay_on_the_axis() -> None:
    assert month_range(["2024-03", "2023-11"]) == ["2023-11", "2023-12", "2024-01", "2024-02",
                                                   "2024-03"]  # fmt: skip
    assert month_range([]) == []


def test_glossary_covers_every_validation_code_in_the_spec_order() -> None:
    assert tuple(c.code for c in VALIDATION_GLOSSARY) == VALIDATION_CODES
    assert all(c.meaning.strip() and c.action.strip() for c in VALIDATION_GLOSSARY)
