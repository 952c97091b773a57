"""File imports: stream a file's cells into PostgreSQL, then one SECURITY DEFINER call
validates every row set-based and posts (sql/0004_imports.sql, sql/0008_confine.sql,
docs/imports.md).

The client does no per-row validation beyond the reader's structure checks
(``ledger.io.tables``) and never holds the file in memory: a plain CSV file's bytes
(``ledger.io.plain``), or any other file's cells from the reader, go straight into a
``COPY`` into the *stage*, a session temp table dropped at commit. A plain file with any
problem is staged again through the reader, which names each one. The stage is made by
``fl.import_stage(kind)`` and belongs to the owner of schema ``fl``: the caller may only
insert into it and read it, so nothing the caller attaches to a table can run inside the
definer import (docs/security.md).

All-or-nothing: every problem comes back as a list and is raised as ``BadFile``; the
caller's transaction (``run_tx``) then rolls back, so nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ledger.core.budget import BudgetCheck
from ledger.core.shapes import Fen, field_names
from ledger.errors import BadFile, LedgerError, RowError
from ledger.io import plain
from ledger.io.formats import FORMATS, FileFormat
from ledger.io.infile import open_regular
from ledger.io.normalise import Named, Vocabulary, with_valid_values
from ledger.io.tables import (
    MAX_CELL_CHARS,
    MAX_LINE_BYTES,
    PG_EXCEL_SCIENTIFIC,
    PG_NOT_PLAIN_ASCII,
    open_table,
)
from ledger.store.db import RACES, RETRYABLE, Conn, translated
from ledger.store.rows import fetch_all
from ledger.store.translate import translate

# kind -> (format name in ledger.io.formats, SQL function)
KINDS: dict[str, tuple[str, str]] = {
    "payments": ("payments", "fl.import_payments"),
    "collections": ("collections", "fl.import_collections"),
    "opening": ("opening", "fl.import_opening"),
    "budget": ("budget", "fl.import_budget"),
    "insured": ("insured", "fl.import_insured"),
}

# stage_plain's scan skips the pattern for a reference whose first character is not a digit.
assert PG_EXCEL_SCIENTIFIC.startswith("^[0-9]"), PG_EXCEL_SCIENTIFIC
_NEEDS_ESCAPE = re.compile(r"[\\\n\r]")  # and a tab inside a cell (found by counting)
_COPY_BATCH = 20_000  # rows per COPY write: bounded client memory


def file_sha256(path: Path | str) -> str:
    """SHA-256 of the file's bytes, read in blocks (recorded on fl.import_batch)."""
    h = hashlib.sha256()
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def vocabulary(conn: Conn) -> Vocabulary:
    """The ledger's units and books (code and names), so an import file may name them as an
    office does (``桦南县`` for 230822) and a refusal can list the valid ones."""
    units = conn.execute("SELECT code, name_zh, name_en FROM fl.unit ORDER BY sort, code").fetchall()
    books = conn.execute("SELECT code, name_zh, name_en FROM fl.book ORDER BY code").fetchall()
    return Vocabulary(tuple(Named(r["code"], r["name_zh"], r["name_en"]) for r in units),
                      tuple(Named(r["code"], r["name_zh"], r["name_en"]) for r in books))


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


def _create_stage(conn: Conn, kind: str) -> sql.Identifier:
    """The stage of ``kind``, made by the owner (``fl.import_stage``): ``row_no``
    (spreadsheet row; numbered by the server from 2 when the client does not send it),
    then one text column per format column ('' when absent), then the owner's row counter
    ``fl_tick``, which the caller may not write (0049): copies name their columns, as the
    reader yields them (``fmt.columns``)."""
    _room_for_temp_tables(conn)
    with translated():
        row = conn.execute("SELECT fl.import_stage(%s) AS stage", (kind,)).fetchone()
    assert row is not None
    return sql.Identifier(str(row["stage"]))


