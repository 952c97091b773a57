"""Every report that shows or scores a year's revenue, expenditure, result or balance rate agrees
with the shortfall rule's one definition per component (ATTACK17 E1/E2), or differs from it by
exactly a named reconciling line the report shows.

The rule's figures per (unit, book, component): ``ledger.store.year_figures.component_years``
(the pooled component: ``fl.year_figures_read_at``; another component: its year flows), checked
first against ``report shortfall`` (the close's stored table) for the pooled component and against
the income statement (the books, every unit summed) for every component. Then, per report × unit
× book (× component where the report has one):

* ``report shortfall``: revenue, expenditure, C — the rule's;
* ``monitor`` at 31 December: ``year_revenue`` the rule's revenue, ``balance_rate`` C ÷ revenue;
  ``year_result`` (the books) = C + share receipts + adjustment receipts;
* ``report performance`` (the pooled component): revenue and expenditure executed and the
  balance-rate evidence the rule's, the balance rate the monitor's;
* ``report budget-execution`` and ``report city-budget`` (each unit's block per component — one
  for every unit × book × component with actuals, budget or not — and the city's block = every
  unit's sums, ATTACK17b F5): ``revenue_total``, ``expenditure_total``, ``result`` the rule's; ``revenue_total`` + the reconciling lines ``share_receipts`` + ``adjustment_receipts`` =
  revenue on the books;
* ``report income`` (the books, per book and component): ``revenue_total`` = Σ revenue on the
  books, ``result`` = Σ (C + share receipts + adjustment receipts); its reconciling lines
  ``share_receipts``, ``adjustment_receipts`` and ``rule_result`` (the rule's C) shown whenever
  the two differ; likewise the city's final accounts (income statement, memo lines), a closed year.

And every report that shows a pooled fund's balance shows beside it the government share still
owed (BRIEF §5, ATTACK18 G10), the subledger's figure at the same date (``report subledger``'s
``government_share_outstanding``, built per unit as the command builds it: ``owed_disagreements``):
the balance sheet's every block (a unit's, the consolidated one = every unit's), the income
statement's ``opening_government_share_outstanding`` / ``closing_government_share_outstanding`` in
every quarter and the total, the monitor's ``outstanding_share`` (every unit's and ``all``), and the
final accounts' balance sheet (its memo line, present whenever anything is owed at either end).

Used by tests/acceptance/test_demo.py on the demo's two years (its database still open).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ledger.core.money import parse_fen
from ledger.reports import builders_detail
from ledger.reports.builders import OWED, Labels, section_title
from ledger.reports.model import Report
from ledger.store import reports, reports_ledger
from ledger.store.db import run_tx
from ledger.store.year_figures import ComponentYear, component_years


def _rate(c: int, revenue: int) -> Decimal | None:
    if revenue == 0:
        return None
    return (Decimal(c) * 100 / Decimal(revenue)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _evidence_first(text: str) -> int:
    """The first amount of a performance row's evidence (``1,100.00 ÷ 1,200.00`` → 110000)."""
    return parse_fen(text.strip("(").split(" ")[0].replace(",", ""))


