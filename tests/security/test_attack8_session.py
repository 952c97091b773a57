"""ATTACK8 V1, V2 and V4, through the roles' own logins and the superuser's levers.

V1 (MED): on PostgreSQL 17+ a superuser's ``ON login`` event trigger runs after the startup
packet and set ``search_path`` back to a schema with its own ``sum(bigint)``: every report ran
under it (``verify`` named the event trigger, too late). Every session now reads back what
its startup packet pinned and refuses (``session_settings``) when the server changed it.

V2 (MED): a rejected or withdrawn held bureau payment (0060) kept its claim references
standing for the bureau, so the county's own import of those claims skipped them as paid:
nobody paid them. Since 0063 the county's import posts them; nothing is deleted.

V4 (MED): ``fl.import_statement`` kept in an open transaction held FOR KEY SHARE on the special
account's ``fl.bank_account`` row through a foreign key, unmarked, and every posting on the
special account waited. Since 0063 no foreign key leads from a table writers insert into to a
contended row; the bank account's existence is checked by a trigger that locks nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.store.db import SessionSettingsChanged, check_pinned, startup_settings
from tests.conftest import LedgerDB
from tests.helpers import collect, entry, leg, post

pytestmark = pytest.mark.db

PAY = "date,unit,book,provider,category,amount,reference,component,paid_from"
CONTENDED = ("fl.account", "fl.bank_account", "fl.voucher_counter", "fl.chain_head")


# ---- V1 ---------------------------------------------------------------------------------------

def _needs_login_triggers(db: LedgerDB) -> None:
    if int(db.admin().execute("SHOW server_version_num").fetchone()["server_version_num"]) < 170000:  # type: ignore[index]
        pytest.skip("event triggers ON login exist from PostgreSQL 17 (the embedded server is 18)")


@pytest.fixture
def login_trap(ledger_db: LedgerDB) -> Iterator[Any]:
    """``login_trap({'search_path': 'v1, pg_catalog'}, 'aud', 'fin')``: a superuser's event
    trigger ON login that sets those settings for those logins' sessions (this test's database
    only: event triggers are per database). Dropped afterwards."""
    _needs_login_triggers(ledger_db)
    adm = ledger_db.admin()

    def plant(settings: dict[str, str], *who: str) -> None:
        sets = "".join(f"    PERFORM pg_catalog.set_config({json.dumps(k).replace(chr(34), chr(39))}, "
                       f"{json.dumps(v).replace(chr(34), chr(39))}, false);\n" for k, v in settings.items())
        adm.execute("DROP EVENT TRIGGER IF EXISTS v1_login")
        adm.execute(f"""CREATE OR REPLACE FUNCTION public.v1_login() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  IF session_user = ANY (ARRAY{list(who)!r}) THEN
{sets}  END IF;
END $$""")
        adm.execute("CREATE EVENT TRIGGER v1_login ON login EXECUTE FUNCTION public.v1_login()")

    yield plant
    adm.execute("DROP EVENT TRIGGER IF EXISTS v1_login")


def _shadow(db: LedgerDB) -> None:
    """U14's shadow schema: a sum(bigint) that adds ¥1,000,000 to every total."""
    adm = db.admin()
    adm.execute("CREATE SCHEMA v1")
    adm.execute("GRANT USAGE ON SCHEMA v1 TO PUBLIC")
    adm.execute("CREATE FUNCTION v1.s(numeric, bigint) RETURNS numeric LANGUAGE sql IMMUTABLE "
                "AS 'SELECT coalesce($1, 0) + coalesce($2, 0)'")
    adm.execute("CREATE FUNCTION v1.f(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 100000000'")
    adm.execute("CREATE AGGREGATE v1.sum(bigint) (sfunc = v1.s, stype = numeric, finalfunc = v1.f)")


