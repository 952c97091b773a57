"""预拨: each county's expenditure account is topped up to months × monthly basis,
never negative, from the budget (default) or last year's spending; --dry-run writes
nothing; a second run posts nothing. Figures worked out by hand below.

Budgets 2024 (5xxx lines only count; 4001 is revenue):
* 230822 RES: 5001 1,200,000.00 + 5101 120,000.00 = 1,320,000.00 → 110,000.00 a month →
  target 330,000.00; held 30,000.00 → amount 300,000.00
* 230822 EMP pooled 5001 360,000.00 → 30,000.00 → 90,000.00; personal 120,000.00 →
  10,000.00 → 30,000.00; nothing held → amounts 90,000.00 and 30,000.00
* 230826 RES: 240,000.00 → 20,000.00 → 60,000.00; already holds 80,000.00 → 0
* 230881 RES: 1,000,000.06 → 83,333.338… → 83,333.34 (half-up) → 250,000.02 → 250,000.02
* 230800 (the city itself) is never pre-allocated.
Prior-year basis: 230881 spent 120,000.12 in 2023 → 10,000.01 a month → 30,000.03,
held by then 250,000.02 → 0.
"""

from __future__ import annotations

import psycopg
import pytest

from ledger.store import imports
from tests.helpers import collect, entry, leg, pay_from_special, post
from tests.integration._cycle import add_budget, bal, fen

pytestmark = pytest.mark.db


def test_preallocation_tops_up_counties(ledger_db):
    admin = ledger_db.admin()
    fin = ledger_db.connect("fin")
    post(fin,
         collect("c22", "2023-06-15", "230822", "2000000.00"), collect("c81", "2023-06-15", "230881", "500000.00"),
         collect("c26", "2023-06-15", "230826", "200000.00"), collect("c00", "2023-06-15", "230800", "900000.00"),
         collect("c22p", "2023-12-15", "230822", "500000.00", book="EMP", component="pooled"),
         collect("c22q", "2023-12-15", "230822", "100000.00", book="EMP", component="personal"),
         entry("held22", "2023-12-20", "RES", leg("1004", "230822", "D", "30000.00", "county_exp"),
               leg("1003", "230822", "C", "30000.00", "special")),
         entry("held26", "2023-12-20", "RES", leg("1004", "230826", "D", "80000.00", "county_exp"),
               leg("1003", "230826", "C", "80000.00", "special")),
         pay_from_special("p81-2023", "2023-06-30", "230881", "120000.12"))
    fin.commit()
    add_budget(admin, 2024, "230822", "RES", {"5001": "1200000.00", "5101": "120000.00", "4001": "2000000.00"})
    add_budget(admin, 2024, "230822", "EMP", {("5001", "pooled"): "360000.00", ("5001", "personal"): "120000.00"})
    add_budget(admin, 2024, "230826", "RES", {"5001": "240000.00"})
    add_budget(admin, 2024, "230881", "RES", {"5001": "1000000.06"})
    add_budget(admin, 2024, "230800", "RES", {"5001": "5000000.00"})
    entries = lambda: admin.execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]  # noqa: E731
    before = entries()

    dry = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-02", "--dry-run", "--json", user="rev")
    assert dry.exit_code == 0, dry
    got = [(r["unit"], r["book"], r["component"], r["monthly_basis"], r["months"], r["target"], r["held"], r["amount"],
            r["status"]) for r in dry.json()]
    assert got == [
        ("230822", "EMP", "personal", "10000.00", 3, "30000.00", "0.00", "30000.00", "to post"),
        ("230822", "EMP", "pooled", "30000.00", 3, "90000.00", "0.00", "90000.00", "to post"),
        ("230822", "RES", "", "110000.00", 3, "330000.00", "30000.00", "300000.00", "to post"),
        ("230826", "RES", "", "20000.00", 3, "60000.00", "80000.00", "0.00", "nothing to post"),
        ("230881", "RES", "", "83333.34", 3, "250000.02", "0.00", "250000.02", "to post"),
    ]
    assert entries() == before                       # the dry run wrote nothing
    text = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-02", "--dry-run", user="rev")
    assert "dry run, nothing written" in text.stdout and "250,000.02" in text.stdout

    refused = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-02", user="fin")
    assert refused.exit_code == 1 and "needs the reviewer role" in refused.stderr, refused
    assert entries() == before

    # Held for city finance (0046): nothing moves until a finance user confirms.
    done = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-02", "--json", user="rev")
    assert done.exit_code == 0, done
    assert [(r["unit"], r["book"], r["component"], r["status"]) for r in done.json()] == [
        ("230822", "EMP", "personal", "held"), ("230822", "EMP", "pooled", "held"), ("230822", "RES", "", "held"),
        ("230826", "RES", "", "nothing to post"), ("230881", "RES", "", "held")]
    held = [r["held_id"] for r in done.json() if r["status"] == "held"]
    assert len(held) == 4 and all(held)
    assert entries() == before and bal(admin, "RES", "1004", "230822", "county_exp") == fen("30000.00")
    text = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-02", user="rev")
    assert f"fundledger --as FINANCE entry confirm {' '.join(map(str, held))}" in text.stdout, text
    # Running it again while held holds nothing more; the held entries are named again.
    again = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-03", "--months", "4", "--json", user="rev")
    assert [(r["status"], r["held_id"]) for r in again.json()] == [("held", h) for h in held[:3]] + [
        ("nothing to post", None), ("held", held[3])]
    # A second reviewer may not confirm it: finance executes the transfer out of its special account.
    no = ledger_db.cli("entry", "confirm", str(held[0]), user="rev2")
    assert no.exit_code == 1 and "a finance user confirms it" in no.stderr, no
    ok = ledger_db.cli("entry", "confirm", *map(str, held), user="fin")
    assert ok.exit_code == 0, ok
    assert entries() == before + 4
    assert bal(admin, "RES", "1004", "230822", "county_exp") == fen("330000.00")
    assert bal(admin, "RES", "1003", "230822", "special") == fen("1670000.00")     # 2,000,000 − 30,000 − 300,000
    assert bal(admin, "EMP", "1004", "230822", "county_exp", "pooled") == fen("90000.00")
    assert bal(admin, "EMP", "1004", "230822", "county_exp", "personal") == fen("30000.00")
    assert bal(admin, "RES", "1004", "230826", "county_exp") == fen("80000.00")
    assert bal(admin, "RES", "1004", "230881", "county_exp") == fen("250000.02")
    assert bal(admin, "RES", "1004", "230800", "city_exp") == 0
    key = admin.execute("SELECT kind, created_by, source->>'confirmed_by' AS conf FROM fl.entry "
                        "WHERE idempotency_key = 'prealloc:2024:230822:EMP:pooled'").fetchone()
    assert (key["kind"], key["created_by"], key["conf"]) == ("preallocation", "rev", "fin")

    # Idempotent per (year, unit, book, component): running again (even with more months) posts nothing.
    again = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-03", "--months", "4", "--json", user="rev")
    assert again.exit_code == 0, again
    assert [r["status"] for r in again.json()] == ["already posted"] * 3 + ["nothing to post", "already posted"]
    assert entries() == before + 4

    prior = ledger_db.cli("preallocate", "--year", "2024", "--date", "2024-01-02", "--basis", "prior-year",
                          "--dry-run", "--json", user="rev")
    assert prior.exit_code == 0, prior
    # (ATTACK21 N10) 230881's figures begin on 15 June 2023: 120,000.12 over June to December, 7 months
    assert [(r["unit"], r["monthly_basis"], r["target"], r["held"], r["amount"]) for r in prior.json()] == [
        ("230881", "17142.87", "51428.61", "250000.02", "0.00")]


