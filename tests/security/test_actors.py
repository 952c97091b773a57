"""ATTACK6 T2 (a)-(f) and T8, as the insider does them: the superuser rewrites the columns
fundledger itself changes (``histories.MUTABLE``) with a plain UPDATE — triggers on, so the
history records every change faithfully, as the superuser's — or forges a whole approval by
INSERT + UPDATE, or changes a "who" column's DEFAULT. ``histories`` found nothing (a
permitted column, recorded): the ``actors`` check of the independent verdict
(ledger.core.actors) re-derives each value from its evidence and compares every row's own
"who" with the login of the history version that wrote it.

One ledger is built (a handover with registers, a register clearing, a request through
every step, held entries confirmed, rejected and still held) and verified clean; each
tamper then runs on its own copy (CREATE DATABASE … TEMPLATE) and must be named."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import CLONE, LedgerDB, copy_database_acl
from tests.helpers import collect, confirm_openings, entry, leg, post
from tests.integration.test_imports import DATA

pytestmark = pytest.mark.db


def _money_out(key: str, yuan: str = "1000.00") -> str:
    return json.dumps(entry(key, "2023-03-10", "RES", leg("1004", "230822", "D", yuan, "county_exp"),
                            leg("1003", "230822", "C", yuan, "special")))


def _actors(doc: dict) -> list[dict]:  # type: ignore[type-arg]
    return [f for c in doc["independent"]["checks"] if c["name"] == "actors" for f in c["findings"]]


def _verify(db: LedgerDB) -> dict:  # type: ignore[type-arg]
    r = db.cli("verify", "--json", user="aud")
    assert r.exit_code in (0, 1), r
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def built(pg_server, template_db) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The workflow ledger, once per module: a template the tampers copy."""
    name = f"fl_act_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}" {CLONE}')
        copy_database_acl(c, name, template_db)
    db = LedgerDB(pg_server, name)
    try:
        assert db.cli("handover", "open", str(DATA / "opening.csv"), "--date", "2023-01-01", user="rev").exit_code == 0
        confirm_openings(db)
        fin = db.connect("fin", autocommit=True)
        post(fin, collect("seed-22", "2023-01-05", "230822", "100000.00"))
        item = db.admin().execute("SELECT id FROM fl.register_item WHERE kind = 'fiscal_arrears' ORDER BY id"
                                  ).fetchone()["id"]
        r = db.cli("register", "clear", str(item), "--amount", "1000.00", "--date", "2023-03-01", user="fin")
        assert r.exit_code == 0, r
        o22, rev, rev2 = (db.connect(u, autocommit=True) for u in ("o22", "rev", "rev2"))
        for q, key in ((1, "rq-1"), (2, "rq-2")):
            o22.execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, %s, 150000, 'q', %s)", (q, key))
        rev.execute("SELECT id FROM fl.request_approve(1, NULL, '2023-01-20')")   # (0126) its business date
        fin.execute("SELECT id FROM fl.request_disburse(1, '2023-02-01', NULL)")
        rev2.execute("SELECT id FROM fl.request_settle(1, '2023-03-01', NULL)")
        held = [rev.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_money_out(f"h-{i}"),)).fetchone()["held_id"]
                for i in range(3)]
        fin.execute("SELECT * FROM fl.confirm_entry(%s)", (held[0],))
        rev2.execute("SELECT * FROM fl.reject_entry(%s, 'dup')", (held[1],))
        doc = _verify(db)
        assert doc["ok"] is True and _actors(doc) == [], (_actors(doc), [c for c in doc["independent"]["checks"]
                                                                          if not c["ok"]])
        assert any(c["name"] == "actors" and c["checked"] > 10 for c in doc["independent"]["checks"])
    finally:
        db.close()
    yield name
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def copy(pg_server, built: str) -> Iterator[LedgerDB]:  # type: ignore[no-untyped-def]
    name = f"fl_actc_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{built}" {CLONE}')
        copy_database_acl(c, name, built)
    db = LedgerDB(pg_server, name)
    yield db
    db.close()
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tampered(db: LedgerDB, *statements: str) -> list[dict]:  # type: ignore[type-arg]
    """The statements as the superuser (triggers on: each change recorded, as postgres's),
    then verify as the auditor: it fails and the actors check names what was done."""
    su = db.admin()
    with su.transaction():
        for q in statements:
            su.execute(q)
    doc = _verify(db)
    assert doc["ok"] is False
    return _actors(doc)


