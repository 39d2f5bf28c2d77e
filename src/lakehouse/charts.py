"""Accessible inline SVG charts (bar, stacked bar, line) as plain text: no library, no script.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (its accessible name
and summary), labelled axes and a legend. Every data point is an element of class ``point``
carrying ``data-series``, ``data-category`` and ``data-value`` and a ``<title>`` tooltip, so the
numbers can be read (and tested) from the DOM. The page that embeds a chart shows the same data
as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 44, 62
FAMILY = 'font-family="Helvetica, Arial, sans-serif"'
FONT = f'{FAMILY} font-size="12"'
MAX_X_LABELS = 16
MAX_LABEL_CHARS = 48  # a longer x label is shortened with an ellipsis (its point's tooltip is full)
SLANT = 35  # degrees: x labels too wide for their band are written slanted
LEGEND_ROW = 18
CHAR_WIDTH = 7.5  # a generous average glyph width at 12 px, for laying out the legend


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Chart:
    """What every chart has: an id (for ARIA references), texts and the categories on x."""

    chart_id: str
    title: str
    summary: str
    x_label: str
    y_label: str
    categories: Sequence[str]
    series: Sequence[Series]
    value_format: Callable[[float], str] = lambda value: f"{value:,.0f}"
    tick_format: Callable[[float], str] | None = None  # y-axis labels; default value_format


def compact(value: float) -> str:
    """Short axis label: 1500000 -> '1.5M', -2500 -> '-2.5k'."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (0 included), about ``count`` of them."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "\u2026"


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


class _Frame:
    """The plot area: scales, axes, grid, legend, and the SVG wrapper."""

    def __init__(self, chart: Chart, low: float, high: float) -> None:
        self.chart = chart
        self.ticks = nice_ticks(low, high)
        self.low, self.high = self.ticks[0], self.ticks[-1]
        self.plot_width = WIDTH - LEFT - RIGHT
        self.plot_height = HEIGHT - TOP - BOTTOM
        self.band = self.plot_width / max(len(chart.categories), 1)
        self.every = max(1, math.ceil(len(chart.categories) / MAX_X_LABELS))
        longest = max((len(_short(c)) for c in chart.categories), default=0)
        self.slanted = longest * CHAR_WIDTH > self.band * self.every * 0.95
        # Room below the plot for slanted labels: the axis title and legend move down by it.
        slant = math.sin(math.radians(SLANT))
        self.drop = round(longest * CHAR_WIDTH * slant) if self.slanted else 0
        self.legend_items = self._legend_layout()
        rows = max((row for row, _x, _series in self.legend_items), default=0) + 1
        self.height = HEIGHT + self.drop + (rows - 1) * LEGEND_ROW

    def _legend_layout(self) -> list[tuple[int, float, int]]:
        """(row, x, series index) of every legend entry, wrapping at the chart's width."""
        out, row, x = [], 0, float(LEFT)
        for index, series in enumerate(self.chart.series):
            width = 28 + CHAR_WIDTH * len(series.name)
            if x + width > WIDTH - RIGHT and x > LEFT:
                row, x = row + 1, float(LEFT)
            out.append((row, x, index))
            x += width
        return out

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return TOP + self.plot_height * (1 - share)

    def x_centre(self, index: int) -> float:
        return LEFT + self.band * (index + 0.5)

    def axes(self) -> list[str]:
        chart = self.chart
        out = ['<g class="axis y-axis" aria-hidden="true">']
        for tick in self.ticks:
            y = self.y(tick)
            out.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"'
                f' stroke="{"#57606a" if tick == 0 else "#d0d7de"}" stroke-width="1"/>'
            )
            out.append(
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
                f"{escape((chart.tick_format or chart.value_format)(tick))}</text>"
            )
        out.append("</g>")
        out.append('<g class="axis x-axis" aria-hidden="true">')
        base = TOP + self.plot_height + 16
        for index, category in enumerate(chart.categories):
            if index % self.every == 0:
                x = self.x_centre(index)
                placement = (
                    f'text-anchor="end" transform="rotate(-{SLANT} {x:.1f} {base})"'
                    if self.slanted
                    else 'text-anchor="middle"'
                )
                out.append(
                    f'<text x="{x:.1f}" y="{base}" {placement} {FONT}>'
                    f"{escape(_short(category))}</text>"
                )
        out.append("</g>")
        out.append(
            f'<text class="axis-label" x="{LEFT + self.plot_width / 2:.1f}"'
            f' y="{HEIGHT - 26 + self.drop}"'
            f' text-anchor="middle" {FONT}>{escape(chart.x_label)}</text>'
        )
        middle = TOP + self.plot_height / 2
        out.append(
            f'<text class="axis-label" x="16" y="{middle:.1f}" text-anchor="middle"'
            f' transform="rotate(-90 16 {middle:.1f})" {FONT}>{escape(chart.y_label)}</text>'
        )
        return out

    def legend(self) -> list[str]:
        out = ['<g class="legend">']
        for row, x, index in self.legend_items:
            y = HEIGHT - 8 + self.drop + row * LEGEND_ROW
            name = escape(self.chart.series[index].name)
            out.append(
                f'<rect x="{x:.1f}" y="{y - 10}" width="12" height="12" fill="{_colour(index)}"/>'
            )
            out.append(f'<text x="{x + 16:.1f}" y="{y}" {FONT}>{name}</text>')
        out.append("</g>")
        return out

    def point(self, series: Series, index: int, value: float, tag: str, attributes: str) -> str:
        """One data point: the shape, its data attributes and a tooltip naming the value."""
        category = self.chart.categories[index]
        label = f"{series.name}, {category}: {self.chart.value_format(value)}"
        return (
            f'<{tag} {attributes} class="point" data-series="{escape(series.name)}"'
            f' data-category="{escape(category)}" data-value="{value!r}">'
            f"<title>{escape(label)}</title></{tag}>"
        )

    def svg(self, body: list[str]) -> str:
        chart = self.chart
        title_id, desc_id = f"{chart.chart_id}-title", f"{chart.chart_id}-desc"
        return "\n".join(
            [
                f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart.chart_id}" class="chart"'
                f' role="img" aria-labelledby="{title_id} {desc_id}" width="{WIDTH}"'
                f' height="{self.height}" viewBox="0 0 {WIDTH} {self.height}">',
                f'<title id="{title_id}">{escape(chart.title)}</title>',
                f'<desc id="{desc_id}">{escape(chart.summary)}</desc>',
                f'<rect width="{WIDTH}" height="{self.height}" fill="white"/>',
                f'<text x="{LEFT}" y="20" {FAMILY} font-size="14" font-weight="bold"'
                f' aria-hidden="true">{escape(chart.title)}</text>',
                *self.axes(),
                *body,
                *self.legend(),
                "</svg>",
            ]
        )


