"""Trade-offs: per-group accuracy per configuration, accuracy vs disparity, and paired comparisons."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.evaluation import reference as ref
from core.data.datasets import split_rule_label
from core.evaluation.compare import compare_runs
from core.evaluation.findings import set_findings
from core.evaluation.leakage import runs_leakage_notes
from core.evaluation.plots import group_accuracy_figure, group_order, tradeoff_figure
from core.evaluation.recall import largest_recall_gap, recall_by_group, recall_matrix
from core.evaluation.results import ConfigResult, reference_results, results_table, run_results
from core.evaluation.runs import list_runs
from core.evaluation.sets import group_by_set, set_families, set_tradeoff_table
from core.common.palette import group_colours
from pages._seeds import SeedData, seed_data, seed_section, seed_verdict, with_seed_sd
from pages._tables import p_text, paired_groups_view, pct_interval
from pages._ui import artifacts_dir, result_provenance, run_through_app, show_figure

run_through_app()

ALL_REFERENCE = "All eleven configurations"


# Results are frozen ConfigResults, kept as objects (cache_resource: no copy of their predictions per rerun).
@st.cache_resource(show_spinner="Computing intervals for the published results...", max_entries=16)
def _reference(attribute: str, configs: tuple[str, ...], n_boot: int, confidence: float) -> list[ConfigResult]:
    return reference_results(attribute, list(configs), n_boot=n_boot, confidence=confidence)


@st.cache_resource(show_spinner="Computing per-group results with bootstrap intervals...", max_entries=16)
def _runs(paths: tuple[str, ...], stamps: tuple[float, ...], attribute: str, n_boot: int, confidence: float,
          min_persons: int, unit: str = "person", persons: str = "all") -> list[ConfigResult]:
    return run_results([Path(p) for p in paths], attribute, n_boot=n_boot, confidence=confidence,
                       min_persons=min_persons, unit=unit, persons=persons)


@st.cache_data(show_spinner="Paired bootstrap over persons...", max_entries=64)
def _compare(context: tuple, name_a: str, name_b: str, _a: pd.DataFrame, _b: pd.DataFrame, attribute: str,
             n_boot: int, confidence: float, min_persons: int) -> dict:
    """The paired comparison of results ``name_a`` and ``name_b`` of the page's ``context`` (their predictions
    are not hashed: the context and the names identify them)."""
    return compare_runs(_a, _b, attribute, n_boot=n_boot, confidence=confidence, min_persons=min_persons)


# What one evaluation set shows, cached as objects keyed by the page's context (the chosen runs and their
# stamps, the published families and every setting that changes a result) and the set's index: nothing is
# recomputed or redrawn when a setting that does not change it moves.
@st.cache_resource(show_spinner=False, max_entries=64)
def _set_findings(context: tuple, k: int, _members: list[ConfigResult]) -> list[str]:
    return set_findings(_members)


@st.cache_resource(show_spinner=False, max_entries=64)
def _bars(context: tuple, k: int, title: str, groups: tuple[str, ...], colour_items: tuple, attribute: str,
          _members: list[ConfigResult]):
    return group_accuracy_figure(_members, title, list(groups), attribute, dict(colour_items))


@st.cache_resource(show_spinner=False, max_entries=64)
def _scatter(context: tuple, k: int, title: str, _members: list[ConfigResult]):
    return tradeoff_figure(_members, title)


@st.cache_resource(show_spinner=False, max_entries=64)
def _status(context: tuple, k: int, _members: list[ConfigResult]) -> dict[str, int]:
    counts = set_tradeoff_table([r for r in _members if r.report is not None])["status"].value_counts()
    return {str(k_): int(v) for k_, v in counts.items()}


def _stamp(path: Path) -> float:
    files = [path / n for n in ("predictions.parquet", "metrics.json", "config.json", "label.json", "leakage.json")]
    return max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)


def _one_note_per_situation(notes: list[str], names: list[str], most: int = 6) -> list[str]:
    """``"<run>: <note>"`` lines merged by note: ``"4 runs (a, b, ...): <note>"`` instead of the note 4 times."""
    by_note: dict[str, list[str]] = {}
    for line in notes:
        name = next((n for n in sorted(names, key=len, reverse=True) if line.startswith(f"{n}: ")), None)
        note = line[len(name) + 2:] if name else line
        by_note.setdefault(note, []).append(name or "")
    out = [note if len(who) == 1 and not who[0] else f"{who[0]}: {note}" if len(who) == 1 else
           f"{len(who)} runs ({', '.join(w.split(' · ')[0] for w in who[:4])}{', ...' if len(who) > 4 else ''}): {note}"
           for note, who in by_note.items()]
    return out[:most] + (["..."] if len(out) > most else [])


st.title("Trade-offs: accuracy and fairness across configurations")
st.caption("Per-group accuracy with confidence intervals, the std of group accuracies (the seed's %Std as 'raw', "
           "and corrected for sampling noise), and the trade-off between overall accuracy and disparity. Intervals: "
           "cluster-robust score intervals over persons when the predictions have person ids, Wilson intervals over "
           "frames otherwise (too narrow when frames are clustered).")

artifacts = artifacts_dir()
runs = list_runs(artifacts)
attr_options = ["race"]
for r in runs:
    attr_options += [a for a in ((r.metrics or {}).get("groups") or {}) if a not in attr_options]

c1, c2, c3 = st.columns([2, 3, 2])
with c1:
    use_ref = st.toggle("Published results (Chen 2024)", value=True, key="to_use_ref",
                        help=ref.CITATION)
    family = st.selectbox("Published configurations", [ALL_REFERENCE, *ref.FIGURE_FAMILIES], key="to_family",
                          disabled=not use_ref)
with c2:
    labels = {str(r.path): f"{r.display_name} · {r.kind}" for r in runs}
    chosen = st.multiselect("Runs and evaluations", list(labels), default=list(labels)[:6],
                            format_func=lambda p: labels[p], key="to_runs",
                            placeholder="no runs yet" if not runs else "choose runs")
with c3:
    attribute = st.selectbox("Group attribute", attr_options, key="to_attr",
                             help="Published results cover race only; runs can be split by any attribute they "
                                  "were evaluated with.")
with st.expander("Interval settings"):
    s1, s2, s3 = st.columns(3)
    n_boot = s1.select_slider("Bootstrap replicates", [200, 500, 1000, 2000, 5000], value=1000, key="to_nboot")
    confidence = s2.select_slider("Confidence", [0.8, 0.9, 0.95, 0.99], value=0.95, key="to_conf",
                                   format_func="{:.0%}".format)
    min_persons = s3.number_input("Flag groups with fewer persons than", 2, 50, 5, key="to_minp")
    u1, u2 = st.columns(2)
    unit = u1.selectbox("Unit of resampling", ["person", "clip", "video"], key="to_unit",
                        help="Intervals resample whole persons (default), clips or videos: frames of one unit are "
                             "not independent. Clip and video need those ids (EiLA has both).")
    persons = u2.radio("Persons seen in training", ["all", "unseen", "seen"], horizontal=True, key="to_persons",
                       format_func={"all": "all persons", "unseen": "unseen only", "seen": "seen only"}.get,
                       help="Runs record which evaluation persons were also in their training data "
                            "(leakage.json, seen_person). 'Unseen only' scores each run on new faces.")

if not runs:
    st.info("No trained runs or evaluations yet: showing the published results. Evaluate a model with "
            "`python -m core evaluate --model fer --data <dataset> --out artifacts/runs/<name>`, from the "
            "Misclassified faces page, or train one on the Train page.")

results: list[ConfigResult] = []
stamps = tuple(_stamp(Path(p)) for p in chosen)
#: Everything that changes a result on this page (keys the cached findings, figures and tables).
context = (use_ref, family if use_ref else None, tuple(chosen), stamps, attribute, n_boot, confidence,
           int(min_persons), unit, persons)
if use_ref:
    configs = ref.configuration_names() if family == ALL_REFERENCE else list(ref.FIGURE_FAMILIES[family])
    results += _reference(attribute, tuple(configs), n_boot, confidence)
if chosen:
    results += _runs(tuple(chosen), stamps, attribute, n_boot, confidence,
                     int(min_persons), unit, persons)
    leak_warnings, leak_notes = runs_leakage_notes([(labels[p], p) for p in chosen], attribute)
    for line in leak_warnings[:8]:
        st.warning(f"Identity leakage · {line}", icon=":material/visibility:")
    if leak_notes:
        st.caption("Identity leakage: " + " · ".join(_one_note_per_situation(leak_notes, [labels[p] for p in chosen])))
if not results:
    st.warning("Nothing selected: switch on the published results or choose runs.")
    st.stop()
if use_ref:
    st.caption(f"Published: {ref.CITATION} No person ids are published, so their intervals treat the 815 test frames "
               "as independent and are too narrow (the EiLA test split has frames of 21 people, 2 of them Mixed). "
               "They use the seed's split rule, which leaks identities: some test persons are also in training "
               "(`python -m core leakage` shows who; the person-disjoint rule avoids it).")


#: Handed to the Misclassified faces page when a group's bar is clicked: ``{"run", "attribute", "group"}``.
OPEN_GROUP = "mc_open_group"


def _open_group_faces(event, members: list[ConfigResult]) -> None:
    """A click on a run's group bar opens the Misclassified faces page on that run, filtered to that group."""
    points = (event.selection.get("points") if event and getattr(event, "selection", None) else None) or []
    if not points or not points[0].get("customdata"):
        return
    group, name = points[0]["customdata"][:2]
    result = next((r for r in members if r.name == name), None)
    path = next((str(r.path) for r in runs if result is not None and r.run_id == result.source), None)
    if result is None or result.kind != "run" or path is None or result.predictions is None:
        st.toast(f"{name}: no per-sample predictions, so no faces to show for {group}.", icon=":material/info:")
        return
    st.session_state[OPEN_GROUP] = {"run": path, "attribute": attribute, "group": str(group)}
    st.switch_page("pages/misclassified.py")


