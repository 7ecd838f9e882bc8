"""Plotly figures shared by the pages and the HTML report (no Streamlit here)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..labels import EMOTIONS
from .results import CHANCE, ConfigResult
from .sets import front_eligible, one_set, set_front

FLAG_NOTE = "hatched = fewer persons (or samples) than the minimum: interval unreliable"
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")


def wrap_name(name: str, width: int = 22) -> str:
    """Break a long configuration name into ``<br>``-separated lines for axis labels."""
    words, lines, cur = str(name).split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "<br>".join(lines[:3]) + ("…" if len(lines) > 3 else "")


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


def group_accuracy_figure(results: Sequence[ConfigResult], title: str = "Accuracy per group") -> go.Figure:
    """Grouped bars of group accuracy (%) per configuration with CI whiskers (the seed's Figures 8 and 9).

    Flagged groups (few persons) are hatched; hover shows the interval, n samples and n persons.
    """
    fig = go.Figure()
    with_groups = [r for r in results if r.report is not None and len(r.report.table)]
    groups: list[str] = []
    for r in with_groups:
        groups += [g for g in r.report.table.index if g not in groups]
    xlabel = dict(zip((id(r) for r in with_groups), _distinct([axis_label(r.name) for r in with_groups])))
    for k, g in enumerate(groups):
        xs, ys, lo, hi, pattern, hover = [], [], [], [], [], []
        for r in with_groups:
            if g not in r.report.table.index:
                continue
            row = r.report.table.loc[g]
            acc = 100 * float(row["accuracy"])
            xs.append(xlabel[id(r)])
            ys.append(acc)
            lo.append(max(0.0, acc - 100 * float(row["ci_low"])) if pd.notna(row["ci_low"]) else 0.0)
            hi.append(max(0.0, 100 * float(row["ci_high"]) - acc) if pd.notna(row["ci_high"]) else 0.0)
            pattern.append("/" if bool(row["low_n"]) else "")
            persons = row.get("n_persons")
            hover.append(f"{g}: {acc:.1f}% [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]<br>"
                         f"{int(row['n_samples'])} frames" + (f", {int(persons)} persons" if pd.notna(persons) else "")
                         + ("<br>⚠ few persons/samples" if row["low_n"] else "") + f"<br>{row['ci_method']}")
        fig.add_bar(name=g, x=xs, y=ys, marker_color=_PALETTE[k % len(_PALETTE)], marker_pattern_shape=pattern,
                    error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo, "thickness": 1.2},
                    hovertext=hover, hoverinfo="text")
    fig.update_layout(barmode="group", title=title, yaxis_title="accuracy (%)", yaxis_range=[0, 100],
                      xaxis_tickangle=0 if len(with_groups) <= 5 else -35, xaxis_automargin=True,
                      legend_title_text="group", margin={"t": 80, "b": 100},
                      annotations=[{"text": FLAG_NOTE, "xref": "paper", "yref": "paper", "x": 0, "y": 1.06,
                                    "xanchor": "left", "showarrow": False, "font": {"size": 11}}])
    if with_groups:
        fig.add_hline(y=100 * CHANCE, line_dash="dot", line_color="grey", annotation_text="chance (1/7)",
                      annotation_position="top right")
    return fig


def tradeoff_figure(results: Sequence[ConfigResult], title: str = "Overall accuracy vs group disparity") -> go.Figure:
    """Overall accuracy (%) against the std of group accuracies (%), both with CIs, and the Pareto front.

    ``results`` must come from ONE evaluation set (:func:`core.evaluation.sets.group_by_set`);
    results not better than chance are drawn as grey crosses and are never on the front.

    Raises
    ------
    ValueError
        Results from more than one evaluation set.
    """
    one_set(results)
    rs = [r for r in results if r.report is not None and np.isfinite(r.report.summary.get("std", np.nan))]
    fig = go.Figure()
    if not rs:
        fig.update_layout(title=title + " (needs at least two groups per configuration)")
        return fig
    acc = np.array([100 * r.overall["accuracy"] for r in rs])
    std = np.array([100 * r.report.summary["std"] for r in rs])
    front = set_front(rs)
    eligible = front_eligible(rs)
    flagged = [list(r.report.summary.get("flagged_groups", [])) for r in rs]
    names = [r.name for r in rs]
    groups_of_points = (("reference", "diamond", "published (Chen 2024)"), ("run", "circle", "runs"))
    for kind, symbol, legend in groups_of_points:
        idx = [i for i, r in enumerate(rs) if r.kind == kind and eligible[i]]
        if idx:
            _points(fig, rs, idx, acc, std, front, flagged, names, legend,
                    [symbol + ("-open" if flagged[i] else "") for i in idx], None, kind == "run")
    chance = [i for i in range(len(rs)) if not eligible[i]]
    if chance:
        _points(fig, rs, chance, acc, std, front, flagged, names, "not better than chance (off the front)",
                ["x-thin-open"] * len(chance), "grey", True)
    order = np.argsort(std[front])
    fig.add_scatter(x=std[front][order], y=acc[front][order], mode="lines", name="Pareto front",
                    line={"dash": "dash", "color": "black"}, hoverinfo="skip")
    fig.update_layout(title=title, xaxis_title="std of group accuracies (percentage points, lower is fairer)",
                      yaxis_title="overall accuracy (%)", margin={"t": 80},
                      annotations=[{"text": "labels: Pareto front and runs; hover for the others; open marker = "
                                            "a group with few persons (its accuracy, hence the std, is unreliable)",
                                    "xref": "paper", "xanchor": "left",
                                    "yref": "paper", "x": 0, "y": 1.06, "showarrow": False, "font": {"size": 11}}])
    fig.add_hline(y=100 * CHANCE, line_dash="dot", line_color="grey", annotation_text="chance (1/7)",
                  annotation_position="bottom right")
    return fig


def _points(fig: go.Figure, rs: Sequence[ConfigResult], idx: list[int], acc: np.ndarray, std: np.ndarray,
            front: np.ndarray, flagged: list[list[str]], names: list[str], legend: str, symbols: list[str],
            color: str | None, label_all: bool) -> None:
    s = [rs[i].report.summary for i in idx]
    marker: dict = {"size": 11}
    if color:
        marker["color"] = color
    fig.add_scatter(
        x=std[idx], y=acc[idx], mode="markers+text", name=legend, marker_symbol=symbols, marker=marker,
        text=[axis_label(names[i]) if front[i] or label_all else "" for i in idx],
        textposition="top center", textfont={"size": 10},
        error_x={"type": "data", "symmetric": False,
                 "array": [max(0.0, 100 * x.get("std_ci_high", np.nan) - std[i]) for x, i in zip(s, idx)],
                 "arrayminus": [max(0.0, std[i] - 100 * x.get("std_ci_low", np.nan)) for x, i in zip(s, idx)],
                 "thickness": 0.8, "color": "rgba(120,120,120,0.45)"},
        error_y={"type": "data", "symmetric": False,
                 "array": [max(0.0, 100 * rs[i].overall["ci_high"] - acc[i]) for i in idx],
                 "arrayminus": [max(0.0, acc[i] - 100 * rs[i].overall["ci_low"]) for i in idx], "thickness": 0.8,
                 "color": "rgba(120,120,120,0.45)"},
        hovertext=[f"{names[i]}<br>accuracy {acc[i]:.1f}%<br>std {std[i]:.2f} points"
                   + ("<br>on the Pareto front" if front[i] else "")
                   + ("<br>not better than chance: its interval includes 14.3%" if not rs[i].better_than_chance
                      else "")
                   + (f"<br>⚠ few persons/samples in: {', '.join(flagged[i])}" if flagged[i] else "")
                   for i in idx], hoverinfo="text")


def confusion_figure(cm: pd.DataFrame, title: str = "Confusion matrix", selected: tuple[str, str] | None = None,
                     height: int = 440) -> go.Figure:
    """Confusion matrix heatmap with a transparent marker on every cell, so a click selects the cell.

    Streamlit cannot select heatmap cells (streamlit#8760), so each cell also
    carries a near-invisible scatter point with ``customdata = [true, pred]``.
    Colour is the share of the true class's samples; text is the count.
    """
    cm = cm.reindex(index=list(EMOTIONS), columns=list(EMOTIONS), fill_value=0)
    rows = cm.to_numpy(dtype=float)
    totals = rows.sum(axis=1, keepdims=True)
    share = np.divide(rows, totals, out=np.zeros_like(rows), where=totals > 0)
    fig = go.Figure(go.Heatmap(z=share, x=list(EMOTIONS), y=list(EMOTIONS), text=rows.astype(int),
                               texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1, hoverinfo="skip",
                               colorbar={"title": "share<br>of true"}))
    xs = [p for _ in EMOTIONS for p in EMOTIONS]
    ys = [t for t in EMOTIONS for _ in EMOTIONS]
    fig.add_scatter(x=xs, y=ys, mode="markers", customdata=[[t, p] for t, p in zip(ys, xs)], showlegend=False,
                    marker={"symbol": "square", "size": 26, "color": "rgba(0,0,0,0.01)"},
                    text=[str(int(v)) for v in rows.ravel()],
                    hovertemplate="true %{y} → predicted %{x}: %{text} samples<br>click to show them<extra></extra>")
    if selected is not None and selected[0] in EMOTIONS and selected[1] in EMOTIONS:
        i, j = list(EMOTIONS).index(selected[0]), list(EMOTIONS).index(selected[1])
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                      line={"color": "crimson", "width": 3})
    fig.update_layout(title=title, height=height, xaxis_title="predicted", yaxis_title="true",
                      xaxis={"type": "category", "tickmode": "array", "tickvals": list(EMOTIONS), "tickangle": -45},
                      yaxis={"autorange": "reversed", "type": "category", "tickmode": "array",
                             "tickvals": list(EMOTIONS)},
                      clickmode="event+select", dragmode=False, margin={"t": 50, "l": 70})
    return fig


def error_rate_figure(table: pd.DataFrame, row_title: str, col_title: str,
                      title: str = "Error rate") -> go.Figure:
    """Heatmap of ``error_rate`` (%) from :func:`core.evaluation.explore.error_rate_table` with n in each cell."""
    if table.empty:
        return go.Figure().update_layout(title=title + " (no data)")
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
    fig.update_layout(title=title, xaxis_title=col_title, yaxis_title=row_title)
    return fig


def outcome_figure(aligned: pd.DataFrame, groups: pd.Series | None, name_a: str, name_b: str,
                   min_persons: int = 5) -> go.Figure:
    """Stacked shares of both right / only A right / only B right / both wrong, per group (Figures 10 and 11).

    Groups with fewer than ``min_persons`` persons (when a ``person`` column exists) are marked ⚠.
    """
    from .compare import OUTCOMES

    g = groups.fillna("(missing)") if groups is not None else pd.Series("all", index=aligned.index)
    if "person" in aligned.columns and aligned["person"].notna().any():
        persons = aligned.groupby(g.to_numpy())["person"].nunique()
        g = g.map(lambda v: f"{v} ⚠ {persons[v]}p" if persons.get(v, 0) < min_persons else v)
    counts = pd.crosstab(g.to_numpy(), aligned["outcome"].to_numpy()).reindex(columns=list(OUTCOMES), fill_value=0)
    share = counts.div(counts.sum(axis=1), axis=0) * 100
    colors = {"both right": "#2ca02c", "only A right": "#1f77b4", "only B right": "#ff7f0e", "both wrong": "#d62728"}
    fig = go.Figure()
    for o in OUTCOMES:
        label = o.replace("A", name_a).replace("B", name_b) if o.startswith("only") else o
        fig.add_bar(name=label, x=[str(i) for i in share.index], y=share[o], marker_color=colors[o],
                    customdata=counts[o], hovertemplate="%{x}: %{y:.1f}% (%{customdata} samples)<extra></extra>")
    fig.update_layout(barmode="stack", yaxis_title="% of samples", title="Paired outcomes per group")
    return fig
