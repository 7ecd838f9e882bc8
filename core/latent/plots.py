"""Plotly figures of the latent-space explorer (no Streamlit here).

* :func:`scatter_figure`: the 2-D projection coloured by any column; each
  point's ``customdata`` is its row number, so a selection maps back to rows.
* :func:`hover_faces_html`: the same scatter as a standalone HTML page in which
  hovering a point shows that face (thumbnails embedded as data URIs; plotly.js
  inlined, so it works offline). Plotly's own hover labels cannot show images
  and Streamlit does not pass hover events to Python, hence this page.
* :func:`curves_figure`: elbow (inertia) and silhouette curves with the chosen k marked.
* :func:`lift_figure`: heat map of a composition's lift (share in cluster / overall share).
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..common.figure_style import export_config, paper_layout
from ..common.palette import MEASURE_COLOUR, group_colours
from .stats import Composition

HOVER_COLUMNS: tuple[str, ...] = ("sample_id", "cluster", "race", "gender", "age", "label", "pred", "correct")
MAX_COLOURS = 24


def _colour_series(frame: pd.DataFrame, color: str) -> pd.Series:
    s = frame[color]
    if pd.api.types.is_float_dtype(s) and s.nunique(dropna=True) > MAX_COLOURS:
        return s
    return s.astype(object).where(s.notna(), "missing").astype(str)


def scatter_figure(frame: pd.DataFrame, color: str = "cluster", title: str | None = None,
                   point_size: int = 6) -> go.Figure:
    """Scatter of ``x``/``y`` coloured by ``color``; ``customdata[0]`` is the row number in ``frame``.

    Raises
    ------
    ValueError
        When ``frame`` lacks ``x``, ``y`` or ``color``.
    """
    missing = [c for c in ("x", "y", color) if c not in frame.columns]
    if missing:
        raise ValueError(f"projection table lacks column(s) {missing}; has {list(frame.columns)}")
    df = frame.assign(_row=np.arange(len(frame)), _colour=_colour_series(frame, color))
    hover = [c for c in HOVER_COLUMNS if c in df.columns and c != color]
    categorical = not pd.api.types.is_float_dtype(df["_colour"])
    order = sorted(df["_colour"].unique(), key=lambda v: (len(str(v)), str(v))) if categorical else None
    fig = px.scatter(df, x="x", y="y", color="_colour", custom_data=["_row"], hover_data=hover,
                     category_orders={"_colour": order} if order else None, render_mode="webgl",
                     color_discrete_map=group_colours(color, order) if order else None,
                     color_continuous_scale="Viridis", labels={"_colour": color, "x": "dim 1", "y": "dim 2"})
    fig.update_traces(marker={"size": point_size, "opacity": 0.8})
    fig.update_layout(legend_title_text=color, dragmode="lasso", margin={"l": 10, "r": 10, "b": 10}, height=560)
    return paper_layout(fig, title or "", top=70 if title else 40)


def thumbnail_uri(path: str | Path, size: int = 64, quality: int = 80) -> str | None:
    """``data:image/jpeg;base64,...`` thumbnail of an image file (longest side ``size``), or None if unreadable."""
    import cv2

    from ..data.images import thumbnail

    img = thumbnail(path, size)
    if img is None:
        return None
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii") if ok else None


_HOVER_JS = """
var gd = document.getElementById('{plot_id}');
var thumbs = %s;
var caps = %s;
var box = document.createElement('div');
box.style.cssText = 'position:fixed;display:none;pointer-events:none;z-index:10;background:#fff;' +
    'border:1px solid #999;padding:3px;font:11px sans-serif;box-shadow:0 2px 6px rgba(0,0,0,.3)';
