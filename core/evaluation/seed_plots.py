"""Each group's accuracy across training seeds: every seed a point, the mean and ± 1 sd (no Streamlit here)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..common.figure_style import paper_layout, wrap_text
from ..common.palette import group_colours
from .seeds import GROUP_SPREAD_COLUMNS

SEED_NOTE = ("small dots: one training seed each; large diamond: mean over seeds; whiskers: ± 1 across-seed sd "
             "(ddof 1; rough with 2 or 3 seeds)")


def _labels(spread: pd.DataFrame) -> dict[str, str]:
    """Axis label of each seed group: its configuration name, with the seed group id when names repeat."""
    firsts = spread.drop_duplicates("seed_group")
    repeats = firsts["configuration"].duplicated(keep=False)
    return {sg: wrap_text(f"{name} ({sg})" if rep else str(name), 18, 4)
            for sg, name, rep in zip(firsts["seed_group"], firsts["configuration"], repeats)}


def seed_spread_figure(spread: pd.DataFrame, attribute: str = "race", title: str | None = None,
                       groups: Sequence[str] | None = None, colours: Mapping[str, str] | None = None) -> go.Figure:
    """Strip plot of group accuracy (%) across seeds, per configuration (seed group) and group.

    Parameters
    ----------
    spread : pandas.DataFrame
        :func:`core.evaluation.seeds.group_seed_spread` (columns :data:`GROUP_SPREAD_COLUMNS`).
    attribute : str
        The groups' attribute (legend title and colours).
    title : str, optional
    groups : sequence of str, optional
        Order of the groups side by side within a configuration (default: as they come).
    colours : mapping, optional
        Group to colour (default :func:`core.common.palette.group_colours` of ``attribute``).

    Returns
    -------
    plotly.graph_objects.Figure
        One trace of seed points and one of means per group (legend: the
        means, the points follow them); each seed point's ``customdata`` is
        ``[group, configuration, seed]``.

    Raises
    ------
    ValueError
        ``spread`` lacks the columns of :func:`group_seed_spread`.
    """
    missing = [c for c in GROUP_SPREAD_COLUMNS if c not in getattr(spread, "columns", ())]
    if missing:
        raise ValueError(f"spread must be group_seed_spread's table, received one without columns {missing}")
    present = list(dict.fromkeys(spread["group"]))
    chosen = [g for g in (groups or []) if g in present]
    order = chosen + [g for g in present if g not in chosen]
    colours = dict(colours) if colours is not None else group_colours(attribute, order)
    labels = _labels(spread)
    positions = {sg: i for i, sg in enumerate(labels)}
    width = 0.8 / max(len(order), 1)
    rng = np.random.default_rng(0)  # a fixed small jitter so seeds with equal values stay visible
    fig = go.Figure()
    for j, g in enumerate(order):
        rows = spread[spread["group"] == g]
        colour = colours.get(g) or group_colours(attribute, [g])[g]
        offset = (j - (len(order) - 1) / 2) * width
        xs, ys, custom, hover = [], [], [], []
        for _, r in rows.iterrows():
            x0 = positions[r["seed_group"]] + offset
            jitter = rng.uniform(-0.25, 0.25, len(r["values"])) * width
            for seed, v, dx in zip(r["seeds"], r["values"], jitter):
                xs.append(x0 + dx)
                ys.append(100 * v)
                custom.append([g, r["configuration"], int(seed)])
                hover.append(f"{r['configuration']}<br>{g}, seed {seed}: {100 * v:.1f}%")
        fig.add_scatter(x=xs, y=ys, mode="markers", name=g, legendgroup=g, showlegend=False, customdata=custom,
                        marker={"color": colour, "size": 7, "opacity": 0.55, "line": {"width": 0}},
                        hovertext=hover, hoverinfo="text")
        sds = [0.0 if pd.isna(s) else 100 * s for s in rows["sd"]]
        fig.add_scatter(x=[positions[sg] + offset for sg in rows["seed_group"]], y=100 * rows["mean"].to_numpy(),
                        mode="markers", name=g, legendgroup=g,
                        marker={"color": colour, "size": 13, "symbol": "diamond", "line": {"width": 1,
                                                                                             "color": "#222"}},
                        error_y={"type": "data", "array": sds, "thickness": 1.6, "width": 6, "color": colour},
                        hovertext=[f"{c}<br>{g}: mean {100 * m:.1f}% over {n} seed{'s' if n != 1 else ''}"
                                   + (f", sd {100 * s:.1f} points" if pd.notna(s) else " (one seed: no sd)")
                                   for c, m, n, s in zip(rows["configuration"], rows["mean"], rows["n_seeds"],
                                                         rows["sd"])], hoverinfo="text")
    fig.update_layout(yaxis_title="accuracy (%)", legend_title_text=attribute,
                      annotations=[{"text": SEED_NOTE, "xref": "paper", "yref": "paper", "x": 0, "y": 1.02,
                                    "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                                    "font": {"size": 11, "color": "#555"}}])
    fig.update_xaxes(tickvals=list(positions.values()), ticktext=list(labels.values()),
                     range=[-0.6, len(positions) - 0.4], showgrid=False, zeroline=False)
    paper_layout(fig, title if title is not None else f"Accuracy per {attribute} group across training seeds",
                 top=95)
    return fig
