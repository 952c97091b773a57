"""ATTACK16 C7, the SQL side: a raw ``fl.post_entries`` whose documents hold a NUL (``\\u0000``) or a
number JSON has not (NaN, Infinity) was refused only by PostgreSQL's cast to jsonb, in its English
(22P05 "unsupported Unicode escape sequence", 22P02 "invalid input syntax for type json"), naming
neither the entry nor the field.

0137: ``fl.post_entries(text)`` — what a raw call's quoted documents resolve to — reads them as jsonb
itself and refuses by a named rule of its own: ``entry_text_nul`` naming the entry and the field
(source, memo, postings, or its own keys), ``entry_json_number`` naming the token, ``bad_document`` for any
other text that is not JSON; each worded in Chinese by the catalogue. A document jsonb holds posts as
through ``fl.post_entries(jsonb)``.
"""

from __future__ import annotations

import psycopg
import pytest

from ledger.store.translate import translate

pytestmark = pytest.mark.db


def _entry(key: str, source: str = '{"note": "ok"}', memo: str = "m", line_ref: str = "R-1") -> str:
    return ('{"date": "2024-01-05", "book": "RES", "idempotency_key": "' + key + '", "memo": "' + memo + '", '
            '"source": ' + source + ', "postings": [{"account": "1101", "unit": "230822", "side": "D", '
            '"amount": 100, "line_ref": "' + line_ref + '"}, {"account": "2001", "unit": "230822", "side": "C", '
            '"amount": 100}]}')


def _refused(ledger_db, docs: str) -> psycopg.Error:  # type: ignore[no-untyped-def]
    c = ledger_db.connect("o22")
    with pytest.raises(psycopg.Error) as e:
        c.execute("SELECT * FROM fl.post_entries(%s)", (docs,))
    c.rollback()
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == 0
    return e.value


NUL = {
    "in the source": ("[" + _entry("n1", '{"note": "a\\u0000b"}') + "]", "entry 1: its source"),
    "deep in the source": ("[" + _entry("n2", '{"a": [1, {"b\\u0000": 2}]}') + "]", "entry 1: its source"),
    "in the memo": ("[" + _entry("n3", memo="x\\u0000") + "]", "entry 1: its memo"),
    "in a line reference": ("[" + _entry("n4", line_ref="R\\u0000") + "]", "entry 1: its postings"),
    "in the second entry": ("[" + _entry("n5") + ", " + _entry("n6", '{"n": "\\u0000"}') + "]", "entry 2: its source"),
    "in an entry's own key": ('[{"date": "2024-01-05", "bo\\u0000ok": "RES"}]', "entry 1: its key holds"),
    "one entry, not a list": (_entry("n7", '{"n": "\\u0000"}'), "entry 1: its source"),
    "a run of them": ("[" + _entry("n8", memo="\\u0000" * 9) + "]", "entry 1: its memo"),
    "after an escaped backslash": ("[" + _entry("n9", memo="C:\\\\\\u0000") + "]", "entry 1: its memo"),
}


@pytest.mark.parametrize("docs,named", list(NUL.values()), ids=list(NUL))
def test_a_nul_is_refused_by_its_own_rule_naming_entry_and_field(ledger_db, docs: str, named: str) -> None:
    err = _refused(ledger_db, docs)
    assert err.diag.constraint_name == "entry_text_nul", err
    assert named in str(err), err
    worded = translate(err)
    assert worded.rule == "entry_text_nul" and type(worded).__name__ == "BadInput", worded


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_a_number_json_has_not_is_refused_by_its_own_rule_naming_it(ledger_db, token: str) -> None:
    err = _refused(ledger_db, "[" + _entry("f1", '{"x": ' + token + "}") + "]")
    assert err.diag.constraint_name == "entry_json_number", err
    assert f"the number {token}," in str(err), err


def test_other_text_that_is_not_json_is_a_bad_document(ledger_db) -> None:
    err = _refused(ledger_db, "[" + _entry("b1", "{note: 1}") + "]")
    assert err.diag.constraint_name == "bad_document" and "not JSON" in str(err), err


def test_the_refusals_read_in_chinese(ledger_db) -> None:
    from cli.errors import localise

    err = _refused(ledger_db, "[" + _entry("z1", '{"n": "\\u0000"}') + "]")
    shown = localise(str(err.diag.message_primary), "entry_text_nul", "zh")
    assert "NUL" in shown and "source" in shown and "未写入" in shown, shown


def test_a_document_jsonb_holds_posts_as_through_the_jsonb_function(ledger_db) -> None:
    c = ledger_db.connect("o22")
    # (a backslash written as \\ before u0000 is text, not a NUL: it posts)
    rows = c.execute("SELECT * FROM fl.post_entries(%s)", ("[" + _entry("ok-1", '{"path": "C:\\\\u0000"}') + "]",)
                     ).fetchall()
    c.commit()
    assert [r["status"] for r in rows] == ["posted"], rows
    assert ledger_db.admin().execute("SELECT idempotency_key AS k FROM fl.entry").fetchall() == [{"k": "manual:o22:ok-1"}]
