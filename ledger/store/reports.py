"""What every report reads besides figures: the region, its units and books, the
monitoring thresholds. The figures themselves come from ``reports_ledger`` (balance
sheet, income, subledger, ledger, vouchers), ``reports_budget`` (budget execution,
requests, registers) and ``monitor`` (months payable and the chart series).

Every figure is read from maintained data: ``fl.account`` and ``fl.account_day``, or
``fl.operating_day`` (account_day without the year-end close, sql/0006_reports.sql) for
revenue and expenditure over a period. Postings are read only for one account's ledger
or a range of vouchers.
"""

from __future__ import annotations

import datetime as dt

from ledger.i18n import get_lang
from ledger.reports.builders import Labels
from ledger.store.db import Conn


def confined_unit(conn: Conn) -> str | None:
    """The unit a unit-bound reader (a county officer) is confined to by row security
    (``fl.my_unit()``), None for a city role or the owner's session. A report's consolidation (the city's 'all' rows,
    '全市', 'Consolidated', 'city total') is left out for a confined reader: summed from what its
    session reads, it would be its own unit's figures under the city's label (ATTACK17 E10; the
    final accounts refuse the city's form to an officer)."""
    row = conn.execute("SELECT fl.my_unit() AS u").fetchone()
    # '' is a login that is no application user (the owner's session, which row security does
    # not confine; an unknown login reads nothing): not confined, as the final accounts read it
    return str(row["u"]) if row is not None and row["u"] else None


def labels(conn: Conn) -> Labels:
    """Region name (in the language in force: 佳木斯市 230800 / Jiamusi 230800), units (in
    region order), books, holders and chart, to label rows."""
    reg = conn.execute("SELECT value FROM fl.setting WHERE key = 'region'").fetchone()
    name = "name_en" if get_lang() == "en" else "name_zh"
    region = f"{reg['value'].get(name) or reg['value']['name_zh']} {reg['value']['code']}" if reg else ""
    units = {r["code"]: r for r in conn.execute(
        "SELECT code, name_zh, name_en, kind FROM fl.unit ORDER BY sort, code").fetchall()}
    books = {r["code"]: r for r in conn.execute(
        "SELECT code, name_zh, name_en, components, pooled_component FROM fl.book ORDER BY code DESC").fetchall()}
    holders = {r["code"]: r for r in conn.execute("SELECT code, name_zh, name_en FROM fl.holder").fetchall()}
    chart = {r["code"]: r for r in conn.execute(
        "SELECT code, name_zh, name_en, kind, parent FROM fl.chart ORDER BY code").fetchall()}
    zone = str(reg["value"].get("time_zone") or "") if reg else ""
    return Labels(region, units, books, holders, chart, zone)


def default_as_of(as_of: dt.date | None, year: int | None) -> dt.date:
    """The day a report is "as of": ``as_of``, else the end of ``year``, else today."""
    if as_of is not None:
        return as_of
    if year is not None:
        return dt.date(year, 12, 31)
    return dt.date.today()
