"""Money as integer fen (分). Never a float.

``Money`` is built only from an ``int`` number of fen or from exact decimal text in
yuan (``1,234.56``, ``-5.00`` where negatives are allowed). Parsing is strict: at
most two decimals, ASCII digits only, thousands separators only in groups of three;
``12.345``, ``1e3``, ``NaN``, ``１２`` (full-width) and empty text are refused.
Formatting happens only at the edge (``format_yuan``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import SupportsIndex

from ledger.errors import BadAmount
from ledger.i18n import _

# One regex, anchored, ASCII only (re.ASCII keeps \d from matching full-width digits).
_AMOUNT = re.compile(
    r"""^(?P<sign>-)?
        (?P<int>0|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)
        (?:\.(?P<frac>\d{1,2}))?$""",
    re.VERBOSE | re.ASCII,
)

MAX_FEN = 9_000_000_000_000_000_000  # fits PostgreSQL bigint with room for sums' signs


def _shown(text: str) -> str:
    """The amount as a refusal quotes it: a text of thousands of characters is cut, so the
    message still fits the officer's screen."""
    return text if len(text) <= 40 else text[:30] + "…" + f" ({len(text)} characters)"


def parse_fen(text: str, *, allow_negative: bool = False, allow_zero: bool = True) -> int:
    """Parse yuan text exactly into fen, or raise ``BadAmount`` saying why."""
    if not isinstance(text, str):
        raise BadAmount(_("amount must be text, got {kind}").format(kind=type(text).__name__))
    s = text.strip()
    if not s:
        raise BadAmount(_("amount is empty"))
    m = _AMOUNT.match(s)
    if m is None:
        raise BadAmount(_("'{value}' is not an amount in yuan with at most two decimals (like 1,234.56)").format(
            value=_shown(text)))
    if m.group("sign") and not allow_negative:
        raise BadAmount(_("'{value}' is negative; amounts must be positive").format(value=text))
    digits = m.group("int").replace(",", "").lstrip("0")
    # past MAX_FEN's 17 whole-yuan digits the amount is too large whatever they are: refused
    # before int(), which raises a plain ValueError past Python's 4,300-digit limit
    # (ATTACK20 L1: a traceback for any officer's --amount)
    if len(digits) > len(str(MAX_FEN // 100)):
        raise BadAmount(_("'{value}' is too large").format(value=_shown(text)))
    whole = int(digits or "0")
    frac = (m.group("frac") or "").ljust(2, "0")
    fen = whole * 100 + int(frac)
    if fen > MAX_FEN:
        raise BadAmount(_("'{value}' is too large").format(value=_shown(text)))
    if m.group("sign"):
        fen = -fen
    if fen == 0 and not allow_zero:
        raise BadAmount(_("'{value}' is zero; amounts must be positive").format(value=text))
    return fen


def format_yuan(fen: int, *, thousands: bool = True) -> str:
    """Render fen as yuan text with two decimals (``123456`` → ``1,234.56``)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen must be int, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    w = f"{whole:,}" if thousands else str(whole)
    return f"{sign}{w}.{frac:02d}"


def decimal_text(fen: int) -> str:
    """The stable JSON form of an amount: decimal string, two places, no separators."""
    return format_yuan(fen, thousands=False)


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An exact amount of fen. Arithmetic stays in integers."""

    fen: int

    def __post_init__(self) -> None:
        if isinstance(self.fen, bool) or not isinstance(self.fen, int):
            raise TypeError("Money is built from int fen or Money.parse(text), never a float")

    @classmethod
    def parse(cls, text: str, *, allow_negative: bool = False) -> Money:
        return cls(parse_fen(text, allow_negative=allow_negative))

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __mul__(self, k: SupportsIndex) -> Money:
        return Money(self.fen * k.__index__())

    def __bool__(self) -> bool:
        return self.fen != 0

    def __str__(self) -> str:
        return format_yuan(self.fen)

    @property
    def json(self) -> str:
        return decimal_text(self.fen)