def test_v1_a_login_trigger_that_resets_search_path_stops_every_read_and_write(
        ledger_db: LedgerDB, login_trap: Any, tmp_path: Path) -> None:
    """The reproduction: the event trigger puts the shadow schema first for the auditor's and
    finance's sessions, after the startup packet pinned pg_catalog. The lever works on a raw
    session; every fundledger command refuses, in Chinese first, naming the setting and the
    value it saw and saying to tell the DBA; nothing is written. Dropped: the honest report."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("v1-c1", "2023-01-05", "230822", "1000.00"))
    honest = ledger_db.cli("report", "trial-balance", "--year", "2023", "--json", user="aud")
    assert honest.exit_code == 0, honest
    _shadow(ledger_db)
    login_trap({"search_path": "v1, pg_catalog"}, "aud", "fin")
    probe = psycopg.connect(ledger_db.url("aud"), options="-c search_path=pg_catalog,pg_temp")
    try:      # the lever works on a session that does not read its settings back
        assert probe.execute("SHOW search_path").fetchone()[0] == "v1, pg_catalog"  # type: ignore[index]
    finally:
        probe.close()
    col = tmp_path / "col.csv"
    col.write_text("date,unit,book,source,amount,reference,component\n"
                   "2023-01-06,230822,RES,contribution,5.00,V1-W1,\n", "utf-8")
    entries = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"]  # type: ignore[index]
    for args, who in [(("report", "trial-balance", "--year", "2023", "--json"), "aud"),
                      (("balance", "RES:4001:230822", "--json"), "fin"), (("monitor", "--json"), "fin"),
                      (("verify",), "aud"), (("collect", "import", str(col)), "fin")]:
        r = ledger_db.cli(*args, user=who, env={"FUNDLEDGER_LANG": ""})
        assert r.exit_code != 0 and not r.stdout.strip(), (args, r)
        assert "search_path" in r.stderr and "v1, pg_catalog" in r.stderr, (args, r.stderr)
        first = r.stderr.strip()[:20]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in first), r.stderr    # Chinese first
        assert "DBA" in r.stderr and "Traceback" not in r.stderr, r.stderr
    en = ledger_db.cli("report", "trial-balance", "--year", "2023", user="aud")
    assert "search_path" in en.stderr and "database administrator" in en.stderr, en
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry").fetchone()["n"] == entries  # type: ignore[index]
    ledger_db.admin().execute("DROP EVENT TRIGGER v1_login")
    again = ledger_db.cli("report", "trial-balance", "--year", "2023", "--json", user="aud")
    assert again.exit_code == 0 and again.json() == honest.json(), again


@pytest.mark.parametrize(("setting", "value", "seen"), [
    ("statement_timeout", "1ms", "1ms"),            # a verifier never finishes (not reported to the client)
    ("client_encoding", "LATIN1", "LATIN1"),        # reported at start-up: compared without a query
    ("standard_conforming_strings", "off", "off"),
])
def test_v1_the_verifiers_startup_settings_are_read_back_too(ledger_db: LedgerDB, login_trap: Any, setting: str,
                                                             value: str, seen: str) -> None:
    """The verifier's startup packet pins more (ledger.store.verify_session.STARTUP); each one an
    event trigger sets again is a refusal of `verify` and `audit digest`, never a verdict."""
    login_trap({setting: value}, "aud")
    for args in (("verify",), ("audit", "digest")):
        r = ledger_db.cli(*args, user="aud")
        assert r.exit_code != 0, (args, r)
        assert setting in r.stderr and seen in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


def test_v1_an_unchanged_session_costs_no_round_trip(ledger_db: LedgerDB) -> None:
    """The read-back for a user's session (search_path, reported by PostgreSQL 18 at start-up)
    asks the server nothing: a read command's start-up is unchanged. A difference in any
    pinned value is refused; the same value in the server's spelling is not."""
    _needs_login_triggers(ledger_db)
    c = psycopg.connect(ledger_db.url("aud"), options="-c search_path=pg_catalog,pg_temp")
    try:
        if c.info.parameter_status("search_path") is not None:
            before = c.pgconn.transaction_status
            sent = c.execute("SELECT 1").fetchone()
            assert sent is not None
            c.rollback()
            calls: list[str] = []
            real = c.execute

            def spy(query: Any, *a: Any, **k: Any) -> Any:
                calls.append(str(query))
                return real(query, *a, **k)

            c.execute = spy  # type: ignore[method-assign]
            check_pinned(c, startup_settings("-c search_path=pg_catalog,pg_temp"))  # type: ignore[arg-type]
            assert calls == [] and c.pgconn.transaction_status == before
        check_pinned(c, startup_settings("-c search_path=PG_CATALOG,pg_temp"))  # type: ignore[arg-type]
        with pytest.raises(SessionSettingsChanged):
            check_pinned(c, startup_settings("-c search_path=pg_temp,pg_catalog"))  # type: ignore[arg-type]
        with pytest.raises(SessionSettingsChanged):
            check_pinned(c, {"statement_timeout": "5s"})  # type: ignore[arg-type]
    finally:
        c.close()
    assert startup_settings("-c a=1 -c search_path=pg_catalog,pg_temp -cB=2") == {
        "a": "1", "search_path": "pg_catalog,pg_temp", "b": "2"}



