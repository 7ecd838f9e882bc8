"""core/common/svg_heatmap: the pages' heatmaps (confusion matrix, error rate by pose) as the browser draws them."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import plotly.graph_objects as go
import pytest

from core.common.svg_heatmap import colour_at, colour_stops, heatmap_svg, nice_ticks, text_colour
from core.data.labels import EMOTIONS
from core.evaluation.metrics import confusion
from core.evaluation.plots import CONFUSION_SUBTITLE, confusion_figure, error_rate_figure

NS = {"s": "http://www.w3.org/2000/svg"}


def _cm() -> pd.DataFrame:
    true = ["happy"] * 8 + ["sad"] * 4 + ["fear"]
    pred = ["happy"] * 6 + ["sad"] * 2 + ["sad"] * 3 + ["happy"] + ["fear"]
    return confusion(pd.Series(true), pd.Series(pred))


def _cells(svg: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iterfind(".//s:g", NS) if g.get("class") == "cell"]


def _cell(svg: str, true: str, pred: str) -> ET.Element:
    return next(g for g in _cells(svg) if g.get("data-true") == true and g.get("data-pred") == pred)


def _fill(cell: ET.Element) -> str:
    return cell.find("s:rect", NS).get("fill")


def _number(cell: ET.Element) -> str:
    return "".join(cell.find("s:text", NS).itertext())


def test_the_confusion_matrix_cells_are_clickable_with_the_figures_counts_and_colours() -> None:
    fig = confusion_figure(_cm(), "all groups (n=13)")
    svg = heatmap_svg(fig, width=360, data_names=("true", "pred"), tooltip="true {row} → {col}: {text} faces")
    assert len(_cells(svg)) == len(EMOTIONS) ** 2
    cell = _cell(svg, "happy", "sad")
    assert _number(cell) == "2" and cell.get("tabindex") == "0" and cell.get("role") == "button"
    assert cell.find("s:title", NS).text == "true happy → sad: 2 faces"
    scale = fig.data[0].colorscale  # colour: the share of the true class on the figure's own scale
    assert _fill(_cell(svg, "fear", "fear")) == "rgb%s" % (colour_at(scale, 1.0),) == "rgb(8, 48, 107)"
    assert _fill(_cell(svg, "angry", "angry")) == "rgb%s" % (colour_at(scale, 0.0),)
    assert _fill(_cell(svg, "happy", "happy")) == "rgb%s" % (colour_at(scale, 0.75),)
    assert _cell(svg, "fear", "fear").find("s:text", NS).get("fill") == "#fff"  # white on dark, dark on light
    assert _cell(svg, "angry", "angry").find("s:text", NS).get("fill") == "#222"
    assert 'width="360"' in svg and f'height="{fig.layout.height}"' in svg and CONFUSION_SUBTITLE in svg
    assert "all groups (n=13)" in svg and ">predicted<" in svg and ">true<" in svg and "rotate(-45)" in svg
    # the figure's first row (angry) at the top, as its reversed y axis draws it
    ys = {g.get("data-true"): float(g.find("s:rect", NS).get("y")) for g in _cells(svg)}
    assert ys["angry"] < ys["surprise"]


def test_the_selected_cell_is_outlined_and_text_is_escaped() -> None:
    fig = confusion_figure(_cm(), "A & <b>B</b> <3")  # Plotly's tags are dropped, the rest escaped
    svg = heatmap_svg(fig, selected=("sad", "happy"), data_names=("true", "pred"))
    outline = next(r for r in ET.fromstring(svg).iterfind(".//s:rect", NS) if r.get("class") == "selected")
    rect = _cell(svg, "sad", "happy").find("s:rect", NS)
    assert float(outline.get("x")) > float(rect.get("x")) and float(outline.get("y")) > float(rect.get("y"))
    assert "A &amp; B &lt;3" in svg and "<b>" not in svg
    assert 'class="selected"' not in heatmap_svg(fig, selected=("sad", "nonsense"))
    assert "data-true" not in heatmap_svg(fig)  # cells carry their values only when asked (clickable)


def test_the_error_rate_heatmap_keeps_its_texts_colour_bar_and_bottom_up_rows() -> None:
    table = pd.DataFrame({"row": ["Dark", "Dark", "Light", "Light"], "col": ["frontal", "side"] * 2,
                          "error_rate": [0.4, 0.6, 0.2, 0.1], "ci_low": [0.3, 0.5, 0.1, 0.05],
                          "ci_high": [0.5, 0.7, 0.3, 0.2], "n_samples": [50, 20, 60, 30],
                          "n_persons": [10, 4, 12, 8], "low_n": [False, True, False, False]})
    fig = error_rate_figure(table, "race", "pose", "Error rate by pose and race")
    svg = heatmap_svg(fig, width=900)
    assert len(_cells(svg)) == 4 and "Error rate by pose and race" in svg and ">error %<" in svg
    dark_side = next(g for g in _cells(svg) if g.find("s:title", NS).text.startswith("Dark, side"))
    assert [t.text for t in dark_side.iter("{http://www.w3.org/2000/svg}tspan")] == ["60% [50-70]", "n=20, 4p ⚠"]
    assert _fill(dark_side) == "rgb%s" % (colour_at(fig.data[0].colorscale, 0.6),)
    ys = {g.find("s:title", NS).text.split(",")[0]: float(g.find("s:rect", NS).get("y")) for g in _cells(svg)}
    assert ys["Dark"] > ys["Light"]  # Plotly's y axis: the first row at the bottom
    assert [float(t.text) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}tspan")
            if t.text and t.text.replace(".", "").isdigit() and len(t.text) <= 3][-6:] == nice_ticks(0, 100)


def test_helpers_and_bad_input() -> None:
    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100] and nice_ticks(0, 1)[1] == 0.2 and nice_ticks(3, 3) == [3]
    assert text_colour((8, 48, 107)) == "#fff" and text_colour((247, 251, 255)) == "#222"
    assert colour_at(((0, "rgb(0,0,0)"), (1, "rgb(200,100,0)")), 0.5) == (100, 50, 0)
    with pytest.raises(ValueError, match="expected a figure with a heatmap trace"):
        heatmap_svg(go.Figure(go.Bar(x=[1], y=[2])))
    with pytest.raises(ValueError, match="expected more than the margins"):
        heatmap_svg(confusion_figure(_cm()), width=100)
    with pytest.raises(ValueError, match="expected 'rgb"):
        colour_at(((0, "blue"), (1, "red")), 0.5)
    stops = colour_stops(confusion_figure(_cm()).data[0])  # what the face explorer's browser code colours with
    assert stops[0] == (0.0, (247, 251, 255)) and stops[-1] == (1.0, (8, 48, 107))
    assert colour_at(stops, 0.37) == colour_at(confusion_figure(_cm()).data[0].colorscale, 0.37)
    with pytest.raises(ValueError, match="expected 'rgb"):
        colour_stops(go.Heatmap(z=[[1]], colorscale=[[0, "#ffffff"], [1, "#000000"]]))
