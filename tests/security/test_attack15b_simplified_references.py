"""ATTACK15b B3: the basic CJK block that 0111 left to references keeps the traditional and Japanese
forms drawn almost like the everyday simplified ones — 內 (U+5167) for 内, 呂 (U+5442) for 吕,
戸 (U+6238) for 户. The bureau had paid claim ``内-1``; a county re-imported it as ``內-1``: another
reference, paid again, every report showing 内-1 twice.

0122: a new reference's 汉字 are GB2312's 6,763 simplified characters (a mainland fund's document
numbers are written in them; every look-alike form above is outside it). The reader refuses the row
naming file, row, column, the character and its code point, in Chinese first, saying to write the
simplified form; PostgreSQL holds the same set (``fl.reference_hanzi_ok``, a bitmap of the block
written from Python's gb2312 codec) by a trigger on INSERT of the three tables whose references are
compared, on every path: the reader, the plain COPY path, the manual entry reader (a posting's
line_ref), a raw call of the import, a raw INSERT. A reference stored before stays: no CHECK judges
an UPDATE of it (a register item is updated when cleared), and it verifies.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ledger.io.tables import CONFUSABLE_HANZI, gb2312_hanzi, reference_form_problem
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
# everyday simplified form -> the look-alike of the basic block outside GB2312
TWINS = [("内", "\u5167"), ("吕", "\u5442"), ("户", "\u6238")]


def _gb(cp: int) -> bool:
    try:
        chr(cp).encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


GB2312 = [cp for cp in range(0x4E00, 0xA000) if _gb(cp)]


def _fund(db: LedgerDB) -> None:
    fin = db.connect("fin", autocommit=True)
    post(fin, collect("b3-col", "2024-03-01", "230881", "100000.00"),
         entry("b3-top", "2024-03-02", "RES", leg("1004", "230881", "D", "100000.00", "county_exp"),
               leg("1003", "230881", "C", "100000.00", "special")))


def _claim(path: Path, ref: str) -> str:
    path.write_text(f"{PAY}\n2024-03-27,230881,RES,某某医院,inpatient,800.00,{ref},,county\n", "utf-8")
    return str(path)


def _paid(db: LedgerDB) -> list[str]:
    return [x["line_ref"] for x in db.admin().execute(
        "SELECT p.line_ref FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id "
        "WHERE e.kind = 'payments' AND p.line_ref IS NOT NULL ORDER BY p.id").fetchall()]


# ---- the reader ---------------------------------------------------------------------------------

def test_b3_the_readers_hanzi_are_the_codecs_for_every_code_point_of_the_block() -> None:
    assert len(GB2312) == 6763
    assert sorted(ord(c) for c in gb2312_hanzi()) == GB2312
    refused = [cp for cp in range(0x4E00, 0xA000) if reference_form_problem(f"Z-{chr(cp)}1")]
    # (0134, ATTACK16b D5) and GB2312's few radicals drawn like a common character (囗 like 口)
    assert refused == [cp for cp in range(0x4E00, 0xA000) if not _gb(cp) or chr(cp) in CONFUSABLE_HANZI]


@pytest.mark.parametrize(("everyday", "twin"), TWINS)
def test_b3_the_reader_refuses_the_look_alike_naming_it_and_keeps_the_everyday_form(everyday: str, twin: str) -> None:
    assert reference_form_problem(f"{everyday}-1") == ""
    why = reference_form_problem(f"{twin}-1")
    assert why and twin in why and f"U+{ord(twin):04X}" in why and "simplified" in why, why
    assert reference_form_problem(f"{twin}-1", wide=True) == "", "a stored posting's line reference keeps 0118's form"


@pytest.mark.parametrize("ref", ["佳医保〔2024〕12号", "二〇二四-【甲】", "住院-甲-001", "乾-1", "於-1", "後-1", "\u9fa0-1"])
def test_b3_gb2312s_characters_and_the_punctuation_stay(ref: str) -> None:
    assert reference_form_problem(ref) == "", ref


# ---- the imports ---------------------------------------------------------------------------------

@pytest.mark.db
@pytest.mark.parametrize(("everyday", "twin"), TWINS)
def test_b3_a_paid_claim_is_not_paid_again_under_its_look_alike(ledger_db: LedgerDB, tmp_path: Path,
                                                                 everyday: str, twin: str) -> None:
    _fund(ledger_db)
    ok = ledger_db.cli("pay", "import", _claim(tmp_path / "a.csv", f"{everyday}-1"), user="o81")
    assert ok.exit_code == 0, ok
    r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", f"{twin}-1"), user="o81")
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "b.csv" in text and "2" in text and "reference" in text and f"U+{ord(twin):04X}" in text, text
    assert _paid(ledger_db) == [f"{everyday}-1"]


@pytest.mark.db
def test_b3_the_refusal_reads_in_chinese_and_says_to_write_the_simplified_form(ledger_db: LedgerDB,
                                                                                tmp_path: Path) -> None:
    _fund(ledger_db)
    r = ledger_db.cli("pay", "import", _claim(tmp_path / "b.csv", "\u5167-1"), user="o81",
                      env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code != 0, r
    text = r.stdout + r.stderr
    assert "简体字" in text and "U+5167" in text and "內" in text and "b.csv" in text, text
    assert "simplified characters of GB2312" not in text, text


@pytest.mark.db
def test_b3_a_collections_file_is_held_to_the_same_rule(ledger_db: LedgerDB, tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("date,unit,book,source,amount,reference\n2024-03-01,230881,RES,contribution,100.00,征\u5442-1\n",
                 encoding="utf-8")
    r = ledger_db.cli("collect", "import", str(f), user="fin")
    assert r.exit_code != 0 and "U+5442" in r.stdout + r.stderr, r


@pytest.mark.db
def test_b3_a_manual_entrys_line_reference_is_held_to_the_same_rule(ledger_db: LedgerDB, tmp_path: Path) -> None:
    from tests.security.test_posting_line_refs import _doc

    f = tmp_path / "e.json"
    f.write_text(_doc("b3-manual", "\u6238-1"), encoding="utf-8")
    r = ledger_db.cli("entry", "post", str(f), user="o22")
    assert r.exit_code != 0 and "U+6238" in r.stdout + r.stderr, r
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == 0
    f.write_text(_doc("b3-manual", "\u6237-1"), encoding="utf-8")
    assert ledger_db.cli("entry", "post", str(f), user="o22").exit_code == 0


# ---- PostgreSQL ----------------------------------------------------------------------------------

@pytest.mark.db
def test_b3_the_database_answers_as_the_codec_for_every_code_point_of_the_block(ledger_db: LedgerDB) -> None:
    ok = ledger_db.admin().execute("SELECT array_agg(cp ORDER BY cp) AS ok FROM generate_series(19968, 40959) cp "
                                   "WHERE fl.reference_hanzi_ok(chr(cp))").fetchone()["ok"]
    assert ok == GB2312
    row = ledger_db.admin().execute(
        "SELECT fl.reference_hanzi_ok(NULL) AS a, fl.reference_hanzi_ok('Z-A') AS b, "
        "fl.reference_hanzi_ok('〇-\U00020bb7-〔1〕') AS c, fl.reference_hanzi_ok('内-\u5167') AS d").fetchone()
    assert (row["a"], row["b"], row["c"], row["d"]) == (True, True, True, False)


@pytest.mark.db
def test_b3_a_raw_call_of_the_import_is_refused(ledger_db: LedgerDB) -> None:
    _fund(ledger_db)
    c = ledger_db.connect("o81")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', 'x', 'inpatient', '800.00', '\u5167-R',"
              " '', 'county')")
    with pytest.raises(psycopg.Error) as ei:
        c.execute("SELECT fl.import_payments('by-hand.csv', NULL)")
    c.rollback()
    assert ei.value.diag.constraint_name == "reference_hanzi", ei.value
    assert "U+5167" in str(ei.value)
    assert _paid(ledger_db) == []


RAW = {
    "import_line": "INSERT INTO fl.import_line (namespace, reference, content_hash, entry_id, batch_id, row_no) "
                   "VALUES ('payments:230881', %s, '\\x00', 1, 1, 2)",
    "register_item": "INSERT INTO fl.register_item (kind, unit, book, amount, opened_on, reference) "
                     "VALUES ('unpaid_claims', '230881', 'RES', 100, '2024-03-01', %s)",
    "statement_line": "INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction, "
                      "amount, reference) VALUES (1, 1, 2, '2024-03-01', 'in', 100, %s)",
}


@pytest.mark.db
@pytest.mark.parametrize("table", sorted(RAW))
def test_b3_a_raw_insert_is_refused_in_every_table_whose_references_are_compared(ledger_db: LedgerDB,
                                                                                  table: str) -> None:
    a = ledger_db.admin()
    with pytest.raises(psycopg.Error) as ei, a.transaction():
        a.execute(RAW[table], ("\u5167-R",))
    assert ei.value.diag.constraint_name == "reference_hanzi", (table, ei.value)


@pytest.mark.db
def test_b3_a_reference_stored_before_the_rule_stays_and_its_item_can_still_be_cleared(ledger_db: LedgerDB) -> None:
    """0118's lesson: the rule is a trigger on INSERT, not a CHECK — a CHECK judges every UPDATE, and
    a register item is updated when it is cleared."""
    a = ledger_db.admin()
    with a.transaction():
        a.execute("SET LOCAL session_replication_role = replica")       # written before the rule
        a.execute(RAW["register_item"], ("\u5167-S",))
    with a.transaction():
        a.execute("UPDATE fl.register_item SET cleared = 40 WHERE reference = %s", ("\u5167-S",))
    assert a.execute("SELECT cleared FROM fl.register_item WHERE reference = %s", ("\u5167-S",)
                     ).fetchone()["cleared"] == 40


@pytest.mark.db
@pytest.mark.parametrize("ref", ["\U00020bb7-S", "Z-\u200bS"])
def test_b3_an_item_written_under_an_earlier_form_can_still_be_cleared(ledger_db: LedgerDB, ref: str) -> None:
    """(0124) The class in 0089's and 0111's register CHECK: an opening's item 𠮷-1 written under 0098's
    repertoire (or one with a zero-width space written before 0089) met the narrowed CHECK at every
    clearing, a check violation for ever. The rule is a trigger on INSERT now; a new such item is
    still refused."""
    a = ledger_db.admin()
    with a.transaction():
        a.execute("SET LOCAL session_replication_role = replica")       # written before the rules
        a.execute(RAW["register_item"], (ref,))
    with a.transaction():
        a.execute("UPDATE fl.register_item SET cleared = 40 WHERE reference = %s", (ref,))
    assert a.execute("SELECT cleared FROM fl.register_item WHERE reference = %s", (ref,)).fetchone()["cleared"] == 40
    with pytest.raises(psycopg.Error) as ei, a.transaction():
        a.execute(RAW["register_item"], (ref.replace("-S", "-N"),))
    assert ei.value.diag.constraint_name == "register_item_reference_form", ei.value
