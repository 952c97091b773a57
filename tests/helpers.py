"""Small builders for test ledgers: readable entries in yuan, posted as a given user."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from ledger.core.money import parse_fen
from ledger.i18n import get_lang, set_lang

if TYPE_CHECKING:
    import pytest

    from tests.conftest import CliResult


def leg(account: str, unit: str, side: str, yuan: str, holder: str | None = None, component: str = "") -> dict[str, Any]:
    return {"account": account, "unit": unit, "holder": holder, "component": component,
            "side": side, "amount": parse_fen(yuan)}


def entry(key: str, date: str, book: str, *legs: dict[str, Any], memo: str = "") -> dict[str, Any]:
    return {"date": date, "book": book, "memo": memo, "idempotency_key": key, "postings": list(legs)}


def collect(key: str, date: str, unit: str, yuan: str, book: str = "RES", component: str = "") -> dict[str, Any]:
    """Contributions into the special account (Dr 1003 special / Cr 4001)."""
    return entry(key, date, book, leg("1003", unit, "D", yuan, "special", component),
                 leg("4001", unit, "C", yuan, component=component))


def reclass(key: str, date: str, unit: str, yuan: str, book: str = "RES") -> dict[str, Any]:
    """Dr 1101 temporary payment / Cr 2001 temporary receipt: no bank account moves and no
    figure of the year-end rule (3xxx-5xxx, held for a second person since 0036), so the
    entry posts at once in the caller's own transaction, as the race tests need."""
    return entry(key, date, book, leg("1101", unit, "D", yuan), leg("2001", unit, "C", yuan))


def pay_from_special(key: str, date: str, unit: str, yuan: str, book: str = "RES") -> dict[str, Any]:
    return entry(key, date, book, leg("5001.inpatient", unit, "D", yuan), leg("1003", unit, "C", yuan, "special"))


def checker_for(user: str | None) -> str:
    """A second person for ``user``'s held entries (maker-checker): a reviewer other than it."""
    return "rev2" if user == "rev" else "rev"


def confirm(conn: psycopg.Connection, held_ids: list[int], checker: str | None = None) -> list[dict[str, Any]]:
    """Confirm held entries as a second person, over that person's own login. The maker's
    transaction commits first (a held entry is visible to another session only then)."""
    if not held_ids:
        return []
    if not conn.autocommit:
        conn.commit()
    params = conninfo_to_dict(conn.info.dsn)
    params["user"] = checker or checker_for(conn.info.user)
    with psycopg.connect(conninfo=make_conninfo(**params), row_factory=dict_row) as c:   # type: ignore[arg-type]
        out = [dict(c.execute("SELECT entry_id, status FROM fl.confirm_entry(%s)", (h,)).fetchone() or {})
               for h in held_ids]
        c.commit()
    return out


def post(conn: psycopg.Connection, *docs: dict[str, Any], checker: str | None = None) -> list[dict[str, Any]]:
    """Post entries as ``conn``'s user; entries held for a second person (they move real
    money) are confirmed by ``checker`` (default: a reviewer other than the maker), so the
    result reads as before: status 'posted' (or 'duplicate') with the entry's id."""
    rows = [dict(r) for r in conn.execute("SELECT * FROM fl.post_entries(%s::jsonb)",
                                          (json.dumps(list(docs)),)).fetchall()]
    held = [r for r in rows if r["status"] == "held"]
    for r, c in zip(held, confirm(conn, [int(r["held_id"]) for r in held], checker), strict=True):
        r["entry_id"], r["status"] = c["entry_id"], c["status"]
    return rows


def confirmed(conn: psycopg.Connection, sql: str, params: object = None, checker: str | None = None) -> dict[str, Any]:
    """Call a write that may hold its entry (fl.reverse_entry, fl.allocate_interest,
    fl.post_opening: one row with entry_id, status, held_id) and, if it did, confirm it as
    ``checker``; the row then reads 'posted' with the entry's id. A refused confirmation
    (an overdraft) raises as the write itself used to; the entry stays held, and calling
    again with the same key holds nothing new."""
    row = dict(conn.execute(sql, params).fetchone() or {})
    if row.get("status") == "held":
        c = confirm(conn, [int(row["held_id"])], checker)[0]
        row["entry_id"], row["status"] = c["entry_id"], c["status"]
    return row


def cli_post(ledger_db: Any, user: str, docs: list[dict[str, Any]], checker: str | None = None) -> list[dict[str, Any]]:
    """``entry post`` as ``user`` through the CLI, then ``entry confirm`` of what was held as
    ``checker`` (a second person): the JSON rows of what was finally posted."""
    r = ledger_db.cli("entry", "post", "-", "--json", user=user, input=json.dumps(docs, ensure_ascii=False))
    assert r.exit_code == 0, r
    out: list[dict[str, Any]] = r.json()
    held = [str(o["held_id"]) for o in out if o["status"] == "held"]
    if held:
        c = ledger_db.cli("entry", "confirm", *held, "--json", user=checker or checker_for(user))
        assert c.exit_code == 0, c
        done = iter(c.json())
        out = [next(done) if o["status"] == "held" else o for o in out]
    return out


