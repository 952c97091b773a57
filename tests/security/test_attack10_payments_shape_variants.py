"""ATTACK10 X7's variants: every entry of a kind an import writes is what that import writes
(ledger.core.workflow_shapes in the independent verdict, verify's held_entries in the first pass).

The lever of tests/security/test_attack10_payments_shape.py (a definer function made for one
call, dropped after: the catalogue is clean) writes, through ``fl._post``:

* the red team's ``payments`` entry Dr 1004 county_exp / Cr 5001 in officer o22's session — named
  by both passes and offline from an export;
* a ``payments`` entry of the import's own shape (Dr 5001.inpatient / Cr 1004 county_exp) with no
  import batch and no register line — the claims it "pays" were never filed: named;
* a ``payments`` entry of another county's unit in the key but o22's accounts — named;
* a ``collections`` entry in finance's session putting money into a county's expenditure account
  (Dr 1004 county_exp / Cr 4001) — a collection goes into the special account: named;

while the honest imports (an officer's county-paid claims, the bureau's city-paid claims and its
county-paid claims held and confirmed by finance, finance's collections) are whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_rules import body_off, verdict

pytestmark = pytest.mark.db

FORGE = """
CREATE FUNCTION fl.x7v_once() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, fl, pg_temp AS $$
DECLARE r record;
BEGIN
  SELECT * INTO r FROM fl._post(
    ARRAY[ROW(1, 'RES', DATE '2024-03-20', 'x7v', '{kind}', '{key}', NULL, NULL, {source}, NULL)::fl.new_entry],
    ARRAY[ROW(1, 1, 'RES', '{dchart}', '{unit}', '{dholder}', '', 'D', 80000, {ref}, NULL)::fl.new_posting,
          ROW(1, 2, 'RES', '{cchart}', '{unit}', '{cholder}', '', 'C', 80000, NULL, NULL)::fl.new_posting]);
  RETURN r.entry_id;
END $$;
ALTER FUNCTION fl.x7v_once() OWNER TO fl_owner;
GRANT EXECUTE ON FUNCTION fl.x7v_once() TO {user};
"""
PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def _forge(db: LedgerDB, user: str, kind: str, key: str, debit: tuple[str, str], credit: tuple[str, str],
           unit: str = "230822", source: str = "NULL", ref: str = "'X7V-1'") -> int:
    admin = db.admin()
    admin.execute(FORGE.format(kind=kind, key=key, dchart=debit[0], dholder=debit[1], cchart=credit[0],
                               cholder=credit[1], unit=unit, source=source, ref=ref, user=user))
    try:
        with body_off(admin, "fl._money_in(text,text,text)", "\n  SELECT false\n"):
            row = db.connect(user, autocommit=True).execute("SELECT fl.x7v_once() AS id").fetchone()
    finally:
        admin.execute("DROP FUNCTION fl.x7v_once()")
    assert row is not None
    return int(row["id"])


def _named(found: dict[str, list[dict[str, object]]], eid: int, words: str) -> None:
    assert any(f.get("entry_id") == eid and words in str(f["message"]) for f in found.get("workflows", [])), found


def _first_pass(db: LedgerDB, words: str) -> None:
    r = db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r.stdout[-2000:]
    held = [json.dumps(f, ensure_ascii=False) for c in r.json()["checks"] if c["name"] == "held_entries"
            for f in c["findings"]]
    assert any(words in x for x in held), held


def _funded(db: LedgerDB) -> None:
    """Money in 230822's own expenditure account and in the city proper's share of the city's."""
    fin = db.connect("fin", autocommit=True)
    post(fin, collect("x7v-col", "2024-03-01", "230822", "100000.00"),
         collect("x7v-col-city", "2024-03-01", "230800", "100000.00"),
         entry("x7v-top", "2024-03-02", "RES", leg("1004", "230822", "D", "50000.00", "county_exp"),
               leg("1003", "230822", "C", "50000.00", "special")))
    post(fin, entry("x7v-city", "2024-03-02", "RES", leg("1004", "230800", "D", "50000.00", "city_exp"),
                    leg("1003", "230800", "C", "50000.00", "special")))


