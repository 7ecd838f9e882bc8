"""Plotly figures shared by the pages and the HTML report (no Streamlit here)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..common.figure_style import fixed_margins, paper_layout, wrap_text
from ..common.label_layout import CHAR_EM, place_labels, text_size, to_pixels
from ..data.labels import EMOTIONS
from ..common.palette import MEASURE_COLOUR, OUTCOME_STYLE, group_colours
from .results import CHANCE, ConfigResult
from .sets import CHANCE_STATUS, one_set, set_tradeoff_table

#: Under the confusion matrix's title: what its numbers and colours are.
CONFUSION_SUBTITLE = "number: faces · colour: share of the true class"
FLAG_NOTE = ("hatched / = fewer persons (or samples) than the minimum: interval unreliable; "
             "crossed x = all from one clip or video")
TRADEOFF_NOTE = ("open marker: beaten only on point estimates, intervals overlap (indistinguishable); x: beaten on "
                 "both axes with non-overlapping intervals; grey x: not better than chance, off the front. Only "
                 "points on the front are labelled: hover for the others.")


def wrap_name(name: str, width: int = 22) -> str:
    """Break a long configuration name into ``<br>``-separated lines for axis labels."""
    return wrap_text(name, width)


def _note(text: str, y: float = 1.02) -> dict:
    """A small wrapped note just above the plot area (below the title)."""
    return {"text": wrap_text(text, 130, 3), "xref": "paper", "yref": "paper", "x": 0, "y": y, "xanchor": "left",
            "yanchor": "bottom", "align": "left", "showarrow": False, "font": {"size": 11, "color": "#555"}}


def axis_label(name: str, width: int = 22) -> str:
    """An axis label that keeps a display name's ``short id · date`` tail whole (so labels stay distinct)."""
    label, sep, tail = str(name).partition(" · ")
    if not sep:
        return wrap_name(name, width)
    head = wrap_name(label, width).split("<br>")
    return "<br>".join(head[:2]) + ("…" if len(head) > 2 else "") + f"<br>{tail}"


def _distinct(labels: list[str]) -> list[str]:
    """Make axis labels unique (plotly merges bars with equal x) by numbering repeats."""
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def group_order(results: Sequence[ConfigResult]) -> list[str]:
    """Groups of all results in order of appearance (one colour per group across side-by-side figures)."""
    groups: list[str] = []
    for r in results:
        if r.report is not None:
            groups += [g for g in r.report.table.index if g not in groups]
    return groups


def group_accuracy_figure(results: Sequence[ConfigResult], title: str = "Accuracy per group",
                          groups: Sequence[str] | None = None, attribute: str | None = None,
                          colours: Mapping[str, str] | None = None) -> go.Figure:
    """Grouped bars of group accuracy (%) per configuration with CI whiskers (the seed's Figures 8 and 9).

    Flagged groups (few persons) are hatched, groups from one clip or video
    crossed; hover shows the interval, n samples, persons and clips. ``groups``
    fixes the order (e.g. :func:`group_order` of every facet); colours come
    from :func:`core.common.palette.group_colours` of ``attribute`` over ``groups``
    unless ``colours`` gives them. Each bar's ``customdata`` is ``[group,
    configuration name]``, so a click on it names the group. Tick labels are
    horizontal, wrapped narrower when there are many configurations.
    """
    fig = go.Figure()
    with_groups = [r for r in results if r.report is not None and len(r.report.table)]
    groups = list(groups) if groups is not None else group_order(with_groups)
    colours = dict(colours) if colours is not None else group_colours(attribute, groups)
    width = 22 if len(with_groups) <= 4 else 14 if len(with_groups) <= 7 else 9
    xlabel = dict(zip((id(r) for r in with_groups), _distinct([axis_label(r.name, width) for r in with_groups])))
    for g in groups:
        if not any(g in r.report.table.index for r in with_groups):
            continue
        xs, ys, lo, hi, pattern, hover, custom = [], [], [], [], [], [], []
        for r in with_groups:
            if g not in r.report.table.index:
                continue
            row = r.report.table.loc[g]
            acc = 100 * float(row["accuracy"])
            xs.append(xlabel[id(r)])
            custom.append([g, r.name])
            ys.append(acc)
            lo.append(max(0.0, acc - 100 * float(row["ci_low"])) if pd.notna(row["ci_low"]) else 0.0)
            hi.append(max(0.0, 100 * float(row["ci_high"]) - acc) if pd.notna(row["ci_high"]) else 0.0)
            one_clip = row.get("one_clip") is True or row.get("one_clip") == 1
            pattern.append("x" if one_clip else "/" if bool(row["low_n"]) else "")
            persons, clips = row.get("n_persons"), row.get("n_clips")
            hover.append(f"{g}: {acc:.1f}% [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]<br>"
                         f"{int(row['n_samples'])} frames" + (f", {int(persons)} persons" if pd.notna(persons) else "")
                         + (f", {int(clips)} clips" if clips is not None and pd.notna(clips) else "")
                         + ("<br>⚠ few persons/samples" if row["low_n"] else "")
                         + ("<br>⚠ one clip or video" if one_clip else "") + f"<br>{row['ci_method']}")
        fig.add_bar(name=g, x=xs, y=ys, marker_color=colours.get(g, group_colours(attribute, [g])[g]),
                    marker_pattern_shape=pattern, customdata=custom,
                    error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo, "thickness": 1.2,
                             "color": "#444"},
                    hovertext=hover, hoverinfo="text")
    fig.update_layout(barmode="group", yaxis_title="accuracy (%)", yaxis_range=[0, 100],
                      legend_title_text=attribute or "group", annotations=[_note(FLAG_NOTE)])
    paper_layout(fig, title, top=110)
    if with_groups:
        fig.add_hline(y=100 * CHANCE, line_dash="dot", line_color="grey", annotation_text="chance (1/7)",
                      annotation_position="top right")
    return fig


