"""Data page section: prepare EiLA videos in the background, watch progress, read the preprocessing audit.

Rendered by ``pages/data.py`` in its "Prepare EiLA videos" tab through
:func:`render_prepare_section`. Thin: widgets -> :func:`core.runs.jobs.start_job`
(``python -m core prepare-eila`` / ``estimate-pose``) -> files the jobs write.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.runs.jobs import JobStatus, list_jobs, start_job
from core.common.paths import default_shared_data
from core.preprocess import DETECTORS, STAGE_LABELS, STAGES, retention_by_stage
from core.preprocess.plots import retention_figure
from pages._figures import show_figure
from core.runs.spec import RunSpec
from pages._jobs import job_panel
from pages._ui import dataset_selectbox, registered_datasets
from pages._words import PREPARE_WIDGETS

_WEIGHTS_HELP = {"mtcnn": "not needed: MTCNN's weights ship with the mtcnn package",
                 "yunet": "the YuNet ONNX file (face_detection_yunet_2023mar.onnx from the OpenCV Zoo)",
                 "yolo": "a YOLO face model file such as yolov8n-face.pt (the seed's detector)"}


def _spec_value(job: JobStatus, option: str):
    """An option of the job's spec (None for jobs started before specs, which have none)."""
    return job.spec.config.get(option) if job.spec is not None else None


@st.cache_data(show_spinner=False, max_entries=32)
def _read_audit(path: str, mtime_ns: int) -> pd.DataFrame:
    return pd.read_parquet(path)


def _audit_at(folder: Path) -> pd.DataFrame | None:
    path = folder / "audit.parquet"
    return _read_audit(str(path), path.stat().st_mtime_ns) if path.is_file() else None


def _known_audits(artifacts: Path) -> dict[str, pd.DataFrame]:
    """Audits of registered prepared datasets and of finished prepare-eila jobs, by a readable label."""
    out: dict[str, pd.DataFrame] = {}
    for info in registered_datasets(artifacts):
        audit = _audit_at(info.path)
        if audit is not None:
            out[f"{info.name} ({audit['detector'].iloc[0]})"] = audit
    for job in list_jobs(artifacts, kind="prepare-eila"):
        out_dir = _spec_value(job, "out")
        if job.state == "finished" and out_dir and _spec_value(job, "register") is None:
            audit = _audit_at(Path(out_dir))
            if audit is not None:
                out[f"{Path(out_dir).name} ({audit['detector'].iloc[0]})"] = audit
    return out


def _start_form(artifacts: Path) -> None:
    eila = default_shared_data() / "eila"
    with st.form("prep_form", border=True):
        c1, c2 = st.columns(2)
        annotations = c1.text_input("annotations.csv", value=str(eila / "annotations.csv") if eila.is_dir() else "",
                                    key="prep_annotations")
        demographics = c2.text_input("demographics.csv", value=str(eila / "demographics.csv") if eila.is_dir()
                                     else "", key="prep_demographics")
        videos = c1.text_input("videos folder (<tag>.mp4 or <tag>/Complete.mp4)", key="prep_videos")
        detector = c2.selectbox("face detector", list(DETECTORS), key="prep_detector",
                                help="mtcnn works offline; yunet and yolo need their model file")
        weights = c1.text_input("detector weights file", key="prep_weights",
                                help="; ".join(f"{k}: {v}" for k, v in _WEIGHTS_HELP.items()))
        out = c2.text_input("output folder", value=str(artifacts / "prepared" / "eila"), key="prep_out",
                            help="an interrupted run in this folder is resumed; use one folder per detector")
        c3, c4, c5 = st.columns(3)
        size = c3.number_input("crop size (pixels)", 16, 512, 48, step=8, key="prep_size")
        color = c4.selectbox("colour", ["gray", "rgb"], key="prep_color")
        threshold = c5.slider("face confidence threshold", 0.05, 1.0, 0.6, 0.05, key="prep_threshold",
                              help="the seed kept faces at 0.6 or above")
        name = st.text_input("register as dataset (empty: do not register)", key="prep_register",
                             placeholder="e.g. EiLA (mtcnn)")
        submitted = st.form_submit_button("Start preparation", type="primary", key="prep_start")
    if not submitted:
        return
    problems = [f"{what} not found: `{p or '(empty)'}`" for what, p, ok in (
        ("annotations.csv", annotations, Path(annotations).is_file()),
        ("demographics.csv", demographics, Path(demographics).is_file()),
        ("videos folder", videos, bool(videos) and Path(videos).is_dir()),
        ("weights file", weights, detector == "mtcnn" or (bool(weights) and Path(weights).is_file())))
        if not ok]
    if problems:
        st.error("Cannot start: " + "; ".join(problems) + (f". The {detector} detector needs "
                 f"{_WEIGHTS_HELP[detector]}." if detector != "mtcnn" and any("weights" in p for p in problems)
                                                         else ""))
        return
    config = {"annotations": annotations, "demographics": demographics, "videos": videos, "out": out,
              "detector": detector, "size": int(size), "color": color, "threshold": float(f"{threshold:g}"),
              "artifacts": str(artifacts), "weights": weights if detector != "mtcnn" else None,
              "register": name.strip() or None}
    job = start_job(RunSpec("prepare-eila", config), artifacts)
    st.session_state["prep_last_job"] = str(job)
    st.success(f"Started in the background (job `{job.name}`); it keeps running if you leave this page.")


