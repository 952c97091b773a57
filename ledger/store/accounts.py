"""Accounts, balances and the trial balance, read from maintained balances
(``fl.account``) and daily movements (``fl.account_day``) — never by scanning postings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.core.entries import account_key, parse_account_key
from ledger.errors import AccountNotFound
from ledger.store.db import Conn

_ACCOUNT_COLS = """a.id, a.book, a.chart_code, a.unit, a.holder, a.component, a.balance, a.debits, a.credits,
                   c.name_zh, c.name_en, c.kind, c.normal_side, a.bank_account_id"""


def _with_key(r: dict[str, Any]) -> dict[str, Any]:
    r["account"] = account_key(r["book"], r["chart_code"], r["unit"], r["holder"], r["component"])
    return r


def list_accounts(conn: Conn, *, book: str | None = None, unit: str | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"""SELECT {_ACCOUNT_COLS} FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code
             WHERE (%(book)s::text IS NULL OR a.book = %(book)s) AND (%(unit)s::text IS NULL OR a.unit = %(unit)s)
             ORDER BY a.book, a.unit, a.chart_code, a.holder, a.component""",
        {"book": book, "unit": unit}).fetchall()
    return [_with_key(r) for r in rows]


def find_account(conn: Conn, ref: str) -> dict[str, Any]:
    """An account by id or by key ``BOOK:CODE:UNIT[:HOLDER[:COMPONENT]]``."""
    if ref.strip().isascii() and ref.strip().isdigit():
        row = conn.execute(f"SELECT {_ACCOUNT_COLS} FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code "
                           "WHERE a.id = %s", (int(ref),)).fetchone()
    else:
        book, code, unit, holder, comp = parse_account_key(ref)
        row = conn.execute(
            f"""SELECT {_ACCOUNT_COLS} FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code
                 WHERE a.book = %s AND a.chart_code = %s AND a.unit = %s AND a.holder = %s AND a.component = %s""",
            (book, code, unit, holder, comp)).fetchone()
    if row is None:
        raise AccountNotFound(f"no account '{ref}' (it is created by its first posting; see `fundledger account list`)")
    return _with_key(row)


def balance(conn: Conn, ref: str, as_of: dt.date | None = None) -> dict[str, Any]:
    """Balance (debits − credits, in fen) now, or at the end of ``as_of``."""
    acc = find_account(conn, ref)
    if as_of is not None:
        r = conn.execute("""SELECT coalesce(sum(debits), 0)::bigint AS debits, coalesce(sum(credits), 0)::bigint AS credits
                              FROM fl.account_day WHERE account_id = %s AND day <= %s""", (acc["id"], as_of)).fetchone()
        assert r is not None
        acc.update(debits=r["debits"], credits=r["credits"], balance=r["debits"] - r["credits"])
    acc["as_of"] = as_of
    acc["government_share_outstanding"] = government_share_beside(conn, acc, as_of)
    return acc


def government_share_beside(conn: Conn, acc: dict[str, Any], as_of: dt.date | None) -> int | None:
    """For a unit's fund balance (3001) of a book's pooled component: the government's
    shortfall shares still owed to it at the end of ``as_of`` (now when ``None``), which the
    books (cash basis) do not count and the shortfall rule does (BRIEF §5). ``None`` for
    any other account."""
    if acc["chart_code"] != "3001":
        return None
    r = conn.execute(
        """SELECT coalesce(sum(s.outstanding), 0)::bigint AS owed, bool_or(b.pooled_component = %(comp)s) AS pooled
             FROM fl.book b LEFT JOIN fl.government_shares(%(day)s, b.code) s ON s.unit = %(unit)s
            WHERE b.code = %(book)s""",
        {"comp": acc["component"], "day": as_of or dt.date.max, "unit": acc["unit"], "book": acc["book"]}).fetchone()
    return int(r["owed"]) if r and r["pooled"] else None


def trial_balance(conn: Conn, *, as_of: dt.date | None = None, year: int | None = None,
                  unit: str | None = None, book: str | None = None) -> list[dict[str, Any]]:
    """试算平衡表: per account, opening balance at the start of the year, the year's
    debits and credits to ``as_of`` (default: today), and the closing balance."""
    end = as_of or (dt.date(year, 12, 31) if year else dt.date.today())
    start = dt.date(year or end.year, 1, 1)
    rows = conn.execute(
        f"""WITH mv AS (
              SELECT d.account_id,
                     sum(d.debits - d.credits) FILTER (WHERE d.day < %(start)s) AS opening,
                     sum(d.debits) FILTER (WHERE d.day >= %(start)s) AS debits,
                     sum(d.credits) FILTER (WHERE d.day >= %(start)s) AS credits
                FROM fl.account_day d WHERE d.day <= %(end)s GROUP BY d.account_id)
            SELECT {_ACCOUNT_COLS.replace('a.balance, a.debits, a.credits,', '')},
                   coalesce(mv.opening, 0)::bigint AS opening, coalesce(mv.debits, 0)::bigint AS period_debits,
                   coalesce(mv.credits, 0)::bigint AS period_credits
              FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN mv ON mv.account_id = a.id
             WHERE (%(book)s::text IS NULL OR a.book = %(book)s) AND (%(unit)s::text IS NULL OR a.unit = %(unit)s)
             ORDER BY a.book, a.chart_code, a.unit, a.holder, a.component""",
        {"start": start, "end": end, "book": book, "unit": unit}).fetchall()
    for r in rows:
        r["closing"] = r["opening"] + r["period_debits"] - r["period_credits"]
        _with_key(r)
    return rows
