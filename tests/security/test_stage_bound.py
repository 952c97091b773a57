"""Issue 14, ATTACK3 R3 (migration 0037): an import stage is bounded in the database.

The stage is a temporary table of fl_owner's into which the caller inserts; temp_file_limit
does not count temporary tables, so one ``INSERT … SELECT … FROM generate_series(…)`` could
fill the server's disk. A row is now at most 16,000 bytes and the session's stages at most
``import_stage_max_mb``, checked every 10,000th row — inside one statement too."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import LedgerDB
from tests.integration.test_imports import DATA, count, write_csv

pytestmark = pytest.mark.db


def _limit_mb(ledger_db: LedgerDB, mb: int) -> None:
    ledger_db.admin().execute("INSERT INTO fl.setting (key, value) VALUES ('import_stage_max_mb', %s::jsonb) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(mb),))


def test_one_statement_cannot_fill_the_disk_through_a_stage(ledger_db: LedgerDB) -> None:
    _limit_mb(ledger_db, 1)
    c = ledger_db.connect("o22")
    c.execute("SELECT fl.import_stage('payments')")
    # 30,000 rows of 1 KB: past 1 MB at the 10,000th row; the statement fails whole.
    with pytest.raises(psycopg.Error) as e:
        c.execute("INSERT INTO pg_temp.fl_stage_payments (date, unit, reference) "
                  "SELECT '2023-01-01', '230822', repeat('x', 1000) || g FROM generate_series(1, 30000) g")
    assert e.value.diag.constraint_name == "import_stage_full", e.value
    c.rollback()
    # One enormous row: refused by its own size.
    c.execute("SELECT fl.import_stage('collections')")
    with pytest.raises(psycopg.Error) as e:
        c.execute("INSERT INTO pg_temp.fl_stage_collections (date, reference) VALUES ('x', repeat('r', 16001))")
    assert e.value.diag.constraint_name == "fl_stage_row_size"
    c.rollback()
    # The counter is the owner's: the caller cannot write it, advance it, rewind it, nor
    # add a trigger of its own (ATTACK6 T1: with USAGE on 0037's counter, a nextval of the
    # caller's per row kept the trigger from ever firing).
    c.execute("SELECT fl.import_stage('payments')")
    seq = c.execute("SELECT pg_get_serial_sequence('pg_temp.fl_stage_payments', 'fl_tick') AS s").fetchone()["s"]
    assert seq is not None
    for q in (f"SELECT nextval('{seq}')",
              f"SELECT setval('{seq}', 1)",
              f"ALTER SEQUENCE {seq} RESTART",
              "INSERT INTO pg_temp.fl_stage_payments (date, fl_tick) OVERRIDING SYSTEM VALUE VALUES ('x', 1)",
              "UPDATE pg_temp.fl_stage_payments SET fl_tick = 1",
              "COPY pg_temp.fl_stage_payments FROM STDIN",
              "DROP TRIGGER fl_stage_guard ON pg_temp.fl_stage_payments",
              "ALTER TABLE pg_temp.fl_stage_payments DISABLE TRIGGER fl_stage_guard",
              "ALTER TABLE pg_temp.fl_stage_payments DROP CONSTRAINT fl_stage_row_size"):
        with pytest.raises(psycopg.Error) as e, c.transaction():
            c.execute(q)
        # refused for want of the privilege (an identity's GENERATED ALWAYS answers first for UPDATE)
        assert e.value.sqlstate in ("42501", "428C9"), (q, e.value)
    c.rollback()


def test_the_caller_cannot_skip_the_count_by_advancing_a_counter(ledger_db: LedgerDB) -> None:
    """ATTACK6 T1, as the officer did it: every nextval it may call, once per row in the
    SELECT list, beside 60,000 rows of 1 KB — still refused at the 10,000th row."""
    _limit_mb(ledger_db, 1)
    c = ledger_db.connect("o22")
    c.execute("SELECT fl.import_stage('payments')")
    seqs = [r["s"] for r in c.execute(
        "SELECT c.oid::regclass::text AS s FROM (SELECT oid FROM pg_class WHERE relkind = 'S' "
        "AND relnamespace = pg_my_temp_schema() OFFSET 0) c WHERE has_sequence_privilege(c.oid, 'USAGE')").fetchall()]
    assert seqs == [], f"the caller may advance {seqs}"
    with pytest.raises(psycopg.Error) as e:
        c.execute("INSERT INTO pg_temp.fl_stage_payments (provider) "
                  "SELECT repeat('x', 1000) || g FROM generate_series(1, 60000) g")
    assert e.value.diag.constraint_name == "import_stage_full", e.value
    c.rollback()


def test_the_cli_says_the_stage_is_full_and_imports_within_the_limit(ledger_db: LedgerDB, tmp_path: Path) -> None:
    header = "date,unit,book,source,amount,reference,component"
    rows = [f"2023-02-10,230822,RES,contribution,1.00,BIG-{'x' * 140}-{i}," for i in range(12_000)]
    big = write_csv(tmp_path / "big.csv", header, *rows)
    _limit_mb(ledger_db, 1)
    entries = count(ledger_db, "fl.entry")
    r = ledger_db.cli("--lang", "en", "collect", "import", str(big), user="o22")
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r
    assert "[import_stage_full]" in r.stderr and "larger than 1 MB" in " ".join(r.stderr.split()), r
    assert count(ledger_db, "fl.entry") == entries
    # The region's own files import as before, under the default limit and under 1 MB.
    assert ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin").exit_code == 0
    _limit_mb(ledger_db, 1024)
    # (Collections are finance's or the bureau's since 0039: the officer's file stops at the
    # role check, after the stage above was already bounded.)
    r = ledger_db.cli("collect", "import", str(big), "--json", user="fin")
    assert r.exit_code == 0 and r.json()["rows_posted"] == 12_000, r
