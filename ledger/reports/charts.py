"""Two PNG charts for the fund reports, drawn with matplotlib's Agg renderer.

* ``monitor_chart``: months payable (可支付月数) per unit, month by month, over the
  red / yellow / green / excess bands of the risk-monitoring rule.
* ``balances_chart``: each unit's share of the city finance special account (财政专户)
  over the year, in 万元, with the negative region (a unit drawing on the pool) in red.

Every chart is its own ``Figure`` with an Agg canvas: nothing goes through
``matplotlib.pyplot``, so no figure is left open in a global registry and no rcParams
change leaks from one call (or one test) to the next. Fonts are passed to each text
element instead of being set in rcParams, for the same reason.

Chinese text needs a font with CJK glyphs: ``cjk_font`` loads Noto Sans CJK SC from the
``mplfonts`` wheel, which is installed with fundledger, so the charts look the same on a
bare server as on a desktop. Values are converted to float only here, at the pixel edge.

Every label (axes, bands, legend, months, "no data") comes from the message catalogue in
the language in force (``ledger.i18n``): a chart drawn with ``--lang en`` has no Chinese
label, one drawn in Chinese no English one. Titles and unit names are the caller's.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from importlib.resources import as_file, files
from pathlib import Path
from typing import cast

from matplotlib import dates as mdates
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, Locator, MaxNLocator

from ledger.i18n import MONTHS, N_, _

__all__ = [
    "DPI",
    "FEN_PER_WAN_YUAN",
    "HEIGHT_PX",
    "WIDTH_PX",
    "balances_chart",
    "balances_figure",
    "cjk_font",
    "monitor_chart",
    "monitor_figure",
    "save_png",
]

logger = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 1600, 900, 150

_FONT_PACKAGE, _FONT_FILE = "mplfonts", "NotoSansCJKsc-Regular.otf"
_FALLBACK_FAMILY = "DejaVu Sans"

# If the font ever comes from a zipped package, as_file extracts it to a temporary file
# that must outlive the call; this stack keeps it until the interpreter exits.
_resources = contextlib.ExitStack()
atexit.register(_resources.close)

# Band colours: light enough that the unit lines on top stay readable.
_BAND_RED, _BAND_YELLOW, _BAND_GREEN, _BAND_EXCESS = "#f8c9c4", "#fbe7a6", "#cdeccf", "#cfdff2"
_NEGATIVE_FILL = "#fde2df"
_LINE_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
)  # fmt: skip
_MINUS = "\u2212"  # typographic minus, as matplotlib itself uses

# matplotlib.dates is untyped; these are its signatures as used here. Dates are turned
# into matplotlib date numbers (days since its epoch) before plotting.
_date2num = cast(Callable[[date], float], mdates.date2num)
_num2date = cast(Callable[[float], datetime], mdates.num2date)
_month_locator = cast(Callable[..., Locator], mdates.MonthLocator)


@functools.cache
def _cjk_font_path() -> str | None:
    """Find the bundled CJK font and register it with matplotlib, once per process."""
    try:
        resource = files(_FONT_PACKAGE).joinpath("fonts", _FONT_FILE)
        if not resource.is_file():
            raise FileNotFoundError(f"{_FONT_PACKAGE}/fonts/{_FONT_FILE}")
        path = str(_resources.enter_context(as_file(resource)))
        fontManager.addfont(path)  # makes the family name resolvable, e.g. for tick labels
    except (ImportError, OSError, RuntimeError) as exc:
        logger.warning(
            "CJK font %s from %s is not available (%s); charts fall back to %s and "
            "Chinese text will show as empty boxes",
            _FONT_FILE,
            _FONT_PACKAGE,
            exc,
            _FALLBACK_FAMILY,
        )
        return None
    return path


def cjk_font() -> FontProperties:
    """Noto Sans CJK SC (from the ``mplfonts`` package), registered with matplotlib.

    Falls back to DejaVu Sans, with one logged warning, when the font file is missing.
    Each call returns a fresh ``FontProperties``, so a caller may change its size freely.
    """
    path = _cjk_font_path()
    if path is None:
        return FontProperties(family=_FALLBACK_FAMILY)
    return FontProperties(fname=path)


# --------------------------------------------------------------------------- shared helpers


def _new_axes(font: FontProperties) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.tick_params(labelfontfamily=font.get_name(), labelsize=9)
    ax.grid(axis="y", color="#999999", linewidth=0.5, linestyle=":", alpha=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _sized(font: FontProperties, size: float) -> FontProperties:
    f = font.copy()
    f.set_size(size)
    return f




def month_text(d: date) -> str:
    """``Jan 2024`` / ``2024年1月``: a month with its year."""
    return _("{month} {year}").format(month=_(MONTHS[d.month - 1]), year=d.year)


def _month_label(x: float, _pos: int | None = None) -> str:
    d = _num2date(x)
    return month_text(d) if d.month == 1 else _(MONTHS[d.month - 1])


def band_labels(red: Decimal, yellow: Decimal, excess: Decimal) -> tuple[str, str, str, str]:
    """The legend of the four colour bands, in the language in force."""
    return (_("red: below {n} months").format(n=_plain(red)),
            _("yellow: {low}–{high} months").format(low=_plain(red), high=_plain(yellow)),
            _("green: {low}–{high} months").format(low=_plain(yellow), high=_plain(excess)),
            _("excess: above {n} months").format(n=_plain(excess)))


MONTHS_PAYABLE_AXIS = N_("months payable (months)")


def _date_axis(ax: Axes, all_dates: Sequence[date], font: FontProperties, *, at_points: bool) -> None:
    """Month ticks labelled 1月…12月 (January with its year); the x label gives the span.

    ``at_points``: put the ticks on the data's own dates (monthly figures dated at month
    end sit right above their month's label) as long as there are at most 24 of them;
    otherwise, and for daily data, one tick at the start of each month.
    """
    first, last = min(all_dates), max(all_dates)
    points = sorted(set(all_dates))
    if at_points and len(points) <= 24:
        ax.xaxis.set_major_locator(FixedLocator([_date2num(d) for d in points]))
    else:
        span_months = (last.year - first.year) * 12 + last.month - first.month + 1
        ax.xaxis.set_major_locator(_month_locator(interval=max(1, math.ceil(span_months / 12))))
    ax.xaxis.set_major_formatter(FuncFormatter(_month_label))
    pad = 15 if first == last else 4
    ax.set_xlim(_date2num(first) - pad, _date2num(last) + pad)
    ax.set_xlabel(f"{month_text(first)} – {month_text(last)}", fontproperties=_sized(font, 10))


def _finish(fig: Figure, ax: Axes, font: FontProperties, title: str, handles: list[Artist]) -> Figure:
    ax.set_title(title, fontproperties=_sized(font, 15), pad=12)
    if handles:
        fig.legend(handles=handles, loc="outside right upper", prop=_sized(font, 9), frameon=False)
    return fig


def save_png(fig: Figure, out: Path) -> Path:
    """Save ``fig`` as a PNG of ``WIDTH_PX`` × ``HEIGHT_PX`` at ``DPI`` (no tight bbox, so the
    size is exact). The parent folder of ``out`` must exist. Returns ``out``."""
    fig.savefig(out, format="png", dpi=DPI)
    return out


def _no_data(ax: Axes, font: FontProperties) -> None:
    ax.text(0.5, 0.5, _("no data"), ha="center", va="center", transform=ax.transAxes,
            fontproperties=_sized(font, 14), color="#666666")  # fmt: skip
    ax.set_xticks([])


def _plain(value: Decimal) -> str:
    """``Decimal('15')`` → ``15``, ``Decimal('4.50')`` → ``4.5`` (no exponent form)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --------------------------------------------------------------------------- months payable


