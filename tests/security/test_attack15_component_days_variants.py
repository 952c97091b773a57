"""ATTACK15 A6's class: a fund component's money in a physical account ends no day below zero
(0125, refusal component_days), on every path that writes a posting, and verify names a breach.

The red team's test is a backdated import of a personal claim; here the other paths — a manual
entry held and confirmed later, a reversal of the component's funding dated earlier, the pooled
side (the pooled money in the account in total) — and the honest case (the money and its payment
on the same day, more days after) that must still post.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.helpers import entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
U = "230881"


def _fund(fin: psycopg.Connection, tag: str, comp: str, date: str, yuan: str) -> None:
    """Collections of ``comp`` into the special account and down to the county's expenditure account."""
    post(fin,
         entry(f"{tag}-col-{comp}-{date}", date, "EMP", leg("1003", U, "D", yuan, "special", comp),
               leg("4001", U, "C", yuan, component=comp)),
         entry(f"{tag}-down-{comp}-{date}", date, "EMP", leg("1004", U, "D", yuan, "county_exp", comp),
               leg("1003", U, "C", yuan, "special", comp)))


def _pay(ledger_db: LedgerDB, tmp_path: Path, name: str, date: str, yuan: str, comp: str) -> object:
    f = tmp_path / f"{name}.csv"
    f.write_text(f"{PAY}\n{date},{U},EMP,某某医院,inpatient,{yuan},{name.upper()},{comp},county\n", "utf-8")
    return ledger_db.cli("--lang", "en", "pay", "import", str(f), "--json", user="o81")


