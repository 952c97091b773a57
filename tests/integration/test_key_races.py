"""Two writers with the same idempotency key (or the same one-time thing: a request, a
budget version, a reversal) at the same moment, on every write path that takes one.

The first writer's transaction is left open; the second, on another connection, calls
the same function through the library's door (``run_tx``) and must wait; then the first
commits. The second must get the idempotent answer — the same entry, request, held entry
or batch back when it sent the same content, a refusal that names the key (or the file
and row) when it sent other content — never PostgreSQL's raw ``duplicate key value``
(SQLSTATE 23505), never a second copy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import BadFile, IdempotencyConflict, LedgerError
from ledger.store import imports
from ledger.store.db import run_tx
from tests.conftest import LedgerDB
from tests.helpers import background, collect, post, reclass, with_figures

# `server` per test (2026-12-07, srvsel): the tests whose subject can differ between PostgreSQL 15 and 18;
# the others check the ledger's own rules, readers and the verdicts' Python, the same on any server.
pytestmark = pytest.mark.db

DATA = Path(__file__).parent / "data"
Work = Callable[[Any], Any]


def _wait_blocked(db: LedgerDB, pid: int, t: Any) -> None:
    """Until backend ``pid`` waits on a lock (the race is real), or fail."""
    admin = db.admin()
    for _ in range(200):
        row = admin.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        if row and row["wait_event_type"] == "Lock":
            return
        if not t.is_alive():
            break
        time.sleep(0.05)
    raise AssertionError("the second writer did not wait for the first: no race was tested")


def _race(db: LedgerDB, first_user: str, first: Work, second_user: str, second: Work) -> dict[str, Any]:
    a = db.connect(first_user)
    mine = first(a)                 # done, not committed
    b = db.connect(second_user)
    t, out = background(lambda: run_tx(b, second))
    _wait_blocked(db, b.info.backend_pid, t)
    a.commit()
    t.join(timeout=60)
    assert not t.is_alive()
    out["first"] = mine
    err = out.get("error")
    if err is not None:
        assert isinstance(err, LedgerError), f"not a refusal a user can read: {err!r}"
        assert "duplicate key value" not in str(err) and "23505" not in str(err), str(err)
    return out


def _n(db: LedgerDB, sql: str, *params: Any) -> int:
    return int(db.admin().execute(sql, params).fetchone()["n"])


# ---- held entries (maker-checker) ------------------------------------------------------

def _hold(doc: dict[str, Any]) -> Work:
    return lambda c: [dict(r) for r in c.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                                                   (json.dumps([doc]),)).fetchall()]


@pytest.mark.server
def test_held_entry_same_key_same_content_is_the_same_held_entry(ledger_db: LedgerDB) -> None:
    doc = collect("hold-1", "2023-03-15", "230822", "10.00")
    out = _race(ledger_db, "fin", _hold(doc), "fin", _hold(doc))
    assert out.get("error") is None
    assert out["result"] == out["first"] and out["first"][0]["status"] == "held"
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.pending_entry WHERE idempotency_key = 'manual:fin:hold-1'") == 1


@pytest.mark.server
def test_held_entry_same_key_other_content_is_a_named_refusal(ledger_db: LedgerDB) -> None:
    out = _race(ledger_db, "fin", _hold(collect("hold-1", "2023-03-15", "230822", "10.00")),
                "fin", _hold(collect("hold-1", "2023-03-15", "230822", "99.00")))
    assert isinstance(out.get("error"), IdempotencyConflict)
    assert "hold-1" in str(out["error"])
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.pending_entry WHERE idempotency_key = 'manual:fin:hold-1'") == 1


@pytest.mark.server
def test_entry_confirmed_by_two_checkers_at_once_posts_once(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    held = _hold(collect("hold-2", "2023-03-15", "230822", "10.00"))(fin)[0]["held_id"]

    def confirm(c: Any) -> Any:
        return dict(c.execute("SELECT * FROM fl.confirm_entry(%s)", (held,)).fetchone())

    out = _race(ledger_db, "rev", confirm, "rev2", confirm)
    assert isinstance(out.get("error"), LedgerError) and "already" in str(out["error"])
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry WHERE idempotency_key = 'manual:fin:hold-2'") == 1


# ---- fund requests ---------------------------------------------------------------------

def _submit(amount: int) -> Work:
    return lambda c: dict(c.execute("SELECT * FROM fl.request_submit('230822', 'RES', '', 2023, 2, %s, 'q2', 'rq-race')",
                                    (amount,)).fetchone())


@pytest.mark.server
def test_request_same_key_same_content_is_the_same_request(ledger_db: LedgerDB) -> None:
    out = _race(ledger_db, "o22", _submit(1000), "o22", _submit(1000))
    assert out.get("error") is None
    assert out["result"] == {"id": out["first"]["id"], "status": "duplicate"}
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.fund_request") == 1


@pytest.mark.server
def test_request_same_key_other_content_is_a_named_refusal(ledger_db: LedgerDB) -> None:
    out = _race(ledger_db, "o22", _submit(1000), "o22", _submit(2000))
    assert isinstance(out.get("error"), IdempotencyConflict) and "rq-race" in str(out["error"])
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.fund_request") == 1


# ---- reversals, monitor acknowledgements -----------------------------------------------

@pytest.mark.server
def test_two_reversals_of_one_entry_at_once_reverse_it_once(ledger_db: LedgerDB) -> None:
    fin = ledger_db.connect("fin", autocommit=True)
    target = post(fin, reclass("to-undo", "2023-03-15", "230822", "10.00"))[0]["entry_id"]

    def reverse(key: str) -> Work:
        return lambda c: dict(c.execute("SELECT * FROM fl.reverse_entry(%s, 'wrong unit', '2023-03-16', %s)",
                                        (target, key)).fetchone())

    out = _race(ledger_db, "rev", reverse("undo-a"), "rev2", reverse("undo-b"))
    assert isinstance(out.get("error"), LedgerError) and "already reversed" in str(out["error"])
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.entry WHERE reverses = %s", target) == 1


def _ack(decision: str) -> Work:
    return lambda c: dict(c.execute("SELECT * FROM fl.monitor_acknowledge('230822', 'RES', 'red', '2023-01-31', "
                                    "'2023-01-31', %s, 'ack-race')", (decision,)).fetchone())


@pytest.mark.server
def test_acknowledgement_same_key_at_once(ledger_db: LedgerDB) -> None:
    with_figures(ledger_db, "230822")
    out = _race(ledger_db, "rev", _ack("raise the county's share"), "rev", _ack("raise the county's share"))
    assert out.get("error") is None and out["result"] == {"id": out["first"]["id"], "status": "duplicate"}
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.monitor_ack") == 1


@pytest.mark.server
def test_acknowledgement_same_key_other_decision_at_once(ledger_db: LedgerDB) -> None:
    with_figures(ledger_db, "230822")
    out = _race(ledger_db, "rev", _ack("raise the county's share"), "rev", _ack("wait a month"))
    assert isinstance(out.get("error"), IdempotencyConflict) and "ack-race" in str(out["error"])
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.monitor_ack") == 1


# ---- imports ---------------------------------------------------------------------------

def _import(kind: str, path: Path, **kw: Any) -> Work:
    return lambda c: imports.import_file(c, kind, path, **kw)


def _changed(tmp: Path, src: Path, old: str, new: str) -> Path:
    out = tmp / f"changed-{src.name}"
    text = src.read_text("utf-8")
    assert old in text
    out.write_text(text.replace(old, new, 1), "utf-8")
    return out


@pytest.mark.server
def test_same_collections_file_twice_at_once_posts_once(ledger_db: LedgerDB) -> None:
    path = DATA / "collections.csv"
    out = _race(ledger_db, "fin", _import("collections", path), "fin", _import("collections", path))
    assert out.get("error") is None
    assert out["first"].rows_posted > 0 and out["result"].rows_posted == 0
    assert out["result"].rows_skipped == out["first"].rows_posted


@pytest.mark.server
def test_collections_row_changed_at_once_names_file_row_and_reference(ledger_db: LedgerDB, tmp_path: Path) -> None:
    path = DATA / "collections.csv"
    other = _changed(tmp_path, path, "300000.00,HN-C-002", "300001.00,HN-C-002")
    out = _race(ledger_db, "fin", _import("collections", path), "fin", _import("collections", other))
    _names_the_row(out.get("error"), other, 3, "HN-C-002")


def _names_the_row(err: BaseException | None, path: Path, row: int, ref: str) -> None:
    """Refused with the file, the row, the reference and what to do — as the import's own
    row check (a BadFile) when the second import re-ran after the first committed, or as
    the posting's key conflict when the first committed while the second was posting."""
    assert isinstance(err, BadFile | IdempotencyConflict), repr(err)
    text = str(err)
    assert str(path) in text and f"row {row}" in text and ref in text, text
    assert "correct the row or give it a new reference" in text, text


