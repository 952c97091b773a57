"""ATTACK21 N7: the verdict's findings (问题说明) read in Chinese under the Chinese default.

``verify`` and ``audit check-digest`` translated the check names and totals, but every finding was
an English sentence built in Python. A finding now carries a catalogue message with its fields
(``ledger.core.findings.said``): the English text stays the record (``--json``, byte for byte), the
table renders it through the catalogue. Adapted from the red team's
test_rt21_first_year_reload.py::test_the_verdicts_findings_are_worded_in_chinese, with the findings
made by a superuser's tampering (as tests/integration/test_tamper.py does) rather than a first_year
reload: a sealed entry's memo edited, a posting's amount changed, a history row rewritten, and an
entry forged into a closed month — each verdict then names them, in Chinese."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.integration.test_tamper import backdated_insert, change_amount
from tests.integration.test_verify import sample_ledger

pytestmark = pytest.mark.db

# Four ASCII words in a row (the red team's test): an English sentence, not a code or a number.
ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z0-9]+){3,}")
ZH = {"FUNDLEDGER_LANG": "", "COLUMNS": "400"}


def _findings_table(stdout: str) -> str:
    """The table of findings and what follows (the checks table above names checks, not findings),
    without the account keys it names (``RES:1003:230822:special`` is a code, not English)."""
    i = max(stdout.find("问题说明"), 0)
    return re.sub(r"[A-Za-z0-9_.]+(?::[A-Za-z0-9_.<>]+)+", "KEY", stdout[i:])


def test_tampered_books_are_named_in_chinese(ledger_db: LedgerDB, tmp_path: Path) -> None:
    ids = sample_ledger(ledger_db)
    digest = tmp_path / "d.json"
    assert ledger_db.cli("audit", "digest", "--out", str(digest), user="aud").exit_code == 0
    before = ledger_db.cli("verify", "--json", user="aud")
    assert before.exit_code == 0, before.stdout[-2000:]

    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")   # every trigger off
    c.execute("UPDATE fl.entry SET memo = '无事' WHERE id = %s", (ids["o22-feb"],))   # a memo in Chinese: data, not wording
    change_amount(c, ids)
    backdated_insert(c, ids, stamp_now=True)
    c.execute("SET session_replication_role = origin")

    r = ledger_db.cli("verify", user="aud", env=ZH)
    assert r.exit_code == 1, r.stdout[-2000:]
    assert "Traceback" not in r.stdout + r.stderr
    shown = _findings_table(r.stdout)
    assert "问题说明" in r.stdout and "内容与封存时不同" in shown, shown[-1500:]
    assert not ENGLISH.findall(shown), (ENGLISH.findall(shown)[:3], shown[-1500:])

    chk = ledger_db.cli("audit", "check-digest", str(digest), user="aud", env=ZH)
    assert chk.exit_code == 1
    assert "Traceback" not in chk.stdout + chk.stderr
    shown = _findings_table(chk.stdout)
    assert "摘要之后被更改" in shown, shown[-1500:]
    assert not ENGLISH.findall(shown), (ENGLISH.findall(shown)[:3], shown[-1500:])

    # --json is the record: the same keys, and the English text, whatever the language in force.
    jz = ledger_db.cli("audit", "check-digest", str(digest), "--json", user="aud", env=ZH).json()
    je = ledger_db.cli("audit", "check-digest", str(digest), "--json", user="aud").json()
    drop = {"taken_at", "checked_at", "elapsed"}
    assert {k: v for k, v in jz.items() if k not in drop}.keys() == {k: v for k, v in je.items() if k not in drop}.keys()
    assert [f for ch in jz["checks"] for f in ch["findings"]] == [f for ch in je["checks"] for f in ch["findings"]]
