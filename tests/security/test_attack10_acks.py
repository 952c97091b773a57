"""ATTACK10 X15: monitoring acknowledgements are append-only chained rows with no bound per user.

W7 (0073) and V8 (0064) bounded what one login appends for ever (manual entries, withdrawals: rows every
verify reads). ``fl.monitor_acknowledge`` has no such bound: an officer records yellow acknowledgements of its
own unit under fresh keys without end — no warning needs to exist (only the dates and "the unit has figures by
then" are checked) — each a self-chained row hooked into the history (record_log), read by every verify and
carried by every export, for ever. One connection: thousands a minute.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import reclass

pytestmark = pytest.mark.db

N = 2500        # past 0073's 2,000 manual entries a day for an officer


def test_x15_one_officers_acknowledgements_are_bounded(ledger_db: LedgerDB) -> None:
    o22 = ledger_db.connect("o22", autocommit=True)
    o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                (json.dumps([reclass("x15-fig", "2024-01-05", "230822", "1.00")]),)).fetchall()   # a figure by then
    refused = None
    for i in range(N):
        try:
            o22.execute("SELECT * FROM fl.monitor_acknowledge('230822', 'RES', 'yellow', '2024-01-31', '2024-02-01', "
                        "%s, %s)", ("x" * 2000, f"x15-{i}")).fetchall()
        except psycopg.Error as e:
            refused = e
            break
    rows = ledger_db.admin().execute("SELECT count(*) AS n, sum(length(decision)) AS b FROM fl.monitor_ack "
                                     "WHERE acknowledged_by = 'o22'").fetchone()
    assert refused is not None, (
        f"officer o22 appended {rows['n'] if rows else 0} chained acknowledgements ({rows['b'] if rows else 0} bytes of "
        "decisions) of no warning, nothing refused")


def test_x15_one_officers_fund_requests_are_bounded(ledger_db: LedgerDB) -> None:
    """The same class: fund requests (each a fl.fund_request row and its submit event, both chained) have
    no per-user bound either — one officer fills the bureau's approval queue with junk requests under fresh
    keys (``request_period`` checks only the year and quarter's range)."""
    o22 = ledger_db.connect("o22", autocommit=True)
    refused = None
    for i in range(N):
        try:
            o22.execute("SELECT * FROM fl.request_submit('230822', 'RES', '', 2024, 1, 1, %s, %s)",
                        ("x" * 2000, f"x15r-{i}")).fetchall()
        except psycopg.Error as e:
            refused = e
            break
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.fund_request WHERE submitted_by = 'o22'").fetchone()
    assert refused is not None, f"officer o22 submitted {n['n'] if n else 0} requests for 2024 Q1, nothing refused"
