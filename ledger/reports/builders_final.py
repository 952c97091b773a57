"""Year-end final accounts (年度决算) as a ``Report`` value (pure).

The statements the social-insurance fund accounting rules prescribe (《社会保险基金会计制度》
财会〔2017〕28号), for each fund the ledger keeps — a book, and for the employees' book each
component (统筹基金, 个人账户基金) — of one closed year, for one unit or for the city:

* 资产负债表 (balance sheet): every asset line of the chart, 资产合计, the liabilities,
  负债合计, 一般基金结余 (3001 plus any result not yet closed), 净资产合计,
  负债和净资产合计; at the start of the year (年初数) and at its end (年末数). For the
  pooled component, a memo line below: the government's shortfall shares still owed to
  the fund (a register, not on the books: BRIEF §5).
* 收支表 (income and expenditure statement): every revenue and expenditure line of the
  chart (top-level accounts; 待转 4601/4602 only in a book with components), their totals,
  本年收支结余, 年初基金结余, other fund-balance movements (a handover's opening) when
  there are any, 年末基金结余; this year (本年数) and the year before (上年数), without the
  year-end close.
* 收支明细表 (schedule): every revenue and expenditure account with a movement in either
  year, a parent first as the sum of its sub-accounts (财政补贴 by source, 待遇支出 by kind).

The city's statements consolidate the units': the same lines summed, so each unit's share
of a pooled bank account (the special account, the city expenditure account; BRIEF §3) —
a negative share included, a unit drawing on the pool — nets into the one account's
balance; and the flows between levels inside the city are eliminated *(our reading)*: the
city proper's subsidies to its counties (补助下级支出 5302) against the counties' subsidies
from above (上级补助收入 4401), and the counties' remittances up (上解上级支出 5301)
against the city's receipts from below (下级上解收入 4402), each pair by the smaller of the
two amounts (4401 and 5301 also carry the province's adjustment fund, which is not
internal). The result, and so every fund balance, is unchanged by an elimination.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core.money import format_yuan
from ledger.core.region import DEFAULT_ELIMINATIONS
from ledger.core.shapes import Fen, field_names, money_fields
from ledger.i18n import N_, both, translate
from ledger.reports import labels as labels_
from ledger.reports.builders import OWED, OWED_NOTE, Labels, now, section_title
from ledger.reports.model import Column, Report, Section

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FinalLine:
    """One line of a final-accounts statement: its JSON row keys, in order."""

    statement: str          # balance_sheet | income | schedule
    code: str               # chart code, or a summary line's code (assets_total, result, …)
    name: str               # 项目, in the report's language
    line_no: int | None     # 行次 (None: a memo line outside the statement)
    previous: Fen           # balance sheet: start of year (年初数); income, schedule: the year before (上年数)
    current: Fen            # balance sheet: end of year (年末数); income, schedule: this year (本年数)


STATEMENTS = ("balance_sheet", "income", "schedule")
STATEMENT_NAMES = {"balance_sheet": N_("Balance sheet"),
                   "income": N_("Income and expenditure statement"),
                   "schedule": N_("Schedule of revenue and expenditure")}
_COLUMN_LABELS = {"statement": N_("Statement"), "code": N_("Code"), "name": N_("Item"), "line_no": N_("Line no."),
                  "previous": N_("Start of year / prior year"), "current": N_("End of year / this year")}
FINAL_COLUMNS = tuple(
    Column(k, _COLUMN_LABELS[k], "money" if k in money_fields(FinalLine) else "int" if k == "line_no" else "text",
           data_only=k in ("statement", "code"))
    for k in field_names(FinalLine))
_HEADERS = {"balance_sheet": {"previous": N_("Start of year"), "current": N_("End of year")},
            "income": {"previous": N_("Prior year"), "current": N_("This year")},
            "schedule": {"previous": N_("Prior year"), "current": N_("This year")}}

#: 单位负责人 / 财务负责人 / 复核 / 制表 / 日期 under every statement of the final accounts.
SIGNATURES = (N_("Head of unit (signature and seal):"), N_("Head of finance:"), N_("Checked by:"),
              N_("Prepared by:"), N_("Date:"))

_UNCLOSED = "unclosed_result"
_OWED = OWED
_BS = labels_.BALANCE_SHEET
#: The income statement's summary lines in the words of the yearly statement (本年收支结余,
#: 年初/年末基金结余), where ``report income`` speaks of any period (本期, 期初, 期末).
_INC = {**labels_.INCOME,
        "result": N_("Balance of the year (revenue − expenditure)"),
        "opening_fund_balance": N_("Fund balance at the start of the year"),
        "closing_fund_balance": N_("Fund balance at the end of the year")}


@dataclass(frozen=True, slots=True)
class FinalFigures:
    """What the statements are made of, for one scope (a unit, or every unit): as
    ``ledger.store.reports_final.figures`` reads them."""

    year: int
    balances: Sequence[Row]                  # reports_ledger.balance_sheet rows at 31 December
    income: Mapping[str, Sequence[Row]]      # reports_ledger.income of the year
    prior: Mapping[str, Sequence[Row]]       # … of the year before
    owed: Mapping[str, tuple[int, int]]      # book -> government shares owed (start, end of the year)
    closed_on: dt.date | None = None
    eliminate: tuple[tuple[str, str], ...] = DEFAULT_ELIMINATIONS   # the region's final_accounts_eliminate
    # (ATTACK17) book -> what the shortfall rule set aside from the pooled fund's revenue, per year
    # (the year before, this year), each (government shares of earlier years received, in-year
    # adjustment-fund allocations): the income statement's memo lines to the rule's C
    aside: Mapping[str, tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=dict)


def _top(code: str) -> str:
    return code.split(".", 1)[0]


def _fund_keys(f: FinalFigures) -> list[tuple[str, str]]:
    keys = {(r["book"], r["component"]) for r in f.balances}
    keys |= {(r["book"], r["component"]) for d in (f.income, f.prior) for part in d.values() for r in part}
    return sorted(keys, key=lambda k: (k[0] != "RES", k))


def _flows(data: Mapping[str, Sequence[Row]], fund: tuple[str, str]) -> tuple[dict[str, int], int]:
    """Per account: the year's revenue or expenditure (normal direction), plus the
    other fund-balance movements; and the net assets before the year."""
    out: dict[str, int] = defaultdict(int)
    for r in data.get("movements", ()):
        if (r["book"], r["component"]) != fund:
            continue
        value = int(r["credits"]) - int(r["debits"])
        if r["kind"] == "expenditure":
            value = -value
        out["other_movements" if r["kind"] == "net_assets" else r["chart_code"]] += value
    opening = sum(int(r["net_assets"]) for r in data.get("opening", ()) if (r["book"], r["component"]) == fund)
    return out, opening


def _rule_memo(inc: Sequence[FinalLine], aside: tuple[tuple[int, int], tuple[int, int]] | None, labels: Labels,
               lang: str) -> list[FinalLine]:
    """(ATTACK17) memo lines after the pooled fund's income statement, without a line number,
    when the shortfall rule set anything aside in either year: ``share_receipts``,
    ``adjustment_receipts`` (each when not zero in either year) and ``rule_result``, the rule's
    C = ``result`` − those (BRIEF §5: the statement on the books, a reconciling line to the rule)."""
    if aside is None or (not any(aside[0]) and not any(aside[1])):
        return []
    before, this = aside
    result = next(x for x in inc if x.code == "result")
    out = [FinalLine("income", code, labels_.label(labels_.INCOME, code, lang), None, before[i], this[i])
           for i, code in enumerate(("share_receipts", "adjustment_receipts")) if before[i] or this[i]]
    out.append(FinalLine("income", "rule_result", labels_.label(labels_.INCOME, "rule_result", lang), None,
                         result.previous - sum(before), result.current - sum(this)))
    return out


def eliminate(flows: dict[str, int], pairs: Iterable[tuple[str, str]] = DEFAULT_ELIMINATIONS,
              ) -> dict[tuple[str, str], int]:
    """Take the internal pairs (expenditure code, revenue code) out of one year's flows,
    in place, each by the smaller of its two amounts; returns what went, per pair."""
    done = {}
    for spent, received in pairs:
        amount = max(0, min(flows.get(spent, 0), flows.get(received, 0)))
        if amount:
            flows[spent] -= amount
            flows[received] -= amount
            done[(spent, received)] = amount
    return done


def _tops(labels: Labels, kind: str, with_pending: bool) -> list[str]:
    return [c for c, r in labels.chart.items() if r.get("kind") == kind and not r.get("parent")
            and (with_pending or c not in ("4601", "4602"))]


def _balance_sheet(rows: Sequence[Row], labels: Labels, lang: str, owed: tuple[int, int] | None) -> list[FinalLine]:
    amounts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        code = _UNCLOSED if r["kind"] in ("revenue", "expenditure") else _top(r["chart_code"])
        sign = 1 if r["kind"] == "asset" else -1
        amounts[code][0] += sign * int(r["year_start"])
        amounts[code][1] += sign * int(r["closing"])
    out: list[FinalLine] = []

    def add(code: str, v: Sequence[int], name: str | None = None) -> None:
        out.append(FinalLine("balance_sheet", code, name or labels.name("chart", code, lang), len(out) + 1,
                             v[0], v[1]))

    def total(codes: Iterable[str]) -> list[int]:
        cs = list(codes)
        return [sum(amounts[c][0] for c in cs), sum(amounts[c][1] for c in cs)]

    sums = {}
    for kind, total_code in (("asset", "assets_total"), ("liability", "liabilities_total"),
                             ("net_assets", "net_assets_total")):
        codes = _tops(labels, kind, True)
        if kind == "net_assets" and any(amounts[_UNCLOSED]):
            codes.append(_UNCLOSED)
        for c in codes:
            add(c, amounts[c], labels_.label(_BS, c, lang) if c == _UNCLOSED else None)
        sums[kind] = total(codes)
        add(total_code, sums[kind], labels_.label(_BS, total_code, lang))
    add("liabilities_and_net_assets", [sums["liability"][i] + sums["net_assets"][i] for i in (0, 1)],
        labels_.label(_BS, "liabilities_and_net_assets", lang))
    if owed is not None:
        out.append(FinalLine("balance_sheet", _OWED, labels_.label(labels_.SUBLEDGER, _OWED, lang), None, *owed))
    return out


def _income(this: Mapping[str, int], before: Mapping[str, int], openings: tuple[int, int], labels: Labels,
            lang: str, with_pending: bool) -> list[FinalLine]:
    out: list[FinalLine] = []

    def add(code: str, prev: int, cur: int, name: str | None = None) -> None:
        out.append(FinalLine("income", code, name or labels.name("chart", code, lang), len(out) + 1, prev, cur))

    def by_top(flows: Mapping[str, int], top: str) -> int:
        return sum(v for c, v in flows.items() if c != "other_movements" and _top(c) == top)

    totals = {}
    for kind, total_code in (("revenue", "revenue_total"), ("expenditure", "expenditure_total")):
        tops = _tops(labels, kind, with_pending)
        for c in tops:
            add(c, by_top(before, c), by_top(this, c))
        totals[kind] = (sum(by_top(before, c) for c in tops), sum(by_top(this, c) for c in tops))
        add(total_code, *totals[kind], labels_.label(_INC, total_code, lang))
    result = (totals["revenue"][0] - totals["expenditure"][0], totals["revenue"][1] - totals["expenditure"][1])
    other = (before.get("other_movements", 0), this.get("other_movements", 0))
    add("result", *result, labels_.label(_INC, "result", lang))
    add("opening_fund_balance", *openings, labels_.label(_INC, "opening_fund_balance", lang))
    if any(other):
        add("other_movements", *other, labels_.label(_INC, "other_movements", lang))
    add("closing_fund_balance", openings[0] + result[0] + other[0], openings[1] + result[1] + other[1],
        labels_.label(_INC, "closing_fund_balance", lang))
    return out


def _schedule(this: Mapping[str, int], before: Mapping[str, int], labels: Labels, lang: str) -> list[FinalLine]:
    out: list[FinalLine] = []

    def add(code: str, prev: int, cur: int, name: str) -> None:
        out.append(FinalLine("schedule", code, name, len(out) + 1, prev, cur))

    for kind, total_code in (("revenue", "revenue_total"), ("expenditure", "expenditure_total")):
        codes = sorted(c for c in set(this) | set(before)
                       if c in labels.chart and labels.chart[c].get("kind") == kind
                       and (this.get(c, 0) or before.get(c, 0)))
        for top in sorted({_top(c) for c in codes}):
            children = [c for c in codes if c != top and _top(c) == top]
            mine = [top, *children]
            add(top, sum(before.get(c, 0) for c in mine), sum(this.get(c, 0) for c in mine),
                labels.name("chart", top, lang))
            for c in children:
                add(c, before.get(c, 0), this.get(c, 0), "  " + labels.name("chart", c, lang))
        add(total_code, sum(before.get(c, 0) for c in codes), sum(this.get(c, 0) for c in codes),
            labels_.label(_INC, total_code, lang))
    return out


def final_accounts_report(f: FinalFigures, *, labels: Labels, unit: str | None, lang: str = "zh",
                          generated_at: dt.datetime | None = None) -> Report:
    """决算: for each fund the balance sheet, the income and expenditure statement and its
    schedule (one section each, in that order); ``unit`` None is the city, consolidated.
    The notes say when the year was closed, whether every fund's statements
    tie (the income statement's closing fund balance is the balance sheet's net assets, at
    both ends), and, for the city, what was eliminated."""
    sections: list[Section] = []
    failures: list[str] = []
    eliminated: dict[tuple[str, str, str], int] = defaultdict(int)
    for fund in _fund_keys(f):
        book, comp = fund
        rows = [r for r in f.balances if (r["book"], r["component"]) == fund]
        pooled = comp == str(labels.books.get(book, {}).get("pooled_component") or "")
        owed = f.owed.get(book) if pooled and any(f.owed.get(book, (0, 0))) else None
        bs = _balance_sheet(rows, labels, lang, owed)
        this, opening = _flows(f.income, fund)
        before, prior_opening = _flows(f.prior, fund)
        if unit is None:
            for year_flows in (this, before):
                for pair, amount in eliminate(year_flows, f.eliminate).items():
                    if year_flows is this:
                        eliminated[(book, *pair)] += amount
        with_pending = bool(labels.books.get(book, {}).get("components"))
        inc = _income(this, before, (prior_opening, opening), labels, lang, with_pending)
        if pooled:
            inc += _rule_memo(inc, f.aside.get(book), labels, lang)
        sch = _schedule(this, before, labels, lang)
        net = next(x for x in bs if x.code == "net_assets_total")
        ends = {x.code: x for x in inc}
        both_sides = {x.code: x for x in bs if x.code in ("assets_total", "liabilities_and_net_assets")}
        if (ends["opening_fund_balance"].current, ends["closing_fund_balance"].current) != (net.previous, net.current) \
                or (both_sides["assets_total"].previous, both_sides["assets_total"].current) != \
                (both_sides["liabilities_and_net_assets"].previous, both_sides["liabilities_and_net_assets"].current):
            failures.append(" ".join(section_title(labels, book, comp)[0 if lang == "zh" else 1].split()))
        for statement, lines in (("balance_sheet", bs), ("income", inc), ("schedule", sch)):
            zh, en = section_title(labels, book, comp, both(STATEMENT_NAMES[statement]))
            sections.append(Section(zh, en, tuple({k: getattr(x, k) for k in field_names(FinalLine)} for x in lines),
                                    headers=_HEADERS[statement]))
    notes = []
    if f.closed_on is not None:
        notes.append(translate(N_("year {year} closed on {on}"), lang).format(year=f.year, on=f.closed_on))
    notes.append(translate(N_("every fund ties: assets = liabilities + net assets, and the income statement's fund "
                              "balance at the start and at the end of the year is the balance sheet's net assets"),
                           lang) if not failures
                 else translate(N_("DOES NOT TIE: {blocks}"), lang).format(blocks=", ".join(failures)))
    if unit is None:
        notes.append(translate(N_("city: the units' statements consolidated; each unit's share of a pooled bank "
                                  "account nets into that account's balance; flows between levels inside the city "
                                  "eliminated ({pairs}; a region setting, our reading): {done}"), lang).format(
                                      pairs=", ".join(f"{a}/{b}" for a, b in f.eliminate) or "—", done=", ".join(
                                   f"{b} {s}/{r} {format_yuan(amount)}" for (b, s, r), amount in sorted(eliminated.items()))
                                   or translate(N_("none"), lang)))
    if any(any(v) for v in f.owed.values()):
        notes.append(translate(OWED_NOTE, lang))
    scope = tuple(translate(N_("Consolidated"), x) if unit is None else f"{labels.name('units', unit, x)} {unit}"
                  for x in ("zh", "en"))
    zh, en = both(N_("Final accounts {year}: {scope}"), year=f.year, scope=scope)
    return Report("final_accounts", zh, en, labels.region, str(f.year), generated_at or now(labels), FINAL_COLUMNS,
                  tuple(sections), tuple(notes), signatures=SIGNATURES, orientation="portrait")
