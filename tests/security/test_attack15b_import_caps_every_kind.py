"""ATTACK15b B7: 0108's daily cap on imports counted payments, collections and openings; the imports
of the region's reference data — budgets, insured headcounts, annual plans — were counted by no cap.

0122 counts them in the same day row (fl.manual_day.reference_rows) with a cap of their own, 20,000
new rows a region day for any user, budgets, headcounts and plans together (a plan file writes no
batch: fl.plan_import counts the lines of its new versions). The refusal is 0108's (import_daily_cap,
Chinese first, what to do next), and nothing is written. Each kind is tested: the CLI's refusal, the
count of an honest file, a re-run that writes nothing (never refused), a raw call, both verdicts
naming a day the DBA let past the cap, and the two caps apart.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.security.test_rules_rederived import offline

pytestmark = pytest.mark.db

CAP = 20_000
BUDGET = 'year,unit,book,line,amount,component\n2025,230822,RES,4001,"2,000,000.00",\n2025,230822,RES,5001,"1,000.00",\n'
INSURED = "year,unit,book,insured\n2025,230822,RES,1000\n2025,230881,RES,500\n"
PLAN = ("year,unit,book,period,kind,amount\n2025,230822,RES,Q1,expenditure,100.00\n"
        "2025,230822,RES,Q2,expenditure,100.00\n2025,230822,RES,Q3,expenditure,100.00\n"
        "2025,230822,RES,Q4,expenditure,100.00\n")
# kind -> (the CLI's words, the file, the new rows it writes)
KINDS = {"budget": (("budget", "import"), BUDGET, 2), "insured": (("insured", "import"), INSURED, 2),
         "plan": (("budget", "plan", "import"), PLAN, 4)}


def _file(tmp_path: Path, kind: str) -> str:
    p = tmp_path / f"{kind}.csv"
    p.write_text(KINDS[kind][1], encoding="utf-8")
    return str(p)


def _preset(db: LedgerDB, user: str, rows: int, *, imports: int = 0) -> None:
    db.admin().execute("INSERT INTO fl.manual_day (user_name, day, n, import_rows, reference_rows) "
                       "VALUES (%s, fl._region_today(), 0, %s, %s) ON CONFLICT (user_name, day) DO UPDATE "
                       "SET reference_rows = EXCLUDED.reference_rows, import_rows = EXCLUDED.import_rows",
                       (user, imports, rows))


def _counted(db: LedgerDB, user: str) -> int:
    r = db.admin().execute("SELECT reference_rows FROM fl.manual_day WHERE user_name = %s AND day = fl._region_today()",
                           (user,)).fetchone()
    return int(r["reference_rows"]) if r else 0


def _written(db: LedgerDB) -> tuple[int, int, int]:
    a = db.admin()
    return (int(a.execute("SELECT count(*) AS n FROM fl.budget").fetchone()["n"]),
            int(a.execute("SELECT count(*) AS n FROM fl.insured_count").fetchone()["n"]),
            int(a.execute("SELECT count(*) AS n FROM fl.budget_plan").fetchone()["n"]))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_b7_each_kind_counts_its_new_rows_and_a_rerun_adds_nothing(ledger_db: LedgerDB, tmp_path: Path,
                                                                   kind: str) -> None:
    words, _text, n = KINDS[kind]
    r = ledger_db.cli(*words, _file(tmp_path, kind), user="rev")
    assert r.exit_code == 0, r
    assert _counted(ledger_db, "rev") == n
    again = ledger_db.cli(*words, _file(tmp_path, kind), user="rev")
    assert _counted(ledger_db, "rev") == n, (again, "an unchanged file writes nothing and adds nothing")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_b7_each_kind_past_the_cap_is_refused_in_words_and_nothing_is_written(ledger_db: LedgerDB, tmp_path: Path,
                                                                             kind: str) -> None:
    words, _text, _n = KINDS[kind]
    _preset(ledger_db, "rev", CAP - 1)
    r = ledger_db.cli(*words, _file(tmp_path, kind), user="rev")
    assert r.exit_code != 0, r
    text = (r.stdout + r.stderr).replace(",", "")
    assert "import_daily_cap" in text and str(CAP - 1) in text and str(CAP) in text, text
    assert "tomorrow" in text and "insured headcounts and annual plans" in text and "Traceback" not in text
    assert _written(ledger_db) == (0, 0, 0) and _counted(ledger_db, "rev") == CAP - 1, "the refused file rolled back"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_b7_the_refusal_reads_in_chinese(ledger_db: LedgerDB, tmp_path: Path, kind: str) -> None:
    words, _text, _n = KINDS[kind]
    _preset(ledger_db, "rev", CAP)
    r = ledger_db.cli(*words, _file(tmp_path, kind), user="rev", env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "明天" in text and "预算、参保人数和年度计划" in text and "has already imported" not in text, text


def test_b7_a_raw_call_of_the_plan_import_is_counted_and_refused(ledger_db: LedgerDB) -> None:
    _preset(ledger_db, "rev", CAP)
    c = ledger_db.connect("rev")
    rows = [{"year": 2025, "unit": "230822", "book": "RES", "granularity": "quarter", "component": "",
             "kind": "expenditure", "period": 1, "amount": 100}]
    with pytest.raises(psycopg.Error) as ei:
        c.execute("SELECT * FROM fl.plan_import(%s::jsonb)", (json.dumps(rows),))
    c.rollback()
    assert ei.value.diag.constraint_name == "import_daily_cap", ei.value
    assert _written(ledger_db) == (0, 0, 0)


def test_b7_the_two_caps_are_apart(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """A day of claims files does not use up the reference data's cap, nor the other way round."""
    _preset(ledger_db, "rev", 0, imports=2_000_000)
    r = ledger_db.cli("insured", "import", _file(tmp_path, "insured"), user="rev")
    assert r.exit_code == 0, r


