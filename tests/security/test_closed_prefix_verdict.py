"""ATTACK16b D1's twin in the verdicts: an entry dated before a closed month, sealed after its close.

0128 made the posting check refuse an entry dated on or before the last day of the latest closed
month (a closed month is a prefix of the books), but both verdicts judged an entry by its own
month's close only. A superuser who writes with the triggers off (``session_replication_role =
replica``) an entry dated in a month left open under a closed one — here February 2024, skipped
when January and March were closed under the release before 0123 — moved closed March's balance
sheet, and ``verify`` (first pass and independent verdict) and ``verify --offline`` said nothing.

Safe behaviour asserted: ``closed_periods`` names such an entry in the first pass, the independent
verdict online and offline (by its timestamps, and by the chain position the close recorded when
its timestamps are forged back); the posting check's exemptions stay exempt in the verdicts too (a
reversal dated in its original's year); a ledger that held such an entry before the rule took
effect (rule point ``closed_prefix``, 0131) is judged as before — tests/integration/test_upgrade.py,
test_upgrade_0131."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

from ledger.store import verify
from tests.helpers import collect, confirmed, post
from tests.security.test_attack16b_upgraded_month_order import _previous_close_period

pytestmark = pytest.mark.db

U22 = "230822"


def _out_of_order(db) -> int:  # type: ignore[no-untyped-def]
    """January and March 2024 closed by the release before 0123 (February skipped, holding one
    collection written before the closes); then 0123's close is back (the upgrade). Returns
    February's collection."""
    fin = db.connect("fin")
    post(fin, collect("c22-jan", "2024-01-10", U22, "1000.00"))
    feb = post(fin, collect("c22-feb", "2024-02-10", U22, "1000.00"))[0]["entry_id"]
    post(fin, collect("c22-mar", "2024-03-10", U22, "1000.00"))
    fin.commit()
    a = db.admin()
    current = a.execute("SELECT pg_get_functiondef('fl.close_period(date,text)'::regprocedure) AS d").fetchone()["d"]
    a.execute(_previous_close_period())
    try:
        rev = db.connect("rev", autocommit=True)
        rev.execute("SELECT fl.close_period('2024-01-01', 'monthly close')")
        rev.execute("SELECT fl.close_period('2024-03-01', 'monthly close')")
    finally:
        a.execute(current)
    return int(feb)


def _forge(c, date: str, stamp: dt.datetime) -> int:  # type: ignore[no-untyped-def]
    """A superuser's entry, triggers off: dated ``date`` with its postings, a correctly chained seal
    with the next voucher number and the chain head moved on (as tests/integration/test_tamper's
    backdated_insert, in 2024)."""
    c.execute("SET session_replication_role = replica")
    e = c.execute("""INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash, created_by,
                                          created_at, created_xid)
                     VALUES ('RES', %s, 'late collection', 'manual', 'forged-d1', '\\x01', 'fin', %s, '1')
                     RETURNING id""", (date, stamp)).fetchone()["id"]
    acc = {code: c.execute("SELECT fl.account_for('RES', %s, %s, %s, '') AS id", (code, U22, h)).fetchone()["id"]
           for code, h in (("1003", "special"), ("4001", ""))}
    for code, side in (("1003", "D"), ("4001", "C")):
        c.execute("""INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit)
                     VALUES (%s, %s, %s, 5000000, %s, %s)""", (e, acc[code], side, date, U22))
    c.execute("SET DateStyle = 'ISO, YMD'")
    digest = bytes(c.execute(f"SELECT sha256(convert_to(canonical, 'UTF8')) AS d FROM ({verify.CANONICAL_SQL}) v "
                             "WHERE entry_id = %s", (e,)).fetchone()["d"])
    last = c.execute("SELECT seq, hash FROM fl.seal ORDER BY seq DESC LIMIT 1").fetchone()
    vno = c.execute("SELECT max(voucher_no) + 1 AS n FROM fl.seal WHERE book = 'RES' AND fiscal_year = 2024"
                    ).fetchone()["n"]
    h = hashlib.sha256(bytes(last["hash"]) + digest + str(vno).encode()).digest()
    c.execute("""INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash,
                                      sealed_at) VALUES (%s, %s, 'RES', 2024, %s, %s, %s, %s, %s)""",
              (e, last["seq"] + 1, vno, digest, last["hash"], h, stamp + dt.timedelta(seconds=1)))
    c.execute("UPDATE fl.chain_head SET seq = %s, hash = %s", (last["seq"] + 1, h))
    c.execute("UPDATE fl.voucher_counter SET last_no = %s WHERE book = 'RES' AND fiscal_year = 2024", (vno,))
    c.execute("SET session_replication_role = origin")
    c.commit()
    return int(e)


