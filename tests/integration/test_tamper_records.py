"""The insider against the records beside the journal (issue 15) and the components rule
(issue 16): a superuser with every trigger off rewrites a stored year-close result, an
import line's reference or entry, an operations-log row or a monitor acknowledgement, or
makes one component pay for another. Both passes of ``verify`` (the in-database first
pass and the independent verdict) must fail and name the row, unit or account; an
export must carry the histories so that ``verify --offline`` names them too."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ledger.store import yearend

# `server` per test (2026-12-07, srvsel): the tests whose subject can differ between PostgreSQL 15 and 18;
# the others check the ledger's own rules, readers and the verdicts' Python, the same on any server.
pytestmark = pytest.mark.db

DATA = __import__("pathlib").Path(__file__).parent / "data"


def _verify(ledger_db) -> dict:
    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code in (0, 1), res
    return res.json()


def _failed(checks: list[dict]) -> dict[str, list[dict]]:
    return {c["name"]: c["findings"] for c in checks if not c["ok"]}


def _both(doc: dict) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    return _failed(doc["checks"]), _failed(doc["independent"]["checks"])


def _accounts(findings: list[dict]) -> str:
    return " | ".join(f["account"] or "" for f in findings)


def _tamper(ledger_db, *statements: tuple[str, tuple]) -> None:
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")   # every trigger off, the history's included
    for q, args in statements:
        c.execute(q, args)
    c.execute("SET session_replication_role = origin")


def test_a_stored_year_close_result_rewritten_is_named(sample_db):
    rev = sample_db.connect("rev")
    yearend.close_year(rev, 2023, dt.date(2023, 12, 31))
    rev.commit()
    doc = _verify(sample_db)
    assert doc["ok"] is True, _both(doc)
    _tamper(sample_db, ("""UPDATE fl.year_close SET result = jsonb_set(result, '{note}', '"rewritten"')
                            WHERE year = 2023 AND book = 'RES'""", ()))
    doc = _verify(sample_db)
    first, ind = _both(doc)
    for failed in (first, ind):
        assert "histories" in failed, failed
        text = _accounts(failed["histories"])
        assert "fl.year_close book=RES, year=2023" in text, text
        assert any("result now" in f["message"] for f in failed["histories"])


def test_import_line_reference_and_entry_rewritten_name_their_batch(ledger_db):
    r = ledger_db.cli("collect", "import", str(DATA / "collections.csv"), user="fin")
    assert r.exit_code == 0, r
    c = ledger_db.admin()
    lines = c.execute("SELECT namespace, reference, entry_id FROM fl.import_line ORDER BY reference").fetchall()
    assert len(lines) >= 2 and _verify(ledger_db)["ok"] is True
    a, b = lines[0], lines[1]
    _tamper(ledger_db,
            ("UPDATE fl.import_line SET reference = 'FORGED-1' WHERE namespace = %s AND reference = %s",
             (a["namespace"], a["reference"])),
            ("UPDATE fl.import_line SET entry_id = %s WHERE namespace = %s AND reference = %s",
             (a["entry_id"], b["namespace"], b["reference"])))
    first, ind = _both(_verify(ledger_db))
    batch = c.execute("SELECT DISTINCT batch_id FROM fl.import_line").fetchone()["batch_id"]
    for failed in (first, ind):
        # Since 0057 the history keeps one digest per batch (not a version per line): the
        # batch whose lines were rewritten is named.
        hist = failed["histories"]
        named = [f for f in hist if f["account"] == f"fl.import_line batch_id={batch}"]
        assert named and "differ from the digest" in named[0]["message"], hist


def _ack_and_operation(ledger_db) -> tuple[int, int]:
    # (after sample_ledger: 230822 has figures from 2023-01-10, before the warning's start)
    rev = ledger_db.connect("rev")   # a red is acknowledged by the city (0022), with an idempotency key
    ack = rev.execute("SELECT a.id FROM fl.monitor_acknowledge('230822', 'RES', 'red', '2023-01-31', '2023-01-31', "
                      "'call the county bureau', 'ack-1') a").fetchone()["id"]
    rev.execute("SELECT fl.monitor_acknowledge('230822', 'RES', 'red', '2023-01-31', '2023-02-28', "
                "'second decision', 'ack-2')")
    rev.commit()
    c = ledger_db.admin()
    for reason in ("nightly", "weekly"):
        c.execute("""INSERT INTO fl.operation_log (action, subject, reason, detail, prev_hash, hash)
                     VALUES ('backup', 'base', %s, '{"bytes": 1}', '\\x', '\\x')""", (reason,))
    c.commit()
    last = c.execute("SELECT max(id) AS id FROM fl.operation_log").fetchone()["id"]
    return ack, last


def test_self_chained_tables_rewritten_or_cut_are_named(sample_db):
    """A rewritten acknowledgement breaks its own link and its history; the operations
    log's last row deleted leaves its own chain whole — the history names it."""
    ack, last_op = _ack_and_operation(sample_db)
    doc = _verify(sample_db)
    assert doc["ok"] is True, _both(doc)
    _tamper(sample_db, ("UPDATE fl.monitor_ack SET decision = 'nothing to do' WHERE id = %s", (ack,)),
            ("DELETE FROM fl.operation_log WHERE id = %s", (last_op,)))
    first, ind = _both(_verify(sample_db))
    for failed in (first, ind):
        assert f"fl.monitor_ack id={ack}" in _accounts(failed["record_links"]), failed.get("record_links")
        text = _accounts(failed["histories"])
        assert f"fl.monitor_ack id={ack}" in text and f"fl.operation_log id={last_op}" in text, text