def stage(conn: Conn, path: Path | str, fmt: FileFormat, kind: str, *,
          vocab: Vocabulary | None = None, notices: list[str] | None = None) -> str:
    """Stream ``path`` into the stage of ``kind`` (dropped at commit) through the strict
    reader; return the file name used in messages.
    Raises ``BadFile`` for structural problems found by the reader (nothing is then
    written). The precise path: every row parsed in Python, every problem located, every
    cell in canonical form (``ledger.io.normalise``); the reader's notices (encoding,
    ignored columns) are appended to ``notices``."""
    ident = _create_stage(conn, kind)
    with open_table(path, fmt, vocab) as reader:
        file = reader.name
        if notices is not None:
            notices.extend(reader.notices)
        with conn.cursor().copy(sql.SQL("COPY pg_temp.{} ({}) FROM STDIN").format(
                ident, sql.SQL(", ").join(map(sql.Identifier, ("row_no", *fmt.columns))))) as cp:
            buf: list[str] = []
            for line in _copy_lines(reader.rows()):
                buf.append(line)
                if len(buf) >= _COPY_BATCH:
                    cp.write("".join(buf))
                    buf.clear()
            if buf:
                cp.write("".join(buf))
    return file


def stage_plain(conn: Conn, path: Path | str, fmt: FileFormat, kind: str) -> str | None:
    """The fast path: a *plain* CSV file's bytes go unparsed to ``COPY … (FORMAT csv)``.
    Returns None, having written nothing, when the file is not plain (see
    ``ledger.io.plain``) or PostgreSQL refuses its structure (a row with too few or too
    many cells, a blank line, bytes that are not UTF-8): the caller then stages it with
    ``stage``, whose reader names each problem. On success the rows in the stage are
    exactly what ``stage`` would have put there (same cells, same row numbers)."""
    with open_table(path, fmt) as reader:
        file = reader.name
        columns = reader.plain_columns  # canonical names; None: Excel's GBK, ignored columns, XLSX
        if columns is None:
            return None
    with open_regular(path) as fh:
        head = fh.readline(MAX_LINE_BYTES)
        if not plain.header_ok(head):
            return None
        try:
            with conn.transaction():
                ident = _create_stage(conn, kind)
                copy = sql.SQL("COPY pg_temp.{} ({}) FROM STDIN (FORMAT csv, FORCE_NOT_NULL ({}))").format(
                    ident, sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.SQL(", ").join(map(sql.Identifier, columns)))
                with conn.cursor().copy(copy) as cp:
                    for block in plain.blocks(fh):
                        cp.write(block)
                # The reader refuses a cell longer than MAX_CELL_CHARS, and a reference in
                # Excel's scientific form (ATTACK10 X5); so does this path, in one cheap scan
                # (octet_length bounds the characters; the pattern fails at an ordinary
                # reference's second character). The reader then names each row.
                tests = [sql.SQL("octet_length({}) > {}").format(sql.Identifier(c), sql.Literal(MAX_CELL_CHARS))
                         for c in columns]
                if "reference" in columns:
                    # The pattern's first character is a digit: a reference that starts with
                    # anything else (most claim numbers) needs no regular expression here.
                    tests.append(sql.SQL("(ascii(reference) BETWEEN 48 AND 57 AND reference ~ {})").format(
                        sql.Literal(PG_EXCEL_SCIENTIFIC)))
                    # (ATTACK12 Z3) any character past printable ASCII: the reader judges it
                    tests.append(sql.SQL("reference ~ {}").format(sql.Literal(PG_NOT_PLAIN_ASCII)))
                long = conn.execute(sql.SQL("SELECT 1 FROM pg_temp.{} WHERE {} LIMIT 1").format(
                    ident, sql.SQL(" OR ").join(tests))).fetchone()
                if long is not None:
                    raise plain.NotPlain
        except (plain.NotPlain, psycopg.DataError):
            return None
    return file