def _charts(k: int, eset, members: list[ConfigResult], groups: list[str], title: str | None) -> None:
    """One evaluation set's provenance, findings, bars, warnings and trade-off figure with its own front."""
    (st.header if title is None else st.subheader)(eset.label, divider="gray")
    result_provenance(members, key_prefix=f"to_prov_{k}")
    findings = _set_findings(context, k, members)
    if findings:
        with st.expander("Key findings", expanded=not eset.published, icon=":material/summarize:"):
            st.markdown("\n".join(f"- {f}" for f in findings))
    bars = _bars(context, k, title or f"Accuracy per {attribute} group (whiskers: {confidence:.0%} interval)",
                 tuple(groups), tuple(colours.items()), attribute, members)
    event = show_figure(bars, f"to_bars_{k}", f"accuracy_per_{attribute}_group_{k + 1}", on_select="rerun",
                        selection_mode="points")
    if any(r.predictions is not None for r in members):
        st.caption("Click a run's bar to open that group's faces on the Misclassified faces page.")
    _open_group_faces(event, members)
    one_clip = [(r.name, g) for r in members if r.report is not None
                for g in r.report.summary.get("one_clip_groups", [])]
    if one_clip:
        st.warning("All evaluation frames from one clip or video (crossed bars; the group's accuracy is one "
                   "scene's): " + "; ".join(f"{n}: {g}" for n, g in one_clip[:12])
                   + (" ..." if len(one_clip) > 12 else ""))
    flagged = [(r.name, g) for r in members if r.report is not None
               for g in r.report.summary.get("flagged_groups", [])]
    if flagged:
        st.warning("Few persons or samples (intervals unreliable, hatched bars): "
                   + "; ".join(f"{n}: {g}" for n, g in flagged[:12]) + (" ..." if len(flagged) > 12 else ""))
    chance = [r.name for r in members if not r.better_than_chance]
    if chance:
        st.warning("Not better than chance (the accuracy interval includes 1/7 = 14.3%), left off the Pareto "
                   "front: " + "; ".join(chance), icon=":material/block:")
    missing = [r for r in members if r.report is None]
    if missing:
        notes = sorted({r.note for r in missing})
        st.info(f"{len(missing)} of {len(members)} results have no {attribute} groups, so they have no bars here "
                f"({'; '.join(notes[:3])}). Choose another group attribute above, or evaluate on a dataset with "
                f"{attribute} labels.", icon=":material/group_off:")
    no_id = [f"{r.name}: {r.report.summary['n_missing_persons']}" for r in members
             if r.report is not None and r.report.summary.get("n_missing_persons")]
    if no_id:
        st.caption("Frames without a person id, each counted as its own person: " + " · ".join(no_id))
    show_figure(_scatter(context, k, title or f"Overall accuracy vs std of {attribute} accuracies", members),
                f"to_scatter_{k}", f"accuracy_vs_{attribute}_std_{k + 1}")
    st.caption("Pareto status: " + ", ".join(f"{k_} {v}" for k_, v in _status(context, k, members).items()))


