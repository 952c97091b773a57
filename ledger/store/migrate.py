"""Create or upgrade the schema with Alembic (the SQL lives in ``sql/``), then load
the region and the chart of accounts. Idempotent: ``init`` twice changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from psycopg.rows import tuple_row
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from ledger.core.adjustment import adjustment_fund_json
from ledger.core.chart import CHART, HOLDERS
from ledger.core.funding import standards_json
from ledger.core.joined import file_names_in_force
from ledger.core.joined import in_force as joined_in_force
from ledger.core.region import Region
from ledger.core.response import plans_json
from ledger.core.year_settings import FROM_YEAR
from ledger.errors import BadInput, StateError
from ledger.i18n import _
from ledger.store import schema_models
from ledger.store.db import Conn, session_conninfo

_LOCK = 7_345_001  # advisory lock id: one migration at a time per database


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("sql").joinpath("migrations")))
    return cfg


def head_revision() -> str:
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def applied_prefix(before: str | None, script: ScriptDirectory | None = None) -> str:
    """The greatest revision number n such that every revision numbered n or less is applied
    at ``before`` (its ancestors and itself), '' for none. fl._rule_takes_effect (sql/0068)
    treats a rule whose revision is at or below it as already in force. The chain is not in
    number order (0058 follows 0062, 0065 follows 0066; a migration landing later takes a
    number below its parent's), so ``before``'s own number would call a rule applied that its
    database never ran (a database at 0062 has not run 0058)."""
    if not before:
        return ""
    sd = script or ScriptDirectory.from_config(_config())
    applied = {r.revision for r in sd.iterate_revisions(before, "base")}
    out = ""
    for rev in sorted(r.revision for r in sd.walk_revisions()):
        if rev not in applied:
            break
        out = rev
    return out


def refuse_other_encoding(conn: psycopg.Connection[Any]) -> None:
    """(ATTACK21 N2) ``init`` builds and upgrades a ledger only in a database whose server
    encoding is UTF8: in a SQL_ASCII one (``initdb --no-locale``, ``createdb -E SQL_ASCII``) the
    server checks no text it stores and compares Chinese names byte by byte; in LATIN1 or GBK
    it cannot hold every unit's name. Refused before anything is written, saying how to make one
    (the server reports its encoding at start-up: no round trip)."""
    enc = conn.info.parameter_status("server_encoding")
    got = enc.decode() if isinstance(enc, bytes) else (enc or "")
    if got.upper() not in ("UTF8", "UTF-8"):
        db = conn.info.dbname
        raise StateError(_("the database {db} has server encoding {encoding}, not UTF8: fundledger keeps Chinese "
                           "names and text in UTF-8 and builds a ledger only in a UTF8 database; nothing was changed. "
                           "Create one with CREATE DATABASE {db} ENCODING 'UTF8' LOCALE 'C' TEMPLATE template0 "
                           "(or createdb -E UTF8 -l C -T template0 {db}) and run fundledger init on it").format(
            db=db, encoding=got or "?"))


def upgrade(conninfo: str, target: str = "head") -> tuple[str | None, str, list[str]]:
    """Upgrade to ``target`` (default head); return (revision before, revision after, and
    at head how the schema differs from this release's models: schema_models.drift)."""
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(session_conninfo(conninfo)), poolclass=NullPool)
    with engine.connect() as sa_conn:
        raw = sa_conn.connection.driver_connection
        refuse_other_encoding(raw)  # type: ignore[arg-type]
        raw.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))  # type: ignore[union-attr]
        try:
            sa_conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS fl")
            sa_conn.commit()
            before = MigrationContext.configure(sa_conn, opts={"version_table_schema": "fl"}).get_current_revision()
            # The revision this run starts from: a migration that records when a duty rule
            # took effect (fl._rule_takes_effect, sql/0068) tells a rule already in force
            # before this run from one it brings now.
            sa_conn.exec_driver_sql("SELECT pg_catalog.set_config('fundledger.upgrade_from', %(v)s, false)",
                                    {"v": applied_prefix(before)})
            cfg = _config()
            cfg.attributes["connection"] = sa_conn
            command.upgrade(cfg, target)
            sa_conn.commit()
            after = MigrationContext.configure(sa_conn, opts={"version_table_schema": "fl"}).get_current_revision()
            differs = schema_models.drift(sa_conn) if target == "head" else []
        finally:
            raw.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))  # type: ignore[union-attr]
    engine.dispose()
    return before, str(after), differs


