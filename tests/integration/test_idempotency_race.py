"""Two writers with one idempotency key at the same time: the second waits for the first
on the key's unique index. If the first commits, the second is a plain duplicate (same
content) or a refused conflict (different content) — after one retry, never a second
entry and never an error the caller must interpret."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ledger.errors import IdempotencyConflict
from ledger.store.db import run_tx
from tests.helpers import background, post, reclass

pytestmark = [pytest.mark.db, pytest.mark.server]


def _race(ledger_db: Any, second_doc: dict[str, Any]) -> tuple[list[dict[str, Any]], Any, BaseException | None]:
    first = ledger_db.connect("fin")
    mine = post(first, reclass("race-1", "2023-03-15", "230822", "10.00"))   # open, not committed
    other = ledger_db.connect("fin")
    t, out = background(lambda: run_tx(other, lambda c: post(c, second_doc)))
    time.sleep(0.5)
    assert t.is_alive(), "the second writer must wait for the first on the key"
    first.commit()
    t.join(timeout=20)
    assert not t.is_alive()
    return mine, out.get("result"), out.get("error")


def test_same_key_same_content_at_once_is_one_entry(ledger_db):
    mine, rows, error = _race(ledger_db, reclass("race-1", "2023-03-15", "230822", "10.00"))
    assert error is None
    assert rows == [{"ord": 1, "entry_id": mine[0]["entry_id"], "status": "duplicate", "held_id": None}]
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key = 'manual:fin:race-1'").fetchone()
    assert n["n"] == 1


def test_same_key_other_content_at_once_is_refused(ledger_db):
    _mine, rows, error = _race(ledger_db, reclass("race-1", "2023-03-15", "230822", "99.00"))
    assert rows is None
    assert isinstance(error, IdempotencyConflict)
    n = ledger_db.admin().execute("SELECT count(*) AS n FROM fl.entry WHERE idempotency_key = 'manual:fin:race-1'").fetchone()
    assert n["n"] == 1