@st.cache_resource(show_spinner=False, max_entries=64)
def _set_tables(context: tuple, k: int, attribute: str, _members: list[ConfigResult]) -> dict:
    """One evaluation set's tables: formatted, as CSV, and each run's recall by emotion and group with its gap
    (or the reason it has none)."""
    recall = []
    for r in _members:
        if r.predictions is None:
            continue
        try:
            table = recall_by_group(r.predictions, attribute)
        except ValueError as exc:
            recall.append({"name": r.name, "error": str(exc)})
            continue
        recall.append({"name": r.name, "matrix": recall_matrix(table), "gap": largest_recall_gap(table)})
    return {"formatted": results_table(_members, formatted=True),
            "csv": results_table(_members).to_csv().encode("utf-8"), "recall": recall}


def _tables(k: int, eset, members: list[ConfigResult], side_by_side: bool) -> None:
    """One evaluation set's results table, CSV and per-emotion recall by group."""
    if side_by_side:
        st.markdown(f"**{eset.label}**")
    parts = _set_tables(context, k, attribute, members)
    st.dataframe(with_seed_sd(parts["formatted"], [(r.name, r.source) for r in members], seed_info),
                 key=f"to_table_{k}")
    st.download_button("Download table (CSV)", parts["csv"],
                       file_name=f"tradeoffs_{attribute.replace(' ', '_')}_{k + 1}.csv", mime="text/csv",
                       key=f"to_csv_{k}", on_click="ignore")
    if parts["recall"]:
        st.markdown("**Recall of each emotion by group**")
        st.caption("Share of each group's frames of an emotion predicted correctly. The largest recall gap is the "
                   "maximum over emotions of best minus worst group (an equalized-odds-style disparity); cells "
                   "with fewer than 5 frames (⚠) are left out of it.")
        gaps = []
        for j, item in enumerate(parts["recall"]):
            if "error" in item:
                st.caption(f"{item['name']}: {item['error']}")
                continue
            gap = item["gap"]
            gaps.append({"run": item["name"], "largest recall gap (points)": "n/a (cells under 5 frames)"
                         if pd.isna(gap["gap"]) else f"{100 * gap['gap']:.1f}", "emotion": gap["emotion"] or "",
                         "best group": gap["best_group"] or "", "worst group": gap["worst_group"] or ""})
            with st.expander(f"{item['name']}: recall by emotion and group", key=f"to_recall_{k}_{j}"):
                st.table(item["matrix"], border="horizontal")  # 7 x a few cells: static, cheap to draw
        if gaps:
            st.dataframe(pd.DataFrame(gaps), hide_index=True, key=f"to_gaps_{k}")


