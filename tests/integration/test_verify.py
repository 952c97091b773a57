"""``fundledger verify`` on clean ledgers: every check runs, holds, and agrees with the database."""

from __future__ import annotations

import pytest

from ledger.store import verify
from tests.helpers import collect, confirmed, entry, leg, pay_from_special, post

# `server` per test (2026-12-07, srvsel): the tests whose subject can differ between PostgreSQL 15 and 18;
# the others check the ledger's own rules, readers and the verdicts' Python, the same on any server.
pytestmark = pytest.mark.db


def sample_ledger(ledger_db) -> dict[str, int]:
    """A small ledger touching every check: two books, units, a pooled and a county account,
    a reversal, a closed period, a transaction with several entries. Returns entry ids by key."""
    fin = ledger_db.connect("fin")
    ids: dict[str, int] = {}
    for r, key in zip(post(fin, collect("col-22-jan", "2023-01-10", "230822", "1000000.00"),
                           collect("col-81-jan", "2023-01-11", "230881", "500000.00"),
                           collect("col-22-emp", "2023-01-12", "230822", "300000.00", book="EMP", component="pooled")),
                      ["col-22-jan", "col-81-jan", "col-22-emp"], strict=True):
        ids[key] = r["entry_id"]
    fin.commit()
    # Pre-allocation to the county expenditure account, then a benefit paid from it.
    rows = post(fin, entry("pre-22", "2023-01-15", "RES", leg("1004", "230822", "D", "250000.00", "county_exp"),
                           leg("1003", "230822", "C", "250000.00", "special")),
                entry("pay-22-1", "2023-01-20", "RES", leg("5001.inpatient", "230822", "D", "1234.56"),
                      leg("1004", "230822", "C", "1234.56", "county_exp")),
                pay_from_special("pay-81-1", "2023-01-21", "230881", "777.77"))
    fin.commit()
    ids.update({"pre-22": rows[0]["entry_id"], "pay-22-1": rows[1]["entry_id"], "pay-81-1": rows[2]["entry_id"]})
    r = confirmed(fin, "SELECT * FROM fl.reverse_entry(%s, %s, %s, %s)",
                  (ids["pay-81-1"], "wrong provider", "2023-01-25", "rev-pay-81-1"))
    fin.commit()
    ids["rev-pay-81-1"] = r["entry_id"]
    rev = ledger_db.connect("rev")
    rev.execute("SELECT fl.close_period('2023-01-01', 'January closed')")
    rev.commit()
    o22 = ledger_db.connect("o22")
    r = post(o22, entry("o22-feb", "2023-02-03", "RES", leg("5001.outpatient", "230822", "D", "100.00"),
                        leg("1004", "230822", "C", "100.00", "county_exp"), memo="门诊 O'Brien; \\ test"))[0]
    o22.commit()
    ids["o22-feb"] = r["entry_id"]
    return ids


@pytest.mark.server  # every check of a clean ledger, the catalogue's included, on this server
def test_clean_ledger_verifies_through_the_cli(ledger_db):
    sample_ledger(ledger_db)
    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code == 0, res
    doc = res.json()
    assert doc["ok"] is True
    names = [c["name"] for c in doc["checks"]]
    assert names == verify.check_names()
    assert set(doc["checks"][0]) == {"name", "description", "ok", "checked", "findings", "omitted"}
    by = {c["name"]: c for c in doc["checks"]}
    assert by["entry_balanced"]["checked"] == 8
    assert by["hash_chain"]["checked"] == 8
    assert by["reversals"]["checked"] == 1
    assert all(c["ok"] and c["findings"] == [] for c in doc["checks"])
    assert doc["entries"] == 8 and doc["postings"] == 16

    text = ledger_db.cli("verify", user="aud")
    assert text.exit_code == 0 and "all invariants hold" in text.stdout
    # Reviewers and finance see every unit too; an officer would see a partial ledger.
    assert ledger_db.cli("verify", "--json", user="rev").exit_code == 0
    off = ledger_db.cli("verify", user="o22")
    assert off.exit_code == 1 and "permission_denied" in off.stderr and "auditor" in off.stderr
    only = ledger_db.cli("verify", "--check", "vouchers", "--json", user="aud").json()
    assert [c["name"] for c in only["checks"]] == ["vouchers"]
    assert ledger_db.cli("verify", "--check", "nope", user="aud").exit_code == 1


def test_empty_ledger_verifies(ledger_db):
    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code == 0, res
    assert res.json()["ok"] is True


@pytest.mark.server  # the server's printing of values under DateStyle
def test_set_based_canonical_text_equals_the_sealing_function(ledger_db):
    """verify reimplements fl.entry_canonical set-based; both must give the same text, and
    its sha256 must be the digest the seal stored."""
    sample_ledger(ledger_db)
    c = ledger_db.connect("aud")
    c.execute("SET DateStyle = 'ISO, YMD'")
    rows = c.execute(f"""SELECT v.entry_id, v.canonical, fl.entry_canonical(v.entry_id) AS fn,
                                sha256(convert_to(v.canonical, 'UTF8')) = s.content_digest AS sealed
                           FROM ({verify.CANONICAL_SQL}) v JOIN fl.seal s ON s.entry_id = v.entry_id""").fetchall()
    assert len(rows) == 8
    for r in rows:
        assert r["canonical"] == r["fn"]
        assert r["sealed"] is True
    # The function is pinned to ISO dates now: a writer's DateStyle no longer changes the chain.
    c.execute("SET DateStyle = 'German'")
    assert c.execute("SELECT fl.entry_canonical(%s) AS t", (rows[0]["entry_id"],)).fetchone()["t"] == rows[0]["fn"]


