"""The closed year's leftovers of ATTACK17b F9 and F10 (0138, 0142, 0143 made a closed year's
budget, plan, headcount and fund requests final; three ways still moved a closed year's reports):

1. An APPROVED, not yet disbursed fund request of a closed year is voided after the close (or its
   state set back by raw SQL): the closed year's performance review (requests_vs_spending reads
   the approved requests) moves — requests_vs_spending of the closed 2023 from 25.00 to 0.00 in
   the reproduction below.
2. The funding standards (``fl.setting`` funding_standards, one per year and book) are a region
   setting any reload rewrites: the standard of a closed year changed or removed after its close
   rewrites that year's funding report (its flags, its standard per insured).
3. ``report funding`` does not say that a closed year's headcount (0142 takes a first one after
   the close) was recorded after the close: the auditor reads it as the close's.

Safe behaviour asserted: the void (API and raw SQL) and the closed year's standard change are
refused in the database (year_closed_reference, Chinese first, saying what to do instead), open
years stay changeable, and the independent verdict (online and offline) names either when done
with the guard off; the funding report labels a headcount recorded after the close (text and
``--json``).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.core.region import parse_region
from ledger.store import migrate
from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post
from tests.security.test_attack7_rules import named, verdict

pytestmark = pytest.mark.db

U = "230822"


def _review(ledger_db: LedgerDB) -> Any:
    r = ledger_db.cli("report", "performance", "--year", "2023", "--book", "RES", "--json", user="aud")
    assert r.exit_code == 0, r
    return [(x.get("indicator"), x.get("value"), x.get("score")) for s in r.json()["sections"] for x in s["rows"]
            if x.get("unit") == U]


def _approved_then_closed(ledger_db: LedgerDB, tmp_path: Path) -> int:
    """2023: collections 2,000,000, spending 600,000, a 2023 budget; a Q4 request of 150,000
    submitted and approved in December; then 2023 closed. Returns the request's id."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("cy-c", "2023-03-01", U, "2000000.00"), pay_from_special("cy-p", "2023-06-15", U, "600000.00"))
    b = tmp_path / "budget_2023.csv"
    b.write_text(f"year,unit,book,line,amount\n2023,{U},RES,4001,2000000.00\n2023,{U},RES,5001,600000.00\n", "utf-8")
    assert ledger_db.cli("budget", "import", str(b), user="rev").exit_code == 0
    sub = ledger_db.cli("request", "submit", "--year", "2023", "--quarter", "4", "--amount", "150000.00",
                        "--note", "Q4", user="o22")
    assert sub.exit_code == 0, sub
    rid = int(ledger_db.admin().execute("SELECT max(id) AS id FROM fl.fund_request").fetchone()["id"])
    ap = ledger_db.cli("request", "approve", str(rid), "--date", "2023-12-20", user="rev")
    assert ap.exit_code == 0, ap
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r
    return rid


def test_a_closed_years_approved_request_is_not_voided_after_its_close(ledger_db: LedgerDB, tmp_path: Path) -> None:
    rid = _approved_then_closed(ledger_db, tmp_path)
    before = _review(ledger_db)
    v = ledger_db.cli("request", "void", str(rid), "--reason", "approved in error", user="rev")
    # On main: exit 0 — requests_vs_spending of the closed 2023 moves from 25.00 to 0.00
    assert v.exit_code != 0 and "year_closed_reference" in v.stderr, v
    assert "open year" in v.stderr, v.stderr
    assert _review(ledger_db) == before
    # raw SQL, any way out of the approved total, is refused too; nothing changed
    admin = ledger_db.admin()
    for sql in ("UPDATE fl.fund_request SET state = 'voided' WHERE id = %s",
                "UPDATE fl.fund_request SET state = 'rejected' WHERE id = %s",
                "UPDATE fl.fund_request SET amount_approved = 1 WHERE id = %s",
                "UPDATE fl.fund_request SET year = 2024 WHERE id = %s"):
        with pytest.raises(psycopg.Error, match="year_closed_reference"):
            admin.execute(sql, (rid,))
    assert _review(ledger_db) == before
    # what the message says to do: the approval stands and is paid (in the open year)
    d = ledger_db.cli("request", "disburse", str(rid), "--date", "2024-01-10", user="fin")
    assert d.exit_code == 0, d
    assert _review(ledger_db) == before


