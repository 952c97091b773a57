"""What a hostile re-test of 0008 found (/work/coord/ATTACK.md), attacked through each role's
own login, asserting the defended outcome (migration 0016):

* A1: a writer whose snapshot predates a period close (REPEATABLE READ / SERIALIZABLE, which
  any session may choose) posted into the closed month after the close;
* A2: every login could create objects in its temp schema, among them a collation, which a
  definer function cannot keep out of its own comparisons (a plpgsql parameter takes the
  call's collation);
* A3: an admin recorded a "verified base backup" that `db check` trusts;
* A10: the operations log's hash depended on the writer's TimeZone and DateStyle;
* A4: an officer read every unit's interest share from an entry it shares."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import psycopg
import pytest

from ledger.store import imports
from tests.conftest import LedgerDB, Server
from tests.helpers import confirm

pytestmark = pytest.mark.db

STAGE = "pg_temp.fl_stage_payments"


def _import_payment(conn: psycopg.Connection, day: str, ref: str) -> dict:
    """230822's officer pays ¥10.00 from its county expenditure account, through the stage."""
    conn.execute("SELECT fl.import_stage('payments')")
    with conn.cursor().copy(f"COPY {STAGE} (date, unit, book, provider, category, amount, reference) "
                            "FROM STDIN (FORMAT csv)") as cp:
        cp.write(f"{day},230822,RES,H,inpatient,10.00,{ref}\n")
    return conn.execute("SELECT fl.import_payments('atk.csv', '') AS r").fetchone()["r"]


@pytest.fixture
def paying(ledger_db: LedgerDB) -> LedgerDB:
    """230822 has money in its county expenditure account (collections, then a pre-allocation)."""
    data = Path(__file__).parent.parent / "integration" / "data"
    fin, rev = ledger_db.connect("fin"), ledger_db.connect("rev")
    assert imports.import_file(fin, "collections", data / "collections.csv").rows_posted == 6
    fin.commit()
    imports.import_file(rev, "budget", data / "budget.csv")    # the pre-allocation's basis (0027)
    held = rev.execute("SELECT * FROM fl.preallocate(2023, '2023-01-11', %s::jsonb)",
                       ('[{"unit": "230822", "book": "RES", "component": "", "amount": 50000000}]',)).fetchone()
    rev.commit()
    fin.execute("SELECT * FROM fl.confirm_entry(%s)", (held["held_id"],))    # finance executes it (0046)
    fin.commit()
    return ledger_db


def _entries_with(admin: psycopg.Connection, ref: str) -> int:
    return admin.execute("SELECT count(*) AS n FROM fl.posting WHERE line_ref = %s", (ref,)).fetchone()["n"]


@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
def test_no_posting_into_a_month_closed_after_the_snapshot(paying: LedgerDB, isolation: str) -> None:
    admin, rev = paying.admin(), paying.connect("rev", autocommit=True)
    for m in (1, 2):                # (0123) months close in order: the ones before March first
        rev.execute("SELECT fl.close_period(make_date(2023, %s, 1), 'month end')", (m,))
    o22 = paying.connect("o22")
    o22.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation}")
    assert o22.execute("SELECT count(*) AS n FROM fl.closed_period WHERE month = '2023-03-01'").fetchone()["n"] == 0
    rev.execute("SELECT fl.close_period('2023-03-01', 'month end')")        # commits after o22's snapshot
    with pytest.raises(psycopg.Error) as e:
        _import_payment(o22, "2023-03-05", "ATK-RR-1")
    assert e.value.diag.constraint_name == "read_committed", e.value
    o22.rollback()
    assert _entries_with(admin, "ATK-RR-1") == 0
    # The same through the role's default session setting.
    o22.execute(f"SET default_transaction_isolation = '{isolation.lower()}'")
    o22.commit()
    with pytest.raises(psycopg.Error) as e:
        o22.execute("SELECT * FROM fl.request_submit('230822', 'RES', '', 2023, 2, 100, 'x', 'atk-iso-req')")
    assert e.value.diag.constraint_name == "read_committed", e.value
    o22.rollback()
    # At READ COMMITTED the close is seen (refused as closed), and an open month is posted.
    o22.execute("SET default_transaction_isolation = 'read committed'")
    o22.commit()
    refused = _import_payment(o22, "2023-03-06", "ATK-RC-1")     # the importer lists it as a problem
    assert refused.get("rows_posted", 0) == 0 and "2023-03" in str(refused), refused
    o22.rollback()
    assert _import_payment(o22, "2023-04-05", "ATK-RC-2")["rows_posted"] == 1
    o22.commit()
    assert (_entries_with(admin, "ATK-RC-1"), _entries_with(admin, "ATK-RC-2")) == (0, 1)


