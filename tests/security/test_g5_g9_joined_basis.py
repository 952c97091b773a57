"""G5 (MED) and G9 (LOW/MED): a registered joining date is the months-payable basis (sql/0157).

BRIEF §5: while the ledger holds less than 12 months of a unit, months payable (可支付月数) divides
by its average daily spending since its first day in the ledger × 365 ÷ 12. 0130 recorded that day
from the statement that first posts on one of the unit's fund figures (ATTACK16b D4), and 0154
registered each unit's joining date (fl.unit_joined), refusing any posting dated before it.

G5: the recorded first day could be LATER than the unit's history. A county's first posting dated
28 March, then January and February loaded: the basis stayed 28 March and a quarter's spending was
averaged over four days — red. A future-dated accrual as a new unit's first statement recorded a
first day at the year's end: on 31 March the unit "was not in the ledger yet", no spending to divide
by, and months payable read "excess". No rule that reads posting dates tells this honest back-loading
from D4's back-dated 0.01 (only the amount differs).

G9: two honest first postings of a new unit committing together: the record named the entry that
reached the day table first, the verdict the lower entry id — a permanent first_days finding.

Safe behaviour asserted: for a unit whose joining date the office registered (the region file's
`joined`: fl.unit_joined.source = 'region'), that date is the basis — the monitor, its chart and the
forecast agree — whatever is posted when or in what order; no first-day row is written for it, so two
first postings leave nothing to disagree about and the verdict is whole; D4's back-dated 0.01 is still
refused before the joining date and moves nothing after it. A defaulted joining date (the file named
none: source 'first_year') is not a registration: such a unit keeps 0130's recorded first day (the
D4 tests, tests/security/test_attack16b_d4_first_day.py). How a joining date was set is chained and
no application role may write or change it.

(0176, ATTACK21 N9) The registered date bounds the basis from below; it is not where the unit's figures
begin: the first day is the later of the joining date and the unit's earliest fund figure in the book —
back-loading still counts (G5), a joining date before the figures lengthens nothing, and D4's 0.01 on
or after the joining date moves it back to the joining date at most (the figure 0157 gave).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, pay_from_special, post
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db

NEW = "230899"            # 新县 (a county registering with the city's pooled fund)
AS_OF = "2023-03-31"


def _register(db: LedgerDB, tmp_path: Path, joined: str) -> None:
    """The ledger is running (another county's first collection); the office adds the county with
    its joining date, as ATTACK17b F1's tests do."""
    fin = db.connect("fin")
    post(fin, collect("c81", "2023-01-05", "230881", "5000.00"))
    fin.commit()
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    text += (f'\n[[units]]\ncode = "{NEW}"\nname_zh = "新县"\nname_en = "Xinxian"\nkind = "county"\n'
             f'joined = "{joined}"\n')
    p = tmp_path / "region.toml"
    p.write_text(text, "utf-8")
    r = db.cli("init", "--region", str(p))
    assert r.exit_code == 0, r
    row = db.admin().execute("SELECT joined_on, source FROM fl.unit_joined WHERE unit = %s", (NEW,)).fetchone()
    assert (row["joined_on"].isoformat(), row["source"]) == (joined, "region")


def _monitor(db: LedgerDB, as_of: str = AS_OF) -> tuple[Any, ...]:
    res = db.cli("monitor", "--as-of", as_of, "--unit", NEW, "--book", "RES", "--json", user="aud")
    assert res.exit_code in (0, 3), res
    [r] = [r for r in res.json()["rows"] if r["unit"] == NEW and r["book"] == "RES"]
    return r["months_payable"], r["basis"], r["colour"]


def _forecast_origin(db: LedgerDB, as_of: str = AS_OF) -> tuple[str, str]:
    res = db.cli("forecast", "--as-of", as_of, "--years", "1", "--unit", NEW, "--book", "RES", "--json", user="aud")
    assert res.exit_code == 0, res
    [f] = res.json()["units"]
    return f["origin"]["months_payable"], f["origin"]["colour"]


def _chart_point(db: LedgerDB, as_of: str = AS_OF) -> Any:
    from ledger.reports.builders_fund import monitor_series
    from ledger.store import monitor, reports

    end = dt.date.fromisoformat(as_of)
    c = db.connect("aud")
    try:
        series = monitor_series(monitor.monthly(c, book="RES", end=end), year=end.year, through=end,
                                labels=reports.labels(c), first_days=monitor.first_days(c, book="RES"))
        name = reports.labels(c).name("units", NEW, "zh")
    finally:
        c.close()
    return dict(series[name])[end]


def _agree(db: LedgerDB, as_of: str = AS_OF) -> tuple[Any, ...]:
    """The monitor's figure, the forecast's origin and the chart's point agree: one basis."""
    m = _monitor(db, as_of)
    assert _forecast_origin(db, as_of) == (m[0], m[2]), m
    p = _chart_point(db, as_of)
    assert m[0] == (None if p is None else str(p)), (m, p)
    return m


def _rows(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT count(*) AS n FROM fl.unit_first_day WHERE unit = %s",
                                  (NEW,)).fetchone()["n"])


