"""ATTACK15 (d): refusals raised in Python reach the Chinese CLI in English, behind a Chinese label.

``cli.errors.localise`` translates a refusal whose text is a catalogue message or matches one of
its patterns; any other line is shown as it is after the rule's name in words
(``输入无法识别：…``). Every ``raise BadInput(f"…")``/``StateError``/``NotFound`` written without
``_()`` in ``ledger/`` (about 150 sites: ledger/store/backup.py, standby.py, export.py, audit.py,
journal.py, requests.py, reports_ledger.py, verify.py, reconcile.py, ledger/core/entries.py,
region.py, …) therefore reaches a Chinese officer, auditor or operator as an English sentence —
including what to do next (``run it as an auditor``, ``an export goes into a new directory``), the
one part a person needs. PostgreSQL's own "permission denied for view operating_day" (`report income`,
`forecast`, `report subledger`, `report budget-execution` as the admin) is shown untranslated:
``cli.errors.POSTGRES`` has a pattern for a table, a function, a schema and a sequence, not a view. Some are half-translated (``没有银行账户 bogus in book RES (or it belongs
to a unit you cannot see)``), and ``there are no vouchers yet`` says nothing of what to do.

Fixed when every refusal a command can raise is in the catalogue (a sweep over the raise sites,
as tests/unit/test_report_labels.py does for labels) and says what to do next.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")   # four English words in a row


def _cases(tmp: Path) -> list[tuple[str, list[str]]]:
    full = tmp / "full"
    full.mkdir()
    (full / "x").write_text("x")
    doc = tmp / "e.json"
    doc.write_text(json.dumps([{"date": "2024-01-01", "book": "RES", "idempotency_key": "k", "bogus": 1,
                                "postings": []}]))
    bad = tmp / "d.json"
    bad.write_text('{"format": "nope"}')
    return [
        ("o22", ["verify"]),
        ("aud", ["report", "vouchers"]),
        ("rev", ["request", "list", "--state", "bogus"]),
        ("fin", ["reconcile", "report", "--account", "bogus", "--book", "RES", "--as-of", "2024-01-01"]),
        ("aud", ["audit", "export", str(full)]),
        ("aud", ["audit", "check-digest", str(bad)]),
        ("aud", ["audit", "trail", "--request", "999"]),
        ("aud", ["verify", "--offline", str(tmp / "nothere")]),
        ("rev", ["entry", "post", str(doc)]),
        ("rev", ["entry", "show", "nosuch"]),
        ("aud", ["balance", "bogus"]),
        ("rev", ["restore", str(tmp / "nothere"), "--into", str(tmp / "new")]),
        ("rev", ["db", "standby", "create", str(full)]),
        # PostgreSQL's own refusal on a view: cli.errors.POSTGRES words "permission denied for table" only
        ("admin", ["report", "income"]),
        ("admin", ["report", "budget-execution", "--year", "2024"]),
    ]


def test_a15_every_refusal_is_worded_in_chinese(ledger_db: LedgerDB, tmp_path: Path) -> None:
    english = []
    for user, args in _cases(tmp_path):
        r = ledger_db.cli(*args, user=user, env={"FUNDLEDGER_LANG": "zh"})
        assert r.exit_code != 0, (args, r)
        body = r.stderr.replace(str(tmp_path), "")
        if ENGLISH.search(body):
            english.append(f"fundledger {' '.join(a.replace(str(tmp_path), '') for a in args)}: {body.strip()}")
    assert not english, "English refusals on the Chinese CLI:\n" + "\n".join(english)
