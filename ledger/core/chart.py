"""The chart of accounts (会计科目) of 《社会保险基金会计制度》(财会〔2017〕28号), the part a
medical-insurance fund uses, with the sub-accounts BRIEF §2 names, and the holders
(physical bank accounts) of BRIEF §3.

This is data, not behaviour: ``init`` loads it into ``fl.chart`` and ``fl.holder``,
where PostgreSQL uses it to refuse postings to unknown accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["asset", "liability", "net_assets", "revenue", "expenditure"]


@dataclass(frozen=True, slots=True)
class ChartAccount:
    code: str
    name_zh: str
    name_en: str
    identifier: str
    kind: Kind

    @property
    def parent(self) -> str | None:
        return self.code.rsplit(".", 1)[0] if "." in self.code else None

    @property
    def normal_side(self) -> Literal["D", "C"]:
        """Assets and expenditure grow on the debit side; the rest on the credit side."""
        return "D" if self.kind in ("asset", "expenditure") else "C"


def _a(code: str, zh: str, en: str, ident: str, kind: Kind) -> ChartAccount:
    return ChartAccount(code, zh, en, ident, kind)


CHART: tuple[ChartAccount, ...] = (
    _a("1001", "库存现金", "Cash on hand", "cash_on_hand", "asset"),
    _a("1002", "收入户存款", "Revenue account deposit", "revenue_account_deposit", "asset"),
    _a("1003", "财政专户存款", "Special account deposit", "special_account_deposit", "asset"),
    _a("1004", "支出户存款", "Expenditure account deposit", "expenditure_account_deposit", "asset"),
    _a("1005", "国库存款", "Treasury deposit", "treasury_deposit", "asset"),
    _a("1101", "暂付款", "Temporary payment", "temporary_payment", "asset"),
    _a("1201", "债券投资", "Bond investment", "bond_investment", "asset"),
    _a("2001", "暂收款", "Temporary receipt", "temporary_receipt", "liability"),
    _a("2101", "借入款项", "Borrowing", "borrowing", "liability"),
    _a("3001", "一般基金结余", "Fund balance", "fund_balance", "net_assets"),
    _a("4001", "社会保险费收入", "Contribution revenue", "contribution_revenue", "revenue"),
    _a("4101", "财政补贴收入", "Fiscal subsidy revenue", "fiscal_subsidy_revenue", "revenue"),
    _a("4101.central", "财政补贴收入-中央", "Fiscal subsidy: central", "subsidy_central", "revenue"),
    _a("4101.provincial", "财政补贴收入-省级", "Fiscal subsidy: provincial", "subsidy_provincial", "revenue"),
    _a("4101.city", "财政补贴收入-市级", "Fiscal subsidy: city", "subsidy_city", "revenue"),
    _a("4101.county", "财政补贴收入-县级", "Fiscal subsidy: county", "subsidy_county", "revenue"),
    _a("4101.shortfall", "财政补贴收入-缺口补助", "Fiscal subsidy: shortfall share", "subsidy_shortfall", "revenue"),
    _a("4201", "利息收入", "Interest revenue", "interest_revenue", "revenue"),
    _a("4301", "转移收入", "Transfer-in revenue", "transfer_in_revenue", "revenue"),
    _a("4401", "上级补助收入", "Subsidy from upper level", "subsidy_from_upper_level", "revenue"),
    _a("4402", "下级上解收入", "Remittance from lower level", "remittance_from_lower_level", "revenue"),
    _a("4501", "其他收入", "Other revenue", "other_revenue", "revenue"),
    _a("4601", "待转社会保险费收入", "Unallocated contribution", "unallocated_contribution", "revenue"),
    _a("4602", "待转利息收入", "Unallocated interest", "unallocated_interest", "revenue"),
    _a("5001", "社会保险待遇支出", "Benefit expenditure", "benefit_expenditure", "expenditure"),
    _a("5001.inpatient", "待遇支出-住院", "Benefits: inpatient", "inpatient", "expenditure"),
    _a("5001.outpatient", "待遇支出-门诊", "Benefits: outpatient", "outpatient", "expenditure"),
    _a("5001.chronic", "待遇支出-门诊大病(慢特病)", "Benefits: outpatient chronic/serious illness", "chronic", "expenditure"),
    _a("5001.outpatient_pooled", "待遇支出-门诊统筹", "Benefits: pooled outpatient", "outpatient_pooled", "expenditure"),
    _a("5001.maternity_medical", "待遇支出-生育医疗", "Benefits: maternity medical", "maternity_medical", "expenditure"),
    _a("5001.maternity_allowance", "待遇支出-生育津贴", "Benefits: maternity allowance", "maternity_allowance", "expenditure"),
    _a("5001.pharmacy", "待遇支出-药店购药", "Benefits: pharmacy", "pharmacy", "expenditure"),
    _a("5001.other", "待遇支出-其他", "Benefits: other", "other", "expenditure"),
    _a("5101", "大病保险支出", "Critical illness insurance expenditure", "critical_illness_expenditure", "expenditure"),
    _a("5201", "转移支出", "Transfer-out expenditure", "transfer_out_expenditure", "expenditure"),
    _a("5301", "上解上级支出", "Remittance to upper level", "remittance_to_upper_level", "expenditure"),
    _a("5302", "补助下级支出", "Subsidy to lower level", "subsidy_to_lower_level", "expenditure"),
    _a("5401", "其他支出", "Other expenditure", "other_expenditure", "expenditure"),
)

CHART_BY_CODE: dict[str, ChartAccount] = {a.code: a for a in CHART}


@dataclass(frozen=True, slots=True)
class Holder:
    """A physical bank account kind. ``pooled`` holders are one account shared by every
    unit of a book (each unit keeps a share); the others belong to one unit."""

    code: str
    chart_code: str
    name_zh: str
    name_en: str
    pooled: bool
    counties_only: bool


HOLDERS: tuple[Holder, ...] = (
    Holder("special", "1003", "市财政专户", "City finance special account", True, False),
    Holder("city_exp", "1004", "市医保基金支出户", "City fund expenditure account", True, False),
    Holder("treasury", "1005", "国库", "Treasury", True, False),
    Holder("county_exp", "1004", "县(市)基金支出户", "County fund expenditure account", False, True),
    Holder("legacy_special", "1003", "原县级财政专户", "Legacy county special account", False, True),
    Holder("legacy_revenue", "1002", "原县级收入户", "Legacy county revenue account", False, True),
    Holder("legacy_expenditure", "1004", "原县级支出户", "Legacy county expenditure account", False, True),
)

HOLDER_BY_CODE: dict[str, Holder] = {h.code: h for h in HOLDERS}
