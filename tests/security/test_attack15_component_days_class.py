"""ATTACK15 A6's class beyond the red team's backdated import: every way a posting reaches a
fund component's money in a physical account is held to S11's day-end rule (0125).

* one entry, several lines on the same component (the day's end is read after the last line);
* one statement holding the payment and, in another entry, money dated later (the day rows the
  statement itself wrote are walked);
* one *transaction* of several statements: a held payment confirmed before a held funding dated
  later, in one ``entry confirm`` (the payment's statement saw no later day; the deferred guard,
  which read only the balance at commit, now walks the transaction's days too);
* the pooled money in a physical account in total on the latest day (a unit's own pooled share
  stayed positive, so the deferred guard never fired: refused at the statement now);
* a pooled share of the city's expenditure account (0030), the same multi-statement gap;
* both import paths (the plain COPY path and the strict reader), a county officer's own manual
  entry, and what stays honest (money and payment on one day, a payment after the money).
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirm, entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
U, V = "230881", "230822"


def _fund(fin: psycopg.Connection, tag: str, comp: str, date: str, yuan: str, unit: str = U) -> None:
    """Collections of ``comp`` into the special account and down to the county's expenditure account."""
    post(fin,
         entry(f"{tag}-col-{comp}-{date}-{unit}", date, "EMP", leg("1003", unit, "D", yuan, "special", comp),
               leg("4001", unit, "C", yuan, component=comp)),
         entry(f"{tag}-down-{comp}-{date}-{unit}", date, "EMP", leg("1004", unit, "D", yuan, "county_exp", comp),
               leg("1003", unit, "C", yuan, "special", comp)))


def _payment(key: str, date: str, yuan: str, comp: str = "personal") -> dict:
    return entry(key, date, "EMP", leg("5001.inpatient", U, "D", yuan, component=comp),
                 leg("1004", U, "C", yuan, "county_exp", comp))


def _down(key: str, date: str, yuan: str, comp: str = "personal") -> dict:
    return entry(key, date, "EMP", leg("1004", U, "D", yuan, "county_exp", comp),
                 leg("1003", U, "C", yuan, "special", comp))


def _held(fin: psycopg.Connection, *docs: dict) -> list[int]:
    rows = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(list(docs)),)).fetchall()
    assert all(r["status"] == "held" for r in rows), rows
    return [int(r["held_id"]) for r in rows]


def _no_entry(ledger_db: LedgerDB, like: str) -> None:
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key LIKE %s",
                                  (f"%{like}%",)).fetchone()
    assert n is not None and n["n"] == 0, like


def _clean(ledger_db: LedgerDB) -> None:
    v = ledger_db.cli("--lang", "en", "verify", "--json", user="aud")
    doc = json.loads(v.stdout)
    bad = [(c["name"], c["findings"][:2]) for c in (*doc["checks"], *doc["independent"]["checks"]) if not c["ok"]]
    assert v.exit_code == 0 and not bad, bad


def test_one_entry_with_two_lines_on_the_component_is_judged_after_its_last_line(ledger_db: LedgerDB) -> None:
    """Two personal lines of 15,000 in one entry dated 10 March, the personal money arriving on
    20 March: the day's end is the sum of both lines (refused); an entry whose lines net to zero
    on the component (paid out and back in, the same day) leaves every day as it was (posted)."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "c1", "pooled", "2024-03-01", "100000.00")
    _fund(fin, "c1", "personal", "2024-03-20", "50000.00")
    two = entry("c1-two", "2024-03-10", "EMP", leg("5001.inpatient", U, "D", "15000.00", component="personal"),
                leg("5001.outpatient", U, "D", "15000.00", component="personal"),
                leg("1004", U, "C", "15000.00", "county_exp", "personal"),
                leg("1004", U, "C", "15000.00", "county_exp", "personal"))
    o81 = ledger_db.connect("o81", autocommit=True)
    with pytest.raises(psycopg.Error) as e:
        post(o81, two)
    assert "2024-03-10" in str(e.value), e.value
    _no_entry(ledger_db, "c1-two")


def test_one_statement_with_the_payment_and_later_money_is_refused(ledger_db: LedgerDB) -> None:
    """Held by finance and confirmed in one ``entry confirm``, the later money first: the payment's
    statement walks the day rows the money wrote (20 March) and refuses the 10 March payment."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "c2", "pooled", "2024-03-01", "100000.00")
    post(fin, entry("c2-col", "2024-03-01", "EMP", leg("1003", U, "D", "80000.00", "special", "personal"),
                    leg("4001", U, "C", "80000.00", component="personal")))
    ids = _held(fin, _down("c2-down", "2024-03-20", "50000.00"), _payment("c2-pay", "2024-03-10", "30000.00"))
    r = ledger_db.cli("--lang", "en", "entry", "confirm", *map(str, ids), user="rev")
    assert r.exit_code != 0 and "component_days" in r.stderr and "2024-03-10" in r.stderr, r
    _no_entry(ledger_db, "c2-pay")


