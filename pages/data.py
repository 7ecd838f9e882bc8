"""Data: register datasets, inspect their composition by group and person, browse faces, prepare EiLA videos."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.common._errors import FerBiasError
from core.data.datasets.plots import NO_PERSONS_NOTE, group_sizes_figure, label_counts_figure, yaw_figure
from core.data.labels import EMOTIONS
from core.data.manifest import SPLITS
from core.data.registry import BAD_IMAGE_FORMATS, FORMATS, load_and_register, remove_dataset
from pages._data_prepare import render_prepare_section
from pages._words import DATA_WIDGETS, gui_message
from pages._ui import (artifacts_dir, dataset_selectbox, ensure_default_dataset, generate_demo_with_progress,
                       group_columns, image_grid, load_dataset_manifest, registered_datasets, set_demo_opt_out,
                       show_figure, show_load_report, synthetic_badge, run_through_app)

run_through_app()

_MSG = "data_flash"  # message kept across the rerun that follows a change


def _flash(kind: str, text: str) -> None:
    st.session_state[_MSG] = (kind, text)
    st.rerun()


def _show_flash() -> None:
    kind, text = st.session_state.pop(_MSG, (None, None))
    if kind:
        getattr(st, kind)(text)


def _split_order(values) -> list[str]:
    return [s for s in SPLITS if s in set(values)]


def composition(df: pd.DataFrame, group: str | None) -> None:
    """Label x group counts per split, and group sizes in samples and in distinct persons."""
    stem = f"{group or 'dataset'}"
    show_figure(label_counts_figure(df, group), "data_chart_labels", f"samples_per_emotion_and_{stem}")
    show_figure(group_sizes_figure(df, group), "data_chart_sizes", f"size_of_each_{stem}_group")
    has_persons = "person" in df.columns and df["person"].notna().any()
    if not has_persons:
        st.caption(NO_PERSONS_NOTE)
    d = df.assign(group=df[group].astype(str).where(df[group].notna(), "(missing)") if group else "all samples")
    agg = {"samples": ("sample_id", "size")}
    if has_persons:
        agg["persons"] = ("person", "nunique")
    sizes = d.groupby(["split", "group"]).agg(**agg).reset_index()
    table = sizes.pivot(index="group", columns="split").fillna(0).astype(int)
    table.columns = [f"{m} ({s})" for m, s in table.columns]
    st.dataframe(table, width="stretch")
    if "yaw" in d.columns and d["yaw"].notna().any():
        show_figure(yaw_figure(df, group), "data_chart_yaw", f"head_yaw_by_{stem}")


def sample_grid(df: pd.DataFrame, group: str | None) -> None:
    """Faces filtered by split, label and group."""
    probe = df["path"].head(20)
    if not any(Path(p).is_file() for p in probe):
        st.info("This dataset has no image files to show (for EiLA annotations the faces are in the videos: "
                "crop them on the 'Prepare EiLA videos' tab).")
        return
    c1, c2, c3, c4 = st.columns([1, 1.3, 1.3, 0.8])
    splits = c1.multiselect("Split", _split_order(df["split"]), key="data_grid_split")
    labels = c2.multiselect("Emotion", [e for e in EMOTIONS if e in set(df["label"].dropna())], key="data_grid_label")
    groups = []
    if group:
        groups = c3.multiselect(f"Group ({group})", sorted(map(str, df[group].dropna().unique())),
                                key=f"data_grid_group_{group}")
    n = c4.number_input("Faces", min_value=4, max_value=96, value=24, step=4, key="data_grid_n")
    sel = df
    if splits:
        sel = sel[sel["split"].isin(splits)]
    if labels:
        sel = sel[sel["label"].isin(labels)]
    if groups:
        sel = sel[sel[group].astype(str).isin(groups)]
    seed = int(st.session_state.get("data_grid_seed", 0))
    if st.button("Show other faces", key="data_grid_shuffle", icon=":material/shuffle:"):
        seed += 1
        st.session_state["data_grid_seed"] = seed
    if sel.empty:
        st.warning("No sample matches these filters.")
        return
    pick = sel.sample(n=min(int(n), len(sel)), random_state=seed)
    st.caption(f"{len(pick)} of {len(sel):,} matching samples")

    def caption(r: pd.Series) -> str:
        parts = [str(r["label"]) if pd.notna(r["label"]) else "no label"]
        if group and pd.notna(r[group]):
            parts.append(str(r[group]))
        parts.append(str(r["split"]))
        return " · ".join(parts)

    image_grid(pick["path"], [caption(r) for _, r in pick.iterrows()], size=96)


def datasets_tab(artifacts: Path) -> None:
    datasets = registered_datasets(artifacts)
    info = dataset_selectbox("Dataset", datasets, key="data_dataset")
    if info is None:
        return
    df = load_dataset_manifest(info)
    head = st.columns([4, 1])
    head[0].subheader(info.name)
    synthetic_badge(info.synthetic, container=head[1])
    if info.synthetic and info.source.get("bias"):
        st.info(info.source["bias"], icon=":material/science:")
    m = st.columns(6)
    m[0].metric("Samples", f"{len(df):,}")
    has_persons = "person" in df.columns and df["person"].notna().any()
    m[1].metric("Distinct persons", f"{df['person'].nunique():,}" if has_persons else "not recorded")
    m[2].metric("With emotion label", f"{int(df['label'].notna().sum()):,}")
    per_split = df["split"].value_counts()
    for col, split in zip(m[3:], SPLITS):
        col.metric(split.capitalize(), f"{int(per_split.get(split, 0)):,}")
    src = ", ".join(f"{k}: {v}" for k, v in info.source.items() if k in ("path", "demographics", "seed"))
    st.caption(f"Format `{info.format}`" + (f"; {src}" if src else "") + f"; stored in `{info.path}`")
    with st.expander("What was left out when loading", expanded=bool(info.load_report.get("n_skipped")
                                                                         or info.load_report.get("n_excluded"))):
        show_load_report(info.load_report)
    st.markdown("#### Composition")
    groups = group_columns(df)
    group = st.selectbox("Group by", groups, key="data_group_col") if groups else None
    if not groups:
        st.caption("No demographic columns in this dataset: counts by emotion and split only.")
    composition(df, group)
    st.markdown("#### Sample faces")
    st.fragment(sample_grid)(df, group)  # its filters and "other faces" rerun only the grid
    with st.expander("Remove this dataset"):
        st.write("Removes the registration (and, for the synthetic demo, its generated images). "
                 "Your source files are never touched.")
        sure = st.checkbox(f"Yes, remove '{info.name}'", key="data_remove_confirm")
        if st.button("Remove", key="data_remove", disabled=not sure, icon=":material/delete:"):
            remove_dataset(info.slug, artifacts)
            if info.synthetic:
                set_demo_opt_out(artifacts, True)
            st.session_state.pop("data_remove_confirm", None)
            _flash("success", f"Removed '{info.name}'.")


def split_rule_form(fmt: str) -> dict:
    """EiLA split rule widgets; the seed's rule is the default (to reproduce its tables) and is labelled as leaking."""
    names = {"seed": "seed code (leaks persons)", "seed-prose": "seed prose (leaks persons)",
             "person-disjoint": "person-disjoint"}
    options = ["seed", "seed-prose", "person-disjoint"] if fmt == "eila-annotations" else ["seed", "person-disjoint"]
    if fmt == "eila-crops":
        names["seed"] = "as the folders are (the seed's rule; leaks persons)"
    rule = st.radio("Split rule", options, horizontal=True, key=f"data_split_rule_{fmt}", format_func=names.get,
                    help="Seed code: 1 annotator -> train, 2 -> validation, 3 -> test (the rule behind the seed's "
                         "tables: 5,723 / 1,462 / 902 rows). It keeps clips apart but not persons: 4 of the 7 Black "
                         "test persons (78.5 % of Black test frames) are also in training. Seed prose: the inverse, "
                         "as its text states. Person-disjoint: whole persons per split, stratified by race, near the "
                         "seed's proportions.")
    out: dict = {"split_rule": rule}
    if rule != "person-disjoint":
        st.caption(":warning: This split leaks identities: results on its test split partly measure faces the "
                   "model was trained on.")
    else:
        out["split_seed"] = int(st.number_input("Split seed", min_value=0, value=0, step=1,
                                                key=f"data_split_seed_{fmt}"))
    return out


