"""ledger.core.keyed: the history's per-row state as integer columns answers exactly as the
dictionaries it replaces, whatever the keys (ascending ids, a hand-made lower id, a key
of another shape or column, a re-put), and the rows' digest order needs no sort of the
integer keys."""

from __future__ import annotations

import random

from ledger.core import keyed
from ledger.store import verify_records as vr

KEYS = ['{"id": 1}', '{"id": 2}', '{"id": 10}', '{"id": 3}', '{"id": 10}', '{"id": 0}', '{"id": -5}',
        '{"id": 9223372036854775807}', '{"id": 007}', '{"id": -0}', '{"id":11}', '{"pending_id": 4}', '{"id": 12}', '{"id": 99999999999999999999}',
        '{"id": 11, "pos": 1}', '"x"', '{"id": 12}', '{"id": 13}', '{"id": 2}']


def _digest(i: int) -> bytes:
    return bytes([i % 256]) * 32


def test_versions_answer_as_a_dictionary_of_their_keys() -> None:
    for seed in range(30):
        rnd = random.Random(seed)
        keys = KEYS if seed == 0 else [rnd.choice(KEYS) for _ in range(25)]
        v = keyed.Versions()
        plain: dict[str, tuple[int, bytes, bytes | None]] = {}
        for i, k in enumerate(keys):
            st = _digest(i + 100) if i % 3 == 0 else None
            v.put(k, i, _digest(i), st)
            plain[k] = (i, _digest(i), st)
        assert len(v) == len(plain) and set(v) == set(plain)
        for k in [*KEYS, '{"id": 4}', '{"id": 14}']:
            assert (k in v) == (k in plain)
            if k in plain:
                assert v[k] == plain[k][:2] and v.stable(k) == plain[k][2]
            else:
                assert v.get(k) is None and v.stable(k) is None
        ordered = list(v.ordered())
        assert ordered == keyed.ordered_pairs((k, d) for k, (_, d, _) in plain.items())
        assert vr.ordered_digest(ordered) == vr.pairs_digest((k, d) for k, (_, d, _) in plain.items())


def test_positions_iterate_in_the_order_put_and_answer_as_a_dictionary() -> None:
    for seed in range(30):
        rnd = random.Random(seed)
        keys = KEYS if seed == 0 else [rnd.choice(KEYS) for _ in range(25)]
        p = keyed.Positions()
        plain: dict[str, tuple[int | None, int]] = {}
        for i, k in enumerate(keys):
            pos = (None if i % 4 == 0 else i * 2, i)
            p[k] = pos
            plain[k] = pos
        assert list(p.items()) == list(plain.items()) and list(p) == list(plain) and len(p) == len(plain)
        for k in [*KEYS, '{"id": 4}']:
            assert p.get(k) == plain.get(k) and (k in p) == (k in plain)


def test_memo_versions_answer_as_a_dictionary_of_their_texts() -> None:
    empty = keyed.MemoVersions.empty
    keys = ['{"entry_id": 1}', '{"entry_id": 2}', '{"entry_id": 5}', '{"entry_id": 3}', '{"entry_id": 07}',
            '{"id": 4}', '{"entry_id": 6}']
    for seed in range(40):
        rnd = random.Random(seed)
        v = keyed.MemoVersions()
        plain: dict[str, tuple[int, str]] = {}
        for i in range(20):
            k = rnd.choice(keys)
            n = keyed.one_int(k)
            text = (empty(n[1]) if n is not None and rnd.random() < 0.7 else
                    '{"memos": {"9": "x"}, "entry_id": 1}')
            hid = i if rnd.random() < 0.9 else -3
            v[k] = (hid, text)
            plain[k] = (hid, text)
        assert len(v) == len(plain) and set(v) == set(plain)
        for k in [*keys, '{"entry_id": 9}']:
            assert v.get(k) == plain.get(k) and (k in v) == (k in plain)
        t = v.texts()
        assert dict(t) == {k: x[1] for k, x in plain.items()}
        assert set(t.texted()) >= {k for k, x in plain.items() if keyed.one_int(k) is None
                                   or x[1] != empty(keyed.one_int(k)[1])}   # type: ignore[index]


