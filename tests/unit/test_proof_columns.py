"""The proof's per-entry state as columns (ledger.core.proof: ``_Entries``, ``_Moves``,
``_SealOf``) and its seals streamed: the verdict must be what it was with one object per
entry and the seals listed — whatever order the entry rows arrive in, with a repeated id
(its last row counts), with the seals given as a one-pass iterator, and findings still
naming the entry and its voucher."""

from __future__ import annotations

import pickle
from collections.abc import Iterable

from ledger.core import proof
from ledger.core.findings import VerifyReport

ACCOUNTS = [["1", "RES", "1003", "U1", "special", "pooled", "", "2100", "2100", "0"],
            ["2", "RES", "4001", "U1", "", "pooled", "", "-2100", "0", "2100"]]
DAYS = [["1", "2023-01-05", "2100", "0"], ["2", "2023-01-05", "0", "2100"]]


def _entry(eid: int, book: str = "RES", memo: str = "m") -> list[str]:
    return [str(eid), book, "2023-01-05", f"k{eid}", "", "manual", memo, "fin", "\\x" + "ab" * 32, "", "{}",
            "2023-01-05 10:00:00+00", "", str(100 + eid)]


def _postings(eid: int, amount: int) -> list[list[str]]:
    return [[str(2 * eid - 1), str(eid), "1", "D", str(amount), "2023-01-05", "U1", "", ""],
            [str(2 * eid), str(eid), "2", "C", str(amount), "2023-01-05", "U1", "", ""]]


def _tables(entries: list[list[str]], seals: list[list[str]]) -> dict[str, list[list[str]]]:
    posts = [*_postings(1, 500), *_postings(2, 700), *_postings(3, 900)]
    return {"book": [["RES", "pooled"]], "account": ACCOUNTS, "entry": entries, "posting": posts, "seal": seals,
            "seal_queue": [], "voucher_counter": [["RES", "2023", str(len(seals))]],
            "chain_head": [[str(len(seals)), seals[-1][7] if seals else "\\x" + "00" * 32]],
            "account_day": DAYS, "bank_account": [], "closed_period": [], "fund_request": [], "request_event": [],
            # (0130) 4001 is a fund figure of U1: its first day, recorded by entry 1
            "chart": [["1003", "asset"], ["4001", "revenue"]], "unit_first_day": [["RES", "U1", "2023-01-05", "1", ""]],
            # (0154) U1 joined the day of its first entry
            "unit_joined": [["U1", "2023-01-05"]], "unit_joined_later": []}


def _run(tables: dict[str, list[list[str]]], once: bool = False,
         unit_joined_after: int = 0, first_day_joined_after: int | None = None) -> tuple[VerifyReport, proof.Proof]:
    def read(t: str) -> Iterable[list[str]] | None:
        if t not in tables and t == "unit_joined":
            return None                 # (an export made before 0154)
        rows = tables[t]
        return iter(list(rows)) if once and t in ("seal", "entry") else rows
    return proof.run(read, unit_joined_after=unit_joined_after, first_day_joined_after=first_day_joined_after)


def _seals(texts: dict[int, bytes], order: list[int]) -> list[list[str]]:
    out, prev = [], proof.GENESIS
    for seq, eid in enumerate(order, 1):
        digest = proof.sha256(texts[eid])
        h = proof.link(prev, digest, seq)
        out.append([str(seq), str(eid), "RES", "2023", str(seq), "\\x" + digest.hex(), "\\x" + prev.hex(),
                    "\\x" + h.hex(), "2023-01-05 10:00:01+00"])
        prev = h
    return out


def _texts() -> dict[int, bytes]:
    got: dict[int, bytes] = {}
    proof.run(lambda t: _tables([_entry(1), _entry(2), _entry(3)], [])[t],
              sink=lambda eid, text, _d: got.__setitem__(eid, text.encode()))
    return got


