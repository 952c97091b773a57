"""Every refusal the SQL can raise reaches a Chinese officer in Chinese (issue 17).

The walk goes over every ``fl.refuse(…)`` and ``RAISE EXCEPTION '…'`` in sql/*.sql (as
``ledger.store.refusals`` reads them): each has a Chinese message in the catalogue with the
same placeholders, and a refusal worded as the SQL words it comes out of ``cli.errors.localise``
in Chinese with every figure carried across, in English unchanged. A migration that adds a
refusal the reader cannot parse (a message built in a variable), or adds one without its
Chinese, fails here: run ``make i18n`` and fill its ``msgstr`` in ledger/locale/zh (the
translator's comment says what each ``{n}`` is).
"""

from __future__ import annotations

import re

import pytest

from cli.errors import localise
from ledger.i18n import translate
from ledger.store.refusals import rules, sql_dir, sql_messages

CJK = re.compile(r"[\u4e00-\u9fff]")
PLACE = re.compile(r"\{\d+\}")


def test_every_refusal_of_the_sql_is_read() -> None:
    """The reader misses none: as many messages as ``fl.refuse(`` calls and RAISEs with text."""
    calls = raises = 0
    for path in sql_dir().glob("*.sql"):
        text = path.read_text("utf-8")
        calls += len(re.findall(r"fl\.refuse\s*\(", text)) - len(re.findall(r"FUNCTION\s+fl\.refuse\s*\(", text))
        raises += len(re.findall(r"RAISE\s+EXCEPTION\s+'", text, re.I))
    found = sql_messages()
    assert len(found) == calls + raises, (len(found), calls, raises)
    assert len(found) > 150
    assert {"no_overdraft", "components_separate", "handover_once", "period_closed",
            "approver_is_not_submitter"} <= rules()


@pytest.mark.parametrize("msg", sql_messages(), ids=lambda m: f"{m.file}:{m.line}")
def test_each_refusal_has_its_chinese_and_english(msg) -> None:  # type: ignore[no-untyped-def]
    zh, en = translate(msg.template, "zh"), translate(msg.template, "en")
    assert zh != msg.template and CJK.search(zh), f"{msg.file}:{msg.line}: no Chinese for {msg.template!r}"
    assert sorted(set(PLACE.findall(zh))) == sorted(set(PLACE.findall(msg.template))), (msg.template, zh)
    assert en and sorted(set(PLACE.findall(en))) == sorted(set(PLACE.findall(msg.template)))


def _worded(template: str) -> tuple[str, list[str]]:
    """The refusal as the SQL would word it, with made-up figures 7001, 7002, …"""
    values = [f"70{i:02d}" for i in range(1, 10)]
    text = PLACE.sub(lambda m: values[int(m.group()[1:-1]) - 1], template)
    return text.replace("{{", "{").replace("}}", "}"), values[:len(set(PLACE.findall(template)))]


@pytest.mark.parametrize("msg", sql_messages(), ids=lambda m: f"{m.file}:{m.line}")
def test_each_refusal_is_shown_in_chinese_with_its_figures(msg) -> None:  # type: ignore[no-untyped-def]
    text, values = _worded(msg.template)
    shown = localise(text, msg.rule or "database_error", "zh")
    assert CJK.search(shown), (text, shown)
    # no English sentence of the SQL is left (a name or code may stay)
    assert text not in shown, shown
    for v in values:
        assert v in shown, (v, text, shown)
    assert localise(text, msg.rule, "en") == text


def test_a_refusal_names_words_in_chinese() -> None:
    """Values the SQL puts in its words (a bank account's name, a fund component, a state)
    are translated too, and what to do next is said."""
    shown = localise("unit 230822's personal money in the City finance special account (EMP) would be -20,000.00: "
                     "it pays only from its own personal money, never from the pooled fund",
                     "components_separate", "zh")
    assert "市财政专户" in shown and "个人账户" in shown and "统筹基金" in shown and "-20,000.00" in shown
    assert not re.search(r"[A-Za-z]{4,}", shown.replace("EMP", "")), shown
    state = localise("request 3 is approved; it cannot be approved again (from approved it can only be "
                     "disbursed or voided)", "illegal_state", "zh")
    assert "已批准" in state and "已拨付" in state and "已作废" in state, state
    assert not re.search(r"[A-Za-z]{3,}", state), state


def test_an_unknown_refusal_still_names_its_rule_in_chinese() -> None:
    shown = localise("some new wording", "year_close_result", "zh")
    assert shown.startswith(translate("refused by the database", "zh")) and "year_close_result" in shown


# (ATTACK16 C3) An import's row reasons: collected by the import functions (fl._imp_row_problems,
# fl.imp_*_problem, the INSERTs into pg_temp.fl_imp_err), never raised, shown after "file: row N,
# column C:". Each is a catalogue message read from the SQL as the refusals are: one added without
# its Chinese fails here.
from ledger.store.refusals import _reasons_in, sql_row_reasons  # noqa: E402


def test_the_import_functions_row_reasons_are_read() -> None:
    found = {m.template for m in sql_row_reasons()}
    assert len(found) > 30, found
    assert {"the reference is empty; every row needs its own reference", "the provider is empty",
            "book {1} needs a component ({2}) on every row; got '{3}'",
            "reference '{1}' is used again (first on row {2}); each row needs its own reference"} <= found
    assert not [t for t in found if t.startswith(("GRANT", "待遇支出", "期初余额"))], found
    probe = ("CREATE OR REPLACE FUNCTION fl.imp_thing_problem(t text) RETURNS text LANGUAGE sql AS $$\n"
             "  SELECT CASE WHEN t = '' THEN 'the thing is empty; give one' "
             "WHEN t = 'x' THEN format('thing ''%s'' is not allowed here', t) END\n$$;")
    assert [m.template for m in _reasons_in("probe.sql", probe)] == [
        "thing '{1}' is not allowed here", "the thing is empty; give one"]


@pytest.mark.parametrize("msg", sql_row_reasons(), ids=lambda m: f"{m.file}:{m.line}")
def test_each_row_reason_is_shown_in_chinese_with_its_figures(msg) -> None:  # type: ignore[no-untyped-def]
    zh = translate(msg.template, "zh")
    assert zh != msg.template and CJK.search(zh), f"{msg.file}:{msg.line}: no Chinese for {msg.template!r}"
    assert sorted(set(PLACE.findall(zh))) == sorted(set(PLACE.findall(msg.template))), (msg.template, zh)
    text, values = _worded(msg.template)
    line = f"  p.csv: row 2, column reference: {text}"
    shown = localise(line, "bad_file", "zh")
    assert text not in shown and CJK.search(shown), shown
    for v in values:
        assert v in shown, (v, text, shown)
    assert localise(line, "bad_file", "en") == line
