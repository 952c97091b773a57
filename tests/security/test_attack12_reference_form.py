"""ATTACK12 Z3 and Z7, variants: a reference is one visible text, in the reader and in the database;
an import that writes nothing records nothing, through the CLI and through raw SQL.

Z3: the red team's test (test_attack12_invisible_refs.py) re-imports the bureau's claim with a
zero-width character through the CLI. Here: every class of character the rule names, refused by
the reader with file, row, column and the code point; full-width (non-NFKC) references refused,
not folded; an ordinary Chinese or ASCII reference kept; the same refusal for a hand-filled stage
(raw SQL, no reader) in fl.import_line, and for the memo register's and a bank statement line's
reference (0089's CHECKs).

Z7: the red team's test counts batches after 40 empty imports through ``import_file``. Here: the
CLI answers "nothing new" with exit 0 and ``batch_id`` null, a raw caller's empty import is refused
at commit (nothing appended), and an import that does write still records its batch.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ledger.errors import BadFile
from ledger.io.formats import FORMATS
from ledger.io.tables import open_table, reference_form_problem
from tests.conftest import LedgerDB
from tests.security.test_rules_rederived import PAY, _claims, _fund

HIDDEN = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066", "\x01", "\x7f", "\x85",
          "\u2028", "\u2029", "\ue000", "\U000f0001", "\u00a0", "\u3000", "\u2009", "\t", "\U000e0041"]


@pytest.mark.parametrize("mark", HIDDEN, ids=lambda m: f"U+{ord(m):04X}")
def test_a_reference_with_a_character_that_does_not_show_is_refused(mark: str) -> None:
    problem = reference_form_problem(f"Z-{mark}A")
    assert f"U+{ord(mark):04X}" in problem and "type the reference again" in problem, problem
    assert f"<U+{ord(mark):04X}>" in problem      # the message shows where it is, not the raw character


@pytest.mark.parametrize("ref", ["ＺＡ-１", "Z\u0041\u030a", "Ⅻ-1", "ﬁ-1"])
def test_a_reference_not_in_nfkc_form_is_refused_not_folded(ref: str) -> None:
    problem = reference_form_problem(ref)
    assert "NFKC" in problem, (ref, problem)


@pytest.mark.parametrize("ref", ["Z-A", "2024030100000012345", "住院-甲-001", "Z A", "佳医保〔2024〕12号", "【甲】-〇一"])
def test_an_ordinary_reference_is_kept(ref: str) -> None:
    assert reference_form_problem(ref) == ""


@pytest.mark.parametrize("ref", ["Å-1", "é"])
def test_a_latin_letter_past_ascii_is_outside_the_repertoire(ref: str) -> None:
    # (ATTACK14 V1, 0098) references are ASCII, 汉字 and the punctuation of document numbers: an
    # accented letter is visible, but so is nothing that could tell it from its look-alikes
    assert "汉字" in reference_form_problem(ref)


def test_a_lone_combining_mark_is_refused() -> None:
    assert "U+0301" in reference_form_problem("\u0301ZA")


def test_the_reader_names_file_row_column_and_code_point(tmp_path: Path) -> None:
    f = _claims(tmp_path / "p.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,Z-A,,county",
                "2024-03-27,230881,RES,某某医院,inpatient,800.00,Z-\u200bA,,county")
    with pytest.raises(BadFile) as ei, open_table(f, FORMATS["payments"]) as reader:
        list(reader.rows())
    (err,) = ei.value.errors
    assert (err.row, err.column) == (3, "reference") and "U+200B" in err.reason and "零宽空格" in err.reason


pytestmark_db = pytest.mark.db


@pytestmark_db
@pytest.mark.parametrize("ref", ["Z-\u200bA", "Z-\x01A", "ＺＡ", "Z-\u00a0A"], ids=["zwsp", "c0", "fullwidth", "nbsp"])
def test_a_hand_filled_stage_meets_the_same_rule_in_the_database(ledger_db: LedgerDB, ref: str) -> None:
    _fund(ledger_db)
    c = ledger_db.connect("o81")
    c.execute("SELECT fl.import_stage('payments')")
    c.execute("INSERT INTO pg_temp.fl_stage_payments (row_no, date, unit, book, provider, category, amount, reference,"
              " component, paid_from) VALUES (2, '2024-03-27', '230881', 'RES', 'x', 'inpatient', '800.00', %s,"
              " '', 'county')", (ref,))
    with pytest.raises(psycopg.errors.CheckViolation) as ei:
        c.execute("SELECT fl.import_payments('by-hand.csv', NULL)")
    assert ei.value.diag.constraint_name == "import_line_reference_form"
    c.rollback()
    paid = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'payments'").fetchone()
    assert paid is not None and paid["n"] == 0


@pytestmark_db
def test_register_and_statement_references_are_held_too(ledger_db: LedgerDB) -> None:
    a = ledger_db.admin()
    row = a.execute("SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conname = %s "
                    "AND conrelid = %s::regclass", ("statement_line_reference_form", "fl.statement_line")).fetchone()
    assert row is not None and "reference_form_ok(reference)" in row["d"], row
    # (0124) a register item is updated when cleared: its rule is a trigger on INSERT, not a CHECK
    trig = a.execute("SELECT pg_get_triggerdef(oid) AS d FROM pg_trigger WHERE tgname = 'register_item_reference_form' "
                     "AND tgrelid = 'fl.register_item'::regclass").fetchone()
    assert trig is not None and "BEFORE INSERT" in trig["d"] and "reference_form_ok(new.reference)" in trig["d"], trig
    ok = a.execute("SELECT fl.reference_form_ok('住院-1') AS a, fl.reference_form_ok('Z-A') AS b, "
                   "fl.reference_form_ok(%s) AS c, fl.reference_form_ok(%s) AS d, fl.reference_form_ok(%s) AS e",
                   ("Z-\u200bA", "ＺＡ", "Z\u2028A")).fetchone()
    assert ok is not None and (ok["a"], ok["b"], ok["c"], ok["d"], ok["e"]) == (True, True, False, False, False)


@pytestmark_db
def test_the_cli_answers_nothing_new_with_exit_0_and_no_batch(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    real = _claims(tmp_path / "real.csv", "2024-03-27,230881,RES,某某医院,inpatient,1.00,Z-N1,,county")
    first = ledger_db.cli("pay", "import", str(real), "--json", user="o81")
    assert first.exit_code == 0 and first.json()["batch_id"] is not None, first
    again = ledger_db.cli("pay", "import", str(real), "--json", user="o81")
    assert again.exit_code == 0, again
    assert (again.json()["batch_id"], again.json()["rows_posted"], again.json()["rows_skipped"]) == (None, 0, 1)
    header = tmp_path / "header.csv"
    header.write_text(f"{PAY}\n", "utf-8")
    shown = ledger_db.cli("pay", "import", str(header), user="o81")
    assert shown.exit_code == 0 and ("nothing new" in shown.stdout or "没有新" in shown.stdout), shown
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.import_batch").fetchone()
    assert n is not None and n["n"] == 1


@pytestmark_db
def test_a_raw_empty_import_is_refused_at_commit(ledger_db: LedgerDB) -> None:
    c = ledger_db.connect("o81")
    c.execute("SELECT fl.import_stage('payments')")
    doc = c.execute("SELECT fl.import_payments('empty.csv', NULL) AS r").fetchone()
    assert doc is not None and doc["r"]["rows_posted"] == 0
    with pytest.raises(psycopg.errors.CheckViolation) as ei:
        c.commit()
    assert ei.value.diag.constraint_name == "import_nothing_new"
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.import_batch").fetchone()
    assert n is not None and n["n"] == 0