@pytest.mark.server  # a table created and granted: read from the catalogue
def test_a_later_hooked_table_is_checked_without_code_change(ledger_db):
    """Any table hooked with fl._chain_table is judged by both passes."""
    c = ledger_db.admin()
    c.execute("CREATE TABLE fl.h15_probe (id int PRIMARY KEY, note text)")
    c.execute("GRANT SELECT ON fl.h15_probe TO fl_auditor")
    c.execute("SELECT fl._chain_table('fl.h15_probe', ARRAY['id'])")
    c.execute("INSERT INTO fl.h15_probe VALUES (1, 'as written')")
    c.commit()
    _tamper(ledger_db, ("UPDATE fl.h15_probe SET note = 'rewritten' WHERE id = 1", ()))
    first, ind = _both(_verify(ledger_db))
    for failed in (first, ind):
        assert "fl.h15_probe id=1" in _accounts(failed["histories"])


def _emp_accounts(c) -> dict[str, int]:
    out = {}
    for name, code, holder, comp in (("special_personal", "1003", "special", "personal"),
                                     ("special_pooled", "1003", "special", "pooled"),
                                     ("pharmacy", "5001.pharmacy", "", "personal"),
                                     ("inpatient", "5001.inpatient", "", "pooled")):
        out[name] = c.execute("SELECT fl.account_for('EMP', %s, '230822', %s, %s) AS id",
                              (code, holder, comp)).fetchone()["id"]
    return out


def _forge(c, key: str, debit: int, credit: int, fen: int) -> int:
    e = c.execute("""INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash, created_by,
                                          created_at, created_xid)
                     VALUES ('EMP', '2023-02-10', 'forged', 'manual', %s, '\\x01', 'fin', now(), '1') RETURNING id""",
                  (key,)).fetchone()["id"]
    for acc, side in ((debit, "D"), (credit, "C")):
        c.execute("""INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit)
                     VALUES (%s, %s, %s, %s, '2023-02-10', '230822')""", (e, acc, side, fen))
        d, cr = (fen, 0) if side == "D" else (0, fen)
        c.execute("UPDATE fl.account SET debits = debits + %s, credits = credits + %s, balance = balance + %s "
                  "WHERE id = %s", (d, cr, d - cr, acc))
    return e


def test_components_paying_for_each_other_are_named(sample_db):
    """The employees' book: 230822's special account holds 300,000.00 of pooled money and
    no personal money. Forged with the triggers off: a personal pharmacy payment of
    1,000.00 (personal money −1,000.00) and a pooled payment of 400,000.00 (pooled money
    −100,000.00 in total). Both passes name the unit's personal account and the physical
    account."""
    c = sample_db.admin()
    acc = _emp_accounts(c)
    c.commit()
    bank = c.execute("SELECT bank_account_id AS b FROM fl.account WHERE id = %s",
                     (acc["special_personal"],)).fetchone()["b"]
    assert bank is not None
    c.execute("SET session_replication_role = replica")
    personal = _forge(c, "forged-personal", acc["pharmacy"], acc["special_personal"], 100_000)
    pooled = _forge(c, "forged-pooled", acc["inpatient"], acc["special_pooled"], 40_000_000)
    c.execute("SET session_replication_role = origin")
    first, ind = _both(_verify(sample_db))
    for failed in (first, ind):
        comp = failed["components_separate"]
        by_entry = {f["entry_id"]: f for f in comp}
        assert personal in by_entry and pooled in by_entry, comp
        assert "EMP:1003:230822:special:personal" in (by_entry[personal]["account"] or ""), comp
        assert "230822" in by_entry[personal]["message"] and "personal" in by_entry[personal]["message"]
        assert f"bank #{bank}" in (by_entry[pooled]["account"] or ""), comp
        assert "-100,000.00" in by_entry[pooled]["message"] or "−100,000.00" in by_entry[pooled]["message"], comp
    # The reliability suite's invariants see it too.
    from tests.reliability.invariants import ledger_violations

    said = [v for v in ledger_violations(sample_db.admin()) if "one component paid with another's" in v]
    assert any("personal money of 230822" in v for v in said) and any("pooled money of all units" in v
                                                                        for v in said), said


