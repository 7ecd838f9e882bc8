"""Head pose (yaw, pitch) from 5 facial landmarks, and pose for already-cropped datasets.

Method
------
A closed-form estimate under orthographic projection of a rigid average face,
from the landmark order of :mod:`core.preprocess._detectors` (eye image-left,
eye image-right, nose tip, mouth corner image-left, mouth corner image-right):

1. Undo roll: rotate the points about the eye midpoint so the eye line is
   horizontal. Call ``a'`` half the projected eye distance.
2. Yaw: the face model has the eyes at ``x = +-a`` in the plane ``z = 0`` and
   the nose tip on the midline ``d`` in front of it. Turning the head by yaw
   ``t`` moves the nose tip ``d sin t`` sideways while the half eye distance
   becomes ``a cos t``, so with ``r`` = nose offset from the eye-mouth
   midline divided by ``a'``: ``tan(yaw) = r * a / d``.
3. Pitch: with ``h`` (eyes to nose tip) and ``M`` (eyes to mouth) the frontal
   vertical distances, tilting by ``p`` makes the observed ratio
   ``q = nose drop / mouth drop = (h - d tan p) / M`` (mouth corners taken in
   the eye plane), so ``tan(pitch) = (h - q M) / d``.

Constants: ``h/a = 1.143`` and ``M/a = 2.309`` come from the standard 5-point
ArcFace alignment template (frontal faces); ``d/a = 0.6`` is the nose-tip depth
in front of the pupils (~19 mm) over half the interpupillary distance (~31.5 mm)
of an average adult head. Angles are therefore approximate (a few degrees to
~10 degrees of error for real faces); signs and the side-profile flag are what
they are meant for.

Signs: **yaw > 0** when the face turns toward the image's right (the nose tip
lies right of the midline; mirroring the image flips the sign); **pitch > 0**
when the head tilts back (looking up).

``side_profile`` is ``|yaw| >= 45`` degrees (:data:`SIDE_PROFILE_YAW_DEG`): at
45 degrees the nose tip is already 60 % of the way from the midline to the near
eye (``r = 0.6``) and passes it at ~59 degrees, where 5-point landmarks become
unreliable and expression cues of the far half of the face are hidden.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import pandas as pd

from ..data.images import read_image
from ..data.manifest import resolve_paths
from ..common.progress import ProgressFn, null_progress
from ..common._errors import DataFormatError

#: Face model constants (ratios to half the interpupillary distance); see the module docstring.
NOSE_DROP_OVER_A = 1.143
MOUTH_DROP_OVER_A = 2.309
NOSE_DEPTH_OVER_A = 0.6
#: |yaw| at or above this (degrees) is flagged ``side_profile``.
SIDE_PROFILE_YAW_DEG = 45.0
LANDMARK_NAMES: tuple[str, ...] = ("eye_l", "eye_r", "nose", "mouth_l", "mouth_r")
LANDMARK_COLUMNS: tuple[str, ...] = tuple(f"lm_{n}_{c}" for n in LANDMARK_NAMES for c in ("x", "y"))


def pose_from_landmarks(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Yaw and pitch in degrees from ``(n, 5, 2)`` landmarks (or one ``(5, 2)`` set).

    Parameters
    ----------
    landmarks : numpy.ndarray
        Points in the order eye image-left, eye image-right, nose tip, mouth
        image-left, mouth image-right, as ``(x, y)`` pixels.

    Returns
    -------
    yaw, pitch : numpy.ndarray
        ``(n,)`` degrees; NaN where the eyes coincide or the mouth is not below the eyes.
    """
    lm = np.asarray(landmarks, dtype=float)
    if lm.shape == (5, 2):
        lm = lm[None]
    if lm.ndim != 3 or lm.shape[1:] != (5, 2):
        raise ValueError(f"landmarks must have shape (n, 5, 2), received {lm.shape}")
    eye_mid = (lm[:, 0] + lm[:, 1]) / 2
    eye_vec = lm[:, 1] - lm[:, 0]
    half_eye = np.linalg.norm(eye_vec, axis=1) / 2
    ang = np.arctan2(eye_vec[:, 1], eye_vec[:, 0])
    cos, sin = np.cos(-ang), np.sin(-ang)
    rel = lm - eye_mid[:, None, :]
    x = rel[..., 0] * cos[:, None] - rel[..., 1] * sin[:, None]
    y = rel[..., 0] * sin[:, None] + rel[..., 1] * cos[:, None]
    nose_x, nose_y = x[:, 2], y[:, 2]
    mouth_x, mouth_y = (x[:, 3] + x[:, 4]) / 2, (y[:, 3] + y[:, 4]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        midline_x = np.where(mouth_y > 0, mouth_x * nose_y / mouth_y, 0.0)
        r = (nose_x - midline_x) / half_eye
        yaw = np.degrees(np.arctan(r / NOSE_DEPTH_OVER_A))
        q = nose_y / mouth_y  # a ratio of vertical drops: unaffected by scale and by yaw
        pitch = np.degrees(np.arctan((NOSE_DROP_OVER_A - q * MOUTH_DROP_OVER_A) / NOSE_DEPTH_OVER_A))
    bad = (half_eye <= 1e-6) | ~np.isfinite(yaw)
    yaw = np.where(bad, np.nan, yaw)
    pitch = np.where(bad | (mouth_y <= 1e-6) | ~np.isfinite(pitch), np.nan, pitch)
    return yaw, pitch


def side_profile(yaw: np.ndarray, threshold_deg: float = SIDE_PROFILE_YAW_DEG) -> pd.arrays.BooleanArray:
    """``|yaw| >= threshold_deg`` as a nullable boolean array (missing where yaw is NaN)."""
    y = np.asarray(yaw, dtype=float)
    out = pd.array(np.abs(y) >= threshold_deg, dtype="boolean")
    out[np.isnan(y)] = pd.NA
    return out


def landmark_columns(landmarks: np.ndarray | None) -> dict[str, float]:
    """Flatten one ``(5, 2)`` landmark set into the ``lm_*`` manifest columns (NaN when absent)."""
    if landmarks is None:
        return {c: float("nan") for c in LANDMARK_COLUMNS}
    flat = np.asarray(landmarks, dtype=float).reshape(10)
    return {c: float(v) for c, v in zip(LANDMARK_COLUMNS, flat)}


def _prepare_crop(img: np.ndarray, min_side: int, pad: float) -> tuple[np.ndarray, float, int, int]:
    """Upscale small crops and pad them so a face filling the whole crop is still detectable."""
    h, w = img.shape[:2]
    scale = max(1.0, min_side / min(h, w))
    if scale > 1:
        img = cv2.resize(img, (int(round(w * scale)), int(round(h * scale))), interpolation=cv2.INTER_CUBIC)
    py, px = int(round(img.shape[0] * pad)), int(round(img.shape[1] * pad))
    img = cv2.copyMakeBorder(img, py, py, px, px, cv2.BORDER_REPLICATE)
    return img, scale, px, py


def estimate_pose_for_manifest(manifest: pd.DataFrame, detector, root: str | Path | None = None,
                               threshold: float = 0.6, side_threshold_deg: float = SIDE_PROFILE_YAW_DEG,
                               min_side: int = 160, pad: float = 0.25, batch_size: int = 16,
                               progress: ProgressFn | None = None) -> pd.DataFrame:
    """Run a face detector on every image of a cropped dataset and add pose columns.

    Parameters
    ----------
    manifest : pandas.DataFrame
        A manifest whose ``path`` column names image files (already face crops).
    detector : FaceDetector
        From :func:`core.preprocess.load_detector`.
    root : str or Path, optional
        Folder that relative paths are relative to.
    threshold : float
        The most confident face must reach this score; otherwise ``pose_status`` is ``low_confidence``.
    side_threshold_deg : float
        ``side_profile`` threshold on ``|yaw|``.
    min_side, pad : int, float
        Crops are upscaled to at least ``min_side`` pixels and padded by ``pad`` of their size (edge
        replicated) before detection; coordinates are mapped back to the original image.
    batch_size : int
        Images decoded and sent to the detector at a time.
    progress : callable, optional
        ``progress(done, total, message)``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``manifest`` with ``face_confidence``, ``lm_*`` (10 columns, original-image pixels),
        ``yaw``, ``pitch``, ``side_profile`` and ``pose_status`` (``ok``, ``no_face``,
        ``low_confidence``, ``no_landmarks`` for a box-only model, ``unreadable_image``), and
        ``pose_detector``. Rows without an ``ok`` status
        have NaN pose and missing ``side_profile``; none are dropped.
    """
    if "path" not in manifest.columns:
        raise DataFormatError("expected a manifest with a 'path' column of image files", "<manifest>", "path")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, received {batch_size}")
    progress = progress or null_progress
    paths = resolve_paths(manifest, root).tolist()
    n = len(paths)
    conf = np.full(n, np.nan)
    lms = np.full((n, 5, 2), np.nan)
    status = np.array(["unreadable_image"] * n, dtype=object)
    for start in range(0, n, batch_size):
        idx, imgs, meta = [], [], []
        for i in range(start, min(n, start + batch_size)):
            try:
                img = read_image(paths[i], "rgb")
            except DataFormatError:
                continue
            prepared, scale, px, py = _prepare_crop(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), min_side, pad)
            idx.append(i)
            imgs.append(prepared)
            meta.append((scale, px, py))
        for i, det, (scale, px, py) in zip(idx, detector.detect(imgs), meta):
            b = det.best()
            if b is None:
                status[i] = "no_face"
                continue
            conf[i] = det.confidences[b]
            if det.landmarks is not None:
                lms[i] = (det.landmarks[b] - np.array([px, py])) / scale
            status[i] = "ok" if conf[i] >= threshold and det.landmarks is not None else (
                "low_confidence" if conf[i] < threshold else "no_landmarks")
        progress(min(n, start + batch_size), n, f"pose: {min(n, start + batch_size)}/{n} images")
    yaw, pitch = pose_from_landmarks(lms) if n else (np.zeros(0), np.zeros(0))
    ok = status == "ok"
    out = manifest.copy()
    out["face_confidence"] = conf
    for j, col in enumerate(LANDMARK_COLUMNS):
        out[col] = lms[:, j // 2, j % 2]
    out["yaw"] = np.where(ok, yaw, np.nan)
    out["pitch"] = np.where(ok, pitch, np.nan)
    out["side_profile"] = side_profile(out["yaw"].to_numpy(), side_threshold_deg)
    out["pose_status"] = status
    out["pose_detector"] = getattr(detector, "name", type(detector).__name__)
    return out


def pose_summary(df: pd.DataFrame, by: Sequence[str] = ("race",)) -> pd.DataFrame:
    """Share of side profiles and of faces not found, per group (for audits of cropped datasets)."""
    keys = [c for c in by if c in df.columns]
    g = df.assign(_ok=df["pose_status"] == "ok", _side=df["side_profile"].fillna(False).astype(bool))
    if not keys:
        g = g.assign(_all="all")
        keys = ["_all"]
    return g.groupby(keys, dropna=False).agg(n=("pose_status", "size"), pose_ok=("_ok", "mean"),
                                             side_profile=("_side", "mean"),
                                             median_abs_yaw=("yaw", lambda s: float(np.nanmedian(np.abs(s)))
                                                             if s.notna().any() else np.nan)).reset_index()