def cli_confirm(ledger_db: Any, result: dict[str, Any], checker: str = "rev") -> dict[str, Any]:
    """Confirm, through the CLI as ``checker``, what a command's --json result held."""
    if result.get("status") == "held":
        c = ledger_db.cli("entry", "confirm", str(result["held_id"]), "--json", user=checker)
        assert c.exit_code == 0, c
        result = dict(result, entry_id=c.json()[0]["entry_id"], status=c.json()[0]["status"])
    return result


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


def with_figures(db: Any, *units: str, date: str = "2023-01-05") -> None:
    """A collection for each unit on ``date`` (finance, confirmed by a reviewer): figures
    before which no monitoring warning can start (0043 refuses an acknowledgement whose
    start precedes the unit's first figures in the book)."""
    fin = db.connect("fin")
    post(fin, *(collect(f"figures-{u}", date, u, "1000.00") for u in units))
    fin.commit()


def confirm_openings(ledger_db: Any, checker: str = "fin") -> list[int]:
    """Since 0052 (ATTACK6 T9) a county's opening rows on legacy bank accounts are held: confirm
    every held opening as ``checker`` (city finance by default), as the guides do; returns the
    held ids confirmed."""
    ids = [int(r["id"]) for r in ledger_db.admin().execute(
        "SELECT id FROM fl.pending_entry WHERE kind = 'opening' AND state = 'held' ORDER BY id").fetchall()]
    if ids:
        ledger_db.connect(checker, autocommit=True).execute("SELECT * FROM fl.confirm_entries(%s)", (ids,)).fetchall()
    return ids


def confirm_payments(ledger_db: Any, checker: str = "fin") -> list[int]:
    """Since 0060 (ATTACK7 U11) the city bureau's payment rows paid from a county's expenditure
    account are held: confirm every held payments entry as ``checker`` (city finance by
    default), as the guides do; returns the held ids confirmed."""
    ids = [int(r["id"]) for r in ledger_db.admin().execute(
        "SELECT id FROM fl.pending_entry WHERE kind = 'payments' AND state = 'held' ORDER BY id").fetchall()]
    if ids:
        ledger_db.connect(checker, autocommit=True).execute("SELECT * FROM fl.confirm_entries(%s)", (ids,)).fetchall()
    return ids


# Four English words in a row: what a refusal shown in Chinese must not hold (ATTACK15 A3, A8).
ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,;:()'-]+[A-Za-z]+){3,}")


@contextmanager
def use_lang(lang: str) -> Iterator[None]:
    """The library's messages in ``lang`` for the block (as ``--lang`` sets them for a command)."""
    was = get_lang()
    set_lang(lang)
    try:
        yield
    finally:
        set_lang(was)


def without_a_database(argv: list[str], home: Path, monkeypatch: pytest.MonkeyPatch) -> CliResult:
    """``fundledger --lang en ARGV`` in-process through cli.main.run (what ``python -m cli.main``
    runs), as a process with an empty FUNDLEDGER_HOME and no other FUNDLEDGER_ or PG setting
    would see it: no ledger to reach."""
    from cli import main
    from tests.conftest import run_cli

    for k in list(os.environ):
        if k.startswith(("FUNDLEDGER_", "PG")):
            monkeypatch.delenv(k)
    return run_cli(["--lang", "en", *argv], url=None, env={"FUNDLEDGER_HOME": str(home)}, entry=main.run)


def drop_login(conn: Any, name: str) -> None:
    """Drop a login a test made (roles are the cluster's: none is left behind on a shared
    server). Its CONNECT on the ledger's database was granted by fl_owner (fl.app_user_connect,
    since the test copies carry the template's database ACL: ATTACK20b M5), and DROP OWNED
    revokes only what the database's owner granted on it: each grantor revokes its own first."""
    from psycopg import sql as _sql

    grantors = [r[0] if not isinstance(r, dict) else r["g"] for r in conn.execute(
        "SELECT DISTINCT a.grantor::regrole::text AS g FROM pg_catalog.pg_database d, "
        "pg_catalog.aclexplode(d.datacl) a WHERE d.datname = current_database() AND a.grantee = "
        "(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %s)", (name,)).fetchall()]
    for g in grantors:
        conn.execute(_sql.SQL("SET ROLE {}").format(_sql.Identifier(g.strip('"'))))
        try:
            conn.execute(_sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(
                _sql.Identifier(conn.info.dbname), _sql.Identifier(name)))
        finally:
            conn.execute("RESET ROLE")
    conn.execute(_sql.SQL("DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}").format(_sql.Identifier(name)))
