"""Turn figures read by ``ledger.store`` into ``Report`` values: pure functions, no I/O.

The ledger reports live here (trial balance, balance sheet, income, subledger, account
ledger, vouchers); the fund-cycle ones (budget execution, requests, registers, monitor)
in ``builders_fund``. Every amount is int fen; sign conventions are per report:

* trial balance: debits − credits (as the ledger keeps it);
* balance sheet, income, subledger, ledger: each line in its normal direction (assets
  and expenditure debit-positive; liabilities, fund balance and revenue credit-positive),
  so a negative figure is a balance on the "wrong" side (a unit's negative share of the
  special account).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.core.shapes import money_keys
from ledger.i18n import MONTHS, N_, QUARTERS, both, join_words, translate
from ledger.reports import labels as labels_
from ledger.reports.model import Column, Report, Section

if TYPE_CHECKING:
    from ledger.store.accounts import TrialBalanceLine

Row = Mapping[str, Any]

#: A book's components as people read them (the employees' book has two funds).
COMPONENT_NAMES = {"pooled": N_("pooled fund"), "personal": N_("personal-account fund")}
ALL_UNITS = labels_.ALL_UNITS


@dataclass(frozen=True, slots=True)
class Labels:
    """Reference data for labelling rows (read by ``ledger.store.reports.labels``)."""

    region: str = ""
    units: Mapping[str, Row] = field(default_factory=dict)     # code -> name_zh, name_en, kind (region order)
    books: Mapping[str, Row] = field(default_factory=dict)     # code -> name_zh, name_en, pooled_component
    holders: Mapping[str, Row] = field(default_factory=dict)   # code -> name_zh, name_en
    chart: Mapping[str, Row] = field(default_factory=dict)     # code -> name_zh, name_en, kind, parent
    time_zone: str = ""                                         # the region file's; '' = the default

    def name(self, table: str, code: str, lang: str) -> str:
        rec = getattr(self, table).get(code)
        if rec is None:
            return code
        return str(rec["name_zh"] if lang == "zh" else rec["name_en"])

    def unit_order(self, codes: Iterable[str]) -> list[str]:
        order = {c: i for i, c in enumerate(self.units)}
        return sorted(set(codes), key=lambda c: (order.get(c, len(order)), c))


def now(labels: Labels | None = None) -> dt.datetime:
    """This second in the fund's time zone (``FUNDLEDGER_TIME_ZONE``, else the region
    file's ``time_zone``, else Asia/Shanghai): a report says when it was made as the
    office's clock says it, not the server's UTC."""
    from ledger.core.timezone import fund_time_zone

    return dt.datetime.now(fund_time_zone(labels.time_zone if labels else None)).replace(microsecond=0)


def account_label(labels: Labels, key: str, lang: str) -> str:
    """An account as a person reads it: ``同江市 5001.pharmacy 个人账户基金`` for the key
    ``EMP:5001.pharmacy:230881::personal`` (unit name, chart code, bank account, component);
    the book is the section's. A key that does not parse comes back as it is."""
    parts = key.split(":")
    if len(parts) < 3:
        return key
    parts += [""] * (5 - len(parts))
    _book, code, unit, holder, component = parts[:5]
    words = [labels.name("units", unit, lang), code]
    if holder:
        words.append(labels.name("holders", holder, lang))
    if component:
        words.append(component_name(component, lang))
    return " ".join(words)


def component_name(component: str, lang: str) -> str:
    """``pooled`` → 统筹基金 / pooled fund; an unknown component as it is."""
    msg = COMPONENT_NAMES.get(component)
    return translate(msg, lang) if msg else component


def section_title(labels: Labels, book: str, component: str, extra: tuple[str, str] | None = None) -> tuple[str, str]:
    """(zh, en) title of a book's section: the book's Chinese name (its code in English,
    as scripts key on it), the component's name from the catalogue, then ``extra``."""
    zh, en = labels.name("books", book, "zh"), book
    if component:
        zh, en = f"{zh} {component_name(component, 'zh')}", f"{en} {component_name(component, 'en')}"
    if extra:
        zh, en = f"{zh} {extra[0]}", f"{en} {extra[1]}"
    return zh, en


def _normal(kind: str, debit_minus_credit: int) -> int:
    return debit_minus_credit if kind in ("asset", "expenditure") else -debit_minus_credit


