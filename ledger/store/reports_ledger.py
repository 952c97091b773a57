"""Figures of the ledger reports: balance sheet (资产负债表), income (收支表), one
unit's subledger, one account's ledger (明细账) and printable vouchers (凭证).

Balances and period figures are sums over ``fl.account_day`` / ``fl.operating_day``
grouped by account, then joined to ``fl.account`` and ``fl.chart``: the cost grows with
accounts × days, not with postings. Only ``account_ledger`` (one account, through the
index ``posting_account_date``) and ``vouchers`` (a voucher range) read postings.
The caller owns the transaction; nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ledger.core.entries import account_key
from ledger.core.shapes import as_row
from ledger.errors import BadInput, NotFound
from ledger.i18n import _
from ledger.store.accounts import find_account
from ledger.store.db import Conn
from ledger.store.reports_budget import month_ends, set_aside

_FILTER = "(%(book)s::text IS NULL OR a.book = %(book)s) AND (%(unit)s::text IS NULL OR a.unit = %(unit)s)"


def balance_sheet(conn: Conn, *, as_of: dt.date, book: str | None = None,
                  unit: str | None = None) -> list[dict[str, Any]]:
    """Balance (debits − credits, fen) per (book, unit, component, chart code, holder) at
    the start of ``as_of``'s year (``year_start``: end of the previous year) and at the end
    of ``as_of`` (``closing``), for every account kind."""
    start = dt.date(as_of.year, 1, 1)
    return conn.execute(
        f"""WITH mv AS (
              SELECT d.account_id,
                     coalesce(sum(d.debits - d.credits) FILTER (WHERE d.day < %(start)s), 0) AS year_start,
                     sum(d.debits - d.credits) AS closing
                FROM fl.account_day d WHERE d.day <= %(end)s GROUP BY d.account_id)
            SELECT a.book, a.unit, a.component, a.chart_code, a.holder, c.kind,
                   sum(mv.year_start)::bigint AS year_start, sum(mv.closing)::bigint AS closing
              FROM mv JOIN fl.account a ON a.id = mv.account_id JOIN fl.chart c ON c.code = a.chart_code
             WHERE {_FILTER}
             GROUP BY a.book, a.unit, a.component, a.chart_code, a.holder, c.kind
             ORDER BY a.book, a.unit, a.component, a.chart_code, a.holder""",
        {"start": start, "end": as_of, "book": book, "unit": unit}).fetchall()


def income(conn: Conn, *, start: dt.date, end: dt.date, book: str | None = None,
           unit: str | None = None, reconcile: bool = False) -> dict[str, Any]:
    """收支表 figures between ``start`` and ``end`` (inclusive), without the year-end close.

    ``movements``: per (book, unit, component, chart code, month) the operating debits
    and credits of revenue, expenditure and fund-balance (3001) accounts; 3001's operating
    movement is what reaches the fund balance other than through revenue and expenditure
    (e.g. a handover opening). ``opening``: net assets (fund balance plus any result not
    yet closed, as credits − debits) per (book, unit, component) before ``start``.
    ``aside`` (with ``reconcile``, a span from 1 January): what the shortfall rule sets aside
    from the year's revenue, per month (``reports_budget.set_aside``), for the statement's
    reconciling lines to the rule's C.
    """
    args = {"start": start, "end": end, "book": book, "unit": unit}
    # MATERIALIZED: the daily sums once (``fl.operating_day``, see ``ledger.store.monitor.figures``)
    movements = conn.execute(
        f"""WITH mv AS MATERIALIZED (
              SELECT d.account_id, date_trunc('month', d.day)::date AS month,
                     sum(d.debits)::bigint AS debits, sum(d.credits)::bigint AS credits
                FROM fl.operating_day d WHERE d.day BETWEEN %(start)s AND %(end)s
               GROUP BY d.account_id, date_trunc('month', d.day))
            SELECT a.book, a.unit, a.component, a.chart_code, c.kind, mv.month,
                   sum(mv.debits)::bigint AS debits, sum(mv.credits)::bigint AS credits
              FROM mv JOIN fl.account a ON a.id = mv.account_id JOIN fl.chart c ON c.code = a.chart_code
             WHERE c.kind IN ('net_assets', 'revenue', 'expenditure') AND {_FILTER}
             GROUP BY a.book, a.unit, a.component, a.chart_code, c.kind, mv.month
             ORDER BY a.book, a.unit, a.component, a.chart_code, mv.month""", args).fetchall()
    opening = conn.execute(
        f"""WITH mv AS (
              SELECT d.account_id, sum(d.credits - d.debits) AS net
                FROM fl.account_day d WHERE d.day < %(start)s GROUP BY d.account_id)
            SELECT a.book, a.unit, a.component, sum(mv.net)::bigint AS net_assets
              FROM mv JOIN fl.account a ON a.id = mv.account_id JOIN fl.chart c ON c.code = a.chart_code
             WHERE c.kind IN ('net_assets', 'revenue', 'expenditure') AND {_FILTER}
             GROUP BY a.book, a.unit, a.component
             ORDER BY a.book, a.unit, a.component""", args).fetchall()
    out: dict[str, Any] = {"movements": movements, "opening": opening}
    if reconcile and start == dt.date(end.year, 1, 1):
        # (ATTACK17) what the shortfall rule sets aside from the year's revenue on the books, per
        # month: the statement's reconciling lines to the rule's C
        out["aside"] = set_aside(conn, year=end.year, end=end, book=book, unit=unit, ends=month_ends(end.year, end))
    return out


def subledger(conn: Conn, *, unit: str, as_of: dt.date,
              book: str | None = None) -> list[dict[str, Any]]:
    """One unit's accounts: per (book, component, chart code, holder) the balance at the
    start of the year, the year's debits and credits (all entries) and the balance at
    the end of ``as_of``; plus ``op_debits``/``op_credits``, the same movement without
    the year-end close (for the current-year result)."""
    start = dt.date(as_of.year, 1, 1)
    return conn.execute(
        f"""WITH mv AS (
              SELECT d.account_id,
                     coalesce(sum(d.debits - d.credits) FILTER (WHERE d.day < %(start)s), 0) AS opening,
                     coalesce(sum(d.debits) FILTER (WHERE d.day >= %(start)s), 0) AS debits,
                     coalesce(sum(d.credits) FILTER (WHERE d.day >= %(start)s), 0) AS credits,
                     coalesce(sum(cd.debits) FILTER (WHERE d.day >= %(start)s), 0) AS close_debits,
                     coalesce(sum(cd.credits) FILTER (WHERE d.day >= %(start)s), 0) AS close_credits
                FROM fl.account_day d
                JOIN fl.account a0 ON a0.id = d.account_id AND a0.unit = %(unit)s
                LEFT JOIN fl.closing_day cd ON cd.account_id = d.account_id AND cd.day = d.day
               WHERE d.day <= %(end)s GROUP BY d.account_id)
            SELECT a.book, a.unit, a.component, a.chart_code, a.holder, c.kind,
                   sum(mv.opening)::bigint AS opening, sum(mv.debits)::bigint AS debits,
                   sum(mv.credits)::bigint AS credits,
                   sum(mv.debits - mv.close_debits)::bigint AS op_debits,
                   sum(mv.credits - mv.close_credits)::bigint AS op_credits
              FROM mv JOIN fl.account a ON a.id = mv.account_id JOIN fl.chart c ON c.code = a.chart_code
             WHERE {_FILTER}
             GROUP BY a.book, a.unit, a.component, a.chart_code, a.holder, c.kind
             ORDER BY a.book, a.component, a.chart_code, a.holder""",
        {"start": start, "end": as_of, "book": book, "unit": unit}).fetchall()


def government_owed_at(conn: Conn, days: Iterable[dt.date], *, unit: str | None = None,
                       book: str | None = None) -> dict[tuple[str, str, dt.date], int]:
    """(book, unit, day) → the government's shortfall shares still owed to the unit's fund at the
    end of ``day`` (fen), for ``unit`` or every unit the session reads. One definition: the
    obligations register as ``fl.government_shares`` reads it — the subledger's, the balance
    sheet's and the income statement's memo line beside the fund balance, the final accounts',
    as the monitor and the shortfall report read it (BRIEF §5). A (book, unit) no share was ever
    opened for by ``day`` is absent (it owes nothing)."""
    rows = conn.execute(
        """SELECT g.book, g.unit, d.day, sum(g.outstanding)::bigint AS owed
             FROM unnest(%(days)s::date[]) AS d(day)
             CROSS JOIN LATERAL fl.government_shares(d.day, %(book)s) g
            WHERE %(unit)s::text IS NULL OR g.unit = %(unit)s
            GROUP BY g.book, g.unit, d.day""", {"days": sorted(set(days)), "unit": unit, "book": book}).fetchall()
    return {(r["book"], r["unit"], r["day"]): int(r["owed"]) for r in rows}


def year_start_day(as_of: dt.date) -> dt.date:
    """The day whose end is a report's "start of the year" (31 December before ``as_of``'s year)."""
    return dt.date(as_of.year, 1, 1) - dt.timedelta(days=1)


def government_owed_by_unit(conn: Conn, *, as_of: dt.date, unit: str | None = None, book: str | None = None
                            ) -> dict[tuple[str, str], tuple[int, int]]:
    """(book, unit) → the shares owed at the start of ``as_of``'s year and at the end of ``as_of``
    (``government_owed_at``), for the balance sheet's blocks. Pairs with nothing ever owed are absent."""
    start = year_start_day(as_of)
    out: dict[tuple[str, str], list[int]] = {}
    for (b, u, day), owed in government_owed_at(conn, (start, as_of), unit=unit, book=book).items():
        out.setdefault((b, u), [0, 0])[0 if day == start else 1] += owed
    return {k: (v[0], v[1]) for k, v in out.items()}


