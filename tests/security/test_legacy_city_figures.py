"""0140 (ATTACK17 E5): whose money each bank account holds, asked in one place (fl._city_figure and
its twin ledger.core.rules.city_figure), over every (holder x side x role).

A holder that is pooled (special, city_exp, treasury) or awaiting pooling (a county's legacy
accounts: legacy_special, legacy_revenue, legacy_expenditure — the audited balances the city moves
up to the special account, 上划) is a city figure on either side: an officer's manual entry on one is
confirmed by the city bureau (a reviewer) or city finance, never by a second officer of the county —
in fl._decider, in fl.posting_inserted (whatever path reaches the journal), in verify's
held_entries and in the independent verdict. The county's own account (county_exp) stays the
county's: money out of it by its officers' maker-checker as before (money into it is the city's
since 0064). The rule binds from its point (legacy_figures): a confirmation made under the previous
release is judged as it was then.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from ledger.core import rules
from ledger.core.chart import HOLDERS
from ledger.core.region import load_region
from ledger.store import admin, migrate
from tests.conftest import LedgerDB, Server, run_cli
from tests.helpers import collect, entry, leg, post
from tests.integration.test_registers_budget import open_handover
from tests.security.test_attack7_duties import _officer
from tests.security.test_attack7_rules import suspended, verdict

pytestmark = pytest.mark.db

U = "230822"
DAY = "2023-01-04"
CONFIRM = "SELECT * FROM fl.confirm_entry(%s)"
CITY = {"special", "city_exp", "treasury", "legacy_special", "legacy_revenue", "legacy_expenditure"}


def _legs(chart: str, holder: str, side: str) -> tuple[dict[str, object], dict[str, object]]:
    """Money into the account (Dr it / Cr 2001 temporary receipt) or out of it (Dr 1101 temporary
    payment / Cr it): no figure of the year-end rule, so the account alone decides who confirms."""
    if side == "D":
        return leg(chart, U, "D", "1.00", holder), leg("2001", U, "C", "1.00")
    return leg("1101", U, "D", "1.00"), leg(chart, U, "C", "1.00", holder)


def _refusal(conn: psycopg.Connection, sql: str, params: tuple[object, ...]) -> str:
    """'posted' or the refusal's rule (constraint name); the transaction is rolled back either way,
    so every role's attempt meets the same held entry and balances."""
    try:
        row = conn.execute(sql, params).fetchone()
        out = str(row["status"]) if row else "nothing"
    except psycopg.Error as e:
        out = e.diag.constraint_name or e.sqlstate or "error"
        assert "Traceback" not in str(e)
    conn.rollback()
    return out


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    """230822's RES money in every kind of bank account: its legacy accounts by the audited opening
    (confirmed by finance), the special account by a collection, county_exp, city_exp and the
    treasury from the special account."""
    open_handover(ledger_db)
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("e5m-col", "2023-01-02", U, "1000.00"),
         *(entry(f"e5m-{h}", "2023-01-03", "RES", leg(c, U, "D", "100.00", h), leg("1003", U, "C", "100.00", "special"))
           for c, h in (("1004", "county_exp"), ("1004", "city_exp"), ("1005", "treasury"))))
    return ledger_db


def test_every_holder_side_and_role(funded: LedgerDB) -> None:
    db = funded
    holders = [(r["code"], r["chart_code"]) for r in db.admin().execute(
        "SELECT code, chart_code FROM fl.holder ORDER BY code").fetchall()]
    assert {h for h, _ in holders} == {h.code for h in HOLDERS} == CITY | {"county_exp"}
    # The twins agree, either side: the SQL's one place and the verdict's.
    sql_says = {h: db.admin().execute("SELECT fl._city_figure(%s, %s) AS x", (c, h)).fetchone()["x"]  # type: ignore[index]
                for h, c in holders}
    assert sql_says == {h: rules.city_figure(c, h) for h, c in holders} == {h: h in CITY for h, _ in holders}
    assert {h: rules.city_figure_rule(c, h) for h, c in holders if h.startswith("legacy_")} == dict.fromkeys(
        ("legacy_special", "legacy_revenue", "legacy_expenditure"), "legacy_figures")

    makers = {"officer": db.connect("o22", autocommit=True), "reviewer": db.connect("rev", autocommit=True)}
    checkers = {"officer": _officer(db, "o22e5m", U), "reviewer": db.connect("rev2"), "finance": db.connect("fin")}
    checkers["officer"].autocommit = False
    got: dict[tuple[str, str, str, str], str] = {}
    want: dict[tuple[str, str, str, str], str] = {}
    for h, c in holders:
        for side in ("D", "C"):
            for maker, mconn in makers.items():
                doc = entry(f"e5m-{maker}-{h}-{side}", DAY, "RES", *_legs(c, h, side), memo="matrix")
                try:
                    row = mconn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps([doc]),)).fetchone()
                except psycopg.Error as e:
                    got[(maker, h, side, "post")] = e.diag.constraint_name or str(e.sqlstate)
                    # an officer never credits the city's own accounts by hand (0017/0039: 1003, 1005, city_exp)
                    want[(maker, h, side, "post")] = "manual_policy"
                    continue
                assert row is not None and row["status"] == "held", row   # real money: a second person confirms
                got[(maker, h, side, "post")] = want[(maker, h, side, "post")] = "held"
                for role, cconn in checkers.items():
                    got[(maker, h, side, role)] = _refusal(cconn, CONFIRM, (row["held_id"],))
                    if role != "officer":
                        want[(maker, h, side, role)] = "posted"
                    elif maker != "officer":
                        want[(maker, h, side, role)] = "permission_denied"   # an officer confirms only its colleagues'
                    elif h in CITY or side == "D":
                        want[(maker, h, side, role)] = "city_confirms"       # the city's figure, or money in (0064)
                    else:
                        want[(maker, h, side, role)] = "posted"              # county_exp: the county's own money out
    # the officer's refusals at posting time are exactly the credits on 1003 (special and legacy), 1005, city_exp
    assert {k[1] for k, v in want.items() if v == "manual_policy"} == {"special", "legacy_special", "treasury",
                                                                         "city_exp"}
    diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    assert not diff, diff
    assert len(want) == 7 * 2 * 2 + (7 * 2 * 2 - 4) * 3 == 100