def test_the_export_carries_the_histories_and_offline_names_them(sample_db, tmp_path):
    from ledger.io import archive

    ack, _ = _ack_and_operation(sample_db)
    out = tmp_path / "export"
    res = sample_db.cli("audit", "export", str(out), "--json", user="aud")
    assert res.exit_code == 0 and res.json()["verified"] is True, res
    assert (out / "history" / "app_user.csv").exists() and (out / "links" / "monitor_ack.csv").exists()
    rep = archive.verify_offline(out, no_digest=True)
    assert rep.ok, [f.as_json() for f in rep.findings]
    names = {c.name for c in rep.checks}
    assert {"history_chain", "histories", "record_links"} <= names

    # A row rewritten in the export's own history file (and its manifest regenerated) is
    # named; so is a rewritten link.
    p = out / "history" / "monitor_ack.csv"
    p.write_text(p.read_text("utf-8").replace("call the county bureau", "nothing to do"), "utf-8")
    q = out / "links" / "monitor_ack.csv"
    q.write_text(q.read_text("utf-8").replace("call the county bureau", "nothing to do"), "utf-8")
    rep = archive.verify_offline(out, no_digest=True)
    failed = {c.name: c for c in rep.checks if not c.ok}
    assert f"fl.monitor_ack id={ack}" in " ".join(f.account or "" for f in failed["histories"].findings)
    assert f"fl.monitor_ack id={ack}" in " ".join(f.account or "" for f in failed["record_links"].findings)
    assert "export_files" in failed
    assert json.loads((out / "manifest.json").read_text())["files"]["history/monitor_ack.csv"]


@pytest.mark.parametrize("case", ["change_amount", "delete_posting", "backdated_insert", "swap_order",
                                  "posting_moved"])
def test_grouped_reading_judges_as_streaming_does(sample_db, sample_ids, case, monkeypatch):
    """The postings read one row per entry (two sessions, or one session and one range below
    ``verify.SECOND_SESSION_FROM`` entries) or one by one: the same findings."""
    from ledger.store import verify
    from ledger.store.verify_independent import verify_independent
    from tests.helpers import entry, leg, post
    from tests.integration.test_tamper import CASES

    def posting_moved(c, ids):
        """A posting moved to another entry: scattered, unbalanced, both digests wrong."""
        pid = c.execute("SELECT min(id) AS id FROM fl.posting WHERE entry_id = %s", (ids["pay-22-1"],)).fetchone()["id"]
        c.execute("UPDATE fl.posting SET entry_id = %s WHERE id = %s", (ids["o22-feb"], pid))

    ids = sample_ids
    fin = sample_db.connect("fin")
    post(fin, entry("interleaved", "2023-02-06", "RES", leg("5001.outpatient", "230822", "D", "1.00"),
                    leg("1004", "230822", "C", "3.00", "county_exp"), leg("5001.inpatient", "230822", "D", "2.00"),
                    leg("5001.outpatient", "230822", "D", "4.00"), leg("1004", "230822", "C", "4.00", "county_exp")))
    fin.commit()
    if case == "change_amount":       # untouched: every entry judged from its grouped row but the
        clean = verify_independent(sample_db.connect("aud"))   # reversal and its original (2)
        assert clean.ok and clean.extra["entries_reread"] == 2, [f.as_json() for f in clean.findings]
    tamper = posting_moved if case == "posting_moved" else CASES[case][0]
    c = sample_db.admin()
    c.execute("SET session_replication_role = replica")
    tamper(c, ids)
    c.execute("SET session_replication_role = origin")
    c.commit()
    aud = sample_db.connect("aud")
    alone = verify_independent(aud)      # ten entries: one session, one range of postings
    assert (alone.extra["sessions"], alone.extra["processes"]) == (1, 1), alone.extra
    monkeypatch.setattr(verify, "SECOND_SESSION_FROM", 0)      # the two-session readings, on the same rows
    got = [verify_independent(aud, grouped=True), verify_independent(aud, grouped=False),
           verify_independent(aud, grouped=True, fork=False), alone]
    # The forked child judges the jobs it takes from the shared counter: on a loaded machine
    # the parent may take them all before the child has connected (then one session is
    # reported, truthfully). Either way the findings below must be the same.
    assert (got[0].extra["sessions"], got[0].extra["processes"]) in ((2, 2), (1, 1)), got[0].extra
    assert got[2].extra["sessions"] == 2 and got[2].extra["processes"] == 1      # a thread did
    a, b, c, d = ({(f.check, f.entry_id, f.account, f.message) for f in r.findings} for r in got)
    assert a == b == c == d and a, (a ^ b, b ^ c, c ^ d)


