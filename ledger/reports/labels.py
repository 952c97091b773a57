"""The names of reports' summary lines, by the stable code a summary row carries.

A summary row (a total, a result, a fund balance) has a code instead of a chart code
(``assets_total``, ``revenue_total``, ``result``): scripts read it in the JSON, people
read the line's name, a message of the catalogue. Renderers for people (the terminal,
XLSX) leave these codes out (``SUMMARY_CODES``): the name column says what the line is.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.i18n import N_, code_text, codes_text, translate

BALANCE_SHEET = {
    "assets_total": N_("Total assets"),
    "liabilities_total": N_("Total liabilities"),
    "unclosed_result": N_("Result not yet closed"),
    "net_assets_total": N_("Total net assets"),
    "liabilities_and_net_assets": N_("Total liabilities and net assets"),
    "government_share_outstanding": N_("Government share owed (register; not on the books)"),
}
INCOME = {
    "revenue_total": N_("Total revenue"),
    "expenditure_total": N_("Total expenditure"),
    "result": N_("Result of the period (revenue − expenditure)"),
    "opening_fund_balance": N_("Fund balance at start"),
    "other_movements": N_("Other fund-balance movements"),
    "closing_fund_balance": N_("Fund balance at end"),
    "opening_government_share_outstanding": N_("Government share owed at start (register; not in the fund balance)"),
    "closing_government_share_outstanding": N_("Government share owed at end (register; not in the fund balance)"),
    "share_receipts": N_("Earlier years' government shares received (not this year's revenue)"),
    "adjustment_receipts": N_("In-year adjustment-fund allocations (set aside by the shortfall rule)"),
    "rule_result": N_("Current-year result of the shortfall rule (C)"),
}
BUDGET = {
    "revenue_total": N_("Total revenue"),
    "expenditure_total": N_("Total expenditure"),
    "result": N_("Result (revenue − expenditure)"),
    "share_receipts": N_("Earlier years' government shares received (not this year's revenue)"),
    "adjustment_receipts": N_("In-year adjustment-fund allocations (set aside by the shortfall rule)"),
}
SUBLEDGER = {
    "special_share": N_("Share of the special account"),
    "surplus": N_("Accumulated surplus (net assets)"),
    "year_result": N_("Current-year result"),
    "government_share_outstanding": N_("Government share owed (register; not on the books)"),
    "share_receipts": N_("Earlier years' government shares received (not this year's revenue)"),
    "adjustment_receipts": N_("In-year adjustment-fund allocations (set aside by the shortfall rule)"),
    "rule_result": N_("Current-year result of the shortfall rule (C)"),
}
#: The consolidated rows' scope or unit (the whole region).
ALL_UNITS = "all"
SUMMARY_CODES = frozenset({*BALANCE_SHEET, *INCOME, *BUDGET, *SUBLEDGER, ALL_UNITS})
#: The columns that hold a chart code, or a summary row's code.
CODE_COLUMNS = frozenset({"code", "line", "scope", "unit"})


def label(names: Mapping[str, str], code: str, lang: str) -> str:
    """A summary line's name (``assets_total`` → 资产合计) from the catalogue."""
    return translate(names[code], lang)

#: Columns whose cells are stable codes (ASCII in JSON and CSV, for scripts) that people
#: read in words: 红/黄/绿/结余过多, a request's state, an entry's kind, a budget flag.
WORD_COLUMNS = frozenset({"colour", "balance_rate_colour", "level", "basis", "kind", "state", "status", "action",
                          "from_state", "to_state", "flag"})


def person_text(key: str, value: str, lang: str | None = None) -> str:
    """A text cell of column ``key`` as a person reads it (the terminal, XLSX): codes in
    words, a summary row's code left out (its name is in the next column)."""
    if key == "warnings":
        return codes_text(value, lang)
    if key in WORD_COLUMNS:
        return code_text(value, lang)
    if key in CODE_COLUMNS and value in SUMMARY_CODES:
        return ""
    return value
