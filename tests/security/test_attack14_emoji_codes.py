"""ATTACK14 V8: text a user wrote is shown on the terminal as something else — Rich's emoji codes.

``cli.context.SafeConsole`` replaces control characters and escapes Rich *markup* in data, but
the console still expands emoji short codes in every string it prints: a provider written
``某某医院:one:`` is shown in ``report ledger`` as ``某某医院1️⃣`` (in terminals and fonts without
keycap glyphs: ``某某医院1`` — another number than was written), a reference ``A-:100:`` as
``A-💯``, ``:x:`` as ``❌``; an error message quoting the user's key (``entry show 'EMJ:100:'``)
names ``'EMJ💯'``, a key that does not exist. ``--json``/``--csv`` keep the stored text: the
terminal and the files disagree. (docs/security.md, "What reaches the terminal": table cells are
data.)

Fixed when the console never expands emoji codes (``Console(emoji=False)``, and data cells as
``Text``), whatever the text holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.security.test_rules_rederived import _claims, _fund

pytestmark = pytest.mark.db


def test_v8_a_stored_text_is_shown_as_written(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    f = _claims(tmp_path / "c.csv", "2024-03-27,230881,RES,某某医院:one:,inpatient,800.00,A-:100:,,county")
    assert ledger_db.cli("pay", "import", str(f), user="o81").exit_code == 0
    shown = ledger_db.cli("--lang", "en", "report", "ledger", "RES:5001.inpatient:230881", "--year", "2024", user="aud")
    assert shown.exit_code == 0, shown
    assert "某某医院:one:" in shown.stdout, (
        f"the provider stored as '某某医院:one:' is shown as: "
        f"{[ln for ln in shown.stdout.splitlines() if '某某医院' in ln]}")
    err = ledger_db.cli("--lang", "en", "entry", "show", "no:100:such", user="aud")
    assert "no:100:such" in err.stdout + err.stderr, err
