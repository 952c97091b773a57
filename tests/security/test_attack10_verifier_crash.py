"""ATTACK10 X14: one number in a row the verifier reads crashes ``verify`` with a traceback — no verdict.

The verdict parses rows' JSON (entry sources, history versions) with ``json.loads`` and turns ids into
integers with ``_int`` helpers (``ledger/core/actors.py``, ``rules.py``) that catch TypeError and ValueError.
A jsonb number with a fraction and more than 308 digits (PostgreSQL's numeric prints it in full) parses to
``float('inf')``, and ``int(inf)`` raises OverflowError — caught by neither the helpers, nor
``verify_offline``'s list, nor the CLI edge (LedgerError, UnicodeError, RecursionError). The DBA sets one
such value (here ``source.held`` of a confirmed entry, triggers off for the statement): ``fundledger verify``
and the export's ``verify --offline`` end in a Python traceback instead of naming the change — the auditor
gets no verdict at all, and the DBA chooses when.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_attack8_bank import CONFIRM, MONEY_IN, _hold, county  # noqa: F401  (fixture)

pytestmark = pytest.mark.db

BIG = "15" + "0" * 400 + ".5"


def test_x14_a_huge_number_in_a_read_row_is_a_finding_not_a_crash(county: LedgerDB) -> None:  # noqa: F811
    _huge_source(county)
    try:
        r = county.cli("verify", user="aud")
    except Exception as e:        # what reaches a user's terminal as a traceback
        raise AssertionError(f"verify crashed ({type(e).__name__}: {e}): no verdict, a traceback") from None
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r


def _huge_source(county: LedgerDB) -> int:  # noqa: F811
    hid = _hold(county.connect("o22", autocommit=True), "x14b", *MONEY_IN["against a temporary receipt (2001)"])
    done = county.connect("rev", autocommit=True).execute(CONFIRM, (hid,)).fetchone()
    assert done is not None
    admin = county.admin()
    admin.execute("ALTER TABLE fl.entry DISABLE TRIGGER USER")
    try:
        admin.execute(f"UPDATE fl.entry SET source = jsonb_set(source, '{{held}}', '{BIG}'::jsonb) WHERE id = %s",
                      (done["entry_id"],))
    finally:
        admin.execute("ALTER TABLE fl.entry ENABLE TRIGGER USER")
    return int(done["entry_id"])


def test_x14_the_verdict_names_the_changed_entry_and_json_says_not_whole(county: LedgerDB) -> None:  # noqa: F811
    """Not just "no traceback": the verdict is red and a finding names what was changed."""
    eid = _huge_source(county)
    r = county.cli("verify", "--json", user="aud")
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    red = [f for c in doc["checks"] for f in c["findings"]]
    assert red, doc
    assert any(f.get("entry_id") == eid or str(eid) in f["message"] for f in red) or any(
        f["check"] == "readable" for f in red), red


def test_x14_an_unjudgeable_value_anywhere_is_a_readable_finding_not_a_crash(
        county: LedgerDB, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The class: whatever check meets a value it cannot judge (here a rule that raises
    OverflowError, as int(float('inf')) does), the verdict says "not whole" with a `readable`
    finding, and an audit digest is refused rather than filed over it."""
    from ledger.core import bank_refs

    def boom(*a: object, **k: object) -> object:
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(bank_refs, "check", boom)
    r = county.cli("verify", "--json", user="aud")
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    ind = doc["independent"]
    assert ind["ok"] is False
    assert any(f["check"] == "readable" and "OverflowError" in f["message"]
               for c in ind["checks"] for f in c["findings"]), ind
    d = county.cli("audit", "digest", user="aud")
    assert d.exit_code != 0 and "Traceback" not in d.stderr and "OverflowError" in (d.stderr + d.stdout), d


def test_x14_offline_an_archive_with_the_huge_number_is_refused_not_a_crash(
        county: LedgerDB, tmp_path: Path) -> None:  # noqa: F811
    _huge_source(county)
    e = county.cli("audit", "export", str(tmp_path / "x"), user="aud")
    assert "Traceback" not in e.stderr, e
    if e.exit_code != 0:
        return                      # the export itself refused to write such books: also no traceback
    off = county.cli("verify", "--offline", str(tmp_path / "x"), "--no-digest", user="aud")
    assert off.exit_code != 0 and "Traceback" not in off.stderr, off