def _closed(report: dict[str, Any], independent: bool) -> list[dict[str, Any]]:
    part = report.get("independent") if independent else report
    assert part, report.keys()
    return [f for c in part["checks"] if c["name"] == "closed_periods" for f in c["findings"]]


def test_an_entry_forged_under_a_closed_month_is_named_by_both_verdicts(ledger_db, tmp_path: Path) -> None:
    _out_of_order(ledger_db)
    forged = _forge(ledger_db.admin(), "2024-02-20", dt.datetime.now(dt.UTC))
    r = ledger_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r.stdout[-2000:]
    doc = r.json()
    first = [f for f in _closed(doc, False) if f.get("entry_id") == forged]
    assert first and "before 2024-03" in first[0]["message"], _closed(doc, False)
    ind = [f for f in _closed(doc, True) if f.get("entry_id") == forged]
    assert ind and "before 2024-03" in ind[0]["message"] and "chain position" in ind[0]["message"], _closed(doc, True)

    export = tmp_path / "export"
    assert ledger_db.cli("audit", "export", str(export), user="aud").exit_code == 0
    off = ledger_db.cli("verify", "--offline", str(export), "--no-digest", "--json")
    assert off.exit_code == 1
    assert any(f.get("entry_id") == forged and "before 2024-03" in f["message"]
               for f in _closed(off.json(), False)), off.stdout[-2000:]


def test_timestamps_forged_back_do_not_hide_it_from_the_chain(ledger_db) -> None:
    """Stamped before March's close, the entry passes the first pass's timestamps; the chain
    position March's close recorded still places it after the close (the independent verdict)."""
    _out_of_order(ledger_db)
    forged = _forge(ledger_db.admin(), "2024-02-20", dt.datetime(2024, 2, 20, 10, tzinfo=dt.UTC))
    r = ledger_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 1, r.stdout[-2000:]
    assert any(f.get("entry_id") == forged and "chain position" in f["message"] and "before 2024-03" in f["message"]
               for f in _closed(r.json(), True)), _closed(r.json(), True)


def test_the_posting_checks_way_out_stays_open_in_the_verdicts(ledger_db, tmp_path: Path) -> None:
    """A reversal dated in its original's year under a closed month is what 0128 lets through (the
    one way out of an entry a ledger written before left there): no verdict names it."""
    feb = _out_of_order(ledger_db)
    fin = ledger_db.connect("fin")
    confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, %s, %s, %s)", (feb, "wrong unit", "2024-02-20", "rev-feb"))
    fin.commit()
    r = ledger_db.cli("verify", "--json", user="aud")
    assert r.exit_code == 0, r.stdout[-3000:]
    export = tmp_path / "export"
    assert ledger_db.cli("audit", "export", str(export), user="aud").exit_code == 0
    off = ledger_db.cli("verify", "--offline", str(export), "--no-digest", "--json")
    assert off.exit_code == 0, off.stdout[-2000:]


def test_the_independent_verdict_binds_from_the_rule_point() -> None:
    """What a ledger held before the rule took effect (rule point closed_prefix: its upgrade) is judged
    as before: three entries dated January and written after February's close (as a ledger closed out
    of order before 0123 held them) are named with the point at 0, and not with the point at 3; an
    entry above the point is."""
    from ledger.core import proof
    from tests.unit.test_proof_columns import _entry, _run, _seals, _tables, _texts

    seals = _seals(_texts(), [1, 2, 3])
    tables = {**_tables([_entry(1), _entry(2), _entry(3)], seals),
              "closed_period": [["2023-02-01", "rev", "2023-01-05 09:00:00+00", "closed before January"]]}

    def named(after: int) -> list[int | None]:
        rep, _p = proof.run(lambda t: tables[t], closed_prefix_after=after)
        return [f.entry_id for f in rep.findings if f.check == "closed_periods"]

    assert named(0) == [1, 2, 3]
    assert named(3) == []
    assert named(2) == [3]
    assert _run(tables)[0].ok is False          # the default binds every entry (the strictest reading)


def test_the_first_pass_binds_from_the_rule_point(ledger_db) -> None:
    """verify's query reads the point from fl.rule_point: an entry at or below it is judged as before
    (here the point is moved for one rolled-back transaction, as an upgrade would have placed it)."""
    _out_of_order(ledger_db)
    forged = _forge(ledger_db.admin(), "2024-02-20", dt.datetime.now(dt.UTC))
    sql = next(c for c in verify.CHECKS if c.name == "closed_periods").queries[1].sql
    a = ledger_db.admin()
    assert [r["entry_id"] for r in a.execute(sql).fetchall()] == [forged]
    a.execute("SET session_replication_role = replica")
    a.execute("UPDATE fl.rule_point SET after_entry = %s WHERE rule = 'closed_prefix'", (forged,))
    assert a.execute(sql).fetchall() == []
    a.rollback()
