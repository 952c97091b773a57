"""Register clearings stay live only while their entry does (ATTACK10 X12, sql/0081).

A clearing (fl.register_clearing) records money received for a register item — fiscal or
employer arrears, unpaid claims, a local government's share of a deficit — by the entry that
received it. When that entry is reversed, 0081 writes a row undoing the clearing: keyed
``register-unclear:<the clearing's id>``, naming the reversal, of the opposite amount (and
the item's ``cleared`` moves back). ``actors`` re-derives ``cleared`` as the sum of the rows;
this module judges that the rows undo exactly what was reversed:

* a clearing (or an undoing row) whose entry was reversed has a row undoing it — else the
  arrears or the share vanished from the register while the books say the money never came;
* an undoing row names a clearing of the same item, undoes exactly its amount, and names an
  entry that reverses that clearing's entry;
* any other row records money received: a positive amount.

Pure: the rows are the latest versions of fl.register_clearing (as ``actors`` reads them)
and ``entry`` gives an entry's kind, source and ``reverses`` (ledger.store.verify_actors
reads the entries the clearings name and those that reverse them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

UNCLEAR = "register-unclear:"


def _int(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def undoes(row: Mapping[str, Any]) -> int | None:
    """The clearing a row undoes (its key ``register-unclear:<id>``), or None."""
    key = str(row.get("idempotency_key") or "")
    return _int(key[len(UNCLEAR):]) if key.startswith(UNCLEAR) else None


def is_undoing(row: Mapping[str, Any]) -> bool:
    return str(row.get("idempotency_key") or "").startswith(UNCLEAR)


def reversed_by(entries: Iterable[tuple[int, Mapping[str, Any]]]) -> dict[int, int]:
    """entry id -> the entry that reverses it, from (id, {reverses, …}) pairs."""
    out: dict[int, int] = {}
    for eid, e in entries:
        r = _int(e.get("reverses"))
        if r is not None:
            out.setdefault(r, eid)
    return out


def findings(rows: Iterable[Mapping[str, Any]], entry: Callable[[Any], Mapping[str, Any] | None],
             reversals: Mapping[int, int]) -> Iterator[tuple[Any, str]]:
    """(the row's id, what is wrong) for every row that breaks the rules above."""
    rows = list(rows)
    by_id = {_int(r.get("id")): r for r in rows}
    undone = {undoes(r) for r in rows if is_undoing(r)}
    for c in sorted(rows, key=lambda r: _int(r.get("id")) or 0):
        cid, eid, amount = _int(c.get("id")), _int(c.get("entry_id")), _int(c.get("amount")) or 0
        item = c.get("item_id")
        if is_undoing(c):
            n = by_id.get(undoes(c))
            e = entry(eid)
            if n is None:
                yield cid, (f"is keyed {c.get('idempotency_key')} but no clearing {undoes(c)!s} exists: a row undoing "
                            f"nothing moved item {item}'s cleared amount")
            elif n.get("item_id") != item or (_int(n.get("amount")) or 0) != -amount:
                yield cid, (f"undoes clearing {n.get('id')} (item {n.get('item_id')}, {n.get('amount')}) with "
                            f"{amount} on item {item}: an undoing row takes back exactly what its clearing recorded")
            elif e is None or _int(e.get("reverses")) != _int(n.get("entry_id")):
                yield cid, (f"undoes clearing {n.get('id')} by entry {eid}, which does not reverse that clearing's "
                            f"entry {n.get('entry_id')}: only the reversal of the money's entry puts it back on the "
                            "register")
        elif amount <= 0:
            yield cid, (f"clears item {item} by {amount} with entry {eid}: a clearing records money received "
                        "(a positive amount); only the reversal of its entry undoes one")
        if eid is not None and eid in reversals and cid not in undone:
            yield cid, (f"clears item {item} by entry {eid}, which entry {reversals[eid]} reversed, yet no row undoes "
                        "the clearing: the register counts money the books say never arrived (the arrears or the "
                        "government's share vanished)")
