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

# (0115, ATTACK15 A1) Which component of a book with components (the employees' 统筹基金 and
# 个人账户基金) may carry an account: its *role* — "pooled" is the book's pooled component, "personal"
# any other. An allow-list, per account, from BRIEF §2/§4: a revenue or expenditure account carries
# the roles named here and no other, so an account added without its roles is carried by no
# component (refused in the employees' book until someone says which fund pays it); balance-sheet
# accounts (1xxx-3xxx) are carried by both. Books without components (the residents') carry every
# account. sql/0115_component_allow_list.sql holds the same list (fl.chart_component_roles;
# tests/security/test_attack15_component_allow.py compares the two over the whole chart).
Role = Literal["pooled", "personal"]
BOTH: tuple[Role, ...] = ("pooled", "personal")
POOLED: tuple[Role, ...] = ("pooled",)
PERSONAL: tuple[Role, ...] = ("personal",)
NEITHER: tuple[Role, ...] = ()


@dataclass(frozen=True, slots=True)
class ChartAccount:
    code: str
    name_zh: str
    name_en: str
    identifier: str
    kind: Kind
    roles: tuple[Role, ...]             # the components that may carry it (see Role)

    @property
    def parent(self) -> str | None:
        return self.code.rsplit(".", 1)[0] if "." in self.code else None

    @property
    def normal_side(self) -> Literal["D", "C"]:
        """Assets and expenditure grow on the debit side; the rest on the credit side."""
        return "D" if self.kind in ("asset", "expenditure") else "C"


def _a(code: str, zh: str, en: str, ident: str, kind: Kind,
       roles: tuple[Role, ...] | None = None) -> ChartAccount:
    """A chart row; ``roles`` must be given for revenue and expenditure (else: carried by no
    component), balance-sheet accounts are both components' unless told."""
    if roles is None:
        roles = NEITHER if kind in ("revenue", "expenditure") else BOTH
    return ChartAccount(code, zh, en, ident, kind, roles)


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
    _a("4001", "社会保险费收入", "Contribution revenue", "contribution_revenue", "revenue", BOTH),
    _a("4101", "财政补贴收入", "Fiscal subsidy revenue", "fiscal_subsidy_revenue", "revenue", POOLED),
    _a("4101.central", "财政补贴收入-中央", "Fiscal subsidy: central", "subsidy_central", "revenue", POOLED),
    _a("4101.provincial", "财政补贴收入-省级", "Fiscal subsidy: provincial", "subsidy_provincial", "revenue", POOLED),
    _a("4101.city", "财政补贴收入-市级", "Fiscal subsidy: city", "subsidy_city", "revenue", POOLED),
    _a("4101.county", "财政补贴收入-县级", "Fiscal subsidy: county", "subsidy_county", "revenue", POOLED),
    _a("4101.shortfall", "财政补贴收入-缺口补助",
       "Fiscal subsidy: shortfall share", "subsidy_shortfall", "revenue", POOLED),
    _a("4201", "利息收入", "Interest revenue", "interest_revenue", "revenue", BOTH),
    _a("4301", "转移收入", "Transfer-in revenue", "transfer_in_revenue", "revenue", PERSONAL),
    _a("4401", "上级补助收入", "Subsidy from upper level", "subsidy_from_upper_level", "revenue", POOLED),
    _a("4402", "下级上解收入", "Remittance from lower level", "remittance_from_lower_level", "revenue", POOLED),
    _a("4501", "其他收入", "Other revenue", "other_revenue", "revenue", BOTH),
    _a("4601", "待转社会保险费收入", "Unallocated contribution", "unallocated_contribution", "revenue", BOTH),
    _a("4602", "待转利息收入", "Unallocated interest", "unallocated_interest", "revenue", BOTH),
    _a("5001", "社会保险待遇支出", "Benefit expenditure", "benefit_expenditure", "expenditure", BOTH),
    _a("5001.inpatient", "待遇支出-住院", "Benefits: inpatient", "inpatient", "expenditure", BOTH),
    _a("5001.outpatient", "待遇支出-门诊", "Benefits: outpatient", "outpatient", "expenditure", PERSONAL),
    _a("5001.chronic", "待遇支出-门诊大病(慢特病)",
       "Benefits: outpatient chronic/serious illness", "chronic", "expenditure", POOLED),
    _a("5001.outpatient_pooled", "待遇支出-门诊统筹",
       "Benefits: pooled outpatient", "outpatient_pooled", "expenditure", POOLED),
    _a("5001.maternity_medical", "待遇支出-生育医疗",
       "Benefits: maternity medical", "maternity_medical", "expenditure", POOLED),
    _a("5001.maternity_allowance", "待遇支出-生育津贴",
       "Benefits: maternity allowance", "maternity_allowance", "expenditure", POOLED),
    _a("5001.pharmacy", "待遇支出-药店购药", "Benefits: pharmacy", "pharmacy", "expenditure", PERSONAL),
    _a("5001.other", "待遇支出-其他", "Benefits: other", "other", "expenditure", NEITHER),
    _a("5101", "大病保险支出",
       "Critical illness insurance expenditure", "critical_illness_expenditure", "expenditure", NEITHER),
    _a("5201", "转移支出", "Transfer-out expenditure", "transfer_out_expenditure", "expenditure", PERSONAL),
    _a("5301", "上解上级支出", "Remittance to upper level", "remittance_to_upper_level", "expenditure", POOLED),
    _a("5302", "补助下级支出", "Subsidy to lower level", "subsidy_to_lower_level", "expenditure", POOLED),
    _a("5401", "其他支出", "Other expenditure", "other_expenditure", "expenditure", BOTH),
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


def is_line(code: str, line: str) -> bool:
    """``code`` is the chart line ``line`` or one of its sub-accounts (4101.shortfall is 4101's,
    5001.inpatient is 5001's)."""
    return code == line or code.startswith(line + ".")
