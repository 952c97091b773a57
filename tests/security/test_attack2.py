"""The second red-team pass (coord/ATTACK2.md), as the attacker did it, through each role's
own login (or the CLI with ``--as``), asserting the defended outcome and that nothing
changed: periods closed before they end (B10), one ledger's admin taking over another
ledger's user (B1), officer text driving the reviewer's terminal (B11), files written
over filed evidence or through links (B6)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql

from tests.helpers import drop_login

pytestmark = pytest.mark.db

TZ = ZoneInfo("Asia/Shanghai")   # the region's time zone (Jiamusi); periods end by its calendar


def _refused(conn: psycopg.Connection, query: str, params: object = None) -> psycopg.Error:
    try:
        conn.execute(query, params)
    except psycopg.Error as e:
        return e
    raise AssertionError(f"not refused: {query} {params}")


def _closed(ledger_db) -> set[str]:
    rows = ledger_db.admin().execute("SELECT month FROM fl.closed_period").fetchall()
    return {f"{r['month']:%Y-%m}" for r in rows}


# ---- B10: a period closes only after it has ended -----------------------------------------

def test_a_month_or_year_that_has_not_ended_cannot_be_closed(ledger_db):
    rev = ledger_db.connect("rev", autocommit=True)
    today = dt.datetime.now(TZ).date()
    this_month = today.replace(day=1)
    next_month = (this_month + dt.timedelta(days=32)).replace(day=1)
    before = _closed(ledger_db)
    # The caller's own TimeZone (as far east as it goes) does not move the region's calendar.
    rev.execute("SET TimeZone = 'Etc/GMT-14'")
    for month in (next_month, this_month, dt.date(today.year + 1, 12, 1)):
        e = _refused(rev, "SELECT fl.close_period(%s, 'x')", (month,))
        assert e.diag.constraint_name == "period_not_ended", e
    # The year in progress: close_year posts its closing entries first, then is refused whole.
    e = _refused(rev, "SELECT * FROM fl.close_year(%s, %s, '{}'::jsonb)", (today.year, dt.date(today.year, 12, 31)))
    assert e.diag.constraint_name == "period_not_ended", e
    assert ledger_db.admin().execute("SELECT count(*) AS n FROM fl.year_close WHERE year = %s",
                                     (today.year,)).fetchone()["n"] == 0
    assert _closed(ledger_db) == before
    # The CLI says so in words, and a month that has ended still closes.
    r = ledger_db.cli("close", "period", f"{next_month:%Y-%m}", user="rev")
    assert r.exit_code == 1 and "has not ended" in r.stderr and "Traceback" not in r.stderr, r
    last = (this_month - dt.timedelta(days=1)).replace(day=1)
    assert rev.execute("SELECT fl.close_period(%s, 'month end') AS ok", (last,)).fetchone()["ok"] is True
    # (0123) the empty months before it close with it: only months with nothing dated in them
    added = _closed(ledger_db) - before
    assert f"{last:%Y-%m}" in added
    used = {f"{r['m']:%Y-%m}" for r in ledger_db.admin().execute(
        "SELECT DISTINCT date_trunc('month', entry_date)::date AS m FROM fl.entry").fetchall()}
    assert all(m < f"{last:%Y-%m}" and m not in used for m in added - {f"{last:%Y-%m}"}), added


# ---- B1: one ledger's admin does not take over another ledger's user ----------------------

def test_an_admin_cannot_register_a_user_of_another_ledger(ledger_db):
    owner = ledger_db.admin()
    twin = f"twin_{uuid.uuid4().hex[:8]}"
    # What another ledger on the same server left: its reviewer's login, a member of fl_reviewer.
    owner.execute(sql.SQL("CREATE ROLE {0} LOGIN; GRANT fl_reviewer TO {0}").format(sql.Identifier(twin)))
    try:
        adm = ledger_db.connect("admin", autocommit=True)
        e = _refused(adm, "SELECT fl.add_user(%s, 'reviewer', NULL)", (twin,))
        assert e.diag.constraint_name == "user_role_taken" and "another ledger" in str(e), e
        r = ledger_db.cli("user", "add", twin, "--role", "reviewer", user="admin")
        assert r.exit_code == 1 and "Traceback" not in r.stderr, r
        # Not registered here, so the admin cannot set its password or switch its login off.
        verifier = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=:" \
                   "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI="
        e = _refused(adm, "SELECT fl.set_password(%s, %s)", (twin, verifier))
        assert e.diag.constraint_name == "user_unknown", e
        assert owner.execute("SELECT count(*) AS n FROM fl.app_user WHERE name = %s", (twin,)).fetchone()["n"] == 0
        # The operator, who sees both ledgers, may make it one person's login in both.
        owner.execute("SELECT fl.add_user(%s, 'reviewer', NULL)", (twin,))
        assert owner.execute("SELECT role FROM fl.app_user WHERE name = %s", (twin,)).fetchone()["role"] == "reviewer"
    finally:   # roles are cluster-wide: leave none behind on a shared server
        drop_login(owner, twin)


# ---- B11: what an officer writes cannot drive the reviewer's terminal ---------------------

HOSTILE = ("q3 \x1b]0;PWNED\x07\x1b[31mRED\x1b[0m\r\x1b[2K\x1b[1A requested 0.01 \u202e10.0\u202c "
           "[bold red]MARKUP[/bold red] [link=http://evil.example]click[/link]")


@pytest.mark.parametrize("columns", ["200", "80"])
def test_officer_text_reaches_the_reviewer_as_text(ledger_db, columns):
    o22 = ledger_db.connect("o22", autocommit=True)
    rid = o22.execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, 3, 100, %s, %s)",
                      (HOSTILE, f"hostile-{columns}")).fetchone()["id"]
    env = {"COLUMNS": columns}
    for args in (["request", "list"], ["audit", "trail", f"R{rid}"]):
        r = ledger_db.cli(*args, user="rev", env=env)
        assert r.exit_code == 0, (args, r)
        text = r.stdout + r.stderr
        for ch in ("\x1b", "\r", "\x07", "\u202e", "\u202c"):
            assert ch not in text, (args, repr(ch), r)
        if args[0] == "request":
            # Markup in the data is shown as written (folded over lines, perhaps), not applied.
            flat = "".join(text.split())
            assert "[boldred]MARKUP[/boldred]" in flat and "[link=http://evil.example]click[/link]" in flat, r
    # JSON keeps the value exactly as stored.
    r = ledger_db.cli("request", "list", "--json", user="rev")
    assert any(x.get("note") == HOSTILE for x in r.json()), r


# ---- B6: files the CLI writes ------------------------------------------------------------

def test_a_filed_period_digest_is_never_replaced_nor_written_through_a_link(ledger_db, tmp_path):
    digests = tmp_path / "digests"
    r = ledger_db.cli("close", "period", "2023-01", "--digest-dir", str(digests), user="rev")
    assert r.exit_code == 0, r
    filed = digests / "period-2023-01.json"
    first = filed.read_bytes()
    assert json.loads(first)["period"] == "2023-01"
    # Closing it again does not replace it: the digest of the close stays the one filed at the close.
    r = ledger_db.cli("close", "period", "2023-01", "--digest-dir", str(digests), user="rev")
    assert r.exit_code == 1 and "filed once" in r.stderr and "Traceback" not in r.stderr, r
    assert filed.read_bytes() == first
    # Nor does a digest filed elsewhere come to stand for that close.
    r = ledger_db.cli("close", "period", "2023-01", "--digest-dir", str(tmp_path / "other"), user="rev")
    assert r.exit_code == 0 and "no period digest filed" in r.stdout, r
    assert not (tmp_path / "other" / "period-2023-01.json").exists()
    # A link planted where the next digest goes: refused before anything is closed.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", "utf-8")
    (digests / "period-2023-02.json").symlink_to(victim)
    r = ledger_db.cli("close", "period", "2023-02", "--digest-dir", str(digests), user="rev")
    assert r.exit_code == 1 and "symbolic link" in r.stderr and "Traceback" not in r.stderr, r
    assert victim.read_text("utf-8") == "precious" and "2023-02" not in _closed(ledger_db)


def test_export_digest_and_sample_files_never_follow_a_link(ledger_db, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", "utf-8")
    link = tmp_path / "digest.json"
    link.symlink_to(victim)
    r = ledger_db.cli("audit", "export", str(tmp_path / "export"), "--digest-out", str(link), user="aud")
    assert r.exit_code == 1 and "symbolic link" in r.stderr and "Traceback" not in r.stderr, r
    assert victim.read_text("utf-8") == "precious"
    # A filed export digest is not replaced either.
    kept = tmp_path / "filed.json"
    kept.write_text("filed earlier", "utf-8")
    r = ledger_db.cli("audit", "export", str(tmp_path / "export2"), "--digest-out", str(kept), user="aud")
    assert r.exit_code == 1 and "--force" in r.stderr and kept.read_text("utf-8") == "filed earlier", r
    # A link planted inside the export's directory, or the directory itself a link.
    (tmp_path / "export3").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "export4").symlink_to(tmp_path / "elsewhere")
    r = ledger_db.cli("audit", "export", str(tmp_path / "export4"), user="aud")
    assert r.exit_code == 1 and "Traceback" not in r.stderr and not any((tmp_path / "elsewhere").iterdir()), r
    # fundledger example: its sample files replace earlier ones, never a link's target.
    data = tmp_path / "data"
    data.mkdir()
    (data / "budget_2024.csv").symlink_to(victim)
    r = ledger_db.cli("example", str(data))
    assert r.exit_code == 1 and "symbolic link" in r.stderr and "Traceback" not in r.stderr, r
    assert victim.read_text("utf-8") == "precious"


# ---- B16 (fixed by h14c's ledger/io/infile.py, issue 14 A8): kept as the attacker's variants --

def test_a_folder_fifo_or_device_given_as_a_file_is_refused_in_words(ledger_db, tmp_path):
    import os

    fifo = tmp_path / "planted.csv"
    os.mkfifo(fifo)
    for who, args in (("fin", ["entry", "post", str(tmp_path)]), ("fin", ["entry", "post", str(fifo)]),
                      ("fin", ["entry", "post", "/dev/zero"]), ("o22", ["pay", "import", str(fifo)]),
                      ("aud", ["audit", "check-digest", str(tmp_path)]), ("aud", ["audit", "check-digest", str(fifo)]),
                      (None, ["verify", "--offline", str(tmp_path), "--digest", str(tmp_path)])):
        r = ledger_db.cli(*args, user=who)   # a FIFO without a writer would block a plain open() for ever
        assert r.exit_code == 1 and "Traceback" not in r.stderr, (args, r)
        assert "folder" in r.stderr or "regular file" in r.stderr, (args, r)


# ---- B13: an entry's source shows an officer nothing of another unit, whatever its shape --

@pytest.mark.parametrize("source, mine", [
    ([{"unit": "230881", "note": "secret"}, {"unit": "230822", "note": "ours"}], [{"unit": "230822", "note": "ours"}]),
    ({"split": {"230881": 5, "230822": 3}}, {"split": {"230822": 3}}),
    ({"rows": [{"x": {"unit": "230881", "amount": 7}}, {"x": {"unit": "230822", "amount": 1}}]},
     {"rows": [{"x": {"unit": "230822", "amount": 1}}]}),
    ({"unit": "230881", "total": 99}, {}),
    ({"shares": [{"unit": "230822", "amount": 1}, {"unit": "230881", "amount": 2}], "year": 2023},
     {"shares": [{"unit": "230822", "amount": 1}], "year": 2023}),
])
def test_an_entrys_source_names_no_other_unit_for_an_officer(ledger_db, source, mine):
    fin = ledger_db.connect("fin", autocommit=True)
    legs = [{"account": a, "unit": u, "side": s, "amount": 1}
            for u in ("230822", "230881") for a, s in (("1101", "D"), ("2001", "C"))]
    key = f"src-{uuid.uuid4().hex[:8]}"
    doc = {"date": "2023-03-22", "book": "RES", "memo": "two units", "kind": "manual", "idempotency_key": key,
           "source": source,
           "postings": legs}
    eid = fin.execute("SELECT entry_id FROM fl.post_entries(%s::jsonb)", (json.dumps(doc),)).fetchone()["entry_id"]
    o22 = ledger_db.connect("o22", autocommit=True)
    assert o22.execute("SELECT fl.entry_source(%s) AS s", (eid,)).fetchone()["s"] == mine
    shown = ledger_db.cli("entry", "show", str(eid), "--json", user="o22")
    assert shown.exit_code == 0 and "230881" not in shown.stdout, shown
    # City roles read it whole.
    assert fin.execute("SELECT fl.entry_source(%s) AS s", (eid,)).fetchone()["s"] == source


def test_a_control_character_an_officer_wrote_does_not_stop_the_workbooks(ledger_db, tmp_path):
    """B19: openpyxl refuses C0 controls in a cell; one ESC in a note made the requests
    register (and the vouchers, for a memo) end in a traceback for every reviewer."""
    from openpyxl import load_workbook

    o22 = ledger_db.connect("o22", autocommit=True)
    o22.execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, 3, 100, %s, 'ctl-1')",
                ("q3 \x1b[31mred\x07 x",))
    out = tmp_path / "requests.xlsx"
    r = ledger_db.cli("report", "requests", "--year", "2023", "--xlsx", str(out), user="rev")
    assert r.exit_code == 0 and "Traceback" not in r.stderr, r
    cells = [str(c.value) for row in load_workbook(out).active.iter_rows() for c in row if c.value is not None]
    assert any("q3 \u241b[31mred\u2407 x" in c for c in cells), cells
