"""The provincial adjustment fund (调剂金): the region's setting, read from the region file.

Jiangxi's provincial pooling runs through an adjustment fund: cities remit to it (上解上级支出
5301) and it allocates to units with a gap (上级补助收入 4401). 财社〔2017〕144号 art. 38 puts
it in the order for covering a gap: the unit's accumulated surplus, then the upper-level
adjustment fund, then the same-level government. The rule with the fund in the order is
``ledger.core.shortfall`` (``adjustment_receipts``); the postings are SQL
(sql/0025b_adjfund.sql: ``fl.adjfund_remit``, ``fl.adjfund_allocate``), which compute the
remittances and the shares from this setting, stored in ``fl.setting`` by ``init``.

``[adjustment_fund]`` (docs/region.md), all optional; the default is no fund (Jiamusi):

* ``in_order`` (false): the fund sits between surplus and government, allocations may be
  recorded;
* ``remit_rate`` (a decimal fraction of the year's contributions 4001, "0.02") or
  ``remit_amount`` (yuan per unit): what ``adjfund remit`` remits;
* ``allocation_rule``: ``gap`` (shares proportional to each unit's gap after its surplus;
  after the close, to the government shares still owed) or ``fixed`` (``shares``: unit →
  whole-number weight); never more to a unit than the gap it covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ledger.core.money import decimal_text, parse_fen
from ledger.errors import BadAmount, BadInput
from ledger.i18n import _

RULES = ("gap", "fixed")


@dataclass(frozen=True, slots=True)
class AdjustmentFund:
    in_order: bool = False
    remit_rate: Decimal | None = None
    remit_amount: int | None = None          # fen per unit
    allocation_rule: str = "gap"
    shares: Mapping[str, int] = field(default_factory=dict)


def parse_adjustment_fund(doc: Mapping[str, Any] | None, units: set[str], source: str = "region") -> AdjustmentFund:
    """``[adjustment_fund]`` of a region file (``units``: the region's unit codes)."""
    if not doc:
        return AdjustmentFund()
    where = f"{source}: adjustment_fund"
    if not isinstance(doc, Mapping):
        raise BadInput(_("{where} must be a table").format(where=where))
    known = {"in_order", "remit_rate", "remit_amount", "allocation_rule", "shares"}
    extra = sorted(set(doc) - known)
    if extra:
        raise BadInput(_("{where}: unknown key '{key}' (known: {known})").format(
            where=where, key=extra[0], known=", ".join(sorted(known))))
    in_order = doc.get("in_order", False)
    if not isinstance(in_order, bool):
        raise BadInput(_("{where}: 'in_order' must be true or false").format(where=where))
    rate = amount = None
    if "remit_rate" in doc and "remit_amount" in doc:
        raise BadInput(_("{where}: give remit_rate or remit_amount, not both").format(where=where))
    if "remit_rate" in doc:
        try:
            rate = Decimal(str(doc["remit_rate"]))
        except InvalidOperation:
            raise BadInput(_("{where}: 'remit_rate' must be a fraction like \"0.02\"").format(where=where)) from None
        if not rate.is_finite() or not 0 < rate <= 1:
            raise BadInput(_("{where}: 'remit_rate' must be above 0 and at most 1 (\"0.02\" for 2 %)").format(where=where))
    if "remit_amount" in doc:
        try:
            amount = parse_fen(str(doc["remit_amount"]), allow_zero=False)
        except BadAmount as e:
            raise BadInput(_("{where}: 'remit_amount': {reason}").format(where=where, reason=e.message)) from None
    rule = doc.get("allocation_rule", "gap")
    if rule not in RULES:
        raise BadInput(_("{where}: 'allocation_rule' must be 'gap' or 'fixed', not {rule}").format(
            where=where, rule=repr(rule)))
    shares: dict[str, int] = {}
    given = doc.get("shares") or {}
    if not isinstance(given, Mapping):      # a list of pairs is not a table (ATTACK16 C4)
        raise BadInput(_("{where}: 'shares' must be a table of unit = weight, got {value}").format(
            where=where, value=repr(given)[:80]))
    for unit, w in given.items():
        if unit not in units:
            raise BadInput(_("{where}: shares: unknown unit '{unit}'").format(where=where, unit=unit))
        if isinstance(w, bool) or not isinstance(w, int) or w < 0:
            raise BadInput(_("{where}: shares: the weight of {unit} must be a whole number ≥ 0").format(where=where, unit=unit))
        shares[unit] = w
    if rule == "fixed" and not any(shares.values()):
        raise BadInput(_("{where}: allocation_rule 'fixed' needs [adjustment_fund.shares] with a positive weight").format(
            where=where))
    return AdjustmentFund(in_order, rate, amount, rule, shares)


def adjustment_fund_json(a: AdjustmentFund) -> dict[str, Any]:
    """As stored in ``fl.setting`` for the SQL: the rate as text, the amount in fen."""
    out: dict[str, Any] = {"in_order": a.in_order, "allocation_rule": a.allocation_rule, "shares": dict(a.shares)}
    if a.remit_rate is not None:
        out["remit_rate"] = str(a.remit_rate)
    if a.remit_amount is not None:
        out["remit_amount"] = a.remit_amount
        out["remit_amount_yuan"] = decimal_text(a.remit_amount)
    return out
