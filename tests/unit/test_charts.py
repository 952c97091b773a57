"""The PNG charts: Chinese renders as glyphs, pixel size, axis choices, no global state."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import matplotlib
import pytest
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.image import imread
from matplotlib.patches import Rectangle

from ledger.reports import charts
from ledger.reports.charts import (
    HEIGHT_PX,
    WIDTH_PX,
    balances_chart,
    balances_figure,
    cjk_font,
    monitor_chart,
    monitor_figure,
)

THRESHOLDS = (Decimal("3"), Decimal("6"), Decimal("15"))
MONTHS = [date(2024, m, 28) for m in range(1, 13)]


def months_series() -> dict[str, list[tuple[date, Decimal | None]]]:
    return {
        "佳木斯市本级": [(d, Decimal("2.50") + Decimal(i) / 4) for i, d in enumerate(MONTHS)],
        "桦南县": [(d, None if i == 4 else Decimal("7.10")) for i, d in enumerate(MONTHS)],
        "同江市": [(d, Decimal("16.25")) for d in MONTHS],
    }


def balance_series() -> dict[str, list[tuple[date, int]]]:
    return {
        "佳木斯市本级": [(d, 123456789 * (i + 1)) for i, d in enumerate(MONTHS)],
        "桦南县": [(d, -4567890 * (i + 1)) for i, d in enumerate(MONTHS)],
        "同江市": [(d, 0) for d in MONTHS],
    }


@pytest.fixture(autouse=True)
def chinese() -> Iterator[None]:
    """Charts label in the language in force: these tests read Chinese labels (another
    test in the same worker may have left English in force)."""
    from ledger.i18n import get_lang, set_lang

    was = get_lang()
    set_lang("zh")
    yield
    set_lang(was)


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend mplfonts is not installed (and restore the real font afterwards)."""

    def missing(_package: str) -> object:
        raise ModuleNotFoundError("No module named 'mplfonts'")

    charts._cjk_font_path.cache_clear()
    monkeypatch.setattr(charts, "files", missing)
    yield
    charts._cjk_font_path.cache_clear()


def test_cjk_font_is_noto_sans_from_mplfonts_and_registered() -> None:
    font = cjk_font()
    assert font.get_name() == "Noto Sans CJK SC"
    path = font.get_file()
    assert path is not None and Path(str(path)).name == "NotoSansCJKsc-Regular.otf"
    assert "mplfonts" in Path(str(path)).parts
    # Registered, so the family name alone resolves to a Noto Sans CJK face (tick labels
    # use the name). Where Debian's fonts-noto-cjk is installed too (the print test needs
    # it), matplotlib may resolve the name to that collection instead: same family, same
    # glyphs; what must never happen is a fall-back to a font without Chinese glyphs.
    found = fontManager.findfont(FontProperties(family="Noto Sans CJK SC"), fallback_to_default=False)
    assert Path(found).name in {"NotoSansCJKsc-Regular.otf", "NotoSansCJK-Regular.ttc"}
    assert cjk_font() is not font, "a fresh FontProperties each call: callers may resize it"


def render_both(folder: Path) -> tuple[Path, Path]:
    return (
        monitor_chart(months_series(), THRESHOLDS, "佳木斯市 2024年 可支付月数", folder / "monitor.png"),
        balances_chart(balance_series(), "财政专户各单位份额（桦南县、同江市）", folder / "balances.png"),
    )


