"""ATTACK9 W1 and W2 closed (fix9a): the cases beside the red team's reproductions.

W2 (0067): expenditure (5xxx) is a city figure, either side — a debit on 5xxx against a temporary
payment raises the county's deficit and charges its local government more, no better than the
credit that lowered it. The second officer is refused in Chinese first with the reviewer's
command; with the rule switched off for one confirmation, both verdicts name it.

W1 (bank_refs): the bank account references are re-derived from the rows: a line on another
bank account than its statement's, and the same checks over an export (verify --offline).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.io import archive
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_duties import _officer
from tests.security.test_attack7_rules import body_off, named, verdict

pytestmark = pytest.mark.db

CONFIRM = "SELECT * FROM fl.confirm_entry(%s)"
RAISE = (leg("5001.inpatient", "230822", "D", "800000.00"), leg("1101", "230822", "C", "800000.00"))


def _hold(conn: psycopg.Connection, key: str, *legs: dict[str, Any]) -> int:
    row = conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                       (json.dumps([entry(key, "2024-03-20", "RES", *legs)]),)).fetchone()
    assert row is not None and row["status"] == "held", row
    return int(row["held_id"])


@pytest.fixture
def county(ledger_db: LedgerDB) -> LedgerDB:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("f9-seed", "2024-01-05", "230822", "5000000.00"))
    _officer(ledger_db, "o22f", "230822")
    return ledger_db


def test_w2_a_debit_on_expenditure_is_the_citys_to_confirm_too(county: LedgerDB) -> None:
    """Dr 5001 / Cr 1101 (the deficit raised: the local government charged more): the second
    officer's confirmation is refused, in Chinese by default, naming the reviewer's command; the
    held entry stays held; the bureau confirms it."""
    hid = _hold(county.connect("o22", autocommit=True), "f9-raise", *RAISE)
    zh = county.cli("entry", "confirm", str(hid), user="o22f", env={"FUNDLEDGER_LANG": ""})
    assert zh.exit_code == 1 and "支出 5xxx" in zh.stderr and f"审核员 entry confirm {hid}" in zh.stderr, zh
    assert "Traceback" not in zh.stderr
    en = county.cli("--lang", "en", "entry", "confirm", str(hid), user="o22f")
    assert en.exit_code == 1 and "[city_confirms]" in en.stderr and "expenditure 5xxx" in en.stderr, en
    assert county.admin().execute("SELECT state FROM fl.pending_entry WHERE id = %s", (hid,)).fetchone()["state"] == "held"  # type: ignore[index]
    ok = county.cli("entry", "confirm", str(hid), user="rev")
    assert ok.exit_code == 0, ok


def test_w2_the_journal_refuses_expenditure_by_hand_in_an_officers_session(county: LedgerDB) -> None:
    """With fl._decider's rules gone for one call (the superuser), the posting trigger still
    refuses the manual entry on 5001 in the second officer's session."""
    hid = _hold(county.connect("o22", autocommit=True), "f9-trg", *RAISE)
    admin = county.admin()
    plain = "\nBEGIN\n  RETURN fl.require_role(ARRAY['officer', 'reviewer', 'finance'], 'confirm held entries');\nEND "
    with body_off(admin, "fl._decider(fl.pending_entry,text)", plain), pytest.raises(psycopg.Error) as e:
        county.connect("o22f", autocommit=True).execute(CONFIRM, (hid,)).fetchone()
    assert e.value.diag.constraint_name == "city_confirms" and "5001.inpatient" in str(e.value), e.value
    assert "expenditure 5xxx" in str(e.value)


