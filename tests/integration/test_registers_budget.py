"""Handover (audited openings, memo registers, transfer up), register clearing and
budgets, through the real CLI. Figures from tests/integration/data/opening.csv:

桦南县 230822, RES: legacy special 1,000,000.00 + revenue 50,000.00 + expenditure
250,000.50 = accumulated surplus 1,300,000.50; EMP: legacy special pooled 600,000.00,
personal 200,000.00. 同江市 230881, RES: legacy special 400,000.00 (not transferred here).
Registers: fiscal arrears 300,000.00 (RES), employer arrears 80,000.00 (EMP pooled),
unpaid claims 120,000.00 (RES).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import confirm_openings, entry, leg, post
from tests.integration.test_imports import DATA, balance, count, fen, write_csv

pytestmark = pytest.mark.db


def open_handover(db) -> None:
    r = db.cli("handover", "open", str(DATA / "opening.csv"), "--date", "2023-01-01", "--json", user="rev")
    assert r.exit_code == 0, r
    assert {k: r.json()[k] for k in ("rows_total", "rows_posted", "entries", "register_items")} == \
        {"rows_total": 9, "rows_posted": 9, "entries": 0, "register_items": 3}
    assert len(r.json()["held"]) == 6          # the rows on legacy bank accounts wait for finance (0052)
    assert confirm_openings(db) == r.json()["held"]


def items(db, **filters: str) -> dict[str, dict]:
    args = [x for k, v in filters.items() for x in (f"--{k.replace('_', '-')}", v)]
    r = db.cli("register", "list", "--json", "--as-of", "2023-03-31", *args, user="aud")
    assert r.exit_code == 0, r
    return {i["reference"]: i for i in r.json()}


def test_handover_open_then_transfer_moves_exactly_the_legacy_balances(ledger_db, tmp_path):
    assert ledger_db.cli("handover", "open", str(DATA / "opening.csv"), "--date", "2023-01-01",
                         user="fin").exit_code == 1          # reviewers record openings
    open_handover(ledger_db)
    legacy = [("RES", "1003", "230822", "legacy_special", "", "1000000.00"),
              ("RES", "1002", "230822", "legacy_revenue", "", "50000.00"),
              ("RES", "1004", "230822", "legacy_expenditure", "", "250000.50"),
              ("EMP", "1003", "230822", "legacy_special", "pooled", "600000.00"),
              ("EMP", "1003", "230822", "legacy_special", "personal", "200000.00")]
    for book, code, unit, holder, comp, amount in legacy:
        assert balance(ledger_db, book, code, unit, holder, comp) == fen(amount)
    assert balance(ledger_db, "RES", "3001", "230822") == -fen("1300000.50")
    assert balance(ledger_db, "EMP", "3001", "230822", component="pooled") == -fen("600000.00")
    assert balance(ledger_db, "RES", "1003", "230881", "legacy_special") == fen("400000.00")
    assert ledger_db.cli("handover", "open", str(DATA / "opening.csv"), "--date", "2023-01-01",
                         user="rev").stdout.count("nothing new to import: 9 row(s) were already imported and 0 are new; "
                                             "nothing was recorded (no import batch)") == 1   # ATTACK12 Z7
    assert count(ledger_db, "fl.register_item") == 3

    city = write_csv(tmp_path / "city.csv", "unit,book,item,amount,reference",
                     "230800,RES,special_account,1.00,CITY-OPEN")
    r = ledger_db.cli("handover", "open", str(city), "--date", "2023-01-01", user="rev")
    assert r.exit_code == 1 and "city.csv: row 2, column unit: unit 230800 is the city proper" in " ".join(r.stderr.split())

    assert ledger_db.cli("handover", "transfer", "--unit", "230822", "--date", "2023-01-05",
                         user="rev").exit_code == 1          # finance transfers
    r = ledger_db.cli("handover", "transfer", "--unit", "230822", "--date", "2023-01-05", "--json", user="fin")
    assert r.exit_code == 0, r
    assert [(t["book"], t["component"], t["amount"], t["idempotency_key"]) for t in r.json()] == [
        ("EMP", "personal", "200000.00", "handover-transfer:230822:EMP:personal"),
        ("EMP", "pooled", "600000.00", "handover-transfer:230822:EMP:pooled"),
        ("RES", "", "1300000.50", "handover-transfer:230822:RES:-")]
    for book, code, unit, holder, comp, _ in legacy:
        assert balance(ledger_db, book, code, unit, holder, comp) == 0
    assert balance(ledger_db, "RES", "1003", "230822", "special") == fen("1300000.50")
    assert balance(ledger_db, "EMP", "1003", "230822", "special", "pooled") == fen("600000.00")
    assert balance(ledger_db, "EMP", "1003", "230822", "special", "personal") == fen("200000.00")
    assert balance(ledger_db, "RES", "3001", "230822") == -fen("1300000.50")      # surplus unchanged
    assert balance(ledger_db, "RES", "1003", "230881", "legacy_special") == fen("400000.00")  # other county untouched

    again = ledger_db.cli("handover", "transfer", "--unit", "230822", "--date", "2023-01-06", user="fin")
    assert again.exit_code == 1 and "nothing left in its legacy accounts" in again.stderr
    city_t = ledger_db.cli("handover", "transfer", "--unit", "230800", "--date", "2023-01-06", user="fin")
    assert city_t.exit_code == 1 and "city proper" in city_t.stderr


def test_register_clear_posts_the_entry_and_reduces_outstanding(ledger_db):
    open_handover(ledger_db)
    reg = items(ledger_db)
    assert set(reg) == {"HN-REG-1", "HN-REG-2", "HN-REG-3"}
    fiscal = reg["HN-REG-1"]
    assert fiscal == {"id": fiscal["id"], "kind": "fiscal_arrears", "unit": "230822", "book": "RES", "component": "",
                      "amount": "300000.00", "cleared": "0.00", "outstanding": "300000.00", "opened_on": "2023-01-01",
                      "fiscal_year": None, "reference": "HN-REG-1", "note": "2022年县级配套未到位", "age_days": 89}
    fid = str(fiscal["id"])

    r = ledger_db.cli("register", "clear", fid, "--amount", "100,000.00", "--date", "2023-03-01", "--json", user="fin")
    assert r.exit_code == 0, r
    assert (r.json()["status"], r.json()["cleared"], r.json()["outstanding"]) == ("posted", "100000.00", "200000.00")
    assert balance(ledger_db, "RES", "1003", "230822", "special") == fen("100000.00")
    assert balance(ledger_db, "RES", "4101.county", "230822") == -fen("100000.00")

    over = ledger_db.cli("register", "clear", fid, "--amount", "200000.01", "--date", "2023-03-02", user="fin")
    assert over.exit_code == 1 and "[register_not_overcleared]" in over.stderr and "200,000.00 outstanding" in over.stderr
    assert ledger_db.cli("register", "clear", fid, "--amount", "1.00", "--date", "2023-03-02",
                         user="rev").exit_code == 1           # arrears arrive with finance
    r = ledger_db.cli("register", "clear", fid, "--amount", "200000.00", "--date", "2023-03-02", "--key", "fa-2",
                      "--json", user="fin")
    assert r.exit_code == 0 and r.json()["outstanding"] == "0.00"
    dup = ledger_db.cli("register", "clear", fid, "--amount", "200000.00", "--date", "2023-03-02", "--key", "fa-2",
                        "--json", user="fin")
    assert dup.exit_code == 0 and dup.json()["status"] == "duplicate"     # a re-run with its key changes nothing
    done = ledger_db.cli("register", "clear", fid, "--amount", "1.00", "--date", "2023-03-03", user="fin")
    assert done.exit_code == 1 and "already fully cleared" in done.stderr
    assert balance(ledger_db, "RES", "4101.county", "230822") == -fen("300000.00")
    r = ledger_db.cli("register", "list", "--open-only", "--json", user="aud")
    assert {i["reference"] for i in r.json()} == {"HN-REG-2", "HN-REG-3"}

    emp = str(reg["HN-REG-2"]["id"])
    assert ledger_db.cli("register", "clear", emp, "--amount", "80000", "--date", "2023-03-05", user="fin").exit_code == 0
    assert balance(ledger_db, "EMP", "4001", "230822", component="pooled") == -fen("80000.00")
    assert balance(ledger_db, "EMP", "1003", "230822", "special", "pooled") == fen("80000.00")

    claims = str(reg["HN-REG-3"]["id"])
    assert ledger_db.cli("register", "clear", claims, "--amount", "1000", "--date", "2023-03-05",
                         user="fin").exit_code == 1           # provider claims are paid by the bureau
    # Paying the claims takes money out of the county's bank account: held for city finance or a
    # second reviewer (0051, ATTACK6 T17); the item is reduced only when that person confirms.
    held = ledger_db.cli("register", "clear", claims, "--amount", "1000", "--date", "2023-03-05", "--json", user="rev")
    assert held.exit_code == 0, held
    assert (held.json()["status"], held.json()["entry_id"], held.json()["outstanding"]) == ("held", None, "120000.00")
    hid = str(held.json()["held_id"])
    broke = ledger_db.cli("entry", "confirm", hid, user="fin")
    assert broke.exit_code == 1 and "[no_overdraft]" in broke.stderr   # the county must hold the money
    fin = ledger_db.connect("fin")
    post(fin, entry("prealloc", "2023-03-04", "RES", leg("1004", "230822", "D", "50000.00", "county_exp"),
                    leg("1003", "230822", "C", "50000.00", "special")))
    fin.commit()
    r = ledger_db.cli("entry", "confirm", hid, "--json", user="fin")
    assert r.exit_code == 0 and r.json()[0]["status"] == "posted", r
    r = ledger_db.cli("register", "list", "--kind", "unpaid_claims", "--json", user="aud")
    assert r.json()[0]["outstanding"] == "119000.00"
    assert balance(ledger_db, "RES", "5001.other", "230822") == fen("1000.00")
    assert balance(ledger_db, "RES", "1004", "230822", "county_exp") == fen("49000.00")
    assert count(ledger_db, "fl.register_clearing") == 4


def test_budget_versions_and_deficit_flag(ledger_db, tmp_path):
    assert ledger_db.cli("budget", "import", str(DATA / "budget.csv"), user="fin").exit_code == 1   # reviewers
    r = ledger_db.cli("budget", "import", str(DATA / "budget.csv"), "--json", user="rev")
    assert r.exit_code == 0, r
    got = {(b["unit"], b["version"], b["status"], b["revenue"], b["expenditure"], b["balance"], b["deficit"])
           for b in r.json()["budgets"]}
    assert got == {("230822", 1, "created", "3500000.00", "3200000.00", "300000.00", False),
                   ("230881", 1, "created", "1000000.00", "1500000.00", "-500000.00", True)}

    same = ledger_db.cli("budget", "import", str(DATA / "budget.csv"), "--json", user="rev")
    assert {b["status"] for b in same.json()["budgets"]} == {"unchanged"}
    assert count(ledger_db, "fl.budget") == 2

    # A changed budget is an adjustment (预算调整): refused without a reason, nothing written.
    bare = ledger_db.cli("budget", "import", str(DATA / "budget_v2.csv"), "--json", user="rev")
    assert bare.exit_code == 1 and "reason" in bare.stderr, bare
    assert count(ledger_db, "fl.budget") == 2
    v2 = ledger_db.cli("budget", "import", str(DATA / "budget_v2.csv"), "--reason", "县政府追加住院支出",
                       "--json", user="rev")
    assert v2.exit_code == 0, v2
    assert {(b["unit"], b["version"], b["status"], b["deficit"]) for b in v2.json()["budgets"]} == {
        ("230822", 2, "created", True), ("230881", 1, "unchanged", True)}
    assert count(ledger_db, "fl.budget") == 3

    show = ledger_db.cli("budget", "show", "--year", "2023", "--unit", "230822", "--json", user="o22")
    assert show.exit_code == 0, show
    [b] = show.json()
    assert (b["version"], b["revenue"], b["expenditure"], b["balance"], b["deficit"]) == \
        (2, "3500000.00", "3800000.00", "-300000.00", True)
    assert [(ln["line"], ln["kind"], ln["amount"]) for ln in b["lines"]] == [
        ("4001", "revenue", "2000000.00"), ("4101", "revenue", "1500000.00"),
        ("5001", "expenditure", "3600000.00"), ("5101", "expenditure", "200000.00")]
    text = ledger_db.cli("budget", "show", "--year", "2023", user="rev")
    assert text.stdout.count("DEFICIT planned") == 2
    # Officers see only their own unit's budgets (row security).
    assert [x["unit"] for x in ledger_db.cli("budget", "show", "--year", "2023", "--json", user="o22").json()] == ["230822"]

    bad = write_csv(tmp_path / "badbudget.csv", "year,unit,book,line,amount,component",
                    "2024,230822,RES,5001,100.00,", "2024,230822,RES,5001.inpatient,50.00,",
                    "2024,230822,RES,1003,10.00,", "2024,230822,RES,9999,10.00,", "24,230822,RES,4001,1.00,",
                    "2024,230822,RES,4001,1.00,", "2024,230822,RES,4001,2.00,")
    r = ledger_db.cli("budget", "import", str(bad), user="rev")
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1
    for row, col, reason in [(3, "line", "line 5001.inpatient is a sub-account of line 5001 (row 2)"),
                             (4, "line", "account 1003 is not a revenue"), (5, "line", "unknown account '9999'"),
                             (6, "year", "'24' is not a year"), (8, "line", "line 4001 appears again")]:
        assert f"badbudget.csv: row {row}, column {col}: {reason}" in text, (row, text)
    assert count(ledger_db, "fl.budget") == 3


def test_docs_list_every_command(ledger_db):
    """docs/imports.md documents every command this module adds."""
    doc = (Path(__file__).parents[2] / "docs" / "imports.md").read_text("utf-8")
    for cmd in ("handover open", "handover transfer", "register list", "register clear", "collect import",
                "pay import", "budget import", "budget show"):
        assert f"fundledger {cmd}" in doc, cmd
        r = ledger_db.cli(*cmd.split(), "--help")
        assert r.exit_code == 0, r
