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

from collections.abc import Collection, Iterator, Mapping

# Kinds never reversed (0082). Swept and left allowed: a government payment (0081 puts its share
# back on the register from the reversal's date), interest, pre-allocations, imports — a later
# year's correction of them is that year's own figure.
NOT_REVERSED = frozenset({"year_close"})


def reversal_findings(kinds: Mapping[int, str], years: Mapping[int, int], reversed_by: Mapping[int, int],
                      legacy: Collection[int] = ()) -> Iterator[tuple[int, str]]:
    """(reversal id, message) for each reversal of a kind never reversed."""
    for orig, rev in sorted(reversed_by.items()):
        kind = kinds.get(orig)
        if kind in NOT_REVERSED and rev not in legacy:
            yield rev, (f"reverses entry {orig}, a {kind} entry closing {years.get(orig)!s}, dated in "
                        f"{years.get(rev)!s}: a year's close is not reversed — the closed year's revenue or "
                        "expenditure would count in another year's result (reversal_year_closed)")
