"""Composition figures of a dataset's manifest (the Data page; no Streamlit here).

* :func:`label_counts_figure`: samples per emotion and group, one panel per split.
* :func:`group_sizes_figure`: samples and distinct persons per group and split;
  without person ids there is no persons panel, and the figure says why.
* :func:`yaw_figure`: head yaw per group.

Groups are coloured by :func:`core.common.palette.group_colours` over every value of
the attribute in the dataset; splits are greys told apart by pattern
(:data:`core.common.palette.SPLIT_STYLE`). Panel titles are words ("Train split").
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ...common.figure_style import paper_layout
from ..labels import EMOTIONS
from ..manifest import SPLITS
from ...common.palette import MEASURE_COLOUR, display_order, group_colours, split_style

#: Why a dataset has no persons panel.
NO_PERSONS_NOTE = ("No person ids in this dataset: group sizes are counted in samples only, and intervals treat "
                   "samples as independent.")


def _grouped(df: pd.DataFrame, group: str | None) -> pd.Series:
    if group is None:
        return pd.Series("all samples", index=df.index)
    if group not in df.columns:
        raise ValueError(f"group must be a column of the manifest; received {group!r}, columns {list(df.columns)}")
    return df[group].astype(str).where(df[group].notna(), "(missing)")


def _splits(df: pd.DataFrame) -> list[str]:
    present = set(df["split"].astype(str))
    return [s for s in SPLITS if s in present] + sorted(present - set(SPLITS))


def _check(df: pd.DataFrame) -> None:
    missing = [c for c in ("split", "label", "sample_id") if c not in df.columns]
    if missing:
        raise ValueError(f"manifest lacks column(s) {missing}; has {list(df.columns)}")


def label_counts_figure(df: pd.DataFrame, group: str | None) -> go.Figure:
    """Samples per emotion (x) and group (colour), one panel per split titled in words.

    Without emotion labels the x axis is the group. ``group=None`` draws one
    neutral series with no legend.

    Raises
    ------
    ValueError
        ``df`` lacks ``split``, ``label`` or ``sample_id``, or ``group`` is not a column.
    """
    _check(df)
    g = _grouped(df, group)
    splits = _splits(df)
    has_labels = df["label"].notna().any()
    colours = group_colours(group, g.unique()) if group else {"all samples": MEASURE_COLOUR}
    order = display_order(colours)
    fig = make_subplots(rows=1, cols=len(splits), shared_yaxes=False, horizontal_spacing=0.06,
                        subplot_titles=[f"{s.capitalize()} split ({int((df['split'] == s).sum()):,} samples)"
                                        for s in splits])
    d = df.assign(_g=g)
    for col, split in enumerate(splits, start=1):
        part = d[d["split"] == split]
        for name in order:
            sub = part[part["_g"] == name]
            if has_labels:
                counts = sub["label"].value_counts().reindex(list(EMOTIONS), fill_value=0)
                x, y = list(EMOTIONS), counts.to_numpy()
            else:
                x, y = [name], [len(sub)]
            fig.add_bar(x=x, y=y, name=name, legendgroup=name, showlegend=bool(group) and col == 1,
                        marker_color=colours[name], row=1, col=col,
                        hovertemplate=f"{name}<br>" + "%{x}: %{y} samples<extra></extra>")
    what = f"{group}" if group else "dataset"
    title = (f"Samples per emotion and {what}, by split" if has_labels
             else f"Samples per {what} group, by split (no emotion labels)")
    fig.update_layout(barmode="group", legend_title_text=group or "", height=420)
    fig.update_yaxes(title_text="samples", row=1, col=1)
    fig.update_xaxes(tickfont={"size": 10})
    return paper_layout(fig, title)


def group_sizes_figure(df: pd.DataFrame, group: str | None) -> go.Figure:
    """Samples and distinct persons per group (x) and split (greys with patterns), one panel per measure.

    Without person ids only the samples panel is drawn, with
    :data:`NO_PERSONS_NOTE` written under the title.

    Raises
    ------
    ValueError
        ``df`` lacks ``split``, ``label`` or ``sample_id``, or ``group`` is not a column.
    """
    _check(df)
    d = df.assign(_g=_grouped(df, group))
    has_persons = "person" in d.columns and d["person"].notna().any()
    measures = [("samples", "Samples")] + ([("persons", "Distinct persons")] if has_persons else [])
    agg = {"samples": ("sample_id", "size")} | ({"persons": ("person", "nunique")} if has_persons else {})
    sizes = d.groupby(["split", "_g"]).agg(**agg).reset_index()
    order = display_order(d["_g"].unique())
    fig = make_subplots(rows=1, cols=len(measures), subplot_titles=[t for _, t in measures],
                        horizontal_spacing=0.08)
    for col, (measure, _) in enumerate(measures, start=1):
        for split in _splits(d):
            part = sizes[sizes["split"] == split].set_index("_g").reindex(order)
            grey, pattern = split_style(split)
            fig.add_bar(x=order, y=part[measure].fillna(0).to_numpy(), name=f"{split} split", legendgroup=split,
                        showlegend=col == 1, marker_color=grey, marker_pattern_shape=pattern,
                        marker_line={"color": "#222", "width": 0.6}, row=1, col=col,
                        hovertemplate=f"{split} split<br>" + "%{x}: %{y} " + measure + "<extra></extra>")
        fig.update_yaxes(title_text=measure, row=1, col=col)
    what = group or "dataset"
    fig.update_layout(barmode="group", legend_title_text="split", height=420)
    if not has_persons:
        fig.add_annotation(text=NO_PERSONS_NOTE, xref="paper", yref="paper", x=0, y=1.08, xanchor="left",
                           yanchor="bottom", showarrow=False, font={"size": 12, "color": "#8a4b00"})
    return paper_layout(fig, f"Size of each {what} group: samples" + (" and distinct persons" if has_persons
                                                                      else " (no person ids)"), top=110)


def yaw_figure(df: pd.DataFrame, group: str | None, nbins: int = 36) -> go.Figure:
    """Histogram of head yaw in degrees per group (overlaid, same colours as the other figures).

    Raises
    ------
    ValueError
        ``df`` has no ``yaw`` column, or ``group`` is not a column.
    """
    if "yaw" not in df.columns:
        raise ValueError(f"yaw_figure needs a yaw column; has {list(df.columns)}")
    g = _grouped(df, group)
    colours = group_colours(group, g.unique()) if group else {"all samples": MEASURE_COLOUR}
    fig = go.Figure()
    for name in display_order(colours):
        fig.add_histogram(x=df.loc[g == name, "yaw"], name=name, marker_color=colours[name], nbinsx=nbins,
                          opacity=0.75 if group else 1.0, showlegend=bool(group))
    fig.update_layout(barmode="overlay", xaxis_title="yaw (degrees)", yaxis_title="samples",
                      legend_title_text=group or "", height=380)
    return paper_layout(fig, "Head yaw (0 is frontal, ±90 full profile)")
