"""Detail reports as ``Report`` values (pure): one unit's subledger, one account's
ledger (明细账) and printable vouchers (记账凭证). See ``builders`` for sign conventions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.i18n import N_, both, translate
from ledger.reports import labels as labels_
from ledger.reports.builders import Labels, Row, _label, _normal, account_label, now, section_title
from ledger.reports.model import Column, Report, Section

# --------------------------------------------------------------------------- subledger

SUBLEDGER_COLUMNS = (
    Column("code", N_("Code")),
    Column("name", N_("Account name")),
    Column("holder", N_("Bank account code"), data_only=True),
    Column("holder_name", N_("Bank account")),
    Column("opening", N_("Balance at start of year"), "money"),
    Column("debits", N_("Debits this year"), "money"),
    Column("credits", N_("Credits this year"), "money"),
    Column("closing", N_("Closing balance"), "money"),
)
_SUB_LABELS = labels_.SUBLEDGER


def subledger_report(rows: Sequence[Row], *, unit: str, as_of: dt.date, labels: Labels, lang: str = "zh",
                     generated_at: dt.datetime | None = None,
                     owed: Mapping[str, tuple[int, int]] | None = None,
                     aside: Mapping[str, tuple[int, int]] | None = None) -> Report:
    """One unit's accounts per book and component (balances in normal direction; debits
    and credits of the year, the year-end close included), then three summary lines:
    ``special_share`` (1003 on the special account), ``surplus`` (3001 plus the result not
    yet closed: the unit's net assets, at the start of the year and now) and
    ``year_result`` (revenue − expenditure of the year to date, without the close); and,
    for a book's pooled component when ``owed`` is given (book → (at the start of the year,
    at ``as_of``); a book absent owes nothing), ``government_share_outstanding``: the government's shortfall shares
    still owed to the fund, beside the surplus and not in it (the shortfall rule's S is
    the two together, BRIEF §5); and, for the pooled component when ``aside`` (book → (the
    government's shares of earlier years received, the in-year adjustment-fund allocations) since
    1 January, as the shortfall rule sets them aside) holds anything, the reconciling lines
    ``share_receipts``, ``adjustment_receipts`` (each when not zero) and ``rule_result``, the rule's
    C = ``year_result`` − those (ATTACK17), in the closing column."""
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r["book"], r["component"])].append(r)
    sections = []
    for book, comp in sorted(groups, key=lambda k: (k[0] != "RES", k)):
        out: list[dict[str, Any]] = []
        share, surplus, result = [0, 0], [0, 0], 0
        for r in groups[(book, comp)]:
            opening, closing = int(r["opening"]), int(r["opening"]) + int(r["debits"]) - int(r["credits"])
            out.append({"code": r["chart_code"], "name": labels.name("chart", r["chart_code"], lang),
                        "holder": r["holder"] or None,
                        "holder_name": labels.name("holders", r["holder"], lang) if r["holder"] else None,
                        "opening": _normal(r["kind"], opening), "debits": int(r["debits"]),
                        "credits": int(r["credits"]), "closing": _normal(r["kind"], closing)})
            if r["chart_code"] == "1003" and r["holder"] == "special":
                share = [share[0] + opening, share[1] + closing]
            if r["kind"] in ("net_assets", "revenue", "expenditure"):
                surplus = [surplus[0] - opening, surplus[1] - closing]
            if r["kind"] in ("revenue", "expenditure"):
                result += int(r["op_credits"]) - int(r["op_debits"])
        lines: list[tuple[str, list[int | None]]] = [("special_share", list(share)), ("surplus", list(surplus)),
                                                     ("year_result", [None, result])]
        pooled = str(labels.books.get(book, {}).get("pooled_component") or "")
        if owed is not None and comp == pooled:
            lines.append(("government_share_outstanding", list(owed.get(book, (0, 0)))))
        set_aside = (aside or {}).get(book, (0, 0)) if comp == pooled else (0, 0)
        if any(set_aside):
            lines += [(code, [None, v]) for code, v in zip(("share_receipts", "adjustment_receipts"), set_aside,
                                                             strict=True) if v]
            lines.append(("rule_result", [None, result - sum(set_aside)]))
        for code, values in lines:
            out.append({"code": code, "name": _label(_SUB_LABELS, code, lang), "opening": values[0],
                        "closing": values[1]})
        zh, en = section_title(labels, book, comp, (f"{labels.name('units', unit, 'zh')} {unit}", unit))
        sections.append(Section(zh, en, tuple(out)))
    return Report("subledger", *both(N_("Unit subledger")), labels.region,
                  f"{dt.date(as_of.year, 1, 1)}..{as_of}", generated_at or now(labels), SUBLEDGER_COLUMNS,
                  tuple(sections))


# --------------------------------------------------------------------------- account ledger

LEDGER_COLUMNS = (
    Column("voucher", N_("Voucher")),
    Column("entry_date", N_("Date"), "date"),
    Column("memo", N_("Memo")),
    Column("debit", N_("Debit"), "money"),
    Column("credit", N_("Credit"), "money"),
    Column("balance", N_("Balance"), "money"),
    Column("entry_id", N_("Entry"), "int"),
    Column("reverses", N_("Reverses entry"), "int"),
    Column("reversed_by", N_("Reversed by entry"), "int"),
    Column("created_by", N_("Posted by")),
)


def ledger_report(data: Mapping[str, Any], *, labels: Labels, lang: str = "zh",
                  generated_at: dt.datetime | None = None) -> Report:
    """明细账 of one account from ``reports_ledger.account_ledger``: a first line with the
    balance brought forward (``memo`` 期初余额), one line per posting with the running
    balance, in the account's normal direction. The totals row sums debits and credits
    of the lines shown and carries the last balance."""
    acc = data["account"]
    kind = acc["kind"]
    # Brought forward: the balance before the first line shown (with --offset, before the page).
    carried = int(data["opening"])
    if data["rows"]:
        r0 = data["rows"][0]
        carried = int(r0["balance"]) - (int(r0["amount"]) if r0["side"] == "D" else -int(r0["amount"]))
    first = {"entry_date": data["date_from"], "memo": translate(N_("Balance brought forward"), lang),
             "balance": _normal(kind, carried)}
    rows: list[dict[str, Any]] = [first]
    for r in data["rows"]:
        rows.append({"entry_date": r["entry_date"],
                     "voucher": f"{r['fiscal_year']}-{r['voucher_no']:06d}" if r["voucher_no"] else None,
                     "memo": r["memo"] or "", "debit": int(r["amount"]) if r["side"] == "D" else None,
                     "credit": int(r["amount"]) if r["side"] == "C" else None,
                     "balance": _normal(kind, int(r["balance"])), "entry_id": int(r["entry_id"]),
                     "reverses": r["reverses"], "reversed_by": r["reversed_by"], "created_by": r["created_by"]})
    totals = {"debit": sum(r.get("debit") or 0 for r in rows), "credit": sum(r.get("credit") or 0 for r in rows),
              "balance": rows[-1]["balance"]}
    names = (str(acc["name_zh"]), str(acc["name_en"]))
    holder = tuple(f" {labels.name('holders', acc['holder'], lang)}" if acc["holder"] else "" for lang in ("zh", "en"))
    section = Section(f"{acc['account']} {names[0]}{holder[0]}", f"{acc['account']} {names[1]}{holder[1]}",
                      tuple(rows), totals)
    side = N_("balance shown on the debit side") if kind in ("asset", "expenditure") \
        else N_("balance shown on the credit side")
    return Report("ledger", *both(N_("Account ledger {account} {name}"), account=acc["account"], name=names),
                  labels.region, f"{data['date_from']}..{data['date_to']}", generated_at or now(labels), LEDGER_COLUMNS,
                  (section,), (translate(side, lang),))


# --------------------------------------------------------------------------- vouchers

VOUCHER_COLUMNS = (
    Column("voucher", N_("Voucher")),
    Column("entry_date", N_("Date"), "date"),
    Column("memo", N_("Memo")),
    Column("account", N_("Account key"), data_only=True),
    Column("account_name", N_("Account")),
    Column("name", N_("Account name")),
    Column("debit", N_("Debit"), "money"),
    Column("credit", N_("Credit"), "money"),
    Column("entry_id", N_("Entry"), "int"),
    Column("kind", N_("Kind")),
    Column("created_by", N_("Posted by")),
    Column("reverses", N_("Reverses")),
    Column("reversed_by", N_("Reversed by")),
)


def vouchers_report(rows: Sequence[Row], *, labels: Labels, lang: str = "zh", period: str = "",
                    generated_at: dt.datetime | None = None) -> Report:
    """Printable vouchers from ``reports_ledger.vouchers``: one line per posting, the
    voucher's number, date, memo, who posted it and its reversal links repeated on each
    line so a filtered sheet still says which voucher a line belongs to. Totals: debits
    and credits of every voucher shown (equal when each voucher balances)."""
    out = [{"voucher": r["voucher"], "entry_date": r["entry_date"], "memo": r["posting_memo"] or r["memo"] or "",
            "account": r["account"], "account_name": account_label(labels, r["account"], lang),
            "name": labels.name("chart", r["chart_code"], lang),
            "debit": int(r["amount"]) if r["side"] == "D" else None,
            "credit": int(r["amount"]) if r["side"] == "C" else None, "entry_id": int(r["entry_id"]),
            "kind": r["kind"], "created_by": r["created_by"], "reverses": r["reverses_voucher"],
            "reversed_by": r["reversed_by_voucher"]} for r in rows]
    totals = {"debit": sum(r["debit"] or 0 for r in out), "credit": sum(r["credit"] or 0 for r in out)}
    return Report("vouchers", *both(N_("Vouchers")), labels.region, period, generated_at or now(labels),
                  VOUCHER_COLUMNS, (Section(*both(N_("Vouchers")), tuple(out), totals),))
