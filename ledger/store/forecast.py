"""The history a forecast starts from (``ledger.core.forecast``): per unit and book — for
the employees' book its pooled component (统筹基金) — and month, up to the origin, the
flows split the way the forecast projects them, and the government shortfall shares
still owed at the origin. Read from ``fl.operating_day`` (without the year-end close,
like the monitor) and the memo register; the government's shortfall receipts as the rule
reads them (``ledger.store.receipts``); row security narrows an officer to their unit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from ledger.core.chart import is_line
from ledger.core.forecast import MonthFlows
from ledger.store import registers
from ledger.store.db import Conn
from ledger.store.receipts import government_receipts

_FILTER = "(%(book)s::text IS NULL OR a.book = %(book)s) AND (%(unit)s::text IS NULL OR a.unit = %(unit)s)"


def history(conn: Conn, *, origin: dt.date, book: str | None = None,
            unit: str | None = None) -> dict[tuple[str, str], list[MonthFlows]]:
    """``{(unit, book): [MonthFlows, ...]}`` for every month with a movement up to ``origin``.

    contributions = 4001 + 4601; subsidies = 4101 and its sub-accounts, and 4401;
    other_revenue = the rest of 4xxx; each without the government's shortfall receipts
    (``shortfall_receipts``: the register clearings of government-share items, as the
    shortfall rule reads them, taken out of the account each was credited to — 4101.shortfall,
    or 4401 for a late adjustment-fund allocation); expenditure = 5xxx; equity = 3001
    outside the close (handover)."""
    # MATERIALIZED: the daily sums once (``fl.operating_day``, see ``ledger.store.monitor.figures``)
    rows = conn.execute(
        f"""WITH mv AS MATERIALIZED (
              SELECT d.account_id, date_trunc('month', d.day)::date AS month, sum(d.debits - d.credits) AS net
                FROM fl.operating_day d WHERE d.day <= %(origin)s
               GROUP BY d.account_id, date_trunc('month', d.day))
            SELECT a.unit, a.book, mv.month,
                   coalesce(-sum(mv.net) FILTER (WHERE a.chart_code IN ('4001', '4601')), 0)::bigint
                     AS contributions,
                   coalesce(-sum(mv.net) FILTER (WHERE a.chart_code = '4101' OR a.chart_code LIKE '4101.%%'
                                                       OR a.chart_code = '4401'), 0)::bigint
                     AS subsidies,
                   coalesce(-sum(mv.net) FILTER (WHERE c.kind = 'revenue'), 0)::bigint AS revenue,
                   coalesce(sum(mv.net) FILTER (WHERE c.kind = 'expenditure'), 0)::bigint AS expenditure,
                   coalesce(-sum(mv.net) FILTER (WHERE c.kind = 'net_assets'), 0)::bigint AS equity
              FROM mv JOIN fl.account a ON a.id = mv.account_id
              JOIN fl.chart c ON c.code = a.chart_code
              JOIN fl.book b ON b.code = a.book AND a.component = b.pooled_component
             WHERE c.kind IN ('revenue', 'expenditure', 'net_assets') AND {_FILTER}
             GROUP BY a.unit, a.book, mv.month
             ORDER BY a.unit, a.book, mv.month""",
        {"origin": origin, "book": book, "unit": unit}).fetchall()
    received: dict[tuple[str, str, dt.date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g in government_receipts(conn, end=origin, book=book, unit=unit):
        received[(g.unit, g.book, g.received_on.replace(day=1))][_series(g.chart_code)] += g.amount
    out: dict[tuple[str, str], list[MonthFlows]] = defaultdict(list)
    for r in rows:
        got = received.get((r["unit"], r["book"], r["month"]), {})
        contributions, subsidies = int(r["contributions"]), int(r["subsidies"])
        other = int(r["revenue"]) - contributions - subsidies
        out[(r["unit"], r["book"])].append(MonthFlows(
            r["month"], contributions=contributions - got.get("contributions", 0),
            subsidies=subsidies - got.get("subsidies", 0), other_revenue=other - got.get("other_revenue", 0),
            expenditure=int(r["expenditure"]), shortfall_receipts=sum(got.values()), equity=int(r["equity"])))
    return dict(out)


def _series(code: str) -> str:
    """The forecast series a revenue account belongs to (``history``'s split)."""
    if code in ("4001", "4601"):
        return "contributions"
    if is_line(code, "4101") or code == "4401":
        return "subsidies"
    return "other_revenue"


def government_outstanding(conn: Conn, *, origin: dt.date, book: str | None = None,
                           unit: str | None = None) -> dict[tuple[str, str], int]:
    """The government shortfall shares (备查簿 ``government_share``) opened by ``origin``
    and not yet paid by then, per (unit, book): the registers as of ``origin`` as ``register
    list`` and ``report registers`` read them (``registers.items_at``, ATTACK20 L5)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for i in registers.items_at(conn, as_of=origin, kind="government_share", book=book, unit=unit):
        out[(i.unit, i.book)] += i.outstanding
    return dict(out)