def test_a_transaction_confirming_the_payment_before_the_money_is_refused(ledger_db: LedgerDB) -> None:
    """The same two held entries confirmed in the other order, in one transaction: the payment's
    statement meets no later day (the personal money goes below zero, which the deferred guard
    allows until commit) and the money's statement brings it back. At commit the guard walks the
    transaction's days: 10-19 March end at -30,000.00, refused — nothing of either is written."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "c3", "pooled", "2024-03-01", "100000.00")
    post(fin, entry("c3-col", "2024-03-01", "EMP", leg("1003", U, "D", "80000.00", "special", "personal"),
                    leg("4001", U, "C", "80000.00", component="personal")))
    ids = _held(fin, _payment("c3-pay", "2024-03-10", "30000.00"), _down("c3-money", "2024-03-20", "50000.00"))
    r = ledger_db.cli("--lang", "en", "entry", "confirm", *map(str, ids), user="rev")
    assert r.exit_code != 0 and "component_days" in r.stderr and "2024-03-10" in r.stderr, r
    _no_entry(ledger_db, "c3-pay")
    _no_entry(ledger_db, "c3-money")
    # In the honest order of dates (the money on 5 March) the same transaction posts.
    ok = _held(fin, _payment("c3-pay2", "2024-03-10", "30000.00"), _down("c3-money2", "2024-03-05", "50000.00"))
    assert [c["status"] for c in confirm(fin, ok)] == ["posted", "posted"]
    _clean(ledger_db)


def test_the_pooled_money_in_total_on_the_latest_day_is_held(ledger_db: LedgerDB) -> None:
    """The special account: 230822's pooled 100,000, 230881's personal 100,000; 60,000 of pooled
    money sent to 230881's county account (its own pooled share of the special account -60,000, a
    unit's share of the pool may be). A pooled payment of 70,000 out of the special account for
    230822 leaves 230822's share positive (30,000) but the pooled money in the account at -30,000
    in total — the personal accounts' money would pay it. Refused at once, by its figure."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, entry("c4-colp", "2024-03-01", "EMP", leg("1003", V, "D", "100000.00", "special", "pooled"),
                    leg("4001", V, "C", "100000.00", component="pooled")),
         entry("c4-colq", "2024-03-01", "EMP", leg("1003", U, "D", "100000.00", "special", "personal"),
               leg("4001", U, "C", "100000.00", component="personal")),
         _down("c4-down", "2024-03-02", "60000.00", "pooled"))
    pay = entry("c4-pay", "2024-03-03", "EMP", leg("5001.inpatient", V, "D", "70000.00", component="pooled"),
                leg("1003", V, "C", "70000.00", "special", "pooled"))
    [h] = _held(fin, pay)
    r = ledger_db.cli("--lang", "en", "entry", "confirm", str(h), user="rev")
    assert r.exit_code != 0 and "components_separate" in r.stderr and "-30,000.00" in r.stderr, r
    _no_entry(ledger_db, "c4-pay")
    ok = entry("c4-ok", "2024-03-03", "EMP", leg("5001.inpatient", V, "D", "40000.00", component="pooled"),
               leg("1003", V, "C", "40000.00", "special", "pooled"))
    post(fin, ok)
    _clean(ledger_db)