def register_tab(artifacts: Path) -> None:
    st.markdown("#### Register files")
    fmt = st.selectbox("Format", list(FORMATS), key="data_fmt", format_func=lambda f: f"{f}: {FORMATS[f][0]}")
    c1, c2 = st.columns(2)
    name = c1.text_input("Name", key="data_name", placeholder="e.g. SFEW")
    path = c2.text_input("Path (folder or file)", key="data_path",
                         placeholder="/data/sfew" if fmt != "fairface" else "/data/fairface/fairface_label_val.csv")
    kwargs: dict = {}
    demographics = None
    if FORMATS[fmt][1]:
        demographics = st.text_input("EiLA demographics CSV", key="data_demographics",
                                     placeholder="/data/eila/demographics.csv") or None
    if fmt in ("eila-annotations", "eila-crops"):
        kwargs.update(split_rule_form(fmt))
    if fmt in ("folder", "utkface"):
        kwargs["split"] = st.selectbox("Split for images outside train/validation/test folders", list(SPLITS),
                                       index=0 if fmt == "folder" else 2, key=f"data_flat_split_{fmt}")
    if fmt in BAD_IMAGE_FORMATS and st.checkbox("Skip unreadable images (they are listed afterwards)",
                                                key="data_skip_bad"):
        kwargs["on_bad_image"] = "skip"
    if fmt in ("folder", "eila-crops", "eila-annotations") and st.checkbox(
            "Stop on unknown emotion labels instead of excluding and counting them", key="data_strict_labels"):
        kwargs["on_unknown_label"] = "raise"
    overwrite = st.checkbox("Replace a registered dataset with the same name", key="data_overwrite")
    if st.button("Load and register", type="primary", key="data_register", icon=":material/upload:"):
        if not name.strip() or not path.strip():
            st.error("Give the dataset a name and the path of its folder or file.")
            return
        try:
            with st.spinner(f"Loading {path} ..."):
                df, info = load_and_register(fmt, path.strip(), name.strip(), artifacts, demographics=demographics,
                                             overwrite=overwrite, **kwargs)
        except (FerBiasError, FileExistsError, ValueError, OSError) as exc:
            st.error(gui_message(exc, DATA_WIDGETS))
            return
        rep = info.load_report
        left = f" Left out: {rep.get('n_excluded', 0)} excluded label(s), {rep.get('n_skipped', 0)} skipped " \
               "file(s)/row(s); see the Datasets tab." if rep.get("n_excluded") or rep.get("n_skipped") else ""
        _flash("success", f"Registered '{info.name}': {info.n_samples:,} samples.{left}")


