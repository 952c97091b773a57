"""The third attack's write-side findings (/work/coord/ATTACK3.md), as the attacker did them,
through each role's own login (sql/0027_confinement.sql):

* R4 — one officer took ¥300 M off its unit's benefit expenditure with a made-up
  counter-entry: an officer's manual entry on revenue, expenditure or fund balance is held for
  a second person;
* R7 — one reviewer moved ¥500 M from the pool with `fl.preallocate`: capped by the policy;
* R11, R17, R18 — a sleeping writer, a DateStyle, a forged source (see each test).
(R5 is migration 0028's: tests/security/test_attack3_imports.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, with_figures

pytestmark = pytest.mark.db



def _n(db: LedgerDB, sql: str, *params: Any) -> int:
    return int(db.admin().execute(sql, params).fetchone()["n"])


def _refused(conn: psycopg.Connection, sql: str, params: object = None) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e:
        conn.execute(sql, params)
    return e.value


def _doc(key: str, memo: str = "", line_ref: str | None = None, posting_memo: str | None = None,
         unit: str = "230822") -> str:
    return json.dumps([{"date": "2023-03-01", "book": "RES", "idempotency_key": key, "memo": memo, "postings": [
        {"account": "1101", "unit": unit, "side": "D", "amount": 100, "line_ref": line_ref, "memo": posting_memo},
        {"account": "2001", "unit": unit, "side": "C", "amount": 100}]}])


# ---- R4: an officer's entry on the year-end rule's inputs is held ------------------------

@pytest.mark.parametrize("debit, credit", [
    ("2001", "5001.inpatient"),        # the attack: expenditure taken off
    ("4001", "2001"),                  # revenue taken off
    ("2001", "4001"),                  # revenue added
    ("3001", "2001"),                  # fund balance moved
    ("5401", "2001"),                  # other expenditure added
])
def test_an_officers_entry_on_revenue_expenditure_or_fund_balance_is_held(ledger_db: LedgerDB, debit: str,
                                                                             credit: str) -> None:
    o22 = ledger_db.connect("o22", autocommit=True)
    doc = entry(f"r4-{debit}-{credit}", "2024-01-20", "RES", leg(debit, "230822", "D", "300000000.00"),
                leg(credit, "230822", "C", "300000000.00"), memo="reclass")
    row = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),)).fetchone()
    assert row["status"] == "held" and row["entry_id"] is None, row
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry") == 0
    # The officer cannot confirm it itself; a second person can.
    e = _refused(o22, "SELECT * FROM fl.confirm_entry(%s)", (row["held_id"],))
    assert e.diag.constraint_name == "maker_checker", e
    rev = ledger_db.connect("rev", autocommit=True)
    assert rev.execute("SELECT * FROM fl.confirm_entry(%s)", (row["held_id"],)).fetchone()["status"] == "posted"


def test_an_entry_on_other_accounts_posts_at_once_whoever_makes_it(ledger_db: LedgerDB) -> None:
    """1101/2001 (receivables and payables, no bank account): no figure of the year-end rule,
    no second person. (The bureau's entry on 5001 is held too since 0036: test_attack4_second.py.)"""
    o22 = ledger_db.connect("o22", autocommit=True)
    row = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc("r4-plain"),)).fetchone()
    assert row["status"] == "posted", row
    rev = ledger_db.connect("rev", autocommit=True)
    row = rev.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc("r4-rev"),)).fetchone()
    assert row["status"] == "posted", row


# ---- ATTACK2 B7: the admin holds no role power of its own --------------------------------