def owner_administers_users(conn: Conn) -> None:
    """fl_owner (migration 0008) alters fundledger's logins for fl.set_password and
    fl.set_login, which on PostgreSQL 16+ needs ADMIN on each. It has it on the logins it
    created; a login made before (by a DBA, or by an older release as the superuser) gets
    it here when the migrating login may grant it. Never on a role with more than an
    ordinary login's attributes. Idempotent; nothing to do on PostgreSQL 15."""
    rows = conn.execute("""
        SELECT r.rolname AS name FROM fl.app_user u JOIN pg_catalog.pg_roles r ON r.rolname = u.name
         WHERE current_setting('server_version_num')::int >= 160000
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles o WHERE o.rolname = 'fl_owner')
           AND NOT (r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls OR r.rolcreatedb)
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles o ON o.oid = m.member
                            WHERE m.roleid = r.oid AND o.rolname = 'fl_owner' AND m.admin_option)
           AND ((SELECT s.rolsuper FROM pg_catalog.pg_roles s WHERE s.rolname = current_user)
                OR pg_has_role(current_user, r.oid, 'MEMBER WITH ADMIN OPTION'))
         ORDER BY 1""").fetchall()
    for r in rows:
        conn.execute(sql.SQL("GRANT {} TO fl_owner WITH ADMIN TRUE, INHERIT FALSE, SET FALSE").format(
            sql.Identifier(r["name"])))


def region_settings(region: Region) -> dict[str, Any]:
    """fl.setting as a region file makes it (key -> JSON value): what ``load_reference``
    writes, and what ``verify --region FILE`` compares the ledger's settings with."""
    s = region.settings
    return {
        "region": {"code": region.code, "name_zh": region.name_zh, "name_en": region.name_en,
                   "time_zone": region.time_zone},
        "preallocation_months": s.preallocation_months,
        "preallocation_basis": s.preallocation_basis,
        "months_red_below": str(s.months_red_below),
        "months_yellow_below": str(s.months_yellow_below),
        "months_excess_above": str(s.months_excess_above),
        "balance_rate_red_below": str(s.balance_rate_red_below),
        "balance_rate_yellow_below": str(s.balance_rate_yellow_below),
        "balance_rate_excess_above": str(s.balance_rate_excess_above),
        "response_plans": plans_json(s.response_plans),
        "first_year": s.first_year,
        "cash_date_allowance_days": s.cash_date_allowance_days,
        "import_stage_max_mb": s.import_stage_max_mb,
        "funding_standards": standards_json(s.funding_standards),
        "budget_surplus_min_pct": str(s.budget_surplus_min_pct),
        "budget_surplus_max_pct": str(s.budget_surplus_max_pct),
        "performance_weights": {k: str(v) for k, v in s.performance_weights.items()},
        "adjustment_fund": adjustment_fund_json(s.adjustment_fund),
        "final_accounts_eliminate": [list(p) for p in s.final_accounts_eliminate],
        # (0162) the [settings.YEAR] tables, {} for none: last, so a reload that adds a year's table
        # after changing nothing else writes one row
        FROM_YEAR: {str(y): {k: _setting_json(v) for k, v in t.items()} for y, t in s.from_year},
    }


