"""File imports: stream a file's cells into PostgreSQL, then one SECURITY DEFINER call
validates every row set-based and posts (sql/0004_imports.sql, docs/imports.md).

The client does no per-row validation beyond the reader's structure checks
(``ledger.io.tables``) and never holds the file in memory: cells go straight from the
reader into a ``COPY`` into a session temp table (the *stage*), which is dropped at
commit. The definer function runs as the owner of schema ``fl``, so the stage is
granted to that role right after it is created (a temp schema is usable by any role
of its own session, a table in it is not).

All-or-nothing: every problem comes back as a list and is raised as ``BadFile``; the
caller's transaction (``run_tx``) then rolls back, so nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ledger.errors import BadFile, LedgerError, RowError
from ledger.io.formats import FORMATS, FileFormat
from ledger.io.tables import open_table
from ledger.store.db import RETRYABLE, Conn
from ledger.store.translate import translate

# kind -> (format name in ledger.io.formats, SQL function)
KINDS: dict[str, tuple[str, str]] = {
    "payments": ("payments", "fl.import_payments"),
    "collections": ("collections", "fl.import_collections"),
    "opening": ("opening", "fl.import_opening"),
    "budget": ("budget", "fl.import_budget"),
}

_NEEDS_ESCAPE = re.compile(r"[\\\n\r]")  # and a tab inside a cell (found by counting)
_COPY_BATCH = 20_000  # rows per COPY write: bounded client memory


def file_sha256(path: Path | str) -> str:
    """SHA-256 of the file's bytes, read in blocks (recorded on fl.import_batch)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_text(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_lines(rows: Iterable[tuple[int, tuple[str, ...]]]) -> Iterable[str]:
    """COPY text-format lines, escaping only the rare cells that need it."""
    special = _NEEDS_ESCAPE.search
    for row_no, cells in rows:
        line = "\t".join(cells)
        if special(line) or line.count("\t") != len(cells) - 1:
            line = "\t".join(map(_copy_text, cells))
        yield f"{row_no}\t{line}\n"


def _schema_owner(conn: Conn) -> str:
    row = conn.execute("SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = 'fl'").fetchone()
    assert row is not None
    return str(row["owner"]).strip('"')


_TEMP_BUFFERS = "256MB"  # a 1,000,000-line file's stage and work tables are ~300 MB


def _room_for_temp_tables(conn: Conn) -> None:
    """Give this session's temp tables (the stage and the import's work tables) more than
    the default 8 MB of buffers, so a large file is not paged through 8 MB. PostgreSQL
    allows this only before the session's first temp table; later (a second import on the
    same connection) the setting is kept as it is, in a savepoint so the caller's
    transaction goes on."""
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('temp_buffers', %s, false)", (_TEMP_BUFFERS,))
    except psycopg.errors.InvalidParameterValue:
        pass


def stage(conn: Conn, path: Path | str, fmt: FileFormat, name: str) -> tuple[str, str]:
    """Stream ``path`` into the temp table ``name`` (dropped at commit); return
    (the file name used in messages, the stage's qualified name). Raises ``BadFile``
    for structural problems found by the reader (nothing is then written)."""
    ident = sql.Identifier(name)
    _room_for_temp_tables(conn)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(ident))
    conn.execute(sql.SQL("CREATE TEMP TABLE {} (row_no int, {}) ON COMMIT DROP").format(
        ident, sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in fmt.columns)))
    # The definer function reads the stage as the schema owner: let it.
    conn.execute(sql.SQL("GRANT SELECT ON pg_temp.{} TO {}").format(ident, sql.Identifier(_schema_owner(conn))))
    with open_table(path, fmt) as reader:
        file = reader.name
        with conn.cursor().copy(sql.SQL("COPY pg_temp.{} FROM STDIN").format(ident)) as cp:
            buf: list[str] = []
            for line in _copy_lines(reader.rows()):
                buf.append(line)
                if len(buf) >= _COPY_BATCH:
                    cp.write("".join(buf))
                    buf.clear()
            if buf:
                cp.write("".join(buf))
    return file, f"pg_temp.{name}"


def refusal(file: str, result: dict[str, Any]) -> BadFile:
    """The ``BadFile`` for a function's list of problems. Its rule says what kind:
    ``idempotency_conflict`` or ``permission_denied`` when every problem is of that kind."""
    errors = [RowError(file, int(e["row"]), str(e["column"]), str(e["reason"])) for e in result["errors"]]
    total = int(result.get("error_count", len(errors)))
    if total > len(errors):
        errors.append(RowError(file, 0, "", f"… {total - len(errors)} more problem(s) not listed"))
    err = BadFile(file, errors)
    kinds = {e.get("kind") for e in result["errors"]}
    if kinds == {"conflict"}:
        err.rule = "idempotency_conflict"
    elif kinds == {"permission"}:
        err.rule = "permission_denied"
    return err


def import_file(conn: Conn, kind: str, path: Path | str, *, on: dt.date | None = None) -> dict[str, Any]:
    """Import one file of ``kind`` (payments, collections, opening, budget) in the
    caller's transaction. Returns the batch summary: batch_id, kind, file, rows_total,
    rows_posted, rows_skipped, entries (+ register_items for openings, budgets for budgets)."""
    fmt_name, fn = KINDS[kind]
    fmt = FORMATS[fmt_name]
    sha = file_sha256(path) if Path(path).is_file() else ""
    file, stage_name = stage(conn, path, fmt, f"fl_stage_{kind}")
    args: list[Any] = [stage_name, file, sha]
    extra = ""
    if kind == "opening":
        args.append(on)
        extra = ", %s::date"
    try:
        row = conn.execute(f"SELECT {fn}(%s::regclass, %s, %s{extra}) AS r", args).fetchone()
    except RETRYABLE:
        raise
    except psycopg.Error as e:
        raise _in_file(file, translate(e)) from e
    assert row is not None
    result: dict[str, Any] = row["r"]
    if "errors" in result:
        raise refusal(file, result)
    return result


def _in_file(file: str, err: LedgerError) -> LedgerError:
    """A refusal raised while posting (no_overdraft, period_closed …) names the file."""
    out = type(err)(f"{file}: refused, nothing written: {err.message}", rule=err.rule)
    return out


def handover_transfer(conn: Conn, unit: str, on: dt.date) -> list[dict[str, Any]]:
    """上划: move all of a county's legacy deposits up to the special account, one entry
    per (book, component). Rows: book, component, entry_id, status, amount, idempotency_key."""
    return conn.execute("SELECT * FROM fl.handover_transfer(%s, %s)", (unit, on)).fetchall()


def batches(conn: Conn, *, kind: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Recent import batches, newest first."""
    return conn.execute(
        """SELECT id, kind, file_name, file_sha256, rows_total, rows_posted, rows_skipped, entries,
                  imported_by, imported_at
             FROM fl.import_batch WHERE (%(k)s::text IS NULL OR kind = %(k)s) ORDER BY id DESC LIMIT %(n)s""",
        {"k": kind, "n": limit}).fetchall()
