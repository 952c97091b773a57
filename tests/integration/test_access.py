"""Access control, enforced by PostgreSQL: as each role, every forbidden action is tried
through raw SQL (and through the CLI where a command exists) and must be refused.

The count of attempts is asserted (and quoted in docs/auditors-guide.md) so that a
forbidden action silently dropped from this list shows up as a changed number.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.helpers import collect, entry, leg, post
from tests.integration.test_verify import sample_ledger
from tests.security.conftest import temporary_given_back

pytestmark = [pytest.mark.db, pytest.mark.server]

ROLES = ["o22", "rev", "fin", "aud", "admin"]
TABLES = ["entry", "posting", "seal", "account", "account_day", "bank_account", "closed_period", "app_user",
          "voucher_counter", "chain_head", "setting", "unit", "book", "chart", "holder", "fund_request",
          "request_event", "import_batch", "import_line", "register_item", "register_clearing", "budget",
          "budget_line", "year_close", "bank_statement", "statement_line", "recon_match", "seal_queue"]
INSERTS = {
    "entry": "INSERT INTO fl.entry (book, entry_date, idempotency_key, content_hash, created_by, created_at, created_xid)"
             " VALUES ('RES', '2023-05-01', 'x', '\\x00', 'x', now(), '1')",
    "posting": "INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit)"
               " VALUES (1, 1, 'D', 1, '2023-01-10', '230822')",
    "seal": "INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash)"
            " VALUES (1, 99, 'RES', 2023, 99, '\\x00', '\\x00', '\\x00')",
    "seal_queue": "INSERT INTO fl.seal_queue (entry_id, book, fiscal_year, content_digest) VALUES (1, 'RES', 2023, '\\x00')",
    "closed_period": "INSERT INTO fl.closed_period (month) VALUES ('2023-06-01')",
    "app_user": "INSERT INTO fl.app_user (name, role) VALUES ('mallory', 'admin')",
    "account": "INSERT INTO fl.account (book, chart_code, unit) VALUES ('RES', '4001', '230826')",
    "bank_account": "INSERT INTO fl.bank_account (book, holder, unit) VALUES ('RES', 'county_exp', '230826')",
    "statement_line": "INSERT INTO fl.statement_line (bank_account_id, statement_id, row_no, line_date, direction,"
                      " amount, reference) VALUES (1, 1, 1, '2023-01-01', 'in', 1, 'x')",
}


class Tally:
    def __init__(self) -> None:
        self.tried = 0
        self.let_through: list[str] = []

    def sql(self, conn: psycopg.Connection, who: str, what: str, query: str, params: object = None) -> None:
        """``query`` must fail with a permission error (SQLSTATE 42501: no privilege, not the
        owner, or a fundledger role check)."""
        self.tried += 1
        try:
            with conn.transaction():
                conn.execute(query, params)
        except psycopg.Error as e:
            if e.sqlstate != "42501":
                self.let_through.append(f"{who}: {what}: refused, but not for permission: {e.sqlstate} {e}")
            return
        self.let_through.append(f"{who}: {what}: ALLOWED")

    def none(self, conn: psycopg.Connection, who: str, what: str, query: str, params: object = None) -> None:
        """A read that must come back empty (row security)."""
        self.tried += 1
        n = len(conn.execute(query, params).fetchall())
        if n:
            self.let_through.append(f"{who}: {what}: read {n} row(s)")

    def cli(self, ledger_db, who: str, what: str, *args: str) -> None:
        self.tried += 1
        r = ledger_db.cli(*args, user=who)
        if r.exit_code == 0 or ("permission" not in r.stderr and "may not" not in r.stderr):
            self.let_through.append(f"{who}: CLI {what}: exit {r.exit_code} {r.stderr.strip()[:200]}")


def _first_column(admin: psycopg.Connection, table: str) -> str:
    return admin.execute("""SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0
                              AND NOT attisdropped AND attidentity = '' AND attgenerated = ''
                            ORDER BY attnum LIMIT 1""", (f"fl.{table}",)).fetchone()["attname"]


def _has(admin: psycopg.Connection, signature: str) -> bool:
    return admin.execute("SELECT to_regprocedure(%s) IS NOT NULL AS ok", (signature,)).fetchone()["ok"]


def test_every_forbidden_action_is_refused(ledger_db, tmp_path):
    sample_ledger(ledger_db)
    admin = ledger_db.admin()
    t = Tally()
    conns = {r: ledger_db.connect(r, autocommit=True) for r in ROLES}
    cols = {tb: _first_column(admin, tb) for tb in TABLES}

    # ---- raw SQL on the tables: nobody but the owner changes them -----------------------
    for who, c in conns.items():
        for tb in TABLES:
            t.sql(c, who, f"UPDATE {tb}", f"UPDATE fl.{tb} SET {cols[tb]} = {cols[tb]}")
            t.sql(c, who, f"DELETE {tb}", f"DELETE FROM fl.{tb}")
            t.sql(c, who, f"TRUNCATE {tb}", f"TRUNCATE fl.{tb} CASCADE")
            t.sql(c, who, f"DISABLE TRIGGER {tb}", f"ALTER TABLE fl.{tb} DISABLE TRIGGER ALL")
        for tb, q in INSERTS.items():
            t.sql(c, who, f"INSERT {tb}", q)
        t.sql(c, who, "replica mode", "SET session_replication_role = replica")
        t.sql(c, who, "create table in fl", "CREATE TABLE fl.mine (x int)")
        t.sql(c, who, "replace a function", "CREATE OR REPLACE FUNCTION fl.refuse_change() RETURNS trigger "
                                            "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
        # Internal functions are not callable at all.
        t.sql(c, who, "call fl._post", "SELECT * FROM fl._post('{}'::fl.new_entry[], '{}'::fl.new_posting[])")
        t.sql(c, who, "call fl.account_for", "SELECT fl.account_for('RES', '4001', '230826', '', '')")
        t.sql(c, who, "call fl._match_items", "SELECT * FROM fl._match_items('[]')")

    doc = lambda unit, key: json.dumps(entry(key, "2023-03-01", "RES", leg("1003", unit, "D", "1.00", "special"),  # noqa: E731
                                             leg("4001", unit, "C", "1.00")))
    # ---- the API, by role ----------------------------------------------------------------
    t.sql(conns["o22"], "o22", "post for another unit", "SELECT * FROM fl.post_entries(%s::jsonb)",
          (doc("230881", "o22-other"),))
    t.sql(conns["o22"], "o22", "post a mixed-unit entry", "SELECT * FROM fl.post_entries(%s::jsonb)",
          (json.dumps(entry("o22-mixed", "2023-03-01", "RES", leg("5001.inpatient", "230822", "D", "1.00"),
                            leg("5001.inpatient", "230881", "C", "1.00"))),))
    for who in ("aud", "admin"):
        t.sql(conns[who], who, "post entries", "SELECT * FROM fl.post_entries(%s::jsonb)", (doc("230822", f"{who}-1"),))
    for who in ("o22", "aud", "admin"):
        t.sql(conns[who], who, "reverse an entry", "SELECT * FROM fl.reverse_entry(1, 'x', NULL, %s)", (f"{who}-rev",))
    for who in ("o22", "fin", "aud", "admin"):
        t.sql(conns[who], who, "close a period", "SELECT fl.close_period('2023-02-01', 'x')")
    t.sql(conns["aud"], "aud", "seal queued entries", "SELECT fl.seal_pending()")
    temporary_given_back(ledger_db)     # the callers plant a temp pg_roles below (0007's hole)
    for who in ("o22", "rev", "fin", "aud"):
        t.sql(conns[who], who, "add a user", "SELECT fl.add_user(%s, 'admin', NULL)", (f"evil_{who}",))
        # The hole closed in 0007: a temp table shadowing pg_roles made add_user think the
        # caller was a superuser (pg_temp is searched first unless named last).
        c = conns[who]
        c.execute("CREATE TEMP TABLE IF NOT EXISTS pg_roles (rolname name, rolsuper boolean, oid oid)")
        c.execute("CREATE TEMP TABLE IF NOT EXISTS pg_namespace (nspname name, nspowner oid)")
        c.execute("INSERT INTO pg_temp.pg_roles VALUES (session_user, true, 0)")
        t.sql(c, who, "add a user with a forged pg_roles", "SELECT fl.add_user(%s, 'admin', NULL)", (f"evil2_{who}",))
    for who in ("aud", "admin"):
        t.sql(conns[who], who, "import a statement",
              "SELECT * FROM fl.import_statement('RES', 'special', NULL, 'f', 'x', '[]')")
        t.sql(conns[who], who, "record matches", "SELECT fl.record_matches(1, '[]')")
    t.sql(conns["o22"], "o22", "import another county's statement",
          "SELECT * FROM fl.import_statement('RES', 'county_exp', '230881', 'f', 'x', '[]')")
    t.sql(conns["o22"], "o22", "import the pooled special account's statement",
          "SELECT * FROM fl.import_statement('RES', 'special', NULL, 'f', 'x', '[]')")
    pooled = admin.execute("SELECT id FROM fl.bank_account WHERE holder = 'special' AND book = 'RES'").fetchone()["id"]
    t.sql(conns["o22"], "o22", "match on the pooled account", "SELECT fl.record_matches(%s, '[]')", (pooled,))

    # ---- row security: an officer reads nothing of another unit ----------------------------
    # (fl.entry by named columns: officers read every column but source since 0016b.)
    o = conns["o22"]
    for q in ("SELECT * FROM fl.posting WHERE unit <> '230822'",
              "SELECT * FROM fl.account WHERE unit <> '230822'",
              "SELECT e.id, e.memo FROM fl.entry e WHERE NOT EXISTS (SELECT 1 FROM fl.posting p WHERE p.entry_id = e.id)",
              "SELECT id, memo FROM fl.entry WHERE idempotency_key IN ('manual:fin:col-81-jan', 'manual:fin:pay-81-1', "
              "'reversal:fin:rev-pay-81-1')",
              "SELECT s.*, e.id, e.memo FROM fl.seal s JOIN fl.entry e ON e.id = s.entry_id WHERE e.idempotency_key = 'manual:fin:col-81-jan'",
              "SELECT * FROM fl.account_day d WHERE d.account_id IN (SELECT id FROM fl.account WHERE unit = '230881')",
              "SELECT * FROM fl.bank_account WHERE unit IS DISTINCT FROM '230822'",
              "SELECT * FROM fl.fund_request WHERE unit <> '230822'",
              "SELECT * FROM fl.request_event e WHERE NOT EXISTS (SELECT 1 FROM fl.fund_request r "
              " WHERE r.id = e.request_id AND r.unit = '230822')"):
        t.none(o, "o22", q, q)
    assert len(o.execute("SELECT * FROM fl.posting").fetchall()) > 0   # its own rows it does see

    # A login that is a member of fl_officer but has no fl.app_user row sees no unit at all.
    admin.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stray') THEN "
                  "CREATE ROLE stray LOGIN; END IF; END $$")
    admin.execute("GRANT fl_officer TO stray")
    # (the DBA let it connect: the ledger's database gives CONNECT to its own logins only, 0027_db)
    admin.execute(f'GRANT CONNECT ON DATABASE "{ledger_db.name}" TO stray')
    stray = ledger_db.connect("stray", autocommit=True)
    for tb in ("posting", "entry", "account", "seal"):
        cols = "id, memo" if tb == "entry" else "*"     # (officers: fl.entry by named columns, 0016b)
        t.none(stray, "stray", f"read {tb} without being a user", f"SELECT {cols} FROM fl.{tb}")
    t.sql(stray, "stray", "post without being a user", "SELECT * FROM fl.post_entries(%s::jsonb)",
          (doc("230822", "stray-1"),))

    # ---- workflow functions built by other engineers, when present ------------------------
    if _has(admin, "fl.request_submit(text,text,text,int,int,bigint,text,text)"):
        fin = ledger_db.connect("fin")
        post(fin, collect("fund-q2", "2023-03-01", "230822", "500000.00"))
        fin.commit()
        r = conns["rev"].execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, 2, 10000000, 'q2', "
                                 "'rq-own')").fetchone()
        t.sql(conns["rev"], "rev", "approve own request", "SELECT fl.request_approve(%s, NULL)", (r["id"],))
        t.cli(ledger_db, "rev", "approve own request", "request", "approve", str(r["id"]))
        t.sql(conns["o22"], "o22", "submit for another unit",
              "SELECT * FROM fl.request_submit('230881', 'RES', '', 2023, 2, 100, 'x', 'rq-o22-81')")
        for who in ("o22", "fin", "aud", "admin"):
            t.sql(conns[who], who, "approve a request", "SELECT fl.request_approve(%s, NULL)", (r["id"],))
        for who in ("o22", "rev", "aud", "admin"):
            t.sql(conns[who], who, "disburse a request", "SELECT fl.request_disburse(%s, '2023-04-01', 'k')",
                  (r["id"],))
    if _has(admin, "fl.import_payments(text,text)"):
        f = tmp_path / "pay81.csv"
        f.write_text("date,unit,book,provider,category,amount,reference\n"
                     "2023-03-05,230881,RES,Hospital A,inpatient,10.00,P-81-1\n", "utf-8")
        t.cli(ledger_db, "o22", "import another unit's payments", "pay", "import", str(f))
        # The stage-view escalation closed in 0007, and the caller-made stage gone in 0008:
        # a temp view of the stage's name, calling the caller's own function, is refused,
        # never read by the definer (which would run that function as the schema owner).
        c = conns["o22"]
        c.execute("CREATE FUNCTION pg_temp.evil() RETURNS text LANGUAGE sql AS "
                  "$$ INSERT INTO fl.closed_period (month, reason) VALUES ('2001-01-01', 'pwned') RETURNING 'x' $$")
        c.execute("CREATE TEMP VIEW fl_stage_payments AS SELECT 2 AS row_no, pg_temp.evil() AS date, "
                  "'230822'::text AS unit, 'RES'::text AS book, 'H'::text AS provider, 'inpatient'::text AS category, "
                  "'1.00'::text AS amount, 'E1'::text AS reference, ''::text AS component, ''::text AS paid_from")
        t.sql(c, "o22", "import through a view that runs the caller's code",
              "SELECT fl.import_payments('f', 'x')")
        assert admin.execute("SELECT count(*) AS n FROM fl.closed_period WHERE month = '2001-01-01'"
                             ).fetchone()["n"] == 0

    # ---- the same through the CLI ------------------------------------------------------------
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"date": "2023-03-01", "book": "RES", "idempotency_key": "cli-81",
                                 "postings": [{"account": "1003", "unit": "230881", "holder": "special",
                                               "side": "debit", "amount": "1.00"},
                                              {"account": "4001", "unit": "230881", "side": "credit",
                                               "amount": "1.00"}]}), "utf-8")
    t.cli(ledger_db, "o22", "post for another unit", "entry", "post", str(other))
    t.cli(ledger_db, "aud", "post", "entry", "post", str(other))
    t.cli(ledger_db, "admin", "post", "entry", "post", str(other))
    for who in ("o22", "aud", "admin"):
        t.cli(ledger_db, who, "reverse", "entry", "reverse", "1", "--reason", "x")
    for who in ("o22", "fin", "aud", "admin"):
        t.cli(ledger_db, who, "close period", "close", "period", "2023-02", "--reason", "x")
    for who in ("o22", "rev", "fin", "aud"):
        t.cli(ledger_db, who, "add user", "user", "add", f"cli_evil_{who}", "--role", "admin")
    stmt = tmp_path / "stmt.csv"
    stmt.write_text("date,amount,direction,reference\n2023-01-10,1.00,in,X1\n", "utf-8")
    for who in ("aud", "admin"):
        t.cli(ledger_db, who, "reconcile import", "reconcile", "import", str(stmt), "--account", "special",
              "--book", "RES")
    t.cli(ledger_db, "o22", "reconcile another county", "reconcile", "import", str(stmt), "--account",
          "county-exp:230881", "--book", "RES")
    t.cli(ledger_db, "o22", "verify a partial ledger", "verify")

    assert t.let_through == [], "\n".join(t.let_through)
    present = (_has(admin, "fl.request_submit(text,text,text,int,int,bigint,text,text)"),
               _has(admin, "fl.import_payments(text,text)"))
    # 5 roles x (28 tables x 4 + 9 inserts + 6 other) + 27 API + 9 row-security reads + 5 stray login
    # + 18 CLI, + 11 request workflow and 2 payment imports when those functions exist.
    expected = 5 * (len(TABLES) * 4 + len(INSERTS) + 6) + 27 + 9 + 5 + 18
    expected += (11 if present[0] else 0) + (2 if present[1] else 0)
    assert t.tried == expected
    print(f"access control: {t.tried} forbidden actions attempted, all refused")
    # Nothing changed: still the sample ledger (plus the workflow's funding entry), no new users.
    assert admin.execute("SELECT count(*) AS n FROM fl.app_user").fetchone()["n"] == 8
    # The sample's one close (0123: the empty months before it close with it, "closed with … (no
    # entries)"); none by a forbidden caller (their reason 'x').
    assert admin.execute("SELECT count(*) AS n FROM fl.closed_period "
                         "WHERE reason NOT LIKE 'closed with % (no entries)'").fetchone()["n"] == 1
    assert admin.execute("SELECT count(*) AS n FROM fl.closed_period WHERE reason = 'x'").fetchone()["n"] == 0
