"""ATTACK6 T17 (and T9's unpaid-claims variant), through the roles' own logins: one reviewer
alone paid ¥1,500,000 of claims out of a county's expenditure account (`register clear` on an
unpaid-claims item, Dr 5001.other / Cr 1004 county_exp, posted at once). Since 0051 that
clearing is held: its maker cannot confirm it, an officer cannot, and nothing moves — no entry,
no clearing row, the item unchanged — until city finance or a second reviewer confirms it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import confirm_openings, entry, leg, post

DATA = Path(__file__).parent.parent / "integration" / "data"


def _refused(conn: psycopg.Connection, sql: str, params: Any = None) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e:
        conn.execute(sql, params)
    return e.value


def _one(ledger_db: LedgerDB, sql: str, params: Any = None) -> dict[str, Any]:
    row = ledger_db.admin().execute(sql, params).fetchone()
    assert row is not None
    return dict(row)


def _county_with_claims(ledger_db: LedgerDB) -> int:
    """The integration data's handover of 230822 (unpaid claims HN-REG-3: 120,000.00), its fiscal
    arrears' first 200,000.00 arrived, and 150,000.00 in its expenditure account; returns the
    claims item's id."""
    r = ledger_db.cli("handover", "open", str(DATA / "opening.csv"), "--date", "2023-01-01", user="rev")
    assert r.exit_code == 0, r
    confirm_openings(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    fiscal = _one(ledger_db, "SELECT id FROM fl.register_item WHERE reference = 'HN-REG-1'")["id"]
    got = fin.execute("SELECT * FROM fl.clear_register(%s, 20000000, '2023-03-01', NULL)", (fiscal,)).fetchone()
    assert got is not None and got["status"] == "posted"    # arrears arriving: finance's record, at once
    post(fin,
         entry("top-up", "2023-03-04", "RES", leg("1004", "230822", "D", "150000.00", "county_exp"),
               leg("1003", "230822", "C", "150000.00", "special")))
    return int(_one(ledger_db, "SELECT id FROM fl.register_item WHERE reference = 'HN-REG-3'")["id"])


def _moved(ledger_db: LedgerDB, item: int) -> tuple[int, int, int, int]:
    """What a clearing changes: the item's cleared amount, its clearing rows, the clearing
    entries, and the county expenditure account's balance."""
    r = _one(ledger_db, """
        SELECT (SELECT cleared FROM fl.register_item WHERE id = %(i)s) AS cleared,
               (SELECT count(*) FROM fl.register_clearing WHERE item_id = %(i)s) AS rows,
               (SELECT count(*) FROM fl.entry WHERE kind = 'register_clear') AS entries,
               (SELECT balance FROM fl.account WHERE book = 'RES' AND chart_code = '1004' AND unit = '230822'
                  AND holder = 'county_exp') AS bal""", {"i": item})
    return int(r["cleared"]), int(r["rows"]), int(r["entries"]), int(r["bal"])


def test_one_reviewer_cannot_pay_unpaid_claims_out_of_a_county_account_alone(ledger_db: LedgerDB) -> None:
    """T17: the reviewer's clearing is held; the reviewer itself (raw SQL or CLI), the county's
    officer and the reviewer through `confirm_entries` cannot post it; a second reviewer can."""
    item = _county_with_claims(ledger_db)
    before = _moved(ledger_db, item)
    rev = ledger_db.connect("rev", autocommit=True)
    out = rev.execute("SELECT * FROM fl.clear_register(%s, 3000000, '2023-03-05', NULL)", (item,)).fetchone()
    assert out is not None and (out["status"], out["entry_id"], out["outstanding"]) == ("held", None, 12000000)
    hid = out["held_id"]
    assert _moved(ledger_db, item) == before                       # nothing moved, nothing cleared
    for who, rule in [("rev", "maker_checker"), ("o22", "permission_denied")]:
        e = _refused(ledger_db.connect(who, autocommit=True), "SELECT * FROM fl.confirm_entry(%s)", (hid,))
        assert e.diag.constraint_name == rule, (who, e)
    e = _refused(rev, "SELECT * FROM fl.confirm_entries(%s)", ([hid],))
    assert e.diag.constraint_name == "maker_checker", e
    self_cli = ledger_db.cli("entry", "confirm", str(hid), user="rev")
    assert self_cli.exit_code == 1 and "[maker_checker]" in self_cli.stderr
    # The clearing row and the item cannot be written around the function either.
    for sql in ("INSERT INTO fl.register_clearing (item_id, amount, cleared_on, entry_id, idempotency_key) "
                "VALUES (%s, 1, '2023-03-05', NULL, 'register-clear:x')",
                "UPDATE fl.register_item SET cleared = cleared + 1 WHERE id = %s"):
        e = _refused(rev, sql, (item,))
        assert isinstance(e, psycopg.errors.InsufficientPrivilege), e
    assert _moved(ledger_db, item) == before

    done = ledger_db.connect("rev2", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)", (hid,)).fetchone()
    assert done is not None and done["status"] == "posted"
    row = _one(ledger_db, "SELECT kind, created_by, source->>'confirmed_by' AS c, source->>'register_item' AS i "
                          "FROM fl.entry WHERE id = %s", (done["entry_id"],))
    assert (row["kind"], row["created_by"], row["c"], row["i"]) == ("register_clear", "rev", "rev2", str(item))
    cleared, rows, entries, bal = _moved(ledger_db, item)
    assert (cleared, rows, entries, bal) == (before[0] + 3000000, before[1] + 1, before[2] + 1, before[3] - 3000000)
    clr = _one(ledger_db, "SELECT entry_id, amount, cleared_on::text AS d FROM fl.register_clearing WHERE item_id = %s",
               (item,))
    assert (clr["entry_id"], clr["amount"], clr["d"]) == (done["entry_id"], 3000000, "2023-03-05")
    verdict = ledger_db.cli("verify", user="aud")
    assert verdict.exit_code == 0, verdict.stdout


def test_held_clearings_never_clear_more_than_is_owed_and_a_rerun_holds_nothing_new(ledger_db: LedgerDB) -> None:
    """What is held counts against the item: two holds cannot together exceed what is owed; the
    same command with its key again returns the same held entry; finance may confirm; a rejected
    clearing frees its amount."""
    item = _county_with_claims(ledger_db)
    rev = ledger_db.connect("rev", autocommit=True)
    a = rev.execute("SELECT * FROM fl.clear_register(%s, 10000000, '2023-03-05', 'register-clear:claims-a')",
                    (item,)).fetchone()
    again = rev.execute("SELECT * FROM fl.clear_register(%s, 10000000, '2023-03-05', 'register-clear:claims-a')",
                        (item,)).fetchone()
    assert a is not None and again is not None
    assert (again["status"], again["held_id"]) == ("held", a["held_id"])
    e = _refused(rev, "SELECT * FROM fl.clear_register(%s, 2000001, '2023-03-05', NULL)", (item,))
    assert e.diag.constraint_name == "register_not_overcleared" and "held for confirmation" in str(e), e
    b = rev.execute("SELECT * FROM fl.clear_register(%s, 2000000, '2023-03-05', NULL)", (item,)).fetchone()
    assert b is not None and b["status"] == "held" and b["held_id"] != a["held_id"]
    fin = ledger_db.connect("fin", autocommit=True)
    fin.execute("SELECT * FROM fl.reject_entry(%s, 'claims not yet audited')", (a["held_id"],))
    c = rev.execute("SELECT * FROM fl.clear_register(%s, 10000000, '2023-03-06', NULL)", (item,)).fetchone()
    assert c is not None and c["status"] == "held"
    done = fin.execute("SELECT * FROM fl.confirm_entries(%s)", ([b["held_id"], c["held_id"]],)).fetchall()
    assert [d["status"] for d in done] == ["posted", "posted"]
    assert _one(ledger_db, "SELECT cleared, amount FROM fl.register_item WHERE id = %s", (item,)) == {
        "cleared": 12000000, "amount": 12000000}
    dup = rev.execute("SELECT * FROM fl.clear_register(%s, 2000000, '2023-03-05', %s)",
                      (item, f"register-clear:{item}:2")).fetchone()
    assert dup is not None and dup["status"] == "duplicate"


def test_the_cli_names_the_held_clearing_and_who_confirms_it(ledger_db: LedgerDB) -> None:
    """`register clear` prints the held id and the command; arrears arriving in the special
    account (finance's record of the bank, like a collection) still post at once."""
    item = _county_with_claims(ledger_db)
    r = ledger_db.cli("register", "clear", str(item), "--amount", "1000", "--date", "2023-03-05", user="rev")
    assert r.exit_code == 0, r
    hid = _one(ledger_db, "SELECT max(id) AS h FROM fl.pending_entry WHERE kind = 'register_clear'")["h"]
    assert f"held entry {hid}" in r.stdout and f"fundledger entry confirm {hid}" in r.stdout, r.stdout
    fiscal = _one(ledger_db, "SELECT id FROM fl.register_item WHERE reference = 'HN-REG-1'")["id"]
    f = ledger_db.cli("register", "clear", str(fiscal), "--amount", "1000", "--date", "2023-03-05", "--json", user="fin")
    assert f.exit_code == 0 and f.json()["status"] == "posted" and f.json()["held_id"] is None, f
    pol = _one(ledger_db, "SELECT string_agg(rule, ' | ') AS r FROM fl.manual_policy()")["r"]
    assert "clearing of unpaid provider claims" in pol and "county's handover open" in pol


def test_one_reviewer_cannot_put_a_countys_opening_balance_on_a_bank_account_alone(ledger_db: LedgerDB,
                                                                                     tmp_path: Path) -> None:
    """T9: `handover open` of ¥900,000,000 on 230881's special account is held (0052): nothing is
    on the legacy account, `handover transfer` has nothing to move, the maker cannot confirm;
    finance's confirmation posts it."""
    f = tmp_path / "op2.csv"
    f.write_text("unit,book,item,amount,reference,note\n230881,RES,special_account,900000000.00,HO-230881-X,\n",
                 encoding="utf-8")
    r = ledger_db.cli("handover", "open", str(f), "--date", "2023-01-01", "--json", user="rev")
    assert r.exit_code == 0, r
    held = r.json()["held"]
    assert len(held) == 1 and r.json()["entries"] == 0
    assert _one(ledger_db, "SELECT count(*) AS n FROM fl.entry WHERE kind = 'opening'")["n"] == 0
    moved = ledger_db.cli("handover", "transfer", "--unit", "230881", "--date", "2023-01-02", user="fin")
    assert moved.exit_code == 1
    e = _refused(ledger_db.connect("rev", autocommit=True), "SELECT * FROM fl.confirm_entry(%s)", (held[0],))
    assert e.diag.constraint_name == "maker_checker", e
    e = _refused(ledger_db.connect("o81", autocommit=True), "SELECT * FROM fl.confirm_entry(%s)", (held[0],))
    assert e.diag.constraint_name in ("permission_denied", "not_found"), e
    again = ledger_db.cli("handover", "open", str(f), "--date", "2023-01-01", "--json", user="rev")
    assert again.exit_code == 0 and again.json()["held"] == [], again
    done = ledger_db.connect("fin", autocommit=True).execute("SELECT * FROM fl.confirm_entry(%s)", (held[0],)).fetchone()
    assert done is not None and done["status"] == "posted"
    row = _one(ledger_db, "SELECT kind, idempotency_key, created_by, source->>'confirmed_by' AS c FROM fl.entry "
                          "WHERE id = %s", (done["entry_id"],))
    assert (row["kind"], row["idempotency_key"], row["created_by"], row["c"]) == (
        "opening", "opening:230881:HO-230881-X", "rev", "fin")
