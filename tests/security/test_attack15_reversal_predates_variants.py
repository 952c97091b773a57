"""ATTACK15 A9 variants: a reversal is not dated before the entry it reverses (0117) — refused in
Chinese with the earliest date it may take, on every path that writes a reversal (nothing held),
allowed on the original's own day and later, and named by both verdicts when the rule is suspended.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, confirmed, post, reclass
from tests.security.test_attack7_rules import body_off, named, verdict
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db


def _eid(db: LedgerDB, key_like: str) -> int:
    return int(db.admin().execute("SELECT id FROM fl.entry WHERE idempotency_key LIKE %s", (key_like,)).fetchone()["id"])


def test_a_predating_reversal_is_refused_in_chinese_saying_the_earliest_date(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("a9v1", "2024-06-01", "230822", "1000.00"))
    eid = _eid(ledger_db, "%a9v1")
    zh = ledger_db.cli("--lang", "zh", "entry", "reverse", str(eid), "--reason", "typo", "--date", "2024-05-31", user="fin")
    out = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "早于" in out and "2024-06-01" in out, out
    assert "Traceback" not in out and "reversal of" not in out, out
    en = ledger_db.cli("--lang", "en", "entry", "reverse", str(eid), "--reason", "typo", "--date", "2024-05-31", user="fin")
    assert en.exit_code != 0 and "reversal_predates" in en.stdout + en.stderr, en
    held = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.pending_entry WHERE reverses = %s", (eid,)).fetchone()
    assert held is not None and held["n"] == 0                          # nothing was held


def test_a_reversal_on_the_original_s_day_or_later_stays_allowed(ledger_db: LedgerDB) -> None:
    rev = ledger_db.connect("rev", autocommit=True)
    post(rev, reclass("a9v2", "2024-06-01", "230822", "100.00"), reclass("a9v3", "2024-06-01", "230822", "100.00"))
    same = confirmed(rev, "SELECT * FROM fl.reverse_entry(%s, 'typo', '2024-06-01', 'a9v2-rev')",
                     (_eid(ledger_db, "%a9v2"),), checker="rev2")
    later = confirmed(rev, "SELECT * FROM fl.reverse_entry(%s, 'typo', '2024-07-01', 'a9v3-rev')",
                      (_eid(ledger_db, "%a9v3"),), checker="rev2")
    assert same["status"] == later["status"] == "posted", (same, later)


def test_a_predating_reversal_written_by_another_path_is_refused_by_the_table(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("rev", autocommit=True), reclass("a9v4", "2024-06-01", "230822", "100.00"))
    eid = _eid(ledger_db, "%a9v4")
    admin = ledger_db.admin()
    with pytest.raises(psycopg.Error, match="would come before the entry itself"):
        admin.execute("SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-01-02', 'x', 'reversal', "
                      "'reversal:rev:a9v4-dba', %s, 'typo', NULL, NULL)::fl.new_entry], "
                      "(SELECT array_agg(ROW(1, p.id::int, a.book, a.chart_code, a.unit, a.holder, a.component, "
                      "CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END, p.amount, '', NULL)::fl.new_posting) "
                      "FROM fl.posting p JOIN fl.account a ON a.id = p.account_id WHERE p.entry_id = %s))",
                      (eid, eid))


def test_a_predating_reversal_written_while_the_rule_is_suspended_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    rev = ledger_db.connect("rev", autocommit=True)
    post(rev, reclass("a9v5", "2024-06-01", "230822", "100.00"))
    eid = _eid(ledger_db, "%a9v5")
    admin = ledger_db.admin()
    with body_off(admin, "fl._reversal_date_check(fl.entry,date)", "\nBEGIN\n  RETURN;\nEND "):
        row = confirmed(rev, "SELECT * FROM fl.reverse_entry(%s, 'typo', '2024-01-02', 'a9v5-rev')", (eid,),
                        checker="rev2")
    back = int(row["entry_id"])
    found = verdict(ledger_db)
    named(found, "entry_dates", entry_id=back, words="reversal_predates")
    assert any(f["entry_id"] == back for f in offline(ledger_db, tmp_path, "entry_dates"))
