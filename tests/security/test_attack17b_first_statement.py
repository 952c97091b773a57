"""ATTACK17b F1 (MED): D4's limit, attacked — a NEW unit's first statement sets its first day.

0130 (ATTACK16b D4) records a unit's first day in the ledger once, from the statement that first
posts on one of its fund figures, and no later entry moves it. For a unit with no fund figure yet —
a county just registered with the city's pooled fund — that statement is whoever posts first: city
finance, alone (collections post at once), posts 0.01 dated a year back as the unit's first fund
figure, and that back date IS the unit's first day. Months payable (可支付月数) then divides by a
year of history the unit never had: its first quarter's red (2.38 months) reads "excess".

The red team's test idea: register a new county, let finance's back-dated 0.01 be its first
fund-figure posting, then post its honest first quarter and read the monitor.

Safe behaviour asserted (sql/0154): a unit's joining date (加入统筹日期) is registered with the unit
(`init --region FILE`, the region file's `joined`), once, chained, by the owner alone; nothing is
posted on the unit dated before it — refused by the database (before_unit_joined, naming the unit,
the day and the joining date), whoever writes it — so the recorded first day is never before it and
the county's first quarter stays red. A unit new to a ledger that holds entries must name its
joining date (no default there); a registered one is never changed; a malformed one is refused
naming the file, the table and the key. A posting before a unit joined, slipped in with the
trigger off, is named by the independent verdict's first_days (online and offline).
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db

NEW = "230899"            # 新县 (a county registering with the city's pooled fund)
JOINED = "2023-03-01"
AS_OF = "2023-03-31"


def _region_file(tmp_path: Path, joined: str | None = f'"{JOINED}"', name: str = "region.toml") -> Path:
    """Jiamusi's region file with one more county, as an office adds it; ``joined`` as written."""
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    text += (f'\n[[units]]\ncode = "{NEW}"\nname_zh = "新县"\nname_en = "Xinxian"\nkind = "county"\n'
             + (f"joined = {joined}\n" if joined is not None else ""))
    p = tmp_path / name
    p.write_text(text, "utf-8")
    return p


def _ledger_running(db: LedgerDB) -> None:
    """The ledger already holds entries (another county's first collection)."""
    fin = db.connect("fin")
    post(fin, collect("c81", "2023-01-05", "230881", "5000.00"))
    fin.commit()


def _register(db: LedgerDB, tmp_path: Path, joined: str | None = f'"{JOINED}"') -> Any:
    return db.cli("init", "--region", str(_region_file(tmp_path, joined)))


def _said(r: Any) -> str:
    return str(r.stdout) + str(r.stderr)


def _monitor(db: LedgerDB) -> tuple[Any, ...]:
    res = db.cli("monitor", "--as-of", AS_OF, "--unit", NEW, "--book", "RES", "--json", user="aud")
    assert res.exit_code in (0, 3), res
    [r] = [r for r in res.json()["rows"] if r["unit"] == NEW and r["book"] == "RES"]
    return r["months_payable"], r["basis"], r["colour"]


def _first_day(db: LedgerDB) -> dt.date | None:
    row = db.admin().execute("SELECT first_day FROM fl.unit_first_day WHERE book = 'RES' AND unit = %s",
                             (NEW,)).fetchone()
    return None if row is None else row["first_day"]


def _honest_quarter(db: LedgerDB) -> None:
    """The county's first quarter: 1,000,000 collected on 1 March, 300,000 paid on 15 March — at
    31 March, 700,000 ÷ (300,000 × 365 ÷ (12 × 31)) = 2.38 months: red."""
    fin = db.connect("fin")
    post(fin, collect("x1", JOINED, NEW, "1000000.00"), pay_from_special("x2", "2023-03-15", NEW, "300000.00"))
    fin.commit()


