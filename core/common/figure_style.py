"""The look of every figure (app and report): publication size, fonts, titles clear of the toolbar, export options.

* :func:`paper_layout`: one font, white background, a left-aligned title with
  room above it (so neither Plotly's mode bar nor Streamlit's element toolbar
  covers it), horizontal tick labels.
* :func:`export_config`: the Plotly ``config`` whose camera button saves the
  figure as SVG at publication size (:data:`PAPER_SIZE`), used by the pages'
  ``show_figure`` and by the HTML report.
* :func:`wrap_text`: break long names and titles into ``<br>`` lines.
* :func:`browser_figure`: the figure as the app sends it to the browser, its
  template written into the figure and a data revision set, so that the
  browser draws it once (Plotly redraws a chart whose template object or data
  arrays it cannot tell unchanged).
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import lru_cache
from typing import Any, Iterable

import plotly.graph_objects as go

#: Publication size in CSS pixels (a two-column figure about 17 cm wide at 96 dpi) and the PNG scale.
PAPER_SIZE: tuple[int, int] = (900, 520)
PNG_SCALE = 3
FONT = "Arial, Helvetica, sans-serif"


def wrap_text(text: str, width: int = 22, max_lines: int = 3) -> str:
    """Break ``text`` at spaces into ``<br>``-separated lines of at most about ``width`` characters."""
    words, lines, cur = str(text).split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "<br>".join(lines[:max_lines]) + ("…" if len(lines) > max_lines else "")


def file_stem(name: str) -> str:
    """A file name stem from a figure name (letters, digits, ``-`` and ``_``)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_")
    return stem[:80] or "figure"


#: Trace types the product draws; the template keeps plotly_white's defaults for these only.
TRACE_TYPES: tuple[str, ...] = ("bar", "heatmap", "scatter", "scattergl")


@lru_cache(maxsize=1)
def paper_template() -> go.layout.Template:
    """Plotly's ``plotly_white`` with its trace defaults cut to :data:`TRACE_TYPES`.

    The same look for every figure drawn here at about half the cost per figure:
    a template is copied into each figure, and ``plotly_white`` carries defaults
    for some 40 trace types (measured here: 12 ms instead of 27 ms a figure).
    """
    import plotly.io as pio

    white = pio.templates["plotly_white"]
    data = white.to_plotly_json().get("data", {})
    return go.layout.Template(layout=white.layout, data={k: data[k] for k in TRACE_TYPES if k in data})


