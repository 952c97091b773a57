"""Bank reconciliation: import, match (reference, amount/date, one-to-many both ways),
idempotent re-import, and the 余额调节表 that ties bank to book."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.store.reconcile import Item, match
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db

D = dt.date


def test_match_rules_pure():
    lines = [Item(1, D(2023, 3, 2), 10000, frozenset(["REF-A"])),     # by reference, one to two postings
             Item(2, D(2023, 3, 5), -2500, frozenset(["BANK-9"])),    # amount within window
             Item(3, D(2023, 3, 20), -700, frozenset(["BATCH"])),     # one line, two postings of one day
             Item(4, D(2023, 3, 9), 300, frozenset(["x1"])),          # two lines, one posting
             Item(5, D(2023, 3, 9), 200, frozenset(["x2"])),
             Item(6, D(2023, 3, 30), -2500, frozenset(["late"]))]     # outside the window: unmatched
    posts = [Item(11, D(2023, 3, 1), 6000, frozenset(["REF-A"])), Item(12, D(2023, 3, 1), 4000, frozenset(["REF-A"])),
             Item(13, D(2023, 3, 3), -2500, frozenset()), Item(14, D(2023, 3, 19), -300, frozenset()),
             Item(15, D(2023, 3, 19), -400, frozenset()), Item(16, D(2023, 3, 8), 500, frozenset()),
             Item(17, D(2023, 3, 20), -2500, frozenset())]
    groups = match(lines, posts, window_days=3)
    got = {(g.method, g.lines, g.postings) for g in groups}
    assert got == {("reference", (1,), (11, 12)), ("amount_date", (2,), (13,)), ("amount_date", (3,), (14, 15)),
                   ("amount_date", (4, 5), (16,))}
    # Line 6 is 10 days from posting 17: unmatched with a 3-day window, matched with 10.
    assert ("amount_date", (6,), (17,)) in {(g.method, g.lines, g.postings) for g in match(lines, posts, 10)}


def _stmt(tmp_path, name: str, rows: list[str], balance: bool = True):
    f = tmp_path / name
    f.write_text("date,amount,direction,reference" + (",balance" if balance else "") + "\n" + "\n".join(rows) + "\n",
                 "utf-8")
    return str(f)


def test_reconcile_special_account_end_to_end(ledger_db, tmp_path):
    fin = ledger_db.connect("fin")
    # Book side of the pooled special account (RES): two units' shares.
    post(fin, entry("c22", "2023-03-01", "RES", dict(leg("1003", "230822", "D", "1000.00", "special"), line_ref="BK-1"),
                    leg("4001", "230822", "C", "1000.00")),
         entry("c81", "2023-03-02", "RES", leg("1003", "230881", "D", "500.00", "special"), leg("4001", "230881", "C", "500.00")),
         entry("p22", "2023-03-10", "RES", leg("5001.inpatient", "230822", "D", "200.00"),
               leg("1003", "230822", "C", "200.00", "special")),
         entry("c22b", "2023-03-30", "RES", leg("1003", "230822", "D", "50.00", "special"), leg("4001", "230822", "C", "50.00")))
    fin.commit()
    # The bank: BK-1 by reference, the 500 two days later, the 200 paid on the 12th, a bank fee
    # not yet booked; the 50 booked on the 30th has not reached the bank by the 31st.
    f = _stmt(tmp_path, "march.csv", ["2023-03-01,1000.00,in,BK-1,1000.00", "2023-03-04,500.00,in,TX-77,1500.00",
                                      "2023-03-12,200.00,out,CHQ-5,1300.00", "2023-03-31,3.50,out,FEE-03,1296.50"])
    res = ledger_db.cli("reconcile", "import", f, "--account", "special", "--book", "RES", "--json", user="fin")
    assert res.exit_code == 0, res
    r = res.json()
    assert (r["lines_total"], r["lines_new"], r["lines_known"]) == (4, 4, 0)
    assert (r["groups_matched"], r["lines_matched"], r["lines_unmatched"]) == (3, 3, 1)

    again = ledger_db.cli("reconcile", "import", f, "--account", "special", "--book", "RES", "--json", user="fin").json()
    assert (again["lines_new"], again["lines_known"], again["groups_matched"]) == (0, 4, 0)
    admin = ledger_db.admin()
    assert admin.execute("SELECT count(*) AS n FROM fl.statement_line").fetchone()["n"] == 4
    assert admin.execute("SELECT count(*) AS n FROM fl.recon_match").fetchone()["n"] == 6

    rep = ledger_db.cli("reconcile", "report", "--account", "special", "--book", "RES", "--as-of", "2023-03-31",
                        "--json", user="aud")
    assert rep.exit_code == 0, rep
    doc = rep.json()
    rec = doc["reconciliation"]
    assert rec == {"bank_balance": "1296.50", "bank_balance_source": "statement",
                   "book_receipts_not_in_bank": "50.00", "book_payments_not_in_bank": "0.00",
                   "adjusted_bank_balance": "1346.50", "book_balance": "1350.00",
                   "bank_receipts_not_in_book": "0.00", "bank_payments_not_in_book": "3.50",
                   "adjusted_book_balance": "1346.50", "difference": "0.00", "reconciled": True}
    assert [x["reference"] for x in doc["unmatched_bank"]] == ["FEE-03"]
    assert [x["amount"] for x in doc["unmatched_book"]] == ["50.00"]
    assert {g["method"] for g in doc["matched"]} == {"reference", "amount_date"}
    assert set(doc["unmatched_book"][0]) >= {"posting_id", "entry_id", "voucher", "date", "side", "amount", "unit"}

    # As of the 3rd the 500 booked on the 2nd is not yet in the bank (its bank line is the 4th).
    early = ledger_db.cli("reconcile", "report", "--account", "special", "--book", "RES", "--as-of", "2023-03-03",
                          "--json", user="aud").json()["reconciliation"]
    assert (early["bank_balance"], early["book_balance"], early["book_receipts_not_in_bank"]) == \
           ("1000.00", "1500.00", "500.00")
    assert early["reconciled"] is True

    text = ledger_db.cli("reconcile", "report", "--account", "special", "--book", "RES", "--as-of", "2023-03-31",
                         user="aud")
    assert text.exit_code == 0 and "bank reconciliation" in text.stdout and "reconciled" in text.stdout

    # The fee gets booked; the next statement import matches it (and the 50) without duplicating lines.
    post(fin, entry("fee", "2023-03-31", "RES", leg("5401", "230822", "D", "3.50"),
                    leg("1003", "230822", "C", "3.50", "special")))
    fin.commit()
    g = _stmt(tmp_path, "april.csv", ["2023-03-31,3.50,out,FEE-03,1296.50", "2023-04-01,50.00,in,TX-80,1346.50"])
    r2 = ledger_db.cli("reconcile", "import", g, "--account", "special", "--book", "RES", "--json", user="rev").json()
    assert (r2["lines_new"], r2["lines_known"], r2["groups_matched"], r2["lines_unmatched"]) == (1, 1, 2, 0)
    final = ledger_db.cli("reconcile", "report", "--account", "special", "--book", "RES", "--as-of", "2023-04-30",
                          "--json", user="aud").json()
    assert final["unmatched_bank"] == [] and final["unmatched_book"] == []
    assert final["reconciliation"]["bank_balance"] == final["reconciliation"]["book_balance"] == "1346.50"
    assert ledger_db.cli("verify", user="aud").exit_code == 0


def test_statement_errors_and_roles(ledger_db, tmp_path):
    bad = _stmt(tmp_path, "bad.csv", ["2023-02-30,1.00,in,A", "2023-03-01,1.005,in,B", "2023-03-01,1.00,sideways,C",
                                      "2023-03-01,1.00,in,"], balance=False)
    r = ledger_db.cli("reconcile", "import", bad, "--account", "special", "--book", "RES", user="fin")
    assert r.exit_code == 1 and "bad_file" in r.stderr
    for needle in ("row 2, column date", "row 3, column amount", "row 4, column direction", "row 5, column reference"):
        assert needle in r.stderr
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.bank_statement").fetchone()["n"] == 0
    ok = _stmt(tmp_path, "ok.csv", ["2023-03-01,1.00,收,A"], balance=False)
    # An officer reconciles its own county's expenditure account, not another's.
    assert ledger_db.cli("reconcile", "import", ok, "--account", "county-exp:230822", "--book", "RES",
                         user="o22").exit_code == 0
    assert ledger_db.cli("reconcile", "import", ok, "--account", "county-exp:230881", "--book", "RES",
                         user="o22").exit_code == 1
    r = ledger_db.cli("reconcile", "report", "--account", "county-exp:230822", "--book", "RES", "--as-of",
                      "2023-03-31", "--json", user="o22").json()["reconciliation"]
    assert (r["bank_balance"], r["bank_balance_source"], r["bank_receipts_not_in_book"], r["reconciled"]) == \
           ("1.00", "computed", "1.00", True)
    nf = ledger_db.cli("reconcile", "report", "--account", "city-exp", "--book", "RES", "--as-of", "2023-03-31",
                       user="aud")
    assert nf.exit_code == 1 and "not_found" in nf.stderr
    assert ledger_db.cli("reconcile", "import", ok, "--account", "special:230822", "--book", "RES",
                         user="fin").exit_code == 1
