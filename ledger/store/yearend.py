"""Year-end close (年终结转) with the shortfall rule (缺口分担), and the shortfall report.

Per unit and book (employees: the pooled component 统筹基金) the figures come from
``fl.year_figures_at(year, book, as_of)`` (``fl.year_figures_v3`` is it at 31 December; the
monitor reads it at its date) — the year's revenue and expenditure without closing entries,
and the accumulated surplus S carried in, read across years: government-share money
received this year for an earlier year (``fl.government_receipts``: the register's
clearings) is left out of the year's revenue, and so are the year's adjustment-fund
allocations, and shares still owed count in S (BRIEF §5; the reconciling columns say by
how much) — and the rule from ``ledger.core.shortfall``.
``close_year`` takes ``fl.close_year``'s locks before it computes the table (one
transaction), so no writer commits in between; ``fl.close_year`` re-checks the table against the books and the rule, posts the closing
entries of every book (4xxx → 3001, 3001 → 5xxx, per component), records each
government share in the register, stores the table in ``fl.year_close`` and closes the
twelve months. Periods are closed for the whole ledger, so every book closes together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from psycopg.rows import class_row

from ledger.core.shapes import Fen
from ledger.core.shortfall import ShortfallInput, ShortfallResult, shortfall_table
from ledger.errors import BadInput, StateError
from ledger.i18n import _
from ledger.store.db import Conn
from ledger.store.rows import fetch_all


@dataclass(frozen=True, slots=True)
class ShortfallLine:
    """One unit and book of the 缺口分担 table (docs/reports.md explains the reconciling
    fields after ``surplus_after``): a row of ``report shortfall`` for a closed year, and
    of ``close year --json``'s ``rows``."""

    unit: str
    book: str
    revenue: Fen
    expenditure: Fen
    current_balance: Fen
    surplus_before: Fen
    covered_by_surplus: Fen
    government_share: Fen
    surplus_after: Fen
    revenue_on_books: Fen
    share_receipts: Fen
    surplus_before_on_books: Fen
    outstanding_before: Fen
    outstanding_after: Fen
    surplus_after_on_books: Fen
    adjustment_receipts: Fen
    covered_by_adjustment_fund: Fen

    @classmethod
    def of(cls, r: ShortfallResult) -> ShortfallLine:
        return cls(**asdict(r))

    @classmethod
    def stored(cls, r: Mapping[str, Any]) -> ShortfallLine:
        """A row of the table ``fl.year_close`` stored (jsonb). One stored by a close before
        the rule across years (migration 0011) has no reconciling fields: then the books and
        the rule read the same, nothing was owed; one before the adjustment fund (0025b) had
        none of it."""
        outstanding_after = int(r.get("outstanding_after", r["government_share"]))
        return cls(r["unit"], r["book"], int(r["revenue"]), int(r["expenditure"]), int(r["current_balance"]),
                   int(r["surplus_before"]), int(r["covered_by_surplus"]), int(r["government_share"]),
                   int(r["surplus_after"]),
                   revenue_on_books=int(r.get("revenue_on_books", r["revenue"])),
                   share_receipts=int(r.get("share_receipts", 0)),
                   surplus_before_on_books=int(r.get("surplus_before_on_books", r["surplus_before"])),
                   outstanding_before=int(r.get("outstanding_before", 0)),
                   outstanding_after=outstanding_after,
                   surplus_after_on_books=int(r.get("surplus_after_on_books", int(r["surplus_after"]) - outstanding_after)),
                   adjustment_receipts=int(r.get("adjustment_receipts", 0)),
                   covered_by_adjustment_fund=int(r.get("covered_by_adjustment_fund", 0)))


@dataclass(frozen=True, slots=True)
class ProvisionalLine(ShortfallLine):
    """A line of a year not yet closed: computed from the books now, so ``provisional``
    (the one key a closed year's line does not have)."""

    provisional: bool = True

    @classmethod
    def of(cls, r: ShortfallResult) -> ProvisionalLine:
        return cls(**asdict(r))


@dataclass(frozen=True, slots=True)
class ClosedBook:
    """What the close did in one book (fl.close_year's row)."""

    book: str
    entries: int                # closing entries posted
    government_items: int       # government shares recorded in the register


@dataclass(frozen=True, slots=True)
class YearClose:
    """``close year --json``."""

    year: int
    closed_on: dt.date
    books: tuple[ClosedBook, ...]
    rows: tuple[ShortfallLine, ...]


@dataclass(frozen=True, slots=True)
class ClosedYear:
    """A book's stored close (fl.year_closes). ``result`` is the jsonb the close stored,
    ``{"rows": [...]}`` in the shape of its day (``ShortfallLine.stored`` reads it)."""

    book: str
    closed_on: dt.date
    closed_by: str
    closed_at: dt.datetime
    result: dict[str, Any]


def books(conn: Conn) -> list[str]:
    return [r["code"] for r in conn.execute("SELECT code FROM fl.book ORDER BY code").fetchall()]


