"""Tamper detection: a superuser who disables the triggers edits the ledger behind its
back; ``verify`` and ``audit check-digest`` (against a digest filed before) must both
fail and name what changed."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledger.store import verify
from tests.conftest import LedgerDB, Server, copy_of
from tests.integration.test_verify import sample_ledger

# `server` per test (2026-12-07, srvsel): the tests whose subject can differ between PostgreSQL 15 and 18;
# the others check the ledger's own rules, readers and the verdicts' Python, the same on any server.
pytestmark = pytest.mark.db


def _posting(c, entry_id: int, nth: int = 0) -> int:
    return c.execute("SELECT id FROM fl.posting WHERE entry_id = %s ORDER BY id OFFSET %s LIMIT 1",
                     (entry_id, nth)).fetchone()["id"]


def change_amount(c, ids):
    c.execute("UPDATE fl.posting SET amount = amount + 100 WHERE id = %s", (_posting(c, ids["pay-22-1"]),))
    return ids["pay-22-1"]


def delete_posting(c, ids):
    c.execute("DELETE FROM fl.posting WHERE id = %s", (_posting(c, ids["col-81-jan"], 1),))
    return ids["col-81-jan"]


def edit_memo(c, ids):
    c.execute("UPDATE fl.entry SET memo = 'nothing to see here' WHERE id = %s", (ids["o22-feb"],))
    return ids["o22-feb"]


def backdated_insert(c, ids, stamp_now: bool = False):
    """A well-forged entry: back-dated into the closed January, postings, a correctly chained
    seal with the next voucher number, and the chain head moved on. Only the balances were
    not touched (the forger disabled the triggers that keep them). Stamped back in January,
    it is out of order in the chain; stamped now, it was written into a closed month."""
    stamp = dt.datetime.now(dt.UTC) if stamp_now else dt.datetime(2023, 1, 5, 10, tzinfo=dt.UTC)
    e = c.execute("""INSERT INTO fl.entry (book, entry_date, memo, kind, idempotency_key, content_hash, created_by,
                                          created_at, created_xid)
                     VALUES ('RES', '2023-01-05', 'late collection', 'manual', 'forged-1', '\\x01', 'fin',
                             %s, '1') RETURNING id""", (stamp,)).fetchone()["id"]
    acc = {code: c.execute("SELECT fl.account_for('RES', %s, '230822', %s, '') AS id", (code, h)).fetchone()["id"]
           for code, h in (("1003", "special"), ("4001", ""))}
    for code, side in (("1003", "D"), ("4001", "C")):
        c.execute("""INSERT INTO fl.posting (entry_id, account_id, side, amount, entry_date, unit)
                     VALUES (%s, %s, %s, 5000000, '2023-01-05', '230822')""", (e, acc[code], side))
    c.execute("SET DateStyle = 'ISO, YMD'")
    digest = bytes(c.execute(f"SELECT sha256(convert_to(canonical, 'UTF8')) AS d FROM ({verify.CANONICAL_SQL}) v "
                             "WHERE entry_id = %s", (e,)).fetchone()["d"])
    last = c.execute("SELECT seq, hash FROM fl.seal ORDER BY seq DESC LIMIT 1").fetchone()
    vno = c.execute("SELECT max(voucher_no) + 1 AS n FROM fl.seal WHERE book = 'RES' AND fiscal_year = 2023").fetchone()["n"]
    h = hashlib.sha256(bytes(last["hash"]) + digest + str(vno).encode()).digest()
    c.execute("""INSERT INTO fl.seal (entry_id, seq, book, fiscal_year, voucher_no, content_digest, prev_hash, hash,
                                      sealed_at) VALUES (%s, %s, 'RES', 2023, %s, %s, %s, %s, %s)""",
              (e, last["seq"] + 1, vno, digest, last["hash"], h, stamp + dt.timedelta(seconds=1)))
    c.execute("UPDATE fl.chain_head SET seq = %s, hash = %s", (last["seq"] + 1, h))
    c.execute("UPDATE fl.voucher_counter SET last_no = %s WHERE book = 'RES' AND fiscal_year = 2023", (vno,))
    return e


def swap_order(c, ids):
    """Reorder two entries: exchange their places in the chain."""
    a, b = ids["col-81-jan"], ids["pre-22"]
    sa, sb = (c.execute("SELECT seq FROM fl.seal WHERE entry_id = %s", (x,)).fetchone()["seq"] for x in (a, b))
    c.execute("UPDATE fl.seal SET seq = 1000000 WHERE entry_id = %s", (a,))
    c.execute("UPDATE fl.seal SET seq = %s WHERE entry_id = %s", (sa, b))
    c.execute("UPDATE fl.seal SET seq = %s WHERE entry_id = %s", (sb, a))
    return {a, b}


def swap_vouchers(c, ids):
    a, b = ids["col-22-jan"], ids["pay-22-1"]
    va, vb = (c.execute("SELECT voucher_no FROM fl.seal WHERE entry_id = %s", (x,)).fetchone()["voucher_no"]
              for x in (a, b))
    c.execute("UPDATE fl.seal SET voucher_no = 999999 WHERE entry_id = %s", (a,))
    c.execute("UPDATE fl.seal SET voucher_no = %s WHERE entry_id = %s", (va, b))
    c.execute("UPDATE fl.seal SET voucher_no = %s WHERE entry_id = %s", (vb, a))
    return a


def change_balance(c, ids):
    """No trigger to disable: the owner can rewrite a maintained total directly."""
    acc = c.execute("SELECT id FROM fl.account WHERE book = 'RES' AND chart_code = '1003' AND unit = '230822'"
                    ).fetchone()["id"]
    c.execute("UPDATE fl.account SET balance = balance + 100000, debits = debits + 100000 WHERE id = %s", (acc,))
    return None


# tampering → (checks verify must fail, whether check-digest's own digest check must fail)
CASES: dict[str, tuple[Callable, set[str], bool]] = {
    "change_amount": (change_amount, {"entry_balanced", "account_balances", "account_days", "hash_chain"}, True),
    "delete_posting": (delete_posting, {"entry_balanced", "account_balances", "hash_chain"}, True),
    "edit_memo": (edit_memo, {"hash_chain"}, True),
    "backdated_insert": (backdated_insert, {"hash_chain", "account_balances", "account_days", "bank_balances"},
                         True),
    "backdated_insert_stamped_now": (lambda c, ids: backdated_insert(c, ids, stamp_now=True),
                                     {"closed_periods", "account_balances", "bank_balances"}, False),
    "swap_order": (swap_order, {"hash_chain", "vouchers"}, True),
    "swap_vouchers": (swap_vouchers, {"hash_chain", "vouchers"}, True),
    "change_balance": (change_balance, {"account_balances"}, False),
}


@pytest.fixture(scope="module")
def sampled(pg_server: Server, _sampled: tuple[str, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[str, dict[str, int], Path]]:
    """The worker's sample ledger (tests/integration/conftest.py ``_sampled``) copied into a database
    of its own, with the digest an auditor files of it and that digest checked clean against it:
    every case's database is a copy of it (``sample_db``), the same rows, seals and chain, so the
    digest is the copy's own. Each case built the ledger, took the digest and checked it clean
    again (two of a case's five verifier runs, over the same rows every time)."""
    with copy_of(pg_server, _sampled[0], "fl_tamper") as db:
        digest = tmp_path_factory.mktemp("tamper") / "digest.json"
        took = db.cli("audit", "digest", "--out", str(digest), user="aud")
        assert took.exit_code == 0, took
        clean = db.cli("audit", "check-digest", str(digest), "--json", user="aud")
        assert clean.exit_code == 0, clean
        db.close()              # nobody connected: it is each case's template
        yield db.name, dict(_sampled[1]), digest


@pytest.fixture
def sample_db(pg_server: Server, sampled: tuple[str, dict[str, int], Path]) -> Iterator[LedgerDB]:
    """A fresh copy of the sampled ledger (and its digest's rows) for one case."""
    with copy_of(pg_server, sampled[0]) as db:
        yield db


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_caught_and_named(sample_db, sampled, case):
    tamper, must_fail, digest_fails = CASES[case]
    ledger_db = sample_db
    _template, ids, digest = sampled     # the digest taken of this ledger, and checked clean (``sampled``)

    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")   # every trigger off, foreign keys included
    changed = tamper(c, ids)
    c.execute("SET session_replication_role = origin")

    res = ledger_db.cli("verify", "--json", user="aud")
    assert res.exit_code == 1, res
    doc = res.json()
    assert doc["ok"] is False
    failed = {ch["name"] for ch in doc["checks"] if not ch["ok"]}
    assert must_fail <= failed, (case, failed)
    changed = {changed} if isinstance(changed, int) else (changed or set())
    if changed:
        named = {f["entry_id"] for ch in doc["checks"] for f in ch["findings"]}
        assert changed <= named
        voucher = [f["voucher"] for ch in doc["checks"] for f in ch["findings"] if f["entry_id"] in changed]
        assert any(v and v.startswith(("RES/", "EMP/")) for v in voucher)

    chk = ledger_db.cli("audit", "check-digest", str(digest), "--json", user="aud")
    assert chk.exit_code == 1, chk
    cdoc = chk.json()
    dig = next(ch for ch in cdoc["checks"] if ch["name"] == "digest")
    assert dig["ok"] is (not digest_fails), dig
    if digest_fails:
        assert changed & {f["entry_id"] for f in dig["findings"]}, dig
    # Beyond the digest, check-digest runs every verify check on the same snapshot.
    assert {ch["name"] for ch in cdoc["checks"] if not ch["ok"]} >= must_fail

    # The human-readable form names the entry too.
    text = ledger_db.cli("verify", user="aud")
    assert text.exit_code == 1 and "finding(s)" in text.stdout
    for x in changed:
        assert f"entry {x}" in text.stdout


def test_digest_of_a_broken_chain_is_refused(ledger_db, tmp_path):
    ids = sample_ledger(ledger_db)
    c = ledger_db.admin()
    c.execute("SET session_replication_role = replica")
    edit_memo(c, ids)
    res = ledger_db.cli("audit", "digest", "--out", str(tmp_path / "d.json"), user="aud")
    assert res.exit_code == 1 and "hash_chain" in res.stderr
    assert not (tmp_path / "d.json").exists()


def test_digest_is_extended_by_later_entries(ledger_db, tmp_path):
    """Legitimate entries after the digest are fine: the ledger extends it."""
    from tests.helpers import collect, post

    sample_ledger(ledger_db)
    d = tmp_path / "d.json"
    doc = ledger_db.cli("audit", "digest", "--out", str(d), "--json", user="aud").json()
    assert doc["last_seq"] == 8 and doc["entries"] == 8 and len(doc["checkpoints"]) == 8
    assert {"book": "RES", "fiscal_year": 2023, "last_voucher": 7} in doc["vouchers"]
    fin = ledger_db.connect("fin")
    post(fin, collect("later", "2023-03-01", "230822", "1.00"))
    fin.commit()
    res = ledger_db.cli("audit", "check-digest", str(d), "--json", user="aud")
    assert res.exit_code == 0, res
    assert res.json()["later_entries"] == 1
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert ledger_db.cli("audit", "check-digest", str(bad), user="aud").exit_code == 1