def refusal(file: str, result: dict[str, Any], vocab: Vocabulary | None = None) -> BadFile:
    """The ``BadFile`` for a function's list of problems (the first 200, and how many in
    all), each "unknown …" naming the valid values. Its rule says what kind:
    ``idempotency_conflict``, ``permission_denied`` or ``category_component`` when every problem
    is of that kind (``_KIND_RULES``)."""
    v = vocab or Vocabulary()
    errors = [RowError(file, int(e["row"]), str(e["column"]), with_valid_values(str(e["column"]), str(e["reason"]), v))
              for e in result["errors"]]
    total = int(result.get("error_count", len(errors)))
    err = BadFile(file, errors, total=total)
    kinds = {e.get("kind") for e in result["errors"]}
    if len(kinds) == 1 and (rule := _KIND_RULES.get(str(next(iter(kinds))))) is not None:
        err.rule = rule
    return err


# A file whose problems are all of one kind is refused under that kind's rule (the rest: bad_file).
# (0106, ATTACK14 V6) A row whose category its component does not pay: the rule 0099 names.
_KIND_RULES = {"conflict": "idempotency_conflict", "permission": "permission_denied",
               "category_component": "category_component"}


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import did (the batch's summary, from the SQL function's document)."""

    batch_id: int | None    # None: the file held nothing new, and nothing was recorded (ATTACK12 Z7)
    kind: str
    file: str
    rows_total: int
    rows_posted: int
    rows_skipped: int       # already posted by an earlier run (same keys, same content)
    entries: int
    notices: list[str]      # what was read differently from the plain format (GBK, ignored columns)

    @classmethod
    def of(cls, kind: str, doc: dict[str, Any], notices: list[str]) -> ImportResult:
        """The shape for ``kind`` from the import function's JSON document; a key the
        document lacks raises (KeyError names it) rather than printing null."""
        shape: type[ImportResult] = {"opening": OpeningImport, "budget": BudgetImport,
                                     "insured": InsuredImport, "payments": PaymentsImport}.get(kind, ImportResult)
        values: dict[str, Any] = {k: notices if k == "notices" else doc[k] for k in field_names(shape)}
        if shape is BudgetImport:
            values["budgets"] = tuple(ImportedBudget.of(d) for d in values["budgets"])
        elif shape is InsuredImport:
            values["headcounts"] = tuple(ImportedHeadcount(**{k: d[k] for k in field_names(ImportedHeadcount)})
                                         for d in values["headcounts"])
        return shape(**values)


@dataclass(frozen=True, slots=True)
class OpeningImport(ImportResult):
    """A county's opening balances: also the memo-register items recorded (no entry), and
    the held entries of the rows on legacy bank accounts, for city finance or a second
    reviewer to confirm (0052, ATTACK6 T9)."""

    register_items: int
    held: list[int]


@dataclass(frozen=True, slots=True)
class PaymentsImport(ImportResult):
    """Benefit payments: the held entries of the city bureau's rows paid from a county's
    expenditure account (money out of the county's bank account), for city finance or a
    second reviewer to confirm (0060, ATTACK7 U11); ``rows_held`` of ``rows_posted`` are in
    them (registered, not yet on the books). A county officer's own rows are never held."""

    held: list[int]
    rows_held: int


@dataclass(frozen=True, slots=True)
class ImportedBudget:
    """One (year, unit, book) a budget file loaded (``fl.import_budget``'s document, and
    the balance). ``checks`` (ledger.core.budget's small-surplus findings) are empty here:
    ``budget import`` fills them from the budget in force after the import."""

    year: int
    unit: str
    book: str
    version: int
    status: str                 # created | unchanged
    revenue: Fen
    expenditure: Fen
    balance: Fen
    deficit: bool
    checks: tuple[BudgetCheck, ...] = ()

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> ImportedBudget:
        rev, exp = int(d["revenue"]), int(d["expenditure"])
        return cls(int(d["year"]), d["unit"], d["book"], int(d["version"]), d["status"], rev, exp, rev - exp,
                   bool(d["deficit"]))


@dataclass(frozen=True, slots=True)
class BudgetImport(ImportResult):
    """A budget file: also the budgets it loaded, one per (year, unit, book) (the budget
    in force's own shape is ledger/store/budget.py's ``BudgetInForce``)."""

    budgets: tuple[ImportedBudget, ...]


@dataclass(frozen=True, slots=True)
class ImportedHeadcount:
    """One (year, unit, book)'s headcount as an import recorded it (``fl.import_insured``)."""

    year: int
    unit: str
    book: str
    insured: int
    version: int
    previous: int | None        # the figure a correction replaced
    status: str                 # created | unchanged | corrected


@dataclass(frozen=True, slots=True)
class InsuredImport(ImportResult):
    """An insured-headcounts file: also each (year, unit, book)'s headcount as recorded."""

    headcounts: tuple[ImportedHeadcount, ...]


class _Refused(Exception):
    """The fast path's file has problems: undo it and let the precise path report them."""


class _NothingNew(Exception):
    """(ATTACK12 Z7) The import wrote no line, held entry or register item: every row was imported
    before, or the file has none. Its batch is undone (a savepoint) so that nothing is recorded: a
    re-run of an imported file, or a header alone, appends nothing to the permanent, chained record
    (the database refuses such a batch at commit: fl.import_batch_wrote, 0089)."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("nothing new")
        self.result = result


def _wrote_nothing(result: dict[str, Any]) -> bool:
    return "errors" not in result and int(result.get("rows_posted", 1)) == 0


def _nothing_recorded(kind: str, result: dict[str, Any], notices: list[str]) -> ImportResult:
    return ImportResult.of(kind, {**result, "batch_id": None}, notices)


def import_file(conn: Conn, kind: str, path: Path | str, *, on: dt.date | None = None) -> ImportResult:
    """Import one file of ``kind`` (payments, collections, opening, budget) in the
    caller's transaction. Returns the batch summary (``ImportResult``; an
    ``OpeningImport`` or a ``BudgetImport`` for those kinds).

    A plain CSV file is first tried on the fast path (its bytes straight into COPY);
    if PostgreSQL finds any problem in it, that attempt is rolled back (a savepoint) and
    the file is staged again through the strict reader, so every problem is reported
    by file, row and column exactly as before. Refusals raised while posting (an
    overdraft, a closed period) are the same on both paths and are not retried."""
    fmt_name, fn = KINDS[kind]
    fmt = FORMATS[fmt_name]
    sha = file_sha256(path) if Path(path).is_file() else ""
    vocab = vocabulary(conn)
    notices: list[str] = []
    extra = ", %s::date" if kind == "opening" else ""

    def call(file: str) -> dict[str, Any]:
        args: list[Any] = [file, sha] + ([on] if kind == "opening" else [])
        try:
            row = conn.execute(f"SELECT {fn}(%s, %s{extra}) AS r", args).fetchone()
        except (*RETRYABLE, *RACES):
            raise                # run_tx runs the import again
        except psycopg.Error as e:
            raise _in_file(file, translate(e)) from e
        assert row is not None
        result: dict[str, Any] = row["r"]
        return result

    try:
        with conn.transaction():
            staged = stage_plain(conn, path, fmt, kind)
            if staged is not None:
                result = call(staged)
                if "errors" in result:
                    raise _Refused
                if _wrote_nothing(result):
                    raise _NothingNew(result)
                return ImportResult.of(kind, result, notices)
    except _Refused:
        pass
    except _NothingNew as nothing:
        return _nothing_recorded(kind, nothing.result, notices)
    file = stage(conn, path, fmt, kind, vocab=vocab, notices=notices)
    try:
        with conn.transaction():
            result = call(file)
            if _wrote_nothing(result):
                raise _NothingNew(result)
    except _NothingNew as nothing:
        return _nothing_recorded(kind, nothing.result, notices)
    if "errors" in result:
        raise refusal(file, result, vocab)
    return ImportResult.of(kind, result, notices)


def _in_file(file: str, err: LedgerError) -> LedgerError:
    """A refusal raised while posting (no_overdraft, period_closed …) names the file
    (unless it names it already: an import's key conflict says file and row itself)."""
    if err.message.startswith(f"{file}, row ") or err.message.startswith(f"{file}: "):
        return err
    out = type(err)(f"{file}: refused, nothing written: {err.message}", rule=err.rule)
    return out


@dataclass(frozen=True, slots=True)
class Transfer:
    """One entry of a handover transfer (上划): a book and component's legacy deposits moved."""

    book: str
    component: str
    entry_id: int | None
    status: str             # posted | duplicate | held
    amount: Fen
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class LegacyMove:
    """(ATTACK17 E5) An entry that moved money on a county's legacy accounts other than its
    audited opening and the transfer up: what the transfer moves less (or more) than audited."""

    book: str
    component: str
    entry_id: int
    kind: str
    entry_date: dt.date
    created_by: str
    confirmed_by: str | None
    amount: Fen             # net on the legacy accounts: negative = money out


@dataclass(frozen=True, slots=True)
class LegacySinceOpening:
    """(ATTACK17 E5) A book and component's audited opening on a county's legacy accounts (the
    confirmed openings, net of their reversals) and every other movement since."""

    book: str
    component: str
    audited: Fen
    moves: tuple[LegacyMove, ...]


def legacy_since_opening(conn: Conn, unit: str) -> list[LegacySinceOpening]:
    """What a county's legacy accounts held at its audited opening, per book and component, and
    which entries moved money on them since, besides the transfer up (上划): ``handover transfer``
    names them, so city finance sees a transfer below the audited opening and why."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute("""
        SELECT a.book, a.component, e.id, e.kind, e.entry_date, e.created_by, o.kind AS reverses_kind,
               (SELECT pe.decided_by FROM fl.pending_entry pe WHERE pe.entry_id = e.id AND pe.state = 'confirmed'
                 LIMIT 1) AS confirmed_by,
               sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END)::bigint AS net
          FROM fl.account a JOIN fl.posting p ON p.account_id = a.id JOIN fl.entry e ON e.id = p.entry_id
          LEFT JOIN fl.entry o ON o.id = e.reverses
         WHERE a.unit = %s AND a.holder IN ('legacy_special', 'legacy_revenue', 'legacy_expenditure')
         GROUP BY a.book, a.component, e.id, e.kind, e.entry_date, e.created_by, o.kind
         ORDER BY a.book, a.component, e.id""", (unit,)).fetchall()
    out: dict[tuple[str, str], tuple[int, list[LegacyMove]]] = {}
    for r in rows:
        book, comp, eid, kind, day, by, rkind, conf, net = (r["book"], r["component"], r["id"], r["kind"],
                                                            r["entry_date"], r["created_by"], r["reverses_kind"],
                                                            r["confirmed_by"], int(r["net"]))
        audited, moves = out.get((book, comp), (0, []))
        if kind == "opening" or (kind == "reversal" and rkind == "opening"):
            audited += net
        elif kind != "handover_transfer" and net != 0:
            moves.append(LegacyMove(book, comp, eid, kind, day, by, conf, net))
        out[(book, comp)] = (audited, moves)
    return [LegacySinceOpening(b, c, a, tuple(m)) for (b, c), (a, m) in out.items()]


def handover_transfer(conn: Conn, unit: str, on: dt.date) -> list[Transfer]:
    """上划: move all of a county's legacy deposits up to the special account, one entry
    per (book, component)."""
    return fetch_all(conn, Transfer, "SELECT book, component, entry_id, status, amount, idempotency_key "
                     "FROM fl.handover_transfer(%s, %s)", (unit, on))

