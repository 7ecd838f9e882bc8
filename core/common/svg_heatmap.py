"""A Plotly heatmap figure as one small SVG document, for the browser (no Streamlit here).

The pages draw their heatmaps (the confusion matrix, the error rate by pose and
group) as SVG: a browser draws one at once, where Plotly.js takes about 50 ms on
a laptop CPU to draw a changed heatmap. :func:`heatmap_svg` reads everything
from the figure that the exports and the HTML report use (cells, colour scale
and range, cell texts, title and subtitle, axis titles, tick angle, margins,
size, colour bar), so the two renderings show the same thing. Each cell is a
``<g class="cell">`` with a tooltip; with ``data_names`` it also carries the
cell's row and column values (``data-true="happy"``) and is focusable, for a
page that sends clicks back; ``selected`` outlines one cell in crimson.
"""
from __future__ import annotations

import re
from html import escape
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from .figure_style import FONT, PAPER_SIZE

SELECTED = "#dc143c"  #: outline of the selected (clicked) cell: crimson
DEFAULT_SIZE = (PAPER_SIZE[0], 450)  #: the publication width, as the pages show figures; Plotly's default height
_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)")


def _rgb(colour: str) -> tuple[int, int, int]:
    m = _RGB.match(str(colour))
    if m is None:
        raise ValueError(f"colour scale entry {colour!r}: expected 'rgb(r, g, b)'")
    return tuple(int(round(float(v))) for v in m.groups())  # type: ignore[return-value]


def colour_at(scale: Sequence[tuple[float, Any]], t: float) -> tuple[int, int, int]:
    """The colour at ``t`` (0-1, clipped) of a Plotly colour scale ``((position, "rgb(r,g,b)"), ...)`` (or of one
    whose colours are already ``(r, g, b)`` tuples)."""
    stops = [(float(p), c if isinstance(c, tuple) else _rgb(c)) for p, c in scale]
    t = min(max(float(t), 0.0), 1.0)
    for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
        if t <= p1:
            w = 0.0 if p1 == p0 else (t - p0) / (p1 - p0)
            return tuple(int(round(a + w * (b - a))) for a, b in zip(c0, c1))  # type: ignore[return-value]
    return stops[-1][1]


def colour_stops(trace: Any) -> tuple[tuple[float, tuple[int, int, int]], ...]:
    """A heatmap trace's colour scale, parsed: ``((position, (r, g, b)), ...)``, as its cells are coloured.

    Raises
    ------
    ValueError
        If a colour of the scale is not ``rgb(r, g, b)``.
    """
    return tuple((float(p), _rgb(c)) for p, c in trace.colorscale)