def test_finance_cannot_make_a_new_units_first_day_with_a_backdated_first_posting(ledger_db: LedgerDB,
                                                                                   tmp_path: Path) -> None:
    _ledger_running(ledger_db)
    r = _register(ledger_db, tmp_path)
    assert r.exit_code == 0, r
    row = ledger_db.admin().execute("SELECT joined_on, source FROM fl.unit_joined WHERE unit = %s", (NEW,)).fetchone()
    assert (row["joined_on"], row["source"]) == (dt.date(2023, 3, 1), "region")

    # City finance, alone, before anything else is posted on the new county: 0.01 "a year back".
    # On main it posted at once and became the county's first day (2022-03-31): excess.
    fin = ledger_db.connect("fin")
    with pytest.raises(psycopg.Error) as e:
        post(fin, collect("F1-BACK", "2022-03-31", NEW, "0.01"))
    fin.rollback()
    assert e.value.diag.constraint_name == "before_unit_joined", e.value
    assert NEW in str(e.value) and "2022-03-31" in str(e.value) and JOINED in str(e.value)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE entry_date = '2022-03-31'"
                                     ).fetchone()["n"] == 0
    assert _first_day(ledger_db) is None

    # The day before it joined, by the import path (the red team's collections file): refused too.
    f = tmp_path / "back.csv"
    f.write_text(f"date,unit,book,source,amount,reference\n2023-02-28,{NEW},RES,contribution,0.01,F1-IMP\n", "utf-8")
    imp = ledger_db.cli("collect", "import", str(f), user="fin")
    assert imp.exit_code != 0 and NEW in _said(imp) and JOINED in _said(imp), imp
    zh = ledger_db.cli("--lang", "zh", "collect", "import", str(f), user="fin")     # Chinese first: what and what next
    assert zh.exit_code == imp.exit_code and "加入统筹" in _said(zh) and f"请将日期定在 {JOINED} 当日或之后" in _said(zh), zh
    assert _first_day(ledger_db) is None

    _honest_quarter(ledger_db)
    assert _first_day(ledger_db) is None        # (0157) its registered joining date is its basis: no record
    assert _monitor(ledger_db) == ("2.38", "daily_since_first_day", "red")
    assert verdict(ledger_db) == {}


@pytest.mark.parametrize("maker", ["fin", "rev"])
def test_no_role_posts_on_a_unit_before_it_joined_on_any_account(ledger_db: LedgerDB, tmp_path: Path,
                                                                 maker: str) -> None:
    """Not only fund figures: a unit has no day in the ledger before it joined (a temporary account's
    reclass included), whoever posts; on or after the joining date it posts as before."""
    from tests.helpers import reclass

    _ledger_running(ledger_db)
    assert _register(ledger_db, tmp_path).exit_code == 0
    c = ledger_db.connect(maker)
    for doc in (collect(f"b-{maker}", "2023-02-28", NEW, "0.01"), reclass(f"r-{maker}", "2022-12-31", NEW, "0.01")):
        with pytest.raises(psycopg.Error) as e:
            post(c, doc)
        c.rollback()
        assert e.value.diag.constraint_name == "before_unit_joined", e.value
    rows = post(c, reclass(f"ok-{maker}", JOINED, NEW, "0.01"))
    c.commit()
    assert rows[0]["status"] in ("posted", "held"), rows


