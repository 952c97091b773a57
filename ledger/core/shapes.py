"""Rows with names: the shapes the store returns and the CLI prints.

A read shape is a frozen dataclass whose fields are the documented JSON keys, in order
(docs/reports.md and the guides list them; tests/unit/test_shapes_docs.py holds the two
together). Money fields are marked ``Fen`` (an ``int`` of fen) so that the JSON form
knows, from the type alone, which integers are amounts: an amount is printed as a
two-place decimal string, a count or an id as a number. No list of keys or of money
fields lives beside a query any more; a column renamed in SQL fails where psycopg's
``class_row`` builds the shape, not as a silently missing key in the output.

Pure: no I/O, nothing heavier than ``dataclasses`` and ``typing`` (every read command
imports this; SQLAlchemy/SQLModel never)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from ledger.core.money import decimal_text


class _MoneyMark:
    """The marker inside ``Fen``'s ``Annotated`` metadata."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MONEY"


MONEY = _MoneyMark()

Fen = Annotated[int, MONEY]
"""An amount in integer fen; in JSON a two-place decimal string (``decimal_text``)."""


def _is_money(hint: Any) -> bool:
    """``Fen``, ``Fen | None``, or a mapping of amounts (``dict[str, Fen]``: a figure per
    unit, printed with the mapping's keys)."""
    origin = typing.get_origin(hint)
    if origin is Annotated:
        return any(m is MONEY for m in hint.__metadata__)
    if origin in (typing.Union, types.UnionType):
        return any(_is_money(a) for a in typing.get_args(hint))
    if origin in (dict, Mapping):
        return _is_money(typing.get_args(hint)[-1])
    return False


_MONEY: dict[type, frozenset[str]] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}


def money_fields(cls: type) -> frozenset[str]:
    """The names of ``cls``'s fields typed ``Fen`` (or ``Fen | None``); worked out once
    per shape from its annotations."""
    got = _MONEY.get(cls)
    if got is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        got = _MONEY[cls] = frozenset(f.name for f in dataclasses.fields(cls) if _is_money(hints.get(f.name)))
    return got


def field_names(cls: type) -> tuple[str, ...]:
    """The fields of a shape in order: its JSON keys."""
    got = _FIELDS.get(cls)
    if got is None:
        got = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return got


def money_keys(cls: type) -> tuple[str, ...]:
    """The money fields of a shape in field order (the columns a table right-aligns and
    totals, in the order its JSON prints them)."""
    money = money_fields(cls)
    return tuple(k for k in field_names(cls) if k in money)


def json_value(v: Any, money: bool = False) -> Any:
    """One value as JSON: amounts (``money``) as decimal text, dates ISO, bytes hex,
    Decimal as text, nested shapes by their own fields, mappings and lists element-wise.
    (The same rules as the JSON output always had, so no command's output changed.)"""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int) and money:
        return decimal_text(v)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bytes | memoryview):
        return bytes(v).hex()
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return to_json(v)
    if isinstance(v, Mapping):
        return {k: json_value(x, money) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_value(x) for x in v]
    return v


def to_json(obj: Any) -> dict[str, Any]:
    """A shape as its JSON object: every field, in order, money as decimal text."""
    cls = type(obj)
    money = money_fields(cls)
    return {k: json_value(getattr(obj, k), k in money) for k in field_names(cls)}


def as_row(obj: Any) -> dict[str, Any]:
    """A shape as a shallow dict of its fields (values untouched), for the table
    renderer and for adding display-only columns (a name in the language in force)."""
    return {k: getattr(obj, k) for k in field_names(type(obj))}
