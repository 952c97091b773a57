"""A unit's joining date in force (加入统筹日期) — one definition for every reader that judges by it or
compares it with a file (ATTACK20b M1).

0154 registered one date per unit (fl.unit_joined, never changed); 0167 lets the city bureau register the
real one later (fl.unit_joined_later, append-only). The date in force is the unit's latest later
registration (highest id), else fl.unit_joined's — what the database's view fl.unit_joining says, re-derived
here from the rows themselves so the independent verdict (proof.first_days), ``verify --region`` and
``init --region`` read the same thing. A region file's ``joined`` is the office's own when it names the date
in force; a file naming a superseded date is not (verify names it, init refuses it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")


def in_force(joined: Mapping[str, T], later: Iterable[tuple[int, str, T]]) -> dict[str, T]:
    """Each unit's date in force: ``joined`` (unit -> fl.unit_joined's date) overridden by each unit's latest
    ``later`` row (id, unit, date; fl.unit_joined_later), the highest id winning whatever the order given."""
    out = dict(joined)
    for _id, unit, day in sorted(later, key=lambda r: int(r[0])):
        out[unit] = day
    return out


def file_names_in_force(file_joined: T | None, in_force_day: T | None) -> bool:
    """Whether a region file's ``joined`` for a unit agrees with the ledger: it names none (the unit's date
    is not the file's to say), or the unit has none yet (the file registers it), or it names the date in force."""
    return file_joined is None or in_force_day is None or file_joined == in_force_day