def test_a_coded_map_answers_as_a_dictionary_in_the_order_put() -> None:
    for seed in range(40):
        rnd = random.Random(seed)
        m: keyed.CodedMap[str] = keyed.CodedMap()
        plain: dict[int, str] = {}
        nxt = 0
        for _ in range(30):
            r = rnd.random()
            eid = (nxt := nxt + rnd.randint(1, 3)) if r < 0.6 else rnd.randint(-3, nxt + 2) if r < 0.95 else 1 << 70
            kind = rnd.choice(["manual", "payments", "year_close"])
            m[eid] = kind
            plain[eid] = kind
        assert list(m) == list(plain) and len(m) == len(plain) and sorted(m) == sorted(plain)
        for eid in range(-4, nxt + 4):
            assert m.get(eid) == plain.get(eid) and (eid in m) == (eid in plain)
        assert m.get(1 << 70) == plain.get(1 << 70)


def test_the_fields_of_a_coded_map_of_pairs_answer_as_two_dictionaries() -> None:
    """rules.Rules.kinds and .days: one CodedMap of (kind, day) read through keyed.Field
    answers as the two dictionaries it replaced — ids out of order, repeated, past 64 bits."""
    for seed in range(40):
        rnd = random.Random(seed)
        m: keyed.CodedMap[tuple[str, int]] = keyed.CodedMap()
        kinds, days = keyed.Field(m, 0), keyed.Field(m, 1)
        pk: dict[int, str] = {}
        pd: dict[int, int] = {}
        nxt = 0
        for _ in range(30):
            r = rnd.random()
            eid = (nxt := nxt + rnd.randint(1, 3)) if r < 0.6 else rnd.randint(-3, nxt + 2) if r < 0.95 else 1 << 70
            kind, day = rnd.choice(["manual", "payments", "year_close"]), rnd.choice([20230101, 20231231, 20240301])
            m[eid] = (kind, day)
            pk[eid], pd[eid] = kind, day
        for got, plain in ((kinds, pk), (days, pd)):
            assert list(got) == list(plain) and len(got) == len(plain) and sorted(got) == sorted(plain)
            assert dict(got.items()) == plain
            for eid in [*range(-4, nxt + 4), 1 << 70, "x", None]:
                assert got.get(eid) == plain.get(eid) and got.get(eid, "no") == plain.get(eid, "no")
                assert (eid in got) == (eid in plain)


def test_held_of_answers_as_the_dictionary_of_tuples() -> None:
    """rules.Rules.held_of as columns: every entry's confirmed held entries, in the order added,
    whatever the ids (out of order, repeated, past 64 bits, a held id that is not an integer),
    and a key shared with the entry's string when equal."""
    eids = [1, 2, 5, 3, 5, 8, 9, 1 << 63, -(1 << 63) + 1, 0, 12, 12, 20]
    for seed in range(40):
        rnd = random.Random(seed)
        seq = eids if seed == 0 else [rnd.choice(eids) for _ in range(20)]
        h = keyed.HeldOf()
        plain: dict[int, tuple[tuple[object, ...], ...]] = {}
        for i, eid in enumerate(seq):
            pid: object = i + 7 if i % 5 else ("x7" if i % 2 else 1 << 64)
            row = (pid, rnd.choice(["manual", "payments"]), f"k{eid}", "{a}", rnd.choice(["m1", "m2"]), "officer",
                   rnd.choice(["c1", "m1", ""]))
            h.add(eid, row)
            plain[eid] = (*plain.get(eid, ()), row)
        for eid in [*eids, 4, 100]:
            assert h.get(eid) == plain.get(eid)
            assert h.get(eid, ()) == plain.get(eid, ())
        for eid in plain:
            key = "".join(["k", str(eid)])          # an equal string, not the same object
            h.share_key(eid, key)
            got = h.get(eid)
            assert got == plain[eid]
            assert got is not None and all(x[2] is key for x in got if x[2] == key)