def test_every_session_starts_without_jit_whatever_the_database_or_role_set(
        ledger_db: LedgerDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """JIT off in the startup packet of every session fundledger opens (ledger.store.db.NO_JIT:
    LLVM compiled the write path's and the verifier's statements again and again on a
    PostgreSQL that ships it, as Debian's does). ``jit`` is a setting any login may make, and
    the startup packet's value wins over ``ALTER DATABASE … SET jit = on`` and a login's
    ``ALTER ROLE … SET jit = on``: a user's session, the verifier's second session (a copy of
    the first's parameters), the admin's and a migration's or operator's connection
    (``without_jit``) all start with it off. A DBA who wants JIT asks in PGOPTIONS; it wins."""
    from ledger.store import verify
    from ledger.store.db import Target, connect, without_jit
    from ledger.store.verify_session import STARTUP

    adm = ledger_db.admin()
    adm.execute(f'ALTER DATABASE "{ledger_db.name}" SET jit = on')
    for who in ("aud", "fin"):
        adm.execute(f'ALTER ROLE {who} IN DATABASE "{ledger_db.name}" SET jit = on')
    monkeypatch.delenv("PGOPTIONS", raising=False)

    def jit(c: Any) -> str:
        row = c.execute("SELECT pg_catalog.current_setting('jit') AS v").fetchone()
        return str(row["v"] if isinstance(row, dict) else row[0])

    raw = psycopg.connect(ledger_db.url("fin"))
    try:                # the levers hold on a session that does not set it
        assert jit(raw) == "on"
    finally:
        raw.close()
    url = ledger_db.url()
    sessions = [connect(Target(url, "fin")), connect(Target(url, "aud"), options=STARTUP),
                connect(Target(url), admin=True), psycopg.connect(without_jit(ledger_db.url("fin")))]
    try:
        peer = verify._second_session(sessions[1])
        assert peer is not None
        sessions.append(peer)
        assert [jit(c) for c in sessions] == ["off"] * 5
        path = sessions[0].execute("SHOW search_path").fetchone()["search_path"]  # type: ignore[index]
        assert path.replace(" ", "") == "pg_catalog,pg_temp"       # the pin beside it holds
    finally:
        for c in sessions:
            c.close()
    monkeypatch.setenv("PGOPTIONS", "-c jit=on")
    with connect(Target(url, "fin")) as c, psycopg.connect(without_jit(url)) as a:
        assert (jit(c), jit(a)) == ("on", "on")
    r = ledger_db.cli("verify", "--json", user="aud", env={"PGOPTIONS": ""})
    assert r.exit_code == 0 and r.json()["ok"] is True, r


# ---- V2 ---------------------------------------------------------------------------------------

def _csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([PAY, *rows]) + "\n", encoding="utf-8")
    return path


def _county_exp(db: LedgerDB, unit: str = "230881") -> int:
    row = db.admin().execute(
        "SELECT coalesce(sum(balance), 0)::bigint AS b FROM fl.account WHERE book = 'RES' AND chart_code = '1004' "
        "AND unit = %s AND holder = 'county_exp'", (unit,)).fetchone()
    assert row is not None
    return int(row["b"])


def _fund(db: LedgerDB, unit: str = "230881", yuan: str = "1000000.00") -> None:
    fin = db.connect("fin", autocommit=True)
    post(fin, collect(f"col-{unit}", "2024-03-01", unit, yuan),
         entry(f"top-up-{unit}", "2024-03-02", "RES", leg("1004", unit, "D", yuan, "county_exp"),
               leg("1003", unit, "C", yuan, "special")))


def _paid(db: LedgerDB, ref: str) -> list[tuple[str, str]]:
    """Who paid claim ``ref``: (entry kind, writer) of each posting that carries it."""
    return [(r["kind"], r["created_by"]) for r in db.admin().execute(
        "SELECT e.kind, e.created_by FROM fl.posting p JOIN fl.entry e ON e.id = p.entry_id WHERE p.line_ref = %s "
        "ORDER BY e.id", (ref,)).fetchall()]


