"""The forecast chart: months payable (可支付月数) per unit, the last two years of history
as solid lines and the forecast dashed, over the same red / yellow / green / excess
bands as the monitor chart (``ledger.reports.charts``, whose conventions — one Agg
figure per call, the bundled CJK font passed to each text, float only at the pixel
edge — it follows), with a vertical line at the forecast's origin."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ledger.core.forecast import UnitForecast, month_end
from ledger.i18n import _
from ledger.reports import charts
from ledger.reports.charts import _date2num, _date_axis, _finish, _new_axes, _no_data, _sized

HISTORY_MONTHS = 24


def forecast_chart(forecasts: Mapping[str, UnitForecast], thresholds: tuple[Decimal, Decimal, Decimal],
                   title: str, out: Path) -> Path:
    """Draw ``forecast_figure`` and save a 1600×900 PNG to ``out``. Returns ``out``."""
    return charts.save_png(forecast_figure(forecasts, thresholds, title), out)


def forecast_figure(forecasts: Mapping[str, UnitForecast], thresholds: tuple[Decimal, Decimal, Decimal],
                    title: str) -> Figure:
    """``forecasts`` maps each unit's display name to its forecast (one book). The y axis
    is bounded as in ``charts.monitor_figure`` (0 .. between 1.4 and 2 × the excess line)."""
    red, yellow, excess = thresholds
    if not all(isinstance(t, Decimal) and t.is_finite() for t in thresholds) or not 0 < red < yellow < excess:
        raise ValueError(f"thresholds must be finite Decimals with 0 < red < yellow < excess, got {thresholds!r}")
    font = charts.cjk_font()
    fig, ax = _new_axes(font)
    points = {name: ([p for p in f.history[-HISTORY_MONTHS:]], list(f.path)) for name, f in forecasts.items()}
    values = [p.months_payable for h, fc in points.values() for p in (*h, *fc) if p.months_payable is not None]
    zero = Decimal(0)
    top_d = max(excess * Decimal("1.4"), min(max(values, default=zero) * Decimal("1.08"), excess * 2))
    bottom_d = max(min(zero, min(values, default=zero) * Decimal("1.08")), -excess / 2)
    top, bottom = float(top_d), float(bottom_d)
    handles: list[Artist] = []
    words = charts.band_labels(red, yellow, excess)
    for lo, hi, colour, label in (
        (bottom, float(red), charts._BAND_RED, words[0]),
        (float(red), float(yellow), charts._BAND_YELLOW, words[1]),
        (float(yellow), float(excess), charts._BAND_GREEN, words[2]),
        (float(excess), top, charts._BAND_EXCESS, words[3]),
    ):
        ax.axhspan(lo, hi, color=colour, linewidth=0, zorder=0)
        handles.append(Patch(facecolor=colour, edgecolor="#bbbbbb", linewidth=0.5, label=label))

    def ys(ps: list) -> list[float]:  # type: ignore[type-arg]
        return [math.nan if p.months_payable is None else min(max(float(p.months_payable), bottom), top)
                for p in ps]

    lines: list[Artist] = []
    all_dates = []
    origin = None
    for i, (name, (hist, fc)) in enumerate(points.items()):
        colour = charts._LINE_COLOURS[i % len(charts._LINE_COLOURS)]
        hx = [_date2num(month_end(p.month)) for p in hist]
        fx = [_date2num(month_end(p.month)) for p in fc]
        (line,) = ax.plot(hx, ys(hist), color=colour, linewidth=2, label=name, zorder=3)
        if hist:  # the dashed forecast starts at the last history point
            ax.plot([hx[-1], *fx], ys([hist[-1], *fc]), color=colour, linewidth=2, linestyle="--", zorder=3)
        lines.append(line)
        all_dates += [month_end(p.month) for p in (*hist, *fc)]
        origin = forecasts[name].origin
    if origin is not None:
        ax.axvline(_date2num(origin), color="#333333", linewidth=1, linestyle=":", zorder=2)
    handles.append(Line2D([], [], color="#555555", linewidth=2, label=_("actual (history)")))
    handles.append(Line2D([], [], color="#555555", linewidth=2, linestyle="--", label=_("forecast")))
    ax.set_ylim(bottom, top)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 3, 5, 10], integer=True))
    ax.set_ylabel(_(charts.MONTHS_PAYABLE_AXIS), fontproperties=_sized(font, 11))
    if all_dates:
        _date_axis(ax, all_dates, font, at_points=True)
    else:
        _no_data(ax, font)
    return _finish(fig, ax, font, title, [*lines, *handles])
