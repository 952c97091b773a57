"""A unit's joining date registered after the fact by the city bureau (sql/0167, G5/G9 left open).

Every unit of the default Jiamusi region file has its joining date defaulted (source 'first_year'), so
0157's fix — a registered date is the months-payable basis — did not reach it: its basis stayed 0130's
recorded first day, the date of its first statement. `fundledger unit register-joined` (the reviewer
role, a reason and the document's reference, an idempotency key) registers its real date; months payable
computed after it reads that date, the verdict is whole, and the history is there for the auditor.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post
from tests.security.test_attack7_rules import verdict

pytestmark = pytest.mark.db

UNIT = "230822"            # 桦南县: joining date defaulted (jiamusi.toml names none)
AS_OF = "2023-03-31"


def _monitor(db: LedgerDB) -> tuple[object, ...]:
    res = db.cli("monitor", "--as-of", AS_OF, "--unit", UNIT, "--book", "RES", "--json", user="aud")
    assert res.exit_code in (0, 3), res
    [r] = [r for r in res.json()["rows"] if r["unit"] == UNIT and r["book"] == "RES"]
    return r["months_payable"], r["colour"]


def _back_loaded(db: LedgerDB) -> None:
    """First posting dated 28 March, then January to March loaded (G5's honest back-loading)."""
    fin = db.connect("fin")
    post(fin, collect("jl-first", "2023-03-28", UNIT, "10000.00"))
    fin.commit()
    post(fin, collect("jl-jan", "2023-01-05", UNIT, "1000000.00"),
         pay_from_special("jl-p1", "2023-01-15", UNIT, "100000.00"),
         pay_from_special("jl-p2", "2023-02-15", UNIT, "100000.00"),
         pay_from_special("jl-p3", "2023-03-15", UNIT, "100000.00"))
    fin.commit()


def _register(db: LedgerDB, on: str, *extra: str, user: str = "rev") -> object:
    return db.cli("unit", "register-joined", UNIT, "--on", on, "--reason", "参保登记表所载加入统筹日期",
                  "--document", "佳医保发〔2023〕1号", *extra, user=user)


def test_months_payable_reads_a_joining_date_registered_later(ledger_db: LedgerDB) -> None:
    """Defaulted county, first posting 28 March, January to March loaded after it: 0130's record (28 March)
    averages a quarter's spending over four days — red. The bureau registers 1 January 2023: the unit's
    figures begin on 5 January (its first collection, loaded after: 0176, ATTACK21 N9 — the later of the
    joining date and its earliest fund figure), 710,000 ÷ (300,000 × 365 ÷ (12 × 86)) = 6.69 months, green; the unit list says how the date was set; the verdict
    is whole; a re-run is a duplicate and the history shows one row, in force."""
    _back_loaded(ledger_db)
    before = _monitor(ledger_db)
    assert before[1] == "red", before
    r = _register(ledger_db, "2023-01-01", "--json")
    assert r.exit_code == 0, r
    out = r.json()
    assert (out["status"], out["unit"], out["joined_on"], out["was_on"], out["was_source"], out["first_posting"]) \
        == ("registered", UNIT, "2023-01-01", "2021-01-01", "first_year", "2023-01-05"), out
    assert _monitor(ledger_db) == ("6.69", "green")
    again = _register(ledger_db, "2023-01-01", "--json")
    assert again.exit_code == 0 and again.json()["status"] == "duplicate" and again.json()["id"] == out["id"], again
    units = {u["code"]: u for u in ledger_db.cli("unit", "list", "--json", user="aud").json()}
    assert (units[UNIT]["joined"], units[UNIT]["joined_source"]) == ("2023-01-01", "later")
    hist = ledger_db.cli("unit", "joined-history", "--json", user="aud").json()
    assert [(h["unit"], h["joined_on"], h["in_force"], h["registered_by"], h["document"]) for h in hist] \
        == [(UNIT, "2023-01-01", True, "rev", "佳医保发〔2023〕1号")]
    shown = ledger_db.cli("unit", "register-joined", UNIT, "--on", "2023-01-01", "--reason", "x", "--document", "y",
                          "--key", "other", user="rev")
    assert shown.exit_code == 0, shown         # another key, same date: a second row (the history grows)
    assert verdict(ledger_db) == {}


def test_postings_before_a_later_joining_date_are_refused(ledger_db: LedgerDB) -> None:
    """A unit with no posting yet: the bureau registers 1 March 2023; a collection dated 28 February is
    refused (before_unit_joined, naming the new date), one dated 1 March posts, and the unit's basis is
    1 March (no first-day row is written for it)."""
    r = _register(ledger_db, "2023-03-01")
    assert r.exit_code == 0, r
    fin = ledger_db.connect("fin")
    with pytest.raises(Exception) as e:
        post(fin, collect("jl-early", "2023-02-28", UNIT, "10.00"))
    assert "2023-03-01" in str(e.value), e.value
    fin.rollback()
    post(fin, collect("jl-on", "2023-03-01", UNIT, "10.00"))
    fin.commit()
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.unit_first_day WHERE unit = %s", (UNIT,)).fetchone()
    assert n["n"] == 0
    assert verdict(ledger_db) == {}


def test_refusals(ledger_db: LedgerDB) -> None:
    """A date after the unit's first posting is refused saying which posting and what to do; so is a date
    before the first year; only the city bureau registers (finance, an officer and the auditor are
    refused); the same key with another date is an idempotency conflict; nothing is written by any."""
    _back_loaded(ledger_db)
    late = _register(ledger_db, "2023-01-06")
    assert late.exit_code != 0 and "2023-01-05" in late.stderr and "Traceback" not in late.stderr, late
    early = _register(ledger_db, "2020-12-31")
    assert early.exit_code != 0 and "2021-01-01" in early.stderr, early
    for who in ("fin", "o22", "aud"):
        r = _register(ledger_db, "2023-01-01", user=who)
        assert r.exit_code != 0 and "Traceback" not in r.stderr, (who, r)
    blank = ledger_db.cli("unit", "register-joined", UNIT, "--on", "2023-01-01", "--reason", " ", "--document", "d",
                          user="rev")
    assert blank.exit_code != 0, blank
    ok = _register(ledger_db, "2023-01-01", "--key", "k1")
    assert ok.exit_code == 0, ok
    clash = _register(ledger_db, "2023-01-02", "--key", "k1")
    assert clash.exit_code != 0 and "k1" in clash.stderr, clash
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.unit_joined_later").fetchone()["n"]
    assert n == 1