def _verdict(rep: VerifyReport) -> list[tuple[str, int, list[tuple[str, int | None, str | None]]]]:
    return [(c.name, c.checked, [(f.message, f.entry_id, f.voucher) for f in c.findings]) for c in rep.checks]


def test_a_clean_ledger_verifies_with_its_seals_streamed_once() -> None:
    seals = _seals(_texts(), [1, 2, 3])
    rep, p = _run(_tables([_entry(1), _entry(2), _entry(3)], seals), once=True)
    assert rep.ok, [f.message for f in rep.findings]
    assert p.counts["seals"] == 3 and len(p.entries) == 3


def test_the_verdict_does_not_depend_on_the_order_the_entry_rows_arrive_in() -> None:
    texts = _texts()
    seals = _seals(texts, [1, 2, 3])
    seals[1][5] = "\\x" + "00" * 32          # entry 2's sealed digest forged
    in_order, _ = _run(_tables([_entry(1), _entry(2), _entry(3)], seals))
    # Out of order, and entry 1 given twice: its last row counts (as a dictionary kept it).
    shuffled, p = _run(_tables([_entry(3), _entry(1, book="XXX"), _entry(2), _entry(1)], seals), once=True)
    assert _verdict(shuffled) == _verdict(in_order)
    assert list(p.entries) == [1, 2, 3] and p.entries[1].book == "RES"
    named = [f for f in in_order.findings if f.check == "hash_chain"]
    assert named and {f.entry_id for f in named} == {2}
    assert {f.voucher for f in named} == {"RES/2023-000002"}


def test_an_entry_with_no_seal_is_named_without_a_voucher() -> None:
    seals = _seals(_texts(), [1, 2])
    rep, _ = _run(_tables([_entry(1), _entry(2), _entry(3)], seals), once=True)
    unsealed = [f for f in rep.findings if "has no seal" in f.message]
    assert [(f.entry_id, f.voucher) for f in unsealed] == [(3, None)]


def test_money_moves_keep_their_order_and_values_through_a_fork() -> None:
    m = proof._Moves()
    moves = [("b1", "x9", 5, -300), ("b2", "x9", 6, 10**15), ("b1", "x10", 7, 42)]
    m.extend(moves)
    back = pickle.loads(pickle.dumps(m))
    assert list(back) == moves == list(m) and len(back) == 3
    back.append(("b3", "x9", 8, 1))
    assert list(back)[-1] == ("b3", "x9", 8, 1)


def test_entry_views_read_and_write_their_columns() -> None:
    es = proof._Entries()
    for eid in (9, 4, 7):
        es.append(eid, f"{eid}|RES|2023-02-01|k||manual|结算|fin|00", "RES", "2023-02-01", 2023, None,
                  "2023-02-01 00:00:00+00", "77")
    es.seal()
    assert list(es) == [4, 7, 9] and 5 not in es and es.get(5) is None
    e = es[7]
    assert e.text.startswith("7|RES") and "结算" in e.text and e.year == 2023 and e.digest is None and not e.done
    e.digest, e.postings, e.done = b"\x01" * 32, 3, True
    again = es[7]
    assert again.digest == b"\x01" * 32 and again.postings == 3 and again.done
    assert es[4].digest is None and es[9].postings == 0




