"""``prepare_eila``: EiLA annotations + videos -> face-crop dataset, resumable, with a bias audit.

For each annotation row the frame ``Frame Number`` of ``<videos>/<tag>.mp4``
(or ``<videos>/<tag>/Complete.mp4``) is read (each video once, in frame
order), the person box (percent of the frame) is cut out, faces are detected
in it (batched), the most confident face at or above ``threshold`` is cropped
from the frame, converted and resized, and written to
``<out>/<split>/<Emotion>/<row>_label_<k>_video_<tag>_clip_<cid>_person_<pid>.jpg``
(the layout :func:`core.data.datasets.load_eila_crops` reads; ``k`` is the index of
the label in :data:`core.data.labels.EMOTIONS`).

Files in ``<out>``: ``rows.parquet`` (every annotation row with its outcome:
``status``, ``reason``, ``stage_reached``, confidence, landmarks, pose; the
resume state, rewritten atomically every few seconds), ``manifest.parquet``
(kept crops), ``audit.parquet``/``audit.csv`` (:mod:`._audit`) and
``prepare.json`` (settings, counts, versions). A rerun with the same settings
continues where the last one stopped: rows with a final outcome are not
redone; rows that failed because their input was unavailable (``missing_video``,
``unreadable_frame``, ``write_failed``) are retried.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import cv2
import pandas as pd

from ..common._errors import DataFormatError
from ..common._io import atomic_write_json, check_writable, file_sha1, read_json
from ..data.datasets import load_eila_annotations
from ..data.manifest import atomic_write_parquet, save_manifest
from ..common.progress import ProgressFn, null_progress
from ._audit import STAGES, compute_audit, save_audit
from ._config import FLUSH_EVERY_S, REASONS, ROW_COLUMNS, PrepareConfig
from ._detectors import DEFAULT_MIN_CONFIDENCE, FaceDetector, check_weights, load_detector
from ._pose import LANDMARK_COLUMNS, side_profile
from ._runner import FrameRunner, crop_file_name

__all__ = ["PrepareConfig", "PrepareResult", "REASONS", "crop_file_name", "prepare_eila"]


@dataclass
class PrepareResult:
    """What :func:`prepare_eila` produced."""

    out: Path
    manifest: pd.DataFrame
    rows: pd.DataFrame
    audit: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    registered: Any = None


def _check_out(out: Path) -> None:
    """Refuse an ``--out`` folder that holds a registered dataset, a run, or anything but a preparation."""
    from ..common._io import artifact_kind
    from ..common._errors import OutputError

    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder; expected a new, empty or prepare-eila folder")
    if not out.is_dir() or (out / "prepare.json").is_file() and not (out / "info.json").exists():
        return
    kind = artifact_kind(out)
    if kind is not None:
        raise OutputError(f"--out {out}: holds {kind} and no prepare.json of its own, so it is not a preparation "
                          "to resume; it is never written into: choose a new or empty folder")


def _check_resume(out: Path, identity: dict[str, Any]) -> dict[str, Any]:
    """The earlier run's reading plan (batch, seek gap, detection size) when settings match; {} for a new folder."""
    info_path = out / "prepare.json"
    if not info_path.is_file():
        return {}
    meta = read_json(info_path)
    old = meta.get("identity", {}) if isinstance(meta, dict) else {}
    diff = {k: (old.get(k), v) for k, v in identity.items() if old.get(k) != v}
    if diff:
        pretty = ", ".join(f"{k}: {a!r} there vs {b!r} now" for k, (a, b) in diff.items())
        raise DataFormatError(f"this folder was prepared with other settings ({pretty}); pass another --out "
                              "folder, or delete this one to start over", info_path)
    plan = meta.get("plan")
    return dict(plan) if isinstance(plan, dict) else {}


def _expected_bytes(n_rows: int, cfg: PrepareConfig) -> int:
    """Disk space the crops and tables of ``n_rows`` rows may take (a block per crop file at least)."""
    per_crop = 4096 + cfg.size * cfg.size * (3 if cfg.color == "rgb" else 1)
    return int(n_rows * (per_crop + 1024) + 2**20)