@pytest.mark.parametrize("statement", [
    "SET ROLE fl_owner", "SET ROLE rev", "ALTER ROLE rev PASSWORD 'Takeover-Pw-2026!'", "ALTER ROLE rev LOGIN",
    "CREATE ROLE b7_probe LOGIN", "GRANT fl_reviewer TO admin", "GRANT fl_admin TO o22", "DROP ROLE o22",
])
def test_the_admin_cannot_become_or_change_another_login_by_itself(refusals_db: LedgerDB, statement: str) -> None:
    """On PostgreSQL 16+ a CREATEROLE role administers the roles it created: no fundledger login
    has CREATEROLE; only fl_owner (no login) does, and the admin cannot become it."""
    adm = refusals_db.connect("admin", autocommit=True)
    assert isinstance(_refused(adm, statement), psycopg.errors.InsufficientPrivilege)
    logins = refusals_db.admin().execute(
        "SELECT r.rolname FROM pg_roles r JOIN fl.app_user u ON u.name = r.rolname "
        "WHERE r.rolcreaterole OR r.rolsuper OR r.rolcreatedb OR r.rolbypassrls").fetchall()
    assert logins == []


# ---- R7: the pre-allocation's amount is the policy's, not the caller's -------------------

def test_a_reviewer_cannot_preallocate_more_than_the_policy_allows(ledger_db: LedgerDB) -> None:
    from ledger.store import imports

    data = Path(__file__).parent.parent / "integration" / "data"
    fin = ledger_db.connect("fin")
    imports.import_file(fin, "collections", data / "collections.csv")
    fin.commit()
    rev = ledger_db.connect("rev", autocommit=True)
    call = "SELECT * FROM fl.preallocate(2023, '2023-01-31', %s::jsonb)"
    # No budget in force and nothing spent last year: nothing may be pre-allocated.
    e = _refused(rev, call, (json.dumps([{"unit": "230822", "book": "RES", "amount": 50000000000}]),))
    assert e.diag.constraint_name == "preallocation_cap", e
    # With the budget (¥3,200,000 of expenditure: ¥266,666.67 a month) at most twelve months of it.
    rev_tx = ledger_db.connect("rev")
    imports.import_file(rev_tx, "budget", data / "budget.csv")
    rev_tx.commit()
    e = _refused(rev, call, (json.dumps([{"unit": "230822", "book": "RES", "amount": 320000005}]),))
    assert e.diag.constraint_name == "preallocation_cap" and "266,666.67" in str(e), e
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry WHERE kind = 'preallocation'") == 0
    ok = rev.execute(call, (json.dumps([{"unit": "230822", "book": "RES", "amount": 80000001}]),)).fetchall()
    assert [r["status"] for r in ok] == ["held"]      # within the cap, for city finance to confirm (0046)


def test_a_preallocation_moves_nothing_until_city_finance_confirms_it(ledger_db: LedgerDB) -> None:
    """R7, the rest (0046): within the cap a pre-allocation was one reviewer's act, and the cap was
    measured against a budget the same reviewer imports. Now the line is held; no reviewer (its
    maker or another), no officer confirms it — city finance does, who imports no budget — and
    the held line records what its cap was measured against."""
    from ledger.store import imports

    data = Path(__file__).parent.parent / "integration" / "data"
    fin = ledger_db.connect("fin")
    imports.import_file(fin, "collections", data / "collections.csv")
    fin.commit()
    rev_tx = ledger_db.connect("rev")
    imports.import_file(rev_tx, "budget", data / "budget.csv")
    rev_tx.commit()
    rev = ledger_db.connect("rev", autocommit=True)
    out = rev.execute("SELECT * FROM fl.preallocate(2023, '2023-01-31', %s::jsonb)",
                      (json.dumps([{"unit": "230822", "book": "RES", "amount": 80000001}]),)).fetchone()
    assert out["status"] == "held" and out["entry_id"] is None
    hid = out["held_id"]
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry WHERE kind = 'preallocation'") == 0
    cap = ledger_db.admin().execute("SELECT source->'cap' AS c FROM fl.pending_entry WHERE id = %s", (hid,)).fetchone()["c"]
    assert cap["budget_imported_by"] == "rev" and cap["budget_expenditure"] == 320000000, cap
    for who, rule in [("rev", "maker_checker"), ("rev2", "permission_denied"), ("o22", "permission_denied")]:
        e = _refused(ledger_db.connect(who, autocommit=True), "SELECT * FROM fl.confirm_entry(%s)", (hid,))
        assert e.diag.constraint_name == rule, (who, e)
    e = _refused(ledger_db.connect("rev2", autocommit=True), "SELECT * FROM fl.confirm_entries(%s)", ([hid],))
    assert "a finance user confirms it" in str(e), e
    done = ledger_db.connect("fin", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)", (hid,)).fetchone()
    assert done["status"] == "posted"
    e_row = ledger_db.admin().execute("SELECT kind, created_by, source->>'confirmed_by' AS c FROM fl.entry WHERE id = %s",
                                      (done["entry_id"],)).fetchone()
    assert (e_row["kind"], e_row["created_by"], e_row["c"]) == ("preallocation", "rev", "fin")
    # Run again: nothing more is held or posted (the year's pre-allocation exists).
    again = rev.execute("SELECT * FROM fl.preallocate(2023, '2023-02-01', %s::jsonb)",
                        (json.dumps([{"unit": "230822", "book": "RES", "amount": 100}]),)).fetchone()
    assert (again["status"], again["entry_id"]) == ("duplicate", done["entry_id"])


