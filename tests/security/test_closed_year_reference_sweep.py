"""ATTACK17 E6's class (0138): every per-year reference record the year's reports read is final
once its year is closed — one guard, ``fl._closed_year_reference``, in the database.

* the sweep: every table of fl with a year column (or whose rows belong to one that has) is
  either guarded (``GUARDED``) or named here with why it is not a reference record of the year
  (``NOT_REFERENCE``) — a new per-year table fails this test until it is one or the other;
* a first version is refused too (a closed year's funding report, plan and budget execution stay
  as its close saw them), in Chinese with what to do instead, nothing written; raw SQL as well.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db

# The reference records of a year: what its budget execution, plan and funding reports read.
GUARDED = {"budget", "budget_line", "budget_plan", "budget_plan_line", "insured_count"}
# Tables with a year that are not reference data of the year (each with its own rules for a closed year).
NOT_REFERENCE = {
    "year_close": "the close itself",
    "fund_request": "a workflow, held by its own guard (0143, fl._closed_year_request: the closed year's performance "
                    "review reads its approved requests, so none is submitted or approved after the close); its "
                    "money is posted as entries, which the closed periods and the year close hold",
    "register_item": "a register item's opening year; clearings are entries, held by the closed periods",
    "seal": "the seal chain of posted entries (per fiscal year), not a figure a report reads",
    "seal_queue": "entries waiting for their seal",
    "voucher_counter": "voucher numbering per fiscal year",
}
YEAR_COLUMNS = ("year", "fiscal_year")


def test_every_per_year_table_is_guarded_or_named(ledger_db: LedgerDB) -> None:
    c = ledger_db.admin()
    with_year = {r["t"] for r in c.execute(
        """SELECT DISTINCT cl.relname AS t FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid
            WHERE cl.relnamespace = 'fl'::regnamespace AND cl.relkind IN ('r', 'p') AND NOT cl.relispartition
              AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY (%s)""", (list(YEAR_COLUMNS),)).fetchall()}
    guarded = {r["t"] for r in c.execute(
        """SELECT cl.relname AS t FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid
            WHERE t.tgfoid = 'fl._closed_year_reference()'::regprocedure AND t.tgenabled = 'O'
              AND (t.tgtype & 2) <> 0 AND (t.tgtype & 4) <> 0""").fetchall()}   # BEFORE, INSERT
    assert guarded == GUARDED, guarded
    unnamed = with_year - GUARDED - set(NOT_REFERENCE)
    assert not unnamed, (f"{sorted(unnamed)} have a year: guard them with fl._closed_year_reference (a reference "
                         "record a year's report reads) or name them in NOT_REFERENCE with why not")
    assert set(NOT_REFERENCE) <= with_year, set(NOT_REFERENCE) - with_year


def _close_2023(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("e6s-c", "2023-03-01", "230822", "1000.00"))
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r


def _counts(ledger_db: LedgerDB) -> tuple[int, ...]:
    row = ledger_db.admin().execute(
        "SELECT (SELECT count(*) FROM fl.budget) AS b, (SELECT count(*) FROM fl.budget_plan) AS p, "
        "(SELECT count(*) FROM fl.insured_count) AS i").fetchone()
    return (row["b"], row["p"], row["i"])


@pytest.mark.parametrize(("command", "text", "said"), [
    (("budget", "import"), "year,unit,book,line,amount\n2023,230822,RES,4001,1000.00\n", "预算"),
    (("budget", "plan", "import"), "year,unit,book,period,kind,amount\n2023,230822,RES,Q1,expenditure,10.00\n",
     "年度收支计划"),
])
def test_a_first_version_for_a_closed_year_is_refused_in_chinese(ledger_db: LedgerDB, tmp_path: Path,
                                                                 command: tuple[str, ...], text: str, said: str) -> None:
    _close_2023(ledger_db)
    before = _counts(ledger_db)
    f = tmp_path / "f.csv"
    f.write_text(text, "utf-8")
    r = ledger_db.cli("--lang", "zh", *command, str(f), user="rev")
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r
    assert "year_closed_reference" in r.stderr and "已结账" in r.stderr and said in r.stderr, r.stderr
    assert "决算" in r.stderr, r.stderr          # what to do instead: an open year, or a note to the final accounts
    assert _counts(ledger_db) == before
    # the next year is open: the same record for 2024 is taken
    f.write_text(text.replace("2023,", "2024,"), "utf-8")
    assert ledger_db.cli(*command, str(f), user="rev").exit_code == 0


def test_a_closed_years_first_headcount_is_taken_its_correction_refused_in_chinese(ledger_db: LedgerDB,
                                                                                    tmp_path: Path) -> None:
    """(0142, ATTACK17b F10) headcounts often arrive after the books close: a FIRST headcount for a
    closed year fills a gap and is taken (no figure the close used changes); a correction of it
    (version 2) is refused as final, in Chinese, nothing written; verify stays clean."""
    _close_2023(ledger_db)
    f = tmp_path / "f.csv"
    f.write_text("year,unit,book,insured,reason\n2023,230822,RES,600,\n", "utf-8")
    assert ledger_db.cli("insured", "import", str(f), user="rev").exit_code == 0
    before = _counts(ledger_db)
    f.write_text("year,unit,book,insured,reason\n2023,230822,RES,5,late correction\n", "utf-8")
    r = ledger_db.cli("--lang", "zh", "insured", "import", str(f), user="rev")
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r
    assert "year_closed_reference" in r.stderr and "已结账" in r.stderr and "参保人数" in r.stderr, r.stderr
    assert "决算" in r.stderr, r.stderr
    assert _counts(ledger_db) == before
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 0, v.stdout[-3000:]


def test_raw_sql_is_held_too(ledger_db: LedgerDB) -> None:
    _close_2023(ledger_db)
    c = ledger_db.admin()
    for sql in ("INSERT INTO fl.budget_plan (year, unit, book, version, granularity, content_hash) "
                "VALUES (2023, '230822', 'RES', 1, 'quarter', '\\x00')",
                "INSERT INTO fl.budget (year, unit, book, version, content_hash) VALUES (2023, '230822', 'RES', 1, '\\x00')"):
        with pytest.raises(psycopg.Error) as e:
            c.execute(sql)
        assert e.value.diag.constraint_name == "year_closed_reference"


def test_the_verdict_names_a_reference_row_written_after_the_close_with_the_guard_off(ledger_db: LedgerDB) -> None:
    """The rule is re-derived from rows (year_closed_reference, workflows): a headcount slipped in
    for a closed year with the guard switched off for one statement is named by verify."""
    _close_2023(ledger_db)
    c = ledger_db.admin()
    c.execute("ALTER TABLE fl.budget_plan DISABLE TRIGGER budget_plan_closed_year")
    c.execute("INSERT INTO fl.budget_plan (year, unit, book, version, granularity, content_hash) "
              "VALUES (2023, '230822', 'RES', 1, 'quarter', '\\x00')")
    c.execute("ALTER TABLE fl.budget_plan ENABLE TRIGGER budget_plan_closed_year")
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code != 0
    assert "(year_closed_reference)" in v.stdout and "annual plan" in v.stdout, v.stdout[-3000:]


def test_a_closed_years_request_approved_with_the_guard_off_is_named(ledger_db: LedgerDB) -> None:
    """(0143, ATTACK17b F9) the request guard is re-derived: a 2023 request submitted before the
    close and approved after it with fund_request_closed_year off is named by verify, judged by
    where the history recorded the approval against the close."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("e6s-c", "2023-03-01", "230822", "1000.00"))
    assert ledger_db.cli("request", "submit", "--year", "2023", "--quarter", "4", "--amount", "100.00",
                         "--note", "q4", user="o22").exit_code == 0
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r
    rid = ledger_db.admin().execute("SELECT max(id) AS id FROM fl.fund_request").fetchone()["id"]
    refused = ledger_db.cli("--lang", "zh", "request", "approve", str(rid), "--date", "2024-01-05", user="rev")
    assert refused.exit_code == 1 and "year_closed_reference" in refused.stderr and "Traceback" not in refused.stderr
    assert ledger_db.cli("verify", "--json", user="aud").exit_code == 0
    c = ledger_db.admin()
    c.execute("ALTER TABLE fl.fund_request DISABLE TRIGGER fund_request_closed_year")
    ap = ledger_db.cli("request", "approve", str(rid), "--date", "2024-01-05", user="rev")
    c.execute("ALTER TABLE fl.fund_request ENABLE TRIGGER fund_request_closed_year")
    assert ap.exit_code == 0, ap
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code != 0 and "(year_closed_reference)" in v.stdout and "approve (event" in v.stdout, v.stdout[-3000:]
