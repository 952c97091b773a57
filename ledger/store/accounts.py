"""Accounts, balances and the trial balance, read from maintained balances
(``fl.account``) and daily movements (``fl.account_day``) — never by scanning postings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.core.account_keys import parse_account_key
from ledger.core.shapes import Fen
from ledger.errors import AccountNotFound
from ledger.i18n import _
from ledger.store.db import Conn
from ledger.store.rows import account_key_sql, fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class AccountLine:
    """A ledger account with its maintained balance (``account list``)."""

    id: int
    account: str            # BOOK:CODE:UNIT[:HOLDER[:COMPONENT]]
    book: str
    chart_code: str
    name_zh: str
    name_en: str
    unit: str
    holder: str
    component: str
    kind: str               # the chart's: asset, liability, net_assets, revenue, expenditure
    debits: Fen
    credits: Fen
    balance: Fen            # debits − credits


_ACCOUNT_COLS = f"""a.id, {account_key_sql("a")} AS account, a.book, a.chart_code, c.name_zh, c.name_en, a.unit,
                    a.holder, a.component, c.kind, a.debits, a.credits, a.balance"""


def list_accounts(conn: Conn, *, book: str | None = None, unit: str | None = None) -> list[AccountLine]:
    return fetch_all(conn, AccountLine,
        f"""SELECT {_ACCOUNT_COLS} FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code
             WHERE (%(book)s::text IS NULL OR a.book = %(book)s) AND (%(unit)s::text IS NULL OR a.unit = %(unit)s)
             ORDER BY a.book, a.unit, a.chart_code, a.holder, a.component""",
        {"book": book, "unit": unit})


def _which(ref: str) -> tuple[str, tuple[object, ...]]:
    """The WHERE clause (on ``fl.account a``) for an account id or key."""
    if ref.strip().isascii() and ref.strip().isdigit() and len(ref.strip()) <= 19:
        return "a.id = %s", (int(ref),)
    return ("a.book = %s AND a.chart_code = %s AND a.unit = %s AND a.holder = %s AND a.component = %s",
            parse_account_key(ref))


def _not_found(ref: str) -> AccountNotFound:
    # (ATTACK20 L6) row security hides another unit's account: the refusal neither says it
    # does not exist nor confirms that it does — as every reader confined by row security says
    return AccountNotFound(_("no account '{ref}' that you may see: it belongs to a unit you cannot see, or it does "
                             "not exist yet (an account is made by its first posting); `fundledger account list` "
                             "lists the accounts you may see").format(ref=ref))


def find_account(conn: Conn, ref: str) -> AccountLine:
    """An account by id or by key ``BOOK:CODE:UNIT[:HOLDER[:COMPONENT]]``."""
    where, args = _which(ref)
    row = fetch_one(conn, AccountLine,
                    f"SELECT {_ACCOUNT_COLS} FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code WHERE {where}",
                    args)
    if row is None:
        raise _not_found(ref)
    return row


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """One account's balance now or at the end of ``as_of`` (``balance``): debits −
    credits, and the same shown on the account's normal side (``side``, ``amount``), so
    a fund (credit-normal) in deficit reads Dr rather than a positive figure."""

    id: int
    account: str
    name_zh: str
    name_en: str
    as_of: dt.date | None
    debits: Fen
    credits: Fen
    balance: Fen
    government_share_outstanding: Fen | None    # beside a pooled fund balance (3001); else None
    normal_side: str                            # D | C, the chart's
    side: str                                   # the side the balance is on
    amount: Fen                                 # its size on that side


def balance(conn: Conn, ref: str, as_of: dt.date | None = None) -> AccountBalance:
    """Balance (debits − credits, in fen) now, or at the end of ``as_of`` (summed from
    the daily movements), in one round trip."""
    where, args = _which(ref)
    moved = ("""(SELECT coalesce(sum(d.{col}), 0)::bigint FROM fl.account_day d
                  WHERE d.account_id = a.id AND d.day <= %s)""" if as_of is not None else "a.{col}")
    r = conn.execute(
        f"""SELECT a.id, {account_key_sql("a")} AS account, c.name_zh, c.name_en, c.normal_side, a.book, a.chart_code,
                   a.unit, a.component, {moved.format(col="debits")} AS debits, {moved.format(col="credits")} AS credits
              FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code
             WHERE {where}""", (as_of, as_of, *args) if as_of is not None else args).fetchone()
    if r is None:
        raise _not_found(ref)
    debits, credits, normal = int(r["debits"]), int(r["credits"]), str(r["normal_side"])
    bal = debits - credits
    on_normal = bal if normal == "D" else -bal
    side = normal if on_normal >= 0 else ("C" if normal == "D" else "D")
    return AccountBalance(r["id"], r["account"], r["name_zh"], r["name_en"], as_of, debits, credits, bal,
                          government_share_beside(conn, r["book"], r["chart_code"], r["unit"], r["component"], as_of),
                          normal, side, abs(on_normal))


def government_share_beside(conn: Conn, book: str, chart_code: str, unit: str, component: str,
                            as_of: dt.date | None) -> int | None:
    """For a unit's fund balance (3001) of a book's pooled component: the government's
    shortfall shares still owed to it at the end of ``as_of`` (now when ``None``), which the
    books (cash basis) do not count and the shortfall rule does (BRIEF §5). ``None`` for
    any other account."""
    if chart_code != "3001":
        return None
    r = conn.execute(
        """SELECT coalesce(sum(s.outstanding), 0)::bigint AS owed, bool_or(b.pooled_component = %(comp)s) AS pooled
             FROM fl.book b LEFT JOIN fl.government_shares(%(day)s, b.code) s ON s.unit = %(unit)s
            WHERE b.code = %(book)s""",
        {"comp": component, "day": as_of or dt.date.max, "unit": unit, "book": book}).fetchone()
    return int(r["owed"]) if r and r["pooled"] else None


@dataclass(frozen=True, slots=True)
class TrialBalanceLine:
    """One account of the trial balance (试算平衡表), debits − credits throughout."""

    account: str
    book: str
    chart_code: str
    name_zh: str
    name_en: str
    unit: str
    holder: str
    component: str
    opening: Fen            # at the start of the year
    period_debits: Fen      # the year's, to the end of the period
    period_credits: Fen
    closing: Fen            # opening + debits − credits


def trial_balance(conn: Conn, *, as_of: dt.date | None = None, year: int | None = None,
                  unit: str | None = None, book: str | None = None) -> list[TrialBalanceLine]:
    """试算平衡表: per account, opening balance at the start of the year, the year's
    debits and credits to ``as_of`` (default: today), and the closing balance."""
    end = as_of or (dt.date(year, 12, 31) if year else dt.date.today())
    start = dt.date(year or end.year, 1, 1)
    return fetch_all(conn, TrialBalanceLine,
        f"""WITH mv AS (
              SELECT d.account_id,
                     coalesce(sum(d.debits - d.credits) FILTER (WHERE d.day < %(start)s), 0)::bigint AS opening,
                     coalesce(sum(d.debits) FILTER (WHERE d.day >= %(start)s), 0)::bigint AS debits,
                     coalesce(sum(d.credits) FILTER (WHERE d.day >= %(start)s), 0)::bigint AS credits
                FROM fl.account_day d WHERE d.day <= %(end)s GROUP BY d.account_id)
            SELECT {account_key_sql("a")} AS account, a.book, a.chart_code, c.name_zh, c.name_en, a.unit, a.holder,
                   a.component, mv.opening, mv.debits AS period_debits, mv.credits AS period_credits,
                   mv.opening + mv.debits - mv.credits AS closing
              FROM fl.account a JOIN fl.chart c ON c.code = a.chart_code JOIN mv ON mv.account_id = a.id
             WHERE (%(book)s::text IS NULL OR a.book = %(book)s) AND (%(unit)s::text IS NULL OR a.unit = %(unit)s)
             ORDER BY a.book, a.chart_code, a.unit, a.holder, a.component""",
        {"start": start, "end": end, "book": book, "unit": unit})