def monitor_chart(
    series: Mapping[str, Sequence[tuple[date, Decimal | None]]],
    thresholds: tuple[Decimal, Decimal, Decimal],
    title: str,
    out: Path,
) -> Path:
    """Draw months payable per unit (see ``monitor_figure``) and save a 1600×900 PNG to
    ``out``, whose parent folder must exist. Returns ``out``."""
    return save_png(monitor_figure(series, thresholds, title), out)


def monitor_figure(
    series: Mapping[str, Sequence[tuple[date, Decimal | None]]],
    thresholds: tuple[Decimal, Decimal, Decimal],
    title: str,
) -> Figure:
    """Months payable per unit over the colour bands, as a ``Figure`` (Agg canvas attached).

    ``series`` maps each unit's display name (its Chinese name, e.g. ``佳木斯市本级``) to
    its ``(month, months payable)`` points in time order; ``None`` (nothing spent in the
    last 12 months, so no figure) leaves a gap in the line. ``thresholds`` are
    ``(red_below, yellow_below, excess_above)``, e.g. ``Thresholds``' 3, 6, 15: red below
    3, yellow from 3, green from 6 up to 15, excess above 15 — the same boundaries as
    ``ledger.core.monitor``.

    The y axis starts at 0 (or a little below the lowest negative figure, floored at
    −``excess_above``/2) and ends a little above the highest figure, but at least 1.4 ×
    and at most 2 × ``excess_above``, so a unit with a huge surplus cannot squash the
    bands. Points beyond the axis are marked ▲/▼ at the edge with their value.
    ``ValueError`` if the thresholds are not finite Decimals with 0 < red < yellow < excess.
    """
    red, yellow, excess = thresholds
    if not all(isinstance(t, Decimal) and t.is_finite() for t in thresholds) or not 0 < red < yellow < excess:
        raise ValueError(
            f"thresholds must be finite Decimals with 0 < red < yellow < excess, got {thresholds!r}"
        )
    font = cjk_font()
    fig, ax = _new_axes(font)

    # The axis range in Decimal, like the figures; float only at the pixel edge below.
    values = [v for pts in series.values() for _, v in pts if v is not None]
    margin, zero = Decimal("1.08"), Decimal(0)
    top_d = max(excess * Decimal("1.4"), min(max(values, default=zero) * margin, excess * 2))
    bottom_d = max(min(zero, min(values, default=zero) * margin), -excess / 2)
    top, bottom = float(top_d), float(bottom_d)

    words = band_labels(red, yellow, excess)
    band_edges = (
        (bottom, float(red), _BAND_RED, words[0]),
        (float(red), float(yellow), _BAND_YELLOW, words[1]),
        (float(yellow), float(excess), _BAND_GREEN, words[2]),
        (float(excess), top, _BAND_EXCESS, words[3]),
    )
    bands: list[Artist] = []
    for lo, hi, colour, label in band_edges:
        ax.axhspan(lo, hi, color=colour, linewidth=0, zorder=0)
        bands.append(Patch(facecolor=colour, edgecolor="#bbbbbb", linewidth=0.5, label=label))

    lines: list[Artist] = []
    all_dates = [d for pts in series.values() for d, _ in pts]
    for i, (unit, points) in enumerate(series.items()):
        colour = _LINE_COLOURS[i % len(_LINE_COLOURS)]
        xs = [_date2num(d) for d, _ in points]
        ys = [math.nan if v is None else float(v) for _, v in points]
        (line,) = ax.plot(xs, ys, color=colour, linewidth=2, marker="o", markersize=3.5, label=unit, zorder=3)
        lines.append(line)
        _mark_off_scale(ax, xs, ys, bottom, top, colour, font)

    ax.set_ylim(bottom, top)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 3, 5, 10], integer=True))
    ax.set_ylabel(_(MONTHS_PAYABLE_AXIS), fontproperties=_sized(font, 11))
    if all_dates:
        _date_axis(ax, all_dates, font, at_points=True)
    else:
        _no_data(ax, font)
    return _finish(fig, ax, font, title, [*lines, *bands])


