"""Issue 15: the auditor's verdict does not depend on the audited database's own rules.

Each test switches one SQL rule off for one call as a superuser (``CREATE OR REPLACE``, the
call, the exact definition again: the catalogue sees nothing afterwards), writes the row the
rule forbids through an ordinary user's call, and asserts that the independent verdict
(ledger.core.rules over raw rows) names it — online (``verify_independent``) and from an
export with no database (``verify --offline``), the same finding word for word.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ledger.core import api_rules
from tests.conftest import LedgerDB
from tests.helpers import collect, confirm, entry, leg, post
from tests.security.test_attack7_rules import body_off, funded, named, suspended, verdict

__all__ = ["funded"]        # the fixture, imported for the tests below

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _claims(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([PAY, *rows]) + "\n", encoding="utf-8")
    return path


def _fund(db: LedgerDB, unit: str = "230881", yuan: str = "1000000.00") -> None:
    """Money in county ``unit``'s own expenditure account (collected, then moved down by finance)."""
    fin = db.connect("fin", autocommit=True)
    post(fin, collect(f"col-{unit}", "2024-03-01", unit, yuan),
         entry(f"top-up-{unit}", "2024-03-02", "RES", leg("1004", unit, "D", yuan, "county_exp"),
               leg("1003", unit, "C", yuan, "special")))


def offline(db: LedgerDB, tmp_path: Path, check: str) -> list[dict[str, object]]:
    """``check``'s findings from an export verified with no database."""
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    r = db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
    assert r.exit_code == 1, r
    return list(next(c for c in r.json()["checks"] if c["name"] == check)["findings"])


def test_the_rules_hold_twins_for_what_these_tests_attack() -> None:
    table = api_rules.by_code()
    assert table["own_bank_credit"].how == "rederived" and "maker_checker" in table["own_bank_credit"].twins
    assert "claims_once" in api_rules.INDEPENDENT


# ---- claims paid once (0043, 0063) --------------------------------------------------------------

