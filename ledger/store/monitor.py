"""Risk-monitoring figures (BRIEF §5): per unit and book — for the employees' book its
pooled component (统筹基金) — the accumulated surplus, the last 12 months' expenditure,
the year's result to date, the unit's share of the special account and the planned
result of its budget; and the month-by-month series the two charts draw.

All from ``fl.operating_day`` (daily movements without the year-end close, whose
transfers between 4xxx/5xxx and 3001 would otherwise wipe out a year's expenditure on
31 December). The pure rules (months payable, colour, warnings) are in
``ledger.core.monitor``; ``ledger.reports.builders_fund`` applies them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.core.monitor import year_before
from ledger.core.shapes import Fen
from ledger.store.db import Conn
from ledger.store.rows import fetch_all


@dataclass(frozen=True, slots=True)
class MonitorFigures:
    """One unit and book of the pooled component as of a day (``figures`` says what each
    field is); ``ledger.reports.builders_fund.monitor_rows`` turns it into a ``MonitorRow``."""

    book: str
    unit: str
    surplus: Fen
    trailing_12m_expenditure: Fen
    year_result: Fen
    year_revenue: Fen
    current_balance: Fen
    share_receipts: Fen
    special_share: Fen
    planned_result: Fen | None      # None: no budget for the year
    first_day: dt.date | None
    outstanding_share: Fen
    overdue_share: Fen
    adjustment_receipts: Fen = 0    # the year's in-year adjustment-fund allocations (not in year_revenue)


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One unit and month (its first day) of ``monthly``."""

    unit: str
    month: dt.date
    net_assets: Fen
    expenditure: Fen


@dataclass(frozen=True, slots=True)
class SpecialDay:
    """One unit and day of ``special_daily``: the change of its special-account share."""

    unit: str
    day: dt.date
    change: Fen


_FILTER = "(%(book)s::text IS NULL OR a.book = %(book)s) AND (%(unit)s::text IS NULL OR a.unit = %(unit)s)"



