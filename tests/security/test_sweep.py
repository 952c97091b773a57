"""A sweep over the catalog (pg_proc, pg_class, pg_trigger): the rules every SECURITY
DEFINER function and everything it runs must keep (docs/security.md), checked on the
migrated schema rather than on the SQL files, so a later migration that breaks one — a
CREATE OR REPLACE without the pinned search_path, a new table without row security, an
object created by another role — fails here."""

from __future__ import annotations

import re

import pytest

from tests.conftest import LedgerDB

pytestmark = pytest.mark.db

# SQL helpers the planner inlines into the calling query: inlined, they are parsed under
# the caller's pinned search_path; a SET clause would stop the inlining (the imports call
# them for every row). Each must stay inlinable: LANGUAGE sql, not a definer, no SET.
INLINED = {"fmt_fen", "imp_days_in_month", "imp_date", "imp_date_problem", "imp_amount_num", "imp_fen",
           "imp_fen_of", "imp_amount_problem", "imp_component_problem", "imp_component_ok",
           "imp_reference_problem", "_imp_row_problems",
           # 0151: a whole number with thousands separators (an insured headcount), and its reason
           "imp_whole", "imp_whole_problem",
           # 0017: per entry in fl.post_entries and the entry stamp
           "_kind_command", "_key_in_namespace", "_key_namespace", "_real_money",
           # 0161: per posting in fl.post_entries and fl.reverse_entry (which postings are held)
           "_held_by_hand",
           # 0066: an import line's text, per line in the batch digest (fl._record_import_lines)
           "_import_line_text",
           # 0089/0111: a reference's form, in three CHECKs and (0124) the register item's insert trigger
           "reference_form_ok"}

# Every fl function that runs dynamic SQL, and why that SQL is built from a list.
DYNAMIC_SQL = {
    "add_user": "CREATE ROLE / GRANT: format('%I') of the new login and of 'fl_' || a role checked against the list",
    "import_stage": "CREATE TEMP TABLE / GRANT: format('%I', '%L') of fl_stage_<kind> and the columns of "
                    "fl._imp_stage_columns(kind), a fixed list; NULL (unknown kind) is refused first",
    "_imp_clear": "DROP of format('%I') names from fl._imp_work_names() and the four stage names, owner's only",
    "_imp_open": "CREATE TEMP VIEW over format('%I') of fl_stage_<kind>, kind checked against the list",
    "_imp_post": "internal (no role may call it): runs the two queries its importer built with format('%L')",
    "_imp_entries": "internal: wraps its importer's query (built with format('%L')) with format('%L') of the kind",
    "_imp_repeats": "internal: format() of one of two constant WHERE clauses",
    "set_password": "ALTER ROLE format('%I', '%L') of a login fl._user_role checked is a plain fundledger user",
    "app_user_connect": "GRANT CONNECT ON DATABASE format('%I') of current_database() to the login fl.app_user "
                        "just listed (0027, B1b)",
    "set_login": "ALTER ROLE format('%I') of a login fl._user_role checked, then LOGIN or NOLOGIN",
    "set_connection_limit": "ALTER ROLE format('%I') of a login fl._user_role checked, CONNECTION LIMIT an int 1-100",
    "_apply_login_limits": "internal (the app_user trigger, the migration, a superuser's user add): ALTER ROLE "
                           "format('%I', '%L') of a name in fl.app_user that is no superuser, fixed settings",
    "_chain_table": "migrations only (no role may call it): CREATE TRIGGER / backfill of format('%I') of a table "
                    "checked to be fl.<its own name>",
}

# Tables an application role may read without row security, and why.
NO_ROW_SECURITY = {
    "setting": "the region's settings: the same for every unit",
    "unit": "reference data: the region's units",
    "unit_joined": "reference data: each unit's joining date (0154), registered with the unit; the same for every unit",
    "unit_joined_later": "reference data: each unit's joining date registered later by the city bureau (0167), with "
                         "its reason and document; the same for every unit",
    "book": "reference data: the two books",
    "chart": "reference data: the national chart of accounts",
    "holder": "reference data: the bank-account holders",
    "closed_period": "the period calendar: one list of closed months for the whole ledger",
    "voucher_counter": "the last voucher number per book and year: no unit's figures",
    "chain_head": "one hash and sequence number: no unit's figures",
    "alembic_version": "the schema revision",
    "rule_point": "where each duty rule took effect (0068): the entry id a migration recorded, the same for every "
                  "unit; read by auditor, reviewer and finance, never by officers",
    "operation_log": "privileged operations (passwords, logins, backups): read by auditor and admin, city-wide roles",
    "record_log": "the chained history of rows an auditor relies on: read by auditor, reviewer and finance "
                  "(city-wide roles who read every unit's rows anyway), never by officers",
    "record_head": "one hash and sequence number: no unit's figures",
    "chained_table": "the list of tables with a history and their key columns: no unit's figures",
}