def test_a_later_version_of_a_row_kept_by_digest_is_judged_and_named(sample_db, sample_ids):
    """The verdict keeps the latest versions of entries and held lines as digests (memory);
    a later version of one — here an entry's reason changed with its append-only guard
    off and the history's triggers on, so the history records the UPDATE — is judged beside
    the version before it, read again by id: named with the field, as for any other table.
    And a held entry's lines changed with the triggers off are named by their digest."""
    from ledger.store.verify_independent import verify_independent

    ids = sample_ids
    eid = ids["pay-22-1"]
    c = sample_db.admin()
    c.execute("ALTER TABLE fl.entry DISABLE TRIGGER entry_append_only")
    c.execute("UPDATE fl.entry SET reason = 'forged after the fact' WHERE id = %s", (eid,))
    c.execute("ALTER TABLE fl.entry ENABLE TRIGGER entry_append_only")
    held = c.execute("SELECT min(pending_id) AS p FROM fl.pending_posting").fetchone()["p"]
    assert held is not None          # sample_ledger's expenditure is held for a second person (0036)
    if held is not None:
        c.execute("SET session_replication_role = replica")
        c.execute("UPDATE fl.pending_posting SET memo = 'rewritten' WHERE pending_id = %s AND pos = 1", (held,))
        c.execute("SET session_replication_role = origin")
    c.commit()
    rep = verify_independent(sample_db.connect("aud"))
    got = {f.account: f.message for f in rep.findings if f.check == "histories"}
    assert "forged after the fact" in got.get(f"fl.entry id={eid}", ""), got
    assert "changed after it was written" in got[f"fl.entry id={eid}"], got
    if held is not None:
        assert "rewritten" in got.get(f"fl.pending_posting pending_id={held}", ""), got


def test_a_held_entrys_decision_passes_and_a_forged_update_of_it_is_named(sample_db):
    """The verdict keeps a held entry's latest version as a digest and the columns the
    actors check reads (memory): its decision — an UPDATE of the columns the release
    changes — is no finding, but an UPDATE of another column recorded by the history (the
    guard off, the history's triggers on) is named with the field, by every reading."""
    from ledger.store.verify_independent import verify_independent

    c = sample_db.admin()
    row = c.execute("SELECT min(id) AS id FROM fl.pending_entry WHERE state = 'confirmed'").fetchone()
    assert row["id"] is not None          # sample_ledger's expenditure was held and confirmed (0036)
    pid = row["id"]
    clean = verify_independent(sample_db.connect("aud"))
    assert clean.ok, [f.as_json() for f in clean.findings]
    c.execute("ALTER TABLE fl.pending_entry DISABLE TRIGGER pending_entry_guard")
    c.execute("UPDATE fl.pending_entry SET memo = 'forged after the decision' WHERE id = %s", (pid,))
    c.execute("ALTER TABLE fl.pending_entry ENABLE TRIGGER pending_entry_guard")
    c.commit()
    aud = sample_db.connect("aud")
    got = [verify_independent(aud), verify_independent(aud, grouped=False, fork=False)]
    named = [{f.account: f.message for f in r.findings if f.check == "histories"} for r in got]
    for n in named:
        msg = n.get(f"fl.pending_entry id={pid}", "")
        assert "changed after it was written" in msg and "forged after the decision" in msg, n
    a, b = ({(f.check, f.account, f.message) for f in r.findings} for r in got)
    assert a == b, a ^ b
