"""Builders shared by the fund-cycle tests: budgets written straight into the tables
(the budget import is tested elsewhere) and balances read back in fen."""

from __future__ import annotations

from typing import Any

import psycopg

from ledger.core.money import parse_fen


def add_budget(admin: psycopg.Connection, year: int, unit: str, book: str, lines: dict[Any, str]) -> None:
    """One budget version: ``lines`` maps a chart code (or ``(code, component)``) to yuan."""
    bid = admin.execute("""INSERT INTO fl.budget (year, unit, book, content_hash) VALUES (%s, %s, %s, '\\x00')
                           RETURNING id""", (year, unit, book)).fetchone()["id"]
    for line, yuan in lines.items():
        code, comp = line if isinstance(line, tuple) else (line, "")
        admin.execute("INSERT INTO fl.budget_line (budget_id, component, line, amount) VALUES (%s, %s, %s, %s)",
                      (bid, comp, code, parse_fen(yuan)))


def bal(conn: psycopg.Connection, book: str, code: str, unit: str, holder: str = "", component: str = "") -> int:
    """An account's balance (debits − credits) in fen; 0 if it does not exist yet."""
    r = conn.execute("""SELECT balance FROM fl.account WHERE book = %s AND chart_code = %s AND unit = %s
                         AND holder = %s AND component = %s""", (book, code, unit, holder, component)).fetchone()
    return int(r["balance"]) if r else 0


def special(conn: psycopg.Connection, book: str = "RES") -> tuple[int, int]:
    """(balance, reserved) of the book's physical special account."""
    r = conn.execute("""SELECT balance, reserved FROM fl.bank_account
                         WHERE book = %s AND holder = 'special' AND unit IS NULL""", (book,)).fetchone()
    return (int(r["balance"]), int(r["reserved"])) if r else (0, 0)


def fen(yuan: str) -> int:
    return parse_fen(yuan, allow_negative=True)
