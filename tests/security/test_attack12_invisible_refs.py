"""ATTACK12: a claim reference that differs only by an invisible character is another claim.

A payment's reference is the claim's identity: the county's import skips a claim the city bureau's
import took (0043, 0063) and ``claims_once`` names one paid twice — both by comparing the text.
The reader strips outer spaces (NBSP included) but keeps every other character: a zero-width space
(U+200B), a word joiner (U+2060), a BOM (U+FEFF) inside the reference, or a C0 control such as
U+0001, are stored as they came. So the county officer who re-imports the bureau's claim ``Z-A``
as ``Z-<U+200B>A`` pays it a second time from the county's expenditure account, and no check names
it; in every report, workbook and terminal the two references read ``Z-A`` (a zero-width
character shows as nothing; SafeConsole's stand-ins are for controls and bidi overrides).

Fixed when a reference (every kind that has one) refuses format and control characters (Unicode
categories Cf and Cc) and is compared in one normal form (NFKC, so full-width ``ＺＡ`` is ``ZA``), in
the reader and in ``fl.import_*``'s checks alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_rules_rederived import _claims, _fund

pytestmark = pytest.mark.db


@pytest.mark.parametrize("mark", ["\u200b", "\u2060", "\ufeff", "\x01"])
def test_z_the_bureaus_claim_reimported_with_an_invisible_character_is_not_paid_again(
        ledger_db: LedgerDB, tmp_path: Path, mark: str) -> None:
    _fund(ledger_db)
    f = _claims(tmp_path / "bureau.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,Z-A,,county")
    held = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert held.exit_code == 0 and len(held.json()["held"]) == 1, held
    assert ledger_db.cli("entry", "confirm", str(held.json()["held"][0]), user="fin").exit_code == 0
    again = _claims(tmp_path / "county.csv", f"2024-03-27,230881,RES,某某医院,inpatient,800.00,Z-{mark}A,,county")
    ledger_db.cli("pay", "import", str(again), "--json", user="o81")
    paid = ledger_db.admin().execute(
        "SELECT p.line_ref, e.created_by FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
        "WHERE e.kind = 'payments' AND p.side = 'D' ORDER BY e.id").fetchall()
    assert [r["created_by"] for r in paid] == ["rev"], (
        f"claim Z-A paid by the bureau was paid again by the county as {paid[-1]['line_ref']!r}: {paid}")