def test_kept_of_answers_as_the_dictionary_of_kept_entries() -> None:
    """rules.Rules.kept as columns: every kept entry's fields as the dictionary of ``_E`` gave
    them, iterated in the order first put, whatever the ids (out of order, repeated and so
    overwritten, past 64 bits), with or without a reversed entry or a kept source."""
    from ledger.core import rules

    eids = [1, 2, 5, 3, 5, 8, 9, 1 << 63, -(1 << 63) + 1, 0, 12, 12, 20, 1 << 70, 21]
    for seed in range(40):
        rnd = random.Random(seed)
        seq = eids if seed == 0 else [rnd.choice(eids) if rnd.random() < 0.4 else 22 + i for i in range(25)]
        k = keyed.KeptOf(rules._E, rules._NO_SOURCE)
        plain: dict[int, rules._E] = {}
        for i, eid in enumerate(seq):
            src = rules._NO_SOURCE if i % 3 else {"kind": "unpaid_claims", "year": 2023}
            e = rules._E(rnd.choice(["manual", "reversal", "opening"]), f"key-{i}", rnd.choice(["RES", "EMP"]),
                         f"2023-01-{1 + i % 28:02d}", rnd.choice(["fin", "off1"]), f"2023-01-01 0{i % 10}:00:00+00",
                         rnd.choice(["fin", "rev"]), rnd.choice([None, 4, 1 << 62]), src)
            if i % 2:
                k[eid] = e
            else:
                k.put(eid, e.kind, e.key, e.book, e.date, e.created_by, e.created_at, e.writer, e.reverses, e.source)
            plain[eid] = e
        assert list(k) == list(plain) and len(k) == len(plain)
        assert list(k.items()) == list(plain.items())
        for eid in [*eids, 4, 100, -1]:
            assert k.get(eid) == plain.get(eid) and (eid in k) == (eid in plain)
            if eid in plain:
                assert k[eid] == plain[eid] and k[eid].source is plain[eid].source
        assert list(rules._ids_in_order(k)) == sorted(plain)


def test_int_sums_answer_as_the_dictionary_of_sums() -> None:
    """fund_rules.FundRows.watched as columns: each entry's sum as ``v[eid] = v.get(eid, 0) + a``
    gave it, whatever the ids (repeated at once or later, out of order, past 64 bits) and
    however large the sums grow (past 64 bits)."""
    for seed in range(40):
        rnd = random.Random(seed)
        s = keyed.IntSums()
        plain: dict[int, int] = {}
        nxt = 0
        for _ in range(40):
            r = rnd.random()
            eid = (nxt := nxt + rnd.randint(0, 2)) if r < 0.7 else rnd.randint(-3, nxt + 2) if r < 0.95 else 1 << 70
            amount = rnd.choice([rnd.randint(-10**6, 10**6), (1 << 62), -(1 << 62), 1 << 80])
            s.add(eid, amount)
            plain[eid] = plain.get(eid, 0) + amount
        got = list(s.items())
        assert len(got) == len(plain) == len(s) and dict(got) == plain
        for eid in range(-4, nxt + 4):
            assert s.get(eid) == plain.get(eid)


