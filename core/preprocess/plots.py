"""Plotly figure of the preprocessing audit (no Streamlit here).

:func:`retention_figure`: the share of annotation rows of each group that
reaches each stage (:data:`core.preprocess.STAGES`), with the person-cluster
95 % interval as whiskers; several audits (detectors) side by side, and the
seed's published test split as a reference. Groups have their colours from
:func:`core.common.palette.group_colours` (the seed's bars too, cross-hatched); audits
are told apart by pattern.
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd
import plotly.graph_objects as go

from ..common.figure_style import paper_layout
from ..common.palette import MISSING_COLOUR, group_colours
from ._audit import STAGE_LABELS, STAGES, retention_by_stage, seed_reference_audit

#: Name of the reference bar trace (the seed paper's test split, kept stage only).
SEED_TRACE = "seed paper (test split)"


def retention_figure(audits: Mapping[str, pd.DataFrame], split: str, by: str = "race",
                     include_seed: bool = True) -> go.Figure:
    """Retention (share of annotation rows reaching each stage) by group and stage, with 95% CI whiskers.

    Parameters
    ----------
    audits : mapping of str to pandas.DataFrame
        Audits from :func:`core.preprocess.compute_audit` by a readable label
        (e.g. one per detector).
    split : str
        Split to show (``"All"``: every split together).
    by : str
        Grouping column, ``"race"`` or ``"gender"``.
    include_seed : bool
        Add the seed's published test-split retention by race (Wilson
        interval) when ``split`` is ``"test"`` and ``by`` is ``"race"``.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar group per stage (x: :data:`core.preprocess.STAGE_LABELS`), one
        bar trace per (audit, group), named ``"<group> (<label>)"`` when there
        are several audits, else ``"<group>"``; whiskers are the
        cluster-bootstrap-over-persons interval (``ci_low``/``ci_high``).

    Raises
    ------
    ValueError
        No audit given, or an audit without the ``by`` column.
    """
    if not audits:
        raise ValueError("retention_figure needs at least one audit; received none")
    fig = go.Figure()
    values = {str(v) for audit in audits.values() if by in audit.columns for v in audit[by].dropna().unique()}
    colours = group_colours(by, values)
    patterns = dict(zip(audits, ("", "/", ".", "x", "\\", "+", "-", "|")))
    for label, audit in audits.items():
        for group, g in retention_by_stage(audit, by, split).groupby(by):
            g = g.set_index("stage").reindex(list(STAGES)).dropna(subset=["rate"])
            name = f"{group} ({label})" if len(audits) > 1 else str(group)
            fig.add_bar(x=[STAGE_LABELS[s] for s in g.index], y=g["rate"], name=name,
                        marker_color=colours.get(str(group), MISSING_COLOUR),
                        marker_pattern_shape=patterns.get(label, ""),
                        error_y={"type": "data", "symmetric": False, "array": (g["ci_high"] - g["rate"]).clip(0),
                                 "arrayminus": (g["rate"] - g["ci_low"]).clip(0)},
                        customdata=g[["n_reached", "n_rows", "n_persons"]].to_numpy(),
                        hovertemplate="%{x}: %{y:.1%} (%{customdata[0]}/%{customdata[1]} rows, "
                                      "%{customdata[2]} persons)<extra>" + name + "</extra>")
    if include_seed and split == "test" and by == "race":
        ref = seed_reference_audit()
        fig.add_bar(x=[f"kept (seed)<br>{r}" for r in ref["race"]], y=ref["rate"], name=SEED_TRACE,
                    marker_color=[group_colours(by, [*values, *map(str, ref["race"])])[str(r)] for r in ref["race"]],
                    marker_pattern_shape="x",
                    error_y={"type": "data", "symmetric": False, "array": ref["wilson_high"] - ref["rate"],
                             "arrayminus": ref["rate"] - ref["wilson_low"]},
                    customdata=ref[["n_reached", "n_rows"]].to_numpy(),
                    hovertemplate="%{x}: %{y:.1%} (%{customdata[0]}/%{customdata[1]} rows, Wilson CI)<extra></extra>")
    fig.update_layout(barmode="group", yaxis_tickformat=".0%", yaxis_range=[0, 1.05], height=440,
                      yaxis_title="share of annotation rows", legend_title=by,
                      margin={"l": 10, "r": 10, "b": 10})
    where = "every split" if split == "All" else f"the {split} split"
    return paper_layout(fig, f"Share of annotation rows of each {by} group reaching each stage ({where})", top=70)
