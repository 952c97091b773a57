"""The settings a year's reports are read with (0157, F9c's leftover): the monitor's colours
(months payable and the current-year balance rate), the 略有结余 range of the budget checks and
the performance review, the review's weights and what the city's final accounts eliminate.

A region file's ``[settings]`` holds each of them for every year, and a ``[settings.YEAR]`` table
changes some of them from that year on (until a later table changes them again): the settings
in force for year Y are ``[settings]`` with every ``[settings.Y']`` for Y' ≤ Y laid over it, in
year order, key by key (a table's value of a key replaces the whole value; in its weights, an
indicator left out keeps its default, as in ``[settings]``). ``fl.setting`` keeps ``[settings]``
under its keys and the year tables under ``settings_from_year`` ({"2026": {key: value}}).

Once a year is closed (any book), what is in force for it is final: its monitor colours, budget
checks, review scores and final accounts were read with it. The database refuses a change of
``fl.setting`` that changes it (``fl._closed_year_settings``), and the verdict re-reads every
version of these settings from the chained history (``ledger.core.rules``) with ``in_force``
here, which reads a ``fl.setting`` state as ``fl._settings_in_force`` does: numbers as numbers
("3" = "3.0"), a key absent as its default.

Pure: settings in, values out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

#: The keys that take effect per year (the order ``settings_from_year``'s tables are written in).
PER_YEAR: tuple[str, ...] = (
    "months_red_below", "months_yellow_below", "months_excess_above",
    "balance_rate_red_below", "balance_rate_yellow_below", "balance_rate_excess_above",
    "budget_surplus_min_pct", "budget_surplus_max_pct", "performance_weights", "final_accounts_eliminate")
#: fl.setting's key for the ``[settings.YEAR]`` tables.
FROM_YEAR = "settings_from_year"

#: Each key's value when fl.setting holds none (the readers' defaults, as the release writes them).
DEFAULTS: Mapping[str, Any] = {
    "months_red_below": "3", "months_yellow_below": "6", "months_excess_above": "15",
    "balance_rate_red_below": "-5", "balance_rate_yellow_below": "0", "balance_rate_excess_above": "15",
    "budget_surplus_min_pct": "0", "budget_surplus_max_pct": "5",
    "performance_weights": {"revenue_execution": "15", "expenditure_execution": "15",
                            "collection_completion": "15", "balance_rate": "15", "months_payable": "15",
                            "requests_vs_spending": "10", "government_shares": "15"},
    "final_accounts_eliminate": [["5302", "4401"], ["5301", "4402"]],
}

# fl._settings_number's pattern: a number written as text or as a JSON number.
_NUMBER = re.compile(r"\s*-?[0-9]{1,15}(\.[0-9]{1,15})?\s*")
_YEAR = re.compile(r"[0-9]{4}")


def _number(v: Any) -> Any:
    """A value as the guard compares it: a number (text or JSON) is that number; else as it is."""
    if isinstance(v, bool) or not isinstance(v, (str, int, float, Decimal)):
        return v
    text = v if isinstance(v, str) else str(v)
    if _NUMBER.fullmatch(text):
        try:
            return Decimal(text.strip())
        except InvalidOperation:      # pragma: no cover - the pattern admits only numbers
            return v
    return v


def _norm(key: str, v: Any) -> Any:
    """One key's value as the guard compares it: the weights with every indicator (the defaults
    for those left out) as numbers; the eliminations as written; every other one a number."""
    if key == "performance_weights":
        if not isinstance(v, dict):
            return v
        return {k: _number(x) for k, x in {**DEFAULTS["performance_weights"], **v}.items()}
    if key == "final_accounts_eliminate":
        return v
    return _number(v)


def years_of(from_year: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """``settings_from_year``'s tables in year order (a key that is no year, or a table that is no
    table, taken for nothing, as the guard does)."""
    if not isinstance(from_year, dict):
        return []
    return sorted((int(y), t) for y, t in from_year.items() if _YEAR.fullmatch(str(y)) and isinstance(t, dict))


def in_force(settings: Mapping[str, Any], year: int) -> dict[str, Any]:
    """The per-year settings in force for ``year`` in a state of ``fl.setting`` (key -> JSON value,
    as stored), each as the guard compares it: ``[settings]``'s (the default when absent), every
    ``settings_from_year`` table of a year ≤ ``year`` laid over it in year order."""
    return {k: _norm(k, v) for k, v in values_in_force(settings, year).items()}


def values_in_force(settings: Mapping[str, Any], year: int) -> dict[str, Any]:
    """The per-year settings in force for ``year`` as stored (not normalised): what the readers
    parse (``ledger.store.year_settings``)."""
    out = {k: settings.get(k, DEFAULTS[k]) for k in PER_YEAR}
    for y, table in years_of(settings.get(FROM_YEAR)):
        if y > year:
            break
        out.update({k: v for k, v in table.items() if k in out})
    return out


def changed(was: Mapping[str, Any], now: Mapping[str, Any], year: int) -> list[str]:
    """The per-year keys whose value in force for ``year`` differs between two states."""
    a, b = in_force(was, year), in_force(now, year)
    return [k for k in PER_YEAR if a[k] != b[k]]
