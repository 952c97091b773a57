"""Funding standards (筹资标准): the settings, the insured headcounts (``fl.insured_count``,
sql/0025_funding.sql, imported with ``fl.import_insured`` via ``ledger.store.imports``) and
the money received per unit, book and year that ``ledger.core.funding`` holds against them.

Money received is read from the books on the cash basis: ``fl.year_flows`` (account_day
without the year-end close) over the year, the fiscal subsidy as 4101 and its source
sub-accounts without the government's shortfall receipts credited to them (a government's
share of a gap settles a shortfall; it is not funding) — the register clearings of
government-share items, read as the shortfall rule reads them (``ledger.store.receipts``),
not the postings on 4101.shortfall — the individual contributions as 4001. Officers see
their own unit (row security, and ``fl.my_unit``)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from ledger.core.chart import is_line
from ledger.core.funding import FundingLine, FundingStandard, funding_line, parse_standards
from ledger.store.db import Conn
from ledger.store.receipts import government_receipts
from ledger.store.rows import fetch_all


@dataclass(frozen=True, slots=True)
class Headcount:
    """One version of a unit's insured headcount for a year and book (fl.insured_count):
    ``insured show --json``."""

    year: int
    unit: str
    book: str
    version: int
    insured: int
    reason: str                 # why a correction (version > 1) changed it
    recorded_by: str
    recorded_at: dt.datetime
    batch_id: int
    row_no: int


def standards(conn: Conn) -> tuple[FundingStandard, ...]:
    """The funding standards of the region settings (the defaults when none are stored)."""
    row = conn.execute("SELECT value FROM fl.setting WHERE key = 'funding_standards'").fetchone()
    value = row["value"] if row else None
    if isinstance(value, str):
        value = json.loads(value)
    return parse_standards(value or [], "settings")


def headcounts(conn: Conn, year: int, *, history: bool = False, unit: str | None = None,
               book: str | None = None) -> list[Headcount]:
    """The headcounts of ``year`` in force (latest version per unit and book), or every
    version with ``history``."""
    return fetch_all(conn, Headcount,
        """SELECT i.year, i.unit, i.book, i.version, i.insured, i.reason, i.recorded_by, i.recorded_at,
                  i.batch_id, i.row_no
             FROM fl.insured_count i
            WHERE i.year = %(y)s AND (%(u)s::text IS NULL OR i.unit = %(u)s) AND (%(b)s::text IS NULL OR i.book = %(b)s)
              AND (%(h)s OR i.version = (SELECT max(i2.version) FROM fl.insured_count i2
                                          WHERE i2.year = i.year AND i2.unit = i.unit AND i2.book = i.book))
            ORDER BY i.book, i.unit, i.version""",
        {"y": year, "u": unit, "b": book, "h": history})


def after_close(conn: Conn, year: int, in_force: list[Headcount]) -> dict[tuple[str, str], dt.date]:
    """(book, unit) -> the day its headcount in force was recorded, for those recorded after
    ``year``'s close of their book (0142 takes a closed year's first headcount after the close:
    the funding report says so, closedyr). The day in the region's time zone."""
    closes = {r["book"]: r["closed_at"] for r in conn.execute(      # an officer's too (0008: not fl.year_close)
        "SELECT book, closed_at FROM fl.year_closes(%s)", (year,)).fetchall()}
    if not closes:
        return {}
    row = conn.execute("SELECT coalesce((SELECT s.value ->> 'time_zone' FROM fl.setting s WHERE s.key = 'region'), "
                       "'Asia/Shanghai') AS tz").fetchone()
    zone = ZoneInfo(row["tz"] if row else "Asia/Shanghai")
    return {(h.book, h.unit): h.recorded_at.astimezone(zone).date() for h in in_force
            if h.book in closes and h.recorded_at > closes[h.book]}


def received(conn: Conn, year: int, book: str) -> dict[str, tuple[int, int]]:
    """Per unit of ``book``: (fiscal subsidy, individual contributions) received in ``year``."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = conn.execute(
        """SELECT f.unit,
                  coalesce(-sum(f.net) FILTER (WHERE f.chart_code = '4101' OR f.chart_code LIKE '4101.%%'), 0)::bigint
                    AS subsidy,
                  coalesce(-sum(f.net) FILTER (WHERE f.chart_code = '4001' OR f.chart_code LIKE '4001.%%'), 0)::bigint
                    AS individual
             FROM fl.year_flows(%s, %s, %s) f
            GROUP BY f.unit""", (book, start, end)).fetchall()
    shares: dict[str, int] = {}
    for g in government_receipts(conn, start=start, end=end, book=book):
        if is_line(g.chart_code, "4101"):
            shares[g.unit] = shares.get(g.unit, 0) + g.amount
    return {r["unit"]: (int(r["subsidy"]) - shares.get(r["unit"], 0), int(r["individual"])) for r in rows}


def funding(conn: Conn, year: int, *, book: str | None = None, unit: str | None = None) -> list[FundingLine]:
    """One line per unit of every book that has a standard or a headcount for ``year``
    (``book``/``unit`` narrow it; an officer gets their own unit)."""
    mine = conn.execute("SELECT fl.my_unit() AS u").fetchone()
    own = mine["u"] if mine else None
    units = [r["code"] for r in conn.execute("SELECT code FROM fl.unit ORDER BY sort, code").fetchall()
             if (own is None or r["code"] == own) and (unit is None or r["code"] == unit)]
    stds = standards(conn)
    in_force = headcounts(conn, year)
    counts = {(r.book, r.unit): r.insured for r in in_force}
    late = after_close(conn, year, in_force)
    books = sorted({s.book for s in stds if s.year == year} | {b for b, _ in counts})
    books = [b for b in books if book is None or b == book]
    known = {r["code"] for r in conn.execute("SELECT code FROM fl.book").fetchall()}
    out: list[FundingLine] = []
    for b in books:
        if b not in known:
            continue
        std = next((s for s in stds if s.year == year and s.book == b), None)
        money = received(conn, year, b)
        for u in units:
            subsidy, individual = money.get(u, (0, 0))
            line = funding_line(u, b, year, counts.get((b, u)), subsidy, individual, std)
            out.append(replace(line, headcount_after_close=late.get((b, u))))
    return out