def _year_period(as_of: dt.date | None, year: int | None) -> str:
    if as_of is not None:
        return f"{dt.date(as_of.year if year is None else year, 1, 1)}..{as_of}"
    if year is not None:
        return str(year)
    return f"..{dt.date.today()}"


# --------------------------------------------------------------------------- trial balance

TB_COLUMNS = (
    Column("account", N_("Account key"), data_only=True),
    Column("account_name", N_("Account")),
    Column("name_zh", N_("Name (zh)"), only="zh"),
    Column("name_en", N_("Name (en)"), only="en"),
    Column("opening", N_("Opening (Dr−Cr)"), "money"),
    Column("period_debits", N_("Debits"), "money"),
    Column("period_credits", N_("Credits"), "money"),
    Column("closing", N_("Closing (Dr−Cr)"), "money"),
)


def trial_balance_report(rows: Sequence[TrialBalanceLine], *, as_of: dt.date | None = None, year: int | None = None,
                         labels: Labels | None = None, generated_at: dt.datetime | None = None,
                         lang: str = "zh") -> Report:
    """试算平衡表: one section per book, one row per account (balances debits − credits),
    a totals row per book (debits = credits, closing sums to zero when the book balances).
    ``account`` is the account's key (for scripts), ``account_name`` its printed label."""
    labels = labels or Labels()
    by_book: dict[str, list[TrialBalanceLine]] = defaultdict(list)
    for r in rows:
        by_book[r.book].append(r)
    sections = []
    for book in sorted(by_book, reverse=True):
        rs = by_book[book]
        zh, en = section_title(labels, book, "")
        sections.append(Section(zh, en, tuple({**{c.key: getattr(r, c.key) for c in TB_COLUMNS
                                                  if c.key != "account_name"},
                                               "account_name": account_label(labels, r.account, lang)}
                                              for r in rs),
                                {k: sum(int(getattr(r, k)) for r in rs) for k in money_keys(type(rs[0]))}))
    return Report("trial_balance", *both(N_("Trial balance")), labels.region, _year_period(as_of, year),
                  generated_at or now(labels), TB_COLUMNS, tuple(sections))


# --------------------------------------------------------------------------- balance sheet

BS_COLUMNS = (
    Column("scope", N_("Scope")),
    Column("scope_name", N_("Unit name")),
    Column("code", N_("Line")),
    Column("name", N_("Name")),
    Column("holder", N_("Bank account code"), data_only=True),
    Column("holder_name", N_("Bank account")),
    Column("year_start", N_("Start of year"), "money"),
    Column("closing", N_("End of period"), "money"),
)

_BS_LABELS = labels_.BALANCE_SHEET
#: The memo line beside a pooled fund's balance: the government's shortfall shares still owed
#: (the obligations register; not on the books), as the subledger and the final accounts name it.
OWED = "government_share_outstanding"
OWED_NOTE = N_("government share owed: the local government's shortfall shares not yet received, kept in the "
               "register beside the fund balance, not in it (cash basis)")


_label = labels_.label


