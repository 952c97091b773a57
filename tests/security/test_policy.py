"""Issue 14, part B, as the attacker did it: limits, user names and roles, export
targets — each through the role's own login over a real connection (or the CLI with
``--as``), asserting the defended outcome and that nothing was written."""

from __future__ import annotations

import datetime as dt
import json
import os

import psycopg
import pytest

from tests.helpers import entry, leg

pytestmark = pytest.mark.db

CAP = 10**15            # fen per posting (sql/0009_policy.sql posting_amount_cap)
TOTAL_CAP = 4 * 10**18  # fen per running total (account_totals_cap)


def _fen_doc(key: str, date: str, fen: int, n: int = 1, unit: str = "230800") -> dict:
    """Dr 1101 / Cr 2001 of ``unit`` (no bank account moves), ``n`` postings of ``fen`` each side."""
    legs = [{"account": "1101", "unit": unit, "side": "D", "amount": fen} for _ in range(n)]
    legs += [{"account": "2001", "unit": unit, "side": "C", "amount": fen} for _ in range(n)]
    return {"date": date, "book": "RES", "idempotency_key": key, "postings": legs}


def _post(conn: psycopg.Connection, *docs: dict) -> list[dict]:
    return conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(list(docs)),)).fetchall()


def _entries(ledger_db) -> int:
    return ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]


def _near_cap(ledger_db, fen: int) -> None:
    """Give the city unit's 1101 and 2001 accounts (and their day rows) a history summing to
    ``fen``, as the owner: what years of postings would have left."""
    ledger_db.admin().execute("""
        WITH a AS (SELECT id, chart_code FROM fl.account WHERE unit = '230800' AND chart_code IN ('1101', '2001')),
        d AS (UPDATE fl.account_day x SET debits = CASE a.chart_code WHEN '1101' THEN %(f)s ELSE 0 END,
                                          credits = CASE a.chart_code WHEN '2001' THEN %(f)s ELSE 0 END
                FROM a WHERE x.account_id = a.id)
        UPDATE fl.account x SET debits = CASE a.chart_code WHEN '1101' THEN %(f)s ELSE 0 END,
                                credits = CASE a.chart_code WHEN '2001' THEN %(f)s ELSE 0 END,
                                balance = CASE a.chart_code WHEN '1101' THEN %(f)s ELSE -%(f)s END
          FROM a WHERE x.id = a.id""", {"f": fen})


def _refused(conn: psycopg.Connection, query: str, params: object = None) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as e, conn.transaction():
        conn.execute(query, params)
    return e.value


# ---- amounts ---------------------------------------------------------------------------

