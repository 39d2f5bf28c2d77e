"""The report's SVG charts: well-formed, accessible, every value drawn and readable."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lakehouse.charts import Chart, Series, bar_chart, compact, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def chart(categories: list[str], series: list[Series]) -> Chart:
    return Chart("c", "A <title> & more", "Summary", "x", "y", categories, series)


def points(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter() if e.get("class") == "point"]


def test_ticks_are_round_and_cover_the_range_and_zero() -> None:
    assert nice_ticks(0, 7) == [0, 2, 4, 6, 8]
    ticks = nice_ticks(-120, 260)
    assert ticks[0] <= -120 and ticks[-1] >= 260 and 0 in ticks
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_stacked_bars_draw_every_value_with_its_labels() -> None:
    svg = bar_chart(
        chart(["1", "2"], [Series("valid", [4, 3]), Series('q"<', [1, None])]), stacked=True
    )
    root = ET.fromstring(svg)  # well-formed, names escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "A <title> & more"
    drawn = [
        (p.get("data-series"), p.get("data-category"), p.get("data-value")) for p in points(svg)
    ]
    assert drawn == [("valid", "1", "4"), ('q"<', "1", "1"), ("valid", "2", "3")]
    assert all(p.find(f"{SVG}title") is not None for p in points(svg))


def test_negative_bars_and_lines_with_threshold() -> None:
    bars = bar_chart(chart(["2024-01"], [Series("EUR", [-25.5]), Series("USD", [10.0])]))
    assert len(points(bars)) == 2
    lines = line_chart(chart(["1", "2", "3"], [Series("all", [0.0, 0.5, None])]), (0.01, "alert"))
    assert [p.get("data-value") for p in points(lines)] == ["0.0", "0.5"]
    assert "alert" in lines and "<polyline" in lines


def test_no_data_still_renders() -> None:
    for svg in (bar_chart(chart([], [])), line_chart(chart([], [Series("s", [])]))):
        assert ET.fromstring(svg) is not None and points(svg) == []


def test_compact_axis_labels() -> None:
    assert [compact(v) for v in (-1_500_000, 2500, 12, 0, 3e9)] == [
        "-1.5M",
        "2.5k",
        "12",
        "0",
        "3B",
    ]


def test_lines_stop_at_a_gap_and_never_bridge_it() -> None:
    svg = line_chart(chart(["1", "2", "3", "4", "5"], [Series("s", [1.0, 2.0, None, 3.0, 4.0])]))
    root = ET.fromstring(svg)
    lines = [e.get("points").split() for e in root.iter(f"{SVG}polyline")]
    assert len(lines) == 2 and [len(line) for line in lines] == [2, 2]
    # the first line ends at category 2, the second starts at category 4: nothing over 3
    x_of = {p.get("data-category"): float(p.get("cx")) for p in points(svg)}
    assert float(lines[0][-1].split(",")[0]) == x_of["2"]
    assert float(lines[1][0].split(",")[0]) == x_of["4"]
    lone = line_chart(chart(["1", "2", "3"], [Series("s", [1.0, None, 2.0])]))
    assert "<polyline" not in lone and len(points(lone)) == 2  # markers only
