"""Small builders for test ledgers: readable entries in yuan, posted as a given user."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from ledger.core.money import parse_fen


def leg(account: str, unit: str, side: str, yuan: str, holder: str | None = None, component: str = "") -> dict[str, Any]:
    return {"account": account, "unit": unit, "holder": holder, "component": component,
            "side": side, "amount": parse_fen(yuan)}


def entry(key: str, date: str, book: str, *legs: dict[str, Any], memo: str = "") -> dict[str, Any]:
    return {"date": date, "book": book, "memo": memo, "idempotency_key": key, "postings": list(legs)}


def collect(key: str, date: str, unit: str, yuan: str, book: str = "RES", component: str = "") -> dict[str, Any]:
    """Contributions into the special account (Dr 1003 special / Cr 4001)."""
    return entry(key, date, book, leg("1003", unit, "D", yuan, "special", component),
                 leg("4001", unit, "C", yuan, component=component))


def pay_from_special(key: str, date: str, unit: str, yuan: str, book: str = "RES") -> dict[str, Any]:
    return entry(key, date, book, leg("5001.inpatient", unit, "D", yuan), leg("1003", unit, "C", yuan, "special"))


def post(conn: psycopg.Connection, *docs: dict[str, Any]) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)", (json.dumps(list(docs)),)).fetchall()
    return [dict(r) for r in rows]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def background(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``work`` in a thread; its result lands in ``out["result"]``, or what it
    raised in ``out["error"]`` (handed to the test thread to assert on or re-raise)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = work()
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, out
