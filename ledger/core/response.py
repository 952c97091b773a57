"""Response plans (风险处置预案) for units in yellow or red, and their acknowledgements.

佳政办发〔2021〕2号 asks for "切实可行的基金运行风险处置预案". A plan is configured per level
in the region file (``[[response_plans]]``): ordered steps, each saying who is told,
what is reviewed and within how many days of the warning. The monitor shows, for each
unit and book whose level (the worse of its two colours, ``balance_rate.overall``) is
yellow or red, the steps with their due dates, the acknowledgement on record (who, when,
what they decided: ``fundledger monitor ack``), and flags a red that nobody acknowledged
by its first step's due date.

The warning's start (``since``) is the first month end of the unbroken run of month ends
(and the day itself) at that level or worse: a unit red since March is still the same
warning in May, and one acknowledgement answers it; a unit that recovered and fell back
starts a new warning, which needs a new acknowledgement.

Pure: configuration and figures in, values out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.core.monitor import Colour
from ledger.errors import BadInput
from ledger.i18n import _

LEVELS = ("yellow", "red")
SEVERITY = {Colour.green: 0, Colour.excess: 1, Colour.yellow: 2, Colour.red: 3}


@dataclass(frozen=True, slots=True)
class PlanStep:
    level: str       # "yellow" or "red"
    notify: str      # who is told
    review: str      # what is reviewed or done
    days: int        # due this many days after the warning's start


# Defaults *(our reading)* of a 风险处置预案: yellow is the bureau's own review, red brings
# in the finance bureau and the county government, faster.
DEFAULT_PLANS: tuple[PlanStep, ...] = (
    PlanStep("yellow", "市医保局基金科; 县(市)医保局", "分析支出增长和收入到位情况, 核对预算执行, 加强费用审核", 30),
    PlanStep("yellow", "市医保局分管局长", "审定控制支出增长的措施", 60),
    PlanStep("red", "市医保局局长; 市财政局社保科", "测算基金缺口, 复核预拨和用款申请, 提出处置意见", 7),
    PlanStep("red", "县(市)人民政府", "落实缺口分担资金和支付保障措施", 30),
)


def parse_plans(items: Sequence[Mapping[str, Any]], source: str = "region") -> tuple[PlanStep, ...]:
    """``[[response_plans]]`` tables (level, notify, review, days); the defaults when none.
    Steps keep their order within a level; every level needs at least one step."""
    if not items:
        return DEFAULT_PLANS
    steps = []
    for i, it in enumerate(items, 1):
        where = f"{source}: response_plans[{i}]"
        if not isinstance(it, Mapping):
            raise BadInput(_("{where}: must be a table").format(where=where))
        level = it.get("level")
        if level not in LEVELS:
            raise BadInput(_("{where}: level must be 'yellow' or 'red', not {level}").format(where=where, level=repr(level)))
        texts = []
        for key in ("notify", "review"):
            v = it.get(key)
            if not isinstance(v, str) or not v.strip():
                raise BadInput(_("{where}: '{key}' must be non-empty text").format(where=where, key=key))
            texts.append(v.strip())
        days = it.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 366:
            raise BadInput(_("{where}: 'days' must be a whole number from 0 to 366").format(where=where))
        steps.append(PlanStep(str(level), texts[0], texts[1], days))
    missing = [lv for lv in LEVELS if not any(s.level == lv for s in steps)]
    if missing:
        raise BadInput(_("{source}: response_plans has no step for level {levels}").format(
            source=source, levels=", ".join(missing)))
    return tuple(steps)


def plans_json(steps: Sequence[PlanStep]) -> list[dict[str, Any]]:
    return [{"level": s.level, "notify": s.notify, "review": s.review, "days": s.days} for s in steps]


def since(points: Sequence[tuple[dt.date, Colour]], level: str) -> dt.date:
    """The start of the current warning: ``points`` are (day, colour) oldest first, the
    last being the monitored day itself, at ``level`` or worse."""
    floor = SEVERITY[Colour(level)]
    if not points or SEVERITY[points[-1][1]] < floor:
        raise BadInput(_("the monitored day is not at this level"))
    start = points[-1][0]
    for day, c in reversed(points):
        if SEVERITY[c] < floor:
            break
        start = day
    return start


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledgement (fl.monitor_ack)."""

    id: int
    unit: str
    book: str
    level: str
    since: dt.date
    acknowledged_on: dt.date
    acknowledged_by: str
    decision: str
    recorded_at: dt.datetime | None = None   # when the database recorded it (acknowledged_on is the day
                                             # the decision was taken, as its maker said)
    recorded_on: dt.date | None = None       # recorded_at's day in the region's time zone

    @property
    def answered_on(self) -> dt.date:
        """The day the warning counts as answered: the later of the day its maker names and the
        day the database recorded it (ATTACK17 E8: a red acknowledged years late, dated its
        first day, looked answered on time). A deadline is judged by this day."""
        if self.recorded_on is not None and self.recorded_on > self.acknowledged_on:
            return self.recorded_on
        return self.acknowledged_on


@dataclass(frozen=True, slots=True)
class DueStep:
    step: PlanStep
    due: dt.date


@dataclass(frozen=True, slots=True)
class Response:
    """What the plan asks of one unit and book on the monitored day."""

    level: str
    since: dt.date
    steps: tuple[DueStep, ...]
    ack: Ack | None
    overdue: bool          # a red with no acknowledgement after its first step's due date


def response(level: str, start: dt.date, as_of: dt.date, plans: Sequence[PlanStep],
             acks: Sequence[Ack]) -> Response:
    """The plan's steps with due dates, the acknowledgement answering this warning (the
    latest one for the unit and book at this level or above, made on or after ``start``
    and by ``as_of``, preferring those recorded by ``as_of``), and whether a red is overdue: past its first step's due date and not
    answered by ``as_of`` (the later of the day the acknowledgement names and the day it was
    recorded, ``Ack.answered_on``)."""
    steps = tuple(DueStep(s, start + dt.timedelta(days=s.days)) for s in plans if s.level == level)
    floor = SEVERITY[Colour(level)]
    answering = [a for a in acks if SEVERITY[Colour(a.level)] >= floor and start <= a.acknowledged_on <= as_of]
    # (ATTACK17b F2) unanswered on ``as_of`` unless the database had recorded the answer by then:
    # an acknowledgement recorded years later is shown (late), but does not answer a past day's red.
    # (ATTACK18 G2) Nor does it un-answer one: the answer shown is the latest of those recorded by
    # ``as_of``, and only when there is none the latest of the rest (late) — a follow-up recorded
    # today never rewrites a past day's monitor.
    on_record = [a for a in answering if a.answered_on <= as_of]
    pool = on_record or answering
    ack = max(pool, key=lambda a: (a.acknowledged_on, a.id)) if pool else None
    answered = bool(on_record)
    overdue = level == "red" and not answered and bool(steps) and as_of > steps[0].due
    return Response(level, start, steps, ack, overdue)
