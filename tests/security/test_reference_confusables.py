"""ATTACK16b D5: look-alike characters inside GB2312 in references.

0122 held a new reference's 汉字 to GB2312's 6,763, which ends the traditional and Japanese forms
drawn like everyday ones (內 for 内). GB2312 itself lists the radicals (偏旁部首) as characters, and a
few are drawn like a common character or a mark the repertoire admits: 囗 (U+56D7) like 口 (U+53E3),
丨 (U+4E28) like the ASCII |. ``囗腔-1`` was another reference than the paid ``口腔-1``, read alike
in every report: the claim paid again.

0134: the radicals of a small explicit table (``ledger.io.tables.CONFUSABLE_HANZI``: 丨 丿 丶 囗 巛)
are refused in a new reference — by the reader first (the row named, in Chinese first, saying what
to write) and by PostgreSQL's INSERT triggers of the three tables whose references are compared
(``fl.reference_confusable``, refusal ``reference_confusable``); both hold the same table. Real
place, provider and document names are accepted: distinct characters drawn alike (己/已/巳, 日/曰 …)
are not refused, nor is anything outside the table.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ledger.core.region import load_region
from ledger.io.tables import CONFUSABLE_HANZI, reference_form_problem
from tests.conftest import LedgerDB
from tests.security.test_attack15b_simplified_references import RAW, _claim, _fund, _paid

# Real names and document numbers that must still be references: Jiamusi's units, hospitals,
# pharmacies, places whose names hold the everyday forms of the table's look-alikes (口, 川, |, /).
REAL = ["佳木斯市中心医院", "佳木斯大学附属口腔医院", "四川省人民医院", "川汇区", "口腔-2024-001", "黑龙江省",
        "佳医保发〔2024〕12号", "A|1", "2024/03/001", "桦南县人民医院、门诊", "巴彦县", "己已巳-1", "日曰-1",
        "土士未末-1", "二〇二四-【甲】"]


def test_the_table_is_of_gb2312_radicals_and_each_reads_as_a_character_the_repertoire_admits() -> None:
    for radical, like in CONFUSABLE_HANZI.items():
        radical.encode("gb2312")                       # inside GB2312: 0122 let it through
        assert reference_form_problem(f"Z-{like}1") == "", like


@pytest.mark.parametrize(("radical", "like"), sorted(CONFUSABLE_HANZI.items()))
def test_the_reader_refuses_the_radical_naming_it_and_what_to_write(radical: str, like: str) -> None:
    why = reference_form_problem(f"甲{radical}1")
    assert why and f"U+{ord(radical):04X}" in why and f"write {like} instead" in why, why
    assert reference_form_problem(f"甲{radical}1", wide=True) == "", "a stored posting's line reference keeps its form"


@pytest.mark.parametrize("ref", REAL + [u.name_zh for u in load_region().units])
def test_real_names_and_document_numbers_stay(ref: str) -> None:
    assert reference_form_problem(ref) == "", ref


@pytest.mark.db
def test_postgresql_holds_the_same_table_as_the_reader(ledger_db: LedgerDB) -> None:
    """For every character the repertoire admits (ASCII, the basic block, 〇 and the punctuation),
    fl.reference_confusable names it exactly when the reader's table does."""
    got = ledger_db.admin().execute(
        "SELECT array_agg(cp ORDER BY cp) AS cps FROM (SELECT generate_series(32, 126) UNION ALL "
        "SELECT generate_series(12289, 12311) UNION ALL SELECT generate_series(19968, 40959)) g(cp) "
        "WHERE fl.reference_confusable(chr(cp)) IS NOT NULL").fetchone()["cps"]
    assert got == sorted(ord(c) for c in CONFUSABLE_HANZI)
    assert ledger_db.admin().execute("SELECT fl.reference_confusable(NULL) AS a, fl.reference_confusable('口腔-1') AS b"
                                     ).fetchone() == {"a": None, "b": None}


@pytest.mark.db
@pytest.mark.parametrize("table", sorted(RAW))
def test_a_raw_insert_is_refused_in_every_table_whose_references_are_compared(ledger_db: LedgerDB,
                                                                               table: str) -> None:
    a = ledger_db.admin()
    for radical, like in CONFUSABLE_HANZI.items():
        with pytest.raises(psycopg.Error) as ei, a.transaction():
            a.execute(RAW[table], (f"甲{radical}1",))
        assert ei.value.diag.constraint_name == "reference_confusable", (table, ei.value)
        # the SQL names the same look-alike the reader does
        assert f"U+{ord(radical):04X}" in str(ei.value) and f"write {like} instead" in str(ei.value), ei.value


@pytest.mark.db
def test_a_paid_claim_is_not_paid_again_under_the_radical(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    assert ledger_db.cli("pay", "import", _claim(tmp_path / "a.csv", "口腔-1"), user="o81").exit_code == 0
    r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", "\u56d7腔-1"), user="o81",
                      env={"FUNDLEDGER_LANG": "zh"})
    text = r.stdout + r.stderr
    assert r.exit_code != 0 and "b.csv" in text and "U+56D7" in text and "偏旁" in text and "请改写为 口" in text, text
    assert _paid(ledger_db) == ["口腔-1"]


@pytest.mark.db
def test_a_raw_call_of_the_import_is_refused(ledger_db: LedgerDB) -> None:
    _fund(ledger_db)
    c = ledger_db.connect("o81")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', 'x', 'inpatient', '800.00', "
              "'A\u4e281', '', 'county')")
    with pytest.raises(psycopg.Error) as ei:
        c.execute("SELECT fl.import_payments('by-hand.csv', NULL)")
    c.rollback()
    assert ei.value.diag.constraint_name == "reference_confusable", ei.value
    assert _paid(ledger_db) == []
