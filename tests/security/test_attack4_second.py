"""ATTACK3 R4's addendum (sql/0036_second_person.sql): one city user alone rewrote the
year's figures. A reviewer or finance posted a manual entry on revenue, expenditure or fund
balance (3xxx-5xxx: the inputs of the year-end rule that decides who pays a deficit) for any
unit, and reversed a year-close entry, alone. Every role's manual entry on 3xxx-5xxx and every
reversal of a workflow entry (or of an entry on 3xxx-5xxx) is now held until a different user
confirms it; each attack below is made through the attacker's own login."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db


def _n(db: LedgerDB, sql: str, *params: object) -> int:
    return int(db.admin().execute(sql, params).fetchone()["n"])


@pytest.mark.parametrize("who", ["rev", "fin"])
@pytest.mark.parametrize("debit, credit", [
    ("2001", "5001.inpatient"),        # a county's benefit expenditure taken off
    ("4001", "2001"),                  # its revenue taken off
    ("3001", "2001"),                  # its fund balance moved
])
def test_a_city_users_entry_on_the_year_end_rules_inputs_is_held(ledger_db: LedgerDB, who: str, debit: str,
                                                                  credit: str) -> None:
    me = ledger_db.connect(who, autocommit=True)
    doc = entry(f"r4b-{debit}-{credit}", "2024-01-20", "RES", leg(debit, "230822", "D", "300000000.00"),
                leg(credit, "230822", "C", "300000000.00"), memo="reclass")
    row = me.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),)).fetchone()
    assert row["status"] == "held" and row["entry_id"] is None, row
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry") == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as ei:
        me.execute("SELECT * FROM fl.confirm_entry(%s)", (row["held_id"],))
    assert ei.value.diag.constraint_name == "maker_checker"
    assert "a second person confirms" in str(ei.value)
    # An officer may not confirm a city user's entry; a second city user may.
    o22 = ledger_db.connect("o22", autocommit=True)
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as ei:
        o22.execute("SELECT * FROM fl.confirm_entry(%s)", (row["held_id"],))
    assert ei.value.diag.constraint_name == "permission_denied"
    other = ledger_db.connect("rev2" if who == "rev" else "rev", autocommit=True)
    assert other.execute("SELECT * FROM fl.confirm_entry(%s)", (row["held_id"],)).fetchone()["status"] == "posted"
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry WHERE kind = 'manual'") == 1


def test_the_cli_says_the_entry_is_held_and_the_second_person_posts_it(ledger_db: LedgerDB) -> None:
    doc = entry("r4b-cli", "2024-01-20", "RES", leg("5401", "230881", "D", "12.00"), leg("2001", "230881", "C", "12.00"))
    r = ledger_db.cli("--lang", "en", "entry", "post", "-", "--json", user="fin", input=json.dumps([doc]))
    assert r.exit_code == 0, r
    held = r.json()[0]
    assert held["status"] == "held" and held["entry_id"] is None, held
    c = ledger_db.cli("entry", "confirm", str(held["held_id"]), "--json", user="rev")
    assert c.exit_code == 0 and c.json()[0]["status"] == "posted", c


def _closed_2024(ledger_db: LedgerDB) -> int:
    fin = ledger_db.connect("fin")
    post(fin, collect("c22", "2024-03-10", "230822", "1000.00"))
    fin.commit()
    done = ledger_db.cli("close", "year", "2024", "--date", "2024-12-31", "--json", user="rev")
    assert done.exit_code == 0, done
    row = ledger_db.admin().execute("SELECT min(id) AS id FROM fl.entry WHERE kind = 'year_close'").fetchone()
    assert row["id"] is not None
    return int(row["id"])


@pytest.mark.parametrize("who", ["rev", "fin"])
def test_a_reversal_of_a_year_close_entry_is_refused(ledger_db: LedgerDB, who: str) -> None:
    """Held for a second person (R4) until 0082 (ATTACK10 X13); now refused outright, for either
    city role: a close of a closed year reversed into the next brings the closed year's revenue
    into the open year's result. Nothing is held or written; the refusal says what to do instead."""
    close = _closed_2024(ledger_db)
    me = ledger_db.connect(who, autocommit=True)
    held = _n(ledger_db, "SELECT count(*) AS n FROM fl.pending_entry")
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as ei:
        me.execute("SELECT * FROM fl.reverse_entry(%s, 'undo the close', '2025-01-05', 'undo-close')", (close,))
    assert "entry of the open year" in str(ei.value), ei.value
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry WHERE reverses = %s", close) == 0
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.pending_entry") == held


def test_a_reversal_of_a_plain_reclassification_still_posts_at_once(ledger_db: LedgerDB) -> None:
    """What is not held: a manual entry on 1101/2001 alone, and its reversal."""
    rev = ledger_db.connect("rev", autocommit=True)
    doc = entry("r4b-plain", "2024-01-20", "RES", leg("1101", "230822", "D", "5.00"), leg("2001", "230822", "C", "5.00"))
    row = rev.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),)).fetchone()
    assert row["status"] == "posted", row
    fin = ledger_db.connect("fin", autocommit=True)
    undo = fin.execute("SELECT * FROM fl.reverse_entry(%s, 'typo', '2024-01-21', 'undo-plain')",
                       (row["entry_id"],)).fetchone()
    assert undo["status"] == "posted", undo


def test_the_policy_in_words_says_so(ledger_db: LedgerDB) -> None:
    rules = [r["rule"] for r in ledger_db.connect("aud").execute("SELECT * FROM fl.manual_policy()").fetchall()]
    assert any("3xxx-5xxx" in r and "whoever makes it" in r for r in rules), rules
