"""The entries' canonical heads not kept until the last digest (ledger.core.proof:
``_Entries(keep=False)``, ``HeadCursor``, ``Proof.grouped``'s ``heads``): each head is read
again as its entry's postings arrive and used only if it is the row first read. The verdict
— every finding, every digest handed to the sink — must be the one the kept heads gave,
whatever order the entry rows or the postings arrive in; a head that differs from the first
read stops the verdict (ValueError, "not whole") rather than being digested."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable

import pytest

from ledger.core import proof
from ledger.core.findings import VerifyReport
from tests.unit.test_proof_columns import _entry, _seals, _tables, _texts, _verdict

Tables = dict[str, list[list[str]]]


def _run(tables: Tables, again: Callable[[], Iterable[list[str]]] | None = None,
         ) -> tuple[VerifyReport, proof.Proof, dict[int, tuple[str, bytes | None]]]:
    sunk: dict[int, tuple[str, bytes | None]] = {}
    rep, p = proof.run(lambda t: iter(list(tables[t])) if t in ("entry", "posting", "seal") else tables[t],
                       redo=lambda ids: sorted((r for r in tables["posting"] if int(r[1]) in ids),
                                               key=lambda r: (int(r[1]), int(r[0]))),
                       sink=lambda eid, text, d: sunk.__setitem__(eid, (text, d)), heads_again=again)
    return rep, p, sunk


def _both(tables: Tables) -> tuple[VerifyReport, proof.Proof]:
    kept, _, sunk_kept = _run(tables)
    lean, p, sunk_lean = _run(tables, lambda: iter(list(tables["entry"])))
    assert not p.entries.keep
    assert _verdict(lean) == _verdict(kept)
    assert sunk_lean == sunk_kept
    return lean, p


def test_heads_read_again_give_the_verdict_the_kept_heads_gave() -> None:
    seals = _seals(_texts(), [1, 2, 3])
    rep, _p = _both(_tables([_entry(1), _entry(2), _entry(3)], seals))
    assert rep.ok, [f.message for f in rep.findings]
    seals[1][5] = "\\x" + "00" * 32          # entry 2's sealed digest forged: named the same
    rep, _p = _both(_tables([_entry(1), _entry(2), _entry(3)], seals))
    assert {f.entry_id for f in rep.findings if f.check == "hash_chain"} == {2}


def test_entry_rows_out_of_order_or_repeated_and_postings_out_of_entry_order() -> None:
    seals = _seals(_texts(), [1, 2, 3])
    _both(_tables([_entry(3), _entry(1, book="XXX"), _entry(2), _entry(1)], seals))
    t = _tables([_entry(1), _entry(2), _entry(3)], seals)
    posts = t["posting"]
    t["posting"] = posts[4:] + posts[:4]                 # entry 3's postings first: the cursor passes 1 and 2
    _both(t)
    t["posting"] = [posts[0], *posts[2:], posts[1]]      # entry 1's postings scattered: read again (redo)
    _both(t)
    t = _tables([_entry(1), _entry(3)], seals)           # postings of an entry that does not exist
    _both(t)


def test_a_head_that_differs_from_the_first_read_stops_the_verdict() -> None:
    seals = _seals(_texts(), [1, 2, 3])
    t = _tables([_entry(1), _entry(2), _entry(3)], seals)
    for changed in ([_entry(1), _entry(2, memo="forged"), _entry(3)], [_entry(1), _entry(3)]):
        with pytest.raises(ValueError, match="entry 2"):
            _run(t, lambda changed=changed: iter(changed))


def _grouped_row(eid: int, amount: int) -> list[bytes | None]:
    return [str(eid).encode(), b"2", f"1:D:{amount}:;2:C:{amount}:".encode(), b"1|U1|D,2|U1|C",
            f"{amount},{amount}".encode(), b"2023-01-05", b"2023-01-05", None, None]


def test_the_grouped_ranges_check_each_head_read_again_and_hand_on_the_slow_ones() -> None:
    seals = _seals(_texts(), [1, 2, 3])
    t = _tables([_entry(1), _entry(2), _entry(3)], seals)
    kept = proof.Proof()
    lean = proof.Proof(entries=proof._Entries(keep=False))
    for p in (kept, lean):
        p.books(t["book"])
        p.accounts(t["account"])
        p.entries_(t["entry"])
    heads = {eid: proof.entry_text(_entry(eid)).encode() for eid in (1, 2, 3)}
    rows = [_grouped_row(1, 500), _grouped_row(2, 700), [b"3", b"1", *_grouped_row(3, 900)[2:]]]   # 3: slow
    a, b = kept.grouped(rows), lean.grouped(rows, heads)
    assert bytes(a.digests) == bytes(b.digests) and list(a.ids) == list(b.ids) == [1, 2]
    assert a.slow == b.slow == {3} and b.heads == {3: heads[3]} and a.heads == {}
    back = pickle.loads(pickle.dumps(b))
    lean.merge([back])
    assert lean.entries[3].text_bytes == heads[3] and lean.entries[1].digest == bytes(a.digests[:32])
    with pytest.raises(ValueError, match="entry 2"):
        lean.grouped(rows, {**heads, 2: proof.entry_text(_entry(2, memo="x")).encode()})
    with pytest.raises(ValueError, match="entry 1"):
        lean.grouped(rows, {2: heads[2], 3: heads[3]})
