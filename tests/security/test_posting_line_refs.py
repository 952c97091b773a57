"""0107: a posting's line reference is held to the reference form in the database (CHECK
posting_line_ref_form, and pending_posting_line_ref_form on a held entry's lines), validated against
every row, and named by both verdicts.

fl.posting.line_ref — the claim number a payment's debit carries, the reference a manual entry's
line names, what reconciliation matches bank lines by — was bounded only by its length (200): a
raw writer (a DBA's fl._post, a hand-made post_entries call) put a zero-width space, a full-width
claim number or a Cyrillic look-alike there, and every report and match read it as another claim.
The variants: each class of character (hidden, full-width, another script, a Latin letter past
ASCII, a space at an end, past 150 characters), through the manual entry reader (named by entry
and posting, Chinese on request), through raw post_entries (posted at once, and held), through
fl._post as the superuser; ordinary ASCII and 汉字 references kept; the CHECK validated in the
catalogue; and the DBA's row behind a dropped CHECK named by both verdicts, online and offline.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import leg
from tests.security.test_import_daily_cap import _named

pytestmark = pytest.mark.db

BAD = {"zwsp": "Z-\u200bA", "fullwidth": "ＺＡ-１", "cyrillic": "Z-\u0410", "latin1": "Z-\u00e9", "vs16": "Z-A\ufe0f",
       "long": "Z" * 151}
GOOD = ["Z-A", "发票〔2024〕12号", "PAY-230800-000000001", "Z" * 150]


def _doc(key: str, ref: str, money: bool = False) -> str:
    a, b = ("1003", "4001") if money else ("1101", "2001")
    legs = [dict(leg(a, "230822", "D", "1.00", "special" if money else None), line_ref=ref),
            leg(b, "230822", "C", "1.00")]
    return json.dumps([{"date": "2024-03-20", "book": "RES", "idempotency_key": key, "postings": legs}])


@pytest.mark.parametrize("name", sorted(BAD))
def test_the_manual_reader_refuses_it_naming_entry_and_posting(ledger_db: LedgerDB, tmp_path: Path,
                                                                name: str) -> None:
    f = tmp_path / "e.json"
    f.write_text(_doc(f"lr-{name}", BAD[name]), encoding="utf-8")
    r = ledger_db.cli("entry", "post", str(f), user="o22")
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert f"lr-{name}" in text and "posting 1" in text and "line_ref" in text and "Traceback" not in text, text
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]
    assert n == 0


@pytest.mark.parametrize("ref", GOOD)
def test_an_ordinary_reference_posts(ledger_db: LedgerDB, tmp_path: Path, ref: str) -> None:
    f = tmp_path / "e.json"
    f.write_text(_doc("lr-good", ref), encoding="utf-8")
    r = ledger_db.cli("entry", "post", str(f), user="o22")
    assert r.exit_code == 0, r
    got = ledger_db.admin().execute("SELECT line_ref FROM fl.posting WHERE line_ref IS NOT NULL").fetchone()
    assert got["line_ref"] == ref


def test_the_reader_speaks_chinese(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "e.json"
    f.write_text(_doc("lr-zh", BAD["zwsp"]), encoding="utf-8")
    r = ledger_db.cli("entry", "post", str(f), user="o22", env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code != 0 and "零宽空格" in r.stdout + r.stderr, r


@pytest.mark.parametrize("money", [False, True], ids=["posted", "held"])
@pytest.mark.parametrize("name", ["zwsp", "fullwidth", "long"])
def test_a_raw_post_entries_call_meets_the_check(ledger_db: LedgerDB, name: str, money: bool) -> None:
    c = ledger_db.connect("fin")
    with pytest.raises(psycopg.errors.CheckViolation) as ei:
        c.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_doc(f"lr-raw-{name}", BAD[name], money),))
    c.rollback()
    assert ei.value.diag.constraint_name == ("pending_posting_line_ref_form" if money else "posting_line_ref_form")


def test_the_superusers_fl_post_meets_the_check(ledger_db: LedgerDB) -> None:
    with pytest.raises(psycopg.errors.CheckViolation) as ei:
        ledger_db.admin().execute(
            "SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-03-01', 'x', 'manual', 'manual:fin:lr-dba', NULL, '', "
            "NULL, NULL)::fl.new_entry], ARRAY[ROW(1, 1, 'RES', '1101', '230822', '', '', 'D', 100, %s, NULL)::fl.new_posting, "
            "ROW(1, 2, 'RES', '2001', '230822', '', '', 'C', 100, NULL, NULL)::fl.new_posting])", (BAD["cyrillic"],))
    assert ei.value.diag.constraint_name == "posting_line_ref_form"


def test_the_check_is_validated_in_the_catalogue(ledger_db: LedgerDB) -> None:
    rows = ledger_db.admin().execute(
        "SELECT conname, convalidated, pg_get_constraintdef(oid) AS d FROM pg_constraint "
        "WHERE conname IN ('posting_line_ref_form', 'pending_posting_line_ref_form') ORDER BY conname").fetchall()
    assert [(r["conname"], r["convalidated"]) for r in rows] == [("pending_posting_line_ref_form", True),
                                                                   ("posting_line_ref_form", True)], rows
    assert all("line_ref_form_ok(line_ref)" in r["d"] and "150" in r["d"] for r in rows), rows


def test_a_row_behind_a_dropped_check_is_named_by_both_verdicts(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The DBA drops the CHECK, writes a posting whose line reference reads like another claim's,
    and adds the CHECK back NOT VALID (it cannot be validated now): both verdicts name the posting."""
    admin = ledger_db.admin()
    admin.execute("ALTER TABLE fl.posting DROP CONSTRAINT posting_line_ref_form")
    admin.execute(
        "SELECT * FROM fl._post(ARRAY[ROW(1, 'RES', DATE '2024-03-01', 'x', 'manual', 'manual:fin:lr-dba2', NULL, '', "
        "NULL, NULL)::fl.new_entry], ARRAY[ROW(1, 1, 'RES', '1101', '230822', '', '', 'D', 100, %s, NULL)::fl.new_posting, "
        "ROW(1, 2, 'RES', '2001', '230822', '', '', 'C', 100, NULL, NULL)::fl.new_posting])", (BAD["zwsp"],))
    admin.execute("ALTER TABLE fl.posting ADD CONSTRAINT posting_line_ref_form CHECK (line_ref IS NULL OR "
                  "(length(line_ref) <= 150 AND fl.reference_form_ok(line_ref))) NOT VALID")
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code != 0, v
    named = [f for n, f in _named(v.stdout, "(line_ref_form)") if n == "posting_copies"]
    assert len(named) == 2 and all("u200b" in f for f in named), named     # the first pass and the proof
    out, filed = tmp_path / "export", tmp_path / "filed.json"
    assert ledger_db.cli("audit", "export", str(out), "--digest-out", str(filed), user="aud").exit_code == 0
    off = ledger_db.cli("verify", "--offline", str(out), "--digest", str(filed), "--json")
    assert off.exit_code == 1 and "line_ref_form" in off.stdout, off.stdout[-3000:]


def test_the_independent_rule_reads_as_the_database() -> None:
    from ledger.core.proof import line_ref_problem

    for ref in [*GOOD, "", "Z A", "住院-甲-001"]:
        assert line_ref_problem(ref) == "", ref
    for name, ref in BAD.items():
        assert line_ref_problem(ref), name
    assert line_ref_problem(" Z") and line_ref_problem("Z ")
