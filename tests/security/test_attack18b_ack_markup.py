"""ATTACK18b H11: one acknowledgement's decision text breaks ``monitor`` for every reader.

``cli.monitor._response_lines`` escapes a decision with ``.replace("[", "\\[")`` instead of
``plain()``/rich's ``escape``. Rich reads ``\\`` before ``[`` as an escaped backslash: a decision
typed as ``已处置\\[/]`` becomes ``已处置\\\\[/]`` — a live closing tag — and ``console.print`` raises
``rich.errors.MarkupError: closing tag '[/]' … has nothing to close``. The acknowledgement is stored
(chained, append-only: it cannot be corrected), so from then on every text ``monitor`` that shows the
unit's response plan — the bureau's, finance's, the auditor's, the county's — ends in a traceback
(the scheduled red check, exit 3, included). The response plan's own texts (region settings) are
escaped the same way.

Safe behaviour asserted: the monitor prints the decision literally, exit 3 (red), no exception.
"""

from __future__ import annotations

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, pay_from_special, post

pytestmark = pytest.mark.db

U = "230881"


def test_h11_a_decision_with_a_backslash_before_a_bracket_does_not_break_the_monitor(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("c81", "2023-03-01", U, "1000000.00"), pay_from_special("p81a", "2023-03-15", U, "300000.00"),
         pay_from_special("p81b", "2023-04-15", U, "300000.00"))
    r = ledger_db.cli("monitor", "ack", U, "--level", "red", "--on", "2023-04-05", "--decision", "已处置\\[/]",
                      "--json", user="rev")
    assert r.exit_code == 0, r
    try:
        m = ledger_db.cli("monitor", "--as-of", "2023-04-30", "--unit", U, "--book", "RES", user="aud")
    except Exception as e:      # on main: MarkupError("closing tag '[/]' at position … has nothing to close")
        pytest.fail(f"a traceback reached the auditor: {e!r}")
    assert m.exit_code == 3 and "已处置\\[/]" in m.stdout.replace("\n", ""), m


def test_h11_an_officers_memo_does_not_break_the_citys_vouchers_report(ledger_db: LedgerDB) -> None:
    """The same hand-written escape in every report's text cells (``cli.exports._cell``:
    ``person_text(...).replace("[", "\\[")``): a county officer's manual entry with the memo
    ``调整\\[/]`` makes the city bureau's ``report vouchers`` (and ``report ledger``) a traceback."""
    from tests.helpers import entry, leg

    o = ledger_db.connect("o22", autocommit=True)
    post(o, entry("h11-memo", "2024-01-10", "RES", leg("1101", "230822", "D", "1.00"), leg("2001", "230822", "C", "1.00"),
                  memo="调整\\[/]"))
    try:
        r = ledger_db.cli("report", "vouchers", "--year", "2024", user="rev")
    except Exception as e:      # on main: MarkupError("closing tag '[/]' at position … has nothing to close")
        pytest.fail(f"a traceback reached the city bureau: {e!r}")
    assert r.exit_code == 0 and "调整\\[/]" in r.stdout.replace("\n", ""), r