#: The scatter's plot area at its export size (:data:`~core.common.figure_style.PAPER_SIZE`, legend on the
#: right), in pixels: its point labels are laid out for it (drawn wider, the points only move apart).
SCATTER_PLOT_PX = (500, 300)
_MARKER_RADIUS_PX, _LABEL_FONT = 7.0, 10  # a size-11 diamond's half width, with a pixel to spare


def _padded(values: Sequence[np.ndarray], pad: float = 0.04) -> tuple[float, float]:
    """The range of the finite ``values`` widened by ``pad`` of its span on each side (1 unit when flat)."""
    v = np.concatenate([np.asarray(a, float).ravel() for a in values])
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    margin = (hi - lo) * pad if hi > lo else 1.0
    return lo - margin, hi + margin


def _front_labels(t: pd.DataFrame, points: np.ndarray, std: np.ndarray, chance_y: float,
                  max_names: int = 3) -> tuple[dict, dict, list[str]]:
    """Labels of the front's points only, and where each goes so that none covers a label or a marker.

    Names when there are at most ``max_names`` front points and their names fit, else numbers and a key.
    Each label goes to the first free place around its point (:func:`core.common.label_layout.place_labels`
    on the plot area :data:`SCATTER_PLOT_PX`), upper left first (the empty side of a front that rises to the
    right), the leftmost point's upper right; where even numbers fit nowhere, those first choices.
    """
    front = np.flatnonzero((t["status"] == "front").to_numpy())
    rows = [int(i) for i in front[np.argsort(std[front], kind="stable")]]
    names = [t.index[i] for i in rows]
    preferred = ["top right" if k == 0 else "top left" for k in range(len(names))]
    width, height = SCATTER_PLOT_PX
    chance_label = (width - 14 * _LABEL_FONT * CHAR_EM, chance_y - 2 * _LABEL_FONT, width, chance_y)  # above it
    placed = None
    for numbered in ([False, True] if len(names) <= max_names else [True]):
        labels = {n: str(k + 1) if numbered else axis_label(n, 18) for k, n in enumerate(names)}
        placed = place_labels(points, rows, [text_size(labels[n], _LABEL_FONT) for n in names], width, height,
                              _MARKER_RADIUS_PX, preferred, keep_clear=[chance_label])
        if placed is not None:
            break
    positions = dict(zip(names, placed or preferred))
    key = [f"{k + 1} = {n}" for k, n in enumerate(names)] if numbered else []
    return labels, positions, key


