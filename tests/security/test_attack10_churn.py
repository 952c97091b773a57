"""ATTACK10 X2: 0073's daily cap counts entries, not what an entry carries.

W7 (ATTACK9) was one officer appending net-zero 1101/2001 entries without bound: 4,000
two-posting entries (8,000 postings) in ~10 s. 0073 caps a user's *manual entries* per region
day (2,000 for an officer); one call still takes 20,000 postings and 8 MB (0050), all of which
may sit in ONE entry. So the day's 2,000 entries carry up to 40,000,000 postings (16 GB of
documents) per officer — W7's churn ×5,000 — every row sealed, chained and read by every verify
forever, posted at once (1101/2001: no second person).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import leg

pytestmark = pytest.mark.db

LEGS = 20000                 # 0050's per-call postings bound, in one entry
CALLS = 3                    # 60,000 postings: 7.5x W7's whole attack, in three calls


def _wide(n: int, flip: bool) -> str:
    a, b = ("2001", "1101") if flip else ("1101", "2001")
    legs = [leg(a if i % 2 == 0 else b, "230822", "D" if i % 2 == 0 else "C", "0.01") for i in range(LEGS)]
    return json.dumps({"date": "2024-03-20", "book": "RES", "idempotency_key": f"x2-{n}", "postings": legs})


def test_x2_one_officer_appends_tens_of_thousands_of_postings_a_day_through_few_entries(ledger_db: LedgerDB) -> None:
    o22 = ledger_db.connect("o22", autocommit=True)
    refused = None
    t0 = time.monotonic()
    for n in range(CALLS):
        try:
            rows = o22.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (_wide(n, n % 2 == 1),)).fetchall()
        except psycopg.Error as e:
            refused = e
            break
        assert [r["status"] for r in rows] == ["posted"], rows
    took = time.monotonic() - t0
    postings = ledger_db.admin().execute(
        "SELECT count(*) AS n FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id WHERE e.created_by = 'o22'"
    ).fetchone()["n"]  # type: ignore[index]
    day = ledger_db.admin().execute("SELECT n FROM fl.manual_day WHERE user_name = 'o22'").fetchone()
    assert refused is not None, (
        f"one officer appended {postings} net-zero postings ({CALLS} entries; manual_day counts "
        f"{day['n'] if day else 0} of the day's 2,000) in {took:.0f} s, posted at once, nothing refused: "
        "the day's cap bounds entries, and one entry carries 20,000 postings")


# ---- fix10c (0078): variants -------------------------------------------------------------------

def _counter(db: LedgerDB, user: str) -> tuple[int, int] | None:
    r = db.admin().execute("SELECT n, postings FROM fl.manual_day WHERE user_name = %s", (user,)).fetchone()
    return None if r is None else (int(r["n"]), int(r["postings"]))


def _set_counter(db: LedgerDB, user: str, n: int, postings: int) -> None:
    """Put ``user``'s region day at ``postings`` postings (the counter is a guard, not a record):
    the boundary without writing 100,000 postings first."""
    db.admin().execute("INSERT INTO fl.manual_day (user_name, day, n, postings) VALUES (%s, fl._region_today(), %s, %s) "
                       "ON CONFLICT (user_name, day) DO UPDATE SET n = EXCLUDED.n, postings = EXCLUDED.postings",
                       (user, n, postings))


def _pair(key: str, a: str = "1101", b: str = "2001", unit: str = "230822") -> str:
    return json.dumps([{"date": "2024-03-20", "book": "RES", "idempotency_key": key,
                        "postings": [leg(a, unit, "D", "1.00"), leg(b, unit, "C", "1.00")]}])


@pytest.mark.parametrize(("user", "unit", "cap"), [("o22", "230822", 20000), ("fin", "230800", 100000)])
def test_x2_the_days_postings_are_capped_per_role_at_the_boundary(ledger_db: LedgerDB, user: str, unit: str,
                                                                   cap: int) -> None:
    """An officer may write 20,000 postings of manual entries a region day, the city bureau and
    finance 100,000: a call that reaches the cap exactly posts, one posting more is refused whole
    (nothing written, its increment rolled back)."""
    c = ledger_db.connect(user, autocommit=True)
    _set_counter(ledger_db, user, 10, cap - 2)
    assert c.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (_pair("x2v-at", unit=unit),)
                     ).fetchone()["status"] == "posted"  # type: ignore[index]
    assert _counter(ledger_db, user) == (11, cap)
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
        c.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (_pair("x2v-past", unit=unit),)).fetchall()
    assert e.value.diag.constraint_name == "manual_daily_cap" and "postings" in str(e.value), e.value
    assert _counter(ledger_db, user) == (11, cap)
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key LIKE %s",
                                     ("%x2v-past",)).fetchone()["n"] == 0  # type: ignore[index]


def test_x2_held_entries_count_their_postings_too(ledger_db: LedgerDB) -> None:
    """Entries held for a second person (real money) count as they are sent, as 0073's entries
    do: a wide held entry cannot go round the cap."""
    o22 = ledger_db.connect("o22", autocommit=True)
    _set_counter(ledger_db, "o22", 0, 19999)
    doc = _pair("x2v-held", "5001.inpatient", "1101")
    with pytest.raises(psycopg.errors.ProgramLimitExceeded) as e:
        o22.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (doc,)).fetchall()
    assert e.value.diag.constraint_name == "manual_daily_cap", e.value
    _set_counter(ledger_db, "o22", 0, 19998)
    assert o22.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (doc,)).fetchone()["status"] == "held"  # type: ignore[index]
    assert _counter(ledger_db, "o22") == (1, 20000)


def test_x2_the_postings_cap_says_what_to_do_in_chinese_first(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """One officer's 20,000-posting entry is the day's postings: the next entry, however small,
    is refused in Chinese first, saying to post the rest tomorrow or have the city post them."""
    o22 = ledger_db.connect("o22", autocommit=True)
    assert [r["status"] for r in o22.execute("SELECT status FROM fl.post_entries(%s::jsonb)", (_wide(0, False),)
                                             ).fetchall()] == ["posted"]
    assert _counter(ledger_db, "o22") == (1, LEGS)
    f = tmp_path / "one.json"
    f.write_text(_pair("x2v-one"), "utf-8")
    r = ledger_db.cli("--lang", "zh", "entry", "post", str(f), user="o22")
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1 and "[manual_daily_cap]" in text and "分录行" in text and "明天" in text and "市财政" in text, r
    assert "Traceback" not in r.stderr
    assert _counter(ledger_db, "o22") == (1, LEGS)