def disagreements(conn: Any, year: int, reps: dict[str, Report]) -> list[str]:
    """What disagrees with the rule in ``reps`` (``cli.cmd_demo.build_reports`` of ``year``)."""
    rule: dict[tuple[str, str, str], ComponentYear] = {
        (f.unit, f.book, f.component): f for f in run_tx(conn, lambda c: component_years(c, year))}
    labels = run_tx(conn, reports.labels)
    pooled = {f.book: f.component for f in rule.values() if f.pooled}
    bad: list[str] = []

    def same(what: str, got: object, want: object) -> None:
        if got != want:
            bad.append(f"{year} {what}: {got!r}, the rule's {want!r}")

    # The rule's figures themselves: the close's table (pooled) and the books (every component).
    for s in reps["shortfall"].sections:
        for r in s.rows:
            f = rule[(r["unit"], r["book"], pooled[r["book"]])]
            same(f"shortfall {r['unit']} {r['book']} (revenue, expenditure, C, share, adjustment)",
                 (r["revenue"], r["expenditure"], r["current_balance"], r["share_receipts"], r["adjustment_receipts"]),
                 (f.revenue, f.expenditure, f.current_balance, f.share_receipts, f.adjustment_receipts))
    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in rule.values():
        t = sums[(f.book, f.component)]
        t["revenue"] += f.revenue
        t["expenditure"] += f.expenditure
        t["on_books"] += f.revenue_on_books
        t["share"] += f.share_receipts
        t["adjustment"] += f.adjustment_receipts
    income = {s.title_en: {r["code"]: r for r in s.rows} for s in reps["income"].sections}
    for (book, comp), t in sums.items():
        title = section_title(labels, book, comp)[1]
        rows = income.get(title)
        if rows is None:
            bad.append(f"{year} income: no section {title}")
            continue
        same(f"income {title} revenue_total (on the books)", rows["revenue_total"]["total"], t["on_books"])
        same(f"income {title} expenditure_total", rows["expenditure_total"]["total"], t["expenditure"])
        same(f"income {title} result (on the books)", rows["result"]["total"],
             t["revenue"] - t["expenditure"] + t["share"] + t["adjustment"])
        if "rule_result" in rows:
            same(f"income {title} reconciling lines (share, adjustment, rule_result)",
                 tuple(rows[k]["total"] if k in rows else 0 for k in ("share_receipts", "adjustment_receipts",
                                                                      "rule_result")),
                 (t["share"], t["adjustment"], t["revenue"] - t["expenditure"]))
        elif t["share"] or t["adjustment"]:
            bad.append(f"{year} income {title}: on the books differs from the rule by {t['share']} + "
                       f"{t['adjustment']} and the report shows no reconciling line")

    # The final accounts' income statement (a closed year; the city): the books, with memo lines to the rule.
    if "final-accounts" in reps:
        fa: dict[str, dict[str, Any]] = defaultdict(dict)
        for s in reps["final-accounts"].sections:
            for r in s.rows:
                if r["statement"] == "income":
                    fa[s.title_en][str(r["code"])] = r
        for (book, comp), t in sums.items():
            rows = next((v for k, v in fa.items() if k.startswith(section_title(labels, book, comp)[1] + " ")), None)
            if rows is None:
                bad.append(f"{year} final accounts: no income statement for {book} {comp}")
                continue
            same(f"final accounts {book} {comp} (revenue_total, result) on the books",
                 (rows["revenue_total"]["current"], rows["result"]["current"]),
                 (t["on_books"], t["revenue"] - t["expenditure"] + t["share"] + t["adjustment"]))
            if t["share"] or t["adjustment"]:
                same(f"final accounts {book} {comp} memo rule_result (the rule's C)",
                     rows["rule_result"]["current"] if "rule_result" in rows else None, t["revenue"] - t["expenditure"])

    # The monitor at 31 December (the pooled component).
    for s in reps["monitor"].sections:
        book = s.title_en.split(" ")[0]
        for r in s.rows:
            if r["unit"] == "all":
                fs = [f for f in rule.values() if f.book == book and f.pooled]
                rev, c = sum(f.revenue for f in fs), sum(f.current_balance for f in fs)
                extra = sum(f.share_receipts + f.adjustment_receipts for f in fs)
            else:
                f = rule[(r["unit"], book, pooled[book])]
                rev, c, extra = f.revenue, f.current_balance, f.share_receipts + f.adjustment_receipts
            same(f"monitor {r['unit']} {book} (year_revenue, balance_rate, year_result on the books)",
                 (r["year_revenue"], r["balance_rate"], r["year_result"]), (rev, _rate(c, rev), c + extra))
            same(f"monitor {r['unit']} {book} reconciling columns (current_balance, share + adjustment receipts)",
                 (r["current_balance"], r["share_receipts"] + r["adjustment_receipts"]), (c, extra))
    monitor_rate = {(s.title_en.split(" ")[0], r["unit"]): r["balance_rate"]
                    for s in reps["monitor"].sections for r in s.rows}

    # The performance review: the pooled component.
    for s in reps["performance"].sections:
        for r in s.rows:
            book = s.title_en.split(" ")[0]
            f = rule[(r["unit"], book, pooled[book])]
            if r["indicator"] == "revenue_execution":
                same(f"performance {r['unit']} {book} revenue", _evidence_first(r["evidence"]), f.revenue)
            elif r["indicator"] == "expenditure_execution":
                same(f"performance {r['unit']} {book} expenditure", _evidence_first(r["evidence"]), f.expenditure)
            elif r["indicator"] == "balance_rate":
                same(f"performance {r['unit']} {book} balance rate (value, its revenue)",
                     (r["value"], _evidence_first(r["evidence"])),
                     (monitor_rate[(book, r["unit"])], f.revenue))
                same(f"performance {r['unit']} {book} balance rate = C ÷ revenue", r["value"],
                     _rate(f.current_balance, f.revenue))

    # Budget execution and the city-wide budget: each block per unit and component, and the city's.
    for key in ("budget-execution", "city-budget"):
        shown: set[tuple[str, str, str]] = set()
        for s in reps[key].sections:
            book = s.title_en.split(" ")[0]
            blocks: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
            for r in s.rows:
                blocks[(str(r["unit"]), str(r["component"] or ""))][str(r["line"])] = r
            shown |= {(u, book, c) for u, c in blocks}
        # every unit × book × component with actuals has its block, budget or not (ATTACK17b F5)
        for k, f in sorted(rule.items()):
            if (f.revenue or f.expenditure or f.revenue_on_books) and k not in shown:
                bad.append(f"{year} {key}: no block for {' '.join(k)} (revenue {f.revenue}, "
                           f"expenditure {f.expenditure})")
        for s in reps[key].sections:
            book = s.title_en.split(" ")[0]
            blocks = defaultdict(dict)
            for r in s.rows:
                blocks[(str(r["unit"]), str(r["component"] or ""))][str(r["line"])] = r
            for (unit, comp), rows in blocks.items():
                fs = [f for f in rule.values() if f.book == book and f.component == comp
                      and (unit == "all" or f.unit == unit)]
                # the city block is the whole city's: every unit's rule figures, budget or not (ATTACK17b F5)
                rev, exp = sum(f.revenue for f in fs), sum(f.expenditure for f in fs)
                books = sum(f.revenue_on_books for f in fs)
                got = tuple(rows[k]["actual"] for k in ("revenue_total", "expenditure_total", "result"))
                same(f"{key} {unit} {book} {comp} (revenue_total, expenditure_total, result)", got,
                     (rev, exp, rev - exp))
                recon = sum(int(rows[k]["actual"]) for k in ("share_receipts", "adjustment_receipts") if k in rows)
                same(f"{key} {unit} {book} {comp} revenue_total + reconciling lines (revenue on the books)",
                     int(rows["revenue_total"]["actual"]) + recon, books)
    return bad + owed_disagreements(conn, year, reps, labels)


