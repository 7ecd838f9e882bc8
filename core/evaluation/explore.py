"""Slicing predictions for the misclassified-face explorer: filters, pose bins, error tables, thumbnails."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .._errors import DataFormatError
from .fairness import person_column, resolve_attribute
from .uncertainty import accuracy_interval

#: The side-profile threshold of face preprocessing (``core.preprocess.SIDE_PROFILE_YAW_DEG``, checked by a
#: test; not imported here because that package loads OpenCV): ``side_profile`` is ``|yaw| >= 45``.
SIDE_PROFILE_DEG = 45.0
#: |yaw| bins in degrees (lower bound inclusive). 45 is an edge, so "side profile" (``|yaw| >= 45``) is exactly
#: the union of the bins marked "side profile".
POSE_BINS: tuple[tuple[float, float, str], ...] = (
    (0.0, 15.0, "frontal (<15°)"), (15.0, 30.0, "15-30°"), (30.0, SIDE_PROFILE_DEG, "30-45°"),
    (SIDE_PROFILE_DEG, 60.0, "45-60° (side profile)"), (60.0, math.inf, "≥60° (side profile)"))
CORRECTNESS: tuple[str, ...] = ("all", "correct", "wrong")


def pose_bin(yaw: pd.Series) -> pd.Series:
    """Pose bin (:data:`POSE_BINS`) of each ``|yaw|``; missing yaw stays missing."""
    a = pd.to_numeric(yaw, errors="coerce").abs()
    out = pd.Series([None] * len(a), index=a.index, dtype=object)
    for lo, hi, name in POSE_BINS:
        out[(a >= lo) & (a < hi)] = name
    return out


def pose_groups(df: pd.DataFrame) -> tuple[pd.Series, str] | None:
    """Pose of each row: yaw bins when ``yaw`` has values, else the ``side_profile`` flag, else None."""
    if "yaw" in df.columns and df["yaw"].notna().any():
        return pose_bin(df["yaw"]).rename("pose"), "|yaw| bin"
    if "side_profile" in df.columns and df["side_profile"].notna().any():
        flag = df["side_profile"].map(lambda v: None if pd.isna(v) else ("side profile" if bool(v) else "frontal"))
        return flag.rename("pose"), "side-profile flag"
    return None


def filter_predictions(df: pd.DataFrame, attribute: str | None = None, groups: Iterable[str] | None = None,
                       true: Iterable[str] | None = None, pred: Iterable[str] | None = None,
                       correctness: str = "all", side_profile: bool | None = None,
                       yaw_range: tuple[float, float] | None = None,
                       outcomes: Iterable[str] | None = None, occlusion: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows of a predictions table matching every given filter (``None`` or empty means no filter).

    Parameters
    ----------
    df : pandas.DataFrame
        Predictions (optionally with ``outcome`` from :func:`core.evaluation.compare.align_pair`).
    attribute, groups
        Keep rows whose ``attribute`` group is in ``groups``.
    true, pred
        Keep rows with these true / predicted classes.
    correctness : {"all", "correct", "wrong"}
    side_profile : bool, optional
        Keep rows with this ``side_profile`` flag.
    yaw_range : tuple of float, optional
        Keep rows with ``lo <= |yaw| <= hi`` (rows without yaw are dropped).
    outcomes : iterable of str, optional
        Keep rows with these pair outcomes.
    occlusion : iterable of str, optional
        Keep rows with these ``occlusion`` values (e.g. ``glasses``).
    """
    if correctness not in CORRECTNESS:
        raise ValueError(f"correctness must be one of {CORRECTNESS}, received {correctness!r}")
    keep = pd.Series(True, index=df.index)
    groups, true, pred, outcomes, occlusion = (list(x) if x else [] for x in (groups, true, pred, outcomes,
                                                                               occlusion))
    if attribute and groups:
        keep &= resolve_attribute(df, attribute).isin(groups)
    if true:
        keep &= df["true"].isin(true)
    if pred:
        keep &= df["pred"].isin(pred)
    if correctness != "all":
        ok = (df["true"] == df["pred"]) if "correct" not in df.columns else df["correct"].astype(bool)
        keep &= ok if correctness == "correct" else ~ok
    if side_profile is not None:
        if "side_profile" not in df.columns:
            raise DataFormatError("no 'side_profile' column; run face preprocessing with pose estimation first")
        keep &= df["side_profile"].fillna(not side_profile).astype(bool) == side_profile
    if yaw_range is not None:
        if "yaw" not in df.columns:
            raise DataFormatError("no 'yaw' column; run face preprocessing with pose estimation first")
        a = pd.to_numeric(df["yaw"], errors="coerce").abs()
        keep &= a.between(float(yaw_range[0]), float(yaw_range[1]))
    if outcomes:
        keep &= df["outcome"].isin(outcomes)
    if occlusion:
        if "occlusion" not in df.columns:
            raise DataFormatError("no 'occlusion' column in these predictions")
        keep &= df["occlusion"].isin(occlusion)
    return df[keep.to_numpy()]


def error_rate_table(df: pd.DataFrame, rows: pd.Series, cols: pd.Series, n_boot: int = 500,
                     confidence: float = 0.95, min_persons: int = 5, seed: int = 0) -> pd.DataFrame:
    """Error rate for every (row group, column group) cell, with an interval and counts.

    Returns
    -------
    pandas.DataFrame
        Columns ``row, col, error_rate, ci_low, ci_high, n_samples, n_persons, low_n``.
    """
    pcol = person_column(df, None)
    correct = ((df["true"] == df["pred"]) if "correct" not in df.columns else df["correct"]).to_numpy(bool)
    rng = np.random.default_rng(seed)
    out = []
    frame = pd.DataFrame({"r": rows.to_numpy(), "c": cols.to_numpy()})
    for (r, c), idx in frame.groupby(["r", "c"], sort=True).groups.items():
        pos = frame.index.get_indexer(idx)
        iv = accuracy_interval(correct[pos], None if pcol is None else df[pcol].to_numpy()[pos], n_boot=n_boot,
                               confidence=confidence, min_persons=min_persons, rng=rng)
        out.append({"row": r, "col": c, "error_rate": 1 - iv.estimate, "ci_low": 1 - iv.high, "ci_high": 1 - iv.low,
                    "n_samples": iv.n_samples, "n_persons": iv.n_persons, "low_n": iv.low_n})
    table = pd.DataFrame(out, columns=["row", "col", "error_rate", "ci_low", "ci_high", "n_samples", "n_persons",
                                       "low_n"])
    rank = {name: i for i, (_, _, name) in enumerate(POSE_BINS)}
    key = table["col"].map(lambda c: (rank.get(c, len(rank)), str(c)))
    return table.iloc[sorted(range(len(table)), key=lambda i: (str(table["row"].iloc[i]), key.iloc[i]))]\
        .reset_index(drop=True)


def caption(row: pd.Series, extra: Sequence[str] = ("race",)) -> str:
    """Short gallery caption: ``true → pred (confidence)`` plus group columns."""
    conf = row.get("confidence")
    text = f"{row['true']} → {row['pred']}" + (f" ({conf:.0%})" if conf is not None and pd.notna(conf) else "")
    bits = [str(row[c]) for c in extra if c in row.index and pd.notna(row[c])]
    if "yaw" in row.index and pd.notna(row["yaw"]):
        bits.append(f"yaw {row['yaw']:.0f}°")
    return text + (" · " + ", ".join(bits) if bits else "")
