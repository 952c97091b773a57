"""Issue 14, items 3 and 4, as the attacker would try them through their own login:
workflow kinds typed by hand, other operations' idempotency keys squatted, officers
moving money out of the pooled accounts, and every way around the second person of
maker-checker (self-confirm, across units, after a rejection, twice, a reversal or an
interest allocation alone, the city's opening balance alone). Each forbidden action is
tried over a real connection and must fail; the matrix asserts that none succeeded and
that the journal holds nothing they would have written (sql/0017_maker_checker.sql)."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

WORKFLOW_KINDS = ["reversal", "opening", "collections", "payments", "handover_transfer", "preallocation",
                  "request_disburse", "request_settle", "interest", "register_clear", "year_close"]

# A key of each system operation, as the operation itself would file it.
SYSTEM_KEYS = ["prealloc:2023:230822:RES", "collections:REF-1", "payments:2023-03-01:230822:RES:-:county:x",
               "request:1:disburse", "request:1:settle", "interest:RES:2023-03-31", "yearclose:2023:RES:230822:revenue",
               "register-clear:1:1", "govpay:230822:RES:2024-01-20:100", "opening:REF-1", "opening-city:RES:audited",
               "handover-transfer:230822:RES:-", "reversal:rev:reverse-1", "manual:o81:mine"]


class Matrix:
    """Forbidden actions tried; ``succeeded`` lists those that were not refused."""

    def __init__(self) -> None:
        self.tried: list[str] = []
        self.succeeded: list[str] = []
        self.errors: dict[str, psycopg.Error] = {}

    def attempt(self, conn: psycopg.Connection, what: str, query: str, params: object = None) -> psycopg.Error | None:
        self.tried.append(what)
        try:
            with conn.transaction():
                conn.execute(query, params).fetchall()
        except psycopg.Error as e:
            self.errors[what] = e
            return e
        self.succeeded.append(what)
        return None


def _doc(key: str, *legs: dict[str, Any], date: str = "2023-03-10", kind: str | None = None) -> str:
    d = entry(key, date, "RES", *legs)
    if kind is not None:
        d["kind"] = kind
    return json.dumps(d)


def _money_in(unit: str, yuan: str = "100.00") -> tuple[dict[str, Any], ...]:
    """Dr 1003 special / Cr 4001 of ``unit``: contributions arriving (real money, held)."""
    return leg("1003", unit, "D", yuan, "special"), leg("4001", unit, "C", yuan)


def _rule_shares(conn: psycopg.Connection, total: int) -> str:
    """The shares the interest rule gives for Q1 2023 (0018 refuses any other table)."""
    return json.dumps([{"unit": r["unit"], "component": r["component"], "amount": int(r["share"])}
                       for r in conn.execute("SELECT * FROM fl.interest_shares('RES', %s, '2023-01-01', '2023-03-31')",
                                             (total,)).fetchall() if r["share"] > 0])


def _count(db: LedgerDB, sql: str, params: object = None) -> int:
    return int(db.admin().execute(sql, params).fetchone()["n"])


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("seed-22", "2023-01-05", "230822", "1000000.00"),
         collect("seed-81", "2023-01-05", "230881", "1000000.00"),
         collect("seed-00", "2023-01-05", "230800", "1000000.00"))
    return ledger_db


def test_workflow_kinds_cannot_be_typed_by_hand(funded: LedgerDB) -> None:
    m = Matrix()
    for who in ("o22", "rev", "fin"):
        conn = funded.connect(who, autocommit=True)
        unit = "230822"
        for kind in WORKFLOW_KINDS:
            e = m.attempt(conn, f"{who} posts kind {kind}", "SELECT * FROM fl.post_entries(%s::jsonb)",
                          (_doc(f"k-{who}-{kind}", leg("5001.inpatient", unit, "D", "500000000.00"),
                                leg("2001", unit, "C", "500000000.00"), kind=kind),))
            assert e is not None and e.diag.constraint_name == "workflow_kind"
        # The attack of the issue: Dr 1004 county-exp / Cr 1003 special labelled a disbursement.
        m.attempt(conn, f"{who} posts a 'request_disburse' out of the special account",
                  "SELECT * FROM fl.post_entries(%s::jsonb)",
                  (_doc(f"pay-{who}", leg("1004", unit, "D", "1.00", "county_exp"),
                        leg("1003", unit, "C", "1.00", "special"), kind="request_disburse"),))
    err = m.errors["o22 posts kind request_disburse"]
    assert "fundledger request disburse" in str(err)
    assert "fundledger opening post" in str(m.errors["fin posts kind opening"])
    assert m.succeeded == []
    assert _count(funded, "SELECT count(*) AS n FROM fl.entry WHERE kind <> 'manual'") == 0
    assert _count(funded, "SELECT count(*) AS n FROM fl.pending_entry WHERE kind <> 'manual'") == 0


def test_no_manual_entry_takes_a_system_key(funded: LedgerDB) -> None:
    o22 = funded.connect("o22", autocommit=True)
    fin = funded.connect("fin", autocommit=True)
    m = Matrix()
    for k in SYSTEM_KEYS:
        # The ¥0.01 squat of the issue, in each system namespace: it is filed under the
        # squatter's own name and leaves the system key free.
        rows = post(o22, json.loads(_doc(k, leg("5001.inpatient", "230822", "D", "0.01"),
                                         leg("2001", "230822", "C", "0.01"))))
        assert rows[0]["status"] == "posted"
        stored = funded.admin().execute("SELECT idempotency_key FROM fl.entry WHERE id = %s",
                                        (rows[0]["entry_id"],)).fetchone()["idempotency_key"]
        assert stored == f"manual:o22:{k}"
    # A system function given another operation's key files it in its own namespace.
    fin.execute("SELECT * FROM fl.allocate_interest('RES', '2023-03-31', 'prealloc:2023:230822:RES', 800, "
                "'2023-01-01', '2023-03-31', %s::jsonb)", (_rule_shares(fin, 800),))
    assert funded.admin().execute("SELECT idempotency_key FROM fl.pending_entry WHERE kind = 'interest'").fetchone()[
        "idempotency_key"] == "interest:prealloc:2023:230822:RES"
    # Every system key is still free.
    assert _count(funded, "SELECT count(*) AS n FROM fl.entry WHERE idempotency_key = ANY (%s)", (SYSTEM_KEYS,)) == 0
    # And the pre-allocation posts rather than reporting "already posted".
    rev = funded.connect("rev", autocommit=True)
    from pathlib import Path

    from ledger.store import imports

    rev_tx = funded.connect("rev")
    imports.import_file(rev_tx, "budget", Path(__file__).parent.parent / "integration" / "data" / "budget.csv")
    rev_tx.commit()
    out = rev.execute("SELECT * FROM fl.preallocate(2023, '2023-01-05', %s::jsonb)",
                      (json.dumps([{"unit": "230822", "book": "RES", "amount": 100}]),)).fetchall()
    assert [r["status"] for r in out] == ["held"]     # for city finance's confirmation (0046)
    assert m.succeeded == []


def test_squatted_keys_through_system_functions_are_refused(funded: LedgerDB) -> None:
    """Finance's and the bureau's own commands take a caller's key: never one of another operation."""
    rev = funded.connect("rev", autocommit=True)
    fin = funded.connect("fin", autocommit=True)
    o22 = funded.connect("o22", autocommit=True)
    req = o22.execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, 1, 1000, 'q1', 'rq-1')").fetchone()
    rev.execute("SELECT id FROM fl.request_approve(%s, NULL, '2023-01-20')", (req["id"],))
    m = Matrix()
    e = m.attempt(fin, "disburse under the pre-allocation key", "SELECT id FROM fl.request_disburse(%s, '2023-02-01', %s)",
                  (req["id"], "prealloc:2023:230822:RES"))
    assert e is not None and e.diag.constraint_name == "key_namespace"
    m.attempt(fin, "disburse under another request's key", "SELECT id FROM fl.request_disburse(%s, '2023-02-01', %s)",
              (req["id"], f"request:{req['id'] + 1}:disburse"))
    item = funded.admin().execute(
        "INSERT INTO fl.register_item (kind, unit, book, amount, opened_on, reference) "
        "VALUES ('fiscal_arrears', '230822', 'RES', 500, '2023-01-01', 'fa-1') RETURNING id").fetchone()["id"]
    m.attempt(fin, "clear a register item under a collections key",
              "SELECT * FROM fl.clear_register(%s, 100, '2023-02-01', 'collections:REF-9')", (item,))
    assert m.succeeded == []
    # The request's own key still works.
    fin.execute("SELECT id FROM fl.request_disburse(%s, '2023-02-01', NULL)", (req["id"],))
    assert _count(funded, "SELECT count(*) AS n FROM fl.entry WHERE kind = 'request_disburse'") == 1