def _fund(db: LedgerDB) -> None:
    """Collections, then money in the expenditure accounts to pay from (as test_imports)."""
    from tests.integration.test_imports import fund_expenditure_accounts

    fin = db.connect("fin")
    imports.import_file(fin, "collections", DATA / "collections.csv")
    fin.commit()
    fund_expenditure_accounts(db)


@pytest.mark.server
def test_same_payments_file_twice_at_once_posts_once(ledger_db: LedgerDB) -> None:
    _fund(ledger_db)
    path = DATA / "payments.csv"
    out = _race(ledger_db, "rev", _import("payments", path), "rev", _import("payments", path))
    assert out.get("error") is None
    assert out["first"].rows_posted > 0 and out["result"].rows_posted == 0


@pytest.mark.server
def test_payments_row_changed_at_once_names_file_row_and_reference(ledger_db: LedgerDB, tmp_path: Path) -> None:
    _fund(ledger_db)
    # The county's own rows, by its officer (0060: they post at once; the bureau's would be held).
    path = tmp_path / "payments-230822.csv"
    path.write_text("".join(x for x in (DATA / "payments.csv").read_text("utf-8").splitlines(keepends=True)
                            if ",230800," not in x), "utf-8")
    other = _changed(tmp_path, path, "800.50,HN-P-002", "800.51,HN-P-002")
    out = _race(ledger_db, "o22", _import("payments", path), "o22", _import("payments", other))
    err = out.get("error")
    if isinstance(err, BadFile):
        _names_the_row(err, other, 3, "HN-P-002")
    else:    # the posting's key conflict: one entry holds many rows, so it names the file and its rows
        assert isinstance(err, IdempotencyConflict), repr(err)
        assert str(other) in str(err) and "correct those rows or give them new references" in str(err), str(err)


