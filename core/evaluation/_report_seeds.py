"""The report's spread across training seeds: figure and table per evaluation, and the verdict of a comparison."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import pandas as pd

from ..common.palette import group_colours
from ._report_parts import table_html
from .runs import RunInfo
from .seed_compare import compare_seed_groups
from .seed_plots import seed_spread_figure
from .seeds import by_evaluation, group_seed_spread, seed_sd_table, seed_spread, seed_table_view

ONE_SEED_NOTE = ("Every trained configuration in this report has one training seed, so the report cannot say how "
                 "much its results move from seed to seed (train each configuration several times to see it).")


def seed_sections(infos: Sequence[RunInfo], attributes: Sequence[str],
                  fig_html: Callable[[Any, str], str]) -> tuple[list[dict], pd.DataFrame, str]:
    """(one section per evaluation and attribute with a figure and a table, the numeric table, a note).

    Sections only when a seed group has more than one seed; the note says why there are none otherwise.
    """
    trained = [i for i in infos if i.config.get("seed_group") and i.metrics]
    overall = seed_spread(trained, "accuracy")
    if overall.empty or not (overall["n_seeds"] > 1).any():
        return [], pd.DataFrame(), ONE_SEED_NOTE if any(i.kind == "training" for i in infos) else ""
    sections, frames = [], []
    for label, members in by_evaluation(trained).items():
        for k, attr in enumerate(attributes):
            spread, table = group_seed_spread(members, attr), seed_sd_table(members, attr)
            if k and spread.empty:
                continue
            frames.append(table.assign(evaluation=label, attribute=attr))
            groups = list(dict.fromkeys(spread["group"]))
            fig = seed_spread_figure(spread, attr, f"Accuracy per {attr} group across training seeds · {label}",
                                     groups, group_colours(attr, groups)) if not spread.empty else None
            sections.append({"label": f"{label} · groups by {attr}",
                             "figure": fig_html(fig, f"accuracy_per_{attr}_group_across_seeds_{len(sections) + 1}")
                             if fig is not None else "",
                             "table": table_html(seed_table_view(table, spread, attr), index=False)})
    return sections, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), ""


def seed_values(infos: Sequence[RunInfo]) -> dict[str, tuple[str, list[float]]]:
    """Run id -> (its seed group, the group's accuracy of every seed)."""
    trained = [i for i in infos if i.config.get("seed_group") and i.metrics]
    spread = seed_spread(trained, "accuracy").set_index("seed_group")
    return {i.run_id: (str(i.config["seed_group"]), list(spread.loc[i.config["seed_group"], "values"]))
            for i in trained if i.config["seed_group"] in spread.index}


def seed_verdict(source_a: str, source_b: str, values: dict[str, tuple[str, list[float]]],
                 overall: dict, confidence: float) -> str:
    """The across-seed verdict of a paired comparison in words, ``""`` when the runs have no seed repeats."""
    if source_a not in values or source_b not in values:
        return ""
    (ga, va), (gb, vb) = values[source_a], values[source_b]
    if ga == gb:
        return ("A and B are the same configuration trained with different seeds: their difference is seed-to-seed "
                "variation itself.")
    if len(va) < 2 and len(vb) < 2:
        return ""
    c = compare_seed_groups(va, vb, (overall["ci_low"], overall["ci_high"]), confidence)
    seed_iv = ("" if pd.isna(c["ci_low"]) else f"; {confidence:.0%} interval over seeds {100 * c['ci_low']:+.1f} to "
               f"{100 * c['ci_high']:+.1f} points (Welch t, {c['df']:.1f} degrees of freedom)")
    return (f"Across training seeds: mean accuracy A {100 * c['mean_a']:.1f} % ({c['n_a']} seeds), B "
            f"{100 * c['mean_b']:.1f} % ({c['n_b']} seeds), difference {100 * c['diff']:+.1f} points{seed_iv}. "
            f"{c['verdict']}")


def with_seed_sd(view: pd.DataFrame, sources: Sequence[tuple[str, str]],
                 values: dict[str, tuple[str, list[float]]]) -> pd.DataFrame:
    """The formatted results table with ``accuracy: across-seed sd`` for rows whose configuration has several seeds.

    ``sources`` pairs each row name with its run id (``ConfigResult.name, .source``).
    """
    cells = {}
    for name, source in sources:
        if source in values and len(values[source][1]) > 1:
            v = pd.Series(values[source][1])
            cells[name] = f"{100 * v.std(ddof=1):.1f} points ({len(v)} seeds)"
    if not cells or view.empty:
        return view
    out = view.copy()
    at = out.columns.get_loc("accuracy % [CI]") + 1 if "accuracy % [CI]" in out.columns else len(out.columns)
    out.insert(at, "accuracy: across-seed sd", [cells.get(n, "") for n in out.index])  # next to the accuracy
    return out
