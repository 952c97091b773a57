"""ATTACK15 A1's class: which component of the employees' book may carry an account is an
allow-list per account of the chart, held on every path.

0099 refused the pairs it named (four pooled-only categories off the pooled fund, 门诊/药店 on it)
and let every other pass: 其他 (5001.other) and 大病保险 (5101) on the personal accounts, and so
4101 (财政补贴) or 5201 (转移支出) on the wrong fund by hand. 0115: each revenue and expenditure
account of the chart names the roles that carry it (ledger.core.chart, ``roles``: "pooled" the
book's pooled component, "personal" any other; BRIEF §2/§4) and PostgreSQL reads the same list
(fl.chart_component_roles). These tests are parametrized over the chart: an account added to it is
covered without editing them, and one added without its roles is carried by no component.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from ledger.core import rules
from ledger.core.chart import CHART, CHART_BY_CODE
from tests.conftest import LedgerDB
from tests.helpers import confirmed, entry, leg, post

pytestmark = pytest.mark.db

COMPONENTS = ("pooled", "personal")
LEAVES = [a.code for a in CHART if a.code[:1] in ("4", "5") and not any(b.parent == a.code for b in CHART)]
# The payments import's categories (sql/0092: each 5001.<category>, and critical_illness → 5101).
CATEGORIES = {**{a.code.split(".", 1)[1]: a.code for a in CHART if a.code.startswith("5001.")},
              "critical_illness": "5101"}
REFUSED_ROWS = [(cat, comp) for cat, code in sorted(CATEGORIES.items()) for comp in COMPONENTS
                if comp not in CHART_BY_CODE[code].roles]
PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"


def test_a15_the_chart_says_what_each_fund_carries_as_the_brief_does() -> None:
    """BRIEF §2/§4: personal pays 住院/门诊/药店 only; pooled 住院/门诊大病/门诊统筹/生育医疗/生育津贴;
    4101 closes wholly to the pooled fund, 4301/5201 wholly to the personal accounts; 大病保险 (5101)
    is the residents' book's; 其他 (5001.other) is the residents' category."""
    def carried(role: str, prefix: str) -> set[str]:
        return {c for c in LEAVES if c.startswith(prefix) and role in CHART_BY_CODE[c].roles}
    assert carried("personal", "5001.") == {"5001.inpatient", "5001.outpatient", "5001.pharmacy"}
    assert carried("pooled", "5001.") == {"5001.inpatient", "5001.chronic", "5001.outpatient_pooled",
                                          "5001.maternity_medical", "5001.maternity_allowance"}
    assert carried("personal", "4101") == set() and carried("pooled", "4101") == {c for c in LEAVES if c[:4] == "4101"}
    for code, roles in (("4301", ("personal",)), ("5201", ("personal",)), ("5101", ()), ("5001.other", ()),
                        ("5401", ("pooled", "personal")), ("4001", ("pooled", "personal"))):
        assert CHART_BY_CODE[code].roles == roles, code
    assert rules.chart_component_roles("5001.a_new_category") == (), "a code nobody listed is nobody's"
    assert rules.chart_component_roles("1003") == ("pooled", "personal")


@pytest.mark.parametrize("code", LEAVES)
def test_a15_each_account_is_carried_by_the_components_its_roles_name_on_every_path(
        refusals_db: LedgerDB, code: str) -> None:
    """A raw INSERT of the EMP account (the path every write makes its accounts by) is refused on a
    component its roles do not name, in words, and made on one they name; the database's verdict
    and the Python twin agree word for word."""
    adm = refusals_db.admin()
    roles = CHART_BY_CODE[code].roles
    sql_roles = adm.execute("SELECT fl.chart_component_roles(%s) AS r", (code,)).fetchone()["r"]
    assert tuple(sql_roles) == roles, (code, sql_roles, roles)
    for comp in COMPONENTS:
        why = adm.execute("SELECT fl.category_component_problem(%s, %s, 'pooled') AS w", (code, comp)).fetchone()["w"]
        assert why == rules.category_component_problem(code, comp, "pooled"), (code, comp, why)
        assert (why is None) == (comp in roles), (code, comp, why)
        ins = ("INSERT INTO fl.account (book, chart_code, unit, holder, component) "
               "VALUES ('EMP', %s, '230881', '', %s)")
        if comp in roles:
            with adm.transaction(force_rollback=True):
                adm.execute(ins, (code, comp))
        else:
            with pytest.raises(psycopg.errors.CheckViolation, match="不得相互挤占") as ei:
                adm.execute(ins, (code, comp))
            text = str(ei.value)
            assert code in text and "nothing was written" in text, text
            if roles:       # the next step: the component that carries it
                assert "post it with component " + ("pooled" if roles == ("pooled",) else "personal") in text, text
            else:           # nobody's in EMP: the book that carries it
                assert "RES" in text, text


