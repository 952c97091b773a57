"""ATTACK16 C7: an `entry post` document whose `source` holds a value JSON allows and jsonb does not
is shown as a database outage, in English, and the officer is told to report it to operations.

``ledger.core.entries.parse_entry`` checks that ``source`` is an object and nothing inside it.
Two values pass the reader and are refused by PostgreSQL's jsonb input:

* ``"\\u0000"`` (a NUL escape, valid JSON; every other text field of an entry is refused by the
  reader "含有 NUL 字符；请删除") — PostgreSQL: ``unsupported Unicode escape sequence`` (SQLSTATE
  22P05), rendered ``错误 [database_error]: 数据库错误：unsupported Unicode escape sequence；
  请把这条信息告知运维人员`` — a user's input error worded as a fault of the server;
* a number past a double (``1e400``: Python reads ``inf`` and writes it back as ``Infinity``) —
  ``输入无法识别：invalid input syntax for type json``, the reason in English.

Safe behaviour asserted: both are refused as the input's fault (``bad_input``), in Chinese, naming
``source`` — never ``database_error``, never PostgreSQL's English.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.db

ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")


def _doc(source_text: str) -> str:
    return ('[{"date": "2024-01-05", "book": "RES", "idempotency_key": "src-1", "source": ' + source_text + ', '
            '"postings": [{"account": "1101", "unit": "230822", "side": "debit", "amount": "1.00"}, '
            '{"account": "2001", "unit": "230822", "side": "credit", "amount": "1.00"}]}]')


@pytest.mark.parametrize("source", ['{"note": "a\\u0000b"}', '{"x": 1e400}'], ids=["nul-escape", "number-past-double"])
def test_a_source_value_jsonb_refuses_is_the_inputs_fault_in_chinese(ledger_db, source):
    r = ledger_db.cli("entry", "post", "-", user="o22", input=_doc(source), env={"FUNDLEDGER_LANG": "zh"})
    assert r.exit_code != 0, r
    # On main: "[database_error] … unsupported Unicode escape sequence；请把这条信息告知运维人员" and
    # "[bad_input] 输入无法识别：invalid input syntax for type json"
    assert "database_error" not in r.stderr, r.stderr
    assert not ENGLISH.search(r.stderr), r.stderr


@pytest.mark.parametrize("source", ['{"a": [1, {"b": NaN}]}', '{"a\\u0000": 1}', '{"a": ["x", "\\u0000"]}'],
                         ids=["nan-deep", "nul-in-a-key", "nul-in-a-list"])
def test_the_reader_names_the_field_at_any_depth(ledger_db, source):
    r = ledger_db.cli("entry", "post", "-", user="o22", input=_doc(source))
    assert r.exit_code == 1 and "database_error" not in r.stderr, r
    assert "entry 1 (src-1)" in r.stderr and "source" in r.stderr, r.stderr


@pytest.mark.parametrize("value,rule", [('{"a": "x\\u0000"}', "text_nul"), ('{"a": Infinity}', "json_value")],
                         ids=["nul", "infinity"])
def test_jsonb_refusing_a_value_is_the_inputs_fault_not_an_outage(ledger_db, value, rule):
    """Raw SQL (or any writer the reader does not guard) meets the same values: PostgreSQL's 22P05
    and 22P02-on-json are the input's fault (bad input, worded), never a database error."""
    import psycopg

    from ledger.errors import BadInput
    from ledger.store.translate import translate

    conn = ledger_db.connect("o22")
    with pytest.raises(psycopg.Error) as e:
        conn.execute("SELECT %s::jsonb", (value,))
    conn.rollback()
    err = translate(e.value)
    assert isinstance(err, BadInput) and err.rule == rule, (err.rule, err.message)