def test_a_unit_new_to_a_running_ledger_must_name_its_joining_date(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """No default for a unit registered into a ledger that holds entries: the default would leave its
    first day to whoever posts on it first. Nothing is registered; the message names the file, the
    unit's table and the key."""
    _ledger_running(ledger_db)
    r = _register(ledger_db, tmp_path, joined=None)
    assert r.exit_code != 0, r
    assert "units[8]" in _said(r) and NEW in _said(r) and "joined" in _said(r), _said(r)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.unit WHERE code = %s", (NEW,)).fetchone()["n"] == 0


@pytest.mark.parametrize("joined", ['"2023-3-1"', '"1 March 2023"', "20230301", "2023-03-01T08:00:00",
                                    '"2023-W09-3"', '""', "true", '"2020-12-31"'])
def test_a_malformed_joining_date_is_refused_naming_file_table_and_key(tmp_path: Path, joined: str) -> None:
    from ledger.core.region import load_region
    from ledger.errors import BadInput

    p = _region_file(tmp_path, joined)
    with pytest.raises(BadInput) as e:
        load_region(p)
    assert str(p) in e.value.message and "units[8]" in e.value.message and NEW in e.value.message \
        and "joined" in e.value.message, e.value.message


def test_a_registered_joining_date_is_never_changed(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Not by the region file (refused before anything is written, naming the registered date), not by
    SQL: no application role may write the row, and the owner may not update, delete or truncate it."""
    _ledger_running(ledger_db)
    assert _register(ledger_db, tmp_path).exit_code == 0
    earlier = ledger_db.cli("init", "--region", str(_region_file(tmp_path, '"2022-01-01"', "earlier.toml")))
    assert earlier.exit_code != 0 and JOINED in _said(earlier) and "units[8]" in _said(earlier), _said(earlier)
    assert ledger_db.cli("init", "--region", str(_region_file(tmp_path, None, "same.toml"))).exit_code == 0
    admin = ledger_db.admin()
    for sql in ("UPDATE fl.unit_joined SET joined_on = '2022-01-01'", "DELETE FROM fl.unit_joined",
                "TRUNCATE fl.unit_joined"):
        with pytest.raises(psycopg.Error):
            admin.execute(sql)
    for user in ("fin", "rev", "o81", "aud"):
        c = ledger_db.connect(user)
        with pytest.raises(psycopg.Error):
            c.execute("INSERT INTO fl.unit_joined (unit, joined_on, source) VALUES ('230899x', '2021-01-01', 'region')")
        c.rollback()
        with pytest.raises(psycopg.Error):
            c.execute("UPDATE fl.unit_joined SET joined_on = '2021-01-01'")
        c.rollback()
    assert admin.execute("SELECT joined_on FROM fl.unit_joined WHERE unit = %s", (NEW,)).fetchone()["joined_on"] \
        == dt.date(2023, 3, 1)
    n = admin.execute("SELECT count(*) AS n FROM fl.record_log WHERE tbl = 'fl.unit_joined' "
                      "AND row_key ->> 'unit' = %s", (NEW,)).fetchone()["n"]
    assert n == 1                       # chained: its one version


def test_a_posting_before_the_joining_date_slipped_in_is_named_online_and_offline(ledger_db: LedgerDB,
                                                                                  tmp_path: Path) -> None:
    """The DBA switches the refusal off and finance's back-dated first posting goes in: the first day
    moves (what the forgery buys), and the independent verdict's first_days names the entry — online
    and from the export, with no database."""
    from ledger.io import archive

    _ledger_running(ledger_db)
    assert _register(ledger_db, tmp_path).exit_code == 0
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.account_day DISABLE TRIGGER account_day_unit_first_day")
    try:
        fin = ledger_db.connect("fin")
        [row] = post(fin, collect("F1-DBA", "2022-03-31", NEW, "0.01"))
        fin.commit()
    finally:
        admin.execute("ALTER TABLE fl.account_day ENABLE TRIGGER account_day_unit_first_day")
    _honest_quarter(ledger_db)
    assert _monitor(ledger_db)[2] == "red"     # (the trigger was off for the back-dated one: no row then)

    found = verdict(ledger_db)
    named = [f for f in found.get("first_days", []) if f.get("entry_id") == row["entry_id"]]
    assert named and "before the unit joined" in str(named[0]["message"]) and JOINED in str(named[0]["message"]), found

    out = tmp_path / "export"
    r = ledger_db.cli("audit", "export", str(out), user="aud")
    assert r.exit_code == 0, r
    rep = archive.run_proof(out)
    msgs = [f.message for c in rep.checks if c.name == "first_days" for f in c.findings]
    assert any("before the unit joined" in m and NEW in m for m in msgs), msgs


def test_verify_region_names_a_joining_date_the_kept_file_disagrees_with(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The auditor's kept region file names the county's joining date: ``verify --region`` agrees with
    the registered one, and names a file that says another day (units the file gives none are not its
    to judge)."""
    _ledger_running(ledger_db)
    assert _register(ledger_db, tmp_path).exit_code == 0
    kept = _region_file(tmp_path, f'"{JOINED}"', "kept.toml")
    ok = ledger_db.cli("verify", "--region", str(kept), "--json", user="aud")
    assert ok.exit_code == 0, ok
    other = _region_file(tmp_path, '"2022-06-01"', "other.toml")
    bad = ledger_db.cli("verify", "--region", str(other), "--json", user="aud")
    assert bad.exit_code != 0 and f"fl.unit_joined unit={NEW}" in _said(bad) and "2022-06-01" in _said(bad), bad