def test_g5_back_loading_after_a_first_posting_of_28_march_counts_from_the_earliest_figure(ledger_db: LedgerDB,
                                                                                            tmp_path: Path) -> None:
    """The county joined on 1 January; its first posting is dated 28 March, then January to March are
    loaded. At 31 March its figures begin on 5 January (0176, ATTACK21 N9: the later of the joining date
    and its earliest fund figure): 710,000 ÷ (300,000 × 365 ÷ (12 × 86)) = 6.69 months, green — on
    0130's record (28 March: four days) it read 0.31, red."""
    _register(ledger_db, tmp_path, "2023-01-01")
    fin = ledger_db.connect("fin")
    post(fin, collect("g5-first", "2023-03-28", NEW, "10000.00"))
    fin.commit()
    post(fin, collect("g5-jan", "2023-01-05", NEW, "1000000.00"),
         pay_from_special("g5-p1", "2023-01-15", NEW, "100000.00"),
         pay_from_special("g5-p2", "2023-02-15", NEW, "100000.00"),
         pay_from_special("g5-p3", "2023-03-15", NEW, "100000.00"))
    fin.commit()
    assert _agree(ledger_db) == ("6.69", "daily_since_first_day", "green")
    assert _rows(ledger_db) == 0                      # no record: derived from the registered date and the figures
    assert verdict(ledger_db) == {}
    out = tmp_path / "export"                         # offline too: the export's rule point spares the row
    r = ledger_db.cli("audit", "export", str(out), user="aud")
    assert r.exit_code == 0, r
    from ledger.io import archive

    rep = archive.run_proof(out)
    assert [f.message for c in rep.checks if c.name == "first_days" for f in c.findings] == []