def _named(verify_json: str) -> list[tuple[str, str]]:
    d = json.loads(verify_json)
    checks = [*d["checks"], *d.get("independent", {}).get("checks", [])]
    return [(c["name"], str(f)) for c in checks for f in c["findings"] if "import_daily_cap" in str(f)]


@pytest.mark.parametrize("kind", ["budget", "plan"])
def test_b7_a_day_past_the_cap_is_named_by_both_verdicts(ledger_db: LedgerDB, tmp_path: Path, kind: str) -> None:
    """The DBA switches the cap off for a day: a budget batch, or a plan of 20,001 lines, written with
    the triggers off; both verdicts name the user and day, online and offline."""
    assert ledger_db.cli(*KINDS["insured"][0], _file(tmp_path, "insured"), user="rev").exit_code == 0
    admin = ledger_db.admin()
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")    # the cap's counter is not run
        if kind == "budget":
            admin.execute("INSERT INTO fl.import_batch (kind, file_name, file_sha256, rows_total, rows_posted, "
                          "entries, imported_by) VALUES ('budget', 'big.csv', repeat('a', 64), 20000, 20000, 0, 'rev')")
        else:
            pid = admin.execute("INSERT INTO fl.budget_plan (year, unit, book, version, granularity, content_hash, "
                                "imported_by) VALUES (2030, '230822', 'RES', 1, 'month', '\\x00', 'rev') RETURNING id"
                                ).fetchone()["id"]
            admin.execute("INSERT INTO fl.budget_plan_line (plan_id, granularity, component, kind, period, amount) "
                          "SELECT %s, 'month', 'c' || g / 12, 'expenditure', 1 + g %% 12, g "
                          "FROM generate_series(0, 19999) g",
                          (pid,))
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code != 0, v
    found = _named(v.stdout)
    assert {name for name, _f in found} >= {"held_entries", "workflows"}, found
    assert all("rev" in f and "20,002" in f and "reference data" in f for _name, f in found), found
    off = offline(ledger_db, tmp_path, "workflows")
    assert any("import_daily_cap" in str(f["message"]) for f in off), off


def test_b7_an_honest_day_of_every_kind_is_whole(ledger_db: LedgerDB, tmp_path: Path) -> None:
    for kind in sorted(KINDS):
        r = ledger_db.cli(*KINDS[kind][0], _file(tmp_path, kind), user="rev")
        assert r.exit_code == 0, (kind, r)
    assert _counted(ledger_db, "rev") == 8
    v = ledger_db.cli("verify", user="aud")
    assert v.exit_code == 0, v.stdout[-2000:]
