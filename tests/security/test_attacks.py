"""The import stage and the session, attacked the ways issue 14 lists (and a few more):
what a table's owner may attach to a table (index, trigger, rule, child table, statistics,
policy, defaults), temp objects planted under every name the code uses, functions and
operators shadowed in pg_temp and public, search_path set for the role, user-settable
settings. Each attack either is refused by PostgreSQL or leaves the import working;
never does the payload run with the owner's rights (``Guard.assert_defended``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from ledger.errors import PermissionDenied
from ledger.store import imports, yearend
from tests.conftest import LedgerDB
from tests.security.conftest import PAYLOAD, Guard, attacker, temporary_given_back, temporary_taken_back
from tests.security.test_temp_objects import plant

pytestmark = pytest.mark.db

DATA = Path(__file__).parent.parent / "integration" / "data"
STAGE = "pg_temp.fl_stage_payments"
IMMUTABLE_PWN = """CREATE OR REPLACE FUNCTION pg_temp.pwn_imm() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
                   $f$ BEGIN RETURN pg_temp.pwn(); END $f$"""

# What only a table's owner (or a holder of TRIGGER / TRUNCATE / UPDATE / DELETE) may do.
ON_THE_STAGE = {
    "partial index with a pg_temp predicate": f"CREATE INDEX pwn_idx ON {STAGE} (row_no) WHERE pg_temp.pwn_imm()",
    "expression index": f"CREATE INDEX pwn_idx2 ON {STAGE} ((pg_temp.pwn_imm()))",
    "BEFORE INSERT trigger": f"CREATE TRIGGER pwn BEFORE INSERT ON {STAGE} FOR EACH ROW EXECUTE FUNCTION pg_temp.pwn_trg()",
    "BEFORE TRUNCATE trigger": f"CREATE TRIGGER pwn_t BEFORE TRUNCATE ON {STAGE} FOR EACH STATEMENT "
                               "EXECUTE FUNCTION pg_temp.pwn_trg()",
    "rule": f"CREATE RULE pwn AS ON INSERT TO {STAGE} DO ALSO SELECT pg_temp.pwn()",
    "child table": f"CREATE TEMP TABLE pwn_kid () INHERITS ({STAGE})",
    "extended statistics": f"CREATE STATISTICS pg_temp.pwn_st ON date, unit FROM {STAGE}",
    "row security": f"ALTER TABLE {STAGE} ENABLE ROW LEVEL SECURITY",
    "policy": f"CREATE POLICY pwn ON {STAGE} USING (pg_temp.pwn())",
    "column default": f"ALTER TABLE {STAGE} ALTER COLUMN date SET DEFAULT pg_temp.pwn()::text",
    "new column": f"ALTER TABLE {STAGE} ADD COLUMN pwn boolean DEFAULT pg_temp.pwn()",
    "owner": f"ALTER TABLE {STAGE} OWNER TO CURRENT_USER",
    "rename": f"ALTER TABLE {STAGE} RENAME TO pwn_stage",
    "drop": f"DROP TABLE {STAGE}",
    "truncate": f"TRUNCATE {STAGE}",
    "update": f"UPDATE {STAGE} SET unit = '230881'",
    "delete": f"DELETE FROM {STAGE}",
}


def _copy_payments(conn: psycopg.Connection, rows: list[str]) -> None:
    cols = "date, unit, book, provider, category, amount, reference"
    with conn.cursor().copy(f"COPY {STAGE} ({cols}) FROM STDIN (FORMAT csv)") as cp:
        for r in rows:
            cp.write(r + "\n")


@pytest.fixture
def funded(ledger_db: LedgerDB) -> LedgerDB:
    """230822's collections imported (¥800,000 into the special account) and ¥500,000
    pre-allocated to its county expenditure account, from which its payments are made."""
    fin, rev = ledger_db.connect("fin"), ledger_db.connect("rev")
    assert imports.import_file(fin, "collections", DATA / "collections.csv").rows_posted == 6
    fin.commit()
    imports.import_file(rev, "budget", DATA / "budget.csv")    # the pre-allocation's basis (0027)
    held = rev.execute("SELECT * FROM fl.preallocate(2023, '2023-01-11', %s::jsonb)",
                       ('[{"unit": "230822", "book": "RES", "component": "", "amount": 50000000}]',)).fetchone()
    rev.commit()
    fin.execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))    # finance executes it (0046)
    fin.commit()
    temporary_given_back(ledger_db)     # the attacks plant temp objects as the calling role
    return ledger_db


def test_nothing_can_be_attached_to_the_stage(funded: LedgerDB, guard: Guard) -> None:
    o22 = funded.connect("o22")
    o22.execute(PAYLOAD)
    o22.execute(IMMUTABLE_PWN)
    assert o22.execute("SELECT fl.import_stage('payments') AS s").fetchone()["s"] == "fl_stage_payments"
    let_through = []
    for what, attempt in ON_THE_STAGE.items():
        try:
            with o22.transaction():
                o22.execute(attempt)
            let_through.append(f"{what}: allowed")
        except psycopg.Error as e:
            if e.sqlstate != "42501":         # insufficient privilege, nothing else
                let_through.append(f"{what}: refused, but not for privilege: {e.sqlstate} {e}")
    assert let_through == []
    # The stage still works as it should: the rows the caller COPYs are imported.
    _copy_payments(o22, ["2023-02-03,230822,RES,H,inpatient,10.00,ATK-1"])
    done = o22.execute("SELECT fl.import_payments('atk.csv', '') AS r").fetchone()["r"]
    assert (done["rows_posted"], done["entries"]) == (1, 1)
    o22.commit()
    guard.assert_defended("o22")


PLANTED = ["fl_stage_payments", "fl_imp_src", "fl_imp_work", "fl_imp_grp", "fl_imp_new", "fl_imp_ent", "fl_imp_res",
           "fl_imp_err", "fl_imp_acc", "fl_imp_gc", "fl_imp_map"]


def test_a_planted_name_is_never_used(funded: LedgerDB, guard: Guard, tmp_path: Path) -> None:
    """Every name, as a table with triggers and a rule, as a view running the payload,
    and as a type: the import is refused naming it, in a fresh session each time."""
    f = tmp_path / "p.csv"
    f.write_text("date,unit,book,provider,category,amount,reference\n2023-02-03,230822,RES,H,inpatient,10.00,PL-1\n")
    for name in PLANTED:
        for kind in ("table", "view", "type"):
            o22 = attacker(funded, "o22")
            if kind == "table":
                plant(o22, [name])
            elif kind == "view":
                o22.execute(f"CREATE TEMP VIEW {name} AS SELECT pg_temp.pwn() AS a")
            else:
                o22.execute(f"CREATE TYPE pg_temp.{name} AS (a text)")
            o22.autocommit = False
            with pytest.raises(PermissionDenied, match=name):
                imports.import_file(o22, "payments", f)
            o22.close()
    guard.assert_defended("o22")
    # Without a planted object, a session imports the file.
    o22 = attacker(funded, "o22")
    o22.autocommit = False
    assert imports.import_file(o22, "payments", f).rows_posted == 1
    o22.commit()
    guard.assert_defended("o22")


SHADOWS = ["upper", "lower", "format", "sha256", "md5", "replace", "concat_ws", "length", "substr", "left",
           "date_trunc", "make_date", "decode", "encode", "jsonb_build_object", "set_config", "current_setting",
           "pg_my_temp_schema", "pg_get_userbyid", "nextval", "now", "clock_timestamp", "abs", "greatest"]


def _shadow(conn: psycopg.Connection, schema: str) -> None:
    """Functions named like the built-ins the definers call, and operators over text and
    bigint, each running the payload — in ``schema`` (pg_temp, or public where the server
    still lets any role create there)."""
    for fn in SHADOWS:
        for args in ("text", "text, text", "bigint", "date", ""):
            conn.execute(f"CREATE OR REPLACE FUNCTION {schema}.{fn}({args}) RETURNS text LANGUAGE sql "
                         "AS $f$ SELECT pg_temp.pwn()::text $f$")
    conn.execute(f"CREATE OR REPLACE FUNCTION {schema}.pwn_eq(text, text) RETURNS boolean LANGUAGE sql "
                 "AS $f$ SELECT pg_temp.pwn() $f$")
    conn.execute(f"CREATE OR REPLACE FUNCTION {schema}.pwn_eq(bigint, bigint) RETURNS boolean LANGUAGE sql "
                 "AS $f$ SELECT pg_temp.pwn() $f$")
    for t in ("text", "bigint"):
        conn.execute(f"CREATE OPERATOR {schema}.= (LEFTARG = {t}, RIGHTARG = {t}, FUNCTION = {schema}.pwn_eq)")
        conn.execute(f"CREATE OPERATOR {schema}.<> (LEFTARG = {t}, RIGHTARG = {t}, FUNCTION = {schema}.pwn_eq)")


def _everything(db: LedgerDB, who: psycopg.Connection, fin: psycopg.Connection, rev: psycopg.Connection,
                tmp: Path) -> None:
    """The definer operations, each through a login whose session the attacker prepared."""
    f = tmp / "p.csv"
    f.write_text("date,unit,book,provider,category,amount,reference\n2023-02-03,230822,RES,H,inpatient,10.00,SH-1\n")
    assert imports.import_file(who, "payments", f).rows_posted == 1
    who.commit()
    c = tmp / "c.csv"
    c.write_text("date,unit,book,source,amount,reference\n2023-03-01,230822,RES,contribution,1.00,SH-C-1\n")
    assert imports.import_file(fin, "collections", c).rows_posted == 1
    fin.commit()
    assert imports.import_file(rev, "budget", DATA / "budget.csv").budgets
    opened = imports.import_file(rev, "opening", DATA / "opening.csv", on=dt.date(2023, 1, 1))
    assert isinstance(opened, imports.OpeningImport) and opened.rows_posted == 9
    rev.commit()
    fin.execute("SELECT count(*) FROM fl.confirm_entries(%s)", (opened.held,))   # held for finance (0052)
    assert fin.execute("SELECT count(*) AS n FROM fl.handover_transfer('230822', '2023-01-05')").fetchone()["n"] == 3
    fin.commit()
    yearend.close_year(rev, 2023, dt.date(2023, 12, 31))
    rev.commit()


def _sessions(db: LedgerDB, setup: list[str]) -> tuple[psycopg.Connection, ...]:
    """The three logins that run the definer operations, each session prepared by its
    attacker: the payload, ``setup``, and the shadows in pg_temp (and public, where the
    server lets an ordinary role create there: before PostgreSQL 15)."""
    out = []
    for who in ("o22", "fin", "rev"):
        c = db.connect(who, autocommit=True)
        c.execute(PAYLOAD)
        for s in setup:
            c.execute(s)
        _shadow(c, "pg_temp")
        try:
            with c.transaction():
                _shadow(c, "public")
        except psycopg.errors.InsufficientPrivilege:
            pass
        c.autocommit = False
        out.append(c)
    return tuple(out)


def test_shadowed_functions_and_operators_in_pg_temp_and_public(funded: LedgerDB, guard: Guard,
                                                                tmp_path: Path) -> None:
    conns = _sessions(funded, ["SET search_path = pg_temp, public, pg_catalog, fl"])
    # The shadows are live in the attacker's own session: its own queries would call them.
    assert conns[0].execute("SELECT pg_temp.upper('x') AS u").fetchone()["u"] == "true"
    _everything(funded, *conns, tmp_path)
    for who in ("o22", "fin", "rev"):
        guard.assert_defended(who)


def test_search_path_and_settings_a_role_may_set_for_itself(funded: LedgerDB, guard: Guard, tmp_path: Path) -> None:
    db = funded.admin().execute("SELECT current_database() AS d").fetchone()["d"]
    for who in ("o22", "fin", "rev"):
        c = funded.connect(who, autocommit=True)
        # (IN DATABASE: roles are shared by every database of the server, and so would be the setting.)
        c.execute(f'ALTER ROLE {who} IN DATABASE "{db}" SET search_path = pg_temp, public, pg_catalog, fl')
        c.execute(f'ALTER ROLE {who} IN DATABASE "{db}" SET plan_cache_mode = force_custom_plan')
        for refused in (f'ALTER DATABASE "{db}" SET search_path = pg_temp, pg_catalog',
                        f"ALTER ROLE fl_{'officer' if who == 'o22' else 'finance'} SET search_path = pg_temp",
                        "ALTER ROLE fl_owner SET search_path = pg_temp, pg_catalog",
                        f"ALTER ROLE {who} SET session_replication_role = replica",
                        "SET session_replication_role = replica", "SET ROLE fl_owner",
                        "SET SESSION AUTHORIZATION fl_owner"):
            with pytest.raises(psycopg.Error) as e:
                c.execute(refused)
            assert e.value.sqlstate == "42501", (refused, e.value)
        if who == "o22":        # row_security = off makes a read under a policy an error, never all rows
            c.execute("SET row_security = off")
            with pytest.raises(psycopg.Error) as e:
                c.execute("SELECT count(*) FROM fl.posting")
            assert e.value.sqlstate == "42501"
    settings = ["SET DateStyle = 'German, DMY'", "SET work_mem = '64kB'", "SET enable_hashjoin = off",
                "SET enable_indexscan = off", "SET check_function_bodies = off",
                # (default_transaction_isolation = 'repeatable read': writes refused since 0016,
                # tests/security/test_hardening.py)
                "SET IntervalStyle = 'sql_standard'",
                "SET TimeZone = 'Pacific/Kiritimati'", "SET extra_float_digits = -15", "SET bytea_output = 'escape'",
                "SET standard_conforming_strings = off", "SET lc_monetary = 'C'", "SET jit = off",
                "SET constraint_exclusion = off", "SET temp_buffers = '1MB'", "SET synchronous_commit = off"]
    conns = _sessions(funded, settings)
    for c in conns:
        assert c.execute("SHOW search_path").fetchone()["search_path"].startswith("pg_temp")
    _everything(funded, *conns, tmp_path)
    for who in ("o22", "fin", "rev"):
        guard.assert_defended(who)
    temporary_taken_back(funded)        # the release's ACL again: the verdict names the grant (M5)
    verify = funded.cli("verify", "--json", user="aud")
    assert verify.exit_code == 0 and verify.json()["ok"] is True, verify