def test_a_key_with_other_content_or_owner_is_a_named_conflict(funded: LedgerDB) -> None:
    fin = funded.connect("fin", autocommit=True)
    rows = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc("same", *_money_in("230822")),)).fetchall()
    assert rows[0]["status"] == "held"
    again = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc("same", *_money_in("230822")),)).fetchall()
    assert (again[0]["status"], again[0]["held_id"]) == ("held", rows[0]["held_id"])
    m = Matrix()
    e = m.attempt(fin, "same key, other content", "SELECT * FROM fl.post_entries(%s::jsonb)",
                  (_doc("same", *_money_in("230822", "200.00")),))
    assert e is not None and e.diag.constraint_name == "idempotency_conflict" and "held entry" in str(e)
    assert m.succeeded == []


def test_officers_never_move_money_out_of_the_pool(funded: LedgerDB) -> None:
    o22 = funded.connect("o22", autocommit=True)
    ocity = funded.connect("ocity", autocommit=True)
    m = Matrix()
    cases = [
        (o22, "o22 credits the special account", leg("1004", "230822", "D", "1.00", "county_exp"),
         leg("1003", "230822", "C", "1.00", "special")),
        (o22, "o22 credits the special account (holder left out)", leg("5001.inpatient", "230822", "D", "1.00"),
         leg("1003", "230822", "C", "1.00")),
        (o22, "o22 credits the city expenditure account", leg("1004", "230822", "D", "1.00", "county_exp"),
         leg("1004", "230822", "C", "1.00", "city_exp")),
        (o22, "o22 credits the treasury", leg("1003", "230822", "D", "1.00", "special"),
         leg("1005", "230822", "C", "1.00", "treasury")),
        (ocity, "ocity pays out of the city expenditure account (holder left out)",
         leg("5001.inpatient", "230800", "D", "1.00"), leg("1004", "230800", "C", "1.00")),
        (ocity, "ocity credits the special account", leg("1004", "230800", "D", "1.00", "city_exp"),
         leg("1003", "230800", "C", "1.00", "special")),
        (o22, "o22 posts for another unit", *_money_in("230881")),
    ]
    for conn, what, *legs in cases:
        e = m.attempt(conn, what, "SELECT * FROM fl.post_entries(%s::jsonb)", (_doc(what, *legs),))
        assert e is not None and e.diag.constraint_name in ("manual_policy", "permission_denied"), what
    assert m.succeeded == []
    assert _count(funded, "SELECT count(*) AS n FROM fl.pending_entry WHERE made_by IN ('o22', 'ocity')") == 0
    # What an officer may do by hand: record money arriving in its own unit, held for a second person.
    rows = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc("arrived", *_money_in("230822")),)).fetchall()
    assert rows[0]["status"] == "held"


