"""ATTACK9 on 0064's V8: withdrawals are capped, the same churn through posted entries is not.

W7 (LOW): V8 bounded a maker's withdrawals because each held-and-withdrawn entry is an
append-only row with no lasting effect (~7 MB every 2 s per connection). One officer gets the
same growth with no second person and no cap at all: a manual entry on 1101/2001 (temporary
payment / receipt) posts at once, 1000 per call, and the next call posts the opposite entries —
net zero, every row sealed, chained and read by every verify forever. Nothing bounds it per user
and day the way withdrawal_cap bounds withdrawals.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg

pytestmark = pytest.mark.db

CALLS = 4          # 4000 entries of net zero; V8's cap for withdrawals is 2000 a day


def _batch(n: int, flip: bool) -> str:
    a, b = ("2001", "1101") if flip else ("1101", "2001")
    return json.dumps([entry(f"w7-{int(flip)}-{n}-{i}", "2024-03-20", "RES", leg(a, "230822", "D", "1.00"),
                             leg(b, "230822", "C", "1.00")) for i in range(1000)])


def test_w7_one_officer_appends_net_zero_entries_without_bound(ledger_db: LedgerDB) -> None:
    o22 = ledger_db.connect("o22", autocommit=True)
    refused = None
    for n in range(CALLS):
        try:
            rows = o22.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (_batch(n, n % 2 == 1),)).fetchall()
        except psycopg.Error as e:
            refused = e
            break
        assert {r["status"] for r in rows} == {"posted"}, rows
    net = ledger_db.admin().execute(
        "SELECT coalesce(sum(CASE side WHEN 'D' THEN amount ELSE -amount END), 0) AS n FROM fl.posting p "
        "JOIN fl.account a ON a.id = p.account_id WHERE a.chart_code = '1101' AND a.unit = '230822'").fetchone()
    assert (net is not None and net["n"] == 0) or refused is not None
    assert refused is not None, f"{CALLS * 1000} net-zero entries posted by one officer in one go, nothing refused"


def test_w7_the_cap_says_what_to_do_in_chinese_first(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """(0073) Past 2,000 manual entries in a region day an officer's call is refused whole, in
    Chinese first, saying when to post again (tomorrow) and who can; its earlier entries stand,
    and the refused call's entries are not counted."""
    o22 = ledger_db.connect("o22", autocommit=True)
    for n in range(2):
        o22.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (_batch(n, n % 2 == 1),)).fetchall()
    count = "SELECT count(*) AS n FROM fl.entry WHERE created_by = 'o22'"
    assert ledger_db.admin().execute(count).fetchone()["n"] == 2000
    assert ledger_db.admin().execute("SELECT n FROM fl.manual_day WHERE user_name = 'o22'").fetchone()["n"] == 2000
    f = tmp_path / "one.json"
    f.write_text(json.dumps([{"date": "2024-03-20", "book": "RES", "idempotency_key": "w7-one", "postings": [
        {"account": "1101", "unit": "230822", "side": "debit", "amount": "1.00"},
        {"account": "2001", "unit": "230822", "side": "credit", "amount": "1.00"}]}]), "utf-8")
    r = ledger_db.cli("--lang", "zh", "entry", "post", str(f), user="o22")
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1 and "[manual_daily_cap]" in text and "手工分录" in text and "市财政" in text and "明天" in text, r
    assert "Traceback" not in r.stderr
    assert ledger_db.admin().execute(count).fetchone()["n"] == 2000
    assert ledger_db.admin().execute("SELECT n FROM fl.manual_day WHERE user_name = 'o22'").fetchone()["n"] == 2000