def balance_sheet_report(rows: Sequence[Row], *, as_of: dt.date, labels: Labels, lang: str = "zh",
                         unit: str | None = None, generated_at: dt.datetime | None = None,
                         owed: Mapping[tuple[str, str], tuple[int, int]] | None = None) -> Report:
    """资产负债表 from ``reports_ledger.balance_sheet`` rows. One section per book and
    component; inside it a block for the whole region (scope ``all``) and one per unit
    (only that unit with ``unit``). Lines in normal direction; net assets are 3001 plus the
    revenue − expenditure not yet closed, so assets = liabilities + net assets must tie —
    checked for every block and stated in the notes. With ``owed`` ((book, unit) → the
    government's shortfall shares owed at the start of the year and at ``as_of``,
    ``reports_ledger.government_owed_by_unit``; a pair absent owes nothing), every block of a
    book's pooled component ends with the memo line ``government_share_outstanding``: beside the
    fund balance, not in it (the books are on the cash basis; the shortfall rule's S counts it,
    BRIEF §5) — the block's units' sum in the consolidated one."""
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r["book"], r["component"])].append(r)
    sections, failures = [], []
    any_owed = False
    for (book, comp) in sorted(groups, key=lambda k: (k[0] != "RES", k)):
        rs = groups[(book, comp)]
        scopes = labels.unit_order(r["unit"] for r in rs)
        if unit is None:
            scopes = [ALL_UNITS, *scopes]
        pooled = owed is not None and comp == str(labels.books.get(book, {}).get("pooled_component") or "")
        out: list[dict[str, Any]] = []
        for scope in scopes:
            mine = [r for r in rs if scope in (ALL_UNITS, r["unit"])]
            scope_name = translate(N_("Consolidated"), lang) if scope == ALL_UNITS \
                else labels.name("units", scope, lang)
            block, ok = _bs_block(mine, labels, lang)
            if not ok:
                failures.append(" ".join(w for w in (book, component_name(comp, lang) if comp else "", scope_name) if w))
            if pooled:
                owed_here = [v for (b, u), v in (owed or {}).items() if b == book and scope in (ALL_UNITS, u)]
                memo = [sum(v[0] for v in owed_here), sum(v[1] for v in owed_here)]
                any_owed = any_owed or any(memo)
                block.append({"code": OWED, "name": _label(labels_.SUBLEDGER, OWED, lang), "holder": None,
                              "holder_name": None, "year_start": memo[0], "closing": memo[1]})
            out.extend(dict(r, scope=scope, scope_name=scope_name) for r in block)
        zh, en = section_title(labels, book, comp)
        sections.append(Section(zh, en, tuple(out)))
    note = (translate(N_("assets = liabilities + net assets: ties for every block"), lang) if not failures
            else translate(N_("DOES NOT TIE: {blocks}"), lang).format(blocks=join_words(failures, lang)))
    return Report("balance_sheet", *both(N_("Balance sheet")), labels.region,
                  f"{dt.date(as_of.year, 1, 1)}..{as_of}", generated_at or now(labels), BS_COLUMNS, tuple(sections),
                  (note, *([translate(OWED_NOTE, lang)] if any_owed else [])))


def _bs_block(rows: Sequence[Row], labels: Labels, lang: str) -> tuple[list[dict[str, Any]], bool]:
    lines: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        key = (r["chart_code"], r["holder"])
        if r["kind"] in ("revenue", "expenditure"):
            key = ("unclosed_result", "")
        sign = 1 if r["kind"] == "asset" else -1
        lines[key][0] += sign * int(r["year_start"])
        lines[key][1] += sign * int(r["closing"])

    def kind_of(code: str) -> str:
        return "net_assets" if code == "unclosed_result" else str(labels.chart.get(code, {}).get("kind", "asset"))

    def line(code: str, holder: str, v: Sequence[int], name: str | None = None) -> dict[str, Any]:
        return {"code": code, "name": name or labels.name("chart", code, lang), "holder": holder or None,
                "holder_name": labels.name("holders", holder, lang) if holder else None,
                "year_start": v[0], "closing": v[1]}

    def total(code: str, *vals: Sequence[int]) -> dict[str, Any]:
        return line(code, "", [sum(v[0] for v in vals), sum(v[1] for v in vals)], _label(_BS_LABELS, code, lang))

    out: list[dict[str, Any]] = []
    sums = {}
    for kind, total_code in (("asset", "assets_total"), ("liability", "liabilities_total"),
                             ("net_assets", "net_assets_total")):
        keys = sorted((k for k in lines if kind_of(k[0]) == kind), key=lambda k: (k[0] == "unclosed_result", k))
        for code, holder in keys:
            name = _label(_BS_LABELS, code, lang) if code == "unclosed_result" else None
            out.append(line(code, holder, lines[(code, holder)], name))
        sums[kind] = [lines[k] for k in keys]
        out.append(total(total_code, *sums[kind]))
    out.append(total("liabilities_and_net_assets", *sums["liability"], *sums["net_assets"]))
    ok = all(out_row["year_start"] == out[-1]["year_start"] and out_row["closing"] == out[-1]["closing"]
             for out_row in out if out_row["code"] == "assets_total")   # out[-1]: liabilities_and_net_assets
    return out, ok


# --------------------------------------------------------------------------- income

_INCOME_LABELS = labels_.INCOME