def test_a15_an_account_added_to_the_chart_without_roles_is_carried_by_no_component(refusals_db: LedgerDB) -> None:
    adm = refusals_db.admin()
    with adm.transaction(force_rollback=True):
        adm.execute("INSERT INTO fl.chart (code, parent, name_zh, name_en, identifier, kind, normal_side) "
                    "VALUES ('5001.a15_new', '5001', '待遇支出-新', 'Benefits: new', 'a15_new', 'expenditure', 'D')")
        for comp in COMPONENTS:
            with pytest.raises(psycopg.errors.CheckViolation, match="不得相互挤占"), adm.transaction():
                adm.execute("INSERT INTO fl.account (book, chart_code, unit, holder, component) "
                            "VALUES ('EMP', '5001.a15_new', '230881', '', %s)", (comp,))
        adm.execute("INSERT INTO fl.account (book, chart_code, unit, holder, component) "
                    "VALUES ('RES', '5001.a15_new', '230881', '', '')")      # a book without components: any


@pytest.mark.parametrize(("category", "component"), REFUSED_ROWS)
def test_a15_a_payments_row_off_its_component_is_refused_in_chinese(
        refusals_db: LedgerDB, tmp_path: Path, category: str, component: str) -> None:
    """Every category of the payments import on each component whose list does not name its
    account: refused, in Chinese, nothing written (the module's copy holds no money, so a row
    wrongly let through would fail on the overdraft instead: the words are what is checked)."""
    f = tmp_path / "pay.csv"
    f.write_text(f"{PAY}\n2024-03-27,230881,EMP,某某医院,{category},10.00,A15-{category},{component},county\n",
                 encoding="utf-8")
    r = refusals_db.cli("pay", "import", str(f), "--json", user="o81")
    text = r.stdout + r.stderr
    assert r.exit_code != 0 and "不得相互挤占" in text and "Traceback" not in text, text
    if not CHART_BY_CODE[CATEGORIES[category]].roles:     # nobody's here: not "write pooled", which is refused too
        assert "paid by no component of this book" in text and "correct its category" in text, text
    n = refusals_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE kind = 'payments'").fetchone()["n"]
    assert n == 0


def _money(db: LedgerDB, unit: str = "230881") -> None:
    fin = db.connect("fin", autocommit=True)
    for comp in COMPONENTS:
        post(fin, entry(f"a15-col-{comp}", "2024-03-01", "EMP", leg("1003", unit, "D", "1000.00", "special", comp),
                        leg("4001", unit, "C", "1000.00", component=comp)),
             entry(f"a15-down-{comp}", "2024-03-02", "EMP", leg("1004", unit, "D", "1000.00", "county_exp", comp),
                   leg("1003", unit, "C", "1000.00", "special", comp)))


@pytest.mark.parametrize(("code", "component"), [("5101", "personal"), ("5001.other", "pooled"),
                                                 ("4101.city", "personal"), ("5201", "pooled"), ("4301", "pooled")])
