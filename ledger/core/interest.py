"""Sharing the special account's interest (专户利息) among units by average daily balance.

The city's special account (财政专户) pools every unit's money, and the bank pays one
interest figure on it. Each unit is credited a share proportional to its average daily
balance over the period. Because every unit is measured over the same days, the
average is proportional to the plain *sum of end-of-day balances* (积数), which is an
exact integer — so that sum is the weight, and no division happens until the share.

Shares must add up to the bank's figure to the fen, so the largest-remainder (Hamilton)
method is used: everyone gets the floor of their exact share, and the few fen left over
go one each to the largest fractional remainders, ties broken by unit code ascending.
A unit whose weight is zero or negative (on balance it drew on the pool rather than
funding it) earns nothing: the pool, not that unit, was holding the money.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from ledger.errors import BadInput
from ledger.i18n import N_, _


def _fen(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(_("{name} must be a whole number of fen, got {kind}").format(name=_(name), kind=type(value).__name__))
    return value


def _is_day(value: object) -> bool:
    """A calendar date; a ``datetime`` (also a ``date``) is refused, as it would not compare."""
    return isinstance(value, date) and not isinstance(value, datetime)


def _unit(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(_("unit code must be non-empty text, got {value}").format(value=repr(value)))
    return value


def allocate_interest(total_fen: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total_fen`` of interest by weight; every unit in ``weights`` gets an entry.

    Worked example: 7 fen over weights x=5, y=3, z=2 → exact shares 3.5, 2.1, 1.4;
    floors 3, 2, 1 leave 1 fen, which goes to the largest remainder (x) → 4, 2, 1.

    The result is keyed in unit-code order and depends only on the contents of
    ``weights``, never on its iteration order.
    """
    total = _fen(N_("interest"), total_fen)
    if total < 0:
        raise BadInput(_("interest to share must not be negative, got {total} fen").format(total=total))
    clean = {_unit(u): _fen(_("weight of {unit}").format(unit=u), w) for u, w in weights.items()}
    positive = {u: w for u, w in clean.items() if w > 0}
    if not positive:
        raise BadInput(_("no unit held a positive balance over the period; there is nobody to credit interest to"))
    denominator = sum(positive.values())

    shares = dict.fromkeys(sorted(clean), 0)
    remainders: list[tuple[int, str]] = []
    for u, w in positive.items():
        # total * w / denominator, kept as quotient and remainder over the common denominator
        floor_share, remainder = divmod(total * w, denominator)
        shares[u] = floor_share
        remainders.append((remainder, u))
    leftover = total - sum(shares.values())  # 0 ≤ leftover < number of positive units
    remainders.sort(key=lambda ru: (-ru[0], ru[1]))
    for _rem, u in remainders[:leftover]:
        shares[u] += 1
    return shares


def daily_balance_weights(
    opening: Mapping[str, int],
    movements: Iterable[tuple[date, str, int]],
    start: date,
    end: date,
) -> dict[str, int]:
    """Sum of each unit's end-of-day balances (积数) over ``[start, end]`` inclusive.

    ``opening`` is each unit's balance before any of ``movements``; a movement is
    ``(day, unit, signed fen)`` and counts in that day's end-of-day balance. Movements
    before ``start`` fold into the opening balance; those after ``end`` are ignored.
    A movement on day ``d`` therefore contributes ``amount × (end − d + 1)`` days.
    Units appearing only in movements start from 0. Keys come back in unit-code order.
    """
    if not _is_day(start) or not _is_day(end):
        raise BadInput(_("the interest period's start and end must be dates"))
    if end < start:
        raise BadInput(_("the interest period ends ({end}) before it starts ({start})").format(end=end, start=start))
    days = (end - start).days + 1
    sums: dict[str, int] = {}
    for u, balance in opening.items():
        sums[_unit(u)] = _fen(_("opening balance of {unit}").format(unit=u), balance) * days
    for day, u, amount in movements:
        if not _is_day(day):
            raise BadInput(_("movement for {unit} must be dated with a calendar date, got {day}").format(
                unit=repr(u), day=repr(day)))
        key = _unit(u)
        fen = _fen(_("movement of {unit} on {day}").format(unit=u, day=day), amount)
        if day > end:
            counted = 0
        elif day < start:
            counted = days
        else:
            counted = (end - day).days + 1
        sums[key] = sums.get(key, 0) + fen * counted
    return {u: sums[u] for u in sorted(sums)}