def text_colour(rgb: Sequence[int]) -> str:
    """White on dark cells, near-black on light ones (relative luminance)."""
    lin = [(c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return "#fff" if 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2] < 0.3 else "#222"


def _lines(text: Any) -> list[str]:
    """Plotly text (``<br>`` line breaks, maybe ``<b>``) as escaped lines."""
    plain = re.sub(r"<(?!br\s*/?>)[^>]+>", "", str(text))
    return [escape(line) for line in re.split(r"<br\s*/?>", plain)]


def _text(x: float, y: float, text: Any, size: float, anchor: str = "start", fill: str = "#222",
          extra: str = "") -> str:
    lines = _lines(text)
    dy = 1.2 * size
    y0 = y - dy * (len(lines) - 1) / 2 if anchor == "middle" else y
    spans = "".join(f'<tspan x="{x:.1f}" y="{y0 + i * dy:.1f}">{line}</tspan>' for i, line in enumerate(lines))
    return (f'<text font-size="{size:g}" fill="{fill}" text-anchor="{anchor}"{extra}>{spans}</text>')


def heatmap_svg(fig: go.Figure, *, width: int | None = None, selected: tuple[str, str] | None = None,
                data_names: tuple[str, str] | None = None, tooltip: str = "{row}, {col}: {text}") -> str:
    """The first heatmap trace of ``fig`` and its layout as an SVG document.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        A figure with a ``go.Heatmap`` trace (other traces are left out).
    width : int, optional
        Width in pixels (default: the figure's, else :data:`DEFAULT_SIZE`).
    selected : (str, str), optional
        (row, column) of the cell to outline.
    data_names : (str, str), optional
        Attribute names for each cell's row and column value (``("true", "pred")``
        gives ``data-true`` / ``data-pred``); the cells are then focusable buttons.
    tooltip : str
        Each cell's tooltip, formatted with ``row``, ``col``, ``text`` (its text, one line) and ``z``.

    Returns
    -------
    str
        ``<svg ...>...</svg>``.

    Raises
    ------
    ValueError
        If ``fig`` has no heatmap trace, or its size leaves no room for the cells.
    """
    trace = next((t for t in fig.data if t.type == "heatmap"), None)
    if trace is None:
        raise ValueError(f"expected a figure with a heatmap trace, got traces {[t.type for t in fig.data]}")
    lay = fig.layout
    w = int(width or lay.width or DEFAULT_SIZE[0])
    h = int(lay.height or DEFAULT_SIZE[1])
    m = lay.margin
    left, right, top, bottom = (int(v if v is not None else d) for v, d in ((m.l, 80), (m.r, 80), (m.t, 100),
                                                                            (m.b, 80)))
    z = np.asarray(trace.z, dtype=float)
    rows = [str(v) for v in (trace.y if trace.y is not None else range(z.shape[0]))]
    cols = [str(v) for v in (trace.x if trace.x is not None else range(z.shape[1]))]
    pw, ph = w - left - right, h - top - bottom
    if pw <= 0 or ph <= 0 or z.ndim != 2:
        raise ValueError(f"width x height {w} x {h}: expected more than the margins l={left} r={right} t={top} "
                         f"b={bottom}, and a 2-d z (got {z.ndim}-d)")
    finite = z[np.isfinite(z)]
    zmin = float(trace.zmin) if trace.zmin is not None else float(finite.min()) if finite.size else 0.0
    zmax = float(trace.zmax) if trace.zmax is not None else float(finite.max()) if finite.size else 1.0
    stops = colour_stops(trace)  # parsed once, not per cell
    texts = np.asarray(trace.text, dtype=object) if trace.text is not None else None
    cw, ch = pw / len(cols), ph / len(rows)
    top_down = lay.yaxis.autorange == "reversed"
    font = lay.font.size or 13
    cell_font, row_font = trace.textfont.size or font, lay.yaxis.tickfont.size or font
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" font-family="{FONT}" role="img" '
           f'aria-label="{escape(re.sub("<[^>]+>", " ", lay.title.text or "heatmap"))}">',
           f'<rect width="{w}" height="{h}" fill="#fff"/>']
    if lay.title.text:
        out.append(_text(left, 49, lay.title.text, lay.title.font.size or 15))
    if lay.title.subtitle.text:
        out.append(_text(left, 67, lay.title.subtitle.text, lay.title.subtitle.font.size or 11))
    y_of = {r: top + (i if top_down else len(rows) - 1 - i) * ch for i, r in enumerate(rows)}
    x_size = lay.xaxis.tickfont.size or font
    angle = float(lay.xaxis.tickangle or 0)
    for i, row in enumerate(rows):
        out.append(_text(left - 6, y_of[row] + ch / 2 + 4, row, row_font, "end"))
        for j, col in enumerate(cols):
            x, y, v = left + j * cw, y_of[row], z[i, j]
            label = texts[i, j] if texts is not None and texts.ndim == 2 else ("" if np.isnan(v) else f"{v:g}")
            rgb = colour_at(stops, (v - zmin) / (zmax - zmin) if zmax > zmin else 0.0) if np.isfinite(v) else None
            tip = tooltip.format(row=row, col=col, z=v, text=" ".join(_lines(label)).strip())
            attrs = ""
            if data_names:
                attrs = (f' data-{data_names[0]}="{escape(row)}" data-{data_names[1]}="{escape(col)}" tabindex="0" '
                         f'role="button" aria-label="{escape(tip)}"')
            out.append(f'<g class="cell"{attrs}><title>{escape(tip)}</title>'
                       f'<rect x="{x:.1f}" y="{y:.1f}" width="{cw:.1f}" height="{ch:.1f}" '
                       f'fill="{"rgb%s" % (rgb,) if rgb else "#fff"}"/>'
                       + (_text(x + cw / 2, y + ch / 2 + 4, label, cell_font, "middle",
                                text_colour(rgb) if rgb else "#222") if str(label) else "")
                       + "</g>")
    for j, col in enumerate(cols):
        x = left + (j + 0.5) * cw
        if angle:
            out.append(_text(0, 0, col, x_size, "end",
                             extra=f' transform="translate({x:.1f},{h - bottom + 14}) rotate({angle:g})"'))
        else:
            out.append(_text(x, h - bottom + 18, col, x_size, "middle"))
    if lay.xaxis.title.text:
        out.append(_text(left + pw / 2, h - 12, lay.xaxis.title.text, font, "middle"))
    if lay.yaxis.title.text:
        out.append(_text(0, 0, lay.yaxis.title.text, font, "middle",
                         extra=f' transform="translate(18,{top + ph / 2:.1f}) rotate(-90)"'))
    if trace.showscale is not False:
        out.append(_colour_bar(trace, stops, zmin, zmax, left + pw + 16, top, ph, font))
    if selected is not None and selected[0] in y_of and selected[1] in cols:
        x, y = left + cols.index(selected[1]) * cw, y_of[selected[0]]
        out.append(f'<rect class="selected" x="{x + 1.5:.1f}" y="{y + 1.5:.1f}" width="{cw - 3:.1f}" '
                   f'height="{ch - 3:.1f}" fill="none" stroke="{SELECTED}" stroke-width="3" pointer-events="none"/>')
    out.append("</svg>")
    return "".join(out)


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values from ``lo`` to ``hi``: a step of 1, 2 or 5 times a power of ten, about ``target`` steps."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / target
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(f * power for f in (1, 2, 5, 10) if f * power >= raw)
    first = np.ceil(lo / step) * step
    return [float(round(v, 10)) for v in np.arange(first, hi + step / 1e6, step)]


def _colour_bar(trace: Any, stops: Sequence[tuple[float, tuple[int, int, int]]], zmin: float, zmax: float, x: float,
                top: float, height: float, font: float) -> str:
    """A vertical colour bar (the colour scale's ``stops``, parsed) with round ticks (:func:`nice_ticks`) and the
    colour bar's title above it."""
    gradient = "".join(f'<stop offset="{100 * (1 - p):.1f}%" stop-color="rgb{c}"/>' for p, c in reversed(stops))
    parts = [f'<defs><linearGradient id="ferbias-cbar" x1="0" y1="0" x2="0" y2="1">{gradient}</linearGradient>'
             '</defs>',
             f'<rect x="{x:.1f}" y="{top:.1f}" width="14" height="{height:.1f}" fill="url(#ferbias-cbar)"/>']
    for v in nice_ticks(zmin, zmax):
        y = top + height * (1 - (v - zmin) / (zmax - zmin)) if zmax > zmin else top + height
        parts.append(_text(x + 20, y + 4, f"{v:g}", font - 2))
    title = trace.colorbar.title.text
    if title:
        parts.append(_text(x, top - 8, title, font))
    return "".join(parts)