def test_x7_the_red_teams_entry_is_named_by_both_passes_and_offline(ledger_db: LedgerDB, tmp_path: Path) -> None:
    eid = _forge(ledger_db, "o22", "payments", "payments:2024-03-20:230822:RES::county:x7v",
                 ("1004", "county_exp"), ("5001.inpatient", ""))
    found = verdict(ledger_db)
    _named(found, eid, "debits 1004 county_exp: a payments entry debits only benefit expenditure")
    _first_pass(ledger_db, "debits 1004 county_exp of unit 230822: not what its payments import writes")
    e = ledger_db.cli("audit", "export", str(tmp_path / "x"), user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = ledger_db.cli("verify", "--offline", str(tmp_path / "x"), "--no-digest", "--json", user="aud")
    assert off.exit_code == 1
    wf = [f for c in off.json()["checks"] if c["name"] == "workflows" for f in c["findings"]]
    assert [f["message"] for f in wf if f["entry_id"] == eid] == [f["message"] for f in found["workflows"]
                                                                 if f["entry_id"] == eid], (wf, found)


def test_x7_a_payment_of_the_right_shape_with_no_batch_or_register_is_named(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    eid = _forge(ledger_db, "o22", "payments", "payments:2024-03-20:230822:RES::county:x7v2",
                 ("5001.inpatient", ""), ("1004", "county_exp"))
    _named(verdict(ledger_db), eid, "names import batch none, which does not exist")
    _first_pass(ledger_db, "payments:2024-03-20:230822:RES::county:x7v2 by o22 names no import batch")


def test_x7_a_payment_naming_a_real_batch_but_no_register_line_is_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _funded(ledger_db)
    f = tmp_path / "p.csv"
    f.write_text(f"{PAY}\n2024-03-10,230822,RES,桦南县某诊所,inpatient,10.00,X7V-REAL-1,,county\n", "utf-8")
    r = ledger_db.cli("pay", "import", str(f), "--json", user="o22")
    assert r.exit_code == 0, r
    batch = r.json()["batch_id"]
    eid = _forge(ledger_db, "o22", "payments", "payments:2024-03-20:230822:RES::county:x7v3",
                 ("5001.inpatient", ""), ("1004", "county_exp"),
                 source=f"jsonb_build_object('import_batch', {int(batch)}, 'file', 'p.csv', 'rows', 1)")
    _named(verdict(ledger_db), eid, "no line of the import register names it")
    _first_pass(ledger_db, "x7v3 by o22 is named by no line of the import register")


def test_x7_a_payment_for_another_unit_than_its_key_is_named(ledger_db: LedgerDB) -> None:
    _funded(ledger_db)
    eid = _forge(ledger_db, "o22", "payments", "payments:2024-03-20:230881:RES::county:x7v4",
                 ("5001.inpatient", ""), ("1004", "county_exp"))
    found = verdict(ledger_db)
    assert any(f.get("entry_id") == eid for fs in found.values() for f in fs), found
    _named(found, eid, "a payments entry posts for its key's unit 230881 only")
    _first_pass(ledger_db, "x7v4 by o22 debits 5001.inpatient of unit 230822")


def test_x7_a_collection_into_a_county_account_is_named(ledger_db: LedgerDB) -> None:
    eid = _forge(ledger_db, "fin", "collections", "collections:230822:x7v5", ("1004", "county_exp"), ("4001", ""))
    _named(verdict(ledger_db), eid, "a collections entry debits only the special account")
    _first_pass(ledger_db, "collections entry collections:230822:x7v5 by fin debits 1004 county_exp")


def test_x7_the_honest_imports_are_whole(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """An officer's county-paid claims, the bureau's city-paid claims and its county-paid claims
    (held, confirmed by finance), finance's collections: no shape finding, both passes whole."""
    _funded(ledger_db)
    rows = [f"2024-03-1{i},230822,RES,桦南县某诊所,{cat},1{i}.00,X7V-OK-{i},,county"
            for i, cat in enumerate(("inpatient", "outpatient", "critical_illness"))]
    f = tmp_path / "own.csv"
    f.write_text("\n".join([PAY, *rows]) + "\n", "utf-8")
    assert ledger_db.cli("pay", "import", str(f), user="o22").exit_code == 0
    c = tmp_path / "city.csv"
    c.write_text(f"{PAY}\n2024-03-12,230800,RES,佳木斯市中心医院,inpatient,20.00,X7V-CITY-1,,city\n"
                 "2024-03-12,230822,RES,桦南县某诊所,pharmacy,3.00,X7V-BUR-1,,county\n", "utf-8")
    r = ledger_db.cli("pay", "import", str(c), "--json", user="rev")
    assert r.exit_code == 0, r
    held = r.json().get("held") or []
    assert held, r.json()
    fin = ledger_db.connect("fin", autocommit=True)
    for h in held:
        assert fin.execute("SELECT * FROM fl.confirm_entry(%s)", (h,)).fetchone()["status"] == "posted"  # type: ignore[index]
    assert "workflows" not in verdict(ledger_db)
    v = ledger_db.cli("verify", user="aud")
    assert v.exit_code == 0, v.stdout[-2500:]