def period_keys(period: str, start: dt.date, end: dt.date) -> list[tuple[str, str]]:
    """(key, header message id) of the period columns between ``start`` and ``end``."""
    months = [(start.year, m) for m in range(start.month, end.month + 1)] if start.year == end.year else []
    if period == "month":
        return [(f"m{m:02d}", MONTHS[m - 1]) for _, m in months]
    if period == "quarter":
        qs = sorted({(m - 1) // 3 + 1 for _, m in months})
        return [(f"q{q}", QUARTERS[q - 1]) for q in qs]
    if period == "year":
        return []
    raise ValueError(f"period must be month, quarter or year, got {period!r}")


def _period_of(period: str, month: dt.date) -> str | None:
    if period == "month":
        return f"m{month.month:02d}"
    if period == "quarter":
        return f"q{(month.month - 1) // 3 + 1}"
    return None


def period_spans(period: str, start: dt.date, end: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """Each period column's (first, last) day inside ``start``..``end``, and ``total``'s (the whole
    span): the days whose fund balance the income statement's opening and closing lines state."""
    spans: dict[str, tuple[dt.date, dt.date]] = {}
    for k, _ in period_keys(period, start, end):
        first_month = int(k[1:]) if k.startswith("m") else 3 * int(k[1:]) - 2
        last_month = int(k[1:]) if k.startswith("m") else 3 * int(k[1:])
        after = dt.date(start.year + (last_month == 12), last_month % 12 + 1, 1)
        spans[k] = (max(start, dt.date(start.year, first_month, 1)), min(end, after - dt.timedelta(days=1)))
    spans["total"] = (start, end)
    return spans


def fund_balance_days(period: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The days at whose end the income statement states a balance (the day before each period
    column's first day, and each one's last): where ``reports_ledger.government_owed_at`` reads
    the share owed beside the fund balance."""
    return sorted({d for first, last in period_spans(period, start, end).values()
                   for d in (first - dt.timedelta(days=1), last)})


def income_report(data: Mapping[str, Sequence[Row]], *, start: dt.date, end: dt.date, period: str,
                  labels: Labels, lang: str = "zh", unit: str | None = None,
                  generated_at: dt.datetime | None = None,
                  owed: Mapping[tuple[str, str, dt.date], int] | None = None) -> Report:
    """收支表 from ``reports_ledger.income``: one section per book and component (summed
    over units, or one unit's). Revenue and expenditure by account, a sub-account's parent
    first as the sum of its children; then totals, the result, and the fund balance:
    ``closing_fund_balance = opening_fund_balance + result + other_movements`` in every
    period column and in ``total``. With ``owed`` ((book, unit, day) → the government's
    shortfall shares owed at the end of the day, ``reports_ledger.government_owed_at`` at
    ``fund_balance_days``; absent: nothing owed), the section of a book's pooled component
    carries, beside the fund balance and not in it (BRIEF §5), the memo lines
    ``opening_government_share_outstanding`` and ``closing_government_share_outstanding`` after
    ``closing_fund_balance``: owed at the days of the opening and closing fund balance of each
    column, summed over the units shown."""
    pkeys = period_keys(period, start, end)
    cols = (Column("code", N_("Code")), Column("name", N_("Account name")),
            *(Column(k, label, "money") for k, label in pkeys), Column("total", N_("Total"), "money"))
    keys = [k for k, _ in pkeys]
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in data["movements"]:
        groups[(r["book"], r["component"])].append(r)
    openings: dict[tuple[str, str], int] = defaultdict(int)
    for r in data["opening"]:
        openings[(r["book"], r["component"])] += int(r["net_assets"])
    # (ATTACK17) the rule's set-asides, the pooled component's reconciling lines to its C
    given: Mapping[str, Any] = data.get("aside") or {}  # type: ignore[assignment]
    pooled: Mapping[str, str] = given.get("pooled", {})
    aside: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int)))
    for code, items in (("share_receipts", given.get("receipts", ())), ("adjustment_receipts",
                                                                         given.get("adjustments", ()))):
        for g in items:
            cells = aside[(str(g["book"]), pooled.get(str(g["book"]), ""))][code]
            pk = _period_of(period, g["day"])
            if pk is not None:
                cells[pk] += int(g["amount"])
            cells["total"] += int(g["amount"])
    spans = period_spans(period, start, end)
    owed_on: dict[tuple[str, dt.date], int] = defaultdict(int)
    for (b, _unit, day), amount in (owed or {}).items():
        owed_on[(b, day)] += int(amount)
    sections, any_owed = [], False
    for book, comp in sorted(set(groups) | set(openings), key=lambda k: (k[0] != "RES", k)):
        rows = _income_rows(groups.get((book, comp), []), openings.get((book, comp), 0), period, keys, labels, lang,
                            aside.get((book, comp), {}))
        if owed is not None and comp == str(labels.books.get(book, {}).get("pooled_component") or ""):
            memo = {f"{end_}_government_share_outstanding": {
                k: owed_on[(book, first - dt.timedelta(days=1) if end_ == "opening" else last)]
                for k, (first, last) in spans.items()} for end_ in ("opening", "closing")}
            any_owed = any_owed or any(v for m in memo.values() for v in m.values())
            # after the statement's last line (closing = opening + result + other movements), before
            # the reconciling lines to the rule: memo lines, in no sum
            at = next(i for i, r in enumerate(rows) if r["code"] == "closing_fund_balance") + 1
            rows[at:at] = [{"code": code, "name": _label(_INCOME_LABELS, code, lang), **memo[code]}
                           for code in ("opening_government_share_outstanding", "closing_government_share_outstanding")]
        extra = None if unit is None else (labels.name("units", unit, "zh"), unit)
        zh, en = section_title(labels, book, comp, extra)
        sections.append(Section(zh, en, tuple(rows)))
    return Report("income", *both(N_("Income and expenditure")), labels.region, f"{start}..{end}",
                  generated_at or now(labels), cols, tuple(sections), (translate(OWED_NOTE, lang),) if any_owed else ())


def _income_rows(movements: Sequence[Row], opening: int, period: str, keys: Sequence[str], labels: Labels,
                 lang: str, aside: Mapping[str, Mapping[str, int]] | None = None) -> list[dict[str, Any]]:
    cells: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))   # code -> period key -> amount
    for r in movements:
        value = int(r["credits"]) - int(r["debits"])
        if r["kind"] == "expenditure":
            value = -value
        code = "other_movements" if r["kind"] == "net_assets" else r["chart_code"]
        pk = _period_of(period, r["month"])
        if pk is not None:
            cells[code][pk] += value
        cells[code]["total"] += value
    all_keys = [*keys, "total"]

    def row(code: str, name: str, values: Mapping[str, int]) -> dict[str, Any]:
        return {"code": code, "name": name, **{k: int(values.get(k, 0)) for k in all_keys}}

    def summed(codes: Iterable[str]) -> dict[str, int]:
        return {k: sum(cells[c].get(k, 0) for c in codes) for k in all_keys}

    out: list[dict[str, Any]] = []
    totals = {}
    for kind, total_code in (("revenue", "revenue_total"), ("expenditure", "expenditure_total")):
        leaves = sorted(c for c in cells if labels.chart.get(c, {}).get("kind") == kind)
        parents = sorted({str(labels.chart[c]["parent"]) for c in leaves if labels.chart[c].get("parent")})
        for top in sorted({*parents, *(c for c in leaves if not labels.chart[c].get("parent"))}):
            children = [c for c in leaves if labels.chart[c].get("parent") == top]
            if children:
                out.append(row(top, labels.name("chart", top, lang), summed(children)))
                out.extend(row(c, "  " + labels.name("chart", c, lang), cells[c]) for c in children)
            else:
                out.append(row(top, labels.name("chart", top, lang), cells[top]))
        totals[kind] = summed(leaves)
        out.append(row(total_code, _label(_INCOME_LABELS, total_code, lang), totals[kind]))
    result = {k: totals["revenue"][k] - totals["expenditure"][k] for k in all_keys}
    other = {k: cells["other_movements"].get(k, 0) for k in all_keys}
    opening_p, closing_p, running = {}, {}, opening
    for k in keys:
        opening_p[k] = running
        running += result[k] + other[k]
        closing_p[k] = running
    opening_p["total"] = opening
    closing_p["total"] = opening + result["total"] + other["total"]
    out.append(row("result", _label(_INCOME_LABELS, "result", lang), result))
    out.append(row("opening_fund_balance", _label(_INCOME_LABELS, "opening_fund_balance", lang), opening_p))
    out.append(row("other_movements", _label(_INCOME_LABELS, "other_movements", lang), other))
    out.append(row("closing_fund_balance", _label(_INCOME_LABELS, "closing_fund_balance", lang), closing_p))
    # (ATTACK17) the statement is on the books; the shortfall rule's C leaves out what it sets aside:
    # reconciling lines after the statement, when there is anything to reconcile
    shown = [c for c in ("share_receipts", "adjustment_receipts") if any((aside or {}).get(c, {}).values())]
    if aside and shown:
        for c in shown:
            out.append(row(c, _label(_INCOME_LABELS, c, lang), aside[c]))
        out.append(row("rule_result", _label(_INCOME_LABELS, "rule_result", lang),
                       {k: result[k] - sum(int(aside[c].get(k, 0)) for c in shown) for k in all_keys}))
    return out