def paper_layout(fig: go.Figure, title: str | None = None, top: int = 90) -> go.Figure:
    """Apply the shared look to ``fig`` in place and return it.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        Any figure of the app or the report.
    title : str, optional
        Replaces the title; long titles are wrapped to two lines.
    top : int
        Top margin in pixels: the title sits 34 px below the figure's top edge,
        under the toolbars that appear there on hover.

    Returns
    -------
    plotly.graph_objects.Figure
        ``fig``.
    """
    text = title if title is not None else (fig.layout.title.text or "")
    # Plain property assignments, the template unvalidated as Plotly itself assigns its default one (it was
    # validated when built): the same figure as update_layout/update_xaxes give, in a fifth of the time
    # (measured here: 2 ms instead of 12 ms a figure).
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = paper_template()
    finally:
        layout._validate = fig._validate
    # merged into what the figure set before (a title's colour, a hover label's background stay)
    layout.font = _merged(layout.font.to_plotly_json(), {"family": FONT, "size": 13, "color": "#222"})
    layout.title = _merged(layout.title.to_plotly_json(), {
        "text": wrap_text(text, 90, 2) if text else "", "x": 0, "xanchor": "left", "xref": "paper",
        "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 34}, "font": {"size": 15}})
    layout.margin.t = max(int(top), 70)
    layout.legend.font.size = 12
    layout.hoverlabel = _merged(layout.hoverlabel.to_plotly_json(), {"font": {"family": FONT, "size": 12},
                                                                      "align": "left"})
    for axis in fig.select_xaxes():
        axis.tickangle, axis.automargin = 0, True
    for axis in fig.select_yaxes():
        axis.automargin = True
    return fig


def fixed_margins(fig: go.Figure, y_labels: Iterable[str], x_labels: Iterable[str], *, y_title: bool = True,
                  x_title: bool = True, right: int = 90) -> go.Figure:
    """Margins that fit ``fig``'s tick labels, computed here, with Plotly's automargin off; returns ``fig``.

    Plotly's automargin measures the drawn labels and then draws the whole chart a
    second time with the margins they need (seen here: about 40 ms more in the
    browser for a small heatmap); labels known in advance give the same margins at
    once. Sized for :data:`FONT` at 13 px (about 7.5 px a character, wider than
    Arial's average, so that no label is clipped); ``<br>`` starts a new line.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    y_labels, x_labels : iterable of str
        The tick labels of the y axis (left) and the x axis (bottom, horizontal).
    y_title, x_title : bool
        Leave room for the axis titles.
    right : int
        Right margin (a colour bar or legend).
    """
    def width(label: str) -> int:
        return max((len(line) for line in str(label).split("<br>")), default=0)

    ys = [str(v) for v in y_labels]
    xs = [str(v) for v in x_labels]
    left = 16 + round(7.5 * max(map(width, ys), default=1)) + (26 if y_title else 0)
    lines = max((str(v).count("<br>") + 1 for v in xs), default=1)
    bottom = 14 + 17 * lines + (30 if x_title else 0)
    for axis in (*fig.select_xaxes(), *fig.select_yaxes()):
        axis.automargin = False
    fig.layout.margin.l, fig.layout.margin.b, fig.layout.margin.r = max(left, 50), max(bottom, 40), right
    return fig


def export_config(name: str, width: int | None = None, height: int | None = None) -> dict[str, Any]:
    """Plotly ``config``: the camera button saves ``<name>.svg`` at publication size; no Plotly logo.

    Parameters
    ----------
    name : str
        Figure name (the file stem after :func:`file_stem`).
    width, height : int, optional
        Export size in pixels (default :data:`PAPER_SIZE`).
    """
    w, h = width or PAPER_SIZE[0], height or PAPER_SIZE[1]
    return {"displaylogo": False, "toImageButtonOptions": {"format": "svg", "filename": file_stem(name),
                                                            "width": int(w), "height": int(h), "scale": 1}}


def _merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` written over it (nested dicts merged; ``update`` wins)."""
    out = dict(base)
    for k, v in update.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _fill(default: Any, value: Any) -> Any:
    """``value`` with what it leaves unset taken from (a copy of) ``default``: :func:`_merged` the other way
    round."""
    if isinstance(default, dict) and isinstance(value, dict):
        return _merged(copy.deepcopy(default), value)
    return copy.deepcopy(default) if value is None else value


def _inline_template(spec: dict[str, Any]) -> dict[str, Any]:
    """A figure spec (``to_plotly_json``) with its template's defaults written into its layout and traces, as
    Plotly.js would apply them (axis defaults to every axis, ``*defaults`` to every item, trace defaults
    cycled per trace type), and no template left."""
    layout = dict(spec.get("layout") or {})
    template = layout.pop("template", None) or {}
    data = [dict(t) for t in spec.get("data") or []]
    axes = {"xaxis": {"xaxis"}, "yaxis": {"yaxis"}}
    for trace in data:
        for letter in "xy":
            ref = str(trace.get(f"{letter}axis") or letter)
            axes[f"{letter}axis"].add(f"{letter}axis{ref[1:]}")
    for key, default in (template.get("layout") or {}).items():
        if key in axes:
            for name in axes[key] | {k for k in layout if re.fullmatch(key + r"\d*", k)}:
                layout[name] = _fill(default, layout.get(name))
        elif key.endswith("defaults"):  # annotationdefaults -> every annotation
            items = key[: -len("defaults")] + "s"
            if layout.get(items):
                layout[items] = [_fill(default, item) for item in layout[items]]
        elif key in ("polar", "ternary", "scene", "geo", "mapbox", "map"):
            if key in layout:  # subplots this figure has
                layout[key] = _fill(default, layout[key])
        else:
            layout[key] = _fill(default, layout.get(key))
    seen: dict[str, int] = {}
    trace_defaults = template.get("data") or {}
    for i, trace in enumerate(data):
        kind = str(trace.get("type") or "scatter")
        options = trace_defaults.get(kind) or []
        if options:
            k = seen.get(kind, 0)
            seen[kind] = k + 1
            default = {key: v for key, v in options[k % len(options)].items() if key != "type"}
            data[i] = _fill(default, trace)
    out = {"data": data, "layout": layout}
    if spec.get("frames"):
        out["frames"] = spec["frames"]
    return out


def browser_figure(fig: go.Figure) -> go.Figure:
    """``fig`` as the app's charts send it: the same look with no template object, and a data revision.

    Streamlit draws a new chart twice (its element remounts, then passes a copy of
    the same figure): Plotly.js draws the second time in full when the figure
    carries a template (an object it compares by identity) or data arrays without
    ``layout.datarevision``. Here the template's defaults are written into the
    figure itself and ``datarevision`` is a hash of the traces, so the second pass
    changes nothing and the chart is drawn once. Computed once per figure object
    (kept on it; figures are not changed after they are shown).

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        A finished figure (from a ``core`` plots module).

    Returns
    -------
    plotly.graph_objects.Figure
        A new figure; ``fig`` is left as it is.
    """
    cached = getattr(fig, "_browser_copy", None)
    if cached is not None:
        return cached
    spec = _inline_template(fig.to_plotly_json())
    out = go.Figure(spec, _validate=False)  # the spec comes from a validated figure
    out._validate = out.layout._validate = True  # changes from here on are checked again (and None deletes)
    out.layout.template = None  # a new Figure takes the default template; this one has its own written in
    if out.layout.datarevision is None:
        traces = json.dumps(spec["data"], sort_keys=True, default=str).encode()
        out.layout.datarevision = hashlib.sha1(traces).hexdigest()[:16]
    fig._browser_copy = out
    return out