def _subledger_owed(conn: Any, labels: Labels, days: Iterable[dt.date]) -> dict[tuple[str, str, dt.date], tuple[int, int]]:
    """(book, unit, day) → ``report subledger --unit U --as-of day``'s ``government_share_outstanding``
    (start of the year, the day) of the book's pooled component, built as the command builds it; a
    unit whose subledger has no such line owes nothing."""
    out: dict[tuple[str, str, dt.date], tuple[int, int]] = {}
    pooled = {b: str(r.get("pooled_component") or "") for b, r in labels.books.items()}
    for day in days:
        for unit in labels.units:
            rep = run_tx(conn, lambda c, u=unit, d=day: builders_detail.subledger_report(
                reports_ledger.subledger(c, unit=u, as_of=d), unit=u, as_of=d, labels=labels, lang="en",
                owed=reports_ledger.government_owed(c, unit=u, as_of=d)))
            titles = {section_title(labels, b, comp, ("", unit))[1]: b for b, comp in pooled.items()}
            for sec in rep.sections:
                book = titles.get(sec.title_en)
                for r in sec.rows:
                    if book is not None and r["code"] == OWED:
                        out[(book, unit, day)] = (int(r["opening"]), int(r["closing"]))
    return out


def owed_disagreements(conn: Any, year: int, reps: dict[str, Report], labels: Labels) -> list[str]:
    """Where a report that shows a pooled fund's balance does not show the government share owed
    beside it, or shows another figure than the subledger's at the same date (BRIEF §5, G10)."""
    bad: list[str] = []
    quarter_ends = [dt.date(year, 3, 31), dt.date(year, 6, 30), dt.date(year, 9, 30), dt.date(year, 12, 31)]
    sub = _subledger_owed(conn, labels, quarter_ends)
    end = quarter_ends[-1]
    books = {b: str(r.get("pooled_component") or "") for b, r in labels.books.items()}

    def owed(book: str, day: dt.date, unit: str = "all") -> tuple[int, int]:
        vs = [v for (b, u, d), v in sub.items() if b == book and d == day and unit in ("all", u)]
        return sum(v[0] for v in vs), sum(v[1] for v in vs)

    def same(what: str, got: object, want: object) -> None:
        if got != want:
            bad.append(f"{year} {what}: {got!r}, the subledger's {want!r}")

    if not sub:
        bad.append(f"{year} subledger: no unit's pooled fund shows {OWED}")
    for book, comp in books.items():
        title = section_title(labels, book, comp)[1]
        for key in ("balance-sheet", "income"):
            if title not in {s.title_en for s in reps[key].sections}:
                bad.append(f"{year} {key}: no section {title}")
        # the balance sheet at 31 December: every block of the pooled fund
        for s in reps["balance-sheet"].sections:
            if s.title_en != title:
                continue
            blocks: dict[str, dict[str, Any]] = defaultdict(dict)
            for r in s.rows:
                blocks[str(r["scope"])][str(r["code"])] = r
            for scope, rows in blocks.items():
                if OWED not in rows:
                    bad.append(f"{year} balance sheet {title} {scope}: the fund balance without the share owed beside it")
                    continue
                same(f"balance sheet {title} {scope} {OWED} (year start, closing)",
                     (rows[OWED]["year_start"], rows[OWED]["closing"]), owed(book, end, scope))
        # the income statement: the share owed at each column's opening and closing fund balance
        for s in reps["income"].sections:
            if s.title_en != title:
                continue
            rows = {str(r["code"]): r for r in s.rows}
            codes = ("opening_government_share_outstanding", "closing_government_share_outstanding")
            if any(c not in rows for c in codes):
                bad.append(f"{year} income {title}: the fund balance without the share owed beside it")
                continue
            starts = [owed(book, end)[0], *(owed(book, d)[1] for d in quarter_ends[:-1])]
            for i, q in enumerate(("q1", "q2", "q3", "q4")):
                same(f"income {title} {q} share owed (opening, closing)",
                     (rows[codes[0]][q], rows[codes[1]][q]), (starts[i], owed(book, quarter_ends[i])[1]))
            same(f"income {title} total share owed (opening, closing)",
                 (rows[codes[0]]["total"], rows[codes[1]]["total"]), owed(book, end))
        # the monitor at 31 December: outstanding_share beside the surplus
        for s in reps["monitor"].sections:
            if s.title_en.split(" ")[0] != book:
                continue
            for r in s.rows:
                same(f"monitor {r['unit']} {book} outstanding_share", r["outstanding_share"],
                     owed(book, end, str(r["unit"]))[1])
        # the final accounts' balance sheet (the city): the memo line whenever anything is owed
        if "final-accounts" in reps:
            for s in reps["final-accounts"].sections:
                if not s.title_en.startswith(title + " "):
                    continue
                bs = {str(r["code"]): r for r in s.rows if r["statement"] == "balance_sheet"}
                if not bs:
                    continue
                got = (bs[OWED]["previous"], bs[OWED]["current"]) if OWED in bs else (0, 0)
                same(f"final accounts {title} balance sheet {OWED} (start, end of the year)", got, owed(book, end))
    return bad


def check(conn: Any, by_year: dict[int, dict[str, Report]]) -> None:
    """Assert that every year of ``by_year`` agrees (``disagreements``)."""
    bad = [b for year, reps in by_year.items() for b in disagreements(conn, year, reps)]
    assert not bad, "\n".join(bad[:30])