def test_a15_a_manual_entry_off_its_component_is_refused_held_or_posted(
        ledger_db: LedgerDB, code: str, component: str) -> None:
    """An officer's manual entry (held for the city) and finance's (posted or held) on the
    account: refused, nothing written."""
    _money(ledger_db)
    side = "D" if code[0] == "5" else "C"
    other = "C" if side == "D" else "D"
    doc = entry(f"a15-hand-{code}", "2024-03-05", "EMP", leg(code, "230881", side, "10.00", component=component),
                leg("1004", "230881", other, "10.00", "county_exp", component))
    for user in ("o81", "fin"):
        with pytest.raises(psycopg.errors.CheckViolation, match="不得相互挤占"):
            post(ledger_db.connect(user, autocommit=True), doc)
    r = ledger_db.cli("entry", "post", "-", user="fin", input=json.dumps([doc], ensure_ascii=False),
                      env={"FUNDLEDGER_LANG": "zh"})
    text = r.stdout + r.stderr
    assert r.exit_code != 0 and "未写入任何内容" in text and "nothing was written" not in text, text
    # what to do next, in Chinese: the component to write, or (nobody's here) the book that carries it
    assert ("请将 component（基金）改为" if CHART_BY_CODE[code].roles else "任何基金都不记") in text, text
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.account WHERE chart_code = %s", (code,)).fetchone()["n"]
    assert n == 0


def test_a15_an_account_made_before_the_rule_takes_only_reversals_and_closes(ledger_db: LedgerDB,
                                                                              tmp_path: Path) -> None:
    """An account off its component made before 0115 (here by the DBA with the triggers off) stays,
    but no new entry posts it — held (refused when held), confirmed, or fl._post by the DBA — but
    a reversal of an entry made before; both verdicts name an entry above the rule's point that
    did (the DBA's, with the journal's trigger off)."""
    _money(ledger_db)
    adm = ledger_db.admin()
    with adm.transaction():
        adm.execute("SET LOCAL session_replication_role = replica")
        adm.execute("INSERT INTO fl.account (book, chart_code, unit, holder, component) "
                    "VALUES ('EMP', '5001.other', '230881', '', 'personal')")
    doc = entry("a15-legacy", "2024-03-05", "EMP", leg("5001.other", "230881", "D", "10.00", component="personal"),
                leg("1004", "230881", "C", "10.00", "county_exp", "personal"))
    o81 = ledger_db.connect("o81", autocommit=True)
    with pytest.raises(psycopg.errors.CheckViolation, match="takes only reversals"):
        o81.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),))      # held: refused when held
    with pytest.raises(psycopg.errors.CheckViolation, match="不得相互挤占"):
        post(ledger_db.connect("fin", autocommit=True), doc)
    with pytest.raises(psycopg.errors.CheckViolation, match="不得相互挤占"):
        adm.execute("SELECT * FROM fl._post(ARRAY[ROW(1, 'EMP', DATE '2024-03-05', 'x', 'manual', 'manual:fin:a15-dba', "
                    "NULL, '', NULL, NULL)::fl.new_entry], ARRAY[ROW(1, 1, 'EMP', '5001.other', '230881', '', "
                    "'personal', 'D', 1000, '', NULL)::fl.new_posting, ROW(1, 2, 'EMP', '1004', '230881', 'county_exp', "
                    "'personal', 'C', 1000, '', NULL)::fl.new_posting])")
    behind = (("fl.posting", "posting_account_rules"), ("fl.pending_posting", "pending_posting_held_rules"))
    for table, trigger in behind:                                                     # the DBA, behind them
        adm.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    try:
        eid = post(ledger_db.connect("fin", autocommit=True), doc)[0]["entry_id"]
    finally:
        for table, trigger in behind:
            adm.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    v = ledger_db.cli("verify", "--json", user="aud")
    assert v.exit_code != 0 and "category_component" in v.stdout and "5001.other" in v.stdout, v.stdout[-3000:]
    out = tmp_path / "export"
    assert ledger_db.cli("audit", "export", str(out), user="aud").exit_code == 0
    off = ledger_db.cli("verify", "--offline", str(out), "--json", user="aud")
    assert off.exit_code != 0 and "category_component" in off.stdout, off.stdout[-3000:]
    rev = confirmed(ledger_db.connect("fin", autocommit=True), "SELECT * FROM fl.reverse_entry(%s, %s, %s, %s)",
                    (eid, "其他不由个人账户支付", None, "a15-legacy-rev"))
    assert rev["status"] == "posted", rev