def _values(chart: Chart) -> list[float]:
    return [value for series in chart.series for value in series.values if value is not None]


def bar_chart(chart: Chart, stacked: bool = False) -> str:
    """Bars per category: side by side, or stacked (stacking expects values >= 0)."""
    if stacked:
        totals = [
            sum(series.values[i] or 0.0 for series in chart.series)
            for i in range(len(chart.categories))
        ]
        frame = _Frame(chart, 0.0, max(totals, default=0.0))
    else:
        values = _values(chart)
        frame = _Frame(chart, min(values, default=0.0), max(values, default=0.0))
    body = ['<g class="series-group">']
    slots = 1 if stacked else max(len(chart.series), 1)
    width = frame.band * 0.8 / slots
    for index in range(len(chart.categories)):
        base = 0.0
        for number, series in enumerate(chart.series):
            value = series.values[index]
            if value is None:
                continue
            low, high = (base, base + value) if stacked else sorted((0.0, value))
            base = high if stacked else base
            x = LEFT + frame.band * index + frame.band * 0.1 + (0 if stacked else number * width)
            top, bottom = frame.y(high), frame.y(low)
            attributes = (
                f'x="{x:.1f}" y="{top:.1f}" width="{max(width, 1.0):.1f}"'
                f' height="{max(bottom - top, 0.5):.1f}" fill="{_colour(number)}"'
            )
            body.append(frame.point(series, index, value, "rect", attributes))
    body.append("</g>")
    return frame.svg(body)


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The runs of consecutive known values: a line never bridges a category without data."""
    out: list[list[tuple[int, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if out[-1]:
                out.append([])
        else:
            out[-1].append((index, value))
    return [segment for segment in out if segment]


def line_chart(chart: Chart, threshold: tuple[float, str] | None = None) -> str:
    """One line with markers per series; an optional dashed threshold line with its label. A
    missing value (None) leaves a gap: the line stops and restarts, never joining across it."""
    values = _values(chart) + ([threshold[0]] if threshold else [])
    frame = _Frame(chart, min(values, default=0.0), max(values, default=0.0))
    body = []
    if threshold:
        y = frame.y(threshold[0])
        body.append(
            f'<g class="threshold"><line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}"'
            f' y2="{y:.1f}" stroke="#cf222e" stroke-dasharray="6 4"/>'
            f'<text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end" {FONT}'
            f' fill="#cf222e">{escape(threshold[1])}</text></g>'
        )
    for number, series in enumerate(chart.series):
        colour = _colour(number)
        body.append(f'<g class="series" data-series="{escape(series.name)}">')
        for segment in _segments(series.values):
            if len(segment) > 1:
                path = " ".join(f"{frame.x_centre(i):.1f},{frame.y(v):.1f}" for i, v in segment)
                body.append(
                    f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
        for index, value in enumerate(series.values):
            if value is None:
                continue
            attributes = (
                f'cx="{frame.x_centre(index):.1f}" cy="{frame.y(value):.1f}" r="3.5"'
                f' fill="{colour}"'
            )
            body.append(frame.point(series, index, value, "circle", attributes))
        body.append("</g>")
    return frame.svg(body)