def tradeoff_figure(results: Sequence[ConfigResult], title: str = "Overall accuracy vs group disparity") -> go.Figure:
    """Overall accuracy (%) against the corrected std of group accuracies (%), with CIs, and the Pareto status.

    ``results`` must come from ONE evaluation set (:func:`core.evaluation.sets.group_by_set`).
    Statuses come from :func:`core.evaluation.sets.set_tradeoff_table`: on the front,
    indistinguishable from it given the intervals (open markers), clearly dominated
    (faded crosses), and results not better than chance (grey crosses, never on the front).

    Raises
    ------
    ValueError
        Results from more than one evaluation set.
    """
    one_set(results)
    t = set_tradeoff_table([r for r in results if r.report is not None])
    t = t[np.isfinite(t["std"].astype(float)) & np.isfinite(t["accuracy"].astype(float))]
    fig = go.Figure()
    if t.empty:
        return paper_layout(fig, title + " (needs at least two groups per configuration)")
    acc, std = 100 * t["accuracy"].to_numpy(float), 100 * t["std"].to_numpy(float)
    # explicit ranges (what autorange gives: points, intervals and the chance line), so labels can be laid out
    x_range = _padded([std, 100 * t["std_ci_low"].to_numpy(float), 100 * t["std_ci_high"].to_numpy(float)])
    y_range = _padded([acc, 100 * t["accuracy_ci_low"].to_numpy(float),
                       100 * t["accuracy_ci_high"].to_numpy(float), np.array([100 * CHANCE])])
    points = to_pixels(std, acc, x_range, y_range, *SCATTER_PLOT_PX)
    chance_y = float(to_pixels([x_range[0]], [100 * CHANCE], x_range, y_range, *SCATTER_PLOT_PX)[0, 1])
    labels, positions, key = _front_labels(t, points, std, chance_y)
    style = {"front": ("", 1.0, None), "indistinguishable": ("-open", 0.9, None), "dominated": ("", 0.35, None),
             CHANCE_STATUS: ("", 0.8, "grey")}
    for kind, symbol in (("reference", "diamond"), ("run", "circle")):
        for status, (suffix, opacity, color) in style.items():
            idx = np.flatnonzero((t["kind"] == kind).to_numpy() & (t["status"] == status).to_numpy())
            if not idx.size:
                continue
            sub = t.iloc[idx]
            who = "published (Chen 2024)" if kind == "reference" else "runs"
            name = f"{who}: {status}" + (" (off the front)" if status == CHANCE_STATUS else "")
            marker: dict = {"size": 11, "color": color or (MEASURE_COLOUR if kind == "run" else "#7A7A7A")}
            crosses = status in ("dominated", CHANCE_STATUS)
            fig.add_scatter(
                x=std[idx], y=acc[idx], mode="markers+text", name=name, opacity=opacity,
                marker_symbol="x-thin-open" if status == CHANCE_STATUS else "x" if crosses else symbol + suffix,
                text=[labels.get(n, "") for n in sub.index], textposition=[positions.get(n, "top center")
                                                                           for n in sub.index],
                textfont={"size": 10}, marker=marker, cliponaxis=False,
                error_x={"type": "data", "symmetric": False,
                         "array": np.maximum(0.0, 100 * sub["std_ci_high"].to_numpy(float) - std[idx]),
                         "arrayminus": np.maximum(0.0, std[idx] - 100 * sub["std_ci_low"].to_numpy(float)),
                         "thickness": 0.8, "color": "rgba(120,120,120,0.45)"},
                error_y={"type": "data", "symmetric": False,
                         "array": np.maximum(0.0, 100 * sub["accuracy_ci_high"].to_numpy(float) - acc[idx]),
                         "arrayminus": np.maximum(0.0, acc[idx] - 100 * sub["accuracy_ci_low"].to_numpy(float)),
                         "thickness": 0.8, "color": "rgba(120,120,120,0.45)"},
                hovertext=[f"{n}<br>accuracy {100 * row['accuracy']:.1f}% "
                           f"[{100 * row['accuracy_ci_low']:.1f}, {100 * row['accuracy_ci_high']:.1f}]"
                           f"<br>std ({row['std_kind']}) {100 * row['std']:.2f} "
                           f"[{100 * row['std_ci_low']:.2f}, {100 * row['std_ci_high']:.2f}] points"
                           f"<br>raw std {100 * row['std_raw']:.2f}<br>{status}"
                           + ("<br>its accuracy interval includes chance (14.3%)" if status == CHANCE_STATUS else "")
                           + (f"<br>⚠ few persons/samples in: {', '.join(row['flagged_groups'])}"
                              if row["flagged_groups"] else "") for n, row in sub.iterrows()], hoverinfo="text")
    front = (t["status"] == "front").to_numpy()
    order = np.argsort(std[front])
    fig.add_scatter(x=std[front][order], y=acc[front][order], mode="lines", name="Pareto front",
                    line={"dash": "dash", "color": "black"}, hoverinfo="skip")
    kinds = set(t["std_kind"])
    fig.update_layout(xaxis_title="std of group accuracies, corrected for sampling noise "
                      "(percentage points, lower is fairer)" if kinds == {"corrected"} else
                      "std of group accuracies (percentage points; raw where no corrected value)",
                      yaxis_title="overall accuracy (%)", annotations=[_note(TRADEOFF_NOTE)])
    if key:  # under the legend, right of the plot
        fig.add_annotation(text="<b>Pareto front</b><br>" + "<br>".join(wrap_text(k, 30, 2) for k in key),
                           xref="paper", yref="paper", x=1.02, y=0.62, xanchor="left", yanchor="top", align="left",
                           showarrow=False, font={"size": 11})
    paper_layout(fig, title, top=120)
    fig.update_layout(height=520, xaxis_range=list(x_range), yaxis_range=list(y_range))
    fig.add_hline(y=100 * CHANCE, line_dash="dot", line_color="grey", annotation_text="chance (1/7)",
                  annotation_position="top right")
    return fig