def test_amounts_are_capped_and_totals_cannot_overflow(ledger_db):
    fin = ledger_db.connect("fin", autocommit=True)
    before = _entries(ledger_db)
    # One posting above 10^15 fen, and the 9×10^18 the attacker used.
    for fen in (CAP + 1, 9 * 10**18):
        e = _refused(fin, "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(_fen_doc(f"big-{fen}", "2023-03-01", fen)),))
        assert e.diag.constraint_name == "posting_amount_cap" or e.sqlstate == "22003", e
    # A number past bigint in the document: refused as out of range, not a crash.
    e = _refused(fin, "SELECT * FROM fl.post_entries(%s::jsonb)",
                 (json.dumps(_fen_doc("huge", "2023-03-01", 10**30)),))
    assert e.sqlstate == "22003"
    assert _entries(ledger_db) == before
    # Running totals: an account whose history has summed to just under 4×10^18 fen (set
    # here by the owner, as a long history would) takes no posting that passes the cap —
    # refused by the named constraint, never a bigint overflow in a later statement.
    assert _post(fin, _fen_doc("seed", "2023-03-01", CAP))[0]["status"] == "posted"
    _near_cap(ledger_db, TOTAL_CAP - CAP // 2)
    e = _refused(fin, "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(_fen_doc("over", "2023-03-02", CAP)),))
    assert e.diag.constraint_name in ("account_totals_cap", "account_day_totals_cap"), e
    r = ledger_db.cli("entry", "post", "-", user="fin", input=json.dumps(
        {**_fen_doc("over-cli", "2023-03-02", 1), "postings": [
            {"account": "1101", "unit": "230800", "side": "debit", "amount": "10000000000000.00"},
            {"account": "2001", "unit": "230800", "side": "credit", "amount": "10000000000000.00"}]}))
    assert r.exit_code == 1 and "Traceback" not in r.stderr and "4×10^18" in r.stderr, r
    assert _entries(ledger_db) == before + 1
    # At the cap it posts (another account).
    assert [r["status"] for r in _post(fin, _fen_doc("at-cap", "2023-03-01", CAP, unit="230822"))] == ["posted"]


def test_the_cli_words_an_amount_past_the_cap(ledger_db, tmp_path):
    f = tmp_path / "big.json"
    doc = _fen_doc("cli-big", "2023-03-01", 1)
    for p in doc["postings"]:
        p["amount"] = "90000000000000000.00"
    f.write_text(json.dumps(doc), "utf-8")
    r = ledger_db.cli("entry", "post", str(f), user="fin")
    assert r.exit_code == 1 and "Traceback" not in r.stderr and "10,000,000,000,000.00" in r.stderr, r


def test_every_renderer_shows_the_largest_values_the_ledger_holds(ledger_db, tmp_path):
    fin = ledger_db.connect("fin", autocommit=True)
    # Just under the running-total cap, in one account.
    assert _post(fin, _fen_doc("near-cap", "2023-03-01", CAP))[0]["status"] == "posted"
    total = TOTAL_CAP - 1
    _near_cap(ledger_db, total)
    for args in (["report", "trial-balance", "--year", "2023", "--json"],
                 ["report", "trial-balance", "--year", "2023"],
                 ["report", "trial-balance", "--year", "2023", "--csv", str(tmp_path / "tb.csv"),
                  "--xlsx", str(tmp_path / "tb.xlsx")],
                 ["report", "income", "--year", "2023", "--xlsx", str(tmp_path / "is.xlsx"),
                  "--csv", str(tmp_path / "is.csv"), "--json"],
                 ["account", "list", "--json"], ["journal", "--json"]):
        r = ledger_db.cli(*args, user="rev")
        assert r.exit_code == 0 and "Traceback" not in r.stderr, (args, r)
    rows = ledger_db.cli("report", "trial-balance", "--year", "2023", "--json", user="rev").json()["rows"]
    assert {r["chart_code"]: r["closing"] for r in rows if r["unit"] == "230800"}["1101"] == f"{total // 100}.{total % 100:02d}"
    import openpyxl

    ws = openpyxl.load_workbook(tmp_path / "tb.xlsx").active
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert f"{total // 100:,}.{total % 100:02d}" in texts
    assert f"{total // 100}.{total % 100:02d}" in (tmp_path / "tb.csv").read_text("utf-8-sig")


# ---- dates -------------------------------------------------------------------------------

def test_entry_dates_are_bounded_by_the_handover_year_and_next_year(ledger_db, tmp_path):
    fin = ledger_db.connect("fin", autocommit=True)
    first = ledger_db.admin().execute("SELECT (value #>> '{}')::int AS y FROM fl.setting WHERE key = 'first_year'"
                                      ).fetchone()["y"]
    assert first == 2021   # Jiamusi: the 2021 plan
    last = dt.date.today().year + 1
    for day in ("1899-12-31", f"{first - 1}-12-31", f"{last + 1}-01-01", "9999-01-01"):
        e = _refused(fin, "SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(_fen_doc(f"d{day}", day, 100)),))
        assert e.diag.constraint_name == "entry_date_range", (day, e)
        f = tmp_path / f"{day}.json"
        doc = entry(f"cli-{day}", day, "RES", leg("1101", "230800", "D", "1.00"), leg("2001", "230800", "C", "1.00"))
        f.write_text(json.dumps({**doc, "postings": [dict(p, side={"D": "debit", "C": "credit"}[p["side"]],
                                                          amount="1.00") for p in doc["postings"]]}), "utf-8")
        r = ledger_db.cli("entry", "post", str(f), user="fin")
        assert r.exit_code == 1 and "Traceback" not in r.stderr and f"from {first}" in r.stderr, r
    for day in (f"{first}-01-01", f"{last}-12-31"):
        assert _post(fin, _fen_doc(f"ok{day}", day, 100))[0]["status"] == "posted"


# ---- users -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a b", "Zhang", "x;drop", "o'22", "", "1x", "名字"])
def test_a_bad_user_name_is_a_message_not_a_traceback(refusals_db, name):
    r = refusals_db.cli("user", "add", name, "--role", "reviewer", user="admin")
    assert r.exit_code == 1 and "Traceback" not in r.stderr and "user_name" in r.stderr, r
    e = _refused(refusals_db.connect("admin", autocommit=True), "SELECT fl.add_user(%s, 'reviewer', NULL)", (name,))
    assert e.diag.constraint_name == "user_name"
    r = refusals_db.cli("journal", user=name) if name else None
    if r is not None:
        assert r.exit_code != 0 and "Traceback" not in r.stderr, r


def test_user_add_refuses_group_roles_postgres_superusers_and_foreign_roles(ledger_db):
    owner = ledger_db.admin()
    owner.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dba_login') THEN "
                  "CREATE ROLE dba_login LOGIN; END IF; "
                  "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'boss') THEN "
                  "CREATE ROLE boss LOGIN SUPERUSER; END IF; END $$")
    adm = ledger_db.connect("admin", autocommit=True)
    users = owner.execute("SELECT count(*) AS n FROM fl.app_user").fetchone()["n"]
    # On PostgreSQL 15 fl_owner may not create roles, so a DBA's plain login is how a user is
    # made there (docs/security.md): a foreign plain login is refused only on 16+.
    pg16 = owner.execute("SELECT current_setting('server_version_num')::int >= 160000 AS v").fetchone()["v"]
    foreign = [("dba_login", "auditor")] if pg16 else []
    for name, role in (("fl_officer", "reviewer"), ("fl_reviewer", "officer"), ("postgres", "admin"),
                       ("boss", "admin"), *foreign, ("rev", "admin"), ("o22", "officer"),
                       ("fl_admin", "admin")):
        unit = "230822" if role == "officer" else None
        e = _refused(adm, "SELECT fl.add_user(%s, %s, %s)", (name, role, unit))
        assert e.diag.constraint_name in ("user_name", "user_role_taken", "user_exists"), (name, e)
        r = ledger_db.cli("user", "add", name, "--role", role, *(["--unit", unit] if unit else []), user="admin")
        assert r.exit_code == 1 and "Traceback" not in r.stderr, (name, r)
    assert owner.execute("SELECT count(*) AS n FROM fl.app_user").fetchone()["n"] == users
    # No officer became a reviewer through a registered group role.
    assert owner.execute("SELECT pg_has_role('o22', 'fl_reviewer', 'USAGE') AS x").fetchone()["x"] is False
    # A role fundledger made for the same role in another database: an admin may not take it
    # over (it would then set that ledger's user's password, sql/0019); the operator may.
    owner.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'twin_rev') THEN "
                  "CREATE ROLE twin_rev LOGIN; GRANT fl_reviewer TO twin_rev; END IF; END $$")
    e = _refused(adm, "SELECT fl.add_user('twin_rev', 'reviewer', NULL)")
    assert e.diag.constraint_name == "user_role_taken", e
    owner.execute("SELECT fl.add_user('twin_rev', 'reviewer', NULL)")
    assert owner.execute("SELECT role FROM fl.app_user WHERE name = 'twin_rev'").fetchone()["role"] == "reviewer"


# ---- export targets -----------------------------------------------------------------------

def test_exports_refuse_an_existing_file_and_never_follow_a_symlink(ledger_db, tmp_path):
    out = tmp_path / "tb.csv"
    out.write_text("keep me", "utf-8")
    r = ledger_db.cli("report", "trial-balance", "--year", "2023", "--csv", str(out), user="rev")
    assert r.exit_code == 1 and "--force" in r.stderr and out.read_text("utf-8") == "keep me", r
    r = ledger_db.cli("report", "trial-balance", "--year", "2023", "--csv", str(out), "--force", user="rev")
    assert r.exit_code == 0 and "Account" in out.read_text("utf-8-sig").splitlines()[0], r
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", "utf-8")
    for opt, name in (("--xlsx", "link.xlsx"), ("--csv", "link.csv")):
        link = tmp_path / name
        link.symlink_to(victim)
        for force in ([], ["--force"]):
            r = ledger_db.cli("report", "balance-sheet", "--year", "2023", opt, str(link), *force, user="rev")
            assert r.exit_code == 1 and "symbolic link" in r.stderr, r
            assert victim.read_text("utf-8") == "precious" and link.is_symlink()
    link = tmp_path / "chart.png"
    link.symlink_to(victim)
    r = ledger_db.cli("chart", "monitor", "--year", "2023", "--out", str(link), "--force", user="rev")
    assert r.exit_code == 1 and "symbolic link" in r.stderr and victim.read_text("utf-8") == "precious", r
    digest = tmp_path / "digest.json"
    digest.write_text("old", "utf-8")
    r = ledger_db.cli("audit", "digest", "--out", str(digest), user="aud")
    assert r.exit_code == 1 and digest.read_text("utf-8") == "old", r
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# ---- failed logins -------------------------------------------------------------------------

def test_the_embedded_server_slows_failed_logins(pg_server, tmp_path):
    from ledger.store import embedded

    # An existing cluster's configuration gets the include (and keeps what it had).
    (tmp_path / "postgresql.conf").write_text("max_connections = 50\n")
    assert embedded._configure(tmp_path) is True
    assert embedded._configure(tmp_path) is False
    conf = (tmp_path / "postgresql.conf").read_text()
    assert conf.startswith("max_connections = 50\n") and "include_if_exists = 'fundledger.conf'" in conf
    assert "shared_preload_libraries = 'auth_delay'" in (tmp_path / "fundledger.conf").read_text()
    if not os.environ.get("FUNDLEDGER_TEST_DATABASE_URL"):   # the suite's own server is an embedded one
        with psycopg.connect(pg_server.admin_url) as c:
            libs = c.execute("SHOW shared_preload_libraries").fetchone()[0]
            delay = c.execute("SHOW auth_delay.milliseconds").fetchone()[0]
        assert "auth_delay" in libs and delay == "500ms"


def test_a_fund_request_is_capped_like_a_posting(ledger_db):
    """ATTACK2 B12: 9×10^18 fen was accepted as a request (and listed)."""
    o81 = ledger_db.connect("o81", autocommit=True)
    for fen in (CAP + 1, 9 * 10**18):
        e = _refused(o81, "SELECT * FROM fl.request_submit('230881', 'RES', '', 2024, 4, %s, 'big', %s)",
                     (fen, f"big-{fen}"))
        assert e.diag.constraint_name == "request_amount_cap", e
    r = ledger_db.cli("request", "submit", "--unit", "230881", "--book", "RES", "--year", "2024", "--quarter", "4",
                      "--amount", "10000000000000.01", user="o81")
    assert r.exit_code == 1 and "Traceback" not in r.stderr and "10^15" in r.stderr, r
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.fund_request").fetchone()["n"] == 0
    assert o81.execute("SELECT * FROM fl.request_submit('230881', 'RES', '', 2024, 4, %s, 'at cap', 'cap')",
                       (CAP,)).fetchone()["status"] == "submitted"
