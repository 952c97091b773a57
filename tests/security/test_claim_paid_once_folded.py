"""0146: a claim is paid once across a unit's two registers on the references' folded form.

0070 (ATTACK9 W5) refuses the city bureau's row paid from a county's account whose unit + reference
the county's officer already paid with other content, and 0043 makes each side skip (or refuse) the
other side's claims — all by comparing the two registers' references exactly. 0141 (ATTACK17b F4)
made a reference unique on its folded form (``fl.reference_fold``: 0134's radicals read as what they
are drawn like) but only within one namespace, and a unit's officer files under ``payments:<unit>``,
the bureau under ``payments:<unit>:bureau``. So on a ledger upgraded from before 0134 the county's
stored 囗腔-1 (the enclosure radical) and the bureau's new 口腔-1 — one claim, read alike in every
report — were two claims: the bureau's row was held as a new payment and city finance's
confirmation paid the claim a second time out of the county's account; the other way round, the
county's officer paid a claim the bureau's held payment still stood for. Nothing in either verdict
named it.

The stored rows are made as the previous release made them: with 0134's trigger switched off for
that one import (as tests/security/test_reference_lookalike_stored.py does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post
from tests.security.test_attack7_rules import suspended, verdict

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
STORED = "\u56d7腔-1"          # 囗腔-1, written before 0134 refused the radical
NEW = "口腔-1"                  # what every report shows it as


# The fold switched off (the release before 0146 compared the other register's references exactly):
# since 0155 the other side's look-alikes of a row are collected on the folded reference here.
FOLD_OFF = ("s.folded = fl.reference_fold(w.reference)", "false")

def _fund(db: LedgerDB) -> None:
    fin = db.connect("fin", autocommit=True)
    post(fin, collect("fold-col", "2024-03-01", "230881", "1000000.00"),
         entry("fold-top", "2024-03-02", "RES", leg("1004", "230881", "D", "1000000.00", "county_exp"),
               leg("1003", "230881", "C", "1000000.00", "special")))


def _before_0134(db: LedgerDB, user: str, ref: str, amount: str) -> dict[str, object]:
    """``user``'s import of one claim paid from the county's account, as a release before 0134
    wrote it (its reference holding a radical)."""
    a = db.admin()
    a.execute("ALTER TABLE fl.import_line DISABLE TRIGGER import_line_reference_hanzi")
    try:
        c = db.connect(user)
        c.execute("SELECT fl.import_stage('payments')")
        c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, "
                  "reference, component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', '某某医院', "
                  "'inpatient', %s, %s, '', 'county')", (amount, ref))
        out = c.execute("SELECT fl.import_payments('before-0134.csv', NULL) AS r").fetchone()["r"]
        c.commit()
        c.close()
    finally:
        a.execute("ALTER TABLE fl.import_line ENABLE TRIGGER import_line_reference_hanzi")
    assert isinstance(out, dict)
    return out


def _claim(path: Path, ref: str, amount: str) -> str:
    path.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,{amount},{ref},,county\n", "utf-8")
    return str(path)


def _paid(db: LedgerDB) -> list[tuple[str, str, str]]:
    """(reference, who imported it, amount) of every posted payment line of the claim."""
    return [(r["line_ref"], r["created_by"], str(r["amount"])) for r in db.admin().execute(
        "SELECT p.line_ref, e.created_by, p.amount FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
        "WHERE e.kind = 'payments' AND p.line_ref LIKE '%腔-%' ORDER BY p.id").fetchall()]


def test_the_bureaus_county_paid_row_read_as_the_countys_paid_claim_is_a_conflict(ledger_db: LedgerDB,
                                                                                   tmp_path: Path) -> None:
    """The county paid 囗腔-1 (¥800) before 0134; the bureau's 口腔-1 (¥780) from the county's
    account is 0070's conflict naming the county's entry, not a held second payment."""
    _fund(ledger_db)
    _before_0134(ledger_db, "o81", STORED, "800.00")
    r = ledger_db.cli("--lang", "en", "pay", "import", _claim(tmp_path / "b.csv", NEW, "780.00"), "--json",
                      user="rev")
    held = r.json().get("held") if r.exit_code == 0 else None
    if held:
        ledger_db.cli("entry", "confirm", str(held[0]), user="fin")
    assert _paid(ledger_db) == [(STORED, "o81", "80000")], _paid(ledger_db)      # not paid twice
    text = " ".join(r.stderr.split())
    assert r.exit_code == 1 and "already paid by the county's own import" in text, (r.stdout, text)


def test_the_bureaus_row_read_as_the_countys_with_the_same_content_is_skipped(ledger_db: LedgerDB,
                                                                             tmp_path: Path) -> None:
    """0043: the bureau's row of a claim the county paid with the same content is skipped as paid."""
    _fund(ledger_db)
    _before_0134(ledger_db, "o81", STORED, "800.00")
    r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", NEW, "800.00"), "--json", user="rev")
    assert r.exit_code == 0, r
    assert r.json()["held"] == [] and r.json()["rows_skipped"] == 1, r.stdout
    assert _paid(ledger_db) == [(STORED, "o81", "80000")]


def test_the_countys_row_read_as_the_bureaus_held_claim_is_not_paid(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The bureau imported 囗腔-1 from the county's account before 0134 (held for city finance);
    the county's officer's 口腔-1 is that claim: skipped with the same content, a conflict naming
    the bureau with other — never a second payment once city finance confirms the bureau's."""
    _fund(ledger_db)
    out = _before_0134(ledger_db, "rev", STORED, "800.00")
    held = out["held"]
    assert isinstance(held, list) and len(held) == 1, out
    same = ledger_db.cli("pay", "import", _claim(tmp_path / "same.csv", NEW, "800.00"), "--json", user="o81")
    other = ledger_db.cli("--lang", "en", "pay", "import", _claim(tmp_path / "other.csv", NEW, "780.00"), user="o81")
    assert ledger_db.cli("entry", "confirm", str(held[0]), user="fin").exit_code == 0
    assert _paid(ledger_db) == [(STORED, "rev", "80000")], _paid(ledger_db)
    assert same.exit_code == 0 and same.json()["rows_skipped"] == 1, same.stdout
    text = " ".join(other.stderr.split())
    assert other.exit_code == 1 and "already imported by the city bureau" in text, text


def test_the_verdict_names_a_claim_paid_on_both_registers_read_alike(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """ledger.core.rules' claims_once, the independent twin, folds as the SQL does: a superuser
    switches the fold off for one call and the bureau's 口腔-1 is paid again — the verdict names it."""
    _fund(ledger_db)
    _before_0134(ledger_db, "o81", STORED, "800.00")
    with suspended(ledger_db.admin(), "fl.import_payments(text,text)", *FOLD_OFF):
        r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", NEW, "780.00"), "--json", user="rev")
    assert r.exit_code == 0 and len(r.json()["held"]) == 1, r
    assert ledger_db.cli("entry", "confirm", str(r.json()["held"][0]), user="fin").exit_code == 0
    assert [p[0] for p in _paid(ledger_db)] == [STORED, NEW]                     # paid twice
    found = verdict(ledger_db)
    assert any(NEW in str(f["message"]) for f in found.get("claims_once", [])), found
