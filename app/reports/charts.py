"""Charts drawn on the server as inline SVG, for pages that work offline and on a phone.

matplotlib draws them through its object API only (a `Figure` with an SVG canvas, never
pyplot), so no figure outlives its call. Its settings, though, are process-wide
(`rcParams`): each chart is drawn inside `matplotlib.style.context` (an `rc_context` that
starts from matplotlib's defaults, so nobody's matplotlibrc changes the output) under one
lock, so threads of a gunicorn worker draw one chart at a time and never see each other's,
or the default, settings.

The SVG keeps its text as text, so Chinese labels are drawn by the browser's fonts (the
font-family list below); the server's fonts only measure the text for the layout. It is
shaped for inline HTML: no XML declaration or DOCTYPE, no width or height (it scales to
its container through the viewBox), `class="chart"`, `role="img"` and the title as its
`aria-label`, no metadata, scripts or links, ids unique to the chart. The site's
Content-Security-Policy (`style-src 'self'`) ignores `style` attributes and `<style>`
elements, so every style matplotlib writes becomes a presentation attribute
(`fill="#0072b2"`), which the policy does not govern. The same input gives the same bytes
(a fixed hash salt, no date).

Callers pass plain data and translated text: the module holds no user-facing strings.
Rates are fractions (0.25 is drawn as 25 %); None is a missing value, drawn as a gap.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import math
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from config import INSTANCE_DIR

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

# What the browser draws the text with. The server measures with the first of these it
# has (the rest exist on Windows and Apple devices), else with matplotlib's DejaVu Sans.
FONT_FAMILIES = ("Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC")
CSS_FONT_FAMILY = ", ".join([*(f"'{name}'" for name in FONT_FAMILIES), "sans-serif"])
FALLBACK_FONT = "DejaVu Sans"  # ships with matplotlib, so it is always there

# Okabe–Ito: told apart with any colour vision; yellow last, it is faint on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")  # a second cue besides colour
TARGET_COLOUR = "#555555"
GRID_COLOUR = "#DDDDDD"
MUTED_TEXT = "#555555"

# 6.4 × 3.6 in is a 460.8 × 259.2 viewBox; shown 360 px wide, one unit is 0.78 px, so
# 14-unit text reads as 11 px on a phone.
FIGURE_SIZE = (6.4, 3.6)
EMPTY_FIGURE_SIZE = (6.4, 1.2)
FONT_SIZE = 14
TITLE_SIZE = 15
# The width the tick labels may share (the figure less the y axis and margins), in units.
PLOT_WIDTH = 380.0
# Tick steps (times a power of ten) that read as round numbers: 0.5, 1, 2, 2.5, 5.
NICE_STEPS = [1, 2, 2.5, 5, 10]
# The day the survival KPI reads the curve (SPEC §11: 12-month survival).
YEAR_DAYS = 365

CHART_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "founderpath-charts",
    "text.parse_math": False,  # a "$" in a region's or course's name is text, not TeX
    "font.size": FONT_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE,
    "figure.titlesize": TITLE_SIZE,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.edgecolor": "#888888",
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "lines.linewidth": 2.0,
    "lines.markersize": 5.0,
    "legend.frameon": False,
    # No background: the chart takes its card's.
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
}
# No creator, date or format: the output stays the same and links nowhere.
NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
SVG_NAMESPACES = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'

_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Series:
    """One line or one set of bars: its legend label and a value per x label (None: gap)."""

    label: str
    values: list[float | None]


def line_chart(
    title: str,
    x_labels: list[str],
    series: list[Series],
    *,
    percent: bool = False,
    target: float | None = None,
    target_label: str = "",
    empty_text: str = "",
) -> Markup:
    """Lines over labelled points (months, cohorts), with an optional dashed target line."""
    _check_lengths(x_labels, series)
    if not x_labels or not _has_values(series):
        return _empty_chart(title, empty_text)

    def draw(figure: Figure) -> None:
        axes = _plot_area(figure, title)
        positions = range(len(x_labels))
        for index, one in enumerate(series):
            axes.plot(
                positions,
                _floats(one.values),
                color=_colour(index),
                marker=MARKERS[index % len(MARKERS)],
                label=one.label,
            )
        if target is not None:
            axes.axhline(target, color=TARGET_COLOUR, linewidth=1.5, linestyle=(0, (5, 3)))
            text = f"{target_label} {_format_value(target, percent)}".strip()
            axes.annotate(
                text,
                xy=(1, target),
                xycoords=axes.get_yaxis_transform(),
                xytext=(0, 3),
                textcoords="offset points",
                ha="right",
                va="bottom",
                color=TARGET_COLOUR,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            )
        axes.set_xlim(-0.5, len(x_labels) - 0.5)
        _thin_x_labels(axes, x_labels)
        _value_axis(
            axes, percent, [*_all_values(series), *([target] if target is not None else [])]
        )
        _legend(axes, [one.label for one in series])

    return _render(title, draw)


def survival_chart(
    title: str,
    points: list[dict[str, Any]],
    *,
    label_days: str,
    label_survival: str,
    empty_text: str = "",
) -> Markup:
    """The Kaplan–Meier step curve with its shaded 95 % band and a marker at 365 days.

    `points` are `reports.survival.survival_curve`'s: {days, survival, low, high, at_risk}.
    """
    if not points:
        return _empty_chart(title, empty_text)
    days = [float(point["days"]) for point in points]

    def draw(figure: Figure) -> None:
        axes = _plot_area(figure, title)
        colour = _colour(0)
        axes.fill_between(
            days,
            _floats([point.get("low") for point in points]),
            _floats([point.get("high") for point in points]),
            step="post",
            color=colour,
            alpha=0.2,
            linewidth=0,
        )
        survival = _floats([point.get("survival") for point in points])
        axes.step(days, survival, where="post", color=colour)
        axes.axvline(YEAR_DAYS, color=TARGET_COLOUR, linewidth=1.5, linestyle=(0, (5, 3)))
        axes.annotate(
            str(YEAR_DAYS),
            xy=(YEAR_DAYS, 0),
            xycoords=axes.get_xaxis_transform(),
            xytext=(4, 4),
            textcoords="offset points",
            color=TARGET_COLOUR,
        )
        axes.set_xlim(0, max(max(days), YEAR_DAYS) * 1.04)
        axes.set_ylim(0, 1.02)
        axes.set_xlabel(label_days)
        axes.set_ylabel(label_survival)
        _percent_axis(axes)

    return _render(title, draw)


def bar_chart(
    title: str,
    categories: list[str],
    series: list[Series],
    *,
    stacked: bool = True,
    percent: bool = False,
    empty_text: str = "",
) -> Markup:
    """Bars per category: one bar per series side by side, or the series stacked."""
    _check_lengths(categories, series)
    if not categories or not _has_values(series):
        return _empty_chart(title, empty_text)

    def draw(figure: Figure) -> None:
        import numpy as np

        axes = _plot_area(figure, title)
        positions = np.arange(len(categories), dtype=float)
        bottoms = np.zeros(len(categories))
        width = 0.7 if stacked else 0.8 / len(series)
        for index, one in enumerate(series):
            heights = np.array(_floats(one.values))
            style = {"label": one.label, "color": _colour(index)}
            if stacked:
                heights = np.nan_to_num(heights)
                axes.bar(positions, heights, width, bottom=bottoms, **style)
                bottoms = bottoms + heights
            else:
                offset = (index - (len(series) - 1) / 2) * width
                shown = ~np.isnan(heights)
                axes.bar(positions[shown] + offset, heights[shown], width, **style)
        axes.set_xlim(-0.5, len(categories) - 0.5)
        axes.set_xticks(range(len(categories)), categories)
        if _label_width(categories) > PLOT_WIDTH / len(categories):
            axes.tick_params(axis="x", labelrotation=45)
            for label in axes.get_xticklabels():
                label.set_horizontalalignment("right")
                label.set_rotation_mode("anchor")
        if len(series) == 1:
            # One series: its values written on the bars, read without the grid.
            values = series[0].values
            shown = values if stacked else [value for value in values if _is_number(value)]
            axes.bar_label(
                axes.containers[-1],
                labels=[
                    _format_value(float(value), percent) if _is_number(value) else ""
                    for value in shown
                ],
                padding=2,
                color=MUTED_TEXT,
            )
            axes.margins(y=0.12)
        totals = list(bottoms) if stacked else _all_values(series)
        _value_axis(axes, percent, totals)
        axes.grid(axis="x", visible=False)
        _legend(axes, [one.label for one in series])

    return _render(title, draw)


def _empty_chart(title: str, empty_text: str) -> Markup:
    """A short chart saying there is nothing to draw, instead of empty axes."""

    def draw(figure: Figure) -> None:
        figure.suptitle(title, x=0.02, ha="left")
        figure.text(0.5, 0.35, empty_text, ha="center", va="center", color=MUTED_TEXT)

    return _render(title, draw, size=EMPTY_FIGURE_SIZE)


# --- drawing -------------------------------------------------------------------------


def _plot_area(figure: Figure, title: str) -> Axes:
    """The one plot of a chart, its title above it on the left, light horizontal grid."""
    figure.suptitle(title, x=0.02, ha="left")
    axes = figure.add_subplot()
    axes.grid(axis="y", color=GRID_COLOUR, linewidth=0.8)
    return axes


def _legend(axes: Axes, labels: list[str]) -> None:
    """A legend between the title and the plot, when there is more than one series."""
    if len(labels) < 2:
        return
    entry_widths = [_text_width(label) * FONT_SIZE + 3 * FONT_SIZE for label in labels]
    columns = len(labels)
    while columns > 1 and sum(sorted(entry_widths)[-columns:]) > PLOT_WIDTH + 60:
        columns -= 1
    axes.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.02),
        ncols=columns,
        borderaxespad=0,
        handlelength=1.6,
        columnspacing=1.2,
    )


def _thin_x_labels(axes: Axes, labels: list[str]) -> None:
    """Label as many points as fit side by side, always the latest, at equal steps."""
    slot = _label_width(labels) + FONT_SIZE
    step = max(1, math.ceil(len(labels) * slot / PLOT_WIDTH))
    shown = [index for index in range(len(labels)) if (len(labels) - 1 - index) % step == 0]
    axes.set_xticks(shown, [labels[index] for index in shown])


def _value_axis(axes: Axes, percent: bool, values: list[float]) -> None:
    """The y axis from 0 (unless values go below), as percentages or plain numbers."""
    if all(value >= 0 for value in values):
        axes.set_ylim(bottom=0)
    if percent:
        _percent_axis(axes)
    else:
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        whole = all(float(value).is_integer() for value in values)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=NICE_STEPS, integer=whole))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: _plain(value)))


def _percent_axis(axes: Axes) -> None:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=NICE_STEPS))
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1))


def _format_value(value: float, percent: bool) -> str:
    return f"{value * 100:.4g}%" if percent else _plain(value)


def _plain(value: float) -> str:
    """1234567 as "1,234,567"; fractions with at most two decimals, no trailing zeros."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _label_width(labels: Sequence[str]) -> float:
    """The widest label's estimated width in units at the chart's font size."""
    return max((_text_width(label) for label in labels), default=0) * FONT_SIZE


