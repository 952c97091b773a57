"""ATTACK21 N6 (redteam21's test_rt21_first_year_reload.py, adapted; its N7 test is another helper's):
a region reload moved ``first_year`` past the books — accepted on a ledger holding entries dated 2023
(and units whose registered joining date is 2021-01-01), then the verdict named every earlier entry
"before the region's first year 2024" for ever. Now ``init --region`` refuses such a file before
writing anything, naming what blocks it (an entry, a held entry, a joining date, a budget year); the
database refuses the same at COMMIT whoever writes it (sql/0175, deferred like 0166's guard); the
verdict judges each entry by the first_year in force when it was written (``Rules.setting_at``) and
names a version that moved it past an entry (the guard's twin) instead of the entry; moving the first
year earlier is accepted and ``audit check-digest`` names the change."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.data import __file__ as data_init
from tests.conftest import LedgerDB
from tests.helpers import collect, post

pytestmark = pytest.mark.db
JIAMUSI = Path(data_init).parent / "jiamusi.toml"
CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"FUNDLEDGER_LANG": "zh"}


def _region(tmp_path: Path, year: int) -> Path:
    region = tmp_path / f"region-{year}.toml"
    region.write_text(re.sub(r"(?m)^first_year = 2021", f"first_year = {year}", JIAMUSI.read_text("utf-8")), "utf-8")
    return region


def funded_ledger(ledger_db: LedgerDB) -> LedgerDB:
    """collections.csv imported by finance (test_attack7_rules' ``funded``)."""
    from ledger.store import imports
    from tests.security.test_attack7_rules import DATA

    fin = ledger_db.connect("fin")
    assert imports.import_file(fin, "collections", DATA / "collections.csv").rows_posted == 6
    fin.commit()
    return ledger_db


def _first_year(ledger_db: LedgerDB) -> int:
    return int(ledger_db.admin().execute("SELECT (value #>> '{}')::int AS y FROM fl.setting WHERE key = 'first_year'"
                                         ).fetchone()["y"])


def _findings(out: Any, check: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if o.get("name") == check and "findings" in o:
                found.extend(o["findings"])
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(out)
    return found


def test_first_year_moved_past_the_books_is_refused(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """RT21 N6: refused in Chinese first, naming the 2023 entry; nothing written; verify stays whole."""
    [r] = post(ledger_db.connect("fin", autocommit=True), collect("fy-c", "2023-03-05", "230822", "100.00"))
    assert ledger_db.cli("verify", "--json", user="aud").exit_code == 0
    r2 = ledger_db.cli("init", "--region", str(_region(tmp_path, 2024)), env=ZH)
    assert r2.exit_code != 0, r2.stdout[-1500:]
    text = r2.stdout + r2.stderr
    assert "Traceback" not in text and CJK.search(text.strip().splitlines()[0]), text
    assert "2024" in text and "2023-03-05" in text and str(r["entry_id"]) in text, text
    assert _first_year(ledger_db) == 2021
    after = ledger_db.cli("verify", "--json", user="aud")
    assert after.exit_code == 0, _findings(after.json(), "entry_dates")


def test_first_year_past_the_registered_joining_dates_is_refused(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Variant: no entry before 2024, but every unit's joining date is 2021-01-01 (defaulted at the
    handover): a first year after them is refused naming one."""
    r = ledger_db.cli("init", "--region", str(_region(tmp_path, 2024)), env=ZH)
    assert r.exit_code != 0, r.stdout[-1500:]
    text = r.stdout + r.stderr
    assert "2021-01-01" in text and "230800" in text and CJK.search(text.strip().splitlines()[0]), text
    assert _first_year(ledger_db) == 2021


def test_the_database_refuses_the_move_at_commit(ledger_db: LedgerDB) -> None:
    """Variant: the owner's raw UPDATE (no init) is refused at COMMIT, entry_date_range, naming the entry;
    a held entry dated before the new first year blocks it the same (checked on the reader)."""
    post(ledger_db.connect("fin", autocommit=True), collect("fy-db", "2023-03-05", "230822", "100.00"))
    c = ledger_db.connect(None)
    c.execute("UPDATE fl.setting SET value = '2024' WHERE key = 'first_year'")
    with pytest.raises(psycopg.Error, match=r"first_year 2024 is after what the books already hold: fl\.entry \d+ "
                                            r"is dated 2023-03-05") as e:
        c.commit()
    assert e.value.diag.constraint_name == "entry_date_range", e.value
    assert _first_year(ledger_db) == 2021
    # the reader's other halves
    a = ledger_db.admin()
    for year, kind in ((2022, "fl.unit_joined"), (2024, "fl.entry")):
        got = a.execute("SELECT kind FROM fl._first_year_blocker(%s)", (year,)).fetchone()
        assert got is not None and got["kind"] == kind, (year, got)
    assert a.execute("SELECT count(*) AS n FROM fl._first_year_blocker(2021)").fetchone()["n"] == 0


def test_the_verdict_judges_an_entry_by_the_first_year_of_its_time(ledger_db: LedgerDB) -> None:
    """K1's class: the guard taken off for the move (a superuser's DISABLE TRIGGER, put back in the
    same transaction): the 2023 entry, written while 2021 was the first year, is not accused; the
    first_year version recorded after it is named, once."""
    [r] = post(ledger_db.connect("fin", autocommit=True), collect("fy-v", "2023-03-05", "230822", "100.00"))
    a = ledger_db.admin()
    a.execute("ALTER TABLE fl.setting DISABLE TRIGGER setting_first_year_covers_books")
    try:
        a.execute("UPDATE fl.setting SET value = '2024' WHERE key = 'first_year'")
    finally:
        a.execute("ALTER TABLE fl.setting ENABLE TRIGGER setting_first_year_covers_books")
    v = ledger_db.cli("verify", "--json", user="aud")
    found = _findings(v.json(), "entry_dates")
    assert v.exit_code == 1, v.stdout[-1500:]
    assert not [f for f in found if f.get("entry_id") == r["entry_id"]], found
    moved = [f for f in found if "fl.setting first_year set to 2024" in f["message"]]
    assert len(moved) == 1 and f"entry {r['entry_id']} dated 2023-03-05" in moved[0]["message"], found


def test_an_entry_written_before_the_first_year_of_its_time_stays_named(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The other side: an entry dated before the first year in force when it was written (its guards
    taken off, as test_attack7_rules does) stays named after a reload moves the first year earlier
    than its date (accepted: nothing on the books becomes wrong) — a later reload does not excuse it."""
    from tests.helpers import reclass
    from tests.security.test_attack7_rules import _post, suspended

    funded = funded_ledger(ledger_db)
    admin, rev = funded.admin(), funded.connect("rev", autocommit=True)
    with suspended(admin, "fl.entry_inserted()", "n.entry_date < make_date(lim.first, 1, 1)",
                   "n.entry_date < make_date(1900, 1, 1)"), \
            suspended(admin, "fl.unit_first_day_record()", "WHERE j.joined_on IS NULL OR n.day < j.joined_on",
                      "WHERE j.joined_on IS NULL OR n.day < '1900-01-01'"):
        r = _post(rev, reclass("fy-w", "2019-06-01", "230822", "10.00"))
    assert r["status"] == "posted", r
    assert funded.cli("init", "--region", str(_region(tmp_path, 2018))).exit_code == 0
    assert _first_year(funded) == 2018
    v = funded.cli("verify", "--json", user="aud")
    named = [f for f in _findings(v.json(), "entry_dates") if f.get("entry_id") == r["entry_id"]]
    assert v.exit_code == 1 and named, v.stdout[-1500:]
    assert "before the region's first year 2021 in force when it was written" in named[0]["message"], named


def test_moving_the_first_year_earlier_is_named_by_check_digest(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Moving first_year earlier lets entries be dated before the pooling began: accepted (nothing on
    the books becomes wrong), and ``audit check-digest`` of a digest filed before names the change."""
    post(ledger_db.connect("fin", autocommit=True), collect("fy-d", "2023-03-05", "230822", "100.00"))
    digest = tmp_path / "d.json"
    assert ledger_db.cli("audit", "digest", "--out", str(digest), user="aud").exit_code == 0
    r = ledger_db.cli("init", "--region", str(_region(tmp_path, 2019)))
    assert r.exit_code == 0, r.stdout[-1500:]
    assert _first_year(ledger_db) == 2019
    assert ledger_db.cli("verify", "--json", user="aud").exit_code == 0
    c = ledger_db.cli("audit", "check-digest", str(digest), "--json", user="aud")
    bad = [f["message"] for ch in c.json()["checks"] for f in ch["findings"]]
    assert c.exit_code == 1 and any("first_year" in m and "2021" in m and "2019" in m for m in bad), bad
