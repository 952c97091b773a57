"""Entries whose meaning is tied to a closed year are not reversed (ATTACK10 X13, sql/0082).

A year_close entry moves a closed year's revenue and expenditure into fund balance. Its
reversal can only be dated in a later year (the closed year's months are closed), where it
brings the closed year's revenue or expenditure into the open year's result — the year-end
rule's current balance C — while the closed year can never be closed again. 0082 refuses it
(``reversal_year_closed``: fl.reverse_entry, and a row trigger for every path); this is the
rule re-derived from the rows for ``entry_dates``: any reversal of a year_close entry is a
finding. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping

# Kinds never reversed (0082). Swept and left allowed: a government payment (0081 puts its share
# back on the register from the reversal's date), interest, pre-allocations, imports — a later
# year's correction of them is that year's own figure.
NOT_REVERSED = frozenset({"year_close"})


def reversal_findings(kinds: Mapping[int, str], days: Mapping[int, int], reversed_by: Mapping[int, int],
                      legacy: Collection[int] = ()) -> Iterator[tuple[int, str]]:
    """(reversal id, message) for each reversal of a kind never reversed (``days``: entry ->
    its date as YYYYMMDD)."""
    for orig, rev in sorted(reversed_by.items()):
        kind = kinds.get(orig)
        if kind in NOT_REVERSED and rev not in legacy:
            yield rev, (f"reverses entry {orig}, a {kind} entry closing {_year(days, orig)}, dated in "
                        f"{_year(days, rev)}: a year's close is not reversed — the closed year's revenue or "
                        "expenditure would count in another year's result (reversal_year_closed)")


def _year(days: Mapping[int, int], eid: int) -> str:
    d = days.get(eid)
    return str(d // 10000) if d is not None else "None"


def _iso(d: int) -> str:
    return f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}"


def predating_reversals(days: Mapping[int, int], reversed_by: Mapping[int, int], legacy: Collection[int],
                        bound: Callable[[int], bool]) -> Iterator[tuple[int, str]]:
    """(reversal id, message) for each reversal dated before the entry it reverses (ATTACK15 A9,
    sql/0117 ``reversal_predates``), among those ``bound`` by the rule's point: from the
    reversal's date to the original's the books would show the correction of something that
    had not happened yet (and across a year, move a result into the year before)."""
    for orig, rev in sorted(reversed_by.items()):
        d, o = days.get(rev), days.get(orig)
        if d is not None and o is not None and d < o and rev not in legacy and bound(rev):
            yield rev, (f"reverses entry {orig} dated {_iso(o)} but is dated {_iso(d)}, before it: a reversal is dated "
                        "on or after the entry it reverses (reversal_predates)")
