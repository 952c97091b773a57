"""F9c's leftover (0162): the settings a year's reports are read with take effect per year, and a
closed year's are final.

Before 0162 the monitor's thresholds, the 略有结余 range (budget_surplus_*) and the review's
performance_weights were one value for every year: a region reload changing one re-read a closed
year's monitor colours and review scores (months_red_below 3 → 7: the closed 2023's unit at 5
months payable turns from yellow to red; weights changed: its review score moves).

Safe behaviour asserted: a region file's ``[settings.YEAR]`` table changes them from that year on
— after closing 2023, ``[settings.2024]`` with new values leaves 2023's monitor and review as they
were and 2024's follow the new ones; a reload (or raw SQL) changing what is in force for 2023 is
refused in the database (year_closed_reference, Chinese first, saying to write a [settings.2024]
table), nothing written; done with the guard off, the independent verdict names it online and
offline; the guard's reading and the verdict's tell the same values apart.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db

U = "230822"


def _region_file(tmp_path: Path, extra: str = "", base: dict[str, str] | None = None, name: str = "r.toml") -> Path:
    """The default region file with some [settings] values replaced and ``extra`` tables after it."""
    text = resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8")
    for k, v in (base or {}).items():
        lines = text.splitlines()
        lines = [f"{k} = {v}" if ln.split("=")[0].strip() == k else ln for ln in lines]
        text = "\n".join(lines) + "\n"
    p = tmp_path / name
    p.write_text(text + extra, "utf-8")
    return p


def _ledger_2023_closed(db: LedgerDB, tmp_path: Path) -> None:
    """2023 and 2024: a county's collections and spending (about 5 months payable at the end of
    2023), a budget for each year; 2023 closed."""
    fin = db.connect("fin", autocommit=True)
    post(fin, collect("ys-c1", "2023-01-10", U, "1700000.00"), pay_from_special("ys-p1", "2023-06-15", U, "1200000.00"),
         collect("ys-c2", "2024-01-10", U, "1200000.00"), pay_from_special("ys-p2", "2024-03-15", U, "1000000.00"))
    for year in (2023, 2024):
        b = tmp_path / f"budget_{year}.csv"
        b.write_text(f"year,unit,book,line,amount\n{year},{U},RES,4001,1500000.00\n{year},{U},RES,5001,1200000.00\n",
                     "utf-8")
        assert db.cli("budget", "import", str(b), user="rev").exit_code == 0
    r = db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r


def _monitor(db: LedgerDB, as_of: str) -> Any:
    r = db.cli("monitor", "--as-of", as_of, "--unit", U, "--book", "RES", "--json", user="aud")
    assert r.exit_code in (0, 3), r
    out = r.json()
    [row] = [x for x in out["rows"] if x["unit"] == U]
    return out["thresholds"], out["balance_rate_ranges"], row["colour"], row.get("balance_rate_colour")


def _review(db: LedgerDB, year: int) -> Any:
    r = db.cli("report", "performance", "--year", str(year), "--book", "RES", "--json", user="aud")
    assert r.exit_code == 0, r
    return {k: v for k, v in r.json().items() if k != "generated_at"}


def _budget_checks(db: LedgerDB, year: int) -> Any:
    r = db.cli("budget", "show", "--year", str(year), "--unit", U, "--book", "RES", "--json", user="aud")
    assert r.exit_code == 0, r
    return r.stdout


def _reads(db: LedgerDB, year: int) -> Any:
    return _monitor(db, f"{year}-12-31"), _review(db, year), _budget_checks(db, year)


NEW_2024 = """
[settings.2024]
months_red_below = "7"
months_yellow_below = "8"
balance_rate_red_below = "10"
balance_rate_yellow_below = "12"
balance_rate_excess_above = "14"
budget_surplus_max_pct = "1"
performance_weights = { revenue_execution = 0, months_payable = 50 }
"""


def test_a_threshold_changed_after_the_close_takes_effect_from_the_next_year(ledger_db: LedgerDB,
                                                                             tmp_path: Path) -> None:
    _ledger_2023_closed(ledger_db, tmp_path)
    y2023, y2024 = _reads(ledger_db, 2023), _reads(ledger_db, 2024)
    assert y2023[0][0]["red_below"] == "3" and y2024[0][0]["red_below"] == "3"
    # the same change as one value for every year: refused (it would re-read the closed 2023)
    changed = _region_file(tmp_path, base={"months_red_below": '"7"', "months_yellow_below": '"8"'})
    r = ledger_db.cli("init", "--region", str(changed))
    assert r.exit_code != 0, r
    said = r.stdout + r.stderr
    assert "year_closed_reference" in said and "2023" in said and "[settings.2024]" in said, said
    zh = ledger_db.cli("init", "--region", str(changed), env={"FUNDLEDGER_LANG": ""})     # the default: Chinese
    said = zh.stdout + zh.stderr
    assert zh.exit_code != 0 and "2023 年已结账" in said and "写入 [settings.2024] 表" in said, said
    assert _reads(ledger_db, 2023) == y2023 and _reads(ledger_db, 2024) == y2024
    # from 2024 on: taken; 2023 reads as it did, 2024 with the new values
    r = ledger_db.cli("init", "--region", str(_region_file(tmp_path, NEW_2024)))
    assert r.exit_code == 0, r
    assert _reads(ledger_db, 2023) == y2023
    (t, rr, colour, _rc), review, checks = _reads(ledger_db, 2024)
    assert t["red_below"] == "7" and t["yellow_below"] == "8" and rr["red_below"] == "10", (t, rr)
    assert (t, rr, colour) != y2024[0][:3] and review != y2024[1] and checks != y2024[2]
    # the verdict finds nothing: what changed was an open year's
    assert "(year_closed_reference)" not in str(verdict(ledger_db).get("workflows", []))
    # `verify --region` reads the file with its year table as the ledger holds it
    from ledger.core.region import load_region
    from ledger.store.verify_region import verify_region

    path = _region_file(tmp_path, NEW_2024)
    res = verify_region(ledger_db.connect("aud"), load_region(path), path)
    assert not res.findings, res.findings


def test_a_closed_years_settings_are_not_changed_by_raw_sql(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _ledger_2023_closed(ledger_db, tmp_path)
    before = _reads(ledger_db, 2023)
    admin = ledger_db.admin()
    for sql in ("UPDATE fl.setting SET value = '\"4\"' WHERE key = 'months_red_below'",
                "UPDATE fl.setting SET value = '\"-6\"' WHERE key = 'balance_rate_red_below'",
                "UPDATE fl.setting SET value = '\"4\"' WHERE key = 'budget_surplus_max_pct'",
                "UPDATE fl.setting SET value = value || '{\"balance_rate\": \"1\"}' WHERE key = 'performance_weights'",
                "UPDATE fl.setting SET value = '[]' WHERE key = 'final_accounts_eliminate'",
                "UPDATE fl.setting SET value = '{\"2023\": {\"months_red_below\": \"4\"}}' "
                "WHERE key = 'settings_from_year'",
                "UPDATE fl.setting SET value = '{\"2000\": {\"months_excess_above\": \"20\"}}' "
                "WHERE key = 'settings_from_year'",
                "DELETE FROM fl.setting WHERE key = 'months_red_below'"):
        with pytest.raises(psycopg.Error) as e:
            admin.execute(sql)
        assert e.value.diag.constraint_name in ("year_closed_reference", "reference_fixed"), (sql, e.value)
    with pytest.raises(psycopg.Error, match="year_closed_reference"):
        admin.execute("UPDATE fl.setting SET value = '\"4\"' WHERE key = 'months_red_below'")
    assert _reads(ledger_db, 2023) == before
    # the same number written otherwise ("3.0" is 3) and an open year's table: taken
    admin.execute("UPDATE fl.setting SET value = '\"3.0\"' WHERE key = 'months_red_below'")
    admin.execute("UPDATE fl.setting SET value = '\"3\"' WHERE key = 'months_red_below'")
    admin.execute("UPDATE fl.setting SET value = '{\"2024\": {\"months_red_below\": \"4\"}}' "
                  "WHERE key = 'settings_from_year'")
    assert _reads(ledger_db, 2023) == before
    assert _monitor(ledger_db, "2024-12-31")[0]["red_below"] == "4"


def test_a_closed_years_setting_changed_with_the_guard_off_is_named_online_and_offline(ledger_db: LedgerDB,
                                                                                      tmp_path: Path) -> None:
    _ledger_2023_closed(ledger_db, tmp_path)
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.setting DISABLE TRIGGER setting_closed_year_in_force")
    try:
        r = ledger_db.cli("init", "--region", str(_region_file(tmp_path, base={"months_red_below": '"4"'})))
        assert r.exit_code == 0, r
    finally:
        admin.execute("ALTER TABLE fl.setting ENABLE TRIGGER setting_closed_year_in_force")
    found = [str(f["message"]) for f in verdict(ledger_db).get("workflows", [])]
    mine = [m for m in found if "settings in force" in m]
    assert len(mine) == 1 and "2023" in mine[0] and "months_red_below" in mine[0] \
        and "(year_closed_reference)" in mine[0], found
    e = ledger_db.cli("audit", "export", str(tmp_path / "x"), user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = ledger_db.cli("verify", "--offline", str(tmp_path / "x"), "--no-digest", "--json", user="aud")
    assert off.exit_code == 1
    wf = [g["message"] for c in off.json()["checks"] if c["name"] == "workflows" for g in c["findings"]]
    assert mine[0] in wf, wf


def test_the_verdict_reads_the_settings_in_force_as_the_guard_does(ledger_db: LedgerDB) -> None:
    """The guard's reading (fl._settings_in_force) and the verdict's (ledger.core.year_settings.
    in_force) tell the same pairs of fl.setting states apart, year by year."""
    import itertools

    from ledger.core.year_settings import in_force

    samples: list[dict[str, Any]] = [
        {}, {"months_red_below": "3"}, {"months_red_below": "3.0"}, {"months_red_below": 3}, {"months_red_below": "4"},
        {"balance_rate_red_below": "-5"}, {"balance_rate_red_below": " -5.00 "}, {"balance_rate_red_below": "x"},
        {"performance_weights": {}}, {"performance_weights": {"balance_rate": "15.0"}},
        {"performance_weights": {"balance_rate": 16}}, {"performance_weights": "x"},
        {"final_accounts_eliminate": []}, {"final_accounts_eliminate": [["5302", "4401"], ["5301", "4402"]]},
        {"settings_from_year": {}}, {"settings_from_year": {"2024": {"months_red_below": "4"}}},
        {"settings_from_year": {"2024": {"months_red_below": "3"}, "2025": {"months_red_below": "5"}}},
        {"settings_from_year": {"2023": {"months_red_below": "4"}}}, {"settings_from_year": {"x": {}, "2023": 5}},
        {"settings_from_year": {"2022": {"budget_surplus_max_pct": "6", "unknown": 1}}},
        {"months_red_below": "4", "settings_from_year": {"2023": {"months_red_below": "3"}}}]
    admin = ledger_db.admin()

    for year in (2022, 2023, 2024):
        for a, b in itertools.combinations(samples, 2):
            same_sql = admin.execute("SELECT fl._settings_in_force(%s::jsonb, %s) = fl._settings_in_force(%s::jsonb, %s) "
                                     "AS s", (json.dumps(a), year, json.dumps(b), year)).fetchone()["s"]
            assert (in_force(a, year) == in_force(b, year)) == same_sql, (year, a, b)


def test_a_key_the_ledger_never_held_is_taken_at_its_first_writing(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """As 0150 takes a closed year's first funding standard: a ledger built by a release before a
    setting existed (here: the key removed with the reference guard off) takes the region file's
    value when the release that brings it reloads the file — and from then on the value is final
    for the closed year."""
    _ledger_2023_closed(ledger_db, tmp_path)
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.setting DISABLE TRIGGER setting_reference_guard")
    try:
        admin.execute("DELETE FROM fl.setting WHERE key = 'performance_weights'")
    finally:
        admin.execute("ALTER TABLE fl.setting ENABLE TRIGGER setting_reference_guard")
    r = ledger_db.cli("init", "--region", str(_region_file(
        tmp_path, base={"performance_weights": "{ balance_rate = 30 }"})))
    assert r.exit_code == 0, r
    assert admin.execute("SELECT value ->> 'balance_rate' AS w FROM fl.setting WHERE key = 'performance_weights'"
                         ).fetchone()["w"] == "30"
    with pytest.raises(psycopg.Error, match="year_closed_reference"):
        admin.execute("UPDATE fl.setting SET value = value || '{\"balance_rate\": \"15\"}' "
                      "WHERE key = 'performance_weights'")
