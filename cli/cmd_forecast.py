"""``fundledger forecast``: each unit's revenue, spending and months payable projected
month by month (``ledger.core.forecast``), when it first turns yellow and red, the
government's expected shortfall share at each year end, and a chart."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.callbacks import bounded
from cli.context import console, emit_json, parse_date_opt, plain, read, table
from ledger.core.forecast import Assumptions, PathMonth, UnitForecast, forecast_unit, origin_for
from ledger.core.money import decimal_text
from ledger.core.monitor import Thresholds
from ledger.core.shapes import to_json
from ledger.errors import BadInput
from ledger.i18n import _, code_text, get_lang
from ledger.reports.builders import Labels
from ledger.store import forecast as store_forecast
from ledger.store import reports, year_settings
from ledger.store.monitor import recorded_first_days

# A percentage or the damping as an officer types it: plain decimal digits, no exponent
# (ATTACK20b M3: ``Decimal("1e999999999")`` is finite, and dividing it by 100 raised
# decimal.Overflow — a traceback), at most four digits each side of the point.
_PLAIN = re.compile(r"[+-]?[0-9]{1,4}(\.[0-9]{1,4})?")


def _percent(text: str | None, name: str) -> Decimal | None:
    """``"5"`` or ``"5%"`` (per cent) → ``Decimal("0.05")``."""
    if text is None:
        return None
    plain_text = text.strip().removesuffix("%").strip()
    if not _PLAIN.fullmatch(plain_text):
        raise BadInput(_("--{name}: '{text}' is not a percentage (e.g. 5 or -12.5)").format(
            name=name, text=text[:40]))
    return Decimal(plain_text) / 100


def _pct_text(x: Decimal | None) -> str | None:
    return None if x is None else format((x * 100).quantize(Decimal("0.01")), "f")


def _month(d: dt.date | None) -> str | None:
    return None if d is None else f"{d.year}-{d.month:02d}"


def _months_text(m: Decimal | None) -> str | None:
    return None if m is None else format(m, "f")


def path_json(p: PathMonth) -> dict[str, Any]:
    return {"month": _month(p.month), "revenue": decimal_text(p.revenue),
            "contributions": decimal_text(p.contributions), "subsidies": decimal_text(p.subsidies),
            "other_revenue": decimal_text(p.other_revenue), "expenditure": decimal_text(p.expenditure),
            "government_received": decimal_text(p.government_received), "surplus": decimal_text(p.surplus),
            "government_outstanding": decimal_text(p.government_outstanding),
            "months_payable": _months_text(p.months_payable), "colour": p.colour.value}


def unit_json(f: UnitForecast) -> dict[str, Any]:
    return {
        "unit": f.unit, "book": f.book, "history_months": f.history_months,
        "origin": {"month": _month(f.start.month), "surplus": decimal_text(f.start.surplus),
                   "government_outstanding": decimal_text(f.start.government_outstanding),
                   "months_payable": _months_text(f.start.months_payable), "colour": f.start.colour.value},
        "first_yellow": _month(f.first_yellow), "first_red": _month(f.first_red),
        "model": {name: {"annual_level": decimal_text(int(m.level.to_integral_value())),
                         "growth_pct": _pct_text(m.growth), "estimated": m.estimated,
                         "years_of_history": m.years}
                  for name, m in f.models.items()},
        "path": [path_json(p) for p in f.path],
        "years": [to_json(y) for y in f.years],
        "notes": list(f.notes),
    }


def run_forecast(c: Any, *, origin: dt.date, years: int, book: str | None, unit: str | None,
                 a: Assumptions) -> tuple[list[UnitForecast], Thresholds, Labels]:
    """Every unit and book with history: the store reads, the core forecasts."""
    t = year_settings.thresholds(c, origin.year)   # (0162) the settings in force at the origin
    labels = reports.labels(c)
    hist = store_forecast.history(c, origin=origin, book=book, unit=unit)
    owed = store_forecast.government_outstanding(c, origin=origin, book=book, unit=unit)
    firsts = recorded_first_days(c, book=book, unit=unit, as_of=origin)   # the monitor's basis (0130, 0176)
    order = {u: i for i, u in enumerate(labels.units)}
    keys = sorted(hist, key=lambda k: (k[1] != "RES", k[1], order.get(k[0], len(order)), k[0]))
    out = [forecast_unit(u, b, hist[(u, b)], origin=origin, years=years, outstanding=owed.get((u, b), 0),
                         assumptions=a, thresholds=t, first_day=firsts.get((u, b))) for u, b in keys]
    return out, t, labels


def forecast(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Forecast from the end of this day's month if it is a month end, else the previous "
        "month end (default today).")] = None,
    years: Annotated[int, typer.Option("--years", callback=bounded(1, 10), help="Calendar years to forecast (the rest of the "
                                       "origin's year counts as the first).")] = 3,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit.")] = None,
    book: Annotated[str | None, typer.Option("--book", help="Only this book (RES or EMP).")] = None,
    contribution_growth: Annotated[str | None, typer.Option(
        "--contribution-growth", help="Contribution revenue grows this many per cent a year (default: "
        "estimated from the history, damped).")] = None,
    spending_growth: Annotated[str | None, typer.Option(
        "--spending-growth", help="Expenditure grows this many per cent a year (default: estimated, "
        "damped).")] = None,
    subsidy_change: Annotated[str | None, typer.Option(
        "--subsidy-change", help="Fiscal subsidies change by this many per cent from the first forecast "
        "month, e.g. -15 for an announced cut (default 0).")] = None,
    damping: Annotated[str, typer.Option("--damping", help="Trend damping φ from 0 to 1 (default 0.8).")] = "0.8",
    government_lag: Annotated[int, typer.Option(
        "--government-lag", callback=bounded(1, 36), help="Months after a year end when the government pays its shortfall share "
        "(default 1: in January).")] = 1,
    chart: Annotated[Path | None, typer.Option("--chart", help="Also draw months payable (history and "
                                               "forecast) per unit as a PNG here (--book, default RES).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (keys in docs/reports.md).")] = False,
) -> None:
    """Forecast: monthly revenue and spending per unit and book projected from the ledger's
    history (seasonal profile × damped robust trend, docs/forecast.md), the months-payable
    path, the first month each unit turns yellow and red, and the expected government
    shortfall share at each year end."""
    day = parse_date_opt(as_of, "as-of") or dt.date.today()
    origin = origin_for(day)
    if not _PLAIN.fullmatch(damping.strip()):
        raise BadInput(_("--damping: '{value}' is not a number").format(value=damping[:40]))
    phi = Decimal(damping.strip())
    a = Assumptions(contribution_growth=_percent(contribution_growth, "contribution-growth"),
                    spending_growth=_percent(spending_growth, "spending-growth"),
                    subsidy_change=_percent(subsidy_change, "subsidy-change") or Decimal(0),
                    damping=phi, government_lag_months=government_lag)
    if chart is not None and not chart.parent.exists():
        raise BadInput(_("--out {out}: folder {folder} does not exist").format(out=chart, folder=chart.parent))
    results, t, labels = read(lambda c: run_forecast(c, origin=origin, years=years, book=book, unit=unit, a=a))
    if not results:
        raise BadInput(_("no history up to {origin} to forecast from").format(origin=origin))
    if chart is not None:
        from ledger.reports import forecast_chart  # matplotlib only when asked

        chart_book = book or "RES"
        title = forecast_title(labels, chart_book, origin)
        forecast_chart.forecast_chart(
            {labels.name("units", f.unit, get_lang()): f for f in results if f.book == chart_book},
            (t.red_below, t.yellow_below, t.excess_above), title, chart)
    if json_out:
        emit_json({"as_of": day.isoformat(), "origin": origin.isoformat(), "years": years,
                   "thresholds": {"red_below": str(t.red_below), "yellow_below": str(t.yellow_below),
                                  "excess_above": str(t.excess_above)},
                   "assumptions": {"contribution_growth_pct": _pct_text(a.contribution_growth),
                                   "spending_growth_pct": _pct_text(a.spending_growth),
                                   "subsidy_change_pct": _pct_text(a.subsidy_change),
                                   "damping": str(a.damping), "max_growth_pct": _pct_text(a.max_growth),
                                   "government_lag_months": a.government_lag_months},
                   "units": [unit_json(f) for f in results]})
        return
    _render(results, labels, origin)
    if chart is not None:
        console.print(_("wrote {path}").format(path=plain(chart)))


def _render(results: list[UnitForecast], labels: Labels, origin: dt.date) -> None:
    rows = []
    for f in results:
        end = f.path[-1]
        rows.append({"unit": f.unit, "name": labels.name("units", f.unit, "zh"), "book": f.book,
                     "surplus": f.start.surplus, "months": _months_text(f.start.months_payable),
                     "colour": code_text(f.start.colour.value), "first_yellow": _month(f.first_yellow) or "—",
                     "first_red": _month(f.first_red) or "—", "end_surplus": end.surplus,
                     "end_months": _months_text(end.months_payable), "end_colour": code_text(end.colour.value)})
    table(_("Fund forecast from {origin}").format(origin=origin),
          [("unit", _("Unit")), ("name", _("Unit name")), ("book", _("Book")), ("surplus", _("Accumulated surplus")),
           ("months", _("Months payable")), ("colour", _("Colour")), ("first_yellow", _("First yellow")),
           ("first_red", _("First red")), ("end_surplus", _("Surplus at the end")),
           ("end_months", _("Months payable at the end")), ("end_colour", _("Colour at the end"))],
          rows, money=["surplus", "end_surplus"])
    year_rows = [{"unit": f.unit, "name": labels.name("units", f.unit, "zh"), "book": f.book, "year": y.year,
                  "current_balance": y.current_balance, "surplus_before": y.surplus_before,
                  "covered_by_surplus": y.covered_by_surplus, "government_share": y.government_share,
                  "surplus_after": y.surplus_after} for f in results for y in f.years]
    table(_("Expected shortfall sharing at each year end"),
          [("unit", _("Unit")), ("name", _("Unit name")), ("book", _("Book")), ("year", _("Year")),
           ("current_balance", _("Current balance")), ("surplus_before", _("Surplus before")),
           ("covered_by_surplus", _("Covered by surplus")), ("government_share", _("Government share")),
           ("surplus_after", _("Surplus after"))],
          year_rows, money=["current_balance", "surplus_before", "covered_by_surplus", "government_share",
                            "surplus_after"])


def forecast_title(labels: Any, book: str, origin: dt.date, years: int | None = None) -> str:
    """The forecast chart's title in the language in force."""
    head = _("{region} {book}: months payable forecast from {origin}").format(
        region=labels.region, book=labels.name("books", book, get_lang()), origin=origin)
    return head if years is None else head + _(" ({years} years)").format(years=years)


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)