def test_chain_scan_streams_in_small_batches(ledger_db):
    """The chain is one ordered scan through a server-side cursor, whatever the batch size."""
    sample_ledger(ledger_db)
    c = ledger_db.connect("aud")
    verify.snapshot(c)
    rows = list(verify.scan_chain(c, batch=3))
    c.rollback()
    assert [r.seq for r in rows] == list(range(1, 9))
    assert all(r.digest == r.stored_digest and r.scratch_hash == r.stored_hash for r in rows)
    head = ledger_db.admin().execute("SELECT hash FROM fl.chain_head").fetchone()["hash"]
    assert rows[-1].scratch_hash == bytes(head)


@pytest.mark.server  # a writer's DateStyle setting
def test_writer_datestyle_does_not_change_the_chain(ledger_db):
    """A writer whose session prints dates German-style still seals the ISO canonical text."""
    c = ledger_db.connect("fin")
    c.execute("SET DateStyle = 'German'")
    post(c, collect("german", "2023-03-01", "230822", "10.00"))
    c.commit()
    res = ledger_db.cli("verify", "--check", "hash_chain", "--json", user="aud")
    assert res.exit_code == 0, res


def test_audit_trail_of_an_entry_and_a_request(ledger_db):
    ids = sample_ledger(ledger_db)
    t = ledger_db.cli("audit", "trail", str(ids["pay-81-1"]), "--json", user="aud")
    assert t.exit_code == 0, t
    doc = t.json()
    assert doc["subject"]["type"] == "entry" and doc["subject"]["reversed_by"] == ids["rev-pay-81-1"]
    actions = [e["action"] for e in doc["events"]]
    # held by its maker, posted when a second person confirmed it (sql/0017), then sealed
    assert actions[:4] == ["hold", "post", "confirm", "seal"] and "reversed" in actions
    rev = next(e for e in doc["events"] if e["action"] == "reversed")
    assert (rev["actor"], rev["reason"], rev["entry_id"]) == ("fin", "wrong provider", ids["rev-pay-81-1"])
    assert set(doc["events"][1]) == {"at", "actor", "client_addr", "action", "detail", "reason", "entry_id",
                                     "voucher", "request_id", "amount"}
    assert doc["events"][1]["amount"] == "777.77"
    by_key = ledger_db.cli("audit", "trail", "rev-pay-81-1", "--json", user="aud").json()
    assert any(e["action"] == "reverses" and e["entry_id"] == ids["pay-81-1"] for e in by_key["events"])
    text = ledger_db.cli("audit", "trail", "RES/2023-000005", user="aud")
    assert text.exit_code == 0 and "audit trail" in text.stdout
    assert ledger_db.cli("audit", "trail", user="aud").exit_code == 1
    assert ledger_db.cli("audit", "trail", "no-such-entry", user="aud").exit_code == 1

    admin = ledger_db.admin()
    if admin.execute("SELECT to_regprocedure('fl.request_approve(bigint,bigint,date)') IS NOT NULL AS ok").fetchone()["ok"]:
        o22 = ledger_db.connect("o22")
        rid = o22.execute("SELECT id FROM fl.request_submit('230822', 'RES', '', 2023, 2, 10000, 'Q2 needs', "
                          "'rq-1')").fetchone()["id"]
        o22.commit()
        rv = ledger_db.connect("rev")
        rv.execute("SELECT fl.request_approve(%s, 8000)", (rid,))
        rv.commit()
        r = ledger_db.cli("audit", "trail", f"R{rid}", "--json", user="aud")
        assert r.exit_code == 0, r
        d = r.json()
        assert d["subject"]["type"] == "request" and d["subject"]["state"] == "approved"
        assert [(e["action"], e["actor"]) for e in d["events"]] == [("submit", "o22"), ("approve", "rev")]
        assert d["events"][1]["amount"] == "80.00"
        assert ledger_db.cli("audit", "trail", "--request", str(rid), "--json", user="aud").json() == d
        # An officer sees its own unit's request history, not another unit's.
        assert ledger_db.cli("audit", "trail", f"R{rid}", user="o81").exit_code == 1
        assert ledger_db.cli("verify", "--check", "requests", user="aud").exit_code == 0
        # A forged history (approved by its submitter, out of order) is a finding.
        admin.execute("SET session_replication_role = replica")
        admin.execute("INSERT INTO fl.request_event (request_id, action, from_state, to_state, actor) "
                      "VALUES (%s, 'settle', 'submitted', 'settled', 'o22')", (rid,))
        admin.execute("INSERT INTO fl.request_event (request_id, action, from_state, to_state, actor, at) "
                      "VALUES (%s, 'approve', 'submitted', 'approved', 'o22', now() - interval '1 hour')", (rid,))
        v = ledger_db.cli("verify", "--check", "requests", "--json", user="aud").json()
        msgs = [f["message"] for f in v["checks"][0]["findings"]]
        assert all(f["request_id"] == rid for f in v["checks"][0]["findings"])
        assert any("not a legal move" in m or "starts from" in m for m in msgs)
        assert any("must not be the submitter" in m for m in msgs)