# ---- R18: a caller's source cannot carry the keys the ledger writes ----------------------

@pytest.mark.parametrize("source", [{"held": True}, {"made_by": "o81", "confirmed_by": "rev"}, {"request": 4},
                                    {"import_batch": 1, "file": "official.xlsx", "row": 2}])
def test_a_manual_entrys_source_cannot_forge_the_ledgers_own_keys(ledger_db: LedgerDB, source: dict[str, Any]) -> None:
    o22 = ledger_db.connect("o22", autocommit=True)
    doc = json.loads(_doc("src-forged"))
    doc[0]["source"] = source
    e = _refused(o22, "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),))
    assert e.diag.constraint_name == "source_reserved", e
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry") == 0
    doc[0]["source"] = {"note": "phone call of 3 March", "ticket": 17}
    assert o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),)).fetchone()["status"] == "posted"


# ---- R17: the acknowledgements' chain does not depend on the writer's DateStyle ----------

def test_an_acknowledgement_under_another_datestyle_chains_as_the_verifier_reads_it(ledger_db: LedgerDB) -> None:
    with_figures(ledger_db, "230822")
    rev = ledger_db.connect("rev", autocommit=True)
    rev.execute("SET DateStyle = 'German'")
    rev.execute("SELECT fl.monitor_acknowledge('230822', 'RES', 'red', '2023-01-31', '2023-01-31', '已约谈', 'ack-ds')")
    su = ledger_db.admin()
    su.execute("SET DateStyle = 'ISO, YMD'")
    ok = su.execute("""SELECT a.hash = sha256(a.prev_hash || convert_to(concat_ws('|', a.id, a.unit, a.book, a.level,
                         a.since, a.acknowledged_on, a.acknowledged_by,
                         to_char(a.acknowledged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), a.decision),
                         'UTF8')) AS same FROM fl.monitor_ack a""").fetchall()
    assert ok == [{"same": True}]


# ---- R11: a writer asleep in its transaction does not block the month close --------------

def test_a_writer_asleep_in_its_transaction_does_not_block_the_close(ledger_db: LedgerDB) -> None:
    import threading
    import time

    o22 = ledger_db.connect("o22")
    o22.execute("SET statement_timeout = 0")
    o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc("asleep"),))
    pid = int(o22.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])
    out: dict[str, BaseException] = {}

    def sleep() -> None:
        try:
            o22.execute("SELECT pg_sleep(120)")
        except BaseException as e:       # ended by the guard
            out["error"] = e
    t = threading.Thread(target=sleep)
    t.start()
    rev = ledger_db.connect("rev", autocommit=True)
    t0 = time.monotonic()
    assert rev.execute("SELECT fl.close_period('2023-02-01', 'month end') AS ok").fetchone()["ok"] is True
    assert time.monotonic() - t0 < 30
    t.join(10)
    assert isinstance(out.get("error"), psycopg.OperationalError), out
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = %s", (pid,)
                                     ).fetchone()["n"] == 0
