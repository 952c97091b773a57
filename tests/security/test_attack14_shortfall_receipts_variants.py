"""ATTACK14 V4 variants: the government's shortfall receipts have one definition (0101 and the monitor).

* 4101.shortfall is posted only by the clearing of a government-share item (``government pay``,
  ``register clear``), the close and reversals: a receipt by hand is refused when held, on every path
  that writes the journal (the DBA's fl._post included), Chinese first, saying what to do instead;
* the same figure in two reports agrees at every date: the current balance C of ``monitor --json``
  and of ``report shortfall --json``, for each unit, across a government's payment, its reversal and
  the real payment, in the closed year and the open one;
* an entry written while the database's rule is suspended is named by both verdicts.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_rules import held_rule_off, journal_rule_off, named, verdict
from tests.security.test_attack10_register_reversal_variants import UNIT, _ok, _pay, _reverse, share  # noqa: F401
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db


def _hand(key: str, unit: str = UNIT, date: str = "2024-03-01") -> dict[str, object]:
    return entry(key, date, "RES", leg("1003", unit, "D", "200.00", "special"), leg("4101.shortfall", unit, "C", "200.00"),
                 memo="县政府缺口补助 by hand")


def _held(db: LedgerDB) -> int:
    row = db.admin().execute("SELECT count(*) AS n FROM fl.pending_entry").fetchone()
    assert row is not None
    return int(row["n"])


@pytest.mark.parametrize("maker", ["fin", "rev"])
def test_a_receipt_by_hand_on_the_shortfall_account_is_refused_when_held(share: LedgerDB, maker: str) -> None:  # noqa: F811
    before = _held(share)
    with pytest.raises(psycopg.Error) as e:
        share.connect(maker, autocommit=True).execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                                                      (json.dumps([_hand(f"v4v-{maker}")]),))
    assert e.value.diag.constraint_name == "shortfall_clearing_only", e.value
    assert _held(share) == before                                      # nothing was held


def test_the_refusal_is_chinese_first_and_says_what_to_do(ledger_db: LedgerDB) -> None:
    zh = ledger_db.cli("--lang", "zh", "entry", "post", "-", user="fin", input=json.dumps([_hand("v4v-zh", "230822")]))
    out = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "备查簿" in out and "government pay" in out and "Traceback" not in out, out


def test_the_dba_writing_the_journal_directly_is_refused(share: LedgerDB) -> None:  # noqa: F811
    admin = share.admin()
    item = admin.execute("SELECT id FROM fl.register_item WHERE kind = 'government_share' AND unit = %s",
                         (UNIT,)).fetchone()["id"]
    cases = [("manual", None, UNIT), ("collections", None, UNIT),
             ("register_clear", {"register_item": item, "kind": "unpaid_claims"}, UNIT),     # not a share's
             ("register_clear", {"register_item": item, "kind": "government_share"}, "230822")]  # another unit's
    for i, (kind, source, unit) in enumerate(cases):
        with pytest.raises(psycopg.Error, match=r"4101\.shortfall") as e:
            admin.execute(
                "SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-03-01', 'x', %s, %s, NULL, '', %s::jsonb, "
                "NULL)::fl.new_entry], ARRAY[ROW(1, 1, 'RES', '1003', %s, 'special', '', 'D', 1000, '', NULL)::fl.new_posting, "
                "ROW(1, 2, 'RES', '4101.shortfall', %s, '', '', 'C', 1000, '', NULL)::fl.new_posting])",
                (kind, f"register-clear:v4-dba-{i}" if kind == "register_clear" else f"{kind}:fin:v4-dba-{i}",
                 json.dumps(source) if source else None, unit, unit))
        assert e.value.diag.constraint_name == "shortfall_clearing_only"
        admin.rollback()


def _agree(db: LedgerDB, year: int, as_of: str) -> int:
    """C of every unit of ``year`` in ``report shortfall`` equals the monitor's at ``as_of``."""
    m = db.cli("monitor", "--as-of", as_of, "--json", user="aud")
    assert m.exit_code in (0, 3), m
    s = _ok(db.cli("report", "shortfall", "--year", str(year), "--json", user="aud"))
    mon = {(r["unit"], r["book"]): r["current_balance"] for r in m.json()["rows"]}
    rule = {(r["unit"], r["book"]): r["current_balance"] for r in s.json()}
    assert rule and all(mon.get(k) == c for k, c in rule.items()), (as_of, year, mon, rule)
    return len(rule)


def test_the_monitor_and_report_shortfall_carry_one_current_balance_at_every_date(share: LedgerDB) -> None:  # noqa: F811
    db = share
    assert _agree(db, 2023, "2023-12-31") > 0                           # the closed year (its stored table)
    post(db.connect("fin"), collect("v4v-c", "2024-01-05", UNIT, "1000.00"))
    _agree(db, 2024, "2024-01-05")
    paid = _pay(db, "30000.00", "2024-01-15")                            # 2023's share: not 2024's revenue
    _agree(db, 2024, "2024-01-15")
    _reverse(db, paid, "2024-02-10")                                      # the bank returned it
    _agree(db, 2024, "2024-02-10")
    with pytest.raises(psycopg.Error):                                    # the receipt by hand: refused
        post(db.connect("fin"), _hand("v4v-again"), checker="rev")
    _pay(db, "70000.00", "2024-03-01")                                    # the real payment, whole
    _agree(db, 2024, "2024-03-01")
    _agree(db, 2024, "2024-12-31")
    assert _ok(db.cli("verify", user="aud")).exit_code == 0


def test_an_entry_written_while_the_rule_is_suspended_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    admin = ledger_db.admin()
    with held_rule_off(admin, "short"), \
         journal_rule_off(admin, "short"):
        got = post(ledger_db.connect("fin"), _hand("v4v-off", "230822"), checker="rev")
    eid = int(got[0]["entry_id"])
    named(verdict(ledger_db), "workflows", entry_id=eid, words="shortfall_clearing_only")
    assert any(f["entry_id"] == eid and "shortfall_clearing_only" in str(f["message"])
               for f in offline(ledger_db, tmp_path, "workflows"))