def government_owed(conn: Conn, *, unit: str | None, as_of: dt.date, book: str | None = None
                    ) -> dict[str, tuple[int, int]]:
    """Per book: the government's shortfall shares still owed to ``unit`` (every unit the session
    reads when None) at the start of ``as_of``'s year and at the end of ``as_of`` (fen), for the
    subledger's line beside the surplus and the final accounts'. Books with nothing ever owed are
    absent."""
    out: dict[str, list[int]] = {}
    for (b, _u), (opening, closing) in government_owed_by_unit(conn, as_of=as_of, unit=unit, book=book).items():
        o = out.setdefault(b, [0, 0])
        o[0] += opening
        o[1] += closing
    return {b: (v[0], v[1]) for b, v in out.items()}


def account_ledger(conn: Conn, ref: str, *, date_from: dt.date, date_to: dt.date,
                   limit: int = 1000, offset: int = 0) -> dict[str, Any]:
    """明细账 of one account: the balance before ``date_from`` (from account_day), then
    every posting dated ``date_from``..``date_to`` with its running balance (debits −
    credits, over all postings of the range, so ``offset`` pages keep true balances)."""
    acc = find_account(conn, ref)
    r = conn.execute("""SELECT coalesce(sum(debits - credits), 0)::bigint AS opening
                          FROM fl.account_day WHERE account_id = %s AND day < %s""",
                     (acc.id, date_from)).fetchone()
    assert r is not None
    rows = conn.execute(
        """WITH p AS (
             SELECT p.id, p.entry_id, p.entry_date, p.side, p.amount, p.line_ref, p.memo,
                    sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END)
                      OVER (ORDER BY p.entry_date, p.id) AS running
               FROM fl.posting p
              WHERE p.account_id = %(acc)s AND p.entry_date BETWEEN %(from)s AND %(to)s
              ORDER BY p.entry_date, p.id LIMIT %(limit)s OFFSET %(offset)s)
           SELECT p.id AS posting_id, p.entry_id, p.entry_date, p.side, p.amount, p.line_ref,
                  coalesce(nullif(p.memo, ''), e.memo) AS memo, e.kind, e.reverses, e.created_by,
                  (%(opening)s + p.running)::bigint AS balance,
                  s.fiscal_year, s.voucher_no, (SELECT r.id FROM fl.entry r WHERE r.reverses = e.id) AS reversed_by
             FROM p JOIN fl.entry e ON e.id = p.entry_id LEFT JOIN fl.seal s ON s.entry_id = e.id
            ORDER BY p.entry_date, p.id""",
        {"acc": acc.id, "from": date_from, "to": date_to, "limit": limit, "offset": offset,
         "opening": r["opening"]}).fetchall()
    return {"account": as_row(acc), "opening": r["opening"], "date_from": date_from, "date_to": date_to, "rows": rows}