def live_table(conn: Conn, year: int, book: str) -> list[ShortfallResult]:
    """The shortfall table of ``book`` for ``year`` computed from the books now."""
    # (0100, ATTACK14 V10) The definer reader: the figures as the close computes them
    # (fl.year_figures_at at 31 December, 0104), an officer's own unit's row only (its allocation
    # part reads fl.entry.source, which officers may not).
    rows = conn.execute("SELECT * FROM fl.year_figures_read(%s, %s)", (year, book)).fetchall()
    return shortfall_table(ShortfallInput(r["unit"], r["book"], int(r["revenue"]), int(r["expenditure"]),
                                          int(r["surplus_before"]), share_receipts=int(r["share_receipts"]),
                                          outstanding_before=int(r["outstanding_before"]),
                                          adjustment_receipts=int(r["adjustment_receipts"])) for r in rows)


def closed_years(conn: Conn, year: int) -> dict[str, ClosedYear]:
    """The books closed for ``year`` with the shortfall table stored at the close (an
    officer gets its own unit's rows of it: fl.year_closes)."""
    # Binary results: the close reads this table back inside its own transaction (0050), on
    # whatever session the caller hands in — a DateStyle of the caller's ('German, DMY')
    # would make the text form of closed_at unreadable (psycopg parses ISO timestamps only).
    with conn.cursor(row_factory=class_row(ClosedYear), binary=True) as cur:
        rows = cur.execute("SELECT book, closed_on, closed_by, closed_at, result FROM fl.year_closes(%s)",
                           (year,)).fetchall()
    return {c.book: c for c in rows}


def shortfall_report(conn: Conn, year: int) -> list[ShortfallLine]:
    """Rows of the 缺口分担 report for every book: from ``fl.year_close`` when the year is
    closed (the table as computed at the close), otherwise computed live
    (``ProvisionalLine``). Officers get their own unit only."""
    closed = closed_years(conn, year)
    visible = conn.execute("SELECT fl.my_unit() AS u").fetchone()
    mine = visible["u"] if visible else None
    out: list[ShortfallLine] = []
    for book in books(conn):
        rows = ([ShortfallLine.stored(r) for r in closed[book].result["rows"]] if book in closed
                else [ProvisionalLine.of(r) for r in live_table(conn, year, book)])
        out.extend(r for r in rows if mine is None or r.unit == mine)
    out.sort(key=lambda r: (r.book, r.unit))
    return out


def close_year(conn: Conn, year: int, on: dt.date) -> YearClose:
    """Close ``year`` for every book on ``on`` (31 December of ``year``); refused if already closed."""
    if on.year != year:
        raise BadInput(_("the close of {year} must be dated within {year} (normally {year}-12-31), not {on}").format(
            year=year, on=on))
    if on != dt.date(year, 12, 31):
        # (0100, ATTACK14 V3) Its entries close the year's whole revenue and expenditure: they
        # describe the year on its last day only (fl.close_year's refusal, word for word).
        raise BadInput(_("the close of {year} is dated {year}-12-31, the last day of the year it closes, not {on}: its "
                         "entries close all the revenue and expenditure of the year; nothing was closed — close year "
                         "--year {year} --date {year}-12-31").format(year=year, on=on), rule="year_close_date")
    closed = closed_years(conn, year)
    if closed:
        # each book in the message's language too: an English part left in a Chinese message sent the
        # whole refusal to the CLI's "refused by the database" fallback, in English (readme)
        which = ", ".join(_("{book} (closed on {date} by {user})").format(book=b, date=c.closed_on, user=c.closed_by)
                          for b, c in sorted(closed.items()))
        raise StateError(_("year {year} is already closed for book {book}; a year is closed once").format(
            year=year, book=which), rule="year_closed")
    # The database computes the table under the close's own locks, in the one call that closes
    # (0050, ATTACK6 T6): no writer commits a posting between the table and the close (ATTACK5
    # S10), and no call leaves a lock behind (0040's fl.close_year_lock did, in the caller's
    # transaction). The rule is then applied here again to what was stored: a table the rule
    # does not give is refused, and the close rolled back with this transaction.
    summary = fetch_all(conn, ClosedBook, "SELECT * FROM fl.close_year_from_books(%s, %s::date)", (year, on))
    stored = closed_years(conn, year)
    rows: list[ShortfallLine] = []
    for book in books(conn):
        kept = list(stored[book].result["rows"]) if book in stored else []
        inputs = [ShortfallInput(r["unit"], r["book"], int(r["revenue"]), int(r["expenditure"]),
                                 int(r["surplus_before"]), share_receipts=int(r["share_receipts"]),
                                 outstanding_before=int(r["outstanding_before"]),
                                 adjustment_receipts=int(r["adjustment_receipts"])) for r in kept]
        derived = [ShortfallLine.of(r) for r in shortfall_table(inputs)]
        if derived != sorted((ShortfallLine.stored(r) for r in kept), key=lambda x: (x.unit, x.book)):
            raise StateError(_("the shortfall table the database computed for book {book} is not the rule's; "
                               "nothing was closed").format(book=book), rule="year_close_result")
        rows.extend(derived)
    return YearClose(year, on, tuple(summary), tuple(rows))
