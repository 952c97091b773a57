"""ATTACK15 A10: a disbursement could be dated before the request it pays.

The ledger recorded no business date of an approval — only the wall clock of the approve event —
so city finance could disburse a request "on" any day: before the bureau approved it, before its
quarter began; the bureau could settle it onward before it was disbursed; a register item could be
cleared before it was opened. The demo approved in 2026 what it disbursed in 2024, and nothing in
the books could tell a true story from a back-dated one.

Fixed by 0126: ``fl.fund_request.approved_on`` (``request approve --date``, default the region's
today, never after it; chained with the request's row), and on every path (triggers on fl.entry,
fl.register_clearing and fl.pending_entry): a disbursement on or after the approval's date and its
quarter's first day, a settlement onward on or after the disbursement, a register clearing on or
after its item was opened — held clearings refused when held, and a hold made before the rule
refused when confirmed. Refusals in Chinese name the dates and the earliest day allowed; the
independent verdict (``actors``) names a row written with the triggers off, above the rule point.
No import writes a disbursement, a settlement or a clearing (the opening import writes register
items, dated by the opening): nothing to hold there.
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.integration.test_registers_budget import items, open_handover

pytestmark = pytest.mark.db

SUBMIT = "SELECT * FROM fl.request_submit(%s, 'RES', '', 2024, %s, %s, '', %s)"


def _refused(conn: psycopg.Connection, code: str, sql: str, params: tuple[object, ...]) -> str:
    with pytest.raises(psycopg.Error) as ei:
        conn.execute(sql, params)
    assert ei.value.diag.constraint_name == code, ei.value
    return str(ei.value)


def _funded(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("a10-c22", "2024-01-05", "230822", "1000000.00"))


def _request(ledger_db: LedgerDB, quarter: int, key: str, approved_on: str | None) -> int:
    o22 = ledger_db.connect("o22", autocommit=True)
    rid = int(o22.execute(SUBMIT, ("230822", quarter, 1000000, key)).fetchone()["id"])
    if approved_on is not None:
        ledger_db.connect("rev", autocommit=True).execute("SELECT id FROM fl.request_approve(%s, NULL, %s)",
                                                          (rid, approved_on))
    return rid


def test_a10_a_disbursement_is_not_dated_before_its_approval(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    rid = _request(ledger_db, 1, "a10-1", "2024-02-01")
    fin = ledger_db.connect("fin", autocommit=True)
    msg = _refused(fin, "disburse_predates", "SELECT id FROM fl.request_disburse(%s, '2024-01-20', NULL)", (rid,))
    assert "2024-01-20" in msg and "2024-02-01" in msg, msg
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'request_disburse'"
                                     ).fetchone()["n"] == 0          # nothing was written
    fin.execute("SELECT id FROM fl.request_disburse(%s, '2024-02-01', NULL)", (rid,))     # the approval's own day


def test_a10_the_cli_refuses_in_chinese_naming_the_dates_and_the_command(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    rid = _request(ledger_db, 1, "a10-2", "2024-02-01")
    r = ledger_db.cli("--lang", "zh", "request", "disburse", str(rid), "--date", "2024-01-31", user="fin")
    assert r.exit_code == 1, r
    assert "disburse_predates" in r.stderr and "批复日期" in r.stderr and "2024-02-01" in r.stderr, r.stderr
    assert f"fundledger request disburse {rid} --date 2024-02-01" in r.stderr, r.stderr


def test_a10_a_disbursement_is_not_dated_before_its_quarter(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    rid = _request(ledger_db, 2, "a10-3", "2024-03-20")             # Q2 approved in advance: allowed
    fin = ledger_db.connect("fin", autocommit=True)
    msg = _refused(fin, "disburse_predates", "SELECT id FROM fl.request_disburse(%s, '2024-03-25', NULL)", (rid,))
    assert "2024-04-01" in msg, msg
    fin.execute("SELECT id FROM fl.request_disburse(%s, '2024-04-01', NULL)", (rid,))


def test_a10_a_settlement_is_not_dated_before_its_disbursement(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    rid = _request(ledger_db, 1, "a10-4", "2024-01-10")
    ledger_db.connect("fin", autocommit=True).execute("SELECT id FROM fl.request_disburse(%s, '2024-01-20', NULL)",
                                                      (rid,))
    rev2 = ledger_db.connect("rev2", autocommit=True)
    msg = _refused(rev2, "settle_predates", "SELECT id FROM fl.request_settle(%s, '2024-01-19', NULL)", (rid,))
    assert "2024-01-19" in msg and "2024-01-20" in msg, msg
    rev2.execute("SELECT id FROM fl.request_settle(%s, '2024-01-20', NULL)", (rid,))


def test_a10_an_approval_is_not_dated_after_today_and_defaults_to_today(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    rid = _request(ledger_db, 1, "a10-5", None)
    rev = ledger_db.connect("rev", autocommit=True)
    today = rev.execute("SELECT fl._region_today() AS d").fetchone()["d"]
    _refused(rev, "approval_date", "SELECT id FROM fl.request_approve(%s, NULL, %s)", (rid, today + dt.timedelta(days=2)))
    r = ledger_db.cli("request", "approve", str(rid), "--json", user="rev")          # no --date: today
    assert r.exit_code == 0 and r.json()["approved_on"] == today.isoformat(), r
    # An approval recorded today without its real date cannot pay January 2024: the officer is told
    # the approval's date (and gives the real one when recording a past approval, `--date`).
    fin = ledger_db.connect("fin", autocommit=True)
    _refused(fin, "disburse_predates", "SELECT id FROM fl.request_disburse(%s, '2024-01-20', NULL)", (rid,))


def test_a10_the_approval_date_is_in_the_chained_history(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    rid = _request(ledger_db, 1, "a10-6", "2024-01-15")
    row = ledger_db.admin().execute(
        "SELECT row_data ->> 'approved_on' AS d FROM fl.record_log WHERE tbl = 'fl.fund_request' "
        "AND row_key = jsonb_build_object('id', %s::bigint) ORDER BY id DESC LIMIT 1", (rid,)).fetchone()
    assert row["d"] == "2024-01-15"
    # A DBA who moves the approval's date with the triggers off is named by verify.
    admin = ledger_db.admin()
    admin.execute("SET session_replication_role = replica")
    admin.execute("UPDATE fl.fund_request SET approved_on = '2024-01-01' WHERE id = %s", (rid,))
    admin.execute("RESET session_replication_role")
    admin.commit()
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 1 and "approved_on" in v.stdout, v.stdout[-2000:]


def test_a10_a_register_clearing_is_not_dated_before_its_item(ledger_db: LedgerDB) -> None:
    open_handover(ledger_db)                                          # items opened 2023-01-01
    fid = items(ledger_db)["HN-REG-1"]["id"]                          # fiscal arrears: posted at once
    fin = ledger_db.connect("fin", autocommit=True)
    msg = _refused(fin, "clearing_predates", "SELECT * FROM fl.clear_register(%s, 100, '2022-12-31', NULL)", (fid,))
    assert "2023-01-01" in msg and "2022-12-31" in msg, msg
    r = ledger_db.cli("--lang", "zh", "register", "clear", str(fid), "--amount", "1.00", "--date", "2022-12-31",
                      user="fin")
    assert r.exit_code == 1 and "clearing_predates" in r.stderr and "登记于 2023-01-01" in r.stderr, r.stderr
    fin.execute("SELECT * FROM fl.clear_register(%s, 100, '2023-01-01', NULL)", (fid,))


def test_a10_a_held_clearing_is_refused_when_held_and_when_confirmed(ledger_db: LedgerDB) -> None:
    open_handover(ledger_db)
    uid = items(ledger_db)["HN-REG-3"]["id"]                          # unpaid claims: held for a second person
    rev = ledger_db.connect("rev", autocommit=True)
    _refused(rev, "clearing_predates", "SELECT * FROM fl.clear_register(%s, 100, '2022-12-30', NULL)", (uid,))
    # A hold made before 0126 (its trigger off, as on the old release) is refused at its confirmation:
    # the county's expenditure account holds money that day (so the payment itself is no overdraft).
    post(ledger_db.connect("fin", autocommit=True), collect("a10-pre", "2022-11-01", "230822", "1000.00"),
         entry("a10-move", "2022-12-01", "RES", leg("1004", "230822", "D", "500.00", "county_exp"),
               leg("1003", "230822", "C", "500.00", "special")))
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.pending_entry DISABLE TRIGGER pending_clearing_dates")
    admin.commit()
    try:
        held = rev.execute("SELECT * FROM fl.clear_register(%s, 100, '2022-12-30', 'register-clear:a10-held')", (uid,)).fetchone()
    finally:
        admin.execute("ALTER TABLE fl.pending_entry ENABLE TRIGGER pending_clearing_dates")
        admin.commit()
    assert held["status"] == "held", held
    fin = ledger_db.connect("fin", autocommit=True)
    _refused(fin, "clearing_predates", "SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))
    assert items(ledger_db)["HN-REG-3"]["cleared"] == "0.00"


def test_a10_a_back_dated_row_written_with_the_triggers_off_is_named_by_verify(ledger_db: LedgerDB) -> None:
    """The rule in the database can be switched off by its owner for one call; the independent
    verdict re-derives it from the rows (``actors``) for everything above the rule's point."""
    _funded(ledger_db)
    rid = _request(ledger_db, 1, "a10-7", "2024-02-01")
    open_handover(ledger_db)
    fid = items(ledger_db)["HN-REG-1"]["id"]
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.entry DISABLE TRIGGER entry_request_dates")
    admin.execute("ALTER TABLE fl.register_clearing DISABLE TRIGGER register_clearing_dates")
    admin.commit()
    try:
        ledger_db.connect("fin", autocommit=True).execute(
            "SELECT id FROM fl.request_disburse(%s, '2024-01-20', NULL)", (rid,))
        ledger_db.connect("fin", autocommit=True).execute(
            "SELECT * FROM fl.clear_register(%s, 100, '2022-12-31', NULL)", (fid,))
    finally:
        admin.execute("ALTER TABLE fl.entry ENABLE TRIGGER entry_request_dates")
        admin.execute("ALTER TABLE fl.register_clearing ENABLE TRIGGER register_clearing_dates")
        admin.commit()
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 1, v.stdout[-2000:]
    assert "disburse_predates" in v.stdout and "clearing_predates" in v.stdout, v.stdout[-3000:]


def test_a10_the_story_in_order_verifies(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    rid = _request(ledger_db, 1, "a10-8", "2024-01-08")
    ledger_db.connect("fin", autocommit=True).execute("SELECT id FROM fl.request_disburse(%s, '2024-01-08', NULL)",
                                                      (rid,))
    ledger_db.connect("rev2", autocommit=True).execute("SELECT id FROM fl.request_settle(%s, '2024-01-08', NULL)",
                                                       (rid,))
    s = ledger_db.cli("request", "show", str(rid), "--json", user="aud")
    assert s.exit_code == 0 and s.json()["approved_on"] == "2024-01-08", s
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, v.stdout[-2000:]