def _setting_json(v: Any) -> Any:
    """A per-year setting's value as ``region_settings`` writes it in ``[settings]``: numbers as
    text, the weights as a table of text, the eliminations as lists."""
    if isinstance(v, dict):
        return {k: str(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [list(p) for p in v]
    return str(v)


def load_reference(conn: Conn, region: Region) -> None:
    """Upsert the region's units, books and settings and the national chart.

    Units and books are never deleted (postings refer to them); names may change. Rows
    are rewritten only where something changed: each change is a version in the chained
    history (sql/0038), whose guard refuses a changed classification (a unit's kind, a
    code's kind or side) with a typed refusal."""
    _first_year_covers_the_books(conn, region)
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO fl.chart (code, parent, name_zh, name_en, identifier, kind, normal_side)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en
               WHERE (fl.chart.name_zh, fl.chart.name_en) IS DISTINCT FROM (EXCLUDED.name_zh, EXCLUDED.name_en)""",
            [(a.code, a.parent, a.name_zh, a.name_en, a.identifier, a.kind, a.normal_side) for a in CHART])
        cur.executemany(
            """INSERT INTO fl.holder (code, chart_code, name_zh, name_en, pooled, counties_only)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en
               WHERE (fl.holder.name_zh, fl.holder.name_en) IS DISTINCT FROM (EXCLUDED.name_zh, EXCLUDED.name_en)""",
            [(h.code, h.chart_code, h.name_zh, h.name_en, h.pooled, h.counties_only) for h in HOLDERS])
        cur.executemany(
            """INSERT INTO fl.unit (code, name_zh, name_en, kind, sort) VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
                                                kind = EXCLUDED.kind, sort = EXCLUDED.sort
               WHERE (fl.unit.name_zh, fl.unit.name_en, fl.unit.kind, fl.unit.sort)
                     IS DISTINCT FROM (EXCLUDED.name_zh, EXCLUDED.name_en, EXCLUDED.kind, EXCLUDED.sort)""",
            [(u.code, u.name_zh, u.name_en, u.kind, i) for i, u in enumerate(region.units)])
        _register_joining_dates(conn, region)
        cur.executemany(
            """INSERT INTO fl.book (code, name_zh, name_en, components, pooled_component) VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en
               WHERE (fl.book.name_zh, fl.book.name_en) IS DISTINCT FROM (EXCLUDED.name_zh, EXCLUDED.name_en)""",
            [(b.code, b.name_zh, b.name_en, list(b.components), b.pooled_component) for b in region.books])
        settings = region_settings(region)
        cur.executemany(
            "INSERT INTO fl.setting (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value "
            "WHERE fl.setting.value IS DISTINCT FROM EXCLUDED.value",
            [(k, json.dumps(v, ensure_ascii=False)) for k, v in settings.items()])


def _first_year_after(kind: str, what: str) -> str:
    """What fl._first_year_blocker found (sql/0175), worded."""
    words = {"fl.entry": _("entry {what}"), "fl.pending_entry": _("held entry {what}"),
             "fl.unit_joined": _("the joining date of unit {what}"),
             "fl.unit_joined_later": _("the joining date of unit {what} registered later"),
             "fl.budget": _("a budget of {what}"), "fl.budget_plan": _("a budget plan of {what}"),
             "fl.fund_request": _("a fund request of {what}"), "fl.insured_count": _("the insured count of {what}")}
    return words.get(kind, "{kind} {what}").format(kind=kind, what=what)


def _first_year_covers_the_books(conn: Conn, region: Region) -> None:
    """(ATTACK21 N6) A region file whose first_year differs from the ledger's is refused, before
    anything is written, when the books already hold something dated before its 1 January — an
    entry, a held entry, a unit's joining date, a budget year (``fl._first_year_blocker``, the
    reader of sql/0175's guard, which refuses the same at COMMIT for any writer): the verdict would
    otherwise see the region's first year after what was written under the old one."""
    cur = conn.cursor(row_factory=tuple_row)
    if cur.execute("SELECT pg_catalog.to_regprocedure('fl._first_year_blocker(integer)') IS NULL").fetchone()[0]:  # type: ignore[index]
        return      # a database before 0175 (tests build old schemas)
    year = region.settings.first_year
    stored = cur.execute("SELECT s.value #>> '{}' FROM fl.setting s WHERE s.key = 'first_year'").fetchone()
    if stored is not None and stored[0] == str(year):
        return      # unchanged: nothing this file moves
    rows = cur.execute("SELECT kind, what, day FROM fl._first_year_blocker(%s)", (year,)).fetchall()
    if rows:
        row = rows[0]
        raise BadInput(_("{source}: first_year = {year}, but the books already hold {what}, dated {day}: the region's "
                         "first year never moves past an entry, a held entry, a joining date or a budget year on the "
                         "books, and nothing was changed; keep first_year = {keep} or an earlier year").format(
            source=region.source, year=year, what=_first_year_after(row[0], row[1]), day=row[2],
            keep=min(r[2] for r in rows).year), rule="entry_date_range")


def _register_joining_dates(conn: Conn, region: Region) -> None:
    """(0154, ATTACK17b F1) Each unit's joining date, registered once, with the unit: the region
    file's ``joined``; for a unit it leaves out, the first year's 1 January while the ledger holds no
    entry (the units a ledger starts with joined at the handover). A unit new to a ledger that holds
    entries must name its own — a default there would leave its first day to whoever posts on it
    first, back-dated. A registered date is never changed (fl.unit_joined is append-only): a file
    naming another is refused before anything is written, naming the file, the unit and the date."""
    cur = conn.cursor(row_factory=tuple_row)
    if cur.execute("SELECT pg_catalog.to_regclass('fl.unit_joined') IS NULL").fetchone()[0]:  # type: ignore[index]
        return      # a database before 0154 (tests build old schemas): the migration derives them
    stored = {r[0]: (r[1], r[2]) for r in cur.execute(
        "SELECT unit, joined_on, source FROM fl.unit_joined ORDER BY unit").fetchall()}
    # (0167; ATTACK20b M1) a date the city bureau registered later is the unit's date in force: a file naming
    # it is the office's own, one naming the date it superseded is not — the rule verify --region judges by
    later: list[tuple[int, str, dt.date]] = []
    if not cur.execute("SELECT pg_catalog.to_regclass('fl.unit_joined_later') IS NULL").fetchone()[0]:  # type: ignore[index]
        later = [(int(r[0]), r[1], r[2]) for r in cur.execute(
            "SELECT id, unit, joined_on FROM fl.unit_joined_later ORDER BY id").fetchall()]
    now = joined_in_force({u: d for u, (d, _how) in stored.items()}, later)
    by_later = {r[1] for r in later}
    has_entries = bool(cur.execute("SELECT EXISTS (SELECT 1 FROM fl.entry)").fetchone()[0])  # type: ignore[index]
    first = dt.date(region.settings.first_year, 1, 1)
    new: list[tuple[str, dt.date, str]] = []
    for i, u in enumerate(region.units, 1):
        where = f"{region.source}: units[{i}] ({u.code})"
        if u.code in stored:
            day, how = now[u.code], ("later" if u.code in by_later else stored[u.code][1])
            if not file_names_in_force(u.joined, day):
                raise BadInput(_("{where}: joined = {joined}, but the unit's joining date in force is {day} "
                                 "({how}; a registered date is never changed, a later one is the city bureau's: "
                                 "fundledger unit joined-history) and postings and the unit's first day in the "
                                 "ledger are judged by it; write joined = {day} or leave the key out").format(
                    where=where, joined=u.joined, day=day, how=how))
        elif u.joined is not None:
            new.append((u.code, u.joined, "region"))
        elif not has_entries:
            new.append((u.code, first, "first_year"))
        else:
            raise BadInput(_("{where}: a unit new to a ledger that already holds entries needs its joining date — "
                             "add joined = YYYY-MM-DD (the day it joined the pooled fund; nothing is posted on it "
                             "dated before) to its [[units]] table and run init --region again").format(where=where))
    if new:
        cur.executemany("INSERT INTO fl.unit_joined (unit, joined_on, source) VALUES (%s, %s, %s)", new)