sets = group_by_set(results)
no_groups = [s for s, members in sets.items() if s.published and all(r.report is None for r in members)]
for s_ in no_groups:
    st.caption(f"Published results: {sets.pop(s_)[0].note}.")
if len({r.split_rule for members in sets.values() for r in members if r.split_rule}) > 1:  # EiLA rules only
    st.info("Results come from different EiLA split rules: shown side by side. The seed's rule (annotator count) "
            "puts persons seen in training into the test split; the person-disjoint rule does not. The two rules "
            "test different frames, so each is its own evaluation set with its own Pareto front.",
            icon=":material/splitscreen:")
if len(sets) > 1:
    st.info(f"{len(sets)} evaluation sets: results are shown per set (dataset, split, split rule, frames and group "
            "attribute) and never share a table or a Pareto front. " + " | ".join(s.label for s in sets),
            icon=":material/join_inner:")
index = {s_: k for k, s_ in enumerate(sets)}
st.caption("The std is corrected for sampling noise (the seed's raw %Std is in the table and hover text). Points "
           "on the dashed Pareto front of an evaluation set are not beaten on both point estimates; open markers "
           "are beaten only on point estimates with overlapping intervals (indistinguishable from the front); an x "
           "is beaten on both axes with non-overlapping intervals; grey crosses are not better than chance and "
           "never on the front. Error bars are the intervals.")