def test_the_last_word_refuses_an_officers_legacy_entry_whatever_path(funded: LedgerDB) -> None:
    """With fl._decider's city-figure question switched off (a path that does not ask it), the
    journal's own statement rule (fl.posting_inserted) still refuses an officer's session writing a
    manual entry on a legacy account: city_confirms."""
    db = funded
    o22 = db.connect("o22", autocommit=True)
    second = _officer(db, "o22e5w", U)
    for h, c in (("legacy_revenue", "1002"), ("legacy_expenditure", "1004")):
        row = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
            [entry(f"e5w-{h}", DAY, "RES", *_legs(c, h, "C"), memo="advance")]),)).fetchone()
        assert row is not None and row["status"] == "held", row
        with suspended(db.admin(), "fl._decider(fl.pending_entry,text)",
                       "AND fl._city_figure(a.chart_code, a.holder) ORDER BY pp.pos LIMIT 1;",
                       "AND false ORDER BY pp.pos LIMIT 1;"), pytest.raises(psycopg.Error) as e:
            second.execute(CONFIRM, (row["held_id"],))
        assert e.value.diag.constraint_name == "city_confirms", e.value
        assert f"may not post a manual entry on {c} {h}" in str(e.value), e.value


def test_forced_past_the_rule_both_verdicts_name_it(funded: LedgerDB) -> None:
    """The superuser puts 0067's classification back (legacy accounts the county's) and a second
    officer confirms the drain: verify's held_entries and the independent maker_checker name it —
    the twins of the rule, not its function."""
    db = funded
    o22 = db.connect("o22", autocommit=True)
    second = _officer(db, "o22e5v", U)
    row = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
        [entry("e5v-drain", DAY, "RES", *_legs("1002", "legacy_revenue", "C"), memo="advance")]),)).fetchone()
    assert row is not None and row["status"] == "held", row
    with suspended(db.admin(), "fl._city_figure(text,text)",
                   "'legacy_special', 'legacy_revenue', 'legacy_expenditure'", "'-'"):
        done = second.execute(CONFIRM, (row["held_id"],)).fetchone()
    assert done is not None and done["status"] == "posted", done
    mc = [json.dumps(f, ensure_ascii=False) for f in verdict(db).get("maker_checker", [])]
    assert len(mc) == 1 and "1002 legacy_revenue" in mc[0] and "confirmed by o22e5v, an officer" in mc[0], mc
    r = db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r
    held = [json.dumps(f) for c in r.json()["checks"] if c["name"] == "held_entries" for f in c["findings"]]
    assert len(held) == 1 and f"held entry {row['held_id']} " in held[0] and "o22e5v (officer)" in held[0], held


def test_the_refusal_says_what_the_account_is_and_who_confirms_in_chinese(funded: LedgerDB) -> None:
    db = funded
    o22 = db.connect("o22", autocommit=True)
    _officer(db, "o22e5z", U)
    row = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
        [entry("e5z-drain", DAY, "RES", *_legs("1004", "legacy_expenditure", "C"), memo="advance")]),)).fetchone()
    assert row is not None
    r = db.cli("--lang", "zh", "entry", "confirm", str(row["held_id"]), user="o22e5z")
    assert r.exit_code != 0 and "Traceback" not in r.stderr + r.stdout, r
    out = r.stderr + r.stdout
    assert "上划" in out and "entry confirm" in out and "原县级支出户" in out, out
    assert not any(w in out for w in ("legacy account", "awaits the transfer")), out