APP_GROUPS = ("fl_officer", "fl_reviewer", "fl_finance", "fl_auditor", "fl_admin")
PINNED = re.compile(r"^search_path=pg_catalog, fl(, pg_temp)?$")
CALLS = re.compile(r"\bfl\.([a-z_0-9]+)\s*\(")


# The names with more than one signature, each a SECURITY DEFINER function judged on its own: a call
# by name (CALLS) reaches the first; the others are reached as definers. (0137) fl.post_entries(text)
# reads a raw call's documents as jsonb itself, naming what jsonb cannot hold, then calls the jsonb one.
OVERLOADED = frozenset({"post_entries"})


def _functions(admin) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    rows = admin.execute("""
        SELECT p.proname, p.prosecdef, l.lanname, p.provolatile, coalesce(p.proconfig, '{}') AS config, p.prosrc,
               p.oid::regprocedure::text AS sig, o.rolsuper, o.rolcanlogin,
               ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS argtypes,
               has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec
          FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN pg_roles o ON o.oid = p.proowner
         WHERE p.pronamespace = 'fl'::regnamespace ORDER BY p.oid""").fetchall()
    out: dict[str, dict] = {}
    for r in rows:
        if r["proname"] in out and r["proname"] in OVERLOADED:
            # judged as a function of its own, keyed by its signature (a definer: reached as such)
            out[r["sig"].removeprefix("fl.")] = r
            continue
        assert r["proname"] not in out, f"overloaded fl.{r['proname']}: the sweep reads functions by name"
        out[r["proname"]] = r
    return out


def _reached(admin, fns: dict[str, dict]) -> set[str]:  # type: ignore[no-untyped-def]
    """Every definer function, the fl functions they call (transitively), and the
    functions of every trigger on an fl table (those run inside the definers' writes)."""
    todo = {n for n, f in fns.items() if f["prosecdef"]}
    todo |= {r["f"] for r in admin.execute("""
        SELECT DISTINCT p.proname AS f FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE c.relnamespace = 'fl'::regnamespace AND NOT t.tgisinternal""").fetchall()}
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        seen.add(n)
        todo |= {c for c in CALLS.findall(fns[n]["prosrc"]) if c in fns} - seen
    return seen