def _text_width(text: str) -> float:
    """Estimated width in ems: CJK characters are square, the rest about 0.6 em."""
    return sum(1.0 if ord(char) >= 0x2E80 else 0.6 for char in str(text))


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


# --- data ----------------------------------------------------------------------------


def _check_lengths(labels: list[str], series: list[Series]) -> None:
    for one in series:
        if len(one.values) != len(labels):
            raise ValueError(
                f"Series {one.label!r} has {len(one.values)} values for {len(labels)} labels"
            )


def _has_values(series: list[Series]) -> bool:
    return any(_is_number(value) for one in series for value in one.values)


def _all_values(series: list[Series]) -> list[float]:
    return [float(value) for one in series for value in one.values if _is_number(value)]


def _is_number(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _floats(values: Sequence[Any]) -> list[float]:
    """Numbers as floats, None as NaN (which matplotlib leaves out: a gap)."""
    return [float(value) if value is not None else math.nan for value in values]


# --- rendering -----------------------------------------------------------------------


def _render(
    title: str, draw: Callable[[Figure], None], *, size: tuple[float, float] = FIGURE_SIZE
) -> Markup:
    """Draw a figure and answer it as inline SVG markup."""
    with _RENDER_LOCK:
        mpl = _matplotlib()
        from matplotlib.backends.backend_svg import FigureCanvasSVG
        from matplotlib.figure import Figure

        with mpl.style.context(["default", _style()]), _quiet_missing_glyphs():
            figure = Figure(figsize=size, layout="constrained")
            FigureCanvasSVG(figure)
            draw(figure)
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata=NO_METADATA)
    return Markup(_inline_svg(buffer.getvalue(), title))  # noqa: S704 - built and escaped here