def test_w2_both_verdicts_name_an_officer_confirmation_on_expenditure(county: LedgerDB) -> None:
    """fl._city_figure answers false for one confirmation (its body restored exactly): the
    independent maker_checker and the first pass's held_entries name the entry and its officer
    confirmer."""
    hid = _hold(county.connect("o22", autocommit=True), "f9-forced", *RAISE)
    with body_off(county.admin(), "fl._city_figure(text,text)", "\n  SELECT false\n"):
        done = county.connect("o22f", autocommit=True).execute(CONFIRM, (hid,)).fetchone()
    assert done is not None and done["status"] == "posted"
    f = named(verdict(county), "maker_checker", entry_id=int(done["entry_id"]), words="a city figure")
    assert "confirmed by o22f, an officer" in str(f["message"]) and "5001.inpatient" in str(f["message"])
    r = county.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r
    held = [f for c in r.json()["checks"] if c["name"] == "held_entries" for f in c["findings"]]
    assert any(f"held entry {hid} " in json.dumps(f) and "o22f (officer)" in json.dumps(f) for f in held), held


def _statement(db: LedgerDB) -> int:
    fin = db.connect("fin", autocommit=True)
    post(fin, collect("f9-c1", "2023-01-05", "230822", "1000.00"),
         entry("f9-to-county", "2023-01-06", "RES", leg("1004", "230822", "D", "10.00", "county_exp"),
               leg("1003", "230822", "C", "10.00", "special")))
    lines = [{"row": 1, "date": "2023-01-05", "direction": "in", "amount": 100000, "reference": "F9-1",
              "balance": None}]
    st = db.connect("rev", autocommit=True).execute(
        "SELECT * FROM fl.import_statement('RES', 'special', NULL, 's.csv', repeat('c', 64), %s::jsonb)",
        (json.dumps(lines),)).fetchone()
    assert st is not None
    return int(st["statement_id"])


def test_w1_a_line_on_another_bank_account_than_its_statement(ledger_db: LedgerDB) -> None:
    """A raw INSERT (every trigger on: the bank account exists) of a line of the special
    account's statement on the city expenditure account's bank: both passes name it."""
    sid = _statement(ledger_db)
    adm = ledger_db.admin()
    other = int(adm.execute("SELECT id FROM fl.bank_account WHERE book = 'RES' AND holder = 'county_exp' AND unit = '230822'"
                            ).fetchone()["id"])  # type: ignore[index]
    adm.execute("INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, amount, "
                "reference) VALUES (%s, %s, 2, '2023-01-06', 'in', 500, 'F9-2')", (other, sid))
    named(verdict(ledger_db), "bank_refs", words=f"is on bank account {other} but its statement {sid}")
    r = ledger_db.cli("--lang", "en", "verify", "--check", "bank_refs", "--json", user="aud")
    assert r.exit_code == 1, r
    found = [f["message"] for c in r.json()["checks"] for f in c["findings"]]
    assert any(f"is on bank account {other}, but its statement is on bank account" in m for m in found), found


def test_w1_the_export_carries_what_bank_refs_needs(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The red team's two cases, then verify --offline over the export: the history versions
    (statements, lines, bank accounts) and the accounts' table let the offline verdict name
    both the line and the account on bank account 987654."""
    sid = _statement(ledger_db)
    adm = ledger_db.admin()
    adm.execute("ALTER TABLE fl.statement_line DISABLE TRIGGER statement_line_bank_account_exists")
    adm.execute("INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, amount, "
                "reference) VALUES (987654, %s, 2, '2023-01-06', 'in', 500, 'F9-3')", (sid,))
    adm.execute("ALTER TABLE fl.statement_line ENABLE TRIGGER statement_line_bank_account_exists")
    adm.execute("ALTER TABLE fl.account DISABLE TRIGGER account_identity_fixed")
    adm.execute("UPDATE fl.account SET bank_account_id = 987655 WHERE book = 'RES' AND chart_code = '1003' "
                "AND unit = '230822' AND holder = 'special'")
    adm.execute("ALTER TABLE fl.account ENABLE TRIGGER account_identity_fixed")
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    r = ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud")
    assert r.exit_code == 0, r
    rep = archive.verify_offline(out, filed)
    msgs = [f.message for f in rep.findings if f.check == "bank_refs"]
    assert any("987654" in m and "statement line" in m for m in msgs), msgs
    assert any("987655" in m and "RES:1003:230822:special" in m for m in msgs), msgs
