"""The second warning dimension (当期结余率), a unit's level, and response plans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.balance_rate import RateRanges, balance_rate, overall, rate_colour
from ledger.core.forecast import MonthFlows
from ledger.core.monitor import Colour, Thresholds
from ledger.core.response import DEFAULT_PLANS, Ack, PlanStep, parse_plans, response, since
from ledger.core.watch import month_end_levels
from ledger.errors import BadInput

R = RateRanges()


def test_balance_rate_by_hand_and_its_boundaries():
    # revenue 1,000,000.00, expenditure 1,060,000.00: −60,000 ÷ 1,000,000 = −6.00 % → red
    assert balance_rate(-6_000_000, 100_000_000) == Decimal("-6.00")
    assert rate_colour(Decimal("-6.00"), R, -6_000_000) == Colour.red
    # −5.00 exactly is yellow (red is *below* −5), 0.00 green, 15.00 green, 15.01 excess
    assert rate_colour(balance_rate(-5_000_000, 100_000_000), R, -5_000_000) == Colour.yellow
    assert rate_colour(balance_rate(0, 100_000_000), R, 0) == Colour.green
    assert rate_colour(balance_rate(15_000_000, 100_000_000), R, 1) == Colour.green
    assert rate_colour(balance_rate(15_010_000, 100_000_000), R, 1) == Colour.excess
    # rounded once, half-even: 1 ÷ 3 = 33.333… → 33.33; 1 ÷ 8 = 12.5 % exactly; 1/40000 = 0.0025 % → 0.00
    assert balance_rate(1, 3) == Decimal("33.33") and balance_rate(1, 8) == Decimal("12.50")
    assert balance_rate(1, 40_000) == Decimal("0.00") and balance_rate(3, 40_000) == Decimal("0.01")
    # no revenue yet: no rate; red once money has gone out, green otherwise
    assert balance_rate(-5, 0) is None
    assert rate_colour(None, R, -5) == Colour.red and rate_colour(None, R, 0) == Colour.green
    with pytest.raises(BadInput):
        RateRanges(Decimal("0"), Decimal("0"), Decimal("15"))
    with pytest.raises(BadInput):
        balance_rate(1.5, 100)  # type: ignore[arg-type]


def test_level_is_the_worse_colour():
    assert overall(Colour.green, Colour.red) == Colour.red
    assert overall(Colour.excess, Colour.yellow) == Colour.yellow
    assert overall(Colour.excess, Colour.green) == Colour.excess
    assert overall(Colour.green, Colour.green) == Colour.green


def test_plans_parse_and_refuse():
    assert parse_plans([]) == DEFAULT_PLANS
    steps = parse_plans([{"level": "red", "notify": "A", "review": "B", "days": 5},
                         {"level": "yellow", "notify": "C", "review": "D", "days": 20}])
    assert steps == (PlanStep("red", "A", "B", 5), PlanStep("yellow", "C", "D", 20))
    for bad in ([{"level": "orange", "notify": "A", "review": "B", "days": 5}],
                [{"level": "red", "notify": "", "review": "B", "days": 5}],
                [{"level": "red", "notify": "A", "review": "B", "days": -1}],
                [{"level": "red", "notify": "A", "review": "B", "days": 5}]):   # no yellow step
        with pytest.raises(BadInput):
            parse_plans(bad)


def test_since_and_response_by_hand():
    """Month ends: Jan green, Feb yellow, Mar red, Apr red; monitored 20 April, red.
    The red warning started 31 March (the first of the unbroken red run), the yellow
    level's run 28 February. Red plan: step 1 due 31 March + 7 = 7 April, step 2 + 30 =
    30 April. No acknowledgement by 20 April → overdue. An acknowledgement on 5 April
    (at red) answers it; one on 25 March (before the warning) does not; a yellow one
    does not answer a red."""
    pts = [(dt.date(2024, 1, 31), Colour.green), (dt.date(2024, 2, 29), Colour.yellow),
           (dt.date(2024, 3, 31), Colour.red), (dt.date(2024, 4, 20), Colour.red)]
    assert since(pts, "red") == dt.date(2024, 3, 31)
    assert since(pts, "yellow") == dt.date(2024, 2, 29)
    on = dt.date(2024, 4, 20)
    r = response("red", dt.date(2024, 3, 31), on, DEFAULT_PLANS, [])
    assert [(s.step.days, s.due) for s in r.steps] == [(7, dt.date(2024, 4, 7)), (30, dt.date(2024, 4, 30))]
    assert r.ack is None and r.overdue

    def ack(i: int, level: str, day: dt.date) -> Ack:
        return Ack(i, "U", "RES", level, dt.date(2024, 3, 31), day, "rev", "decided")

    early, yellow, good = ack(1, "red", dt.date(2024, 3, 25)), ack(2, "yellow", dt.date(2024, 4, 2)), \
        ack(3, "red", dt.date(2024, 4, 5))
    assert response("red", dt.date(2024, 3, 31), on, DEFAULT_PLANS, [early, yellow]).overdue
    r = response("red", dt.date(2024, 3, 31), on, DEFAULT_PLANS, [early, yellow, good])
    assert r.ack == good and not r.overdue
    # before the first due date a red is not yet overdue; a yellow is never flagged
    assert not response("red", dt.date(2024, 3, 31), dt.date(2024, 4, 7), DEFAULT_PLANS, []).overdue
    assert not response("yellow", dt.date(2024, 2, 29), on, DEFAULT_PLANS, []).overdue
    with pytest.raises(BadInput):
        since([(dt.date(2024, 4, 20), Colour.green)], "red")


def test_month_end_levels_by_hand():
    """Surplus 1,200 brought in; revenue 1,000 in January only; spending 300 a month.
    Jan: surplus 1,900, months 1,900 ÷ 300 = 6.33 green; rate (1,000 − 300) ÷ 1,000 = 70 % excess → excess.
    Feb: 1,600 ÷ 300 = 5.33 yellow; rate 40 % excess → yellow.
    Mar: 1,300 ÷ 300 = 4.33 yellow; rate 10 % green → yellow.
    Apr: 1,000 ÷ 300 = 3.33 yellow; rate −20 % red → red.
    The 15 April monitor is not a month end before itself, so April is left out."""
    hist = [MonthFlows(dt.date(2024, 1, 1), contributions=1000, expenditure=300, equity=1200)] + \
        [MonthFlows(dt.date(2024, m, 1), expenditure=300) for m in (2, 3, 4)]
    got = month_end_levels("U", "RES", hist, before=dt.date(2024, 5, 1), t=Thresholds(), r=R)
    assert got == [(dt.date(2024, 1, 31), Colour.excess), (dt.date(2024, 2, 29), Colour.yellow),
                   (dt.date(2024, 3, 31), Colour.yellow), (dt.date(2024, 4, 30), Colour.red)]
    assert len(month_end_levels("U", "RES", hist, before=dt.date(2024, 4, 15), t=Thresholds(), r=R)) == 3
    assert month_end_levels("U", "RES", hist, before=dt.date(2024, 1, 31), t=Thresholds(), r=R) == []
    # (0162) a month end of a year with settings of its own is coloured with them: 2024's red below 6
    # and yellow below 7 months make January (6.33) yellow and February to April red; another
    # year's settings change nothing here
    t24 = Thresholds(Decimal(6), Decimal(7), Decimal(15))
    assert month_end_levels("U", "RES", hist, before=dt.date(2024, 5, 1), t=Thresholds(), r=R,
                            by_year={2024: (t24, R)}) == [
        (dt.date(2024, 1, 31), Colour.yellow), (dt.date(2024, 2, 29), Colour.red),
        (dt.date(2024, 3, 31), Colour.red), (dt.date(2024, 4, 30), Colour.red)]
    assert month_end_levels("U", "RES", hist, before=dt.date(2024, 5, 1), t=Thresholds(), r=R,
                            by_year={2023: (t24, R)}) == got


_DAY0 = dt.date(2024, 3, 31)


def _ack(i: int, on: int, rec: int, level: str) -> Ack:
    day = _DAY0 + dt.timedelta(days=on)
    return Ack(i, "U", "RES", level, _DAY0, day, "rev", "decided", recorded_on=day + dt.timedelta(days=rec))


_ACKS = st.lists(st.tuples(st.integers(-5, 60), st.integers(0, 400), st.sampled_from(["red", "yellow"])),
                 max_size=5).map(lambda xs: [_ack(i + 1, *x) for i, x in enumerate(xs)])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ACKS, _ACKS, st.integers(0, 90))
def test_an_acknowledgement_recorded_after_the_day_never_changes_that_days_answer(
        before: list[Ack], later: list[Ack], days: int) -> None:
    """(ATTACK18 G2) A past day's answer depends only on what was on record that day: adding
    acknowledgements recorded after it — a follow-up typed today naming a past day — neither
    answers a red that was unanswered (F2) nor un-answers one that was answered (G2)."""
    as_of = _DAY0 + dt.timedelta(days=days)
    on_record = [a for a in before if a.answered_on <= as_of]
    added = [Ack(100 + a.id, a.unit, a.book, a.level, a.since, a.acknowledged_on, a.acknowledged_by, a.decision,
                 recorded_on=max(a.recorded_on or a.acknowledged_on, as_of + dt.timedelta(days=1)))
             for a in [*before, *later] if a not in on_record]
    then = response("red", _DAY0, as_of, DEFAULT_PLANS, on_record)
    now = response("red", _DAY0, as_of, DEFAULT_PLANS, [*on_record, *added])
    assert now.overdue == then.overdue
    if then.ack is not None:
        assert now.ack == then.ack      # the answer shown is still the one that was on record