def test_a_registered_unit_in_its_first_year_and_at_exactly_12_months(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The short-history tests on a registered county: joined 28 February 2023, its first posting on
    15 June. Its figures begin on 15 June (0176, ATTACK21 N9: a joining date before them lengthens
    nothing): at every month end of 2023 after it the basis is the daily average since 15 June and the
    monitor, the chart and the forecast agree; on 15 June 2024 (12 months before it is 15 June 2023) it
    is the last 12 months' spending ÷ 12, on 14 June 2024 still the daily one."""
    _register(ledger_db, tmp_path, "2023-02-28")
    fin = ledger_db.connect("fin")
    post(fin, collect("y-c", "2023-06-15", NEW, "1000000.00"), pay_from_special("y-p", "2023-06-20", NEW, "300000.00"))
    fin.commit()
    for end in ("2023-06-30", "2023-09-30", "2023-11-30", "2023-12-31"):
        assert _agree(ledger_db, end)[1] == "daily_since_first_day", end
    # 700,000 ÷ (300,000 × 365 ÷ (12 × 16)) on 30 June: the days since 15 June, not since 28 February
    # (9.44 on 0157's basis: 123 days, three and a half months with no figure of the county in the ledger)
    assert _monitor(ledger_db, "2023-06-30") == ("1.23", "daily_since_first_day", "red")
    assert _monitor(ledger_db, "2024-06-15")[:2] == ("28.00", "last_12_months")
    assert _monitor(ledger_db, "2024-06-14")[1] == "daily_since_first_day"
    assert _monitor(ledger_db, "2024-02-29")[1] == "daily_since_first_day"


def test_g5_a_future_dated_first_accrual_does_not_make_the_unit_excess(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The county joined on 1 March; its first statement is an accrual dated 31 December (Dr 5001 /
    Cr 2001), then its first quarter: 1,000,000 collected on 1 March, 300,000 paid on 15 March — at
    31 March 2.38 months, red (on 0130's record the unit's first day was 31 December: no spending
    to divide by on 31 March, "excess")."""
    _register(ledger_db, tmp_path, "2023-03-01")
    fin = ledger_db.connect("fin")
    post(fin, entry("g5-accrual", "2023-12-31", "RES", leg("5001.inpatient", NEW, "D", "1000.00"),
                    leg("2001", NEW, "C", "1000.00")))
    fin.commit()
    post(fin, collect("g5-c", "2023-03-01", NEW, "1000000.00"), pay_from_special("g5-p", "2023-03-15", NEW, "300000.00"))
    fin.commit()
    assert _agree(ledger_db) == ("2.38", "daily_since_first_day", "red")
    assert _agree(ledger_db, "2023-06-30")[1] == "daily_since_first_day"
    assert _rows(ledger_db) == 0
    assert verdict(ledger_db) == {}


def test_d4_a_backdated_001_moves_a_registered_units_basis_no_earlier_than_its_joining_date(
        ledger_db: LedgerDB, tmp_path: Path) -> None:
    """D4 on a registered county: finance's 0.01 a year back is refused (before_unit_joined). Its figures
    begin on 10 March (0176, ATTACK21 N9): 1.69, red. One dated on the joining date — before the
    county's first posting — posts and moves the first day back to the joining date, never earlier: the
    figure 0157 gave (2.38; docs/security.md N9, the residual: bounded by the bureau's registered date
    and by the months closed). The forecast and the chart agree at each step; the verdict is whole."""
    _register(ledger_db, tmp_path, "2023-03-01")
    fin = ledger_db.connect("fin")
    post(fin, collect("d4-c", "2023-03-10", NEW, "1000000.00"), pay_from_special("d4-p", "2023-03-15", NEW, "300000.00"))
    fin.commit()
    before = _agree(ledger_db)
    assert before == ("1.69", "daily_since_first_day", "red")
    with pytest.raises(psycopg.Error) as e:
        post(fin, collect("d4-back", "2022-03-31", NEW, "0.01"))
    fin.rollback()
    assert e.value.diag.constraint_name == "before_unit_joined", e.value
    rows = post(fin, collect("d4-joined", "2023-03-01", NEW, "0.01"))
    fin.commit()
    assert rows[0]["status"] == "posted", rows
    after = _agree(ledger_db)
    assert after == ("2.38", "daily_since_first_day", "red"), (before, after)   # from 1 March, the joining date
    assert verdict(ledger_db) == {}


def _held(db: LedgerDB, *docs: dict[str, Any]) -> list[int]:
    """City finance's collections by hand, held for a second person (money into a bank account by
    hand: 0064) and committed; their held ids."""
    fin = db.connect("fin")
    rows = fin.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(list(docs)),)).fetchall()
    fin.commit()
    assert all(r["status"] == "held" for r in rows), rows
    return [int(r["held_id"]) for r in rows]


def _confirm(conn: psycopg.Connection, held_id: int) -> int:
    """A checker confirms a held entry in its own transaction (not committed): its entry id."""
    row = conn.execute("SELECT entry_id, status FROM fl.confirm_entry(%s)", (held_id,)).fetchone()
    assert row is not None and row["status"] == "posted", row
    return int(row["entry_id"])


def test_g9_two_first_postings_committing_together_leave_the_verdict_whole(ledger_db: LedgerDB,
                                                                           tmp_path: Path) -> None:
    """Two checkers confirm the county's first collections at the same time. B has another county's
    collection in flight (its accounts locked, not committed); A's entry — that county's collection
    and the new county's first — takes its entry id and waits for those accounts before it reaches
    the day table; B then confirms the new county's first collection — a HIGHER id that reaches the
    day table first — and commits; A commits. On 0130's record the row named B's entry and the
    verdict A's (the lower id): a permanent first_days finding. Now no row is written for a
    registered county: both commit, and the verdict is whole."""
    _register(ledger_db, tmp_path, "2023-03-01")
    both = collect("g9-a", "2023-03-05", "230881", "20.00")
    both["postings"] += collect("", "2023-03-05", NEW, "200.00")["postings"]
    h_other, h_a, h_b = _held(ledger_db, collect("g9-other", "2023-03-02", "230881", "10.00"), both,
                              collect("g9-b", "2023-03-03", NEW, "300.00"))
    a = ledger_db.connect("rev")
    b = ledger_db.connect("rev2")
    _confirm(b, h_other)                                        # B holds 230881's accounts
    got: dict[str, Any] = {}

    def first_a() -> None:
        try:
            got["a"] = _confirm(a, h_a)
        except Exception as ex:         # reported by the assertion below
            got["error"] = ex

    t = threading.Thread(target=first_a)
    t.start()
    time.sleep(1.0)
    assert "a" not in got and "error" not in got, got          # A waits for 230881's accounts
    eb = _confirm(b, h_b)
    b.commit()
    t.join(timeout=30)
    assert not t.is_alive() and "error" not in got, got
    a.commit()
    assert got["a"] < eb, (got, eb)                             # the lower id committed second
    assert _rows(ledger_db) == 0
    assert verdict(ledger_db) == {}
    assert _monitor(ledger_db)[1] == "daily_since_first_day"


def test_how_a_joining_date_was_set_is_chained_and_no_officer_changes_it(ledger_db: LedgerDB,
                                                                         tmp_path: Path) -> None:
    """Whether a joining date was registered or defaulted is the row's `source`, chained with it: no
    application role writes or changes it (the officer of a defaulted county cannot make its date a
    registration, nor move the registered one), the owner cannot update it, `unit list` shows it to
    the auditor, and a DBA's rewrite with the triggers off is named by the verdict."""
    _register(ledger_db, tmp_path, "2023-03-01")
    for user in ("o81", "fin", "rev", "aud"):
        c = ledger_db.connect(user)
        for sql in ("UPDATE fl.unit_joined SET source = 'region' WHERE unit = '230881'",
                    f"UPDATE fl.unit_joined SET joined_on = '2023-01-01' WHERE unit = '{NEW}'",
                    "INSERT INTO fl.unit_joined (unit, joined_on, source) VALUES ('230881', '2023-03-01', 'region')"):
            with pytest.raises(psycopg.Error):
                c.execute(sql)
            c.rollback()
    admin = ledger_db.admin()
    with pytest.raises(psycopg.Error):
        admin.execute("UPDATE fl.unit_joined SET source = 'region' WHERE unit = '230881'")
    listed = ledger_db.cli("unit", "list", "--json", user="aud")
    assert listed.exit_code == 0, listed
    how = {r["code"]: (r["joined"], r["joined_source"]) for r in listed.json()}
    assert how[NEW] == ("2023-03-01", "region") and how["230881"] == ("2021-01-01", "first_year"), how
    zh = ledger_db.cli("--lang", "zh", "unit", "list", user="aud")
    assert zh.exit_code == 0 and "已登记" in str(zh.stdout) and "默认" in str(zh.stdout), zh

    # The DBA, triggers off, makes the defaulted county's date a registration of 1 January.
    admin.execute("ALTER TABLE fl.unit_joined DISABLE TRIGGER USER")
    try:
        admin.execute("UPDATE fl.unit_joined SET source = 'region', joined_on = '2021-01-01' WHERE unit = '230881'")
    finally:
        admin.execute("ALTER TABLE fl.unit_joined ENABLE TRIGGER USER")
    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code != 0 and "fl.unit_joined" in str(res.stdout), res.stdout[-3000:]