def _says(findings: list[dict], account: str, *words: str) -> None:  # type: ignore[type-arg]
    hits = [f for f in findings if f["account"] == account and all(w in f["message"] for w in words)]
    assert hits, (account, words, [(f["account"], f["message"]) for f in findings])


def test_a_register_item_cleared_without_a_clearing_is_named(copy: LedgerDB) -> None:
    """T2 (a): the local government's arrears 'cleared' with no clearing row and no entry."""
    item = copy.admin().execute("SELECT id, amount FROM fl.register_item WHERE kind = 'fiscal_arrears' ORDER BY id"
                                ).fetchone()
    f = _tampered(copy, f"UPDATE fl.register_item SET cleared = {item['amount']} WHERE id = {item['id']}")
    _says(f, f"fl.register_item id={item['id']}", "its clearings sum to 100000")
    _says(f, f"fl.register_item id={item['id']}", "postgres", "not a fundledger user")


def test_the_approver_rewritten_is_named(copy: LedgerDB) -> None:
    """T2 (b): the row says rev2, the approve event says rev."""
    f = _tampered(copy, "UPDATE fl.fund_request SET approved_by = 'rev2' WHERE id = 1")
    _says(f, "fl.fund_request id=1", "approved_by says rev2", "was rev's")
    assert any(x["request_id"] == 1 for x in f)


def test_the_approved_amount_rewritten_is_named(copy: LedgerDB) -> None:
    """T2 (c): a settled request claims 1,000.00 approved while 1,500.00 was disbursed and settled."""
    f = _tampered(copy, "UPDATE fl.fund_request SET amount_approved = 100000 WHERE id = 1")
    _says(f, "fl.fund_request id=1", "amount_approved says 100000", "approved 150000")


def test_the_disbursement_pointed_at_another_entry_is_named(copy: LedgerDB) -> None:
    """T2 (d): the disbursement now points at an unrelated entry (the first collection)."""
    f = _tampered(copy, "UPDATE fl.fund_request SET disburse_entry = 1 WHERE id = 1")
    _says(f, "fl.fund_request id=1", "disburse_entry says 1")
    _says(f, "fl.fund_request id=1", "disburse_entry 1 is a", "not this request's request_disburse")


def test_a_rejection_by_someone_who_never_saw_it_is_named(copy: LedgerDB) -> None:
    """T2 (e): the still-held entry 'rejected by rev2', written by the superuser."""
    held = copy.admin().execute("SELECT id FROM fl.pending_entry WHERE state = 'held'").fetchone()["id"]
    f = _tampered(copy, "UPDATE fl.pending_entry SET state = 'rejected', decided_by = 'rev2', decided_at = now(), "
                        f"decision_reason = 'dup' WHERE id = {held}")
    _says(f, f"fl.pending_entry id={held}", "decided_by says rev2", "recorded by postgres")


def test_a_forged_approval_is_named(copy: LedgerDB) -> None:
    """T2 (f): a whole approval forged by INSERT + UPDATE (request 2, submitted by o22)."""
    f = _tampered(copy,
                  "INSERT INTO fl.request_event (request_id, action, from_state, to_state, amount, actor, client_addr) "
                  "VALUES (2, 'approve', 'submitted', 'approved', 150000, 'rev', '127.0.0.1')",
                  "UPDATE fl.fund_request SET state = 'approved', amount_approved = 150000, approved_by = 'rev' "
                  "WHERE id = 2",
                  "UPDATE fl.bank_account SET reserved = reserved + 150000 WHERE holder = 'special' AND book = 'RES'")
    ev = [x for x in f if x["account"].startswith("fl.request_event")]
    assert any("actor says rev but the row was inserted by postgres" in x["message"] for x in ev), f
    assert any("approve event was written by postgres" in x["message"] for x in ev), f
    _says(f, "fl.fund_request id=2", "its change to approved was written by postgres")