def _load_state(out: Path, valid_rows: set[int]) -> tuple[dict[int, dict], set[int]]:
    """Finished rows from ``rows.parquet``, and the rows to retry whose input was unavailable.

    Rows to retry and kept rows whose crop vanished are left out of the state;
    the second set holds the retried rows that never reached the detector
    (``missing_video``, ``unreadable_frame``), which need not redo their chunk.
    """
    path = out / "rows.parquet"
    if not path.is_file():
        return {}, set()
    try:
        prev = pd.read_parquet(path)
    except Exception as exc:
        raise DataFormatError(f"resume state is unreadable ({type(exc).__name__}: {exc}); delete it to start "
                              "this folder over", path) from None
    state: dict[int, dict] = {}
    before_detector: set[int] = set()
    for rec in prev.to_dict("records"):
        r = int(rec["row"])
        if r not in valid_rows:
            continue
        if rec["status"] == "kept" and not Path(str(rec["crop_path"])).is_file():
            continue
        if rec["status"] == "failed" and REASONS.get(rec["reason"], (0, True, ""))[1]:
            if rec["reason"] in ("missing_video", "unreadable_frame"):
                before_detector.add(r)
            continue
        state[r] = {k: rec.get(k) for k in ROW_COLUMNS}
    return state, before_detector


def prepare_eila(annotations: str | Path, demographics: str | Path, videos: str | Path, out: str | Path,
                 detector: str | FaceDetector = "mtcnn", weights: str | Path | None = None, size: int = 48,
                 color: str = "gray", threshold: float = 0.6, *, config: PrepareConfig | None = None,
                 progress: ProgressFn | None = None, register_as: str | None = None,
                 artifacts: str | Path | None = None, n_boot: int = 1000,
                 flush_every_s: float = FLUSH_EVERY_S, replace_registered: bool = False) -> PrepareResult:
    """Turn EiLA annotations, demographics and videos into a face-crop dataset with an audit.

    Parameters
    ----------
    annotations, demographics : str or Path
        EiLA ``annotations.csv`` and ``demographics.csv``.
    videos : str or Path
        Folder with ``<tag>.mp4`` or ``<tag>/Complete.mp4`` per video tag.
    out : str or Path
        Output folder (created; an existing one with the same settings is resumed).
    detector : {"mtcnn", "yunet", "yolo"} or FaceDetector
        Backend name, or an already built detector.
    weights : str or Path, optional
        Model file for ``yunet``/``yolo``.
    size, color, threshold
        Crop side in pixels, ``gray`` or ``rgb``, minimum confidence of the kept face.
    config : PrepareConfig, optional
        Full settings; overrides ``detector``/``weights``/``size``/``color``/``threshold`` names.
    progress : callable, optional
        ``progress(rows_done, rows_total, message)``.
    register_as : str, optional
        Register the manifest under this dataset name in ``artifacts`` (format ``eila-crops``).
    artifacts : str or Path, optional
        Artifacts folder for ``register_as`` (default: :func:`core.common.paths.default_artifacts_dir`).
    n_boot : int
        Cluster-bootstrap replicates of the audit.
    flush_every_s : float
        How often the resume state is written during the run.
    replace_registered : bool
        Replace a dataset already registered as ``register_as`` (else that name is refused up front).

    Returns
    -------
    PrepareResult

    Raises
    ------
    DataFormatError
        Unreadable annotations/demographics, or an ``out`` folder prepared with other settings.
    ModelFileError
        Missing or invalid detector weights (the message names ``--weights``).
    """
    annotations, demographics, videos, out = Path(annotations), Path(demographics), Path(videos), Path(out)
    if not videos.is_dir():
        raise DataFormatError("videos folder not found; expected a folder with <tag>.mp4 or <tag>/Complete.mp4",
                              videos)
    det_obj = detector if isinstance(detector, FaceDetector) else None
    if config is None:
        name = det_obj.name if det_obj is not None else str(detector)
        w = det_obj.weights if det_obj is not None else (None if weights is None else str(weights))
        mc = det_obj.min_confidence if det_obj is not None else DEFAULT_MIN_CONFIDENCE
        config = PrepareConfig(detector=name, weights=w, size=int(size), color=color, threshold=float(threshold),
                               min_confidence=min(mc, float(threshold)))
    if det_obj is None:
        check_weights(config.detector, config.weights)
    if register_as:  # before any long work: the name must be free (or replacing it asked for)
        from ..common.paths import default_artifacts_dir
        from ..data.registry import check_name_free

        check_name_free(register_as, Path(artifacts) if artifacts else default_artifacts_dir(), replace_registered)
    progress = progress or null_progress
    split_rule: Mapping[int, str] = dict(config.split_rule)
    ann = load_eila_annotations(annotations, demographics, split_rule=split_rule)
    identity = {**config.identity(), "annotations_sha1": file_sha1(annotations)}
    _check_out(out)
    check_writable(out, _expected_bytes(len(ann), config), flag="--out")
    plan = _check_resume(out, identity)
    for stale in out.rglob(".*.tmp"):
        stale.unlink(missing_ok=True)
    state, retry = _load_state(out, set(ann["row"].astype(int)))
    if det_obj is None:
        det_obj = load_detector(config.detector, config.weights, min_confidence=config.min_confidence)
    # a resumed folder keeps the reading plan it started with, whatever batch size is asked now: same bytes
    plan = {"batch": int(plan.get("batch") or config.batch_size or max(8, det_obj.batch_size)),
            "seek_gap": int(plan.get("seek_gap") or config.seek_gap),
            "detect_max_side": int(plan.get("detect_max_side") or config.detect_max_side)}
    config = replace(config, batch_size=plan["batch"], seek_gap=plan["seek_gap"],
                     detect_max_side=plan["detect_max_side"])
    info = {"identity": identity, "plan": plan, "annotations": str(annotations.resolve()),
            "demographics": str(demographics.resolve()), "videos": str(videos.resolve()),
            "started": time.time(), "load_report": ann.attrs.get("load_report", {})}
    atomic_write_json(info, out / "prepare.json")
    runner = FrameRunner(ann, out, config, det_obj, state, progress, flush_every_s)
    try:
        runner.run(set(ann["row"].astype(int)) - set(state), videos, retry)
    finally:
        runner.flush()
    return _finish(ann, out, config, runner.records, info, register_as, artifacts, n_boot, progress,
                   replace_registered)


