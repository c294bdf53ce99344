"""Server-side charts: inline SVG with its text as text, scalable, self-contained (no
links, scripts or inline styles the CSP would block), gaps for missing values, the same
bytes for the same input, and a short chart saying so when there is nothing to draw."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from markupsafe import Markup

from app.reports import charts
from app.reports.charts import Series, bar_chart, line_chart, survival_chart

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = [f"2026-{month:02d}" for month in range(1, 13)]
REPO = Path(__file__).resolve().parents[2]
BLUE = charts.PALETTE[0].lower()

POINTS = [
    {"days": 0, "survival": 1.0, "low": 1.0, "high": 1.0, "at_risk": 40},
    {"days": 45, "survival": 0.95, "low": 0.82, "high": 0.99, "at_risk": 38},
    {"days": 210, "survival": 0.87, "low": 0.71, "high": 0.94, "at_risk": 25},
    {"days": 400, "survival": 0.8, "low": 0.6, "high": 0.9, "at_risk": 9},
    {"days": 520, "survival": 0.8, "low": None, "high": None, "at_risk": 2},
]


def opening_chart(**options) -> Markup:
    return line_chart(
        "开业率（3个月、6个月）",
        MONTHS,
        [
            Series(
                "3个月内开业", [0.2, 0.25, None, 0.3, 0.28, 0.31, 0.35, 0.33, 0.4, 0.38, 0.41, 0.45]
            ),
            Series(
                "6个月内开业", [0.3, 0.35, 0.38, 0.4, 0.42, 0.41, 0.5, 0.5, 0.52, 0.55, 0.53, 0.6]
            ),
        ],
        **({"percent": True, "target": 0.5, "target_label": "目标"} | options),
    )


def followup_chart(stacked: bool = True) -> Markup:
    return bar_chart(
        "按月到期的回访",
        ["2026-09", "2026-10", "2026-11"],
        [
            Series("按时", [5, 6, 7]),
            Series("逾期", [1, None, 2]),
            Series("未完成", [0, 1, 0]),
        ],
        stacked=stacked,
    )


def the_survival_chart() -> Markup:
    return survival_chart(
        "企业存活（Kaplan–Meier）", POINTS, label_days="开业后天数", label_survival="仍在经营"
    )


def every_chart() -> list[Markup]:
    return [opening_chart(), the_survival_chart(), followup_chart(), followup_chart(False)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 - the module's own output, not untrusted


def texts(svg: str) -> list[str]:
    return [element.text or "" for element in parse(svg).iter(f"{SVG}text")]


def test_each_chart_is_one_inline_svg_element():
    for svg in every_chart():
        assert isinstance(svg, Markup)
        assert svg.startswith("<svg ")
        assert svg.endswith("</svg>")
        assert "<?xml" not in svg
        assert "<!DOCTYPE" not in svg
        root = parse(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("class") == "chart"
        assert root.get("role") == "img"
        assert root.get("width") is None
        assert root.get("height") is None
        assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox") or "")
        assert parse(svg).find(f"{SVG}metadata") is None


def test_title_labels_and_chinese_text_are_text():
    line = texts(opening_chart())
    assert "开业率（3个月、6个月）" in line
    assert {"3个月内开业", "6个月内开业"} <= set(line)
    assert "2026-12" in line  # the latest month is always labelled
    assert "目标 50%" in line
    assert any(text.endswith("%") for text in line)  # a percent axis
    assert parse(opening_chart()).get("aria-label") == "开业率（3个月、6个月）"
    survival = texts(the_survival_chart())
    assert {"企业存活（Kaplan–Meier）", "开业后天数", "仍在经营", "365"} <= set(survival)
    bars = texts(followup_chart())
    assert {"按月到期的回访", "按时", "逾期", "未完成", "2026-09", "2026-11"} <= set(bars)
    # Text as text in the browser's Chinese fonts, never glyph outlines.
    svg = str(opening_chart())
    assert "font-family=\"'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif\"" in svg
    assert "DejaVu" not in svg


def test_text_is_escaped_and_kept_as_typed():
    title = 'Loans "A" & <B>'
    label = 'x style="fill: red" id="y" url(#z)'
    svg = line_chart(title, ["a", "b"], [Series(label, [1, 2]), Series("<script>", [2, 1])])
    assert parse(svg).get("aria-label") == title
    assert {title, label, "<script>"} <= set(texts(svg))
    assert "<B>" not in svg
    assert "<script" not in svg


def test_nothing_external_no_script_no_inline_styles():
    for svg in every_chart():
        urls = set(re.findall(r"https?://[^\s\"')]+", svg))
        assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
        assert "javascript:" not in svg.lower()
        for element in parse(svg).iter():
            tag = element.tag.removeprefix(SVG)
            assert tag not in {"script", "image", "a", "foreignObject", "style"}, tag
            assert not [name for name in element.attrib if name.lower().startswith("on")]
            hrefs = [value for name, value in element.attrib.items() if name.endswith("href")]
            assert all(value.startswith("#") for value in hrefs)
        # CSP style-src 'self' would drop these; presentation attributes stand instead.
        assert "style=" not in svg
        assert "<style" not in svg
        assert 'fill="#' in svg


def test_every_reference_points_inside_the_chart_and_ids_are_unique():
    line, survival = opening_chart(), the_survival_chart()
    for svg in (line, survival):
        ids = re.findall(r' id="([^"]+)"', svg)
        assert len(ids) == len(set(ids))
        references = re.findall(r'url\(#([^)]+)\)|xlink:href="#([^"]+)"', svg)
        assert references
        assert {first or second for first, second in references} <= set(ids)
    line_ids = set(re.findall(r' id="([^"]+)"', line))
    assert not line_ids & set(re.findall(r' id="([^"]+)"', survival))


def test_none_leaves_a_gap_in_the_line():
    svg = line_chart("T", ["a", "b", "c", "d"], [Series("x", [1.0, None, 3.0, 4.0])])
    line = re.search(rf'<path d="([^"]*)"[^>]*fill="none" stroke="{BLUE}"', svg)
    assert line is not None
    assert line.group(1).count("M") == 2  # the line starts again after the gap
    assert len(re.findall(rf'<use [^>]*fill="{BLUE}"', svg)) == 3  # a marker per value
    assert "nan" not in svg.lower()


def test_none_leaves_out_its_bar_side_by_side_and_adds_nothing_stacked():
    def bars(svg: str, colour: str) -> int:
        # Bars are clipped to the plot; the legend's swatch of the same colour is not.
        return len(re.findall(rf'<path d="M [^"]*z\s*" clip-path="[^"]*" fill="{colour}"', svg))

    orange = charts.PALETTE[1].lower()
    assert bars(followup_chart(stacked=False), orange) == 2
    assert bars(followup_chart(stacked=True), orange) == 3  # a zero-height bar
    assert "nan" not in followup_chart(stacked=False).lower()


def test_the_same_input_gives_the_same_bytes():
    first = every_chart()
    again = every_chart()
    assert first == again
    assert opening_chart() != opening_chart(target=0.6)


def test_charts_drawn_from_many_threads_are_the_ones_drawn_alone():
    expected = every_chart()
    results: dict[int, list[Markup]] = {}

    def draw(number: int) -> None:
        results[number] = every_chart()

    threads = [threading.Thread(target=draw, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(drawn == expected for drawn in results.values())


def test_empty_data_gives_a_short_chart_saying_so():
    cases = [
        line_chart("开业率", [], [], empty_text="暂无数据"),
        line_chart("开业率", ["2026-01"], [Series("x", [None])], empty_text="暂无数据"),
        survival_chart("存活", [], label_days="天", label_survival="存活", empty_text="暂无数据"),
        bar_chart("回访", [], [], empty_text="暂无数据"),
        bar_chart("回访", ["a", "b"], [Series("x", [None, None])], empty_text="暂无数据"),
    ]
    for svg in cases:
        root = parse(svg)
        assert "暂无数据" in texts(svg)
        assert root.get("aria-label") in texts(svg)
        width, height = map(float, (root.get("viewBox") or "").split()[2:])
        assert height < width / 4  # a line of text, not an empty plot
        assert "<use" not in svg  # no axes, no ticks
        assert "style=" not in svg


def test_values_must_match_the_labels():
    with pytest.raises(ValueError, match="3 values for 2 labels"):
        line_chart("T", ["a", "b"], [Series("x", [1, 2, 3])])
    with pytest.raises(ValueError, match="0 values for 1 labels"):
        bar_chart("T", ["a"], [Series("x", [])])


def test_counts_read_as_whole_numbers_with_separators():
    svg = bar_chart(
        "在贷本金", ["正常", "逾期"], [Series("本金", [1250000.0, 5000.0])], stacked=False
    )
    labels = texts(svg)
    assert "1,250,000" in labels  # on the bar
    assert not any(re.fullmatch(r"\d+\.\d+", text) for text in labels)


def test_a_server_without_chinese_fonts_still_draws_quietly(monkeypatch):
    """Measured with DejaVu Sans, matplotlib would warn for every Chinese glyph (and the
    suite turns warnings into errors); the chart is the same but for its spacing."""
    monkeypatch.setattr(
        charts, "_style", lambda: charts.CHART_STYLE | {"font.family": ["DejaVu Sans"]}
    )
    svg = opening_chart()
    assert "3个月内开业" in texts(svg)
    assert "'Noto Sans CJK SC', 'Microsoft YaHei', 'PingFang SC', sans-serif" in svg


def test_importing_charts_loads_no_matplotlib_and_drawing_writes_no_home_folder(tmp_path):
    """matplotlib creates its config folder on import and writes a font cache on first use:
    in a service account's unwritable home it would fall back to a new temporary folder
    per process (and say so). Importing the module loads nothing; drawing uses
    MPLCONFIGDIR or instance/matplotlib."""
    env = {key: value for key, value in os.environ.items() if key != "MPLCONFIGDIR"}
    env |= {"HOME": str(tmp_path / "missing" / "home"), "XDG_CACHE_HOME": "", "XDG_CONFIG_HOME": ""}
    script = (
        "import sys\n"
        "import app.reports.charts as charts\n"
        "assert 'matplotlib' not in sys.modules\n"
        "charts.line_chart('T', ['a'], [charts.Series('x', [1.0])])\n"
        "import matplotlib, os\n"
        "print(matplotlib.get_cachedir())\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "temporary cache directory" not in result.stderr
    assert "mkdir -p failed" not in result.stderr
    assert result.stdout.strip() == str(REPO / "instance" / "matplotlib")
    assert not (tmp_path / "missing").exists()