def test_a_transfer_below_the_audited_opening_names_what_left_and_who_confirmed_it(ledger_db: LedgerDB) -> None:
    """A county's claim paid from its legacy expenditure account before the transfer up, held by its
    officer and confirmed by the city bureau: legitimate — and the transfer says the audited opening
    and the entry that moved money off it, with its maker and confirmer."""
    db = ledger_db
    open_handover(db)
    row = db.connect("o22", autocommit=True).execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
        [entry("e5t-claim", DAY, "RES", leg("5001.inpatient", U, "D", "250.50"),
               leg("1004", U, "C", "250.50", "legacy_expenditure"), memo="欠付医院 unpaid claim")]),)).fetchone()
    assert row is not None and row["status"] == "held", row
    done = db.connect("rev", autocommit=True).execute(CONFIRM, (row["held_id"],)).fetchone()
    assert done is not None and done["status"] == "posted", done
    r = db.cli("handover", "transfer", "--unit", U, "--date", "2023-01-05", "--json", user="fin")
    assert r.exit_code == 0, r
    res = {(t["book"], t["component"]): t for t in r.json()}
    assert res[("RES", "")]["amount"] == "1299750.00" and res[("RES", "")]["audited"] == "1300000.50", res
    assert [(m["entry_id"], m["kind"], m["created_by"], m["confirmed_by"], m["amount"])
            for m in res[("RES", "")]["moved_since_opening"]] == [
        (done["entry_id"], "manual", "o22", "rev", "-250.50")], res
    assert res[("EMP", "pooled")]["moved_since_opening"] == [] and res[("EMP", "pooled")]["audited"] == "600000.00"


def test_the_transfer_names_it_in_chinese(ledger_db: LedgerDB) -> None:
    db = ledger_db
    open_handover(db)
    post(db.connect("o22", autocommit=True), entry("e5c-claim", DAY, "RES", leg("5001.inpatient", U, "D", "10.00"),
                                                   leg("1002", U, "C", "10.00", "legacy_revenue")), checker="fin")
    r = db.cli("--lang", "zh", "handover", "transfer", "--unit", U, "--date", "2023-01-05", user="fin")
    assert r.exit_code == 0, r
    assert "经审计的期初余额为" in r.stdout and "fundledger entry show" in r.stdout and "o22" in r.stdout, r.stdout


# ---- the rule's point: a ledger whose officers did so before 0140 verifies as before ---------------

CAST = [("rev", "reviewer", None), ("rev2", "reviewer", None), ("fin", "finance", None), ("aud", "auditor", None),
        ("o22", "officer", U), ("o22e5p", "officer", U)]


@pytest.fixture
def before_0140(pg_server: Server, template_db: str) -> Iterator[str]:
    from alembic.script import ScriptDirectory

    parent = ScriptDirectory.from_config(migrate._config()).get_revision("0140").down_revision
    assert isinstance(parent, str)
    name = f"fl_e5_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.url(name)
    migrate.upgrade(url, parent)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        migrate.load_reference(conn, load_region())
        for n, role, unit in CAST:
            admin.add_user(conn, n, role, unit)
        migrate.owner_administers_users(conn)
        conn.commit()
    yield name
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.cluster_roles
def test_a_confirmation_made_before_0140_is_whole_after_the_upgrade_and_a_new_one_is_refused(
        before_0140: str, pg_server: Server) -> None:
    name = before_0140
    url = pg_server.url(name)

    def conn(user: str) -> psycopg.Connection:
        return psycopg.connect(pg_server.url(name, user), autocommit=True, row_factory=dict_row)

    with conn("fin") as fin:   # a legacy balance recorded by hand before the book's first close
        post(fin, entry("e5p-open", "2024-01-02", "RES", leg("1002", U, "D", "500.00", "legacy_revenue"),
                        leg("3001", U, "C", "500.00")), checker="rev")
    drain = entry("e5p-old", "2024-01-03", "RES", *_legs("1002", "legacy_revenue", "C"), memo="advance")
    with conn("o22") as o22:
        old = post(o22, drain, checker="o22e5p")      # allowed under the previous release
    assert old[0]["status"] == "posted", old
    migrate.upgrade(url)
    v = run_cli(["verify"], url=url, user="aud")
    assert v.exit_code == 0, v.stdout[-2500:]
    with psycopg.connect(pg_server.url(name, "aud"), row_factory=dict_row) as aud:
        from ledger.store.verify_independent import verify_independent

        assert not [f for f in verify_independent(aud).findings if f.check == "maker_checker"]
    with conn("o22") as o22:
        row = o22.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(
            [{**drain, "idempotency_key": "e5p-new"}]),)).fetchone()
    with conn("o22e5p") as second, pytest.raises(psycopg.Error) as e:
        second.execute(CONFIRM, (row["held_id"],))
    assert e.value.diag.constraint_name == "city_confirms", e.value