def test_sorted_ids_are_the_union_in_order_and_kinds_filter_as_the_entries() -> None:
    """rules.Rules.wanted_ids: the union of the kept entries of some kinds, the late and the
    shaped ids, ascending and distinct, whatever their order or size; ``in`` as the set's."""
    from ledger.core import rules

    for seed in range(40):
        rnd = random.Random(seed)
        k = keyed.KeptOf(rules._E, rules._NO_SOURCE)
        nxt = 0
        for _ in range(30):
            r = rnd.random()
            eid = (nxt := nxt + rnd.randint(1, 3)) if r < 0.7 else rnd.randint(-3, nxt + 2) if r < 0.95 else 1 << 70
            k.put(eid, rnd.choice(["manual", "payments", "opening"]), "k", "RES", "2023-01-01", "fin", "t", "fin",
                  None, rules._NO_SOURCE)
        kinds = {"manual", "opening"}
        assert list(k.ids_of_kinds(kinds)) == [eid for eid, e in k.items() if e.kind in kinds]
        late = {rnd.randint(-5, nxt + 5) for _ in range(5)} | ({-(1 << 64)} if seed % 7 == 0 else set())
        shaped = dict.fromkeys(rnd.sample(range(nxt + 3), 4))
        got = keyed.SortedIds.union(k.ids_of_kinds(kinds), late, shaped)
        plain = {eid for eid, e in k.items() if e.kind in kinds} | late | set(shaped)
        assert list(got) == sorted(plain) and len(got) == len(plain)
        assert list(got[1:4]) == sorted(plain)[1:4]
        for eid in [*range(-6, nxt + 6), 1 << 70, -(1 << 64), "1"]:
            assert (eid in got) == (eid in plain)


def test_equal_rows_counts_only_the_kept_rows_exactly() -> None:
    """``Versions.equal_rows`` (the offline verdict's one pass over a history file) counts the
    rows only when they are the kept rows, key for key and digest for digest: a row changed,
    missing, added or repeated, or of another shape, is None (and the verdict then compares
    the texts as it always did, ledger.io.archive._scan_digested)."""
    import hashlib

    def text(k: str, n: int) -> str:
        return f'{{"row": {n}, "key": {k}}}'

    for seed in range(40):
        rnd = random.Random(seed)
        keys = list(dict.fromkeys(rnd.choice(KEYS) for _ in range(12)))
        v = keyed.Versions()
        for i, k in enumerate(keys):
            v.put(k, i, hashlib.sha256(text(k, i).encode()).digest(), None)
        rows = [[k, text(k, i)] for i, k in enumerate(keys)]
        rnd.shuffle(rows)
        assert v.equal_rows(iter(rows)) == len(rows)
        bad = [list(r) for r in rows]
        what = seed % 5
        if what == 0 and bad:
            bad[0][1] = bad[0][1].replace("\"row\": ", "\"row\": 7")   # a value changed
        elif what == 1 and bad:
            bad.pop()                                     # a row missing
        elif what == 2:
            bad.append(['{"id": 424242}', "{}"])           # a row the history never recorded
        elif what == 3 and bad:
            bad.append(list(bad[0]))                      # a row twice
        else:
            bad.append(["{}"])                            # a row of another shape
        assert v.equal_rows(iter(bad)) is None


def test_offline_sources_cursor_answers_as_the_whole_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ledger.io.archive._Sources walks tables/entry.csv forward for the held entries' sources
    and answers as a dictionary of the whole file would: ids in order, again, passed, missing,
    and a file whose ids are not ascending."""
    import csv

    from ledger.io import archive

    for seed in range(12):
        rnd = random.Random(seed)
        ids = sorted(rnd.sample(range(1, 60), 25))
        if seed % 3 == 2:
            rnd.shuffle(ids)                               # not in id order: read whole
        path = tmp_path / f"entry{seed}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id", "kind", "source"])
            for i in ids:
                w.writerow([i, "manual", f'{{"held": {i}, "made_by": "m{i}", "confirmed_by": "c", "x": 1}}'])
        s = archive._Sources(path)
        for _ in range(6):
            want = set(rnd.sample(range(0, 65), rnd.randint(0, 8)))
            got = s.fetch(want)
            assert got == {i: {"source": {"held": i, "made_by": f"m{i}", "confirmed_by": "c"}} for i in want if i in ids}