# A unit's first day in the ledger (BRIEF §5: the months-payable basis while the ledger holds
# less than 12 months of it) is recorded once, in fl.unit_first_day (sql/0130, ATTACK16b D4): the
# earliest day of the statement that first posted on one of its fund figures — an account of the
# book's pooled component whose kind is net assets, revenue or expenditure (fl.unit_first_day_record)
# — and no later entry moves it. Recomputed from entry dates, it moved with any back-dated entry of a
# role that posts alone: an officer's 0.01 on its temporary accounts dated a year back (ATTACK16
# C1, before the fund figures were the rule), then city finance's 0.01 collection dated a year back (ATTACK16b D4),
# each turning a red months payable green or "excess". Every report that shows months payable
# (the monitor, its chart, the forecast, the performance report, the response plan's levels)
# reads it here (_BASIS), so the same figure agrees at every date.
#
# (0157, G5/G9) A unit whose joining date the office REGISTERED (fl.unit_joined.source = 'region',
# the region file's `joined`, 0154) has that date as its first day in the book(s) it joined with: no
# posting is dated before it (before_unit_joined), and none moves it — not a first posting dated 28
# March with January's collections loaded after it (the record said 28 March: red), not a
# future-dated first accrual (the record said next year: "excess"), not D4's back-dated 0.01
# (refused). A unit whose joining date was defaulted (source 'first_year': the file named none) or
# derived at the upgrade ('upgrade': from posting dates) has no registration to read: it keeps
# 0130's recorded first day.
#
# (ATTACK19b K6) The registration dates the unit's joining, not a book it opened later: a county
# registered 1 January 2023 whose employees' fund enters the ledger in October 2024 has a short
# history of its own in EMP. Per book, as 0130 recorded it, re-derived from the journal (no row is
# written for a registered unit since 0157, so concurrent first postings leave nothing to disagree
# about, G9): a book's first fund-figure entry is its lowest entry id on the unit's fund figures
# there; the book of the unit's very first one (lowest id over its books: an entry is of one book) is
# the book it joined with, and its first day is the joining date; any other book's first day is the
# earliest date on its fund figures in the transaction of its own first entry — as 0130 recorded the
# first statement's earliest day — never before the joining date (0154 refuses that). Entry ids and
# transactions are the order of posting, which no later entry changes: a back-dated 0.01 (D4) or
# January loaded after a first posting of 28 March (G5) moves neither which book the unit joined
# with nor the first day of a book it opened later.
#
# (0167) A joining date the city bureau registered after the fact (fl.unit_joined_later: the unit's
# latest, with its reason and document) is a registration too: fl.unit_joining gives each unit its
# date in force (that one, else fl.unit_joined's) and whether it was registered ('region' or 'later').
# A defaulted or derived unit (every unit of the default region file, every unit of an upgraded ledger)
# reads its registered date from then on; 0130's records stay and are no longer its basis.
#
# (0176, ATTACK21 N9) The joining date bounds a unit's postings from below; it is not where its figures
# begin. A county that joined the pooling in 2021 whose handover and flows enter the ledger at the end
# of 2023 was "12 months in the ledger" in March 2024 and the monitor divided three months' spending by
# 12 (16.77 → 68.00 months): registering the date already in force quadrupled the figure. In the book
# it joined with, a registered unit's first day is now the later of its joining date in force and the
# earliest day on one of its fund figures there (fl.account_day): January loaded after a first posting
# of 28 March still counts (G5), nothing before the registered joining date can (0154), and a joining
# date before the unit's figures lengthens nothing. A book it opened later keeps K6's first-statement
# day. A figure dated in a year its book closed before 0176 (rule point joined_basis_data,
# fl.joined_basis_kept) keeps 0157's joining date: the closed years keep their figures.
_BASIS = """SELECT f.book, f.unit, f.first_day FROM fl.unit_first_day f
             WHERE NOT EXISTS (SELECT 1 FROM fl.unit_joining j WHERE j.unit = f.unit AND j.registered)
            UNION ALL
            SELECT r.book, r.unit, r.first_day FROM (
              WITH ff AS (
                SELECT a.id, a.book, a.unit, j.joined_on FROM fl.account a
                  JOIN fl.unit_joining j ON j.unit = a.unit AND j.registered
                  JOIN fl.chart c ON c.code = a.chart_code
                  JOIN fl.book b ON b.code = a.book AND a.component = b.pooled_component
                 WHERE c.kind IN ('net_assets', 'revenue', 'expenditure')),
              lo AS (
                SELECT x.book, x.unit, x.joined_on, x.entry_id, e.created_xid AS xid
                  FROM (SELECT ff.book, ff.unit, min(ff.joined_on) AS joined_on, min(p.entry_id) AS entry_id
                          FROM ff JOIN fl.posting p ON p.account_id = ff.id GROUP BY ff.book, ff.unit) x
                  JOIN fl.entry e ON e.id = x.entry_id),
              began AS (
                SELECT ff.book, ff.unit, min(p.entry_date) AS day
                  FROM lo JOIN ff ON ff.book = lo.book AND ff.unit = lo.unit
                  JOIN fl.posting p ON p.account_id = ff.id AND p.entry_id >= lo.entry_id
                  JOIN fl.entry e ON e.id = p.entry_id AND e.created_xid = lo.xid
                 GROUP BY ff.book, ff.unit),
              -- (0176, ATTACK21 N9) the earliest day on the unit's fund figures in the book
              earliest AS (
                SELECT ff.book, ff.unit, min(d.day) AS day
                  FROM ff JOIN fl.account_day d ON d.account_id = ff.id GROUP BY ff.book, ff.unit),
              kept AS (SELECT k.book, k.through FROM fl.joined_basis_kept() k)
              SELECT lo.book, lo.unit,
                     CASE WHEN lo.entry_id <> min(lo.entry_id) OVER (PARTITION BY lo.unit)
                            THEN greatest(lo.joined_on, bg.day)
                          WHEN %(as_of)s::date IS NOT NULL
                               AND %(as_of)s::date <= (SELECT kp.through FROM kept kp WHERE kp.book = lo.book)
                            THEN lo.joined_on
                          ELSE greatest(lo.joined_on, ea.day) END AS first_day
                FROM lo JOIN began bg ON bg.book = lo.book AND bg.unit = lo.unit
                JOIN earliest ea ON ea.book = lo.book AND ea.unit = lo.unit
              UNION ALL
              -- a book with no fund figure yet: the joining date, as 0157 read it (nothing to divide)
              SELECT b.code, j.unit, j.joined_on FROM fl.unit_joining j CROSS JOIN fl.book b
               WHERE j.registered AND NOT EXISTS (SELECT 1 FROM lo WHERE lo.book = b.code AND lo.unit = j.unit)
            ) r"""


