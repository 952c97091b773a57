"""Row security where 0008 added it: an officer reads nothing of another unit's budget,
import batches and lines, year-end table or users — through raw SQL on its own login and
through the CLI. City roles still read everything."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ledger.store import yearend
from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

DATA = Path(__file__).parent.parent / "integration" / "data"


def test_an_officer_reads_only_its_own_units_budget(ledger_db: LedgerDB) -> None:
    assert ledger_db.cli("budget", "import", str(DATA / "budget.csv"), user="rev").exit_code == 0
    o22, rev = ledger_db.connect("o22"), ledger_db.connect("rev")
    units = lambda c: {r["unit"] for r in c.execute("SELECT unit FROM fl.budget_current").fetchall()}  # noqa: E731
    assert units(rev) == {"230822", "230881"}
    assert units(o22) == {"230822"}
    # The justification of a fund request reads the budget too.
    q = "SELECT fl.request_justification('230881', 'RES', '', 2023, 1) -> 'annual_budget_expenditure' AS b"
    assert int(rev.execute(q).fetchone()["b"]) > 0
    assert int(o22.execute(q).fetchone()["b"]) == 0
    # The report of another unit is refused to the officer, saying why (ATTACK20b M7: it was an
    # empty report, exit 0); the report without --unit shows only its own unit's budget.
    mine = ledger_db.cli("report", "budget-execution", "--year", "2023", "--unit", "230822", "--json", user="o22")
    other = ledger_db.cli("report", "budget-execution", "--year", "2023", "--unit", "230881", "--json", user="o22")
    every = ledger_db.cli("report", "budget-execution", "--year", "2023", "--json", user="o22")
    seen = ledger_db.cli("report", "budget-execution", "--year", "2023", "--unit", "230881", "--json", user="rev")
    assert mine.exit_code == 0 and every.exit_code == 0 and seen.exit_code == 0, (mine, every, seen)
    assert other.exit_code != 0 and "230822" in other.stderr and not other.stdout, other
    budgets = lambda r: [x.get("budget") for s in r.json()["sections"] for x in s["rows"]  # noqa: E731
                         if x.get("budget") not in (None, "0.00")]
    units_shown = lambda r: {x.get("unit") for s in r.json()["sections"] for x in s["rows"]} - {None}  # noqa: E731
    assert budgets(mine) and budgets(seen)
    assert units_shown(every) == {"230822"}, units_shown(every)


def test_an_officer_reads_only_its_own_imports(ledger_db: LedgerDB) -> None:
    assert ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin").exit_code == 0
    o81, fin = ledger_db.connect("o81"), ledger_db.connect("fin")
    assert fin.execute("SELECT count(*) AS n FROM fl.import_batch").fetchone()["n"] == 1
    assert o81.execute("SELECT count(*) AS n FROM fl.import_batch").fetchone()["n"] == 0
    lines = lambda c: c.execute("SELECT l.reference FROM fl.import_line l ORDER BY 1").fetchall()  # noqa: E731
    assert len(lines(fin)) == 6
    # 230881's one row is its own: the line of an entry on its unit.
    assert [r["reference"] for r in lines(o81)] == [
        r["reference"] for r in fin.execute(
            "SELECT l.reference FROM fl.import_line l JOIN fl.posting p ON p.entry_id = l.entry_id "
            "WHERE p.unit = '230881' GROUP BY 1 ORDER BY 1").fetchall()]
    assert len(lines(o81)) == 1


def test_an_officer_reads_only_its_own_user_row(ledger_db: LedgerDB) -> None:
    o22, admin = ledger_db.connect("o22"), ledger_db.connect("admin")
    assert [r["name"] for r in o22.execute("SELECT name FROM fl.app_user").fetchall()] == ["o22"]
    assert len(admin.execute("SELECT name FROM fl.app_user").fetchall()) == 8


def test_an_officer_reads_only_its_own_rows_of_the_year_end_table(ledger_db: LedgerDB) -> None:
    from tests.integration.test_yearend import _year

    _year(ledger_db)
    rev = ledger_db.connect("rev")
    yearend.close_year(rev, 2024, dt.date(2024, 12, 31))
    rev.commit()
    o22 = ledger_db.connect("o22")
    assert o22.execute("SELECT count(*) AS n FROM fl.year_close").fetchone()["n"] == 0
    units = lambda c: {r["unit"] for x in c.execute("SELECT result FROM fl.year_closes(2024)").fetchall()  # noqa: E731
                       for r in x["result"]["rows"]}
    assert units(o22) == {"230822"}
    assert units(rev) == {"230800", "230822", "230881"}
    report = ledger_db.cli("report", "shortfall", "--year", "2024", "--json", user="o22")
    assert report.exit_code == 0, report
    assert {r["unit"] for r in report.json()} == {"230822"} and not any(r.get("provisional") for r in report.json())
    assert json.dumps(report.json()).count("230881") == 0