def test_every_definer_function_and_what_it_runs_pins_search_path(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    fns = _functions(admin)
    reached = _reached(admin, fns)
    assert {n for n, f in fns.items() if f["prosecdef"]} <= reached and len(reached) > 40
    unpinned = []
    for n in sorted(reached):
        f = fns[n]
        paths = [c for c in f["config"] if c.startswith("search_path=")]
        if n in INLINED:
            if not (f["lanname"] == "sql" and not f["prosecdef"] and not f["config"] and f["provolatile"] in "is"):
                unpinned.append(f"{f['sig']}: listed as inlined, but not an inlinable SQL function")
        elif len(paths) != 1 or not PINNED.match(paths[0]):
            unpinned.append(f"{f['sig']}: {paths or 'no search_path'}")
    assert unpinned == []


def test_no_definer_function_takes_a_relation_or_uses_a_temp_object_it_did_not_create(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    fns = _functions(admin)
    reached = _reached(admin, fns)
    work_names = set(admin.execute("SELECT fl._imp_work_names() AS n").fetchone()["n"])
    bad = []
    for n in sorted(reached):
        f, src = fns[n], fns[n]["prosrc"]
        for t in f["argtypes"]:
            if t in ("regclass", "oid", "regproc", "regprocedure", "regtype", "regnamespace", "name"):
                bad.append(f"{f['sig']}: takes a {t}")
        if re.search(r"\bCREATE\s+(?:TEMP\w*\s+)?\w+\s+IF\s+NOT\s+EXISTS\b", src, re.I):
            bad.append(f"{f['sig']}: CREATE ... IF NOT EXISTS")
        if re.search(r"\bDROP\s+(?:TABLE|VIEW|TYPE|SEQUENCE|INDEX|FUNCTION)\s+IF\s+EXISTS\b", src, re.I):
            bad.append(f"{f['sig']}: DROP ... IF EXISTS (would drop whatever holds the name)")
        created = re.findall(r"\bCREATE\s+TEMP(?:ORARY)?\s+(?:TABLE|VIEW)\s+(%I|[a-z_0-9.]+)", src, re.I)
        for name in created:
            if name != "%I" and name.removeprefix("pg_temp.") not in work_names:
                bad.append(f"{f['sig']}: creates temp object {name}, not one fl._imp_clear guards")
        if created and not re.search(r"\bfl\._imp_(open|clear)\s*\(", src):
            bad.append(f"{f['sig']}: creates temp objects without clearing the names first (fl._imp_open / _imp_clear)")
    assert bad == []
    # The guard's own list: the five stages and the work names, nothing the caller names.
    assert ("p_stage = ANY (ARRAY['fl_stage_payments', 'fl_stage_collections', 'fl_stage_opening', 'fl_stage_budget', "
            "'fl_stage_insured'])") \
        in fns["_imp_clear"]["prosrc"]


def test_dynamic_sql_only_where_listed(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    fns = _functions(admin)
    dynamic = {n for n, f in fns.items() if f["lanname"] == "plpgsql" and re.search(r"\bEXECUTE\b", f["prosrc"])}
    assert dynamic == set(DYNAMIC_SQL)
    for n in dynamic:
        for stmt in re.findall(r"\bEXECUTE\s+([^;]*)", fns[n]["prosrc"]):
            if n in ("_imp_post",):
                assert stmt.split()[0] in ("p_entries", "p_postings"), (n, stmt)
            else:
                assert stmt.startswith(("format(", "replace(")), (n, stmt)
    # The internal ones cannot be called by any application role.
    for n in ("_imp_post", "_imp_entries", "_imp_repeats", "_imp_clear", "_imp_open"):
        for g in APP_GROUPS:
            assert not admin.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE') AS x",
                                     (g, fns[n]["sig"])).fetchone()["x"], (g, n)


def test_owners_are_not_superusers_and_cannot_log_in(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    schema = admin.execute("""SELECT o.rolsuper, o.rolcanlogin FROM pg_namespace n JOIN pg_roles o ON o.oid = n.nspowner
                               WHERE n.nspname = 'fl'""").fetchone()
    assert (schema["rolsuper"], schema["rolcanlogin"]) == (False, False)
    fns = _functions(admin)
    definers = {n: f for n, f in fns.items() if f["prosecdef"]}
    assert len(definers) > 20
    assert [f["sig"] for f in definers.values() if f["rolsuper"] or f["rolcanlogin"]] == []
    # No fl function at all is PUBLIC's: each is granted to the groups that call it.
    assert [f["sig"] for f in fns.values() if f["public_exec"]] == []


def test_every_table_an_application_role_reads_has_row_security_or_a_reason(ledger_db: LedgerDB) -> None:
    admin = ledger_db.admin()
    rows = admin.execute("""
        SELECT c.relname, c.relkind, c.relrowsecurity, coalesce(c.reloptions, '{}') AS options
          FROM pg_class c
         WHERE c.relnamespace = 'fl'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           AND EXISTS (SELECT 1 FROM unnest(%s::text[]) g WHERE has_any_column_privilege(g, c.oid, 'SELECT'))""",
                         (list(APP_GROUPS),)).fetchall()
    assert len(rows) > 25
    views = [r for r in rows if r["relkind"] == "v"]
    assert [v["relname"] for v in views if "security_invoker=true" not in v["options"]] == []
    tables = [r for r in rows if r["relkind"] != "v"]
    assert [t["relname"] for t in tables if t["relkind"] not in ("r", "p")] == []
    assert sorted(t["relname"] for t in tables if not t["relrowsecurity"]) == sorted(NO_ROW_SECURITY)
    # Row security means a policy: a table with RLS on and no SELECT policy reads empty.
    for t in tables:
        if t["relrowsecurity"]:
            assert admin.execute("SELECT count(*) AS n FROM pg_policies WHERE schemaname = 'fl' AND tablename = %s",
                                 (t["relname"],)).fetchone()["n"] > 0, t["relname"]