var img = document.createElement('img'); img.style.cssText = 'display:block;width:%dpx;';
var cap = document.createElement('div'); cap.style.cssText = 'max-width:%dpx;white-space:normal;';
box.appendChild(img); box.appendChild(cap); document.body.appendChild(box);
gd.on('plotly_hover', function(ev) {
  var p = ev.points[0]; var row = p.customdata[0]; var src = thumbs[row];
  if (!src) { box.style.display = 'none'; return; }
  img.src = src; cap.textContent = caps[row] || ''; cap.style.display = caps[row] ? 'block' : 'none';
  var e = ev.event; box.style.visibility = 'hidden'; box.style.display = 'block';
  // above the pointer and its tooltip (below both when there is no room above): never over the tooltip
  requestAnimationFrame(function() {
    var lab = gd.querySelector('.hoverlayer .hovertext');
    var r = lab ? lab.getBoundingClientRect() : {top: e.clientY, bottom: e.clientY};
    var w = box.offsetWidth, h = box.offsetHeight;
    var top = Math.min(r.top, e.clientY) - h - 10;
    if (top < 0) top = Math.max(r.bottom, e.clientY) + 10;
    var left = Math.min(Math.max(0, e.clientX - w / 2), window.innerWidth - w - 4);
    box.style.left = left + 'px'; box.style.top = top + 'px'; box.style.visibility = 'visible';
  });
});
gd.on('plotly_unhover', function() { box.style.display = 'none'; });
"""


def hover_faces_html(figure: go.Figure, thumbnails: Sequence[str | None], size: int = 96,
                     captions: Sequence[str] | None = None, name: str = "latent_scatter") -> str:
    """Standalone HTML of ``figure`` where hovering a point shows ``thumbnails[customdata[0]]``.

    The face is drawn above the pointer and its tooltip (below them near the
    top edge), so it never covers the tooltip; ``captions[row]`` (e.g. the
    sample id and its groups) is written under it.

    Parameters
    ----------
    figure : plotly.graph_objects.Figure
        From :func:`scatter_figure` (customdata holds row numbers).
    thumbnails : sequence of str or None
        Data URIs per row (:func:`thumbnail_uri`); None shows no face for that row.
    size : int
        Displayed thumbnail width in pixels.
    captions : sequence of str, optional
        One caption per row; none by default.
    name : str
        File name of the chart's SVG export (its camera button).
    """
    import plotly.io as pio

    fig = go.Figure(figure)
    fig.update_layout(dragmode="zoom")
    caps = list(captions) if captions is not None else [""] * len(thumbnails)
    script = _HOVER_JS % (json.dumps(list(thumbnails)), json.dumps([str(c) for c in caps]), int(size), int(size))
    return pio.to_html(fig, include_plotlyjs=True, full_html=True, post_script=script,
                       config={"responsive": True, **export_config(name)}, default_height="560px")


def curves_figure(curves: pd.DataFrame, k: int | None = None) -> go.Figure:
    """Elbow (inertia) and silhouette against k, side by side, with a dashed line at the chosen ``k``."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Elbow (inertia)", "Silhouette"), horizontal_spacing=0.15)
    line = {"color": MEASURE_COLOUR}
    fig.add_trace(go.Scatter(x=curves["k"], y=curves["inertia"], mode="lines+markers", name="inertia", line=line),
                  1, 1)
    fig.add_trace(go.Scatter(x=curves["k"], y=curves["silhouette"], mode="lines+markers", name="silhouette",
                             line=line), 1, 2)
    if k is not None:
        for col in (1, 2):
            fig.add_vline(x=k, line_dash="dash", line_color="grey", row=1, col=col)
    fig.update_xaxes(title_text="k", dtick=1)
    paper_layout(fig, "", top=40)
    fig.update_layout(showlegend=False, height=300, margin={"l": 10, "r": 10, "b": 10})
    return fig


def lift_figure(comp: Composition) -> go.Figure:
    """Heat map of ``comp.lift`` (1 = the group's share in the cluster equals its overall share)."""
    lift = comp.lift.astype(float)
    z = np.log2(lift.clip(lower=1 / 8).to_numpy())
    text = [[f"{v:.2f}x<br>{p:.0f}%" if np.isfinite(v) else "" for v, p in zip(r1, r2)]
            for r1, r2 in zip(lift.to_numpy(), comp.row_percent.to_numpy())]
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in lift.columns], y=[f"cluster {i}" for i in lift.index],
                               text=text, texttemplate="%{text}", colorscale="RdBu_r", zmid=0, zmin=-2, zmax=2,
                               colorbar={"title": "log2 lift"}, hoverinfo="skip"))
    paper_layout(fig, f"Share in cluster / overall share of each {comp.attribute}", top=70)
    fig.update_layout(height=110 + 40 * len(lift), margin={"l": 10, "r": 10, "b": 10})
    fig.update_yaxes(autorange="reversed")
    return fig