def _job_result(job: JobStatus) -> None:
    out_dir = _spec_value(job, "out")
    if job.kind == "prepare-eila" and out_dir:
        _result(Path(out_dir), job.job_id)


def _result(out: Path, key: str) -> None:
    info_path = out / "prepare.json"
    if not info_path.is_file():
        return
    import json

    info = json.loads(info_path.read_text())
    counts = info.get("stage_counts", {})
    cols = st.columns(len(STAGES))
    for col, s in zip(cols, STAGES):
        col.metric(STAGE_LABELS[s], f"{counts.get(s, 0):,}")
    if info.get("reasons"):
        st.caption("Rows lost, by reason: " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                        for k, v in sorted(info["reasons"].items())))
    st.caption(f"Crops, `manifest.parquet`, `rows.parquet` (every row's outcome) and the audit are in `{out}`.")


def _audit_section(artifacts: Path) -> None:
    audits = _known_audits(artifacts)
    if not audits:
        st.caption("The audit appears here once a preparation has finished.")
        return
    c1, c2, c3 = st.columns(3)
    chosen = c1.multiselect("audits (several: compare detectors)", list(audits), default=list(audits)[:1],
                            key="prep_audits")
    splits = sorted({s for a in audits.values() for s in a["split"].unique()}, key=lambda s: (s != "All", s))
    split = c2.selectbox("split", splits, key="prep_audit_split")
    by = c3.selectbox("group", ["race", "gender"], key="prep_audit_by")
    if not chosen:
        return
    sel = {k: audits[k] for k in chosen}
    show_figure(retention_figure(sel, split, by), "prep_audit_chart", f"retention_by_{by}_{split}")
    st.caption("Bars: share of the annotation rows of each group that reach each stage. Whiskers: 95% "
               "cluster-robust intervals over persons (frames of one person are not independent; groups with fewer "
               "than 5 persons are flagged). The seed's published test split kept 74% of Black rows against 96% of "
               "White rows.")
    table = pd.concat([retention_by_stage(a, by, split).assign(audit=k) for k, a in sel.items()], ignore_index=True)
    st.dataframe(table[["audit", by, "stage", "n_rows", "n_reached", "rate", "ci_low", "ci_high", "wilson_low",
                        "wilson_high", "n_persons", "low_n"]], hide_index=True, key="prep_audit_table",
                 column_config={**{c: st.column_config.NumberColumn(label, format="percent") for c, label in (
                     ("rate", "share reaching the stage"), ("ci_low", "interval low (persons)"),
                     ("ci_high", "interval high (persons)"), ("wilson_low", "interval low (frames)"),
                     ("wilson_high", "interval high (frames)"))},
                                "n_rows": "annotation rows", "n_reached": "rows reaching it", "n_persons": "persons",
                                "low_n": st.column_config.CheckboxColumn("fewer than 5 persons")})


def _pose_section(artifacts: Path) -> None:
    st.markdown("Add face landmarks, **yaw**, **pitch** and a **side_profile** flag (|yaw| >= 45 degrees) to a "
                "registered dataset of face crops, e.g. to filter side profiles on the Misclassified faces page. "
                "Images where no face is found are kept and marked.")
    info = dataset_selectbox("dataset", registered_datasets(artifacts), key="pose_dataset")
    if info is None:
        return
    c1, c2, c3 = st.columns(3)
    detector = c1.selectbox("face detector", list(DETECTORS), key="pose_detector")
    weights = c2.text_input("weights file", key="pose_weights", help=_WEIGHTS_HELP["yunet"] + "; " +
                            _WEIGHTS_HELP["yolo"])
    threshold = c3.slider("face confidence threshold", 0.05, 1.0, 0.6, 0.05, key="pose_threshold")
    if st.button("Estimate pose (updates the dataset)", key="pose_start"):
        if detector != "mtcnn" and not (weights and Path(weights).is_file()):
            st.error(f"The {detector} detector needs {_WEIGHTS_HELP[detector]}; weights file not found: "
                     f"`{weights or '(empty)'}`")
            return
        config = {"data": info.name, "detector": detector, "threshold": float(f"{threshold:g}"), "register": info.name,
                  "artifacts": str(artifacts), "weights": weights if detector != "mtcnn" else None}
        job = start_job(RunSpec("estimate-pose", config), artifacts)
        st.success(f"Pose estimation started in the background (job `{job.name}`).")


def render_prepare_section(artifacts: Path) -> None:
    """The "Prepare EiLA videos" section of the Data page.

    Parameters
    ----------
    artifacts : Path
        The app's artifacts folder (jobs, registered datasets, prepared folders).
    """
    artifacts = Path(artifacts)
    st.markdown("Turn EiLA's `annotations.csv`, `demographics.csv` and videos into a face-crop dataset: each video "
                "is read once, the annotated person box is cut out, the most confident face at or above the "
                "threshold is kept, and every lost row is recorded with its reason. The **audit** shows who is "
                "lost at each stage, by race and gender, with confidence intervals.")
    _start_form(artifacts)
    st.subheader("Jobs")
    job_panel(artifacts, ("prepare-eila", "estimate-pose"), "prep", limit=5, result=_job_result,
              empty="No preparation job yet.", refresh=True, widgets=PREPARE_WIDGETS)
    st.subheader("Preprocessing audit")
    _audit_section(artifacts)
    st.subheader("Head pose for a registered dataset")
    _pose_section(artifacts)
