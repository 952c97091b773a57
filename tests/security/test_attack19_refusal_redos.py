"""ATTACK19 J1 (LOW-MED): an importer's file makes the Chinese refusal of it take minutes.

A refusal is shown in Chinese (the default language) by ``cli.errors.localise``: each line of the
message is matched against every message template of the SQL and the library (~480), each compiled
by ``cli.errors._regex`` with one lazy ``(.*?)`` / ``(.+?)`` group per placeholder and anchored at
``\\Z``. A line that matches none — a refused file's row line quoting a cell, followed by the list of
valid units — is tried against all of them, and each failing match backtracks over every split of
the text among its groups (polynomial in the line's length, to the power of the placeholders);
``_value`` then re-runs every template on each group's value. A 999-character cell ``a a a …`` in
the unit column costs about 10 s of CPU per row to print; a file lists 200 rows
(``BadFile.MAX_LISTED``): a 200 KB payments file from a provider (or a bank's statement, a tax
bureau's collections) makes ``pay import`` sit at 100 % CPU for about half an hour before it says
"refused" — in English the same refusal prints at once.

Safe behaviour asserted: a refused file of five such rows is shown in Chinese, each row named with
its field. The fix (``cli.errors.Template``) matches each template by searching its fixed texts
from the left; that its work is linear in the line is counted, not timed, in
``tests/unit/test_message_template.py`` (which also holds it to the old patterns' meaning). On main
before the fix this test took about 50 s; it now takes the CLI's start-up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db


def test_j1_a_refused_file_is_shown_in_chinese_without_minutes_of_matching(ledger_db: LedgerDB, tmp_path: Path) -> None:
    cell = ("a " * 500)[:999]            # within the reader's 1,000-character cell limit
    f = tmp_path / "payments.csv"
    f.write_text("date,unit,book,provider,category,amount,reference\n"
                 + "".join(f"2024-02-28,{cell},RES,prov,inpatient,1.00,P-{i}\n" for i in range(5)), "utf-8")
    r = ledger_db.cli("pay", "import", str(f), user="o22", env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code == 1 and "bad_file" in r.stderr, r
    # each of the five rows is listed, in Chinese, with its field
    assert all(f"第 {n} 行" in r.stderr or f"第{n}行" in r.stderr for n in range(2, 7)), r.stderr[:2000]
    assert "Traceback" not in r.stderr



def test_j1_another_roles_rejection_reason_does_not_stall_a_refusal(ledger_db: LedgerDB) -> None:
    """The cross-role form: a reviewer rejects a county officer's held entry with a reason of 2,000
    characters (``entry reject --reason``, within 0031's cap). The officer's next post under the same key
    (a script's retry, the same file the next day) is refused quoting that reason ("idempotency key … was
    held as entry N and rejected by rev (…); post it again under a new key"): the refusal matches its
    template, then ``_value`` re-runs every template on the reason — 20 s to a minute of CPU in Chinese
    on main, each time, for the officer and for anyone whose refusal quotes it."""
    import json

    from tests.helpers import entry, leg

    doc = entry("j1-held", "2024-03-10", "RES", leg("5001.inpatient", "230822", "D", "1.00"),
                leg("1004", "230822", "C", "1.00", "county_exp"))
    held = ledger_db.cli("entry", "post", "-", "--json", user="o22", input=json.dumps([doc]))
    assert held.exit_code == 0 and held.json()[0]["status"] == "held", held
    reason = ("a " * 1000)[:2000]
    rej = ledger_db.cli("entry", "reject", str(held.json()[0]["held_id"]), "--reason", reason, user="rev")
    assert rej.exit_code == 0, rej
    again = ledger_db.cli("entry", "post", "-", user="o22", input=json.dumps([doc]), env={"FUNDLEDGER_LANG": "zh"})
    # on main: ~22 s here (about a minute on a quiet machine by localise alone); the work the
    # Chinese message now takes is counted in tests/unit/test_message_template.py
    assert again.exit_code != 0 and "Traceback" not in again.stderr, again
    assert "rev" in again.stderr and "a a a" in again.stderr, again.stderr[:2000]