def test_a_default_that_names_someone_else_is_named(copy: LedgerDB) -> None:
    """T8: the DBA changes made_by's DEFAULT (and, since 0048, switches off the trigger that
    stamps the writer's own name — itself a catalogue finding); the reviewer's next held entry
    is filed under rev2's name, so rev2 could confirm it "as a second person". The verifier
    compares the row's maker with the history's writer and with the key's namespace."""
    su = copy.admin()
    su.execute("ALTER TABLE fl.pending_entry ALTER COLUMN made_by SET DEFAULT 'rev2'")
    if su.execute("SELECT 1 FROM pg_trigger WHERE tgname = 'pending_entry_0who'").fetchone():
        su.execute("ALTER TABLE fl.pending_entry DISABLE TRIGGER pending_entry_0who")
    rev = copy.connect("rev", autocommit=True)
    rev.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_money_out("self-2"),))
    made = su.execute("SELECT id, made_by FROM fl.pending_entry WHERE idempotency_key = 'manual:rev:self-2'").fetchone()
    assert made["made_by"] == "rev2"
    f = _actors(_verify(copy))
    _says(f, f"fl.pending_entry id={made['id']}", "made_by says rev2 but the row was inserted by rev")
    _says(f, f"fl.pending_entry id={made['id']}", "namespace")


def test_who_and_when_are_the_writers_whatever_the_default(copy: LedgerDB) -> None:
    """T8's write side (0048): the DBA's defaults name someone else; the rows name the writer."""
    su = copy.admin()
    su.execute("ALTER TABLE fl.pending_entry ALTER COLUMN made_by SET DEFAULT 'rev2'")
    su.execute("ALTER TABLE fl.pending_entry ALTER COLUMN made_at SET DEFAULT '2001-01-01'")
    su.execute("ALTER TABLE fl.request_event ALTER COLUMN actor SET DEFAULT 'rev2'")
    su.execute("ALTER TABLE fl.record_log ALTER COLUMN actor SET DEFAULT 'rev2'")
    mark = su.execute("SELECT max(id) AS m FROM fl.record_log").fetchone()["m"]
    rev = copy.connect("rev", autocommit=True)
    rev.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (_money_out("self-3"),))
    made = su.execute("SELECT id, made_by, made_at > now() - interval '1 hour' AS now FROM fl.pending_entry "
                      "WHERE idempotency_key = 'manual:rev:self-3'").fetchone()
    assert (made["made_by"], made["now"]) == ("rev", True)
    # rev cannot confirm its own held entry, whatever the default says.
    with pytest.raises(psycopg.Error) as e:
        rev.execute("SELECT * FROM fl.confirm_entry(%s)", (made["id"],))
    assert e.value.diag.constraint_name == "maker_checker"
    # The separation of duties reads the real actor: rev approved request 2, so it may not settle... and
    # the approve event names rev, not the default's rev2.
    rev.execute("SELECT id FROM fl.request_approve(2, NULL)")
    ev = su.execute("SELECT actor FROM fl.request_event WHERE request_id = 2 AND action = 'approve'").fetchone()
    assert ev["actor"] == "rev"
    actors = {r["actor"] for r in su.execute("SELECT DISTINCT actor FROM fl.record_log WHERE id > %s",
                                             (mark,)).fetchall()}
    assert actors == {"rev"}, actors


def test_a_held_entry_made_with_source_null_confirms_into_evidence_the_verdict_reads(copy: LedgerDB) -> None:
    """The CLI sends ``"source": null`` for an entry without evidence; before 0054 the
    confirmation stored [null, {held, made_by, confirmed_by}] and the actors check named
    every such confirmation (a plain fin-makes, rev-confirms through the CLI)."""
    doc = json.loads(_money_out("cli-null", "10.00"))
    doc["source"] = None
    r = copy.cli("entry", "post", "-", "--json", user="fin", input=json.dumps([doc]))
    assert r.exit_code == 0, r
    [out] = r.json()
    assert out["status"] == "held", out
    assert copy.cli("entry", "confirm", str(out["held_id"]), user="rev").exit_code == 0
    src = copy.admin().execute("SELECT e.source FROM fl.entry e JOIN fl.pending_entry p ON p.entry_id = e.id "
                               "WHERE p.id = %s", (out["held_id"],)).fetchone()["source"]
    assert src == {"held": out["held_id"], "made_by": "fin", "confirmed_by": "rev"}, src
    v = _verify(copy)
    assert v["ok"] is True and _actors(v) == [], _actors(v)


def test_the_array_an_earlier_confirmation_left_is_read_as_its_object() -> None:
    from ledger.core.actors import entry_source

    ev = {"held": 3, "made_by": "fin", "confirmed_by": "rev"}
    assert entry_source([None, ev]) == ev
    assert entry_source(ev) == ev
    assert entry_source([1, ev]) == {} and entry_source("x") == {} and entry_source(None) == {}