def test_chinese_renders_as_glyphs_with_no_warning_and_exact_pixel_size(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pngs = render_both(tmp_path)
    assert [str(w.message) for w in caught] == [], "e.g. 'Glyph 20339 (\\N{...}) missing from font(s)'"
    glyph_logs = [r.getMessage() for r in caplog.records if "missing" in r.getMessage().lower()]
    assert glyph_logs == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    for png in pngs:
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        height, width, _channels = imread(png).shape
        assert (width, height) == (WIDTH_PX, HEIGHT_PX) == (1600, 900)


def test_the_glyph_check_would_catch_boxes(
    no_cjk_font: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the CJK font the same chart warns about missing glyphs: the test above can fail."""
    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        font = cjk_font()
        monitor_chart(months_series(), THRESHOLDS, "佳木斯市", tmp_path / "boxes.png")
    assert font.get_name() == "DejaVu Sans"
    assert any("CJK font" in r.getMessage() and "DejaVu Sans" in r.getMessage() for r in caplog.records)
    assert any("missing from font" in str(w.message) for w in caught)


def test_monitor_axis_keeps_the_bands_readable() -> None:
    ax = monitor_figure(months_series(), THRESHOLDS, "t").axes[0]
    assert ax.get_ylim() == pytest.approx((0, 21)), "room above the 15-month line for the excess band"
    assert ax.get_ylabel() == "可支付月数（月）"

    huge = {"抚远市": [(MONTHS[0], Decimal("480.00")), (MONTHS[1], Decimal("-90.00"))]}
    ax = monitor_figure(huge, THRESHOLDS, "t").axes[0]
    assert ax.get_ylim() == pytest.approx((-7.5, 30)), "outliers are clipped, not allowed to squash the bands"
    labels = [t.get_text() for t in ax.texts]
    assert "480.00" in labels and "\u221290.00" in labels, "clipped points say their value"

    spans = sorted(
        (round(p.get_y(), 6), round(p.get_y() + p.get_height(), 6))
        for p in ax.patches
        if isinstance(p, Rectangle)
    )
    assert [hi for _, hi in spans] == [3, 6, 15, 30]


def test_monitor_month_ticks_sit_on_the_monthly_points() -> None:
    fig = monitor_figure(months_series(), THRESHOLDS, "t")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024年1月", *(f"{m}月" for m in range(2, 13))]
    assert ax.get_xlabel() == "2024年1月 – 2024年12月"
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()][:3] == ["佳木斯市本级", "桦南县", "同江市"]


def test_monitor_refuses_bad_thresholds() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        monitor_figure({}, (Decimal("6"), Decimal("3"), Decimal("15")), "t")
    with pytest.raises(ValueError, match="thresholds"):
        monitor_figure({}, (3.0, 6.0, 15.0), "t")  # type: ignore[arg-type]


def test_balances_in_wan_yuan_with_negative_region() -> None:
    fig = balances_figure(balance_series(), "t")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert "万元" in ax.get_ylabel()
    lo, hi = ax.get_ylim()
    # Extremes: −4,567,890 fen × 12 = −54.81 万元; 123,456,789 fen × 12 = 1,481.48 万元.
    assert lo < -54.81 and hi > 1481.48
    unit_line = ax.get_lines()[0]
    assert unit_line.get_ydata()[-1] == pytest.approx(123456789 * 12 / 1_000_000)  # type: ignore[index]
    red_region = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_y() + p.get_height() == 0]
    assert len(red_region) == 1 and red_region[0].get_y() == pytest.approx(lo)
    assert any(t.get_text().startswith("\u2212") for t in ax.get_yticklabels()), "negative ticks shown"
    with pytest.raises(TypeError, match="int fen"):
        balances_figure({"桦川县": [(MONTHS[0], 1.5)]}, "t")  # type: ignore[list-item]


def test_empty_series_still_draws(tmp_path: Path) -> None:
    out = balances_chart({}, "无数据", tmp_path / "empty.png")
    assert imread(out).shape[:2] == (HEIGHT_PX, WIDTH_PX)
    monitor_chart({"汤原县": []}, THRESHOLDS, "无数据", tmp_path / "empty2.png")


def test_charts_leave_no_global_matplotlib_state(tmp_path: Path) -> None:
    before = dict(matplotlib.rcParams)
    render_both(tmp_path)
    assert dict(matplotlib.rcParams) == before
    # pyplot (and its figure registry) is never even imported.
    code = (
        "import sys; from pathlib import Path; from ledger.reports import charts; "
        f"charts.balances_chart({{}}, 't', Path({str(tmp_path / 'p.png')!r})); "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def _chart_texts(fig) -> list[str]:  # type: ignore[no-untyped-def]
    """Every text a reader sees on a figure: title, axis labels, ticks, legend, notes."""
    fig.canvas.draw()
    out = [t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts),
                *(t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels()))]
    return [t for t in out if t]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_label_is_in_the_charts_language(lang: str) -> None:
    """A chart drawn in English has no Chinese label; one drawn in Chinese no English word
    (issue 17: XLSX and PNG labels from the catalogue). Unit names and titles are the caller's."""
    from ledger.i18n import get_lang, set_lang
    from ledger.reports.forecast_chart import forecast_figure

    cjk = __import__("re").compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
    latin = __import__("re").compile(r"[A-Za-z]{2,}")
    names = ["Jiamusi city proper", "Huanan", "Tongjiang"] if lang == "en" else ["佳木斯市本级", "桦南县", "同江市"]
    was = get_lang()
    set_lang(lang)
    try:
        months = dict(zip(names, months_series().values(), strict=True))
        balances = dict(zip(names, balance_series().values(), strict=True))
        figures = [monitor_figure(months, THRESHOLDS, ""), balances_figure(balances, ""),
                   monitor_figure({}, THRESHOLDS, ""), forecast_figure({}, THRESHOLDS, "")]
        texts = [t for fig in figures for t in _chart_texts(fig) if t not in names]
    finally:
        set_lang(was)
    assert len(texts) > 40
    if lang == "en":
        assert [t for t in texts if cjk.search(t)] == [], texts
        assert "Jan 2024" in texts and "months payable (months)" in texts
    else:
        assert [t for t in texts if latin.search(t)] == [], texts
        assert "2024年1月" in texts and "实际" in texts and "无数据" in texts