def figures(conn: Conn, *, as_of: dt.date, book: str | None = None,
            unit: str | None = None) -> list[MonitorFigures]:
    """Per (book, unit) of the pooled component, as of the end of ``as_of`` (fen):
    ``surplus`` (net assets: 3001 plus revenue − expenditure not yet closed),
    ``trailing_12m_expenditure`` (5xxx debits − credits over the 12 months ending at
    ``as_of``: the days after ``ledger.core.monitor.year_before``), ``year_result``
    (revenue − expenditure since 1 January), ``year_revenue`` and ``current_balance``
    (the shortfall rule's revenue, and its C = revenue − expenditure, since 1 January:
    ``fl.year_figures_at(year, book, as_of)`` — the one definition the close and ``report
    shortfall`` read — so without the government's shortfall receipts and this year's
    adjustment-fund allocations; the balance rate), ``share_receipts`` (those receipts:
    the register clearings of government-share items since 1 January, ``fl.government_receipts``),
    ``adjustment_receipts`` (the year's in-year adjustment-fund allocations, set aside likewise:
    ``year_result`` = ``current_balance`` + ``share_receipts`` + ``adjustment_receipts``),
    ``special_share`` (1003 on the special account), ``planned_result`` (budget revenue
    − expenditure lines for ``as_of``'s year, ``None`` without a budget), ``first_day`` (the unit's
    first day in the book as recorded, ``first_days``: the months-payable basis), ``outstanding_share`` (the
    government's shortfall shares still owed to the fund: beside the surplus, not in
    it — the surplus is cash on the books) and ``overdue_share`` (the part unpaid past its
    due date: ``government_share_due_months`` after the end of its year, default 3)."""
    args = {"as_of": as_of, "after": year_before(as_of), "ystart": dt.date(as_of.year, 1, 1), "year": as_of.year,
            "book": book, "unit": unit}
    # MATERIALIZED: the per-account sums of ``fl.operating_day`` computed once. Inlined, under the
    # row security of a reader's session (the auditor's, an officer's) the planner took the joined
    # accounts for one row and ran the whole daily aggregate again for each account (a nested loop,
    # 168 runs over the demo's 2023): 0.5 CPU-s of the server a read of the two-year demo, 0.04 so.
    # The same rows either way: the fence changes the plan, not the query (every reader of
    # ``fl.operating_day`` here does the same; 2026-12-08, bench/history/2026-12-08-ci-time-12.md).
    return fetch_all(
        conn, MonitorFigures,
        f"""WITH mv AS MATERIALIZED (
              SELECT d.account_id,
                     sum(d.debits - d.credits) AS balance,
                     sum(d.debits - d.credits)
                       FILTER (WHERE d.day > %(after)s) AS last12,
                     sum(d.debits - d.credits) FILTER (WHERE d.day >= %(ystart)s) AS ytd
                FROM fl.operating_day d WHERE d.day <= %(as_of)s GROUP BY d.account_id),
            planned AS (
              SELECT bc.book, bc.unit, bc.component,
                     sum(CASE bc.kind WHEN 'revenue' THEN bc.amount WHEN 'expenditure' THEN -bc.amount
                                      ELSE 0 END)::bigint AS planned_result
                FROM fl.budget_current bc WHERE bc.year = %(year)s GROUP BY bc.book, bc.unit, bc.component),
            due AS (
              SELECT coalesce((SELECT (st.value #>> '{{}}')::int FROM fl.setting st
                                WHERE st.key = 'government_share_due_months'), 3) AS months),
            shares AS (
              SELECT s.book, s.unit, sum(s.outstanding)::bigint AS outstanding,
                     coalesce(sum(s.outstanding) FILTER (
                       WHERE (make_date(s.fiscal_year, 12, 31) + make_interval(months => (SELECT months FROM due)))::date
                             < %(as_of)s), 0)::bigint AS overdue
                FROM fl.government_shares(%(as_of)s) s GROUP BY s.book, s.unit),
            -- C and its revenue as the shortfall rule reads them at the date (ATTACK14 V4):
            -- fl.year_figures_at through its confined definer reader (an officer's own unit; the
            -- allocation part reads fl.entry.source, which officers may not), one row per unit.
            rule AS (
              SELECT f.book, f.unit, f.revenue, f.expenditure, f.share_receipts, f.adjustment_receipts
                FROM fl.book b CROSS JOIN LATERAL fl.year_figures_read_at(%(year)s, b.code, %(as_of)s) f
               WHERE %(book)s::text IS NULL OR b.code = %(book)s),
            -- The unit's first day in the book: for a registered unit the later of its joining date
            -- and its earliest fund figure (0157, 0176), else as recorded (fl.unit_first_day,
            -- sql/0130): never before the joining date, which no posting precedes (ATTACK16b D4).
            firsts AS ({_BASIS})
            SELECT a.book, a.unit,
                   coalesce(-sum(mv.balance) FILTER (WHERE c.kind IN ('net_assets', 'revenue', 'expenditure')),
                            0)::bigint AS surplus,
                   coalesce(sum(mv.last12) FILTER (WHERE c.kind = 'expenditure'), 0)::bigint
                     AS trailing_12m_expenditure,
                   coalesce(-sum(mv.ytd) FILTER (WHERE c.kind IN ('revenue', 'expenditure')), 0)::bigint
                     AS year_result,
                   coalesce(min(rl.revenue), 0)::bigint AS year_revenue,
                   coalesce(min(rl.revenue - rl.expenditure), 0)::bigint AS current_balance,
                   coalesce(min(rl.share_receipts), 0)::bigint AS share_receipts,
                   coalesce(sum(mv.balance) FILTER (WHERE a.chart_code = '1003' AND a.holder = 'special'),
                            0)::bigint AS special_share,
                   min(pl.planned_result) AS planned_result,
                   min(fd.first_day) AS first_day,
                   coalesce(min(sh.outstanding), 0)::bigint AS outstanding_share,
                   coalesce(min(sh.overdue), 0)::bigint AS overdue_share,
                   coalesce(min(rl.adjustment_receipts), 0)::bigint AS adjustment_receipts
              FROM mv JOIN fl.account a ON a.id = mv.account_id
              JOIN fl.chart c ON c.code = a.chart_code
              JOIN fl.book b ON b.code = a.book AND a.component = b.pooled_component
              JOIN fl.unit u ON u.code = a.unit
              LEFT JOIN planned pl ON pl.book = a.book AND pl.unit = a.unit AND pl.component = a.component
              LEFT JOIN firsts fd ON fd.book = a.book AND fd.unit = a.unit
              LEFT JOIN shares sh ON sh.book = a.book AND sh.unit = a.unit
              LEFT JOIN rule rl ON rl.book = a.book AND rl.unit = a.unit
             WHERE {_FILTER}
             GROUP BY a.book, a.unit, u.sort
             ORDER BY a.book DESC, u.sort, a.unit""", args)