def vouchers(conn: Conn, *, year: int | None, book: str | None, number_from: int,
             number_to: int, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """Printable vouchers (记账凭证) numbered ``number_from``..``number_to`` of one fiscal
    year (default: the latest with vouchers) and book (default: every book): one row per
    posting, with who posted it and the reversal links both ways. ``limit``/``offset``
    count vouchers, not postings."""
    if number_from > number_to:
        raise BadInput(_("--from {first} is after --to {last}: give the smaller voucher number first").format(
            first=number_from, last=number_to))
    if year is None:
        r = conn.execute("SELECT max(fiscal_year) AS y FROM fl.seal WHERE %(book)s::text IS NULL OR book = %(book)s",
                         {"book": book}).fetchone()
        year = r["y"] if r else None
        if year is None:
            raise NotFound(_("there are no vouchers yet: a voucher is numbered when an entry is posted "
                             "(fundledger entry post, or an import)"))
    rows = conn.execute(
        """WITH v AS (
             SELECT s.entry_id, s.book, s.fiscal_year, s.voucher_no FROM fl.seal s
              WHERE s.fiscal_year = %(year)s AND (%(book)s::text IS NULL OR s.book = %(book)s)
                AND s.voucher_no BETWEEN %(lo)s AND %(hi)s
              ORDER BY s.book DESC, s.voucher_no LIMIT %(limit)s OFFSET %(offset)s)
           SELECT v.book, v.fiscal_year, v.voucher_no, e.id AS entry_id, e.entry_date, e.memo, e.kind,
                  e.created_by, e.created_at, e.reverses, rs.fiscal_year AS rev_year, rs.voucher_no AS rev_no,
                  rb.id AS reversed_by, rbs.fiscal_year AS rb_year, rbs.voucher_no AS rb_no,
                  a.chart_code, a.unit, a.holder, a.component, p.side, p.amount, p.line_ref,
                  p.memo AS posting_memo
             FROM v JOIN fl.entry e ON e.id = v.entry_id
             JOIN fl.posting p ON p.entry_id = e.id JOIN fl.account a ON a.id = p.account_id
             LEFT JOIN fl.seal rs ON rs.entry_id = e.reverses
             LEFT JOIN fl.entry rb ON rb.reverses = e.id LEFT JOIN fl.seal rbs ON rbs.entry_id = rb.id
            ORDER BY v.book DESC, v.voucher_no, p.id""",
        {"year": year, "book": book, "lo": number_from, "hi": number_to, "limit": limit,
         "offset": offset}).fetchall()
    for row in rows:
        row["voucher"] = f"{row['book']}/{row['fiscal_year']}-{row['voucher_no']:06d}"
        row["reverses_voucher"] = (f"{row['book']}/{row['rev_year']}-{row['rev_no']:06d}"
                                   if row["rev_no"] else None)
        row["reversed_by_voucher"] = (f"{row['book']}/{row['rb_year']}-{row['rb_no']:06d}"
                                      if row["rb_no"] else None)
        row["account"] = account_key(row["book"], row["chart_code"], row["unit"], row["holder"], row["component"])
    return rows