@pytest.mark.server
def test_same_opening_file_twice_at_once_registers_once(ledger_db: LedgerDB) -> None:
    import datetime as dt

    path = DATA / "opening.csv"
    on = dt.date(2023, 1, 1)
    out = _race(ledger_db, "rev", _import("opening", path, on=on), "rev", _import("opening", path, on=on))
    assert out.get("error") is None, repr(out.get("error"))
    assert out["result"].rows_posted == 0
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.register_item") == out["first"].register_items


@pytest.mark.server
def test_same_budget_twice_at_once_is_one_version(ledger_db: LedgerDB) -> None:
    path = DATA / "budget.csv"
    out = _race(ledger_db, "rev", _import("budget", path), "rev", _import("budget", path))
    assert out.get("error") is None, repr(out.get("error"))
    assert {b.status for b in out["result"].budgets} == {"unchanged"}
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.budget WHERE version > 1") == 0


def _import_budget_with_reason(path: Path, reason: str) -> Work:
    """`budget import --reason`: the import, then the reason for any version after the first
    it made (0024: an adjustment needs one), in one transaction."""
    from ledger.store import budget as budget_store

    def work(c: Any) -> Any:
        r = imports.import_file(c, "budget", path)
        budget_store.import_reason(c, reason)
        return r
    return work


@pytest.mark.server
def test_two_budget_versions_at_once_are_versions_one_and_two(ledger_db: LedgerDB) -> None:
    out = _race(ledger_db, "rev", _import("budget", DATA / "budget.csv"),
                "rev2", _import_budget_with_reason(DATA / "budget_v2.csv", "追加住院支出"))
    assert out.get("error") is None, repr(out.get("error"))
    assert "created" in {b.status for b in out["result"].budgets}
    assert _n(ledger_db, "SELECT count(*) AS n FROM fl.budget WHERE version = 2") >= 1
    assert _n(ledger_db, """SELECT count(*) AS n FROM fl.budget b JOIN fl.budget_adjustment a ON a.budget_id = b.id
                             WHERE b.version = 2 AND a.reason = '追加住院支出' AND a.adjusted_by = 'rev2'""") >= 1


def test_an_imports_key_conflict_names_file_row_and_what_to_do(ledger_db: LedgerDB) -> None:
    """The posting's own refusal, when an import's key already holds other content (the
    window between the import's row checks and its posting): file, row, key, the entry
    that holds the key, and what to do — not a bare "key already used"."""
    import psycopg

    fin = ledger_db.connect("fin")
    imports.import_file(fin, "collections", DATA / "collections.csv")
    fin.commit()
    su = ledger_db.admin()
    entry = ("ROW(1, 'RES', '2023-01-15', 'x', 'collections', 'collections:230822:HN-C-002', NULL, NULL, "
             "%s::jsonb, NULL)::fl.new_entry")
    postings = ("ARRAY[ROW(1, 1, 'RES', '1003', '230822', 'special', '', 'D', 1, NULL, NULL)::fl.new_posting, "
                "ROW(1, 2, 'RES', '4101.central', '230822', '', '', 'C', 1, NULL, NULL)::fl.new_posting]")
    with pytest.raises(psycopg.errors.UniqueViolation) as one:
        su.execute(f"SELECT * FROM fl._post(ARRAY[{entry}], {postings})", ('{"file": "again.csv", "row": 3}',))
    assert one.value.diag.constraint_name == "idempotency_conflict"
    text = one.value.diag.message_primary or ""
    assert text.startswith("again.csv, row 3: key collections:230822:HN-C-002 was already used by "), text
    assert text.endswith("correct the row or give it a new reference"), text
    with pytest.raises(psycopg.errors.UniqueViolation) as many:
        su.execute(f"SELECT * FROM fl._post(ARRAY[{entry}], {postings})", ('{"file": "again.csv", "rows": 9}',))
    assert (many.value.diag.message_primary or "").startswith(
        "again.csv: the rows of key collections:230822:HN-C-002 were already posted as ")