groups = group_order([r for members in sets.values() for r in members])
# one colour per group on every figure and page: from every value of the attribute (all runs, selected or not)
colours = group_colours(attribute, [*groups, *(g for r in runs for g in ((r.metrics or {}).get("groups") or {})
                                               .get(attribute, {}))])
seed_info = seed_data(runs, chosen, attribute)  # every seed of the chosen configurations, from metrics.json
for family in set_families(list(sets)):
    if len(family) == 1:
        eset = family[0]
        _charts(index[eset], eset, sets[eset], groups, None)
        _tables(index[eset], eset, sets[eset], False)
        continue
    first = family[0]
    st.header(f"{first.dataset} · {first.split} split · groups by {first.attribute}: "
              + " vs ".join(split_rule_label(s_.split_rule) for s_ in family), divider="gray")
    for col, eset in zip(st.columns(len(family)), family):
        with col:
            _charts(index[eset], eset, sets[eset], groups, split_rule_label(eset.split_rule))
    for eset in family:
        _tables(index[eset], eset, sets[eset], True)
seed_section(seed_info, attribute, groups, colours)
if use_ref:
    with st.expander("Notes on the published numbers"):
        st.markdown("\n".join(f"- {n}" for n in ref.KNOWN_INCONSISTENCIES)
                    + "\n- %Std is the standard deviation with ddof=1 of the three group accuracies; recomputing "
                      "it from the rounded accuracies matches the paper within 0.05 points."
                    + "\n- The published numbers come from the seed's own EiLA test set (815 frames after its face "
                      "detector), so they form an evaluation set of their own.")

def _paired_section(paired: list[ConfigResult], attribute: str, n_boot: int, confidence: float,
                    min_persons: int, seeds: SeedData | None = None) -> None:
    """Two runs on the same evaluation set, face by face; its selectors rerun only this section."""
    paired = [r for r in paired if any(o.name != r.name and o.eval_set == r.eval_set for o in paired)]
    if not paired:
        st.info("No two runs were evaluated on the same faces: a paired comparison needs the same frames. Evaluate "
                "a second model on the dataset and split of one of the runs.")
        return
    names = [r.name for r in paired]  # only runs with a partner on their evaluation set
    p1, p2 = st.columns(2)
    a_name = p1.selectbox("Configuration A", names, index=0, key="to_cmp_a")
    same = [r.name for r in paired if r.eval_set == paired[names.index(a_name)].eval_set and r.name != a_name]
    b_name = p2.selectbox("Configuration B (evaluated on the same faces)", same, key="to_cmp_b")
    ra, rb = paired[names.index(a_name)], paired[names.index(b_name)]
    try:
        c = _compare(context, ra.name, rb.name, ra.predictions, rb.predictions, attribute, n_boot, confidence,
                     min_persons)
    except ValueError as exc:
        st.error(str(exc))
        return
    o = c["overall"]
    m1, m2, m3 = st.columns(3)
    m1.metric("Accuracy of B minus A", f"{100 * o['diff']:+.1f} points",
              help=f"{confidence:.0%} interval {100 * o['ci_low']:+.1f} to {100 * o['ci_high']:+.1f} points")
    m1.caption(f"{pct_interval(o['ci_low'], o['ci_high'], signed=True)} points · {o['method']}")
    m2.metric("Bootstrap p", p_text(o["p_value"]))
    m3.metric("McNemar p", p_text(o["mcnemar_p_value"]))
    m3.caption(f"{o['mcnemar_method']}: {o['mcnemar_only_a']} faces only A got right, {o['mcnemar_only_b']} only B; "
               "treats faces as independent")
    st.caption(f"{o['n_samples']} faces in both runs" + (f", of {o['n_persons']} persons" if o["n_persons"] else ""))
    st.dataframe(paired_groups_view(c["groups"]), key="to_cmp_groups", hide_index=True)
    if seeds is not None:
        seed_verdict(ra.source, rb.source, seeds, o, confidence)


st.subheader("Compare two configurations (paired)")
paired = [r for r in results if r.predictions is not None]
if len(paired) < 2:
    st.info("A paired comparison needs per-face predictions of two runs on the same test set (the published "
            "results have none). Evaluate two models on the same dataset to compare them here.")
else:
    st.fragment(_paired_section)(paired, attribute, n_boot, confidence, int(min_persons), seed_info)
