"""The settings a year's reports read (0162, F9c): ``[settings]`` with the ``[settings.YEAR]``
tables up to the year laid over it (``ledger.core.year_settings``), parsed for each reader — the
monitor's colours, the 略有结余 range, the performance review's weights, the final accounts'
eliminations. A closed year's are final (``fl._closed_year_settings``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.core.balance_rate import RateRanges
from ledger.core.budget import SurplusRange
from ledger.core.monitor import Thresholds
from ledger.core.performance import check_weights
from ledger.core.year_settings import FROM_YEAR, PER_YEAR, values_in_force
from ledger.errors import BadInput
from ledger.i18n import _
from ledger.store.db import Conn


def stored(conn: Conn) -> dict[str, Any]:
    """The per-year keys and the year tables as ``fl.setting`` holds them (key -> JSON value)."""
    return {r["key"]: r["value"] for r in conn.execute(
        "SELECT key, value FROM fl.setting WHERE key = ANY(%s)", ([*PER_YEAR, FROM_YEAR],)).fetchall()}


def values(conn: Conn, year: int) -> dict[str, Any]:
    """The per-year settings in force for ``year``, as stored."""
    return values_in_force(stored(conn), year)


def _dec(v: Any, key: str) -> Decimal:
    try:
        n = Decimal(str(v).strip())
    except InvalidOperation as e:
        raise BadInput(_("settings {key} must be a number, got {value}").format(key=key, value=repr(v)[:40])) from e
    if not n.is_finite():
        raise BadInput(_("settings {key} must be a number, got {value}").format(key=key, value=repr(v)[:40]))
    return n


def _thresholds(v: dict[str, Any]) -> Thresholds:
    return Thresholds(_dec(v["months_red_below"], "months_red_below"),
                      _dec(v["months_yellow_below"], "months_yellow_below"),
                      _dec(v["months_excess_above"], "months_excess_above"))


def _rate_ranges(v: dict[str, Any]) -> RateRanges:
    return RateRanges(_dec(v["balance_rate_red_below"], "balance_rate_red_below"),
                      _dec(v["balance_rate_yellow_below"], "balance_rate_yellow_below"),
                      _dec(v["balance_rate_excess_above"], "balance_rate_excess_above"))


def thresholds(conn: Conn, year: int) -> Thresholds:
    """Months-payable thresholds in force for ``year`` (BRIEF §5 defaults otherwise)."""
    return _thresholds(values(conn, year))


def colours(conn: Conn, years: Iterable[int]) -> dict[int, tuple[Thresholds, RateRanges]]:
    """The monitor's two scales (months payable, 当期结余率) in force for each of ``years``, from
    one read of fl.setting: a response plan looks back on month ends of many years."""
    s = stored(conn)
    return {y: (_thresholds(v), _rate_ranges(v)) for y in years for v in (values_in_force(s, y),)}


def surplus_range(conn: Conn, year: int) -> SurplusRange:
    """The 略有结余 range in force for ``year`` (default 0–5 % of revenue, our reading)."""
    v = values(conn, year)
    return SurplusRange(_dec(v["budget_surplus_min_pct"], "budget_surplus_min_pct"),
                        _dec(v["budget_surplus_max_pct"], "budget_surplus_max_pct"))


def weights(conn: Conn, year: int) -> dict[str, Decimal]:
    """The performance review's weights in force for ``year`` (defaults for those not set)."""
    value = values(conn, year)["performance_weights"]
    if isinstance(value, str):
        value = json.loads(value)
    return check_weights(value or {})


def eliminations(conn: Conn, year: int) -> tuple[tuple[str, str], ...]:
    """What the city's final accounts of ``year`` eliminate (the default pairs otherwise)."""
    from ledger.core.region import parse_eliminations

    return parse_eliminations(values(conn, year)["final_accounts_eliminate"], "settings")