def _finish(ann: pd.DataFrame, out: Path, cfg: PrepareConfig, records: dict[int, dict], info: dict,
            register_as: str | None, artifacts: str | Path | None, n_boot: int,
            progress: ProgressFn, replace_registered: bool = False) -> PrepareResult:
    res = pd.DataFrame([records[r] for r in sorted(records)], columns=list(ROW_COLUMNS))
    rows = ann.merge(res, on="row", how="left", validate="one_to_one")
    rows["side_profile"] = side_profile(rows["yaw"].to_numpy(dtype=float), cfg.side_profile_deg)
    rows["detector"] = cfg.detector
    kept = rows[rows["status"] == "kept"].copy()
    keep_cols = ["sample_id", "crop_path", "dataset", "split", "label", "race", "gender", "skin_color", "video",
                 "clip", "person", "frame", "yaw", "pitch", "side_profile", "face_confidence", *LANDMARK_COLUMNS,
                 "face_x0", "face_y0", "face_x1", "face_y1", "row", "eila_person_id", "n_annotators",
                 "annotations", "detector"]
    manifest = kept[keep_cols].rename(columns={"crop_path": "path"}).reset_index(drop=True)
    manifest.attrs["load_report"] = ann.attrs.get("load_report", {})
    audit = compute_audit(rows, detector=cfg.detector, threshold=cfg.threshold, n_boot=n_boot)
    if manifest.empty:
        atomic_write_parquet(manifest, out / "manifest.parquet")
    else:
        save_manifest(manifest, out / "manifest.parquet")
    save_audit(audit, out)
    counts = {s: int((rows["stage_reached"] >= i).sum()) for i, s in enumerate(STAGES)}
    reasons = {str(k): int(v) for k, v in rows["reason"].value_counts().items()}
    info = {**info, "finished": time.time(), "n_rows": int(len(rows)), "stage_counts": counts,
            "reasons": reasons, "versions": {"opencv": cv2.__version__}}
    atomic_write_json(info, out / "prepare.json")
    registered = None
    if register_as:
        if manifest.empty:
            raise DataFormatError("no face was kept, nothing to register (see rows.parquet for the reasons)", out)
        from ..common.paths import default_artifacts_dir
        from ..data.registry import register_dataset

        art = Path(artifacts) if artifacts else default_artifacts_dir()
        registered = register_dataset(manifest, register_as, "eila-crops",
                                      {"path": out, "demographics": info["demographics"],
                                       "prepared_by": "prepare-eila", "detector": cfg.detector,
                                       "threshold": cfg.threshold}, art, overwrite=replace_registered)
        save_audit(audit, registered.path)
    progress(len(rows), len(rows), f"kept {counts['kept']} of {counts['rows']} rows")
    return PrepareResult(out=out, manifest=manifest, rows=rows, audit=audit, info=info, registered=registered)
