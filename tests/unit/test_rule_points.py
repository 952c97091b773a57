"""sql/0068 (ATTACK9 W6): where a duty rule took effect is read from the chained history and
judged against where the history recorded it (ledger.core.rules.RulePoints)."""

from __future__ import annotations

import json

from ledger.core import rules


def _entry(vid: int, eid: int) -> list[str]:
    return [str(vid), "fl.entry", "INSERT", json.dumps({"id": eid}), "{}"]


def _point(vid: int, rule: str, after: int, op: str = "INSERT") -> list[str]:
    return [str(vid), "fl.rule_point", op, json.dumps({"rule": rule}),
            json.dumps({"rule": rule, "revision": "0064", "after_entry": after})]


def _judge(*versions: list[str]) -> rules.RulePoints:
    p = rules.RulePoints()
    for v in versions:
        p.feed(v)
    return p.finish()


def test_an_honest_point_binds_the_entries_above_it() -> None:
    p = _judge(_entry(1, 1), _entry(2, 2), _point(3, "money_in", 2), _point(4, "city_figures", 0), _entry(5, 3))
    assert p.points == {"money_in": 2, "city_figures": 0} and p.problems == []


def test_a_point_moved_past_a_later_entry_is_named() -> None:
    # The point's version was recorded after entry 2, but it says it spares entries up to 3.
    p = _judge(_entry(1, 1), _entry(2, 2), _point(3, "money_in", 3), _entry(5, 3))
    assert any("took effect after entry 3" in x for x in p.problems), p.problems


def test_a_point_recorded_twice_is_named_and_the_lowest_binds() -> None:
    p = _judge(_entry(1, 1), _point(2, "money_in", 1), _entry(3, 2), _point(4, "money_in", 2))
    assert p.points["money_in"] == 1
    assert any("has 2 version(s)" in x for x in p.problems), p.problems


def test_no_point_judges_every_entry() -> None:
    r = rules.Rules({}, points=_judge(_entry(1, 1)))
    assert r.point("money_in") == 0 and r.point("city_figures") == 0


def test_a_rule_is_in_force_before_an_upgrade_only_if_its_migration_ran() -> None:
    """migrate.applied_prefix: the chain is not in number order (0058 follows 0062, 0065 follows
    0066), so a database at 0062 has not run 0058's rule and one at 0066 has not run 0065."""
    from ledger.store.migrate import applied_prefix

    assert applied_prefix(None) == ""
    assert applied_prefix("0007") == "0007"
    assert applied_prefix("0062") < "0058" <= applied_prefix("0058")
    assert "0064" <= applied_prefix("0066") < "0065"
    assert applied_prefix("0063") < "0064" <= applied_prefix("0064")


def test_expenditure_binds_from_its_own_point() -> None:
    """(0072) 5xxx became a city figure in 0067: judged from 'city_expenditure', the city's bank
    accounts, 3xxx and 4xxx from 0058's 'city_figures'; every rule named has its revision."""
    r = rules
    assert r.city_figure_rule("5001.inpatient", "") == "city_expenditure"
    assert [r.city_figure_rule(c, h) for c, h in (("3001", ""), ("4101", ""), ("1004", "city_exp"),
                                                   ("1003", "special"))] == ["city_figures"] * 4
    assert r.RULE_POINTS["city_expenditure"] == "0067" and r.RULE_POINTS["city_figures"] == "0058"