def test_a_year_close_is_not_undone_from_an_old_snapshot(paying: LedgerDB) -> None:
    """The year-end variant: revenue posted into a closed year would stop the next close."""
    admin, rev = paying.admin(), paying.connect("rev", autocommit=True)
    o22 = paying.connect("o22")
    o22.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    o22.execute("SELECT 1")
    for m in range(1, 12):
        rev.execute("SELECT fl.close_period(make_date(2023, %s, 1), 'year end')", (m,))
    # (0123) December is closed by the year close, which closes the year's months after its entries
    rev.execute("SELECT * FROM fl.close_year_from_books(2023, '2023-12-31')").fetchall()
    with pytest.raises(psycopg.Error) as e:
        _import_payment(o22, "2023-12-30", "ATK-RR-Y")
    assert e.value.diag.constraint_name == "read_committed", e.value
    o22.rollback()
    assert _entries_with(admin, "ATK-RR-Y") == 0


def _db_part() -> str:
    return resources.files("sql").joinpath("0016_hardening_db.sql").read_text("utf-8")


def test_the_migration_takes_temp_from_application_roles(pg_server: Server, template_db: str) -> None:
    """The database every test database is cloned from was migrated to head: PUBLIC has no
    TEMP on it, fl_owner has. (Clones do not inherit database privileges; the tests of
    0008's deeper defences plant their objects in such clones.)"""
    with psycopg.connect(pg_server.url(template_db, "o22"), autocommit=True) as o22:
        for plant in ("CREATE COLLATION pg_temp.ci (provider = libc, locale = 'C')",
                      "CREATE TEMP TABLE fl_imp_work (a text)",
                      "CREATE FUNCTION pg_temp.pwn() RETURNS boolean LANGUAGE sql AS 'SELECT true'",
                      "CREATE TYPE pg_temp.t AS (a text)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                o22.execute(plant)
        rights = o22.execute("SELECT has_database_privilege('o22', current_database(), 'TEMP') AS o22, "
                             "has_database_privilege('fl_owner', current_database(), 'TEMP') AS owner").fetchone()
        assert rights == (False, True)


def test_without_temp_an_officer_plants_nothing_and_still_imports(paying: LedgerDB) -> None:
    """The collation lever (and every other temp object) is gone; the import stage, made by
    fl_owner inside the definer function, still takes the officer's rows."""
    paying.admin().execute(_db_part())
    o22 = paying.connect("o22")
    for plant in ("CREATE COLLATION pg_temp.ci (provider = libc, locale = 'C')",
                  "CREATE TEMP TABLE fl_stage_payments (a text)",
                  "CREATE TEMP VIEW fl_imp_src AS SELECT 1 AS a",
                  "CREATE DOMAIN pg_temp.d AS text"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            o22.execute(plant)
        o22.rollback()
    with pytest.raises(psycopg.Error):                    # another unit's row: still refused
        o22.execute("SELECT * FROM fl.request_submit('230881' COLLATE \"C\", 'RES', '', 2023, 2, 100, 'x', 'k81')")
    o22.rollback()
    assert _import_payment(o22, "2023-02-03", "ATK-NOTEMP")["rows_posted"] == 1
    o22.commit()
    assert _entries_with(paying.admin(), "ATK-NOTEMP") == 1


def test_an_admin_cannot_record_a_backup(ledger_db: LedgerDB) -> None:
    admin_login = ledger_db.connect("admin", autocommit=True)
    for action in ("backup", "restore"):
        with pytest.raises(psycopg.Error) as e:
            admin_login.execute("SELECT fl.log_operation(%s, 'forged', '', '{\"verified\": true}')", (action,))
        assert e.value.sqlstate == "42501", e.value
    operator = ledger_db.admin()
    n = operator.execute("SELECT count(*) AS n FROM fl.operation_log WHERE action = 'backup'").fetchone()["n"]
    assert n == 0
    operator.execute("SELECT fl.log_operation('backup', 'b1', '', '{\"verified\": true}')")    # the operator may


def test_the_operations_log_hash_ignores_the_writers_settings(ledger_db: LedgerDB) -> None:
    operator = ledger_db.admin()
    operator.execute("SET TimeZone = 'Asia/Kathmandu'")
    operator.execute("SET DateStyle = 'SQL, DMY'")
    operator.execute("SET IntervalStyle = 'sql_standard'")
    operator.execute("SELECT fl.log_operation('backup', 'tz', '', '{}')")
    fresh = ledger_db.connect(None, autocommit=True)
    fresh.execute("SET TimeZone = 'UTC'")
    fresh.execute("SET DateStyle = 'ISO, YMD'")
    r = fresh.execute("SELECT id, at::text AS at, actor, action, subject, reason, detail::text AS detail, "
                      "prev_hash, hash FROM fl.operation_log ORDER BY id DESC LIMIT 1").fetchone()
    text = "|".join(str(r[k]) for k in ("id", "at", "actor", "action", "subject", "reason", "detail"))
    assert hashlib.sha256(bytes(r["prev_hash"]) + text.encode()).digest() == bytes(r["hash"])


def test_an_officer_reads_no_other_units_share_of_an_entry(ledger_db: LedgerDB) -> None:
    """A4: interest for all units is one entry; each unit on it sees the entry, and its source
    held every unit's share. Raw SQL and `entry show` alike give an officer its own share only."""
    import datetime as dt

    from ledger.store import cycle

    data = Path(__file__).parent.parent / "integration" / "data"
    fin = ledger_db.connect("fin")
    assert imports.import_file(fin, "collections", data / "collections.csv").rows_posted == 6
    fin.commit()
    fin.autocommit = True
    start, end = dt.date(2023, 1, 1), dt.date(2023, 3, 20)
    table = cycle.interest_table(fin, "RES", 666_666, start, end)
    shares = {r.unit: r.share for r in table if r.share > 0}
    assert set(shares) == {"230800", "230822", "230881"}
    held = cycle.post_interest(fin, "RES", dt.date(2023, 3, 21), "atk-int", table, 666_666, start, end)
    eid = confirm(fin, [held.held_id])[0]["entry_id"]        # a second person confirms (0017)
    o22 = ledger_db.connect("o22", autocommit=True)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        o22.execute("SELECT source FROM fl.entry WHERE id = %s", (eid,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        o22.execute("SELECT * FROM fl.entry WHERE id = %s", (eid,))
    assert o22.execute("SELECT count(*) AS n FROM fl.entry WHERE id = %s", (eid,)).fetchone()["n"] == 1
    mine = o22.execute("SELECT fl.entry_source(%s) AS s", (eid,)).fetchone()["s"]
    assert mine["shares"] == [{"unit": "230822", "component": "", "amount": shares["230822"]}]
    shown = ledger_db.cli("entry", "show", str(eid), "--json", user="o22")
    assert shown.exit_code == 0, shown
    other = shares["230881"]
    assert "230881" not in shown.stdout and f"{other // 100}.{other % 100:02d}" not in shown.stdout
    # An entry the officer has no posting on (only 230822 held money before 12 January): nothing at all.
    early = cycle.interest_table(fin, "RES", 4444, start, dt.date(2023, 1, 12))
    held22 = cycle.post_interest(fin, "RES", dt.date(2023, 3, 22), "atk-int2", early, 4444, start,
                                 dt.date(2023, 1, 12))
    only22 = confirm(fin, [held22.held_id])[0]["entry_id"]
    o81 = ledger_db.connect("o81", autocommit=True)
    assert o81.execute("SELECT fl.entry_source(%s) AS s", (only22,)).fetchone()["s"] is None
    # City roles read the whole value.
    rev = ledger_db.connect("rev", autocommit=True)
    assert len(rev.execute("SELECT fl.entry_source(%s) AS s", (eid,)).fetchone()["s"]["shares"]) == 3
    assert len(rev.execute("SELECT source FROM fl.entry WHERE id = %s", (eid,)).fetchone()["source"]["shares"]) == 3


def _shortfall_table(conn: psycopg.Connection, extra: dict[str, str], twice: bool) -> dict[str, list[dict]]:
    """The table the books and the rule give (the library's own computation), with a
    reviewer's extra field in every row or 230822 listed twice."""
    from dataclasses import asdict

    from ledger.store import yearend

    out: dict[str, list[dict]] = {}
    for book in yearend.books(conn):
        rows = [asdict(r) | extra for r in yearend.live_table(conn, 2023, book)]
        rows += [dict(r) for r in rows if twice and r["unit"] == "230822"]
        out[book] = rows
    return out


def test_the_stored_shortfall_table_is_the_books_one(paying: LedgerDB) -> None:
    """A12: close_year matched the reviewer's table to the books unit by unit, so a unit listed
    twice, or a field of the reviewer's own, went into the permanent year-end record."""
    rev = paying.connect("rev", autocommit=True)

    def table(extra: dict[str, str], twice: bool) -> dict[str, list[dict]]:
        return _shortfall_table(rev, extra, twice)

    for extra, twice in (({}, True), ({"note": "approved by the mayor"}, False)):
        with pytest.raises(psycopg.Error) as e:
            rev.execute("SELECT * FROM fl.close_year(2023, '2023-12-31', %s::jsonb)",
                        (psycopg.types.json.Jsonb(table(extra, twice)),))
        assert e.value.diag.constraint_name == "year_close_result", e.value
    assert paying.admin().execute("SELECT count(*) AS n FROM fl.year_close").fetchone()["n"] == 0
    rev.execute("SELECT * FROM fl.close_year(2023, '2023-12-31', %s::jsonb)",
                (psycopg.types.json.Jsonb(table({}, False)),))
    rows = paying.admin().execute("SELECT result -> 'rows' AS r FROM fl.year_close WHERE book = 'RES'").fetchone()["r"]
    assert len(rows) == len({r["unit"] for r in rows}) > 0


def test_non_ascii_digits_are_not_ids(ledger_db: LedgerDB) -> None:
    """str.isdigit() is true for '²' and '٣': `entry show 155²` ended in a traceback (int())."""
    for ref in ("155²", "2023-00000²", "٣"):
        r = ledger_db.cli("entry", "show", ref, user="rev")
        assert r.exit_code != 0 and "Traceback" not in r.stdout + r.stderr and "no entry" in r.stderr, r