def test_a15_pooled_money_paid_before_it_arrived_is_refused(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The pooled side: the county account holds personal money from 1 March, pooled money from
    20 March; a pooled claim dated 10 March would be paid with the personal accounts' money."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "a6p", "personal", "2024-03-01", "100000.00")
    _fund(fin, "a6p", "pooled", "2024-03-20", "50000.00")
    r = _pay(ledger_db, tmp_path, "a6p-1", "2024-03-10", "30000.00", "pooled")
    assert r.exit_code != 0 and "component_days" in r.stdout + r.stderr, r  # type: ignore[attr-defined]
    zh = ledger_db.cli("--lang", "zh", "pay", "import", str(tmp_path / "a6p-1.csv"), user="o81")
    assert zh.exit_code != 0 and "到账当日或之后" in zh.stdout + zh.stderr, zh


def test_a15_a_held_manual_payment_confirmed_later_is_held_to_the_day_end(ledger_db: LedgerDB) -> None:
    """A manual personal payment dated before the personal money arrived, held and confirmed by a
    second person: the confirmation is refused."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "a6h", "pooled", "2024-03-01", "100000.00")
    _fund(fin, "a6h", "personal", "2024-03-20", "50000.00")
    with pytest.raises(psycopg.Error) as e:
        post(fin, entry("a6h-pay", "2024-03-10", "EMP",
                        leg("5001.inpatient", U, "D", "30000.00", component="personal"),
                        leg("1004", U, "C", "30000.00", "county_exp", "personal")))
    assert "component_days" in str(e.value) or "2024-03-10" in str(e.value), e.value


def test_a15_a_reversal_of_the_funding_dated_earlier_is_refused(ledger_db: LedgerDB) -> None:
    """The personal money arrived on 1 March and paid a claim on 10 March; more arrived on 20 March.
    Reversing the 1 March funding dated 5 March leaves 10-19 March at -30,000.00: refused."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "a6r", "pooled", "2024-03-01", "100000.00")
    _fund(fin, "a6r", "personal", "2024-03-01", "50000.00")
    post(fin, entry("a6r-pay", "2024-03-10", "EMP", leg("5001.inpatient", U, "D", "30000.00", component="personal"),
                    leg("1004", U, "C", "30000.00", "county_exp", "personal")))
    _fund(fin, "a6r", "personal", "2024-03-20", "50000.00")
    down = fin.execute("SELECT id FROM fl.entry WHERE idempotency_key LIKE '%a6r-down-personal-2024-03-01'").fetchone()
    assert down is not None
    rv = ledger_db.cli("--lang", "en", "entry", "reverse", str(down["id"]), "--reason", "wrong", "--date", "2024-03-05",
                       "--json", user="fin")
    out = rv.stdout + rv.stderr
    if rv.exit_code == 0 and rv.json().get("held_id"):
        c = ledger_db.cli("--lang", "en", "entry", "confirm", str(rv.json()["held_id"]), user="rev")
        assert c.exit_code != 0, c
        out = c.stdout + c.stderr
    else:
        assert rv.exit_code != 0, rv
    assert "component_days" in out or "2024-03-1" in out, out


def test_a15_the_money_and_its_payment_on_the_same_day_post(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """Honest: the personal money arrives on 20 March and a personal claim dated 20 March is paid;
    later days exist (pooled money on 25 March), so the day-end rule is walked and passes."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "a6s", "personal", "2024-03-20", "50000.00")
    _fund(fin, "a6s", "pooled", "2024-03-25", "10000.00")
    r = _pay(ledger_db, tmp_path, "a6s-1", "2024-03-20", "30000.00", "personal")
    assert r.exit_code == 0, r  # type: ignore[attr-defined]
    v = ledger_db.cli("verify", "--json", user="aud")
    doc = json.loads(v.stdout)
    bad = [(c["name"], c["findings"][:2]) for c in (*doc["checks"], *doc["independent"]["checks"]) if not c["ok"]]
    assert v.exit_code == 0 and not bad, bad


def test_a15_verify_names_a_component_below_zero_at_a_day_end(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """With the trigger's day-end walk suspended (a DBA's function body), the backdated personal
    claim posts; verify's components_separate names the day (the balance now is positive)."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "a6v", "pooled", "2024-03-01", "100000.00")
    _fund(fin, "a6v", "personal", "2024-03-20", "50000.00")
    admin = ledger_db.admin()
    body = admin.execute("SELECT pg_get_functiondef('fl.posting_inserted()'::regprocedure) AS d").fetchone()["d"]
    assert "CONTINUE WHEN neg.day IS NULL;" in body
    admin.execute(body.replace("CONTINUE WHEN neg.day IS NULL;", "CONTINUE;"))
    admin.commit()
    try:
        r = _pay(ledger_db, tmp_path, "a6v-1", "2024-03-10", "30000.00", "personal")
        assert r.exit_code == 0, r  # type: ignore[attr-defined]
    finally:
        admin.execute(body)
        admin.commit()
    v = ledger_db.cli("--lang", "en", "verify", "--json", user="aud")
    assert v.exit_code != 0
    doc = json.loads(v.stdout)
    for checks in (doc["checks"], doc["independent"]["checks"]):
        found = [f for c in checks if c["name"] == "components_separate" for f in c["findings"]]
        assert any("2024-03-10" in f["message"] for f in found), found


def test_a15_a_backdated_personal_import_is_refused_by_the_day_end_rule(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The red team's case, its refusal named: component_days, in Chinese with the next step."""
    fin = ledger_db.connect("fin", autocommit=True)
    _fund(fin, "a6b", "pooled", "2024-03-01", "100000.00")
    _fund(fin, "a6b", "personal", "2024-03-20", "50000.00")
    r = _pay(ledger_db, tmp_path, "a6b-1", "2024-03-10", "30000.00", "personal")
    assert r.exit_code != 0 and "component_days" in r.stdout + r.stderr, r  # type: ignore[attr-defined]
    zh = ledger_db.cli("--lang", "zh", "pay", "import", str(tmp_path / "a6b-1.csv"), user="o81")
    assert zh.exit_code != 0 and "到账当日或之后" in zh.stdout + zh.stderr, zh
    ok = _pay(ledger_db, tmp_path, "a6b-2", "2024-03-20", "30000.00", "personal")
    assert ok.exit_code == 0, ok  # type: ignore[attr-defined]
