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


def test_a_headcount_is_read_by_one_whole_number_rule(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """(0151, ATTACK18 G7) a headcount is digits, or one to three digits then groups of three
    after each comma — the thousands separators every amount allows — read by fl.imp_whole; a
    comma that separates no thousands (a decimal comma, a typo) is refused naming the file, the row,
    the column and the rule, in Chinese, and nothing is written (before: every comma was stripped,
    "1,5" was 15)."""
    f = tmp_path / "人数.csv"
    f.write_text('year,unit,book,insured\n2022,230822,RES,"1,5"\n2022,230881,RES,"12,3456"\n'
                 '2022,230826,RES,"1,234"\n', encoding="utf-8")
    r = ledger_db.cli("--lang", "zh", "insured", "import", str(f), user="rev")
    out = r.stdout + r.stderr
    assert r.exit_code != 0 and "Traceback" not in out, r
    for said in ("人数.csv", "insured", "“1,5”不是整数", "“12,3456”不是整数", "千位分隔符"):
        assert said in out, (said, out)
    assert "第 2 行" in out and "第 3 行" in out and "第 4 行" not in out, out   # the well-formed row is not named
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.insured_count").fetchone()["n"] == 0
    # separators where they belong, plain digits, surrounding blanks: taken; a number too large is
    # named by its range, not by the comma rule
    f.write_text('year,unit,book,insured\n2022,230822,RES,"1,234,567"\n2022,230881,RES, 2500 \n'
                 '2022,230826,RES,0\n', encoding="utf-8")
    assert ledger_db.cli("insured", "import", str(f), user="rev").exit_code == 0
    rows = ledger_db.admin().execute("SELECT unit, insured FROM fl.insured_count ORDER BY unit").fetchall()
    assert [(x["unit"], x["insured"]) for x in rows] == [("230822", 1234567), ("230826", 0), ("230881", 2500)]
    f.write_text('year,unit,book,insured\n2023,230822,RES,"200,000,000"\n', encoding="utf-8")
    r = ledger_db.cli("insured", "import", str(f), user="rev")
    assert r.exit_code != 0 and "0 to 100,000,000" in r.stdout + r.stderr and "separate thousands" not in r.stdout + r.stderr, r
    c = ledger_db.admin()
    for text, want in (("1,234", 1234), ("1234", 1234), ("001", 1), ("1,5", None), (",,,7", None), ("1,0,0", None),
                       ("12,34", None), ("1234,567", None), (",123", None), ("123,", None), ("1.5", None),
                       ("-1", None), ("", None), ("1" * 19, None), ("１２", None)):
        assert c.execute("SELECT fl.imp_whole(%s) AS n", (text,)).fetchone()["n"] == want, text
