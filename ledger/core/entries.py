"""Entry documents: what an officer writes to post a journal entry (记账凭证).

A document is one JSON object or a list of them::

    {"date": "2023-01-10", "book": "RES", "memo": "Q1 contributions",
     "idempotency_key": "col-230822-2023Q1",
     "postings": [{"account": "1003", "unit": "230822", "holder": "special",
                   "side": "debit", "amount": "2000000.00"},
                  {"account": "4001", "unit": "230822", "side": "credit", "amount": "2000000.00"}]}

Parsing here is friendly and strict (amounts exactly, sides spelled out); balance,
accounts, periods and idempotency are then enforced by PostgreSQL itself.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# Kept importable from here (the demo, tests); ``balance`` imports them from account_keys.
from ledger.core.account_keys import account_key as account_key
from ledger.core.account_keys import parse_account_key as parse_account_key
from ledger.core.money import parse_fen
from ledger.errors import BadAmount, BadInput
from ledger.i18n import _

Side = Literal["D", "C"]
_SIDES: dict[str, Side] = {"debit": "D", "dr": "D", "d": "D", "借": "D", "credit": "C", "cr": "C", "c": "C", "贷": "C"}


@dataclass(frozen=True, slots=True)
class PostingDraft:
    account: str            # chart code, e.g. "1003" or "5001.inpatient"
    unit: str
    side: Side
    amount: int             # fen, > 0
    holder: str | None = None
    component: str = ""
    line_ref: str | None = None
    memo: str | None = None

    def as_doc(self) -> dict[str, Any]:
        return {"account": self.account, "unit": self.unit, "holder": self.holder, "component": self.component,
                "side": self.side, "amount": self.amount, "line_ref": self.line_ref, "memo": self.memo}


@dataclass(frozen=True, slots=True)
class EntryDraft:
    date: dt.date
    book: str
    idempotency_key: str
    postings: tuple[PostingDraft, ...]
    memo: str = ""
    kind: str = "manual"
    source: Mapping[str, Any] | None = field(default=None)

    def as_doc(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "book": self.book, "memo": self.memo, "kind": self.kind,
                "idempotency_key": self.idempotency_key, "source": dict(self.source) if self.source else None,
                "postings": [p.as_doc() for p in self.postings]}

    def totals(self) -> tuple[int, int]:
        dr = sum(p.amount for p in self.postings if p.side == "D")
        cr = sum(p.amount for p in self.postings if p.side == "C")
        return dr, cr


def parse_date(text: object, where: str) -> dt.date:
    if isinstance(text, dt.date):
        return text
    if not isinstance(text, str):
        raise BadInput(_("{where}: date must be text like 2023-01-31").format(where=where))
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as e:
        raise BadInput(_("{where}: '{text}' is not a date (YYYY-MM-DD)").format(where=where, text=text)) from e


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    v = obj.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise BadInput(_("{where}: '{key}' is required").format(where=where, key=key))
        return ""
    if not isinstance(v, str):
        raise BadInput(_("{where}: '{key}' must be text").format(where=where, key=key))
    if "\x00" in v:
        raise BadInput(_("{where}: '{key}' contains a NUL character; remove it").format(where=where, key=key))
    return v.strip()


#: The longest idempotency key (the database's CHECK on fl.entry and fl.pending_entry, 1..200).
MAX_KEY_CHARS = 200

#: The most one posting holds (the database's posting_amount_cap, sql/0009_policy.sql).
MAX_POSTING_FEN = 10**15


def _amount(v: object, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise BadInput(_("{where}: amount must be text in yuan like \"1234.56\" (got {kind})").format(
            where=where, kind=type(v).__name__))
    try:
        fen = parse_fen(str(v), allow_zero=False)
    except BadAmount as e:
        raise BadInput(f"{where}: {e.message}", rule="amount_format") from e
    if fen > MAX_POSTING_FEN:
        raise BadInput(_("{where}: {amount} is more than one posting may hold (10,000,000,000,000.00; "
                         "the database refuses it too)").format(where=where, amount=v), rule="posting_amount_cap")
    return fen


def parse_posting(obj: object, where: str) -> PostingDraft:
    if not isinstance(obj, Mapping):
        raise BadInput(_("{where}: a posting must be an object").format(where=where))
    side_text = _text(obj, "side", where).lower()
    side = _SIDES.get(side_text)
    if side is None:
        raise BadInput(_("{where}: side must be 'debit' or 'credit', not '{side}'").format(where=where, side=side_text))
    holder = _text(obj, "holder", where, required=False) or None
    return PostingDraft(
        account=_text(obj, "account", where), unit=_text(obj, "unit", where), side=side,
        amount=_amount(obj.get("amount"), where), holder=holder,
        component=_text(obj, "component", where, required=False),
        line_ref=_line_ref(obj, where),
        memo=_text(obj, "memo", where, required=False) or None)


#: The longest line reference a posting holds: an imported row's reference (0107, the reader's bound).
MAX_LINE_REF = 150


def _line_ref(obj: Mapping[str, Any], where: str) -> str | None:
    """A posting's line reference, held to the form of the file references it names (0107: the
    database's CHECK posting_line_ref_form; the reader's rule, ``reference_form_problem``), so a
    reference that reads like another never reaches a report or a bank match; refused here first,
    naming the entry and posting."""
    from ledger.io.tables import reference_form_problem

    text = _text(obj, "line_ref", where, required=False)
    if not text:
        return None
    if len(text) > MAX_LINE_REF:
        raise BadInput(_("{where}: line_ref: {reason}").format(where=where, reason=_("the reference is longer than 150 characters")),
                       rule="line_ref_form")
    problem = reference_form_problem(text, worded=True)
    if problem:
        raise BadInput(_("{where}: line_ref: {reason}").format(where=where, reason=problem), rule="line_ref_form")
    return text


def _source_storable(v: object, where: str, path: str) -> None:
    """(ATTACK16 C7) A source document holds only what the database's JSON (jsonb) stores: no
    NUL (``\\u0000``) in a key or a text, no number past a double (``1e400`` reads as
    infinity, ``NaN``) — refused here naming the entry and the field, not by the database as
    an outage in English."""
    if isinstance(v, str):
        if "\x00" in v:
            raise BadInput(_("{where}: {field} holds a NUL character (\\u0000), which the database stores in no "
                             "text; remove it").format(where=where, field=path), rule="text_nul")
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise BadInput(_("{where}: {field} is a number the database cannot store (Infinity, NaN, or one past "
                             "±1.8×10^308); write it as text").format(where=where, field=path), rule="json_value")
    elif isinstance(v, Mapping):
        for k, x in v.items():
            if "\x00" in str(k):
                raise BadInput(_("{where}: {field} has a key holding a NUL character (\\u0000), which the database "
                                 "stores in no text; remove it").format(where=where, field=path), rule="text_nul")
            _source_storable(x, where, f"{path}.{k}")
    elif isinstance(v, list | tuple):
        for i, x in enumerate(v):
            _source_storable(x, where, f"{path}[{i}]")


def parse_entry(obj: object, where: str = "entry") -> EntryDraft:
    if not isinstance(obj, Mapping):
        raise BadInput(_("{where}: an entry must be a JSON object").format(where=where))
    known = {"date", "book", "memo", "idempotency_key", "postings", "kind", "source"}
    extra = sorted(set(obj) - known)
    if extra:
        raise BadInput(_("{where}: unknown field(s) {fields}: remove them (an entry has only {known})").format(
            where=where, fields=_(", ").join(extra), known=_(", ").join(sorted(known))))
    key = _text(obj, "idempotency_key", where)
    if len(key) > MAX_KEY_CHARS:
        # (ATTACK15 A8) the database's CHECK (1..200) would refuse it by the constraint's name only
        raise BadInput(_("{where}: the idempotency key is {n:,} characters long, more than the {limit} a key may "
                         "have; shorten it (it only needs to be unique: the unit, the date and a number will "
                         "do)").format(where=where, n=len(key), limit=MAX_KEY_CHARS), rule="text_too_long")
    where = f"{where} ({key})"
    postings_obj = obj.get("postings")
    if not isinstance(postings_obj, Sequence) or isinstance(postings_obj, str | bytes):
        raise BadInput(_("{where}: 'postings' must be a list").format(where=where))
    postings = tuple(parse_posting(p, f"{where}, posting {i}") for i, p in enumerate(postings_obj, 1))
    if len(postings) < 2:
        raise BadInput(_("{where}: an entry needs at least two postings").format(where=where))
    source = obj.get("source")
    if source is not None and not isinstance(source, Mapping):
        raise BadInput(_("{where}: 'source' must be an object").format(where=where))
    if source is not None:
        _source_storable(source, where, "source")
    return EntryDraft(date=parse_date(obj.get("date"), where), book=_text(obj, "book", where), idempotency_key=key,
                      postings=postings, memo=_text(obj, "memo", where, required=False),
                      kind=_text(obj, "kind", where, required=False) or "manual", source=source)


def parse_entries(doc: object, source: str = "input") -> list[EntryDraft]:
    """One entry object or a list of them → drafts; raise BadInput naming the entry."""
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise BadInput(_("{source}: no entries").format(source=source))
    return [parse_entry(o, f"{source}: entry {i}") for i, o in enumerate(items, 1)]
