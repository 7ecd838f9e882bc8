"""Trade-offs' spread across training seeds: each group's accuracy per seed, the across-seed sd, the verdicts.

Everything comes from the runs' metrics.json (cheap; nothing is recomputed), cached by the run folders and
their modification times. Runs without seed repeats cost one line of text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import streamlit as st

from core.evaluation.runs import RunInfo, read_run
from core.evaluation.seed_compare import compare_seed_groups
from core.evaluation.seed_plots import seed_spread_figure
from core.evaluation.seeds import (by_evaluation, group_seed_spread, seed_sd_table, seed_siblings, seed_spread,
                                   seed_table_view)
from pages._figures import show_figure

#: How a page tells researchers to get a spread (no command-line flags).
HOW_TO_REPEAT = ("Each chosen configuration was trained with one training seed: set \"training seeds (repeats)\" "
                 "on the Train or load page to train each one several times and see how much its accuracy moves "
                 "from seed to seed.")


@dataclass
class SeedData:
    """The chosen runs' seed groups: per evaluation, the group spread and the across-seed table."""

    sets: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = field(default_factory=dict)
    overall: pd.DataFrame = field(default_factory=pd.DataFrame)
    group_of: dict[str, str] = field(default_factory=dict)  # run id -> seed group
    trained: bool = False  # any chosen run records a seed group

    @property
    def repeated(self) -> bool:
        """Whether any seed group has more than one seed."""
        return not self.overall.empty and bool((self.overall["n_seeds"] > 1).any())


def _stamp(path: str) -> float:
    f = Path(path) / "metrics.json"
    return f.stat().st_mtime if f.is_file() else 0.0


@st.cache_data(show_spinner=False)
def _compute(paths: tuple[str, ...], stamps: tuple[float, ...], attribute: str) -> SeedData:
    infos = [read_run(p) for p in paths]
    data = SeedData(overall=seed_spread(infos, "accuracy"), trained=bool(infos),
                    group_of={i.run_id: str(i.config["seed_group"]) for i in infos})
    for label, members in by_evaluation(infos).items():
        data.sets[label] = (group_seed_spread(members, attribute), seed_sd_table(members, attribute))
    return data


def seed_data(runs: Sequence[RunInfo], chosen: Sequence[str], attribute: str) -> SeedData:
    """Every seed of the chosen runs' configurations (choosing one seed brings its siblings)."""
    siblings = [r for r in seed_siblings(runs, chosen) if r.metrics]
    paths = tuple(sorted(str(r.path) for r in siblings))
    if paths:
        return _compute(paths, tuple(_stamp(p) for p in paths), attribute)
    keys = set(chosen)  # trained runs from before seed groups were recorded: one seed each
    return SeedData(trained=any(r.kind == "training" and str(r.path) in keys for r in runs))


def seed_section(data: SeedData, attribute: str, groups: Sequence[str], colours: Mapping[str, str]) -> None:
    """The strip plot and table per evaluation set; one line when no configuration has several seeds."""
    if not data.trained:
        return
    if not data.repeated:
        st.caption(HOW_TO_REPEAT)
        return
    st.subheader("Spread across training seeds", divider="gray")
    st.caption("The same configuration trained with different training seeds, each scored on the same test frames. "
               "A difference between configurations smaller than this seed-to-seed spread can come from the seed "
               "alone. Numbers are from each run's own evaluation of all its test persons; with 2 or 3 seeds the "
               "sd is a rough estimate.")
    for k, (label, (spread, table)) in enumerate(data.sets.items()):
        if spread.empty and table.empty:
            continue
        if len(data.sets) > 1:
            st.markdown(f"**{label}**")
        if not spread.empty:
            show_figure(seed_spread_figure(spread, attribute, f"Accuracy per {attribute} group across training "
                                                              f"seeds · {label}", groups, colours),
                        f"to_seed_fig_{k}", f"accuracy_per_{attribute}_group_across_seeds_{k + 1}")
        else:
            st.caption(f"{label}: the runs have no {attribute} groups; the table gives overall numbers only.")
        st.dataframe(seed_table_view(table, spread, attribute), hide_index=True, key=f"to_seed_table_{k}")


def with_seed_sd(view: pd.DataFrame, sources: Sequence[tuple[str, str]], data: SeedData) -> pd.DataFrame:
    """The results table with an ``across-seed sd`` column (points of accuracy, over the run's seed group).

    ``sources`` pairs each row name with its run id (``ConfigResult.name, .source``).
    """
    if not data.repeated or view.empty:
        return view
    by_group = data.overall.set_index("seed_group")
    cells = {}
    for name, source in sources:
        sg = data.group_of.get(source)
        if sg in by_group.index and by_group.loc[sg, "n_seeds"] > 1:
            cells[name] = f"{100 * by_group.loc[sg, 'sd']:.1f} points ({int(by_group.loc[sg, 'n_seeds'])} seeds)"
    if not cells:
        return view
    out = view.copy()
    at = out.columns.get_loc("accuracy % [CI]") + 1 if "accuracy % [CI]" in out.columns else len(out.columns)
    out.insert(at, "accuracy: across-seed sd", [cells.get(n, "") for n in out.index])  # next to the accuracy
    return out


def seed_verdict(source_a: str, source_b: str, data: SeedData, overall: Mapping, confidence: float) -> None:
    """Under a paired comparison: does B - A exceed seed-to-seed variation and the test-set interval?"""
    ga, gb = data.group_of.get(source_a), data.group_of.get(source_b)
    if not data.repeated or ga is None or gb is None:
        return
    if ga == gb:
        st.caption("A and B are the same configuration trained with different seeds: their difference is "
                   "seed-to-seed variation itself.")
        return
    by_group = data.overall.set_index("seed_group")
    if ga not in by_group.index or gb not in by_group.index:
        return
    a, b = by_group.loc[ga], by_group.loc[gb]
    if a["n_seeds"] < 2 and b["n_seeds"] < 2:
        return
    c = compare_seed_groups(a["values"], b["values"], (overall["ci_low"], overall["ci_high"]), confidence)
    st.markdown(f"**Across training seeds.** {c['verdict']}")
    seed_iv = ("no seed interval (one seed)" if pd.isna(c["ci_low"]) else
               f"{confidence:.0%} interval over seeds {100 * c['ci_low']:+.1f} to {100 * c['ci_high']:+.1f} points "
               f"(Welch t, {c['df']:.1f} degrees of freedom)")
    st.caption(f"Mean accuracy over seeds: A {100 * c['mean_a']:.1f} % ({c['n_a']} seeds), B {100 * c['mean_b']:.1f} % "
               f"({c['n_b']} seeds); difference {100 * c['diff']:+.1f} points, {seed_iv}. The test-set interval "
               f"{100 * c['sampling_low']:+.1f} to {100 * c['sampling_high']:+.1f} points is that of the two runs "
               "chosen above.")