def demo_section(artifacts: Path) -> None:
    from core.data.demo import GROUPS, DemoConfig, find_demo

    st.markdown("#### Synthetic demo")
    st.write("Drawn faces with the 7 expressions, three skin-tone groups (Light, Medium, Dark), head yaw up to "
             "full profile, glasses and sunglasses, lighting changes, several images per person, and a planted "
             "bias (one group under-represented, with subtler expressions) for the analysis pages to find.")
    base = DemoConfig()
    with st.expander("Settings"):
        seed = st.number_input("Seed", min_value=0, value=0, step=1, key="data_demo_seed")
        cols = st.columns(len(GROUPS))
        persons = {g: int(c.number_input(f"{g} persons", min_value=3, max_value=200, value=base.n_persons[g],
                                         key=f"data_demo_n_{g}")) for g, c in zip(GROUPS, cols)}
        cols = st.columns(len(GROUPS))
        intensity = {g: float(c.slider(f"{g} expression intensity", 0.1, 1.5, base.intensity[g], 0.05,
                                       key=f"data_demo_int_{g}")) for g, c in zip(GROUPS, cols)}
        per_person = st.number_input("Images per person", min_value=7, max_value=70, value=base.images_per_person,
                                     step=7, key="data_demo_ipp")
    exists = find_demo(artifacts) is not None
    if st.button("Regenerate the synthetic demo" if exists else "Generate the synthetic demo", key="data_demo_go",
                 icon=":material/science:"):
        try:
            config = DemoConfig(n_persons=persons, intensity=intensity, images_per_person=int(per_person))
        except ValueError as exc:
            st.error(str(exc))
            return
        info = generate_demo_with_progress(artifacts, regenerate=True, seed=int(seed), config=config)
        _flash("success", f"Generated '{info.name}': {info.n_samples:,} synthetic images.")


artifacts = artifacts_dir()
st.title("Data")
ensure_default_dataset(artifacts)
_show_flash()
tab_data, tab_add, tab_prep = st.tabs(["Datasets", "Add a dataset", "Prepare EiLA videos"], key="data_tab",
                                      bind="query-params")  # a reload reopens the tab
with tab_data:
    datasets_tab(artifacts)
with tab_add:
    register_tab(artifacts)
    st.divider()
    demo_section(artifacts)
with tab_prep:
    render_prepare_section(artifacts)
st.caption(f"{len(registered_datasets(artifacts))} dataset(s) registered under `{artifacts}`; they persist across restarts.")