def _mark_off_scale(
    ax: Axes,
    xs: Sequence[float],
    ys: Sequence[float],
    bottom: float,
    top: float,
    colour: str,
    font: FontProperties,
) -> None:
    """▲ at the top edge (▼ at the bottom) where a point is beyond the axis, labelled once
    per unit with the most extreme value, so a clipped line still tells its number."""
    for edge, marker, beyond, pick, va, dy in (
        (top, "^", [(x, y) for x, y in zip(xs, ys, strict=True) if y > top], max, "top", -6),
        (bottom, "v", [(x, y) for x, y in zip(xs, ys, strict=True) if y < bottom], min, "bottom", 6),
    ):
        if not beyond:
            continue
        ax.plot([x for x, _ in beyond], [edge] * len(beyond), linestyle="none", marker=marker, markersize=8,
                color=colour, clip_on=False, zorder=4)  # fmt: skip
        x, y = pick(beyond, key=lambda p: p[1])
        ax.annotate(
            f"{y:.2f}".replace("-", _MINUS),
            (x, edge),
            xytext=(9, dy),
            textcoords="offset points",
            va=va,
            color=colour,
            fontproperties=_sized(font, 9),
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": colour, "linewidth": 0.6},
            zorder=5,
        )


# --------------------------------------------------------------------------- special-account shares

