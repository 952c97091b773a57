"""Insured headcounts (sql/0025_funding.sql) are the denominator of the funding-standard
report: whoever could lower a county's headcount would turn a short subsidy into one that
meets the standard. Attacks through a role's own login and raw SQL: only the city bureau
records them, through the import; nobody edits or deletes a version (not even the
database's superuser, short of dropping the trigger — which verify then names through the
record history); an officer reads its own unit's only."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def _file(tmp_path: Path) -> str:
    p = tmp_path / "insured.csv"
    p.write_text("year,unit,book,insured\n2022,230822,RES,1000\n2022,230881,RES,500\n", encoding="utf-8")
    return str(p)


def test_headcounts_are_written_only_by_the_bureau_through_the_import(ledger_db: LedgerDB, tmp_path: Path) -> None:
    for user in ("o22", "fin", "aud"):
        r = ledger_db.cli("insured", "import", _file(tmp_path), user=user)
        assert r.exit_code != 0, (user, r)
    assert ledger_db.cli("insured", "import", _file(tmp_path), user="rev").exit_code == 0

    for user in ("o22", "rev", "fin"):
        c = ledger_db.connect(user, autocommit=True)
        for sql in ("UPDATE fl.insured_count SET insured = 1 WHERE unit = '230822'",
                    "DELETE FROM fl.insured_count",
                    "INSERT INTO fl.insured_count (year, unit, book, version, insured, batch_id, row_no) "
                    "SELECT 2022, '230822', 'RES', 2, 1, batch_id, 2 FROM fl.insured_count LIMIT 1"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute(sql)
        # the definer import itself checks the caller's role, whatever stage it is given
        if user != "rev":
            with pytest.raises(psycopg.Error):
                c.execute("SELECT fl.import_insured('x.csv', '')")
    # Even the superuser cannot rewrite a version (append-only trigger).
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
        ledger_db.admin().execute("UPDATE fl.insured_count SET insured = 1 WHERE unit = '230822'")
    rows = ledger_db.connect("aud").execute("SELECT unit, insured FROM fl.insured_count ORDER BY unit").fetchall()
    assert [(r["unit"], r["insured"]) for r in rows] == [("230822", 1000), ("230881", 500)]


def test_an_officer_reads_only_its_own_units_headcount(ledger_db: LedgerDB, tmp_path: Path) -> None:
    assert ledger_db.cli("insured", "import", _file(tmp_path), user="rev").exit_code == 0
    seen = ledger_db.connect("o22").execute("SELECT unit FROM fl.insured_count").fetchall()
    assert [r["unit"] for r in seen] == ["230822"]
    shown = ledger_db.cli("insured", "show", "--year", "2022", "--json", user="o22")
    assert shown.exit_code == 0 and [r["unit"] for r in shown.json()] == ["230822"], shown