@functools.cache
def _matplotlib() -> ModuleType:
    """matplotlib, imported on first use, with a folder of its own for its font cache.

    `import matplotlib` creates its config folder and the first text layout writes a font
    cache, by default in ~/.config and ~/.cache: a service account's home may be missing or
    read-only, and matplotlib then falls back to a new temporary folder, rescanning every
    font in each process. Unless MPLCONFIGDIR says otherwise, it uses instance/matplotlib
    when that can be written (else matplotlib's own fallback).
    """
    if not os.environ.get("MPLCONFIGDIR"):
        folder = INSTANCE_DIR / "matplotlib"
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
        if folder.is_dir() and os.access(folder, os.W_OK):
            os.environ["MPLCONFIGDIR"] = str(folder)
    import matplotlib
    import matplotlib.style

    return matplotlib


@functools.cache
def _style() -> dict[str, Any]:
    """CHART_STYLE with the fonts this server can measure text with."""
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    measured = [name for name in FONT_FAMILIES if name in installed]
    if not measured:
        logger.warning(
            "No Chinese font (%s) installed: charts measure Chinese text with %s, so their "
            "spacing is approximate; install fonts-noto-cjk for exact layout",
            ", ".join(FONT_FAMILIES),
            FALLBACK_FONT,
        )
    return CHART_STYLE | {"font.family": [*measured, FALLBACK_FONT]}