FEN_PER_WAN_YUAN = 1_000_000  # 1 万元 = 10,000 yuan = 1,000,000 fen


def balances_chart(series: Mapping[str, Sequence[tuple[date, int]]], title: str, out: Path) -> Path:
    """Draw each unit's share of the special account (see ``balances_figure``) and save a
    1600×900 PNG to ``out``, whose parent folder must exist. Returns ``out``."""
    return save_png(balances_figure(series, title), out)


def balances_figure(series: Mapping[str, Sequence[tuple[date, int]]], title: str) -> Figure:
    """Each unit's share of the special account over time, as a ``Figure``.

    ``series`` maps each unit's display name to ``(date, balance in fen)`` points in time
    order; a balance holds until the next point, so lines are drawn as steps. The axis is
    in 万元 (fen ÷ 1,000,000) and says so; a black zero line and a light red region below
    zero show when a unit's share is negative (drawing on the pool, settled at year end).
    ``TypeError`` if a balance is not an ``int`` number of fen.
    """
    for unit, points in series.items():
        for _day, fen in points:
            if isinstance(fen, bool) or not isinstance(fen, int):
                raise TypeError(f"{unit}: balances must be int fen, got {fen!r}")
    font = cjk_font()
    fig, ax = _new_axes(font)

    wan = {unit: [fen / FEN_PER_WAN_YUAN for _, fen in pts] for unit, pts in series.items()}
    values = [v for vs in wan.values() for v in vs]
    lo, hi = min([0.0, *values]), max([0.0, *values])
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad

    handles: list[Artist] = []
    all_dates = [d for pts in series.values() for d, _ in pts]
    for i, (unit, points) in enumerate(series.items()):
        (line,) = ax.plot([_date2num(d) for d, _ in points], wan[unit], drawstyle="steps-post", linewidth=2,
                          color=_LINE_COLOURS[i % len(_LINE_COLOURS)], label=unit, zorder=3)  # fmt: skip
        handles.append(line)

    ax.axhspan(lo, 0, color=_NEGATIVE_FILL, linewidth=0, zorder=0)
    ax.axhline(0, color="black", linewidth=1, zorder=2)
    handles.append(
        Patch(facecolor=_NEGATIVE_FILL, edgecolor="#bbbbbb", linewidth=0.5, label=_("negative share (drawing on the pool)"))
    )
    handles.append(Line2D([], [], color="black", linewidth=1, label=_("zero line")))

    ax.set_ylim(lo, hi)
    decimals = 0 if hi - lo >= 50 else 1 if hi - lo >= 5 else 2

    def wan_label(v: float, _pos: int | None = None) -> str:
        text = f"{v:,.{decimals}f}"
        return "0" if float(text.replace(",", "")) == 0 else text.replace("-", _MINUS)

    ax.yaxis.set_major_formatter(FuncFormatter(wan_label))
    ax.set_ylabel(_("share of the special account (10k yuan)"), fontproperties=_sized(font, 11))
    if all_dates:
        _date_axis(ax, all_dates, font, at_points=False)
    else:
        _no_data(ax, font)
    return _finish(fig, ax, font, title, handles)
