"""Which entries a duty rule binds, by where the history recorded them (ATTACK10 X1).

0068 records where each maker-checker duty rule took effect (fl.rule_point: the greatest
entry id when its migration ran) and both verdicts judged "written after it" as ``entry.id >
after_entry``. But ``fl.entry.id`` is an identity whose sequence a superuser restarts at will
(``ALTER TABLE fl.entry ALTER COLUMN id SET MINVALUE -1000 RESTART WITH -7``), or writes by
hand, or points into any gap below an upgrade-time point: an entry whose id is not above the
point escaped every duty rule, even where every point is 0 ("binds from the beginning").

The id is the DBA's to choose; the chained history's order is not (a version is chained after
every version already there, and each version's seal names its transaction). So an entry is
bound by a rule when its id is above the rule's point *or* the history recorded its first
version after the point's own version (the point's migration holds a SHARE lock on fl.entry:
every entry recorded before the point was committed before it, every later one after), or the
history has no version of it at all (written with the history's triggers off: the strictest
reading). And the ids themselves are judged:

* ``entry_id_positive``: an entry id is never 0 or negative (the identity counts from 1; the
  table's CHECK since 0077 — a DBA who drops it for one call leaves a row only this names);
* ``entry_id_moved``: an entry the history recorded after a rule's point has an id above the
  point — one at or below it was given an id the identity had already passed.

Positions are ``ledger.core.histories.Scan.first`` (table -> key -> (chain position, history
id) of each row's first version), the same online (the verdict's scan of fl.record_log) and
offline (the export's record_log.csv); fl.rule_point's rows are placed there too
(``histories.ORDERED``). Pure: no database, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ledger.core import histories

Position = histories.Position
POINT_TABLE = "fl.rule_point"


def point_key(rule: str) -> str:
    """A rule point's key in the history, as PostgreSQL prints the jsonb."""
    return f'{{"rule": "{rule}"}}'


def entry_id_of(key: str) -> int | None:
    """An fl.entry history key ``{"id": N}`` as N (None if it is not one)."""
    try:
        return int(key[key.index(":") + 1:key.rindex("}")])
    except ValueError:
        return None


class Binding:
    """Where the history recorded each entry and each rule point (``Scan.first``); None
    when there is no history to read (an export written without it): then only the ids
    decide, and an id at or below 0 is bound by every rule."""

    def __init__(self, first: Mapping[str, Mapping[str, Position]] | None = None) -> None:
        self.entries: Mapping[str, Position] | None = None if first is None else first.get("fl.entry", {})
        self.points: Mapping[str, Position] = {} if first is None else first.get(POINT_TABLE, {})
        self.first: Mapping[str, Mapping[str, Position]] | None = first

    def recorded_after(self, rule: str, eid: int) -> bool:
        """Was entry ``eid`` written after ``rule`` took effect, by the history's order? True
        when the rule has no recorded point (it binds every entry), when the entry has no
        version (written with the triggers off), or when its first version follows the
        point's; with no history at all, only for an id at or below 0."""
        if self.entries is None:
            return eid <= 0
        at = self.points.get(point_key(rule))
        if at is None:
            return True
        pos = self.entries.get(histories.entry_key(eid))
        return pos is None or histories.recorded_before(at, pos)

    def row_recorded_after(self, rule: str, table: str, key: str) -> bool:
        """Was the row of ``table`` whose history key is ``key`` (``{"id": N}``) written after
        ``rule`` took effect, by the history's order (a table of ``histories.ORDERED``)? True when
        the rule has no recorded point, when the row has no version (written with the triggers
        off) or when its first version follows the point's; with no history at all, True (the
        strictest reading: there is no order to spare a row by)."""
        if self.first is None:
            return True
        at = self.points.get(point_key(rule))
        if at is None:
            return True
        pos = self.first.get(table, {}).get(key)
        return pos is None or histories.recorded_before(at, pos)

    def moved(self, after: Mapping[str, int]) -> Iterator[tuple[int, str, int]]:
        """(entry id, rule, after_entry) for each entry the history recorded after a rule's
        point whose id is at or below the point (``entry_id_moved``), each entry once, in
        the history's order. Rules whose point is 0 are left to ``entry_id_positive``
        (every honest id is above 0). One pass over the entries' positions."""
        if self.entries is None:
            return
        marks = [(rule, self.points[point_key(rule)], a) for rule, a in sorted(after.items())
                 if a > 0 and point_key(rule) in self.points]
        if not marks:
            return
        top = max(a for _r, _p, a in marks)
        first = min((at for _r, at, _a in marks), key=lambda p: (p[0] is None, p[0] or 0, p[1]))
        # Keys above every point are passed over on their text: without a sign, a longer key, or
        # one as long that sorts after it, is a greater id (jsonb prints no leading zeros).
        top_key = histories.entry_key(top)
        longest = len(top_key)
        for key, pos in self.entries.items():
            n = len(key)
            if (n > longest or (n == longest and key > top_key)) and "-" not in key:
                continue
            if not histories.recorded_before(first, pos):
                continue                     # recorded before every point: the id is not judged
            eid = entry_id_of(key)
            if eid is None or eid > top:
                continue
            for rule, at, a in marks:
                if eid <= a and histories.recorded_before(at, pos):
                    yield eid, rule, a
                    break
