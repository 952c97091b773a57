"""Bank reconciliation (银行对账): statements in, matches recorded, 余额调节表 out.

* ``read_statement``: a CSV/XLSX statement (date, amount, direction in/out, reference
  [, balance]) parsed strictly; every bad row listed in one ``BadFile``.
* ``match``: pure. Reference first (one bank line may match several postings and the
  reverse, when their totals agree), then amount and date within a window (default 3
  days, setting ``reconcile.window_days``), then one line against several postings of
  one day, and the reverse.
* ``import_statement``: one transaction: ``fl.import_statement`` stores the new lines,
  then the unmatched lines and postings of that bank account are matched and recorded
  with ``fl.record_matches``. A line is known by (account, reference, date, direction,
  amount) and its place among the lines sharing those five (0170, ATTACK20 L7: two 2.00
  手续费 of one day are two bank movements, not one). A file's line is already known when
  the account holds as many lines of its kind as the file has up to it — counted among
  those with the same running balance (余额) when the file gives one, so twins that came
  in two statements differ by it; by place when it gives none. Re-importing the same
  statement, or an overlapping one holding both twins or one, stores nothing twice.
  Chosen over refusing a file with twins: a real statement has them (generic 摘要) and
  its lines are still told apart by their order; the balance, which every export of the
  account repeats identically, tells apart what order cannot (two files). Left: a twin in
  each of two statements exported without the balance column reads as one.
  0173 (ATTACK20b M6): the balance is no identity alone — it can come back to a figure
  (fee 998, reversal 1000, fee again 998) and one line can be exported with another
  balance figure. So a line matched by its balance is the stored one only if the account's
  history did not come back to its balance-before since, or the file shows where it stands
  against that later line (after it: the stored one; before it: new); a line new by its
  balance alone must continue a balance (a stored line or its neighbour in the file ends at
  its balance-before). Otherwise the file is refused naming file and rows
  (``statement_line_ambiguous``): never a line dropped or doubled silently.
  0174 (ATTACK21 N4, N5): the file is read as a continuation of the stored lines, row by
  row in its order (oldest first; dates going back: ``statement_line_order``). A row is a
  stored line only where its place agrees (the file's previous row can precede that line:
  a new row such as the same file's reversal cannot, where the stored line's own
  predecessor ends at its balance-before); a row new only by its balance must continue the
  line IMMEDIATELY before it (the file's placed previous row, or the last stored line on or
  before its date for the first row), not any balance the account once had.
* ``report``: matched groups, unmatched on each side as of a date, and the 余额调节表:
  bank balance + book receipts not yet in the bank − book payments not yet in the bank
  = book balance + bank receipts not in the book − bank payments not in the book.

Book side = the postings of every ledger account held at that physical bank account
(all units' shares of a pooled account). In = debit of the deposit account, out = credit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.core.findings import voucher_label
from ledger.core.money import parse_fen
from ledger.core.shapes import Fen
from ledger.errors import BadAmount, BadFile, BadInput, NotFound, RowError
from ledger.i18n import _
from ledger.io import infile
from ledger.io.formats import STATEMENT
from ledger.io.tables import open_table
from ledger.store.db import Conn
from ledger.store.rows import shape_of

DEFAULT_WINDOW_DAYS = 3
_DIRECTIONS = {"in": "in", "out": "out", "收": "in", "收入": "in", "支": "out", "支出": "out", "付": "out"}


# ---- values -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StatementLine:
    row: int
    date: dt.date
    direction: str          # 'in' | 'out'
    amount: int             # fen, > 0
    reference: str
    balance: int | None


@dataclass(frozen=True, slots=True)
class Item:
    """One side of a match: a bank line or a posting, with its signed amount (in/debit +)."""

    id: int
    date: dt.date
    amount: int
    refs: frozenset[str]


@dataclass(frozen=True, slots=True)
class MatchGroup:
    method: str                 # 'reference' | 'amount_date'
    lines: tuple[int, ...]
    postings: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class BankAccountSpec:
    holder: str
    unit: str | None

    @classmethod
    def parse(cls, text: str) -> BankAccountSpec:
        """``special`` | ``city_exp`` | ``county_exp:230822`` (any holder code; dashes accepted too)."""
        name, _sep, unit = text.strip().partition(":")
        if not name:
            raise BadInput(_("--account '{text}': give special, city_exp or county_exp:UNIT").format(text=text))
        return cls(name.replace("-", "_").lower(), unit.strip() or None)

    def label(self) -> str:
        return self.holder + (f":{self.unit}" if self.unit else "")


# ---- reading a statement ---------------------------------------------------------------------

def read_statement(path: Path | str) -> list[StatementLine]:
    lines: list[StatementLine] = []
    errors: list[RowError] = []
    with open_table(path, STATEMENT) as t:
        name = t.name
        for row, (date_s, amount_s, dir_s, ref, bal_s) in t.rows():
            def bad(col: str, why: str, row: int = row) -> None:
                errors.append(RowError(name, row, col, why))
            try:
                date = dt.date.fromisoformat(date_s)
            except ValueError:
                bad("date", _("'{value}' is not a date (YYYY-MM-DD)").format(value=date_s))
                continue
            try:
                amount = parse_fen(amount_s, allow_zero=False)
            except BadAmount as e:
                bad("amount", e.message)
                continue
            direction = _DIRECTIONS.get(dir_s.strip().lower())
            if direction is None:
                bad("direction", _("'{value}' is not in or out").format(value=dir_s))
                continue
            if not ref:
                bad("reference", _("every bank line needs its reference"))
                continue
            balance = None
            if bal_s:
                try:
                    balance = parse_fen(bal_s, allow_negative=True)
                except BadAmount as e:
                    bad("balance", e.message)
                    continue
            lines.append(StatementLine(row, date, direction, amount, ref, balance))
    if errors:
        raise BadFile(name, errors)
    if not lines:
        raise BadFile(name, [RowError(name, 0, "", _("the statement has no lines"))])
    return lines


# ---- matching (pure) -----------------------------------------------------------------------

def match(lines: Sequence[Item], postings: Sequence[Item], window_days: int = DEFAULT_WINDOW_DAYS) -> list[MatchGroup]:
    """Match bank lines to postings. Deterministic: items are taken in (date, id) order."""
    used_l: set[int] = set()
    used_p: set[int] = set()
    groups: list[MatchGroup] = []
    window = dt.timedelta(days=window_days)

    def take(method: str, ls: Iterable[Item], ps: Iterable[Item]) -> None:
        ls, ps = list(ls), list(ps)
        used_l.update(x.id for x in ls)
        used_p.update(x.id for x in ps)
        groups.append(MatchGroup(method, tuple(sorted(x.id for x in ls)), tuple(sorted(x.id for x in ps))))

    order = lambda x: (x.date, x.id)  # noqa: E731
    lines = sorted(lines, key=order)
    postings = sorted(postings, key=order)

    # 1. By reference: all lines and postings sharing a reference, when their totals agree;
    #    otherwise pair them one to one by amount.
    by_ref_p: dict[str, list[Item]] = defaultdict(list)
    for p in postings:
        for r in p.refs:
            by_ref_p[r].append(p)
    by_ref_l: dict[str, list[Item]] = defaultdict(list)
    for ln in lines:
        for r in ln.refs:
            by_ref_l[r].append(ln)
    for ref in sorted(by_ref_l):
        ls = [x for x in by_ref_l[ref] if x.id not in used_l]
        ps = [x for x in by_ref_p.get(ref, []) if x.id not in used_p]
        if not ls or not ps:
            continue
        if sum(x.amount for x in ls) == sum(x.amount for x in ps):
            take("reference", ls, ps)
            continue
        for ln in ls:
            hit = next((x for x in ps if x.id not in used_p and x.amount == ln.amount), None)
            if hit is not None:
                take("reference", [ln], [hit])

    # 2. Amount and date, one to one: the nearest date within the window.
    by_amount: dict[int, list[Item]] = defaultdict(list)
    for p in postings:
        if p.id not in used_p:
            by_amount[p.amount].append(p)
    for ln in lines:
        if ln.id in used_l:
            continue
        cands = [p for p in by_amount.get(ln.amount, []) if p.id not in used_p and abs(p.date - ln.date) <= window]
        if cands:
            take("amount_date", [ln], [min(cands, key=lambda p: (abs(p.date - ln.date), p.date, p.id))])

    # 3. One bank line for several postings of one day (a batch payment), and the reverse.
    def batches(items: Sequence[Item], used: set[int]) -> dict[tuple[dt.date, bool], list[Item]]:
        out: dict[tuple[dt.date, bool], list[Item]] = defaultdict(list)
        for x in items:
            if x.id not in used:
                out[(x.date, x.amount > 0)].append(x)
        return {k: v for k, v in out.items() if len(v) > 1}

    p_batches = batches(postings, used_p)
    for ln in lines:
        if ln.id in used_l:
            continue
        for (day, _pos), ps in sorted(p_batches.items(), key=lambda kv: (abs(kv[0][0] - ln.date), kv[0][0])):
            ps = [p for p in ps if p.id not in used_p]
            if len(ps) > 1 and abs(day - ln.date) <= window and sum(p.amount for p in ps) == ln.amount:
                take("amount_date", [ln], ps)
                break
    l_batches = batches(lines, used_l)
    for p in postings:
        if p.id in used_p:
            continue
        for (day, _pos), ls in sorted(l_batches.items(), key=lambda kv: (abs(kv[0][0] - p.date), kv[0][0])):
            ls = [x for x in ls if x.id not in used_l]
            if len(ls) > 1 and abs(day - p.date) <= window and sum(x.amount for x in ls) == p.amount:
                take("amount_date", ls, [p])
                break
    return groups


# ---- the database side ----------------------------------------------------------------------

def window_days(conn: Conn) -> int:
    r = conn.execute("SELECT value FROM fl.setting WHERE key = 'reconcile.window_days'").fetchone()
    if r is not None and isinstance(r["value"], int) and r["value"] >= 0:
        return int(r["value"])
    return DEFAULT_WINDOW_DAYS


def bank_account(conn: Conn, spec: BankAccountSpec, book: str) -> dict[str, Any]:
    r = conn.execute("""SELECT b.id, b.book, b.holder, b.unit, h.pooled FROM fl.bank_account b
                          JOIN fl.holder h ON h.code = b.holder
                         WHERE b.book = %s AND b.holder = %s AND b.unit IS NOT DISTINCT FROM
                               (CASE WHEN h.pooled THEN NULL ELSE %s END)""",
                     (book, spec.holder, spec.unit)).fetchone()
    if r is None:
        raise NotFound(_("no bank account {account} in book {book} (or it belongs to a unit you cannot see): "
                          "give special, city_exp or county_exp:UNIT of a unit you keep").format(account=spec.label(), book=book))
    return r


def _unmatched(conn: Conn, bank_id: int) -> tuple[list[Item], list[Item]]:
    lines = [Item(r["id"], r["line_date"], r["amount"] if r["direction"] == "in" else -r["amount"],
                  frozenset([r["reference"]]))
             for r in conn.execute("""
                SELECT l.id, l.line_date, l.direction, l.amount, l.reference FROM fl.statement_line l
                 WHERE l.bank_account_id = %s
                   AND NOT EXISTS (SELECT 1 FROM fl.recon_match m WHERE m.statement_line_id = l.id)""", (bank_id,))]
    postings = [Item(r["id"], r["entry_date"], r["amount"] if r["side"] == "D" else -r["amount"],
                     frozenset(x for x in (r["line_ref"], r["idempotency_key"]) if x))
                for r in conn.execute("""
                SELECT p.id, p.entry_date, p.side, p.amount, p.line_ref, e.idempotency_key
                  FROM fl.posting p JOIN fl.account a ON a.id = p.account_id JOIN fl.entry e ON e.id = p.entry_id
                 WHERE a.bank_account_id = %s
                   AND NOT EXISTS (SELECT 1 FROM fl.recon_match m WHERE m.posting_id = p.id)""", (bank_id,))]
    return lines, postings


def match_account(conn: Conn, bank_id: int, window: int) -> list[MatchGroup]:
    """Match what is still unmatched on one bank account and record it (caller's transaction)."""
    lines, postings = _unmatched(conn, bank_id)
    groups = match(lines, postings, window)
    if groups:
        doc = [{"method": g.method, "lines": list(g.lines), "postings": list(g.postings)} for g in groups]
        conn.execute("SELECT fl.record_matches(%s, %s::jsonb)", (bank_id, json.dumps(doc)))
    return groups


@dataclass(frozen=True, slots=True)
class StatementImport:
    """What ``reconcile import`` stored and matched."""

    statement_id: int
    bank_account_id: int
    account: str                # the bank account as given (special, county_exp:230822)
    book: str
    file: str
    file_sha256: str
    lines_total: int
    lines_new: int
    lines_known: int            # already stored by an earlier import
    window_days: int
    groups_matched: int
    lines_matched: int
    postings_matched: int
    lines_unmatched: int        # on the account, after this match


def import_statement(conn: Conn, path: Path | str, lines: Sequence[StatementLine],
                     spec: BankAccountSpec, book: str, window: int | None = None) -> StatementImport:
    """Store a statement's new lines and match (one business action; the caller owns the transaction)."""
    p = Path(path)
    sha = hashlib.sha256(infile.read_bytes(p)).hexdigest()
    doc = [{"row": x.row, "date": x.date.isoformat(), "direction": x.direction, "amount": x.amount,
            "reference": x.reference, "balance": x.balance} for x in lines]
    r = conn.execute("SELECT * FROM fl.import_statement(%s, %s, %s, %s, %s, %s::jsonb)",
                     (book, spec.holder, spec.unit, p.name, sha, json.dumps(doc, ensure_ascii=False))).fetchone()
    assert r is not None
    w = window_days(conn) if window is None else window
    groups = match_account(conn, r["bank_account_id"], w)
    left = conn.execute("""SELECT count(*) AS n FROM fl.statement_line l WHERE l.bank_account_id = %s
                             AND NOT EXISTS (SELECT 1 FROM fl.recon_match m WHERE m.statement_line_id = l.id)""",
                        (r["bank_account_id"],)).fetchone()
    return StatementImport(r["statement_id"], r["bank_account_id"], spec.label(), book, p.name, sha, r["lines_total"],
                           r["lines_new"], r["lines_total"] - r["lines_new"], w, len(groups),
                           sum(len(g.lines) for g in groups), sum(len(g.postings) for g in groups),
                           left["n"] if left else 0)


@dataclass(frozen=True, slots=True)
class BankItem:
    """A bank statement line as the reconciliation shows it."""

    id: int
    date: dt.date
    direction: str              # in | out
    amount: Fen
    reference: str
    balance: Fen | None         # the statement's running balance, where it gives one
    row_no: int
    match_group: int | None
    method: str | None


@dataclass(frozen=True, slots=True)
class BookItem:
    """A posting to the bank account's ledger accounts as the reconciliation shows it."""

    posting_id: int
    entry_id: int
    voucher: str | None         # RES/2023-000005
    date: dt.date
    side: str                   # D | C
    amount: Fen
    reference: str | None       # the posting's line_ref
    unit: str
    idempotency_key: str
    match_group: int | None
    method: str | None


@dataclass(frozen=True, slots=True)
class MatchedGroup:
    group: int
    method: str
    lines: list[BankItem]
    postings: list[BookItem]


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """余额调节表: bank balance + book items not in the bank = book balance + bank items not
    in the books."""

    bank_balance: Fen
    bank_balance_source: str    # statement | computed | statement+computed
    book_receipts_not_in_bank: Fen
    book_payments_not_in_bank: Fen
    adjusted_bank_balance: Fen
    book_balance: Fen
    bank_receipts_not_in_book: Fen
    bank_payments_not_in_book: Fen
    adjusted_book_balance: Fen
    difference: Fen
    reconciled: bool


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    account: str
    book: str
    bank_account_id: int
    as_of: dt.date
    matched: list[MatchedGroup]
    unmatched_bank: list[BankItem]
    unmatched_book: list[BookItem]
    reconciliation: Reconciliation


def report(conn: Conn, spec: BankAccountSpec, book: str, as_of: dt.date) -> ReconcileReport:
    """Matched groups, unmatched items and the 余额调节表 as of the end of ``as_of``."""
    b = bank_account(conn, spec, book)
    bid = b["id"]
    grp = """(SELECT m2.match_group, max(coalesce(l2.line_date, p2.entry_date)) AS last_date
                FROM fl.recon_match m2 LEFT JOIN fl.statement_line l2 ON l2.id = m2.statement_line_id
                LEFT JOIN fl.posting p2 ON p2.id = m2.posting_id
               WHERE m2.bank_account_id = %(b)s GROUP BY m2.match_group)"""
    lines = conn.execute(f"""
        SELECT l.id, l.line_date AS date, l.direction, l.amount, l.reference, l.balance, l.row_no,
               m.match_group, m.method, coalesce(g.last_date <= %(d)s, false) AS matched
          FROM fl.statement_line l LEFT JOIN fl.recon_match m ON m.statement_line_id = l.id
          LEFT JOIN {grp} g ON g.match_group = m.match_group
         WHERE l.bank_account_id = %(b)s AND l.line_date <= %(d)s
         ORDER BY l.line_date, l.statement_id, l.row_no, l.id""", {"b": bid, "d": as_of}).fetchall()
    book_items = conn.execute(f"""
        SELECT p.id AS posting_id, p.entry_id, p.entry_date AS date, p.side, p.amount, p.line_ref AS reference,
               p.unit, e.idempotency_key, s.book, s.fiscal_year, s.voucher_no,
               m.match_group, m.method, coalesce(g.last_date <= %(d)s, false) AS matched
          FROM fl.posting p JOIN fl.account a ON a.id = p.account_id JOIN fl.entry e ON e.id = p.entry_id
          LEFT JOIN fl.seal s ON s.entry_id = p.entry_id
          LEFT JOIN fl.recon_match m ON m.posting_id = p.id
          LEFT JOIN {grp} g ON g.match_group = m.match_group
         WHERE a.bank_account_id = %(b)s AND p.entry_date <= %(d)s
         ORDER BY p.entry_date, p.id""", {"b": bid, "d": as_of}).fetchall()
    bal = conn.execute("""SELECT coalesce(sum(d.debits - d.credits), 0) AS v FROM fl.account_day d
                            JOIN fl.account a ON a.id = d.account_id
                           WHERE a.bank_account_id = %s AND d.day <= %s""", (bid, as_of)).fetchone()
    book_balance = int(bal["v"]) if bal else 0
    for x in book_items:
        x["voucher"] = voucher_label(x["book"], x["fiscal_year"], x["voucher_no"])

    # Bank balance: the statement's own running balance where it gives one, carried forward.
    bank_balance, source = 0, "computed"
    for ln in lines:
        signed = ln["amount"] if ln["direction"] == "in" else -ln["amount"]
        if ln["balance"] is not None:
            bank_balance, source = int(ln["balance"]), "statement"
        else:
            bank_balance += signed
            source = "computed" if source == "computed" else "statement+computed"

    groups: dict[int, MatchedGroup] = {}
    for ln in lines:
        if ln["matched"]:
            groups.setdefault(ln["match_group"], MatchedGroup(ln["match_group"], ln["method"], [], [])).lines.append(
                shape_of(BankItem, ln))
    for x in book_items:
        if x["matched"]:
            groups.setdefault(x["match_group"], MatchedGroup(x["match_group"], x["method"], [], [])).postings.append(
                shape_of(BookItem, x))
    un_bank = [shape_of(BankItem, ln) for ln in lines if not ln["matched"]]
    un_book = [shape_of(BookItem, x) for x in book_items if not x["matched"]]
    book_in = sum(x.amount for x in un_book if x.side == "D")
    book_out = sum(x.amount for x in un_book if x.side == "C")
    bank_in = sum(ln.amount for ln in un_bank if ln.direction == "in")
    bank_out = sum(ln.amount for ln in un_bank if ln.direction == "out")
    adj_bank = bank_balance + book_in - book_out
    adj_book = book_balance + bank_in - bank_out
    return ReconcileReport(spec.label(), book, bid, as_of, [groups[k] for k in sorted(groups)], un_bank, un_book,
                           Reconciliation(bank_balance, source, book_in, book_out, adj_bank, book_balance, bank_in,
                                          bank_out, adj_book, adj_bank - adj_book, adj_bank == adj_book))