def test_the_county_pays_a_claim_the_bureau_paid(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The bureau imports a claim paid from 230881's account (held), city finance confirms it:
    paid. With the cross-side lookup of fl.import_payments off for one call, the county's
    officer imports the same claim and it posts: paid twice. Both verdicts name the claim."""
    admin = ledger_db.admin()
    _fund(ledger_db)
    f = _claims(tmp_path / "claims.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,R15-A,,county")
    held = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert held.exit_code == 0 and len(held.json()["held"]) == 1, held
    ok = ledger_db.cli("entry", "confirm", str(held.json()["held"][0]), "--json", user="fin")
    assert ok.exit_code == 0, ok
    assert verdict(ledger_db) == {}
    with suspended(admin, "fl.import_payments(text,text)", "AND (u.role = 'officer' OR l.content_hash = w.h)",
                   "AND false AND (u.role = 'officer' OR l.content_hash = w.h)"):
        mine = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert mine.exit_code == 0 and mine.json()["entries"] == 1, mine
    paid = admin.execute("SELECT e.id, e.created_by FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
                         "WHERE p.line_ref = 'R15-A' ORDER BY e.id").fetchall()
    assert [r["created_by"] for r in paid] == ["rev", "o81"]
    f_on = named(verdict(ledger_db), "claims_once", entry_id=int(paid[1]["id"]), words="claim R15-A of unit 230881")
    assert "after the city bureau's import had taken it" in str(f_on["message"])
    assert [x["message"] for x in offline(ledger_db, tmp_path, "claims_once")] == [f_on["message"]]


def test_a_rejected_bureau_claim_paid_by_the_county_is_paid_once(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """0063's honest path: the bureau's held claim is rejected, the county's own import pays it —
    no finding (the rejected held payment released the claim)."""
    _fund(ledger_db)
    f = _claims(tmp_path / "claims.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,R15-B,,county")
    held = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert held.exit_code == 0, held
    ledger_db.connect("fin", autocommit=True).execute("SELECT * FROM fl.reject_entry(%s, 'not ours')",
                                                      (held.json()["held"][0],))
    mine = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert mine.exit_code == 0 and mine.json()["entries"] == 1, mine
    assert verdict(ledger_db) == {}


# ---- own_bank_credit (0060) ----------------------------------------------------------------------

def test_the_bureau_pays_from_a_countys_account_at_once(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """With the hold of fl.import_payments and the posting trigger off for one call, one
    reviewer pays ¥800 of county 230881's expenditure account to a provider it typed, nobody
    else involved. Both verdicts name the entry and the rule."""
    admin = ledger_db.admin()
    _fund(ledger_db)
    f = _claims(tmp_path / "claims.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,R15-C,,county")
    with suspended(admin, "fl.import_payments(text,text)", "(u.role <> 'officer' AND g.holder = 'county_exp') AS held",
                   "false AS held"), \
         suspended(admin, "fl.posting_inserted()", "(g.side = 'C' AND NOT coalesce(s.ounit = a.unit, false)",
                   "(false AND NOT coalesce(s.ounit = a.unit, false)"):   # 0060's rule, fl.posting_inserted's since 0090
        r = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert r.exit_code == 0 and r.json()["entries"] == 1 and not r.json()["held"], r
    eid = int(admin.execute("SELECT p.entry_id FROM fl.posting p WHERE p.line_ref = 'R15-C'").fetchone()["entry_id"])
    f_on = named(verdict(ledger_db), "maker_checker", entry_id=eid, words="own_bank_credit")
    assert "unit 230881's own bank account (1004 county_exp)" in str(f_on["message"]) and "by rev" in str(
        f_on["message"])
    assert f_on["message"] in [x["message"] for x in offline(ledger_db, tmp_path, "maker_checker")]


# ---- the workflows' rules (ledger.core.rules: workflows) ----------------------------------------

def _budget(db: LedgerDB) -> None:
    from ledger.store import imports

    rev = db.connect("rev")
    imports.import_file(rev, "budget", Path(__file__).parent.parent / "integration" / "data" / "budget.csv")
    rev.commit()


def _prealloc(db: LedgerDB, year: int, date: str, unit: str, fen: int) -> int:
    """A pre-allocation held by a reviewer and confirmed by city finance: its entry id."""
    rev = db.connect("rev", autocommit=True)
    out = rev.execute("SELECT * FROM fl.preallocate(%s, %s, %s::jsonb)",
                      (year, date, json.dumps([{"unit": unit, "book": "RES", "amount": fen}]))).fetchone()
    assert out["status"] == "held", out
    done = db.connect("fin", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)", (out["held_id"],)).fetchone()
    assert done["status"] == "posted", done
    return int(done["entry_id"])


def test_a_preallocation_beyond_its_cap(funded: LedgerDB, tmp_path: Path) -> None:
    admin = funded.admin()
    _budget(funded)        # ¥3,200,000 of expenditure for 230822: ¥266,666.67 a month, ¥3,200,000 at most
    post(funded.connect("fin", autocommit=True), collect("rt15-more", "2023-01-20", "230822", "5000000.00"))
    assert verdict(funded) == {}
    with suspended(admin, "fl.preallocate(integer,date,jsonb)", "AND l.amount > greatest(12 * c.basis - c.held, 0)",
                   "AND false"):
        eid = _prealloc(funded, 2023, "2023-01-31", "230822", 500000000)
    f = named(verdict(funded), "workflows", entry_id=eid, words="preallocation_cap")
    assert "moved 5,000,000.00" in str(f["message"]) and "at most 3,200,000.04" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_a_preallocation_dated_in_another_year(funded: LedgerDB, tmp_path: Path) -> None:
    admin = funded.admin()
    _budget(funded)
    with suspended(admin, "fl.preallocate(integer,date,jsonb)",
                   "IF p_date IS NULL OR extract(year FROM p_date)::int IS DISTINCT FROM p_year THEN",
                   "IF false THEN"):
        eid = _prealloc(funded, 2023, "2024-01-31", "230822", 1000000)
    f = named(verdict(funded), "workflows", entry_id=eid, words="preallocation_date")
    assert "for 2023 dated 2024-01-31" in str(f["message"])
    assert f["message"] in [x["message"] for x in offline(funded, tmp_path, "workflows")]


def test_the_city_propers_opening_for_a_county(funded: LedgerDB, tmp_path: Path) -> None:
    admin, rev, fin = funded.admin(), funded.connect("rev", autocommit=True), funded.connect("fin", autocommit=True)
    doc = {"date": "2023-01-02", "book": "RES", "idempotency_key": "rt15-open", "postings": [
        leg("1003", "230822", "D", "50.00", "special"), leg("3001", "230822", "C", "50.00")]}
    with suspended(admin, "fl.post_opening(jsonb)", "WHERE un.kind IS DISTINCT FROM 'city' LIMIT 1;",
                   "WHERE false LIMIT 1;"):
        h = rev.execute("SELECT * FROM fl.post_opening(%s::jsonb)", (json.dumps(doc),)).fetchone()
    eid = int(fin.execute("SELECT * FROM fl.confirm_entry(%s)", (h["held_id"],)).fetchone()["entry_id"])
    f = named(verdict(funded), "workflows", entry_id=eid, words="opening_city_only")
    assert "posts for unit 230822" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_interest_for_a_period_that_ends_after_its_entry(funded: LedgerDB, tmp_path: Path) -> None:
    admin, fin = funded.admin(), funded.connect("fin", autocommit=True)
    start, end, on = dt.date(2023, 1, 1), dt.date(2023, 3, 25), dt.date(2023, 3, 21)
    shares = [{"unit": r["unit"], "component": r["component"], "amount": int(r["share"])} for r in fin.execute(
        "SELECT unit, component, share FROM fl.interest_shares('RES', 100000, %s, %s) WHERE share > 0",
        (start, end)).fetchall()]
    with suspended(admin, "fl.allocate_interest(text,date,text,bigint,date,date,jsonb)",
                   "OR p_start > p_end OR p_end > p_date THEN", " THEN"):
        held = fin.execute("SELECT * FROM fl.allocate_interest('RES', %s, 'rt15-int', 100000, %s, %s, %s::jsonb)",
                           (on, start, end, json.dumps(shares))).fetchone()
    done = confirm(fin, [int(held["held_id"])], "rev")[0]
    assert done["status"] == "posted"
    f = named(verdict(funded), "workflows", entry_id=int(done["entry_id"]), words="interest_period")
    assert "2023-01-01 … 2023-03-25 dated 2023-03-21" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_a_month_closed_before_it_ended(funded: LedgerDB, tmp_path: Path) -> None:
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    today = dt.date.today()
    nxt = (today.replace(day=28) + dt.timedelta(days=10)).replace(day=1)
    # (0123) the months before it are not closed in order: that check off for the call too
    with body_off(admin, "fl.closed_period_ended()", "\nBEGIN\n  RETURN NEW;\nEND "), \
         suspended(admin, "fl.close_period(date,text)", "IF p_month > v_first THEN", "IF false THEN"):
        assert rev.execute("SELECT fl.close_period(%s, 'early') AS ok", (nxt,)).fetchone()["ok"] is True
    f = named(verdict(funded), "workflows", words=f"period {nxt:%Y-%m} closed by rev")
    assert "period_not_ended" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_a_year_closed_out_of_its_window_and_before_the_year_before(funded: LedgerDB, tmp_path: Path) -> None:
    """2023 has benefit collections; with close_year's date and order checks off for one call,
    2024 is closed first, dated in 2025. Both verdicts name both rules."""
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    with suspended(admin, "fl.close_year(integer,date,jsonb)", "IF p_date IS NULL OR p_date NOT BETWEEN v_start "
                   "AND v_end THEN", "IF false THEN"), \
         suspended(admin, "fl.close_year(integer,date,jsonb)", "IF p_date <> v_end THEN", "IF false THEN"), \
         suspended(admin, "fl.close_year(integer,date,jsonb)", "    IF FOUND THEN\n      -- (0039, ATTACK5 S4)",
                   "    IF false THEN\n      -- (0039, ATTACK5 S4)"):
        rev.execute("SELECT * FROM fl.close_year_from_books(2024, '2025-01-15')").fetchall()
    found = verdict(funded)
    date = named(found, "workflows", words="close_date")
    order = named(found, "workflows", words="year_close_order")
    assert "dated 2025-01-15" in str(date["message"]) and "while 2023" in str(order["message"])
    off = [x["message"] for x in offline(funded, tmp_path, "workflows")]
    assert date["message"] in off and order["message"] in off


def test_a_closed_years_budget_adjusted_after_the_close(funded: LedgerDB, tmp_path: Path) -> None:
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    data = Path(__file__).parent.parent / "integration" / "data"
    assert funded.cli("budget", "import", str(data / "budget.csv"), user="rev").exit_code == 0
    rev.execute("SELECT * FROM fl.close_year_from_books(2023, '2023-12-31')").fetchall()
    # both guards of a closed year's budget suspended: 0024's and 0138's (fl._closed_year_reference)
    with suspended(admin, "fl.budget_version_explained()", "IF NEW.version > 1 AND EXISTS (SELECT 1 FROM fl.year_close",
                   "IF false AND EXISTS (SELECT 1 FROM fl.year_close"), \
            suspended(admin, "fl._closed_year_reference()", "IF y IS NULL OR NOT EXISTS", "IF true OR NOT EXISTS"):
        v2 = funded.cli("budget", "import", str(data / "budget_v2.csv"), "--reason", "after the close", user="rev")
    assert v2.exit_code == 0, v2
    f = named(verdict(funded), "workflows", words="budget_year_closed")
    assert "(2023, unit 230822, book RES) version 2 made by rev" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


# ---- accounts opened as the chart says (fl.account_for) --------------------------------------------

ACCOUNT_FOR = "fl.account_for(text,text,text,text,text)"


def test_an_account_on_a_code_with_sub_accounts(funded: LedgerDB, tmp_path: Path) -> None:
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    with suspended(admin, ACCOUNT_FOR, "IF EXISTS (SELECT 1 FROM fl.chart ch WHERE ch.parent = p_code) THEN",
                   "IF false THEN"):
        r = post(rev, entry("rt15-leaf", "2023-02-20", "RES", leg("5001", "230822", "D", "10.00"),
                            leg("1101", "230822", "C", "10.00")), checker="fin")[0]
    assert r["status"] == "posted"
    aid = admin.execute("SELECT id FROM fl.account WHERE chart_code = '5001'").fetchone()["id"]
    f = named(verdict(funded), "account_rules", words="account_leaf")
    assert f["account"] == str(aid) and "code 5001 has sub-accounts" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "account_rules")] == [f["message"]]


def test_an_account_with_a_component_its_book_does_not_have(funded: LedgerDB, tmp_path: Path) -> None:
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    with suspended(admin, ACCOUNT_FOR, "ELSIF cardinality(b.components) = 0 AND p_component <> '' THEN",
                   "ELSIF false THEN"):
        r = post(rev, entry("rt15-comp", "2023-02-20", "RES", leg("1101", "230822", "D", "10.00", component="pooled"),
                            leg("2001", "230822", "C", "10.00", component="pooled")))[0]
    assert r["status"] == "posted"
    found = verdict(funded)
    f = named(found, "account_rules", words="account_component")
    assert "book RES takes the component none, not pooled" in str(f["message"])
    assert f["message"] in [x["message"] for x in offline(funded, tmp_path, "account_rules")]


# ---- reconciliation (fl.record_matches) ------------------------------------------------------------

def test_a_match_of_a_bank_line_and_a_posting_that_disagree(funded: LedgerDB, tmp_path: Path) -> None:
    """The special account's statement says ¥100 came in; with record_matches' amount check off
    for one call, a reviewer matches it with a collection of ¥550,000 (the difference hidden from
    the reconciliation report). Both verdicts name the match group."""
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    bank = int(admin.execute("SELECT id FROM fl.bank_account WHERE book = 'RES' AND holder = 'special' "
                             "AND unit IS NULL").fetchone()["id"])
    lines = [{"row": 1, "date": "2023-01-15", "direction": "in", "amount": 10000, "reference": "RT15-1",
              "balance": None}]
    assert rev.execute("SELECT * FROM fl.import_statement('RES', 'special', NULL, 'rt15.csv', repeat('c', 64), "
                       "%s::jsonb)", (json.dumps(lines),)).fetchone()["lines_new"] == 1
    line = int(admin.execute("SELECT id FROM fl.statement_line WHERE reference = 'RT15-1'").fetchone()["id"])
    pid = int(admin.execute("SELECT p.id FROM fl.posting p JOIN fl.account a ON a.id = p.account_id "
                            "WHERE a.bank_account_id = %s AND p.side = 'D' ORDER BY p.id LIMIT 1", (bank,)
                            ).fetchone()["id"])
    with suspended(admin, "fl.record_matches(integer,jsonb)", "  IF FOUND THEN\n    PERFORM fl.refuse('recon_match', "
                   "format('match group %s: the bank lines", "  IF false THEN\n    PERFORM fl.refuse('recon_match', "
                   "format('match group %s: the bank lines"):
        assert rev.execute("SELECT fl.record_matches(%s, %s::jsonb) AS n", (bank, json.dumps(
            [{"method": "reference", "lines": [line], "postings": [pid]}]))).fetchone()["n"] == 1
    f = named(verdict(funded), "workflows", words="recon_match")
    assert f"of bank account {bank} (by rev): 1 bank line(s) and 1 posting(s) that differ by" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]


def test_an_account_with_a_holder_its_code_does_not_have(funded: LedgerDB, tmp_path: Path) -> None:
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    with suspended(admin, ACCOUNT_FOR, "IF p_holder <> '' THEN\n      PERFORM fl.refuse('account_holder'",
                   "IF false THEN\n      PERFORM fl.refuse('account_holder'"):
        r = post(rev, entry("rt15-holder", "2023-02-20", "RES", leg("1101", "230822", "D", "10.00", "special"),
                            leg("2001", "230822", "C", "10.00")), checker="fin")[0]
    assert r["status"] == "posted"
    f = named(verdict(funded), "account_rules", words="account_holder")
    assert "holder special where code 1101 for this unit takes none" in str(f["message"])
    assert f["message"] in [x["message"] for x in offline(funded, tmp_path, "account_rules")]


# ---- monitoring acknowledgements (fl.monitor_acknowledge) ------------------------------------------

ACK = "fl.monitor_acknowledge(text,text,text,date,date,text,text)"


def _ack(conn: object, unit: str, level: str, since: str, on: str, key: str) -> None:
    row = conn.execute("SELECT * FROM fl.monitor_acknowledge(%s, 'RES', %s, %s, %s, 'watched', %s)",  # type: ignore[attr-defined]
                       (unit, level, since, on, key)).fetchone()
    assert row["status"] == "recorded", row


@pytest.mark.parametrize("case", ["unit_scope", "ack_role", "ack_since", "ack_date"])
def test_an_acknowledgement_against_its_rule(funded: LedgerDB, tmp_path: Path, case: str) -> None:
    admin = funded.admin()
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    old, new, who, args = {
        "unit_scope": ("IF u.role = 'officer' AND u.unit IS DISTINCT FROM p_unit THEN", "IF false THEN", "o22",
                       ("230881", "yellow", "2023-12-31", "2023-12-31")),
        "ack_role": ("IF u.role = 'officer' AND p_level = 'red' THEN", "IF false THEN", "o22",
                     ("230822", "red", "2023-12-31", "2023-12-31")),
        "ack_since": ("IF p_since <> p_on AND p_since <> (date_trunc", "IF false AND p_since <> (date_trunc", "rev",
                      ("230822", "yellow", "2023-12-15", "2023-12-31")),
        "ack_date": ("OR p_since > p_on OR p_on > fl._region_today() THEN", "OR p_since > p_on THEN", "rev",
                     ("230822", "yellow", later, later)),
    }[case]
    with suspended(admin, ACK, old, new):
        _ack(funded.connect(who, autocommit=True), *args, key=f"rt15-{case}")
    f = named(verdict(funded), "workflows", words=f"({case})")
    assert f"by {who}" in str(f["message"])
    assert [x["message"] for x in offline(funded, tmp_path, "workflows")] == [f["message"]]