@pytest.mark.parametrize("decider", ["rev", "rev2", "fin"])   # the maker's withdrawal, a second person's rejection
def test_v2_a_rejected_bureau_payment_leaves_the_claims_to_the_county(ledger_db: LedgerDB, tmp_path: Path,
                                                                      decider: str) -> None:
    """The bureau imports two claims paid from 230881's account (two held entries: two dates);
    one is rejected (or withdrawn). The county's officer imports the same file: the rejected
    claim posts, the one still held is skipped (it is the bureau's until decided); confirmed, it
    is paid once. Re-runs of either side pay nothing twice, the bureau's re-run is not refused;
    the bureau's register lines and the rejected held entry stay; both verdicts are whole."""
    _fund(ledger_db)
    before = _county_exp(ledger_db)
    f = _csv(tmp_path / "claims.csv",
             "2024-03-27,230881,RES,某某医院,inpatient,800.00,V2-A,,county",
             "2024-03-28,230881,RES,某某医院,outpatient,50.00,V2-B,,county")
    held = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert held.exit_code == 0 and len(held.json()["held"]) == 2, held
    adm = ledger_db.admin()
    ids = {r["ref"]: r["id"] for r in adm.execute(
        "SELECT pe.id, pp.line_ref AS ref FROM fl.pending_entry pe JOIN fl.pending_posting pp ON pp.pending_id = pe.id "
        "WHERE pe.kind = 'payments' AND pp.side = 'D'").fetchall()}
    # Before the decision the county's import skips both: the bureau's claims, waiting.
    early = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert early.exit_code == 0 and early.json()["rows_skipped"] == 2 and early.json()["entries"] == 0, early
    rej = ledger_db.connect(decider, autocommit=True)
    rej.execute("SELECT * FROM fl.reject_entry(%s, 'not ours to pay')", (ids["V2-A"],))
    # The reproduction: the county's own import of the same claims.
    mine = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert mine.exit_code == 0, mine
    assert mine.json()["entries"] == 1 and mine.json()["rows_skipped"] == 1, mine
    assert _paid(ledger_db, "V2-A") == [("payments", "o81")]
    assert _county_exp(ledger_db) == before - 80000
    # Re-runs: the county's pays nothing twice; the bureau's holds nothing and is not refused.
    again = ledger_db.cli("pay", "import", str(f), "--json", user="o81")
    assert again.exit_code == 0 and again.json()["entries"] == 0 and again.json()["rows_skipped"] == 2, again
    bureau = ledger_db.cli("pay", "import", str(f), "--json", user="rev")
    assert bureau.exit_code == 0 and bureau.json()["held"] == [] and bureau.json()["rows_skipped"] == 2, bureau
    # The claim still held is confirmed: paid once, by the bureau's entry.
    checker = "fin" if decider != "fin" else "rev2"
    ok = ledger_db.cli("entry", "confirm", str(ids["V2-B"]), "--json", user=checker)
    assert ok.exit_code == 0, ok
    assert _paid(ledger_db, "V2-A") == [("payments", "o81")] and _paid(ledger_db, "V2-B") == [("payments", "rev")]
    assert _county_exp(ledger_db) == before - 85000
    # Nothing deleted: the bureau's lines stand in its register, the rejected entry stays rejected.
    lines = adm.execute("SELECT namespace, reference, entry_id IS NULL AS no_entry FROM fl.import_line "
                        "WHERE reference LIKE 'V2-%%' ORDER BY namespace, reference").fetchall()
    assert [(r["namespace"], r["reference"], r["no_entry"]) for r in lines] == [
        ("payments:230881", "V2-A", False), ("payments:230881:bureau", "V2-A", True),
        ("payments:230881:bureau", "V2-B", True)]
    assert adm.execute("SELECT state FROM fl.pending_entry WHERE id = %s", (ids["V2-A"],)).fetchone()["state"] == "rejected"  # type: ignore[index]
    v = ledger_db.cli("verify", user="aud")     # both passes: the in-database one and the independent verdict
    assert v.exit_code == 0, v.stdout[-3000:]


def test_v2_a_rejected_claim_with_other_content_is_the_countys_own_row(ledger_db: LedgerDB, tmp_path: Path) -> None:
    """The county's row under the reference of a rejected bureau claim, with its own content (the
    amount the county found right), is the county's row: posted, not a conflict with a bureau's
    row that no longer stands. A claim still held keeps the conflict."""
    _fund(ledger_db)
    bureau = _csv(tmp_path / "bureau.csv", "2024-03-27,230881,RES,某某医院,inpatient,800.00,V2-C,,county")
    assert ledger_db.cli("pay", "import", str(bureau), user="rev").exit_code == 0
    own = _csv(tmp_path / "own.csv", "2024-03-27,230881,RES,某某医院,inpatient,780.00,V2-C,,county")
    conflict = ledger_db.cli("pay", "import", str(own), user="o81")
    assert conflict.exit_code != 0 and "V2-C" in conflict.stderr + conflict.stdout, conflict
    hid = ledger_db.admin().execute("SELECT id FROM fl.pending_entry WHERE kind = 'payments'").fetchone()["id"]  # type: ignore[index]
    ledger_db.connect("rev", autocommit=True).execute("SELECT * FROM fl.reject_entry(%s, 'amount wrong')", (hid,))
    r = ledger_db.cli("pay", "import", str(own), "--json", user="o81")
    assert r.exit_code == 0 and r.json()["entries"] == 1, r
    assert _paid(ledger_db, "V2-C") == [("payments", "o81")]


