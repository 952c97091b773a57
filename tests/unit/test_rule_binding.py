"""ATTACK10 X1: a duty rule binds an entry the history recorded after the rule's point, whatever
id it carries (ledger.core.rule_binding), and ids that moved are named."""

from __future__ import annotations

from ledger.core import histories, rule_binding, rules

POINT = rule_binding.point_key("money_in")


def _first(entries: dict[int, int], point_at: int) -> dict[str, dict[str, histories.Position]]:
    """Scan.first with each entry's and the point's first version chained at ``seq``."""
    return {"fl.entry": {histories.entry_key(e): (seq, seq) for e, seq in entries.items()},
            rule_binding.POINT_TABLE: {POINT: (point_at, point_at)}}


def test_an_entry_recorded_after_the_point_is_bound_whatever_its_id() -> None:
    b = rule_binding.Binding(_first({1: 1, 2: 2, 5: 10, -7: 11, 0: 12}, point_at=5))
    assert not b.recorded_after("money_in", 1) and not b.recorded_after("money_in", 2)
    assert b.recorded_after("money_in", 5) and b.recorded_after("money_in", -7) and b.recorded_after("money_in", 0)
    assert b.recorded_after("money_in", 99)                  # no version: written with the triggers off
    assert b.recorded_after("city_figures", 1)               # no recorded point: binds every entry


def test_without_a_history_only_ids_below_1_are_bound_by_position() -> None:
    b = rule_binding.Binding(None)
    assert b.recorded_after("money_in", 0) and b.recorded_after("money_in", -3)
    assert not b.recorded_after("money_in", 3)
    assert list(b.moved({"money_in": 10})) == []


def test_an_id_at_or_below_a_point_recorded_after_it_is_moved() -> None:
    # point after entry 4 (recorded at seq 5); entry 3 is a gap id given after the point.
    b = rule_binding.Binding(_first({1: 1, 2: 2, 4: 4, 6: 6, 3: 7, 8: 8}, point_at=5))
    assert list(b.moved({"money_in": 4, "city_figures": 0})) == [(3, "money_in", 4)]
    assert list(b.moved({"money_in": 0})) == []               # a point of 0: entry_id_positive's


def test_rules_bind_by_the_history_and_name_moved_and_non_positive_ids() -> None:
    p = rules.RulePoints()
    p.feed(["1", "fl.entry", "INSERT", '{"id": 1}', "{}"])
    p.feed(["5", rules.RULE_POINT_TABLE, "INSERT", '{"rule": "money_in"}',
            '{"rule": "money_in", "revision": "0064", "after_entry": 4}'])
    r = rules.Rules({}, points=p.finish())
    assert not r.bound("money_in", 3)                        # by id alone: spared
    r.placed(_first({1: 1, 3: 7}, point_at=5))
    assert r.bound("money_in", 3) and not r.bound("money_in", 1)
    r._moved_ids()
    assert [(f.entry_id, "entry_id_moved" in f.message) for f in r.findings["maker_checker"]] == [(3, True)]
    r._id_not_positive(-7, "manual:o22:x", "o22")
    assert r.findings["maker_checker"][-1].entry_id == -7 and "entry_id_positive" in r.findings["maker_checker"][-1].message


def test_legs_of_entries_with_ids_below_1_are_kept_apart() -> None:
    r = rules.Rules({})
    r._add_legs([(-7, ("1", "D", "")), (-7, ("2", "C", "")), (0, ("1", "C", "")), (3, ("2", "D", ""))])
    assert r.legs == {-7: (("1", "D", ""), ("2", "C", "")), 0: (("1", "C", ""),), 3: (("2", "D", ""),)}


def test_keys_above_every_point_are_passed_over_on_their_text_only() -> None:
    """Ids shorter than the point's, as long and smaller, or signed are judged; longer ones and
    as long and greater are above it (jsonb prints no leading zeros)."""
    b = rule_binding.Binding(_first({1: 1, 99: 2, 10: 6, 98: 7, 100: 8, 150: 9, 99999: 10, -5: 11}, point_at=5))
    assert sorted(e for e, _r, _a in b.moved({"money_in": 99})) == [-5, 10, 98]