def confusion_figure(cm: pd.DataFrame, title: str = "Confusion matrix", height: int = 440) -> go.Figure:
    """Confusion matrix heatmap: colour is the share of the true class's samples, text the count.

    The colour is said under the title (no colour bar, which would take a third of
    a narrow column). The Misclassified faces page shows this figure as SVG
    (:func:`core.common.svg_heatmap.heatmap_svg`), whose cells it makes clickable;
    the figure itself is what its exports give.
    """
    cm = cm.reindex(index=list(EMOTIONS), columns=list(EMOTIONS), fill_value=0)
    rows = cm.to_numpy(dtype=float)
    totals = rows.sum(axis=1, keepdims=True)
    share = np.divide(rows, totals, out=np.zeros_like(rows), where=totals > 0)
    fig = go.Figure(go.Heatmap(z=share, x=list(EMOTIONS), y=list(EMOTIONS), text=rows.astype(int),
                               texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
                               hovertemplate="true %{y} → predicted %{x}: %{text} samples<extra></extra>",
                               showscale=False))  # the title says what the colour is: the matrix keeps the width
    fig.update_layout(height=height, xaxis_title="predicted", yaxis_title="true",
                      xaxis={"type": "category", "tickmode": "array", "tickvals": list(EMOTIONS)},
                      yaxis={"autorange": "reversed", "type": "category", "tickmode": "array",
                             "tickvals": list(EMOTIONS)},
                      dragmode=False)
    paper_layout(fig, title, top=80)
    # seven names under narrow cells: slanted, never clipped. They are always the seven emotions, so the margins
    # that fit them are fixed: Plotly's automargin draws a chart twice (measure, then redraw), which tripled the
    # browser's time for this matrix.
    fig.update_xaxes(tickangle=-45, tickfont={"size": 11}, automargin=False)
    fig.update_yaxes(automargin=False)
    fig.update_layout(margin={"l": 90, "r": 16, "b": 85, "t": 96},
                      title_subtitle={"text": CONFUSION_SUBTITLE, "font": {"size": 11}})
    return fig