# ---- V4 ---------------------------------------------------------------------------------------

def test_v4_sweep_no_foreign_key_leads_to_a_contended_row(ledger_db: LedgerDB) -> None:
    """The class: a foreign key check takes FOR KEY SHARE on the row it references, a lock the
    busy-holder guard cannot see. No table of the ledger references a contended table by a
    foreign key; a row naming a bank account that does not exist is still refused."""
    adm = ledger_db.admin()
    fks = adm.execute("SELECT conrelid::regclass::text AS t, conname FROM pg_constraint WHERE contype = 'f' "
                      "AND confrelid::regclass::text = ANY(%s)", (list(CONTENDED),)).fetchall()
    assert fks == [], fks
    with pytest.raises(psycopg.Error) as e:
        adm.execute("INSERT INTO fl.bank_statement (bank_account_id, file_name, file_sha256, lines_total) "
                    "VALUES (987654, 'x.csv', repeat('a', 64), 0)")
    assert e.value.diag.constraint_name == "bank_account_exists", e.value
    with pytest.raises(psycopg.Error) as e:
        adm.execute("INSERT INTO fl.account (book, chart_code, unit, holder, component, bank_account_id) "
                    "VALUES ('RES', '1003', '230822', 'special', '', 987654)")
    assert e.value.diag.constraint_name == "bank_account_exists", e.value


def _special(db: LedgerDB) -> int:
    return int(db.admin().execute("SELECT id FROM fl.bank_account WHERE book = 'RES' AND holder = 'special' "
                                  "AND unit IS NULL").fetchone()["id"])  # type: ignore[index]


def test_v4_reproduction_a_statement_import_kept_open_blocks_no_posting(ledger_db: LedgerDB) -> None:
    """The second reviewer imports the special account's statement (and matches one line) in
    its transaction and keeps it computing, its timeouts off. The special account's row is
    free (the superuser's NOWAIT probe), and finance's collection into the special account —
    another unit's writer — posts at once (before: it waited for as long as the reviewer liked,
    and the guard saw no mark to end it by)."""
    fin = ledger_db.connect("fin", autocommit=True)
    post(fin, collect("v4-seed", "2024-01-05", "230822", "100.00"))
    bank = _special(ledger_db)
    hog = ledger_db.connect("rev2")
    for s in ("idle_in_transaction_session_timeout", "lock_timeout", "statement_timeout"):
        hog.execute(f"SET {s} = 0")
    lines = [{"row": 1, "date": "2024-01-05", "direction": "in", "amount": 10000, "reference": "V4-1", "balance": None}]
    r = hog.execute("SELECT * FROM fl.import_statement('RES', 'special', NULL, 'v4.csv', repeat('b', 64), %s::jsonb)",
                    (json.dumps(lines),)).fetchone()
    assert r is not None and r["lines_new"] == 1
    pid = int(hog.execute("SELECT pg_backend_pid() AS p").fetchone()["p"])  # type: ignore[index]
    out: dict[str, Any] = {}

    def spin() -> None:
        try:
            hog.execute("SELECT count(*) FROM generate_series(1, 100000000000)")
        except psycopg.Error as e:
            out["e"] = e

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    try:
        adm = ledger_db.connect(None)
        adm.execute("SELECT 1 FROM fl.bank_account WHERE id = %s FOR UPDATE NOWAIT", (bank,)).fetchall()
        adm.rollback()
        t0 = time.monotonic()
        fin.execute("SET lock_timeout = '3s'")
        post(fin, collect("v4-during", "2024-01-06", "230881", "100.00"))
        assert time.monotonic() - t0 < 3
    finally:
        ledger_db.admin().execute("SELECT pg_cancel_backend(%s)", (pid,))
        t.join(20)
    assert isinstance(out.get("e"), psycopg.errors.QueryCanceled)