@contextlib.contextmanager
def _quiet_missing_glyphs() -> Iterator[None]:
    """Without a Chinese font, matplotlib warns for each Chinese glyph it measures with
    DejaVu Sans; the browser draws them with its own fonts, and _style() logged it once.

    catch_warnings is process-wide, so it is entered only then (and under the lock).
    """
    if _style()["font.family"][0] != FALLBACK_FONT:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        yield


# --- SVG for inline HTML -------------------------------------------------------------

_STYLE_ELEMENT = re.compile(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>\s*", re.DOTALL)
# A tag: text nodes hold no "<" (matplotlib escapes it), attribute values no ">".
_TAG = re.compile(r"<[^>]+>")
_STYLE_ATTRIBUTE = re.compile(r' style="([^"]*)"')
_ROOT = re.compile(r"<svg\b[^>]*>")
_VIEWBOX = re.compile(r'viewBox="([^"]*)"')
_ID = re.compile(r' id="([^"]*)"')
_REFERENCE = re.compile(r'url\(#([^)]+)\)|xlink:href="#([^"]+)"')


def _inline_svg(svg: str, title: str) -> str:
    """matplotlib's SVG document as an element for an HTML page (see the module docstring).

    Only tags are rewritten, never text, so a label reading `style="…"` stays as typed.
    """
    svg = svg[svg.index("<svg") :]
    # `*{stroke-linejoin: round; stroke-linecap: butt}`: as attributes on the root instead.
    svg = _STYLE_ELEMENT.sub("", svg, count=1)
    viewbox = _VIEWBOX.search(svg)
    if viewbox is None:
        raise ValueError("matplotlib wrote an SVG without a viewBox")
    root = (
        f'<svg {SVG_NAMESPACES} version="1.1" viewBox="{viewbox.group(1)}" class="chart" '
        f'role="img" aria-label="{escape(title)}" stroke-linejoin="round" stroke-linecap="butt">'
    )
    svg = _ROOT.sub(lambda _match: root, svg, count=1)
    referenced = {
        first or second for tag in _TAG.findall(svg) for first, second in _REFERENCE.findall(tag)
    }

    def plain_tag(match: re.Match[str]) -> str:
        # Styles as presentation attributes; ids nothing refers to dropped.
        tag = _STYLE_ATTRIBUTE.sub(_presentation_attributes, match.group(0))
        return _ID.sub(lambda found: found.group(0) if found.group(1) in referenced else "", tag)

    svg = _TAG.sub(plain_tag, svg)
    # Ids prefixed with a digest of the chart: two different charts on a page never clash.
    prefix = "c" + hashlib.sha256(svg.encode()).hexdigest()[:10] + "-"

    def prefixed_tag(match: re.Match[str]) -> str:
        tag = _ID.sub(lambda found: f' id="{prefix}{found.group(1)}"', match.group(0))
        return _REFERENCE.sub(
            lambda found: (
                f"url(#{prefix}{found.group(1)})"
                if found.group(1)
                else f'xlink:href="#{prefix}{found.group(2)}"'
            ),
            tag,
        )

    return _TAG.sub(prefixed_tag, svg).strip()


def _presentation_attributes(match: re.Match[str]) -> str:
    attributes = []
    for declaration in match.group(1).split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not re.fullmatch(r"[a-z-]+", name):
            continue
        if name == "font-family":
            value = CSS_FONT_FAMILY
        attributes.append(f' {name}="{value}"')
    return "".join(attributes)