def error_rate_figure(table: pd.DataFrame, row_title: str, col_title: str,
                      title: str = "Error rate") -> go.Figure:
    """Heatmap of ``error_rate`` (%) from :func:`core.evaluation.explore.error_rate_table` with n in each cell."""
    if table.empty:
        return paper_layout(go.Figure(), title + " (no data)")
    rate = table.pivot(index="row", columns="col", values="error_rate") * 100
    rate = rate.reindex(index=list(pd.unique(table["row"])), columns=list(pd.unique(table["col"])))
    text = table.assign(t=[f"{100 * e:.0f}% [{100 * lo:.0f}-{100 * hi:.0f}]<br>n={n}"
                           + (f", {p}p" if pd.notna(p) else "") + (" ⚠" if f else "")
                           for e, lo, hi, n, p, f in zip(table["error_rate"], table["ci_low"], table["ci_high"],
                                                          table["n_samples"], table["n_persons"], table["low_n"])])
    text = text.pivot(index="row", columns="col", values="t").reindex(index=rate.index, columns=rate.columns)
    fig = go.Figure(go.Heatmap(z=rate.to_numpy(), x=[str(c) for c in rate.columns], y=[str(r) for r in rate.index],
                               text=text.fillna("").to_numpy(), texttemplate="%{text}", colorscale="Reds", zmin=0,
                               zmax=100, colorbar={"title": "error %"}))
    fig.update_layout(xaxis_title=col_title, yaxis_title=row_title)
    # the labels are known here: fitted margins draw the chart once in the browser (automargin draws it twice)
    return fixed_margins(paper_layout(fig, title), rate.index, rate.columns)


def outcome_figure(aligned: pd.DataFrame, groups: pd.Series | None, name_a: str, name_b: str,
                   min_persons: int = 5) -> go.Figure:
    """Stacked shares of both right / only A right / only B right / both wrong, per group (Figures 10 and 11).

    Groups with fewer than ``min_persons`` persons (when a ``person`` column exists) are marked ⚠.
    """
    from .compare import OUTCOMES

    g = groups.fillna("(missing)") if groups is not None else pd.Series("all samples", index=aligned.index)
    if "person" in aligned.columns and aligned["person"].notna().any():
        persons = aligned.groupby(g.to_numpy())["person"].nunique()
        labels = {v: f"{v} ⚠ {persons[v]}p" if persons.get(v, 0) < min_persons else v for v in persons.index}
        g = g.map(labels)  # a label per group, not per row
    counts = (pd.DataFrame({"g": g.to_numpy(), "o": aligned["outcome"].to_numpy()}).value_counts()
              .unstack(fill_value=0).reindex(columns=list(OUTCOMES), fill_value=0).sort_index())
    share = counts.div(counts.sum(axis=1), axis=0) * 100
    fig = go.Figure()
    for o in OUTCOMES:
        label = o.replace("A", name_a).replace("B", name_b) if o.startswith("only") else o
        colour, pattern = OUTCOME_STYLE[o]
        fig.add_bar(name=label, x=[str(i) for i in share.index], y=share[o], marker_color=colour,
                    marker_pattern_shape=pattern, marker_line={"color": "#222", "width": 0.6}, customdata=counts[o],
                    hovertemplate="%{x}: %{y:.1f}% (%{customdata} samples)<extra></extra>")
    fig.update_layout(barmode="stack", yaxis_title="% of samples", legend_title_text="outcome")
    return paper_layout(fig, "Paired outcomes per group")


def finding_figure(groups: Mapping[str, Mapping[str, float]], attribute: str | None = None,
                   title: str = "Accuracy per group") -> go.Figure:
    """Bars of one run's accuracy (%) per group with interval whiskers and the chance line.

    Parameters
    ----------
    groups : mapping
        Group name -> ``{"accuracy", "ci_low", "ci_high"}`` as fractions (e.g.
        :func:`core.training.demo_study.finding`'s ``groups``).
    attribute : str, optional
        The groups' attribute (their colours, :func:`core.common.palette.group_colours`).
    title : str
        Figure title.
    """
    names = list(groups)
    colours = group_colours(attribute, names)
    acc = [100 * float(groups[g]["accuracy"]) for g in names]
    fig = go.Figure(go.Bar(
        x=names, y=acc, text=[f"{a:.1f}%" for a in acc], textposition="inside", insidetextanchor="start",
        marker_color=[colours[g] for g in names], customdata=[[g] for g in names],
        error_y={"type": "data", "symmetric": False, "color": "#444",
                 "array": [100 * float(groups[g]["ci_high"]) - a for g, a in zip(names, acc)],
                 "arrayminus": [a - 100 * float(groups[g]["ci_low"]) for g, a in zip(names, acc)]}))
    fig.add_hline(y=100 * CHANCE, line_dash="dot", line_color="grey")
    fig.update_layout(height=340, yaxis={"title": "test accuracy (%)", "range": [0, 100]}, showlegend=False)
    return paper_layout(fig, title, top=70)