def test_maker_checker_cannot_be_walked_around(funded: LedgerDB) -> None:
    conns = {u: funded.connect(u, autocommit=True) for u in ("o22", "o81", "ocity", "rev", "rev2", "fin", "aud",
                                                             "admin")}
    before = _count(funded, "SELECT count(*) AS n FROM fl.entry")

    def hold(who: str, key: str, *legs: dict[str, Any]) -> int:
        r = conns[who].execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc(key, *legs),)).fetchone()
        assert r["status"] == "held" and r["entry_id"] is None
        return int(r["held_id"])

    by_fin = hold("fin", "f1", *_money_in("230822"))
    by_o22 = hold("o22", "o1", *_money_in("230822"))
    by_rev = hold("rev", "r1", *_money_in("230822"))
    m = Matrix()
    confirm = "SELECT * FROM fl.confirm_entry(%s)"
    m.attempt(conns["fin"], "the maker confirms its own", confirm, (by_fin,))
    m.attempt(conns["o22"], "an officer confirms its own", confirm, (by_o22,))
    m.attempt(conns["o81"], "an officer confirms another unit's", confirm, (by_o22,))
    m.attempt(conns["ocity"], "the city's officer confirms a county's", confirm, (by_o22,))
    m.attempt(conns["o22"], "an officer confirms the bureau's entry of its unit", confirm, (by_rev,))
    m.attempt(conns["aud"], "the auditor confirms", confirm, (by_fin,))
    m.attempt(conns["admin"], "the admin confirms", confirm, (by_fin,))
    m.attempt(conns["o81"], "an officer rejects another unit's", "SELECT * FROM fl.reject_entry(%s, 'no')", (by_o22,))
    m.attempt(conns["rev"], "a rejection without a reason", "SELECT * FROM fl.reject_entry(%s, '  ')", (by_fin,))
    for who in ("o22", "rev", "fin", "aud"):
        m.attempt(conns[who], f"{who} writes fl.pending_entry directly",
                  "UPDATE fl.pending_entry SET made_by = 'x' WHERE id = %s", (by_fin,))
        m.attempt(conns[who], f"{who} inserts a pending posting",
                  "INSERT INTO fl.pending_posting (pending_id, pos, account_id, unit, side, amount) "
                  "VALUES (%s, 9, 1, '230822', 'D', 1)", (by_fin,))
    m.attempt(conns["o81"], "an officer reads another unit's held entry",
              "SELECT 1 / count(*) FROM fl.pending_entry WHERE id = %s", (by_o22,))

    # A rejected entry stays rejected.
    conns["rev2"].execute("SELECT * FROM fl.reject_entry(%s, 'not on the bank statement')", (by_rev,))
    m.attempt(conns["fin"], "confirm a rejected entry", confirm, (by_rev,))
    m.attempt(conns["rev"], "re-post a rejected entry under its key", "SELECT * FROM fl.post_entries(%s::jsonb)",
              (_doc("r1", *_money_in("230822")),))
    # Confirmed once: a replay by another writes nothing, by the same checker returns the entry.
    first = conns["rev"].execute(confirm, (by_fin,)).fetchone()
    assert first["status"] == "posted"
    m.attempt(conns["rev2"], "confirm an entry a second time", confirm, (by_fin,))
    replay = conns["rev"].execute(confirm, (by_fin,)).fetchone()
    assert (replay["entry_id"], replay["status"]) == (first["entry_id"], "duplicate")
    m.attempt(conns["rev2"], "reject a confirmed entry", "SELECT * FROM fl.reject_entry(%s, 'late')", (by_fin,))

    # Another officer of the same unit may not confirm it either: money into the city's special
    # account and revenue are the city's figures (0058, ATTACK7 U5); city finance does.
    admin = funded.admin()
    if admin.execute("SELECT current_setting('server_version_num')::int AS v").fetchone()["v"] < 160000:
        # PostgreSQL 15: the ledger's owner cannot create roles; the DBA makes the login first (0009).
        admin.execute("DO $$ BEGIN CREATE ROLE o22b LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    admin.execute("SELECT fl.add_user('o22b', 'officer', '230822')")
    o22b = funded.connect("o22b", autocommit=True)
    e = m.attempt(o22b, "another officer of the unit confirms its entry on the special account", confirm, (by_o22,))
    assert e is not None and e.diag.constraint_name == "city_confirms", e
    assert conns["fin"].execute(confirm, (by_o22,)).fetchone()["status"] == "posted"

    assert m.succeeded == []
    assert len(m.tried) >= 20
    assert _count(funded, "SELECT count(*) AS n FROM fl.entry") == before + 2
    held = funded.admin().execute("SELECT id, state, made_by, decided_by, decision_reason FROM fl.pending_entry "
                                  "WHERE id = ANY (%s) ORDER BY id", ([by_fin, by_o22, by_rev],)).fetchall()
    assert [(h["state"], h["made_by"], h["decided_by"]) for h in held] == [
        ("confirmed", "fin", "rev"), ("confirmed", "o22", "fin"), ("rejected", "rev", "rev2")]
    # The posted entry names its maker (制单) and its checker (复核); the held records are in
    # the chained history.
    e = funded.admin().execute("SELECT created_by, source FROM fl.entry WHERE id = %s", (first["entry_id"],)).fetchone()
    assert (e["created_by"], e["source"]["confirmed_by"], e["source"]["held"]) == ("fin", "rev", by_fin)
    assert _count(funded, "SELECT count(*) AS n FROM fl.record_log WHERE tbl = 'fl.pending_entry' "
                          "AND row_key = jsonb_build_object('id', %s::bigint)", (by_rev,)) == 2


def test_reversal_and_interest_need_a_second_person(funded: LedgerDB) -> None:
    rev = funded.connect("rev", autocommit=True)
    rev2 = funded.connect("rev2", autocommit=True)
    fin = funded.connect("fin", autocommit=True)
    target = funded.admin().execute("SELECT id FROM fl.entry WHERE idempotency_key = 'manual:fin:seed-22'").fetchone()["id"]
    m = Matrix()
    r = rev.execute("SELECT * FROM fl.reverse_entry(%s, 'duplicate receipt', '2023-03-01', 'undo')", (target,)).fetchone()
    assert r["status"] == "held" and r["entry_id"] is None
    m.attempt(rev, "the reviewer confirms its own reversal", "SELECT * FROM fl.confirm_entry(%s)", (r["held_id"],))
    m.attempt(rev2, "a second reversal while one is held",
              "SELECT * FROM fl.reverse_entry(%s, 'again', '2023-03-01', 'undo2')", (target,))
    assert funded.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE reverses = %s", (target,)).fetchone()["n"] == 0
    assert fin.execute("SELECT * FROM fl.confirm_entry(%s)", (r["held_id"],)).fetchone()["status"] == "posted"
    assert funded.admin().execute("SELECT kind FROM fl.entry WHERE reverses = %s", (target,)).fetchone()["kind"] == "reversal"

    i = fin.execute("SELECT * FROM fl.allocate_interest('RES', '2023-03-31', 'interest:RES:2023-03-31', 800, "
                    "'2023-01-01', '2023-03-31', %s::jsonb)", (_rule_shares(fin, 800),)).fetchone()
    assert i["status"] == "held"
    m.attempt(fin, "finance confirms its own interest allocation", "SELECT * FROM fl.confirm_entry(%s)", (i["held_id"],))
    o81 = funded.connect("o81", autocommit=True)
    m.attempt(o81, "an officer confirms an interest allocation", "SELECT * FROM fl.confirm_entry(%s)", (i["held_id"],))
    assert m.succeeded == []
    assert rev.execute("SELECT * FROM fl.confirm_entry(%s)", (i["held_id"],)).fetchone()["status"] == "posted"


def test_opening_post_is_the_bureau_s_and_a_second_person_s(funded: LedgerDB) -> None:
    rev = funded.connect("rev", autocommit=True)
    rev2 = funded.connect("rev2", autocommit=True)
    fin = funded.connect("fin", autocommit=True)
    o = funded.connect("ocity", autocommit=True)
    opening = json.dumps({"date": "2023-01-02", "book": "RES", "postings": [
        leg("1003", "230800", "D", "5000.00", "special"), leg("3001", "230800", "C", "5000.00")]})
    m = Matrix()
    for who, conn in (("fin", fin), ("ocity", o)):
        m.attempt(conn, f"{who} posts the opening balance", "SELECT * FROM fl.post_opening(%s::jsonb)", (opening,))
    m.attempt(rev, "an opening balance for a county", "SELECT * FROM fl.post_opening(%s::jsonb)",
              (json.dumps({"date": "2023-01-02", "book": "RES", "postings": [
                  leg("1003", "230822", "D", "1.00", "special"), leg("3001", "230822", "C", "1.00")]}),))
    h = rev.execute("SELECT * FROM fl.post_opening(%s::jsonb)", (opening,)).fetchone()
    assert h["status"] == "held"
    m.attempt(rev, "the reviewer confirms its own opening", "SELECT * FROM fl.confirm_entry(%s)", (h["held_id"],))
    m.attempt(rev2, "a second opening of the same book", "SELECT * FROM fl.post_opening(%s::jsonb)",
              (json.dumps({"date": "2023-01-02", "book": "RES", "idempotency_key": "other", "postings": [
                  leg("1003", "230800", "D", "1.00", "special"), leg("3001", "230800", "C", "1.00")]}),))
    assert m.succeeded == []
    done = rev2.execute("SELECT * FROM fl.confirm_entry(%s)", (h["held_id"],)).fetchone()
    assert done["status"] == "posted"
    e = funded.admin().execute("SELECT kind, idempotency_key FROM fl.entry WHERE id = %s", (done["entry_id"],)).fetchone()
    assert (e["kind"], e["idempotency_key"]) == ("opening", "opening-city:RES:audited")


def test_cli_says_what_happens_next(funded: LedgerDB, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "e.json"
    f.write_text(_doc("cli-1", *_money_in("230822")), "utf-8")
    out = funded.cli("--lang", "en", "entry", "post", str(f), user="o22")
    assert out.exit_code == 0 and "entry confirm" in out.stdout, out.stdout + out.stderr
    held = funded.cli("entry", "held", "--json", user="rev").json()
    assert [h["made_by"] for h in held] == ["o22"] and held[0]["state"] == "held"
    mine = funded.cli("--lang", "en", "entry", "confirm", str(held[0]["id"]), user="o22")
    assert mine.exit_code != 0 and "second person" in mine.stderr
    ok = funded.cli("entry", "confirm", str(held[0]["id"]), "--json", user="rev").json()
    assert ok[0]["status"] == "posted" and ok[0]["voucher"]
    f.write_text(_doc("cli-2", *_money_in("230822"), kind="preallocation"), "utf-8")
    bad = funded.cli("--lang", "en", "entry", "post", str(f), user="rev")
    assert bad.exit_code != 0 and "fundledger preallocate" in bad.stderr



def test_verify_checks_the_second_person(funded: LedgerDB) -> None:
    """`verify` accepts held entries confirmed by another person and names an entry that
    moved real money under a manual key without one (written around the API by the owner)."""
    ok = funded.cli("verify", "--check", "held_entries", "--json", user="aud")
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    owner = funded.connect()
    eid = owner.execute("""INSERT INTO fl.entry (book, entry_date, idempotency_key, content_hash, created_by, created_at,
                                                 created_xid)
                           VALUES ('RES', '2023-03-01', 'manual:o22:alone', '\\x00', 'o22', now(), '1')
                           RETURNING id""").fetchone()["id"]
    for code, holder, side in (("1003", "special", "D"), ("4001", "", "C")):
        acc = owner.execute("SELECT fl.account_for('RES', %s, '230822', %s, '') AS id", (code, holder)).fetchone()["id"]
        owner.execute("INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit) "
                      "VALUES (%s, %s, %s, 100, '2023-03-01', '230822')", (eid, acc, side))
    owner.commit()
    bad = funded.cli("verify", "--check", "held_entries", "--json", user="aud")
    assert bad.exit_code != 0
    assert "without a second person" in bad.stdout, bad.stdout
