"""Quarterly fund requests (用款申请): every legal and illegal move, through the CLI and
through raw SQL as the wrong user; the physical special account guards approvals while
a unit's own share may go negative; disburse + settle move money to the fen."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pgerr

from tests.helpers import collect, pay_from_special, post
from tests.integration._cycle import add_budget, bal, fen, special

pytestmark = pytest.mark.db


def _ok(r):  # type: ignore[no-untyped-def]
    assert r.exit_code == 0, r
    return r


def _refused(r, *fragments: str):  # type: ignore[no-untyped-def]
    assert r.exit_code == 1, r
    for f in fragments:
        assert f in r.stderr, r
    return r


def test_request_lifecycle_through_the_cli(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", "230822", "1000000.00"), collect("c81", "2024-01-10", "230881", "200000.00"))
    fin.commit()
    add_budget(ledger_db.admin(), 2024, "230822", "RES", {"5001": "2400000.00", "4001": "2000000.00"})
    cli = ledger_db.cli
    db = ledger_db.admin()

    # r1: 桦南县 asks for Q1; its justification is computed by the database.
    r1 = _ok(cli("request", "submit", "--unit", "230822", "--book", "RES", "--year", "2024", "--quarter", "1",
                 "--amount", "600000.00", "--note", "Q1 benefits", "--key", "k1", "--json", user="o22")).json()
    assert (r1["id"], r1["state"], r1["status"], r1["submitted_by"]) == (1, "submitted", "submitted", "o22")
    assert r1["justification"] | {"budget_version": None, "as_of": None} == {
        "budget_for_quarter": "600000.00", "annual_budget_expenditure": "2400000.00", "spent_to_date": "0.00",
        "held_county_exp": "0.00", "held_city_exp": "0.00", "held_special": "1000000.00",
        "balances_held": "1000000.00", "approved_this_year": "0.00", "budget_version": None, "as_of": None,
        "quarter_basis": "annual_div_4"}   # no annual plan (0024): the annual budget ÷ 4
    # The shown request's keys (RequestSubmitted), the history included (it was empty before issue 23).
    assert list(r1)[13:] == ["approved_on", "events", "justification", "warnings", "status"]
    assert r1["approved_on"] is None
    assert [(e["action"], e["to_state"], e["amount"], e["actor"]) for e in r1["events"]] == [
        ("submit", "submitted", "600000.00", "o22")]
    again = _ok(cli("request", "submit", "--unit", "230822", "--book", "RES", "--year", "2024", "--quarter", "1",
                    "--amount", "600000.00", "--note", "Q1 benefits", "--key", "k1", "--json", user="o22")).json()
    assert (again["id"], again["status"]) == (1, "duplicate")
    _refused(cli("request", "submit", "--unit", "230822", "--book", "RES", "--year", "2024", "--quarter", "1",
                 "--amount", "600000.01", "--note", "Q1 benefits", "--key", "k1", user="o22"), "idempotency_conflict")
    _refused(cli("request", "submit", "--unit", "230881", "--book", "RES", "--year", "2024", "--quarter", "1",
                 "--amount", "1.00", user="o22"), "permission_denied", "may not submit requests for unit 230881")
    _refused(cli("request", "submit", "--unit", "230822", "--book", "RES", "--year", "2024", "--quarter", "5",
                 "--amount", "1.00", user="o22"), "--quarter 5 is out of range")
    _refused(cli("request", "submit", "--unit", "230822", "--book", "RES", "--year", "2024", "--quarter", "1",
                 "--amount", "1.005", user="o22"), "at most two decimals")

    # Only a reviewer, never the submitter, approves; never more than requested.
    _refused(cli("request", "approve", "1", user="o22"), "permission_denied", "cannot also approve")
    _refused(cli("request", "approve", "1", user="fin"), "permission_denied", "needs the reviewer role")
    _refused(cli("request", "approve", "1", "--amount", "600000.01", user="rev"), "more than the 600,000.00 requested")
    a1 = _ok(cli("request", "approve", "1", "--amount", "500000.00", "--date", "2024-01-12", "--json", user="rev")).json()
    assert (a1["state"], a1["amount_approved"], a1["approved_by"], a1["warnings"], a1["approved_on"]) == (
        "approved", "500000.00", "rev", [], "2024-01-12")     # (0126) the approval's business date
    assert special(db) == (fen("1200000.00"), fen("500000.00"))
    _refused(cli("request", "approve", "1", user="rev2"), "illegal_state",
             "request 1 is approved; it cannot be approved again")
    _refused(cli("request", "reject", "1", "--reason", "late", user="rev2"), "request 1 is approved; it cannot be rejected")

    # r2: 同江市 asks for twice its own share; the pool has it, so approval stands (with a
    # budget warning: it has no budget), and its share of the special account goes negative.
    _ok(cli("request", "submit", "--unit", "230881", "--book", "RES", "--year", "2024", "--quarter", "1",
            "--amount", "400000.00", user="o81"))
    a2 = _ok(cli("request", "approve", "2", "--date", "2024-01-12", user="rev"))
    assert "above the annual budgeted expenditure of 0.00" in a2.stdout
    assert special(db) == (fen("1200000.00"), fen("900000.00"))

    # The reservation blocks other payments out of the special account.
    with pytest.raises(pgerr.CheckViolation) as ei:
        post(fin, pay_from_special("pay-too-much", "2024-01-18", "230822", "300000.01"))
    assert ei.value.diag.constraint_name == "reserved_within_balance"
    fin.rollback()

    _refused(cli("request", "disburse", "2", "--date", "2024-01-20", user="rev"), "needs the finance role")
    _refused(cli("request", "settle", "2", "--date", "2024-01-20", user="rev"), "request 2 is approved; it cannot be settled")
    d2 = _ok(cli("request", "disburse", "2", "--date", "2024-01-20", "--json", user="fin")).json()
    assert d2["state"] == "disbursed" and d2["entry_id"] > 0
    assert special(db) == (fen("800000.00"), fen("500000.00"))
    assert bal(db, "RES", "1003", "230881", "special") == fen("-200000.00")      # its share, in red
    assert bal(db, "RES", "1004", "230881", "city_exp") == fen("400000.00")

    # r3: the physical account now has 800,000.00 − 500,000.00 reserved = 300,000.00 free.
    _ok(cli("request", "submit", "--unit", "230881", "--book", "RES", "--year", "2024", "--quarter", "2",
            "--amount", "400000.00", user="o81"))
    _refused(cli("request", "approve", "3", user="rev"), "special_account_available", "300,000.00 available")
    _refused(cli("request", "approve", "3", "--amount", "300000.01", user="rev"), "special_account_available")
    _ok(cli("request", "approve", "3", "--amount", "300000.00", user="rev"))
    assert special(db) == (fen("800000.00"), fen("800000.00"))
    _refused(cli("request", "void", "3", "--reason", "x", user="fin"), "needs the reviewer role")
    _ok(cli("request", "void", "3", "--reason", "replaced by a Q2 budget revision", user="rev2"))
    assert special(db) == (fen("800000.00"), fen("500000.00"))
    _refused(cli("request", "void", "3", "--reason", "again", user="rev2"), "request 3 is voided; it cannot be voided again",
             "voided is final")
    _refused(cli("request", "disburse", "3", "--date", "2024-01-21", user="fin"), "request 3 is voided")

    # r1 disbursed then settled to the county: the money lands in its expenditure account.
    _ok(cli("request", "disburse", "1", "--date", "2024-01-15", user="fin"))
    assert special(db) == (fen("300000.00"), 0)
    assert bal(db, "RES", "1003", "230822", "special") == fen("500000.00")
    assert bal(db, "RES", "1004", "230822", "city_exp") == fen("500000.00")
    _refused(cli("request", "disburse", "1", "--date", "2024-01-15", user="fin"), "request 1 is disbursed; it cannot be disbursed again")
    _refused(cli("request", "settle", "1", "--date", "2024-01-16", user="fin"), "needs the reviewer role")
    # Separation of duties: the approver (rev) does not settle what it approved; another reviewer does.
    _refused(cli("request", "settle", "1", "--date", "2024-01-16", user="rev"), "permission_denied",
             "rev approved it and cannot also settle it")
    _ok(cli("request", "settle", "1", "--date", "2024-01-16", user="rev2"))
    _ok(cli("request", "settle", "2", "--date", "2024-01-21", user="rev2"))
    assert bal(db, "RES", "1004", "230822", "county_exp") == fen("500000.00")
    assert bal(db, "RES", "1004", "230822", "city_exp") == 0
    assert bal(db, "RES", "1004", "230881", "county_exp") == fen("400000.00")
    assert bal(db, "RES", "1004", "230881", "city_exp") == 0
    _refused(cli("request", "settle", "1", "--date", "2024-01-16", user="rev2"),
             "request 1 is settled; it cannot be settled again (settled is final")

    # r4 rejected, once.
    _ok(cli("request", "submit", "--unit", "230822", "--book", "RES", "--year", "2024", "--quarter", "2",
            "--amount", "100000.00", user="o22"))
    _ok(cli("request", "reject", "4", "--reason", "Q1 money not yet spent", user="rev"))
    _refused(cli("request", "approve", "4", user="rev2"), "request 4 is rejected; it cannot be approved (rejected is final")

    # r5: a reviewer may file for a unit; then another reviewer must approve it.
    _ok(cli("request", "submit", "--unit", "230822", "--book", "RES", "--year", "2024", "--quarter", "3",
            "--amount", "50000.00", user="rev"))
    _refused(cli("request", "approve", "5", user="rev"), "rev submitted it and cannot also approve it")
    _ok(cli("request", "approve", "5", user="rev2"))
    assert special(db) == (fen("300000.00"), fen("50000.00"))

    # What each sees: officers only their own unit.
    mine = _ok(cli("request", "list", "--json", user="o22")).json()
    assert [r["id"] for r in mine] == [1, 4, 5]
    assert list(mine[0]) == ["id", "unit", "book", "component", "year", "quarter", "amount_requested",
                             "amount_approved", "state", "submitted_by", "submitted_at", "approved_by", "note",
                             "approved_on", "reason"]
    assert [(r["state"], r["amount_approved"], r["reason"]) for r in mine] == [
        ("settled", "500000.00", None), ("rejected", None, "Q1 money not yet spent"), ("approved", "50000.00", None)]
    allq1 = _ok(cli("request", "list", "--year", "2024", "--quarter", "1", "--json", user="aud")).json()
    assert [(r["id"], r["unit"], r["state"]) for r in allq1] == [(1, "230822", "settled"), (2, "230881", "settled")]
    assert [r["id"] for r in _ok(cli("request", "list", "--state", "voided", "--json", user="rev")).json()] == [3]
    _refused(cli("request", "list", "--unit", "230881", user="o22"), "permission_denied")
    _refused(cli("request", "show", "2", user="o22"), "no fund request 2")

    shown = _ok(cli("request", "show", "1", "--json", user="o22")).json()
    assert [(e["action"], e["from_state"], e["to_state"], e["amount"], e["actor"]) for e in shown["events"]] == [
        ("submit", None, "submitted", "600000.00", "o22"), ("approve", "submitted", "approved", "500000.00", "rev"),
        ("disburse", "approved", "disbursed", "500000.00", "fin"), ("settle", "disbursed", "settled", "500000.00", "rev2")]
    assert shown["events"][2]["entry_id"] and shown["events"][3]["entry_id"]
    assert shown["justification"]["budget_for_quarter"] == "600000.00"
    text = _ok(cli("request", "show", "4", user="o22")).stdout
    assert "Q1 money not yet spent" in text and "rejected" in text

    # Every entry balances: the special account's physical total equals the unit shares.
    assert bal(db, "RES", "1003", "230822", "special") + bal(db, "RES", "1003", "230881", "special") == fen("300000.00")


def _call(c: psycopg.Connection, sql: str, *args: object) -> dict:
    r = c.execute(sql, args).fetchone()
    c.commit()
    return r


def _raw_refused(c: psycopg.Connection, constraint: str, sql: str, *args: object) -> str:
    with pytest.raises(psycopg.Error) as ei:
        c.execute(sql, args)
    c.rollback()
    assert ei.value.diag.constraint_name == constraint, ei.value
    return str(ei.value)


def test_database_refuses_every_illegal_move_through_raw_sql(ledger_db):
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-01-10", "230822", "1000000.00"))
    fin.commit()
    o22, o81 = ledger_db.connect("o22"), ledger_db.connect("o81")
    rev, rev2 = ledger_db.connect("rev"), ledger_db.connect("rev2")
    submit = "SELECT * FROM fl.request_submit(%s, 'RES', '', 2024, 1, %s, '', %s)"

    rid = _call(o22, submit, "230822", 150000000, "raw-1")["id"]
    _raw_refused(o81, "permission_denied", submit, "230822", 100, "raw-x")
    _raw_refused(fin, "permission_denied", submit, "230822", 100, "raw-y")
    _raw_refused(o22, "permission_denied", "SELECT fl.request_approve(%s, NULL)", rid)
    _raw_refused(rev, "illegal_state", "SELECT fl.request_settle(%s, '2024-02-01', NULL)", rid)
    msg = _raw_refused(rev, "illegal_state", "SELECT fl.request_void(%s, 'x')", rid)
    assert "request 1 is submitted; it cannot be voided (from submitted it can only be approved or rejected)" in msg
    _raw_refused(rev, "approval_amount", "SELECT fl.request_approve(%s, %s)", rid, 150000001)
    _raw_refused(rev, "special_account_available", "SELECT fl.request_approve(%s, NULL)", rid)  # 1.5M > 1.0M
    _raw_refused(rev, "request_reason", "SELECT fl.request_reject(%s, '  ')", rid)

    own = _call(rev, submit, "230822", 10000, "raw-2")["id"]
    msg = _raw_refused(rev, "approver_is_not_submitter", "SELECT fl.request_approve(%s, NULL)", own)
    assert "rev submitted it and cannot also approve it" in msg
    _raw_refused(rev, "approver_is_not_submitter", "SELECT fl.request_reject(%s, 'mine')", own)
    _call(rev2, "SELECT id FROM fl.request_approve(%s, NULL)", own)
    _raw_refused(rev, "permission_denied", "SELECT fl.request_disburse(%s, '2024-02-01', NULL)", own)
    _raw_refused(o22, "permission_denied", "SELECT fl.request_settle(%s, '2024-02-01', NULL)", own)
    _raw_refused(rev2, "illegal_state", "SELECT fl.request_approve(%s, NULL)", own)

    # No way round the functions: the tables are not writable by application roles…
    with pytest.raises(pgerr.InsufficientPrivilege):
        rev.execute("UPDATE fl.fund_request SET state = 'approved', approved_by = 'rev2' WHERE id = %s", (rid,))
    rev.rollback()
    with pytest.raises(pgerr.InsufficientPrivilege):
        rev.execute("UPDATE fl.bank_account SET reserved = 0")
    rev.rollback()
    # …and even the owner meets the constraints.
    admin = ledger_db.admin()
    with pytest.raises(pgerr.CheckViolation) as ei:
        admin.execute("UPDATE fl.fund_request SET approved_by = submitted_by WHERE id = %s", (own,))
    assert ei.value.diag.constraint_name == "approver_is_not_submitter"
    with pytest.raises(pgerr.CheckViolation) as ei:
        admin.execute("UPDATE fl.bank_account SET reserved = balance + 1 WHERE holder = 'special'")
    assert ei.value.diag.constraint_name == "reserved_within_balance"
    with pytest.raises(psycopg.Error) as ei:
        admin.execute("DELETE FROM fl.request_event")
    assert ei.value.diag.constraint_name == "append_only"
    assert special(admin) == (fen("1000000.00"), fen("100.00"))
