"""ATTACK15b B6: 0111 narrowed fl.reference_form_ok under a CHECK that 0107 had *validated*, without
re-judging what was stored: an honest ledger that paid 𠮷-1 before the upgrade fails verify after it,
and the catalogue says a CHECK holds that its rows break.

0107 added CHECK posting_line_ref_form (fl.reference_form_ok, then 0098's repertoire with the
extension blocks) and VALIDATEd it on every stored posting. 0111 replaced the IMMUTABLE function the
CHECK calls with a narrower one (basic block only) and said "0089's three CHECKs stay NOT VALID
(stored references are not re-judged)" — but 0107's is VALID. A posting whose line reference is
``𠮷-1``, written under 0098–0110 where that was in the form, now breaks a constraint PostgreSQL calls
validated: the SQL verdict skips reading postings because the catalogue says it is validated, while
the independent verdict (``ledger.core.proof.line_ref_problem`` → the reader's 0111 rule, no rule
point) names the posting — verify fails on a ledger nobody wrote anything wrong into, and nothing can
be edited to make it whole. (A logical dump of it, COPYing rows under the CHECK, would not restore.)

Simulated in one database: the 0098 rule in force (the function and the reader's pattern), o81 pays
claim 𠮷-1; then 0111's function and pattern; verify.

Fixed when a narrowing of the form is judged by rule point (entries before 0111 by 0098's repertoire,
in both verdicts), and a migration narrowing a function under a validated CHECK re-validates or
marks it NOT VALID first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ledger.io.tables as tables
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
REPO = Path(__file__).resolve().parents[2]


def _function(migration: str) -> str:
    text = (REPO / "sql" / migration).read_text("utf-8")
    return re.search(r"CREATE OR REPLACE FUNCTION fl\.reference_form_ok.*?\n\$\$;", text, re.S).group(0)


def test_b6_a_reference_in_the_form_when_paid_does_not_fail_verify_after_the_form_narrows(
        ledger_db: LedgerDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("b6-col", "2024-03-01", "230881", "100000.00"),
         entry("b6-top", "2024-03-02", "RES", leg("1004", "230881", "D", "100000.00", "county_exp"),
               leg("1003", "230881", "C", "100000.00", "special")))
    adm = ledger_db.admin()
    adm.execute(_function("0098_reference_repertoire.sql"))                    # before the upgrade: 0098's form
    with monkeypatch.context() as m:
        m.setattr(tables, "_REFERENCE_REPERTOIRE", re.compile(
            "[ -~\u3001\u3002\u3007\u300a-\u3011\u3014-\u3017\u3400-\u4dbf\u4e00-\u9fff"
            "\U00020000-\U0002ebef\U00030000-\U0003134f]*"))
        f = tmp_path / "claims.csv"
        f.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,\U00020bb7-1,,county\n", "utf-8")
        r = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
        assert r.exit_code == 0, r
    adm.execute(_function("0111_reference_basic_ideographs.sql"))              # the upgrade to 0111
    valid = adm.execute("SELECT convalidated FROM pg_catalog.pg_constraint WHERE conname = 'posting_line_ref_form'"
                        ).fetchone()["convalidated"]
    # (0118) counted by the CHECK's own form
    broken = adm.execute("SELECT count(*) AS n FROM fl.posting WHERE NOT fl.line_ref_form_ok(line_ref)").fetchone()["n"]
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code == 0 and not (valid and broken), (
        f"posting_line_ref_form validated={valid} while {broken} stored posting(s) break it; verify exit "
        f"{v.exit_code} on a ledger whose 𠮷-1 was in the form when paid: {_failed(v.stdout)}")


def _failed(out: str) -> str:
    """The verdict's failing checks and their first findings, for the message."""
    import json

    try:
        doc = json.loads(out)
    except ValueError:
        return out[-1500:]
    found: list[str] = []

    def walk(x: object) -> None:
        if isinstance(x, dict):
            if x.get("ok") is False:
                found.append(f"{x.get('name')}: {json.dumps(x.get('findings', [])[:2], ensure_ascii=False)[:400]}")
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    return "; ".join(found) or out[-1500:]