def test_a_pooled_share_paid_before_its_money_in_one_transaction_is_refused(ledger_db: LedgerDB) -> None:
    """S11's pooled shares (0030) had the same gap: 230800's RES share of the city expenditure account
    paid on 10 March and funded on 20 March, confirmed in one transaction in that order."""
    fin = ledger_db.connect("fin", autocommit=True)
    city = "230800"
    post(fin, entry("c5-col", "2024-03-01", "RES", leg("1003", city, "D", "80000.00", "special"),
                    leg("4001", city, "C", "80000.00")),
         entry("c5-colv", "2024-03-01", "RES", leg("1003", V, "D", "100000.00", "special"),
               leg("4001", V, "C", "100000.00")),
         entry("c5-downv", "2024-03-01", "RES", leg("1004", V, "D", "100000.00", "city_exp"),
               leg("1003", V, "C", "100000.00", "special")))    # the account holds 230822's money
    pay = entry("c5-pay", "2024-03-10", "RES", leg("5001.inpatient", city, "D", "30000.00"),
                leg("1004", city, "C", "30000.00", "city_exp"))
    down = entry("c5-down", "2024-03-20", "RES", leg("1004", city, "D", "50000.00", "city_exp"),
                 leg("1003", city, "C", "50000.00", "special"))
    ids = _held(fin, pay, down)
    r = ledger_db.cli("--lang", "en", "entry", "confirm", *map(str, ids), user="rev")
    assert r.exit_code != 0 and "pooled_share" in r.stderr and "2024-03-10" in r.stderr, r
    _no_entry(ledger_db, "c5-pay")


@pytest.mark.parametrize("path", ["plain", "reader"])
def test_both_import_paths_are_held_to_the_day_end(ledger_db: LedgerDB, tmp_path: Path, path: str) -> None:
    """A county officer's payments file, on the plain COPY path and on the strict reader (a quoted
    provider sends the file there): a personal claim dated before the personal money is refused on
    both, nothing written; the same claim dated on the day the money arrived imports on both."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, f"c6{path}", "pooled", "2024-03-01", "100000.00")
    _fund(fin, f"c6{path}", "personal", "2024-03-20", "50000.00")
    prov = '"某某医院"' if path == "reader" else "某某医院"

    def imp(name: str, date: str) -> object:
        f = tmp_path / f"{name}.csv"
        f.write_text(f"{PAY}\n{date},{U},EMP,{prov},inpatient,30000.00,{name.upper()},personal,county\n", "utf-8")
        return ledger_db.cli("--lang", "en", "pay", "import", str(f), "--json", user="o81")

    r = imp(f"c6{path}-1", "2024-03-10")
    assert r.exit_code != 0 and "component_days" in r.stdout + r.stderr, r  # type: ignore[attr-defined]
    ok = imp(f"c6{path}-2", "2024-03-20")
    assert ok.exit_code == 0, ok  # type: ignore[attr-defined]
    _clean(ledger_db)


def test_a_county_officers_manual_payment_dated_before_the_money_is_refused(ledger_db: LedgerDB) -> None:
    """The officer's manual claim (held: an officer's manual entry on the city's figures) confirmed
    by the bureau: the same rule, the same refusal, nothing written."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "c7", "pooled", "2024-03-01", "100000.00")
    _fund(fin, "c7", "personal", "2024-03-20", "50000.00")
    r = ledger_db.cli("--lang", "en", "entry", "post", "-", "--json", user="o81",
                      input=json.dumps([{"date": "2024-03-12", "book": "EMP", "idempotency_key": "c7-pay",
                                         "postings": [
                                             {"account": "5001.inpatient", "unit": U, "component": "personal",
                                              "side": "debit", "amount": "30000.00"},
                                             {"account": "1004", "unit": U, "holder": "county_exp",
                                              "component": "personal", "side": "credit", "amount": "30000.00"}]}]))
    assert r.exit_code == 0, r
    [row] = r.json()
    if row["status"] == "held":
        r = ledger_db.cli("--lang", "en", "entry", "confirm", str(row["held_id"]), user="rev")
    assert r.exit_code != 0 and "component_days" in r.stderr and "2024-03-12" in r.stderr, r
    _no_entry(ledger_db, "c7-pay")