def test_the_first_days_are_re_derived_from_the_journal() -> None:
    """(0130, ATTACK16b D4) ``first_days``: a row naming a later entry of another transaction, a
    frozen row whose day is not the earliest up to its frozen_through, a row naming an entry of
    another date, and a unit with fund figures and no row are each named; the honest rows are not."""
    seals = _seals(_texts(), [1, 2, 3])

    def judged(rows: list[list[str]], dates: dict[int, str] | None = None) -> list[str]:
        entries = [_entry(1), _entry(2), _entry(3)]
        t = _tables(entries, seals)
        t["unit_first_day"] = rows
        _rep, p = _run(t)
        return [f.message for f in p.findings["first_days"]]

    assert judged([["RES", "U1", "2023-01-05", "1", ""]]) == []
    assert judged([["RES", "U1", "2023-01-05", "1", "3"]]) == []          # frozen through entry 3: the earliest
    later = judged([["RES", "U1", "2023-01-05", "3", ""]])
    assert len(later) == 1 and "first entry on its fund figures is entry 1" in later[0], later
    assert any("has no recorded first day" in m for m in judged([]))
    assert any("which is dated 2023-01-05" in m for m in judged([["RES", "U1", "2022-03-31", "1", ""]]))
    frozen = judged([["RES", "U1", "2022-03-31", "1", "3"]])
    assert any("frozen by migration 0130" in m and "begin on 2023-01-05" in m for m in frozen), frozen


def test_no_entry_above_the_rule_point_posts_on_a_unit_before_it_joined() -> None:
    """(0154, ATTACK17b F1) ``first_days``: with U1's joining date after its entries' day, each entry
    is named (the unit, the day, the joining date) — unless at or below the rule point unit_joined (the
    rule did not bind it); a joining date on or before the entries' day, or none read (an export made
    before 0154), names nothing."""
    seals = _seals(_texts(), [1, 2, 3])

    def judged(rows: list[list[str]] | None, after: int = 0) -> list[tuple[int | None, str]]:
        t = _tables([_entry(1), _entry(2), _entry(3)], seals)
        if rows is None:
            del t["unit_joined"]
        else:
            t["unit_joined"] = rows
        _rep, p = _run(t, unit_joined_after=after)
        return [(f.entry_id, f.message) for f in p.findings["first_days"]]

    assert judged([["U1", "2023-01-05"]]) == [] and judged([["U1", "2021-01-01"]]) == [] and judged(None) == []
    late = judged([["U1", "2023-02-01"]])
    assert [e for e, _m in late] == [1, 2, 3], late
    assert all("unit U1 dated 2023-01-05, before the unit joined the pooled fund on 2023-02-01" in m for _e, m in late)
    assert [e for e, _m in judged([["U1", "2023-02-01"]], after=2)] == [3]
    # another unit's date binds U1 to nothing — but U1 has no joining date at all (0165, ATTACK19 J2): named once
    other = judged([["U2", "2023-02-01"]])
    assert [e for e, _m in other] == [1] and "unit U1 posts on its fund figures" in other[0][1] \
        and "no registered joining date" in other[0][1], other


def test_a_registered_unit_needs_no_first_day_row_above_the_rule_point() -> None:
    """(0157, G5/G9) ``first_days``: a unit whose joining date was registered (source region) and whose
    first fund-figure entry is above the rule point first_day_joined has no row by design; at or below
    the point, with a defaulted or derived date, or with no point recorded (a ledger or export from
    before 0157), its missing row is named as before; a row it has is judged as strictly as ever."""
    seals = _seals(_texts(), [1, 2, 3])

    def judged(joined: list[str], after: int | None, rows: list[list[str]] | None = None) -> list[str]:
        t = _tables([_entry(1), _entry(2), _entry(3)], seals)
        t["unit_first_day"] = rows or []
        t["unit_joined"] = [joined]
        _rep, p = _run(t, first_day_joined_after=after)
        return [f.message for f in p.findings["first_days"]]

    assert judged(["U1", "2023-01-05", "region"], 0) == []
    missing = "has no recorded first day"
    assert any(missing in m for m in judged(["U1", "2023-01-05", "region"], 1))      # its first entry is 1
    assert any(missing in m for m in judged(["U1", "2023-01-05", "region"], None))   # no point: strict
    for how in ("first_year", "upgrade"):
        assert any(missing in m for m in judged(["U1", "2023-01-05", how], 0)), how
    later = judged(["U1", "2023-01-05", "region"], 0, [["RES", "U1", "2023-01-05", "3", ""]])
    assert len(later) == 1 and "first entry on its fund figures is entry 1" in later[0], later