def monthly(conn: Conn, *, book: str, end: dt.date) -> list[MonthFigures]:
    """Per unit and month up to ``end``, of the pooled component of ``book``: the change
    in net assets (``net_assets``, credits − debits) and the expenditure (``expenditure``,
    debits − credits), both without the year-end close. Cumulating gives the surplus at
    each month end; a 12-month window gives the trailing expenditure."""
    # MATERIALIZED: the daily sums once (``figures``)
    return fetch_all(
        conn, MonthFigures,
        """WITH mv AS MATERIALIZED (
             SELECT d.account_id, date_trunc('month', d.day)::date AS month, sum(d.debits - d.credits) AS net
               FROM fl.operating_day d WHERE d.day <= %(end)s
              GROUP BY d.account_id, date_trunc('month', d.day))
           SELECT a.unit, mv.month,
                  coalesce(-sum(mv.net) FILTER (WHERE c.kind IN ('net_assets', 'revenue', 'expenditure')),
                           0)::bigint AS net_assets,
                  coalesce(sum(mv.net) FILTER (WHERE c.kind = 'expenditure'), 0)::bigint AS expenditure
             FROM mv JOIN fl.account a ON a.id = mv.account_id JOIN fl.chart c ON c.code = a.chart_code
             JOIN fl.book b ON b.code = a.book AND a.component = b.pooled_component
            WHERE a.book = %(book)s
            GROUP BY a.unit, mv.month ORDER BY a.unit, mv.month""", {"book": book, "end": end})


