"""Z7's class, continued (0108): what a user imports is counted per region day, with a cap of its own.

0073/0078 cap an officer's manual entries (2,000) and their postings (20,000) a region day; imports
were "not counted", so an officer moved more in a day through files than the cap allows by hand —
without bound. Now every import that posts (payments, collections, openings) counts its new rows
in the user's day row (fl.manual_day.import_rows): 100,000 a region day for an officer, 2,000,000
for the city bureau and city finance (a cap of its own: a claims file is the fund's ordinary way
of paying, not a correction by hand). The refusal is typed (import_daily_cap), says what to do
(tomorrow, split the file, or the city bureau with city finance confirming), and writes nothing.
Both verdicts name a day past the cap above the rule's point.

The counter is preset just below the cap (a test cannot afford 100,000 rows): the rows a real
import then adds pass it. The variants: the officer's CLI and raw SQL, the city bureau's cap, a
collections import by city finance, a re-run that writes nothing (never refused), the manual cap
and the import cap apart, and the DBA's day past the cap named by both verdicts, online and offline.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.security.test_rules_rederived import _claims, _fund, offline

pytestmark = pytest.mark.db


def _preset(db: LedgerDB, user: str, rows: int, manual: int = 0) -> None:
    db.admin().execute("INSERT INTO fl.manual_day (user_name, day, n, import_rows) VALUES (%s, fl._region_today(), %s, "
                       "%s) ON CONFLICT (user_name, day) DO UPDATE SET import_rows = EXCLUDED.import_rows, "
                       "n = EXCLUDED.n", (user, manual, rows))


def _counted(db: LedgerDB, user: str) -> int:
    r = db.admin().execute("SELECT import_rows FROM fl.manual_day WHERE user_name = %s AND day = fl._region_today()",
                           (user,)).fetchone()
    return int(r["import_rows"]) if r else 0


def _payments(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'payments'").fetchone()["n"])


def _named(verify_json: str, rule: str) -> list[tuple[str, str]]:
    """(check, finding) of both verdicts' findings naming ``rule`` (the first pass's checks and the
    independent verdict's)."""
    d = json.loads(verify_json)
    checks = [*d["checks"], *d.get("independent", {}).get("checks", [])]
    return [(c["name"], str(f)) for c in checks for f in c["findings"] if rule in str(f)]


TWO = ("2024-03-27,230881,RES,某某医院,inpatient,800.00,CAP-1,,county",
       "2024-03-27,230881,RES,某某医院,inpatient,700.00,CAP-2,,county")


def test_an_import_counts_its_new_rows_in_the_day(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    r = ledger_db.cli("pay", "import", str(_claims(tmp_path / "p.csv", *TWO)), user="o81")
    assert r.exit_code == 0, r
    assert _counted(ledger_db, "o81") == 2
    again = ledger_db.cli("pay", "import", str(_claims(tmp_path / "p.csv", *TWO)), user="o81")
    assert again.exit_code == 0 and _counted(ledger_db, "o81") == 2, "rows already imported add nothing"


def test_an_officer_past_the_cap_is_refused_in_words_and_nothing_is_written(ledger_db: LedgerDB,
                                                                             tmp_path: Path) -> None:
    _fund(ledger_db)
    _preset(ledger_db, "o81", 99_999)
    r = ledger_db.cli("pay", "import", str(_claims(tmp_path / "p.csv", *TWO)), "--json", user="o81")
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "import_daily_cap" in text and "99999" in text.replace(",", "") and "100000" in text.replace(",", ""), text
    assert "tomorrow" in text and "city bureau" in text and "Traceback" not in text, text
    assert _payments(ledger_db) == 0 and _counted(ledger_db, "o81") == 99_999, "the refused file rolled back"
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.import_batch").fetchone()["n"]
    assert n == 0


def test_the_refusal_reads_in_chinese(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    _preset(ledger_db, "o81", 100_000)
    r = ledger_db.cli("pay", "import", str(_claims(tmp_path / "p.csv", *TWO)), user="o81",
                      env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "明天" in text and "市医保局" in text and "has already imported" not in text, text


def test_a_raw_call_of_the_import_is_counted_and_refused(ledger_db: LedgerDB) -> None:
    _fund(ledger_db)
    _preset(ledger_db, "o81", 100_000)
    c = ledger_db.connect("o81")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', 'x', 'inpatient', '800.00', 'CAP-R',"
              " '', 'county')")
    with pytest.raises(psycopg.Error) as ei:
        c.execute("SELECT fl.import_payments('by-hand.csv', NULL)")
    c.rollback()
    assert ei.value.diag.constraint_name == "import_daily_cap", ei.value
    assert _payments(ledger_db) == 0


def test_the_city_has_a_cap_of_its_own(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    _preset(ledger_db, "rev", 1_999_999)
    f = _claims(tmp_path / "p.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,CAP-B1,,county",
                "2024-03-27,230881,RES,某某医院,inpatient,700.00,CAP-B2,,county")
    r = ledger_db.cli("pay", "import", str(f), user="rev")
    assert r.exit_code != 0 and "import_daily_cap" in r.stdout + r.stderr, r
    assert "2000000" in (r.stdout + r.stderr).replace(",", "")
    _preset(ledger_db, "rev", 150_000)            # past an officer's cap, within the city's
    ok = ledger_db.cli("pay", "import", str(f), user="rev")
    assert ok.exit_code == 0, ok


def test_collections_count_in_the_same_import_cap(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _preset(ledger_db, "fin", 2_000_000)
    f = tmp_path / "c.csv"
    f.write_text("date,unit,book,source,amount,reference\n2024-03-01,230881,RES,contribution,100.00,COL-CAP-1\n",
                 encoding="utf-8")
    r = ledger_db.cli("collect", "import", str(f), user="fin")
    assert r.exit_code != 0 and "import_daily_cap" in r.stdout + r.stderr, r


def test_the_manual_cap_and_the_import_cap_are_apart(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    _preset(ledger_db, "o81", 0, manual=2_000)        # the day's manual entries all used
    r = ledger_db.cli("pay", "import", str(_claims(tmp_path / "p.csv", *TWO)), user="o81")
    assert r.exit_code == 0, r


def test_a_day_past_the_cap_is_named_by_both_verdicts(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The DBA switches the cap off for a day (here: the day's batches, as a day past the cap leaves
    them): both verdicts name the user and day, online and offline."""
    _fund(ledger_db)
    assert ledger_db.cli("pay", "import", str(_claims(tmp_path / "p.csv", *TWO)), user="o81").exit_code == 0
    admin = ledger_db.admin()
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")    # the cap's counter is not run
        admin.execute("INSERT INTO fl.import_batch (kind, file_name, file_sha256, rows_total, rows_posted, entries, "
                      "imported_by) VALUES ('payments', 'big.csv', repeat('a', 64), 150000, 150000, 3, 'o81')")
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code != 0, v
    found = _named(v.stdout, "import_daily_cap")
    assert {name for name, _f in found} >= {"held_entries", "workflows"}, found
    assert all("o81" in f and "150,002" in f for _name, f in found), found
    off = offline(ledger_db, tmp_path, "workflows")
    assert any("import_daily_cap" in str(f["message"]) for f in off), off


def test_an_honest_day_is_whole(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    assert ledger_db.cli("pay", "import", str(_claims(tmp_path / "p.csv", *TWO)), user="o81").exit_code == 0
    v = ledger_db.cli("verify", user="aud")
    assert v.exit_code == 0, v.stdout[-2000:]