def test_an_open_years_approved_request_is_still_voided(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _approved_then_closed(ledger_db, tmp_path)
    sub = ledger_db.cli("request", "submit", "--year", "2024", "--quarter", "1", "--amount", "1000.00",
                        "--note", "Q1", user="o22")
    assert sub.exit_code == 0, sub
    rid = int(ledger_db.admin().execute("SELECT max(id) AS id FROM fl.fund_request").fetchone()["id"])
    assert ledger_db.cli("request", "approve", str(rid), "--date", "2024-01-05", user="rev").exit_code == 0
    v = ledger_db.cli("request", "void", str(rid), "--reason", "approved in error", user="rev")
    assert v.exit_code == 0, v


def test_a_void_after_the_close_with_the_guard_off_is_named_online_and_offline(ledger_db: LedgerDB,
                                                                             tmp_path: Path) -> None:
    rid = _approved_then_closed(ledger_db, tmp_path)
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.fund_request DISABLE TRIGGER fund_request_closed_year")
    try:
        v = ledger_db.cli("request", "void", str(rid), "--reason", "approved in error", user="rev")
        assert v.exit_code == 0, v
    finally:
        admin.execute("ALTER TABLE fl.fund_request ENABLE TRIGGER fund_request_closed_year")
    found = verdict(ledger_db)
    f = named(found, "workflows", request_id=rid, words="(year_closed_reference)")
    assert "void" in str(f["message"]), f
    e = ledger_db.cli("audit", "export", str(tmp_path / "x"), user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = ledger_db.cli("verify", "--offline", str(tmp_path / "x"), "--no-digest", "--json", user="aud")
    assert off.exit_code == 1
    wf = [g["message"] for c in off.json()["checks"] if c["name"] == "workflows" for g in c["findings"]]
    assert f["message"] in wf, wf


def _region(standards: dict[int, str]) -> Any:
    """The default region with the residents' per-insured standard of some years replaced."""
    doc = tomllib.loads(resources.files("ledger.data").joinpath("jiamusi.toml").read_text("utf-8"))
    for s in doc["funding_standards"]:
        if s["year"] in standards:
            s["per_insured"] = standards[s["year"]]
    return parse_region(doc, "changed.toml")


def _close_2023(ledger_db: LedgerDB) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("cs-c", "2023-03-01", U, "1000.00"))
    r = ledger_db.cli("close", "year", "--year", "2023", "--date", "2023-12-31", user="rev")
    assert r.exit_code == 0, r


def _funding(ledger_db: LedgerDB, year: int) -> Any:
    r = ledger_db.cli("report", "funding", "--year", str(year), "--json", user="aud")
    assert r.exit_code == 0, r
    return r.json()


def test_a_closed_years_funding_standard_is_final(ledger_db: LedgerDB) -> None:
    _close_2023(ledger_db)
    before = _funding(ledger_db, 2023)
    with ledger_db.connect(None) as c:
        # On main: the reload goes through — 2023's funding report now holds it to 2,000 per insured
        with pytest.raises(psycopg.Error, match="year_closed_reference"):
            migrate.load_reference(c, _region({2023: "2000"}))
        c.rollback()
    admin = ledger_db.admin()
    for sql in ("""UPDATE fl.setting SET value = jsonb_path_query_array(value, '$[*] ? (@.year != 2023)')
                    WHERE key = 'funding_standards'""",
                "DELETE FROM fl.setting WHERE key = 'funding_standards'",
                """UPDATE fl.setting SET value = (SELECT jsonb_agg(CASE WHEN e ->> 'year' = '2023'
                    THEN jsonb_set(e, '{ratio_max}', '"3"') ELSE e END) FROM jsonb_array_elements(value) e)
                    WHERE key = 'funding_standards'"""):
        with pytest.raises(psycopg.Error, match="year_closed_reference"):
            admin.execute(sql)
    after = _funding(ledger_db, 2023)
    assert {**after, "generated_at": None} == {**before, "generated_at": None}
    # an open year's standard stays changeable
    with ledger_db.connect(None) as c:
        migrate.load_reference(c, _region({2024: "1100"}))
        c.commit()
    std = [x["total_standard"] for s in _funding(ledger_db, 2024)["sections"] for x in s["rows"]]
    assert std and all(str(x).startswith("1100") for x in std), std


def test_a_first_standard_for_a_closed_year_that_had_none_is_taken(ledger_db: LedgerDB) -> None:
    """As 0142 takes a closed year's first headcount: the report had no standard to hold the year
    against, so a release's region file that gains one for a year already closed still loads."""
    admin = ledger_db.admin()
    admin.execute("""UPDATE fl.setting SET value = jsonb_path_query_array(value, '$[*] ? (@.year != 2023)')
                      WHERE key = 'funding_standards'""")
    _close_2023(ledger_db)
    assert not [x for s in _funding(ledger_db, 2023)["sections"] for x in s["rows"] if x["total_standard"]]
    with ledger_db.connect(None) as c:
        migrate.load_reference(c, _region({}))
        c.commit()
    assert [x for s in _funding(ledger_db, 2023)["sections"] for x in s["rows"] if x["total_standard"]]
    with pytest.raises(psycopg.Error, match="year_closed_reference"):     # and then it is final
        admin.execute("""UPDATE fl.setting SET value = jsonb_path_query_array(value, '$[*] ? (@.year != 2023)')
                          WHERE key = 'funding_standards'""")
    assert "(year_closed_reference)" not in str(verdict(ledger_db).get("workflows", []))


def test_a_closed_years_standard_changed_with_the_guard_off_is_named_online_and_offline(ledger_db: LedgerDB,
                                                                                       tmp_path: Path) -> None:
    _close_2023(ledger_db)
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.setting DISABLE TRIGGER setting_closed_year")
    try:
        with ledger_db.connect(None) as c:
            migrate.load_reference(c, _region({2023: "2000", 2024: "1100"}))
            c.commit()
    finally:
        admin.execute("ALTER TABLE fl.setting ENABLE TRIGGER setting_closed_year")
    found = [str(f["message"]) for f in verdict(ledger_db).get("workflows", [])]
    mine = [m for m in found if "funding standard" in m]
    assert len(mine) == 1 and "2023" in mine[0] and "(year_closed_reference)" in mine[0], found
    e = ledger_db.cli("audit", "export", str(tmp_path / "x"), user="aud")
    assert e.exit_code == 0, e.stdout[-2000:]
    off = ledger_db.cli("verify", "--offline", str(tmp_path / "x"), "--no-digest", "--json", user="aud")
    assert off.exit_code == 1
    wf = [g["message"] for c in off.json()["checks"] if c["name"] == "workflows" for g in c["findings"]]
    assert mine[0] in wf, wf


def test_the_funding_report_labels_a_headcount_recorded_after_the_close(ledger_db: LedgerDB, tmp_path: Path) -> None:
    post(ledger_db.connect("fin", autocommit=True), collect("hl-c", "2024-03-01", U, "1000.00"))
    f = tmp_path / "insured_2024.csv"
    f.write_text("year,unit,book,insured,reason\n2024,230881,RES,700,\n", "utf-8")
    assert ledger_db.cli("insured", "import", str(f), user="rev").exit_code == 0      # before the close
    r = ledger_db.cli("close", "year", "--year", "2024", "--date", "2024-12-31", user="rev")
    assert r.exit_code == 0, r
    f.write_text(f"year,unit,book,insured,reason\n2024,{U},RES,600,\n", "utf-8")
    assert ledger_db.cli("insured", "import", str(f), user="rev").exit_code == 0      # after it (0142)
    rows = {x["unit"]: x for s in _funding(ledger_db, 2024)["sections"] for x in s["rows"]}
    # On main: no such key — the late headcount reads as the close's
    assert rows[U]["headcount_after_close"], rows[U]
    assert rows["230881"]["headcount_after_close"] is None, rows["230881"]
    mine = ledger_db.cli("report", "funding", "--year", "2024", "--json", user="o22")      # the officer's own
    assert mine.exit_code == 0 and [x["headcount_after_close"] for s in mine.json()["sections"]
                                    for x in s["rows"]] == [rows[U]["headcount_after_close"]], mine
    text = ledger_db.cli("report", "funding", "--year", "2024", "--lang", "en", user="aud")
    assert text.exit_code == 0 and "recorded after the year's close" in text.stdout, text.stdout
    zh = ledger_db.cli("report", "funding", "--year", "2024", "--lang", "zh", user="aud")
    assert zh.exit_code == 0 and "年终结转后" in zh.stdout, zh.stdout


def test_the_verdict_reads_a_standard_as_the_guard_does(ledger_db: LedgerDB) -> None:
    """The guard's reading (fl._funding_standards_of) and the verdict's
    (ledger.core.funding.standards_by_year) tell the same pairs of values apart."""
    import itertools
    import json

    from ledger.core.funding import standards_by_year

    e = {"year": 2023, "per_insured": "1020", "subsidy_min": "640", "individual": "380"}
    samples = [None, [], [e], [{**e, "book": "RES", "per_insured": "1020.00"}], [{**e, "per_insured": 1020}],
               [{**e, "ratio_max": "2.0"}], [{**e, "ratio_max": "3"}], [{**e, "book": "EMP"}], [e, e],
               [{**e, "year": "2023"}], [{**e, "individual": "x"}], [{**e, "individual": "381"}], {"a": 1},
               [{"year": 2022, "per_insured": "960", "subsidy_min": "610", "individual": "350"}], ["x", e]]
    admin = ledger_db.admin()

    def sql(v: Any) -> dict[tuple[int, str], Any]:
        rows = admin.execute("SELECT year, book, standard FROM fl._funding_standards_of(%s::jsonb)",
                             (None if v is None else json.dumps(v),)).fetchall()
        return {(r["year"], r["book"]): r["standard"] for r in rows if r["year"] is not None}

    for a, b in itertools.combinations(samples, 2):
        py_a, py_b = standards_by_year(a), standards_by_year(b)
        sq_a, sq_b = sql(a), sql(b)
        assert set(py_a) == set(sq_a) and set(py_b) == set(sq_b), (a, b)
        for k in set(py_a) | set(py_b):
            same_sql = admin.execute("SELECT %s::jsonb IS NOT DISTINCT FROM %s::jsonb AS s",
                                     (json.dumps(sq_a.get(k)) if k in sq_a else None,
                                      json.dumps(sq_b.get(k)) if k in sq_b else None)).fetchone()["s"]
            assert (py_a.get(k) == py_b.get(k)) == same_sql, (k, a, b, sq_a.get(k), sq_b.get(k))
