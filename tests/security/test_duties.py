"""A second attack on main (issue 14), the write side, through each role's own login
(migration 0018):

* A5: a refusal an officer can trigger named figures it may not read — the pooled special
  account's balance and reservations, another officer's batch and file;
* A6: finance's interest shares were whatever finance sent;
* A7: the person who approved a fund request could also settle it (and the submitter, where
  the role allowed, disburse or settle it)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import psycopg
import pytest

from ledger.core.money import format_yuan
from ledger.store import cycle, imports
from tests.conftest import LedgerDB
from tests.helpers import confirm, entry, leg, post
from tests.integration.test_imports import fund_expenditure_accounts

pytestmark = pytest.mark.db

DATA = Path(__file__).parent.parent / "integration" / "data"
SPECIAL = 165_000_000   # RES special account after collections.csv: 500,000 + 300,000 + 50,000 + 800,000 yuan


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    """collections.csv imported by finance: every RES unit has money in the pooled special account."""
    fin = ledger_db.connect("fin")
    assert imports.import_file(fin, "collections", DATA / "collections.csv").rows_posted == 6
    fin.commit()
    return ledger_db


def _refused(conn: psycopg.Connection, query: str, params: object = None) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e, conn.transaction():
        conn.execute(query, params)
    return e.value


def _figures(fen: int) -> set[str]:
    """Every way a message could print ``fen``."""
    return {format_yuan(fen), f"{fen // 100}.{fen % 100:02d}", str(fen), f"{fen // 100:,}"}


def _special(admin: psycopg.Connection) -> tuple[int, int]:
    r = admin.execute("SELECT balance, reserved FROM fl.bank_account WHERE book = 'RES' AND holder = 'special'"
                      ).fetchone()
    return int(r["balance"]), int(r["reserved"])


# ---- A5: refusals say nothing the caller may not read ------------------------------------

def test_an_overdraft_refusal_shows_an_officer_no_pooled_figures(funded: LedgerDB) -> None:
    admin = funded.admin()
    # A reservation on the special account: a request approved and not yet disbursed.
    o81, rev = funded.connect("o81", autocommit=True), funded.connect("rev", autocommit=True)
    rid = o81.execute("SELECT id FROM fl.request_submit('230881', 'RES', '', 2023, 1, 30000000, 'q1', 'k-a5')"
                      ).fetchone()["id"]
    rev.execute("SELECT fl.request_approve(%s, NULL)", (rid,))
    balance, reserved = _special(admin)
    assert (balance, reserved) == (SPECIAL, 30_000_000)
    entries = admin.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]
    o22 = funded.connect("o22", autocommit=True)
    # More than the pool holds (no_overdraft), and more than it holds beyond the reservation.
    for fen in (SPECIAL + 100, SPECIAL - 100):
        yuan = f"{fen // 100}.{fen % 100:02d}"
        doc = entry(f"a5-{fen}", "2023-02-01", "RES", leg("5401", "230822", "D", yuan),
                    leg("1003", "230822", "C", yuan, "special"))
        e = _refused(o22, "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),))
        text = " ".join(filter(None, (e.diag.message_primary, e.diag.message_detail, e.diag.message_hint)))
        # (0017: an officer never moves money out of the special account by hand: manual_policy first)
        assert e.diag.constraint_name in ("no_overdraft", "reserved_within_balance", "permission_denied",
                                          "manual_policy"), e
        for secret in (balance, reserved, balance - reserved):
            assert not {f for f in _figures(secret) if f in text}, (secret, text)
        r = funded.cli("entry", "post", "-", user="o22", input=json.dumps(
            {**doc, "idempotency_key": f"a5-cli-{fen}", "postings": [
                dict(p, side={"D": "debit", "C": "credit"}[p["side"]], amount=yuan) for p in doc["postings"]]}))
        assert r.exit_code == 1 and "Traceback" not in r.stderr, r
        assert not {f for s in (balance, reserved) for f in _figures(s) if f in r.stderr}, r.stderr
    assert admin.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == entries
    # A city role reads the pool, and its refusal says what the pool holds.
    fin = funded.connect("fin", autocommit=True)
    yuan = f"{(SPECIAL + 100) // 100}.{(SPECIAL + 100) % 100:02d}"
    doc = entry("a5-fin", "2023-02-01", "RES", leg("5401", "230800", "D", yuan), leg("1003", "230800", "C", yuan, "special"))
    # (0017: it is held; the overdraft refusal comes when the second person confirms it)
    held = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),)).fetchone()
    assert held["status"] == "held"
    e = _refused(rev, "SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))
    assert e.diag.constraint_name == "no_overdraft" and format_yuan(balance) in e.diag.message_primary, e


def test_an_import_conflict_names_no_other_officers_batch(funded: LedgerDB, tmp_path: Path) -> None:
    # (Payments: since 0039 an officer imports no collections, ATTACK5 S1.)
    fund_expenditure_accounts(funded)
    post(funded.connect("fin"), entry("fund-tj-res", "2023-02-01", "RES",
                                      leg("1004", "230881", "D", "100.00", "county_exp"),
                                      leg("1003", "230881", "C", "100.00", "special")))
    o22 = funded.connect("o22")
    mine = tmp_path / "huanan-secret-plan.csv"
    mine.write_text("date,unit,book,provider,category,amount,reference,component,paid_from\n"
                    "2023-02-01,230822,RES,x,inpatient,10.00,REF-A5,,county\n", "utf-8")
    batch = imports.import_file(o22, "payments", mine)
    o22.commit()

    def stage_and_import(conn: psycopg.Connection, row: str) -> str:
        conn.execute("SELECT fl.import_stage('payments')")
        with conn.cursor().copy("COPY pg_temp.fl_stage_payments (date, unit, book, provider, category, amount, "
                                "reference, component, paid_from) FROM STDIN (FORMAT csv)") as cp:
            cp.write(row + "\n")
        out = conn.execute("SELECT fl.import_payments('other.csv', '') AS r").fetchone()["r"]
        conn.rollback()
        return json.dumps(out, ensure_ascii=False)

    # Another county's officer: its own unit's reference, never a conflict (0035, ATTACK3 R6).
    text = stage_and_import(funded.connect("o81"), '2023-02-02,230881,RES,x,inpatient,20.00,REF-A5,"",county')
    assert '"rows_posted": 1' in text and "conflict" not in text, text
    # A second officer of the same unit: a conflict that names no other officer's batch or file.
    admin = funded.admin()
    if admin.execute("SELECT current_setting('server_version_num')::int AS v").fetchone()["v"] < 160000:
        admin.execute("DO $$ BEGIN CREATE ROLE o22b LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    admin.execute("SELECT fl.add_user('o22b', 'officer', '230822')")
    text = stage_and_import(funded.connect("o22b"), '2023-02-02,230822,RES,x,inpatient,20.00,REF-A5,"",county')
    assert "REF-A5" in text and "conflict" in text, text
    assert "huanan-secret-plan" not in text and f"batch {batch.batch_id}" not in text, text
    # The officer who imported it reads its own batch named.
    again = stage_and_import(o22, '2023-02-03,230822,RES,x,inpatient,30.00,REF-A5,"",county')
    assert "huanan-secret-plan" in again, again


# ---- A6: interest shares are the rule's --------------------------------------------------

def _shares(table: list[cycle.InterestShare]) -> list[dict]:
    return [{"unit": r.unit, "component": r.component, "amount": r.share} for r in table if r.share > 0]


def test_interest_shares_are_recomputed_by_the_database(funded: LedgerDB) -> None:
    fin = funded.connect("fin", autocommit=True)
    start, end, on = dt.date(2023, 1, 1), dt.date(2023, 3, 20), dt.date(2023, 3, 21)
    total = 123_457
    table = cycle.interest_table(fin, "RES", total, start, end)
    good = _shares(table)
    assert len(good) == 3 and sum(s["amount"] for s in good) == total
    # The database's own computation is the library's (ledger/core/interest.py), share for share.
    rows = fin.execute("SELECT unit, component, weight, share FROM fl.interest_shares('RES', %s, %s, %s)",
                       (total, start, end)).fetchall()
    assert {(r["unit"], r["component"]): (int(r["weight"]), r["share"]) for r in rows} == {
        (t.unit, t.component): (t.balance_days, t.share) for t in table}

    admin = funded.admin()
    entries = admin.execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'interest'").fetchone()["n"]
    first, second, third = good
    forged = {
        "one county takes it all": [{**first, "amount": total}],
        "shares moved between units": [{**first, "amount": first["amount"] + 1},
                                       {**second, "amount": second["amount"] - 1}, third],
        "a unit left out, its share given to another": [{**first, "amount": first["amount"] + third["amount"]}, second],
        "a unit listed twice": [first, second, {**third, "amount": third["amount"] - 1},
                                {**third, "amount": 1}],
        "a unit with no money in the pool": [*good[:2], {**third, "amount": third["amount"] - 1},
                                             {"unit": "230882", "component": "", "amount": 1}],
        "shares that do not add up": [first, second],
    }
    for why, shares in forged.items():
        e = _refused(fin, "SELECT * FROM fl.allocate_interest('RES', %s, %s, %s, %s, %s, %s::jsonb)",
                     (on, f"int-{why}", total, start, end, json.dumps(shares)))
        assert e.diag.constraint_name == "interest_shares", (why, e)
    for start_, end_ in ((end, start), (start, on + dt.timedelta(days=1))):
        e = _refused(fin, "SELECT * FROM fl.allocate_interest('RES', %s, 'int-period', %s, %s, %s, %s::jsonb)",
                     (on, total, start_, end_, json.dumps(good)))
        assert e.diag.constraint_name == "interest_period", e
    assert admin.execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'interest'").fetchone()["n"] == entries
    # The rule's table posts, through the library and through the CLI.
    held = cycle.post_interest(fin, "RES", on, "int-ok", table, total, start, end)
    assert held.status == "held"                                      # a second person confirms (0017)
    assert confirm(fin, [held.held_id])[0]["status"] == "posted"
    r = funded.cli("interest", "allocate", "--amount", "99.99", "--date", "2023-03-22", "--book", "RES",
                   "--json", user="fin")
    assert r.exit_code == 0 and sum(int(s["share"].replace(".", "")) for s in r.json()["shares"]) == 9999, r


# ---- A7: separation of duties across a request's steps --------------------------------------

def test_who_took_one_step_of_a_request_takes_no_later_one(funded: LedgerDB) -> None:
    admin = funded.admin()
    rev, rev2, fin = (funded.connect(u, autocommit=True) for u in ("rev", "rev2", "fin"))
    o22 = funded.connect("o22", autocommit=True)

    def submit(conn: psycopg.Connection, key: str) -> int:
        return int(conn.execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, 1, 1000000, 'x', %s)",
                                (key,)).fetchone()["id"])

    # The approver may not settle what it approved (nor could it disburse: finance only).
    r1 = submit(o22, "a7-1")
    rev.execute("SELECT fl.request_approve(%s, NULL, '2023-01-20')", (r1,))
    fin.execute("SELECT fl.request_disburse(%s, '2023-02-01', NULL)", (r1,))
    e = _refused(rev, "SELECT fl.request_settle(%s, '2023-02-02', NULL)", (r1,))
    assert e.diag.constraint_name == "request_duties" and "approved it" in e.diag.message_primary, e
    r = funded.cli("request", "settle", str(r1), "--date", "2023-02-02", user="rev")
    assert r.exit_code == 1 and "separation of duties" in r.stderr, r
    assert admin.execute("SELECT state FROM fl.fund_request WHERE id = %s", (r1,)).fetchone()["state"] == "disbursed"
    rev2.execute("SELECT fl.request_settle(%s, '2023-02-02', NULL)", (r1,))

    # A reviewer who submitted (for a unit) neither approves nor settles it.
    r2 = submit(rev, "a7-2")
    e = _refused(rev, "SELECT fl.request_approve(%s, NULL)", (r2,))
    assert e.diag.constraint_name in ("approver_is_not_submitter", "request_duties"), e
    rev2.execute("SELECT fl.request_approve(%s, NULL, '2023-01-20')", (r2,))
    fin.execute("SELECT fl.request_disburse(%s, '2023-02-01', NULL)", (r2,))
    for who in (rev, rev2):     # the submitter, then the approver
        e = _refused(who, "SELECT fl.request_settle(%s, '2023-02-02', NULL)", (r2,))
        assert e.diag.constraint_name == "request_duties", e
    assert admin.execute("SELECT count(*) AS n FROM fl.request_event WHERE request_id = %s AND action = 'settle'",
                         (r2,)).fetchone()["n"] == 0

    # Whatever function writes the step: the rule is the event table's, so a step written by the
    # owner on someone's behalf (the replication role off) is held to it too.
    r3 = submit(o22, "a7-3")
    rev.execute("SELECT fl.request_approve(%s, NULL)", (r3,))
    with pytest.raises(psycopg.Error) as ex:
        admin.execute("INSERT INTO fl.request_event (request_id, action, from_state, to_state, actor) "
                      "VALUES (%s, 'disburse', 'approved', 'disbursed', 'rev')", (r3,))
    assert ex.value.diag.constraint_name == "request_duties"
