"""ATTACK14 V3 and V10, the class: a year close is dated the last day of the year it closes, in the
database, the library, the CLI and both verdicts; an officer reads its own unit's provisional
shortfall and no other unit's (0100)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post
from tests.security.test_attack7_rules import named, suspended, verdict
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db

CLOSE = "fl.close_year(integer,date,jsonb)"


def _flows(db: LedgerDB) -> None:
    post(db.connect("fin"), collect("v3v-a", "2023-03-01", "230822", "1000.00"),
         collect("v3v-b", "2023-09-01", "230822", "500.00"), collect("v3v-c", "2023-04-01", "230881", "300.00"))


@pytest.mark.parametrize("day", ["2023-06-30", "2023-01-01", "2023-12-30"])
def test_the_database_refuses_a_close_dated_before_the_years_end(ledger_db: LedgerDB, day: str) -> None:
    _flows(ledger_db)
    rev = ledger_db.connect("rev")
    with pytest.raises(psycopg.Error) as ei:
        rev.execute("SELECT * FROM fl.close_year_from_books(2023, %s::date)", (day,)).fetchall()
    rev.rollback()
    assert ei.value.diag.constraint_name == "year_close_date", ei.value
    assert "2023-12-31" in str(ei.value), ei.value
    n = ledger_db.admin().execute("SELECT (SELECT count(*) FROM fl.year_close) + (SELECT count(*) FROM fl.entry "
                                  "WHERE kind = 'year_close') + (SELECT count(*) FROM fl.closed_period) AS n").fetchone()
    assert n["n"] == 0


def test_the_cli_closes_on_the_last_day_and_says_what_to_do_otherwise(ledger_db: LedgerDB) -> None:
    _flows(ledger_db)
    early = ledger_db.cli("--lang", "en", "close", "year", "--year", "2023", "--date", "2023-06-30", user="rev")
    assert early.exit_code == 1 and "--date 2023-12-31" in early.stderr, early
    assert "Traceback" not in early.stderr
    zh = ledger_db.cli("--lang", "zh", "close", "year", "--year", "2023", "--date", "2023-06-30", user="rev")
    assert zh.exit_code == 1 and "12-31" in zh.stderr and "年" in zh.stderr, zh
    done = ledger_db.cli("close", "year", "--year", "2023", "--json", user="rev")     # no --date: 31 December
    assert done.exit_code == 0, done
    assert done.json()["closed_on"] == "2023-12-31", done.stdout
    dates = ledger_db.admin().execute("SELECT DISTINCT entry_date::text AS d FROM fl.entry WHERE kind = 'year_close' "
                                      "UNION SELECT closed_on::text FROM fl.year_close").fetchall()
    assert {r["d"] for r in dates} == {"2023-12-31"}
    bal = ledger_db.cli("balance", "RES:4001:230822", "--as-of", "2023-06-30", "--json", user="aud")
    assert bal.exit_code == 0 and "1000.00" in bal.stdout, bal


def test_both_verdicts_name_a_close_dated_before_the_years_end(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """With fl.close_year's new check off for one call (as a DBA could), the 2023 close is dated
    30 June: the independent verdict names it, online and offline, once (not again per entry)."""
    _flows(ledger_db)
    admin, rev = ledger_db.admin(), ledger_db.connect("rev", autocommit=True)
    with suspended(admin, CLOSE, "IF p_date <> v_end THEN", "IF false THEN"):
        rev.execute("SELECT * FROM fl.close_year_from_books(2023, '2023-06-30')").fetchall()
    found = verdict(ledger_db)
    f = named(found, "workflows", words="year_close_date")
    assert "the close of 2023 for book RES is dated 2023-06-30" in str(f["message"]), f
    assert sum("year_close_date" in str(x["message"]) for x in found["workflows"]) == 1, found["workflows"]
    off = [x["message"] for x in offline(ledger_db, tmp_path, "workflows")]
    assert f["message"] in off


def test_an_officer_reads_its_own_units_provisional_shortfall_only(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin"), collect("v10v-a", "2024-03-01", "230822", "1000.00"),
         collect("v10v-b", "2024-03-02", "230881", "700.00"))
    city = ledger_db.cli("report", "shortfall", "--year", "2024", "--json", user="aud")
    assert city.exit_code == 0, city
    assert {"230822", "230881"} <= {x["unit"] for x in city.json()}
    mine = ledger_db.cli("report", "shortfall", "--year", "2024", "--json", user="o22")
    assert mine.exit_code == 0, mine
    assert [x for x in city.json() if x["unit"] == "230822"] == mine.json()
    # The reader itself, called directly: the officer's own rows, the city's all (as the close computes them).
    o = ledger_db.connect("o22")
    assert {r["unit"] for r in o.execute("SELECT unit FROM fl.year_figures_read(2024, 'RES')").fetchall()} == {"230822"}
    assert o.execute("SELECT count(*) AS n FROM fl.year_figures_read(2024, 'EMP') WHERE unit <> '230822'"
                     ).fetchone()["n"] == 0
    whole = ledger_db.admin().execute("SELECT * FROM fl.year_figures_v3(2024, 'RES')").fetchall()
    aud = ledger_db.connect("aud").execute("SELECT * FROM fl.year_figures_read(2024, 'RES')").fetchall()
    assert [dict(r) for r in aud] == [dict(r) for r in whole]
