"""ATTACK10 X13 variants: a year_close entry is not reversed (0082) — refused with what to do instead, on
every path that writes a reversal, and named by both verdicts when the database's rule is suspended.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post
from tests.security.test_attack7_rules import body_off, named, verdict
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db


def _closed(db: LedgerDB) -> int:
    post(db.connect("fin"), collect("x13v", "2023-03-01", "230822", "1000.00"))
    assert db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev").exit_code == 0
    row = db.admin().execute("SELECT e.id FROM fl.entry e JOIN fl.posting p ON p.entry_id = e.id JOIN fl.account a "
                             "ON a.id = p.account_id WHERE e.kind = 'year_close' AND a.chart_code = '4001' "
                             "AND a.unit = '230822'").fetchone()
    assert row is not None
    return int(row["id"])


def test_reversing_a_close_is_refused_saying_what_to_do(ledger_db: LedgerDB) -> None:
    close = _closed(ledger_db)
    zh = ledger_db.cli("--lang", "zh", "entry", "reverse", str(close), "--reason", "redo", "--date", "2024-01-05", user="fin")
    assert zh.exit_code != 0 and "不予冲销" in (zh.stdout + zh.stderr) and "以本年度分录更正" in (zh.stdout + zh.stderr), (zh.stdout + zh.stderr)
    assert "Traceback" not in (zh.stdout + zh.stderr)
    en = ledger_db.cli("--lang", "en", "entry", "reverse", str(close), "--reason", "redo", "--date", "2024-01-05",
                       "--json", user="fin")
    assert en.exit_code != 0
    assert "not reversed" in (en.stdout + en.stderr) and "open year" in (en.stdout + en.stderr), (en.stdout + en.stderr)
    held = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.pending_entry WHERE reverses = %s",
                                     (close,)).fetchone()
    assert held is not None and held["n"] == 0                          # nothing was held


def test_a_reversal_written_by_another_path_is_refused_by_the_table(ledger_db: LedgerDB) -> None:
    close = _closed(ledger_db)
    admin = ledger_db.admin()
    with pytest.raises(psycopg.Error, match="not reversed"):
        admin.execute("SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-01-05', 'x', 'reversal', "
                      "'reversal:fin:x13-dba', %s, 'redo', NULL, NULL)::fl.new_entry], "
                      "(SELECT array_agg(ROW(1, p.id::int, a.book, a.chart_code, a.unit, a.holder, a.component, "
                      "CASE p.side WHEN 'D' THEN 'C' ELSE 'D' END, p.amount, '', NULL)::fl.new_posting) "
                      "FROM fl.posting p JOIN fl.account a ON a.id = p.account_id WHERE p.entry_id = %s))",
                      (close, close))


def test_a_close_reversed_while_the_rule_is_suspended_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    close = _closed(ledger_db)
    admin = ledger_db.admin()
    with body_off(admin, "fl.reversal_allowed_of(fl.entry)", "\nBEGIN\n  RETURN;\nEND "):
        rv = ledger_db.cli("entry", "reverse", str(close), "--reason", "redo", "--date", "2024-01-05", "--json",
                           user="fin")
        assert rv.exit_code == 0, rv
        ok = ledger_db.cli("entry", "confirm", str(rv.json()["held_id"]), "--json", user="rev")
        assert ok.exit_code == 0, ok
    rev = int(ok.json()[0]["entry_id"])
    found = verdict(ledger_db)
    named(found, "entry_dates", entry_id=rev, words="reversal_year_closed")
    assert any(f["entry_id"] == rev for f in offline(ledger_db, tmp_path, "entry_dates"))