def special_daily(conn: Conn, *, book: str, end: dt.date) -> list[SpecialDay]:
    """Per unit and day up to ``end``: the change of its share of the special account
    (1003 special, every component of ``book``), debits − credits."""
    return fetch_all(
        conn, SpecialDay,
        """SELECT a.unit, d.day, sum(d.debits - d.credits)::bigint AS change
             FROM fl.account_day d JOIN fl.account a ON a.id = d.account_id
            WHERE a.book = %(book)s AND a.chart_code = '1003' AND a.holder = 'special' AND d.day <= %(end)s
            GROUP BY a.unit, d.day ORDER BY a.unit, d.day""", {"book": book, "end": end})


def recorded_first_days(conn: Conn, *, book: str | None = None, unit: str | None = None,
                        as_of: dt.date | None = None) -> dict[tuple[str, str], dt.date]:
    """Each unit's first day in each book, keyed (unit, book): its registered joining date
    (fl.unit_joined, source 'region': 0157, G5/G9) in the book it joined with, and in a book it
    opened later that book's own first day, derived from the journal (ATTACK19b K6: ``_BASIS``);
    else as recorded in fl.unit_first_day
    (sql/0130) by the statement that first posted on one of its fund figures, or
    frozen by that migration — whatever the date of a later entry (ATTACK16b D4). The one
    months-payable basis of the monitor, its chart, the forecast and the performance report.
    A day after the date a report is made for means the unit was not in the ledger yet:
    ``ledger.core.monitor.monthly_spending`` then has no spending to divide by.
    (0176, ATTACK21 N9) A registered unit's first day in the book it joined with is the later of its
    joining date and its earliest fund figure there; ``as_of`` (the day the figure is for) in a year
    its book closed before 0176 keeps 0157's joining date (``None``: the rule in force now)."""
    return {(r["unit"], r["book"]): r["first_day"] for r in conn.execute(
        f"""SELECT f.unit, f.book, f.first_day FROM ({_BASIS}) f
            WHERE (%(book)s::text IS NULL OR f.book = %(book)s) AND (%(unit)s::text IS NULL OR f.unit = %(unit)s)""",
        {"book": book, "unit": unit, "as_of": as_of}).fetchall()}


def joining_dates(conn: Conn) -> dict[str, tuple[dt.date, str]]:
    """Each unit's joining date in force (fl.unit_joining: fl.unit_joined, sql/0154, ATTACK17b F1, or
    the city bureau's latest later registration, 0167) and how it was set: ``region`` (registered by the
    office: the unit's months-payable basis, 0157), ``later`` (registered after the fact by the city
    bureau, fl.unit_joined_later: the basis too), ``first_year`` (defaulted: the file named none) or
    ``upgrade`` (derived from its postings by 0154's upgrade).
    No posting on the unit is dated before it, so its recorded first day never is (a unit registered
    without one — by SQL, not by ``init`` — is left out)."""
    return {r["unit"]: (r["joined_on"], r["source"]) for r in conn.execute(
        "SELECT j.unit, j.joined_on, j.source FROM fl.unit_joining j WHERE j.joined_on IS NOT NULL "
        "ORDER BY j.unit").fetchall()}


def first_days(conn: Conn, *, book: str, as_of: dt.date | None = None) -> dict[str, dt.date]:
    """Each unit's first day in ``book`` as recorded (``recorded_first_days``), by unit: the chart's basis
    (``as_of``: the chart's last day — its points are of one year)."""
    return {u: d for (u, _b), d in recorded_first_days(conn, book=book, as_of=as_of).items()}