def test_database_refuses_bad_preallocations(ledger_db, tmp_path):
    fin = ledger_db.connect("fin")
    post(fin, collect("c00", "2023-12-15", "230800", "900000.00"), collect("c22", "2023-12-15", "230822", "900.00"))
    fin.commit()
    rev = ledger_db.connect("rev")

    def refused(c: psycopg.Connection, constraint: str, year: int, date: str, lines: str) -> None:
        with pytest.raises(psycopg.Error) as ei:
            c.execute("SELECT * FROM fl.preallocate(%s, %s, %s::jsonb)", (year, date, lines))
        c.rollback()
        assert ei.value.diag.constraint_name == constraint, ei.value

    refused(fin, "permission_denied", 2024, "2024-01-02", '[{"unit": "230822", "book": "RES", "amount": 100}]')
    refused(rev, "preallocation_county_only", 2024, "2024-01-02", '[{"unit": "230800", "book": "RES", "amount": 100}]')
    refused(rev, "preallocation_date", 2024, "2023-12-31", '[{"unit": "230822", "book": "RES", "amount": 100}]')
    refused(rev, "posting_amount_positive", 2024, "2024-01-02", '[{"unit": "230822", "book": "RES", "amount": 0}]')
    # The amount is the policy's: at most twelve months of the county's basis beyond what it holds
    # (no budget for 2024 and nothing spent in 2023: nothing at all).
    refused(rev, "preallocation_cap", 2024, "2024-01-02", '[{"unit": "230822", "book": "RES", "amount": 100}]')
    budget = tmp_path / "budget_2024.csv"
    budget.write_text("year,unit,book,line,amount,component\n2024,230822,RES,5001,\"12,000,000.00\",\n", "utf-8")
    imports.import_file(rev, "budget", budget)
    rev.commit()
    refused(rev, "preallocation_cap", 2024, "2024-01-02", '[{"unit": "230822", "book": "RES", "amount": 1200000001}]')
    # The special account cannot be overdrawn by a pre-allocation either: held within the cap, it is
    # refused when finance confirms it (the transfer is made then), and nothing moves.
    held = rev.execute("SELECT * FROM fl.preallocate(2024, '2024-01-02', %s::jsonb)",
                       ('[{"unit": "230822", "book": "RES", "amount": 90090001}]',)).fetchone()
    rev.commit()
    assert held["status"] == "held" and held["entry_id"] is None
    fin = ledger_db.connect("fin")
    with pytest.raises(psycopg.Error) as e:
        fin.execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))
    assert e.value.diag.constraint_name == "no_overdraft", e.value
    fin.rollback()
    # Finance rejects it (with a reason, kept); the bureau holds a smaller one again, under the next key.
    fin.execute("SELECT * FROM fl.reject_entry(%s, 'more than the special account holds')", (held["held_id"],))
    fin.commit()
    again = rev.execute("SELECT * FROM fl.preallocate(2024, '2024-01-02', %s::jsonb)",
                        ('[{"unit": "230822", "book": "RES", "amount": 100000}]',)).fetchone()
    rev.commit()
    assert (again["status"], again["idempotency_key"]) == ("held", "prealloc:2024:230822:RES#1")
    assert fin.execute("SELECT status FROM fl.confirm_entry(%s)", (again["held_id"],)).fetchone()["status"] == "posted"
