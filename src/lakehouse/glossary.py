"""The validation codes in plain language: what each means and what to do about it.

The one place this wording lives: the run report (site/report.html, "What the quarantine codes
mean") renders it, and any other page or document that explains the codes should copy it from
here (or from that page) rather than write its own. The codes are the spec's
(shared spec, transactions.md, "Validation codes"), in its order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    meaning: str  # what went wrong with the record, for a reader who never saw the file
    action: str  # what to do about it, and who does it


VALIDATION_GLOSSARY: tuple[Code, ...] = (
    Code(
        "SCHEMA_ERROR",
        "The record does not have the shape the file contract promises: the file's header names"
        " a column that is missing or not agreed, or the line has too many or too few fields,"
        " cannot be read as CSV, or is not valid UTF-8.",
        "Ask the sender to fix the file's layout and deliver a corrected file. If the whole file"
        " is affected the contract may have changed: agree the change with the data-quality"
        " team before it is accepted.",
    ),
    Code(
        "NULL_VALUE_ERROR",
        "A required field (transaction id, account, amount, currency or timestamp) is empty.",
        "Ask the sender for the missing value; the record is booked only when it arrives again,"
        " complete, in a new file.",
    ),
    Code(
        "TYPE_ERROR",
        "The amount is not a plain decimal number with at most two decimals (for example"
        " '1,000.00', '1e5' or 'abc'), or it is too large to store.",
        "Ask the sender to write the amount as digits with a dot for the decimals and no"
        " thousands separator, and to re-deliver the record.",
    ),
    Code(
        "CURRENCY_ERROR",
        "The currency is not one of the accepted ISO 4217 codes (for example 'EURO' or 'XXX').",
        "Check with the sender which currency was meant; if it is a real currency the bank now"
        " accepts, the data-quality team adds it to the allowlist, otherwise the sender corrects"
        " it.",
    ),
    Code(
        "TIMESTAMP_ERROR",
        "The date and time cannot be read, does not exist (such as 30 February), or is later"
        " than the moment the file arrived.",
        "Ask the sender for the correct date and time in ISO 8601 form (with a time zone) and a"
        " re-delivery; month-end balances leave the record out until then.",
    ),
    Code(
        "DUPLICATE_CONFLICT",
        "A transaction id that was already booked arrived again with different content (a"
        " different amount, for example). The first version stays booked; this one is set"
        " aside.",
        "Find out with the sender which version is right. If the first one is, nothing changes;"
        " if not, the correction needs a new transaction (a reversal) from the sender, never an"
        " edit in the lake.",
    ),
)
